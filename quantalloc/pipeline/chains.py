"""Per symbol, what prices its candidates: its chain's tradable book, or the vol proxy.

:func:`price_symbols` reads each symbol's chain on the as-of session from the chain source
(``chains``); a symbol with one is built on its listed expiries and strikes, at its fills and
lot size, with the chain's 30-day ATM implied vol for the scenarios and the probability of
profit. A symbol without one (no chain source, or none for it) is priced by Black-Scholes at
the proxy of :mod:`quantalloc.options.forecast` and the model's skew, on the exchange calendar's
expiries, and needs a lot size from the universe table or the market's fixed contract size.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from quantalloc.data.chain_source import ChainSource
from quantalloc.data.expiries import monthly_expiry
from quantalloc.errors import DataError
from quantalloc.options.chain_book import ChainQuotes, chain_quotes
from quantalloc.options.costs import load_spread_table
from quantalloc.options.listed import listed_expiries, resolve_lot_sizes
from quantalloc.options.volatility import VolFn
from quantalloc.pipeline.inputs import MarketInputs
from quantalloc.pipeline.request import Plan
from quantalloc.regime.state import MarketState

log = logging.getLogger(__name__)

BACK_MIN_DAYS = 20
"""A calendar's back expiry lies at least this many days after its front one."""


@dataclass(frozen=True)
class SymbolPricing:
    """Spot, ATM vol, lot size and (where a chain exists) the tradable book of each symbol."""

    spot: dict[str, float]
    atm: dict[str, float]
    lot_sizes: dict[str, int]
    books: dict[str, ChainQuotes]
    surfaces: dict[str, VolFn]
    fronts: dict[str, list[date]]
    notes: tuple[str, ...]

    def expiries(self, symbol: str, calendar: list[date], market: str) -> list[tuple[date, date]]:
        """(front, back) expiry pairs of ``symbol``: its listed ones when a chain prices it, else
        the calendar's monthlies (back: the next monthly)."""
        book = self.books.get(symbol)
        if book is None:
            return [(e, _next_monthly(e, market)) for e in calendar]
        listed = book.expiries()
        out = []
        for front in self.fronts[symbol]:
            later = [e for e in listed if (e - front).days >= BACK_MIN_DAYS]
            out.append((front, later[0] if later else front))
        return out


def _next_monthly(exp: date, market: str) -> date:
    y, m = (exp.year + 1, 1) if exp.month == 12 else (exp.year, exp.month + 1)
    return monthly_expiry(y, m, market)


def price_symbols(
    plan: Plan,
    inputs: MarketInputs,
    state: MarketState,
    chains: ChainSource | None,
    window: tuple[int, int],
) -> SymbolPricing:
    """See the module notes; ``window`` is the (min, max) days to expiry of the candidates."""
    spec, market = plan.spec, plan.market
    as_of = inputs.as_of
    spot = {s: float(inputs.closes[s].dropna().iloc[-1]) for s in inputs.symbols}
    books, notes = _books(plan, inputs, chains, spot)
    atm: dict[str, float] = {}
    surfaces: dict[str, VolFn] = {}
    for s, book in books.items():
        spot[s] = book.spot
        if book.surface is not None:
            atm[s] = book.surface.atm_vol(30.0 / 365.0)
            surfaces[s] = book.surface.vol
    rest = [s for s in inputs.symbols if s not in atm]
    if rest:
        proxied, proxy_notes = _proxies(plan, inputs, state, rest)
        atm.update(proxied)
        notes += proxy_notes
    sizes = resolve_lot_sizes(
        inputs.symbols,
        from_chain={s: b.lot_size() for s, b in books.items()},
        from_table=inputs.lot_sizes(),
        convention=market.contract_multiplier,
    )
    notes += list(sizes.notes)
    fronts = {
        s: listed_expiries(b.fills, as_of.date(), window[0], window[1], spec.candidates.expiries)
        for s, b in books.items()
    }
    if books:
        n_proxied = len(inputs.symbols) - len(books)
        notes.append(
            f"{len(books)} of {len(inputs.symbols)} symbols priced from their chains "
            f"({', '.join(sorted({str(b.session.date()) for b in books.values()}))})"
            + (f", {n_proxied} by the vol proxy" if n_proxied else "")
        )
    return SymbolPricing(spot, atm, sizes.sizes, books, surfaces, fronts, tuple(notes))


def _books(
    plan: Plan, inputs: MarketInputs, chains: ChainSource | None, spot: dict[str, float]
) -> tuple[dict[str, ChainQuotes], list[str]]:
    if chains is None:
        return {}, []
    market, costs = plan.market, plan.spec.costs
    spreads = load_spread_table(market.name, costs.spreads)
    books: dict[str, ChainQuotes] = {}
    notes: list[str] = []
    missing: list[str] = []
    dropped = {"open_interest": 0, "volume": 0, "spread": 0}
    for s in inputs.symbols:
        try:
            snap = chains.chain(s, inputs.as_of)
        except DataError:
            missing.append(s)
            continue
        book = chain_quotes(snap, spreads, costs.liquidity, market.risk_free_rate)
        if book.fills.empty:
            notes.append(f"{s}: no contract of its chain passes the liquidity rules")
            missing.append(s)
            continue
        books[s] = book
        for rule, count in book.dropped.items():
            dropped[rule] += count
        notes += [n for n in snap.notes if n.startswith(f"{s}:")]
    if sum(dropped.values()):
        rules = costs.liquidity
        notes.append(
            f"liquidity rules (open interest >= {rules.min_open_interest:g}, volume >= "
            f"{rules.min_volume:g}, spread <= {rules.max_spread:.0%} of the mid) left out "
            f"{sum(dropped.values())} listed contracts of {len(books)} chains (open interest "
            f"{dropped['open_interest']}, volume {dropped['volume']}, spread {dropped['spread']})"
        )
    if missing:
        notes.append(
            f"no chain in {chains.name} on {inputs.as_of.date()} for {', '.join(missing[:8])}"
            + (f" (+{len(missing) - 8} more)" if len(missing) > 8 else "")
            + ": priced by the vol proxy"
        )
    return books, notes


def _proxies(
    plan: Plan, inputs: MarketInputs, state: MarketState, symbols: list[str]
) -> tuple[dict[str, float], list[str]]:
    """The vol proxy of each symbol: its own forecast x the index's measured ratio."""
    from quantalloc.options.forecast import forecast_path, measured_ratio, proxy_vol

    method = plan.spec.candidates.vol_proxy
    notes: list[str] = []
    index_close = inputs.index_prices["close"]
    try:
        index_fc = forecast_path(index_close, method)
    except DataError as exc:
        notes.append(f"index forecast by {method} failed ({exc}); EWMA used")
        method = "ewma"
        index_fc = forecast_path(index_close, method)
    implied = inputs.vol_index["close"].astype(float) / 100.0
    implied = implied.loc[implied.index < inputs.as_of]
    implied = pd.concat([implied, pd.Series([state.vol.level / 100.0], index=[inputs.as_of])])
    out: dict[str, float] = {}
    ratio = measured_ratio(implied, index_fc, inputs.as_of) if symbols else float("nan")
    for s in symbols:
        got = proxy_vol(
            inputs.closes[s].dropna(), index_fc, implied, inputs.as_of, method=method, ratio=ratio
        )
        out[s] = got.vol
        notes += [f"{s}: {n}" for n in got.notes]
    if np.isfinite(ratio):
        notes.append(
            f"vol proxy ({method}): each symbol's 21-day forecast x {ratio:.2f}, the index's "
            "median ratio of vol index to forecast over the past year"
        )
    return out, notes


__all__ = ["SymbolPricing", "price_symbols"]
