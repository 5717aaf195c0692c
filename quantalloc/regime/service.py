"""Fetch what the regime needs from a price provider (and a chain file) and classify it.

The one place that ties a :class:`~quantalloc.data.PriceProvider` to :func:`market_state`;
the ``regime`` command and the solve pipeline both call :func:`state_from_provider`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd

from quantalloc.data.base import PriceProvider
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


def state_from_provider(
    provider: PriceProvider,
    market: str = "in",
    as_of: DateLike | None = None,
    *,
    chain_path: str | Path | None = None,
    vix: float | None = None,
    index_symbol: str | None = None,
    config: RegimeConfig | None = None,
) -> MarketState:
    """Read the market's index and vol index from ``provider`` and classify ``as_of``.

    Without ``as_of`` the provider's latest data decides (and the last three years are used).
    ``chain_path`` is read with ``quantalloc.data.chains.load_chain``. When the source has no
    vol-index history but ``vix`` is given, the regime is read from that level alone.
    """
    profile = get_market(market)
    symbol = index_symbol or profile.index_symbol
    as_of_ts = None if as_of is None else to_timestamp(as_of, "as-of date")
    end = None if as_of_ts is None else as_of_ts.normalize() + pd.Timedelta(days=1)
    cfg = config or load_regime_config()
    prices = _fetch_index(provider, symbol, as_of_ts, end, cfg)
    if as_of_ts is None:
        start = prices.index[-1].normalize() - pd.Timedelta(days=history_calendar_days(cfg))
        prices = prices.loc[prices.index >= start]
    vol: pd.DataFrame | None
    try:
        vol = provider.history(profile.vol_index_symbol, prices.index[0], end)
    except DataError:
        if vix is None:
            raise
        vol = None  # a level was given: classify from it alone (market_state notes this)
    chain = None
    if chain_path is not None:
        from quantalloc.data.chains import load_chain

        chain = load_chain(chain_path)
    return market_state(
        prices,
        vol,
        chain,
        as_of_ts,
        market=profile.name,
        config=cfg,
        vix=vix,
        index_name=f"{symbol} prices",
        vol_name=profile.vol_index_symbol,
    )


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
        "model": hashlib.sha256(config_path.read_bytes()).hexdigest(),
        "files": files,
    }


__all__ = ["history_calendar_days", "history_start", "input_fingerprint", "state_from_provider"]
