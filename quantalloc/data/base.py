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


def clip_dates(
    frame: pd.DataFrame, symbol: str, start: DateLike | None, end: DateLike | None, source: str
) -> pd.DataFrame:
    """Rows of ``frame`` within [start, end]; a DataError when the range holds no rows."""
    from quantalloc.errors import DataError

    out = frame
    if start is not None:
        out = out.loc[out.index >= pd.Timestamp(start)]
    if end is not None:
        end_ts = pd.Timestamp(end)
        if end_ts == end_ts.normalize():
            end_ts = end_ts + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
        out = out.loc[out.index <= end_ts]
    if out.empty:
        first, last = frame.index[0].date(), frame.index[-1].date()
        raise DataError(
            f"{symbol}: no rows between {start or 'the start'} and {end or 'the end'} in {source} "
            f"(data covers {first} .. {last}); choose dates inside that range"
        )
    return out
