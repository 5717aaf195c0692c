"""Indicators against hand-computed values and identities on small series written out here."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantalloc.errors import DataError
from quantalloc.regime import indicators as ind


def s(values: list[float]) -> pd.Series:
    return pd.Series(values, index=pd.bdate_range("2024-01-01", periods=len(values)), dtype=float)


# --- SMA / EMA: hand arithmetic --------------------------------------------------------------


def test_sma_hand_values() -> None:
    out = ind.sma(s([1, 2, 3, 4, 5]), 3)
    assert out.iloc[:2].isna().all()
    # (1+2+3)/3, (2+3+4)/3, (3+4+5)/3
    assert out.iloc[2:].tolist() == [2.0, 3.0, 4.0]


def test_ema_hand_values_span_3() -> None:
    # span 3 -> a = 2/(3+1) = 0.5; seed = mean(2, 4, 6) = 4 on the third row, then
    # 0.5*8 + 0.5*4 = 6; 0.5*12 + 0.5*6 = 9; 0.5*10 + 0.5*9 = 9.5
    out = ind.ema(s([2, 4, 6, 8, 12, 10]), 3)
    assert out.iloc[:2].isna().all()
    assert out.iloc[2:].tolist() == pytest.approx([4.0, 6.0, 9.0, 9.5], abs=1e-12)


def test_ema_hand_values_span_4() -> None:
    # span 4 -> a = 0.4; seed = mean(10, 11, 12, 13) = 11.5; then 0.4*10 + 0.6*11.5 = 10.9
    out = ind.ema(s([10, 11, 12, 13, 10]), 4)
    assert out.iloc[3] == pytest.approx(11.5)
    assert out.iloc[4] == pytest.approx(10.9)


def test_ema_of_a_straight_line_lags_by_half_its_span() -> None:
    # Identity: on x_t = a + b t the SMA seed lags by b(n-1)/2, and the EMA recursion keeps that
    # lag exactly, since (1-a)/a = (span-1)/2. So EMA_t = x_t - b(span-1)/2 from the seed on.
    line = s([5.0 + 0.5 * t for t in range(60)])
    for span in (3, 12, 26):
        out = ind.ema(line, span)
        expected = line - 0.5 * (span - 1) / 2
        assert np.allclose(out.iloc[span - 1 :], expected.iloc[span - 1 :], atol=1e-10)


def test_ema_skips_leading_nans_and_rejects_holes() -> None:
    out = ind.ema(s([np.nan, np.nan, 1, 2, 3]), 2)
    # a = 2/3; seed = mean(1, 2) = 1.5 on row 3; then 2/3*3 + 1/3*1.5 = 2.5
    assert out.iloc[:3].isna().all()
    assert out.iloc[3:].tolist() == pytest.approx([1.5, 2.5])
    with pytest.raises(DataError, match="missing values after the first valid"):
        ind.ema(s([1, 2, np.nan, 4]), 2)
    with pytest.raises(ValueError, match="positive whole number"):
        ind.sma(s([1, 2, 3]), 0)


# --- RSI ----------------------------------------------------------------------------------------

# The worked example of StockCharts' ChartSchool RSI article (closes of a 20-day stretch).
CHARTSCHOOL_CLOSES = [
    44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08,
    45.89, 46.03, 45.61, 46.28, 46.28, 46.00,
]  # fmt: skip


def test_rsi_matches_hand_computation_on_the_chartschool_example() -> None:
    out = ind.rsi(s(CHARTSCHOOL_CLOSES), 14)
    assert out.iloc[:14].isna().all()
    # The 14 changes: gains sum 0.06+0.72+0.50+0.27+0.32+0.42+0.24+0.14+0.67 = 3.34,
    # losses sum 0.25+0.54+0.19+0.42 = 1.40; first RSI = 100*G/(G+L) = 100*3.34/4.74.
    g0, l0 = 3.34 / 14, 1.40 / 14
    assert out.iloc[14] == pytest.approx(100 * 3.34 / 4.74, abs=1e-9)
    # Next close 46.00 is a loss of 0.28: Wilder's step G=(13 G0 + 0)/14, L=(13 L0 + 0.28)/14.
    g1, l1 = 13 * g0 / 14, (13 * l0 + 0.28) / 14
    assert out.iloc[15] == pytest.approx(100 * g1 / (g1 + l1), abs=1e-9)
    # ChartSchool prints 70.53 and 66.32, computed from averages rounded to two decimals.
    assert abs(out.iloc[14] - 70.53) < 0.1 and abs(out.iloc[15] - 66.32) < 0.1


def test_rsi_of_monotonic_and_flat_series() -> None:
    up = s([100 + 1.5 * t for t in range(40)])
    down = s([100 - 1.5 * t for t in range(40)])
    flat = s([50.0] * 40)
    assert (ind.rsi(up).dropna() == 100.0).all()  # no losses: RS infinite
    assert (ind.rsi(down).dropna() == 0.0).all()  # no gains
    assert (ind.rsi(flat).dropna() == 50.0).all()  # neither: reported as the midpoint
    assert ind.rsi(up).notna().sum() == 40 - 14


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(1.0, 1000.0), min_size=20, max_size=80))
def test_rsi_stays_in_0_100(values: list[float]) -> None:
    out = ind.rsi(s(values), 14).dropna()
    assert ((out >= 0) & (out <= 100)).all()


# --- MACD ---------------------------------------------------------------------------------------


def test_macd_of_a_constant_is_zero() -> None:
    out = ind.macd(s([42.0] * 60))
    assert out["macd"].first_valid_index() == out.index[25]  # 26-day EMA seeded on row 26
    assert out["signal"].first_valid_index() == out.index[33]  # plus 9 rows of MACD
    assert (out.dropna().abs() < 1e-12).all().all()


def test_macd_of_a_straight_line_is_seven_times_its_slope() -> None:
    # From the EMA lag identity: EMA12 lags by 5.5 b, EMA26 by 12.5 b, so MACD = 7 b exactly,
    # its signal line (EMA of a constant) too, and the histogram is 0.
    b = 0.8
    out = ind.macd(s([100 + b * t for t in range(80)]))
    valid = out.dropna()
    assert np.allclose(valid["macd"], 7 * b) and np.allclose(valid["signal"], 7 * b)
    assert np.allclose(valid["hist"], 0.0, atol=1e-10)
    with pytest.raises(ValueError, match="fast span must be shorter"):
        ind.macd(s([1.0] * 40), fast=26, slow=12)


# --- Bollinger Bands ----------------------------------------------------------------------------


def test_bollinger_of_a_constant_has_zero_width() -> None:
    out = ind.bollinger_bands(s([7.0] * 30)).dropna(subset=["middle"])
    assert (out["width"] == 0).all()
    assert (out["upper"] == out["lower"]).all() and (out["middle"] == 7.0).all()
    assert out["percent_b"].isna().all()  # 0/0: undefined, not made up


def test_bollinger_hand_values() -> None:
    # window 5 on 1..5: mean 3, population sd sqrt(((-2)^2+1+0+1+2^2)/5) = sqrt(2)
    out = ind.bollinger_bands(s([1, 2, 3, 4, 5]), window=5, k=2.0).iloc[-1]
    assert out["middle"] == 3.0
    assert out["upper"] == pytest.approx(3 + 2 * math.sqrt(2))
    assert out["lower"] == pytest.approx(3 - 2 * math.sqrt(2))
    assert out["width"] == pytest.approx(4 * math.sqrt(2) / 3)
    # %B of the close 5: (5 - lower) / (upper - lower) = (2 + 2 sqrt2) / (4 sqrt2)
    assert out["percent_b"] == pytest.approx((2 + 2 * math.sqrt(2)) / (4 * math.sqrt(2)))


# --- ATR, support / resistance ------------------------------------------------------------------


def test_true_range_and_wilder_atr_hand_values() -> None:
    high = s([10.0, 10.5, 12.0, 11.9, 11.2])
    low = s([9.0, 9.8, 11.5, 10.9, 10.0])
    close = s([9.5, 10.2, 11.8, 11.0, 10.1])
    # TR: 10-9 = 1 (no previous close); max(0.7, |10.5-9.5|, |9.8-9.5|) = 1.0;
    # max(0.5, |12-10.2|, |11.5-10.2|) = 1.8 (gap up); max(1.0, 0.1, 0.9) = 1.0;
    # max(1.2, |11.2-11|, |10-11|) = 1.2
    assert ind.true_range(high, low, close).tolist() == pytest.approx([1.0, 1.0, 1.8, 1.0, 1.2])
    out = ind.atr(high, low, close, window=3)
    seed = (1.0 + 1.0 + 1.8) / 3
    step1 = (seed * 2 + 1.0) / 3
    step2 = (step1 * 2 + 1.2) / 3
    assert out.iloc[:2].isna().all()
    assert out.iloc[2:].tolist() == pytest.approx([seed, step1, step2])


def test_support_resistance_hand_values() -> None:
    out = ind.support_resistance(s([5, 7, 6, 9, 8]), s([4, 5, 3, 6, 7]), window=3)
    assert out["support"].iloc[2:].tolist() == [3.0, 3.0, 3.0]
    assert out["resistance"].iloc[2:].tolist() == [7.0, 9.0, 9.0]


# --- momentum and trend -------------------------------------------------------------------------


def test_momentum_and_trend_of_an_exponential_series() -> None:
    # close = 100 e^{0.01 t}: log price is a straight line of slope 0.01, so the fitted log
    # change over n rows is 0.01 (n-1) and the n-row return is e^{0.01 n} - 1, exactly.
    close = s([100 * math.exp(0.01 * t) for t in range(100)])
    frame = ind.multi_timeframe(close)
    for label, n in ind.TIMEFRAMES.items():
        assert frame[f"momentum_{label}"].dropna().to_numpy() == pytest.approx(
            math.exp(0.01 * n) - 1
        )
        assert frame[f"trend_{label}"].dropna().to_numpy() == pytest.approx(0.01 * (n - 1))
        assert frame[f"trend_{label}"].notna().sum() == 100 - n + 1
    assert sum(ind.TIMEFRAME_WEIGHTS.values()) == pytest.approx(1.0)
    assert ind.TIMEFRAMES == {"1W": 5, "2W": 10, "1M": 21, "3M": 63}


def test_trend_ignores_a_single_outlier_more_than_momentum() -> None:
    base = [100.0] * 30
    spiked = [*base[:-1], 110.0]  # only the last day jumps 10%
    assert ind.momentum(s(spiked), 21).iloc[-1] == pytest.approx(0.10)
    assert 0 < ind.trend(s(spiked), 21).iloc[-1] < 0.05


def test_weighted_timeframe_score_skips_nan() -> None:
    values = {"1W": 1.0, "2W": float("nan"), "1M": -1.0, "3M": 0.0}
    # weights 0.15, (0.20 dropped), 0.30, 0.35 -> (0.15 - 0.30) / 0.80
    assert ind.weighted_timeframe_score(values) == pytest.approx(-0.15 / 0.80)
    assert math.isnan(ind.weighted_timeframe_score({}))


# --- causality ----------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.floats(10.0, 200.0), min_size=70, max_size=90),
    st.lists(st.floats(10.0, 200.0), min_size=1, max_size=20),
)
def test_indicators_never_look_ahead(past: list[float], future: list[float]) -> None:
    """Appending rows never changes an earlier value (every indicator is causal)."""
    short, longer = s(past), s(past + future)
    n = len(short)
    pairs = [
        (ind.sma(short, 20), ind.sma(longer, 20)),
        (ind.ema(short, 12), ind.ema(longer, 12)),
        (ind.rsi(short), ind.rsi(longer)),
        (ind.atr(short * 1.01, short * 0.99, short), ind.atr(longer * 1.01, longer * 0.99, longer)),
        (ind.trend(short, 21), ind.trend(longer, 21)),
    ]
    for a, b in pairs:
        pd.testing.assert_series_equal(a, b.iloc[:n], check_names=False)
    pd.testing.assert_frame_equal(ind.macd(short), ind.macd(longer).iloc[:n])
    pd.testing.assert_frame_equal(ind.bollinger_bands(short), ind.bollinger_bands(longer).iloc[:n])
