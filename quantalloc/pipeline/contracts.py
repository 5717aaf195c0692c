"""Strategy contracts: legs from strike rules, priced and measured by the options engine.

Every strategy is a template of legs ``(kind, quantity per lot, moneyness, expiry slot)``; the
moneyness uses the model's ``otm`` distance ``o`` and spread ``wing`` ``w`` (fractions of spot),
and strikes are rounded to the market's strike grid
(:func:`quantalloc.options.strikes.strike_step`).
All candidates are then priced in one vectorized Black-Scholes call.

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

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy.special import ndtri

from quantalloc.options.pricing import black_scholes
from quantalloc.options.strikes import StrikeGrid, strike_step
from quantalloc.scenarios import LegBook, horizon_values

NAKED_MARGIN = 0.20
POP_GRID = 1000
_Z = ndtri((np.arange(POP_GRID) + 0.5) / POP_GRID)

VolFn = Callable[[np.ndarray, float], np.ndarray]

# (kind, quantity per lot, moneyness as a function of (otm, wing), expiry slot 0 front / 1 back)
Leg = tuple[str, float, float, int]


def _legs(name: str, o: float, w: float) -> list[Leg]:
    bull_put: list[Leg] = [("put", -1, 1 - o, 0), ("put", 1, 1 - o - w, 0)]
    bear_call: list[Leg] = [("call", -1, 1 + o, 0), ("call", 1, 1 + o + w, 0)]
    table: dict[str, list[Leg]] = {
        "long_call": [("call", 1, 1 + o, 0)],
        "long_put": [("put", 1, 1 - o, 0)],
        "bull_call_spread": [("call", 1, 1 + o - w, 0), ("call", -1, 1 + o, 0)],
        "bear_put_spread": [("put", 1, 1 - o + w, 0), ("put", -1, 1 - o, 0)],
        "bull_put_spread": bull_put,
        "bear_call_spread": bear_call,
        "iron_condor": bull_put + bear_call,
        "iron_butterfly": [
            ("put", 1, 1 - o - w, 0),
            ("put", -1, 1.0, 0),
            ("call", -1, 1.0, 0),
            ("call", 1, 1 + o + w, 0),
        ],
        "long_call_butterfly": [("call", 1, 1 - o, 0), ("call", -2, 1.0, 0), ("call", 1, 1 + o, 0)],
        "long_straddle": [("call", 1, 1.0, 0), ("put", 1, 1.0, 0)],
        "short_straddle": [("call", -1, 1.0, 0), ("put", -1, 1.0, 0)],
        "long_strangle": [("call", 1, 1 + o, 0), ("put", 1, 1 - o, 0)],
        "short_strangle": [("call", -1, 1 + o, 0), ("put", -1, 1 - o, 0)],
        "covered_call": [("stock", 1, 0.0, 0), ("call", -1, 1 + o, 0)],
        "cash_secured_put": [("put", -1, 1 - o, 0)],
        "protective_put": [("stock", 1, 0.0, 0), ("put", 1, 1 - o, 0)],
        "collar": [("stock", 1, 0.0, 0), ("put", 1, 1 - o, 0), ("call", -1, 1 + o, 0)],
        "calendar_spread": [("call", -1, 1 + o - 0.03, 0), ("call", 1, 1 + o - 0.03, 1)],
    }
    return table[name]


@dataclass(frozen=True, slots=True)
class ContractRequest:
    """One candidate to build: a strategy on a symbol at an expiry and strike distance."""

    symbol: str
    strategy: str
    front: date
    back: date
    otm: float


@dataclass(frozen=True)
class PricedContracts:
    """Priced candidates: one row per candidate in ``table``, and their legs as a flat book."""

    table: pd.DataFrame
    book: LegBook
    legs: list[list[dict[str, object]]]


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
) -> PricedContracts:
    """Legs, prices, Greeks, max loss/profit, capital and PoP of every request, vectorized.

    Requests whose strikes collapse on the grid (a spread of zero width) or that repeat another
    request's legs exactly are dropped.
    """
    rows: list[dict[str, object]] = []
    leg_rows: list[tuple[int, int, float, float, date, int]] = []
    seen: set[tuple[object, ...]] = set()
    for req in requests:
        s = spot[req.symbol]
        grid = StrikeGrid(strike_step(s, market, req.symbol), (listed or {}).get(req.symbol, ()))
        legs = []
        for leg_kind, leg_qty, money, slot in _legs(req.strategy, req.otm, wing):
            k = 0.0 if leg_kind == "stock" else grid.round(s * money)
            legs.append((leg_kind, leg_qty, float(k), req.back if slot else req.front))
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
    bs = black_scholes(np.where(code >= 0, "call", "put"), s_leg, k_safe, t_leg, rate, vol_leg)
    price = np.where(is_opt, bs.price, s_leg)
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
    book = LegBook(
        candidate=cand,
        symbol=col,
        kind=code,
        units=units,
        strike=strike,
        price=price,
        remaining=np.maximum(t_leg - front_t[cand], 0.0),
        vol=vol_leg,
        n_candidates=n,
    )
    max_loss, max_profit = _extremes(book, table["net_premium"].to_numpy(), cand, n)
    calendar = (table["strategy_name"] == "calendar_spread").to_numpy()
    max_loss = np.where(calendar, np.maximum(table["net_premium"].to_numpy(), 0.0), max_loss)
    unbounded = ~np.isfinite(max_loss)
    notional = table["spot"].to_numpy() * table["lot_size"].to_numpy()
    capital = np.where(
        unbounded, NAKED_MARGIN * notional, np.maximum(max_loss, table["net_premium"].to_numpy())
    )
    table["max_loss"] = max_loss
    table["max_profit"] = max_profit
    table["capital"] = capital
    table["unbounded_loss"] = unbounded
    table["probability_of_profit"] = _pop(book, table, atm_vol, rate, front_t, n)
    table["front_t"] = front_t
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
            }
        )
    return PricedContracts(table, book, legs_out)


def leg_vols(
    symbols: np.ndarray,
    atm: np.ndarray,
    spot: np.ndarray,
    strike: np.ndarray,
    t: np.ndarray,
    skew: float,
    surfaces: Mapping[str, VolFn],
) -> np.ndarray:
    """Implied vol of every leg: the symbol's chain surface when it has one, else the ATM vol
    with a put skew, ``vol(K) = atm * (1 + skew * max(0, ln(S / K)))``, strike by strike, so
    calls and puts at one strike and expiry share a vol and put-call parity holds.

    The skew is in plain log-moneyness on purpose: a time-normalised skew (as
    :class:`quantalloc.options.SkewModel`) is so steep at two-week expiries for volatile names
    that a put spread costs almost nothing, and Kelly then bets on the artefact.
    """
    out = np.empty(len(strike))
    groups: dict[tuple[str, float], list[int]] = {}
    for i, key in enumerate(zip(symbols.tolist(), t.tolist(), strict=True)):
        groups.setdefault((str(key[0]), float(key[1])), []).append(i)
    for (sym, tt), members in groups.items():
        idx = np.asarray(members)
        if sym in surfaces:
            out[idx] = surfaces[sym](strike[idx], tt)
        else:
            out[idx] = atm[idx] * (1.0 + skew * np.maximum(0.0, np.log(spot[idx] / strike[idx])))
    return out


def _valid(legs: list[tuple[str, float, float, date]]) -> bool:
    """False when two option legs of opposite side share kind, strike and expiry (zero width)."""
    opts = [(k, q, s, e) for k, q, s, e in legs if k != "stock"]
    for i, a in enumerate(opts):
        for b in opts[i + 1 :]:
            if a[0] == b[0] and a[2] == b[2] and a[3] == b[3] and a[1] * b[1] < 0:
                return False
    return True


def _extremes(
    book: LegBook, premium: np.ndarray, cand: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Max loss and max profit per lot at the front expiry (inf where unbounded)."""
    knots = np.zeros((n, 6))
    strikes_by = [[0.0] for _ in range(n)]
    for c, k, kind in zip(cand, book.strike, book.kind, strict=True):
        if kind != 0:
            strikes_by[c].append(float(k))
    for c, ks in enumerate(strikes_by):
        top = max(ks) * 2.0 + 1.0
        row = (ks + [top] * 6)[:6]
        knots[c] = row
    s_leg = knots[cand]  # (legs, 6)
    sign = book.kind[:, None].astype(float)
    val = np.where(
        book.kind[:, None] == 0, s_leg, np.maximum(sign * (s_leg - book.strike[:, None]), 0.0)
    )
    # legs that still run after the front expiry (calendar) are valued at intrinsic here: the
    # calendar's max loss is replaced by its debit by the caller
    pnl = np.zeros((n, 6))
    np.add.at(pnl, cand, val * book.units[:, None])
    pnl -= premium[:, None]
    slope = np.bincount(
        cand, weights=book.units * ((book.kind == 1) | (book.kind == 0)), minlength=n
    )
    worst = pnl.min(axis=1)
    best = pnl.max(axis=1)
    max_loss = np.where(slope < -1e-12, np.inf, np.maximum(-worst, 0.0))
    max_profit = np.where(slope > 1e-12, np.inf, np.maximum(best, 0.0))
    return max_loss, max_profit


def _pop(
    book: LegBook,
    table: pd.DataFrame,
    atm_vol: dict[str, float],
    rate: float,
    front_t: np.ndarray,
    n: int,
) -> np.ndarray:
    """P(P&L > 0 at the front expiry) under the lognormal pricing distribution."""
    vol = table["symbol"].map(atm_vol).to_numpy(dtype=float)
    spot = table["spot"].to_numpy(dtype=float)
    grid = spot[None, :] * np.exp(
        (rate - 0.5 * vol**2)[None, :] * front_t[None, :]
        + (vol * np.sqrt(front_t))[None, :] * _Z[:, None]
    )
    own = LegBook(
        candidate=book.candidate,
        symbol=book.candidate,  # each candidate reads its own grid column
        kind=book.kind,
        units=book.units,
        strike=book.strike,
        price=book.price,
        remaining=book.remaining,
        vol=book.vol,
        n_candidates=n,
    )
    values = horizon_values(own, grid, rate)
    gains = (values - own.price[None, :]) * own.units[None, :]
    pnl = np.add.reduceat(gains, own.starts(), axis=1)
    out: np.ndarray = (pnl > 0).mean(axis=0)
    return out


def stress_loss(book: LegBook, spot: np.ndarray, move: float, rate: float) -> np.ndarray:
    """Loss per lot at the front expiry after a +-``move`` x spot move (the larger of the two)."""
    n = book.n_candidates
    cols = np.arange(n)
    worst = np.zeros(n)
    for m in (1.0 - move, 1.0 + move):
        grid = (spot * m)[None, :]
        own = LegBook(
            candidate=book.candidate,
            symbol=book.candidate,
            kind=book.kind,
            units=book.units,
            strike=book.strike,
            price=book.price,
            remaining=book.remaining,
            vol=book.vol,
            n_candidates=n,
        )
        values = horizon_values(own, grid, rate)
        gains = (values - own.price[None, :]) * own.units[None, :]
        pnl = np.add.reduceat(gains, own.starts(), axis=1)[0]
        worst = np.maximum(worst, -pnl[cols])
    return worst


__all__ = [
    "NAKED_MARGIN",
    "ContractRequest",
    "PricedContracts",
    "build_contracts",
    "leg_vols",
    "stress_loss",
]
