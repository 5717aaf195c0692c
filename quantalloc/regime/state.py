"""The market state: direction x volatility regime, one of 9, with every figure it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from quantalloc.errors import DataError
from quantalloc.markets import get_market
from quantalloc.regime.config import RegimeConfig, StateRules, load_regime_config, state_name
from quantalloc.regime.direction import (
    PARTS,
    ChainReading,
    classify,
    combine,
    confidence,
    options_flow_score,
    price_action_score,
    technical_score,
)
from quantalloc.regime.inputs import (
    DateLike,
    align_vol,
    cut_prices,
    is_close_only,
    price_frame,
    resolve_as_of,
    vol_series,
)
from quantalloc.regime.volatility import VolRegime, level_only_regime, vol_regime

_NO_CHAIN = ChainReading(pcr_volume=None, pcr_oi=None, max_pain=None, spot=None)


def _num(x: float | None, digits: int = 6) -> float | None:
    return None if x is None else round(float(x), digits)


@dataclass(frozen=True, slots=True)
class MarketState:
    """The market's state on ``as_of`` and the figures behind it.

    ``state`` is one of the 9 names (``Bullish_Low_VIX`` ...). ``vol`` is the volatility reading
    it came from: its ``regime`` is ``low``, ``normal``, ``high`` or ``spike`` (a spike counts as
    high in ``state``), its ``level`` the vol index. ``chain`` is what the option chain gave
    (PCRs, max pain), None when no chain was given. Scores are in [-1, 1] (positive = bullish);
    ``options_flow_score`` and ``pcr`` are None when no usable chain was given, and ``missing``
    then names ``options_flow``. ``weights`` are the part weights actually used after
    redistribution; ``components`` the sub-scores and raw indicator values. ``vix_source`` says
    where the level came from: ``series`` (the vol index's history), ``chain`` (computed from
    the index's option chain) or ``manual`` (given by hand). :meth:`to_dict` writes the flat
    JSON of the solve contract (``vix_regime``, ``vix``, ``pcr_oi`` ...).
    """

    state: str
    direction: str
    direction_score: float
    confidence: float
    technical_score: float
    options_flow_score: float | None
    price_action_score: float
    vol: VolRegime
    as_of: pd.Timestamp
    market: str
    chain: ChainReading | None
    spot: float
    missing: tuple[str, ...]
    weights: dict[str, float]
    agreement: float
    data_quality: float
    rules: StateRules
    components: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    vix_source: str = "series"

    @property
    def pcr(self) -> float | None:
        """The open-interest PCR, else the volume PCR; None without a usable chain."""
        if self.chain is None:
            return None
        return self.chain.pcr_oi if self.chain.pcr_oi is not None else self.chain.pcr_volume

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the solve contract's ``market`` keys first, then the detail."""
        chain = self.chain or _NO_CHAIN
        return {
            "state": self.state,
            "direction": self.direction,
            "vix_regime": self.vol.regime,
            "direction_score": _num(self.direction_score),
            "confidence": _num(self.confidence),
            "technical_score": _num(self.technical_score),
            "options_flow_score": _num(self.options_flow_score),
            "price_action_score": _num(self.price_action_score),
            "vix": _num(self.vol.level),
            "pcr": _num(self.pcr),
            "vix_source": self.vix_source,
            "as_of": str(self.as_of.date()),
            "market": self.market,
            "vix_percentile": _num(self.vol.percentile, 2),
            "vix_ma5": _num(self.vol.ma5),
            "vix_ma20": _num(self.vol.ma20),
            "vix_trend": self.vol.trend,
            "spike": self.vol.spike,
            "days_since_spike": self.vol.days_since_spike,
            "pcr_volume": _num(chain.pcr_volume),
            "pcr_oi": _num(chain.pcr_oi),
            "max_pain": _num(chain.max_pain),
            "spot": _num(self.spot),
            "missing": list(self.missing),
            "weights": {k: _num(v) for k, v in self.weights.items()},
            "agreement": _num(self.agreement),
            "data_quality": _num(self.data_quality),
            "rules": self.rules.to_dict(),
            "components": {
                k: (None if pd.isna(v) else _num(v)) for k, v in self.components.items()
            },
            "vol_reason": self.vol.reason,
            "notes": list(self.notes),
        }


def _vol_part(
    vol_index: pd.DataFrame | pd.Series | None,
    px: pd.DataFrame,
    vix: float | None,
    cfg: RegimeConfig,
    market: str,
    vol_name: str,
    notes: list[str],
    vix_origin: str | None = None,
) -> tuple[VolRegime, float]:
    """The vol regime on the last price date and the data-quality factor it brings.

    ``vix_origin`` describes a ``vix`` level that is not typed by hand (e.g. computed from a
    chain); it replaces "given by hand" in the notes and keeps the data quality.
    """
    th = cfg.vol_thresholds(market)
    conf = cfg.confidence
    origin = "given by hand" if vix_origin is None else vix_origin
    override_quality = conf.vix_override_quality if vix_origin is None else 1.0
    if vol_index is None:
        if vix is None:
            raise DataError(
                f"no {vol_name} history and no level given; pass the vol-index frame or a "
                "level (e.g. `vix=18.5`)",
                params="vix",
            )
        notes.append(f"{vol_name} level {vix:g} {origin}, no history: regime from level only")
        return level_only_regime(vix, th), conf.vix_override_quality
    aligned = align_vol(vol_series(vol_index, vol_name), pd.DatetimeIndex(px.index), th, vol_name)
    series = aligned.series.iloc[-cfg.spike_lookback :]
    quality = 1.0
    if aligned.filled_days:
        quality *= max(0.5, 1.0 - conf.filled_vol_day_penalty * aligned.filled_days)
        shown = ", ".join(str(d.date()) for d in aligned.filled_dates[:5])
        more = "" if aligned.filled_days <= 5 else f" (+{aligned.filled_days - 5} more)"
        notes.append(
            f"{vol_name}: {aligned.filled_days} missing days in the last year filled from the "
            f"previous reading: {shown}{more}"
        )
    if vix is not None:
        if not vix > 0:
            raise DataError(
                f"vol index level {vix!r} must be a positive number (e.g. `vix=18.5`)", params="vix"
            )
        how = "set by hand to" if vix_origin is None else f"{vix_origin}:"
        notes.append(
            f"{vol_name} level on {px.index[-1].date()} {how} {vix:g} (data: {series.iloc[-1]:.2f})"
        )
        series = series.copy()
        series.iloc[-1] = float(vix)
        quality *= override_quality
    return vol_regime(series, th, vol_name), quality


def market_state(
    prices: pd.DataFrame | pd.Series,
    vol_index: pd.DataFrame | pd.Series | None,
    chain: pd.DataFrame | None = None,
    as_of: DateLike | None = None,
    *,
    market: str = "in",
    config: RegimeConfig | None = None,
    vix: float | None = None,
    index_name: str = "index prices",
    vol_name: str = "vol index",
    vix_origin: str | None = None,
) -> MarketState:
    """Classify the market on ``as_of`` (default: the last bar) into one of the 9 states.

    Parameters
    ----------
    prices
        The index's canonical OHLCV frame (or a close Series). Rows after ``as_of`` are ignored.
    vol_index
        The volatility index (frame with ``close``, or a Series); None only with ``vix``.
    chain
        A canonical option chain of the index, taken on or shortly before ``as_of``; None marks
        the options-flow part missing and spreads its weight over the other parts.
    as_of
        Decision date; the last bar on or before it is used. Must lie inside the data.
    market
        ``in`` or ``us``: picks the vol thresholds and neutral PCR levels.

    Only the last ``history.direction_rows`` price rows (600) feed the direction and the last
    ``history.spike_lookback`` trading days (750) the vol regime, so the answer does not depend
    on how much older history the caller loaded.
    config
        The regime model (default ``models/regime.toml``).
    vix
        Override of the vol-index level on the as-of date (the history still gives percentile
        and means); with ``vol_index=None`` the regime is read from this level alone.
    vix_origin
        Where ``vix`` came from when not typed by hand (a sentence such as "from the chain");
        it sets ``vix_source`` to ``chain``.

    Raises
    ------
    DataError
        Too little history for the longest window (the message says how much is needed), a vol
        index with a gap longer than the configured limit, an as-of date outside the data, or a
        chain that is stale or dated after ``as_of``.
    """
    cfg = config or load_regime_config()
    profile = get_market(market)
    px_all = price_frame(prices, index_name)
    as_of_ts = resolve_as_of(pd.DatetimeIndex(px_all.index), as_of, index_name)
    px = cut_prices(px_all, as_of_ts, cfg, index_name)
    notes: list[str] = []
    quality = 1.0
    vol_calendar = px.iloc[-cfg.spike_lookback :]
    px = px.iloc[-cfg.direction_rows :]
    if is_close_only(px.iloc[-cfg.technical.ma_windows[2] :]):
        quality *= cfg.confidence.close_only_quality
        notes.append(f"{index_name} are close-only: ATR and support/resistance come from closes")

    vr, vol_quality = _vol_part(
        vol_index, vol_calendar, vix, cfg, profile.name, vol_name, notes, vix_origin
    )
    source = "series" if vix is None else ("manual" if vix_origin is None else "chain")
    quality *= vol_quality

    tech, tech_parts = technical_score(px, cfg.technical)
    action, action_parts = price_action_score(px, cfg.price_action)
    spot = float(px["close"].iloc[-1])
    flow: float | None = None
    flow_parts: dict[str, float] = {}
    reading: ChainReading | None = None
    if chain is not None:
        from quantalloc.regime.flow import read_chain

        reading = read_chain(chain, as_of_ts, spot, cfg.options_flow)
        notes.extend(reading.notes)
        neutral = cfg.options_flow.neutral_pcr.get(profile.name)
        if neutral is None:
            raise DataError(
                f"{cfg.source}: no [direction.options_flow.neutral_pcr.{profile.name}] levels; "
                "add them to read this market's chains"
            )
        flow, flow_parts = options_flow_score(reading, neutral, cfg.options_flow)
        flow_parts["chain_spot"] = float("nan") if reading.spot is None else reading.spot
    missing: list[str] = []
    if flow is None:
        missing.append("options_flow")
        quality *= cfg.confidence.missing_options_quality
        w = cfg.weights["options_flow"]
        why = "no option chain given" if chain is None else "the chain gave no usable figure"
        notes.append(
            f"options flow missing ({why}): its {w:.0%} weight was spread over technical "
            "and price action"
        )

    parts = {"technical": tech, "options_flow": flow, "price_action": action}
    score, used = combine(parts, cfg.weights)
    direction = classify(score, cfg.bullish_above, cfg.bearish_below)
    conf, agreement, _margin = confidence(
        parts, used, score, quality, cfg.confidence, cfg.bullish_above, cfg.bearish_below
    )
    name = state_name(direction, vr.level_for_state)
    components = {
        **{f"technical.{k}": v for k, v in tech_parts.items()},
        **{f"price_action.{k}": v for k, v in action_parts.items()},
        **{f"options_flow.{k}": v for k, v in flow_parts.items()},
    }
    return MarketState(
        state=name,
        direction=direction,
        direction_score=score,
        confidence=conf,
        technical_score=tech,
        options_flow_score=flow,
        price_action_score=action,
        vol=vr,
        as_of=as_of_ts,
        market=profile.name,
        chain=reading,
        spot=spot,
        missing=tuple(missing),
        weights={k: used.get(k, 0.0) for k in PARTS},
        agreement=agreement,
        data_quality=quality,
        rules=cfg.states[name],
        components=components,
        notes=tuple(notes),
        vix_source=source,
    )


__all__ = ["MarketState", "market_state"]
