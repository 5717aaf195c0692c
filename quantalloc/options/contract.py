"""One listed option contract as brokers, the portfolio book and the backtests name it.

:class:`OptionContract` holds the terms an order needs (underlying, expiry, strike, call or
put, multiplier); its :attr:`~OptionContract.symbol` (``SPY 2024-01-12 P98``) is how trades,
fills and the book's positions name it. Expiry follows the exchange: a contract stops trading
and settles on its last trading day, the expiry date or the session before it when that date
is a holiday (:func:`last_trading_day`), at its intrinsic value against the underlying's close
there; a contract in the money by at least :data:`EXERCISE_THRESHOLD` is exercised (a short one
assigned), as the clearing house does by exception.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import pandas as pd

Right = Literal["call", "put"]

EXERCISE_THRESHOLD = 0.01
"""In the money by this much (per share) at the last close: exercised automatically (OCC's
exercise-by-exception threshold for equity options)."""


@dataclass(frozen=True)
class OptionContract:
    """A listed option: ``multiplier`` shares of ``underlying`` at ``strike`` until ``expiry``."""

    underlying: str
    expiry: dt.date
    strike: float
    right: Right
    multiplier: float = 100.0

    def __post_init__(self) -> None:
        if self.right not in ("call", "put"):
            raise ValueError(f"option right must be call or put, got {self.right!r}")
        if not (self.strike > 0 and self.multiplier > 0):
            raise ValueError(
                f"option strike and multiplier must be > 0, got {self.strike}, {self.multiplier}"
            )
        if isinstance(self.expiry, dt.datetime) or not isinstance(self.expiry, dt.date):
            object.__setattr__(self, "expiry", pd.Timestamp(self.expiry).date())

    @property
    def symbol(self) -> str:
        """``UNDERLYING YYYY-MM-DD P|C STRIKE`` (``SPY 2024-01-12 P98``)."""
        return f"{self.underlying} {self.expiry.isoformat()} {self.right[0].upper()}{self.strike:g}"

    def intrinsic(self, spot: float) -> float:
        """Value at expiry per share against ``spot``."""
        if self.right == "put":
            return max(0.0, self.strike - spot)
        return max(0.0, spot - self.strike)

    def exercised(self, spot: float) -> bool:
        """True when a settlement at ``spot`` exercises it (in the money by the threshold)."""
        return self.intrinsic(spot) >= EXERCISE_THRESHOLD - 1e-12

    def settles_on(self, day: pd.Timestamp | dt.date, market: str = "us") -> bool:
        """True on or after its last trading day (the session it settles at the close of)."""
        return pd.Timestamp(day).date() >= last_trading_day(self.expiry, market)


@lru_cache(maxsize=4096)
def last_trading_day(expiry: dt.date, market: str = "us") -> dt.date:
    """The session an option expiring on ``expiry`` last trades (and settles) on."""
    from quantalloc.data.expiries import previous_session

    return previous_session(expiry, market)


@dataclass(frozen=True)
class Settlement:
    """What a position's settlement at expiry does: the contracts leave the book at no price,
    and an exercise delivers shares at the strike."""

    reason: Literal["expired", "assigned", "called_away", "exercised"]
    shares: float
    """Signed shares the holder of the position receives (+, bought) or delivers (-, sold)."""
    price: float
    """Per share: the strike (0 when nothing is delivered)."""


def settle(contract: OptionContract, position: float, spot: float) -> Settlement:
    """Settle ``position`` contracts (negative: short) against the last close ``spot``.

    A short put exercised is ``assigned`` (the shares bought at the strike), a short call
    ``called_away`` (sold at the strike); a long one is ``exercised``; out of the money, or in
    by less than :data:`EXERCISE_THRESHOLD`, it ``expired``.
    """
    if not contract.exercised(spot) or position == 0:
        return Settlement("expired", 0.0, 0.0)
    buys = (contract.right == "call") == (position > 0)  # long call or short put: buy shares
    shares = abs(position) * contract.multiplier * (1.0 if buys else -1.0)
    if position > 0:
        return Settlement("exercised", shares, contract.strike)
    return Settlement("assigned" if contract.right == "put" else "called_away", shares,
                      contract.strike)  # fmt: skip
