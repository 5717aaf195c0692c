"""The wheel replayed on SPX quotes, checked against the raw vendor files (three sessions).

From the raw ``SPX_YYYYMMDD.csv.gz`` rows alone: each put is an SPXW put, sold at its bid of
the session it opens, bought back at its ask, marked at its mid, with the strike the highest
listed at or below 1.6% under ``underlying_last``; the equity of every session re-adds from the
trades and those marks; the proxy re-pricing sells the same puts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from quantalloc.cli.app import app

runner = CliRunner()
SESSIONS = ("2019-06-05", "2019-06-06", "2019-06-07")
CAPITAL = 1_000_000.0


def _raw(shared: Path, day: str) -> pd.DataFrame:
    name = f"SPX_{day.replace('-', '')}.csv.gz"
    f = pd.read_csv(shared / "us" / "options" / "spx_2019" / name)
    f = f.loc[(f["optionroot"].str.startswith("SPXW")) & (f["type"] == "put")].copy()
    f["expiry"] = pd.to_datetime(f["expiration"], format="%m/%d/%Y").dt.strftime("%Y-%m-%d")
    return f.set_index(["expiry", "strike"])


@pytest.mark.slow
def test_wheel_sells_listed_puts_at_the_bid_and_marks_at_the_mid(
    shared_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "wheel.json"
    res = runner.invoke(
        app,
        ["backtest", "wheel", "--data", f"csv:{shared_data / 'us'}", "--chains",
         str(shared_data / "us" / "options" / "spx_2019"), "--compare-proxy", "--start",
         SESSIONS[0], "--end", SESSIONS[-1], "--capital", f"{CAPITAL:g}", "-p", "symbol=SPX",
         "-p", "root=SPXW", "-p", "vol_symbol=vix_daily_cboe", "-p", "take_profit=0.05",
         "--output", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    raw = {day: _raw(shared_data, day) for day in SESSIONS}
    trades: list[dict[str, Any]] = doc["trades"]
    assert len(trades) >= 2 and trades[0]["exit_reason"] == "take_profit"
    for t in trades:
        (leg,) = t["legs"]
        assert leg["kind"] == "put" and leg["side"] == "sell" and leg["entry_source"] == "chain"
        opened = raw[t["entry_date"]]
        spot = float(opened["underlying_last"].iloc[0])
        listed = opened.loc[leg["expiry"]].index.to_numpy(float)
        assert leg["strike"] == listed[listed <= spot * (1 - 0.016)].max()
        row = opened.loc[(leg["expiry"], leg["strike"])]
        assert leg["entry_price"] == pytest.approx(float(row["bid"]))
        assert leg["quantity"] == int(CAPITAL // (leg["strike"] * 100))
        closed = raw[t["exit_date"]].loc[(leg["expiry"], leg["strike"])]
        if t["exit_reason"] == "take_profit":
            assert leg["exit_price"] == pytest.approx(float(closed["ask"]))
        else:
            assert leg["exit_price"] == pytest.approx((closed["bid"] + closed["ask"]) / 2)
    for day in SESSIONS:
        value = CAPITAL
        for t in trades:
            if t["entry_date"] > day:
                continue
            if t["exit_date"] <= day and t["exit_reason"] != "end_of_data":
                value += t["pnl"]
                continue
            (leg,) = t["legs"]
            row = raw[day].loc[(leg["expiry"], leg["strike"])]
            mid = (float(row["bid"]) + float(row["ask"])) / 2
            units = leg["quantity"] * 100
            value += units * (leg["entry_price"] - mid) - 0.65 * leg["quantity"]
        assert doc["equity"][day] == pytest.approx(value, rel=1e-12), day
    # the proxy comparison: each position's chain side is the replay's own, errors are proxy
    # minus chain, and the summary and book difference add up from the rows
    comparison = doc["comparison"]
    assert comparison["summary"]["positions"] == len(trades)
    for t, row in zip(trades, comparison["trades"], strict=True):
        (leg,), (price,) = t["legs"], row["leg_entry_prices"]
        assert price["chain"] == pytest.approx(leg["entry_price"]) and price["proxy"] > 0
        assert price["error"] == pytest.approx(price["proxy"] - price["chain"])
        assert row["pnl"]["chain"] == pytest.approx(t["pnl"])
        assert row["pnl"]["error"] == pytest.approx(row["pnl"]["proxy"] - row["pnl"]["chain"])
    total = sum(r["pnl"]["error"] for r in comparison["trades"])
    assert comparison["summary"]["pnl_error_total"] == pytest.approx(total)
    for key in ("total_return", "sharpe"):
        gap = comparison["proxy"][key] - comparison["chain"][key]
        assert comparison["difference"][key] == pytest.approx(gap, abs=2e-6)
    assert comparison["chain"]["total_return"] == pytest.approx(
        doc["metrics"]["total_return"], abs=1e-6
    )
