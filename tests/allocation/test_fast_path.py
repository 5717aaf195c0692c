"""The fast path (working set + interior method) against the direct conic form, with every
constraint kind the pipeline uses, and weighted scenarios against repeated ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from quantalloc.allocation import (
    AllocationResult,
    Allocator,
    Budget,
    Candidates,
    ConstraintConflict,
    ExposureLimit,
    FlaggedCap,
    GroupCap,
    GroupTarget,
    Kelly,
    LotRounding,
    MaxLoss,
    Objective,
    RiskConstrainedKelly,
)
from tests.allocation.helpers import make_candidates

CAPITAL = 1_000_000.0


def pipeline_like(n: int, scenarios: int, seed: int) -> Candidates:
    """Candidates labelled as the pipeline labels them: symbol, strategy, industry, the
    theta-positive flag, vega and max loss per unit of currency, lot costs."""
    base = make_candidates(n=n, scenarios=scenarios, seed=seed)
    rng = np.random.default_rng(seed + 1)
    names = base.names
    groups = base.groups.assign(  # type: ignore[union-attr]
        strategy=[("iron_condor", "bull_put_spread", "calendar_spread")[i % 3] for i in range(n)]
    )
    attributes = base.attributes.assign(  # type: ignore[union-attr]
        vega=rng.normal(0.0, 2.0, n), max_loss=np.maximum(-base.r.min(axis=0), 0.05)
    )
    return Candidates(
        returns=base.returns,
        attributes=attributes,
        groups=groups,
        lot_cost=pd.Series(rng.uniform(500, 5_000, n), index=names),
    )


def pipeline_constraints(data: Candidates, floor: float) -> list[object]:
    """The terms ``pipeline.sizing.constraint_terms`` builds: budget, symbol / strategy /
    industry caps, industry target bands (``floor`` below each target), the theta-positive
    share, |vega| in currency and the max loss per trade."""
    industries = sorted(set(data.group("industry")))
    share = 1.0 / len(industries)
    return [
        Budget(limit=0.4),
        GroupCap(by="symbol", limit=0.2, name="max_symbol"),
        GroupCap(by="strategy", limit=0.5, name="max_strategy"),
        GroupCap(by="industry", limit=0.6, name="max_industry"),
        FlaggedCap(flag="theta_positive", limit=0.6, name="max_theta_positive"),
        ExposureLimit(attribute="vega", max_abs=20_000.0, unit="currency"),
        MaxLoss(limit=0.05, attribute="max_loss", unit="capital", name="max_risk_per_trade"),
        GroupTarget(
            by="industry", targets=dict.fromkeys(industries, share), tolerance=share - floor
        ),
    ]


def solve_both(
    data: Candidates, objective: Objective, cons: list[object]
) -> tuple[AllocationResult, AllocationResult] | None:
    """(fast, direct) results, or None when both find the limits in conflict (same verdict)."""
    kw = {"objective": objective, "constraints": cons, "capital": CAPITAL}
    try:
        direct = Allocator(**kw, method="direct").solve(data)  # type: ignore[arg-type]
    except ConstraintConflict as conflict:
        with pytest.raises(ConstraintConflict) as info:
            Allocator(**kw, method="working_set").solve(data)  # type: ignore[arg-type]
        assert info.value.diagnosis.conflict == conflict.diagnosis.conflict
        return None
    fast = Allocator(**kw, method="working_set").solve(data)  # type: ignore[arg-type]
    return fast, direct


def assert_same_optimum(fast: AllocationResult, direct: AllocationResult) -> None:
    """Within 1e-6 of the direct form's objective (issue 19), never below it by more than its
    own tolerance, and every row held."""
    assert fast.objective_value == pytest.approx(direct.objective_value, abs=1e-6)
    assert fast.objective_value >= direct.objective_value - 1e-7
    assert (fast.constraint_table["violation"] <= 1e-7).all()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(8, 40),
    scenarios=st.integers(60, 400),
    floor=st.sampled_from([0.0, 0.05, 0.15]),
)
def test_kelly_with_the_pipelines_constraints_equals_the_direct_form(
    seed: int, n: int, scenarios: int, floor: float
) -> None:
    data = pipeline_like(n, scenarios, seed)
    both = solve_both(data, Kelly(), pipeline_constraints(data, floor))
    if both is not None:
        assert_same_optimum(*both)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(8, 25),
    scenarios=st.integers(60, 200),
    floor=st.sampled_from([0.0, 0.2]),
    beta=st.sampled_from([0.01, 0.1]),
)
# floors the drawdown bound forbids: the interior method stops at its iteration limit and the
# diagnosis names the conflict, as the direct form's does
@example(seed=0, n=9, scenarios=60, floor=0.25, beta=0.01)
def test_risk_constrained_kelly_with_the_pipelines_constraints_equals_the_direct_form(
    seed: int, n: int, scenarios: int, floor: float, beta: float
) -> None:
    data = pipeline_like(n, scenarios, seed)
    cons = pipeline_constraints(data, floor)
    cons[0] = Budget(limit=1.0)  # room enough for the drawdown bound to bind
    both = solve_both(data, RiskConstrainedKelly(alpha=0.95, beta=beta), cons)
    if both is None:
        return
    fast, direct = both
    assert_same_optimum(fast, direct)
    row = fast.constraint("drawdown")
    assert row.value <= 1.0 + 1e-7
    if row.binding and direct.constraint("drawdown").dual > 1e-4:
        assert row.dual == pytest.approx(direct.constraint("drawdown").dual, rel=1e-2)


def test_drawdown_binds_with_floors_at_ten_thousand_scenarios() -> None:
    # the case that sent the old path to the direct form for minutes: floors that bind and
    # the drawdown bound at 10,000 scenarios, now inside the fast path
    data = pipeline_like(60, 10_000, seed=3)
    cons = pipeline_constraints(data, 0.25)
    cons[0] = Budget(limit=1.0)
    result = Allocator(
        objective=RiskConstrainedKelly(alpha=0.95, beta=0.01), constraints=cons, capital=CAPITAL
    ).solve(data)
    assert result.solver.startswith("interior")
    assert result.constraint("drawdown").binding
    assert result.constraint("drawdown").value <= 1.0 + 1e-7
    assert any(r.binding for r in result.constraints if r.name.startswith("target["))
    assert (result.constraint_table["violation"] <= 1e-7).all()


def repeated(data: Candidates, counts: np.ndarray) -> Candidates:
    """Each scenario written ``counts[s]`` times, equally likely."""
    rows = np.repeat(np.arange(data.n_scenarios), counts)
    return Candidates(
        returns=data.returns.iloc[rows].reset_index(drop=True),
        attributes=data.attributes,
        groups=data.groups,
        lot_cost=data.lot_cost,
    )


@pytest.mark.parametrize("objective", [Kelly(), RiskConstrainedKelly(alpha=0.9, beta=0.05)])
def test_weighted_scenarios_equal_repeated_scenarios(objective: Objective) -> None:
    # a scenario of probability 3/N is the same scenario written three times: same optimum,
    # same duals, same lots, on the fast path and on the compiled form
    data = pipeline_like(20, 150, seed=8)
    counts = np.random.default_rng(8).integers(1, 4, data.n_scenarios)
    weighted = Candidates(
        returns=data.returns,
        probabilities=counts / counts.sum(),
        attributes=data.attributes,
        groups=data.groups,
        lot_cost=data.lot_cost,
    )
    cons = pipeline_constraints(data, 0.05)
    cons[0] = Budget(limit=1.0)
    results = []
    for d in (weighted, repeated(data, counts)):
        for method in ("working_set", "direct"):
            results.append(
                Allocator(
                    objective=objective,
                    constraints=cons,  # type: ignore[arg-type]
                    capital=CAPITAL,
                    method=method,
                    rounding=LotRounding(),
                ).solve(d)
            )
    fast_w, direct_w, fast_r, direct_r = results
    assert fast_w.objective_value == pytest.approx(fast_r.objective_value, abs=1e-9)
    assert fast_w.objective_value == pytest.approx(direct_w.objective_value, abs=1e-6)
    assert direct_w.objective_value == pytest.approx(direct_r.objective_value, abs=1e-6)
    np.testing.assert_allclose(fast_w.weights, fast_r.weights, atol=1e-7)
    np.testing.assert_allclose(
        fast_w.constraint_table["dual"], fast_r.constraint_table["dual"], atol=1e-6
    )
    assert fast_w.rounding is not None and fast_r.rounding is not None
    pd.testing.assert_series_equal(fast_w.rounding.lots, fast_r.rounding.lots)
