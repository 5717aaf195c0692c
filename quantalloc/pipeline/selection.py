"""Option-strategy candidates for the priority industries' symbols.

Order of choices (the Industry-First framework):

1. **Priority industries**: the industry allocation table's industries with weight >=
   ``min_industry_weight``, largest first, at most ``max_industries``; each gets a target share of
   the options budget equal to its weight over the priority industries' total.
2. **Symbols**: the industry's F&O symbols in the universe, by ``stock_rankings`` score, then
   large caps first, at most ``max_symbols_per_industry``.
3. **Strategies**: the model's mapping for the industry's position type and rating, plus the
   market state's preferred strategies that point the same way, minus the state's avoided ones.
4. **Contracts**: each strategy at the monthly expiries nearest the state's DTE window and at
   each short-strike distance in ``otm``, priced by the options engine (see
   :mod:`quantalloc.pricing_bridge`).
5. **Filters**: the risk profile's minimum probability of profit (and the state's threshold, the
   larger of the two), maximum loss per trade, and one lot fitting inside the per-symbol cap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from quantalloc.data.expiries import monthly_expiry
from quantalloc.options.catalog import STRATEGIES, strategy_direction
from quantalloc.pipeline.model import IndustrySpec, ModelSpec, normalize_strategy


@dataclass(frozen=True, slots=True)
class PriorityIndustry:
    """An industry that gets options capital, with its target share of the budget."""

    industry: str
    sector: str
    position_type: str
    rating: str | None
    weight: float
    target: float


def priority_industries(
    allocations: pd.DataFrame, spec: IndustrySpec, max_industries: int | None = None
) -> list[PriorityIndustry]:
    """Industries by weight (>= ``min_industry_weight``), at most ``max_industries``.

    ``allocations`` is the cleaned ``industry_allocations_current`` table (``weight`` a fraction).
    """
    limit = max_industries if max_industries is not None else spec.max_industries
    rows = allocations.loc[allocations["weight"] >= spec.min_industry_weight - 1e-12]
    rows = rows.sort_values(["weight", "industry"], ascending=[False, True]).head(limit)
    total = float(rows["weight"].sum())
    out = []
    for r in rows.to_dict(orient="records"):
        rating = r.get("rating")
        sector = r.get("sector")
        weight = float(r["weight"])
        out.append(
            PriorityIndustry(
                industry=str(r["industry"]),
                sector="" if sector is None or pd.isna(sector) else str(sector),
                position_type=str(r["position_type"]),
                rating=None if rating is None or pd.isna(rating) else str(rating),
                weight=weight,
                target=weight / total if total > 0 else 0.0,
            )
        )
    return out


_CAP_ORDER = {"large": 0, "mid": 1, "small": 2, "micro": 3}


def industry_symbols(
    universe: pd.DataFrame,
    industry: str,
    available: Iterable[str],
    limit: int,
    scores: Mapping[str, float] | None = None,
) -> list[str]:
    """The industry's F&O symbols that have prices, at most ``limit``: by ``stock_rankings``
    score (highest first; unranked symbols after the ranked ones), then large caps first, then
    by name (the price data carries no traded volume to rank liquidity by)."""
    have, score = set(available), dict(scores or {})
    keys = []
    for symbol, ind, fno, cap in zip(
        universe["symbol"].tolist(),
        universe["industry"].tolist(),
        universe["fno_stock"].tolist(),
        universe["market_cap_category"].tolist(),
        strict=True,
    ):
        if ind == industry and fno and symbol in have:
            ranked = score.get(symbol)
            s = -np.inf if ranked is None or pd.isna(ranked) else float(ranked)
            order = _CAP_ORDER.get(str(cap).lower(), 9) if isinstance(cap, str) else 9
            keys.append((-s, order, str(symbol)))
    return [symbol for _, _, symbol in sorted(keys)[: max(limit, 0)]]


def allowed_strategies(
    model: ModelSpec,
    position_type: str,
    rating: str | None,
    preferred: Iterable[str] = (),
    avoided: Iterable[str] = (),
) -> tuple[str, ...]:
    """Strategies for an industry: the mapping's, plus same-direction preferred, minus avoided."""
    avoid = {normalize_strategy(s) for s in avoided}
    mapped = list(model.strategy_map.strategies_for(position_type, rating))
    pos = position_type.upper()
    for s in preferred:
        name = normalize_strategy(s)
        if name in STRATEGIES and strategy_direction(name) == pos and name not in mapped:
            mapped.append(name)
    return tuple(s for s in mapped if s not in avoid)


def choose_expiries(as_of: date, dte_min: int, dte_max: int, count: int, market: str) -> list[date]:
    """``count`` monthly expiries: those inside [dte_min, dte_max] days, then the nearest outside.

    Expiries closer than 7 days are never chosen (too little time for the trade to work).
    """
    options: list[date] = []
    y, m = as_of.year, as_of.month
    for _ in range(8):
        exp = monthly_expiry(y, m, market)
        if (exp - as_of).days >= 7:
            options.append(exp)
        m += 1
        if m > 12:
            y, m = y + 1, 1
    mid = (dte_min + dte_max) / 2

    def rank(e: date) -> tuple[int, float]:
        d = (e - as_of).days
        inside = dte_min <= d <= dte_max
        return (0 if inside else 1, abs(d - mid))

    return sorted(sorted(options, key=rank)[:count])


__all__ = [
    "PriorityIndustry",
    "allowed_strategies",
    "choose_expiries",
    "industry_symbols",
    "monthly_expiry",
    "priority_industries",
]
