"""Small hand-made market data for backtest tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from quantalloc.data.base import DateLike, clip_dates


class FrameProvider:
    """A price provider serving in-memory frames (``symbol -> OHLCV frame``)."""

    name = "frames"
    synthetic = True

    def __init__(self, frames: Mapping[str, pd.DataFrame]) -> None:
        self.frames = dict(frames)

    def history(
        self, symbol: str, start: DateLike | None = None, end: DateLike | None = None
    ) -> pd.DataFrame:
        from quantalloc.errors import DataError

        if symbol not in self.frames:
            raise DataError(f"{symbol}: not in the test frames")
        return clip_dates(self.frames[symbol].copy(), symbol, start, end, self.name)

    def symbols(self) -> list[str]:
        return sorted(self.frames)


def frame_from_closes(
    closes: Sequence[float],
    index: pd.DatetimeIndex | None = None,
    *,
    opens: Sequence[float] | None = None,
    highs: Sequence[float] | None = None,
    lows: Sequence[float] | None = None,
    volume: float | Sequence[float] = 1e6,
    start: str = "2020-01-01",
) -> pd.DataFrame:
    """OHLCV frame: open = previous close unless given, high/low = max/min(open, close)."""
    c = np.asarray(closes, dtype=float)
    if index is None:
        index = pd.bdate_range(start, periods=len(c), name="date")
    o = np.asarray(opens, dtype=float) if opens is not None else np.r_[c[0], c[:-1]]
    h = np.asarray(highs, dtype=float) if highs is not None else np.maximum(o, c)
    lo = np.asarray(lows, dtype=float) if lows is not None else np.minimum(o, c)
    vol = np.broadcast_to(np.asarray(volume, dtype=float), c.shape)
    frame = pd.DataFrame({"open": o, "high": h, "low": lo, "close": c, "volume": vol}, index=index)
    frame.index.name = "date"
    return frame
