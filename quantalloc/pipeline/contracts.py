"""Strategy contracts: legs from strike rules, priced and measured by the options engine.

Every strategy is a template of legs ``(kind, quantity per lot, moneyness, expiry slot)``; the
moneyness uses the model's ``otm`` distance ``o`` and spread ``wing`` ``w`` (fractions of spot),
and strikes are rounded to the market's strike grid
(:func:`quantalloc.options.strikes.strike_step`).
All candidates are then priced in one vectorized Black-Scholes call.

A symbol with a chain (:class:`~quantalloc.options.chain_book.ChainQuotes` in ``Pricing.books``)
is built on listed contracts instead: its legs' targets are snapped to the strikes listed for
their expiry and kind (:func:`~quantalloc.options.listed.snap_strikes`), each leg is priced at
its fill (a buy at the ask or the close/settlement plus half the spread, a sell at the bid or
minus half of it) and its Greeks at the contract's implied vol; ``price_source`` says
``chain`` for those legs and ``proxy`` for legs priced by Black-Scholes at the vol proxy.
Every leg's cost per lot (``PricedContracts.leg_cost``) is the fees of a fill in and out
(:class:`~quantalloc.options.costs.FeeSchedule`) plus, for a proxy leg, half the modelled
spread (``bid_ask`` of its price, at least ``min_tick``); a chain leg's spread is in its fill.

Per lot (``units`` = quantity x lot size):

- **net premium**: sum of bought minus sold leg prices (positive = debit);
- **max loss / max profit** at the front expiry, exact for single-expiry strategies (the payoff
  is piecewise linear: its extremes lie at 0, at a strike, or at infinity, where the slope is the
  net call-plus-stock quantity); a long calendar spread's max loss is its debit;
- **capital**: the max loss for defined-risk strategies (debit paid; width minus credit for
  credit spreads; strike minus credit for a cash-secured put; stock cost minus credit for a
  covered call); for unbounded-loss strategies (naked short calls) an exchange-style margin of
  20% of the underlying's notional per lot;
- **probability of profit** under the pricing distribution (lognormal at the at-the-money implied
  vol, risk-neutral drift) on a 1,000-point quantile grid;
- **Greeks** in practitioner units: delta in currency per 1 point of the underlying, gamma in
  delta per point, vega in currency per vol point, theta in currency per calendar day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from quantalloc.errors import DataError
from quantalloc.options.book import (
    NAKED_MARGIN,
    LegBook,
    payoff_extremes,
    probability_of_profit,
)
from quantalloc.options.catalog import strategy_info
from quantalloc.options.chain_book import ChainQuotes
from quantalloc.options.costs import FeeSchedule
from quantalloc.options.listed import snap_strikes
from quantalloc.options.pricing import black_scholes
from quantalloc.options.strikes import StrikeGrid, strike_step
from quantalloc.options.volatility import VolFn, leg_vols


@dataclass(frozen=True, slots=True)
class ContractRequest:
    """One candidate to build: a strategy on a symbol at an expiry and strike distance."""

    symbol: str
    strategy: str
    front: date
    back: date
    otm: float


@dataclass(frozen=True)
class Pricing:
    """How legs are priced and charged: chains per symbol, fees, the proxy legs' spread."""

    books: Mapping[str, ChainQuotes] = field(default_factory=dict)
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    bid_ask: float = 0.0
    min_tick: float = 0.0


@dataclass(frozen=True)
class PricedContracts:
    """Priced candidates: one row per candidate in ``table``, their legs as a flat book, and
    each leg's trading cost per lot (in the book's leg order)."""

    table: pd.DataFrame
    book: LegBook
    legs: list[list[dict[str, object]]]
    leg_cost: np.ndarray = field(default_factory=lambda: np.zeros(0))
    leg_mid: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Per leg, the mid per unit: between a listed contract's buy and sell, else the price."""
    leg_half: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Per leg, the half-spread per unit (a listed contract's, else the modelled one)."""
    leg_model_spread: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Per leg, the modelled half-spread per lot inside ``leg_cost`` (0 on a listed contract,
    whose spread is in its fill); ``leg_cost`` less this is the fees."""


def build_contracts(
    requests: list[ContractRequest],
    *,
    as_of: date,
    spot: dict[str, float],
    atm_vol: dict[str, float],
    skew: float = 1.0,
    surfaces: Mapping[str, VolFn] | None = None,
    listed: Mapping[str, tuple[float, ...]] | None = None,
    lot_size: dict[str, int],
    market: str,
    rate: float,
    wing: float,
    symbol_column: dict[str, int],
    pricing: Pricing | None = None,
) -> PricedContracts:
    """Legs, prices, Greeks, max loss/profit, capital and PoP of every request, vectorized.

    Requests whose strikes collapse on the grid (a spread of zero width), that a chain cannot
    list, or that repeat another request's legs exactly are dropped.
    """
    pricing = pricing or Pricing()
    rows, leg_rows = _lay_out(
        requests, spot, listed or {}, market, wing, symbol_column, pricing.books
    )
    if not rows:
        empty = pd.DataFrame(columns=["symbol", "strategy_name", "expiry", "otm"])
        z = np.zeros(0)
        book = LegBook(z, z, z, z, z, z, z, z, n_candidates=0)
        return PricedContracts(empty, book, [])
    table = pd.DataFrame(rows)
    cand = np.array([r[0] for r in leg_rows])
    code = np.array([r[1] for r in leg_rows])
    qty = np.array([r[2] for r in leg_rows], dtype=float)
    strike = np.array([r[3] for r in leg_rows], dtype=float)
    expiry = [r[4] for r in leg_rows]
    col = np.array([r[5] for r in leg_rows])
    sym = table["symbol"].to_numpy()[cand]
    s_leg = np.array([spot[x] for x in sym])
    lots = np.array([lot_size[x] for x in sym], dtype=float)
    atm = np.array([atm_vol[x] for x in sym])
    t_leg = np.array([(e - as_of).days / 365.0 for e in expiry])
    is_opt = code != 0
    k_safe = np.where(is_opt, strike, s_leg)
    vol_leg = leg_vols(sym, atm, s_leg, k_safe, t_leg, skew, surfaces or {})
    fills = _chain_fills(pricing.books, sym, code, qty, strike, expiry)
    vol_leg = np.where(np.isfinite(fills[1]), fills[1], vol_leg)
    bs = black_scholes(np.where(code >= 0, "call", "put"), s_leg, k_safe, t_leg, rate, vol_leg)
    from_chain = np.isfinite(fills[0])
    price = np.where(from_chain, fills[0], np.where(is_opt, bs.price, s_leg))
    units = qty * lots
    n = len(table)

    def per_cand(values: np.ndarray) -> np.ndarray:
        return np.bincount(cand, weights=values, minlength=n)

    table["lot_size"] = table["symbol"].map(lot_size).astype(int)
    table["spot"] = table["symbol"].map(spot).astype(float)
    table["net_premium"] = per_cand(units * price)  # per lot, + = debit
    table["delta"] = per_cand(units * np.where(is_opt, bs.delta, 1.0))
    table["gamma"] = per_cand(units * np.where(is_opt, bs.gamma, 0.0))
    table["vega"] = per_cand(units * np.where(is_opt, bs.vega, 0.0)) / 100.0
    table["theta"] = per_cand(units * np.where(is_opt, bs.theta, 0.0)) / 365.0
    front_t = np.array([(e - as_of).days / 365.0 for e in table["expiry"]])
    remaining = np.maximum(t_leg - front_t[cand], 0.0)
    # legs by candidate: candidate, symbol column, kind, units, strike, price, remaining, vol
    book = LegBook(cand, col, code, units, strike, price, remaining, vol_leg, n_candidates=n)
    table = _measure(table, book, atm_vol, rate, front_t)
    table["front_t"] = front_t
    source = np.where(from_chain, "chain", np.where(is_opt, "proxy", "spot"))
    legs_out = _leg_documents(book, qty, expiry, n, source)
    cost = _leg_costs(pricing, price, lots, qty, is_opt, from_chain)
    model_half = np.where(
        is_opt & ~from_chain, 0.5 * np.maximum(pricing.bid_ask * price, pricing.min_tick), 0.0
    )
    mid = np.where(from_chain, fills[2], price)
    half = np.where(from_chain, np.abs(price - mid), model_half)
    return PricedContracts(table, book, legs_out, cost, mid, half, model_half * np.abs(units))


def _chain_fills(
    books: Mapping[str, ChainQuotes],
    sym: np.ndarray,
    code: np.ndarray,
    qty: np.ndarray,
    strike: np.ndarray,
    expiry: list[date],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fill price, implied vol and mid of every option leg on a listed contract (NaN
    elsewhere): a buy at the contract's ``buy``, a sell at its ``sell``, the mid between."""
    price = np.full(len(sym), np.nan)
    vol = np.full(len(sym), np.nan)
    mid = np.full(len(sym), np.nan)
    for i in range(len(sym)):
        book = books.get(str(sym[i]))
        if book is None or code[i] == 0:
            continue
        kind = "call" if code[i] > 0 else "put"
        quote = book.quotes.get((expiry[i], round(float(strike[i]), 6), kind))
        if quote is None:  # laid out from the book's own strikes: a gap is a bug, say which
            book.contract(expiry[i], float(strike[i]), kind)
            continue
        price[i] = quote[0] if qty[i] > 0 else quote[1]
        vol[i] = quote[2]
        mid[i] = 0.5 * (quote[0] + quote[1])
    return price, vol, mid


def _leg_costs(
    pricing: Pricing,
    price: np.ndarray,
    lots: np.ndarray,
    qty: np.ndarray,
    is_opt: np.ndarray,
    from_chain: np.ndarray,
) -> np.ndarray:
    """Cost per lot of each leg: fees of a fill in and out, plus half the modelled spread of a
    proxy-priced option leg (a chain leg's spread is in its fill price)."""
    side = np.where(qty > 0, "buy", "sell")
    fees = 2.0 * pricing.fees.per_fill(price, lots, side) * np.abs(qty)
    spread = np.maximum(pricing.bid_ask * price, pricing.min_tick)
    half = np.where(is_opt & ~from_chain, 0.5 * spread * np.abs(qty) * lots, 0.0)
    return np.where(is_opt, fees, 0.0) + half


def _lay_out(
    requests: list[ContractRequest],
    spot: dict[str, float],
    listed: Mapping[str, tuple[float, ...]],
    market: str,
    wing: float,
    symbol_column: dict[str, int],
    books: Mapping[str, ChainQuotes],
) -> tuple[list[dict[str, object]], list[tuple[int, int, float, float, date, int]]]:
    """One row per distinct valid request and one per leg (candidate, kind code, quantity,
    strike, expiry, symbol column): the catalog's leg templates on the strike grid, or on the
    strikes a symbol's chain lists."""
    rows: list[dict[str, object]] = []
    leg_rows: list[tuple[int, int, float, float, date, int]] = []
    seen: set[tuple[object, ...]] = set()
    for req in requests:
        s = spot[req.symbol]
        template = strategy_info(req.strategy).legs
        targets = [s * leg.moneyness(req.otm, wing) for leg in template]
        exps = [req.back if leg.back else req.front for leg in template]
        book = books.get(req.symbol)
        if book is None:
            grid = StrikeGrid(strike_step(s, market, req.symbol), listed.get(req.symbol, ()))
            strikes = [
                0.0 if g.kind == "stock" else grid.round(k)
                for g, k in zip(template, targets, strict=True)
            ]
        else:
            try:
                strikes = _snapped(book, template, targets, exps)
            except DataError:
                continue  # the chain lists too few strikes for this strategy there
        legs = [
            (leg.kind, leg.quantity, float(k), e)
            for leg, k, e in zip(template, strikes, exps, strict=True)
        ]
        if not _valid(legs):
            continue
        key = (req.symbol, req.strategy, tuple(legs))
        if key in seen:
            continue
        seen.add(key)
        c = len(rows)
        rows.append(
            {
                "symbol": req.symbol,
                "strategy_name": req.strategy,
                "expiry": req.front,
                "otm": req.otm,
            }
        )
        for leg_kind, leg_qty, k, exp in legs:
            leg_code = {"call": 1, "put": -1, "stock": 0}[leg_kind]
            leg_rows.append((c, leg_code, leg_qty, k, exp, symbol_column[req.symbol]))
    return rows, leg_rows


def _measure(
    table: pd.DataFrame,
    book: LegBook,
    atm_vol: dict[str, float],
    rate: float,
    front_t: np.ndarray,
) -> pd.DataFrame:
    """Max loss and profit, capital, the unbounded flag and probability of profit per lot."""
    cand, n = book.candidate, book.n_candidates
    max_loss, max_profit = payoff_extremes(book, table["net_premium"].to_numpy(), cand, n)
    # a leg that runs past the front expiry (a calendar's back month): the max loss is the debit
    runs_on = table["strategy_name"].map(lambda x: any(g.back for g in strategy_info(x).legs))
    max_loss = np.where(
        runs_on.to_numpy(dtype=bool), np.maximum(table["net_premium"].to_numpy(), 0.0), max_loss
    )
    unbounded = ~np.isfinite(max_loss)
    notional = table["spot"].to_numpy() * table["lot_size"].to_numpy()
    capital = np.where(
        unbounded, NAKED_MARGIN * notional, np.maximum(max_loss, table["net_premium"].to_numpy())
    )
    table["max_loss"] = max_loss
    table["max_profit"] = max_profit
    table["capital"] = capital
    table["unbounded_loss"] = unbounded
    table["probability_of_profit"] = probability_of_profit(book, table, atm_vol, rate, front_t, n)
    return table


def _snapped(
    book: ChainQuotes, template: tuple, targets: list[float], exps: list[date]
) -> list[float]:
    """Option legs' targets moved to the strikes the chain lists for their expiry and kind."""
    opts = [i for i, leg in enumerate(template) if leg.kind != "stock"]
    snapped = snap_strikes(
        [targets[i] for i in opts],
        [book.strikes(exps[i], template[i].kind) for i in opts],
    )
    out = [0.0] * len(template)
    for i, k in zip(opts, snapped, strict=True):
        out[i] = k
    return out


def _leg_documents(
    book: LegBook, qty: np.ndarray, expiry: list[date], n: int, source: np.ndarray
) -> list[list[dict[str, object]]]:
    """Each candidate's legs as the document writes them (per lot)."""
    cand, code, strike, price = book.candidate, book.kind, book.strike, book.price
    is_opt = code != 0
    legs_out: list[list[dict[str, object]]] = [[] for _ in range(n)]
    for i in range(len(cand)):
        legs_out[cand[i]].append(
            {
                "kind": {1: "call", -1: "put", 0: "stock"}[int(code[i])],
                "side": "buy" if qty[i] > 0 else "sell",
                "strike": float(strike[i]) if is_opt[i] else None,
                "price": float(price[i]),
                "quantity": float(abs(qty[i])),
                "expiry": expiry[i].isoformat(),
                "price_source": str(source[i]),
            }
        )
    return legs_out


def _valid(legs: list[tuple[str, float, float, date]]) -> bool:
    """False when two option legs of opposite side share kind, strike and expiry (zero width)."""
    opts = [(k, q, s, e) for k, q, s, e in legs if k != "stock"]
    for i, a in enumerate(opts):
        for b in opts[i + 1 :]:
            if a[0] == b[0] and a[2] == b[2] and a[3] == b[3] and a[1] * b[1] < 0:
                return False
    return True


__all__ = ["ContractRequest", "PricedContracts", "Pricing", "build_contracts"]
