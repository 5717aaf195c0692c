"""The chain source every vendor shares: today's chain fetched live, every fetch kept on disk.

Vendors serve the current option chain only (as Yahoo does), so, as
:mod:`quantalloc.data.chain_yahoo` does, each fetch is written to
``CACHE_ROOT/<vendor>/chains/<SYMBOL>_<SESSION>.parquet`` (the canonical chain frame, with the
quote time and the fetch time in its metadata). A later run asking for that session (or a date
up to ``max_age_days`` after it) reads the file with no network and no credentials; a past
session with no snapshot is a DataError, never today's chain standing in for history.

The session of a snapshot is the day of its quote time on the exchange's clock, rolled back to
the last weekday whose session had opened (a chain fetched on a Sunday is Friday's).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from quantalloc.data.base import DateLike, to_timestamp
from quantalloc.data.cache import default_cache_root, read_entry, write_entry
from quantalloc.data.chain_source import (
    DEFAULT_MAX_AGE_DAYS,
    ChainSnapshot,
    chain_symbol,
)
from quantalloc.data.chains import validate_chain
from quantalloc.data.snapshot_cache import SnapshotFolder
from quantalloc.data.vendors.common import (
    VendorAccess,
    last_session,
    local_now,
)
from quantalloc.errors import ConfigError, DataError

log = logging.getLogger(__name__)


class VendorChains(SnapshotFolder, VendorAccess):
    """Base of the vendors' chain sources. Subclasses mix in their vendor's
    :class:`~quantalloc.data.vendors.common.VendorAccess` and implement :meth:`_fetch_chain`,
    which returns the chain rows (canonical columns, at least expiry, strike, kind) and the
    quote time (aware) or None when the vendor gives none."""

    _refusal = ("has option chains of the", "pick another chain source", ())

    def __init__(
        self,
        market: str | None = None,
        *,
        cache_root: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        client: Any = None,
        max_age_days: int = DEFAULT_MAX_AGE_DAYS,
        max_expiries: int = 6,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], pd.Timestamp] | None = None,
    ) -> None:
        super().__init__(market, env=env, client=client, sleep=sleep, clock=clock)
        if max_age_days < 0:
            raise ConfigError(f"max_age_days is {max_age_days}; it must be 0 or more days")
        root = Path(cache_root).expanduser() if cache_root else default_cache_root()
        self.cache_dir = root / self.vendor / "chains"
        self.name = self.vendor
        self.max_age_days = max_age_days
        self.max_expiries = max_expiries

    # ---- what a vendor implements -------------------------------------------------------------

    def _fetch_chain(self, name: str) -> tuple[pd.DataFrame, pd.Timestamp | None]:
        """Rows of the current chain of ``name`` and its quote time; every request to the
        vendor goes through ``self.pacer.call``."""
        raise NotImplementedError

    # ---- shared machinery ---------------------------------------------------------------------

    def current_session(self) -> pd.Timestamp:
        """The latest session that has opened, on the market's clock."""
        return last_session(local_now(self.market.timezone, self._clock()), self.market.name)

    def chain(self, symbol: str, as_of: DateLike | None = None) -> ChainSnapshot:
        """The chain of ``symbol`` on the session of ``as_of`` (None: the current session)."""
        name = chain_symbol(symbol)
        current = self.current_session()
        day = current if as_of is None else to_timestamp(as_of, "as-of date").normalize()
        path, have = self._usable(name, day)
        if path is not None:
            return self._read(name, path, day)
        if day < current:
            raise DataError(
                f"{name}: {self.vendor} serves only the current option chain and the cache "
                f"{self.cache_dir} has no snapshot within {self.max_age_days} days before "
                f"{day.date()} (snapshots: {have}); use a folder of chain files for past sessions"
            )
        return self._read(name, self.fetch(name), day)

    def fetch(self, symbol: str) -> Path:
        """Fetch the current chain of ``symbol`` and write its snapshot; the file's path."""
        name = chain_symbol(symbol)
        rows, quoted = self._fetch_chain(name)
        if rows is None or not len(rows):
            raise DataError(f"{name}: {self.vendor} returned an empty option chain")
        stamp = self._clock() if quoted is None else pd.Timestamp(quoted)
        session = last_session(local_now(self.market.timezone, stamp), self.market.name)
        frame = rows.assign(symbol=name, root=name, as_of=session)
        chain = validate_chain(frame, source=f"{self.vendor} option chain of {name}")
        path = self.cache_dir / f"{name}_{session.date()}.parquet"
        meta = {
            "vendor": self.vendor,
            "symbol": name,
            "market": self.market.name,
            "session": str(session.date()),
            "quoted_at": None if quoted is None else stamp.isoformat(),
            "notes": list(chain.attrs.get("notes", ())),
        }
        write_entry(path, chain, meta, keep_index=False)
        log.info("cached the %s option chain of %s at %s", self.vendor, name, path)
        return path

    def _read(self, name: str, path: Path, day: pd.Timestamp) -> ChainSnapshot:
        entry = read_entry(path)
        if entry is None:
            raise DataError(f"{name}: the cached option chain {path} is unreadable; delete it")
        frame, meta = entry
        frame = validate_chain(frame, source=str(path))
        session = pd.Timestamp(meta["session"])
        notes = tuple(str(n) for n in meta.get("notes", []))
        if session != day:
            notes += (f"{name}: chain of {session.date()} used for as-of {day.date()}",)
        quoted = meta.get("quoted_at")
        return ChainSnapshot(
            symbol=name,
            session=session,
            frame=frame,
            source=f"{self.vendor} ({path})",
            quoted_at=None if quoted is None else pd.Timestamp(quoted),
            notes=notes,
        )


__all__ = ["VendorChains"]
