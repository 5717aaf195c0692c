"""Bar feeds: the bars a strategy has seen so far, and a replay of stored bars for paper trading.

:class:`BarBook` is a :class:`~quantalloc.data.base.PriceProvider` over the bars received up
to now, so a strategy's own ``prepare`` (the backtest's code) reads exactly what was known at
that time. :func:`replay` turns a provider's stored bars into the time-ordered groups a live
feed would deliver (all symbols' bars of one timestamp together).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from quantalloc.backtest import bars as b
from quantalloc.data.base import DateLike, PriceProvider, clip_dates
from quantalloc.service.trading.orders import Bar


class BarBook:
    """Bars received so far, per symbol, served as a price provider (nothing after ``now``)."""

    name = "bars received so far"
    synthetic = False

    def __init__(self, frames: dict[str, pd.DataFrame] | None = None) -> None:
        self._frames = {k: v.sort_index() for k, v in (frames or {}).items()}
        self._rows: dict[str, list[dict[str, float]]] = {}
        self._times: dict[str, list[pd.Timestamp]] = {}
        self.now: pd.Timestamp | None = None

    def load(self, frames: dict[str, pd.DataFrame]) -> None:
        """Take ``frames`` as received (a replay's whole store; ``now`` limits what shows)."""
        self._frames.update({k: v.sort_index() for k, v in frames.items()})

    def append(self, bar: Bar) -> None:
        """Add a bar that arrived (live feeds); it becomes ``now``."""
        self._rows.setdefault(bar.symbol, []).append(
            {"open": bar.open, "high": bar.high, "low": bar.low, "close": bar.close,
             "volume": bar.volume}
        )  # fmt: skip
        self._times.setdefault(bar.symbol, []).append(bar.time)
        self.now = bar.time if self.now is None else max(self.now, bar.time)

    def _frame(self, symbol: str) -> pd.DataFrame:
        if symbol in self._rows:
            added = pd.DataFrame(self._rows.pop(symbol), index=pd.DatetimeIndex(
                self._times.pop(symbol), name="date"))  # fmt: skip
            old = self._frames.get(symbol)
            joined = added if old is None else pd.concat([old, added])
            self._frames[symbol] = joined[~joined.index.duplicated(keep="last")].sort_index()
        return self._frames.get(symbol, pd.DataFrame())

    def history(
        self, symbol: str, start: DateLike | None = None, end: DateLike | None = None
    ) -> pd.DataFrame:
        """Bars of ``symbol`` between ``start`` and ``end`` that had arrived by ``now``."""
        from quantalloc.errors import DataError

        frame = self._frame(symbol)
        if self.now is not None and len(frame):
            frame = frame.iloc[: int(frame.index.searchsorted(self.now, side="right"))]
        if not len(frame):
            raise DataError(f"{symbol}: no bars received yet")
        return clip_dates(frame, symbol, start, end, self.name)

    def symbols(self) -> list[str]:
        """Symbols with bars."""
        return sorted(set(self._frames) | set(self._rows))


def session_ends(frame: pd.DataFrame) -> np.ndarray:
    """True on each day's last regular-session bar of ``frame`` (daily bars: every bar)."""
    idx = pd.DatetimeIndex(frame.index)
    if not b.is_intraday(idx):
        return np.ones(len(idx), dtype=bool)
    times = idx.time
    regular = (times >= b.SESSION_OPEN) & (times < b.SESSION_CLOSE)
    days = idx.normalize().to_numpy()
    out = np.zeros(len(idx), dtype=bool)
    positions = np.flatnonzero(regular)
    if len(positions):
        last_of_day = np.r_[days[positions][1:] != days[positions][:-1], True]
        out[positions[last_of_day]] = True
    return out


def replay(
    provider: PriceProvider,
    symbols: Sequence[str],
    start: DateLike,
    end: DateLike,
    warmup_days: int,
    book: BarBook,
    traded: Callable[[str, pd.DataFrame], pd.DataFrame] | None = None,
) -> Iterator[list[Bar]]:
    """Stored bars of ``symbols`` as a live feed would deliver them, from ``start`` to ``end``.

    ``book`` receives ``warmup_days`` calendar days before ``start`` as already received
    (indicators need them); the iterator yields each timestamp's bars from ``start`` on and
    moves the book's ``now`` forward before handing them out. ``traded(symbol, frame)`` gives
    the prices the bars carry when they differ from the stored ones (total-return adjusted,
    as the backtest trades them); the book keeps the stored frames.
    """
    frames = {s: b.load_with_warmup(provider, s, start, end, warmup_days) for s in symbols}
    book.load(frames)
    rows = []
    for symbol, frame in frames.items():
        ends = session_ends(frame)
        keep = frame.index >= pd.Timestamp(start)
        part = (traded(symbol, frame) if traded is not None else frame).loc[keep]
        values = part[["open", "high", "low", "close", "volume"]].to_numpy(dtype=float)
        for time, (o, h, lo, c, v), last in zip(part.index, values, ends[keep], strict=True):
            rows.append(Bar(symbol, pd.Timestamp(time), o, h, lo, c, v, bool(last)))
    rows.sort(key=lambda bar: (bar.time, bar.symbol))
    book.now = pd.Timestamp(start) - pd.Timedelta(microseconds=1)

    def groups() -> Iterator[list[Bar]]:
        k = 0
        while k < len(rows):
            j = k
            while j < len(rows) and rows[j].time == rows[k].time:
                j += 1
            book.now = rows[k].time
            yield rows[k:j]
            k = j

    return groups()
