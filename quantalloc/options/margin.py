"""Exchange-style margin for naked (uncovered) short options.

The rule follows the shape of the CBOE/FINRA naked-option requirement: for each short option,

    requirement = premium + max(rate * S - out_of_the_money_amount, min_rate * base)

with ``base`` the spot for calls and the strike for puts. For a short straddle or strangle only
the larger side's requirement counts, plus the other side's premium. The capital a position
*ties up* is the requirement minus the premium received (the premium already sits in the
account), so for one short option it is ``max(rate * S - OTM, min_rate * base)`` per unit.

Default rates: ``us`` 20% / 10% (the CBOE rule for equity options); ``in`` 18% / 10%, a round
stand-in for NSE's SPAN plus exposure margin on single stocks (SPAN itself is scenario based).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from quantalloc.errors import ConfigError
from quantalloc.markets import get_market
from quantalloc.options.legs import Leg


@dataclass(frozen=True, slots=True)
class MarginRule:
    """Naked short option margin: ``max(rate * S - OTM, min_rate * base)`` per unit."""

    rate: float = 0.20
    min_rate: float = 0.10

    def __post_init__(self) -> None:
        if not 0 < self.min_rate <= self.rate <= 1:
            raise ConfigError(
                f"margin rates need 0 < min_rate <= rate <= 1, got {self.min_rate}, {self.rate}"
            )

    @classmethod
    def for_market(cls, market: str) -> MarginRule:
        """The default rule of ``market`` (``us`` or ``in``)."""
        return cls(rate=0.18, min_rate=0.10) if get_market(market).name == "in" else cls()

    def per_unit(self, leg: Leg, spot: float) -> float:
        """Margin beyond the premium for one unit of a short option ``leg`` at ``spot``."""
        if leg.kind == "call":
            otm = max(leg.strike - spot, 0.0)
            base = spot
        else:
            otm = max(spot - leg.strike, 0.0)
            base = leg.strike
        return max(self.rate * spot - otm, self.min_rate * base)

    def requirement(self, short_legs: Sequence[Leg], spot: float) -> float:
        """Capital tied up by uncovered short options (per unit of underlying, all quantities).

        Calls and puts are not both in the money at expiry, so the larger of the call-side and
        put-side requirements counts (the straddle/strangle rule).
        """
        calls = sum(self.per_unit(g, spot) * g.quantity for g in short_legs if g.kind == "call")
        puts = sum(self.per_unit(g, spot) * g.quantity for g in short_legs if g.kind == "put")
        return max(calls, puts)


__all__ = ["MarginRule"]
