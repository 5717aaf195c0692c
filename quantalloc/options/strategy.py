"""An option strategy: its legs, and per-lot economics (premium, capital, payoff, odds, Greeks).

All money figures are per lot (``lot_size`` units of the underlying per contract) in the
underlying's currency. Payoff figures (max profit, max loss, break-evens, probability of profit)
are at the *horizon*: the first option expiry, where every single-expiry strategy's P&L is a
piecewise-linear function of the price (solved exactly at its kinks); a calendar spread's back
leg is still alive there and is marked with Black-Scholes at its entry vol, so its figures come
from a fine log-spaced price grid (+-10 sigma), where a residual slope at the top end below 1%
of a lot counts as flat.

Capital rules (``capital_rule``):

- ``debit``: the net premium paid (long options, debit spreads, butterflies, calendars);
- ``max_loss``: the worst loss at the horizon (credit spreads: width minus credit; condors);
- ``cash_secured``: strike x quantity x lot minus the credit (cash-secured puts);
- ``stock``: the net cash paid for the stock and options (covered call, protective put, collar);
- ``margin``: naked short options, by :class:`~quantalloc.options.margin.MarginRule`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from quantalloc.errors import ConfigError
from quantalloc.options.legs import EXPIRY_EPS, Direction, Leg, LegBlock
from quantalloc.options.margin import MarginRule
from quantalloc.options.pricing import _bsm

FloatArray = NDArray[np.float64]
CapitalRule = Literal["debit", "max_loss", "cash_secured", "stock", "margin"]
CAPITAL_RULES: tuple[str, ...] = ("debit", "max_loss", "cash_secured", "stock", "margin")
_GRID_SIGMAS = 10.0
_GRID_POINTS = 4001


@dataclass(frozen=True, slots=True)
class PayoffSummary:
    """Per-lot payoff figures at the horizon (``inf`` where unbounded)."""

    max_profit: float
    max_loss: float
    breakevens: tuple[float, ...]
    probability_of_profit: float


@dataclass(frozen=True)
class Strategy:
    """A priced option strategy on one underlying (see the module notes for the conventions).

    ``vol`` is the underlying's at-the-money vol, used for the price distribution (probability
    of profit); each leg keeps the vol it was priced at. ``max_loss`` is reported as a positive
    number (the size of the worst loss).
    """

    name: str
    display_name: str
    direction: Direction
    theta_positive: bool
    capital_rule: CapitalRule
    legs: tuple[Leg, ...]
    spot: float
    rate: float
    vol: float
    dividend: float = 0.0
    lot_size: float = 1.0
    symbol: str = ""
    margin: MarginRule = field(default_factory=MarginRule)

    def __post_init__(self) -> None:
        if not self.legs:
            raise ConfigError(f"strategy {self.name} has no legs")
        if not any(g.is_option for g in self.legs):
            raise ConfigError(f"strategy {self.name} has no option leg")
        if self.capital_rule not in CAPITAL_RULES:
            raise ConfigError(f"capital rule {self.capital_rule!r} is not one of {CAPITAL_RULES}")
        if not (self.spot > 0 and self.lot_size > 0 and self.vol > 0):
            raise ConfigError(
                f"strategy {self.name}: spot, lot size and vol must be positive "
                f"(got {self.spot}, {self.lot_size}, {self.vol})"
            )

    # ---- entry economics ------------------------------------------------------------------

    @cached_property
    def horizon(self) -> float:
        """Years to the first option expiry."""
        return min(g.t for g in self.legs if g.is_option)

    @cached_property
    def expiries(self) -> tuple[float, ...]:
        """Distinct option expiries (years), ascending."""
        return tuple(sorted({round(g.t, 12) for g in self.legs if g.is_option}))

    @cached_property
    def net_premium(self) -> float:
        """Option premium per lot: positive for a net credit received, negative for a debit."""
        return -sum(g.sign * g.quantity * g.price for g in self.legs if g.is_option) * self.lot_size

    @cached_property
    def entry_cost(self) -> float:
        """Cash paid at entry per lot for every leg, stock included (negative: cash received)."""
        return sum(g.sign * g.quantity * g.price for g in self.legs) * self.lot_size

    @cached_property
    def greeks(self) -> dict[str, float]:
        """Position delta, gamma, vega, theta, rho per lot (plain per-unit partial derivatives)."""
        opts = [g for g in self.legs if g.is_option]
        res = _bsm(
            np.array([1.0 if g.kind == "call" else -1.0 for g in opts]),
            self.spot,
            np.array([g.strike for g in opts]),
            np.array([g.t for g in opts]),
            self.rate,
            np.array([g.vol for g in opts]),
            self.dividend,
        )
        units = np.array([g.sign * g.quantity for g in opts]) * self.lot_size
        out = {name: float(units @ getattr(res, name)) for name in ("delta", "gamma", "vega")}
        out["theta"] = float(units @ res.theta)
        out["rho"] = float(units @ res.rho)
        stock = sum(g.sign * g.quantity for g in self.legs if g.kind == "stock")
        out["delta"] += stock * self.lot_size
        return out

    @property
    def greeks_display(self) -> dict[str, float]:
        """Position Greeks per lot in practitioner units (for display and JSON).

        delta per 1 point of the underlying, gamma per point per point, vega per vol point
        (0.01), theta per calendar day (1/365 year), rho per 1% of rate.
        """
        g = self.greeks
        return {
            "delta": g["delta"],
            "gamma": g["gamma"],
            "vega": g["vega"] / 100.0,
            "theta": g["theta"] / 365.0,
            "rho": g["rho"] / 100.0,
        }

    # ---- P&L ------------------------------------------------------------------------------

    @cached_property
    def _block(self) -> LegBlock:
        return LegBlock.pack([self.legs], [self.lot_size], [self.rate], [self.dividend])

    def pnl(
        self,
        prices: ArrayLike,
        horizon: float | None = None,
        vol: ArrayLike | None = None,
    ) -> FloatArray:
        """P&L per lot when the underlying is at ``prices`` (any shape) ``horizon`` years out.

        ``horizon`` defaults to the first expiry; legs with time left are marked with
        Black-Scholes at their entry vol, or at ``vol`` (broadcast against ``prices``); legs
        that expire on or before the horizon pay their intrinsic value at ``prices``.
        """
        s = np.asarray(prices, dtype=float)
        h = self.horizon if horizon is None else float(horizon)
        if h < 0:
            raise ConfigError(f"horizon must be >= 0 years, got {h}")
        flat = s.reshape(1, -1)
        block = self._block
        tiled = np.broadcast_to(flat, (block.w.size, flat.shape[1]))
        sigma = None if vol is None else np.broadcast_to(np.asarray(vol, float), s.shape).ravel()
        values = block.values(np.ascontiguousarray(tiled), np.full(block.w.size, h), sigma)
        out = block.units @ (values - block.entry[:, None])
        return np.asarray(out.reshape(s.shape))

    # ---- payoff analysis ------------------------------------------------------------------

    @cached_property
    def _single_expiry(self) -> bool:
        h = self.horizon
        return all(abs(g.t - h) <= EXPIRY_EPS for g in self.legs if g.is_option)

    @cached_property
    def payoff(self) -> PayoffSummary:
        """Max profit, max loss, break-evens and probability of profit at the horizon."""
        if self._single_expiry:
            return self._piecewise_summary()
        return self._grid_summary()

    def _piecewise_summary(self) -> PayoffSummary:
        strikes = sorted({g.strike for g in self.legs if g.is_option})
        x = np.array([0.0, *strikes])
        p = self.pnl(x)
        slope = self.lot_size * sum(
            g.sign * g.quantity for g in self.legs if g.kind in ("call", "stock")
        )
        tol = 1e-9 * self.lot_size
        max_profit = math.inf if slope > tol else float(p.max())
        max_loss = math.inf if slope < -tol else float(-p.min())
        roots = _roots(x, p, slope)

        def at(points: FloatArray) -> FloatArray:
            return self.pnl(points)

        return PayoffSummary(max_profit, max_loss, roots, self._pop(roots, at))

    def _grid_summary(self) -> PayoffSummary:
        width = _GRID_SIGMAS * self.vol * math.sqrt(max(self.expiries[-1], 1e-6))
        grid = self.spot * np.exp(np.linspace(-width, width, _GRID_POINTS))
        x = np.unique(np.concatenate([grid, [g.strike for g in self.legs if g.is_option]]))
        p = self.pnl(x)
        top_slope = (p[-1] - p[-2]) / (x[-1] - x[-2])
        # at 10 sigma a calendar's legs are both near intrinsic; a residual slope below 1% of a
        # lot (e.g. from a dividend yield) counts as flat rather than an unbounded payoff
        tol = 0.01 * self.lot_size
        max_profit = math.inf if top_slope > tol else float(p.max())
        max_loss = math.inf if top_slope < -tol else float(-p.min())
        roots = _roots(x, p, top_slope)

        def at(points: FloatArray) -> FloatArray:
            return np.interp(points, x, p, left=p[0], right=p[-1])

        return PayoffSummary(max_profit, max_loss, roots, self._pop(roots, at))

    def _pop(self, roots: tuple[float, ...], at: object) -> float:
        """Lognormal (risk-neutral drift, ATM vol) probability that the horizon P&L is > 0."""
        h = self.horizon
        edges = np.array([0.0, *roots, math.inf])
        lo, hi = edges[:-1], edges[1:]
        probe = np.where(np.isinf(hi), np.maximum(lo * 1.5, self.spot * 2.0) + 1.0, 0.5 * (lo + hi))
        probe = np.where(lo == 0.0, np.minimum(probe, 0.5 * hi), probe)
        winning = np.asarray(at(probe)) > 0.0  # type: ignore[operator]
        sv = self.vol * math.sqrt(h)
        mu = (self.rate - self.dividend - 0.5 * self.vol**2) * h
        with np.errstate(divide="ignore"):
            z = (np.log(edges / self.spot) - mu) / sv
        cdf = ndtr(z)
        return float(np.sum((cdf[1:] - cdf[:-1])[winning]))

    @property
    def max_profit(self) -> float:
        """Largest P&L per lot at the horizon (``inf`` if unbounded)."""
        return self.payoff.max_profit

    @property
    def max_loss(self) -> float:
        """Largest loss per lot at the horizon, as a positive number (``inf`` if unbounded)."""
        return self.payoff.max_loss

    @property
    def breakevens(self) -> tuple[float, ...]:
        """Underlying prices at the horizon where the P&L crosses zero, ascending."""
        return self.payoff.breakevens

    @property
    def probability_of_profit(self) -> float:
        """Probability that the horizon P&L is positive (lognormal, risk-neutral drift)."""
        return self.payoff.probability_of_profit

    @cached_property
    def capital_required(self) -> float:
        """Capital tied up per lot under :attr:`capital_rule` (see the module notes)."""
        rule = self.capital_rule
        debit = max(-self.net_premium, 0.0)
        if rule == "debit":
            return debit
        if rule == "max_loss":
            return max(self.max_loss, debit)
        if rule == "cash_secured":
            puts = [g for g in self.legs if g.kind == "put" and g.side == "sell"]
            secured = sum(g.strike * g.quantity for g in puts) * self.lot_size
            return max(secured - self.net_premium, 0.0)
        if rule == "stock":
            return max(self.entry_cost, 0.0)
        shorts = [g for g in self.legs if g.is_option and g.side == "sell"]
        return self.margin.requirement(shorts, self.spot) * self.lot_size + debit

    @property
    def is_credit(self) -> bool:
        """True when the options bring in a net credit."""
        return self.net_premium > 0

    def as_dict(self) -> dict[str, object]:
        """JSON-ready summary: inf becomes None, Greeks in display units (greeks_display)."""

        def num(v: float) -> float | None:
            return None if not math.isfinite(v) else float(v)

        return {
            "strategy_name": self.name,
            "display_name": self.display_name,
            "position_type": self.direction.value,
            "symbol": self.symbol,
            "legs": [g.as_dict() for g in self.legs],
            "lot_size": self.lot_size,
            "net_premium": self.net_premium,
            "capital_required": self.capital_required,
            "max_profit": num(self.max_profit),
            "max_loss": num(self.max_loss),
            "breakevens": list(self.breakevens),
            "probability_of_profit": self.probability_of_profit,
            "theta_positive": self.theta_positive,
            **self.greeks_display,
        }


def _roots(x: FloatArray, p: FloatArray, end_slope: float) -> tuple[float, ...]:
    """Zero crossings of the piecewise-linear function through (x, p), extended by end_slope."""
    tol = 1e-10 * max(1.0, float(np.max(np.abs(p))))
    roots: list[float] = []
    for i in range(len(x)):
        if abs(p[i]) <= tol and x[i] > 0:
            roots.append(float(x[i]))
        if i + 1 < len(x) and ((p[i] < -tol < tol < p[i + 1]) or (p[i] > tol > -tol > p[i + 1])):
            roots.append(float(x[i] - p[i] * (x[i + 1] - x[i]) / (p[i + 1] - p[i])))
    last = p[-1]
    if (last > tol and end_slope < 0) or (last < -tol and end_slope > 0):
        roots.append(float(x[-1] - last / end_slope))
    return tuple(sorted(set(roots)))


__all__ = ["CAPITAL_RULES", "CapitalRule", "PayoffSummary", "Strategy"]
