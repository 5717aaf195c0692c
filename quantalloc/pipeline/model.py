"""Allocation models as typed, validated configuration: ``models/NAME.toml`` -> :class:`ModelSpec`.

A model names its objective, every limit, the candidate rules, the scenario recipe and the costs;
a risk profile (``--risk``) only selects among the values written in the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from quantalloc.config import load_toml, model_path
from quantalloc.errors import ConfigError
from quantalloc.options.catalog import strategy_names
from quantalloc.options.costs import ExerciseCharges, FeeSchedule, LiquidityRules
from quantalloc.pipeline.views import CONFLICT_RULES, ViewRules

STRATEGY_NAMES: tuple[str, ...] = strategy_names()
"""Strategy identifiers the options builders know (one registry: quantalloc.options)."""
RISK_PROFILES: tuple[str, ...] = ("conservative", "moderate", "aggressive")
POSITION_TYPES: tuple[str, ...] = ("LONG", "SHORT", "NEUTRAL")
OBJECTIVES: tuple[str, ...] = ("kelly", "rck", "fractional_kelly")
CAP_BUCKETS: tuple[str, ...] = ("large", "mid", "small", "micro")


def normalize_key(text: object) -> str:
    """``"Strong Overweight"`` -> ``strong_overweight`` (case and punctuation ignored)."""
    return re.sub(r"[^a-z0-9]+", "_", str(text).strip().lower()).strip("_")


def normalize_strategy(name: object) -> str:
    """Strategy name in snake case (``"Bull Call Spread"`` -> ``bull_call_spread``)."""
    return normalize_key(name)


@dataclass(frozen=True, slots=True)
class RiskProfile:
    """Values one ``--risk`` choice selects."""

    name: str
    options_capital: float
    min_probability_of_profit: float
    max_risk_per_trade: float


@dataclass(frozen=True, slots=True)
class Limits:
    """Limits as fractions of the options budget, except the absolute vega limit."""

    max_strategy: float
    max_industry: float
    max_symbol: float
    max_theta_positive: float
    abs_vega_per_vol_point: float
    vega_reference_capital: float

    def max_abs_vega(self, capital: float) -> float:
        """Absolute vega limit (currency per vol point) scaled from the reference capital."""
        return self.abs_vega_per_vol_point * capital / self.vega_reference_capital


@dataclass(frozen=True, slots=True)
class ObjectiveSpec:
    """Which objective sizes the allocation."""

    kind: str = "kelly"
    fraction: float = 0.5
    drawdown_alpha: float = 0.7
    drawdown_beta: float = 0.1


@dataclass(frozen=True, slots=True)
class IndustrySpec:
    """How priority industries are chosen and how closely their target weights are kept."""

    min_industry_weight: float = 0.05
    max_industries: int = 8
    max_symbols_per_industry: int = 6
    enforce_targets: bool = True
    target_tolerance: float = 0.02
    """Half-width of each industry's band, in points of the deployed options capital."""
    target_penalty: float = 1.0
    """Objective lost per unit of capital (fraction) outside a band: targets are soft."""


@dataclass(frozen=True, slots=True)
class StrategyMap:
    """Industry -> strategies by position type and rating, with defaults."""

    entries: Mapping[tuple[str, str], tuple[str, ...]]
    defaults: Mapping[str, tuple[str, ...]]
    fallback: tuple[str, ...]

    def strategies_for(self, position_type: str, rating: object) -> tuple[str, ...]:
        """Strategies for an industry held ``position_type`` with ``rating``."""
        pos = str(position_type).strip().upper()
        key = (pos, normalize_key(rating)) if rating is not None else (pos, "")
        if key in self.entries:
            return self.entries[key]
        return self.defaults.get(pos, self.fallback)


@dataclass(frozen=True, slots=True)
class CandidateSpec:
    """Rules that turn a symbol and a strategy into priced candidates."""

    expiries: int = 2
    otm: tuple[float, ...] = (0.03, 0.06)
    delta: tuple[float, ...] = ()
    """|delta| targets of the strikes; when set they replace ``otm``
    (:mod:`quantalloc.pipeline.strike_targets`)."""
    wing: float = 0.05
    unbounded_loss: str = "stress"
    stress_move: float = 0.25
    max_candidates: int = 2000
    skew: float = 1.0
    vol_proxy: str = "garch"
    """Where no chain prices a symbol: its own forecast ("garch" or "ewma") times the index's
    measured ratio of implied to forecast vol (:mod:`quantalloc.options.forecast`)."""
    dte_window: tuple[int, int] | None = None
    """Days-to-expiry window replacing the market state's (None: the state's); set from code,
    e.g. by the allocator replay's ``dte_min``/``dte_max``."""


@dataclass(frozen=True, slots=True)
class ScenarioSpec:
    """The recipe of the joint scenarios at the horizon."""

    method: str = "bootstrap"
    n_scenarios: int = 2000
    block_length: int = 5
    lookback_days: int = 756
    seed: int = 20240601
    vol_scale: float = 1.0


@dataclass(frozen=True, slots=True)
class CostSpec:
    """Trading costs: fills from the chain where one prices a leg (spread from ``spreads``, the
    measured table, for chains without quotes), else ``bid_ask`` of the model price (at least
    ``min_tick``); fees per market per lot and fill; the liquidity rules for listed contracts."""

    bid_ask: float = 0.03
    min_tick: float = 0.05
    fees: Mapping[str, FeeSchedule] = field(default_factory=dict)
    liquidity: LiquidityRules = field(default_factory=LiquidityRules)
    spreads: str = "spreads"
    exercise: Mapping[str, ExerciseCharges] = field(default_factory=dict)

    def fee_schedule(self, market: str) -> FeeSchedule:
        """The fees of ``market`` (none when the file names none)."""
        return self.fees.get(market, FeeSchedule())

    def exercise_charges(self, market: str) -> ExerciseCharges:
        """What an option settled in the money costs in ``market`` (none when the file names
        none)."""
        return self.exercise.get(market, ExerciseCharges())


@dataclass(frozen=True, slots=True)
class AdvancedSpec:
    """The Advanced Options Allocator's rules (market-cap distribution and candidate filters)."""

    min_total_score: float
    min_probability: float
    max_positions_per_bucket: int
    no_long_and_short_same_symbol: bool
    cap_tolerance: float
    cap_distribution: Mapping[str, Mapping[str, float]]
    vix_low_below: float
    vix_low: Mapping[str, float]
    vix_high_above: float
    vix_high: Mapping[str, float]

    def cap_targets(self, direction: str, vix: float) -> dict[str, float]:
        """Target share of the budget per market-cap bucket for a direction and VIX level."""
        key = normalize_key(direction)
        base = dict(self.cap_distribution.get(key, self.cap_distribution["neutral"]))
        if vix < self.vix_low_below:
            adjust = self.vix_low
        elif vix > self.vix_high_above:
            adjust = self.vix_high
        else:
            adjust = {}
        raw = {b: max(0.0, base.get(b, 0.0) + adjust.get(b, 0.0)) for b in CAP_BUCKETS}
        total = sum(raw.values())
        return {b: v / total for b, v in raw.items()}


@dataclass(frozen=True, slots=True)
class StateRuleSpec:
    """How the market state's rules bind beyond its strategy lists and DTE window."""

    iv_band: float = 0.10
    """Implied over forecast vol above ``1 + iv_band`` reads rich, below ``1 - iv_band`` cheap."""
    long_short_split: bool = True
    """Cap LONG and SHORT capital at ``(1 +- direction score) / 2`` of the budget."""


@dataclass(frozen=True, slots=True)
class PositionSpec:
    """No dust (``[positions]``): the fewest lots and the least capital (currency, per market)
    a position may hold, and a fixed cost (currency, per market) per position opened; all
    applied in the integer step (:class:`quantalloc.allocation.PositionRules`)."""

    min_lots: int = 1
    min_capital: Mapping[str, float] = field(default_factory=dict)
    fixed_cost: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A whole allocation model, validated."""

    name: str
    kind: str
    version: str
    description: str
    source: str
    objective: ObjectiveSpec
    profiles: Mapping[str, RiskProfile]
    limits: Limits
    industries: IndustrySpec
    market_state_table: str
    strategy_map: StrategyMap
    views: Mapping[str, float]
    candidates: CandidateSpec
    scenarios: ScenarioSpec
    costs: CostSpec
    advanced: AdvancedSpec | None = None
    state_rules: StateRuleSpec = StateRuleSpec()
    view_rules: ViewRules = field(default_factory=ViewRules)
    positions: PositionSpec = field(default_factory=PositionSpec)

    def profile(self, risk: str) -> RiskProfile:
        """The risk profile ``risk`` (conservative, moderate, aggressive)."""
        key = str(risk).strip().lower()
        if key not in self.profiles:
            raise ConfigError(
                f"unknown risk profile {risk!r}; model {self.name} defines "
                f"{', '.join(self.profiles)} (e.g. `risk=moderate`)",
                params="risk",
            )
        return self.profiles[key]

    def view_drift(self, position_type: str, rating: object) -> float:
        """Annualised drift the scenarios give an industry of ``position_type`` and ``rating``."""
        key = normalize_key(rating) if rating is not None else ""
        if key in self.views:
            return self.views[key]
        return self.views.get(str(position_type).strip().upper(), 0.0)


# ----------------------------------------------------------------------------- validation


class _Reader:
    """Typed access to one TOML table with errors that name the file and the key."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data = data
        self.where = where

    def table(self, key: str, required: bool = True) -> _Reader:
        value = self.data.get(key)
        if value is None:
            if required:
                raise ConfigError(f"{self.where}: missing table [{key}]; add it to the model file")
            value = {}
        if not isinstance(value, Mapping):
            raise ConfigError(f"{self.where}: {key} must be a table, got {value!r}")
        return _Reader(value, f"{self.where} [{key}]")

    def has(self, key: str) -> bool:
        return key in self.data

    def number(
        self,
        key: str,
        default: float | None = None,
        lo: float | None = None,
        hi: float | None = None,
    ) -> float:
        value = self.data.get(key, default)
        if value is None:
            raise ConfigError(f"{self.where}: missing {key}; add `{key} = <number>`")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{self.where}: {key} must be a number, got {value!r}")
        out = float(value)
        if (lo is not None and out < lo) or (hi is not None and out > hi):
            raise ConfigError(
                f"{self.where}: {key} = {value!r} is outside [{lo}, {hi}]; fix the model file"
            )
        return out

    def integer(self, key: str, default: int, lo: int = 0) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise ConfigError(f"{self.where}: {key} must be a whole number >= {lo}, got {value!r}")
        return int(value)

    def text(self, key: str, default: str | None = None, choices: tuple[str, ...] = ()) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str):
            raise ConfigError(f"{self.where}: {key} must be a string, got {value!r}")
        if choices and value not in choices:
            raise ConfigError(
                f"{self.where}: {key} = {value!r}; choose one of {', '.join(choices)}"
            )
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.where}: {key} must be true or false, got {value!r}")
        return value

    def strategies(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{self.where}: {key} must be a non-empty list of strategy names")
        names = tuple(normalize_strategy(v) for v in value)
        unknown = [n for n in names if n not in STRATEGY_NAMES]
        if unknown:
            raise ConfigError(
                f"{self.where}: unknown strategy {unknown[0]!r} in {key}; "
                f"known: {', '.join(STRATEGY_NAMES)}"
            )
        return names


def _profiles(r: _Reader) -> dict[str, RiskProfile]:
    out: dict[str, RiskProfile] = {}
    profiles = r.table("profiles")
    for name in RISK_PROFILES:
        p = profiles.table(name)
        out[name] = RiskProfile(
            name=name,
            options_capital=p.number("options_capital", lo=0.0, hi=1.0),
            min_probability_of_profit=p.number("min_probability_of_profit", lo=0.0, hi=1.0),
            max_risk_per_trade=p.number("max_risk_per_trade", lo=0.0, hi=1.0),
        )
    extra = set(profiles.data) - set(RISK_PROFILES)
    if extra:
        raise ConfigError(
            f"{profiles.where}: unknown profile {sorted(extra)[0]!r}; "
            f"profiles are {', '.join(RISK_PROFILES)}"
        )
    return out


def _strategy_map(r: _Reader) -> StrategyMap:
    table = r.table("strategy_map")
    entries: dict[tuple[str, str], tuple[str, ...]] = {}
    defaults: dict[str, tuple[str, ...]] = {}
    fallback: tuple[str, ...] | None = None
    for pos in table.data:
        sub = table.table(pos)
        if pos == "default":
            fallback = sub.strategies("default")
            continue
        if pos not in POSITION_TYPES:
            raise ConfigError(
                f"{table.where}: unknown position type {pos!r}; use LONG, SHORT, NEUTRAL or default"
            )
        for rating in sub.data:
            names = sub.strategies(rating)
            if rating == "default":
                defaults[pos] = names
            else:
                entries[(pos, normalize_key(rating))] = names
    if fallback is None:
        raise ConfigError(
            f"{table.where}: missing [strategy_map.default] default = [...] for industries "
            "whose position type and rating are not listed"
        )
    return StrategyMap(entries=entries, defaults=defaults, fallback=fallback)


def _advanced(r: _Reader) -> AdvancedSpec:
    a = r.table("advanced")
    dist_table = a.table("cap_distribution")
    dist: dict[str, dict[str, float]] = {}
    for direction in dist_table.data:
        d = dist_table.table(direction)
        dist[normalize_key(direction)] = {
            b: d.number(b, 0.0, lo=0.0, hi=100.0) for b in CAP_BUCKETS
        }
        if sum(dist[normalize_key(direction)].values()) <= 0:
            raise ConfigError(f"{d.where}: the distribution sums to 0; give positive percentages")
    if "neutral" not in dist:
        raise ConfigError(f"{dist_table.where}: needs a [neutral] distribution")
    vix = a.table("vix_adjustment")

    def adj(key: str) -> dict[str, float]:
        t = vix.table(key)
        return {b: t.number(b, 0.0, lo=-100.0, hi=100.0) for b in CAP_BUCKETS}

    return AdvancedSpec(
        min_total_score=a.number("min_total_score", 0.4, lo=0.0),
        min_probability=a.number("min_probability", 0.35, lo=0.0, hi=1.0),
        max_positions_per_bucket=a.integer("max_positions_per_bucket", 10, lo=1),
        no_long_and_short_same_symbol=a.boolean("no_long_and_short_same_symbol", True),
        cap_tolerance=a.number("cap_tolerance", 0.10, lo=0.0, hi=1.0),
        cap_distribution=dist,
        vix_low_below=vix.number("low_below", 15.0, lo=0.0),
        vix_low=adj("low"),
        vix_high_above=vix.number("high_above", 25.0, lo=0.0),
        vix_high=adj("high"),
    )


def _objective(r: _Reader) -> ObjectiveSpec:
    d, obj = ObjectiveSpec(), r.table("objective")
    return ObjectiveSpec(
        kind=obj.text("kind", d.kind, choices=OBJECTIVES),
        fraction=obj.number("fraction", d.fraction, lo=1e-6, hi=1.0),
        drawdown_alpha=obj.number("drawdown_alpha", d.drawdown_alpha, lo=1e-6, hi=1.0 - 1e-9),
        drawdown_beta=obj.number("drawdown_beta", d.drawdown_beta, lo=1e-6, hi=1.0 - 1e-9),
    )


def _limits(r: _Reader) -> Limits:
    lim = r.table("limits")
    return Limits(
        max_strategy=lim.number("max_strategy", lo=0.0, hi=1.0),
        max_industry=lim.number("max_industry", lo=0.0, hi=1.0),
        max_symbol=lim.number("max_symbol", lo=0.0, hi=1.0),
        max_theta_positive=lim.number("max_theta_positive", lo=0.0, hi=1.0),
        abs_vega_per_vol_point=lim.number("abs_vega_per_vol_point", lo=0.0),
        vega_reference_capital=lim.number("vega_reference_capital", lo=1.0),
    )


def _industries(r: _Reader) -> IndustrySpec:
    d, ind = IndustrySpec(), r.table("industries")
    return IndustrySpec(
        min_industry_weight=ind.number("min_industry_weight", d.min_industry_weight, 0.0, 1.0),
        max_industries=ind.integer("max_industries", d.max_industries, lo=1),
        max_symbols_per_industry=ind.integer(
            "max_symbols_per_industry", d.max_symbols_per_industry, lo=1
        ),
        enforce_targets=ind.boolean("enforce_targets", d.enforce_targets),
        target_tolerance=ind.number("target_tolerance", d.target_tolerance, lo=0.0, hi=1.0),
        target_penalty=ind.number("target_penalty", d.target_penalty, lo=0.0),
    )


def _views(r: _Reader) -> dict[str, float]:
    views = r.table("views", required=False)
    return {
        (k.upper() if k.upper() in POSITION_TYPES else normalize_key(k)): views.number(
            k, lo=-1.0, hi=1.0
        )
        for k in views.data
    }


def _view_rules(r: _Reader) -> ViewRules:
    d, v = ViewRules(), r.table("view_rules", required=False)
    vrp = v.table("vrp_ratio", required=False)
    return ViewRules(
        regime_drift=v.number("regime_drift", d.regime_drift, lo=-1.0, hi=1.0),
        vrp_ratio={k: vrp.number(k, lo=0.1, hi=10.0) for k in vrp.data},
        on_conflict=v.text("on_conflict", d.on_conflict, choices=CONFLICT_RULES),
        conflict_shrink=v.number("conflict_shrink", d.conflict_shrink, lo=0.0, hi=1.0),
        calibration=v.text("calibration", d.calibration, ("copula", "entropy", "none")),
    )


def _candidate_spec(r: _Reader) -> CandidateSpec:
    d, cand = CandidateSpec(), r.table("candidates")
    otm_raw = cand.data.get("otm", list(d.otm))
    if (
        not isinstance(otm_raw, list)
        or not otm_raw
        or not all(isinstance(x, int | float) and 0.0 <= x < 0.5 for x in otm_raw)
    ):
        raise ConfigError(
            f"{cand.where}: otm must be a list of fractions in [0, 0.5), got {otm_raw!r}"
        )
    delta_raw = cand.data.get("delta", [])
    if not isinstance(delta_raw, list) or not all(
        isinstance(x, int | float) and not isinstance(x, bool) and 0.0 < x < 1.0 for x in delta_raw
    ):
        raise ConfigError(
            f"{cand.where}: delta must be a list of |delta| targets in (0, 1), e.g. "
            f"[0.30, 0.16]; got {delta_raw!r}"
        )
    return CandidateSpec(
        expiries=cand.integer("expiries", d.expiries, lo=1),
        otm=tuple(float(x) for x in otm_raw),
        delta=tuple(float(x) for x in delta_raw),
        wing=cand.number("wing", d.wing, lo=1e-4, hi=0.5),
        unbounded_loss=cand.text("unbounded_loss", d.unbounded_loss, ("filter", "stress")),
        stress_move=cand.number("stress_move", d.stress_move, lo=0.01, hi=1.0),
        max_candidates=cand.integer("max_candidates", d.max_candidates, lo=1),
        skew=cand.number("skew", d.skew, lo=0.0, hi=10.0),
        vol_proxy=cand.text("vol_proxy", d.vol_proxy, choices=("garch", "ewma")),
    )


def _scenario_spec(r: _Reader) -> ScenarioSpec:
    d, scen = ScenarioSpec(), r.table("scenarios")
    return ScenarioSpec(
        method=scen.text("method", d.method, choices=("bootstrap", "parametric")),
        n_scenarios=scen.integer("n_scenarios", d.n_scenarios, lo=50),
        block_length=scen.integer("block_length", d.block_length, lo=1),
        lookback_days=scen.integer("lookback_days", d.lookback_days, lo=60),
        seed=scen.integer("seed", d.seed, lo=0),
        vol_scale=scen.number("vol_scale", d.vol_scale, lo=0.05, hi=5.0),
    )


def _costs(r: _Reader) -> CostSpec:
    d, cost = CostSpec(), r.table("costs")
    fees_table = cost.table("fees", required=False)
    fees = {
        market: FeeSchedule.from_mapping(fees_table.table(market).data, f"{fees_table.where}")
        for market in fees_table.data
    }
    comm_raw = cost.data.get("commission_per_leg")  # the older form: a per-lot fee only
    if comm_raw is not None and not fees:
        if isinstance(comm_raw, int | float) and not isinstance(comm_raw, bool):
            fees = {m: FeeSchedule(per_lot=float(comm_raw)) for m in ("in", "us")}
        else:
            ct = cost.table("commission_per_leg")
            fees = {k: FeeSchedule(per_lot=ct.number(k, lo=0.0)) for k in ct.data}
    ex_table = cost.table("exercise", required=False)
    exercise = {
        market: ExerciseCharges.from_mapping(ex_table.table(market).data, f"{ex_table.where}")
        for market in ex_table.data
    }
    liq = cost.table("liquidity", required=False)
    dl = d.liquidity
    return CostSpec(
        bid_ask=cost.number("bid_ask", d.bid_ask, lo=0.0, hi=1.0),
        min_tick=cost.number("min_tick", d.min_tick, lo=0.0),
        fees=fees,
        liquidity=LiquidityRules(
            min_open_interest=liq.number("min_open_interest", dl.min_open_interest, lo=0.0),
            min_volume=liq.number("min_volume", dl.min_volume, lo=0.0),
            max_spread=liq.number("max_spread", dl.max_spread, lo=1e-6),
        ),
        spreads=cost.text("spreads", d.spreads),
        exercise=exercise,
    )


def parse_model(data: Mapping[str, Any], source: str = "model") -> ModelSpec:
    """Validate a parsed model file and return its :class:`ModelSpec`.

    A key the file leaves out takes the default written once, on the spec dataclasses.
    """
    r = _Reader(data, source)
    meta = r.table("model")
    kind = meta.text("kind", "industry_first", choices=("industry_first", "advanced"))
    return ModelSpec(
        name=meta.text("name"),
        kind=kind,
        version=str(meta.data.get("version", "1")),
        description=meta.text("description", ""),
        source=source,
        objective=_objective(r),
        profiles=_profiles(r),
        limits=_limits(r),
        industries=_industries(r),
        market_state_table=r.table("market_states").text("table", "regime"),
        strategy_map=_strategy_map(r),
        views=_views(r),
        candidates=_candidate_spec(r),
        scenarios=_scenario_spec(r),
        costs=_costs(r),
        advanced=_advanced(r) if kind == "advanced" else None,
        state_rules=_state_rules(r),
        view_rules=_view_rules(r),
        positions=_positions(r),
    )


def _state_rules(r: _Reader) -> StateRuleSpec:
    d, t = StateRuleSpec(), r.table("market_states")
    return StateRuleSpec(
        iv_band=t.number("iv_band", d.iv_band, lo=0.0, hi=1.0),
        long_short_split=t.boolean("long_short_split", d.long_short_split),
    )


def _positions(r: _Reader) -> PositionSpec:
    t = r.table("positions", required=False)

    def by_market(key: str) -> dict[str, float]:
        if isinstance(t.data.get(key), Mapping):
            per = t.table(key)
            return {m: per.number(m, lo=0.0) for m in per.data}
        value = t.number(key, 0.0, lo=0.0)
        return {"in": value, "us": value} if value else {}

    return PositionSpec(
        min_lots=t.integer("min_lots", 1, lo=1),
        min_capital=by_market("min_capital"),
        fixed_cost=by_market("fixed_cost"),
    )


def load_model(name: str = "industry_first") -> ModelSpec:
    """Load and validate ``models/<name>.toml`` (or a path to a .toml file)."""
    path = model_path(name)
    return parse_model(load_toml(name), source=str(path))


__all__ = [
    "POSITION_TYPES",
    "RISK_PROFILES",
    "STRATEGY_NAMES",
    "AdvancedSpec",
    "CandidateSpec",
    "CostSpec",
    "IndustrySpec",
    "Limits",
    "ModelSpec",
    "ObjectiveSpec",
    "RiskProfile",
    "ScenarioSpec",
    "StateRuleSpec",
    "StrategyMap",
    "load_model",
    "normalize_key",
    "normalize_strategy",
    "parse_model",
]
