"""From loaded inputs to an allocation: regime, candidates, scenarios, the convex program, lots."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.data.chain_source import ChainSource
from quantalloc.errors import DataError, QuantallocError
from quantalloc.markets import MarketProfile
from quantalloc.options.book import LegBook, stress_loss
from quantalloc.options.catalog import STRATEGIES, strategy_direction
from quantalloc.options.strikes import VolFn
from quantalloc.pipeline.assemble import assemble
from quantalloc.pipeline.chains import SymbolPricing, price_symbols
from quantalloc.pipeline.contracts import (
    ContractRequest,
    PricedContracts,
    Pricing,
    build_contracts,
)
from quantalloc.pipeline.document import SolveResult
from quantalloc.pipeline.holdings import holding_plan
from quantalloc.pipeline.horizon import LegPrices, calibrated, edge_and_probabilities
from quantalloc.pipeline.inputs import MarketInputs
from quantalloc.pipeline.model import IndustrySpec, ModelSpec, normalize_strategy
from quantalloc.pipeline.records import CandidateSet, ScenarioBook, Targets
from quantalloc.pipeline.request import Plan
from quantalloc.pipeline.scenarios import build_scenarios
from quantalloc.pipeline.selection import (
    PriorityIndustry,
    allowed_strategies,
    choose_expiries,
    priority_industries,
)
from quantalloc.pipeline.sizing import allocate, candidate_names
from quantalloc.pipeline.state_rules import (
    avoided_note,
    iv_check,
    long_short_caps,
    vol_forecasts,
    window_expiries,
    window_fronts,
)
from quantalloc.pipeline.strike_targets import strike_distances
from quantalloc.pipeline.targets import cap_targets, industry_targets, losing_candidates
from quantalloc.pipeline.timer import Timer
from quantalloc.pipeline.views import View
from quantalloc.regime.config import StateRules
from quantalloc.regime.state import MarketState

Progress = Callable[[str, int, int], None]
log = logging.getLogger(__name__)


def run_allocation(
    plan: Plan,
    inputs: MarketInputs,
    chain: pd.DataFrame | None,
    timer: Timer,
    progress: Progress | None = None,
    chains: ChainSource | None = None,
) -> SolveResult:
    """Everything after loading: see :func:`quantalloc.pipeline.solve`."""
    notes = list(inputs.notes)
    with timer.stage("regime"):
        state = _market_state(plan, inputs, chain, chains)
    with timer.stage("candidates"):
        industries = _industries(plan, inputs, notes)
        cands = _candidates(plan, inputs, industries, state, chains)
        notes += cands.notes
    with timer.stage("scenarios"):
        book = _scenario_pnl(plan, inputs, cands, industries, state)
    if progress is not None:
        progress("allocating", 0, 1)
    held = holding_plan(plan, inputs, book)
    notes += held.notes
    split = plan.spec.state_rules.long_short_split and plan.request.symbol is None
    names = candidate_names(book.table)
    by_industry = industry_targets(plan, industries, book.table, notes)
    by_cap = cap_targets(plan, state, book.table, notes)
    losing = losing_candidates(book, held.writes, by_industry, notes)
    targets = Targets(
        industry=by_industry,
        market_cap=by_cap,
        long_short=long_short_caps(float(state.direction_score)) if split else None,
        blocked=tuple(names[i] for i in held.blocked),
        losing=tuple(names[i] for i in losing),
        vega_offset=held.vega_offset,
    )
    outcome = allocate(plan, book, targets, timer)
    if held.writes:  # covered calls on held shares (the holdings rule)
        lots = outcome.lots.copy()
        for row, n in held.writes.items():
            lots[row] = n
        outcome = dataclasses.replace(outcome, lots=lots)
    if progress is not None:
        progress("allocating", 1, 1)
    with timer.stage("report"):
        result = assemble(
            plan, state, inputs, cands, book, outcome, targets, timer.stages, notes, held
        )
    if plan.request.symbol is not None and not len(result.allocations):
        from quantalloc.pipeline.verdicts import symbol_verdict

        verdict = symbol_verdict(plan.request.symbol, cands.priced.table, cands.rejected)
        result = dataclasses.replace(result, notes=(*result.notes, verdict))
    return result


def _market_state(
    plan: Plan, inputs: MarketInputs, chain: pd.DataFrame | None, chains: ChainSource | None
) -> MarketState:
    """The regime on the as-of date; with ``chains``, the options flow reads the index chain
    and, when the vol index's series does not reach the date (or ``vix_source`` says so), the
    level is computed from that chain (:func:`quantalloc.regime.service.chain_vol_index`)."""
    from quantalloc.regime import load_regime_config, market_state
    from quantalloc.regime.service import chain_vol_index, index_chain, series_covers

    config = load_regime_config(plan.spec.market_state_table)
    vix, origin = plan.request.vix, None
    vol: pd.DataFrame | None = inputs.vol_index
    notes: list[str] = []
    covered = series_covers(vol, inputs.as_of)
    source = plan.request.vix_source
    if vix is None and chains is not None and (source == "chain" or not covered):
        vix, origin = chain_vol_index(chains, plan.market.name, inputs.as_of)
        if not covered:
            vol = None
            notes.append(
                f"{plan.market.vol_index_symbol} series does not reach {inputs.as_of.date()}: "
                "its history is not used"
            )
    if chain is None and chains is not None:
        try:
            chain = index_chain(chains, plan.market.name, inputs.as_of).frame
        except DataError as exc:
            notes.append(f"options flow: {exc}")
    state = market_state(
        inputs.index_prices,
        vol,
        chain,
        inputs.as_of,
        market=plan.market.name,
        config=config,
        vix=vix,
        vix_origin=origin,
    )
    if notes:
        state = dataclasses.replace(state, notes=(*state.notes, *notes))
    return state


def _industries(plan: Plan, inputs: MarketInputs, notes: list[str]) -> list[PriorityIndustry]:
    spec, allocations = plan.spec, inputs.allocations
    if plan.request.symbol is not None:
        sym = inputs.symbols[0]
        industry = str(inputs.universe.loc[inputs.universe["symbol"] == sym, "industry"].iloc[0])
        row = allocations.loc[allocations["industry"] == industry]
        if row.empty:
            return [PriorityIndustry(industry, "", "NEUTRAL", None, 0.0, 1.0)]
        r = row.iloc[0]
        return [
            PriorityIndustry(
                industry,
                "" if pd.isna(r.get("sector")) else str(r.get("sector")),
                str(r["position_type"]),
                None if pd.isna(r.get("rating")) else str(r.get("rating")),
                float(r["weight"]),
                1.0,
            )
        ]
    if spec.kind == "advanced":
        every = IndustrySpec(
            min_industry_weight=0.0,
            max_industries=10_000,
            max_symbols_per_industry=spec.industries.max_symbols_per_industry,
            enforce_targets=False,
        )
        return priority_industries(allocations, every)
    chosen = priority_industries(allocations, spec.industries, plan.request.max_industries)
    eligible = priority_industries(allocations, spec.industries, 10_000)
    cut = [i.industry for i in eligible if i.industry not in {c.industry for c in chosen}]
    if cut:
        notes.append(
            f"industries beyond max_industries={len(chosen)} get no options capital: "
            + ", ".join(cut)
        )
    return chosen


def _candidates(
    plan: Plan,
    inputs: MarketInputs,
    industries: list[PriorityIndustry],
    state: MarketState,
    chains: ChainSource | None,
) -> CandidateSet:
    """Price every allowed strategy of the symbols, annotate the rows, apply the filters."""
    spec, market, rules = plan.spec, plan.market, state.rules
    symbols = inputs.symbols
    dte_min, dte_max = spec.candidates.dte_window or (rules.dte_min, rules.dte_max)
    as_of = inputs.as_of.date()
    sp: SymbolPricing = price_symbols(plan, inputs, state, chains, (dte_min, dte_max))
    sp, rule_notes = window_fronts(sp, as_of, dte_min, dte_max, spec.candidates.expiries)
    surfaces, listed = _chain_surfaces(inputs, sp.spot, sp.atm)
    surfaces = {**surfaces, **sp.surfaces}
    monthlies = choose_expiries(as_of, dte_min, dte_max, 8, market.name)
    calendar, outside = window_expiries(
        monthlies, as_of, dte_min, dte_max, spec.candidates.expiries
    )
    if any(s not in sp.books for s in symbols):  # the calendar serves symbols without a chain
        rule_notes += outside
    requests = _advanced_requests(
        spec, inputs, symbols, calendar, market.name, sp, rules, rule_notes
    )
    if requests is None:
        requests = _requests(spec, inputs, industries, rules, calendar, market, sp, surfaces)
        if spec.candidates.delta:
            rule_notes.append(
                "strikes placed at |delta| "
                + ", ".join(f"{d:g}" for d in spec.candidates.delta)
                + " (Black-Scholes at each symbol's smile or ATM vol to the expiry)"
            )
        pairs = [(i.position_type, i.rating) for i in industries]
        rule_notes += avoided_note(spec, pairs, rules)
    priced = build_contracts(
        requests,
        as_of=as_of,
        spot=sp.spot,
        atm_vol=sp.atm,
        skew=spec.candidates.skew,
        surfaces=surfaces,
        listed=listed,
        lot_size=sp.lot_sizes,
        market=market.name,
        rate=market.risk_free_rate,
        wing=spec.candidates.wing,
        symbol_column={s: i for i, s in enumerate(symbols)},
        pricing=Pricing(
            books=sp.books,
            fees=spec.costs.fee_schedule(market.name),
            bid_ask=spec.costs.bid_ask,
            min_tick=spec.costs.min_tick,
        ),
    )
    if priced.table.empty:
        raise DataError(
            f"no strategy candidate could be built in state {rules.state} for "
            f"{len(symbols)} symbols (allowed strategies empty after the state's avoid list?)"
        )
    table = _annotate(priced.table, inputs.universe, sp.atm)
    table["vol_forecast"] = table["symbol"].map(vol_forecasts(inputs.closes, sp.spot))
    keep, notes, max_loss, rejected = _filters(plan, table, rules, priced)
    priced = dataclasses.replace(priced, table=table.assign(max_loss=max_loss))
    return CandidateSet(priced, keep, (*rule_notes, *sp.notes, *notes), tuple(rejected))


def _requests(
    spec: ModelSpec,
    inputs: MarketInputs,
    industries: list[PriorityIndustry],
    rules: StateRules,
    expiries: list[date],
    market: MarketProfile,
    sp: SymbolPricing,
    surfaces: Mapping[str, VolFn],
) -> list[ContractRequest]:
    """Each industry's allowed strategies on its symbols, at each expiry and strike distance
    (:func:`~quantalloc.pipeline.strike_targets.strike_distances`; a symbol with a chain at
    its listed expiries)."""
    as_of = inputs.as_of.date()
    cand = spec.candidates
    uni = inputs.universe
    industry_of = dict(
        zip(uni["symbol"].tolist(), uni["industry"].astype(str).tolist(), strict=True)
    )
    requests = []
    for ind in industries:
        names = allowed_strategies(
            spec, ind.position_type, ind.rating, rules.preferred, rules.avoided
        )
        syms = [s for s in inputs.symbols if industry_of.get(s) == ind.industry]
        for s in syms:
            vol = surfaces.get(s, sp.atm[s])
            for strat in names:
                for exp, back in sp.expiries(s, expiries, market.name):
                    otms = strike_distances(
                        strat, cand.otm, cand.delta, spot=sp.spot[s], vol=vol, as_of=as_of,
                        expiry=exp, rate=market.risk_free_rate,
                    )  # fmt: skip
                    requests += [ContractRequest(s, strat, exp, back, o) for o in otms]
    return requests


def _annotate(table: pd.DataFrame, universe: pd.DataFrame, atm: dict[str, float]) -> pd.DataFrame:
    """The priced table with industry, sector, market cap, direction and ATM vol (a new frame)."""
    uni = universe.drop_duplicates("symbol").set_index("symbol")

    def info(column: str, missing: str) -> pd.Series:
        # one dictionary lookup per row (a per-row ``.at`` took 1 s at 2,500 candidates)
        known = {str(k): str(v) for k, v in uni[column].items()}
        return table["symbol"].map(lambda s: known.get(s, missing))

    directions = {s: strategy_direction(s) for s in pd.unique(table["strategy_name"])}
    return table.assign(
        industry=info("industry", ""),
        sector=info("sector", ""),
        market_cap=info("market_cap_category", "Large").str.lower(),
        position_type=table["strategy_name"].map(directions),
        atm_vol=table["symbol"].map(atm),
    )


def _chain_surfaces(
    inputs: MarketInputs, spot: dict[str, float], atm: dict[str, float]
) -> tuple[dict[str, Any], dict[str, tuple[float, ...]]]:
    """Vol surfaces and listed strikes from the ``option_chain_data`` table, per symbol.

    A symbol with a usable chain is priced at the chain's implied vols (and its ATM vol, used
    for the scenarios and the probability of profit, is the chain's 30-day ATM vol); the rest
    use the vol-index proxy with the options engine's skew.
    """
    from quantalloc.options.volatility import ChainVolSurface

    chains = inputs.option_chains
    if chains is None or not len(chains) or "symbol" not in chains:
        return {}, {}
    surfaces: dict[str, Any] = {}
    listed: dict[str, tuple[float, ...]] = {}
    for sym, rows in chains.groupby(chains["symbol"].astype(str)):
        if sym not in spot:
            continue
        try:
            surface = ChainVolSurface.from_chain(
                rows.drop(columns=["symbol"]), spot=spot[sym], as_of=inputs.as_of
            )
        except QuantallocError as exc:
            log.warning("option chain of %s not used: %s", sym, exc)
            continue
        surfaces[sym] = surface.vol
        atm[sym] = float(surface.vol(np.array([spot[sym]]), 30 / 365)[0])
        listed[sym] = tuple(sorted(float(k) for k in pd.unique(rows["strike"])))
    return surfaces, listed


def _advanced_requests(
    spec: ModelSpec,
    inputs: MarketInputs,
    symbols: list[str],
    expiries: list[date],
    market: str,
    sp: SymbolPricing,
    rules: StateRules,
    notes: list[str],
) -> list[ContractRequest] | None:
    """Requests from the ``strategies`` table (advanced model), after its filters; else None."""
    if spec.kind != "advanced" or spec.advanced is None:
        return None
    table = inputs.strategies
    if table is None or not len(table):
        return None
    adv = spec.advanced
    frame = table.rename(columns={c: str(c).strip().lower() for c in table.columns}).copy()
    name_col = "stock_name" if "stock_name" in frame else "symbol"
    need = [name_col, "strategy_name", "total_score"]
    missing = [c for c in need if c not in frame]
    if missing:
        raise DataError(f"strategies table lacks columns {missing}; it needs {need}")
    frame["symbol"] = frame[name_col].astype(str)
    frame["strategy"] = frame["strategy_name"].map(normalize_strategy)
    unknown = sorted(set(frame["strategy"]) - set(STRATEGIES))
    if unknown:
        raise DataError(
            f"strategies table names unknown strategy {unknown[0]!r}; "
            f"known: {', '.join(sorted(STRATEGIES))}"
        )
    frame["total_score"] = pd.to_numeric(frame["total_score"], errors="coerce")
    pop = pd.to_numeric(frame.get("probability_of_profit", 1.0), errors="coerce")
    frame = frame.loc[(frame["total_score"] >= adv.min_total_score) & (pop >= adv.min_probability)]
    frame = frame.loc[frame["symbol"].isin(symbols)]
    avoided = {normalize_strategy(x) for x in rules.avoided}
    dropped = frame.loc[frame["strategy"].isin(avoided)]
    if len(dropped):
        names = ", ".join(sorted(set(dropped["strategy"])))
        notes.append(f"state {rules.state} avoids {names}: {len(dropped)} scored rows dropped")
        frame = frame.loc[~frame["strategy"].isin(avoided)]
    frame = frame.sort_values("total_score", ascending=False)
    if adv.no_long_and_short_same_symbol:
        frame["direction"] = frame["strategy"].map(strategy_direction)
        best = frame.loc[frame["direction"] != "NEUTRAL"].drop_duplicates("symbol")
        side = dict(zip(best["symbol"], best["direction"], strict=True))
        frame = frame.loc[
            (frame["direction"] == "NEUTRAL") | (frame["symbol"].map(side) == frame["direction"])
        ]
    cap = inputs.universe.set_index("symbol")["market_cap_category"].str.lower()
    frame["bucket"] = frame["symbol"].map(cap).fillna("large")
    frame = frame.groupby("bucket", group_keys=False).head(adv.max_positions_per_bucket)
    # one contract per scored row (the nearest expiry to the state's window), so a bucket's
    # at most ``max_positions_per_bucket`` rows give at most that many positions
    out = []
    for r in frame.itertuples(index=False):
        exp, back = sp.expiries(str(r.symbol), expiries, market)[0]
        out.append(
            ContractRequest(str(r.symbol), str(r.strategy), exp, back, spec.candidates.otm[0])
        )
    return out


def _filters(
    plan: Plan, table: pd.DataFrame, rules: StateRules, priced: PricedContracts
) -> tuple[np.ndarray, list[str], np.ndarray, list[str]]:
    """Mask of candidates passing the profile's and state's filters, notes on what failed, the
    max loss per lot (unbounded ones at their stress-move loss), and per candidate the first
    filter it failed ("" when it passed them all)."""
    spec, profile, capital = plan.spec, plan.profile, plan.capital
    budget = plan.budget
    notes = []
    unbounded = table["unbounded_loss"].to_numpy(dtype=bool)
    max_loss = table["max_loss"].to_numpy(dtype=float, copy=True)
    if spec.candidates.unbounded_loss == "stress" and unbounded.any():
        rate = plan.market.risk_free_rate
        stress = stress_loss(
            priced.book, table["spot"].to_numpy(dtype=float), spec.candidates.stress_move, rate
        )
        max_loss[unbounded] = stress[unbounded]
    min_pop = max(profile.min_probability_of_profit, float(rules.probability_threshold))
    checks = {
        "unbounded loss": ~unbounded | (spec.candidates.unbounded_loss == "stress"),
        f"probability of profit < {min_pop:.2f}": table["probability_of_profit"].to_numpy()
        >= min_pop,
        f"max loss per lot > {profile.max_risk_per_trade:.0%} of capital": (
            max_loss <= profile.max_risk_per_trade * capital
        ),
        f"one lot > {spec.limits.max_symbol:.0%} of the budget": (
            table["capital"].to_numpy() <= spec.limits.max_symbol * budget
        ),
        "non-positive capital": table["capital"].to_numpy() > 0,
    }
    iv_ok, iv_label = iv_check(
        table,
        rules,
        dict(zip(table["symbol"], table["vol_forecast"], strict=False)),
        spec.state_rules.iv_band,
    )
    checks[iv_label] = iv_ok
    keep = np.ones(len(table), dtype=bool)
    rejected = [""] * len(table)
    for label, ok in checks.items():
        failed = keep & ~ok
        if failed.any():
            notes.append(f"{int(failed.sum())} of {len(table)} candidates dropped: {label}")
            for i in np.flatnonzero(failed):
                rejected[i] = label
        keep &= ok
    limit = spec.candidates.max_candidates
    if keep.sum() > limit:
        # the solve time grows with the count: keep the best contract of every (symbol,
        # strategy) first, then the second best, ... (best = highest probability of profit)
        ranked = table.loc[keep].sort_values("probability_of_profit", ascending=False)
        depth = ranked.groupby(["symbol", "strategy_name"]).cumcount()
        chosen = ranked.assign(_d=depth).sort_values("_d", kind="stable").index[:limit]
        keep = np.zeros_like(keep)
        keep[chosen] = True
        notes.append(f"kept {limit} candidates: the best of each symbol and strategy first")
        for i in np.flatnonzero(~keep):
            rejected[i] = rejected[i] or f"beyond the {limit} candidates kept"
    if not keep.any():
        raise DataError(
            f"no candidate passed the {profile.name} filters ({len(table)} built in state "
            f"{rules.state}): " + "; ".join(notes) + "; try `risk=aggressive` or more `capital`",
            params=("risk", "capital"),
        )
    return keep, notes, max_loss, rejected


def _scenario_pnl(
    plan: Plan,
    inputs: MarketInputs,
    cands: CandidateSet,
    industries: list[PriorityIndustry],
    state: MarketState,
) -> ScenarioBook:
    """Joint scenarios at the one horizon, calibrated and tilted by the views, and each kept
    candidate's P&L per lot in each, with its edge (:mod:`quantalloc.pipeline.horizon`)."""
    spec, market, priced, keep = plan.spec, plan.market, cands.priced, cands.keep
    table = priced.table.loc[keep].reset_index(drop=True)
    legs = [priced.legs[i] for i in np.flatnonzero(keep)]
    book = priced.book.subset(keep)
    as_of = inputs.as_of.date()
    front = min(table["expiry"])
    horizon_days = max(int(np.busday_count(as_of, front)), 1)
    h_t = max((front - as_of).days, 1) / 365.0
    front_t = table["front_t"].to_numpy(dtype=float)
    remaining = np.maximum(book.remaining + front_t[book.candidate] - h_t, 0.0)
    book = dataclasses.replace(book, remaining=np.where(remaining > 1e-9, remaining, 0.0))
    symbols = list(inputs.symbols)
    spot = np.array([float(inputs.closes[s].dropna().iloc[-1]) for s in symbols])
    vols = _scenario_vols(inputs, priced.table)
    rate = market.risk_free_rate
    scen = build_scenarios(
        inputs.closes,
        dict(zip(symbols, spot, strict=True)),
        vols,
        rate,
        horizon_days=horizon_days,
        n_scenarios=plan.n_scenarios,
        method=spec.scenarios.method,
        block_length=spec.scenarios.block_length,
        lookback_days=spec.scenarios.lookback_days,
        seed=plan.seed,
        vol_scale=spec.scenarios.vol_scale,
        trading_days=market.trading_days,
    )
    leg_prices = _leg_prices(priced, keep, book)
    prices, probs = scen.prices, np.full(scen.n_scenarios, 1.0 / scen.n_scenarios)
    forwards = spot * np.exp(rate * h_t)
    method = spec.view_rules.calibration
    if method != "none":
        atm = np.array([vols[s] for s in symbols])
        cal, forwards, book = calibrated(
            prices, spot, atm, book, leg_prices, rate=rate, horizon=h_t, method=method
        )
        prices, probs = cal.prices, cal.probabilities
    views = _views(plan, inputs, industries, state)
    # in excess of cash: the entry premium is carried at the risk-free rate to the horizon, so
    # a position priced at its forward value earns nothing (uninvested cash is the numeraire)
    at_mid = dataclasses.replace(book, price=leg_prices.mid)
    carry = np.bincount(book.candidate, book.units * leg_prices.mid, book.n_candidates)
    gross = at_mid.pnl(prices, rate) - np.expm1(rate * h_t) * carry[None, :]
    spread = np.bincount(book.candidate, leg_prices.spread_paid, book.n_candidates)
    fees = np.bincount(book.candidate, leg_prices.fees, book.n_candidates)
    pnl = gross - (spread + fees)[None, :]
    lot_cost = table["capital"].to_numpy(dtype=float)
    probs, edge = edge_and_probabilities(
        prices, probs, forwards, views, h_t, gross, (spread, fees), lot_cost
    )
    worst = np.maximum(-pnl.min(axis=0), 0.0)
    unbounded = table["unbounded_loss"].to_numpy(dtype=bool)
    max_loss = table["max_loss"].to_numpy(dtype=float)
    table = table.assign(
        max_loss=np.where(unbounded, np.maximum(max_loss, worst), max_loss),
        expected_pnl=probs @ pnl,
    )
    return ScenarioBook(
        table=table,
        legs=legs,
        pnl=pnl,
        horizon_days=horizon_days,
        prices=prices,
        horizon_years=h_t,
        probabilities=probs,
        edge=edge,
        views=tuple(f"{v.name}: {v.note}" if v.note else v.name for v in views),
    )


def _views(
    plan: Plan, inputs: MarketInputs, industries: list[PriorityIndustry], state: MarketState
) -> list[View]:
    """The views in force (``--views``) on the scenario columns."""
    from quantalloc.pipeline.views import ViewSubject, resolve_views, views_in_force

    spec, symbols = plan.spec, list(inputs.symbols)
    mode, user = resolve_views(plan.request.views)
    uni = inputs.universe.set_index("symbol")["industry"]
    subject = ViewSubject(
        symbols=symbols,
        industry_of={s: str(uni.get(s, "")) for s in symbols},
        direction=str(state.direction),
        market=plan.market.name,
        industry_drift={i.industry: spec.view_drift(i.position_type, i.rating) for i in industries},
    )
    return views_in_force(spec.view_rules, mode, user, subject)


def _leg_prices(priced: PricedContracts, keep: np.ndarray, book: LegBook) -> LegPrices:
    """Per kept leg: mid and half-spread per unit, and per lot the spread paid (a listed
    contract's fill against its mid, or the modelled half-spread of a proxy-priced leg) and the
    fees (in and out)."""
    mask = keep[priced.book.candidate]
    mid, half = priced.leg_mid[mask], priced.leg_half[mask]
    model_spread = priced.leg_model_spread[mask]
    return LegPrices(
        mid=mid,
        half=half,
        spread_paid=(book.price - mid) * book.units + model_spread,
        fees=priced.leg_cost[mask] - model_spread,
    )


def _scenario_vols(inputs: MarketInputs, priced: pd.DataFrame) -> dict[str, float]:
    """Each symbol's ATM vol; a symbol without a candidate still needs one for the joint draw."""
    from quantalloc.options.volatility import realized_vol

    atm = dict(zip(priced["symbol"], priced["atm_vol"], strict=True))
    vol = {s: float(atm.get(s, np.nan)) for s in inputs.symbols}
    for s, v in vol.items():
        if not np.isfinite(v):
            vol[s] = max(realized_vol(inputs.closes[s].dropna()), 0.05)
    return vol


__all__ = ["run_allocation"]
