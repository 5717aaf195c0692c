"""`quantalloc tune` end to end on the real data: JSON report, model export, backtest --model."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quantalloc.cli.app import app

runner = CliRunner()


@pytest.mark.slow
def test_tune_momentum_then_backtest_the_exported_model(shared_data: Path, tmp_path: Path) -> None:
    out, model = tmp_path / "tune.json", tmp_path / "mom_tuned.toml"
    args = ["tune", "momentum", "--data", f"csv:{shared_data / 'us'}", "--start", "2011-01-01",
            "--end", "2017-12-29", "--trials", "8", "--storage", f"journal:{tmp_path}/s.journal",
            "--study", "t", "--output", str(out), "--export", str(model)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())  # the report explains its two out-of-sample Sharpes
    assert "is optimistic" in flat and "walk-forward selection Sharpe is the honest one" in flat
    doc = json.loads(out.read_text())
    assert doc["n_trials"] == 8 and doc["strategy"] == "momentum"
    assert set(doc["best_params"]) >= {"sma_days", "stop_loss", "take_profit"}
    for key in ("in_sample", "out_of_sample", "deflated_sharpe", "pbo", "walk_forward"):
        assert doc[key], key
    assert 0 <= doc["deflated_sharpe"]["dsr"] <= 1 and 0 <= doc["pbo"]["pbo"] <= 1
    # the DSR deflates by the distinct parameter sets tried (duplicates are not new trials)
    assert (
        doc["deflated_sharpe"]["n_trials"]
        == doc["n_distinct"]
        <= doc["n_complete"] + doc["n_pruned"]
    )
    assert doc["folds"][-1]["test_end"] == "2017-12-29"
    # the model file carries the best parameters and where they came from
    m = tomllib.loads(model.read_text())
    assert m["backtest"]["strategy"] == "momentum"
    assert m["backtest"]["params"] == doc["best_params"]
    prov = m["provenance"]
    assert prov["trials"] == 8 and prov["start"] == "2011-01-01" and prov["model_version"] == 1
    # the backtest command loads it by path and reproduces the out-of-sample window's run
    bt = runner.invoke(
        app, ["backtest", "--model", str(model), "--data", f"csv:{shared_data / 'us'}",
              "--start", "2016-01-01", "--end", "2017-12-29", "--output", str(tmp_path / "b.json")],
    )  # fmt: skip
    assert bt.exit_code == 0, bt.output
    assert (
        json.loads((tmp_path / "b.json").read_text())["params"]["sma_days"]
        == (doc["best_params"]["sma_days"])
    )
    # the export never replaces a file silently
    refused = runner.invoke(app, [*args[:9], "4", *args[10:]])
    assert refused.exit_code == 2 and "exists; replace it with --force" in refused.output
    # a second run on the same storage and study adds to it, and says so
    again = runner.invoke(app, [*args[:9], "4", *args[10:], "--force"])
    assert again.exit_code == 0, again.output
    assert "resuming study t" in again.output and "8 finished trials so far" in again.output
    assert json.loads(out.read_text())["n_trials"] == 12
    assert tomllib.loads(model.read_text())["provenance"]["model_version"] == 2
    # ... but not with another window: those trials would not be comparable (one short line)
    other = [*args, "--force"]
    other[args.index("--start") + 1] = "2012-01-01"
    clash = runner.invoke(app, other)
    assert clash.exit_code == 2 and "other settings" in clash.output
    line = clash.output.strip().splitlines()[-1]
    assert line.startswith("error:") and len(line) < 200 and "window 2011-01-01" in line


def test_builtin_spaces_match_the_strategies_parameters() -> None:
    from quantalloc.backtest.registry import available
    from quantalloc.tuning.evaluators import strategy_fields
    from quantalloc.tuning.spaces import SPACES, check_against_strategy

    checked = [name for name in SPACES if name in available()]
    assert "momentum" in checked
    for name in checked:
        check_against_strategy(SPACES[name], strategy_fields(name))


@pytest.mark.slow
def test_tune_with_two_worker_processes(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "w.json"
    args = ["tune", "momentum", "--data", f"csv:{shared_data / 'us'}", "--start", "2011-01-01",
            "--end", "2017-12-29", "--trials", "6", "--workers", "2", "--storage",
            f"journal:{tmp_path}/w.journal", "--study", "w", "--output", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())  # the report explains its two out-of-sample Sharpes
    assert "is optimistic" in flat and "walk-forward selection Sharpe is the honest one" in flat
    doc = json.loads(out.read_text())
    assert doc["n_trials"] == 6 == doc["n_complete"] + doc["n_pruned"] + doc["n_failed"]


def test_workers_need_a_shared_storage(shared_data: Path) -> None:
    args = ["tune", "momentum", "--data", f"csv:{shared_data / 'us'}", "--start", "2011-01-01",
            "--end", "2017-12-29", "--trials", "4", "--workers", "2",
            "--storage", "memory"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "share" in result.output
