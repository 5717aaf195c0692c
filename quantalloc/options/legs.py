"""Legs of an option strategy, and their values at a horizon (vectorized over scenarios)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from quantalloc.errors import ConfigError
from quantalloc.options.pricing import _bsm

FloatArray = NDArray[np.float64]
LegKind = Literal["call", "put", "stock"]
Side = Literal["buy", "sell"]
EXPIRY_EPS = 1e-9  # years; a leg with less time left than this is valued at intrinsic


class Direction(StrEnum):
    """Market view of a strategy: LONG (bullish), SHORT (bearish) or NEUTRAL."""

    LONG = "LONG"
    SHORT = "SHORT"
    NEUTRAL = "NEUTRAL"


@dataclass(frozen=True, slots=True)
class Leg:
    """One leg: ``quantity`` units of an option (or the stock) bought or sold at ``price``.

    Prices are per unit of the underlying (multiply by the lot size for one contract). ``t`` is
    the leg's years to expiry at entry and ``vol`` the vol it was priced at (both NaN for stock).
    """

    kind: LegKind
    side: Side
    strike: float
    price: float
    quantity: float = 1.0
    t: float = math.nan
    vol: float = math.nan

    def __post_init__(self) -> None:
        if self.kind not in ("call", "put", "stock"):
            raise ConfigError(f"leg kind must be call, put or stock, got {self.kind!r}")
        if self.side not in ("buy", "sell"):
            raise ConfigError(f"leg side must be buy or sell, got {self.side!r}")
        if not self.quantity > 0:
            raise ConfigError(f"leg quantity must be positive, got {self.quantity}")
        if self.kind != "stock":
            if not self.strike > 0:
                raise ConfigError(f"option leg strike must be positive, got {self.strike}")
            if not self.t > 0:
                raise ConfigError(f"option leg time to expiry must be positive, got {self.t}")

    @property
    def sign(self) -> float:
        """+1 for a bought leg, -1 for a sold one."""
        return 1.0 if self.side == "buy" else -1.0

    @property
    def is_option(self) -> bool:
        """True for calls and puts."""
        return self.kind != "stock"

    def payoff(self, prices: ArrayLike) -> FloatArray:
        """Value per unit at the leg's expiry (stock: the price), before the sign and quantity."""
        s = np.asarray(prices, dtype=float)
        if self.kind == "stock":
            return s.copy()
        w = 1.0 if self.kind == "call" else -1.0
        return np.maximum(w * (s - self.strike), 0.0)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready description (kind, side, strike, price, quantity)."""
        return {
            "kind": self.kind,
            "side": self.side,
            "strike": None if self.kind == "stock" else self.strike,
            "price": self.price,
            "quantity": self.quantity,
        }


@dataclass(frozen=True, slots=True)
class LegBlock:
    """The legs of many strategies packed into flat arrays (one row per leg)."""

    owner: NDArray[np.intp]
    w: FloatArray  # +1 call, -1 put, 0 stock
    strike: FloatArray
    units: FloatArray  # side * quantity * lot size
    entry: FloatArray
    t: FloatArray
    vol: FloatArray
    rate: FloatArray
    dividend: FloatArray

    @classmethod
    def pack(
        cls,
        legs: Sequence[Sequence[Leg]],
        lot_sizes: Sequence[float],
        rates: Sequence[float],
        dividends: Sequence[float],
    ) -> LegBlock:
        """Pack ``legs[i]`` of strategy ``i`` (with its lot size, rate and dividend)."""
        owner, w, strike, units, entry, t, vol, rate, div = ([] for _ in range(9))
        for i, group in enumerate(legs):
            for leg in group:
                owner.append(i)
                w.append({"call": 1.0, "put": -1.0, "stock": 0.0}[leg.kind])
                strike.append(leg.strike if leg.is_option else 0.0)
                units.append(leg.sign * leg.quantity * lot_sizes[i])
                entry.append(leg.price)
                t.append(leg.t if leg.is_option else math.inf)
                vol.append(leg.vol)
                rate.append(rates[i])
                div.append(dividends[i])
        return cls(
            owner=np.asarray(owner, dtype=np.intp),
            w=np.asarray(w),
            strike=np.asarray(strike),
            units=np.asarray(units),
            entry=np.asarray(entry),
            t=np.asarray(t),
            vol=np.asarray(vol),
            rate=np.asarray(rate),
            dividend=np.asarray(div),
        )

    def values(
        self, prices: FloatArray, horizon: FloatArray, vol: ArrayLike | None = None
    ) -> FloatArray:
        """Value per unit of each leg at ``horizon`` years, for leg-aligned ``prices`` (legs, n).

        Options with time left at the horizon are marked with Black-Scholes at their own vol, or
        at ``vol`` (broadcast against ``prices``) when given; the others pay intrinsic value.
        """
        w = self.w[:, None]
        out = np.where(w == 0.0, prices, np.maximum(w * (prices - self.strike[:, None]), 0.0))
        remaining = self.t - horizon
        alive = np.isfinite(remaining) & (remaining > EXPIRY_EPS) & (self.w != 0.0)
        if alive.any():
            rows = np.flatnonzero(alive)
            sigma = (
                self.vol[rows, None]
                if vol is None
                else np.broadcast_to(np.asarray(vol, dtype=float), prices.shape)[rows]
            )
            if np.any(np.asarray(sigma) < 0):
                raise ConfigError("marking vol must be non-negative")
            with np.errstate(divide="ignore", invalid="ignore"):
                marked = _bsm(
                    self.w[rows, None],
                    prices[rows],
                    self.strike[rows, None],
                    remaining[rows, None],
                    self.rate[rows, None],
                    sigma,
                    self.dividend[rows, None],
                ).price
            out[rows] = marked
        return np.asarray(out)


__all__ = ["EXPIRY_EPS", "Direction", "Leg", "LegBlock", "LegKind", "Side"]
