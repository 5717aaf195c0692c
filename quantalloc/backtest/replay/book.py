"""What a replay holds: a solve's allocation rows as positions of legs, and their trade rows.

A :class:`Position` is one allocation row of a solve (one strategy on one symbol, whole lots);
each :class:`Leg` carries its contract (kind, strike, expiry), its signed units (shares the
contracts stand for, + bought, - sold) and the price and source of its entry fill. When the
position closes, :meth:`Position.trade_row` writes the replay's trade row, with one entry per
leg in ``legs`` (the JSON contract of a replay's ``--output``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

SOURCES: tuple[str, ...] = ("chain", "model")
"""Where a leg's price came from: the session's listed contract (by the fill rule, its
reference price, or the underlying's close for a stock leg and a settlement), or the model
(Black-Scholes at the vol proxy)."""


@dataclass(frozen=True)
class Leg:
    """One leg of a held position: ``units`` signed shares (+ bought, - sold), all lots included."""

    kind: str  # call, put or stock
    strike: float
    expiry: pd.Timestamp
    units: float
    price: float  # entry fill per share
    contracts: float  # option contracts (0 for stock)
    source: str = "model"  # where the entry price came from: chain or model
    root: str = ""  # the listed root where several list the same terms (SPX, SPXW); "": any

    @property
    def side(self) -> str:
        """``buy`` or ``sell`` (at entry)."""
        return "buy" if self.units > 0 else "sell"

    @property
    def is_option(self) -> bool:
        """True for a call or a put."""
        return self.kind != "stock"


@dataclass
class Position:
    """A solve's allocation row as held by the replay."""

    symbol: str
    strategy_name: str
    expiry: pd.Timestamp
    lots: int
    lot_size: int
    legs: tuple[Leg, ...]
    capital: float  # the solve's allocated capital (released at exit)
    opened: pd.Timestamp
    as_of: str
    number: int = 0  # order of opening in the replay (the same in a proxy re-pricing)
    entry_value: float = 0.0  # net debit (+) / credit (-) paid at entry, spreads included
    fees: float = 0.0
    settle_day: pd.Timestamp | None = None
    exit_prices: tuple[float, ...] = ()
    exit_sources: tuple[str, ...] = ()

    @property
    def units(self) -> np.ndarray:
        """Signed units of every leg."""
        return np.array([leg.units for leg in self.legs], dtype=float)

    def fresh(self) -> Position:
        """The same contracts and lots, not yet opened (for a re-pricing of the replay)."""
        return replace(self, entry_value=0.0, fees=0.0, exit_prices=(), exit_sources=())

    def trade_row(
        self, day: pd.Timestamp, reason: str, value: float, fees: float
    ) -> dict[str, Any]:
        """The trade row of this position closed (or marked) at ``day`` for ``value`` after
        spreads, ``fees`` paid on the way out."""
        legs = [
            {
                "expiry": leg.expiry.date().isoformat(),
                "strike": None if not leg.is_option else float(leg.strike),
                "kind": leg.kind,
                "side": leg.side,
                "quantity": float(abs(leg.units) if not leg.is_option else leg.contracts),
                "entry_price": float(leg.price),
                "exit_price": float(price),
                "entry_source": leg.source,
                "exit_source": source,
            }
            for leg, price, source in zip(
                self.legs, self.exit_prices, self.exit_sources, strict=True
            )
        ]
        return {
            "symbol": self.symbol,
            "side": self.strategy_name,
            "entry_time": self.opened,
            "exit_time": day,
            "entry_price": self.entry_value / self.lots,
            "exit_price": value / self.lots,
            "units": self.lots,
            "lot_size": self.lot_size,
            "pnl": value - self.entry_value - self.fees - fees,
            "fees": self.fees + fees,
            "exit_reason": reason,
            "strategy_name": self.strategy_name,
            "entry_date": self.opened.date().isoformat(),
            "exit_date": day.date().isoformat(),
            "expiry": self.expiry.date().isoformat(),
            "as_of": self.as_of,
            "position": self.number,
            "legs": legs,
        }


def positions_from(
    result: Any, day: pd.Timestamp, calendar: pd.DatetimeIndex, first_number: int = 0
) -> list[Position]:
    """The held positions of a :class:`~quantalloc.pipeline.SolveResult` opened at ``day``."""
    out = []
    for k, row in enumerate(result.allocations.to_dict(orient="records")):
        lot_size = int(row["lot_size"])
        legs = []
        for leg in row["legs"]:
            sign = 1.0 if leg["side"] == "buy" else -1.0
            qty = float(leg["quantity"])  # contracts (or stock lots) in total, all lots included
            kind = str(leg["kind"])
            source = str(leg.get("price_source", "proxy"))
            legs.append(
                Leg(
                    kind=kind,
                    strike=float(leg["strike"]) if leg["strike"] is not None else 0.0,
                    expiry=pd.Timestamp(leg.get("expiry") or row["expiry"]),
                    units=sign * qty * lot_size,
                    price=float(leg["price"]),
                    contracts=qty if kind != "stock" else 0.0,
                    source="chain" if source in ("chain", "spot") or kind == "stock" else "model",
                )
            )
        expiry = pd.Timestamp(row["expiry"])
        out.append(
            Position(
                symbol=str(row["symbol"]),
                strategy_name=str(row["strategy_name"]),
                expiry=expiry,
                lots=int(row["lots"]),
                lot_size=lot_size,
                legs=tuple(legs),
                capital=float(row["allocated_capital"]),
                opened=day,
                as_of=str(result.as_of),
                number=first_number + k,
                settle_day=settle_day(expiry, day, calendar),
            )
        )
    return out


def settle_day(
    expiry: pd.Timestamp, day: pd.Timestamp, calendar: pd.DatetimeIndex
) -> pd.Timestamp | None:
    """The close at which a position expiring at ``expiry`` and opened at ``day`` settles: the
    last session on or before the expiry; None when that is not after ``day`` or the expiry
    lies beyond the calendar (the position stays open to the end)."""
    on_or_before = calendar[calendar <= expiry]
    if not len(on_or_before):
        return None
    settle = pd.Timestamp(on_or_before[-1])
    if settle <= day:
        return None  # expires before the next close: cannot be held (never chosen: 7d min)
    if calendar[-1] < expiry and settle == calendar[-1]:
        return None  # the expiry lies beyond the data: the position stays open
    return settle


@dataclass
class Counts:
    """How many marks and fills came from the chain and how many fell back to the model."""

    marks: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SOURCES, 0))
    fills: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SOURCES, 0))

    def to_dict(self) -> dict[str, dict[str, int]]:
        """``{"marks": {"chain": n, "model": m}, "fills": {...}}``."""
        return {"marks": dict(self.marks), "fills": dict(self.fills)}


__all__ = ["SOURCES", "Counts", "Leg", "Position", "positions_from", "settle_day"]
