"""The model's objective and limits as the allocation engine's terms; solve and round to lots.

Units handed to the engine (``quantalloc.allocation``): a weight is the fraction of *capital*
put into a candidate; a candidate's scenario return is its P&L per lot over the capital one lot
ties up; attributes (vega, theta, delta, max loss) are per unit of currency put in. Limits are
fractions of the options budget, except the vega limit (currency per vol point) and the max
risk per trade (fraction of capital).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.errors import ConfigError
from quantalloc.modelspec import ModelSpec, RiskProfile


@dataclass(frozen=True)
class Outcome:
    """What the engine returned, in the shapes the report needs."""

    names: list[str]
    lots: np.ndarray
    weights: np.ndarray
    continuous: np.ndarray
    constraints: pd.DataFrame
    solver: dict[str, Any]


def candidate_names(table: pd.DataFrame) -> list[str]:
    """Stable, unique labels: ``SYMBOL|strategy|expiry|otm``."""
    return [
        f"{r.symbol}|{r.strategy_name}|{r.expiry}|{r.otm:g}" for r in table.itertuples(index=False)
    ]


def objective_term(spec: ModelSpec) -> Any:
    """The model's objective as an engine term."""
    from quantalloc.allocation import FractionalKelly, Kelly, RiskConstrainedKelly

    obj = spec.objective
    if obj.kind == "rck":
        return RiskConstrainedKelly(alpha=obj.drawdown_alpha, beta=obj.drawdown_beta)
    if obj.kind == "fractional_kelly":
        return FractionalKelly(fraction=obj.fraction)
    return Kelly()


def constraint_terms(
    spec: ModelSpec,
    profile: RiskProfile,
    targets: Mapping[str, float],
    vega_limit: float,
    caps: Mapping[str, float] | None = None,
) -> list[Any]:
    """Budget, group caps, industry targets, vega, theta-positive cap and max risk per trade."""
    from quantalloc.allocation import (
        Budget,
        ExposureLimit,
        FlaggedCap,
        GroupCap,
        GroupTarget,
        MaxLoss,
    )

    lim = spec.limits
    terms: list[Any] = [
        Budget(limit=profile.options_capital),
        GroupCap(by="symbol", limit=lim.max_symbol, unit="budget", name="max_symbol"),
        GroupCap(by="strategy", limit=lim.max_strategy, unit="budget", name="max_strategy"),
        GroupCap(by="industry", limit=lim.max_industry, unit="budget", name="max_industry"),
        FlaggedCap(
            flag="theta_positive",
            limit=lim.max_theta_positive,
            unit="budget",
            name="max_theta_positive",
        ),
        ExposureLimit(attribute="vega", max_abs=vega_limit, unit="currency"),
        MaxLoss(
            limit=profile.max_risk_per_trade,
            attribute="max_loss",
            unit="capital",
            name="max_risk_per_trade",
        ),
    ]
    if targets:
        terms.append(
            GroupTarget(
                by="industry",
                targets=dict(targets),
                tolerance=spec.industries.target_tolerance,
                unit="budget",
                name="target",
            )
        )
    if caps:
        terms.append(
            GroupTarget(
                by="market_cap",
                targets=dict(caps),
                tolerance=spec.advanced.cap_tolerance if spec.advanced else 0.1,
                unit="budget",
                name="cap_bucket",
            )
        )
    return terms


def engine_candidates(table: pd.DataFrame, pnl: np.ndarray) -> Any:
    """The engine's ``Candidates``: returns per unit of capital, attributes, groups, lot cost."""
    from quantalloc.allocation import Candidates
    from quantalloc.options import theta_positive_strategies

    names = candidate_names(table)
    lot_cost = table["capital"].to_numpy(dtype=float)
    returns = pd.DataFrame(pnl / lot_cost[None, :], columns=names)
    attributes = pd.DataFrame(
        {
            "vega": table["vega"].to_numpy(dtype=float) / lot_cost,
            "theta": table["theta"].to_numpy(dtype=float) / lot_cost,
            "delta": table["delta"].to_numpy(dtype=float) / lot_cost,
            "max_loss": table["max_loss"].to_numpy(dtype=float) / lot_cost,
        },
        index=names,
    )
    groups = pd.DataFrame(
        {
            "symbol": table["symbol"].astype(str).to_numpy(),
            "strategy": table["strategy_name"].astype(str).to_numpy(),
            "industry": table["industry"].astype(str).to_numpy(),
            "sector": table["sector"].astype(str).to_numpy(),
            "market_cap": table["market_cap"].astype(str).to_numpy(),
            "position_type": table["position_type"].astype(str).to_numpy(),
            "theta_positive": table["strategy_name"].isin(theta_positive_strategies()).to_numpy(),
        },
        index=names,
    )
    return Candidates(
        returns=returns,
        attributes=attributes,
        groups=groups,
        lot_cost=pd.Series(lot_cost, index=names),
    )


def allocate(
    *,
    spec: ModelSpec,
    profile: RiskProfile,
    capital: float,
    table: pd.DataFrame,
    pnl: np.ndarray,
    targets: Mapping[str, float],
    vega_limit: float,
    limits: Mapping[str, Any] | None,
    timer: Any,
    caps: Mapping[str, float] | None = None,
) -> Outcome:
    """Solve the model's convex program over the candidates and round to whole lots."""
    from quantalloc.allocation import Allocator
    from quantalloc.allocation.context import Settings
    from quantalloc.allocation.lots import LotRounding
    from quantalloc.allocation.report import row_value

    if spec.objective.kind == "fractional_kelly" and (targets or caps):
        raise ConfigError(
            f"model {spec.name}: fractional Kelly scales every weight by "
            f"{spec.objective.fraction:g} and so breaks the target bands' lower sides; set "
            "[industries] enforce_targets = false (and no market-cap targets) or use "
            'objective kind = "kelly" or "rck"'
        )
    with timer.stage("allocation: build"):
        data = engine_candidates(table, pnl)
        allocator = Allocator(
            objective=objective_term(spec),
            constraints=constraint_terms(spec, profile, targets, vega_limit, caps),
            capital=capital,
            rounding=LotRounding(method="mip"),
        )
    with timer.stage("allocation: solve + lots"):
        overrides = dict(limits or {})
        result = targets_last(allocator, data, overrides, profile.options_capital)
        if result is None:
            result = allocator.solve(data, limits=overrides)
    with timer.stage("allocation: lots check + rows"):
        rounding = result.rounding
        lot_cost = table["capital"].to_numpy(dtype=float)
        if rounding is not None:
            lots = np.rint(rounding.lots.reindex(data.names).to_numpy(dtype=float)).astype(int)
        else:
            lots = np.floor(result.weights.to_numpy() * capital / lot_cost + 1e-9).astype(int)
        settings = Settings(capital=float(capital), budget=float(profile.options_capital))
        lots = repair_upper_rows(allocator.rows(data), lots, lot_cost / capital, settings, limits)
        weights = lots * lot_cost / capital
        # constraint values realised after rounding; binding and dual from the continuous optimum
        rows = []
        by_name = {r.name: r for r in result.constraints}
        for row in allocator.rows(data):
            cont = by_name.get(row.name)
            value = row_value(row, weights, settings)
            if cont is None:
                continue
            limit = cont.upper if cont.upper is not None else cont.lower
            if (
                cont.lower is not None
                and cont.upper is not None
                and value < (cont.lower + cont.upper) / 2
            ):
                limit = cont.lower
            rows.append(
                {
                    "name": row.name,
                    "limit": float(limit if limit is not None else cont.limit),
                    "value": float(value),
                    "binding": bool(cont.binding),
                    "dual": float(cont.dual)
                    if cont.dual is not None and np.isfinite(cont.dual)
                    else 0.0,
                    "unit": cont.unit,
                    "lower": cont.lower,
                    "upper": cont.upper,
                    "before_lots": float(cont.value),
                }
            )
        linear = {r["name"] for r in rows}
        for cont in result.constraints:  # conic rows (the RCK drawdown bound): continuous values
            if cont.name not in linear:
                rows.append(
                    {
                        "name": cont.name,
                        "limit": float(cont.limit),
                        "value": float(cont.value),
                        "binding": bool(cont.binding),
                        "dual": float(cont.dual) if np.isfinite(cont.dual) else 0.0,
                        "unit": cont.unit,
                        "lower": cont.lower,
                        "upper": cont.upper,
                        "before_lots": float(cont.value),
                    }
                )
        solver = {
            "name": result.solver,
            "status": result.status,
            "objective": result.objective_name,
            "objective_value": float(result.objective_value),
            "compile_seconds": float(result.compile_seconds),
            "solve_seconds": float(result.solve_seconds),
            "rounding": None
            if rounding is None
            else {
                "method": rounding.method,
                "status": rounding.status,
                "objective_value": float(rounding.objective_value),
                "objective_lost": float(rounding.objective_lost),
                "seconds": float(rounding.seconds),
            },
        }
    return Outcome(
        names=list(data.names),
        lots=lots,
        weights=weights,
        continuous=result.weights.to_numpy(dtype=float),
        constraints=pd.DataFrame(rows),
        solver=solver,
    )


def repair_upper_rows(
    rows: list[Any],
    lots: np.ndarray,
    unit: np.ndarray,
    settings: Any,
    limits: Mapping[str, Any] | None,
    max_steps: int = 1000,
) -> np.ndarray:
    """Take lots off, one at a time, while a cap (upper or absolute row) is exceeded.

    The engine's integer rounding keeps the rows within the MIP solver's feasibility tolerance,
    which for a currency limit scaled to weights can still leave a few currency units over
    (seen: 0.45 over a 3,333 vega limit). Each step removes one lot of the position pushing the
    first exceeded row hardest. Lower bounds are not repaired (they hold in practice with
    whole lots of the sizes seen); a row still exceeded after ``max_steps`` is left as is.
    """
    from quantalloc.allocation.atoms import effective_bounds
    from quantalloc.allocation.report import row_value

    lots = lots.copy()
    caps = []
    for r in rows:
        upper = effective_bounds(r, dict(limits or {}))[1]
        if upper is not None:
            caps.append((r, upper))
    for _ in range(max_steps):
        w = lots * unit
        over = next(
            ((r, up) for r, up in caps if row_value(r, w, settings) > up * (1 + 1e-9) + 1e-12),
            None,
        )
        if over is None:
            break
        row, _up = over
        raw = float(row.coeffs @ w)
        push = row.coeffs * unit * (np.sign(raw) if row.absolute else 1.0)
        push = np.where(lots > 0, push, -np.inf)
        i = int(np.argmax(push))
        if push[i] <= 0:
            break
        lots[i] -= 1
    return lots


def targets_last(allocator: Any, data: Any, limits: dict[str, Any], budget: float) -> Any | None:
    """Solve with only the upper sides of the target bands first; keep that optimum when it
    meets the lower sides too.

    Adding constraints that the optimum already satisfies cannot change the optimum of a convex
    problem, so when the solution with the bands' upper sides (caps) lies above every band's
    lower side it is the solution of the full problem, and the lower sides' multipliers are 0.
    The lower bounds are what makes the engine's working set grow slowly, so this is usually
    much faster. Returns None (solve the full problem) when a lower side is missed or anything
    does not fit.
    """
    from types import SimpleNamespace

    from quantalloc.allocation import Allocator, GroupCap, GroupTarget
    from quantalloc.allocation.atoms import effective_bounds
    from quantalloc.allocation.context import Settings
    from quantalloc.allocation.report import row_value, row_violation
    from quantalloc.allocation.result import ConstraintRow
    from quantalloc.errors import QuantallocError

    bands = [c for c in allocator.constraints if isinstance(c, GroupTarget)]
    if not bands or allocator.rounding is None:
        return None
    band_rows = [r for c in bands for r in c.rows(data)]
    band_names = {r.name for r in band_rows} | {r.source for r in band_rows}
    caps = [
        GroupCap(
            by=c.by,
            limit={k: float(v) + c.tolerance for k, v in (c.targets or {}).items()},
            unit=c.unit,
            name=f"{c.name}__upper",
        )
        for c in bands
    ]
    free = Allocator(
        objective=allocator.objective,
        constraints=[
            *(c for c in allocator.constraints if not isinstance(c, GroupTarget)),
            *caps,
        ],
        capital=allocator.capital,
    )
    try:
        first = free.solve(data, limits={k: v for k, v in limits.items() if k not in band_names})
    except QuantallocError:
        return None  # the full solve diagnoses
    settings = Settings(capital=float(allocator.capital), budget=float(budget))
    w = first.weights.to_numpy(dtype=float)
    upper_dual = {
        row.name.replace("__upper[", "[", 1): row.dual
        for row in first.constraints
        if "__upper[" in row.name
    }
    kept = tuple(row for row in first.constraints if "__upper[" not in row.name)
    extra = []
    for r in band_rows:
        lower, upper = effective_bounds(r, limits)
        value = row_value(r, w, settings)
        if row_violation(r, (lower, upper), value) > 1e-9:
            return None
        tol = 1e-5 * max(1.0, abs(value))
        near = (upper is not None and abs(upper - value) <= tol) or (
            lower is not None and abs(value - lower) <= tol
        )
        extra.append(
            ConstraintRow(
                name=r.name,
                kind="range",
                limit=float(upper if upper is not None else lower or 0.0),
                lower=lower,
                upper=upper,
                value=value,
                binding=bool(near),
                dual=float(upper_dual.get(r.name, 0.0)),
                unit=r.unit,
            )
        )
    result = dataclasses.replace(first, constraints=(*kept, *extra))
    compiled = SimpleNamespace(rows=allocator.rows(data), soft_rows=[], conic=[])
    try:
        return allocator.rounding.apply(result, data, allocator, compiled, settings, limits)
    except (AttributeError, TypeError):  # the engine's rounding needs more than we give it
        return None


__all__ = ["Outcome", "allocate", "candidate_names", "constraint_terms", "engine_candidates"]
