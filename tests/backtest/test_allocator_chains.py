"""The allocator replayed on NSE's bhavcopy, checked against the raw files.

Three sessions (2026-02-09 .. 2026-02-11), a dozen NIFTY 50 stocks: the solve of the first
session opens listed contracts, a tight take-profit and stop close some of them on the next
two. Every number is recomputed from the raw ``BhavCopy_NSE_FO_*`` rows, not from the code
under test: a contract's reference price is its close when it traded that session
(``TtlTradgVol`` > 0), else NSE's settlement price; a buy fills at the reference plus half the
spread of ``models/spreads.toml`` for its moneyness and expiry bucket, a sell at it minus half;
fees are the model file's ``[costs.fees.in]``. Then:

- every entry and exit fill equals that session's listed price by the rule;
- every session's equity equals the capital plus the closed trades' P&L plus the open
  positions' legs marked at their raw reference price of that session (so every mark is the
  contract's own price) less what they cost;
- the same replay run again while two busy-loop processes load both cores writes the same JSON
  (wall-clock timings aside).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from quantalloc.cli.app import app
from quantalloc.options.costs import load_spread_table
from quantalloc.pipeline.model import load_model

runner = CliRunner()
SESSIONS = ("2026-02-09", "2026-02-10", "2026-02-11")
SYMBOLS = {  # a dozen NIFTY 50 stocks over four industries
    "Financial Services": ("HDFCBANK", "ICICIBANK", "SBIN", "AXISBANK"),
    "IT": ("INFY", "TCS", "HCLTECH"),
    "Oil Gas & Consumable Fuels": ("RELIANCE", "ONGC", "COALINDIA"),
    "Metals & Mining": ("TATASTEEL", "HINDALCO"),
}
CAPITAL = 10_000_000.0


def _tables(folder: Path) -> tuple[Path, Path]:
    rows = [(s, ind) for ind, syms in SYMBOLS.items() for s in syms]
    stock = folder / "stock_data.csv"
    pd.DataFrame(
        {
            "symbol": [s for s, _ in rows],
            "industry": [i for _, i in rows],
            "sector": [i for _, i in rows],
            "fno_stock": True,
            "market_cap_category": "Large",
        }
    ).to_csv(stock, index=False)
    industries = folder / "industries.csv"
    pd.DataFrame(
        {
            "industry": list(SYMBOLS),
            "sector": list(SYMBOLS),
            "position_type": ["LONG", "NEUTRAL", "NEUTRAL", "SHORT"],
            "weight_percentage": [30.0, 25.0, 25.0, 20.0],
            "rating": ["Moderate Overweight", "Neutral", "Neutral", "Moderate Underweight"],
        }
    ).to_csv(industries, index=False)
    return stock, industries


def _args(shared: Path, folder: Path, out: Path) -> list[str]:
    stock, industries = _tables(folder)
    return [
        "backtest", "allocator", "--market", "in", "--data", f"csv:{shared / 'in'}",
        "--chains", str(shared / "in" / "fo_bhavcopy"), "--compare-proxy",
        "--start", SESSIONS[0], "--end", SESSIONS[-1], "--capital", f"{CAPITAL:g}",
        "-p", "market=in", "-p", "risk=aggressive", "-p", "n_scenarios=100",
        "-p", "take_profit=0.05", "-p", "stop_loss=0.8",
        "-p", f"stock_data={stock}", "-p", f"industry_allocations={industries}",
        "--output", str(out),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def replay(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("nse-replay")
    out = folder / "run.json"
    res = runner.invoke(app, _args(shared_data, folder, out))
    assert res.exit_code == 0, res.output
    return {"doc": json.loads(out.read_text()), "folder": folder, "shared": shared_data}


def _raw(shared: Path) -> dict[str, pd.DataFrame]:
    """Each session's option rows keyed by (symbol, expiry, strike, kind), with the reference
    price, the spread rule's buy and sell, and the lot size."""
    table = load_spread_table("in")
    out = {}
    for day in SESSIONS:
        name = f"BhavCopy_NSE_FO_0_0_0_{day.replace('-', '')}_F_0000.csv.gz"
        f = pd.read_csv(shared / "in" / "fo_bhavcopy" / name)
        f = f.loc[f["OptnTp"].isin(["CE", "PE"])].copy()
        f["kind"] = np.where(f["OptnTp"] == "CE", "call", "put")
        f["ref"] = np.where(f["TtlTradgVol"] > 0, f["ClsPric"], f["SttlmPric"])
        dte = (pd.to_datetime(f["XpryDt"]) - pd.Timestamp(day)).dt.days
        rel = table.relative(f["kind"], f["StrkPric"], f["UndrlygPric"], dte)
        half = np.maximum(rel * f["ref"], table.min_spread) / 2.0
        f["buy"] = f["ref"] + half
        f["sell"] = np.maximum(f["ref"] - half, 0.0)
        out[day] = f.set_index(["TckrSymb", "XpryDt", "StrkPric", "kind"])
    return out


def _row(raw: dict[str, pd.DataFrame], day: str, symbol: str, leg: dict[str, Any]) -> Any:
    return raw[day].loc[(symbol, leg["expiry"], float(leg["strike"]), leg["kind"])]


def _units(leg: dict[str, Any], lot_size: int) -> float:
    return (1.0 if leg["side"] == "buy" else -1.0) * float(leg["quantity"]) * lot_size


@pytest.mark.slow
def test_fills_marks_and_equity_are_the_listed_prices(replay: dict[str, Any]) -> None:
    doc, raw = replay["doc"], _raw(replay["shared"])
    trades = doc["trades"]
    assert trades, "the first session's solve opened nothing"
    reasons = {t["exit_reason"] for t in trades}
    assert reasons & {"take_profit", "stop_loss"} and "end_of_data" in reasons
    assert doc["pricing"]["marks"]["model"] == 0 and doc["pricing"]["marks"]["chain"] > 0
    fees = load_model("industry_first").costs.fee_schedule("in")
    entry_cost: dict[int, float] = {}
    for t in trades:
        assert set(t) >= {"symbol", "strategy_name", "entry_date", "exit_date", "exit_reason"}
        cost = 0.0
        for leg in t["legs"]:
            assert leg["entry_source"] == "chain" and leg["exit_source"] == "chain"
            row = _row(raw, t["entry_date"], t["symbol"], leg)
            lot = int(row["NewBrdLotQty"])
            assert t["lot_size"] == lot
            # entry: a buy at the reference plus half the spread, a sell at it minus half
            assert leg["entry_price"] == pytest.approx(row[leg["side"]], rel=1e-12, abs=1e-9)
            out = _row(raw, t["exit_date"], t["symbol"], leg)
            if t["exit_reason"] == "end_of_data":  # marked at the session's reference price
                assert leg["exit_price"] == pytest.approx(out["ref"], abs=1e-9)
            else:  # closed at the fill of the opposite side
                close = "sell" if leg["side"] == "buy" else "buy"
                assert leg["exit_price"] == pytest.approx(out[close], rel=1e-12, abs=1e-9)
            units = _units(leg, lot)
            fee = float(fees.per_fill(leg["entry_price"], lot, leg["side"])) * leg["quantity"]
            cost += units * leg["entry_price"] + fee
        entry_cost[t["position"]] = cost
    # each session's equity re-adds from the trades and the raw marks of that session
    for day in SESSIONS:
        value = CAPITAL
        for t in trades:
            if t["entry_date"] > day:
                continue
            if t["exit_date"] <= day and t["exit_reason"] != "end_of_data":
                value += t["pnl"]
                continue
            marks = sum(
                _units(leg, t["lot_size"]) * float(_row(raw, day, t["symbol"], leg)["ref"])
                for leg in t["legs"]
            )
            value += marks - entry_cost[t["position"]]
        assert doc["equity"][day] == pytest.approx(value, rel=1e-9), day
    assert doc["equity"][SESSIONS[-1]] == pytest.approx(
        CAPITAL + sum(t["pnl"] for t in trades), rel=1e-9
    )
    assert doc["timings"]["rebalances"] == 1 and doc["timings"]["seconds_per_rebalance"] > 0
    comparison = doc["comparison"]
    assert comparison["summary"]["positions"] == len(trades)


BUSY = "import time\nend = time.time() + 600\nwhile time.time() < end:\n    pass\n"


@pytest.mark.slow
def test_same_json_on_a_loaded_machine(replay: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "again.json"
    hogs = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(2)]
    try:
        res = runner.invoke(app, _args(replay["shared"], tmp_path, out))
        busy = [hog.poll() is None for hog in hogs]  # both still spinning when the run ended
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert busy == [True, True]
    assert res.exit_code == 0, res.output
    first, again = dict(replay["doc"]), json.loads(out.read_text())
    for doc in (first, again):
        doc.pop("timings")
        doc["params"].pop("stock_data")
        doc["params"].pop("industry_allocations")
    assert again == first
