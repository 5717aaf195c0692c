"""``quantalloc backtest`` end to end on a small CSV folder written by the test."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from quantalloc.cli.app import app

runner = CliRunner()


@pytest.fixture(scope="module")
def csv_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("prices")
    rng = np.random.default_rng(11)
    idx = pd.bdate_range("2015-01-01", periods=300)
    spy = 100 * np.exp(np.cumsum(rng.normal(0.0004, 0.01, len(idx))))
    lev = 10 * np.exp(np.cumsum(3 * np.diff(np.log(spy), prepend=np.log(spy[0]))))
    for sym, close in (("SPY", spy), ("SPXL", lev)):
        pd.DataFrame(
            {
                "Date": idx.strftime("%Y-%m-%d"),
                "Open": close,
                "High": close * 1.01,
                "Low": close * 0.99,
                "Close": close,
                "Volume": 1e6,
            }
        ).to_csv(root / f"{sym}.csv", index=False)
    return root


def _run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["backtest", *args])


def test_runs_prints_metrics_and_writes_json_and_plots(csv_dir: Path, tmp_path: Path) -> None:
    out, png, page = tmp_path / "r.json", tmp_path / "r.png", tmp_path / "r.html"
    res = _run("momentum", "--data", f"csv:{csv_dir}", "--start", "2015-06-01",
               "-p", "sma_days=40", "--output", str(out), "--plot", str(png))  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "sharpe" in res.output and "max_drawdown" in res.output
    doc = json.loads(out.read_text())
    from quantalloc.backtest.metrics import METRIC_NAMES

    assert set(METRIC_NAMES) <= set(doc["metrics"])
    assert doc["params"]["sma_days"] == 40
    assert next(iter(doc["equity"])) == "2015-06-01"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    res = _run("momentum", "--data", f"csv:{csv_dir}", "-p", "sma_days=40", "--plot", str(page))
    assert res.exit_code == 0, res.output
    assert page.read_text().startswith("<!doctype html>") and "base64," in page.read_text()
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("window=3", "unknown momentum parameter 'window'"),
        ("sma_days=1.5", "sma_days must be int"),
        ("stop_loss=-0.1", "stop_loss must be >= 0"),
        ("fill=later", "fill must be one of"),
        ("oops", "is not NAME=VALUE"),
    ],
)
def test_bad_params_exit_2_with_one_line(
    csv_dir: Path, tmp_path: Path, param: str, message: str
) -> None:
    out = tmp_path / "never.json"
    res = _run("momentum", "--data", f"csv:{csv_dir}", "-p", param, "--output", str(out))
    assert res.exit_code == 2
    assert message in res.output
    assert "Traceback" not in res.output
    assert not out.exists()


def test_model_file_supplies_strategy_and_params(csv_dir: Path, tmp_path: Path) -> None:
    model = tmp_path / "tuned.toml"
    model.write_text('[backtest]\nstrategy = "momentum"\n\n[backtest.params]\nsma_days = 30\n')
    out = tmp_path / "m.json"
    res = _run("--model", str(model), "--data", f"csv:{csv_dir}", "--output", str(out))
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["params"]["sma_days"] == 30
    # --param overrides the model; a clashing STRATEGY argument is refused
    res = _run("--model", str(model), "--data", f"csv:{csv_dir}", "-p", "sma_days=20",
               "--output", str(out))  # fmt: skip
    assert json.loads(out.read_text())["params"]["sma_days"] == 20
    res = _run("orb", "--model", str(model), "--data", f"csv:{csv_dir}")
    assert res.exit_code == 2 and "is for strategy 'momentum'" in res.output


def test_unknown_strategy_and_bad_plot_suffix(csv_dir: Path) -> None:
    res = _run("nosuch", "--data", f"csv:{csv_dir}")
    assert res.exit_code == 2 and "unknown strategy 'nosuch'" in res.output
    res = _run("momentum", "--data", f"csv:{csv_dir}", "--plot", "chart.svg")
    assert res.exit_code == 2 and ".png or .html" in res.output


def test_symbols_option_narrows_orb(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "orb.json"
    res = _run("orb", "--data", f"csv:{shared_data / 'us_intraday' / '5min'}", "--symbols",
               "TSLA,NVDA", "-p", "min_atr_pct=0.02", "--start", "2025-09-01", "--end",
               "2025-10-31", "--output", str(out))  # fmt: skip
    assert res.exit_code == 0, res.output
    symbols = {t["symbol"] for t in json.loads(out.read_text())["trades"]}
    assert symbols and symbols <= {"TSLA", "NVDA"}


def test_allocator_is_named_but_refused_until_built(csv_dir: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("quantalloc.backtest.strategies.allocator") is not None:
        pytest.skip("the allocator replay strategy exists now")
    res = _run("allocator", "--data", f"csv:{csv_dir}")
    assert res.exit_code == 2 and "not written yet" in res.output


def test_bad_dates_exit_2_with_one_line(csv_dir: Path) -> None:
    res = _run("momentum", "--data", f"csv:{csv_dir}", "--start", "notadate")
    assert res.exit_code == 2 and "not a date" in res.output and "Traceback" not in res.output
    res = _run(
        "momentum", "--data", f"csv:{csv_dir}", "--start", "2016-01-01", "--end", "2015-06-01"
    )
    assert res.exit_code == 2 and "after end" in res.output
