"""Temporary stand-in for ``quantalloc.options`` until the options engine lands in main.

Same call signatures as the real module: ``black_scholes(kind, spot, strike, t, rate, vol,
dividend=0.0)`` returning an object with ``price`` (and ``delta``), and ``SkewModel`` with
``vol(atm_vol, spot, strike, t)``: the piecewise-linear put skew in time-normalised
log-moneyness the options engine documents. Delete this file once ``quantalloc.options``
exports both (the wheel imports the real ones first).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr


@dataclass(frozen=True)
class _Result:
    price: float
    delta: float


def black_scholes(
    kind: str, spot: float, strike: float, t: float, rate: float, vol: float, dividend: float = 0.0
) -> _Result:
    """Black-Scholes-Merton price and delta of one European option (t > 0, vol > 0)."""
    sd = vol * math.sqrt(t)
    d1 = (math.log(spot / strike) + (rate - dividend + 0.5 * vol * vol) * t) / sd
    d2 = d1 - sd
    df_q, df_r = math.exp(-dividend * t), math.exp(-rate * t)
    if kind == "call":
        return _Result(spot * df_q * ndtr(d1) - strike * df_r * ndtr(d2), df_q * ndtr(d1))
    return _Result(strike * df_r * ndtr(-d2) - spot * df_q * ndtr(-d1), -df_q * ndtr(-d1))


@dataclass(frozen=True)
class SkewModel:
    """vol(K) = atm * clip(1 - slope * ln(K/S) / sqrt(max(t, 1/52))), put or call slope."""

    put_slope: float = 1.0
    call_slope: float = 0.3
    min_factor: float = 0.5
    max_factor: float = 3.0

    def vol(self, atm_vol: float, spot: float, strike: float, t: float) -> float:
        x = math.log(strike / spot) / math.sqrt(max(t, 1.0 / 52.0))
        slope = self.put_slope if x < 0 else self.call_slope
        return float(atm_vol * np.clip(1.0 - slope * x, self.min_factor, self.max_factor))
