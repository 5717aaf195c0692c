"""Soft linear rows solved as hard ones on the working set, when the penalty is exact.

A soft row costs ``penalty`` per unit of excess (an L1 penalty). For a convex problem, the
optimum with the row held hard is also the optimum with it soft whenever the row's multiplier
there is below its penalty (the exact-penalty theorem; e.g. Nocedal & Wright, Numerical
Optimization, Thm 17.3): relaxing the row by ``e`` gains at most ``multiplier * e`` and costs
``penalty * e``. So the fast interior method solves the hard twin, and the compiled conic form
(slower, and the only one that prices the excess) is needed only when some band's multiplier
reaches its penalty, or the hard twin has no solution.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Protocol

from quantalloc.allocation.candidates import Candidates
from quantalloc.allocation.context import Settings
from quantalloc.allocation.fast import solve_working_set
from quantalloc.allocation.layout import Layout, Solution
from quantalloc.allocation.rows import Limit
from quantalloc.errors import QuantallocError


class _SoftEngine(Protocol):
    """What this module reads of an ``Allocator`` (a protocol: no import of the problem)."""

    soft: dict[str, float]
    method: str
    solver: Any
    capital: float
    _compiled: Any

    def layout(self, data: Candidates) -> Layout: ...

    def _use_working_set(self, data: Candidates) -> bool: ...


MARGIN = 1e-6
"""A multiplier within this relative margin of its penalty counts as reaching it."""


def solve_soft_as_hard(
    alloc: _SoftEngine,
    candidates: Candidates,
    capital: float | None,
    limits: Mapping[str, Limit] | None,
) -> tuple[Layout, Settings, dict[str, Limit], Solution] | None:
    """The hard twin of ``alloc``'s soft linear rows solved on the working set, in ``alloc``'s own
    layout (what its ``_finish`` takes), or None where the penalty is not exact there (or the
    working set does not apply: a named solver or method, a soft conic constraint, an objective
    it does not take)."""
    if not alloc.soft or alloc.method != "auto" or alloc.solver is not None:
        return None
    lay = alloc.layout(candidates)
    if any(c.name in alloc.soft for c in lay.conic):
        return None
    hard = copy.copy(alloc)
    hard.soft = {}
    hard._compiled = None
    if not hard._use_working_set(candidates):
        return None
    try:
        _, settings, limits_d, solution = solve_working_set(
            hard, candidates, alloc.capital if capital is None else capital, limits
        )
    except QuantallocError:  # the hard twin is infeasible or not solved: the soft form decides
        return None
    for k in lay.soft_rows:
        row = lay.rows[k]
        penalty = alloc.soft.get(row.name, alloc.soft.get(row.source, 0.0))
        if abs(float(solution.row_duals[k])) >= penalty * (1.0 - MARGIN):
            return None
    return lay, settings, limits_d, solution


__all__ = ["solve_soft_as_hard"]
