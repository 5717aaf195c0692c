"""Integer lots: turn the continuous optimum into whole lots that keep every hard linear constraint.

The exact method is a mixed-integer program solved with HiGHS: integer lots ``n_i >= 0``, weights
``w_i = n_i * lot_cost_i / capital``, every hard linear row, and the smallest L1 distance to the
continuous weights plus ``SOFT_WEIGHT`` per unit of excess over each soft band the continuous
optimum met (so rounding keeps those bands where whole lots can). HiGHS stops at a node limit
(work, not wall-clock time, so the lots do not depend on the machine's load) and keeps its best
point; when it has none or fails, a greedy rounding (floor, then add lots that keep every row,
closest first) takes over. Conic constraints (drawdown, CVaR cap) are not part of the integer
program; they are re-evaluated and any violation is reported in ``Rounding.violations``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from quantalloc.allocation.candidates import Candidates
from quantalloc.allocation.constraints import Row
from quantalloc.allocation.context import Settings
from quantalloc.allocation.dust import PositionRules, with_positions
from quantalloc.allocation.highs import LinearModel, solve_highs
from quantalloc.allocation.layout import Layout
from quantalloc.allocation.objectives import Objective
from quantalloc.allocation.result import AllocationResult, ConstraintRow, Rounding
from quantalloc.allocation.rows import (
    Limit,
    effective_bounds,
    row_value,
    row_values,
    row_violation,
    sides,
    stacked,
)
from quantalloc.errors import ConfigError

FEAS_TOL = 1e-9


SoftRows = tuple[np.ndarray, np.ndarray]
"""Soft rows ``a_s w <= b_s`` the lots should keep: each unit of excess costs ``SOFT_WEIGHT``
units of distance from the continuous weights."""
SOFT_WEIGHT = 10.0
"""Soft share bands are homogeneous (investing nothing meets them all), so they come with a soft
floor on the deployed weight at the continuous optimum's: without it the empty book won whenever
whole lots could not keep every band (the demo US solve of 2023-06-01 rounded its 11% book to no
lots); with it that solve keeps its 11% and the bands' excess falls from 0.041 to 0.008."""
HELPERS_PER_ROW = 16  # candidates at zero that may take a lot, per row they can ease
# HiGHS's sub-MIP heuristics (RINS, RENS) took 70% of the rounding's time on the US solve
# (0.17 s of 0.24 s, for an incumbent its branching finds anyway within its 0.01% gap).
# The search stops once its lots are provably within MIP_ABS_GAP of the closest: proving the
# last basis point took 70% of the MIP at 232 x 2,000 (0.77 s of branching among equivalent
# small helper lots for 1.1e-5 of distance; with the gap 0.34 s CPU). HiGHS's restart after
# its root node (a second presolve of the reduced problem) then took a third of what was left
# (0.34 s -> 0.22 s without it, and a closer point: 0.008488 against 0.008493).
MIP_ABS_GAP = 1e-4
"""Distance (fractions of capital, plus soft excess) the lots may lie above the closest."""
MIP_OPTIONS: dict[str, bool | int | float | str] = {
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_abs_gap": MIP_ABS_GAP,
    "mip_allow_restart": False,
}


def _mip(
    target: np.ndarray,
    unit: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    max_nodes: int,
    soft: SoftRows | None = None,
    rules: PositionRules | None = None,
) -> np.ndarray | None:
    """Whole lots closest (L1) to ``target`` that keep every row of ``a w <= b`` (and as much
    of the ``soft`` rows as the distance allows).

    Each candidate may take up to one lot above its continuous weight (a candidate at zero:
    one lot). The first search holds the continuous optimum's candidates and, for each row a
    candidate at zero can ease (a floor, or an absolute limit on a net exposure), those with
    the smallest lots (:func:`_pool`): rounding down under a floor is repaired most cheaply by
    small lots of other members. When that search finds no lattice point, every candidate; then
    with only ``lots >= 0``.
    """
    # below a millionth of a lot a weight is the solver's zero: one lot at most, like a zero
    target = np.where(target > 1e-6 * unit, target, 0.0)
    ceil = np.ceil(target / unit) + 1
    pool = _pool(target, unit, a)
    searches = [np.where(pool, ceil, 0.0), ceil, np.full(target.shape[0], np.inf)]
    if pool.all():
        searches = searches[1:]
    for upper in searches:
        lots = _mip_within(target, unit, a, b, max_nodes, upper, soft, rules)
        if lots is not None:
            return lots
    return None


def _pool(target: np.ndarray, unit: np.ndarray, a: np.ndarray) -> np.ndarray:
    """The continuous optimum's candidates and, per row that candidates at zero can ease
    (negative coefficients: a floor, the far side of an absolute limit), such candidates with
    the smallest lots: at least ``HELPERS_PER_ROW``, and enough that one lot of each could make
    up twice what rounding the held candidates by a lot each could move the row."""
    held = target > 0
    pool = held.copy()
    by_size = np.argsort(unit, kind="stable")
    for row in a[(a < 0).any(axis=1)]:
        need = 2.0 * float(np.abs(row[held]) @ unit[held])
        helps = by_size[(row[by_size] < 0) & ~held[by_size]]
        reach = np.cumsum(-row[helps] * unit[helps])
        count = max(HELPERS_PER_ROW, int(np.searchsorted(reach, need)) + 1)
        pool[helps[:count]] = True
    return pool


def _mip_within(
    target: np.ndarray,
    unit: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    max_nodes: int,
    upper: np.ndarray,
    soft: SoftRows | None = None,
    rules: PositionRules | None = None,
) -> np.ndarray | None:
    """The closest lots with ``0 <= lots <= upper`` (HiGHS, ``max_nodes`` nodes), or None.

    Columns: lots ``x`` (integer), and for candidates held in the continuous optimum a distance
    ``d >= |unit x - target|`` (two rows each); a candidate at zero costs ``unit x`` directly,
    and one fixed at zero drops out. With active position ``rules``, a binary per candidate
    (:func:`quantalloc.allocation.dust.with_positions`).
    """
    free = np.flatnonzero(upper > 0)
    k = free.size
    tol = FEAS_TOL * np.maximum(1.0, np.abs(b))
    if k == 0:
        ok = not a.shape[0] or bool((0.0 <= b + tol).all())
        return np.zeros(target.shape[0]) if ok else None
    u, t = unit[free], target[free]
    held = np.flatnonzero(t > 0)
    h = held.size
    pick = sp.csr_matrix((u[held], (np.arange(h), held)), shape=(h, k))
    eye = sp.identity(h, format="csr")
    rows = [sp.hstack([pick, -eye]), sp.hstack([-pick, -eye])]
    row_upper = [t[held], -t[held]]
    if a.shape[0]:
        sub = a[:, free] * u[None, :]
        used = np.abs(sub).sum(axis=1) > 0
        if (b[~used] + tol[~used] < 0).any():
            return None
        rows.append(sp.hstack([sp.csr_matrix(sub[used]), sp.csr_matrix((int(used.sum()), h))]))
        row_upper.append(b[used] + tol[used])
    # soft rows: a_s w - e <= b_s with an excess e >= 0 that costs SOFT_WEIGHT per unit
    n_soft = soft[0].shape[0] if soft is not None else 0
    if n_soft:
        assert soft is not None
        rows = [sp.hstack([r, sp.csr_matrix((r.shape[0], n_soft))]) for r in rows]
        soft_sub = sp.csr_matrix(soft[0][:, free] * u[None, :])
        rows.append(sp.hstack([soft_sub, sp.csr_matrix((n_soft, h)), -sp.identity(n_soft)]))
        row_upper.append(soft[1])
    upper_rows = np.concatenate(row_upper)
    cost = np.where(t > 0, 0.0, u)
    model = LinearModel(
        cost=np.concatenate([cost, np.ones(h), np.full(n_soft, SOFT_WEIGHT)]),
        a=sp.vstack(rows, format="csc"),
        row_lower=np.full(upper_rows.shape[0], -np.inf),
        row_upper=upper_rows,
        col_lower=np.zeros(k + h + n_soft),
        col_upper=np.concatenate([upper[free], np.full(h + n_soft, np.inf)]),
        integer=np.concatenate([np.ones(k, dtype=bool), np.zeros(h + n_soft, dtype=bool)]),
    )
    if rules is not None and rules.active:
        model = with_positions(model, k, u, rules)
    result = solve_highs(model, max_nodes=max_nodes, options=MIP_OPTIONS)
    if result.x is None:
        return None
    lots = np.zeros(target.shape[0])
    lots[free] = np.rint(result.x[:k])
    return lots


LOT_GRID = 1e-3
"""Rounding reads the continuous weights in thousandths of a lot. The solver's weights carry
noise near its tolerance (two solves of the same problem written two ways differed by 2e-8 of
the budget, 4e-5 of a lot), and "closest whole lots" has near-ties a noise that size can flip
(5 lots apart on the demo); below a thousandth of a lot nothing is a decision."""


def _snapped(target: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """``target`` on the grid of ``LOT_GRID`` lots (unchanged where a lot costs nothing)."""
    safe = np.where(unit > 0, unit, 1.0)
    return np.where(unit > 0, np.round(target / safe / LOT_GRID) * LOT_GRID * safe, target)


def _with_deployed_floor(soft: SoftRows, target: np.ndarray) -> SoftRows:
    """``soft`` and one more row: the deployed weight no less than the continuous optimum's."""
    a_s, b_s = soft
    floor = -np.ones((1, target.shape[0]))
    return np.vstack([a_s, floor]), np.concatenate([b_s, [-float(target.sum())]])


def _soft_rows(
    lay: Layout,
    limits: Mapping[str, Limit],
    settings: Settings,
    optimum: np.ndarray,
    target: np.ndarray,
) -> SoftRows | None:
    """The soft rows the continuous optimum met, with the deployed floor, for the lots to keep
    as far as the distance allows (their excess is penalised like distance): a band met before
    rounding should not be lost to it, nor the whole book to a band whole lots cannot meet."""
    kept = [
        lay.rows[k]
        for k in lay.soft_rows
        if row_violation(
            lay.rows[k],
            effective_bounds(lay.rows[k], limits),
            row_value(lay.rows[k], optimum, settings),
        )
        <= 1e-7
    ]
    return _with_deployed_floor(sides(kept, limits, settings)[:2], target) if kept else None


def _violations(
    lay: Layout,
    limits: Mapping[str, Limit],
    settings: Settings,
    data: Candidates,
    w: np.ndarray,
    values: np.ndarray,
) -> list[str]:
    """Names of the hard rows and conic limits the whole-lot weights ``w`` break."""
    soft_index = set(lay.soft_rows)
    out = []
    for k, r in enumerate(lay.rows):
        value = float(values[k])
        if k in soft_index:
            continue
        if row_violation(r, effective_bounds(r, limits), value) > 1e-7 * max(1.0, abs(value)):
            out.append(r.name)
    for c in lay.conic:
        if c.evaluate(w, data, settings) > c.limit_value(settings) + 1e-7:
            out.append(c.name)
    return out


def _empty_is_better(
    lots: np.ndarray,
    unit: np.ndarray,
    objective: Objective,
    data: Candidates,
    hard: tuple[np.ndarray, np.ndarray],
    lay: Layout,
    settings: Settings,
    fixed: float = 0.0,
) -> bool:
    """Whole lots whose objective (less their ``fixed`` costs) is below the empty book's, where
    holding nothing keeps every hard row: the lots a small continuous optimum rounds to can lose
    in expectation (one lot of each member a share band needs), and no book is worth holding at
    a loss."""
    if not lots.any():
        return False
    a, b = hard
    empty = np.zeros_like(unit)
    if a.shape[0] and not bool((0.0 <= b + FEAS_TOL * np.maximum(1.0, np.abs(b))).all()):
        return False
    if any(c.evaluate(empty, data, settings) > c.limit_value(settings) + 1e-7 for c in lay.conic):
        return False
    at_lots = objective.evaluate(unit * lots, data) - fixed
    at_empty = objective.evaluate(empty, data)
    return bool(math.isfinite(at_empty) and (not math.isfinite(at_lots) or at_lots < at_empty))


MAX_GREEDY_MOVES = 100_000
"""Single-lot moves the greedy rounding may make: its loops end even when lots are tiny."""


def _greedy(target: np.ndarray, unit: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lots = np.floor(target / unit + 1e-9)
    moves = 0
    tol = FEAS_TOL * np.maximum(1.0, np.abs(b))

    def ok(x: np.ndarray) -> bool:
        return bool((a @ (unit * x) <= b + tol).all()) if a.shape[0] else True

    def violation(x: np.ndarray) -> float:
        return float(np.maximum(a @ (unit * x) - b, 0).sum()) if a.shape[0] else 0.0

    # repair: the single-lot move (add or remove) that most reduces the total violation,
    # closest to the target on ties, until every row holds or no move helps
    while a.shape[0] and not ok(lots) and moves < MAX_GREEDY_MOVES:
        moves += 1
        slack = a @ (unit * lots) - b
        best_i, best_step, best_v = -1, 0, violation(lots) - 1e-15
        for step in (1, -1):
            trial = slack[:, None] + step * a * unit[None, :]
            v = np.maximum(trial, 0).sum(axis=0)
            if step < 0:
                v[lots <= 0] = np.inf
            i = int(np.argmin(v))
            if v[i] < best_v:
                best_i, best_step, best_v = i, step, float(v[i])
        if best_i < 0:
            break
        lots[best_i] += best_step
    # add lots that bring a weight closer to its target and keep every row, largest gap first
    improved = True
    while improved and moves < MAX_GREEDY_MOVES:
        moves += 1
        improved = False
        gap = target - unit * lots
        for i in np.argsort(-gap):
            if gap[i] <= unit[i] / 2:
                break
            trial = lots.copy()
            trial[i] += 1
            if ok(trial):
                lots = trial
                improved = True
                break
    return lots


@dataclass(frozen=True, kw_only=True)
class LotRounding:
    """Round the continuous allocation to whole lots.

    Parameters
    ----------
    method
        ``"mip"`` (exact, HiGHS, greedy fallback) or ``"greedy"``.
    max_nodes
        Branch-and-bound nodes allowed to the MIP; its best point so far is kept at the limit.
        A limit by work, never by wall-clock time, so the result does not depend on the
        machine's load.
    positions
        Minimum lots and capital of a position and its fixed cost (:mod:`.dust`); the
        reported objective is net of the fixed costs.
    """

    method: str = "mip"
    max_nodes: int = 1000
    positions: PositionRules = field(default_factory=PositionRules)

    def __post_init__(self) -> None:
        if self.method not in ("mip", "greedy"):
            raise ConfigError(f"rounding method must be 'mip' or 'greedy'; got {self.method!r}")
        if not self.max_nodes >= 1:
            raise ConfigError(f"rounding max_nodes must be >= 1; got {self.max_nodes}")

    def apply(
        self,
        result: AllocationResult,
        data: Candidates,
        objective: Objective,
        lay: Layout,
        settings: Settings,
        limits: Mapping[str, Limit],
    ) -> AllocationResult:
        """The result with ``rounding`` filled in: whole lots, kept within every hard cap, and
        the constraint rows realised with them."""
        if data.lot_cost is None:
            raise ConfigError(
                "rounding to lots needs Candidates(lot_cost=...): the capital one lot ties up"
            )
        start = time.perf_counter()
        unit = data.lot_cost.to_numpy(dtype=float) / settings.capital
        optimum = result.weights.to_numpy(dtype=float)
        target = _snapped(optimum, unit)
        hard_rows = lay.hard_rows
        a, b, _ = sides(hard_rows, limits, settings)
        soft = _soft_rows(lay, limits, settings, optimum, target)
        lots = None
        method = self.method
        if method == "mip":
            lots = _mip(target, unit, a, b, self.max_nodes, soft, self.positions)
            if lots is None:
                method = "greedy (mip fallback)"
        if lots is None:
            lots = _greedy(target, unit, a, b)
        fee, dust = self.positions.cost, self.positions.without_dust
        lots = dust(repair_caps(hard_rows, np.rint(lots).astype(int), unit, settings, limits), unit)
        loses = _empty_is_better(lots, unit, objective, data, (a, b), lay, settings, fee(lots))
        if soft is not None and loses:
            # the soft bands and deployed floor cost growth: the closest lots without them
            plain = (
                _mip(target, unit, a, b, self.max_nodes, None, self.positions)
                if method == "mip"
                else None
            )
            if plain is not None:
                lots = repair_caps(hard_rows, np.rint(plain).astype(int), unit, settings, limits)
                lots = dust(lots, unit)
                method += " (soft bands dropped: keeping them loses)"
        if _empty_is_better(lots, unit, objective, data, (a, b), lay, settings, fee(lots)):
            lots, method = np.zeros_like(lots), method + " (no lots: whole lots lose)"
        w = unit * lots
        values = lay.values(w, settings)
        violations = _violations(lay, limits, settings, data, w, values)
        value = objective.evaluate(w, data) - fee(lots)
        rounding = Rounding(
            method=method,
            lots=pd.Series(lots, index=data.names, name="lots"),
            weights=pd.Series(w, index=data.names, name="weight"),
            objective_value=float(value),
            objective_lost=float(result.objective_value - value)
            if math.isfinite(value)
            else math.inf,
            distance=float(np.abs(w - target).sum()),
            seconds=time.perf_counter() - start,
            status="ok" if not violations else "violates " + ", ".join(violations[:5]),
            violations=tuple(violations),
            constraints=realised_rows(result.constraints, lay.rows, values),
        )
        return dataclasses.replace(result, rounding=rounding)


def repair_caps(
    rows: list[Row],
    lots: np.ndarray,
    unit: np.ndarray,
    settings: Settings,
    limits: Mapping[str, Limit],
    max_steps: int = 1000,
) -> np.ndarray:
    """Take lots off, one at a time, while a cap (upper or absolute row) is exceeded.

    The integer program keeps the rows within HiGHS's feasibility tolerance, which for a
    currency limit scaled to weights can still leave a few currency units over (seen: 0.45 over
    a 3,333 vega limit). Each step removes one lot of the position pushing the first exceeded
    row hardest. Lower bounds are not repaired (they hold in practice with whole lots of the
    sizes seen); a row still exceeded after ``max_steps`` is left as is.
    """
    lots = lots.copy()
    caps = [(r, effective_bounds(r, limits)[1]) for r in rows]
    caps = [(r, up) for r, up in caps if up is not None]
    if not caps:
        return lots
    cap_rows = [r for r, _ in caps]
    matrix = stacked(cap_rows, unit.shape[0])
    limit = np.array([up for _, up in caps], dtype=float)
    for _ in range(max_steps):
        w = lots * unit
        exceeded = np.flatnonzero(
            row_values(cap_rows, matrix, w, settings) > limit * (1 + 1e-9) + 1e-12
        )
        if exceeded.size == 0:
            break
        over = cap_rows[int(exceeded[0])]
        raw = float(over.coeffs @ w)
        push = over.coeffs * unit * (np.sign(raw) if over.absolute else 1.0)
        push = np.where(lots > 0, push, -np.inf)
        i = int(np.argmax(push))
        if push[i] <= 0:
            break
        lots[i] -= 1
    return lots


def realised_rows(
    continuous: tuple[ConstraintRow, ...], rows: list[Row], values: np.ndarray
) -> tuple[ConstraintRow, ...]:
    """The constraint rows with ``values`` (each row's, realised at whole-lot weights).

    ``binding`` and ``dual`` stay those of the continuous optimum; a range row's ``limit`` is
    the side its value is nearer. Conic rows keep their continuous values.
    """
    by_name = {r.name: r for r in continuous}
    out = []
    for row, value in zip(rows, values.tolist(), strict=True):
        cont = by_name.get(row.name)
        if cont is None:
            continue
        limit = cont.upper if cont.upper is not None else cont.lower
        if (
            cont.lower is not None
            and cont.upper is not None
            and value < (cont.lower + cont.upper) / 2
        ):
            limit = cont.lower
        dual = cont.dual if cont.dual is not None and np.isfinite(cont.dual) else 0.0
        out.append(
            dataclasses.replace(
                cont,
                limit=float(limit if limit is not None else cont.limit),
                value=float(value),
                dual=float(dual),
            )
        )
    linear = {r.name for r in out}
    for cont in continuous:
        if cont.name not in linear:
            dual = cont.dual if np.isfinite(cont.dual) else 0.0
            out.append(dataclasses.replace(cont, dual=float(dual)))
    return tuple(out)


__all__ = ["LotRounding", "realised_rows", "repair_caps"]
