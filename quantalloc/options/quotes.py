"""Where a strategy's option trades are priced: one quote per contract and session.

:class:`OptionQuotes` is the one seam between an options strategy and its price source: the
backtest marks and fills through it, and so do the paper broker and the trader, so a
different source (listed chain quotes instead of a model) changes all of them at once.
A quote has a bid, an ask and a mark; a sale fills at the bid, a purchase at the ask
(:func:`fill_price`), and positions are valued at the mark.

:class:`ModelQuotes` is the model source: Black-Scholes at the vol index's close / 100 (the
at-the-money vol), with :class:`~quantalloc.options.volatility.SkewModel` across strikes, the
mark the model price and the bid and ask a fixed share of it away. Time is calendar days to
the expiry date / 365; from the expiry date on, the mark is the intrinsic value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import pandas as pd

from quantalloc.options.contract import OptionContract
from quantalloc.options.pricing import black_scholes
from quantalloc.options.volatility import SkewModel

YEAR_DAYS = 365.0


@dataclass(frozen=True)
class OptionQuote:
    """One contract's prices per share at one close."""

    bid: float
    ask: float
    mark: float


class OptionQuotes(Protocol):
    """A price source for option contracts (a model, or a chain's quotes)."""

    def quote(self, contract: OptionContract, day: pd.Timestamp) -> OptionQuote:
        """The contract's quote at ``day``'s close."""
        ...


def fill_price(quote: OptionQuote, side: Literal["buy", "sell"]) -> float:
    """What a market order pays (buy: the ask) or receives (sell: the bid) per share."""
    return quote.ask if side == "buy" else quote.bid


Closes = Callable[[str, pd.Timestamp], float]
"""``closes(symbol, day)``: the symbol's latest close on or before ``day`` (known then)."""


class ModelQuotes:
    """Black-Scholes quotes at a vol index's level with a skew (see the module notes)."""

    def __init__(
        self,
        closes: Closes,
        *,
        vol_symbol: str,
        rate: float,
        dividend_yield: float,
        skew: SkewModel,
        spread: float,
    ) -> None:
        self.closes = closes
        self.vol_symbol = vol_symbol
        self.rate, self.dividend_yield = rate, dividend_yield
        self.skew, self.spread = skew, spread

    def value(self, contract: OptionContract, day: pd.Timestamp, spot: float, atm: float) -> float:
        """The model price per share at ``spot`` and at-the-money vol ``atm`` on ``day``."""
        day = pd.Timestamp(day)
        t = max((pd.Timestamp(contract.expiry) - day).days, 0) / YEAR_DAYS
        if t <= 0:
            return contract.intrinsic(spot)
        vol = float(self.skew.vol(atm, spot, contract.strike, t))
        res = black_scholes(contract.right, spot, contract.strike, t, self.rate, vol,
                            self.dividend_yield)  # fmt: skip
        return float(res.price)

    def quote(self, contract: OptionContract, day: pd.Timestamp) -> OptionQuote:
        """Bid, ask and mark at ``day``'s close of the underlying and the vol index."""
        spot = self.closes(contract.underlying, day)
        atm = self.closes(self.vol_symbol, day) / 100.0
        mark = self.value(contract, day, spot, atm)
        return OptionQuote(mark * (1.0 - self.spread), mark * (1.0 + self.spread), mark)
