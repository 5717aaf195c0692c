"""`quantalloc regime --chains SOURCE --vix-source series|chain|auto` on the real NSE files: the
vol index computed from the NIFTY chain when India VIX's series ends, the options flow read from
the same source, and one clear line for each bad combination."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from quantalloc.cli.app import app
from quantalloc.data import get_chain_source
from quantalloc.regime.chain_analytics import put_call_ratio
from quantalloc.regime.vol_index import vol_index_from_chain

runner = CliRunner()


@pytest.fixture
def cache_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("QUANTALLOC_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("QUANTALLOC_DATA", raising=False)
    return tmp_path


def _in(shared: Path, *extra: str) -> list[str]:
    return ["regime", "--market", "in", "--data", f"csv:{shared / 'in'}", *extra]


def test_chain_vix_and_flow_from_one_source_real(shared_data: Path, cache_root: Path) -> None:
    fo = shared_data / "in/fo_bhavcopy"
    result = runner.invoke(
        app, _in(shared_data, "--as-of", "2026-02-02", "--chains", str(fo), "--json")
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    # README: India VIX's series ends 2025-11-14, so auto computes the level from the chain
    assert out["vix_source"] == "chain"
    chain = get_chain_source(str(fo)).chain("NIFTY", "2026-02-02").frame
    level = vol_index_from_chain(chain, pd.Timestamp("2026-02-02"), 0.065, "in").level
    assert out["vix"] == pytest.approx(level, abs=1e-6)
    # the options flow reads the same source: the open-interest PCR over all expiries (the
    # regime model's pcr_expiries = "all")
    assert out["pcr_oi"] == pytest.approx(put_call_ratio(chain, by="oi"), abs=1e-6)
    assert out["missing"] == []
    notes = " ".join(out["notes"])
    assert "computed from the NIFTY chain of 2026-02-02" in notes
    assert "no rows 2025-11-17 .. 2025-12-31" in notes  # the index's gap, reported not filled


def test_series_when_it_covers_the_date_real(shared_data: Path, cache_root: Path) -> None:
    fo = str(shared_data / "in/fo_bhavcopy")
    result = runner.invoke(app, _in(shared_data, "--as-of", "2025-09-30", "--chains", fo, "--json"))
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["vix_source"] == "series" and out["vix_percentile"] is not None
    # the chains start 2026-01-01: the flow is missing and says why
    assert out["missing"] == ["options_flow"]
    assert any("no option chain on or before 2025-09-30" in n for n in out["notes"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--vix-source", "series"], "^INDIAVIX has no reading within 5 days before 2026-02-02"),
        (["--vix-source", "chain"], "--vix-source chain needs --chains"),
        (["--vix-source", "vixy"], "--vix-source 'vixy' is unknown; use one of series, chain"),
        ([], "^INDIAVIX has no reading within 5 days before 2026-02-02 (the last is 2025-11-14)"),
    ],
)
def test_bad_combinations_one_line(
    shared_data: Path, cache_root: Path, extra: list[str], message: str
) -> None:
    result = runner.invoke(app, _in(shared_data, "--as-of", "2026-02-02", *extra))
    assert result.exit_code == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and message in lines[0]
    assert "Traceback" not in result.output


def test_chain_and_chains_together(shared_data: Path, cache_root: Path, tmp_path: Path) -> None:
    one = shared_data / "in/options/NIFTY_2024-06-20_expiry_chain_a.json"
    args = ["--chain", str(one), "--chains", str(shared_data / "in/fo_bhavcopy")]
    result = runner.invoke(app, _in(shared_data, *args))
    assert result.exit_code == 2 and "not both" in result.stderr
