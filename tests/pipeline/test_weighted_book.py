"""Scenario probabilities pass from the pipeline's ScenarioBook to the engine.

Reference by construction: a scenario of probability ``k / N`` is the same scenario written
``k`` times among ``N`` equally likely ones, so a solve whose book carries probabilities must
give the lots of the solve whose book repeats the rows instead (the demo market, offline).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

import quantalloc.pipeline.build as build
from quantalloc.pipeline import solve
from quantalloc.pipeline.records import ScenarioBook

ORIGINAL = build._scenario_pnl


def _solve_with(monkeypatch: pytest.MonkeyPatch, change: Any) -> Any:
    original = ORIGINAL

    def changed(*args: Any, **kwargs: Any) -> ScenarioBook:
        return change(original(*args, **kwargs))

    monkeypatch.setattr(build, "_scenario_pnl", changed)
    return solve(risk="moderate", data="demo", n_scenarios=200, seed=5)


def test_a_weighted_book_solves_as_its_repeated_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    def counts(book: ScenarioBook) -> np.ndarray:
        return np.random.default_rng(5).integers(1, 4, book.pnl.shape[0])

    weighted = _solve_with(
        monkeypatch,
        lambda b: dataclasses.replace(b, probabilities=counts(b) / counts(b).sum()),
    )
    # the pipeline's own (calibrated, view-tilted) probabilities give way to equal ones here
    repeated = _solve_with(
        monkeypatch,
        lambda b: dataclasses.replace(
            b, pnl=np.repeat(b.pnl, counts(b), axis=0), probabilities=None
        ),
    )
    assert weighted.solver["objective_value"] == pytest.approx(
        repeated.solver["objective_value"], abs=1e-9
    )
    # the portfolio's statistics are expectations under the same probabilities
    for stat in ("expected_log_growth", "expected_pnl", "probability_of_loss"):
        assert weighted.portfolio[stat] == pytest.approx(repeated.portfolio[stat], abs=1e-9)
    for stat in ("var_95", "cvar_95", "var_99", "cvar_99"):  # the risk desk's tail, weighted too
        assert weighted.portfolio["risk"][stat] == pytest.approx(
            repeated.portfolio["risk"][stat], rel=1e-9
        )
    key = ["symbol", "strategy_name", "expiry", "lots"]
    assert (
        weighted.allocations[key]
        .reset_index(drop=True)
        .equals(repeated.allocations[key].reset_index(drop=True))
    )
