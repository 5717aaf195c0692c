"""Where a trading strategy's fills are booked: the portfolio API, or memory.

Through the API (:class:`ApiLedger`) every fill is an order of the strategy's sleeve, so the
portfolio's rules hold while it trades: its capital is the sleeve's cash, an order over it is
refused, and an open position locks it against rebalancing. Order ids make a retried post a
no-op. Cash that is not a trade (interest on the sleeve's cash, dividends on its shares) is
booked as a cash flow.
"""

from __future__ import annotations

from typing import Any, Protocol

import pandas as pd

from quantalloc.errors import ConflictError, DataError, StorageError
from quantalloc.service.trading.orders import Fill


class Ledger(Protocol):
    """The strategy's books: its cash, and where its fills go."""

    def cash(self) -> float:
        """Cash of the strategy now."""
        ...

    def record(self, fill: Fill) -> None:
        """Book one fill."""
        ...

    def credit(self, amount: float, reason: str, time: pd.Timestamp, flow_id: str) -> None:
        """Book a cash flow that is no trade (``amount`` < 0: a debit)."""
        ...


class MemoryLedger:
    """A ledger in memory (for runs without a server)."""

    def __init__(self, capital: float) -> None:
        self._cash = float(capital)
        self.fills: list[Fill] = []
        self.flows: list[tuple[str, str, float]] = []

    def cash(self) -> float:
        """Cash now."""
        return self._cash

    def record(self, fill: Fill) -> None:
        """Move cash by the fill."""
        sign = 1.0 if fill.side == "buy" else -1.0
        self._cash -= sign * fill.quantity * fill.price * fill.multiplier + fill.fee
        self.fills.append(fill)

    def credit(self, amount: float, reason: str, time: pd.Timestamp, flow_id: str) -> None:
        """Move cash by ``amount``."""
        self._cash += amount
        self.flows.append((flow_id, reason, amount))


class ApiLedger:
    """The strategy's sleeve in a running ``quantalloc serve`` (an httpx client to it)."""

    def __init__(self, client: Any, strategy: str, session: str) -> None:
        self.client = client
        self.strategy = strategy
        self.session = session
        self.orders = 0
        self.flows = 0

    def _check(self, response: Any, what: str) -> Any:
        if response.status_code == 200:
            return response.json()
        try:
            detail = response.json().get("detail")
        except ValueError:
            detail = response.text
        message = f"the portfolio API refused {what} ({response.status_code}): {detail}"
        if response.status_code == 409:
            raise ConflictError(message)
        if response.status_code in (401, 403, 503):
            raise StorageError(message)
        raise DataError(message)

    def cash(self) -> float:
        """The sleeve's cash (GET /portfolio/{strategy})."""
        body = self._check(self.client.get(f"/portfolio/{self.strategy}"), "the sleeve read")
        return float(body["cash"])

    def record(self, fill: Fill) -> None:
        """POST /orders with an id unique to this session and order."""
        body = {
            "strategy_name": self.strategy,
            "symbol": fill.symbol,
            "side": fill.side,
            "quantity": fill.quantity,
            "price": fill.price,
            "fee": fill.fee,
            "order_id": f"{self.session}:{fill.order_id}",
            "filled_at": fill.time.isoformat(),
        }
        c = fill.contract
        if c is not None:  # the contract names it
            del body["symbol"]
            body["contract"] = {"underlying": c.underlying, "expiry": c.expiry.isoformat(),
                                "strike": c.strike, "right": c.right,
                                "multiplier": c.multiplier}  # fmt: skip
        self._check(self.client.post("/orders", json=body), f"order {fill.order_id}")
        self.orders += 1

    def credit(self, amount: float, reason: str, time: pd.Timestamp, flow_id: str) -> None:
        """POST /cash with an id unique to this session and flow."""
        body = {"strategy_name": self.strategy, "amount": amount, "reason": reason,
                "flow_id": f"{self.session}:{flow_id}", "booked_at": time.isoformat()}  # fmt: skip
        self._check(self.client.post("/cash", json=body), f"cash flow {flow_id}")
        self.flows += 1
