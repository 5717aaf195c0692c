"""The index's direction: three part scores in [-1, 1] and their weighted composite.

- **technical** (default 40%): moving-average alignment (close vs fast MA, fast vs mid, mid vs
  slow, each ``tanh(gap / ma_scale)``), RSI (``(RSI - 50) / 25``, clipped), MACD (line and
  histogram in ATR units, through tanh) and Bollinger %B (``2 %B - 1``, clipped);
- **options flow** (default 35%): put-call ratios read contrarian (a PCR above the market's
  neutral level means crowded hedging, which tends to precede rebounds: bullish), by volume
  and by open interest, each as ``(PCR / neutral - 1) / pcr_span`` clipped to [-1, 1], and the
  distance from spot to max pain (price drifts toward it into expiry), weighted 50/30/20;
- **price action** (default 25%): momentum and least-squares trend over 1W/2W/1M/3M as z-scores
  (the move over the daily return sd times sqrt(days), through ``tanh(z / z_scale)``), and the
  close's position between rolling support and resistance.

A part that cannot be computed is marked missing and its weight goes to the others in
proportion to theirs; a sub-score that is undefined (e.g. %B of a flat series) is skipped
inside its part the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from quantalloc.regime import indicators as ind
from quantalloc.regime.config import (
    ConfidenceConfig,
    OptionsFlowConfig,
    PriceActionConfig,
    TechnicalConfig,
)

PARTS: tuple[str, ...] = ("technical", "options_flow", "price_action")


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def finite_values(values: Mapping[str, float | None]) -> dict[str, float]:
    """The entries of ``values`` that are finite numbers."""
    out: dict[str, float] = {}
    for key, v in values.items():
        if v is not None and math.isfinite(v):
            out[key] = float(v)
    return out


def weighted_mean(values: Mapping[str, float | None], weights: Mapping[str, float]) -> float:
    """Weighted mean of the finite values; weights of the others are dropped and the rest
    renormalised. NaN when no weighted value is finite."""
    live = finite_values(values)
    num = den = 0.0
    for key, w in weights.items():
        if key in live and w > 0:
            num += w * live[key]
            den += w
    return num / den if den > 0 else float("nan")


def _last(series: pd.Series) -> float:
    return float(series.iloc[-1]) if len(series) else float("nan")


def technical_components(prices: pd.DataFrame, cfg: TechnicalConfig) -> dict[str, float]:
    """Sub-scores of the technical part on the last row of ``prices`` (high, low, close)."""
    close = prices["close"]
    fast, mid, slow = (_last(ind.sma(close, w)) for w in cfg.ma_windows)
    last = float(close.iloc[-1])
    gaps = [last / fast - 1.0, fast / mid - 1.0, mid / slow - 1.0]
    ma_score = float(np.mean([math.tanh(g / cfg.ma_scale) for g in gaps]))

    rsi_value = _last(ind.rsi(close, cfg.rsi_window))
    rsi_score = float(np.clip((rsi_value - 50.0) / 25.0, -1.0, 1.0))

    m = ind.macd(close, *cfg.macd).iloc[-1]
    atr_value = _last(ind.atr(prices["high"], prices["low"], close, cfg.atr_window))
    if atr_value > 0 and _finite(m["macd"]) and _finite(m["hist"]):
        unit = atr_value * cfg.macd_atr_scale
        macd_score = 0.5 * math.tanh(m["macd"] / unit) + 0.5 * math.tanh(m["hist"] / unit)
    else:
        macd_score = float("nan")

    pct_b = _last(ind.bollinger_bands(close, cfg.bollinger_window, cfg.bollinger_k)["percent_b"])
    boll_score = float(np.clip(2.0 * pct_b - 1.0, -1.0, 1.0)) if _finite(pct_b) else float("nan")
    return {
        "moving_averages": ma_score,
        "rsi": rsi_score,
        "macd": float(macd_score),
        "bollinger": boll_score,
        "rsi_value": rsi_value,
        "percent_b": pct_b,
        "atr": atr_value,
    }


def technical_score(prices: pd.DataFrame, cfg: TechnicalConfig) -> tuple[float, dict[str, float]]:
    """The technical part in [-1, 1] and its sub-scores."""
    parts = technical_components(prices, cfg)
    score = weighted_mean(parts, cfg.weights)
    return (0.0 if not _finite(score) else score), parts


def price_action_components(prices: pd.DataFrame, cfg: PriceActionConfig) -> dict[str, float]:
    """Sub-scores of the price-action part on the last row of ``prices``."""
    close = prices["close"]
    log_ret = np.log(close).diff().iloc[-cfg.volatility_window :]
    sd = float(log_ret.std(ddof=1))
    out: dict[str, float] = {}
    mom_z: dict[str, float] = {}
    trend_z: dict[str, float] = {}
    for label, days in cfg.timeframes.items():
        mom = _last(ind.momentum(close, days))
        tr = _last(ind.trend(close, days))
        out[f"momentum_{label}"] = mom
        out[f"trend_{label}"] = tr
        if sd > 0:
            scale = sd * math.sqrt(days) * cfg.z_scale
            mom_z[label] = math.tanh(math.log1p(mom) / scale) if _finite(mom) else float("nan")
            trend_z[label] = math.tanh(tr / scale) if _finite(tr) else float("nan")
    out["momentum"] = ind.weighted_timeframe_score(mom_z, cfg.timeframe_weights)
    out["trend"] = ind.weighted_timeframe_score(trend_z, cfg.timeframe_weights)
    sr = ind.support_resistance(prices["high"], prices["low"], cfg.support_resistance_window)
    support, resistance = _last(sr["support"]), _last(sr["resistance"])
    width = resistance - support
    last = float(close.iloc[-1])
    out["range"] = (
        float(np.clip(2.0 * (last - support) / width - 1.0, -1.0, 1.0))
        if width > 0
        else float("nan")
    )
    out["support"], out["resistance"], out["return_sd"] = support, resistance, sd
    return out


def price_action_score(
    prices: pd.DataFrame, cfg: PriceActionConfig
) -> tuple[float, dict[str, float]]:
    """The price-action part in [-1, 1] and its sub-scores."""
    parts = price_action_components(prices, cfg)
    score = weighted_mean(parts, cfg.weights)
    return (0.0 if not _finite(score) else score), parts


@dataclass(frozen=True, slots=True)
class ChainReading:
    """What the options-flow part reads from a chain (any field may be missing)."""

    pcr_volume: float | None
    pcr_oi: float | None
    max_pain: float | None
    spot: float | None
    notes: tuple[str, ...] = ()


def options_flow_components(
    reading: ChainReading, neutral: Mapping[str, float], cfg: OptionsFlowConfig
) -> dict[str, float]:
    """Contrarian PCR sub-scores and the max-pain pull, each in [-1, 1] (NaN when missing)."""

    def pcr_score(pcr: float | None, center: float) -> float:
        if not _finite(pcr):
            return float("nan")
        return float(np.clip((float(pcr) / center - 1.0) / cfg.pcr_span, -1.0, 1.0))  # type: ignore[arg-type]

    pull = float("nan")
    if _finite(reading.max_pain) and _finite(reading.spot) and reading.spot:
        dist = float(reading.max_pain) / float(reading.spot) - 1.0  # type: ignore[arg-type]
        pull = float(np.clip(dist / cfg.max_pain_scale, -1.0, 1.0))
    return {
        "volume_pcr": pcr_score(reading.pcr_volume, neutral["volume"]),
        "oi_pcr": pcr_score(reading.pcr_oi, neutral["oi"]),
        "max_pain": pull,
    }


def options_flow_score(
    reading: ChainReading, neutral: Mapping[str, float], cfg: OptionsFlowConfig
) -> tuple[float | None, dict[str, float]]:
    """The options-flow part in [-1, 1], or None when no sub-score can be computed."""
    parts = options_flow_components(reading, neutral, cfg)
    score = weighted_mean(parts, cfg.weights)
    return (score if _finite(score) else None), parts


def combine(
    parts: Mapping[str, float | None], weights: Mapping[str, float]
) -> tuple[float, dict[str, float]]:
    """Composite score in [-1, 1] and the weights actually used (missing parts get 0, the rest
    are scaled up to sum to 1)."""
    values = finite_values(parts)
    live = {k: w for k, w in weights.items() if w > 0 and k in values}
    total = sum(live.values())
    if total <= 0:
        return 0.0, {k: 0.0 for k in weights}
    used = {k: (live[k] / total if k in live else 0.0) for k in weights}
    score = sum(used[k] * values[k] for k in live)
    return float(np.clip(score, -1.0, 1.0)), used


def classify(score: float, bullish_above: float, bearish_below: float) -> str:
    """``bullish`` above the upper cut-off, ``bearish`` below the lower one, else ``neutral``."""
    if score > bullish_above:
        return "bullish"
    if score < bearish_below:
        return "bearish"
    return "neutral"


def confidence(
    parts: Mapping[str, float | None],
    used_weights: Mapping[str, float],
    score: float,
    quality: float,
    cfg: ConfidenceConfig,
    bullish_above: float,
    bearish_below: float,
) -> tuple[float, float, float]:
    """``(confidence, agreement, margin)``, all in [0, 1].

    agreement = 1 - sum_i w_i |part_i - score| / 2; margin = distance from ``score`` to the
    nearest cut-off, over ``margin_full``, capped at 1; confidence = quality x (weighted blend).
    """
    values = finite_values(parts)
    spread = sum(w * abs(values[k] - score) for k, w in used_weights.items() if k in values)
    agreement = float(np.clip(1.0 - spread / 2.0, 0.0, 1.0))
    nearest = min(abs(score - bullish_above), abs(score - bearish_below))
    margin = float(min(1.0, nearest / cfg.margin_full))
    blend = cfg.agreement_weight * agreement + cfg.margin_weight * margin
    return float(np.clip(quality * blend, 0.0, 1.0)), agreement, margin


__all__ = [
    "PARTS",
    "ChainReading",
    "classify",
    "combine",
    "confidence",
    "options_flow_components",
    "options_flow_score",
    "price_action_components",
    "price_action_score",
    "technical_components",
    "technical_score",
    "weighted_mean",
]
