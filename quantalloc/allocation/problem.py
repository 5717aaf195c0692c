"""The allocation problem: compiled once with parameters, re-solved as numbers change.

``Allocator`` stores its configuration (objective, constraints, soft penalties, solver, rounding);
``solve(candidates, capital=..., limits=...)`` compiles on first use (or when the candidates'
structure changes) and afterwards only refreshes parameter values: capital, budget, limits,
targets, probabilities and, for small problems, the scenario returns.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from quantalloc.allocation.bands import solve_upper_first
from quantalloc.allocation.candidates import Candidates
from quantalloc.allocation.constraints import LinearConstraint, Row
from quantalloc.allocation.context import SCENARIO_PARAMETER_LIMIT, BuildContext, Settings
from quantalloc.allocation.diagnosis import diagnose, plain_infeasible
from quantalloc.allocation.exact_penalty import solve_soft_as_hard
from quantalloc.allocation.fast import solve_working_set
from quantalloc.allocation.layout import Layout, Solution, layout, linear_rows, row_duals, settle
from quantalloc.allocation.lots import LotRounding
from quantalloc.allocation.objectives import FractionalKelly, Kelly, Objective, RiskConstrainedKelly
from quantalloc.allocation.report import portfolio_metrics, report_rows
from quantalloc.allocation.result import AllocationResult
from quantalloc.allocation.risk import ConicConstraint
from quantalloc.allocation.rows import Atoms, Limit
from quantalloc.allocation.solvers import (
    INFEASIBLE,
    UNBOUNDED,
    SolveOutcome,
    solve_with_fallback,
    solver_order,
)
from quantalloc.errors import ConfigError, SolverError

if TYPE_CHECKING:  # cvxpy loads only when a compiled problem is built
    import cvxpy as cp


@dataclass
class Compiled:
    """A built cvxpy problem over a layout, and the parameters refreshed per solve."""

    key: tuple[object, ...]
    lay: Layout
    ctx: BuildContext
    problem: cp.Problem
    hard: Atoms
    soft: Atoms
    h_hard: cp.Parameter | None
    h_soft: cp.Parameter | None
    penalty: cp.Parameter | None
    lin_con: cp.Constraint | None
    conic_cons: list[cp.Constraint]
    seconds: float

    def solution(self, settings: Settings, outcome: SolveOutcome) -> Solution:
        """Weights and duals after a solve of ``problem``."""
        w = np.maximum(np.asarray(self.ctx.w.value, dtype=float), 0.0)
        y = None
        if self.lin_con is not None and self.lin_con.dual_value is not None:
            y = np.asarray(self.lin_con.dual_value, dtype=float).ravel()
        conic = {}
        for c, con in zip(self.lay.conic, self.conic_cons, strict=True):
            dual = con.dual_value
            conic[c.name] = float(np.asarray(dual).ravel()[0]) if dual is not None else 0.0
        duals = row_duals(self.hard, y, self.lay.rows, settings)
        return Solution(w, duals, conic, outcome, self.seconds)


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
        A conic solver name or list tried in order on the compiled form; default Clarabel,
        then SCS / ECOS if installed. Naming one selects the compiled form under ``"auto"``.
    rounding
        A ``LotRounding`` to turn weights into whole lots after solving (needs ``lot_cost``).
    diagnose
        On infeasibility, run the elastic diagnosis and raise ``ConstraintConflict`` naming the
        conflicting constraints (else a plain InfeasibleError).
    method
        ``"direct"`` (one cvxpy problem, compiled once), ``"working_set"`` (column generation
        around the interior method of :mod:`~quantalloc.allocation.interior`: plain, fractional
        or exact risk-constrained Kelly with linear hard constraints) or ``"auto"`` (the working
        set wherever it applies and no ``solver`` is named; the compiled form otherwise, and
        when the interior method stops at its iteration limit).
    bands
        How target bands (``GroupTarget``) are solved on the compiled form: ``"full"`` (as
        declared) or ``"upper_first"``: solve with only the bands' upper sides and keep that
        optimum when it meets the lower sides too (the same optimum of a convex problem; the
        full problem otherwise). The working set takes the bands whole in one solve.
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
        bands: str = "full",
    ) -> None:
        if bands not in ("full", "upper_first"):
            raise ConfigError(f"bands must be 'full' or 'upper_first'; got {bands!r}")
        self.objective = objective
        self.constraints = list(constraints)
        self.capital = capital
        self.soft = dict(soft or {})
        self.solver = solver
        self.rounding = rounding
        self.diagnose = diagnose
        self.method = method
        self.bands = bands
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
        return linear_rows(self._linear(), data)

    def layout(self, data: Candidates) -> Layout:
        """The rows, soft rows and conic constraints of this allocator on ``data``."""
        self._check_terms()
        return layout(self._linear(), self._conic(), self.soft, data)

    def _compile(self, data: Candidates) -> Compiled:
        import cvxpy as cp

        start = time.perf_counter()
        lay = self.layout(data)
        n = data.n_candidates
        w = cp.Variable(n, nonneg=True, name="w")
        small = data.n_scenarios * n <= SCENARIO_PARAMETER_LIMIT
        ctx = BuildContext(data=data, w=w, parametrize_scenarios=small)
        rows, soft_idx = lay.rows, lay.soft_rows
        hard_idx = [k for k in range(len(rows)) if k not in set(soft_idx)]
        hard = Atoms.from_rows([rows[k] for k in hard_idx], n)
        hard.row = np.asarray(hard_idx, dtype=int)[hard.row] if len(hard.row) else hard.row
        soft = Atoms.from_rows([rows[k] for k in soft_idx], n)
        soft.row = np.asarray(soft_idx, dtype=int)[soft.row] if len(soft.row) else soft.row

        objective = self.objective.build(ctx)
        cons: list[cp.Constraint] = []
        h_hard = h_soft = penalty = None
        lin_con = None
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
        conic_cons: list[cp.Constraint] = []
        for c in lay.conic:
            if c.name in self.soft:
                s = cp.Variable(nonneg=True)
                objective = objective - self.soft[c.name] * s
                con = c.build(ctx, s)
            else:
                con = c.build(ctx)
            conic_cons.append(con)
            cons.append(con)
        problem = cp.Problem(cp.Maximize(objective), [*ctx.constraints, *cons])
        if not problem.is_dcp(dpp=True):  # type: ignore[call-arg]
            raise ConfigError("the allocation problem is not DPP; a term mixes parameters wrongly")
        self.compile_count += 1
        return Compiled(
            key=data.structure_key(),
            lay=lay,
            ctx=ctx,
            problem=problem,
            hard=hard,
            soft=soft,
            h_hard=h_hard,
            h_soft=h_soft,
            penalty=penalty,
            lin_con=lin_con,
            conic_cons=conic_cons,
            seconds=time.perf_counter() - start,
        )

    # ------------------------------------------------------------------ solving
    def prepare(
        self,
        candidates: Candidates,
        capital: float | None = None,
        limits: Mapping[str, Limit] | None = None,
    ) -> tuple[Compiled, Settings, dict[str, Limit]]:
        """Compile if needed and refresh every parameter; return the compiled problem, settings."""
        _check_candidates(candidates)
        if self._compiled is None or self._compiled.key != candidates.structure_key():
            self._compiled = self._compile(candidates)
        compiled = self._compiled
        if not compiled.ctx.parametrize_scenarios and compiled.ctx.data is not candidates:
            same = np.array_equal(compiled.ctx.data.r, candidates.r)
            if not same:  # large problems hold returns as constants: recompile
                self._compiled = compiled = self._compile(candidates)
        lay = compiled.lay
        settings, limits = settle(lay, self.capital if capital is None else capital, limits)
        compiled.ctx.refresh(candidates, settings)
        if compiled.h_hard is not None:
            compiled.h_hard.value = compiled.hard.rhs(lay.rows, limits, settings)
        if compiled.h_soft is not None and compiled.penalty is not None:
            compiled.h_soft.value = compiled.soft.rhs(lay.rows, limits, settings)
            pen = []
            for k in compiled.soft.row:
                r = lay.rows[k]
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
        exact = solve_soft_as_hard(self, candidates, capital, limits)
        if exact is not None:  # soft rows whose penalty is exact: the fast path's answer
            return self._finish(candidates, *exact)
        if self.bands == "upper_first" and not self._use_working_set(candidates):
            # the working set's interior method takes the floors in its one solve
            result = solve_upper_first(self, candidates, capital, limits)
            if result is not None:
                return result
        return self._solve(candidates, capital, limits)

    def _solve(
        self,
        candidates: Candidates,
        capital: float | None,
        limits: Mapping[str, Limit] | None,
    ) -> AllocationResult:
        if self._use_working_set(candidates):
            try:
                lay, settings, limits_d, solution = solve_working_set(
                    self, candidates, self.capital if capital is None else capital, limits
                )
            except SolverError:
                if self.method != "auto":
                    raise
                # the interior method met its iteration limit (floors the drawdown bound
                # cannot meet, say): the compiled form decides, and diagnoses a conflict
            else:
                return self._finish(candidates, lay, settings, limits_d, solution)
        compiled, settings, limits_d = self.prepare(candidates, capital, limits)
        outcome = solve_with_fallback(compiled.problem, solver_order(self.solver))
        if outcome.status in INFEASIBLE:
            self._raise_infeasible(candidates, compiled.lay, settings, limits_d, outcome.solver)
        if outcome.status in UNBOUNDED:
            raise SolverError(
                f"the objective is unbounded ({outcome.solver}: {outcome.status}); add a Budget "
                "constraint or bounds so weights cannot grow without limit"
            )
        solution = compiled.solution(settings, outcome)
        return self._finish(candidates, compiled.lay, settings, limits_d, solution)

    def _use_working_set(self, data: Candidates) -> bool:
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
            # measured (benchmarks/bench_solve.py): the interior method on the working set beats
            # the compiled conic form at every size, from 40 x 200 (ms against 0.1 s) up
            return applies and self.solver is None  # a named solver takes the compiled form
        return self.method == "working_set"

    def _finish(
        self,
        candidates: Candidates,
        lay: Layout,
        settings: Settings,
        limits: Mapping[str, Limit],
        solution: Solution,
    ) -> AllocationResult:
        """Checks, post-scaling, the result and optional lot rounding."""
        w, outcome = solution.w, solution.outcome
        if w.max(initial=0.0) > 1e6:  # log growth is unbounded but so flat solvers call it optimal
            raise SolverError(
                f"the objective looks unbounded ({outcome.solver} returned a weight of "
                f"{w.max():.3g} x capital); add a Budget constraint or bounds so weights cannot "
                "grow without limit"
            )
        scale = self.objective.post_scale()
        if scale != 1.0:
            w = w * scale
        result = AllocationResult(
            weights=pd.Series(w, index=candidates.names, name="weight"),
            capital=settings.capital,
            objective_name=self.objective.name,
            objective_value=float(self.objective.evaluate(w, candidates)),
            status=str(outcome.status),
            solver=str(outcome.solver),
            solve_seconds=float(outcome.seconds),
            compile_seconds=solution.compile_seconds,
            constraints=tuple(report_rows(candidates, lay, settings, limits, w, solution)),
            metrics=portfolio_metrics(w, candidates),
            attempts=tuple(outcome.attempts),
        )
        if scale != 1.0:
            broken = [r.name for r in result.constraints if r.violation > 1e-6 and not r.soft]
            if broken:
                raise ConfigError(
                    f"fractional Kelly scaled the weights by {scale:g} and broke {broken[:3]} "
                    "(a lower bound or target); use RiskConstrainedKelly or drop those lower bounds"
                )
        return self._round(result, candidates, lay, settings, limits)

    def _round(
        self,
        result: AllocationResult,
        candidates: Candidates,
        lay: Layout,
        settings: Settings,
        limits: Mapping[str, Limit],
    ) -> AllocationResult:
        if self.rounding is None:
            return result
        if not isinstance(self.rounding, LotRounding):
            raise ConfigError("rounding must be a LotRounding(...)")
        return self.rounding.apply(result, candidates, self.objective, lay, settings, limits)

    def _raise_infeasible(
        self,
        data: Candidates,
        lay: Layout,
        settings: Settings,
        limits: Mapping[str, Limit],
        solver: str,
    ) -> None:
        if not self.diagnose:
            raise plain_infeasible(solver)
        raise diagnose(
            data, lay.hard_rows, limits, lay.hard_conic, settings, solver_order(self.solver)
        ).error()


def _check_candidates(candidates: object) -> None:
    if not isinstance(candidates, Candidates):
        raise ConfigError(f"solve() needs Candidates; got {type(candidates).__name__}")


__all__ = ["Allocator", "Compiled"]
