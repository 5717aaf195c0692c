"""Working-set (column generation) exact Kelly agrees with the direct cvxpy form."""

from __future__ import annotations

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
from quantalloc.allocation.rows import Atoms
from quantalloc.allocation.working_set import kelly_working_set
from quantalloc.errors import ConfigError
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


def test_barrier_matches_the_conic_form() -> None:
    import math

    from quantalloc.allocation.barrier import rck_barrier

    data = make_candidates(n=30, scenarios=500, seed=14)
    cons = [Budget(limit=1.0), GroupCap(by="industry", limit=0.6), CandidateBounds(upper=0.5)]
    alloc = Allocator(objective=Kelly(), constraints=cons)
    rows = alloc.rows(data)
    atoms = Atoms.from_rows(rows, data.n_candidates)
    h = atoms.rhs(rows, {}, Settings(capital=1.0, budget=1.0))
    for alpha, beta in ((0.95, 0.01), (0.9, 0.1)):
        lam = math.log(beta) / math.log(alpha)
        w, _, nu, obj = rck_barrier(data.r, data.p, atoms.G.toarray(), h, lam)
        direct = Allocator(
            objective=RiskConstrainedKelly(alpha=alpha, beta=beta),
            constraints=cons,
            method="direct",
        ).solve(data)
        # same optimum (the barrier's duality gap is < 1e-10) and the same drawdown dual
        assert obj == pytest.approx(direct.objective_value, abs=1e-7)
        assert data.p @ (1 + data.r @ w) ** -lam <= 1 + 1e-9
        assert nu == pytest.approx(direct.constraint("drawdown").dual, rel=1e-3, abs=1e-6)


def test_auto_falls_back_to_the_direct_form_when_the_working_set_stops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the RCK barrier can find no strictly feasible start when industry floors bind; "auto" must
    # then solve the direct conic form instead of failing, while an explicit method still fails
    import quantalloc.allocation.problem as problem
    from quantalloc.errors import SolverError

    def stops(*args: object, **kwargs: object) -> None:
        raise SolverError("no strictly feasible start for the barrier method")

    monkeypatch.setattr(problem, "solve_working_set", stops)
    data = make_candidates(n=6, scenarios=40, seed=3)
    auto = Allocator(objective=Kelly(), constraints=[Budget(limit=1.0)], method="auto")
    monkeypatch.setattr(Allocator, "_use_working_set", lambda self, d: self.method != "direct")
    result = auto.solve(data)
    direct = Allocator(objective=Kelly(), constraints=[Budget(limit=1.0)], method="direct")
    assert result.objective_value == pytest.approx(direct.solve(data).objective_value, abs=1e-7)
    forced = Allocator(objective=Kelly(), constraints=[Budget(limit=1.0)], method="working_set")
    with pytest.raises(SolverError, match="strictly feasible"):
        forced.solve(data)
