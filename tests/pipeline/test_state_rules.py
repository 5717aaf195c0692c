"""The market state's rules (DTE window, avoid list, IV preference, long/short split) as the
pipeline applies them; on real data through ``check_state_rules`` in test_solve."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import pytest

from quantalloc.pipeline.document import SolveResult
from quantalloc.pipeline.model import load_model
from quantalloc.pipeline.selection import choose_expiries
from quantalloc.pipeline.state_rules import (
    avoided_note,
    iv_check,
    long_short_caps,
    window_expiries,
)
from quantalloc.regime.config import StateRules


def _rules(iv: str = "neutral", avoided: tuple[str, ...] = ()) -> StateRules:
    return StateRules("Neutral_Normal_VIX", (), avoided, 30, 45, 0.3, iv, (0.9, 1.1))


def test_only_expiries_inside_the_window_are_used() -> None:
    as_of = date(2024, 1, 10)
    monthlies = choose_expiries(as_of, 30, 45, 8, "us")
    # 16 Feb (37 days) is the one monthly inside [30, 45]; 15 Mar (65 days) is not taken
    assert window_expiries(monthlies, as_of, 30, 45, 2) == ([date(2024, 2, 16)], [])
    # none inside [15, 30]: 19 Jan (9 days, 6 short) lies nearer than 16 Feb (37, 7 over)
    got, notes = window_expiries(monthlies, as_of, 15, 30, 2)
    assert got == [date(2024, 1, 19)] and "no listed expiry inside" in notes[0]


def test_iv_preference_keeps_the_side_the_state_and_the_vol_allow() -> None:
    table = pd.DataFrame(
        {
            "symbol": ["RICH", "RICH", "CHEAP", "CHEAP", "FAIR", "FAIR"],
            "vega": [-5.0, 5.0, -5.0, 5.0, -5.0, 5.0],  # sell, buy premium on each symbol
            "atm_vol": [0.30, 0.30, 0.15, 0.15, 0.20, 0.20],
        }
    )
    forecast = {"RICH": 0.20, "CHEAP": 0.20, "FAIR": 0.20}  # ratios 1.5, 0.75, 1.0
    ok = {pref: iv_check(table, _rules(pref), forecast, 0.10)[0].tolist() for pref in
          ("buy", "sell", "neutral")}  # fmt: skip
    assert ok["buy"] == [True, True, False, True, False, True]  # sell only where rich
    assert ok["sell"] == [True, False, True, True, True, False]  # buy only where cheap
    assert ok["neutral"] == [True, False, False, True, True, True]
    label = iv_check(table, _rules("sell"), forecast, 0.10)[1]
    assert "IV preference 'sell'" in label and "median 1.00" in label


def test_long_short_split_follows_the_direction_score() -> None:
    assert long_short_caps(0.0) == (0.5, 0.5)  # the seeds' "50%/50%" in a neutral market
    assert long_short_caps(0.6) == pytest.approx((0.8, 0.2))
    assert long_short_caps(-2.0) == (0.0, 1.0)


def test_avoided_note_names_what_the_avoid_list_removed() -> None:
    spec = load_model("industry_first")
    notes = avoided_note(spec, [("LONG", "Neutral")], _rules(avoided=("bull_put_spread",)))
    assert notes == ["state Neutral_Normal_VIX avoids bull_put_spread: not built"]
    assert avoided_note(spec, [("LONG", "Neutral")], _rules(avoided=("long_put",))) == []


def check_state_rules(result: SolveResult) -> None:
    """Every allocation's expiry inside the DTE window in force (unless the notes say no listed
    expiry lay inside), no avoided strategy held, no position with a negative expected return
    unless a named rule holds it (``forced_by``), the long/short caps kept."""
    doc: dict[str, Any] = result.to_document()
    market = doc["market"]
    lo, hi = market["dte_window"]
    bent = any("no listed expiry inside" in n for n in result.notes)
    as_of = date.fromisoformat(doc["as_of"])
    assert doc["allocations"]
    for a in doc["allocations"]:
        days = (date.fromisoformat(a["expiry"]) - as_of).days
        assert bent or lo <= days <= hi, (a["symbol"], a["expiry"], days, (lo, hi))
        assert a["strategy_name"] not in market["avoided_strategies"], a["strategy_name"]
        # no position at a loss in expectation unless a named rule holds it
        assert a["expected_return"] >= 0 or a["forced_by"], (a["symbol"], a)
        if a["forced_by"].startswith("industry_target"):
            assert a["forced_by"] == f"industry_target[{a['industry']}]"
            assert a["industry"] in doc["portfolio"]["by_industry"]
    split = market.get("long_short_split")
    if split:
        for side, cap in (("LONG", split["long"]), ("SHORT", split["short"])):
            held = sum(a["allocated_capital"] for a in doc["allocations"]
                       if a["position_type"] == side)  # fmt: skip
            assert held <= cap * doc["budget"] * (1 + 1e-7) + 1e-6, (side, held, cap)
