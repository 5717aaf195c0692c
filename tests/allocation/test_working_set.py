"""Working-set (column generation) exact Kelly agrees with the direct cvxpy form."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantalloc.allocation import (
    Allocator,
    Budget,
    CandidateBounds,
    ConstraintConflict,
    ExposureLimit,
    FractionalKelly,
    GroupCap,
    GroupTarget,
    Kelly,
    RiskConstrainedKelly,
)
from quantalloc.allocation.context import Settings
from quantalloc.allocation.interior import GrowthProblem, solve_growth
from quantalloc.allocation.rows import Atoms
from quantalloc.allocation.working_set import kelly_working_set
from quantalloc.errors import ConfigError, SolverError
from tests.allocation.helpers import make_candidates

CONS = [
    Budget(limit=0.9),
    GroupCap(by="industry", limit=0.4),
    ExposureLimit(attribute="vega", max_abs=0.05),
    ExposureLimit(attribute="delta", max_abs=0.05),
    CandidateBounds(upper=0.15),
]


def test_pricing_adds_columns_until_kkt_holds() -> None:
    data = make_candidates(n=60, scenarios=300, seed=11)
    alloc = Allocator(objective=Kelly(), constraints=CONS)
    rows = alloc.rows(data)
    atoms = Atoms.from_rows(rows, data.n_candidates)
    h = atoms.rhs(rows, {}, Settings(capital=1.0, budget=0.9))
    w, y, _, obj, info = kelly_working_set(data.r, data.p, atoms.G.toarray(), h, initial=2, grow=2)
    assert info.iterations > 1 and info.final_size > 2
    direct = Allocator(objective=Kelly(), constraints=CONS, method="direct").solve(data)
    assert obj == pytest.approx(direct.objective_value, abs=1e-7)
    # KKT at the end: no candidate outside the support has a positive reduced cost
    grad = data.r.T @ (data.p / (1 + data.r @ w))
    reduced = grad - atoms.G.toarray().T @ y
    assert reduced.max() <= 1e-6


def test_allocator_working_set_matches_direct_with_duals() -> None:
    data = make_candidates(n=40, scenarios=400, seed=12)
    direct = Allocator(objective=Kelly(), constraints=CONS, method="direct").solve(data)
    fast = Allocator(objective=Kelly(), constraints=CONS, method="working_set").solve(data)
    assert fast.objective_value == pytest.approx(direct.objective_value, abs=1e-7)
    assert (fast.constraint_table["violation"] <= 1e-7).all()
    np.testing.assert_allclose(
        fast.constraint_table["dual"], direct.constraint_table["dual"], atol=1e-4
    )
    half = Allocator(
        objective=FractionalKelly(fraction=0.5), constraints=CONS, method="working_set"
    ).solve(data)
    np.testing.assert_allclose(half.weights, 0.5 * fast.weights, atol=1e-9)


def test_working_set_refuses_other_objectives() -> None:
    with pytest.raises(ConfigError, match="working_set"):
        Allocator(
            objective=RiskConstrainedKelly(quadratic=True), constraints=CONS, method="working_set"
        ).solve(make_candidates())


def test_risk_constrained_kelly_working_set_matches_direct() -> None:
    data = make_candidates(n=40, scenarios=600, seed=13)
    cons = [Budget(limit=1.0), GroupCap(by="industry", limit=0.6), CandidateBounds(upper=0.5)]
    objective = RiskConstrainedKelly(alpha=0.95, beta=0.01)
    direct = Allocator(objective=objective, constraints=cons, method="direct").solve(data)
    alloc = Allocator(objective=objective, constraints=cons, method="working_set")
    fast = alloc.solve(data)
    row = fast.constraint("drawdown")
    # the bound is active (lambda = 90 here: W^-90 amplifies solver tolerance ~1e4-fold)
    assert row.binding and row.value == pytest.approx(1.0, abs=1e-4)
    assert fast.objective_value == pytest.approx(direct.objective_value, abs=1e-7)
    # the dual of E[W^-lambda] <= 1 agrees with the direct form's dual of its log version
    assert row.dual == pytest.approx(direct.constraint("drawdown").dual, rel=1e-3)
    # a new beta re-solves through limits= and loosens the bound
    looser = alloc.solve(data, limits={"drawdown": 0.05})
    assert looser.objective_value > fast.objective_value


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(5, 50),
    scenarios=st.integers(30, 300),
    target=st.booleans(),
)
def test_working_set_equals_direct_on_random_problems(
    seed: int, n: int, scenarios: int, target: bool
) -> None:
    data = make_candidates(n=n, scenarios=scenarios, seed=seed)
    cons = list(CONS)
    if target:  # a lower bound: the working set must still find a feasible optimum
        cons.append(GroupTarget(by="industry", targets={"IT": 0.3}, tolerance=0.05))
    try:
        direct = Allocator(objective=Kelly(), constraints=cons, method="direct").solve(data)
    except ConstraintConflict as conflict:  # the target can make it infeasible: same verdict
        with pytest.raises(ConstraintConflict) as info:
            Allocator(objective=Kelly(), constraints=cons, method="working_set").solve(data)
        assert info.value.diagnosis.conflict == conflict.diagnosis.conflict
        return
    fast = Allocator(objective=Kelly(), constraints=cons, method="working_set").solve(data)
    assert fast.objective_value == pytest.approx(direct.objective_value, abs=1e-7)
    assert (fast.constraint_table["violation"] <= 1e-7).all()


def _direct_restricted(
    r: np.ndarray, p: np.ndarray, a: np.ndarray, b: np.ndarray, lam: float | None
) -> tuple[float, str, float]:
    """The same problem as the conic form writes it (cvxpy + Clarabel): value, status, and the
    drawdown row's dual (log E[W^-lam] <= 0)."""
    import cvxpy as cp

    w = cp.Variable(r.shape[1], nonneg=True)
    t = cp.Variable(r.shape[0])
    cons = [a @ w <= b, t <= cp.log(1 + r @ w)]
    if lam is not None:
        cons.append(cp.log_sum_exp(np.log(p) - lam * t) <= 0)
    problem = cp.Problem(cp.Maximize(p @ t), cons)
    problem.solve(solver="CLARABEL")
    dual = float(cons[-1].dual_value) if lam is not None else 0.0
    return float(problem.value), str(problem.status), dual


@pytest.mark.parametrize(
    "lam", [None, math.log(0.1) / math.log(0.7), math.log(0.01) / math.log(0.95)]
)
def test_interior_method_matches_the_conic_form(lam: float | None) -> None:
    # weighted scenarios, caps, a floor and (with lam) the drawdown bound, against Clarabel
    rng = np.random.default_rng(21)
    s, k = 400, 25
    r = np.maximum(rng.uniform(-0.005, 0.03, k) + 0.08 * rng.standard_t(5, (s, k)), -0.95)
    p = rng.random(s)
    p /= p.sum()
    groups = (rng.random((6, k)) < 0.4).astype(float)
    a = np.vstack([groups, np.ones(k), np.eye(k), -groups[0]])
    b = np.concatenate([np.full(6, 0.3), [1.0], np.full(k, 0.2), [-0.1]])
    sol = solve_growth(GrowthProblem(r, p, a, b, lam))
    value, status, dual = _direct_restricted(r, p, a, b, lam)
    assert status == "optimal"
    # Clarabel stops at ~1e-8 of the optimum; the interior method's duality gap is < 1e-11
    assert sol.objective == pytest.approx(value, abs=1e-7)
    assert sol.objective >= value - 1e-9
    assert (a @ sol.w <= b + 1e-9).all() and (sol.w >= 0).all() and (sol.y >= 0).all()
    # KKT: stationarity of the Lagrangian on the support, complementary slackness on the rows
    wealth = 1 + r @ sol.w
    grad = r.T @ (p / wealth) - a.T @ sol.y
    if lam is not None:
        q = p * wealth**-lam
        assert q.sum() <= 1 + 1e-9  # E[W^-lam] <= 1
        grad += sol.nu * lam * (r.T @ (q / wealth)) / q.sum()
        assert sol.nu == pytest.approx(dual, rel=1e-3, abs=1e-6)
    support = sol.w > 1e-6
    np.testing.assert_allclose(grad[support], 0.0, atol=1e-7)
    assert grad.max() <= 1e-7
    assert np.abs(sol.y * (b - a @ sol.w)).max() <= 1e-9


def test_interior_method_stops_by_iterations_not_time() -> None:
    # floors the drawdown bound cannot let any allocation meet: no optimum, a SolverError at
    # the iteration limit (the allocator's "auto" then hands the problem to the compiled form)
    rng = np.random.default_rng(5)
    r = rng.normal(0.0, 0.3, (200, 6)).clip(-0.9, None)
    p = np.full(200, 1 / 200)
    a = np.vstack([np.ones(6), -np.ones(6)])
    b = np.array([1.0, -0.9])  # invest at least 90% in bets whose drawdown risk forbids it
    with pytest.raises(SolverError, match="did not converge in 30 iterations"):
        solve_growth(GrowthProblem(r, p, a, b, math.log(0.01) / math.log(0.95)), max_iterations=30)


def test_auto_falls_back_to_the_direct_form_when_the_working_set_stops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the interior method can stop at its iteration limit (floors the drawdown bound forbids);
    # "auto" must then solve the direct conic form instead of failing, while an explicit method
    # still fails
    import quantalloc.allocation.problem as problem

    def stops(*args: object, **kwargs: object) -> None:
        raise SolverError("the interior method did not converge in 150 iterations")

    monkeypatch.setattr(problem, "solve_working_set", stops)
    data = make_candidates(n=6, scenarios=40, seed=3)
    auto = Allocator(objective=Kelly(), constraints=[Budget(limit=1.0)], method="auto")
    monkeypatch.setattr(Allocator, "_use_working_set", lambda self, d: self.method != "direct")
    result = auto.solve(data)
    direct = Allocator(objective=Kelly(), constraints=[Budget(limit=1.0)], method="direct")
    assert result.objective_value == pytest.approx(direct.solve(data).objective_value, abs=1e-7)
    forced = Allocator(objective=Kelly(), constraints=[Budget(limit=1.0)], method="working_set")
    with pytest.raises(SolverError, match="did not converge"):
        forced.solve(data)
