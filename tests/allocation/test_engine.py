"""The allocation engine: objectives against closed forms, constraints, parameters, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantalloc.allocation import (
    Allocator,
    Budget,
    CandidateBounds,
    Candidates,
    CVaRCap,
    ExposureLimit,
    FlaggedCap,
    FractionalKelly,
    GroupCap,
    GroupTarget,
    Kelly,
    KellyQuadratic,
    LongShortSplit,
    MaxLoss,
    MeanCVaR,
    RiskConstrainedKelly,
    Score,
)
from quantalloc.errors import ConfigError, DataError, SolverError
from tests.allocation.helpers import make_candidates


def binary_bet(p: float, b: float) -> Candidates:
    """One bet: win b per unit staked with probability p, lose the stake otherwise."""
    return Candidates(returns=pd.DataFrame({"bet": [b, -1.0]}), probabilities=np.array([p, 1 - p]))


def test_kelly_single_bet_matches_textbook_fraction() -> None:
    # Kelly (1956): f* = p - (1 - p) / b
    p, b = 0.6, 1.0
    result = Allocator(objective=Kelly(), constraints=[Budget(limit=1.0)]).solve(binary_bet(p, b))
    # weights near a flat optimum are accurate to ~sqrt(solver tolerance)
    assert result.weights["bet"] == pytest.approx(p - (1 - p) / b, abs=1e-4)
    assert result.objective_value == pytest.approx(
        p * np.log(1 + 0.2 * b) + (1 - p) * np.log(0.8), abs=1e-9
    )


def test_quadratic_kelly_single_bet_closed_form() -> None:
    # maximise m w - s w^2 / 2  ->  w = m / s with m = E[r], s = E[r^2]
    p, b = 0.6, 1.0
    m, s = p * b - (1 - p), p * b**2 + (1 - p)
    result = Allocator(objective=KellyQuadratic(), constraints=[Budget(limit=1.0)]).solve(
        binary_bet(p, b)
    )
    assert result.weights["bet"] == pytest.approx(m / s, abs=1e-5)


def test_fractional_kelly_scales_kelly() -> None:
    data = make_candidates(seed=3)
    cons = [Budget(limit=1.0), GroupCap(by="industry", limit=0.6)]
    full = Allocator(objective=Kelly(), constraints=cons).solve(data)
    half = Allocator(objective=FractionalKelly(fraction=0.5), constraints=cons).solve(data)
    np.testing.assert_allclose(half.weights, 0.5 * full.weights, atol=1e-7)


def test_fractional_kelly_refuses_to_break_a_target() -> None:
    data = make_candidates(seed=3)
    cons = [Budget(limit=1.0), GroupTarget(by="industry", targets={"Energy": 0.5}, tolerance=0.05)]
    with pytest.raises(ConfigError, match="target"):
        Allocator(objective=FractionalKelly(fraction=0.5), constraints=cons).solve(data)


def test_objective_evaluate_matches_solver_value() -> None:
    data = make_candidates(seed=1)
    for objective in (
        Kelly(),
        KellyQuadratic(),
        MeanCVaR(confidence=0.9, penalty=0.5),
        Score(),
        Kelly() + 0.01 * Score(),
    ):
        alloc = Allocator(  # the compiled form, whose problem value is read below
            objective=objective,
            constraints=[Budget(limit=1.0), CandidateBounds(upper=0.4)],
            method="direct",
        )
        result = alloc.solve(data)
        solver_value = alloc._compiled.problem.value  # type: ignore[union-attr]
        assert result.objective_value == pytest.approx(solver_value, abs=1e-6), objective.name


def test_score_fills_best_candidates_up_to_caps() -> None:
    data = make_candidates(seed=2)
    result = Allocator(
        objective=Score(), constraints=[Budget(limit=1.0), CandidateBounds(upper=0.25)]
    ).solve(data)
    best = data.attributes["score"].sort_values(ascending=False).index[:4]  # type: ignore[index]
    np.testing.assert_allclose(result.weights[best], 0.25, atol=1e-6)
    assert result.weights.sum() == pytest.approx(1.0, abs=1e-6)


def all_constraints() -> list[object]:
    return [
        Budget(limit=0.8),
        CandidateBounds(upper=0.3),
        GroupCap(by="industry", limit=0.45),
        GroupCap(by="symbol", limit=0.3),
        GroupTarget(by="industry", targets={"IT": 0.3}, tolerance=0.05),
        ExposureLimit(attribute="vega", max_abs=0.05),
        ExposureLimit(attribute="delta", lower=-0.1, upper=0.1),
        FlaggedCap(flag="theta_positive", limit=0.5),
        LongShortSplit(max_long=0.7, max_short=0.7, max_net=0.5),
        MaxLoss(limit=0.2),
        CVaRCap(limit=0.1, confidence=0.95),
    ]


def test_every_constraint_holds_and_is_reported() -> None:
    data = make_candidates(n=14, seed=4)
    result = Allocator(objective=Kelly(), constraints=all_constraints()).solve(data)  # type: ignore[arg-type]
    table = result.constraint_table
    assert {
        "budget",
        "max_industry[Energy]",
        "max_symbol[S0]",
        "target[IT]",
        "max_abs_vega",
        "net_delta",
        "max_theta_positive",
        "max_long",
        "max_short",
        "max_net_long",
        "max_loss[c0]",
        "max_weight[c0]",
        "max_cvar",
    } <= set(table.index)
    assert (table["violation"] <= 1e-6).all(), table[table["violation"] > 1e-6]
    w = result.weights.to_numpy()
    budget = 0.8
    energy = data.groups["industry"].eq("Energy").to_numpy()  # type: ignore[index]
    assert w[energy].sum() / budget == pytest.approx(table.loc["max_industry[Energy]", "value"])
    vega = data.attribute("vega") @ w
    assert abs(vega) / budget == pytest.approx(table.loc["max_abs_vega", "value"])
    assert result.weights.sum() <= 0.8 + 1e-7


def test_budget_dual_matches_finite_difference() -> None:
    data = make_candidates(seed=5)
    alloc = Allocator(objective=Kelly(), constraints=[Budget(limit=0.3)])
    base = alloc.solve(data)
    row = base.constraint("budget")
    assert row.binding
    h = 1e-4
    up = alloc.solve(data, limits={"budget": 0.3 + h}).objective_value
    assert row.dual == pytest.approx((up - base.objective_value) / h, rel=2e-2)


def test_resolve_changes_numbers_without_recompiling() -> None:
    data = make_candidates(n=8, scenarios=100, seed=6)
    alloc = Allocator(  # the compiled form (parameters refreshed, never recompiled)
        objective=Kelly(),
        method="direct",
        capital=1e6,
        constraints=[
            Budget(limit=0.9),
            GroupCap(by="industry", limit=0.5),
            GroupTarget(by="industry", targets={"IT": 0.3}),
            ExposureLimit(attribute="vega", max_abs=50_000, unit="currency"),
        ],
    )
    first = alloc.solve(data)
    assert alloc._compiled.problem.is_dcp(dpp=True)  # type: ignore[union-attr]
    second = alloc.solve(data, capital=2e6, limits={"max_industry": 0.4, "target[IT]": (0.2, 0.25)})
    assert second.constraint("max_industry[Energy]").value <= 0.4 + 1e-6
    assert 0.2 - 1e-6 <= second.constraint("target[IT]").value <= 0.25 + 1e-6
    assert second.constraint("max_abs_vega").value <= 50_000 * (1 + 1e-6)
    # new scenario values and probabilities, same structure
    p = np.linspace(1, 2, 100)
    shifted = Candidates(
        returns=data.returns * 1.1,
        probabilities=p / p.sum(),
        attributes=data.attributes,
        groups=data.groups,
    )
    third = alloc.solve(shifted)
    assert alloc.compile_count == 1
    fresh = Allocator(objective=Kelly(), capital=1e6, constraints=alloc.constraints).solve(shifted)
    assert third.objective_value == pytest.approx(fresh.objective_value, abs=1e-7)
    assert first.objective_value != pytest.approx(third.objective_value)


def test_soft_constraint_becomes_a_penalty() -> None:
    data = make_candidates(seed=7)
    cons = [
        Budget(limit=1.0),
        GroupCap(by="industry", limit=0.1),
        GroupTarget(by="industry", targets={"Energy": 0.5}, tolerance=0.0),
    ]
    result = Allocator(objective=Kelly(), constraints=cons, soft={"target": 0.01}).solve(data)
    row = result.constraint("target[Energy]")
    assert row.soft and row.violation > 0.3  # cheap penalty: the cap wins
    assert result.constraint("max_industry[Energy]").violation <= 1e-7
    strict = Allocator(objective=Kelly(), constraints=cons, soft={"max_industry": 10.0}).solve(data)
    assert strict.constraint("target[Energy]").violation <= 1e-6


def test_rck_constraint_row_reports_bound() -> None:
    data = make_candidates(seed=8)
    result = Allocator(
        objective=RiskConstrainedKelly(alpha=0.8, beta=0.2), constraints=[Budget(limit=1.0)]
    ).solve(data)
    row = result.constraint("drawdown")
    assert row.value <= 1 + 1e-6 and row.kind == "conic"


def test_bad_inputs_raise_teaching_errors() -> None:
    with pytest.raises(DataError, match="finite"):
        Candidates(returns=pd.DataFrame({"a": [0.1, np.nan]}))
    with pytest.raises(DataError, match="sum to"):
        Candidates(returns=pd.DataFrame({"a": [0.1, 0.2]}), probabilities=np.array([0.5, 0.6]))
    data = make_candidates()
    with pytest.raises(DataError, match="grouping 'sector' not found"):
        Allocator(objective=Kelly(), constraints=[GroupCap(by="sector")]).solve(data)
    alloc = Allocator(objective=Kelly(), constraints=[Budget(limit=1.0)])
    with pytest.raises(ConfigError, match="names no constraint"):
        alloc.solve(data, limits={"max_sector": 0.2})
    with pytest.raises(ConfigError, match="solver NOPE is not installed"):
        Allocator(objective=Kelly(), solver="NOPE").solve(data)
    sure = Candidates(returns=pd.DataFrame({"a": [0.1, 0.2]}))
    with pytest.raises(SolverError, match="unbounded"):
        Allocator(objective=Kelly()).solve(sure)


def test_solver_fallback_records_attempts_and_moves_on() -> None:
    data = make_candidates(n=5, seed=9)
    # SCIPY cannot take exponential cones: the attempt is recorded and Clarabel finishes the job
    result = Allocator(
        objective=Kelly(), constraints=[Budget(limit=1.0)], solver=["SCIPY", "CLARABEL"]
    ).solve(data)
    assert result.solver == "CLARABEL"
    assert result.attempts[0][0] == "SCIPY" and result.attempts[0][1].startswith("error")
    with pytest.raises(SolverError, match=r"SCIPY: error.*try"):
        Allocator(objective=Kelly(), constraints=[Budget(limit=1.0)], solver="SCIPY").solve(data)
