"""The book's capital rule: what a sleeve's positions may lose, against what it is worth.

A position is a stock (one share a unit) or an option (``multiplier`` shares a contract, with
its :class:`OptionTerms`). Values are at cost (average price; the symbol just traded at its
fill price). The rule: the sum of the positions' largest losses from those marks may not
exceed the sleeve's equity (cash plus positions), so the sleeve cannot be driven below zero:

- a long stock or option can lose what it is worth (for long stock alone: cash >= 0);
- a short stock, its value (the book's rule since version 1);
- a short put, ``(strike - price) x multiplier`` a contract: the shares it may have to buy at
  the strike, less the premium already booked as its liability; alone, this is the cash-secured
  rule (cash after the sale covers the strike);
- a short call must be covered by shares of its underlying in the same sleeve; it then only
  caps their gain (it can lose no more than its mark, which equity already counts). A naked
  call can lose without bound and is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from quantalloc.errors import ConflictError

TOLERANCE = 1e-9


@dataclass(frozen=True)
class OptionTerms:
    """An option position's contract terms, as the book stores them."""

    underlying: str
    expiry: str
    """ISO date."""
    strike: float
    right: str
    """``call`` or ``put``."""
    multiplier: float

    def as_row(self) -> dict[str, object]:
        """The columns of an order or position row."""
        return {"underlying": self.underlying, "expiry": self.expiry, "strike": self.strike,
                "option_right": self.right, "multiplier": self.multiplier}  # fmt: skip


def terms_from_row(row: Mapping[str, Any]) -> OptionTerms | None:
    """The terms of a position or order row (None for a stock)."""
    if row.get("option_right") is None:
        return None
    return OptionTerms(str(row["underlying"]), str(row["expiry"]), float(row["strike"]),
                       str(row["option_right"]), float(row["multiplier"]))  # fmt: skip


def multiplier(terms: Mapping[str, OptionTerms], symbol: str) -> float:
    """Shares per unit of ``symbol``."""
    found = terms.get(symbol)
    return found.multiplier if found is not None else 1.0


def position_after(q0: float, avg0: float, dq: float, price: float) -> tuple[float, float]:
    """Quantity and average price after trading ``dq`` (signed) at ``price``."""
    q1 = q0 + dq
    if abs(q1) <= TOLERANCE:
        return 0.0, 0.0
    if q0 == 0 or (q0 > 0) != (q1 > 0):
        return q1, price  # opened, or flipped through zero
    if abs(q1) > abs(q0):
        return q1, (q0 * avg0 + dq * price) / q1
    return q1, avg0  # reduced: the rest keeps its cost


def check_capital(
    strategy: str,
    cash: float,
    marks: Mapping[str, tuple[float, float]],
    terms: Mapping[str, OptionTerms],
    what: str,
) -> None:
    """ConflictError when ``marks`` (symbol -> (quantity, price)) could lose more than the
    sleeve is worth, or hold a naked call; ``what`` names the order in the message."""
    equity = cash + sum(q * p * multiplier(terms, s) for s, (q, p) in marks.items())
    exposure = 0.0
    covering: dict[str, float] = {}
    for symbol, (q, p) in marks.items():
        option = terms.get(symbol)
        if option is None or q > 0:
            exposure += abs(q) * p * multiplier(terms, symbol)
        elif option.right == "put":
            exposure += abs(q) * max(option.strike - p, 0.0) * option.multiplier
        else:
            covering[option.underlying] = covering.get(option.underlying, 0.0) + (
                abs(q) * option.multiplier
            )
            exposure -= abs(q) * p * option.multiplier
    for underlying, shares in covering.items():
        held = marks.get(underlying, (0.0, 0.0))[0] if underlying not in terms else 0.0
        if shares > held + TOLERANCE:
            raise ConflictError(
                f"{what} would leave strategy {strategy} short calls on {shares:g} shares of "
                f"{underlying} with {held:g} held (a naked call can lose without bound); "
                f"hold the shares first"
            )
    if exposure > equity + TOLERANCE * max(1.0, abs(equity)) + 1e-6:
        raise ConflictError(
            f"{what} would put strategy {strategy} over its capital (exposure {exposure:,.2f} > "
            f"equity {equity:,.2f}); order less"
        )
