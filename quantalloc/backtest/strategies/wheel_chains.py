"""The wheel replayed on listed option chains (``quantalloc backtest wheel --chains SOURCE``).

The sessions are the chain source's sessions of ``symbol`` inside the window, and the
underlying's close each session is the chain's own underlying price. At each close with no
option open, the wheel sells puts (the wheel's rules, on listed contracts):

- **expiry**: the first listed expiry at least ``min_dte`` calendar days away that is a Friday
  (``expiry="monthly"``: a third Friday) and a session of the source (so it settles at a close
  the data has); ``root`` picks the listed root where several list the same terms (SPXW: the
  PM-settled weeklies);
- **strike**: the highest listed put strike at or below ``put_otm`` under the close;
- **contracts**: as many as the free cash secures at the strike (x the multiplier, 100).

Prices come through the :class:`~quantalloc.options.quotes.OptionQuotes` seam: the chain's
quotes (:meth:`~quantalloc.backtest.replay.pricing.ChainPrices.quote`) and the wheel's own
model quotes (:func:`~quantalloc.backtest.strategies.wheel.make_quotes`). The put fills at the
session's bid (a sale by the fill rule), pays ``fee_per_contract``, is
marked each session at its contract's mid (the model where the chain does not list it,
counted), bought back at the ask once it has lost ``take_profit`` of its premium, and
otherwise settles at expiry in cash at its intrinsic value against the underlying's close (SPX
options are cash settled: an assigned put delivers no shares, so the wheel's covered-call
phase never starts and the next put is sold at the same close). Cash earns no interest here.

The model (fallback marks, and every price of ``compare_proxy``'s re-pricing) is the wheel's
own: Black-Scholes at the vol index's close / 100 with the wheel's skew, ``rate`` and
``dividend_yield``; a model fill is ``option_spread`` of the price worse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.backtest.replay.book import Leg, Position
from quantalloc.backtest.replay.costs import ReplayCosts, settle_value
from quantalloc.backtest.replay.loop import ExitRules, ProgressFn, run_loop
from quantalloc.backtest.replay.outcome import ProxyPass, replay_result
from quantalloc.backtest.replay.pricing import ChainPrices, Pricer
from quantalloc.backtest.result import BacktestResult
from quantalloc.backtest.window import BacktestWindow
from quantalloc.data.base import DateLike, PriceProvider
from quantalloc.errors import DataError
from quantalloc.options.contract import OptionContract
from quantalloc.options.quotes import Closes, OptionQuotes, fill_price

MULTIPLIER = 100

QuotesFactory = Callable[[Any, Closes], OptionQuotes]
"""``make_quotes(params, closes)``: the wheel's model quotes (passed in by the wheel's ``run``)."""


class WheelModel:
    """The wheel's own model quotes (:func:`~quantalloc.backtest.strategies.wheel.make_quotes`:
    Black-Scholes at the vol index's level with the wheel's skew) on the chain's underlying
    price, as the replay's model source (fallback marks, the proxy re-pricing)."""

    def __init__(
        self, closes: pd.Series, vix: pd.Series, p: Any, make_quotes: QuotesFactory
    ) -> None:
        self.closes = closes
        self.vix = vix
        self.vol_symbol = p.vol_symbol
        self.quotes = make_quotes(p, self._level)

    def _level(self, symbol: str, day: pd.Timestamp) -> float:
        series = self.vix if symbol == self.vol_symbol else self.closes
        return _at(series, day, symbol)

    def spot(self, symbol: str, day: pd.Timestamp) -> float:
        """The chain's underlying price at ``day`` (the last one on or before it)."""
        return _at(self.closes, day, symbol)

    def value(self, pos: Position, leg: Leg, day: pd.Timestamp) -> float:
        """Per-share model value of ``leg`` at ``day``'s close (intrinsic from its expiry)."""
        if not leg.is_option or (leg.expiry - day).days <= 0:
            return settle_value(leg, self.spot(pos.symbol, day))
        return self.quotes.quote(_contract(pos, leg), day).mark


def _contract(pos: Position, leg: Leg) -> OptionContract:
    return OptionContract(pos.symbol, leg.expiry, leg.strike, leg.kind, MULTIPLIER)  # type: ignore[arg-type]


def _at(series: pd.Series, day: pd.Timestamp, name: str) -> float:
    pos = int(series.index.searchsorted(day, side="right"))
    if pos == 0:
        raise DataError(f"{name}: no level on or before {day.date()}")
    return float(series.iloc[pos - 1])


class PutSeller:
    """Sells the wheel's put on listed contracts whenever nothing is open (module notes)."""

    def __init__(
        self, p: Any, chains: Any, quotes: OptionQuotes, days: pd.DatetimeIndex, closes: pd.Series
    ) -> None:
        self.p = p
        self.chains = chains
        self.quotes = quotes
        self.days = days
        self.sessions = set(days)
        self.closes = closes
        self.opened = 0
        self.notes: list[str] = []

    def due(self, i: int, day: pd.Timestamp, open_positions: list[Position]) -> bool:
        """At every close with no option open."""
        return not open_positions

    def decide(self, i: int, day: pd.Timestamp, free: float) -> list[Position] | None:
        """The put to sell at ``day``'s close; None when none is listed or none is secured."""
        frame = self.chains.chain(self.p.symbol, day).frame
        puts = frame.loc[(frame["kind"] == "put") & (frame["bid"] > 0)]
        if self.p.root and "root" in puts:
            puts = puts.loc[puts["root"] == self.p.root]
        expiry = self._expiry(day, puts["expiry"])
        if expiry is None:
            self.notes.append(f"{day.date()}: no listed expiry {self.p.min_dte}+ days out")
            return None
        spot = float(self.closes.loc[day])
        strikes = np.sort(puts.loc[puts["expiry"] == expiry, "strike"].to_numpy(float))
        below = strikes[strikes <= spot * (1.0 - self.p.put_otm) + 1e-9]
        if not len(below):
            return None
        strike = float(below[-1])
        contracts = int(free // (strike * MULTIPLIER))
        if contracts <= 0:
            return None
        units = -float(contracts * MULTIPLIER)
        contract = OptionContract(self.p.symbol, expiry, strike, "put", MULTIPLIER)
        try:  # a sale fills at the quote's bid (the chain's fill rule: its bid where quoted)
            price = fill_price(self.quotes.quote(contract, day), "sell")
        except DataError as exc:
            self.notes.append(f"{day.date()}: {exc}")
            return None
        leg = Leg("put", strike, expiry, units, price, float(contracts), "chain", self.p.root)
        pos = Position(
            symbol=self.p.symbol,
            strategy_name="short_put",
            expiry=expiry,
            lots=contracts,
            lot_size=MULTIPLIER,
            legs=(leg,),
            capital=strike * MULTIPLIER * contracts,
            opened=day,
            as_of=day.date().isoformat(),
            number=self.opened,
            settle_day=expiry if expiry in self.sessions else None,  # else beyond the data
        )
        self.opened += 1
        return [pos]

    def _expiry(self, day: pd.Timestamp, expiries: pd.Series) -> pd.Timestamp | None:
        first = day + pd.Timedelta(days=self.p.min_dte)
        for e in sorted(pd.to_datetime(expiries.unique())):
            e = pd.Timestamp(e)
            missing = e <= self.days[-1] and e not in self.sessions  # settles on no known close
            if e < first or e.weekday() != 4 or missing:
                continue
            if self.p.expiry == "monthly" and not 15 <= e.day <= 21:
                continue
            return e
        return None


def run(
    window: BacktestWindow,
    p: Any,
    make_quotes: QuotesFactory,
    progress: ProgressFn | None = None,
) -> BacktestResult:
    """The wheel on ``p.chains`` over ``window``; ``make_quotes`` is the wheel's model quotes
    (:func:`quantalloc.backtest.strategies.wheel.make_quotes`)."""
    from quantalloc.data import get_chain_source

    chains = get_chain_source(p.chains, market="us")
    days, closes = _sessions(chains, p.symbol, window.start, window.end)
    vix = _vol_index(window.provider, p, days)
    model = WheelModel(closes, vix, p, make_quotes)
    costs = ReplayCosts.flat(p.option_spread, p.fee_per_contract, 0.0)
    spreads = _spreads()
    rules = ExitRules(take_profit=p.take_profit, physical=lambda symbol: False)
    listed = ChainPrices(chains, spreads, root=p.root)  # the chain side of the quotes seam
    seller = PutSeller(p, chains, listed, days, closes)
    pricer = Pricer(model, listed, costs)
    main = run_loop(days, window.capital, pricer, seller, rules, progress=progress)
    notes = list(seller.notes)
    if pricer.counts.marks["model"]:
        notes.append(f"{pricer.counts.marks['model']} option marks fell back to the model")
    proxy = ProxyPass(days, Pricer(model, None, costs), rules) if p.compare_proxy else None
    sections = {"pricing": pricer.counts.to_dict()}
    return replay_result(
        "wheel", asdict(p), window.capital, main, sections=sections, notes=notes, proxy=proxy
    )


def _sessions(
    chains: Any, symbol: str, start: DateLike | None, end: DateLike | None
) -> tuple[pd.DatetimeIndex, pd.Series]:
    """The source's sessions of ``symbol`` in the window and the chain's underlying price."""
    days = pd.DatetimeIndex(chains.sessions())
    if start is not None:
        days = days[days >= pd.Timestamp(start)]
    if end is not None:
        days = days[days <= pd.Timestamp(end)]
    closes = {}
    for day in days:
        try:
            snap = chains.chain(symbol, day)
        except DataError:
            continue
        spot = snap.frame["spot"].dropna()
        if snap.session == day and len(spot):
            closes[pd.Timestamp(day)] = float(spot.median())
    if not closes:
        raise DataError(
            f"wheel: the chains hold no {symbol} session in {start} .. {end}; pick the "
            "underlying and dates the chain files cover (e.g. -p symbol=SPX for the SPX files)"
        )
    series = pd.Series(closes).sort_index()
    return pd.DatetimeIndex(series.index), series


def _vol_index(provider: PriceProvider, p: Any, days: pd.DatetimeIndex) -> pd.Series:
    source = provider
    if p.vol_data:
        from quantalloc.data.sources import get_provider

        source = get_provider(p.vol_data, "us")
    vix = source.history(p.vol_symbol, None, days[-1])["close"].dropna()
    if not len(vix) or vix.index[0] > days[0]:
        raise DataError(
            f"wheel: {p.vol_symbol} has no level on or before {days[0].date()}; give it with "
            "-p vol_data=csv:DIR -p vol_symbol=NAME"
        )
    return vix


def _spreads() -> Any:
    """The US spread table (quoted chains fill at their bid and ask; it prices the rest)."""
    from quantalloc.options.costs import load_spread_table

    return load_spread_table("us")
