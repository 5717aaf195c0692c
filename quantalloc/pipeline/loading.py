"""Load what a solve reads: the input tables, the symbols it may trade, their prices to as-of."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from quantalloc.data.base import PriceProvider
from quantalloc.errors import ConfigError, DataError
from quantalloc.pipeline.inputs import (
    MarketInputs,
    clean_allocations,
    clean_universe,
    load_histories,
    require_daily,
    resolve_table,
)
from quantalloc.pipeline.request import Plan
from quantalloc.pipeline.selection import industry_symbols, priority_industries

Progress = Callable[[str, int, int], None]
MIN_SYMBOL_HISTORY = 126  # half a year of closes: less cannot inform the joint scenarios
STALE_CLOSE_DAYS = 7  # a symbol whose last close is older than this before as-of is left out


def load_inputs(
    provider: PriceProvider,
    plan: Plan,
    tables: Mapping[str, pd.DataFrame],
    progress: Progress | None = None,
) -> MarketInputs:
    """Tables, universe and price histories (index, vol index, candidate symbols) up to as-of."""
    request, mkt = plan.request, plan.market
    universe, allocations, strategies, chains, notes = _tables(provider, tables, request.store)
    as_of_ts = None if request.as_of is None else _timestamp(request.as_of)
    index = require_daily(provider.history(mkt.index_symbol, None, as_of_ts), mkt.index_symbol,
                          provider.name)  # fmt: skip
    if as_of_ts is not None:  # a date after the data is named as such, before any symbol is read
        from quantalloc.regime.inputs import resolve_as_of

        resolve_as_of(pd.DatetimeIndex(index.index), as_of_ts, mkt.index_symbol)
    try:
        vol_index = provider.history(mkt.vol_index_symbol, None, as_of_ts)
    except DataError as exc:
        need = f"the regime needs the volatility index {mkt.vol_index_symbol}"
        raise exc.hinted(f"{exc}; {need} (or pass `vix` with a source that has it)", "vix") from exc
    end = as_of_ts if as_of_ts is not None else pd.Timestamp(index.index[-1]).normalize()
    unread: dict[str, str] = {}
    rankings = _optional(tables, request.store, provider, "stock_rankings")
    scores = (
        dict(zip(rankings["symbol"].astype(str), rankings["score"].astype(float), strict=False))
        if rankings is not None
        else None
    )
    wanted = _wanted(provider, plan, universe, allocations, strategies, unread, scores)
    holdings = _optional(tables, request.store, provider, "holdings")
    if holdings is not None:  # held symbols are priced too: their risk counts
        wanted += [s for s in pd.unique(holdings["symbol"].astype(str)) if s not in wanted]
    closes, end = _closes(provider, plan, wanted, end, as_of_ts is None, notes, progress, unread)
    return MarketInputs(
        provider_name=str(getattr(provider, "name", "data")),
        synthetic=bool(getattr(provider, "synthetic", False)),
        as_of=end,
        universe=universe,
        allocations=allocations,
        strategies=strategies,
        closes=closes,
        index_prices=index.loc[index.index <= end],
        vol_index=vol_index.loc[vol_index.index <= end],
        notes=tuple(notes),
        option_chains=chains,
        skipped=tuple(unread.items()),
        holdings=holdings,
    )


def _optional(
    tables: Mapping[str, pd.DataFrame], store: str | None, provider: PriceProvider, name: str
) -> pd.DataFrame | None:
    """Table ``name`` from ``tables`` or the store (None when neither has rows)."""
    reader = None
    if store is not None and name not in tables:
        from quantalloc.storage import open_store

        reader = open_store(store).read_table
    frame, _ = resolve_table(name, tables, reader, provider)
    return frame if frame is not None and len(frame) else None


def _tables(
    provider: PriceProvider, tables: Mapping[str, pd.DataFrame], store: str | None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None, list[str]]:
    """Universe, industry allocations, scored strategies and option chains, and a note."""
    reader = None
    if store is not None:
        from quantalloc.storage import open_store

        reader = open_store(store).read_table
    uni_raw, uni_src = resolve_table("stock_data", tables, reader, provider)
    alloc_raw, alloc_src = resolve_table("industry_allocations_current", tables, reader, provider)
    strategies, _ = resolve_table("strategies", tables, reader, provider)
    option_chains, _ = resolve_table("option_chain_data", tables, reader, provider)
    if uni_raw is None:
        raise DataError(
            f"no stock_data table (symbol, industry, sector, fno_stock, lot_size, "
            f"market_cap_category) for data source {provider.name}; pass "
            "`tables['stock_data']` or `store=URL`",
            params=("tables", "store"),
        )
    if alloc_raw is None:
        raise DataError(
            "no industry_allocations_current table (industry, sector, position_type, "
            f"weight_percentage, rating) for data source {provider.name}; pass "
            "`tables['industry_allocations_current']` or `store=URL`",
            params=("tables", "store"),
        )
    note = f"tables: stock_data from {uni_src}, industry allocations from {alloc_src}"
    return clean_universe(uni_raw), clean_allocations(alloc_raw), strategies, option_chains, [note]


def _wanted(
    provider: PriceProvider,
    plan: Plan,
    universe: pd.DataFrame,
    allocations: pd.DataFrame,
    strategies: pd.DataFrame | None,
    unread: dict[str, str],
    scores: Mapping[str, float] | None = None,
) -> list[str]:
    """The symbols a solve may touch: priority industries' F&O names (or the one symbol).

    Those of the priority industries that the source does not serve go into ``unread``.
    """
    symbol, spec = plan.request.symbol, plan.spec
    if symbol is not None:
        row = universe.loc[universe["symbol"].str.upper() == symbol.strip().upper()]
        if row.empty:
            raise DataError(
                f"`symbol` {symbol!r} is not in the stock_data table ({len(universe)} symbols, "
                f"e.g. {', '.join(universe['symbol'].head(3))}); pick one of its symbols",
                params="symbol",
            )
        wanted = [str(row["symbol"].iloc[0])]
    elif spec.kind == "advanced" and strategies is not None and len(strategies):
        col = "stock_name" if "stock_name" in strategies.columns else "symbol"
        if col not in strategies.columns:
            raise DataError("strategies table needs a stock_name (or symbol) column; fix the table")
        names = strategies[col].astype(str)
        wanted = [s for s in pd.unique(names) if s in set(universe["symbol"])]
    else:
        listed = set(provider.symbols() or universe["symbol"])
        wanted = []
        for ind in priority_industries(allocations, spec.industries, plan.request.max_industries):
            wanted += industry_symbols(
                universe, ind.industry, listed, spec.industries.max_symbols_per_industry, scores
            )
            unlisted = industry_symbols(
                universe, ind.industry, set(universe["symbol"]) - listed, len(universe)
            )
            for sym in unlisted:  # in the table, but the source serves no prices for it
                unread[sym] = f"not among the symbols {provider.name} serves"
    if not wanted:
        raise DataError(
            "no symbol to trade: no priority industry has an F&O symbol with prices "
            f"(industries {allocations['industry'].head(5).tolist()}); check that stock_data "
            "and industry_allocations_current use the same industry names"
        )
    return wanted


def _closes(
    provider: PriceProvider,
    plan: Plan,
    wanted: list[str],
    end: pd.Timestamp,
    to_common_end: bool,
    notes: list[str],
    progress: Progress | None,
    unread: dict[str, str],
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Closes of the wanted symbols up to ``end`` (the last common date without an as-of)."""
    lookback = plan.spec.scenarios.lookback_days
    done = [0]

    def tick(sym: str) -> None:
        if progress is not None:
            done[0] += 1
            progress("loading prices", done[0], len(wanted))

    closes, skipped = load_histories(provider, wanted, end, lookback, tick)
    unread.update(skipped)
    if unread:  # named in a note and kept with the run (market.skipped_symbols)
        shown = ", ".join(list(unread)[:8]) + (
            f" (+{len(unread) - 8} more)" if len(unread) > 8 else ""
        )
        notes.append(f"no price data for {len(unread)} symbols, skipped: {shown}")
    if to_common_end:
        common = closes.dropna(how="any")
        if common.empty:
            raise DataError("the symbols' price histories share no date; check the data")
        end = min(end, pd.Timestamp(common.index[-1]).normalize())
    closes = closes.loc[closes.index <= end]
    last = {str(c): _last_date(closes[c]) for c in closes.columns}
    stale = [c for c, d in last.items() if d is None or (end - d).days > STALE_CLOSE_DAYS]
    if stale and len(stale) < closes.shape[1]:
        shown = ", ".join(f"{c} ({last[c] or 'none'})" for c in stale[:8])
        notes.append(
            f"no close within {STALE_CLOSE_DAYS} days before {end.date()} for {shown}: left out "
            "(a stale price is never passed on)"
        )
        closes = closes.drop(columns=stale)
    window = closes.iloc[-lookback:]
    short = [str(c) for c in closes.columns if window[c].notna().sum() < MIN_SYMBOL_HISTORY]
    if short and len(short) < closes.shape[1]:
        notes.append(
            f"fewer than {MIN_SYMBOL_HISTORY} closes before {end.date()} for "
            f"{', '.join(short[:8])}: left out (the joint scenarios need a common history)"
        )
        closes = closes.drop(columns=short)
    return closes, end


def _last_date(series: pd.Series) -> pd.Timestamp | None:
    valid = series.dropna()
    return None if valid.empty else pd.Timestamp(valid.index[-1]).normalize()


def _timestamp(value: str | pd.Timestamp) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"`as_of` {value!r} is not a date; write it as YYYY-MM-DD", params="as_of"
        ) from exc
    if ts is pd.NaT:
        raise ConfigError(
            f"`as_of` {value!r} is not a date; write it as YYYY-MM-DD", params="as_of"
        )
    return ts.normalize()


__all__ = ["MIN_SYMBOL_HISTORY", "STALE_CLOSE_DAYS", "load_inputs"]
