"""Soft share bands solved as hard ones on the working set when the penalty is exact.

Reference: the compiled conic form of the same soft problem (``method="direct"``), which
prices the bands' excess explicitly; the exact-penalty theorem says both optima agree when
every band's multiplier is below its penalty, and the fast path must step aside otherwise.
"""

from __future__ import annotations

import pytest

from quantalloc.allocation import Allocator, Budget, CandidateBounds, Kelly, ShareTarget
from tests.allocation.helpers import make_candidates


def _alloc(method: str, penalty: float, targets: dict[str, float]) -> Allocator:
    return Allocator(
        objective=Kelly(),
        constraints=[
            Budget(limit=0.6),
            CandidateBounds(upper=0.3),
            ShareTarget(by="industry", targets=targets, tolerance=0.02, unit="budget"),
        ],
        capital=1_000_000,
        soft={"share_target": penalty},
        method=method,
    )


@pytest.mark.parametrize("seed", [2, 7])
def test_a_large_penalty_takes_the_working_set_and_matches_the_conic_form(seed: int) -> None:
    data = make_candidates(n=12, seed=seed)
    targets = {"Energy": 0.5, "IT": 0.3, "Fin": 0.2}
    fast = _alloc("auto", 10.0, targets).solve(data)
    direct = _alloc("direct", 10.0, targets).solve(data)
    assert fast.solver.startswith("interior") and not direct.solver.startswith("interior")
    assert fast.objective_value == pytest.approx(direct.objective_value, abs=1e-7)
    # the bands hold (the hard twin kept them), as the soft optimum does with this penalty
    assert max(r.violation for r in fast.constraints if r.soft) <= 1e-7
    assert max(r.violation for r in direct.constraints if r.soft) <= 1e-6


def test_a_penalty_below_a_multiplier_leaves_it_to_the_conic_form() -> None:
    data = make_candidates(n=12, seed=2)
    targets = {"Energy": 0.8, "IT": 0.1, "Fin": 0.1}  # far from what the drifts favour
    hard_duals = _alloc("auto", 10.0, targets).solve(data)
    worth = max(abs(r.dual) for r in hard_duals.constraints if r.soft)
    assert worth > 1e-4  # the bands bind at the hard optimum
    cheap = worth / 10.0  # a penalty below the band's worth: relaxing it pays
    auto = _alloc("auto", cheap, targets).solve(data)
    direct = _alloc("direct", cheap, targets).solve(data)
    assert not auto.solver.startswith("interior")
    assert auto.objective_value == pytest.approx(direct.objective_value, abs=1e-9)
    assert max(r.violation for r in auto.constraints if r.soft) > 1e-4  # a band was relaxed
