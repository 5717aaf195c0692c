"""Fetch what the regime needs from a price provider (and a chain file) and classify it.

The one place that ties a :class:`~quantalloc.data.PriceProvider` to :func:`market_state`;
the ``regime`` command and the solve pipeline both call :func:`state_from_provider`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import pandas as pd

from quantalloc.data.base import PriceProvider
from quantalloc.data.chain_source import ChainSnapshot, ChainSource
from quantalloc.errors import DataError
from quantalloc.markets import get_market
from quantalloc.regime.config import RegimeConfig, load_regime_config
from quantalloc.regime.inputs import DateLike, resolve_as_of, to_timestamp
from quantalloc.regime.state import MarketState, market_state


def history_calendar_days(config: RegimeConfig) -> int:
    """Calendar days of history to fetch before the as-of date: the model's longest look-back
    in trading days, times 1.6 (about 365/252 plus room for holidays)."""
    return int(max(config.direction_rows, config.spike_lookback) * 1.6) + 10


def history_start(as_of: pd.Timestamp | None, config: RegimeConfig) -> pd.Timestamp | None:
    """First date to fetch for a decision on ``as_of`` (None: the provider's whole history)."""
    if as_of is None:
        return None
    return as_of.normalize() - pd.Timedelta(days=history_calendar_days(config))


def _fetch_index(
    provider: PriceProvider,
    symbol: str,
    as_of: pd.Timestamp | None,
    end: pd.Timestamp | None,
    config: RegimeConfig,
) -> pd.DataFrame:
    """The index history for ``as_of``; when the window is empty, say where the data lies."""
    try:
        return provider.history(symbol, history_start(as_of, config), end)
    except DataError:
        if as_of is None:
            raise
        try:
            whole = provider.history(symbol)
        except DataError:
            whole = None
        if whole is not None and len(whole):
            resolve_as_of(pd.DatetimeIndex(whole.index), as_of, f"{symbol} prices")
        raise


VIX_SOURCES = ("series", "chain", "auto")
SERIES_MAX_AGE_DAYS = 5
"""A vol-index series covers an as-of date when it has a reading at most this many days before."""


def series_covers(vol: pd.DataFrame | None, day: pd.Timestamp) -> bool:
    if vol is None or vol.empty:
        return False
    last = pd.Timestamp(vol.index[vol.index <= day + pd.Timedelta(days=1)][-1:].max())
    return not pd.isna(last) and (day.normalize() - last.normalize()).days <= SERIES_MAX_AGE_DAYS


def index_chain(
    chains: ChainSource, market: str, as_of: DateLike, index_symbol: str | None = None
) -> ChainSnapshot:
    """The index's chain in ``chains``: the index symbol's, else the market's volatility index
    underlying (NIFTY, SPX); the last DataError when none is there."""
    profile = get_market(market)
    names = [index_symbol or profile.index_symbol, *profile.chain_symbols]
    error: DataError | None = None
    for name in dict.fromkeys(names):
        try:
            return chains.chain(name, as_of)
        except DataError as exc:
            error = exc
    assert error is not None
    raise error


def chain_vol_index(
    chains: ChainSource, market: str, as_of: DateLike, index_symbol: str | None = None
) -> tuple[float, str]:
    """The 30-day vol index computed from the index chain on ``as_of``, and a sentence saying so."""
    from quantalloc.regime.vol_index import vol_index_from_chain

    profile = get_market(market)
    day = to_timestamp(as_of, "as-of date").normalize()
    names = [*profile.chain_symbols, index_symbol or profile.index_symbol]
    error: DataError | None = None
    for name in dict.fromkeys(names):
        try:
            snap = chains.chain(name, day)
            index = vol_index_from_chain(snap.frame, snap.session, profile.risk_free_rate, market)
        except DataError as exc:
            error = exc
            continue
        origin = f"computed from the {snap.symbol} chain of {snap.session.date()}"
        return index.level, f"{origin} ({index.describe()})"
    assert error is not None
    raise DataError(
        f"cannot compute the vol index from {chains.name} on {day.date()}: {error}",
        params=error.params,
    ) from error


def state_from_provider(
    provider: PriceProvider,
    market: str = "in",
    as_of: DateLike | None = None,
    *,
    chain_path: str | Path | None = None,
    chains: ChainSource | None = None,
    vix: float | None = None,
    vix_source: str = "auto",
    index_symbol: str | None = None,
    config: RegimeConfig | None = None,
) -> MarketState:
    """Read the market's index and vol index from ``provider`` and classify ``as_of``.

    Without ``as_of`` the provider's latest data decides (and the last three years are used).
    The options flow reads ``chain_path`` (one file) or the index chain of ``chains``; a
    ``chains`` source without the index chain leaves the flow missing, with a note.

    ``vix_source`` picks the vol-index level: ``series`` (the provider's history; a DataError
    when it has no reading within 5 days before as-of), ``chain`` (computed from the index
    chain of ``chains`` by Cboe's method) or ``auto`` (the series when it covers the date, else
    the chain when ``chains`` is given). The series' history still gives the percentile and
    moving averages where it reaches; otherwise the regime is read from the level alone. A
    ``vix`` typed by hand overrides all of them.
    """
    if vix_source not in VIX_SOURCES:
        raise DataError(
            f"`vix_source` {vix_source!r} is unknown; use one of {', '.join(VIX_SOURCES)}",
            params="vix_source",
        )
    if vix_source == "chain" and chains is None and vix is None:
        raise DataError(
            "`vix_source=chain` needs `chains`: a folder of chain files, yahoo or store",
            params=("vix_source", "chains"),
        )
    profile = get_market(market)
    symbol = index_symbol or profile.index_symbol
    as_of_ts = None if as_of is None else to_timestamp(as_of, "as-of date")
    end = None if as_of_ts is None else as_of_ts.normalize() + pd.Timedelta(days=1)
    cfg = config or load_regime_config()
    prices = _fetch_index(provider, symbol, as_of_ts, end, cfg)
    if as_of_ts is None:
        start = prices.index[-1].normalize() - pd.Timedelta(days=history_calendar_days(cfg))
        prices = prices.loc[prices.index >= start]
    day = prices.index[prices.index < (end or prices.index[-1] + pd.Timedelta(days=1))][-1]
    day = pd.Timestamp(day).normalize()
    vol: pd.DataFrame | None
    vol_error: DataError | None = None
    try:
        vol = provider.history(profile.vol_index_symbol, prices.index[0], end)
    except DataError as exc:
        vol, vol_error = None, exc
    covered = series_covers(vol, day)
    origin: str | None = None
    notes: list[str] = []
    if vix is None:
        if vix_source == "chain" or (vix_source == "auto" and not covered and chains is not None):
            assert chains is not None
            vix, origin = chain_vol_index(chains, profile.name, day, index_symbol)
        elif vol is None:
            raise DataError(
                f"{vol_error}; give a `vix` level, or `chains` to compute it from the index chain",
                params=("vix", "chains", *(vol_error.params if vol_error else ())),
            )
        elif not covered:
            raise DataError(
                f"{profile.vol_index_symbol} has no reading within {SERIES_MAX_AGE_DAYS} days "
                f"before {day.date()} (the last is {vol.index[-1].date()}); give `chains` to "
                "compute it from the index chain, or a `vix` level",
                params=("chains", "vix"),
            )
    for first, last, weekdays in prices.attrs.get("gaps", ()):
        notes.append(
            f"{symbol} prices have no rows {first} .. {last} ({weekdays} weekdays): not filled, "
            "the indicators read across the gap"
        )
    if origin is not None and not covered:
        notes.append(
            f"{profile.vol_index_symbol} series does not reach {day.date()}: its history is not "
            "used"
        )
        vol = None
    chain = None
    if chain_path is not None:
        from quantalloc.data.chains import load_chain

        chain = load_chain(chain_path)
    elif chains is not None:
        try:
            chain = index_chain(chains, profile.name, day, index_symbol).frame
        except DataError as exc:
            notes.append(f"options flow: {exc}")
    state = market_state(
        prices,
        vol,
        chain,
        as_of_ts,
        market=profile.name,
        config=cfg,
        vix=vix,
        index_name=f"{symbol} prices",
        vol_name=profile.vol_index_symbol,
        vix_origin=origin,
    )
    if notes:
        state = dataclasses.replace(state, notes=(*state.notes, *notes))
    return state


def _file_stamp(path: Path | None) -> list[Any] | None:
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return [str(path), None]
    return [str(path.resolve()), st.st_size, st.st_mtime_ns]


def input_fingerprint(
    provider: PriceProvider,
    market: str,
    as_of: str | None,
    *,
    chain_path: str | Path | None,
    vix: float | None,
    index_symbol: str | None,
    config_path: Path,
    chains: ChainSource | None = None,
    vix_source: str = "auto",
) -> dict[str, Any]:
    """Everything a cached result depends on, without fetching any prices.

    File-backed sources (those with ``path_of``) add the size and modification time of the two
    files read, so editing the data invalidates the entry; other sources rely on the cache's
    time-to-live. The model file enters by content hash.
    """
    from quantalloc.version import __version__

    profile = get_market(market)
    symbol = index_symbol or profile.index_symbol
    files: list[Any] = []
    path_of = getattr(provider, "path_of", None)
    if callable(path_of):
        for sym in (symbol, profile.vol_index_symbol):
            try:
                files.append(_file_stamp(Path(path_of(sym))))
            except Exception:  # a missing file fails later, with the provider's own message
                files.append([sym, None])
    return {
        "version": __version__,
        "source": provider.name,
        "market": profile.name,
        "index": symbol,
        "as_of": as_of or "latest",
        "chain": _file_stamp(Path(chain_path)) if chain_path is not None else None,
        "vix": vix,
        "chains": None if chains is None else [chains.name, [str(d) for d in chains.sessions()]],
        "vix_source": vix_source,
        "model": hashlib.sha256(config_path.read_bytes()).hexdigest(),
        "files": files,
    }


__all__ = [
    "VIX_SOURCES",
    "chain_vol_index",
    "history_calendar_days",
    "history_start",
    "index_chain",
    "input_fingerprint",
    "series_covers",
    "state_from_provider",
]
