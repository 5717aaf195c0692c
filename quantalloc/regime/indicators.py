"""Technical indicators: pure functions, pandas Series in, Series (or a frame of Series) out.

Every function is causal (the value on a day uses that day and earlier ones only) and keeps the
input's index. Warm-up rows, where the window is not yet full, are NaN.

Conventions, chosen to match the usual references (Wilder 1978; Appel's MACD; Bollinger):

- :func:`ema` is seeded with the simple mean of its first ``span`` values (the TA-Lib and
  StockCharts convention), then follows ``y[t] = a*x[t] + (1-a)*y[t-1]`` with ``a = 2/(span+1)``.
- :func:`rsi` and :func:`atr` use Wilder's smoothing: a simple mean of the first ``window`` values,
  then ``y[t] = (y[t-1]*(window-1) + x[t]) / window`` (an EMA with ``a = 1/window``).
- :func:`bollinger_bands` uses the population standard deviation (ddof=0), as Bollinger does.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from quantalloc.errors import DataError

TIMEFRAMES: dict[str, int] = {"1W": 5, "2W": 10, "1M": 21, "3M": 63}
"""Look-back of each timeframe in trading days (one week, two weeks, one month, three months)."""

TIMEFRAME_WEIGHTS: dict[str, float] = {"1W": 0.15, "2W": 0.20, "1M": 0.30, "3M": 0.35}
"""Default weight of each timeframe in the multi-timeframe scores (they sum to 1).

Longer horizons weigh more: a regime is a multi-week call, and a one-week move is mostly noise
(its signal-to-noise ratio is half that of a one-month move for a random walk with drift), but the
short horizons keep enough weight that a sharp sell-off shows within days.
"""


def _as_float_series(values: pd.Series, name: str) -> pd.Series:
    if not isinstance(values, pd.Series):
        raise TypeError(f"{name}: expected a pandas Series, got {type(values).__name__}")
    out = values if values.dtype == np.float64 else values.astype("float64")
    missing = np.isnan(out.to_numpy())
    if missing.any():
        valid = np.flatnonzero(~missing)
        if len(valid):
            holes = np.flatnonzero(missing[valid[0] :]) + valid[0]
            if len(holes):
                raise DataError(
                    f"{name}: {len(holes)} missing values after the first valid one "
                    f"(first at {out.index[holes[0]]}); fill or drop them before computing"
                )
    return out


def _check_window(window: int, name: str) -> int:
    if int(window) != window or window < 1:
        raise ValueError(f"{name}: window must be a positive whole number, got {window!r}")
    return int(window)


def _seeded_ewm(values: pd.Series, window: int, alpha: float) -> pd.Series:
    """EMA with factor ``alpha`` seeded by the mean of the first ``window`` valid values."""
    out = pd.Series(np.nan, index=values.index, dtype="float64")
    arr = values.to_numpy(dtype="float64")
    valid = np.flatnonzero(~np.isnan(arr))
    if len(valid) < window:
        return out
    start = int(valid[0])
    seed_at = start + window - 1
    seeded = np.full(len(arr), np.nan)
    seeded[seed_at] = arr[start : seed_at + 1].mean()
    seeded[seed_at + 1 :] = arr[seed_at + 1 :]
    smoothed = pd.Series(seeded, index=values.index).ewm(alpha=alpha, adjust=False).mean()
    out.iloc[seed_at:] = smoothed.iloc[seed_at:]
    return out


def sma(close: pd.Series, window: int) -> pd.Series:
    """Simple moving average over ``window`` rows."""
    window = _check_window(window, "sma")
    return _as_float_series(close, "sma").rolling(window, min_periods=window).mean()


def ema(close: pd.Series, span: int) -> pd.Series:
    """Exponential moving average, ``a = 2/(span+1)``, seeded with the mean of the first span."""
    span = _check_window(span, "ema")
    return _seeded_ewm(_as_float_series(close, "ema"), span, 2.0 / (span + 1.0))


def wilder_smooth(values: pd.Series, window: int) -> pd.Series:
    """Wilder's running average: seed with a simple mean, then ``a = 1/window``."""
    window = _check_window(window, "wilder_smooth")
    return _seeded_ewm(_as_float_series(values, "wilder_smooth"), window, 1.0 / window)


def rsi(close: pd.Series, window: int = 14) -> pd.Series:
    """Wilder's Relative Strength Index in [0, 100].

    ``RSI = 100 * G / (G + L)`` with G, L the Wilder averages of gains and losses. A series that
    only rises has RSI 100, one that only falls 0; a flat stretch (G = L = 0) is reported as 50.
    """
    window = _check_window(window, "rsi")
    change = _as_float_series(close, "rsi").diff()
    gain = wilder_smooth(change.clip(lower=0.0), window)
    loss = wilder_smooth((-change).clip(lower=0.0), window)
    total = gain + loss
    out = 100.0 * gain / total.where(total > 0)
    return out.where(~(total == 0), 50.0).rename("rsi")


def macd(close: pd.Series, fast: int = 12, slow: int = 26, signal: int = 9) -> pd.DataFrame:
    """Appel's MACD: columns ``macd`` (EMA fast - EMA slow), ``signal`` (its EMA) and ``hist``."""
    if not fast < slow:
        raise ValueError(f"macd: fast span must be shorter than slow, got {fast} >= {slow}")
    line = ema(close, fast) - ema(close, slow)
    sig = ema(line, signal)
    return pd.DataFrame({"macd": line, "signal": sig, "hist": line - sig})


def bollinger_bands(close: pd.Series, window: int = 20, k: float = 2.0) -> pd.DataFrame:
    """Bollinger Bands: ``middle`` (SMA), ``upper``/``lower`` (+-k population sd), ``width``
    ((upper-lower)/middle) and ``percent_b`` ((close-lower)/(upper-lower); NaN where the bands
    collapse to a line, as for a constant series)."""
    window = _check_window(window, "bollinger_bands")
    series = _as_float_series(close, "bollinger_bands")
    middle = series.rolling(window, min_periods=window).mean()
    sd = series.rolling(window, min_periods=window).std(ddof=0)
    upper, lower = middle + k * sd, middle - k * sd
    span = upper - lower
    return pd.DataFrame(
        {
            "middle": middle,
            "upper": upper,
            "lower": lower,
            "width": span / middle,
            "percent_b": (series - lower) / span.where(span > 0),
        }
    )


def true_range(high: pd.Series, low: pd.Series, close: pd.Series) -> pd.Series:
    """``max(high-low, |high-prev close|, |low-prev close|)``; the first row is ``high-low``."""
    h, lo, c = (_as_float_series(s, "true_range") for s in (high, low, close))
    prev = c.shift(1)
    ranges = pd.concat([h - lo, (h - prev).abs(), (lo - prev).abs()], axis=1)
    return ranges.max(axis=1, skipna=True).rename("true_range")


def atr(high: pd.Series, low: pd.Series, close: pd.Series, window: int = 14) -> pd.Series:
    """Wilder's Average True Range: Wilder's average of :func:`true_range`."""
    return wilder_smooth(true_range(high, low, close), window).rename("atr")


def support_resistance(high: pd.Series, low: pd.Series, window: int = 20) -> pd.DataFrame:
    """Rolling ``support`` (lowest low) and ``resistance`` (highest high) of the last ``window``
    rows, today included."""
    window = _check_window(window, "support_resistance")
    h = _as_float_series(high, "support_resistance")
    lo = _as_float_series(low, "support_resistance")
    return pd.DataFrame(
        {
            "support": lo.rolling(window, min_periods=window).min(),
            "resistance": h.rolling(window, min_periods=window).max(),
        }
    )


def momentum(close: pd.Series, window: int) -> pd.Series:
    """Simple return over ``window`` rows: ``close[t] / close[t-window] - 1``."""
    window = _check_window(window, "momentum")
    series = _as_float_series(close, "momentum")
    return (series / series.shift(window) - 1.0).rename(f"momentum_{window}")


def trend(close: pd.Series, window: int) -> pd.Series:
    """Least-squares trend of log price over the last ``window`` rows, as a log change.

    The slope of the straight line fitted to ``log(close)`` against ``0..window-1``, times
    ``window-1``: the log move the fitted line makes across the window. Less sensitive to a single
    day than :func:`momentum`, which only looks at the two end points.
    """
    window = _check_window(window, "trend")
    if window < 2:
        raise ValueError(f"trend: window must be at least 2, got {window}")
    series = _as_float_series(close, "trend")
    logs = np.log(series.to_numpy(dtype="float64"))
    out = np.full(len(logs), np.nan)
    if len(logs) >= window:
        x = np.arange(window, dtype="float64")
        w = (x - x.mean()) / ((x - x.mean()) ** 2).sum()
        windows = np.lib.stride_tricks.sliding_window_view(logs, window)
        out[window - 1 :] = windows @ w * (window - 1)
    return pd.Series(out, index=series.index, name=f"trend_{window}")


def multi_timeframe(close: pd.Series, timeframes: Mapping[str, int] | None = None) -> pd.DataFrame:
    """Momentum and trend of ``close`` for each timeframe: columns ``momentum_1W``,
    ``trend_1W``, ... (default timeframes :data:`TIMEFRAMES`)."""
    frames = dict(timeframes or TIMEFRAMES)
    cols: dict[str, pd.Series] = {}
    for label, days in frames.items():
        cols[f"momentum_{label}"] = momentum(close, days)
        cols[f"trend_{label}"] = trend(close, days)
    return pd.DataFrame(cols, index=close.index)


def weighted_timeframe_score(
    values: Mapping[str, float], weights: Mapping[str, float] | None = None
) -> float:
    """Weighted mean of per-timeframe values (labels as in :data:`TIMEFRAMES`); NaNs are skipped
    and the remaining weights renormalised. NaN when nothing is left."""
    wts = dict(weights or TIMEFRAME_WEIGHTS)
    num = den = 0.0
    for label, w in wts.items():
        v = values.get(label, float("nan"))
        if v is not None and np.isfinite(v) and w > 0:
            num += w * float(v)
            den += w
    return num / den if den > 0 else float("nan")


__all__ = [
    "TIMEFRAMES",
    "TIMEFRAME_WEIGHTS",
    "atr",
    "bollinger_bands",
    "ema",
    "macd",
    "momentum",
    "multi_timeframe",
    "rsi",
    "sma",
    "support_resistance",
    "trend",
    "true_range",
    "weighted_timeframe_score",
    "wilder_smooth",
]
