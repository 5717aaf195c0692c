"""The working-set path: plain, fractional or risk-constrained Kelly without cvxpy.

Shares the layout, the checks of capital and limits (:func:`~quantalloc.allocation.layout.settle`)
and the solution record with the compiled path; only the solver differs
(:func:`~quantalloc.allocation.working_set.kelly_working_set`: column generation around an
interior method, scenario probabilities ``data.p`` weighting every scenario).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Protocol

from quantalloc.allocation.candidates import Candidates
from quantalloc.allocation.context import Settings
from quantalloc.allocation.diagnosis import diagnose
from quantalloc.allocation.layout import Layout, Solution, row_duals, settle
from quantalloc.allocation.risk import DrawdownRisk
from quantalloc.allocation.rows import Atoms, Limit
from quantalloc.allocation.solvers import SolveOutcome, solver_order
from quantalloc.allocation.working_set import kelly_working_set
from quantalloc.errors import ConfigError, InfeasibleError, SolverError


class _Engine(Protocol):
    solver: str | Sequence[str] | None

    def layout(self, data: Candidates) -> Layout: ...


def solve_working_set(
    alloc: _Engine,
    data: Candidates,
    capital: float,
    limits: Mapping[str, Limit] | None,
) -> tuple[Layout, Settings, dict[str, Limit], Solution]:
    """Solve Kelly with linear hard constraints by column generation."""
    if not isinstance(data, Candidates):
        raise ConfigError(f"solve() needs Candidates; got {type(data).__name__}")
    start = time.perf_counter()
    lay = alloc.layout(data)
    settings, limits_d = settle(lay, capital, limits)
    atoms = Atoms.from_rows(lay.rows, data.n_candidates)
    h = atoms.rhs(lay.rows, limits_d, settings)
    built = time.perf_counter() - start
    lam = None
    if lay.conic:  # RiskConstrainedKelly brings its drawdown bound
        drawdown = lay.conic[0]
        assert isinstance(drawdown, DrawdownRisk) and not drawdown.quadratic
        lam = drawdown.lam
    try:
        w, y, nu, _, info = kelly_working_set(data.r, data.p, atoms.G, h, lam=lam)
    except InfeasibleError as exc:
        order = solver_order(alloc.solver)
        raise diagnose(data, lay.rows, limits_d, lay.conic, settings, order).error() from exc
    except SolverError as exc:
        # the interior method met its iteration limit: with the drawdown bound, floors it
        # forbids are the usual cause, which the diagnosis names; otherwise the caller decides
        if lam is not None:
            order = solver_order(alloc.solver)
            found = diagnose(data, lay.rows, limits_d, lay.conic, settings, order)
            if found.conflict:
                raise found.error() from exc
        raise
    outcome = SolveOutcome(
        solver=(
            f"{info.engine} (working set: {info.iterations} rounds, {info.final_size} columns, "
            f"{info.newton} Newton steps)"
        ),
        status="optimal",
        seconds=info.seconds,
        attempts=((info.engine, "optimal"),),
    )
    duals = row_duals(atoms, y, lay.rows, settings)
    solution = Solution(w, duals, {c.name: nu for c in lay.conic}, outcome, built)
    return lay, settings, limits_d, solution


__all__ = ["solve_working_set"]
