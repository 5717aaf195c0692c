"""Strike grids and strike-placement rules (delta targets or % out of the money).

``strike_step(spot, market)`` approximates the listed strike interval of a market:

- ``in`` (NSE-like, by underlying price band): up to 50 -> 1; 100 -> 2.5; 250 -> 5; 500 -> 10;
  1,000 -> 20; 2,500 -> 50; 5,000 -> 100; 10,000 -> 250; above -> 500. The NIFTY 50 index
  (``^NSEI``) lists every 50 points.
- ``us`` (typical intervals of liquid US names): below 25 -> 0.5; 100 -> 1; 200 -> 2.5;
  500 -> 5; above -> 10. SPY lists every 1.00.

When the listed strikes are known (from a chain), pass them instead: rounding then picks the
nearest listed strike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtri

from quantalloc.errors import ConfigError, DataError
from quantalloc.markets import get_market

_IN_BANDS: tuple[tuple[float, float], ...] = (
    (50.0, 1.0),
    (100.0, 2.5),
    (250.0, 5.0),
    (500.0, 10.0),
    (1_000.0, 20.0),
    (2_500.0, 50.0),
    (5_000.0, 100.0),
    (10_000.0, 250.0),
    (float("inf"), 500.0),
)
_US_BANDS: tuple[tuple[float, float], ...] = (
    (25.0, 0.5),
    (100.0, 1.0),
    (200.0, 2.5),
    (500.0, 5.0),
    (float("inf"), 10.0),
)
_INDEX_STEPS = {"^NSEI": 50.0, "NIFTY": 50.0, "SPY": 1.0}


def strike_step(spot: float, market: str = "us", symbol: str | None = None) -> float:
    """Listed strike interval for an underlying at ``spot`` in ``market`` (see module notes)."""
    if not np.isfinite(spot) or spot <= 0:
        raise DataError(f"spot must be a positive price to pick a strike step, got {spot}")
    if symbol is not None and symbol.upper() in _INDEX_STEPS:
        return _INDEX_STEPS[symbol.upper()]
    name = get_market(market).name
    bands = _IN_BANDS if name == "in" else _US_BANDS
    for upper, step in bands:
        if spot <= upper:
            return step
    return bands[-1][1]  # pragma: no cover - the last band is unbounded


@dataclass(frozen=True, slots=True)
class StrikeGrid:
    """Where strikes may sit: multiples of ``step`` or, when given, the ``listed`` strikes."""

    step: float
    listed: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not np.isfinite(self.step) or self.step <= 0:
            raise ConfigError(f"strike step must be positive, got {self.step}")

    def round(self, strike: float) -> float:
        """Nearest allowed strike (never below one step)."""
        if self.listed:
            arr = np.asarray(self.listed, dtype=float)
            return float(arr[np.argmin(np.abs(arr - strike))])
        return float(max(np.round(strike / self.step), 1.0) * self.step)

    def shift(self, strike: float, n: int) -> float:
        """The allowed strike ``n`` places above (n > 0) or below (n < 0) ``strike``."""
        if self.listed:
            arr = np.unique(np.asarray(self.listed, dtype=float))
            i = int(np.argmin(np.abs(arr - strike))) + n
            if i < 0 or i >= arr.size:
                raise DataError(
                    f"no listed strike {abs(n)} place(s) {'above' if n > 0 else 'below'} "
                    f"{strike:g}; the chain lists {arr[0]:g} .. {arr[-1]:g}"
                )
            return float(arr[i])
        out = strike + n * self.step
        if out <= 0:
            raise DataError(
                f"a strike {abs(n)} step(s) below {strike:g} would be {out:g} (not positive); "
                "use a narrower wing"
            )
        return float(out)

    def wing(self, strike: float, width: float, up: bool) -> float:
        """A strike about ``width`` away from ``strike`` (at least one grid place away)."""
        target = strike + width if up else strike - width
        out = self.round(target) if target > 0 else strike
        if (up and out <= strike) or (not up and out >= strike):
            out = self.shift(strike, 1 if up else -1)
        return out


@dataclass(frozen=True, slots=True)
class StrikeRule:
    """Where to place a strike: at an absolute ``delta`` (0 < delta < 1) or ``otm`` fraction.

    ``otm`` is the distance out of the money as a fraction of spot (calls above spot, puts below;
    negative for in the money; 0 for at the money). Exactly one of the two must be set.
    """

    delta: float | None = None
    otm: float | None = None

    def __post_init__(self) -> None:
        if (self.delta is None) == (self.otm is None):
            raise ConfigError("a StrikeRule needs exactly one of delta=... or otm=...")
        if self.delta is not None and not 0.0 < self.delta < 1.0:
            raise ConfigError(f"delta target must be in (0, 1), got {self.delta}")
        if self.otm is not None and not -1.0 < self.otm < 10.0:
            raise ConfigError(f"otm fraction must be in (-1, 10), got {self.otm}")


ATM = StrikeRule(otm=0.0)
VolFn = Callable[[np.ndarray, float], np.ndarray]


def strike_for_delta(
    kind: str,
    delta: float,
    spot: float,
    t: float,
    rate: float,
    vol: float | VolFn,
    dividend: float = 0.0,
) -> float:
    """The strike whose Black-Scholes delta is ``+delta`` (call) or ``-delta`` (put).

    ``vol`` is a number or a function ``vol(strikes, t)`` (a skew); with a function the strike is
    found by a few fixed-point passes (vol at the strike, then the strike at that vol).
    """
    if not 0.0 < delta < 1.0:
        raise ConfigError(f"delta target must be in (0, 1), got {delta}")
    scaled = delta * np.exp(dividend * t)
    if scaled >= 1.0:
        raise ConfigError(
            f"delta {delta} is out of reach with dividend yield {dividend} over {t:g} years"
        )
    d1 = float(ndtri(scaled)) if kind == "call" else -float(ndtri(scaled))
    strike = spot
    for _ in range(8 if callable(vol) else 1):
        sigma = float(np.asarray(vol(np.array([strike]), t))[0]) if callable(vol) else float(vol)
        if not np.isfinite(sigma) or sigma <= 0:
            raise DataError(f"vol at strike {strike:g} is {sigma}; need a positive vol")
        sv = sigma * np.sqrt(t)
        strike = float(spot * np.exp(-d1 * sv + (rate - dividend + 0.5 * sigma * sigma) * t))
    return strike


def nearest_strikes(strikes: ArrayLike, target: float) -> float:
    """The element of ``strikes`` closest to ``target``."""
    arr = np.asarray(strikes, dtype=float)
    if arr.size == 0:
        raise DataError("no strikes to choose from")
    return float(arr[np.argmin(np.abs(arr - target))])


__all__ = [
    "ATM",
    "StrikeGrid",
    "StrikeRule",
    "VolFn",
    "nearest_strikes",
    "strike_for_delta",
    "strike_step",
]
