"""Sample inputs and run documents shaped by DESIGN.md section 3, built here (no shared data).

The run document follows the "Solve output" contract key by key: a NIFTY book with three
positions (a bull call spread, an iron condor and a bear put spread). Its numbers are plausible
market figures made up for the test, not results of a solve; the tests only need them stored
and returned unchanged.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd

_BASE: dict[str, Any] = {
    "run_id": "2024-06-20-industry_first-moderate-0001",
    "as_of": "2024-06-20",
    "model": "industry_first",
    "risk": "moderate",
    "currency": "INR",
    "capital": 1_000_000.0,
    "budget": 300_000.0,
    "market": {
        "state": "Bullish_Low_VIX",
        "direction": "Bullish",
        "vix_regime": "Low",
        "direction_score": 0.42,
        "confidence": 0.71,
        "technical_score": 0.55,
        "options_flow_score": 0.31,
        "price_action_score": 0.38,
        "vix": 13.2,
        "pcr": 1.08,
    },
    "solver": {"name": "CLARABEL", "status": "optimal", "seconds": 0.041},
    "limits": {
        "max_symbol": 0.25,
        "max_strategy": 0.4,
        "max_industry": 0.35,
        "max_theta_positive": 0.6,
        "max_abs_vega": 0.05,
        "max_risk_per_trade": 0.02,
    },
    "allocations": [
        {
            "symbol": "TCS",
            "industry": "Information Technology",
            "sector": "IT Services",
            "strategy_name": "Bull Call Spread",
            "position_type": "LONG",
            "expiry": "2024-06-27",
            "legs": [
                {"kind": "call", "side": "buy", "strike": 3900.0, "price": 48.5, "quantity": 1},
                {"kind": "call", "side": "sell", "strike": 4000.0, "price": 17.25, "quantity": 1},
            ],
            "lots": 3,
            "lot_size": 175,
            "allocated_capital": 16406.25,
            "max_loss": 16406.25,
            "probability_of_profit": 0.41,
            "expected_return": 0.12,
            "delta": 148.2,
            "gamma": 0.91,
            "vega": 210.4,
            "theta": -96.3,
        },
        {
            "symbol": "RELIANCE",
            "industry": "Oil Gas & Consumable Fuels",
            "sector": "Energy",
            "strategy_name": "Iron Condor",
            "position_type": "NEUTRAL",
            "expiry": "2024-06-27",
            "legs": [
                {"kind": "put", "side": "buy", "strike": 2800.0, "price": 6.1, "quantity": 1},
                {"kind": "put", "side": "sell", "strike": 2860.0, "price": 14.9, "quantity": 1},
                {"kind": "call", "side": "sell", "strike": 3060.0, "price": 15.4, "quantity": 1},
                {"kind": "call", "side": "buy", "strike": 3120.0, "price": 6.6, "quantity": 1},
            ],
            "lots": 2,
            "lot_size": 250,
            "allocated_capital": 21200.0,
            "max_loss": 21200.0,
            "probability_of_profit": 0.68,
            "expected_return": 0.05,
            "delta": -3.5,
            "gamma": -0.42,
            "vega": -180.0,
            "theta": 310.75,
        },
        {
            "symbol": "HDFCBANK",
            "industry": "Banks",
            "sector": "Financial Services",
            "strategy_name": "Bear Put Spread",
            "position_type": "SHORT",
            "expiry": "2024-07-25",
            "legs": [
                {"kind": "put", "side": "buy", "strike": 1600.0, "price": 31.0, "quantity": 1},
                {"kind": "put", "side": "sell", "strike": 1540.0, "price": 12.5, "quantity": 1},
            ],
            "lots": 1,
            "lot_size": 550,
            "allocated_capital": 10175.0,
            "max_loss": 10175.0,
            "probability_of_profit": 0.37,
            "expected_return": 0.09,
            "delta": -120.4,
            "gamma": 0.33,
            "vega": 95.2,
            "theta": -40.1,
        },
    ],
    "portfolio": {
        "allocated_capital": 47781.25,
        "max_loss": 47781.25,
        "delta": 24.3,
        "gamma": 0.82,
        "vega": 125.6,
        "theta": 174.35,
        "expected_log_growth": 0.0061,
        "by_industry": {
            "Information Technology": {"capital": 16406.25, "weight": 0.343, "target_weight": 0.3},
            "Oil Gas & Consumable Fuels": {"capital": 21200.0, "weight": 0.444},
            "Banks": {"capital": 10175.0, "weight": 0.213, "target_weight": 0.2},
        },
        "by_strategy": {
            "Bull Call Spread": {"capital": 16406.25, "weight": 0.343},
            "Iron Condor": {"capital": 21200.0, "weight": 0.444},
            "Bear Put Spread": {"capital": 10175.0, "weight": 0.213},
        },
        "by_symbol": {
            "TCS": {"capital": 16406.25, "weight": 0.343},
            "RELIANCE": {"capital": 21200.0, "weight": 0.444},
            "HDFCBANK": {"capital": 10175.0, "weight": 0.213},
        },
    },
    "constraints": [
        {"name": "budget", "limit": 300000.0, "value": 47781.25, "binding": False, "dual": 0.0},
        {
            "name": "max_industry[Oil Gas & Consumable Fuels]",
            "limit": 105000.0,
            "value": 21200.0,
            "binding": False,
            "dual": 0.0,
        },
        {"name": "max_abs_vega", "limit": 15000.0, "value": 125.6, "binding": True, "dual": 0.0021},
    ],
}


def sample_document(run_id: str | None = None, positions: int = 3) -> dict[str, Any]:
    """A fresh copy of the sample run (optionally renamed, with ``positions`` positions)."""
    document = copy.deepcopy(_BASE)
    if run_id is not None:
        document["run_id"] = run_id
    base = document["allocations"]
    document["allocations"] = (
        [{**copy.deepcopy(base[i % len(base)]), "lots": 1 + i} for i in range(positions)]
        if positions != len(base)
        else base
    )
    return document


def sample_tables() -> dict[str, pd.DataFrame]:
    """One frame per input table, typed as ``read_table`` returns them (NaN/NA for empty cells)."""
    text = "str"
    return {
        "industry_allocations_current": pd.DataFrame(
            {
                "industry": pd.Series(["Banks", "Information Technology", "Power"], dtype=text),
                "sector": pd.Series(["Financial Services", "IT Services", np.nan], dtype=text),
                "position_type": pd.Series(["LONG", "LONG", "SHORT"], dtype=text),
                "weight_percentage": [28.5, 21.0, 7.25],
                "rating": pd.Series(
                    ["strong_overweight", "moderate_overweight", np.nan], dtype=text
                ),
            }
        ),
        "sector_allocations_current": pd.DataFrame(
            {
                "sector": pd.Series(["Financial Services", "Energy"], dtype=text),
                "position_type": pd.Series(["LONG", "SHORT"], dtype=text),
                "weight_percentage": [35.0, 12.0],
                "rating": pd.Series(["overweight", "underweight"], dtype=text),
            }
        ),
        "stock_data": pd.DataFrame(
            {
                "symbol": pd.Series(["TCS", "RELIANCE", "ZOMATO"], dtype=text),
                "industry": pd.Series(["IT", "Oil Gas", "Consumer Services"], dtype=text),
                "sector": pd.Series(["IT Services", "Energy", np.nan], dtype=text),
                "fno_stock": pd.Series([True, True, pd.NA], dtype="boolean"),
                "lot_size": pd.Series([175, 250, 2275], dtype="Int64"),
                "market_cap_category": pd.Series(["Large", "Large", "Mid"], dtype=text),
            }
        ),
        "stock_rankings": pd.DataFrame(
            {
                "symbol": pd.Series(["TCS", "RELIANCE"], dtype=text),
                "market_cap_category": pd.Series(["Large", np.nan], dtype=text),
                "score": [81.5, 77.25],
            }
        ),
        "strategies": pd.DataFrame(
            {
                "stock_name": pd.Series(["TCS", "RELIANCE"], dtype=text),
                "industry": pd.Series(["IT", "Oil Gas"], dtype=text),
                "strategy_name": pd.Series(["Bull Call Spread", "Iron Condor"], dtype=text),
                "total_score": [0.82, 0.74],
                "probability_of_profit": [0.41, np.nan],
                "risk_reward_ratio": [2.1, 0.6],
                "legs": pd.Series(
                    [
                        [
                            {"kind": "call", "side": "buy", "strike": 3900.0, "quantity": 1},
                            {"kind": "call", "side": "sell", "strike": 4000.0, "quantity": 1},
                        ],
                        None,
                    ],
                    dtype=object,
                ),
            }
        ),
        "option_chain_data": pd.DataFrame(
            {
                "symbol": pd.Series(["NIFTY", "NIFTY", "NIFTY"], dtype=text),
                "expiry": pd.to_datetime(["2024-06-27", "2024-06-27", "2024-07-25"]),
                "strike": [23500.0, 23500.0, 23600.0],
                "kind": pd.Series(["call", "put", "call"], dtype=text),
                "bid": [182.3, 86.95, np.nan],
                "ask": [183.0, 87.4, 310.0],
                "last": [182.6, 87.1, 309.5],
                "volume": [1_254_300.0, 987_100.0, 0.0],
                "open_interest": [4_512_000.0, 3_120_450.0, 15.0],
                "implied_vol": [0.1285, 0.1342, 0.141],
                "spot": [23501.1, 23501.1, 23501.1],
                "as_of": pd.to_datetime(
                    ["2024-06-20 15:30", "2024-06-20 15:30", "2024-06-20 15:30"]
                ),
                "root": pd.Series(["NIFTY", "NIFTY", "NIFTY"], dtype=text),
                "settlement": [182.4, np.nan, 309.5],
                "lot_size": [25.0, 25.0, 25.0],
            }
        ),
        "holdings": pd.DataFrame(
            {
                "symbol": pd.Series(["TCS", "TCS", "RELIANCE"], dtype=text),
                "instrument": pd.Series(["stock", "call", "put"], dtype=text),
                "quantity": [350.0, -2.0, 1.0],
                "strike": [np.nan, 4100.0, 2800.0],
                "expiry": pd.to_datetime([pd.NaT, "2024-06-27", "2024-07-25"]),
                "cost": [3650.5, 42.0, np.nan],
            }
        ),
    }
