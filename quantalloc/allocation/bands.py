"""Target bands solved upper sides first, a solve strategy of the engine.

Adding constraints that the optimum already satisfies cannot change the optimum of a convex
problem. So when the solution with only the bands' upper sides (a ``GroupCap`` per band) lies
above every band's lower side too, it is the solution of the full problem, and the lower sides'
multipliers are 0. The lower sides are what make the working set grow slowly, so this is
usually much faster. When a lower side is missed, or the capped problem fails, the caller
solves the full problem (which also diagnoses a conflict).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from quantalloc.allocation.candidates import Candidates
from quantalloc.allocation.constraints import GroupCap, GroupTarget
from quantalloc.allocation.layout import Layout, settle
from quantalloc.allocation.result import AllocationResult, ConstraintRow
from quantalloc.allocation.rows import Limit, effective_bounds, row_value, row_violation
from quantalloc.errors import QuantallocError

NEAR = 1e-5  # a band row within this (relative) of a side binds


class _Engine(Protocol):
    objective: Any
    constraints: list[Any]
    capital: float
    soft: dict[str, float]
    solver: Any
    method: str

    def __init__(self, **kwargs: Any) -> None: ...

    def solve(
        self,
        candidates: Candidates,
        *,
        capital: float | None = None,
        limits: Mapping[str, Limit] | None = None,
    ) -> AllocationResult: ...

    def layout(self, data: Candidates) -> Layout: ...

    def _round(
        self,
        result: AllocationResult,
        candidates: Candidates,
        lay: Layout,
        settings: Any,
        limits: Mapping[str, Limit],
    ) -> AllocationResult: ...


def upper_caps(bands: Sequence[GroupTarget]) -> tuple[list[GroupCap], dict[str, str]]:
    """A cap per band at target + tolerance, and each cap row's name -> its band row's name."""
    caps, band_of = [], {}
    for c in bands:
        cap = GroupCap(
            by=c.by,
            limit={k: float(v) + c.tolerance for k, v in (c.targets or {}).items()},
            unit=c.unit,
            name=f"{c.name}__upper",
        )
        caps.append(cap)
        band_of.update({f"{cap.name}[{k}]": f"{c.name}[{k}]" for k in c.targets or {}})
    return caps, band_of


def solve_upper_first(
    alloc: _Engine,
    data: Candidates,
    capital: float | None,
    limits: Mapping[str, Limit] | None,
) -> AllocationResult | None:
    """The full problem's result from the bands' upper sides alone, or None (solve it all)."""
    bands = [c for c in alloc.constraints if isinstance(c, GroupTarget)]
    if not bands or alloc.soft or not isinstance(data, Candidates):
        return None
    lay = alloc.layout(data)
    settings, limits_d = settle(lay, alloc.capital if capital is None else capital, limits)
    band_rows = [r for c in bands for r in c.rows(data)]
    band_names = {r.name for r in band_rows} | {r.source for r in band_rows}
    caps, band_of = upper_caps(bands)
    free = type(alloc)(
        objective=alloc.objective,
        constraints=[*(c for c in alloc.constraints if not isinstance(c, GroupTarget)), *caps],
        capital=alloc.capital,
        solver=alloc.solver,
        method=alloc.method,
    )
    try:
        first = free.solve(
            data, capital=capital, limits={k: v for k, v in limits_d.items() if k not in band_names}
        )
    except QuantallocError:
        return None  # the full solve diagnoses
    w = first.weights.to_numpy(dtype=float)
    cap_dual = {band_of[r.name]: r.dual for r in first.constraints if r.name in band_of}
    rows = [r for r in first.constraints if r.name not in band_of]
    for r in band_rows:
        lower, upper = effective_bounds(r, limits_d)
        value = row_value(r, w, settings)
        if row_violation(r, (lower, upper), value) > 1e-9:
            return None
        tol = NEAR * max(1.0, abs(value))
        near = (upper is not None and abs(upper - value) <= tol) or (
            lower is not None and abs(value - lower) <= tol
        )
        rows.append(
            ConstraintRow(
                name=r.name,
                kind="range",
                limit=float(upper if upper is not None else lower or 0.0),
                lower=lower,
                upper=upper,
                value=value,
                binding=bool(near),
                dual=float(cap_dual.get(r.name, 0.0)),
                unit=r.unit,
            )
        )
    result = dataclasses.replace(first, constraints=tuple(rows))
    return alloc._round(result, data, lay, settings, limits_d)


__all__ = ["NEAR", "solve_upper_first", "upper_caps"]
