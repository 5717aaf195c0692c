"""The price provider every vendor shares: bars fetched by date range, cached on disk.

A vendor adapter says how to name a symbol at the vendor (:meth:`VendorBars._resolve`) and how
to fetch one chunk of bars (:meth:`VendorBars._fetch_chunk`); this class does the rest:

- **Cache.** Bars of one symbol and bar size live in
  ``CACHE_ROOT/<vendor>/bars/<SYMBOL>_<interval>.parquet`` with the fetch time and the dates
  asked for (``covered_from`` .. ``covered_until``), of which the days before the fetch day are
  complete (``complete_until``). A request inside the complete span is served from the file
  with no network and no credentials; one reaching past it fetches only the missing days and
  merges them; one reaching into the fetch day is served from the file while it is younger
  than ``max_age_hours``, then refreshed.
- **Range.** ``start`` None means ``lookback_days`` before today, ``end`` None means today (the
  market's clock); requests are split into the vendor's largest allowed chunk.
- **Pacing.** Every call goes through a :class:`~quantalloc.data.vendors.common.Pacer` inside
  the vendor's stated limit, with backoff on "too many requests".
- **Closed markets.** A range with no bars that holds only weekend days, or today before the
  open, is a MarketClosedError; a short range of weekdays with no bars says a holiday may be why.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from quantalloc.data.base import OHLCV_COLUMNS, DateLike, clip_dates, to_timestamp
from quantalloc.data.cache import default_cache_root, fetched_at, read_entry, read_meta, write_entry
from quantalloc.data.validation import validate_ohlcv
from quantalloc.data.vendors.common import (
    EXCHANGE,
    SESSION_HOURS,
    Interval,
    VendorAccess,
    all_closed,
    check_interval,
    local_now,
    parse_interval,
)
from quantalloc.data.vendors.errors import MarketClosedError
from quantalloc.errors import ConfigError, DataError

log = logging.getLogger(__name__)

DAY = pd.Timedelta(days=1)


def safe_name(symbol: str) -> str:
    """A file-name-safe spelling of ``symbol`` (``^NSEI`` -> ``_NSEI``)."""
    return re.sub(r"[^A-Za-z0-9.&=-]", "_", symbol.strip().upper())


def bars_frame(
    stamps: Any,
    columns: Mapping[str, Any] | pd.DataFrame,
    *,
    timezone: str,
    daily: bool,
) -> pd.DataFrame:
    """OHLCV rows from a vendor's stamps and columns, indexed by exchange-local wall time.

    ``stamps`` may be aware (converted to ``timezone``, then made naive) or naive (taken as
    local already); daily stamps are cut to midnight. Missing volume becomes 0.
    """
    index = pd.DatetimeIndex(stamps)
    if index.tz is not None:
        index = index.tz_convert(timezone).tz_localize(None)
    if daily:
        index = index.normalize()
    index = index.as_unit("us")  # the unit pandas gives dates parsed from text (CSV files)
    data = {
        c: pd.to_numeric(pd.Series(list(columns.get(c, []))), errors="coerce")
        for c in OHLCV_COLUMNS
    }
    if not len(data["volume"]):
        data["volume"] = pd.Series([0.0] * len(index))
    frame = pd.DataFrame({c: v.to_numpy(dtype="float64") for c, v in data.items()})
    frame.index = pd.DatetimeIndex(index, name="date")
    return frame.sort_index()


class VendorBars(VendorAccess):
    """Base of the vendors' price providers (see the module notes). Subclasses mix in their
    vendor's :class:`~quantalloc.data.vendors.common.VendorAccess`, set the class attributes
    and implement :meth:`_resolve` and :meth:`_fetch_chunk`."""

    _refusal = (
        "serves the",
        "pick another `data` source for `market={market}`",
        ("data", "market"),
    )

    synthetic = False
    intraday_minutes: ClassVar[tuple[int, ...] | None] = None
    chunk_days: ClassVar[tuple[int, int]] = (3650, 30)
    """Largest request span in calendar days: (daily bars, intraday bars)."""

    def __init__(
        self,
        market: str | None = None,
        *,
        interval: str = "1d",
        cache_root: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        client: Any = None,
        max_age_hours: float = 12.0,
        max_ffill: int = 0,
        lookback_days: int | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], pd.Timestamp] | None = None,
    ) -> None:
        super().__init__(market, env=env, client=client, sleep=sleep, clock=clock)
        self.interval: Interval = parse_interval(interval)
        check_interval(self.interval, self.intraday_minutes, self.vendor)
        self.name = self.vendor if self.interval.daily else f"{self.vendor}:{self.interval.label}"
        root = Path(cache_root).expanduser() if cache_root else default_cache_root()
        self.cache_dir = root / self.vendor / "bars"
        self.max_age_hours = max_age_hours
        self.max_ffill = max_ffill
        self.lookback_days = lookback_days or (3650 if self.interval.daily else 30)
        self._refs: dict[str, Any] = {}

    # ---- what a vendor implements -------------------------------------------------------------

    def _resolve(self, symbol: str) -> Any:
        """How the vendor names ``symbol`` (an id, a key, a contract); UnknownSymbolError if
        none."""
        raise NotImplementedError

    def _fetch_chunk(self, ref: Any, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Bars of ``ref`` on the days [start, end] (both inclusive), as :func:`bars_frame`
        gives them."""
        raise NotImplementedError

    def span_days(self) -> int:
        """The longest span one request may ask for, in calendar days."""
        return self.chunk_days[0] if self.interval.daily else self.chunk_days[1]

    # ---- shared machinery ---------------------------------------------------------------------

    def ref(self, symbol: str) -> Any:
        key = symbol.strip().upper()
        if key not in self._refs:
            self._refs[key] = self._resolve(key)
        return self._refs[key]

    def cache_path(self, symbol: str) -> Path:
        """Where the bars of ``symbol`` at this bar size are cached."""
        return self.cache_dir / f"{safe_name(symbol)}_{self.interval.label}.parquet"

    def now(self) -> pd.Timestamp:
        """Now, as wall time on the market's clock."""
        return local_now(self.market.timezone, self._clock())

    def today(self) -> pd.Timestamp:
        """Today on the market's clock (midnight)."""
        return self.now().normalize()

    def has_cache(self) -> bool:
        return self.cache_dir.is_dir() and any(self.cache_dir.glob("*.parquet"))

    def symbols(self) -> list[str]:
        """Symbols of this market and bar size held in the cache."""
        out = []
        if self.cache_dir.is_dir():
            for path in sorted(self.cache_dir.glob(f"*_{self.interval.label}.parquet")):
                meta = read_meta(path)
                if meta and meta.get("market") == self.market.name and "symbol" in meta:
                    out.append(str(meta["symbol"]))
        return sorted(set(out))

    def history(
        self, symbol: str, start: DateLike | None = None, end: DateLike | None = None
    ) -> pd.DataFrame:
        """Validated OHLCV bars of ``symbol`` in [``start``, ``end``] (see the module notes)."""
        sym = symbol.strip().upper()
        today = self.today()
        first = today - pd.Timedelta(days=self.lookback_days)
        lo = first if start is None else to_timestamp(start, "start date").normalize()
        hi = today if end is None else to_timestamp(end, "end date").normalize()
        if lo > hi:
            raise ConfigError(f"start date {start} is after end date {end}; swap them")
        if lo > today:
            raise ConfigError(
                f"start date {lo.date()} is after today ({today.date()} on the "
                f"{self.market.name} market's clock); no bars exist yet"
            )
        hi = min(hi, today)
        path = self.cache_path(sym)
        entry = read_entry(path)
        frame = self._update(sym, path, entry, lo, hi, today)
        inside = frame.loc[(frame.index >= lo) & (frame.index < hi + DAY)]
        if inside.empty:
            raise self._no_bars(sym, lo, hi, today)
        return clip_dates(frame, sym, start, end, f"{self.name} ({sym})")

    def _missing(
        self, meta: dict[str, Any], lo: pd.Timestamp, hi: pd.Timestamp, today: pd.Timestamp
    ) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
        """The day ranges to fetch so that the cache covers [lo, hi], next to what it holds."""
        if not meta:
            return [(lo, hi)]
        covered = pd.Timestamp(meta["covered_from"])
        until = pd.Timestamp(meta["covered_until"])
        complete = pd.Timestamp(meta["complete_until"])
        age_hours = (self._clock() - pd.Timestamp(fetched_at(meta))).total_seconds() / 3600
        ranges = []
        if lo < covered:
            ranges.append((lo, covered - DAY))
        fresh = age_hours < self.max_age_hours and hi <= until
        if hi > complete and not fresh:
            ranges.append((complete + DAY, hi))
        return ranges

    def _update(
        self,
        sym: str,
        path: Path,
        entry: tuple[pd.DataFrame, dict[str, Any]] | None,
        lo: pd.Timestamp,
        hi: pd.Timestamp,
        today: pd.Timestamp,
    ) -> pd.DataFrame:
        cached, meta = (entry[0], entry[1]) if entry is not None else (None, {})
        if cached is not None:
            cached.index = pd.DatetimeIndex(cached.index, name="date")
        ranges = self._missing(meta, lo, hi, today)
        if not ranges and cached is not None:
            return cached
        ref = self.ref(sym)
        parts = [] if cached is None else [cached]
        for a, b in ranges:
            parts.extend(self._fetch_span(ref, sym, a, b))
        parts = [p for p in parts if len(p)]
        if not parts:
            raise self._no_bars(sym, lo, hi, today)
        merged = pd.concat(parts)
        merged = merged.loc[~merged.index.duplicated(keep="last")].sort_index()
        frame = validate_ohlcv(merged, sym, f"{self.name} ({sym})", max_ffill=self.max_ffill)
        covered = min([lo, *([pd.Timestamp(meta["covered_from"])] if meta else [])])
        until = max([hi, *([pd.Timestamp(meta["covered_until"])] if meta else [])])
        complete = max(
            [min(hi, today - DAY), *([pd.Timestamp(meta["complete_until"])] if meta else [])]
        )
        meta = {
            "vendor": self.vendor,
            "symbol": sym,
            "interval": self.interval.label,
            "market": self.market.name,
            "covered_from": str(covered.date()),
            "covered_until": str(until.date()),
            "complete_until": str(complete.date()),
            "fetched_at": self._clock().isoformat(),
        }
        write_entry(path, frame, meta)
        log.info("cached %d %s bars of %s at %s", len(frame), self.name, sym, path)
        return frame

    def _fetch_span(
        self, ref: Any, sym: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> list[pd.DataFrame]:
        step = self.span_days()
        out = []
        a = start
        while a <= end:
            b = min(end, a + pd.Timedelta(days=step - 1))
            got = self.pacer.call(
                partial(self._fetch_chunk, ref, a, b),
                f"{self.name} bars of {sym} {a.date()} .. {b.date()}",
            )
            out.append(got)
            a = b + DAY
        return out

    def _no_bars(
        self, sym: str, lo: pd.Timestamp, hi: pd.Timestamp, today: pd.Timestamp
    ) -> DataError:
        exchange = EXCHANGE[self.market.name]
        span = f"{lo.date()} .. {hi.date()}"
        if all_closed(lo, hi):
            return MarketClosedError(
                f"{sym}: {exchange} holds no session on {span} (a weekend); the market trades "
                "Monday to Friday, so choose dates that include a trading day",
                vendor=self.vendor,
            )
        opens = SESSION_HOURS[self.market.name][0]
        now = self.now()
        if lo == hi == today and now.time() < opens:
            return MarketClosedError(
                f"{sym}: {exchange} opens at {opens:%H:%M} ({self.market.timezone}) and it is "
                f"{now:%H:%M} now, so there are no bars yet today; ask for an earlier day",
                vendor=self.vendor,
            )
        if (hi - lo).days <= 4:
            return MarketClosedError(
                f"{sym}: {self.vendor} has no bars on {span}: {exchange} was closed (an "
                "exchange holiday) or the symbol did not trade; choose a wider range",
                vendor=self.vendor,
            )
        return DataError(
            f"{sym}: {self.vendor} returned no {self.interval.label} bars for {span}; check the "
            "symbol and the dates your plan covers"
        )


__all__ = ["DAY", "VendorBars", "bars_frame", "safe_name"]
