"""What a replay's fills cost: spreads of model-priced legs, fees, and the charges of expiry.

Two cost rules:

- **model costs** (:meth:`ReplayCosts.from_model`, the replay on chains and its proxy
  re-pricing): a leg priced by the model pays half the model file's ``bid_ask`` of its price
  (at least half of ``min_tick``) per fill; every option fill pays the market's
  :class:`~quantalloc.options.costs.FeeSchedule` per lot (``[costs.fees.MKT]``), the chains
  issue's rule (a chain leg's spread is already in its fill price);
- **flat costs** (:meth:`ReplayCosts.flat`, the proxy replay without chains): each option fill
  ``option_spread`` of its price worse and ``fee_per_contract`` per contract.

Stock legs pay ``fee_per_share`` per share either way. At expiry an option settles at its
intrinsic value against the underlying's close (:func:`settle_value`); in the money it pays the
market's :class:`ExerciseCharges`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from quantalloc.backtest.replay.book import Leg
from quantalloc.options.costs import ExerciseCharges, FeeSchedule


@dataclass(frozen=True)
class ReplayCosts:
    """Spreads and fees of a replay's fills (see the module notes)."""

    spread_share: float = 0.0
    """Model-priced legs: half-spread as a share of the price."""
    min_half: float = 0.0
    """Model-priced legs: the least half-spread, per share."""
    per_share: float = 0.0
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    """Option fills, per lot (flat costs: ``per_lot`` alone)."""
    exercise: ExerciseCharges = field(default_factory=ExerciseCharges)

    @classmethod
    def flat(
        cls, option_spread: float, fee_per_contract: float, fee_per_share: float
    ) -> ReplayCosts:
        """The proxy replay's costs: ``option_spread`` of the price per fill, flat fees."""
        return cls(option_spread, 0.0, fee_per_share, FeeSchedule(per_lot=fee_per_contract))

    @classmethod
    def from_model(
        cls,
        bid_ask: float,
        min_tick: float,
        fees: FeeSchedule,
        exercise: ExerciseCharges,
        fee_per_share: float,
    ) -> ReplayCosts:
        """The chains issue's rule: the model file's spread for model-priced legs, its fees."""
        return cls(bid_ask / 2.0, min_tick / 2.0, fee_per_share, fees, exercise)

    def half_spread(self, price: float) -> float:
        """Half the spread a model-priced option fill pays, per share."""
        return max(self.spread_share * abs(price), self.min_half)

    def model_fill(self, price: float, side: str) -> float:
        """A model price moved by half the spread against the trader (never below zero)."""
        half = self.half_spread(price)
        return price + half if side == "buy" else max(price - half, 0.0)

    def fee(self, leg: Leg, price: float, side: str, lot_size: int) -> float:
        """Fees of filling all of ``leg`` at ``price`` per share on ``side``."""
        if not leg.is_option:
            return abs(leg.units) * self.per_share
        return float(self.fees.per_fill(price, lot_size, side)) * leg.contracts

    def exercise_charge(self, leg: Leg, spot: float, physical: bool) -> float:
        """Charges of ``leg`` settled at ``spot`` (zero out of the money)."""
        if not leg.is_option or settle_value(leg, spot) <= 0:
            return 0.0
        return self.exercise.charge(
            intrinsic=settle_value(leg, spot),
            spot=spot,
            units=leg.units,
            physical=physical,
        )


def settle_value(leg: Leg, spot: float) -> float:
    """Intrinsic value per share of ``leg`` at ``spot`` (a stock leg: ``spot``)."""
    if leg.kind == "stock":
        return spot
    sign = 1.0 if leg.kind == "call" else -1.0
    return max(sign * (spot - leg.strike), 0.0)


__all__ = ["ReplayCosts", "settle_value"]
