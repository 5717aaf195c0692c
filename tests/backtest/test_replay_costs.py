"""Expiry charges and fills of the replays' cost rule, by hand-worked numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from quantalloc.backtest.replay.book import Leg
from quantalloc.backtest.replay.costs import ReplayCosts, settle_value
from quantalloc.options.costs import ExerciseCharges, FeeSchedule
from quantalloc.pipeline.model import load_model

NSE = load_model("industry_first").costs.exercise_charges("in")


def _leg(kind: str, strike: float, units: float) -> Leg:
    return Leg(kind, strike, pd.Timestamp("2026-01-27"), units, 10.0, abs(units) / 75.0)


def test_cash_settled_exercise_pays_stt_on_intrinsic_value() -> None:
    # the worked example of an exercised NIFTY call (100 lots of 75, strike 16,000, settled at
    # 16,100): intrinsic value 7,50,000, STT 0.125% of it = Rs 937.5
    leg = _leg("call", 16_000.0, 7_500.0)
    costs = ReplayCosts(exercise=NSE)
    assert settle_value(leg, 16_100.0) == 100.0
    assert costs.exercise_charge(leg, 16_100.0, physical=False) == pytest.approx(937.5)
    # the writer of a cash-settled option pays no exercise STT; out of the money nobody does
    assert costs.exercise_charge(_leg("call", 16_000.0, -7_500.0), 16_100.0, False) == 0.0
    assert costs.exercise_charge(leg, 15_900.0, physical=False) == 0.0


def test_physical_settlement_pays_delivery_stt_on_both_sides() -> None:
    # a stock put 2,000 in the money at 1,900: 500 shares change hands at the strike, each
    # side pays 0.1% of the shares' value at the settlement price (1,900 x 500 x 0.001 = 950)
    costs = ReplayCosts(exercise=NSE)
    for units in (500.0, -500.0):
        leg = _leg("put", 2_000.0, units)
        assert costs.exercise_charge(leg, 1_900.0, physical=True) == pytest.approx(950.0)


def test_model_fills_and_fees() -> None:
    fees = FeeSchedule(per_lot=20.0, sell_rate=0.001, tax_rate=0.18)
    costs = ReplayCosts.from_model(0.03, 0.05, fees, ExerciseCharges(), 0.0)
    # half of a 3% spread, at least half a 0.05 tick
    assert costs.model_fill(10.0, "buy") == pytest.approx(10.15)
    assert costs.model_fill(1.0, "sell") == pytest.approx(0.975)
    # 4 contracts of 75 sold at 10: per lot 20 x 1.18 + 0.1% of 750 = 24.35
    leg = Leg("put", 100.0, pd.Timestamp("2026-01-27"), -300.0, 10.0, 4.0)
    assert costs.fee(leg, 10.0, "sell", 75) == pytest.approx(4 * 24.35)
    flat = ReplayCosts.flat(0.02, 0.65, 0.0)
    assert flat.model_fill(10.0, "sell") == pytest.approx(9.8)
    assert flat.fee(leg, 10.0, "sell", 75) == pytest.approx(4 * 0.65)
