"""``quantalloc backtest allocator`` through the CLI: the demo market and the real US data."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from quantalloc.backtest.metrics import METRIC_NAMES
from quantalloc.cli.app import app

runner = CliRunner()


def test_demo_replay_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "alloc.json"
    res = runner.invoke(
        app,
        ["backtest", "allocator", "--data", "demo", "--start", "2023-06-01", "--end",
         "2023-07-14", "--capital", "1000000", "-p", "n_scenarios=100", "-p",
         "rebalance_days=30", "--output", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "allocator" in res.output and "sharpe" in res.output
    doc = json.loads(out.read_text())
    assert doc["strategy"] == "allocator" and set(METRIC_NAMES) <= set(doc["metrics"])
    days = sorted(doc["equity"])
    assert days[0] == "2023-06-01" and days[-1] == "2023-07-14"
    trades = doc["trades"]
    assert trades and {t["entry_time"][:10] for t in trades} <= set(days)
    for t in trades:
        assert t["strategy_name"] and t["exit_time"] >= t["entry_time"]
        assert t["exit_reason"] in ("expiry", "end_of_data")
    # every position settled or marked: the last equity is capital + the trades' P&L
    total = sum(t["pnl"] for t in trades)
    assert doc["equity"][days[-1]] == pytest.approx(1_000_000 + total, abs=1e-3)


def test_bad_parameter_exits_2_with_one_line() -> None:
    res = runner.invoke(app, ["backtest", "allocator", "--data", "demo", "-p", "rebalance=weekly"])
    assert res.exit_code == 2
    assert "rebalance" in res.output and "Traceback" not in res.output


def write_us_tables(shared_data: Path, folder: Path) -> tuple[Path, Path]:
    """stock_data (sector as the industry, lot 100) and equal sector weights, from constituents."""
    cons = pd.read_csv(shared_data / "us" / "constituents.csv")
    stock = folder / "stock_data.csv"
    pd.DataFrame(
        {
            "symbol": cons["symbol"],
            "industry": cons["sector"],
            "sector": cons["sector"],
            "fno_stock": True,
            "lot_size": 100,
            "market_cap_category": "Large",
        }
    ).to_csv(stock, index=False)
    sectors = sorted(cons["sector"].unique())
    industries = folder / "industries.csv"
    pd.DataFrame(
        {
            "industry": sectors,
            "sector": sectors,
            "position_type": "NEUTRAL",
            "weight_percentage": round(100 / len(sectors), 2),
            "rating": "Neutral",
        }
    ).to_csv(industries, index=False)
    return stock, industries


def test_real_us_data_replay(shared_data: Path, tmp_path: Path) -> None:
    stock, industries = write_us_tables(shared_data, tmp_path)
    out = tmp_path / "us.json"
    res = runner.invoke(
        app,
        ["backtest", "allocator", "--data", f"csv:{shared_data / 'us'}", "--start", "2016-01-04",
         "--end", "2016-03-31", "--capital", "1000000", "-p", "market=us", "-p",
         "n_scenarios=120", "-p", "rebalance_days=30", "-p", "fee_per_contract=0", "-p",
         "option_spread=0", "-p", f"stock_data={stock}", "-p",
         f"industry_allocations={industries}", "--output", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    symbols = set(pd.read_csv(stock)["symbol"])
    assert doc["trades"] and {t["symbol"] for t in doc["trades"]} <= symbols
    assert all(math.isfinite(v) for v in doc["equity"].values())
    # marks at entry equal the premiums paid, so without costs the first close's equity is the
    # capital (the document's 4-decimal leg prices leave well under 50 of slack)
    # (the first rebalance may enter nothing: the market state's rules and the industry
    # shares can leave nothing worth a lot; entries then start at a later rebalance)
    first = min(doc["equity"])
    assert min(t["entry_time"][:10] for t in doc["trades"]) >= first
    assert doc["equity"][first] == pytest.approx(1_000_000, abs=50.0)
