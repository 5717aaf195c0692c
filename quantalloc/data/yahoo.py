"""Price provider over Yahoo Finance (yfinance) with an on-disk parquet cache.

Each symbol's whole daily history is fetched once (``period="max"``, unadjusted OHLC plus
``adj_close``), validated, and written to ``CACHE_DIR/<symbol>.parquet`` with the time it was
fetched. Later calls read the file: no network is needed while the file is fresh
(``max_age_hours``) or when the request ends on or before its last date; a stale file is
refreshed, and served as it is (with a logged warning) when Yahoo cannot be reached.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from quantalloc.data.base import DateLike, clip_dates, to_timestamp
from quantalloc.data.cache import default_cache_root, fetched_at, read_entry, read_meta, write_entry
from quantalloc.data.validation import validate_ohlcv
from quantalloc.errors import DataError
from quantalloc.markets import MarketProfile, get_market

log = logging.getLogger(__name__)

YAHOO_HOST = "query2.finance.yahoo.com"
_OFFLINE_HINT = "pass `data=demo` for the synthetic market or `data=csv:DIR` for your own files"
_RENAMES = {
    "Open": "open",
    "High": "high",
    "Low": "low",
    "Close": "close",
    "Adj Close": "adj_close",
    "Volume": "volume",
}


def default_cache_dir() -> Path:
    """``prices`` under the user cache folder every source shares."""
    return default_cache_root() / "prices"


def yahoo_reachable(timeout: float = 2.0, host: str = YAHOO_HOST) -> bool:
    """True when a TCP connection to Yahoo's quote server opens within ``timeout`` seconds.

    Name resolution runs in a daemon thread, so a hanging resolver cannot hold the caller
    longer than ``timeout``.
    """
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, 443), timeout=timeout):
                result.append(True)
        except Exception:  # any failure to connect means "not reachable"
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def cache_filename(yahoo_symbol: str) -> str:
    """File name of a symbol's cache entry (``^NSEI`` -> ``_NSEI.parquet``)."""
    return re.sub(r"[^A-Za-z0-9.&=-]", "_", yahoo_symbol) + ".parquet"


class YahooAccess:
    """What every Yahoo source shares: its market, its cache folder and Yahoo's ticker spelling."""

    def __init__(
        self, market: str | None, cache_dir: str | Path | None, default_dir: Callable[[], Path]
    ) -> None:
        self.market: MarketProfile = get_market(market)
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else default_dir()

    def yahoo_symbol(self, symbol: str) -> str:
        """The symbol as Yahoo spells it in this market (``INFY`` -> ``INFY.NS`` in India)."""
        sym = symbol.strip().upper()
        if self.market.name == "in" and not sym.startswith("^") and "." not in sym:
            return f"{sym}.NS"
        return sym


class YahooProvider(YahooAccess):
    """Daily OHLCV from Yahoo Finance, cached on disk so a second run needs no network.

    Parameters
    ----------
    market
        Market profile; in ``in`` a plain stock symbol gets the NSE suffix (``RELIANCE`` ->
        ``RELIANCE.NS``), while indices (``^NSEI``) and suffixed symbols pass unchanged.
    cache_dir
        Folder of the parquet files (default: :func:`default_cache_dir`).
    max_age_hours
        A cache entry younger than this serves open-ended requests without a refresh.
    max_ffill
        Forward-fill repair allowed by validation (see :func:`validate_ohlcv`).
    timeout
        Seconds yfinance may wait for Yahoo.
    """

    synthetic = False
    name = "yahoo"

    def __init__(
        self,
        market: str | None = None,
        *,
        cache_dir: str | Path | None = None,
        max_age_hours: float = 12.0,
        max_ffill: int = 0,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(market, cache_dir, default_cache_dir)
        self.max_age_hours = max_age_hours
        self.max_ffill = max_ffill
        self.timeout = timeout

    def cache_path(self, symbol: str) -> Path:
        """Where the cache entry of ``symbol`` lives."""
        return self.cache_dir / cache_filename(self.yahoo_symbol(symbol))

    def has_cache(self) -> bool:
        """True when the cache folder holds at least one entry."""
        return self.cache_dir.is_dir() and any(self.cache_dir.glob("*.parquet"))

    def history(
        self, symbol: str, start: DateLike | None = None, end: DateLike | None = None
    ) -> pd.DataFrame:
        """Validated daily OHLCV (with ``adj_close``) of ``symbol`` in [``start``, ``end``]."""
        ysym = self.yahoo_symbol(symbol)
        path = self.cache_path(symbol)
        cached = _read_cache(path)
        if cached is not None and self._serves(cached, end):
            frame = cached[0]
        else:
            try:
                frame = self._fetch(symbol, ysym)
            except _Unreachable as exc:
                if cached is None:
                    raise DataError(
                        f"{symbol}: Yahoo Finance is unreachable ({exc}) and {ysym} is not in the "
                        f"cache {self.cache_dir}; {_OFFLINE_HINT}",
                        params="data",
                    ) from None
                frame, fetched = cached
                log.warning(
                    "%s: Yahoo unreachable, serving the cached prices fetched %s (last row %s)",
                    symbol,
                    fetched.isoformat(timespec="minutes"),
                    frame.index[-1].date(),
                )
            else:
                _write_cache(
                    path,
                    frame,
                    symbol=symbol.strip().upper(),
                    yahoo_symbol=ysym,
                    market=self.market.name,
                )
        return clip_dates(frame, symbol, start, end, f"yahoo ({ysym})")

    def symbols(self) -> list[str]:
        """Symbols of this market held in the cache (what can be served offline)."""
        out = []
        if self.cache_dir.is_dir():
            for path in sorted(self.cache_dir.glob("*.parquet")):
                meta = _read_meta(path)
                if meta and meta.get("market") == self.market.name and "symbol" in meta:
                    out.append(str(meta["symbol"]))
        return sorted(set(out))

    def _serves(self, cached: tuple[pd.DataFrame, datetime], end: DateLike | None) -> bool:
        frame, fetched = cached
        age_hours = (datetime.now(UTC) - fetched).total_seconds() / 3600.0
        if age_hours < self.max_age_hours:
            return True
        return end is not None and to_timestamp(end, "end date") <= frame.index[-1]

    def _fetch(self, symbol: str, ysym: str) -> pd.DataFrame:
        raw = _download(ysym, self.timeout)
        if raw is None or raw.empty:
            if not yahoo_reachable(min(self.timeout, 2.0)):
                raise _Unreachable(f"no connection to {YAHOO_HOST}")
            raise DataError(
                f"{symbol}: Yahoo Finance has no daily prices for {ysym}; check the symbol"
                + (
                    " (NSE stocks take their plain name, e.g. RELIANCE)"
                    if ysym.endswith(".NS")
                    else ""
                )
            )
        return _to_canonical(raw, symbol, ysym, self.max_ffill)


class _Unreachable(Exception):
    """Yahoo could not be reached (no network, DNS failure, timeout)."""


def _is_network_error(exc: BaseException) -> bool:
    if isinstance(exc, OSError | ConnectionError | TimeoutError):
        return True
    module = type(exc).__module__ or ""
    name = type(exc).__name__
    return module.startswith(("curl_cffi", "requests", "urllib3")) or any(
        word in name for word in ("Connection", "Timeout", "DNS", "Curl")
    )


def _download(ysym: str, timeout: float) -> pd.DataFrame | None:
    """Whole daily history of ``ysym`` from yfinance; _Unreachable on network failure."""
    import yfinance as yf

    yf_log = logging.getLogger("yfinance")
    level = yf_log.level
    yf_log.setLevel(logging.CRITICAL)  # yfinance logs its own failures; we report them once
    try:
        result: pd.DataFrame = yf.Ticker(ysym).history(
            period="max", interval="1d", auto_adjust=False, actions=False, timeout=timeout
        )
        return result
    except Exception as exc:
        if _is_network_error(exc):
            raise _Unreachable(str(exc).split(". ")[0][:160]) from exc
        if "rate" in type(exc).__name__.lower():
            raise DataError(
                f"{ysym}: Yahoo Finance is rate-limiting requests; wait a few minutes, or "
                f"{_OFFLINE_HINT}",
                params="data",
            ) from exc
        raise DataError(f"{ysym}: Yahoo Finance returned an error: {exc}") from exc
    finally:
        yf_log.setLevel(level)


def _to_canonical(raw: pd.DataFrame, symbol: str, ysym: str, max_ffill: int) -> pd.DataFrame:
    """yfinance's frame as a validated canonical OHLCV frame."""
    frame = raw.rename(columns=_RENAMES)
    keep = [c for c in ("open", "high", "low", "close", "volume", "adj_close") if c in frame]
    frame = frame[keep].copy()
    index = pd.DatetimeIndex(frame.index)
    if index.tz is not None:
        index = index.tz_localize(None)  # exchange-local wall time
    frame.index = index.normalize().rename("date")
    frame = frame.loc[frame[["open", "high", "low", "close"]].notna().any(axis=1)]
    zero_open = (frame["open"] == 0) & (frame["close"] > 0)
    if zero_open.any():
        # Yahoo publishes open = 0 on some old index rows; the close is the only price known.
        log.warning(
            "%s: Yahoo gives open = 0 on %d rows; set to the close", symbol, int(zero_open.sum())
        )
        frame.loc[zero_open, "open"] = frame.loc[zero_open, "close"]
    return validate_ohlcv(frame, symbol, f"yahoo ({ysym})", max_ffill=max_ffill)


def _read_meta(path: Path) -> dict[str, Any] | None:
    return read_meta(path)


def _read_cache(path: Path) -> tuple[pd.DataFrame, datetime] | None:
    """The cached frame of ``path`` and when it was fetched; None when absent or unreadable."""
    entry = read_entry(path)
    if entry is None:
        return None
    frame, meta = entry
    try:
        when = fetched_at(meta)
    except ValueError as exc:
        log.warning("ignoring unreadable cache entry %s: %s", path, exc)
        return None
    frame.index = pd.DatetimeIndex(frame.index, name="date")
    return frame, when


def _write_cache(path: Path, frame: pd.DataFrame, **meta: str) -> None:
    """Write ``frame`` to ``path`` atomically (temp file + rename) with its fetch time."""
    write_entry(path, frame, dict(meta))
