"""What the allocation aims at and rules out: industry targets as shares of the deployed
capital, the advanced model's market-cap buckets, the negative-edge rule's candidates, and
these with the holdings and the long/short split as the engine's terms."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from quantalloc.allocation import (
    CandidateBounds,
    GroupTarget,
    LinearConstraint,
    LongShortSplit,
    PositionRules,
    ShareTarget,
)
from quantalloc.pipeline.model import ModelSpec
from quantalloc.pipeline.records import ScenarioBook, Targets
from quantalloc.pipeline.request import Plan
from quantalloc.pipeline.selection import PriorityIndustry
from quantalloc.regime.state import MarketState


def industry_targets(
    plan: Plan, industries: list[PriorityIndustry], table: pd.DataFrame, notes: list[str]
) -> dict[str, float]:
    """Industry targets as shares of the deployed options capital: each priority industry's
    weight over the total weight of the priority industries that can be deployed.

    Industries without any candidate are dropped, and so are those whose every candidate
    expects a loss (a share of them would tie each winning position to losing ones; the
    negative-edge rule then keeps them at zero). Both are named in the notes; the others'
    shares are rescaled to sum to 1, since shares of the deployed capital always do.
    """
    if plan.request.symbol is not None or not plan.spec.industries.enforce_targets:
        return {}
    present = set(table["industry"])
    earning = set(table.loc[table["expected_pnl"] > 0, "industry"])
    kept = [i for i in industries if i.industry in earning and i.target > 0]
    lost = [i.industry for i in industries if i.industry not in present]
    losing = [i.industry for i in industries if i.industry in present - earning]
    if lost:
        notes.append(f"no candidate for industries {', '.join(lost)}; their targets are dropped")
    if losing:
        notes.append(
            f"every candidate of industries {', '.join(losing)} expects a loss over the "
            "scenarios; their targets are dropped (negative_edge)"
        )
    total = sum(i.target for i in kept)
    return {i.industry: i.target / total for i in kept} if total > 0 else {}


def cap_targets(
    plan: Plan, state: MarketState, table: pd.DataFrame, notes: list[str]
) -> dict[str, float]:
    """Market-cap bucket targets of the advanced model (by direction and VIX), where held."""
    advanced = plan.spec.advanced
    if advanced is None or plan.request.symbol is not None:
        return {}
    shares = advanced.cap_targets(str(state.direction), state.vol.level)
    present = set(table["market_cap"])
    lost = [b for b, v in shares.items() if v > 0 and b not in present]
    if lost:
        notes.append(f"no candidate in market-cap buckets {', '.join(lost)}; their share is free")
    return {b: v for b, v in shares.items() if b in present and v > 0}


def losing_candidates(
    book: ScenarioBook, forced: Collection[int], targeted: Collection[str], notes: list[str]
) -> list[int]:
    """Candidates whose expected P&L per lot over the scenarios is below zero, kept at 0 lots
    (the negative-edge rule) unless a named rule may force them: the holdings rule's covered
    calls (``forced``) and the industry targets (candidates of a ``targeted`` industry, which
    its share band may need; such a position names the target in ``forced_by``)."""
    expected = book.table["expected_pnl"].to_numpy(dtype=float)
    industry = book.table["industry"].astype(str).to_numpy()
    losing = [
        int(i)
        for i in np.flatnonzero(expected < 0.0)
        if int(i) not in forced and industry[i] not in targeted
    ]
    if losing:
        notes.append(
            f"{len(losing)} of {len(expected)} candidates kept at 0 lots: expected P&L per lot "
            "< 0 over the scenarios, outside the industries with a target (negative_edge)"
        )
    return losing


def target_terms(spec: ModelSpec, targets: Targets) -> list[LinearConstraint]:
    """The engine's terms for the targets and the state's and holdings' rules: held shares'
    stock legs and negative-edge candidates at zero, the long/short split, the industry shares
    of the deployed capital and the market-cap buckets (both soft: :func:`soft_targets`)."""
    terms: list[LinearConstraint] = []
    if targets.blocked:  # held shares replace the stock leg: never buy it in the budget
        terms.append(
            CandidateBounds(upper=dict.fromkeys(targets.blocked, 0.0), name="holdings_cover")
        )
    if targets.losing:  # nothing is held at a loss in expectation
        terms.append(
            CandidateBounds(upper=dict.fromkeys(targets.losing, 0.0), name="negative_edge")
        )
    if targets.long_short is not None:
        max_long, max_short = targets.long_short
        terms.append(LongShortSplit(max_long=max_long, max_short=max_short, unit="budget"))
    if targets.industry:
        tolerance = spec.industries.target_tolerance
        shares = dict(targets.industry)
        terms.append(
            ShareTarget(
                by="industry", targets=shares, tolerance=tolerance, unit="budget", name="target"
            )
        )
    if targets.market_cap:
        tolerance = spec.advanced.cap_tolerance if spec.advanced else 0.1
        shares = dict(targets.market_cap)
        terms.append(
            GroupTarget(
                by="market_cap",
                targets=shares,
                tolerance=tolerance,
                unit="budget",
                name="cap_bucket",
            )
        )
    return terms


def soft_targets(spec: ModelSpec, targets: Targets) -> dict[str, float] | None:
    """Industry and market-cap bands are soft: a deviation costs ``target_penalty`` per unit
    of capital outside the band, so targets alone never make a run infeasible."""
    soft = {}
    if targets.industry:
        soft["target"] = spec.industries.target_penalty
    if targets.market_cap:
        soft["cap_bucket"] = spec.industries.target_penalty
    return soft or None


def position_rules(plan: Plan) -> PositionRules:
    """The model's ``[positions]`` for this market, as fractions of the capital."""
    spec, market = plan.spec.positions, plan.market.name
    return PositionRules(
        min_lots=spec.min_lots,
        min_capital=spec.min_capital.get(market, 0.0) / plan.capital,
        fixed_cost=spec.fixed_cost.get(market, 0.0) / plan.capital,
    )


__all__ = [
    "cap_targets",
    "industry_targets",
    "losing_candidates",
    "position_rules",
    "soft_targets",
    "target_terms",
]
