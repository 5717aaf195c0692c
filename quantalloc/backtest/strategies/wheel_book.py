"""What the wheel holds, and the trades it closed, in the backtest's trade rows.

The backtest and the trader (paper or live) both keep a :class:`WheelBook` and feed it the
same events: an option sold, bought back, settled at expiry; the shares an assignment brings
and a call takes away. So their trade tables agree row for row. Cash is not kept here: the
backtest keeps its own, a trader reads its sleeve's.

A settlement is recorded as the backtest has always shown it: the option closed at its
intrinsic value against the underlying's close, and the shares traded at that close. In cash
that is the same as the broker's delivery at the strike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from quantalloc.options.contract import OptionContract, settle


@dataclass
class OpenOption:
    """The wheel's one open (short) option."""

    contract: OptionContract
    contracts: int
    premium: float
    """Per share received (after the spread)."""
    opened: pd.Timestamp
    fees: float

    @property
    def units(self) -> float:
        """Shares the contracts stand for."""
        return self.contracts * self.contract.multiplier


@dataclass
class WheelBook:
    """The wheel's holdings and closed trades (see the module notes)."""

    symbol: str
    shares: int = 0
    basis: float = 0.0
    shares_opened: pd.Timestamp | None = None
    option: OpenOption | None = None
    trades: list[dict[str, Any]] = field(default_factory=list)

    def opened(
        self, contract: OptionContract, contracts: int, price: float, fee: float, day: pd.Timestamp
    ) -> None:
        """An option sold to open: ``contracts`` at ``price`` per share, ``fee`` paid."""
        if self.option is not None:
            raise ValueError(f"wheel: {contract.symbol} sold while {self.option.contract.symbol} "
                             "is open")  # fmt: skip
        self.option = OpenOption(contract, contracts, price, day, fee)

    def bought_back(self, day: pd.Timestamp, price: float, fee: float, reason: str) -> None:
        """The open option bought to close at ``price`` per share, ``fee`` paid."""
        self._close_option(day, price, fee, reason)

    def settled(self, day: pd.Timestamp, spot: float) -> float:
        """The open option settled at the close ``spot``; the shares it delivered (signed)."""
        opt = self.option
        if opt is None:
            raise ValueError("wheel: no option to settle")
        outcome = settle(opt.contract, -opt.contracts, spot)
        value = opt.contract.intrinsic(spot) if outcome.shares else 0.0
        self._close_option(day, value, 0.0, outcome.reason)
        if outcome.shares > 0:
            self.shares, self.basis, self.shares_opened = int(outcome.shares), spot, day
        elif outcome.shares < 0:
            self._close_shares(day, spot, "called_away")
        return outcome.shares

    def finish(self, day: pd.Timestamp, spot: float, mark: float | None) -> list[dict[str, Any]]:
        """Closed trades plus what is still open at ``day``, marked (``mark``: the option's)."""
        rows = list(self.trades)
        opt = self.option
        if opt is not None and mark is not None:
            rows.append(self._option_row(opt, day, mark, 0.0, "end_of_data"))
        if self.shares:
            rows.append(self._shares_row(day, spot, "end_of_data"))
        return rows

    def liability(self, mark: float) -> float:
        """What the open option is worth to its buyer at ``mark`` per share."""
        return mark * self.option.units if self.option is not None else 0.0

    # -- rows ----------------------------------------------------------------------------------

    def _close_option(self, day: pd.Timestamp, price: float, fee: float, reason: str) -> None:
        opt = self.option
        if opt is None:
            raise ValueError(f"wheel: no option to close ({reason})")
        self.trades.append(self._option_row(opt, day, price, fee, reason))
        self.option = None

    def _close_shares(self, day: pd.Timestamp, price: float, reason: str) -> None:
        self.trades.append(self._shares_row(day, price, reason))
        self.shares, self.basis, self.shares_opened = 0, 0.0, None

    def _option_row(
        self, opt: OpenOption, day: pd.Timestamp, price: float, fee: float, reason: str
    ) -> dict[str, Any]:
        paid = price * opt.units + fee
        return {
            "symbol": opt.contract.symbol,
            "side": f"short {opt.contract.right}",
            "entry_time": opt.opened,
            "exit_time": day,
            "entry_price": opt.premium,
            "exit_price": price,
            "units": opt.units,
            "pnl": opt.premium * opt.units - opt.fees - paid,
            "fees": opt.fees + fee,
            "exit_reason": reason,
        }

    def _shares_row(self, day: pd.Timestamp, price: float, reason: str) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "side": "long",
            "entry_time": self.shares_opened,
            "exit_time": day,
            "entry_price": self.basis,
            "exit_price": price,
            "units": self.shares,
            "pnl": (price - self.basis) * self.shares,
            "fees": 0.0,
            "exit_reason": reason,
        }
