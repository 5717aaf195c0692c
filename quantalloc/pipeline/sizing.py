"""The model's objective and limits as the allocation engine's terms; solve and round to lots.

Units handed to the engine (``quantalloc.allocation``): a weight is the fraction of *capital*
put into a candidate; a candidate's scenario return is its P&L per lot over the capital one lot
ties up; attributes (vega, theta, delta, max loss) are per unit of currency put in. Limits are
fractions of the options budget, except the vega limit (currency per vol point) and the max
risk per trade (fraction of capital).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.allocation import (
    AllocationResult,
    Allocator,
    Budget,
    Candidates,
    ConstraintRow,
    ExposureLimit,
    FlaggedCap,
    FractionalKelly,
    GroupCap,
    Kelly,
    LinearConstraint,
    LotRounding,
    MaxLoss,
    Objective,
    RiskConstrainedKelly,
    Rounding,
)
from quantalloc.errors import ConfigError
from quantalloc.pipeline.model import ModelSpec
from quantalloc.pipeline.records import ScenarioBook, Targets
from quantalloc.pipeline.request import Plan
from quantalloc.pipeline.targets import soft_targets, target_terms
from quantalloc.pipeline.timer import Timer


@dataclass(frozen=True)
class Outcome:
    """What the engine returned, in the shapes the document needs: whole lots per candidate,
    the constraint rows realised with them, and the solver block."""

    lots: np.ndarray
    constraints: pd.DataFrame
    solver: dict[str, Any]


def candidate_names(table: pd.DataFrame) -> list[str]:
    """Stable, unique labels: ``SYMBOL|strategy|expiry|otm``."""
    return [
        f"{r.symbol}|{r.strategy_name}|{r.expiry}|{r.otm:g}" for r in table.itertuples(index=False)
    ]


def objective_term(spec: ModelSpec) -> Objective:
    """The model's objective as an engine term."""
    obj = spec.objective
    if obj.kind == "rck":
        return RiskConstrainedKelly(alpha=obj.drawdown_alpha, beta=obj.drawdown_beta)
    if obj.kind == "fractional_kelly":
        return FractionalKelly(fraction=obj.fraction)
    return Kelly()


def constraint_terms(plan: Plan, targets: Targets) -> list[LinearConstraint]:
    """Budget, group caps, industry and cap-bucket targets, vega, theta-positive cap, max risk."""
    spec, profile, lim = plan.spec, plan.profile, plan.spec.limits
    terms: list[LinearConstraint] = [
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
        _vega_limit(plan.vega_limit, targets.vega_offset),
        MaxLoss(
            limit=profile.max_risk_per_trade,
            attribute="max_loss",
            unit="capital",
            name="max_risk_per_trade",
        ),
    ]
    terms += target_terms(spec, targets)
    return terms


def _vega_limit(limit: float, held: float) -> ExposureLimit:
    """``|vega| <= limit``; with vega already held, ``|new + held| <= limit`` (row net_vega)."""
    if held == 0.0:
        return ExposureLimit(attribute="vega", max_abs=limit, unit="currency")
    return ExposureLimit(attribute="vega", lower=-limit - held, upper=limit - held, unit="currency")


def engine_candidates(
    table: pd.DataFrame, pnl: np.ndarray, probabilities: np.ndarray | None = None
) -> Candidates:
    """The engine's ``Candidates``: returns per unit of capital, attributes, groups, lot cost,
    and the scenarios' probabilities (None: equally likely)."""
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
            # by the position's own theta (a calendar earning time decay counts), not its label
            "theta_positive": table["theta"].to_numpy(dtype=float) > 0,
        },
        index=names,
    )
    return Candidates(
        returns=returns,
        probabilities=probabilities,
        attributes=attributes,
        groups=groups,
        lot_cost=pd.Series(lot_cost, index=names),
    )


def allocate(plan: Plan, book: ScenarioBook, targets: Targets, timer: Timer) -> Outcome:
    """Solve the model's convex program over the candidates and round to whole lots."""
    spec = plan.spec
    if spec.objective.kind == "fractional_kelly" and targets.market_cap:
        raise ConfigError(
            f"model {spec.name}: fractional Kelly scales every weight by "
            f"{spec.objective.fraction:g} and so breaks the market-cap bands' lower sides "
            "(shares of the budget); drop the market-cap targets or use objective kind = "
            '"kelly" or "rck"'
        )
    with timer.stage("allocation: build"):
        data = engine_candidates(book.table, book.pnl, book.probabilities)
        allocator = Allocator(
            objective=objective_term(spec),
            constraints=constraint_terms(plan, targets),
            capital=plan.capital,
            rounding=LotRounding(method="mip"),
            bands="upper_first",
            soft=soft_targets(spec, targets),
        )
    with timer.stage("allocation: solve + lots"):
        result = allocator.solve(data, limits=dict(plan.request.limits))
    rounding = result.rounding
    assert rounding is not None  # the allocator rounds
    before = {r.name: r.value for r in result.constraints}  # at the continuous optimum
    return Outcome(
        lots=rounding.lots.to_numpy(dtype=int),
        constraints=pd.DataFrame(
            [{**_row(r), "before_lots": before.get(r.name, r.value)} for r in rounding.constraints]
        ),
        solver=_solver_block(result, rounding),
    )


def _solver_block(result: AllocationResult, rounding: Rounding) -> dict[str, Any]:
    return {
        "name": result.solver,
        "status": result.status,
        "objective": result.objective_name,
        "objective_value": float(result.objective_value),
        "compile_seconds": float(result.compile_seconds),
        "solve_seconds": float(result.solve_seconds),
        "rounding": {
            "method": rounding.method,
            "status": rounding.status,
            "objective_value": float(rounding.objective_value),
            "objective_lost": float(rounding.objective_lost),
            "seconds": float(rounding.seconds),
        },
    }


def _row(r: ConstraintRow) -> dict[str, Any]:
    keys = ("name", "limit", "value", "binding", "dual", "unit", "lower", "upper")
    return {k: getattr(r, k) for k in keys}


__all__ = ["Outcome", "allocate", "candidate_names", "constraint_terms", "engine_candidates"]
