"""Holdings: covered calls written on held shares use no budget; held options count in the
vega limit and the book risk; the output says what to open and keep."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from quantalloc.data.tables import validate_table
from quantalloc.errors import DataError
from quantalloc.options.pricing import black_scholes
from quantalloc.pipeline import solve
from quantalloc.pipeline.holdings import Holdings
from tests.pipeline.test_solve import us_tables

HOLDINGS = pd.DataFrame(
    {
        "symbol": ["JNJ", "AAPL"],
        "instrument": ["stock", "call"],
        "quantity": [300, -1],  # 300 shares; one short call contract (100 shares)
        "strike": [None, 180.0],
        "expiry": [None, "2018-01-19"],
        "cost": [120.0, 2.5],
    }
)


@pytest.mark.slow
def test_300_held_shares_give_a_3_lot_covered_call_without_stock_bought(
    shared_data: Path,
) -> None:
    tables = {**us_tables(shared_data), "holdings": HOLDINGS.copy()}
    result = solve(
        risk="moderate", market="us", data=f"csv:{shared_data / 'us'}", tables=tables,
        n_scenarios=300,
    )  # fmt: skip
    doc = result.to_document()
    jnj = [a for a in doc["allocations"] if a["symbol"] == "JNJ"]
    covered = [a for a in jnj if a["strategy_name"] == "covered_call"]
    assert len(covered) == 1 and covered[0]["lots"] == 3 and covered[0]["lot_size"] == 100
    cc = covered[0]
    assert cc["covered_by_holdings"] is True and cc["allocated_capital"] == 0.0
    stock = [g for g in cc["legs"] if g["kind"] == "stock"]
    assert stock == [{**stock[0], "side": "held", "quantity": 3.0}]  # 3 lots of 100: the shares
    calls = [g for g in cc["legs"] if g["kind"] == "call"]
    assert calls and calls[0]["side"] == "sell" and calls[0]["quantity"] == 3.0
    # no budget went to stock: the budget counts only the other positions
    port = doc["portfolio"]
    assert port["allocated_capital"] == pytest.approx(
        sum(a["allocated_capital"] for a in doc["allocations"] if not a["covered_by_holdings"])
    )
    assert all(a["action"] == "open" for a in doc["allocations"])
    assert [h["action"] for h in port["holdings"]] == ["keep", "keep"]
    # the held short call counts in the vega limit (|new + held| <= limit: row net_vega) and in
    # the risk: AAPL's delta is the new positions' less the short call's (Black-Scholes)
    assert "net_vega" in {c["name"] for c in doc["constraints"]}
    aapl = port["risk"]["by_symbol"]["AAPL"]
    new_delta = sum(a["delta"] for a in doc["allocations"] if a["symbol"] == "AAPL")
    t = (date(2018, 1, 19) - date.fromisoformat(doc["as_of"])).days / 365
    bs = black_scholes("call", aapl["spot"], 180.0, t, 0.02, 0.2)  # a plausible vol: abs=30
    assert aapl["delta"] < new_delta  # the short call takes delta away
    assert aapl["delta"] == pytest.approx(new_delta - 100 * float(bs.delta), abs=30.0)
    assert port["risk"]["by_symbol"]["JNJ"]["delta"] == pytest.approx(sum(a["delta"] for a in jnj))
    assert any("covered call on 300 held shares of JNJ: 3 lots" in n for n in result.notes)


def test_holdings_rows_are_checked() -> None:
    frame = validate_table("holdings", HOLDINGS.copy())
    assert list(frame["instrument"]) == ["stock", "call"]
    with pytest.raises(DataError, match="instrument"):
        validate_table("holdings", HOLDINGS.assign(instrument=["stock", "future"]))
    no_strike = validate_table("holdings", HOLDINGS.assign(strike=[None, None]))
    with pytest.raises(DataError, match="strike and expiry"):
        Holdings.from_table(no_strike, date(2017, 12, 6))
    with pytest.raises(DataError, match="expire after"):
        Holdings.from_table(frame, date(2018, 2, 1))
    held = Holdings.from_table(frame, date(2017, 12, 6))
    assert held.shares() == {"JNJ": 300.0}
    legs = held.positions(date(2017, 12, 6), {"AAPL": 100, "JNJ": 100}, {"AAPL": 0.2, "JNJ": 0.15})
    assert list(legs.units) == [300.0, -100.0]  # one contract of 100 shares
