"""Option chains from Yahoo Finance (yfinance), cached on disk with their quote time.

Yahoo serves only the current chain, so every fetch is written to
``CACHE_DIR/chains/<SYMBOL>_<SESSION>.csv`` in the yfinance layout of
:mod:`quantalloc.data.chain_layouts` (``S`` the underlying's price, ``spot_date`` the session,
``downloaded_at_utc`` the quote time). A later run with an as-of date reads the snapshot of that
session (or up to ``max_age_days`` older) without the network; a past session with no snapshot
is a DataError, never today's chain standing in for history.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from quantalloc.atomic import atomic_path
from quantalloc.data.base import DateLike, to_timestamp
from quantalloc.data.cache import default_cache_root
from quantalloc.data.chain_source import (
    DEFAULT_MAX_AGE_DAYS,
    ChainSnapshot,
    chain_symbol,
)
from quantalloc.data.chains import load_chain
from quantalloc.data.snapshot_cache import SnapshotFolder
from quantalloc.data.yahoo import YahooAccess
from quantalloc.errors import DataError

log = logging.getLogger(__name__)

_YAHOO_INDEX = {"NIFTY": "^NSEI", "BANKNIFTY": "^NSEBANK", "SPX": "^SPX"}


def default_chain_cache_dir() -> Path:
    """``chains`` under the user cache folder every source shares."""
    return default_cache_root() / "chains"


class YahooChainSource(SnapshotFolder, YahooAccess):
    """yfinance option chains with an on-disk snapshot per symbol and session.

    Parameters
    ----------
    market
        ``in`` or ``us``; in ``in`` a stock is asked for as ``SYMBOL.NS``.
    cache_dir
        Folder of the snapshots (default :func:`default_chain_cache_dir`).
    max_age_days
        How much older than the as-of date a snapshot may be.
    max_expiries
        At most this many expiries are fetched per symbol (nearest first).
    """

    suffix = "csv"

    def __init__(
        self,
        market: str | None = None,
        *,
        cache_dir: str | Path | None = None,
        max_age_days: int = DEFAULT_MAX_AGE_DAYS,
        max_expiries: int = 12,
    ) -> None:
        super().__init__(market, cache_dir, default_chain_cache_dir)
        self.max_age_days = max_age_days
        self.max_expiries = max_expiries
        self.name = "yahoo"

    def yahoo_symbol(self, symbol: str) -> str:
        """The symbol as Yahoo spells it (``NIFTY`` -> ``^NSEI``, ``INFY`` -> ``INFY.NS``)."""
        name = chain_symbol(symbol)
        return _YAHOO_INDEX.get(name) or super().yahoo_symbol(name)

    def today(self) -> pd.Timestamp:
        """Today's date on the market's clock."""
        return pd.Timestamp.now(tz=self.market.timezone).tz_localize(None).normalize()

    def chain(self, symbol: str, as_of: DateLike | None = None) -> ChainSnapshot:
        name = chain_symbol(symbol)
        day = self.today() if as_of is None else to_timestamp(as_of, "as-of date").normalize()
        path, have = self._usable(name, day)
        if path is not None:
            return self._read(name, path)
        if day < self.today():
            raise DataError(
                f"{name}: Yahoo serves only today's option chain and the cache "
                f"{self.cache_dir} has no snapshot within {self.max_age_days} days before "
                f"{day.date()} (snapshots: {have}); give `chains` a folder for past sessions",
                params="chains",
            )
        return self._read(name, self.fetch(name))

    def _read(self, name: str, path: Path) -> ChainSnapshot:
        frame = load_chain(path)
        frame["symbol"] = name
        frame["root"] = name
        quoted = pd.read_csv(path, usecols=["downloaded_at_utc"], nrows=1)["downloaded_at_utc"]
        quoted_at = pd.Timestamp(quoted.iloc[0]) if len(quoted) else None
        session = pd.Timestamp(path.stem.rsplit("_", 1)[1])
        return ChainSnapshot(
            symbol=name,
            session=session,
            frame=frame,
            source=f"yahoo ({path})",
            quoted_at=quoted_at,
            notes=tuple(frame.attrs.get("notes", ())),
        )

    def fetch(self, symbol: str) -> Path:
        """Download the current chain of ``symbol`` and write its snapshot; the file's path."""
        import yfinance as yf

        name = chain_symbol(symbol)
        ticker = yf.Ticker(self.yahoo_symbol(name))
        try:
            expiries = list(ticker.options)[: self.max_expiries]
        except Exception as exc:  # yfinance raises many kinds on network faults
            raise DataError(
                f"{name}: Yahoo did not answer for the option chain ({exc}); retry, or use "
                "a folder of saved chain files as `chains`",
                params="chains",
            ) from exc
        if not expiries:
            raise DataError(f"{name}: Yahoo lists no option expiries; the symbol has no options")
        frames: list[pd.DataFrame] = []
        spot, quoted = float("nan"), datetime.now(UTC)
        for expiry in expiries:
            got = ticker.option_chain(expiry)
            under: dict[str, Any] = getattr(got, "underlying", None) or {}
            if under.get("regularMarketPrice"):
                spot = float(under["regularMarketPrice"])
            if under.get("regularMarketTime"):
                quoted = datetime.fromtimestamp(int(under["regularMarketTime"]), UTC)
            for kind, part in (("call", got.calls), ("put", got.puts)):
                frames.append(part.assign(expiry=expiry, option_type=kind))
        rows = pd.concat(frames, ignore_index=True)
        session = pd.Timestamp(quoted).tz_convert(self.market.timezone).tz_localize(None)
        rows = rows.assign(
            ticker=name,
            S=spot,
            spot_date=str(session.date()),
            downloaded_at_utc=quoted.isoformat(),
        )
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        path = self.cache_dir / f"{name}_{session.date()}.csv"
        with atomic_path(path) as tmp:
            rows.to_csv(tmp, index=False)
        log.info("cached the %s option chain of %s at %s", name, session.date(), path)
        return path


__all__ = ["YahooChainSource", "default_chain_cache_dir"]
