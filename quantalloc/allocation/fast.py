"""Glue between ``Allocator`` and the working-set Kelly solver (no cvxpy compilation)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

import cvxpy as cp
import numpy as np

from quantalloc.allocation.candidates import Candidates
from quantalloc.allocation.context import BuildContext, Settings
from quantalloc.allocation.solvers import SolveOutcome
from quantalloc.allocation.working_set import kelly_working_set
from quantalloc.errors import ConfigError, InfeasibleError

if TYPE_CHECKING:
    from quantalloc.allocation.problem import Allocator, Compiled, Limit


def solve_working_set(
    alloc: Allocator,
    data: Candidates,
    capital: float | None,
    limits: Mapping[str, Limit] | None,
) -> tuple[Compiled, Settings, dict[str, Limit], np.ndarray, SolveOutcome]:
    """Solve plain Kelly with linear hard constraints by column generation."""
    from quantalloc.allocation.constraints import Budget
    from quantalloc.allocation.problem import Atoms, Compiled, effective_bounds

    start = time.perf_counter()
    limits_d = dict(limits or {})
    rows = alloc.rows(data)
    known = {r.name for r in rows} | {r.source for r in rows}
    known |= {c.name for c in alloc.objective.extra_constraints()}
    if set(limits_d) - known:
        raise ConfigError(
            f"limits= names no constraint: {sorted(set(limits_d) - known)}; "
            f"known: {sorted(known)[:8]}"
        )
    atoms = Atoms.from_rows(rows, data.n_candidates)
    budget_rows = [
        k
        for k, r in enumerate(rows)
        if any(isinstance(c, Budget) and c.name == r.source for c in alloc.constraints)
    ]
    budget = 1.0
    if budget_rows:
        budget = effective_bounds(rows[budget_rows[0]], limits_d)[1] or 1.0
    settings = Settings(capital=float(alloc.capital if capital is None else capital), budget=budget)
    h = atoms.rhs(rows, limits_d, settings)
    g = atoms.G.toarray()
    built = time.perf_counter() - start
    from quantalloc.allocation.risk import DrawdownRisk

    conic = alloc.objective.extra_constraints()  # RiskConstrainedKelly brings its drawdown bound
    lam = None
    if conic:
        drawdown = conic[0]
        assert isinstance(drawdown, DrawdownRisk) and not drawdown.quadratic
        if drawdown.name in limits_d:
            value = limits_d[drawdown.name]
            drawdown.set_limit(float(value if not isinstance(value, tuple) else value[1]))  # type: ignore[arg-type]
        lam = drawdown.lam
    try:
        w, y, nu, _, info = kelly_working_set(data.r, data.p, g, h, lam=lam)
    except InfeasibleError as exc:
        from quantalloc.allocation.diagnosis import diagnose
        from quantalloc.allocation.solvers import solver_order

        raise diagnose(
            data, rows, limits_d, conic, settings, solver_order(alloc.solver)
        ).error() from exc
    ctx = BuildContext(data=data, w=cp.Variable(data.n_candidates), parametrize_scenarios=False)
    compiled = Compiled(
        key=data.structure_key(),
        ctx=ctx,
        problem=cp.Problem(cp.Minimize(0)),
        rows=rows,
        hard=atoms,
        soft=Atoms.from_rows([], data.n_candidates),
        soft_rows=[],
        h_hard=None,
        h_soft=None,
        penalty=None,
        lin_con=None,
        soft_slack=None,
        conic=[(c, None) for c in conic],
        budget_rows=budget_rows,
        seconds=built,
        soft_names=set(),
        atom_duals=y,
        conic_duals={c.name: nu for c in conic},
    )
    outcome = SolveOutcome(
        solver=f"{info.engine} (working set: {info.iterations} rounds, {info.final_size} columns)",
        status="optimal",
        seconds=info.seconds,
        attempts=((info.engine, "optimal"),),
    )
    return compiled, settings, limits_d, w, outcome
