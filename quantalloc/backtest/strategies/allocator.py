"""Allocator replay: re-run ``quantalloc.solve`` at each rebalance date, hold its picks to expiry.

Rules (decisions and fills at a day's close):

1. **Rebalance dates.** ``rebalance="days"``: the first day of the window and every
   ``rebalance_days`` trading days after it. ``rebalance="expiry"``: the first day, then the
   close at which the last open position settles (a solve that opens nothing is retried
   ``rebalance_days`` later).
2. **Decision.** ``quantalloc.solve(as_of=day, data=provider, ...)`` with the strategy's risk
   profile, model, market and tables, and ``capital`` = the account value at that close minus the
   capital the solve booked for positions still open (so overlapping books stay inside the
   account). The solve cuts every price series (symbols, index, vol index) at ``as_of``; it sees
   nothing later. Its contracts expire on the ``expiries`` monthly expiries nearest the DTE
   window (the market state's, or ``dte_min``..``dte_max`` days: the horizon). A solve that is
   infeasible or finds no candidate is noted and skipped (cash).
3. **Entry** at the solve's leg prices (its Black-Scholes premiums at that close), each option
   leg ``option_spread`` of its price worse (bought above, sold below), plus ``fee_per_contract``
   per option contract and ``fee_per_share`` per share of a stock leg.
4. **Marks.** Each open position is valued at every close with the pipeline's own pricing: ATM
   vol from the proxy of :mod:`quantalloc.options.forecast` (the symbol's forecast x the
   index's measured ratio of vol index to forecast, on data up to that close, the forecast
   models fitted at the position's entry), the
   pipeline's put skew (:func:`quantalloc.options.volatility.leg_vols` with the model's
   ``[candidates] skew``; the replay passes the solve no option chain, so it prices the same
   way), the market's risk-free rate, no dividend, calendar time to each leg's expiry; stock
   legs at the close.
5. **Settlement** at the close of the last trading day on or before the position's (front)
   expiry: options at intrinsic value, stock legs sold at the close (``fee_per_share``), legs
   expiring later (a calendar's back month) sold at their mark (less ``option_spread``, plus
   ``fee_per_contract``).
   A position still open at the end of the window is marked there (``exit_reason="end_of_data"``).

With ``chains`` (a folder of chain files, ``yahoo``, ``store``: ``--chains`` on the command
line) each solve builds its candidates on the contracts listed that session and prices them at
their fills (``price_source = "chain"``): such a leg pays no ``option_spread`` on entry (the
spread is in its fill), and it is marked at its reference price in the chain of each later
session (the close when it traded, else the settlement price; Black-Scholes as above when a
session's chain does not list it).

Equity = cash + the marks of the open positions. Margin on short options is not modelled beyond
the solve's own capital rule; early exercise is ignored (European pricing). The input tables
(``stock_data``, ``industry_allocations_current``) are used as given at every date: they are not
point-in-time, so a table written with hindsight leaks it into the replay.

Each trade row is one position: ``entry_price``/``exit_price`` are the net debit/value per lot,
``units`` the lots, ``pnl`` after fees; extra columns ``strategy_name``, ``expiry``, ``as_of``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.backtest.params import param, validate
from quantalloc.backtest.result import BacktestResult, empty_trades, make_result
from quantalloc.data.base import DateLike, PriceProvider
from quantalloc.errors import ConfigError, DataError, InfeasibleError
from quantalloc.markets import MarketProfile, get_market

NAME = "allocator"
YEAR_DAYS = 365.0
WARMUP_BARS = 100  # with no start: begin this many bars in (the vol proxy needs 64 closes)


@dataclass(frozen=True)
class AllocatorParams:
    """Parameters of the allocator replay (defaults: small enough for a quick replay)."""

    risk: str = param(
        "moderate", choices=("conservative", "moderate", "aggressive"), help="risk profile"
    )
    model: str = param("industry_first", help="allocation model (models/NAME.toml)")
    market: str = param("us", choices=("us", "in"), help="market profile of the solve")
    rebalance: str = param("days", choices=("days", "expiry"), help="rebalance cadence")
    rebalance_days: int = param(21, low=1, high=252, help="trading days between solves")
    expiries: int = param(1, low=1, high=4, help="monthly expiries the solve may choose from")
    dte_min: int = param(0, low=0, high=365, help="days to expiry, low end (0: the regime's)")
    dte_max: int = param(0, low=0, high=730, help="days to expiry, high end (0: the regime's)")
    max_industries: int = param(0, low=0, high=100, help="priority industries (0: the model's)")
    n_scenarios: int = param(300, low=20, high=20000, help="scenarios per solve")
    seed: int = param(20240601, low=0, high=2**31 - 1, help="scenario seed")
    objective: str = param(
        "",
        choices=("", "kelly", "rck", "fractional_kelly"),
        help="objective of each solve (empty: the model's); fraction and drawdown act through it",
    )
    kelly_fraction: float = param(-1.0, low=-1.0, high=1.0, help="objective fraction (<0: model's)")
    drawdown_alpha: float = param(-1.0, low=-1.0, high=0.999, help="RCK drawdown (<0: model's)")
    drawdown_beta: float = param(-1.0, low=-1.0, high=0.999, help="RCK probability (<0: model's)")
    max_strategy: float = param(-1.0, low=-1.0, high=1.0, help="cap per strategy (<0: model's)")
    max_industry: float = param(-1.0, low=-1.0, high=1.0, help="cap per industry (<0: model's)")
    min_pop: float = param(-1.0, low=-1.0, high=1.0, help="min probability of profit (<0: risk's)")
    min_score: float = param(-1.0, low=-1.0, high=100.0, help="advanced: min score (<0: model's)")
    option_spread: float = param(0.02, low=0.0, high=0.5, help="share of option price per fill")
    fee_per_contract: float = param(0.65, low=0.0, high=100.0, help="fee per option contract")
    fee_per_share: float = param(0.0, low=0.0, high=1.0, help="fee per share of a stock leg")
    stock_data: str = param("", help="stock_data CSV (empty: the data source's universe)")
    industry_allocations: str = param(
        "", help="industry_allocations_current CSV (empty: the data source's table)"
    )
    normalize_weights: bool = param(False, help="rescale table weights that sum above 100%")
    chains: str = param(
        "", help="option chains by date: a folder of chain files, yahoo or store (empty: none)"
    )


PARAMS = AllocatorParams

Solver = Callable[..., Any]
"""Signature of :func:`quantalloc.solve` (keyword arguments only)."""


@dataclass(frozen=True)
class Leg:
    """One leg of a held position: ``units`` signed shares (+ bought, - sold), all lots included."""

    kind: str  # call, put or stock
    strike: float
    expiry: pd.Timestamp
    units: float
    price: float  # the solve's entry price per share
    contracts: float  # option contracts (0 for stock)
    source: str = "proxy"  # where the entry price came from: chain, proxy or spot


@dataclass
class Position:
    """A solve's allocation row as held by the replay."""

    symbol: str
    strategy_name: str
    expiry: pd.Timestamp
    lots: int
    lot_size: int
    legs: tuple[Leg, ...]
    capital: float  # the solve's allocated capital (released at exit)
    opened: pd.Timestamp
    as_of: str
    entry_value: float = 0.0  # net debit (+) / credit (-) paid at entry, spread included
    fees: float = 0.0
    settle_day: pd.Timestamp | None = None


def positions_from(result: Any, day: pd.Timestamp, calendar: pd.DatetimeIndex) -> list[Position]:
    """The held positions of a :class:`~quantalloc.pipeline.SolveResult` opened at ``day``."""
    out = []
    for row in result.allocations.to_dict(orient="records"):
        lot_size = int(row["lot_size"])
        legs = []
        for leg in row["legs"]:
            sign = 1.0 if leg["side"] == "buy" else -1.0
            qty = float(leg["quantity"])  # contracts (or stock lots) in total, all lots included
            kind = str(leg["kind"])
            legs.append(
                Leg(
                    kind=kind,
                    strike=float(leg["strike"]) if leg["strike"] is not None else 0.0,
                    expiry=pd.Timestamp(leg.get("expiry") or row["expiry"]),
                    units=sign * qty * lot_size,
                    price=float(leg["price"]),
                    contracts=qty if kind != "stock" else 0.0,
                    source=str(leg.get("price_source", "proxy")),
                )
            )
        expiry = pd.Timestamp(row["expiry"])
        on_or_before = calendar[calendar <= expiry]
        settle = pd.Timestamp(on_or_before[-1]) if len(on_or_before) else None
        if settle is not None and settle <= day:
            settle = None  # expires before the next close: cannot be held (never chosen: 7d min)
        if settle is not None and calendar[-1] < expiry and settle == calendar[-1]:
            settle = None  # the expiry lies beyond the data: the position stays open
        out.append(
            Position(
                symbol=str(row["symbol"]),
                strategy_name=str(row["strategy_name"]),
                expiry=expiry,
                lots=int(row["lots"]),
                lot_size=lot_size,
                legs=tuple(legs),
                capital=float(row["allocated_capital"]),
                opened=day,
                as_of=str(result.as_of),
                settle_day=settle,
            )
        )
    return out


class Marker:
    """Black-Scholes marks of held legs with the pipeline's vol proxy and skew, day by day.

    ``closes`` holds each symbol's closes (loaded on demand), ``index_close`` and ``vix`` the
    market index and vol index closes; every value at ``day`` uses data up to ``day`` only.
    """

    def __init__(
        self,
        provider: PriceProvider,
        market: MarketProfile,
        end: pd.Timestamp,
        index_close: pd.Series,
        vix: pd.Series,
        skew: float,
        chains: Any = None,
        method: str = "garch",
    ) -> None:
        self.provider = provider
        self.method = method
        self.chains = chains
        self._refs: dict[tuple[str, pd.Timestamp], pd.DataFrame | None] = {}
        self.skew = skew
        self.market = market
        self.end = end
        self.index_close = index_close
        self.vix = vix
        self.closes: dict[str, pd.Series] = {}
        self._atm: dict[tuple[str, pd.Timestamp], float] = {}

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

    def atm_vol(self, symbol: str, day: pd.Timestamp, opened: pd.Timestamp | None = None) -> float:
        """The pipeline's ATM vol proxy for ``symbol`` with the data known at ``day``, its
        forecast models fitted on the data up to ``opened`` (default ``day``): at the entry it
        is the solve's own vol."""
        key = (symbol, day)
        if key not in self._atm:
            self._atm[key] = self._proxy(symbol, day, opened or day)
        return self._atm[key]

    def _proxy(self, symbol: str, day: pd.Timestamp, opened: pd.Timestamp) -> float:
        from quantalloc.options.forecast import forecast_path, measured_ratio

        def cut(series: pd.Series) -> pd.Series:
            return series.iloc[: int(series.index.searchsorted(day, side="right"))]

        def path(series: pd.Series) -> pd.Series:
            try:
                return forecast_path(cut(series), self.method, fit_until=opened)
            except DataError:  # the solve falls back the same way
                return forecast_path(cut(series), "ewma")

        own = path(self.close_series(symbol))
        index = path(self.index_close)
        ratio = measured_ratio(cut(self.vix) / 100.0, index, day)
        return float(np.clip(float(own.iloc[-1]) * ratio, 0.05, 2.0))

    def chain_mark(self, symbol: str, day: pd.Timestamp, leg: Leg) -> float | None:
        """The reference price of ``leg``'s contract in ``day``'s chain, None when the source
        has no chain of that session or does not list the contract."""
        key = (symbol, day)
        if key not in self._refs:
            from quantalloc.options.chain_vols import reference_prices

            try:
                snap = self.chains.chain(symbol, day)
                refs = reference_prices(snap.frame) if snap.session == day.normalize() else None
            except DataError:
                refs = None
            self._refs[key] = refs
        refs = self._refs[key]
        if refs is None:
            return None
        hit = refs.loc[
            (refs["expiry"] == leg.expiry)
            & (refs["kind"] == leg.kind)
            & np.isclose(refs["strike"].to_numpy(float), leg.strike)
        ]
        ref = hit["ref"].dropna()
        return float(ref.iloc[0]) if len(ref) else None

    def leg_values(self, pos: Position, day: pd.Timestamp, settle: bool = False) -> np.ndarray:
        """Per-share value of each leg at ``day``'s close (intrinsic for legs expiring by then)."""
        from quantalloc.options import black_scholes
        from quantalloc.options.volatility import leg_vols

        spot = self.spot(pos.symbol, day)
        out = np.empty(len(pos.legs))
        for j, leg in enumerate(pos.legs):
            if leg.kind == "stock":
                out[j] = spot
                continue
            t = (leg.expiry - day).days / YEAR_DAYS
            if t <= 0 or (settle and leg.expiry <= pos.expiry):
                sign = 1.0 if leg.kind == "call" else -1.0
                out[j] = max(sign * (spot - leg.strike), 0.0)
                continue
            if self.chains is not None and leg.source == "chain":
                mark = self.chain_mark(pos.symbol, day, leg)
                if mark is not None:
                    out[j] = mark
                    continue
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
            res = black_scholes(leg.kind, spot, leg.strike, t, self.market.risk_free_rate, vol)
            out[j] = float(res.price)
        return out

    def value(self, pos: Position, day: pd.Timestamp, settle: bool = False) -> float:
        """Net value of the whole position at ``day`` (long legs +, short legs -)."""
        units = np.array([leg.units for leg in pos.legs])
        return float(units @ self.leg_values(pos, day, settle))


def _tables(p: AllocatorParams) -> dict[str, pd.DataFrame]:
    from quantalloc.data.tables import read_table_csv

    out = {}
    if p.stock_data:
        out["stock_data"] = read_table_csv("stock_data", p.stock_data)
    if p.industry_allocations:
        out["industry_allocations_current"] = read_table_csv(
            "industry_allocations_current", p.industry_allocations, normalize=p.normalize_weights
        )
    return out


def _spec(p: AllocatorParams) -> Any:
    from quantalloc.pipeline.model import load_model

    spec = load_model(p.model)
    rep = dataclasses.replace
    window = None
    if p.dte_min or p.dte_max:
        if not (0 < p.dte_min <= p.dte_max):
            raise ConfigError(
                f"allocator: dte_min {p.dte_min} and dte_max {p.dte_max} must both be set, "
                "with 0 < dte_min <= dte_max (e.g. dte_min=20 dte_max=45)"
            )
        window = (p.dte_min, p.dte_max)
    spec = rep(spec, candidates=rep(spec.candidates, expiries=p.expiries, dte_window=window))
    obj: dict[str, float | str] = {
        k: v
        for k, v in (
            ("fraction", p.kelly_fraction),
            ("drawdown_alpha", p.drawdown_alpha),
            ("drawdown_beta", p.drawdown_beta),
        )
        if v >= 0
    }
    if p.objective:
        obj["kind"] = p.objective
    lim = {k: v for k, v in (("max_strategy", p.max_strategy), ("max_industry", p.max_industry))}
    lim = {k: v for k, v in lim.items() if v >= 0}
    spec = rep(spec, objective=rep(spec.objective, **obj), limits=rep(spec.limits, **lim))
    if p.min_pop >= 0:
        profile = rep(spec.profile(p.risk), min_probability_of_profit=p.min_pop)
        spec = rep(spec, profiles={**spec.profiles, profile.name: profile})
    if p.min_score >= 0 and spec.advanced is not None:
        spec = rep(spec, advanced=rep(spec.advanced, min_total_score=p.min_score))
    return spec


def _same_market_provider(provider: PriceProvider, market: str) -> PriceProvider:
    """The demo source is built per market: rebuild it when the replay's market differs."""
    own = getattr(provider, "market", None)
    if getattr(provider, "synthetic", False) and isinstance(own, MarketProfile):
        if own.name != market:
            from quantalloc.data.sources import get_provider

            return get_provider("demo", market)
    return provider


def _entry_costs(pos: Position, p: AllocatorParams) -> tuple[float, float]:
    """Net premium paid (with the spread) and the fees of opening ``pos``."""
    paid = fees = 0.0
    for leg in pos.legs:
        if leg.kind == "stock":
            paid += leg.units * leg.price
            fees += abs(leg.units) * p.fee_per_share
        else:
            spread = 0.0 if leg.source == "chain" else p.option_spread  # in a chain's fill
            paid += leg.units * leg.price + abs(leg.units) * leg.price * spread
            fees += leg.contracts * p.fee_per_contract
    return paid, fees


def _exit_costs(pos: Position, values: np.ndarray, p: AllocatorParams) -> tuple[float, float]:
    """Spread and fees of closing ``pos`` at expiry (``values`` per share, per leg)."""
    spread = fees = 0.0
    for leg, v in zip(pos.legs, values, strict=True):
        if leg.kind == "stock":
            fees += abs(leg.units) * p.fee_per_share
        elif leg.expiry > pos.expiry:  # sold back at its mark (a calendar's back month)
            spread += abs(leg.units) * float(v) * p.option_spread
            fees += leg.contracts * p.fee_per_contract
    return spread, fees


def run(
    provider: PriceProvider,
    start: DateLike | None,
    end: DateLike | None,
    capital: float,
    params: AllocatorParams | None = None,
    *,
    solver: Solver | None = None,
) -> BacktestResult:
    """Replay the options allocation between ``start`` and ``end`` from ``capital``.

    ``solver`` replaces :func:`quantalloc.solve` (same keyword arguments; tests use it to keep a
    single position).
    """
    p = params or AllocatorParams()
    validate(p, NAME)
    market = get_market(p.market)
    provider = _same_market_provider(provider, market.name)
    if solver is None:
        from quantalloc.pipeline.core import solve

        solver = solve
    spec = _spec(p)
    tables = _tables(p)
    chains = None
    if p.chains:
        from quantalloc.data import get_chain_source

        chains = get_chain_source(p.chains, market=market.name)
    first = None if start is None else pd.Timestamp(start)
    index = provider.history(market.index_symbol, None, end)
    vix = provider.history(market.vol_index_symbol, None, end)["close"].dropna()
    days = pd.DatetimeIndex(index.index)
    days = days[days >= first] if first is not None else days[WARMUP_BARS:]
    days = days[days >= vix.index[0]]
    if len(days) == 0:
        raise DataError(
            f"allocator: no {market.index_symbol} trading day in the window "
            f"{start} .. {end}; pick dates inside the data"
        )
    marker = Marker(
        provider,
        market,
        pd.Timestamp(days[-1]),
        index["close"].dropna(),
        vix,
        skew=spec.candidates.skew,
        chains=chains,
        method=spec.candidates.vol_proxy,
    )
    cash = float(capital)
    extra: dict[str, Any] = {} if chains is None else {"chains": chains}
    open_pos: list[Position] = []
    equity = np.empty(len(days))
    held = np.zeros(len(days), dtype=bool)
    carried = np.zeros(len(days), dtype=bool)
    trades: list[dict[str, Any]] = []
    notes: list[str] = []
    solved = 0
    next_solve = 0
    last_error: Exception | None = None

    def close(pos: Position, day: pd.Timestamp, reason: str) -> float:
        settle = reason == "expiry"
        values = marker.leg_values(pos, day, settle=settle)
        value = float(np.array([leg.units for leg in pos.legs]) @ values)
        spread, fee = _exit_costs(pos, values, p) if settle else (0.0, 0.0)
        value -= spread  # what the position returns; an end_of_data row is only marked
        pnl = value - pos.entry_value - pos.fees - fee
        trades.append(
            {
                "symbol": pos.symbol,
                "side": pos.strategy_name,
                "entry_time": pos.opened,
                "exit_time": day,
                "entry_price": pos.entry_value / pos.lots,
                "exit_price": value / pos.lots,
                "units": pos.lots,
                "pnl": pnl,
                "fees": pos.fees + fee,
                "exit_reason": reason,
                "strategy_name": pos.strategy_name,
                "expiry": pos.expiry.date().isoformat(),
                "as_of": pos.as_of,
            }
        )
        return value - fee

    for i, day in enumerate(days):
        day = pd.Timestamp(day)
        held[i] = bool(open_pos)
        # settle what expires at this close
        still = []
        for pos in open_pos:
            if pos.settle_day is not None and pos.settle_day <= day:
                cash += close(pos, day, "expiry")
            else:
                still.append(pos)
        open_pos = still
        due = i >= next_solve and (p.rebalance == "days" or not open_pos)
        if due:
            next_solve = i + p.rebalance_days  # expiry mode: retry an empty solve this late
            marks = sum(marker.value(pos, day) for pos in open_pos)
            committed = sum(pos.capital for pos in open_pos)
            free = cash + marks - committed
            if free > 0:
                try:
                    result = solver(
                        risk=p.risk,
                        model=spec,
                        market=market.name,
                        capital=free,
                        as_of=day,
                        data=provider,
                        tables=tables or None,
                        max_industries=p.max_industries or None,
                        n_scenarios=p.n_scenarios,
                        seed=p.seed,
                        **extra,
                    )
                except (InfeasibleError, DataError) as exc:
                    last_error = exc
                    notes.append(f"{day.date()}: no allocation ({str(exc).splitlines()[0]})")
                else:
                    solved += 1
                    if not len(result.allocations):
                        why = "; ".join([n for n in result.notes if "dropped" in n][-2:])
                        notes.append(
                            f"{day.date()}: the solve allocated nothing ({why or 'no lot'})"
                        )
                    for pos in positions_from(result, day, days):
                        pos.entry_value, pos.fees = _entry_costs(pos, p)
                        cash -= pos.entry_value + pos.fees
                        open_pos.append(pos)
                        if p.rebalance == "expiry":
                            next_solve = i + 1
        equity[i] = cash + sum(marker.value(pos, day) for pos in open_pos)
        held[i] = held[i] or bool(open_pos)
        carried[i] = bool(open_pos)
    for pos in open_pos:
        close(pos, pd.Timestamp(days[-1]), "end_of_data")
    if solved == 0 and last_error is not None:
        kind = InfeasibleError if isinstance(last_error, InfeasibleError) else DataError
        raise kind(
            f"allocator: no solve in the window found an allocation; the last said: {last_error}"
        ) from last_error
    if solved == 0:
        raise ConfigError(
            "allocator: no rebalance date in the window had free capital; raise `capital`",
            params="capital",
        )
    frame = pd.DataFrame(trades) if trades else empty_trades()
    return make_result(
        NAME,
        asdict(p),
        capital,
        pd.Series(equity, index=days),
        frame,
        pd.Series(held, index=days),
        notes=tuple(notes),
        open_at_close=pd.Series(carried, index=days),
    )
