"""Strategy builders: pick strikes by rule, round to the strike grid, price every leg.

Every strategy's facts (name, display name, direction, theta sign, capital rule, default strike
and width, leg template) live in the one catalog, :mod:`quantalloc.options.catalog`; this module
only places and prices the legs.

Strike placement (``strike=StrikeRule(...)``) sets the *inner* strikes: the long strike of a debit
spread, the short strikes of credit spreads, condors and strangles, the body of butterflies, the
call of a covered call, the put of a cash-secured or protective put, and both sides of a collar.
``width`` is the wing width as a fraction of spot (at least one grid step). Defaults per strategy
are in the catalog (``default_strike``, ``default_width``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from quantalloc.errors import ConfigError, DataError
from quantalloc.markets import get_market
from quantalloc.options.catalog import STRATEGIES, strategy_info
from quantalloc.options.legs import Leg, Side
from quantalloc.options.margin import MarginRule
from quantalloc.options.pricing import _bsm
from quantalloc.options.strategy import Strategy
from quantalloc.options.strikes import StrikeGrid, StrikeRule, strike_for_delta, strike_step
from quantalloc.options.volatility import SkewModel

FloatArray = NDArray[np.float64]
VolSurfaceFn = Callable[[FloatArray, float], FloatArray]


@dataclass(frozen=True)
class Underlying:
    """Everything the builders need to know about one underlying.

    ``vol`` is the at-the-money implied vol (fraction); the vol at another strike comes from
    ``vol_surface(strikes, t)`` when given (e.g. ``ChainVolSurface.vol``), else from ``skew``.
    ``strikes`` lists the tradable strikes when known (a chain); otherwise strikes sit on the
    ``strike_step(spot, market, symbol)`` grid. ``rate=None`` takes the market's risk-free rate.
    """

    symbol: str
    spot: float
    vol: float
    market: str = "us"
    rate: float | None = None
    dividend: float = 0.0
    lot_size: float = 1.0
    skew: SkewModel = field(default_factory=SkewModel)
    vol_surface: VolSurfaceFn | None = None
    strikes: tuple[float, ...] = ()
    margin: MarginRule | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.spot) and self.spot > 0):
            raise DataError(f"{self.symbol}: spot must be a positive price, got {self.spot}")
        if not (math.isfinite(self.vol) and self.vol > 0):
            raise DataError(
                f"{self.symbol}: ATM vol must be a positive fraction (0.2 = 20%), got {self.vol}"
            )
        if not self.lot_size > 0:
            raise ConfigError(f"{self.symbol}: lot size must be positive, got {self.lot_size}")
        get_market(self.market)

    @property
    def risk_free(self) -> float:
        """The rate in force: ``rate`` or the market's risk-free rate."""
        return get_market(self.market).risk_free_rate if self.rate is None else float(self.rate)

    @property
    def grid(self) -> StrikeGrid:
        """Where strikes may sit."""
        step = strike_step(self.spot, self.market, self.symbol)
        return StrikeGrid(step=step, listed=tuple(sorted(set(self.strikes))))

    @property
    def margin_rule(self) -> MarginRule:
        """The naked-option margin rule (the market default unless given)."""
        return self.margin or MarginRule.for_market(self.market)

    def vol_at(self, strikes: ArrayLike, t: float) -> FloatArray:
        """Implied vol at ``strikes`` for ``t`` years."""
        k = np.asarray(strikes, dtype=float)
        if self.vol_surface is not None:
            return np.asarray(self.vol_surface(k, t), dtype=float)
        return self.skew.vol(self.vol, self.spot, k, t)


class _Ctx:
    """Pricing context for one build: underlying, expiry, grid."""

    def __init__(self, u: Underlying, t: float) -> None:
        self.u, self.t, self.grid, self.r = u, t, u.grid, u.risk_free

    def strike(self, rule: StrikeRule, kind: str, t: float | None = None) -> float:
        """The listed-grid strike of ``kind`` that ``rule`` places (by delta, or OTM from spot)."""
        u = self.u
        if rule.delta is not None:
            tt = self.t if t is None else t
            raw = strike_for_delta(kind, rule.delta, u.spot, tt, self.r, u.vol_at, u.dividend)
        else:
            otm = float(rule.otm or 0.0)
            raw = u.spot * (1.0 + otm) if kind == "call" else u.spot * (1.0 - otm)
        return self.grid.round(raw)

    def wing(self, strike: float, width: float, up: bool) -> float:
        return self.grid.wing(strike, width * self.u.spot, up)

    def leg(
        self, kind: str, side: Side, strike: float, qty: float = 1.0, t: float | None = None
    ) -> Leg:
        tt = self.t if t is None else t
        vol = float(self.u.vol_at(np.array([strike]), tt)[0])
        if not (math.isfinite(vol) and vol > 0):
            raise DataError(f"{self.u.symbol}: vol at strike {strike:g} is {vol}; cannot price")
        w = 1.0 if kind == "call" else -1.0
        price = float(_bsm(w, self.u.spot, strike, tt, self.r, vol, self.u.dividend).price)
        return Leg(kind, side, strike, price, qty, tt, vol)  # type: ignore[arg-type]

    def stock(self) -> Leg:
        return Leg("stock", "buy", math.nan, self.u.spot, 1.0)


_Legs = list[Leg]
LegsFn = Callable[[_Ctx, StrikeRule, float, float | None, str], _Legs]


def _single(kind: str, side: Side) -> LegsFn:
    def build(c: _Ctx, rule: StrikeRule, width: float, far_t: float | None, k: str) -> _Legs:
        return [c.leg(kind, side, c.strike(rule, kind))]

    return build


def _vertical(kind: str, inner_side: Side, up: bool) -> LegsFn:
    """Inner leg at the rule, outer leg ``width`` away (up for calls' wings, down for puts')."""

    def build(c: _Ctx, rule: StrikeRule, width: float, far_t: float | None, k: str) -> _Legs:
        inner = c.strike(rule, kind)
        outer = c.wing(inner, width, up)
        other: Side = "sell" if inner_side == "buy" else "buy"
        return [c.leg(kind, inner_side, inner), c.leg(kind, other, outer)]

    return build


def _strangle_strikes(c: _Ctx, rule: StrikeRule) -> tuple[float, float]:
    kp, kc = c.strike(rule, "put"), c.strike(rule, "call")
    if kc <= kp:
        raise ConfigError(
            f"{c.u.symbol}: put strike {kp:g} is not below call strike {kc:g} under {rule}; "
            "use a smaller delta or a larger otm fraction"
        )
    return kp, kc


def _iron(c: _Ctx, kp: float, kc: float, width: float) -> _Legs:
    """Short put at ``kp`` and short call at ``kc``, each with a long wing ``width`` beyond."""
    return [
        c.leg("put", "buy", c.wing(kp, width, up=False)),
        c.leg("put", "sell", kp),
        c.leg("call", "sell", kc),
        c.leg("call", "buy", c.wing(kc, width, up=True)),
    ]


def _iron_condor(c: _Ctx, rule: StrikeRule, width: float, far_t: float | None, k: str) -> _Legs:
    return _iron(c, *_strangle_strikes(c, rule), width)


def _iron_butterfly(c: _Ctx, rule: StrikeRule, width: float, far_t: float | None, k: str) -> _Legs:
    body = c.strike(rule, "call")
    return _iron(c, body, body, width)


def _call_butterfly(
    c: _Ctx, rule: StrikeRule, width: float, far_t: float | None, k: str
) -> list[Leg]:
    body = c.strike(rule, "call")
    lo, hi = c.wing(body, width, up=False), c.wing(body, width, up=True)
    # keep the wings symmetric so the payoff is a tent (zero beyond both wings); with listed
    # strikes that lack a symmetric pair, the asymmetric (broken-wing) pair is kept
    half = min(body - lo, hi - body)
    listed = set(c.grid.listed)
    if not listed or {body - half, body + half} <= listed:
        lo, hi = body - half, body + half
    return [c.leg("call", "buy", lo), c.leg("call", "sell", body, 2.0), c.leg("call", "buy", hi)]


def _straddle(side: Side) -> LegsFn:
    def build(c: _Ctx, rule: StrikeRule, width: float, far_t: float | None, k: str) -> _Legs:
        strike = c.strike(rule, "call")
        return [c.leg("put", side, strike), c.leg("call", side, strike)]

    return build


def _strangle(side: Side) -> LegsFn:
    def build(c: _Ctx, rule: StrikeRule, width: float, far_t: float | None, k: str) -> _Legs:
        kp, kc = _strangle_strikes(c, rule)
        return [c.leg("put", side, kp), c.leg("call", side, kc)]

    return build


def _covered_call(
    c: _Ctx, rule: StrikeRule, width: float, far_t: float | None, k: str
) -> list[Leg]:
    return [c.stock(), c.leg("call", "sell", c.strike(rule, "call"))]


def _protective_put(
    c: _Ctx, rule: StrikeRule, width: float, far_t: float | None, k: str
) -> list[Leg]:
    return [c.stock(), c.leg("put", "buy", c.strike(rule, "put"))]


def _collar(c: _Ctx, rule: StrikeRule, width: float, far_t: float | None, k: str) -> _Legs:
    kp, kc = _strangle_strikes(c, rule)
    return [c.stock(), c.leg("put", "buy", kp), c.leg("call", "sell", kc)]


def _calendar(c: _Ctx, rule: StrikeRule, width: float, far_t: float | None, k: str) -> _Legs:
    back = 2.0 * c.t if far_t is None else float(far_t)
    if not back > c.t:
        raise ConfigError(f"calendar back month ({back:g} y) must be after the front ({c.t:g} y)")
    strike = c.strike(rule, k)
    return [c.leg(k, "sell", strike), c.leg(k, "buy", strike, t=back)]


# leg placement per strategy (the facts about each strategy live in the catalog)
_BUILDERS: dict[str, LegsFn] = {
    "long_call": _single("call", "buy"),
    "long_put": _single("put", "buy"),
    "bull_call_spread": _vertical("call", "buy", True),
    "bear_put_spread": _vertical("put", "buy", False),
    "bull_put_spread": _vertical("put", "sell", False),
    "bear_call_spread": _vertical("call", "sell", True),
    "iron_condor": _iron_condor,
    "iron_butterfly": _iron_butterfly,
    "long_call_butterfly": _call_butterfly,
    "long_straddle": _straddle("buy"),
    "short_straddle": _straddle("sell"),
    "long_strangle": _strangle("buy"),
    "short_strangle": _strangle("sell"),
    "covered_call": _covered_call,
    "cash_secured_put": _single("put", "sell"),
    "protective_put": _protective_put,
    "collar": _collar,
    "calendar_spread": _calendar,
}
if set(_BUILDERS) != set(STRATEGIES):  # pragma: no cover - a catalog entry without a builder
    raise ImportError(f"strategy builders and catalog differ: {set(_BUILDERS) ^ set(STRATEGIES)}")


def build_strategy(
    name: str,
    underlying: Underlying,
    t: float,
    *,
    strike: StrikeRule | None = None,
    width: float | None = None,
    far_t: float | None = None,
    kind: str = "call",
) -> Strategy:
    """Build and price strategy ``name`` on ``underlying`` expiring in ``t`` years.

    Parameters
    ----------
    strike
        Placement of the inner strikes (default: the strategy's ``default_strike``).
    width
        Wing width as a fraction of spot, for spreads, condors and butterflies (default 5%).
    far_t
        Back-month expiry of a calendar spread in years (default ``2 * t``).
    kind
        ``call`` or ``put``: the option type of a calendar spread.

    Raises
    ------
    ConfigError
        Unknown name, a non-positive ``t`` or ``width``, strikes that collapse (e.g. a strangle
        whose put strike is not below its call strike).
    DataError
        A vol or strike that cannot be priced.
    """
    info = strategy_info(name)
    if not (math.isfinite(t) and t > 0):
        raise ConfigError(f"{name}: time to expiry must be positive years, got {t}")
    w = info.default_width if width is None else float(width)
    if w is not None and not (0 < w < 1):
        raise ConfigError(f"{name}: wing width is a fraction of spot in (0, 1), got {w}")
    if kind not in ("call", "put"):
        raise ConfigError(f"{name}: kind must be call or put, got {kind!r}")
    ctx = _Ctx(underlying, float(t))
    legs = _BUILDERS[name](ctx, strike or info.default_strike, w or 0.05, far_t, kind)
    return Strategy(
        name=info.name,
        display_name=info.display_name,
        direction=info.direction,
        theta_positive=info.theta_positive,
        capital_rule=info.capital_rule,
        legs=tuple(legs),
        spot=underlying.spot,
        rate=ctx.r,
        vol=underlying.vol,
        dividend=underlying.dividend,
        lot_size=underlying.lot_size,
        symbol=underlying.symbol,
        margin=underlying.margin_rule,
    )


__all__ = ["Underlying", "build_strategy"]
