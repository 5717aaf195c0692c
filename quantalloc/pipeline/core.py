"""``solve()``: data -> regime -> candidates -> scenarios -> allocation -> lots -> result."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.errors import ConfigError, DataError
from quantalloc.markets import get_market
from quantalloc.modelspec import ModelSpec, load_model
from quantalloc.pipeline.inputs import (
    MarketInputs,
    clean_allocations,
    clean_universe,
    load_histories,
    resolve_table,
)
from quantalloc.pipeline.result import SolveResult

Progress = Callable[[str, int, int], None]
MIN_SYMBOL_HISTORY = 126  # half a year of closes: less cannot inform the joint scenarios


class Timer:
    """Seconds spent per stage, in order."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - start


def solve(
    *,
    risk: str = "moderate",
    model: str | ModelSpec = "industry_first",
    market: str | None = None,
    capital: float | None = None,
    vix: float | None = None,
    as_of: str | pd.Timestamp | None = None,
    data: str | Any = "auto",
    tables: Mapping[str, pd.DataFrame] | None = None,
    symbol: str | None = None,
    max_industries: int | None = None,
    n_scenarios: int | None = None,
    seed: int | None = None,
    store: str | None = None,
    limits: Mapping[str, Any] | None = None,
    chain: str | pd.DataFrame | None = None,
    progress: Progress | None = None,
) -> SolveResult:
    """Run the whole allocation and return a frozen :class:`SolveResult`.

    Parameters
    ----------
    risk
        ``conservative``, ``moderate`` or ``aggressive``: selects the model's profile.
    model
        A model name in ``models/`` (``industry_first``, ``advanced``), a path to a .toml file,
        or a :class:`~quantalloc.modelspec.ModelSpec`.
    market
        ``in`` or ``us`` (default ``in``).
    capital
        Total capital in the market's currency (default: the market's default capital).
    vix
        Override of the volatility index level on the as-of date.
    as_of
        Decide with the data known at this date (default: the last date all symbols trade).
    data
        A source string (``auto``, ``demo``, ``yahoo``, ``csv:DIR``) or a price provider.
    tables
        Input tables by name (``stock_data``, ``industry_allocations_current``, ``strategies``);
        missing ones come from ``store`` (when given) or the demo provider.
    symbol
        Analyse one symbol in its industry context.
    max_industries
        At most this many priority industries (default: the model's).
    n_scenarios, seed
        Override the model's scenario count and seed.
    store
        Store URL to read missing input tables from.
    limits
        Overrides of named constraint limits (``{"max_industry": 0.2}``), passed to the engine.
    chain
        The index's option chain (a file path or canonical frame) for the regime's options-flow
        score and put-call ratio; without one that part is marked missing.
    """
    from quantalloc.pipeline.build import run_allocation

    timer = Timer()
    with timer.stage("setup"):
        spec = model if isinstance(model, ModelSpec) else load_model(model)
        profile = spec.profile(risk)
        mkt = get_market(market)
        cap = float(capital if capital is not None else mkt.default_capital)
        if not np.isfinite(cap) or cap <= 0:
            raise ConfigError(
                f"`capital` must be a positive amount, got {capital}", params="capital"
            )
        if vix is not None and not (np.isfinite(vix) and vix > 0):
            raise ConfigError(
                f"`vix` must be a positive level (e.g. `vix=18.5`), got {vix}", params="vix"
            )
        provider = _provider(data, mkt.name)
        auto = isinstance(data, str) and data.strip().lower() == "auto"
        if auto and not hasattr(provider, "universe") and not _has_tables(tables, store):
            # auto picked a real source (yahoo) but nothing says what to trade: use the demo
            provider = _provider("demo", mkt.name)
        if isinstance(chain, str):
            from quantalloc.data import load_chain

            chain = load_chain(chain)
        if tables:
            from quantalloc.data.tables import validate_table

            tables = {k: validate_table(k, v, source=f"tables[{k!r}]") for k, v in tables.items()}
    with timer.stage("load data"):
        inputs = load_inputs(
            provider,
            mkt,
            spec,
            tables=tables or {},
            store=store,
            as_of=as_of,
            symbol=symbol,
            max_industries=max_industries,
            progress=progress,
        )
    return run_allocation(
        spec=spec,
        profile=profile,
        market=mkt,
        capital=cap,
        vix=vix,
        inputs=inputs,
        symbol=symbol,
        max_industries=max_industries,
        n_scenarios=n_scenarios,
        seed=seed,
        limits=limits,
        timer=timer,
        run_id=uuid.uuid4().hex,
        chain=chain,
        progress=progress,
    )


def _has_tables(tables: Mapping[str, pd.DataFrame] | None, store: str | None) -> bool:
    given = set(tables or {})
    return store is not None or {"stock_data", "industry_allocations_current"} <= given


def _provider(data: str | Any, market: str) -> Any:
    if not isinstance(data, str):
        return data
    from quantalloc.data import get_provider

    return get_provider(data, market)


def load_inputs(
    provider: Any,
    mkt: Any,
    spec: ModelSpec,
    *,
    tables: Mapping[str, pd.DataFrame],
    store: str | None,
    as_of: str | pd.Timestamp | None,
    symbol: str | None,
    max_industries: int | None,
    progress: Progress | None = None,
) -> MarketInputs:
    """Tables, universe and price histories (index, vol index, candidate symbols) up to as-of."""
    from quantalloc.candidates import industry_symbols, priority_industries

    reader = None
    if store is not None:
        from quantalloc.storage import open_store

        reader = open_store(store).read_table
    notes: list[str] = []
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
    universe = clean_universe(uni_raw)
    allocations = clean_allocations(alloc_raw)
    notes.append(f"tables: stock_data from {uni_src}, industry allocations from {alloc_src}")

    as_of_ts = None if as_of is None else _timestamp(as_of)
    index = provider.history(mkt.index_symbol, None, as_of_ts)
    try:
        vol_index = provider.history(mkt.vol_index_symbol, None, as_of_ts)
    except DataError as exc:
        raise DataError(
            f"{exc}; the regime needs the volatility index {mkt.vol_index_symbol} (or pass `vix` "
            "with a source that has it)",
            params=(*exc.params, "vix"),
        ) from exc
    end = as_of_ts if as_of_ts is not None else pd.Timestamp(index.index[-1]).normalize()

    # the symbols a solve may touch: priority industries' F&O names (or the one --symbol)
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
        for ind in priority_industries(allocations, spec.industries, max_industries):
            wanted += industry_symbols(
                universe, ind.industry, listed, spec.industries.max_symbols_per_industry
            )
    if not wanted:
        raise DataError(
            "no symbol to trade: no priority industry has an F&O symbol with prices "
            f"(industries {allocations['industry'].head(5).tolist()}); check that stock_data "
            "and industry_allocations_current use the same industry names"
        )
    lookback = spec.scenarios.lookback_days

    def tick(sym: str) -> None:
        if progress is not None:
            tick.done += 1  # type: ignore[attr-defined]
            progress("loading prices", tick.done, len(wanted))  # type: ignore[attr-defined]

    tick.done = 0  # type: ignore[attr-defined]
    closes, skipped = load_histories(provider, wanted, end, lookback, tick)
    if skipped:
        notes.append(f"no price data for {len(skipped)} symbols, skipped: {', '.join(skipped[:8])}")
    if as_of_ts is None:
        common = closes.dropna(how="any")
        if common.empty:
            raise DataError("the symbols' price histories share no date; check the data")
        end = min(end, pd.Timestamp(common.index[-1]).normalize())
    closes = closes.loc[closes.index <= end]
    window = closes.iloc[-lookback:]
    short = [str(c) for c in closes.columns if window[c].notna().sum() < MIN_SYMBOL_HISTORY]
    if short and len(short) < closes.shape[1]:
        notes.append(
            f"fewer than {MIN_SYMBOL_HISTORY} closes before {end.date()} for "
            f"{', '.join(short[:8])}: left out (the joint scenarios need a common history)"
        )
        closes = closes.drop(columns=short)
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
        option_chains=option_chains,
    )


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


__all__ = ["Timer", "load_inputs", "solve"]
