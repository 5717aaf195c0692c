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
3. **Entry** at the solve's leg prices. Without ``chains`` every option is priced by the
   proxy (its Black-Scholes premium at that close) and each fill is ``option_spread`` of its
   price worse, plus ``fee_per_contract`` per contract and ``fee_per_share`` per share of a
   stock leg. With ``chains`` (a folder of chain files, ``yahoo``, ``store``: ``--chains`` on
   the command line) each solve builds its candidates on the contracts listed that session and
   a listed leg fills at that session's price by the fill rule of
   :mod:`quantalloc.options.fills` (a buy at the ask, a sell at the bid; on NSE's bhavcopy the
   close when the contract traded, else the settlement price, plus or minus half the modelled
   spread); a leg of a symbol without a chain pays half the model file's ``bid_ask``; fees are
   the model file's ``[costs.fees.MKT]`` per lot and fill.
4. **Marks** at every close (:mod:`quantalloc.backtest.replay.pricing`): a listed leg at its
   contract's reference price in that session's chain (mid where quoted; on NSE the close if
   traded, else the settlement price); a leg the session's chain does not list, and every leg
   without ``chains``, at the pipeline's own Black-Scholes pricing (the vol proxy fitted at the
   position's entry, the model's skew, the market's rate). Marks that fall back to the model
   are counted (``pricing`` in the JSON).
5. **Take-profit and stop** (``take_profit``, ``stop_loss``; 0 = hold to expiry): a position
   whose marked premium has gained ``take_profit`` of its entry premium (or lost
   ``stop_loss`` of it) is closed at that close's fills, the stop checked first.
6. **Settlement** at the close of the last trading day on or before the position's (front)
   expiry: options at intrinsic value against the underlying's close, with the market's
   exercise charges when in the money (``[costs.exercise.MKT]``; NSE stock options settle by
   delivery, index options in cash); stock legs sold at the close; legs expiring later (a
   calendar's back month) sold at that close's fill.
   A position still open at the end of the window is marked there (``exit_reason="end_of_data"``).
7. **Proxy re-pricing** (``compare_proxy``, with ``chains``): the same positions opened on the
   same sessions, filled, marked, stopped and settled at the proxy's prices instead; the JSON's
   ``comparison`` holds both books' return and Sharpe and each position's entry premium and
   P&L under both (:mod:`quantalloc.backtest.replay.compare`).

Equity = cash + the marks of the open positions. Margin on short options is not modelled beyond
the solve's own capital rule; early exercise is ignored (European pricing). The input tables
(``stock_data``, ``industry_allocations_current``) are used as given at every date: they are not
point-in-time, so a table written with hindsight leaks it into the replay.

Each trade row is one position: ``entry_price``/``exit_price`` are the net debit/value per lot,
``units`` the lots, ``pnl`` after fees; extra columns ``strategy_name``, ``entry_date``,
``exit_date``, ``expiry``, ``as_of``, ``lot_size``, ``position`` and ``legs`` (each leg's
contract, side, quantity, entry and exit price per share and their sources, ``chain`` or
``model``). ``timings`` report wall-clock seconds (never used by a decision: solver limits are
by work, so the same command gives the same result on an idle or a loaded machine).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from quantalloc.backtest.params import param
from quantalloc.backtest.replay.book import Position, positions_from
from quantalloc.backtest.replay.costs import ReplayCosts
from quantalloc.backtest.replay.loop import ExitRules, ProgressFn, run_loop
from quantalloc.backtest.replay.outcome import ProxyPass, replay_result
from quantalloc.backtest.replay.pricing import ChainPrices, ModelPrices, Pricer
from quantalloc.backtest.result import BacktestResult
from quantalloc.backtest.window import BacktestWindow
from quantalloc.data.base import PriceProvider
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
    take_profit: float = param(
        0.0, low=0.0, high=10.0, help="close at this gain on the entry premium (0: hold)"
    )
    stop_loss: float = param(
        0.0, low=0.0, high=10.0, help="close at this loss on the entry premium (0: hold)"
    )
    compare_proxy: bool = param(False, help="also re-price the replay by the proxy (chains)")


PARAMS = AllocatorParams

Solver = Callable[..., Any]
"""Signature of :func:`quantalloc.solve` (keyword arguments only)."""


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


class SolveDecider:
    """Opens what ``quantalloc.solve`` allocates at each rebalance (module notes, rules 1-2)."""

    def __init__(
        self,
        p: AllocatorParams,
        solve_args: dict[str, Any],
        solver: Solver,
        calendar: pd.DatetimeIndex,
    ) -> None:
        self.p = p
        self.solve_args = solve_args
        self.solver = solver
        self.calendar = calendar
        self.next_solve = 0
        self.opened = 0
        self.solved = 0
        self.notes: list[str] = []
        self.last_error: Exception | None = None

    def due(self, i: int, day: pd.Timestamp, open_positions: list[Position]) -> bool:
        """Every ``rebalance_days`` sessions (``expiry``: also once the book is flat)."""
        if i < self.next_solve or (self.p.rebalance == "expiry" and open_positions):
            return False
        self.next_solve = i + self.p.rebalance_days  # expiry mode: retry an empty solve this late
        return True

    def decide(self, i: int, day: pd.Timestamp, free: float) -> list[Position] | None:
        """The solve's allocation at ``day`` with ``free`` capital, as positions."""
        if free <= 0:
            return None
        try:
            result = self.solver(capital=free, as_of=day, **self.solve_args)
        except (InfeasibleError, DataError) as exc:
            self.last_error = exc
            self.notes.append(f"{day.date()}: no allocation ({str(exc).splitlines()[0]})")
            return None
        self.solved += 1
        if not len(result.allocations):
            why = "; ".join([n for n in result.notes if "dropped" in n][-2:])
            self.notes.append(f"{day.date()}: the solve allocated nothing ({why or 'no lot'})")
        positions = positions_from(result, day, self.calendar, first_number=self.opened)
        self.opened += len(positions)
        if positions and self.p.rebalance == "expiry":
            self.next_solve = i + 1
        return positions


def run(
    window: BacktestWindow,
    p: AllocatorParams,
    *,
    solver: Solver | None = None,
    progress: ProgressFn | None = None,
) -> BacktestResult:
    """Replay the options allocation over ``window``.

    ``solver`` replaces :func:`quantalloc.solve` (same keyword arguments; tests use it to keep a
    single position); ``progress`` is called after every session's close.
    """
    market = get_market(p.market)
    window = dataclasses.replace(
        window, provider=_same_market_provider(window.provider, market.name)
    )
    if p.compare_proxy and not p.chains:
        raise ConfigError(
            "allocator: compare_proxy re-prices a replay on chains; give `chains` too",
            params=("compare_proxy", "chains"),
        )
    if solver is None:
        from quantalloc.pipeline.core import solve

        solver = solve
    spec = _spec(p)
    setup = _setup(window, market, p, spec)
    chains = setup.chains
    solve_args: dict[str, Any] = {
        "risk": p.risk,
        "model": spec,
        "market": market.name,
        "data": window.provider,
        "tables": _tables(p) or None,
        "max_industries": p.max_industries or None,
        "n_scenarios": p.n_scenarios,
        "seed": p.seed,
        **({} if chains is None else {"chains": chains}),
    }
    decider = SolveDecider(p, solve_args, solver, setup.days)
    rules = ExitRules(p.take_profit, p.stop_loss, _physical(market))
    pricer = setup.pricer(chains is not None)
    main = run_loop(setup.days, window.capital, pricer, decider, rules, progress=progress)
    if decider.solved == 0:
        _no_solve(decider)
    notes = list(decider.notes)
    fallback = pricer.counts.marks["model"]
    if chains is not None and fallback:
        notes.append(
            f"{fallback} of {sum(pricer.counts.marks.values())} option marks fell back to the "
            "model (contract not in that session's chain)"
        )
    proxy = ProxyPass(setup.days, setup.pricer(False), rules) if p.compare_proxy else None
    sections = {"pricing": pricer.counts.to_dict()}
    return replay_result(
        NAME, asdict(p), window.capital, main, sections=sections, notes=notes, proxy=proxy
    )


@dataclass
class _Setup:
    """The replay's calendar, chains and price sources."""

    days: pd.DatetimeIndex
    chains: Any
    model: ModelPrices
    costs: ReplayCosts
    spreads: Any

    def pricer(self, on_chains: bool) -> Pricer:
        """A fresh pricer (its own counts): on the chains, or the model only."""
        chain = ChainPrices(self.chains, self.spreads) if on_chains else None
        return Pricer(self.model, chain, self.costs)


def _setup(window: BacktestWindow, market: MarketProfile, p: AllocatorParams, spec: Any) -> _Setup:
    provider, start, end = window.provider, window.start, window.end
    chains = spreads = None
    if p.chains:
        from quantalloc.data import get_chain_source
        from quantalloc.options.costs import load_spread_table

        chains = get_chain_source(p.chains, market=market.name)
        spreads = load_spread_table(market.name, spec.costs.spreads)
    index = provider.history(market.index_symbol, None, end)
    vix = provider.history(market.vol_index_symbol, None, end)["close"].dropna()
    days = pd.DatetimeIndex(index.index)
    days = days[days >= start] if start is not None else days[WARMUP_BARS:]
    days = days[days >= vix.index[0]]
    if len(days) == 0:
        raise DataError(
            f"allocator: no {market.index_symbol} trading day in the window "
            f"{start} .. {end}; pick dates inside the data"
        )
    model = ModelPrices(provider, market, pd.Timestamp(days[-1]), index["close"].dropna(), vix,
                        skew=spec.candidates.skew, method=spec.candidates.vol_proxy)  # fmt: skip
    if chains is None:
        costs = ReplayCosts.flat(p.option_spread, p.fee_per_contract, p.fee_per_share)
    else:
        costs = ReplayCosts.from_model(
            spec.costs.bid_ask,
            spec.costs.min_tick,
            spec.costs.fee_schedule(market.name),
            spec.costs.exercise_charges(market.name),
            p.fee_per_share,
        )
    return _Setup(days, chains, model, costs, spreads)


def _physical(market: MarketProfile) -> Callable[[str], bool]:
    """Stock options settle by delivery (NSE and US); an index's in cash."""
    indices = {market.index_symbol, "NIFTY", "BANKNIFTY", "^NSEBANK", "SPX", "^GSPC"}
    return lambda symbol: symbol not in indices


def _no_solve(decider: SolveDecider) -> None:
    err = decider.last_error
    if err is not None:
        kind = InfeasibleError if isinstance(err, InfeasibleError) else DataError
        raise kind(
            f"allocator: no solve in the window found an allocation; the last said: {err}"
        ) from err
    raise ConfigError(
        "allocator: no rebalance date in the window had free capital; raise `capital`",
        params="capital",
    )
