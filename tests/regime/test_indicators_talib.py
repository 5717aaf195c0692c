"""Indicators side by side with TA-Lib (the C library's Python wrapper) on 18 years of S&P 500.

Two documented seeding differences show only in the warm-up: TA-Lib's MACD starts its fast EMA
where the slow one starts, and its ATR leaves out the first bar's range (no previous close).
Both fade geometrically, so values are compared after a 300-row warm-up, to 1e-9 relative.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantalloc.regime import indicators as ind

talib = pytest.importorskip("talib")

WARM = 300


def _same(ours: pd.Series, theirs: np.ndarray, warm: int = 0) -> None:
    a = np.asarray(ours, dtype=float)[warm:]
    b = np.asarray(theirs, dtype=float)[warm:]
    assert np.array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a[~np.isnan(a)], b[~np.isnan(b)], rtol=1e-9, atol=1e-9)


def test_matches_talib_on_the_sp500(us_frames) -> None:
    px = us_frames["^GSPC"]
    h, lo, c = px["high"], px["low"], px["close"]
    hv, lv, cv = h.to_numpy(), lo.to_numpy(), c.to_numpy()
    _same(ind.sma(c, 20), talib.SMA(cv, 20))
    _same(ind.ema(c, 26), talib.EMA(cv, 26))  # both seed with the 26-row mean
    _same(ind.rsi(c, 14), talib.RSI(cv, 14))  # Wilder, seeded with the 14-change mean
    ours, theirs = ind.macd(c, 12, 26, 9), talib.MACD(cv, 12, 26, 9)
    for col, ref in zip(("macd", "signal", "hist"), theirs, strict=True):
        _same(ours[col], ref, WARM)
    bands = ind.bollinger_bands(c, 20, 2.0)
    upper, middle, lower = talib.BBANDS(cv, 20, 2.0, 2.0, 0)
    for col, ref in (("upper", upper), ("middle", middle), ("lower", lower)):
        _same(bands[col], ref)
    _same(ind.atr(h, lo, c, 14), talib.ATR(hv, lv, cv, 14), WARM)
    _same(ind.true_range(h, lo, c).iloc[1:], talib.TRANGE(hv, lv, cv)[1:])
    sr = ind.support_resistance(h, lo, 20)
    _same(sr["support"], talib.MIN(lv, 20))
    _same(sr["resistance"], talib.MAX(hv, 20))
    _same(ind.momentum(c, 21), talib.ROCR(cv, 21) - 1.0)
    # trend = least-squares slope of log price times (window - 1)
    _same(ind.trend(c, 21), talib.LINEARREG_SLOPE(np.log(cv), 21) * 20)
