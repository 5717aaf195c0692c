"""No dust: minimum position size and a fixed cost per position in the integer step.

Reference: the integer program's optimum found by enumerating every lot vector of a small
problem (the MIP's objective written out by hand: L1 distance from the continuous weights plus
the fixed cost per position opened, under the same rows).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from quantalloc.allocation import (
    Allocator,
    Budget,
    CandidateBounds,
    Kelly,
    LotRounding,
    PositionRules,
)
from quantalloc.errors import ConfigError
from tests.allocation.helpers import make_candidates

CAPITAL = 1_000_000.0


def _solve(data, rules: PositionRules, method: str = "mip"):  # type: ignore[no-untyped-def]
    alloc = Allocator(
        objective=Kelly(),
        constraints=[Budget(limit=0.5), CandidateBounds(upper=0.15)],
        capital=CAPITAL,
        rounding=LotRounding(method=method, positions=rules),
    )
    return alloc.solve(data)


@pytest.mark.parametrize("seed", [3, 8])
def test_positions_meet_the_minimums(seed: int) -> None:
    data = make_candidates(n=10, seed=seed)
    rules = PositionRules(min_lots=3, min_capital=40_000 / CAPITAL)
    for method in ("mip", "greedy"):
        result = _solve(data, rules, method)
        assert result.rounding is not None
        lots = result.rounding.lots.to_numpy()
        cost = data.lot_cost.to_numpy()  # type: ignore[union-attr]
        held = lots > 0
        assert held.any(), method
        assert (lots[held] >= 3).all() and (lots[held] * cost[held] >= 40_000 - 1e-6).all()
        assert result.rounding.violations == ()


@pytest.mark.parametrize(("min_lots", "fixed"), [(2, 0.0005), (6, 0.0005), (1, 0.0008), (11, 0.0)])
def test_the_mip_is_the_enumerated_optimum(min_lots: int, fixed: float) -> None:
    data = make_candidates(n=4, seed=11)
    rules = PositionRules(min_lots=min_lots, fixed_cost=fixed)
    result = _solve(data, rules)
    rounding = result.rounding
    assert rounding is not None and rounding.method == "mip"  # the program's own answer
    unit = data.lot_cost.to_numpy() / CAPITAL  # type: ignore[union-attr]
    target = np.round(result.weights.to_numpy() / unit / 1e-3) * 1e-3 * unit  # the lot grid

    def cost(lots: np.ndarray) -> float:
        return float(np.abs(unit * lots - target).sum()) + fixed * np.count_nonzero(lots)

    best = None
    ranges = [range(0, int(np.ceil(t / u)) + 2) for t, u in zip(target, unit, strict=True)]
    for combo in itertools.product(*ranges):
        lots = np.array(combo, dtype=float)
        w = unit * lots
        # the rows: budget 0.5 of capital, each candidate <= 15% of that budget
        if w.sum() > 0.5 + 1e-9 or (w > 0.15 * 0.5 + 1e-9).any():
            continue
        if ((lots > 0) & (lots < min_lots)).any():
            continue
        if best is None or cost(lots) < best - 1e-12:
            best = cost(lots)
    assert best is not None
    assert cost(rounding.lots.to_numpy()) == pytest.approx(best, abs=1e-9)


def test_a_fixed_cost_opens_fewer_positions_and_is_charged() -> None:
    data = make_candidates(n=12, seed=5)
    free = _solve(data, PositionRules())
    costly = _solve(data, PositionRules(fixed_cost=0.01))
    assert free.rounding is not None and costly.rounding is not None
    n_free = int((free.rounding.lots > 0).sum())
    n_costly = int((costly.rounding.lots > 0).sum())
    assert n_costly < n_free
    w = costly.rounding.weights.to_numpy()
    gross = Kelly().evaluate(w, data)
    assert costly.rounding.objective_value == pytest.approx(gross - 0.01 * n_costly, abs=1e-12)


def test_rules_speak_in_fractions_of_capital() -> None:
    with pytest.raises(ConfigError, match="min_lots must be >= 1; got 0"):
        PositionRules(min_lots=0)
    with pytest.raises(ConfigError, match="fixed_cost is a fraction of capital"):
        PositionRules(fixed_cost=25.0)
    assert not PositionRules().active
    assert pd.Series(PositionRules(min_lots=2).smallest(np.array([0.1]))).iloc[0] == 2.0
