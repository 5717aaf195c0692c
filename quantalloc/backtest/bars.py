"""Bar helpers shared by the strategies: warm-up windows, adjustment, sessions, month ends."""

from __future__ import annotations

from datetime import time

import numpy as np
import pandas as pd

from quantalloc.data.base import DateLike, PriceProvider
from quantalloc.errors import DataError

SESSION_OPEN = time(9, 30)
SESSION_CLOSE = time(16, 0)


def load_with_warmup(
    provider: PriceProvider,
    symbol: str,
    start: DateLike | None,
    end: DateLike | None,
    warmup_days: int,
) -> pd.DataFrame:
    """History of ``symbol`` from ``warmup_days`` calendar days before ``start`` up to ``end``.

    Indicators need data before the first traded day; that data was known at the time, so reading
    it is no look-ahead. When the source starts later, it returns what it has.
    """
    first = None if start is None else pd.Timestamp(start) - pd.Timedelta(days=warmup_days)
    try:
        return provider.history(symbol, first, end)
    except DataError:
        if first is None:
            raise
        return provider.history(symbol, start, end)


def total_return_ohlc(frame: pd.DataFrame) -> pd.DataFrame:
    """OHLC scaled by ``adj_close / close`` (dividends reinvested); unchanged without adj_close."""
    if "adj_close" not in frame.columns:
        return frame
    ratio = (frame["adj_close"] / frame["close"]).to_numpy()
    out = frame.copy()
    for col in ("open", "high", "low", "close"):
        out[col] = frame[col].to_numpy() * ratio
    return out


def is_intraday(index: pd.DatetimeIndex) -> bool:
    """True when the bars carry a time of day (not all at midnight)."""
    return bool(len(index)) and bool((index != index.normalize()).any())


def regular_session(frame: pd.DataFrame) -> pd.DataFrame:
    """Bars starting within the regular session, 09:30 <= start < 16:00 exchange time."""
    times = pd.DatetimeIndex(frame.index).time
    keep = (times >= SESSION_OPEN) & (times < SESSION_CLOSE)
    return frame.loc[keep]


def daily_from_intraday(frame: pd.DataFrame) -> pd.DataFrame:
    """Daily OHLCV bars from the regular-session intraday bars of ``frame``."""
    reg = regular_session(frame)
    days = pd.DatetimeIndex(reg.index).normalize()
    grouped = reg.groupby(days)
    out = pd.DataFrame(
        {
            "open": grouped["open"].first(),
            "high": grouped["high"].max(),
            "low": grouped["low"].min(),
            "close": grouped["close"].last(),
            "volume": grouped["volume"].sum(),
        }
    )
    out.index.name = "date"
    return out


def as_daily(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` itself when daily, else its regular-session daily bars."""
    return daily_from_intraday(frame) if is_intraday(pd.DatetimeIndex(frame.index)) else frame


def month_end_flags(index: pd.DatetimeIndex) -> np.ndarray:
    """True on the last trading day of each month.

    A bar is a month end when the next bar falls in another month; for the last bar, when no
    weekday of its month remains after it. The trading calendar is known in advance, so this is
    no look-ahead; only a holiday on the month's last weekday can make the last bar's flag differ
    from the one it gets once the next bar is known.
    """
    idx = pd.DatetimeIndex(index).normalize()
    flags = np.zeros(len(idx), dtype=bool)
    if not len(idx):
        return flags
    months = idx.year * 12 + idx.month
    flags[:-1] = np.asarray(months[1:] != months[:-1])
    last = idx[-1]
    next_weekday = last + pd.offsets.BDay(1)
    flags[-1] = next_weekday.month != last.month
    return flags


def align(frame: pd.DataFrame, index: pd.DatetimeIndex, symbol: str) -> pd.DataFrame:
    """Rows of ``frame`` on ``index`` (forward-filled over gaps of the other series)."""
    out = frame.reindex(index).ffill()
    if out["close"].isna().all():
        raise DataError(f"{symbol}: no prices on the dates of the other series; check the range")
    return out


def session_end_flags(index: pd.DatetimeIndex) -> np.ndarray:
    """True on each session's last bar (for ``simulate(force_exit=...)``: flat at the close).

    The last bar of a day is known to be last from the session clock (its bar ends at 16:00),
    or, for a day cut short, from the next bar's date; the final bar of the data counts as a
    session end only when it ends the regular session.
    """
    idx = pd.DatetimeIndex(index)
    flags = np.zeros(len(idx), dtype=bool)
    if not len(idx):
        return flags
    days = idx.normalize()
    flags[:-1] = np.asarray(days[1:] != days[:-1])
    step = idx[1] - idx[0] if len(idx) > 1 else pd.Timedelta(minutes=5)
    ends = (idx + step).time
    flags |= np.array([t >= SESSION_CLOSE or t == time(0, 0) for t in ends])
    return flags
