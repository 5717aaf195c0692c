"""Indicators computed for many lengths at once (compiled), for batch backtests."""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def _sma_matrix(values: np.ndarray, windows: np.ndarray) -> np.ndarray:
    n = values.shape[0]
    out = np.full((windows.shape[0], n), np.nan)
    for k in range(windows.shape[0]):
        w = windows[k]
        total = 0.0
        comp = 0.0  # Kahan compensation: the window sum stays correctly rounded
        for t in range(n):
            y = values[t] - comp
            s = total + y
            comp = (s - total) - y
            total = s
            if t >= w:
                y = -values[t - w] - comp
                s = total + y
                comp = (s - total) - y
                total = s
            if t >= w - 1:
                out[k, t] = total / w
    return out


def sma_matrix(values: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """Simple moving averages, shape ``(len(windows), len(values))``; NaN before a full window.

    Each row ``k`` is the mean of the last ``windows[k]`` values up to and including each bar
    (so it uses nothing after that bar), from a compensated (Kahan) running sum, so a close
    equal to its average compares equal, as with pandas' rolling mean.
    """
    w = np.asarray(windows, dtype=np.int64)
    if w.ndim != 1 or (w < 1).any():
        raise ValueError("windows must be a 1-D array of lengths >= 1")
    return _sma_matrix(np.ascontiguousarray(values, dtype=float), w)


def above_below(close: np.ndarray, level: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(bars, k)`` booleans close > level and close <= level, both False where level is NaN.

    ``level`` has shape ``(k, bars)`` as returned by :func:`sma_matrix`.
    """
    known = ~np.isnan(level)
    above = known & (close[None, :] > np.where(known, level, np.inf))
    below = known & ~above
    return above.T, below.T
