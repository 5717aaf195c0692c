"""The engine's band strategy: solving the bands' upper sides first is exact when they hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantalloc.allocation import Allocator, Budget, Candidates, GroupCap, GroupTarget, Kelly
from quantalloc.allocation.bands import solve_upper_first
from quantalloc.allocation.lots import LotRounding
from quantalloc.errors import ConfigError


def _data(seed: int = 0, n: int = 30, s: int = 400) -> Candidates:
    rng = np.random.default_rng(seed)
    r = rng.normal(0.02, 0.25, (s, n)).clip(-1.0, None)
    names = [f"c{i}" for i in range(n)]
    groups = pd.DataFrame({"industry": [("A", "B", "C")[i % 3] for i in range(n)]}, index=names)
    return Candidates(
        returns=pd.DataFrame(r, columns=names),
        groups=groups,
        lot_cost=pd.Series(rng.uniform(500, 5000, n), index=names),
    )


def _allocator(tolerance: float, targets: dict[str, float]) -> Allocator:
    return Allocator(
        objective=Kelly(),
        constraints=[
            Budget(limit=0.25),
            GroupCap(by="industry", limit=0.6, unit="budget", name="max_industry"),
            GroupTarget(by="industry", targets=targets, tolerance=tolerance, unit="budget"),
        ],
        capital=1_000_000.0,
        rounding=LotRounding(method="mip"),
    )


def test_loose_bands_give_the_full_problems_optimum() -> None:
    data = _data()
    targets = {"A": 1 / 3, "B": 1 / 3, "C": 1 / 3}
    fast = solve_upper_first(_allocator(0.34, targets), data, None, {})
    full = _allocator(0.34, targets).solve(data)
    assert fast is not None
    assert fast.objective_value == pytest.approx(full.objective_value, abs=1e-6)
    # the rounded lots keep every row, bands included
    rows = {r.name: r for r in fast.constraints}
    assert {"target[A]", "target[B]", "target[C]"} <= set(rows)
    assert fast.rounding is not None and not fast.rounding.violations
    w = fast.rounding.weights.to_numpy()
    labels = data.group("industry").to_numpy()
    for g, t in targets.items():
        share = w[labels == g].sum() / 0.25
        assert t - 0.34 - 1e-9 <= share <= t + 0.34 + 1e-9


def test_binding_bands_fall_back_to_the_full_solve() -> None:
    data = _data(1)
    # C must hold 55% +- 1% of the budget: the optimum without the band does not do that
    alloc = _allocator(0.01, {"C": 0.55})
    free = Allocator(objective=Kelly(), constraints=alloc.constraints[:2], capital=1e6).solve(data)
    labels = data.group("industry").to_numpy()
    assert abs(free.weights.to_numpy()[labels == "C"].sum() / 0.25 - 0.55) > 0.01
    assert solve_upper_first(alloc, data, None, {}) is None
    row = alloc.solve(data).constraint("target[C]")
    assert 0.54 - 1e-6 <= row.value <= 0.56 + 1e-6 and row.binding


def test_a_binding_upper_side_keeps_its_dual() -> None:
    data = _data(2)
    boosted = data.returns.copy()
    a_cols = [c for c, g in zip(data.names, data.group("industry"), strict=True) if g == "A"]
    boosted[a_cols] += 0.05  # industry A is the best bet: its band's upper side binds
    data = Candidates(returns=boosted, groups=data.groups, lot_cost=data.lot_cost)
    targets = {"A": 0.2, "B": 0.3}
    fast = solve_upper_first(_allocator(0.1, targets), data, None, {})
    full = _allocator(0.1, targets).solve(data)
    assert fast is not None
    assert fast.objective_value == pytest.approx(full.objective_value, abs=1e-6)
    fast_row = next(r for r in fast.constraints if r.name == "target[A]")
    full_row = full.constraint("target[A]")
    assert fast_row.binding and fast_row.value == pytest.approx(0.3, abs=1e-6)
    assert fast_row.dual == pytest.approx(full_row.dual, rel=1e-3, abs=1e-6)


def test_repair_takes_lots_off_the_position_breaking_a_cap() -> None:
    from quantalloc.allocation.constraints import Row
    from quantalloc.allocation.context import Settings
    from quantalloc.allocation.lots import repair_caps

    settings = Settings(capital=1.0, budget=1.0)
    vega = Row("max_abs_vega", np.array([3.0, -1.0, 0.5]), None, 10.0, "capital", True)
    budget = Row("budget", np.ones(3), None, 100.0, "capital")
    unit = np.ones(3)
    # 4*3 - 1*1 + 2*0.5 = 12 > 10: one lot of the first position (3 per lot) fixes it
    fixed = repair_caps([vega, budget], np.array([4, 1, 2]), unit, settings, {})
    np.testing.assert_array_equal(fixed, [3, 1, 2])
    # already within every cap: untouched
    ok = repair_caps([vega, budget], np.array([1, 1, 1]), unit, settings, {})
    np.testing.assert_array_equal(ok, [1, 1, 1])


def test_the_strategy_is_the_engines_own() -> None:
    data = _data(3)
    targets = {"A": 1 / 3, "B": 1 / 3, "C": 1 / 3}
    alloc = _allocator(0.34, targets)
    alloc.bands = "upper_first"
    fast = alloc.solve(data)
    full = _allocator(0.34, targets).solve(data)
    assert fast.objective_value == pytest.approx(full.objective_value, abs=1e-6)
    assert "__upper" not in " ".join(r.name for r in fast.constraints)
    assert fast.rounding is not None and fast.rounding.constraints  # rows realised with lots
    with pytest.raises(ConfigError, match="bands must be"):
        Allocator(objective=Kelly(), bands="lower_last")


@pytest.mark.parametrize("method", ["direct", "working_set"])
def test_both_paths_refuse_a_negative_capital(method: str) -> None:
    alloc = Allocator(objective=Kelly(), constraints=[Budget(limit=0.5)], method=method)
    with pytest.raises(ConfigError, match="capital must be a positive number"):
        alloc.solve(_data(), capital=-5)
