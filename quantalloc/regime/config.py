"""The regime model file (``models/regime.toml``), read into validated, frozen objects."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from quantalloc.config import load_toml
from quantalloc.errors import ConfigError
from quantalloc.options.catalog import strategy_names

DIRECTIONS: tuple[str, ...] = ("bullish", "neutral", "bearish")
VOL_LEVELS: tuple[str, ...] = ("low", "normal", "high")
STATE_NAMES: tuple[str, ...] = tuple(
    f"{d.capitalize()}_{v.capitalize()}_VIX" for d in DIRECTIONS for v in VOL_LEVELS
)
"""The 9 market states, e.g. ``Bullish_Low_VIX``."""

STRATEGY_NAMES: frozenset[str] = frozenset(strategy_names())
"""Strategy identifiers the options builders know; the state table may only name these."""

IV_PREFERENCES = ("buy", "sell", "neutral")


@dataclass(frozen=True, slots=True)
class VolThresholds:
    """How one market's volatility index is read (see models/regime.toml ``[volatility.*]``)."""

    low_below: float
    high_from: float
    spike_from: float
    spike_jump: float
    percentile_window: int
    percentile_high: float
    percentile_low: float
    trend_band: float
    spike_cooldown_days: int
    max_gap_days: int


@dataclass(frozen=True, slots=True)
class TechnicalConfig:
    """Windows and weights of the technical part of the direction score."""

    ma_windows: tuple[int, int, int]
    ma_scale: float
    rsi_window: int
    macd: tuple[int, int, int]
    macd_atr_scale: float
    atr_window: int
    bollinger_window: int
    bollinger_k: float
    weights: dict[str, float]


@dataclass(frozen=True, slots=True)
class PriceActionConfig:
    """Timeframes and weights of the price-action part of the direction score."""

    support_resistance_window: int
    volatility_window: int
    z_scale: float
    timeframes: dict[str, int]
    timeframe_weights: dict[str, float]
    weights: dict[str, float]


@dataclass(frozen=True, slots=True)
class OptionsFlowConfig:
    """How the option chain is read (contrarian put-call ratios and max-pain distance)."""

    pcr_span: float
    max_pain_scale: float
    pcr_expiries: str
    chain_max_age_days: int
    weights: dict[str, float]
    neutral_pcr: dict[str, dict[str, float]]


@dataclass(frozen=True, slots=True)
class ConfidenceConfig:
    """Weights and data-quality factors of the confidence figure."""

    agreement_weight: float
    margin_weight: float
    margin_full: float
    missing_options_quality: float
    close_only_quality: float
    filled_vol_day_penalty: float
    vix_override_quality: float


@dataclass(frozen=True, slots=True)
class StateRules:
    """What a market state prefers: strategies to use and avoid, expiry window, PoP floor."""

    state: str
    preferred: tuple[str, ...]
    avoided: tuple[str, ...]
    dte_min: int
    dte_max: int
    probability_threshold: float
    iv_preference: str
    pcr_range: tuple[float, float]

    @property
    def direction(self) -> str:
        """``bullish``, ``neutral`` or ``bearish``."""
        return self.state.split("_")[0].lower()

    @property
    def vix_level(self) -> str:
        """``low``, ``normal`` or ``high``."""
        return self.state.split("_")[1].lower()

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready dict."""
        return {
            "state": self.state,
            "preferred": list(self.preferred),
            "avoided": list(self.avoided),
            "dte_min": self.dte_min,
            "dte_max": self.dte_max,
            "probability_threshold": self.probability_threshold,
            "iv_preference": self.iv_preference,
            "pcr_range": list(self.pcr_range),
        }


@dataclass(frozen=True, slots=True)
class RegimeConfig:
    """The whole regime model, validated."""

    source: str
    volatility: dict[str, VolThresholds]
    bullish_above: float
    bearish_below: float
    weights: dict[str, float]
    technical: TechnicalConfig
    price_action: PriceActionConfig
    options_flow: OptionsFlowConfig
    confidence: ConfidenceConfig
    cache_ttl_seconds: float
    direction_rows: int
    spike_lookback: int
    states: dict[str, StateRules]

    def vol_thresholds(self, market: str) -> VolThresholds:
        """Thresholds of ``market``; ConfigError when the file has none for it."""
        key = market.strip().lower()
        if key not in self.volatility:
            raise ConfigError(
                f"{self.source}: no [volatility.{key}] thresholds (markets configured: "
                f"{', '.join(sorted(self.volatility))}); add a section for {key!r}"
            )
        return self.volatility[key]


class _Reader:
    """Typed access to one TOML table, with errors naming the full key path."""

    def __init__(self, data: Mapping[str, Any], path: str, source: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: [{path}] must be a table, got {data!r}")
        self.data, self.path, self.source = data, path, source

    def _where(self, key: str) -> str:
        return f"{self.source}: {self.path + '.' if self.path else ''}{key}"

    def sub(self, key: str) -> _Reader:
        if key not in self.data:
            raise ConfigError(f"{self._where(key)} is missing; add the [{self._key(key)}] table")
        return _Reader(self.data[key], self._key(key), self.source)

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def raw(self, key: str) -> Any:
        if key not in self.data:
            raise ConfigError(f"{self._where(key)} is missing; add it to the model file")
        return self.data[key]

    def num(self, key: str, lo: float | None = None, hi: float | None = None) -> float:
        value = self.raw(key)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ConfigError(f"{self._where(key)} must be a number, got {value!r}")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            rng = f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
            raise ConfigError(f"{self._where(key)} = {value} is outside {rng}; fix the value")
        return float(value)

    def whole(self, key: str, lo: int = 1) -> int:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise ConfigError(f"{self._where(key)} must be a whole number >= {lo}, got {value!r}")
        return int(value)

    def ints(self, key: str, n: int) -> tuple[int, ...]:
        value = self.raw(key)
        ok = isinstance(value, list) and len(value) == n
        if not ok or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value):
            raise ConfigError(
                f"{self._where(key)} must be a list of {n} positive whole numbers, got {value!r}"
            )
        return tuple(int(v) for v in value)

    def weights(self, key: str, expected: tuple[str, ...]) -> dict[str, float]:
        table = self.sub(key)
        names = set(table.data)
        if names != set(expected):
            raise ConfigError(
                f"{self.source}: [{table.path}] must name exactly {', '.join(expected)} "
                f"(found {', '.join(sorted(names)) or 'nothing'})"
            )
        out = {k: table.num(k, lo=0.0) for k in expected}
        total = sum(out.values())
        if abs(total - 1.0) > 1e-6:
            raise ConfigError(
                f"{self.source}: weights in [{table.path}] sum to {total:.4f}, not 1; rescale them"
            )
        return out


def _vol(r: _Reader) -> VolThresholds:
    th = VolThresholds(
        low_below=r.num("low_below", lo=0.0),
        high_from=r.num("high_from", lo=0.0),
        spike_from=r.num("spike_from", lo=0.0),
        spike_jump=r.num("spike_jump", lo=0.0),
        percentile_window=r.whole("percentile_window", lo=20),
        percentile_high=r.num("percentile_high", 0.0, 100.0),
        percentile_low=r.num("percentile_low", 0.0, 100.0),
        trend_band=r.num("trend_band", 0.0, 1.0),
        spike_cooldown_days=r.whole("spike_cooldown_days", lo=0),
        max_gap_days=r.whole("max_gap_days", lo=0),
    )
    if not th.low_below < th.high_from <= th.spike_from:
        raise ConfigError(
            f"{r.source}: [{r.path}] needs low_below < high_from <= spike_from, got "
            f"{th.low_below} / {th.high_from} / {th.spike_from}; reorder the thresholds"
        )
    if not th.percentile_low < th.percentile_high:
        raise ConfigError(
            f"{r.source}: [{r.path}] needs percentile_low < percentile_high, got "
            f"{th.percentile_low} / {th.percentile_high}"
        )
    return th


def _strategies(r: _Reader, key: str) -> tuple[str, ...]:
    value = r.raw(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{r._where(key)} must be a list of strategy names, got {value!r}")
    unknown = [v for v in value if v not in STRATEGY_NAMES]
    if unknown:
        raise ConfigError(
            f"{r._where(key)} names unknown strategies {unknown}; known: "
            f"{', '.join(sorted(STRATEGY_NAMES))}"
        )
    return tuple(value)


def _state(name: str, r: _Reader) -> StateRules:
    preferred, avoided = _strategies(r, "preferred"), _strategies(r, "avoided")
    if not preferred:
        raise ConfigError(f"{r.source}: [{r.path}] prefers no strategy; name at least one")
    both = sorted(set(preferred) & set(avoided))
    if both:
        raise ConfigError(f"{r.source}: [{r.path}] both prefers and avoids {both}; pick one")
    dte = r.ints("dte", 2)
    if dte[0] > dte[1]:
        raise ConfigError(f"{r._where('dte')} = {list(dte)}: the minimum exceeds the maximum")
    iv = r.raw("iv_preference")
    if iv not in IV_PREFERENCES:
        raise ConfigError(f"{r._where('iv_preference')} = {iv!r}; use one of {IV_PREFERENCES}")
    pcr = r.raw("pcr_range")
    if (
        not isinstance(pcr, list)
        or len(pcr) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pcr)
        or not 0 <= pcr[0] <= pcr[1]
    ):
        raise ConfigError(f"{r._where('pcr_range')} must be [low, high] with 0 <= low <= high")
    return StateRules(
        state=name,
        preferred=preferred,
        avoided=avoided,
        dte_min=dte[0],
        dte_max=dte[1],
        probability_threshold=r.num("probability_threshold", 0.0, 1.0),
        iv_preference=str(iv),
        pcr_range=(float(pcr[0]), float(pcr[1])),
    )


def parse_regime_config(data: Mapping[str, Any], source: str = "regime.toml") -> RegimeConfig:
    """Validate the parsed TOML ``data`` into a :class:`RegimeConfig` (ConfigError on a fault)."""
    top = _Reader(data, "", source)
    vol_r = top.sub("volatility")
    volatility = {str(m).lower(): _vol(vol_r.sub(m)) for m in vol_r.data}
    if not volatility:
        raise ConfigError(f"{source}: [volatility] configures no market; add [volatility.us]")

    d = top.sub("direction")
    bull, bear = d.num("bullish_above", -1.0, 1.0), d.num("bearish_below", -1.0, 1.0)
    if not bear < bull:
        raise ConfigError(
            f"{source}: direction.bearish_below ({bear}) must be below bullish_above ({bull})"
        )
    t = d.sub("technical")
    macd_spans = t.ints("macd", 3)
    if macd_spans[0] >= macd_spans[1]:
        raise ConfigError(f"{source}: direction.technical.macd fast span must be below the slow")
    technical = TechnicalConfig(
        ma_windows=t.ints("ma_windows", 3),  # type: ignore[arg-type]
        ma_scale=t.num("ma_scale", lo=1e-6),
        rsi_window=t.whole("rsi_window", lo=2),
        macd=macd_spans,  # type: ignore[arg-type]
        macd_atr_scale=t.num("macd_atr_scale", lo=1e-6),
        atr_window=t.whole("atr_window", lo=1),
        bollinger_window=t.whole("bollinger_window", lo=2),
        bollinger_k=t.num("bollinger_k", lo=1e-6),
        weights=t.weights("weights", ("moving_averages", "rsi", "macd", "bollinger")),
    )
    if not technical.ma_windows[0] < technical.ma_windows[1] < technical.ma_windows[2]:
        raise ConfigError(
            f"{source}: direction.technical.ma_windows must increase, got {technical.ma_windows}"
        )

    p = d.sub("price_action")
    frames_r = p.sub("timeframes")
    timeframes = {str(k): frames_r.whole(k, lo=2) for k in frames_r.data}
    if not timeframes:
        raise ConfigError(f"{source}: direction.price_action.timeframes is empty")
    price_action = PriceActionConfig(
        support_resistance_window=p.whole("support_resistance_window", lo=2),
        volatility_window=p.whole("volatility_window", lo=5),
        z_scale=p.num("z_scale", lo=1e-6),
        timeframes=timeframes,
        timeframe_weights=p.weights("timeframe_weights", tuple(timeframes)),
        weights=p.weights("weights", ("momentum", "trend", "range")),
    )

    o = d.sub("options_flow")
    expiries = o.raw("pcr_expiries")
    if expiries not in ("all", "nearest"):
        raise ConfigError(
            f"{source}: direction.options_flow.pcr_expiries = {expiries!r}; use 'all' or 'nearest'"
        )
    neutral_r = o.sub("neutral_pcr")
    neutral = {
        str(m).lower(): {
            "volume": neutral_r.sub(m).num("volume", lo=1e-6),
            "oi": neutral_r.sub(m).num("oi", lo=1e-6),
        }
        for m in neutral_r.data
    }
    options_flow = OptionsFlowConfig(
        pcr_span=o.num("pcr_span", lo=1e-6),
        max_pain_scale=o.num("max_pain_scale", lo=1e-6),
        pcr_expiries=str(expiries),
        chain_max_age_days=o.whole("chain_max_age_days", lo=0),
        weights=o.weights("weights", ("volume_pcr", "oi_pcr", "max_pain")),
        neutral_pcr=neutral,
    )

    c = top.sub("confidence")
    confidence = ConfidenceConfig(
        agreement_weight=c.num("agreement_weight", 0.0, 1.0),
        margin_weight=c.num("margin_weight", 0.0, 1.0),
        margin_full=c.num("margin_full", lo=1e-6),
        missing_options_quality=c.num("missing_options_quality", 0.0, 1.0),
        close_only_quality=c.num("close_only_quality", 0.0, 1.0),
        filled_vol_day_penalty=c.num("filled_vol_day_penalty", 0.0, 1.0),
        vix_override_quality=c.num("vix_override_quality", 0.0, 1.0),
    )
    if abs(confidence.agreement_weight + confidence.margin_weight - 1.0) > 1e-6:
        raise ConfigError(f"{source}: confidence.agreement_weight + margin_weight must equal 1")

    s = top.sub("states")
    missing = [n for n in STATE_NAMES if n not in s.data]
    extra = [n for n in s.data if n not in STATE_NAMES]
    if missing or extra:
        raise ConfigError(
            f"{source}: [states] must define exactly the 9 states "
            f"(missing: {missing or 'none'}; unknown: {extra or 'none'})"
        )
    states = {name: _state(name, s.sub(name)) for name in STATE_NAMES}

    h = top.sub("history")
    direction_rows, spike_lookback = h.whole("direction_rows", 2), h.whole("spike_lookback", 2)
    needed = max(technical.ma_windows[2], max(timeframes.values()) + 1, macd_spans[1] * 3)
    if direction_rows < needed:
        raise ConfigError(
            f"{source}: history.direction_rows = {direction_rows} is below {needed}, what the "
            "longest window and its warm-up need; raise it"
        )
    widest = max(th.percentile_window for th in volatility.values())
    if spike_lookback < widest:
        raise ConfigError(
            f"{source}: history.spike_lookback = {spike_lookback} is below the percentile "
            f"window {widest}; raise it"
        )

    return RegimeConfig(
        source=source,
        volatility=volatility,
        bullish_above=bull,
        bearish_below=bear,
        weights=d.weights("weights", ("technical", "options_flow", "price_action")),
        technical=technical,
        price_action=price_action,
        options_flow=options_flow,
        confidence=confidence,
        cache_ttl_seconds=top.sub("cache").num("ttl_seconds", lo=0.0),
        direction_rows=direction_rows,
        spike_lookback=spike_lookback,
        states=states,
    )


def load_regime_config(name: str = "regime") -> RegimeConfig:
    """Read and validate ``models/<name>.toml`` (or a path to a .toml file)."""
    from quantalloc.config import model_path

    return parse_regime_config(load_toml(name), source=str(model_path(name)))


def state_rules(state: str, config: RegimeConfig | None = None) -> StateRules:
    """The rules of ``state`` (one of :data:`STATE_NAMES`) from ``config`` (default model)."""
    cfg = config or load_regime_config()
    if state not in cfg.states:
        raise ConfigError(f"unknown market state {state!r}; known: {', '.join(STATE_NAMES)}")
    return cfg.states[state]


def state_name(direction: str, vix_regime: str) -> str:
    """``Bullish_Low_VIX`` from ``bullish`` and ``low``; ``spike`` folds into ``High``."""
    level = "high" if vix_regime == "spike" else vix_regime
    if direction not in DIRECTIONS or level not in VOL_LEVELS:
        raise ValueError(f"no state for direction {direction!r} and vol regime {vix_regime!r}")
    return f"{direction.capitalize()}_{level.capitalize()}_VIX"


__all__ = [
    "DIRECTIONS",
    "STATE_NAMES",
    "STRATEGY_NAMES",
    "VOL_LEVELS",
    "ConfidenceConfig",
    "OptionsFlowConfig",
    "PriceActionConfig",
    "RegimeConfig",
    "StateRules",
    "TechnicalConfig",
    "VolThresholds",
    "load_regime_config",
    "parse_regime_config",
    "state_name",
    "state_rules",
]
