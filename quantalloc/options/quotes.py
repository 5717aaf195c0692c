"""Where a strategy's option trades are priced: one quote per contract and session.

:class:`OptionQuotes` is the one seam between an options strategy and its price source: the
backtest marks and fills through it, and so do the paper broker and the trader, so a
different source (listed chain quotes instead of a model) changes all of them at once.
A quote has a bid, an ask, a mark and its ``source`` (``"model"`` or ``"chain"``); a sale fills
at the bid, a purchase at the ask (:func:`fill_price`), and positions are valued at the mark.
The contract names what is quoted (underlying, expiry, strike, call or put), so a source that
knows only listed contracts looks them up by those terms.

:class:`ModelQuotes` is the model source: Black-Scholes at the vol index's close / 100 (the
at-the-money vol), with :class:`~quantalloc.options.volatility.SkewModel` across strikes, the
mark the model price and the bid and ask a fixed share of it away. Time is calendar days to
the expiry date / 365; from the expiry date on, the mark is the intrinsic value.

:func:`chain_quote` is the chain's side of the seam: one listed contract's quote from a
session's :class:`~quantalloc.options.chain_book.ChainQuotes` (bid its sell fill, ask its buy
fill, mark its reference price), so a chain-backed :class:`OptionQuotes` is a lookup of the
day's book and this call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import pandas as pd

from quantalloc.errors import DataError
from quantalloc.options.chain_book import ChainQuotes
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
    source: Literal["model", "chain"]
    """Where the prices come from: a pricing model, or a listed chain's quotes."""


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
        return OptionQuote(mark * (1.0 - self.spread), mark * (1.0 + self.spread), mark, "model")


def chain_quote(
    book: ChainQuotes, contract: OptionContract, root: str | None = None
) -> OptionQuote:
    """``contract``'s quote in a session's tradable chain ``book``: bid its sell fill, ask its
    buy fill, mark its reference price (``source="chain"``).

    DataError when the chain does not list it tradable, or lists it under several roots (SPX
    monthlies and SPXW weeklies share expiries and strikes) and ``root`` does not pick one.
    """
    if contract.underlying != book.symbol:
        raise DataError(
            f"option quote: {contract.symbol} is on {contract.underlying}, the chain on "
            f"{book.symbol}; quote it from that underlying's chain"
        )
    f = book.fills
    rows = f.loc[(f["expiry"] == pd.Timestamp(contract.expiry)) & (f["kind"] == contract.right)
                 & np.isclose(f["strike"].to_numpy(float), contract.strike)]  # fmt: skip
    if root is not None and "root" in rows.columns:
        rows = rows.loc[rows["root"] == root]
    if rows.empty:
        book.contract(contract.expiry, contract.strike, contract.right)  # its "not tradable"
        raise DataError(f"option quote: no tradable {contract.symbol} under root {root!r}")
    if len(rows) > 1:
        roots = sorted(str(r) for r in rows.get("root", pd.Series(dtype=str)).unique())
        raise DataError(
            f"option quote: {contract.symbol} is listed under roots {roots}; pass root= to pick one"
        )
    row = rows.iloc[0]
    return OptionQuote(float(row["sell"]), float(row["buy"]), float(row["ref"]), "chain")
