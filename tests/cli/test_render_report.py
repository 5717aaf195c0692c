"""The solve report shows what a PM signs: the lot-rounding status, both expiries of a calendar,
theta-positive by the position's theta, and the book-risk panel with its stress grid."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from rich.console import Console

from quantalloc.cli.render import legs_text, render
from quantalloc.pipeline.document import ALLOCATION_KEYS, SolveResult
from quantalloc.pipeline.sizing import engine_candidates

CALENDAR = {
    "symbol": "HON",
    "industry": "Industrials",
    "sector": "Industrials",
    "strategy_name": "calendar_spread",
    "position_type": "NEUTRAL",
    "expiry": "2017-12-15",
    "legs": [
        {
            "kind": "call",
            "side": "sell",
            "strike": 152.5,
            "price": 2.1,
            "quantity": 1.0,
            "expiry": "2017-12-15",
        },
        {
            "kind": "call",
            "side": "buy",
            "strike": 152.5,
            "price": 3.4,
            "quantity": 1.0,
            "expiry": "2018-01-19",
        },
    ],
    "lots": 1,
    "lot_size": 100,
    "allocated_capital": 130.0,
    "max_loss": 130.0,
    "probability_of_profit": 0.5,
    "expected_return": 0.02,
    "delta": 1.0,
    "gamma": -0.1,
    "vega": 8.0,
    "theta": 4.56,
    "unbounded_loss": False,
    "margin": 130.0,
    "theta_positive": True,
}


def _result() -> SolveResult:
    allocations = pd.DataFrame([CALENDAR], columns=[*ALLOCATION_KEYS, "theta_positive"])
    risk = {
        "dollar_delta": 150.0, "dollar_gamma": -20.0, "gamma": -0.1, "vega": 8.0, "theta": 4.56,
        "beta_weighted_delta": {"index_points": 0.06, "currency": 160.0, "index_level": 2600.0},
        "gross_exposure": 150.0, "net_exposure": 150.0, "gross_exposure_of_capital": 0.0002,
        "net_exposure_of_capital": 0.0002, "var_95": 90.0, "cvar_95": 110.0, "var_99": 120.0,
        "cvar_99": 128.0, "horizon_days": 7, "scenarios": 2000, "index": "SPY",
        "stress": [{"index_move": m, "vol_move": v, "pnl": 1000 * m + v}
                   for m in (-0.2, 0.2) for v in (-5.0, 10.0)],
        "margin": {"total": 130.0, "naked": 0.0, "budget": 250000.0, "of_budget": 0.00052,
                   "rule": "US Reg-T style"},
    }  # fmt: skip
    portfolio = {
        "allocated_capital": 130.0, "max_loss": 130.0, "delta": 1.0, "gamma": -0.1,
        "vega": 8.0, "theta": 4.56, "expected_log_growth": 1e-5, "by_industry": {},
        "theta_positive_capital": 130.0, "risk": risk,
    }  # fmt: skip
    return SolveResult(
        run_id="r", as_of="2017-12-06", model="industry_first", risk="moderate",
        currency="USD", capital=1e6, budget=250000.0, market={"state": "Neutral_Low_VIX"},
        solver={"rounding": {"method": "mip", "status": "violates target[Industrials]",
                             "objective_lost": 1e-4}},
        limits={"max_abs_vega": 1e4, "max_industry": 0.3, "max_theta_positive": 0.4},
        allocations=allocations, portfolio=portfolio,
        constraints=pd.DataFrame(columns=["name", "limit", "value", "binding", "dual", "unit"]),
    )  # fmt: skip


def test_report_shows_rounding_status_calendar_expiries_theta_and_risk() -> None:
    console = Console(record=True, width=220, color_system=None)
    render(_result(), console)
    text = console.export_text()
    assert "violates target[Industrials]" in text
    assert "-1C152.5@2.10[2017-12-15] +1C152.5@3.40[2018-01-19]" in text
    assert "130 USD / 40% of budget (positions whose theta > 0)" in text
    assert "Book risk" in text and "VaR / CVaR 95% (7 sessions)" in text
    assert "Stress P&L" in text and "vol +10 pts" in text and "-20%" in text


def test_single_expiry_legs_name_no_expiry() -> None:
    row = {**CALENDAR, "legs": [{**g, "expiry": "2017-12-15"} for g in CALENDAR["legs"]]}
    assert legs_text(row) == "-1C152.5@2.10 +1C152.5@3.40"


def test_the_theta_positive_cap_counts_positions_by_their_theta() -> None:
    """A calendar whose theta is above zero counts; a credit spread with theta below does not."""
    table = pd.DataFrame(
        {
            "symbol": ["HON", "UNP"], "strategy_name": ["calendar_spread", "bull_put_spread"],
            "expiry": ["2017-12-15"] * 2, "otm": [0.03, 0.03], "capital": [130.0, 400.0],
            "vega": [8.0, -3.0], "theta": [4.56, -0.2], "delta": [1.0, 20.0],
            "max_loss": [130.0, 400.0], "industry": ["Industrials"] * 2,
            "sector": ["Industrials"] * 2, "market_cap": ["large"] * 2,
            "position_type": ["NEUTRAL", "LONG"],
        }
    )  # fmt: skip
    data = engine_candidates(table, np.zeros((3, 2)))
    assert data.groups["theta_positive"].tolist() == [True, False]


def test_a_large_family_of_binding_rows_is_listed_by_shadow_price_and_counted() -> None:
    """202 negative-edge rows binding at zero buried the report's three real rows: a family
    lists its ROWS_PER_FAMILY largest shadow prices and counts the rest in one line."""
    from quantalloc.cli.render import ROWS_PER_FAMILY, constraints_table

    duals = [0.0] * 8 + [0.008, 0.002]
    rows = [
        {"name": f"max_negative_edge[C{i}]", "limit": 0.0, "value": 0.0, "binding": True,
         "dual": d, "unit": "budget", "upper": 0.0, "lower": None}
        for i, d in enumerate(duals)
    ] + [{"name": "max_strategy[short_strangle]", "limit": 0.15, "value": 0.15, "binding": True,
          "dual": 1e-4, "unit": "budget", "upper": 0.15, "lower": None}]  # fmt: skip
    result = dataclasses.replace(_result(), constraints=pd.DataFrame(rows))
    console = Console(record=True, width=220, color_system=None)
    console.print(constraints_table(result))
    text = console.export_text()
    assert "max_strategy[short_strangle]" in text
    assert "max_negative_edge[C8]" in text and "max_negative_edge[C9]" in text
    listed = [i for i in range(len(duals)) if f"max_negative_edge[C{i}]" in text]
    assert len(listed) == ROWS_PER_FAMILY
    assert f"+{len(duals) - ROWS_PER_FAMILY} more max_negative_edge[...]" in text
