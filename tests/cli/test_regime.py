"""`quantalloc regime` through the CLI runner, on the real CSV histories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quantalloc.cli.app import app

runner = CliRunner()


@pytest.fixture
def cache_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("QUANTALLOC_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("QUANTALLOC_DATA", raising=False)
    return tmp_path


def _us(shared_data: Path, *extra: str) -> list[str]:
    return ["regime", "--market", "us", "--data", f"csv:{shared_data / 'us' / 'etf'}", *extra]


def test_json_output_has_the_contract_keys(shared_data: Path, cache_root: Path) -> None:
    """2015-08-24, the August 2015 crash Monday: bearish with a VIX spike."""
    result = runner.invoke(app, _us(shared_data, "--as-of", "2015-08-24", "--json"))
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    contract = (
        "state direction vix_regime direction_score confidence technical_score "
        "options_flow_score price_action_score vix pcr"
    ).split()
    assert list(out)[: len(contract)] == contract
    assert out["state"] == "Bearish_High_VIX" and out["spike"] is True
    assert out["as_of"] == "2015-08-24" and out["missing"] == ["options_flow"]


def test_panel_shows_state_components_and_strategies(shared_data: Path, cache_root: Path) -> None:
    """2017-11-03: the VIX's lowest close in the file (9.14), index at a record."""
    result = runner.invoke(app, _us(shared_data, "--as-of", "2017-11-03"))
    assert result.exit_code == 0, result.output
    text = result.stdout
    for phrase in ("Bullish_Low_VIX", "technical", "options flow", "price action", "missing",
                   "9.14", "percentile", "bull_call_spread", "weight was spread"):  # fmt: skip
        assert phrase in text, phrase


def test_second_call_is_served_from_the_cache(
    shared_data: Path, cache_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = _us(shared_data, "--as-of", "2017-07-26", "--json")
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert len(list((cache_root / "regime").glob("*.json"))) == 1

    import quantalloc.regime.service as service

    def boom(*a: object, **k: object) -> None:
        raise AssertionError("recomputed despite a fresh cache entry")

    monkeypatch.setattr(service, "state_from_provider", boom)
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout) == json.loads(first.stdout)
    # another as-of date is another key, and --no-cache always recomputes
    assert runner.invoke(app, _us(shared_data, "--as-of", "2017-07-27", "--json")).exit_code != 0
    assert runner.invoke(app, [*args, "--no-cache"]).exit_code != 0
    panel = runner.invoke(app, _us(shared_data, "--as-of", "2017-07-26"))
    assert panel.exit_code == 0 and "cached result from" in panel.stdout


def test_vix_override_changes_the_regime(shared_data: Path, cache_root: Path) -> None:
    """Same calm day as above, but the user says the VIX is at 35: a spike, High VIX state."""
    result = runner.invoke(app, _us(shared_data, "--as-of", "2017-07-26", "--vix", "35", "--json"))
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["vix"] == 35.0 and out["vix_regime"] == "spike"
    assert out["state"].endswith("_High_VIX")


def test_chain_feeds_the_options_part(shared_data: Path, cache_root: Path) -> None:
    chain = shared_data / "us" / "options" / "SPY_2015-01-05.csv"
    args = _us(shared_data, "--as-of", "2015-01-05", "--chain", str(chain), "--json")
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["missing"] == [] and out["pcr"] is not None and out["max_pain"] is not None


@pytest.mark.parametrize(
    ("extra", "phrase"),
    [
        (["--as-of", "2030-01-01"], "after the data"),
        (["--as-of", "1999-01-01"], "before the data"),
        (["--as-of", "2000-03-01"], "needs at least 200 trading days"),
        (["--as-of", "not-a-date"], "not a date"),
        (["--chain", "/nonexistent/chain.csv"], "does not exist"),
        (["--market", "jp"], "unknown market"),
        (["--cache-ttl", "-5"], "--cache-ttl must be >= 0"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    shared_data: Path, cache_root: Path, extra: list[str], phrase: str
) -> None:
    result = runner.invoke(app, _us(shared_data, *extra))
    assert result.exit_code == 2, result.output
    assert phrase in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert result.stderr.strip().startswith("error:")


def test_stale_chain_is_refused(shared_data: Path, cache_root: Path) -> None:
    chain = shared_data / "us" / "options" / "SPY_2015-01-05.csv"
    result = runner.invoke(app, _us(shared_data, "--as-of", "2015-03-02", "--chain", str(chain)))
    assert result.exit_code == 2
    assert "days before the as-of date" in result.stderr and "--as-of 2015-01-05" in result.stderr


def test_cli_as_of_ignores_later_rows(shared_data: Path, cache_root: Path, tmp_path: Path) -> None:
    """The command (fetch window included) gives the same state for 2008-10-10 from files that
    stop that day as from the full files: the October 2008 rebound days that follow are unseen."""
    from quantalloc.data import CsvProvider

    full = CsvProvider(shared_data / "us" / "etf")
    cut_dir = tmp_path / "cut"
    cut_dir.mkdir()
    for sym in ("SPY", "^VIX"):
        frame = full.history(sym).loc[:"2008-10-10"]
        frame.rename_axis("Date").to_csv(cut_dir / f"{sym.replace('^', '_')}.csv")
    outs = []
    for folder in (shared_data / "us" / "etf", cut_dir):
        args = ["regime", "--market", "us", "--data", f"csv:{folder}", "--json"]
        result = runner.invoke(app, [*args, "--as-of", "2008-10-10"])
        assert result.exit_code == 0, result.output
        outs.append(json.loads(result.stdout))
    assert outs[0] == outs[1] and outs[0]["direction"] == "bearish"
    latest = runner.invoke(app, ["regime", "--market", "us", "--data", f"csv:{cut_dir}", "--json"])
    assert json.loads(latest.stdout) == outs[0]  # no --as-of: the last day of the files


def test_source_without_a_vol_index(shared_data: Path, cache_root: Path, tmp_path: Path) -> None:
    """A folder holding SPY but no ^VIX: an error naming the missing file, unless --vix gives
    the level, in which case the regime is read from that level alone and says so."""
    from quantalloc.data import CsvProvider

    folder = tmp_path / "spy_only"
    folder.mkdir()
    spy = CsvProvider(shared_data / "us" / "etf").history("SPY").loc[:"2017-07-26"]
    spy.rename_axis("Date").to_csv(folder / "SPY.csv")
    args = ["regime", "--market", "us", "--data", f"csv:{folder}"]
    missing = runner.invoke(app, args)
    assert missing.exit_code == 2 and "_VIX.csv" in missing.stderr
    given = runner.invoke(app, [*args, "--vix", "12.5", "--json"])
    assert given.exit_code == 0, given.output
    out = json.loads(given.stdout)
    assert out["vix"] == 12.5 and out["vix_regime"] == "low" and out["vix_percentile"] is None
    assert any("given by hand" in n for n in out["notes"])


def test_command_agrees_with_the_library_on_full_history(
    shared_data: Path, cache_root: Path
) -> None:
    """The command fetches only the look-back it needs; the library given all 18 years of SPY
    and VIX must say exactly the same for the same day (2011-08-08, the downgrade sell-off)."""
    from quantalloc.data import CsvProvider
    from quantalloc.regime import market_state

    provider = CsvProvider(shared_data / "us" / "etf")
    state = market_state(
        provider.history("SPY"), provider.history("^VIX"), as_of="2011-08-08", market="us",
        index_name="SPY prices", vol_name="^VIX",
    )  # fmt: skip
    result = runner.invoke(app, _us(shared_data, "--as-of", "2011-08-08", "--json"))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(json.dumps(state.to_dict()))
