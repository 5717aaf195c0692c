"""The model's ``[positions]`` (no dust) reach the integer step of a solve (demo market, offline).

References: the rules themselves (every position at or above the minimums), and the run
without them (the same continuous optimum: the rules act only on the lots).
"""

from __future__ import annotations

from typing import Any

import pytest

from quantalloc.errors import ConfigError
from quantalloc.pipeline import solve
from quantalloc.pipeline.model import load_toml, parse_model


def _model(positions: dict[str, Any] | None) -> Any:
    data: dict[str, Any] = load_toml("industry_first")
    data["scenarios"] = {**data["scenarios"], "n_scenarios": 300}
    if positions is not None:
        data["positions"] = positions
    return parse_model(data, source="industry_first (positions)")


def test_no_position_below_the_minimums_and_the_fixed_costs_are_stated() -> None:
    plain = solve(model=_model(None), data="demo", risk="moderate")
    rules = {"min_lots": 2, "min_capital": {"in": 150_000.0}, "fixed_cost": {"in": 500.0}}
    ruled = solve(model=_model(rules), data="demo", risk="moderate")
    assert ruled.solver["objective_value"] == pytest.approx(plain.solver["objective_value"])
    small = plain.allocations[
        (plain.allocations["lots"] < 2) | (plain.allocations["allocated_capital"] < 150_000)
    ]
    assert len(small), "the plain run has dust for the rules to remove"
    alloc = ruled.allocations
    assert len(alloc) and (alloc["lots"] >= 2).all()
    assert (alloc["allocated_capital"] >= 150_000 - 1e-6).all()
    stated = ruled.solver["rounding"]["positions"]
    assert stated["min_lots"] == 2 and stated["min_capital"] == pytest.approx(150_000.0)
    assert stated["fixed_costs"] == pytest.approx(500.0 * len(alloc))
    assert "positions" not in plain.solver["rounding"]


def test_a_bad_positions_table_names_the_key() -> None:
    with pytest.raises(ConfigError, match="min_lots must be a whole number >= 1"):
        _model({"min_lots": 0})
    with pytest.raises(ConfigError, match="min_capital"):
        _model({"min_capital": -5.0})
