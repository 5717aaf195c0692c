"""The market state's rules as the seeds apply them, in every model.

- **DTE window**: only expiries inside the state's ``[dte_min, dte_max]`` days are traded; when
  no listed expiry falls inside, the nearest one is used and the notes say so.
- **Avoided strategies**: never built, in the industry-first and the advanced model alike; the
  notes name what the avoid list removed.
- **IV preference** (``buy``, ``sell``, ``neutral``): a symbol's implied vol over its own
  forecast (EWMA, 21 sessions) reads *rich* above ``1 + iv_band`` and *cheap* below
  ``1 - iv_band``. A ``buy`` state sells premium (a candidate whose vega is below zero) only
  where implied is rich; a ``sell`` state buys premium (vega above zero) only where it is cheap;
  a ``neutral`` state sells nothing where implied is cheap and buys nothing where it is rich.
- **Long/short split** from the direction score ``d`` in [-1, 1]: LONG strategies at most
  ``(1 + d) / 2`` of the budget, SHORT at most ``(1 - d) / 2`` (50%/50% in a neutral market, as
  the seeds' Advanced Options Allocator prints it), labelled rows ``max_long`` and ``max_short``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import date

import numpy as np
import pandas as pd

from quantalloc.pipeline.chains import SymbolPricing
from quantalloc.pipeline.model import ModelSpec, normalize_strategy
from quantalloc.regime.config import StateRules


def window_expiries(
    options: Iterable[date], as_of: date, dte_min: int, dte_max: int, count: int
) -> tuple[list[date], list[str]]:
    """Up to ``count`` of ``options`` inside the DTE window (nearest first); when none is
    inside, the one nearest the window, with a note naming the rule that bent."""
    listed = sorted(set(options))
    inside = [e for e in listed if dte_min <= (e - as_of).days <= dte_max]
    if inside:
        return inside[:count], []
    if not listed:
        return [], [f"no expiry listed after {as_of}"]

    def gap(e: date) -> int:
        d = (e - as_of).days
        return dte_min - d if d < dte_min else d - dte_max

    nearest = min(listed, key=lambda e: (gap(e), e))
    note = (
        f"DTE window [{dte_min}, {dte_max}] days: no listed expiry inside on {as_of}; "
        f"the nearest, {nearest} ({(nearest - as_of).days} days), is used"
    )
    return [nearest], [note]


def window_fronts(
    sp: SymbolPricing, as_of: date, dte_min: int, dte_max: int, count: int
) -> tuple[SymbolPricing, list[str]]:
    """Each chain-priced symbol's front expiries: its listed ones inside the DTE window (the
    nearest one only when none is inside, named in the notes)."""
    fronts: dict[str, list[date]] = {}
    bent: list[str] = []
    for sym, book in sp.books.items():
        usable = [e for e in book.expiries() if (e - as_of).days >= 7]
        fronts[sym], notes = window_expiries(usable, as_of, dte_min, dte_max, count)
        bent += [f"{sym}: {n}" for n in notes]
    return dataclasses.replace(sp, fronts={**sp.fronts, **fronts}), bent


def avoided_note(
    spec: ModelSpec, industries: Iterable[tuple[str, str | None]], rules: StateRules
) -> list[str]:
    """A note naming the strategies the state's avoid list kept out of the mapping's choices
    (``industries`` as (position type, rating) pairs)."""
    avoid = {normalize_strategy(s) for s in rules.avoided}
    removed = sorted(
        {s for pos, rating in industries for s in spec.strategy_map.strategies_for(pos, rating)}
        & avoid
    )
    if not removed:
        return []
    return [f"state {rules.state} avoids {', '.join(removed)}: not built"]


def iv_check(
    table: pd.DataFrame, rules: StateRules, forecast: Mapping[str, float], band: float
) -> tuple[np.ndarray, str]:
    """Mask of candidates the IV preference allows, and the filter's label for the notes."""
    fc = table["symbol"].map(forecast).to_numpy(dtype=float)
    ratio = table["atm_vol"].to_numpy(dtype=float) / np.where(fc > 0, fc, np.nan)
    known = np.isfinite(ratio)
    rich = known & (ratio > 1.0 + band)
    cheap = known & (ratio < 1.0 - band)
    vega = table["vega"].to_numpy(dtype=float)
    sells, buys = vega < 0, vega > 0
    pref = rules.iv_preference
    if pref == "buy":
        ok, what = ~sells | rich, "selling premium where implied vol is not rich"
    elif pref == "sell":
        ok, what = ~buys | cheap, "buying premium where implied vol is not cheap"
    else:
        ok, what = ~(sells & cheap) & ~(buys & rich), "selling cheap or buying rich implied vol"
    median = float(np.nanmedian(ratio)) if known.any() else float("nan")
    label = (
        f"IV preference {pref!r} of {rules.state}: {what} (implied/forecast median "
        f"{median:.2f}, band +-{band:.0%})"
    )
    return ok, label


def vol_forecasts(closes: pd.DataFrame, symbols: Iterable[str]) -> dict[str, float]:
    """Each symbol's EWMA vol forecast over 21 sessions (annualised), from its closes."""
    from quantalloc.errors import DataError
    from quantalloc.options.forecast import forecast_last

    out: dict[str, float] = {}
    for s in symbols:
        try:
            out[s] = forecast_last(closes[s], "ewma")  # blank closes are dropped with the returns
        except (DataError, IndexError):
            out[s] = float("nan")
    return out


def long_short_caps(direction_score: float) -> tuple[float, float]:
    """Shares of the budget LONG and SHORT strategies may hold, from the direction score."""
    d = float(np.clip(direction_score, -1.0, 1.0))
    return (1.0 + d) / 2.0, (1.0 - d) / 2.0


__all__ = [
    "avoided_note",
    "iv_check",
    "long_short_caps",
    "vol_forecasts",
    "window_expiries",
    "window_fronts",
]
