"""The portfolio manager: what initialize, rebalance and the whole-book trades (buy_all,
sell_all) change in the book.

Weights come from the multi-strategy allocator of :mod:`quantalloc.backtest.multi` (the same
bounds rule and the same compiled program the backtest uses), with the strategy score
``(1 + Sharpe)(1 + return)/(1 + drawdown)`` of :func:`quantalloc.backtest.metrics.score`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from quantalloc.backtest import metrics as m
from quantalloc.backtest.multi import WeightProgram, even_weights, rebalance_weights
from quantalloc.errors import DataError
from quantalloc.storage.book import Fill, PortfolioBook, Sleeve, option_view


def initialize(
    book: PortfolioBook,
    capital: float,
    strategies: list[tuple[str, str]],
    min_weight: float,
    max_weight: float,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Split ``capital`` evenly (within the bounds) among ``(name, symbol)`` strategies."""
    weights = even_weights(len(strategies), min_weight, max_weight)
    return book.initialize(capital, strategies, list(map(float, weights)), request_id=request_id)


def scores_from_metrics(metrics: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Strategy score per name from ``sharpe``, ``total_return`` and ``max_drawdown``."""
    return {
        name: float(m.score(v["sharpe"], v["total_return"], v["max_drawdown"]))
        for name, v in metrics.items()
    }


def rebalance(
    book: PortfolioBook,
    scores: Mapping[str, float],
    min_weight: float,
    max_weight: float,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Re-weight the unlocked strategies by score within [min_weight, max_weight]."""

    def decide(sleeves: list[Sleeve]) -> tuple[list[float], list[float | None]] | None:
        missing = [s.name for s in sleeves if s.name not in scores]
        if missing:
            raise DataError(
                f"no metrics for strategy {', '.join(missing)}; give sharpe, total_return and "
                "max_drawdown for every strategy in the portfolio"
            )
        values = np.array([s.value for s in sleeves])
        total = float(values.sum())
        eligible = np.array([not s.locked for s in sleeves])
        if not eligible.any() or total <= 0:
            return None
        vector = np.array([scores[s.name] for s in sleeves])
        program = WeightProgram(len(sleeves), 1, "score")
        current = values / total
        w = rebalance_weights(
            program, np.zeros((1, len(sleeves))), current, eligible, min_weight, max_weight,
            scores=vector,
        )  # fmt: skip
        if w is None:
            return None
        return list(map(float, w)), [float(x) for x in vector]

    return book.rebalance(decide, request_id=request_id)


def trade_all(
    book: PortfolioBook,
    side: Literal["buy", "sell"],
    prices: Mapping[str, float],
    fee_per_trade: float = 0.0,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Trade the whole book at ``prices``, recorded as one ``buy_all`` or ``sell_all`` event.

    ``buy``: every unlocked strategy buys its symbol with its cash (whole shares); it is then
    locked. ``sell``: every open position is closed (options per share, before their shares,
    which may cover them); the strategies are unlocked. A symbol to trade without a price
    raises DataError and nothing is written.
    """
    plan = _buy_plan if side == "buy" else _sell_plan
    return book.record(
        f"{side}_all", lambda sleeves: plan(sleeves, prices, fee_per_trade), request_id=request_id
    )


def _buy_plan(sleeves: list[Sleeve], prices: Mapping[str, float], fee: float) -> list[Fill]:
    fills = []
    for s in sleeves:
        if s.locked:
            continue
        price = _price(prices, s.symbol, s.name)
        quantity = math.floor((s.cash - fee) / price + 1e-9)
        if quantity >= 1:
            fills.append(Fill(s.name, s.symbol, "buy", float(quantity), price, fee))
    return fills


def _sell_plan(sleeves: list[Sleeve], prices: Mapping[str, float], fee: float) -> list[Fill]:
    fills = []
    for s in sleeves:
        held = sorted(s.positions.items(), key=lambda kv: (kv[0] not in s.terms, kv[0]))
        for symbol, (quantity, _avg) in held:
            side = "sell" if quantity > 0 else "buy"
            price = _price(prices, symbol, s.name)
            fills.append(Fill(s.name, symbol, side, abs(quantity), price, fee))
    return fills


def _price(prices: Mapping[str, float], symbol: str, strategy: str) -> float:
    if symbol not in prices:
        raise DataError(
            f"no price for {symbol} (held or traded by strategy {strategy}); add it to prices"
        )
    return float(prices[symbol])


def sleeve_view(s: Sleeve, total: float) -> dict[str, Any]:
    """One strategy's part of the book as JSON."""
    return {
        "strategy_name": s.name,
        "symbol": s.symbol,
        "cash": s.cash,
        "capital": s.value,
        "weight": s.value / total if total > 0 else 0.0,
        "locked": s.locked,
        "positions": [
            {"symbol": sym, "quantity": q, "avg_price": p, "contract": contract_of(s, sym)}
            for sym, (q, p) in sorted(s.positions.items())
        ],
    }


def contract_of(s: Sleeve, symbol: str) -> dict[str, Any] | None:
    """The option terms of ``symbol`` in ``s`` as the API shows them (None: a stock)."""
    option = s.terms.get(symbol)
    return None if option is None else option_view(option)


def current(book: PortfolioBook) -> dict[str, Any]:
    """The current allocation: every strategy's capital at cost, weight and lock."""
    sleeves = book.sleeves()
    total = sum(s.value for s in sleeves)
    return {"total_capital": total, "strategies": [sleeve_view(s, total) for s in sleeves]}
