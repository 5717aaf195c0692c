"""What a solve reads: input tables, the universe, and price histories up to the as-of date."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.data.base import PriceProvider
from quantalloc.errors import DataError
from quantalloc.markets import MarketProfile

log = logging.getLogger(__name__)

UNIVERSE_COLUMNS = ("symbol", "industry", "sector", "fno_stock", "lot_size", "market_cap_category")


@dataclass(frozen=True)
class MarketInputs:
    """Everything a solve reads from the outside world, cut at ``as_of``."""

    provider_name: str
    synthetic: bool
    as_of: pd.Timestamp
    universe: pd.DataFrame
    allocations: pd.DataFrame
    strategies: pd.DataFrame | None
    closes: pd.DataFrame
    index_prices: pd.DataFrame
    vol_index: pd.DataFrame
    notes: tuple[str, ...] = ()
    option_chains: pd.DataFrame | None = None
    skipped: tuple[tuple[str, str], ...] = ()
    """Symbols the solve wanted but could not read, each with the reason."""
    holdings: pd.DataFrame | None = None
    """The ``holdings`` table (stocks and options already held), when given."""

    @property
    def symbols(self) -> list[str]:
        """Symbols with price history, in universe order."""
        return [str(c) for c in self.closes.columns]

    def lot_sizes(self) -> dict[str, int]:
        """Lot size per symbol from the universe table (where it has one)."""
        if "lot_size" not in self.universe.columns:
            return {}
        sizes = pd.to_numeric(self.universe["lot_size"], errors="coerce").astype("float64")
        return {
            str(s): int(v)
            for s, v in zip(self.universe["symbol"], sizes.to_numpy(), strict=True)
            if np.isfinite(v) and v > 0
        }


TableSource = Callable[[str], pd.DataFrame | None]


def resolve_table(
    name: str,
    given: Mapping[str, pd.DataFrame],
    store_reader: TableSource | None,
    provider: Any,
) -> tuple[pd.DataFrame | None, str]:
    """Table ``name`` from ``--table``, else the store, else the demo provider; with its origin."""
    if name in given:  # a caller may say where a given table came from (frame.attrs)
        return given[name], str(given[name].attrs.get("origin", "--table"))
    if store_reader is not None:  # a store that cannot be read is an error, never skipped
        frame = store_reader(name)
        if frame is not None and len(frame):
            return frame, "store"
    method = {"stock_data": "universe", "industry_allocations_current": "industry_allocations"}.get(
        name
    )
    if method and hasattr(provider, method):
        return getattr(provider, method)(), provider.name
    return None, ""


def clean_universe(frame: pd.DataFrame) -> pd.DataFrame:
    """The ``stock_data`` table with the columns a solve needs (missing optional ones filled)."""
    cols = {str(c).strip().lower(): c for c in frame.columns}
    if "symbol" not in cols or "industry" not in cols:
        raise DataError(
            f"stock_data needs columns symbol and industry (found {list(frame.columns)}); "
            "fix the table"
        )
    out = frame.rename(columns={v: k for k, v in cols.items()}).copy()
    out["symbol"] = out["symbol"].astype(str).str.strip()
    out["industry"] = out["industry"].astype(str).str.strip()
    if "sector" not in out:
        out["sector"] = out["industry"]
    out["sector"] = out["sector"].fillna(out["industry"]).astype(str)
    if "fno_stock" not in out:
        out["fno_stock"] = True
    out["fno_stock"] = out["fno_stock"].map(_truthy)
    if "market_cap_category" not in out:
        out["market_cap_category"] = "Large"
    out["market_cap_category"] = out["market_cap_category"].fillna("Large").astype(str)
    if "lot_size" not in out:
        out["lot_size"] = np.nan
    out = out.drop_duplicates("symbol", keep="first").reset_index(drop=True)
    return out.loc[:, [*UNIVERSE_COLUMNS, *[c for c in out.columns if c not in UNIVERSE_COLUMNS]]]


def clean_allocations(frame: pd.DataFrame) -> pd.DataFrame:
    """The ``industry_allocations_current`` table, normalised: weight as a fraction, types upper."""
    cols = {str(c).strip().lower(): c for c in frame.columns}
    need = ("industry", "position_type", "weight_percentage")
    missing = [c for c in need if c not in cols]
    if missing:
        raise DataError(
            f"industry_allocations_current lacks columns {missing} (found {list(frame.columns)}); "
            "fix the table"
        )
    out = frame.rename(columns={v: k for k, v in cols.items()}).copy()
    out["industry"] = out["industry"].astype(str).str.strip()
    out["position_type"] = out["position_type"].astype(str).str.strip().str.upper()
    bad = sorted(set(out["position_type"]) - {"LONG", "SHORT", "NEUTRAL"})
    if bad:
        raise DataError(
            f"industry_allocations_current: unknown position_type {bad[0]!r}; "
            "use LONG, SHORT or NEUTRAL"
        )
    weight = pd.to_numeric(out["weight_percentage"], errors="coerce")
    if weight.isna().any() or (weight < 0).any():
        row = int(np.flatnonzero(weight.isna() | (weight < 0))[0])
        raise DataError(
            f"industry_allocations_current: weight_percentage of {out['industry'].iloc[row]!r} "
            f"is {out['weight_percentage'].iloc[row]!r}; give a number >= 0"
        )
    out["weight"] = weight / 100.0
    if "rating" not in out:
        out["rating"] = None
    if "sector" not in out:
        out["sector"] = None
    return out


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y", "t")
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return True
    return bool(value)


def load_histories(
    provider: PriceProvider,
    symbols: list[str],
    as_of: pd.Timestamp | None,
    lookback_days: int,
    progress: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Close prices of ``symbols`` up to ``as_of`` (columns), and the symbols that had no data
    (with the reason)."""
    start = None if as_of is None else as_of - pd.Timedelta(days=int(lookback_days * 1.6) + 30)
    closes: dict[str, pd.Series] = {}
    skipped: dict[str, str] = {}
    for sym in symbols:
        if progress:
            progress(sym)
        try:
            frame = require_daily(provider.history(sym, start, as_of), sym, provider.name)
        except DataError as exc:
            log.info("skipping %s: %s", sym, exc)
            skipped[sym] = str(exc)
            continue
        closes[sym] = frame["close"]
    if not closes:
        raise DataError(
            f"none of the {len(symbols)} universe symbols has price data in {provider.name} "
            f"(first: {symbols[:3]}); check `data` and the stock_data table",
            params="data",
        )
    return pd.DataFrame(closes).sort_index(), skipped


NS_PER_DAY = 86_400_000_000_000


def require_daily(frame: pd.DataFrame, symbol: str, source: str) -> pd.DataFrame:
    """``frame`` when it holds one bar per day; a DataError when it holds intraday bars."""
    stamps = pd.DatetimeIndex(frame.index)
    if stamps.tz is None:  # whole days on the integer stamps: 10x faster than normalize()
        whole = stamps.as_unit("ns").asi8 // NS_PER_DAY
        repeated = (
            bool((np.diff(whole) == 0).any())
            if stamps.is_monotonic_increasing
            else (np.unique(whole).size < whole.size)
        )
    else:
        repeated = stamps.normalize().has_duplicates
    if repeated:
        days = stamps.normalize()
        per_day = int(pd.Series(days).value_counts().max())
        raise DataError(
            f"{symbol}: {source} serves intraday bars (up to {per_day} a day); a solve reads "
            "daily closes: point `data` at a folder of daily files",
            params="data",
        )
    return frame


def default_as_of(provider: PriceProvider, market: MarketProfile) -> pd.Timestamp:
    """The last date of the market index in ``provider`` (the data's 'today')."""
    frame = provider.history(market.index_symbol)
    return pd.Timestamp(frame.index[-1]).normalize()


__all__ = [
    "MarketInputs",
    "clean_allocations",
    "clean_universe",
    "default_as_of",
    "load_histories",
    "require_daily",
    "resolve_table",
]
