"""Search spaces: the tunable parameters of every strategy, declared once, validated.

A :class:`SearchSpace` is a tuple of :class:`Param` (int, float or categorical) plus fixed
parameters passed through untouched. :data:`SPACES` holds the built-in space of each strategy;
:func:`get_space` looks one up and can narrow or override it from a config mapping (the TOML of an
experiment), validating every bound so a bad range fails before the first trial runs.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import optuna

from quantalloc.errors import ConfigError

Kind = Literal["int", "float", "categorical"]


@dataclass(frozen=True)
class Param:
    """One tunable parameter.

    ``low``/``high`` bound int and float parameters (inclusive), ``step`` makes them discrete,
    ``log`` samples on a log scale; ``choices`` lists a categorical parameter's values.
    """

    name: str
    kind: Kind
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()
    help: str = ""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError unless the declaration can be sampled."""
        where = f"search-space parameter {self.name!r}"
        if self.kind not in ("int", "float", "categorical"):
            raise ConfigError(f"{where}: kind must be int, float or categorical, got {self.kind!r}")
        if self.kind == "categorical":
            if not self.choices:
                raise ConfigError(f"{where}: a categorical parameter needs at least one choice")
            return
        if self.low is None or self.high is None:
            raise ConfigError(f"{where}: needs both low and high bounds")
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ConfigError(f"{where}: bounds must be finite, got [{self.low}, {self.high}]")
        if self.low > self.high:
            raise ConfigError(
                f"{where}: low {self.low} is above high {self.high}; swap or fix the bounds"
            )
        if self.kind == "int" and (self.low != int(self.low) or self.high != int(self.high)):
            raise ConfigError(
                f"{where}: int bounds must be whole numbers, got [{self.low}, {self.high}]"
            )
        if self.step is not None:
            if not self.step > 0:
                raise ConfigError(f"{where}: step must be > 0, got {self.step}")
            if self.log:
                raise ConfigError(f"{where}: step and log cannot be combined (optuna rule)")
            if self.kind == "int" and self.step != int(self.step):
                raise ConfigError(f"{where}: an int step must be whole, got {self.step}")
        if self.log and self.low <= 0:
            raise ConfigError(f"{where}: a log scale needs low > 0, got {self.low}")

    def suggest(self, trial: optuna.Trial) -> Any:
        """Ask ``trial`` for a value of this parameter."""
        if self.kind == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        assert self.low is not None and self.high is not None
        if self.kind == "int":
            return trial.suggest_int(
                self.name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log
            )
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def contains(self, value: Any) -> bool:
        """True when ``value`` lies in this parameter's range (or is one of its choices)."""
        if self.kind == "categorical":
            return value in self.choices
        assert self.low is not None and self.high is not None
        try:
            v = float(value)
        except (TypeError, ValueError):
            return False
        return self.low - 1e-12 <= v <= self.high + 1e-12

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping (for JSON output and experiment configs)."""
        if self.kind == "categorical":
            return {"kind": self.kind, "choices": list(self.choices)}
        out: dict[str, Any] = {"kind": self.kind, "low": self.low, "high": self.high}
        if self.step is not None:
            out["step"] = self.step
        if self.log:
            out["log"] = True
        return out


def _i(name: str, low: int, high: int, step: int = 1, help: str = "") -> Param:
    return Param(name, "int", low, high, step=step if step != 1 else None, help=help)


def _f(name: str, low: float, high: float, *, log: bool = False, help: str = "") -> Param:
    return Param(name, "float", low, high, log=log, help=help)


@dataclass(frozen=True)
class SearchSpace:
    """The tunable parameters of one strategy, plus fixed ones passed through as they are."""

    strategy: str
    params: tuple[Param, ...]
    fixed: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"search space {self.strategy!r} declares {dupes} more than once")
        both = sorted(set(names) & set(self.fixed))
        if both:
            raise ConfigError(
                f"search space {self.strategy!r}: {both} are both tuned and fixed; keep one"
            )
        if not self.params:
            raise ConfigError(f"search space {self.strategy!r} has nothing to tune")

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the tuned parameters, in declaration order."""
        return tuple(p.name for p in self.params)

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Sample every parameter from ``trial``; returns tuned and fixed parameters together."""
        out = dict(self.fixed)
        with warnings.catch_warnings():
            # An enqueued baseline (the strategy's defaults) may sit off a stepped grid, e.g. a
            # 252-day SMA on a step-5 grid; optuna uses the value as given and says so. Fine.
            warnings.filterwarnings("ignore", message="Fixed parameter .* out of range")
            for p in self.params:
                out[p.name] = p.suggest(trial)
        return out

    def check(self, params: Mapping[str, Any]) -> None:
        """Raise ConfigError when ``params`` lacks a tuned parameter or holds one out of range."""
        for p in self.params:
            if p.name not in params:
                raise ConfigError(f"{self.strategy}: parameter {p.name!r} is missing")
            if not p.contains(params[p.name]):
                raise ConfigError(
                    f"{self.strategy}: {p.name}={params[p.name]!r} is outside its search range "
                    f"{p.to_dict()}"
                )

    def at_bounds(self, params: Mapping[str, Any], tol: float = 0.01) -> list[str]:
        """Tuned numeric parameters within ``tol`` of the range's width of a bound.

        A best value on the edge of the search space says the space may be too narrow.
        """
        out = []
        for p in self.params:
            if p.kind == "categorical" or p.name not in params:
                continue
            assert p.low is not None and p.high is not None
            width = p.high - p.low
            v = float(params[p.name])
            if width > 0 and (v - p.low <= tol * width or p.high - v <= tol * width):
                out.append(p.name)
        return out

    def with_overrides(self, config: Mapping[str, Any]) -> SearchSpace:
        """A copy with some parameters re-bounded, dropped to fixed values, or left alone.

        ``config`` maps a parameter name to a mapping of fields (``low``, ``high``, ``step``,
        ``log``, ``choices``) or to a scalar, which fixes the parameter at that value.
        """
        by_name = {p.name: p for p in self.params}
        unknown = sorted(set(config) - set(by_name) - set(self.fixed))
        if unknown:
            raise ConfigError(
                f"search space {self.strategy!r} has no parameter(s) {unknown}; "
                f"tunable: {', '.join(self.names)}"
            )
        params: list[Param] = []
        fixed = dict(self.fixed)
        for p in self.params:
            if p.name not in config:
                params.append(p)
                continue
            value = config[p.name]
            if isinstance(value, Mapping):
                allowed = {"low", "high", "step", "log", "choices"}
                bad = sorted(set(value) - allowed)
                if bad:
                    raise ConfigError(f"{self.strategy}.{p.name}: unknown field(s) {bad}")
                fields = dict(value)
                if "choices" in fields:
                    fields["choices"] = tuple(fields["choices"])
                params.append(replace(p, **fields))
            else:
                if not p.contains(value):
                    raise ConfigError(
                        f"{self.strategy}.{p.name}: fixed value {value!r} is outside {p.to_dict()}"
                    )
                fixed[p.name] = value
        for name in set(config) & set(self.fixed):
            fixed[name] = config[name]
        return SearchSpace(self.strategy, tuple(params), fixed)

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping of every tuned parameter and the fixed values."""
        return {"params": {p.name: p.to_dict() for p in self.params}, "fixed": dict(self.fixed)}


# The built-in spaces. Parameter names are the fields of each strategy's parameter dataclass in
# quantalloc.backtest (checked by :func:`check_against_strategy` before a study starts).
SPACES: dict[str, SearchSpace] = {
    "momentum": SearchSpace(
        "momentum",
        (
            _i("sma_days", 20, 300, 5, "SMA length of the signal in trading days"),
            _f("stop_loss", 0.02, 0.25, help="stop below the entry price"),
            Param(
                "take_profit",
                "categorical",
                choices=(0.0, 0.1, 0.2, 0.3, 0.5, 1.0),
                help="take profit above entry (0 = none)",
            ),
        ),
    ),
    "orb": SearchSpace(
        "orb",
        (
            _i("range_minutes", 5, 60, 5, "opening-range length in minutes"),
            _f("min_atr_pct", 0.01, 0.15, help="filter: ATR as a share of price at least this"),
            _f("take_profit_atr", 0.1, 2.0, help="take profit in ATR multiples"),
            _f("stop_atr", 0.1, 2.0, help="stop in ATR multiples"),
            _i("atr_days", 5, 30, 1, "sessions in the ATR"),
        ),
    ),
    "wheel": SearchSpace(
        "wheel",
        (
            _f("put_otm", 0.0, 0.10, help="short put strike below spot"),
            _f("call_otm", 0.0, 0.10, help="covered call strike above spot"),
            _i("min_dte", 5, 60, 1, "minimum days to expiry at entry"),
            _f("take_profit", 0.1, 0.9, help="buy back after this share of the premium"),
            Param("expiry", "categorical", choices=("weekly", "monthly"), help="expiry cycle"),
        ),
    ),
    "multi": SearchSpace(
        "multi",
        (
            Param("objective", "categorical", choices=("score", "kelly"), help="what to maximise"),
            _f("min_weight", 0.0, 0.2, help="lowest weight of a strategy"),
            _f("max_weight", 0.4, 0.8, help="highest weight of a strategy"),
            _i("lookback_days", 63, 756, 21, "days of returns the weights see"),
            Param(
                "cadence",
                "categorical",
                choices=("immediate", "20", "60", "180"),
                help="rebalance when out of position: at once or every N days",
            ),
        ),
    ),
    "allocator": SearchSpace(
        "allocator",
        (
            _f("kelly_fraction", 0.1, 1.0, help="fraction of the Kelly growth-optimal bet"),
            _f(
                "drawdown_alpha", 0.5, 0.95, help="RCK: wealth level (share of start) to stay above"
            ),
            _f("drawdown_beta", 0.01, 0.3, help="probability bound of that drawdown"),
            _f("max_strategy", 0.1, 0.6, help="cap on one strategy's weight"),
            _f("max_industry", 0.15, 0.6, help="cap on one industry's weight"),
            _f("min_pop", 0.3, 0.8, help="filter: minimum probability of profit"),
            _f("min_score", 0.0, 80.0, help="filter: minimum external strategy score"),
        ),
    ),
}


def check_against_strategy(space: SearchSpace, fields: Sequence[Mapping[str, Any]]) -> None:
    """Raise ConfigError unless every tuned parameter is a field of the strategy, in its bounds.

    ``fields`` is the strategy's parameter description (``quantalloc.backtest.params.describe``):
    one mapping per field with ``name``, ``low``, ``high`` and ``choices``.
    """
    by_name = {f["name"]: f for f in fields}
    for p in space.params:
        f = by_name.get(p.name)
        if f is None:
            raise ConfigError(
                f"search space {space.strategy!r} tunes {p.name!r}, which the strategy does not "
                f"have; its parameters: {', '.join(sorted(by_name))}"
            )
        values = list(p.choices) if p.kind == "categorical" else [p.low, p.high]
        for v in values:
            if f.get("choices") is not None and v not in f["choices"]:
                raise ConfigError(f"{space.strategy}.{p.name}: {v!r} is not one of {f['choices']}")
            if isinstance(v, int | float) and not isinstance(v, bool):
                lo, hi = f.get("low"), f.get("high")
                if (lo is not None and v < lo) or (hi is not None and v > hi):
                    raise ConfigError(
                        f"{space.strategy}.{p.name}: search bound {v} is outside the strategy's "
                        f"allowed range [{lo}, {hi}]; narrow the search space"
                    )
    unknown_fixed = sorted(set(space.fixed) - set(by_name))
    if unknown_fixed:
        raise ConfigError(
            f"search space {space.strategy!r} fixes {unknown_fixed}, which the strategy does "
            "not have"
        )


def get_space(strategy: str, overrides: Mapping[str, Any] | None = None) -> SearchSpace:
    """The search space of ``strategy``, optionally narrowed by ``overrides``."""
    try:
        space = SPACES[strategy]
    except KeyError:
        raise ConfigError(
            f"no search space for strategy {strategy!r}; known: {', '.join(sorted(SPACES))}"
        ) from None
    return space.with_overrides(overrides) if overrides else space


def space_from_dict(strategy: str, spec: Mapping[str, Mapping[str, Any]]) -> SearchSpace:
    """Build a space from a mapping ``{name: {kind, low, high, ...}}`` (for a custom strategy)."""
    params: list[Param] = []
    fixed: dict[str, Any] = {}
    for name, body in spec.items():
        if not isinstance(body, Mapping):
            fixed[name] = body
            continue
        body = dict(body)
        kind = body.pop("kind", "float")
        if "choices" in body:
            body["choices"] = tuple(body["choices"])
        allowed = {"low", "high", "step", "log", "choices", "help"}
        bad = sorted(set(body) - allowed)
        if bad:
            raise ConfigError(f"{strategy}.{name}: unknown field(s) {bad}")
        params.append(Param(name, kind, **body))
    return SearchSpace(strategy, tuple(params), fixed)


def known_strategies() -> Sequence[str]:
    """Names with a built-in search space."""
    return sorted(SPACES)


__all__ = [
    "SPACES",
    "Param",
    "SearchSpace",
    "check_against_strategy",
    "get_space",
    "known_strategies",
    "space_from_dict",
]
