"""Request and response bodies of the API (pydantic): a bad body is a 422 naming the field."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$"
SYMBOL_PATTERN = r"^[A-Za-z^][A-Za-z0-9_.^=-]{0,31}$"
DEFAULT_STRATEGIES = (("momentum", "SPXL"), ("orb", "SPY"), ("wheel", "SPY"))
"""The seed's three strategies and the symbol each trades by default."""


class Body(BaseModel):
    """Every body: unknown fields are refused (a typo is a 422, not silently ignored)."""

    model_config = ConfigDict(extra="forbid")


class StrategySpec(Body):
    name: str = Field(pattern=NAME_PATTERN, description="strategy name, e.g. momentum")
    symbol: str = Field(pattern=SYMBOL_PATTERN, description="symbol buy_all buys for it")


class InitializeRequest(Body):
    capital: float = Field(gt=0, description="total capital to split among the strategies")
    strategies: list[StrategySpec] = Field(
        default_factory=lambda: [StrategySpec(name=n, symbol=s) for n, s in DEFAULT_STRATEGIES],
        min_length=1,
        max_length=50,
    )
    min_weight: float = Field(0.10, ge=0, le=1)
    max_weight: float = Field(0.50, ge=0, le=1)
    request_id: str | None = Field(None, max_length=128, description="idempotency key")

    @model_validator(mode="after")
    def _distinct(self) -> InitializeRequest:
        names = [s.name for s in self.strategies]
        if len(set(names)) != len(names):
            raise ValueError(f"strategy names must be distinct, got {names}")
        if self.min_weight > self.max_weight:
            raise ValueError(f"min_weight {self.min_weight} > max_weight {self.max_weight}")
        return self


class StrategyMetrics(Body):
    sharpe: float = Field(allow_inf_nan=False)
    total_return: float = Field(ge=-1, allow_inf_nan=False)
    max_drawdown: float = Field(ge=0, le=1, description="positive magnitude (0.2 = 20% fall)")


class RebalanceRequest(Body):
    metrics: dict[str, StrategyMetrics] | None = Field(
        None, description="each strategy's track record; without it backtests measure them"
    )
    data: str | None = Field(None, description="source for the backtests (default: --data)")
    start: dt.date | None = None
    end: dt.date | None = None
    min_weight: float = Field(0.10, ge=0, le=1)
    max_weight: float = Field(0.50, ge=0, le=1)
    request_id: str | None = Field(None, max_length=128)

    @model_validator(mode="after")
    def _bounds(self) -> RebalanceRequest:
        if self.min_weight > self.max_weight:
            raise ValueError(f"min_weight {self.min_weight} > max_weight {self.max_weight}")
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class PricesRequest(Body):
    prices: dict[str, float] = Field(description="symbol -> fill price (> 0)")
    fee_per_trade: float = Field(0.0, ge=0, allow_inf_nan=False)
    request_id: str | None = Field(None, max_length=128)

    @model_validator(mode="after")
    def _positive(self) -> PricesRequest:
        for symbol, price in self.prices.items():
            if not (price > 0 and price < float("inf")):
                raise ValueError(f"price of {symbol} must be a positive number, got {price}")
        return self


class ContractSpec(Body):
    """A listed option: ``multiplier`` shares of ``underlying`` at ``strike`` until ``expiry``."""

    underlying: str = Field(pattern=SYMBOL_PATTERN)
    expiry: dt.date
    strike: float = Field(gt=0, allow_inf_nan=False)
    right: Literal["call", "put"]
    multiplier: float = Field(100.0, gt=0, allow_inf_nan=False)

    def symbol(self) -> str:
        """How the book names it (``SPY 2024-01-12 P98``)."""
        return f"{self.underlying} {self.expiry.isoformat()} {self.right[0].upper()}{self.strike:g}"


class OrderRequest(Body):
    strategy_name: str = Field(pattern=NAME_PATTERN)
    symbol: str | None = Field(
        None, pattern=SYMBOL_PATTERN, description="the stock (an option's is its contract's)"
    )
    side: Literal["buy", "sell"]
    quantity: float = Field(gt=0, allow_inf_nan=False, description="shares, or contracts")
    price: float = Field(ge=0, allow_inf_nan=False, description="per share; > 0 for a stock")
    fee: float = Field(0.0, ge=0, allow_inf_nan=False)
    order_id: str | None = Field(None, max_length=128, description="idempotency key")
    filled_at: str | None = Field(None, max_length=64, description="fill time at the broker")
    contract: ContractSpec | None = Field(None, description="an option order's contract")

    @model_validator(mode="after")
    def _instrument(self) -> OrderRequest:
        if self.contract is None:
            if self.symbol is None:
                raise ValueError("give the stock's symbol, or an option's contract")
            if self.price <= 0:
                raise ValueError(f"a stock's price must be > 0, got {self.price}")
            return self
        if self.quantity != int(self.quantity):
            raise ValueError(f"options trade in whole contracts, got quantity {self.quantity}")
        named = self.contract.symbol()
        if self.symbol is not None and self.symbol != named:
            raise ValueError(f"symbol {self.symbol!r} is not the contract's, {named!r}")
        return self


class CashRequest(Body):
    strategy_name: str = Field(pattern=NAME_PATTERN)
    amount: float = Field(allow_inf_nan=False, description="credit (> 0) or debit (< 0)")
    reason: Literal["interest", "dividend", "fee", "transfer"]
    flow_id: str = Field(min_length=1, max_length=128, description="idempotency key")
    booked_at: str | None = Field(None, max_length=64)


class CashResult(BaseModel):
    strategy_name: str
    amount: float
    reason: str
    booked_at: str | None = None
    cash: float = Field(description="the sleeve's cash after the flow")
    event_id: str
    replayed: bool


class SolveRequest(Body):
    """The ``quantalloc solve`` options as JSON (tables and chain are paths on the server)."""

    risk: Literal["conservative", "moderate", "aggressive"] = "moderate"
    model: str = "industry_first"
    market: Literal["in", "us"] = "in"
    capital: float | None = Field(None, gt=0, allow_inf_nan=False)
    vix: float | None = Field(None, gt=0, allow_inf_nan=False)
    as_of: dt.date | None = None
    data: str = "auto"
    tables: dict[str, str] = Field(default_factory=dict, description="table name -> CSV path")
    normalize_weights: bool = False
    symbol: str | None = None
    max_industries: int | None = Field(None, ge=1)
    scenarios: int | None = Field(None, ge=50)
    seed: int | None = Field(None, ge=0)
    limits: dict[str, float] = Field(default_factory=dict)
    chain: str | None = None


class BacktestRequest(Body):
    strategy: Literal["momentum", "orb", "wheel", "multi"]
    data: str | None = Field(None, description="price source (default: the server's --data)")
    start: dt.date | None = None
    end: dt.date | None = None
    capital: float = Field(100_000.0, gt=0, allow_inf_nan=False)
    params: dict[str, str | float | int | bool] = Field(default_factory=dict)


class RunAccepted(BaseModel):
    run_id: str
    status: str
    url: str


class RunStatus(BaseModel):
    run_id: str
    status: Literal["queued", "running", "done", "failed"]
    error: str | None = None
    document: dict[str, Any] | None = None


class Health(BaseModel):
    status: str
    store: str
    version: str


class AllocationRow(BaseModel):
    strategy_name: str
    weight: float
    capital: float
    score: float | None = None
    locked: bool


class InitializeResult(BaseModel):
    capital: float
    allocations: list[AllocationRow]
    event_id: str
    replayed: bool = Field(description="true: a repeated request_id, answered from the first")


class RebalanceResult(BaseModel):
    moved: bool = Field(description="false: no strategy could move (all locked), nothing written")
    allocations: list[AllocationRow]
    event_id: str | None = None
    replayed: bool


class ContractView(BaseModel):
    underlying: str
    expiry: str
    strike: float
    right: Literal["call", "put"]
    multiplier: float


class OrderView(BaseModel):
    order_id: str
    event_id: str
    created_at: str
    strategy_name: str
    symbol: str
    side: Literal["buy", "sell"]
    quantity: float
    price: float
    fee: float
    source: str
    filled_at: str | None = None
    contract: ContractView | None = None


class OrdersResult(BaseModel):
    orders: list[OrderView]
    event_id: str
    replayed: bool


class OrderList(BaseModel):
    orders: list[OrderView]


class PositionView(BaseModel):
    strategy_name: str
    symbol: str
    quantity: float = Field(description="signed: negative is short")
    avg_price: float
    contract: ContractView | None = None


class PositionList(BaseModel):
    positions: list[PositionView]


class StrategyPositions(BaseModel):
    strategy_name: str
    positions: list[PositionView]


class Holding(BaseModel):
    symbol: str
    quantity: float
    avg_price: float
    contract: ContractView | None = None


class SleeveView(BaseModel):
    strategy_name: str
    symbol: str
    cash: float
    capital: float = Field(description="cash plus positions at cost")
    weight: float
    locked: bool = Field(description="an open position: rebalancing keeps its capital")
    positions: list[Holding]


class CurrentAllocation(BaseModel):
    total_capital: float
    strategies: list[SleeveView]


class HistoryEvent(BaseModel):
    seq: int
    event_id: str
    created_at: str
    kind: Literal["initialize", "rebalance"]
    allocations: list[AllocationRow]


class AllocationHistory(BaseModel):
    events: list[HistoryEvent]


class RunRow(BaseModel):
    model_config = ConfigDict(extra="allow")  # the stored run's summary columns, when stored

    run_id: str
    status: Literal["queued", "running", "done", "failed"]
    created_at: str | None = None
    error: str | None = None


class RunList(BaseModel):
    runs: list[RunRow]
