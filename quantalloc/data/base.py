"""The price-provider Protocol and the canonical OHLCV frame every provider returns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol, runtime_checkable

import pandas as pd

OHLCV_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
"""Columns of a canonical price frame, all float64; ``adj_close`` follows where the source has it.

The index is a sorted, unique, tz-naive ``DatetimeIndex`` named ``date`` holding exchange-local
wall-clock time (midnight for daily bars).
"""

DateLike = str | date | datetime | pd.Timestamp


@runtime_checkable
class PriceProvider(Protocol):
    """A source of validated OHLCV history, one symbol at a time."""

    name: str
    synthetic: bool

    def history(
        self, symbol: str, start: DateLike | None = None, end: DateLike | None = None
    ) -> pd.DataFrame:
        """Validated OHLCV frame of ``symbol`` between ``start`` and ``end`` (both inclusive)."""
        ...

    def symbols(self) -> list[str]:
        """Symbols this source can serve (may be empty where the source cannot list them)."""
        ...


def to_timestamp(value: DateLike, what: str = "date") -> pd.Timestamp:
    """``value`` as a tz-naive Timestamp; a ConfigError naming ``what`` when it is not a date."""
    from quantalloc.errors import ConfigError

    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{what} {value!r} is not a date; use YYYY-MM-DD") from exc
    if stamp is pd.NaT or pd.isna(stamp):
        raise ConfigError(f"{what} {value!r} is not a date; use YYYY-MM-DD")
    return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp


def clip_dates(
    frame: pd.DataFrame, symbol: str, start: DateLike | None, end: DateLike | None, source: str
) -> pd.DataFrame:
    """Rows of ``frame`` within [start, end] (a date-only ``end`` includes that whole day).

    A ConfigError when a bound is not a date or ``start`` is after ``end``; a DataError when the
    range holds no rows.
    """
    from quantalloc.errors import ConfigError, DataError

    start_ts = None if start is None else to_timestamp(start, "start date")
    end_ts = None if end is None else to_timestamp(end, "end date")
    if start_ts is not None and end_ts is not None and start_ts > end_ts:
        raise ConfigError(f"start date {start} is after end date {end}; swap them")
    if end_ts is not None and end_ts == end_ts.normalize():
        end_ts = end_ts + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    out = frame
    if out.index.is_monotonic_increasing:  # validated price frames: slice by position
        first = 0 if start_ts is None else int(out.index.searchsorted(start_ts, side="left"))
        stop = len(out) if end_ts is None else int(out.index.searchsorted(end_ts, side="right"))
        out = out.iloc[first:stop]
    else:
        if start_ts is not None:
            out = out.loc[out.index >= start_ts]
        if end_ts is not None:
            out = out.loc[out.index <= end_ts]
    if out.empty:
        first, last = frame.index[0].date(), frame.index[-1].date()
        raise DataError(
            f"{symbol}: no rows between {start or 'the start'} and {end or 'the end'} in {source} "
            f"(data covers {first} .. {last}); choose dates inside that range"
        )
    return out
