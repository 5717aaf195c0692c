"""Where a replay's held legs get their prices each session: the chain, or the model.

:class:`ModelPrices` is the pipeline's own Black-Scholes pricing: ATM vol from the proxy of
:mod:`quantalloc.options.forecast` (the symbol's forecast x the index's measured ratio of vol
index to forecast, on data up to that close, the forecast models fitted at the position's
entry), the model's put skew (:func:`quantalloc.options.volatility.leg_vols`), the market's
risk-free rate, no dividend, calendar time to each leg's expiry. A GARCH path is fitted once per
symbol and entry date and filtered forward (each day's value uses the returns up to that day
only), so marking every session costs one fit per position, not one per session.

:class:`ChainPrices` reads the session's chain of a symbol: a leg's **mark** is its contract's
reference price (mid where quoted; on NSE's bhavcopy the close when it traded that session,
else the settlement price), its **fill** the price the fill rule of
:mod:`quantalloc.options.fills` gives a buy or a sell that session. It is also the listed
side of the :class:`~quantalloc.options.quotes.OptionQuotes` seam (:meth:`ChainPrices.quote`).

:class:`Pricer` combines them for the replay: the chain where it lists the contract, the model
otherwise (and always, for the proxy re-pricing), counting which served every mark and fill.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from quantalloc.backtest.replay.book import Counts, Leg, Position
from quantalloc.backtest.replay.costs import ReplayCosts, settle_value
from quantalloc.data.base import PriceProvider
from quantalloc.data.chain_source import ChainSource
from quantalloc.errors import DataError
from quantalloc.markets import MarketProfile
from quantalloc.options.contract import OptionContract
from quantalloc.options.costs import SpreadTable
from quantalloc.options.quotes import OptionQuote

YEAR_DAYS = 365.0
RATIO_WINDOW = 252  # measured_ratio's defaults: the last year's sessions, at least 20 of them
RATIO_MIN_DATES = 20
NS_PER_DAY = 86_400_000_000_000


class ModelSource(Protocol):
    """What prices a leg where no chain does: the underlying's close and a model value."""

    def spot(self, symbol: str, day: pd.Timestamp) -> float:
        """The last close of ``symbol`` on or before ``day``."""
        ...

    def value(self, pos: Position, leg: Leg, day: pd.Timestamp) -> float:
        """Per-share model value of ``leg`` at ``day``'s close (intrinsic from its expiry)."""
        ...


class ModelPrices:
    """Black-Scholes values of held legs at the pipeline's vol proxy and skew (module notes).

    ``index_close`` and ``vix`` are the market index and vol index closes; every value at
    ``day`` uses data up to ``day`` only.
    """

    def __init__(
        self,
        provider: PriceProvider,
        market: MarketProfile,
        end: pd.Timestamp,
        index_close: pd.Series,
        vix: pd.Series,
        skew: float,
        method: str = "garch",
    ) -> None:
        self.provider = provider
        self.market = market
        self.end = end
        self.index_close = index_close
        self.vix = vix
        self.skew = skew
        self.method = method
        self.closes: dict[str, pd.Series] = {}
        self._paths: dict[tuple[str, pd.Timestamp], pd.Series] = {}
        self._atm: dict[tuple[str, pd.Timestamp, pd.Timestamp], float] = {}
        self._ratios: dict[tuple[pd.Timestamp, pd.Timestamp], float] = {}
        self._both: dict[pd.Timestamp, tuple[pd.DatetimeIndex, np.ndarray]] = {}

    def close_series(self, symbol: str) -> pd.Series:
        """Closes of ``symbol`` up to the window's end."""
        if symbol not in self.closes:
            frame = self.provider.history(symbol, None, self.end)
            self.closes[symbol] = frame["close"].dropna()
        return self.closes[symbol]

    def spot(self, symbol: str, day: pd.Timestamp) -> float:
        """The last close of ``symbol`` on or before ``day``."""
        series = self.close_series(symbol)
        pos = int(series.index.searchsorted(day, side="right"))
        if pos == 0:
            raise DataError(f"{symbol}: no close on or before {day.date()}")
        return float(series.iloc[pos - 1])

    def _path(self, name: str, series: pd.Series, opened: pd.Timestamp) -> pd.Series:
        """The forecast path of ``series`` with its model fitted on the data up to ``opened``."""
        from quantalloc.options.forecast import forecast_path

        key = (name, opened)
        if key not in self._paths:
            try:
                path = forecast_path(series, self.method, fit_until=opened)
            except DataError:  # the solve falls back the same way
                path = forecast_path(series, "ewma")
            self._paths[key] = path
        return self._paths[key]

    def atm_vol(self, symbol: str, day: pd.Timestamp, opened: pd.Timestamp | None = None) -> float:
        """The pipeline's ATM vol proxy for ``symbol`` with the data known at ``day``, its
        forecast models fitted on the data up to ``opened`` (default ``day``): at the entry it
        is the solve's own vol."""
        fitted = opened if opened is not None else day
        key = (symbol, day, fitted)
        if key not in self._atm:
            own = self._path(symbol, self.close_series(symbol), fitted)
            known = int(own.index.searchsorted(day, side="right"))
            if known == 0:
                raise DataError(f"{symbol}: no vol forecast on or before {day.date()}")
            self._atm[key] = float(
                np.clip(float(own.iloc[known - 1]) * self._ratio(day, fitted), 0.05, 2.0)
            )
        return self._atm[key]

    def _ratio(self, day: pd.Timestamp, fitted: pd.Timestamp) -> float:
        """The index's measured ratio of vol index to forecast at ``day`` (one per session and
        fit: it does not depend on the symbol): :func:`~quantalloc.options.forecast.
        measured_ratio`'s median, on the two series aligned once per fit."""
        from quantalloc.options.forecast import measured_ratio

        key = (day, fitted)
        if key not in self._ratios:
            dates, ratios = self._aligned(fitted)
            known = int(dates.searchsorted(day, side="right"))
            if known < RATIO_MIN_DATES:  # too few: measured_ratio's own error
                index = self._path("\0index", self.index_close, fitted)
                measured_ratio(self.vix / 100.0, index.loc[index.index <= day], day)
            self._ratios[key] = float(np.median(ratios[max(known - RATIO_WINDOW, 0) : known]))
        return self._ratios[key]

    def _aligned(self, fitted: pd.Timestamp) -> tuple[pd.DatetimeIndex, np.ndarray]:
        """The dates carrying both the vol index and the index's forecast (fitted up to
        ``fitted``), and the ratio of the two on each."""
        if fitted not in self._both:
            index = self._path("\0index", self.index_close, fitted)
            both = pd.concat(
                [(self.vix / 100.0).rename("i"), index.rename("f")], axis=1, join="inner"
            ).dropna()
            ratio = (both["i"] / both["f"]).to_numpy(float)
            self._both[fitted] = (pd.DatetimeIndex(both.index), ratio)
        return self._both[fitted]

    def value(self, pos: Position, leg: Leg, day: pd.Timestamp) -> float:
        """Per-share model value of ``leg`` at ``day``'s close (intrinsic from its expiry on)."""
        from quantalloc.options import black_scholes
        from quantalloc.options.volatility import leg_vols

        spot = self.spot(pos.symbol, day)
        t = (leg.expiry - day).days / YEAR_DAYS
        if not leg.is_option or t <= 0:
            return settle_value(leg, spot)
        atm = self.atm_vol(pos.symbol, day, pos.opened)
        vol = float(
            leg_vols(
                np.array([pos.symbol]),
                np.array([atm]),
                np.array([spot]),
                np.array([leg.strike]),
                np.array([t]),
                self.skew,
                {},
            )[0]
        )
        return float(
            black_scholes(leg.kind, spot, leg.strike, t, self.market.risk_free_rate, vol).price
        )


class ChainPrices:
    """Marks and fills of listed contracts from each session's chain (module notes)."""

    def __init__(self, chains: ChainSource, spreads: SpreadTable, root: str = "") -> None:
        self.chains = chains
        self.spreads = spreads
        self.root = root
        self._books: dict[
            tuple[str, pd.Timestamp], dict[tuple[object, ...], tuple[float, ...]]
        ] = {}

    def book(self, symbol: str, day: pd.Timestamp) -> dict[tuple[object, ...], tuple[float, ...]]:
        """(expiry, strike, kind) -> (reference, buy, sell) of ``symbol``'s contracts in the chain
        of session ``day`` (empty when the source has no chain of that very session)."""
        key = (symbol, day)
        if key not in self._books:
            self._books[key] = self._read(symbol, day)
        return self._books[key]

    def _read(self, symbol: str, day: pd.Timestamp) -> dict[tuple[object, ...], tuple[float, ...]]:
        from quantalloc.options.chain_vols import reference_prices
        from quantalloc.options.fills import fill_prices

        try:
            snap = self.chains.chain(symbol, day)
        except DataError:
            return {}
        if snap.session != day.normalize() or snap.frame.empty:
            return {}
        refs = reference_prices(snap.frame)
        fills = fill_prices(snap.frame, self.spreads, as_of=snap.session)
        keys = _keys(fills, True)
        buy = dict(zip(keys, fills["buy"].to_numpy(float).tolist(), strict=True))
        sell = dict(zip(keys, fills["sell"].to_numpy(float).tolist(), strict=True))
        out: dict[tuple[object, ...], tuple[float, ...]] = {}
        ref = refs["ref"].to_numpy(float)
        for k, value, known in zip(_keys(refs, True), ref.tolist(), np.isfinite(ref), strict=True):
            if known:
                price = (value, buy.get(k, np.nan), sell.get(k, np.nan))
                out.setdefault(k, price)  # by root (SPX and SPXW list the same terms)
                out.setdefault((*k[:3], ""), price)  # any root: the first listed
        return out

    def quote(self, contract: OptionContract, day: pd.Timestamp) -> OptionQuote:
        """``contract``'s quote in session ``day``'s chain, under ``root`` where given (so this
        is an :class:`~quantalloc.options.quotes.OptionQuotes`): bid its sell fill, ask its buy
        fill, mark its reference price; a DataError when that session lists no fill of it."""
        key = _key(contract.expiry, contract.strike, contract.right, self.root)
        hit = self.book(contract.underlying, day).get(key)
        if hit is None or not (np.isfinite(hit[1]) and np.isfinite(hit[2])):
            raise DataError(
                f"option quote: the chain of {pd.Timestamp(day).date()} lists no fill of "
                f"{contract.symbol}" + (f" under root {self.root}" if self.root else "")
            )
        ref, buy, sell = hit
        return OptionQuote(bid=float(sell), ask=float(buy), mark=float(ref), source="chain")

    def lookup(self, symbol: str, day: pd.Timestamp, leg: Leg) -> tuple[float, ...] | None:
        """(reference, buy, sell) of ``leg``'s contract on ``day``; None when not listed."""
        return self.book(symbol, day).get(_key(leg.expiry, leg.strike, leg.kind, leg.root))


def _key(expiry: Any, strike: float, kind: str, root: str = "") -> tuple[object, ...]:
    """A contract's key: (expiry as days since 1970, strike to 6 decimals, kind, root)."""
    day = pd.Timestamp(expiry).as_unit("ns").normalize().value // NS_PER_DAY
    return (int(day), float(np.round(float(strike), 6)), str(kind), root)


def _keys(frame: pd.DataFrame, roots: bool = False) -> list[tuple[object, ...]]:
    """:func:`_key` of every row of ``frame``, computed column by column."""
    expiry = pd.DatetimeIndex(frame["expiry"]).as_unit("ns").normalize()
    days = (expiry.asi8 // NS_PER_DAY).tolist()
    strikes = np.round(frame["strike"].to_numpy(float), 6).tolist()
    kinds = frame["kind"].astype(str).tolist()
    root = frame["root"].astype(str).fillna("").tolist() if roots and "root" in frame else None
    root = root if root is not None else [""] * len(frame)
    return list(zip(days, strikes, kinds, root, strict=True))


@dataclass(frozen=True)
class Price:
    """A per-share price and where it came from (``chain`` or ``model``)."""

    value: float
    source: str


class Pricer:
    """Marks and fills of held legs: the chain where it lists the contract, else the model.

    With ``chains`` None every price is the model's (the proxy replay, or the proxy re-pricing
    of a replay on chains). ``counts`` tallies the source of every mark and fill.
    """

    def __init__(self, model: ModelSource, chains: ChainPrices | None, costs: ReplayCosts) -> None:
        self.model = model
        self.chains = chains
        self.costs = costs
        self.counts = Counts()

    @property
    def label(self) -> str:
        """``chain`` when a chain prices what it lists, else ``model``."""
        return "model" if self.chains is None else "chain"

    def marks(self, pos: Position, day: pd.Timestamp, count: bool = True) -> list[Price]:
        """Per-share mark of every leg of ``pos`` at ``day``'s close (counted unless not
        ``count``)."""
        out = []
        for leg in pos.legs:
            price = self._mark(pos, leg, day)
            if count and leg.is_option:
                self.counts.marks[price.source] += 1
            out.append(price)
        return out

    def _mark(self, pos: Position, leg: Leg, day: pd.Timestamp) -> Price:
        if not leg.is_option or (leg.expiry - day).days <= 0:
            return Price(settle_value(leg, self.model.spot(pos.symbol, day)), self.label)
        if self.chains is not None:
            hit = self.chains.lookup(pos.symbol, day, leg)
            if hit is not None:
                return Price(hit[0], "chain")
        return Price(self.model.value(pos, leg, day), "model")

    def chain_fill(self, pos: Position, leg: Leg, day: pd.Timestamp, side: str) -> Price | None:
        """The chain's fill of ``leg``'s contract on ``side`` at ``day`` (None: not listed)."""
        if self.chains is None:
            return None
        hit = self.chains.lookup(pos.symbol, day, leg)
        price = None if hit is None else hit[1 if side == "buy" else 2]
        return None if price is None or not np.isfinite(price) else Price(float(price), "chain")

    def exit_fill(self, pos: Position, leg: Leg, day: pd.Timestamp) -> Price:
        """Per-share price of closing ``leg`` at ``day``'s close: a long leg sold, a short one
        bought back, at the chain's fill when it lists the contract (counted)."""
        side = "sell" if leg.units > 0 else "buy"
        if not leg.is_option:
            return Price(self.model.spot(pos.symbol, day), self.label)
        fill = self.chain_fill(pos, leg, day, side)
        if fill is not None:
            self.counts.fills["chain"] += 1
            return fill
        self.counts.fills["model"] += 1
        return Price(self.costs.model_fill(self.model.value(pos, leg, day), side), "model")

    def entry_fill(self, pos: Position, leg: Leg, day: pd.Timestamp) -> Price:
        """The model's entry fill of ``leg`` at ``day`` (the proxy re-pricing of a chain fill)."""
        if not leg.is_option:
            return Price(leg.price, self.label)
        self.counts.fills["model"] += 1
        return Price(self.costs.model_fill(self.model.value(pos, leg, day), leg.side), "model")


__all__ = ["ChainPrices", "ModelPrices", "Price", "Pricer"]
