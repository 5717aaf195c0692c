"""Infeasibility diagnosis: which constraints conflict, and by how much each must be relaxed.

An elastic problem adds a nonnegative slack to every hard constraint and minimises the slacks,
weighted by priority (higher priority = relaxed last) and measured in each constraint's own unit.
Its solution is a joint relaxation that makes the problem feasible; the constraints with slack or a
nonzero dual form the conflict; for each of them a second elastic solve (only that one may move)
gives the relaxation that would suffice on its own.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from quantalloc.allocation.candidates import Candidates
from quantalloc.allocation.constraints import Row, amount_text
from quantalloc.allocation.context import BuildContext, Settings
from quantalloc.allocation.risk import ConicConstraint, CVaRCap, DrawdownRisk
from quantalloc.allocation.rows import effective_bounds
from quantalloc.allocation.solvers import OK, solve_with_fallback
from quantalloc.errors import InfeasibleError, SolverError

if TYPE_CHECKING:  # cvxpy loads only when a compiled problem is built
    import cvxpy as cp

TOL = 1e-7


@dataclass(frozen=True)
class Relaxation:
    """Move constraint ``name`` by ``amount`` (in ``unit``) on ``side`` ('upper' or 'lower')."""

    name: str
    side: str
    amount: float
    unit: str
    description: str


@dataclass(frozen=True)
class Diagnosis:
    """The conflict and the relaxations that resolve it."""

    conflict: tuple[str, ...]
    joint: tuple[Relaxation, ...]
    alone: tuple[Relaxation, ...]
    message: str
    limits: Mapping[str, object] = field(default_factory=dict)

    def relaxed_limits(
        self, plan: Sequence[Relaxation] | None = None, margin: float = 1e-6
    ) -> dict[str, tuple[Any, Any]]:
        """``limits=`` for ``Allocator.solve`` applying ``plan`` (default: the joint relaxation).

        Each amount is widened by ``margin`` (relative and absolute) against solver tolerance.
        """
        out: dict[str, tuple[Any, Any]] = {}
        for r in self.joint if plan is None else plan:
            lower, upper = cast(tuple[Any, Any], out.get(r.name) or self.limits[r.name])
            step = r.amount * (1 + margin) + margin
            if r.side == "lower":
                lower = lower - step
            else:  # upper side, the negative side of an absolute limit, or a conic limit
                upper = upper + step
            out[r.name] = (lower, upper)
        return out

    def error(self) -> ConstraintConflict:
        return ConstraintConflict(self.message, self)


class ConstraintConflict(InfeasibleError):
    """InfeasibleError carrying the ``Diagnosis`` (``.diagnosis``)."""

    def __init__(self, message: str, diagnosis: Diagnosis) -> None:
        super().__init__(message)
        self.diagnosis = diagnosis


def plain_infeasible(solver: str) -> InfeasibleError:
    return InfeasibleError(
        f"the constraints cannot all hold ({solver} reports infeasible); solve with diagnose=True "
        "to see which ones conflict"
    )


def _bounds(row: Row, limits: Mapping[str, object]) -> tuple[float | None, float | None]:
    return effective_bounds(row, limits)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Problem:
    """The hard rows and conic constraints under diagnosis, with the limits and solvers."""

    data: Candidates
    rows: Sequence[Row]
    limits: Mapping[str, object]
    conic: Sequence[ConicConstraint]
    settings: Settings
    order: list[str]

    def feasible(self) -> bool:
        """True when everything can hold (first solver only: a fallback such as SCS can take
        minutes on a near-infeasible exp cone)."""
        return _elastic(dataclasses.replace(self, order=self.order[:1]), set()) is not None

    def conic_step(self, c: ConicConstraint, slack: float) -> float:
        """How far ``c``'s adjustable limit must move so it can hold with everything else hard.

        A CVaR cap moves by the slack itself (in its unit); a drawdown bound's beta is found by
        bisection (the feasible set grows as beta grows, since lambda shrinks).
        """
        if isinstance(c, CVaRCap):
            s = self.settings
            scale = {"budget": s.budget, "capital": 1.0, "currency": 1.0 / s.capital}
            return slack / scale[c.unit]
        if not isinstance(c, DrawdownRisk):
            return slack
        others = [o for o in self.conic if o.name != c.name]
        trial = copy.deepcopy(c)
        lo, hi = c.beta, 1.0 - 1e-9
        trial.beta = hi
        if not dataclasses.replace(self, conic=[*others, trial]).feasible():
            return math.inf
        for _ in range(14):
            mid = (lo + hi) / 2
            trial.beta = mid
            if dataclasses.replace(self, conic=[*others, trial]).feasible():
                hi = mid
            else:
                lo = mid
        return hi - c.beta


def _elastic(
    p: _Problem, elastic: set[str] | None
) -> tuple[str, dict[tuple[str, str], float], dict[str, float]] | None:
    """Minimise weighted slacks; ``elastic`` limits which constraints may move (None = all)."""
    import cvxpy as cp

    data, rows, limits, conic, settings, order = (
        p.data, p.rows, p.limits, p.conic, p.settings, p.order
    )  # fmt: skip
    n = data.n_candidates
    w = cp.Variable(n, nonneg=True)
    ctx = BuildContext(data=data, w=w, parametrize_scenarios=False)
    cons: list[cp.Constraint] = []
    cost: list[cp.Expression] = []
    slack_of: dict[tuple[str, str], cp.Expression] = {}
    dual_of: dict[str, list[cp.Constraint]] = {}
    for r in rows:
        lower, upper = _bounds(r, limits)
        scale = r.scale(settings.capital, settings.budget)
        a = r.coeffs
        sides = []
        if upper is not None:
            sides.append(("upper", a @ w, upper * scale))
            if r.absolute:
                sides.append(("abs_negative", -(a @ w), upper * scale))
        if lower is not None and not r.absolute:
            sides.append(("lower", -(a @ w), -lower * scale))
        for side, lhs, rhs in sides:
            if elastic is None or r.name in elastic:
                s = cp.Variable(nonneg=True)
                con = lhs <= rhs + s
                slack_of[(r.name, side)] = s / scale
                cost.append(r.priority * s / scale)
            else:
                con = lhs <= rhs
            cons.append(con)
            dual_of.setdefault(r.name, []).append(con)
    for c in conic:
        if elastic is None or c.name in elastic:
            s = cp.Variable(nonneg=True)
            con = c.build(ctx, s)
            slack_of[(c.name, "conic")] = s
            cost.append(c.priority * s)
        else:
            con = c.build(ctx)
        cons.append(con)
        dual_of.setdefault(c.name, []).append(con)
    ctx.refresh(data, settings)
    objective = cp.sum(cp.hstack(cost)) if cost else cp.Constant(0.0)
    problem = cp.Problem(cp.Minimize(objective), [*ctx.constraints, *cons])
    try:
        outcome = solve_with_fallback(problem, order)
    except SolverError:  # no verdict: treat as not shown feasible
        return None
    if outcome.status not in OK:
        return None
    slacks = {k: max(float(np.asarray(v.value)), 0.0) for k, v in slack_of.items()}
    duals = {}
    for name, cs in dual_of.items():
        duals[name] = sum(abs(float(np.sum(c.dual_value))) for c in cs if c.dual_value is not None)
    return outcome.status, slacks, duals


def diagnose(
    data: Candidates,
    rows: Sequence[Row],
    limits: Mapping[str, object],
    conic: Sequence[ConicConstraint],
    settings: Settings,
    order: list[str],
) -> Diagnosis:
    """Explain why the hard constraints cannot all hold."""
    p = _Problem(data, rows, limits, conic, settings, order)
    row_bounds = {r.name: _bounds(r, limits) for r in rows}
    # describe the limits in force (a run's overrides included), not the declared ones
    describe = {
        r.name: dataclasses.replace(
            r, lower=row_bounds[r.name][0], upper=row_bounds[r.name][1]
        ).describe()
        for r in rows
    }
    describe |= {c.name: c.describe(settings) for c in conic}
    units: dict[str, str] = {r.name: r.unit for r in rows}
    units |= {c.name: c.unit if isinstance(c, CVaRCap) else "beta" for c in conic}
    bounds: dict[str, object] = dict(row_bounds)
    bounds |= {c.name: (None, c.adjustable()) for c in conic}
    joint_run = _elastic(p, None)
    if joint_run is None:
        message = (
            "the constraints cannot all hold and the elastic diagnosis could not be solved; "
            "check the limits for contradictions (e.g. a target above its cap)"
        )
        return Diagnosis((), (), (), message, bounds)
    _, slacks, duals = joint_run
    joint = _joint(p, slacks, bounds, units, describe)
    if not joint:
        message = (
            "the constraints can all hold, but every allocation that satisfies them loses all "
            "capital in some scenario (1 + r.w <= 0), so log growth is undefined; lower the "
            "minimum weights or targets, or use KellyQuadratic / MeanCVaR"
        )
        return Diagnosis((), (), (), message, bounds)
    relaxed = {r.name for r in joint}
    partners = [n for n, d in sorted(duals.items(), key=lambda kv: -kv[1]) if d > 1e-6]
    conflict = list(dict.fromkeys([*sorted(relaxed), *partners]))[:8]
    alone = _alone(p, conflict[:6], units, describe)
    return Diagnosis(
        tuple(conflict), joint, tuple(alone), _message(conflict, joint, alone, describe), bounds
    )


def _joint(
    p: _Problem,
    slacks: Mapping[tuple[str, str], float],
    bounds: dict[str, object],
    units: Mapping[str, str],
    describe: Mapping[str, str],
) -> tuple[Relaxation, ...]:
    """The joint relaxation: linear rows by their slacks, then each conic limit's step with
    those rows relaxed."""
    by_name = {c.name: c for c in p.conic}
    linear = [
        Relaxation(name, side, amount, units[name], describe[name])
        for (name, side), amount in slacks.items()
        if amount > TOL and name not in by_name
    ]
    out = list(linear)
    relaxed_rows = Diagnosis((), tuple(linear), (), "", bounds).relaxed_limits()
    relaxed = dataclasses.replace(p, limits={**p.limits, **relaxed_rows})
    for (name, _side), amount in slacks.items():
        if amount > TOL and name in by_name:
            step = relaxed.conic_step(by_name[name], amount)
            out.append(Relaxation(name, "upper", step, units[name], describe[name]))
    return tuple(out)


def _alone(
    p: _Problem, names: Sequence[str], units: Mapping[str, str], describe: Mapping[str, str]
) -> list[Relaxation]:
    """For each constraint in the conflict, the relaxation that suffices on its own."""
    by_name = {c.name: c for c in p.conic}
    alone: list[Relaxation] = []
    for name in names:
        run = _elastic(p, {name})
        if run is None:
            continue
        for (nm, side), amount in run[1].items():
            if amount <= TOL:
                continue
            if nm in by_name:
                amount, side = p.conic_step(by_name[nm], amount), "upper"
            alone.append(Relaxation(nm, side, amount, units[nm], describe[nm]))
    return alone


def _message(
    conflict: Sequence[str],
    joint: Sequence[Relaxation],
    alone: Sequence[Relaxation],
    describe: Mapping[str, str],
) -> str:
    names = [f"{n} ({describe[n]})" for n in conflict]
    head = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    verb = (
        "cannot hold"
        if len(names) == 1
        else ("cannot both hold" if len(names) == 2 else "cannot all hold")
    )
    amounts = {round(r.amount, 6) for r in alone}
    if alone and len(amounts) == 1 and len(alone) == len(conflict) > 1:
        fix = f"relax one by >= {amount_text(alone[0].amount, alone[0].unit)}"
    elif alone:
        fix = "relax " + ", or ".join(
            f"{r.name} by >= {amount_text(r.amount, r.unit)}" for r in alone
        )
    else:
        fix = "no single one suffices; relax together " + ", ".join(
            f"{r.name} by {amount_text(r.amount, r.unit)}" for r in joint
        )
    return f"{head} {verb}: {fix}"
