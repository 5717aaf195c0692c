"""The allocation problem: compiled once with parameters, re-solved as numbers change.

``Allocator`` stores its configuration (objective, constraints, soft penalties, solver, rounding);
``solve(candidates, capital=..., limits=...)`` compiles on first use (or when the candidates'
structure changes) and afterwards only refreshes parameter values: capital, budget, limits,
targets, probabilities and, for small problems, the scenario returns.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
import pandas as pd

from quantalloc.allocation.atoms import Atoms, Limit, effective_bounds
from quantalloc.allocation.candidates import Candidates
from quantalloc.allocation.constraints import Budget, LinearConstraint, Row
from quantalloc.allocation.context import SCENARIO_PARAMETER_LIMIT, BuildContext, Settings
from quantalloc.allocation.objectives import Objective
from quantalloc.allocation.report import (
    portfolio_metrics,
    report_rows,
    row_value,
    row_violation,
)
from quantalloc.allocation.result import AllocationResult
from quantalloc.allocation.risk import ConicConstraint
from quantalloc.allocation.solvers import (
    INFEASIBLE,
    UNBOUNDED,
    SolveOutcome,
    solve_with_fallback,
    solver_order,
)
from quantalloc.errors import ConfigError, SolverError


@dataclass
class Compiled:
    """A built cvxpy problem and what is needed to refresh and read it."""

    key: tuple[object, ...]
    ctx: BuildContext
    problem: cp.Problem
    rows: list[Row]
    hard: Atoms
    soft: Atoms
    soft_rows: list[int]
    h_hard: cp.Parameter | None
    h_soft: cp.Parameter | None
    penalty: cp.Parameter | None
    lin_con: cp.Constraint | None
    soft_slack: cp.Variable | None
    conic: list[tuple[ConicConstraint, cp.Constraint | None]]
    budget_rows: list[int]
    seconds: float
    soft_names: set[str]
    atom_duals: np.ndarray | None = None
    conic_defaults: list[float | None] = field(default_factory=list)
    conic_duals: dict[str, float] = field(default_factory=dict)


class Allocator:
    """Convex allocation: maximise an objective subject to labelled constraints.

    Parameters
    ----------
    objective
        An objective term: ``Kelly()``, ``RiskConstrainedKelly(alpha=.7, beta=.1)``, ``Score()``...
    constraints
        Linear constraint objects (``Budget``, ``GroupCap``, ``ExposureLimit``, ...) and conic ones
        (``DrawdownRisk``, ``CVaRCap``).
    capital
        Capital in currency (for currency-unit limits and lot rounding); can change per solve.
    soft
        Names (row or constraint names) turned into penalties: name -> penalty per unit of violation
        in the constraint's unit.
    solver
        A solver name or list tried in order; default Clarabel, then SCS / ECOS if installed.
    rounding
        A ``LotRounding`` to turn weights into whole lots after solving (needs ``lot_cost``).
    diagnose
        On infeasibility, run the elastic diagnosis and raise ``ConstraintConflict`` naming the
        conflicting constraints (else a plain InfeasibleError).
    method
        ``"direct"`` (one cvxpy problem), ``"working_set"`` (column generation with a direct
        Clarabel form; plain or fractional Kelly with linear hard constraints only) or ``"auto"``
        (working set when it applies and candidates x scenarios >= 200,000).
    """

    def __init__(
        self,
        *,
        objective: Objective,
        constraints: Sequence[LinearConstraint | ConicConstraint] = (),
        capital: float = 1.0,
        soft: Mapping[str, float] | None = None,
        solver: str | Sequence[str] | None = None,
        rounding: object | None = None,
        diagnose: bool = True,
        method: str = "auto",
    ) -> None:
        self.objective = objective
        self.constraints = list(constraints)
        self.capital = capital
        self.soft = dict(soft or {})
        self.solver = solver
        self.rounding = rounding
        self.diagnose = diagnose
        self.method = method
        self.compile_count = 0
        self._compiled: Compiled | None = None

    # ------------------------------------------------------------------ building
    def _linear(self) -> list[LinearConstraint]:
        return [c for c in self.constraints if isinstance(c, LinearConstraint)]

    def _conic(self) -> list[ConicConstraint]:
        conic = [c for c in self.constraints if isinstance(c, ConicConstraint)]
        return [*conic, *self.objective.extra_constraints()]

    def _check_terms(self) -> None:
        for c in self.constraints:
            if not isinstance(c, LinearConstraint | ConicConstraint):
                raise ConfigError(
                    f"constraints must be constraint objects (Budget, GroupCap, ...); got {c!r}"
                )
        if not isinstance(self.objective, Objective):
            raise ConfigError(
                f"objective must be an Objective (Kelly(), ...); got {self.objective!r}"
            )

    def rows(self, data: Candidates) -> list[Row]:
        """Every labelled linear row these constraints produce for ``data``."""
        rows = [r for c in self._linear() for r in c.rows(data)]
        names = [r.name for r in rows]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ConfigError(
                f"constraint names must be unique; repeated {sorted(dup)[:3]}; pass name= to one"
            )
        return rows

    def _compile(self, data: Candidates) -> Compiled:
        start = time.perf_counter()
        self._check_terms()
        n = data.n_candidates
        w = cp.Variable(n, nonneg=True, name="w")
        small = data.n_scenarios * n <= SCENARIO_PARAMETER_LIMIT
        ctx = BuildContext(data=data, w=w, parametrize_scenarios=small)
        rows = self.rows(data)
        unknown = set(self.soft) - {r.name for r in rows} - {r.source for r in rows}
        unknown -= {c.name for c in self._conic()}
        if unknown:
            raise ConfigError(
                f"soft= names no constraint: {sorted(unknown)}; known: {[r.name for r in rows][:8]}"
            )
        soft_idx = [k for k, r in enumerate(rows) if r.name in self.soft or r.source in self.soft]
        hard_idx = [k for k in range(len(rows)) if k not in set(soft_idx)]
        hard = Atoms.from_rows([rows[k] for k in hard_idx], n)
        hard.row = np.asarray(hard_idx, dtype=int)[hard.row] if len(hard.row) else hard.row
        soft = Atoms.from_rows([rows[k] for k in soft_idx], n)
        soft.row = np.asarray(soft_idx, dtype=int)[soft.row] if len(soft.row) else soft.row

        objective = self.objective.build(ctx)
        cons: list[cp.Constraint] = []
        h_hard = h_soft = penalty = None
        lin_con = None
        slack = None
        if hard.G.shape[0]:
            h_hard = cp.Parameter(hard.G.shape[0], name="h")
            lin_con = hard.G @ w <= h_hard
            cons.append(lin_con)
        if soft.G.shape[0]:
            h_soft = cp.Parameter(soft.G.shape[0], name="h_soft")
            penalty = cp.Parameter(soft.G.shape[0], nonneg=True, name="penalty")
            slack = cp.Variable(soft.G.shape[0], nonneg=True, name="soft_slack")
            cons.append(soft.G @ w <= h_soft + slack)
            objective = objective - penalty @ slack
        conic: list[tuple[ConicConstraint, cp.Constraint | None]] = []
        for c in (copy.deepcopy(c) for c in self._conic()):
            if c.name in self.soft:
                s = cp.Variable(nonneg=True)
                weight = self.soft[c.name]
                objective = objective - weight * s
                con = c.build(ctx, s)
            else:
                con = c.build(ctx)
            conic.append((c, con))
            cons.append(con)
        problem = cp.Problem(cp.Maximize(objective), [*ctx.constraints, *cons])
        if not problem.is_dcp(dpp=True):  # type: ignore[call-arg]
            raise ConfigError("the allocation problem is not DPP; a term mixes parameters wrongly")
        budget_rows = [k for k, r in enumerate(rows) if isinstance(_source(self, r), Budget)]
        self.compile_count += 1
        return Compiled(
            key=data.structure_key(),
            ctx=ctx,
            problem=problem,
            rows=rows,
            hard=hard,
            soft=soft,
            soft_rows=soft_idx,
            h_hard=h_hard,
            h_soft=h_soft,
            penalty=penalty,
            lin_con=lin_con,
            soft_slack=slack,
            conic=conic,
            budget_rows=budget_rows,
            seconds=time.perf_counter() - start,
            soft_names=set(self.soft),
            conic_defaults=[_adjustable(c) for c, _ in conic],
        )

    # ------------------------------------------------------------------ solving
    def settings(self, compiled: Compiled, capital: float, limits: Mapping[str, Limit]) -> Settings:
        """Capital and budget fraction in force (budget = the Budget row's upper limit, else 1)."""
        budget = 1.0
        if compiled.budget_rows:
            budget = effective_bounds(compiled.rows[compiled.budget_rows[0]], limits)[1] or 1.0
        if not capital > 0 or not math.isfinite(capital):
            raise ConfigError(f"capital must be a positive number; got {capital}")
        return Settings(capital=float(capital), budget=float(budget))

    def prepare(
        self,
        candidates: Candidates,
        capital: float | None = None,
        limits: Mapping[str, Limit] | None = None,
    ) -> tuple[Compiled, Settings, dict[str, Limit]]:
        """Compile if needed and refresh every parameter; return the compiled problem, settings."""
        if not isinstance(candidates, Candidates):
            raise ConfigError(f"solve() needs Candidates; got {type(candidates).__name__}")
        limits = dict(limits or {})
        if self._compiled is None or self._compiled.key != candidates.structure_key():
            self._compiled = self._compile(candidates)
        compiled = self._compiled
        if not compiled.ctx.parametrize_scenarios and compiled.ctx.data is not candidates:
            same = np.array_equal(compiled.ctx.data.r, candidates.r)
            if not same:  # large problems hold returns as constants: recompile
                self._compiled = compiled = self._compile(candidates)
        known = {r.name for r in compiled.rows} | {r.source for r in compiled.rows}
        known |= {c.name for c, _ in compiled.conic}
        unknown = set(limits) - known
        if unknown:
            raise ConfigError(
                f"limits= names no constraint: {sorted(unknown)}; known: {sorted(known)[:8]}"
            )
        settings = self.settings(compiled, self.capital if capital is None else capital, limits)
        for (c, _), default in zip(compiled.conic, compiled.conic_defaults, strict=True):
            if c.name in limits:
                value = limits[c.name]
                c.set_limit(float(value if not isinstance(value, tuple) else value[1]))  # type: ignore[arg-type]
            elif default is not None:  # overrides last one solve only
                c.set_limit(default)
        compiled.ctx.refresh(candidates, settings)
        if compiled.h_hard is not None:
            compiled.h_hard.value = compiled.hard.rhs(compiled.rows, limits, settings)
        if compiled.h_soft is not None and compiled.penalty is not None:
            compiled.h_soft.value = compiled.soft.rhs(compiled.rows, limits, settings)
            pen = []
            for k in compiled.soft.row:
                r = compiled.rows[k]
                weight = self.soft.get(r.name, self.soft.get(r.source, 0.0))
                pen.append(weight / r.scale(settings.capital, settings.budget))
            compiled.penalty.value = np.asarray(pen)
        return compiled, settings, limits

    def solve(
        self,
        candidates: Candidates,
        *,
        capital: float | None = None,
        limits: Mapping[str, Limit] | None = None,
    ) -> AllocationResult:
        """Solve for ``candidates``; ``capital`` and ``limits`` override for this call only.

        ``limits`` maps a row name (``max_industry[Energy]``) or a constraint name
        (``max_industry``, ``target``, ``budget``, ``drawdown``) to a number, which replaces the
        upper limit (the lower one for lower-only rows; beta for ``drawdown``), or to a
        ``(lower, upper)`` pair.
        Raises ``ConstraintConflict`` (an InfeasibleError) naming conflicting constraints,
        SolverError when no solver reaches an optimum, ConfigError / DataError for bad input.
        """
        if self._use_working_set(candidates):
            from quantalloc.allocation.fast import solve_working_set

            try:
                compiled, settings, limits_d, w, outcome = solve_working_set(
                    self, candidates, capital, limits
                )
            except SolverError:
                if self.method != "auto":
                    raise
                # e.g. no strictly feasible start for the RCK barrier: the direct conic form
                # is slower but needs none
            else:
                return self._finish(candidates, compiled, settings, limits_d, w, outcome)
        compiled, settings, limits = self.prepare(candidates, capital, limits)
        outcome = solve_with_fallback(compiled.problem, solver_order(self.solver))
        if outcome.status in INFEASIBLE:
            self._raise_infeasible(candidates, compiled, settings, limits, outcome.solver)
        if outcome.status in UNBOUNDED:
            raise SolverError(
                f"the objective is unbounded ({outcome.solver}: {outcome.status}); add a Budget "
                "constraint or bounds so weights cannot grow without limit"
            )
        w = np.maximum(np.asarray(compiled.ctx.w.value, dtype=float), 0.0)
        return self._finish(candidates, compiled, settings, limits, w, outcome)

    def _use_working_set(self, data: Candidates) -> bool:
        from quantalloc.allocation.objectives import FractionalKelly, Kelly, RiskConstrainedKelly

        if self.method not in ("auto", "direct", "working_set"):
            raise ConfigError(
                f"method must be 'auto', 'direct' or 'working_set'; got {self.method!r}"
            )
        objective = self.objective
        plain = type(objective) in (Kelly, FractionalKelly) and not self._conic()
        rck = (
            type(objective) is RiskConstrainedKelly
            and not objective.quadratic
            and not [c for c in self.constraints if isinstance(c, ConicConstraint)]
        )
        applies = (plain or rck) and not self.soft
        if self.method == "working_set" and not applies:
            raise ConfigError(
                "method='working_set' handles Kelly, fractional Kelly and exact risk-constrained "
                "Kelly with linear hard constraints only; use method='direct' for this objective"
            )
        if self.method == "auto":
            # the direct exp-cone form of the drawdown constraint is slow well before plain Kelly's
            # is (measured: 632 candidates x 300 scenarios, 80 s direct against seconds here)
            threshold = 20_000 if rck else 200_000
            return applies and data.n_candidates * data.n_scenarios >= threshold
        return self.method == "working_set"

    def _finish(
        self,
        candidates: Candidates,
        compiled: Compiled,
        settings: Settings,
        limits: Mapping[str, Limit],
        w: np.ndarray,
        outcome: SolveOutcome,
    ) -> AllocationResult:
        """Checks, post-scaling, the result and optional lot rounding."""
        if w.max(initial=0.0) > 1e6:  # log growth is unbounded but so flat solvers call it optimal
            raise SolverError(
                f"the objective looks unbounded ({outcome.solver} returned a weight of "
                f"{w.max():.3g} x capital); add a Budget constraint or bounds so weights cannot "
                "grow without limit"
            )
        scale = self.objective.post_scale()
        if scale != 1.0:
            w = w * scale
        result = self._result(candidates, compiled, settings, limits, w, outcome)
        if scale != 1.0:
            broken = [r.name for r in result.constraints if r.violation > 1e-6 and not r.soft]
            if broken:
                raise ConfigError(
                    f"fractional Kelly scaled the weights by {scale:g} and broke {broken[:3]} "
                    "(a lower bound or target); use RiskConstrainedKelly or drop those lower bounds"
                )
        if self.rounding is not None:
            from quantalloc.allocation.lots import LotRounding

            if not isinstance(self.rounding, LotRounding):
                raise ConfigError("rounding must be a LotRounding(...)")
            result = self.rounding.apply(result, candidates, self, compiled, settings, limits)
        return result

    def _raise_infeasible(
        self,
        data: Candidates,
        compiled: Compiled,
        settings: Settings,
        limits: Mapping[str, Limit],
        solver: str,
    ) -> None:
        from quantalloc.allocation.diagnosis import diagnose, plain_infeasible

        if not self.diagnose:
            raise plain_infeasible(solver)
        hard_rows = [k for k in range(len(compiled.rows)) if k not in set(compiled.soft_rows)]
        hard_conic = [c for c, _ in compiled.conic if c.name not in self.soft]
        raise diagnose(
            data,
            [compiled.rows[k] for k in hard_rows],
            limits,
            hard_conic,
            settings,
            solver_order(self.solver),
        ).error()

    def _result(
        self,
        data: Candidates,
        compiled: Compiled,
        settings: Settings,
        limits: Mapping[str, Limit],
        w: np.ndarray,
        outcome: SolveOutcome,
    ) -> AllocationResult:
        rows = report_rows(data, compiled, settings, limits, w)
        metrics = portfolio_metrics(w, data)
        value = self.objective.evaluate(w, data)
        return AllocationResult(
            weights=pd.Series(w, index=data.names, name="weight"),
            capital=settings.capital,
            objective_name=self.objective.name,
            objective_value=float(value),
            status=str(outcome.status),
            solver=str(outcome.solver),
            solve_seconds=float(outcome.seconds),
            compile_seconds=compiled.seconds,
            constraints=tuple(rows),
            metrics=metrics,
            attempts=tuple(outcome.attempts),
        )


def _adjustable(c: ConicConstraint) -> float | None:
    try:
        return c.adjustable()
    except ConfigError:
        return None


def _source(alloc: Allocator, row: Row) -> object:
    for c in alloc._linear():
        if c.name == row.source:
            return c
    return None


__all__ = ["Allocator", "effective_bounds", "row_value", "row_violation"]
