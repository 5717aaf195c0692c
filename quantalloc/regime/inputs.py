"""Checks that turn the caller's prices, vol index and as-of date into what the regime reads.

Everything is cut at the as-of date before any number is computed, so a later row can never
change a past state. Faults raise DataError with the rule, the value seen and the next step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from quantalloc.errors import DataError
from quantalloc.regime.config import RegimeConfig, VolThresholds

DateLike = str | date | datetime | pd.Timestamp

MAX_AS_OF_STALENESS_DAYS = 5
"""An as-of date may lie this many calendar days after the last bar (a weekend, a holiday)."""


def _day(ts: pd.Timestamp) -> str:
    return str(ts.date())


def to_timestamp(value: DateLike, what: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{what} {value!r} is not a date; write it as YYYY-MM-DD") from exc
    if ts is pd.NaT:
        raise DataError(f"{what} {value!r} is not a date; write it as YYYY-MM-DD")
    return ts.tz_localize(None) if ts.tzinfo is not None else ts


def _naive(index: pd.Index) -> pd.DatetimeIndex:
    """``index`` as tz-naive local wall time (a tz-aware index keeps its local clock)."""
    out = pd.DatetimeIndex(index, name="date")
    return out.tz_localize(None) if out.tz is not None else out


def _check_index(frame: pd.DataFrame | pd.Series, name: str) -> None:
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise DataError(f"{name}: the index must hold dates (got {type(frame.index).__name__})")
    if len(frame.index) == 0:
        raise DataError(f"{name}: no rows; load some history first")
    if frame.index.has_duplicates:
        first = frame.index[frame.index.duplicated()][0]
        raise DataError(f"{name}: duplicate date {_day(first)}; remove the repeated rows")
    if not frame.index.is_monotonic_increasing:
        raise DataError(f"{name}: dates are not in increasing order; sort by date")


def price_frame(prices: pd.DataFrame | pd.Series, name: str = "prices") -> pd.DataFrame:
    """``prices`` as a float frame with ``high``, ``low``, ``close`` (a Series or a close-only
    frame gets high = low = close)."""
    if isinstance(prices, pd.Series):
        prices = prices.to_frame("close")
    if not isinstance(prices, pd.DataFrame):
        raise DataError(f"{name}: expected an OHLCV DataFrame or a close Series")
    cols = {str(c).lower(): c for c in prices.columns}
    if "close" not in cols:
        raise DataError(
            f"{name}: no 'close' column (found {list(prices.columns)}); "
            "pass a canonical OHLCV frame"
        )
    _check_index(prices, name)
    close = pd.to_numeric(prices[cols["close"]], errors="coerce").astype("float64")
    out = pd.DataFrame({"close": close})
    for col in ("high", "low"):
        out[col] = (
            pd.to_numeric(prices[cols[col]], errors="coerce").astype("float64")
            if col in cols
            else close
        )
    out.index = _naive(prices.index)
    bad = out.index[out.isna().any(axis=1) | (out <= 0).any(axis=1)]
    if len(bad):
        raise DataError(
            f"{name}: missing or non-positive prices on {len(bad)} rows (first {_day(bad[0])}); "
            "repair or drop them"
        )
    return out


def vol_series(vol_index: pd.DataFrame | pd.Series, name: str = "vol index") -> pd.Series:
    """The close of ``vol_index`` (a frame with ``close`` or a Series) as floats; NaNs dropped."""
    if isinstance(vol_index, pd.DataFrame):
        cols = {str(c).lower(): c for c in vol_index.columns}
        if "close" not in cols:
            raise DataError(
                f"{name}: no 'close' column (found {list(vol_index.columns)}); "
                "pass the vol-index OHLCV frame or its close Series"
            )
        series = vol_index[cols["close"]]
    elif isinstance(vol_index, pd.Series):
        series = vol_index
    else:
        raise DataError(f"{name}: expected a DataFrame or Series, got {type(vol_index).__name__}")
    _check_index(series, name)
    out = pd.to_numeric(series, errors="coerce").astype("float64")
    out.index = _naive(series.index)
    bad = out.index[out <= 0]
    if len(bad):
        raise DataError(
            f"{name}: non-positive readings on {len(bad)} rows (first {_day(bad[0])}); "
            "a volatility index is always above zero, repair the rows"
        )
    return out.dropna()


def resolve_as_of(index: pd.DatetimeIndex, as_of: DateLike | None, name: str) -> pd.Timestamp:
    """The last bar date on or before ``as_of`` (default: the last bar); DataError when
    ``as_of`` lies outside the data."""
    first, last = index[0], index[-1]
    if as_of is None:
        return last
    ts = to_timestamp(as_of, "as-of date")
    if ts < first.normalize():
        raise DataError(
            f"as-of {_day(ts)} is before the data ({name}: {_day(first)} .. {_day(last)}); "
            "choose a date inside that range"
        )
    if ts.normalize() > last.normalize() + pd.Timedelta(days=MAX_AS_OF_STALENESS_DAYS):
        raise DataError(
            f"as-of {_day(ts)} is after the data ({name}: {_day(first)} .. {_day(last)}); "
            "choose a date inside that range or load fresher data"
        )
    end = ts if ts != ts.normalize() else ts + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    return index[index <= end][-1]


def required_price_rows(cfg: RegimeConfig) -> tuple[int, str]:
    """Rows of price history the direction score needs, and the window that sets it."""
    t, p = cfg.technical, cfg.price_action
    needs = {
        f"the {t.ma_windows[2]}-day moving average": t.ma_windows[2],
        f"MACD {t.macd[0]}/{t.macd[1]}/{t.macd[2]}": t.macd[1] + t.macd[2] - 1,
        f"the {max(p.timeframes.values())}-day timeframe": max(p.timeframes.values()) + 1,
        f"the {p.volatility_window}-day return volatility": p.volatility_window + 1,
        f"the {t.bollinger_window}-day Bollinger Bands": t.bollinger_window,
        f"the {t.rsi_window}-day RSI": t.rsi_window + 1,
    }
    what = max(needs, key=lambda k: needs[k])
    return needs[what], what


def cut_prices(
    prices: pd.DataFrame, as_of: pd.Timestamp, cfg: RegimeConfig, name: str
) -> pd.DataFrame:
    """Rows up to ``as_of``; DataError when fewer than the longest window needs."""
    cut = prices.loc[prices.index <= as_of]
    need, what = required_price_rows(cfg)
    if len(cut) < need:
        raise DataError(
            f"{name}: {len(cut)} rows up to {_day(as_of)}, but {what} needs at least {need} "
            f"trading days of history; start the data earlier or choose a later as-of date"
        )
    return cut


@dataclass(frozen=True, slots=True)
class AlignedVol:
    """The vol index on the price calendar up to as-of, with the repairs made."""

    series: pd.Series
    filled_days: int
    filled_dates: tuple[pd.Timestamp, ...]


def align_vol(
    vol: pd.Series,
    price_dates: pd.DatetimeIndex,
    th: VolThresholds,
    name: str,
) -> AlignedVol:
    """``vol`` on ``price_dates`` (already cut at as-of); short gaps forward-filled.

    The last ``percentile_window`` price dates must all carry a reading after filling runs of at
    most ``max_gap_days`` missing days; otherwise DataError naming the gap or the shortfall.
    Readings on days the index did not trade are dropped. Older history is filled the same way
    and its unfillable days dropped (it only serves the days-since-spike count).
    """
    as_of = price_dates[-1]
    vol = vol.loc[vol.index <= as_of]
    window = th.percentile_window
    if vol.empty:
        raise DataError(
            f"{name}: no readings on or before {_day(as_of)}; the 1-year percentile needs "
            f"{window} trading days; load the vol index history"
        )
    on_calendar = vol.reindex(price_dates)
    recent = on_calendar.iloc[-window:]
    if len(recent) < window or recent.index[0] < vol.index[0]:
        have = int(on_calendar.loc[on_calendar.index >= vol.index[0]].shape[0])
        raise DataError(
            f"{name}: {have} trading days of readings up to {_day(as_of)} (from "
            f"{_day(vol.index[0])}), but the 1-year percentile needs {window}; "
            "start the vol index data earlier or choose a later as-of date"
        )
    missing = recent.isna().to_numpy()
    if missing.any():
        run_start, longest, longest_at = -1, 0, (0, 0)
        for i, flag in enumerate(missing):
            if flag and run_start < 0:
                run_start = i
            if run_start >= 0 and (not flag or i == len(missing) - 1):
                end = i if flag else i - 1
                if end - run_start + 1 > longest:
                    longest, longest_at = end - run_start + 1, (run_start, end)
                run_start = -1
        if longest > th.max_gap_days:
            a, b = recent.index[longest_at[0]], recent.index[longest_at[1]]
            raise DataError(
                f"{name}: no reading on {longest} consecutive trading days of the index "
                f"({_day(a)} .. {_day(b)}); at most {th.max_gap_days} may be filled from the "
                "previous reading; repair the vol index data"
            )
    filled = on_calendar.ffill(limit=th.max_gap_days)
    filled_dates = tuple(recent.index[missing])
    series = filled.dropna()
    return AlignedVol(series=series, filled_days=len(filled_dates), filled_dates=filled_dates)


def is_close_only(prices: pd.DataFrame) -> bool:
    """True when high == low == close on every row (a close-only source such as ^NSEI's CSV)."""
    return bool(
        np.allclose(prices["high"], prices["low"]) and np.allclose(prices["high"], prices["close"])
    )


__all__ = [
    "MAX_AS_OF_STALENESS_DAYS",
    "AlignedVol",
    "align_vol",
    "cut_prices",
    "is_close_only",
    "price_frame",
    "required_price_rows",
    "resolve_as_of",
    "to_timestamp",
    "vol_series",
]
