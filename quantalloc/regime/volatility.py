"""Volatility regime from a volatility index (VIX, India VIX): low, normal, high or spike.

Rules, in order (thresholds per market in ``models/regime.toml``):

1. **spike** when the level is at or above ``spike_from``, or when it is in the high band and at
   least ``spike_jump`` above its 20-day mean (a sudden jump into high volatility);
2. **high** when the level is at or above ``high_from``; **low** when below ``low_below``;
3. in the middle band the 1-year percentile decides: at or above ``percentile_high`` reads as
   high, at or below ``percentile_low`` as low, else normal;
4. within ``spike_cooldown_days`` trading days after a spike the regime is never called low
   (volatility clusters: a calm day right after a spike is not a calm market).

The 5- and 20-day means and their trend (``rising``/``falling``/``flat`` when the 5-day mean is
beyond +-``trend_band`` of the 20-day one) are reported alongside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from quantalloc.errors import DataError
from quantalloc.regime.config import VolThresholds

REGIMES: tuple[str, ...] = ("low", "normal", "high", "spike")


@dataclass(frozen=True, slots=True)
class VolRegime:
    """The volatility regime on one day and the figures it was read from."""

    regime: str
    level: float
    percentile: float | None
    ma5: float | None
    ma20: float | None
    trend: str
    days_since_spike: int | None
    reason: str

    @property
    def spike(self) -> bool:
        """True when the regime is ``spike``."""
        return self.regime == "spike"

    @property
    def level_for_state(self) -> str:
        """The regime used in the state name: ``spike`` folds into ``high``."""
        return "high" if self.regime == "spike" else self.regime


def spike_flags(vol: pd.Series, th: VolThresholds) -> pd.Series:
    """Per day: True where rule 1 calls a spike (level or jump above the 20-day mean)."""
    ma20 = vol.rolling(20, min_periods=20).mean()
    jump = (vol >= th.high_from) & (vol >= ma20 * (1.0 + th.spike_jump))
    return (vol >= th.spike_from) | jump.fillna(False)


def _band(level: float, th: VolThresholds) -> str:
    if level >= th.high_from:
        return "high"
    if level < th.low_below:
        return "low"
    return "normal"


def classify_level(
    level: float,
    th: VolThresholds,
    *,
    percentile: float | None = None,
    ma20: float | None = None,
    days_since_spike: int | None = None,
) -> tuple[str, str]:
    """The regime of one reading under rules 1-4, and a short reason."""
    if level >= th.spike_from:
        return "spike", f"level {level:.2f} >= spike threshold {th.spike_from:g}"
    if ma20 is not None and level >= th.high_from and level >= ma20 * (1.0 + th.spike_jump):
        return "spike", (
            f"level {level:.2f} in the high band and {level / ma20 - 1:.0%} above its 20-day "
            f"mean {ma20:.2f} (jump threshold {th.spike_jump:.0%})"
        )
    band = _band(level, th)
    reason = f"level {level:.2f} in the {band} band ({th.low_below:g} / {th.high_from:g})"
    regime = band
    if band == "normal" and percentile is not None:
        if percentile >= th.percentile_high:
            regime = "high"
            reason += f", 1-year percentile {percentile:.0f} >= {th.percentile_high:g}"
        elif percentile <= th.percentile_low:
            regime = "low"
            reason += f", 1-year percentile {percentile:.0f} <= {th.percentile_low:g}"
    if (
        regime == "low"
        and days_since_spike is not None
        and days_since_spike <= th.spike_cooldown_days
    ):
        regime = "normal"
        reason += (
            f", but only {days_since_spike} days after a spike "
            f"(cool-down {th.spike_cooldown_days}), so normal"
        )
    return regime, reason


def vol_regime(vol: pd.Series, th: VolThresholds, name: str = "vol index") -> VolRegime:
    """Regime on the last day of ``vol`` (a gap-free close series ending at the as-of date).

    Needs at least ``percentile_window`` readings (one year); DataError otherwise.
    """
    window = th.percentile_window
    values = vol.dropna()
    if len(values) < window:
        raise DataError(
            f"{name}: {len(values)} readings, but the 1-year percentile needs {window}; "
            "start the vol index data earlier"
        )
    level = float(values.iloc[-1])
    recent = values.to_numpy()[-window:]
    percentile = float(100.0 * np.mean(recent <= level))
    ma5 = float(values.iloc[-5:].mean())
    ma20 = float(values.iloc[-20:].mean())
    if ma5 > ma20 * (1.0 + th.trend_band):
        trend = "rising"
    elif ma5 < ma20 * (1.0 - th.trend_band):
        trend = "falling"
    else:
        trend = "flat"
    flags = spike_flags(values, th).to_numpy()
    hits = np.flatnonzero(flags)
    days_since = int(len(values) - 1 - hits[-1]) if len(hits) else None
    regime, reason = classify_level(
        level, th, percentile=percentile, ma20=ma20, days_since_spike=days_since
    )
    return VolRegime(
        regime=regime,
        level=level,
        percentile=percentile,
        ma5=ma5,
        ma20=ma20,
        trend=trend,
        days_since_spike=days_since,
        reason=reason,
    )


def level_only_regime(level: float, th: VolThresholds) -> VolRegime:
    """Regime from a level alone (no history: no percentile, means, trend or spike count)."""
    if not np.isfinite(level) or level <= 0:
        raise DataError(
            f"vol index level {level!r} must be a positive number (e.g. `vix=18.5`)", params="vix"
        )
    regime, reason = classify_level(level, th)
    return VolRegime(
        regime=regime,
        level=float(level),
        percentile=None,
        ma5=None,
        ma20=None,
        trend="unknown",
        days_since_spike=None,
        reason=reason + " (level only: no vol index history)",
    )


__all__ = [
    "REGIMES",
    "VolRegime",
    "classify_level",
    "level_only_regime",
    "spike_flags",
    "vol_regime",
]
