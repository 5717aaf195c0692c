"""Weighted scenarios: every objective, constraint, rounding and diagnosis weighs by them.

Reference by construction: a scenario of probability ``k / N`` (``N`` the total count) is the
same scenario written ``k`` times among ``N`` equally likely ones, so every weighted problem below
is compared with its repeated, equal-weight twin (and equal weights with no ``probabilities`` at
all). The fast path's Kelly and risk-constrained Kelly, with lots, are compared the same way in
``test_fast_path.py``; these cover the rest of the engine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantalloc.allocation import (
    Allocator,
    Budget,
    CandidateBounds,
    Candidates,
    ConstraintConflict,
    CVaRCap,
    FractionalKelly,
    GroupCap,
    Kelly,
    KellyQuadratic,
    LotRounding,
    MeanCVaR,
    Objective,
    RiskConstrainedKelly,
)
from quantalloc.allocation.measures import cvar, expected_log_growth
from quantalloc.errors import DataError
from tests.allocation.helpers import make_candidates

CAPITAL = 1_000_000.0


def weighted_and_repeated(
    n: int, scenarios: int, seed: int
) -> tuple[Candidates, Candidates, np.ndarray]:
    """The same scenarios once with integer-count probabilities, once written out repeatedly."""
    data = make_candidates(n=n, scenarios=scenarios, seed=seed)
    counts = np.random.default_rng(seed).integers(1, 4, scenarios)
    weighted = Candidates(
        returns=data.returns,
        probabilities=counts / counts.sum(),
        attributes=data.attributes,
        groups=data.groups,
        lot_cost=data.lot_cost,
    )
    rows = np.repeat(np.arange(scenarios), counts)
    repeated = Candidates(
        returns=data.returns.iloc[rows].reset_index(drop=True),
        attributes=data.attributes,
        groups=data.groups,
        lot_cost=data.lot_cost,
    )
    return weighted, repeated, counts


def test_measures_weight_each_scenario_as_its_copies() -> None:
    weighted, repeated, _ = weighted_and_repeated(6, 80, seed=1)
    w = np.full(6, 0.1)
    assert expected_log_growth(w, weighted) == pytest.approx(
        expected_log_growth(w, repeated), abs=1e-15
    )
    for confidence in (0.9, 0.95, 0.99):  # tails that cut through a repeated scenario too
        assert cvar(w, weighted, confidence) == pytest.approx(
            cvar(w, repeated, confidence), abs=1e-14
        )


CASES: list[tuple[str, Objective, str]] = [
    ("kelly", Kelly(), "direct"),
    ("fractional", FractionalKelly(fraction=0.5), "working_set"),
    ("fractional", FractionalKelly(fraction=0.5), "direct"),
    ("rck", RiskConstrainedKelly(alpha=0.8, beta=0.2), "direct"),
    ("quadratic", KellyQuadratic(), "direct"),
    ("mean_cvar", MeanCVaR(confidence=0.9, penalty=2.0), "direct"),
]


@pytest.mark.parametrize(
    ("label", "objective", "method"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES]
)
def test_weighted_problem_equals_its_repeated_twin(
    label: str, objective: Objective, method: str
) -> None:
    weighted, repeated, _ = weighted_and_repeated(12, 60, seed=3)
    constraints = [
        Budget(limit=1.0),
        GroupCap(by="industry", limit=0.5),
        CandidateBounds(upper=0.3),
    ]
    if label in ("kelly", "mean_cvar"):  # a CVaR cap as a constraint, on both forms
        constraints.append(CVaRCap(limit=0.08, confidence=0.9))
    runs = [
        Allocator(
            objective=objective,
            constraints=constraints,  # type: ignore[arg-type]
            capital=CAPITAL,
            method=method,
            rounding=LotRounding(),
        ).solve(d)
        for d in (weighted, repeated)
    ]
    a, b = runs
    assert a.objective_value == pytest.approx(b.objective_value, abs=1e-7)
    np.testing.assert_allclose(a.weights, b.weights, atol=2e-5)
    assert a.objective_value == pytest.approx(objective.evaluate(a.weights.to_numpy(), weighted))
    for row in a.constraints:  # every row, the CVaR cap and the drawdown bound included
        assert row.value == pytest.approx(b.constraint(row.name).value, abs=1e-5), row.name
    assert a.rounding is not None and b.rounding is not None
    pd.testing.assert_series_equal(a.rounding.lots, b.rounding.lots)
    assert a.rounding.objective_value == pytest.approx(b.rounding.objective_value, abs=1e-12)


def test_equal_probabilities_give_todays_result() -> None:
    # given equal probabilities are normalised (their float sum is not exactly 1), so the last
    # bits may differ; with none given the engine uses 1 / N itself, as before (the golden
    # documents of tests/pipeline pin that path)
    data = make_candidates(n=10, scenarios=120, seed=5)
    equal = Candidates(
        returns=data.returns,
        probabilities=np.full(120, 1 / 120),
        attributes=data.attributes,
        groups=data.groups,
        lot_cost=data.lot_cost,
    )
    cons = [Budget(limit=1.0), GroupCap(by="industry", limit=0.4)]
    for objective in (Kelly(), RiskConstrainedKelly(alpha=0.8, beta=0.2)):
        a, b = (
            Allocator(objective=objective, constraints=cons, capital=CAPITAL).solve(d)  # type: ignore[arg-type]
            for d in (data, equal)
        )
        np.testing.assert_allclose(a.weights, b.weights, rtol=0, atol=1e-9)
        assert a.objective_value == pytest.approx(b.objective_value, abs=1e-12)


def test_a_zero_probability_scenario_is_a_scenario_left_out_of_the_growth() -> None:
    # weight zero: the scenario adds nothing to the expectation (its wealth must still stay
    # positive, as in the direct form), so a mild scenario dropped changes nothing else
    data = make_candidates(n=8, scenarios=50, seed=6)
    p = np.full(50, 1 / 49)
    p[0] = 0.0
    zero = Candidates(returns=data.returns, probabilities=p, groups=data.groups)
    kept = Candidates(returns=data.returns.iloc[1:].reset_index(drop=True), groups=data.groups)
    cons = [Budget(limit=1.0), CandidateBounds(upper=0.3)]
    assert (data.r[0] > -0.5).all()  # a scenario no bounded allocation can ruin
    a, b = (
        Allocator(objective=Kelly(), constraints=cons, method="working_set").solve(d)  # type: ignore[arg-type]
        for d in (zero, kept)
    )
    assert a.objective_value == pytest.approx(b.objective_value, abs=1e-9)
    np.testing.assert_allclose(a.weights, b.weights, atol=1e-6)


def test_drawdown_diagnosis_is_the_same_on_the_repeated_twin() -> None:
    # the beta relaxation that resolves a conflict depends on the scenario weights
    weighted, repeated, _ = weighted_and_repeated(6, 40, seed=4)
    amounts = []
    for d in (weighted, repeated):
        alloc = Allocator(
            objective=RiskConstrainedKelly(alpha=0.9, beta=0.05),
            constraints=[Budget(limit=1.0), CandidateBounds(lower={"c0": 0.9}, unit="capital")],
        )
        with pytest.raises(ConstraintConflict) as info:
            alloc.solve(d)
        diagnosis = info.value.diagnosis
        assert {"drawdown", "min_weight[c0]"} <= set(diagnosis.conflict)
        amounts.append({(r.name, r.side): r.amount for r in diagnosis.alone})
    assert amounts[0].keys() == amounts[1].keys()
    for key, amount in amounts[0].items():
        assert amount == pytest.approx(amounts[1][key], rel=1e-4, abs=1e-6), key


@pytest.mark.parametrize(
    ("p", "message"),
    [
        (np.array([0.5, 0.6, -0.1]), "finite and >= 0"),
        (np.array([0.2, 0.2, 0.2]), "sum to 0.6"),
        (np.array([0.5, 0.5]), "one value per scenario (3)"),
        (np.array([0.5, np.nan, 0.5]), "finite and >= 0"),
    ],
)
def test_bad_probabilities_say_the_rule_and_the_value(p: np.ndarray, message: str) -> None:
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Candidates(returns=pd.DataFrame({"a": [0.1, -0.1, 0.0]}), probabilities=p)
