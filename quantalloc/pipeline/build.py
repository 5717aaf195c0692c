"""From loaded inputs to an allocation: regime, candidates, scenarios, the convex program, lots."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.candidates import (
    PriorityIndustry,
    allowed_strategies,
    choose_expiries,
    monthly_expiry,
    priority_industries,
)
from quantalloc.errors import DataError, QuantallocError
from quantalloc.markets import MarketProfile
from quantalloc.modelspec import ModelSpec, RiskProfile, normalize_strategy
from quantalloc.options.book import LegBook, pnl_per_lot, stress_loss
from quantalloc.options.catalog import STRATEGIES, strategy_direction, strategy_info
from quantalloc.pipeline.contracts import ContractRequest, PricedContracts, build_contracts
from quantalloc.pipeline.inputs import MarketInputs
from quantalloc.pipeline.result import SolveResult
from quantalloc.scenarios import build_scenarios

Progress = Callable[[str, int, int], None]
log = logging.getLogger(__name__)


def run_allocation(
    *,
    spec: ModelSpec,
    profile: RiskProfile,
    market: MarketProfile,
    capital: float,
    vix: float | None,
    inputs: MarketInputs,
    symbol: str | None,
    max_industries: int | None,
    n_scenarios: int | None,
    seed: int | None,
    limits: Mapping[str, Any] | None,
    timer: Any,
    run_id: str,
    progress: Progress | None = None,
    chain: pd.DataFrame | None = None,
) -> SolveResult:
    """Everything after loading: see :func:`quantalloc.pipeline.solve`."""
    from quantalloc.pipeline.assemble import assemble
    from quantalloc.pipeline.engine import allocate

    notes = list(inputs.notes)
    with timer.stage("regime"):
        state = _market_state(spec, market, inputs, vix, chain)
    with timer.stage("candidates"):
        industries = _industries(spec, inputs, symbol, max_industries)
        priced, meta = _candidates(spec, profile, market, capital, inputs, industries, state)
        notes += meta["notes"]
    with timer.stage("scenarios"):
        n = spec.scenarios.n_scenarios if n_scenarios is None else int(n_scenarios)
        pnl, horizon_days, table, _book, legs = _scenario_pnl(
            spec, market, inputs, priced, meta["keep"], n, seed, industries
        )
    if progress is not None:
        progress("allocating", 0, 1)
    budget = profile.options_capital * capital
    targets = _targets(spec, industries, table, symbol, notes)
    caps = _cap_targets(spec, state, table, symbol, notes)
    outcome = allocate(
        spec=spec,
        profile=profile,
        capital=capital,
        table=table,
        pnl=pnl,
        targets=targets,
        vega_limit=spec.limits.max_abs_vega(capital),
        limits=limits,
        timer=timer,
        caps=caps,
    )
    if progress is not None:
        progress("allocating", 1, 1)
    with timer.stage("report"):
        result = assemble(
            run_id=run_id,
            spec=spec,
            profile=profile,
            market=market,
            capital=capital,
            budget=budget,
            state=state,
            inputs=inputs,
            table=table,
            legs=legs,
            pnl=pnl,
            outcome=outcome,
            targets=targets,
            horizon_days=horizon_days,
            n_scenarios=n,
            seed=spec.scenarios.seed if seed is None else seed,
            timings=timer.stages,
            notes=notes,
            n_built=meta["built"],
            caps=caps,
        )
    return result


def _market_state(
    spec: ModelSpec,
    market: MarketProfile,
    inputs: MarketInputs,
    vix: float | None,
    chain: pd.DataFrame | None = None,
) -> Any:
    from quantalloc.regime import load_regime_config, market_state

    config = load_regime_config(spec.market_state_table)
    return market_state(
        inputs.index_prices,
        inputs.vol_index,
        chain,
        inputs.as_of,
        market=market.name,
        config=config,
        vix=vix,
    )


def _industries(
    spec: ModelSpec, inputs: MarketInputs, symbol: str | None, max_industries: int | None
) -> list[PriorityIndustry]:
    allocations = inputs.allocations
    if symbol is not None:
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
        all_rows = priority_industries(
            allocations,
            type(spec.industries)(
                min_industry_weight=0.0,
                max_industries=10_000,
                max_symbols_per_industry=spec.industries.max_symbols_per_industry,
                enforce_targets=False,
            ),
        )
        return all_rows
    return priority_industries(allocations, spec.industries, max_industries)


def _candidates(
    spec: ModelSpec,
    profile: RiskProfile,
    market: MarketProfile,
    capital: float,
    inputs: MarketInputs,
    industries: list[PriorityIndustry],
    state: Any,
) -> tuple[PricedContracts, dict[str, Any]]:
    from quantalloc.options.volatility import vol_proxy

    rules = state.rules
    as_of = inputs.as_of.date()
    closes = inputs.closes
    symbols = inputs.symbols
    column = {s: i for i, s in enumerate(symbols)}
    index_close = inputs.index_prices["close"]
    vix_level = float(state.vix)
    spot: dict[str, float] = {}
    atm: dict[str, float] = {}
    for s in symbols:
        series = closes[s].dropna()
        spot[s] = float(series.iloc[-1])
        atm[s] = vol_proxy(series, index_close, vix_level)
    lots = {s: market.lot_size(s, inputs.lot_sizes()) for s in symbols}
    surfaces, listed = _chain_surfaces(inputs, spot, atm)
    dte_min, dte_max = spec.candidates.dte_window or (rules.dte_min, rules.dte_max)
    expiries = choose_expiries(as_of, dte_min, dte_max, spec.candidates.expiries, market.name)
    uni = inputs.universe.set_index("symbol")
    requests: list[ContractRequest] = []
    info: dict[str, tuple[str, str, str]] = {}
    advanced_rows = _advanced_requests(spec, inputs, symbols, expiries, market.name)
    if advanced_rows is not None:
        requests = advanced_rows
    else:
        for ind in industries:
            names = allowed_strategies(
                spec, ind.position_type, ind.rating, rules.preferred, rules.avoided
            )
            syms = [
                s for s in symbols if s in uni.index and str(uni.at[s, "industry"]) == ind.industry
            ]
            for s in syms:
                for strat in names:
                    otms = (
                        spec.candidates.otm
                        if strategy_info(strat).uses_otm
                        else spec.candidates.otm[:1]
                    )
                    for exp in expiries:
                        back = _next_monthly(exp, market.name)
                        for o in otms:
                            requests.append(ContractRequest(s, strat, exp, back, o))
    for s in symbols:
        if s in uni.index:
            info[s] = (
                str(uni.at[s, "industry"]),
                str(uni.at[s, "sector"]),
                str(uni.at[s, "market_cap_category"]),
            )
        else:
            info[s] = ("", "", "Large")
    priced = build_contracts(
        requests,
        as_of=as_of,
        spot=spot,
        atm_vol=atm,
        skew=spec.candidates.skew,
        surfaces=surfaces,
        listed=listed,
        lot_size=lots,
        market=market.name,
        rate=market.risk_free_rate,
        wing=spec.candidates.wing,
        symbol_column=column,
    )
    table = priced.table
    if table.empty:
        raise DataError(
            f"no strategy candidate could be built in state {rules.state} for "
            f"{len(symbols)} symbols (allowed strategies empty after the state's avoid list?)"
        )
    table["industry"] = table["symbol"].map(lambda s: info[s][0])
    table["sector"] = table["symbol"].map(lambda s: info[s][1])
    table["market_cap"] = table["symbol"].map(lambda s: info[s][2].lower())
    table["position_type"] = table["strategy_name"].map(strategy_direction)
    table["atm_vol"] = table["symbol"].map(atm)
    keep, notes = _filters(spec, profile, capital, table, rules, market.risk_free_rate, priced)
    return priced, {"keep": keep, "notes": notes, "built": len(table)}


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


def _next_monthly(exp: date, market: str) -> date:
    y, m = (exp.year + 1, 1) if exp.month == 12 else (exp.year, exp.month + 1)
    return monthly_expiry(y, m, market)


def _advanced_requests(
    spec: ModelSpec, inputs: MarketInputs, symbols: list[str], expiries: list[date], market: str
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
    exp = expiries[0]
    back = _next_monthly(exp, market)
    return [
        ContractRequest(str(r.symbol), str(r.strategy), exp, back, spec.candidates.otm[0])
        for r in frame.itertuples(index=False)
    ]


def _filters(
    spec: ModelSpec,
    profile: RiskProfile,
    capital: float,
    table: pd.DataFrame,
    rules: Any,
    rate: float,
    priced: PricedContracts,
) -> tuple[np.ndarray, list[str]]:
    """Mask of candidates passing the profile's and state's filters, and notes on what failed."""
    budget = profile.options_capital * capital
    notes = []
    unbounded = table["unbounded_loss"].to_numpy(dtype=bool)
    if spec.candidates.unbounded_loss == "stress" and unbounded.any():
        stress = stress_loss(
            priced.book, table["spot"].to_numpy(dtype=float), spec.candidates.stress_move, rate
        )
        table.loc[unbounded, "max_loss"] = stress[unbounded]
    min_pop = max(profile.min_probability_of_profit, float(rules.probability_threshold))
    checks = {
        "unbounded loss": ~unbounded | (spec.candidates.unbounded_loss == "stress"),
        f"probability of profit < {min_pop:.2f}": table["probability_of_profit"].to_numpy()
        >= min_pop,
        f"max loss per lot > {profile.max_risk_per_trade:.0%} of capital": (
            table["max_loss"].to_numpy() <= profile.max_risk_per_trade * capital
        ),
        f"one lot > {spec.limits.max_symbol:.0%} of the budget": (
            table["capital"].to_numpy() <= spec.limits.max_symbol * budget
        ),
        "non-positive capital": table["capital"].to_numpy() > 0,
    }
    keep = np.ones(len(table), dtype=bool)
    for label, ok in checks.items():
        dropped = int((keep & ~ok).sum())
        if dropped:
            notes.append(f"{dropped} of {len(table)} candidates dropped: {label}")
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
    if not keep.any():
        raise DataError(
            f"no candidate passed the {profile.name} filters ({len(table)} built in state "
            f"{rules.state}): " + "; ".join(notes) + "; try `risk=aggressive` or more `capital`",
            params=("risk", "capital"),
        )
    return keep, notes


def _scenario_pnl(
    spec: ModelSpec,
    market: MarketProfile,
    inputs: MarketInputs,
    priced: PricedContracts,
    keep: np.ndarray,
    n: int,
    seed: int | None,
    industries: list[PriorityIndustry],
) -> tuple[np.ndarray, int, pd.DataFrame, LegBook, list[list[dict[str, object]]]]:
    """Joint scenarios at the common horizon and each kept candidate's P&L per lot in each."""
    table = priced.table.loc[keep].reset_index(drop=True)
    legs = [priced.legs[i] for i in np.flatnonzero(keep)]
    book = priced.book.subset(keep)
    as_of = inputs.as_of.date()
    front = min(table["expiry"])
    horizon_days = max(int(np.busday_count(as_of, front)), 1)
    h_t = (front - as_of).days / 365.0
    front_t = table["front_t"].to_numpy(dtype=float)
    remaining = np.maximum(book.remaining + front_t[book.candidate] - h_t, 0.0)
    book = dataclasses.replace(book, remaining=np.where(remaining > 1e-9, remaining, 0.0))
    view = {ind.industry: spec.view_drift(ind.position_type, ind.rating) for ind in industries}
    uni = inputs.universe.set_index("symbol")["industry"]
    symbols = inputs.symbols
    atm = dict(zip(priced.table["symbol"], priced.table["atm_vol"], strict=True))
    closes = inputs.closes
    spot = {s: float(closes[s].dropna().iloc[-1]) for s in symbols}
    vol = {s: float(atm.get(s, np.nan)) for s in symbols}
    missing_vol = [s for s, v in vol.items() if not np.isfinite(v)]
    if missing_vol:  # symbols without any candidate still need a vol for the joint draw
        from quantalloc.options.volatility import realized_vol

        for s in missing_vol:
            vol[s] = max(realized_vol(closes[s].dropna()), 0.05)
    drift = {s: market.risk_free_rate + view.get(str(uni.get(s, "")), 0.0) for s in symbols}
    scen = build_scenarios(
        closes,
        spot,
        vol,
        drift,
        horizon_days=horizon_days,
        n_scenarios=n,
        method=spec.scenarios.method,
        block_length=spec.scenarios.block_length,
        lookback_days=spec.scenarios.lookback_days,
        seed=spec.scenarios.seed if seed is None else int(seed),
        vol_scale=spec.scenarios.vol_scale,
        trading_days=market.trading_days,
    )
    pnl = pnl_per_lot(
        book,
        scen.prices,
        rate=market.risk_free_rate,
        bid_ask=spec.costs.bid_ask,
        min_tick=spec.costs.min_tick,
        commission=spec.costs.commission(market.name),
    )
    worst = np.maximum(-pnl.min(axis=0), 0.0)
    unbounded = table["unbounded_loss"].to_numpy(dtype=bool)
    table.loc[unbounded, "max_loss"] = np.maximum(
        table.loc[unbounded, "max_loss"], worst[unbounded]
    )
    table["expected_pnl"] = pnl.mean(axis=0)
    return pnl, horizon_days, table, book, legs


def _targets(
    spec: ModelSpec,
    industries: list[PriorityIndustry],
    table: pd.DataFrame,
    symbol: str | None,
    notes: list[str],
) -> dict[str, float]:
    """Industry targets: each priority industry's weight over the priority industries' total.

    Industries without any candidate lose their target (noted); the others keep theirs, so the
    targets may sum to less than 1 and the rest of the budget is free.
    """
    if symbol is not None or not spec.industries.enforce_targets:
        return {}
    present = set(table["industry"])
    kept = [i for i in industries if i.industry in present and i.target > 0]
    lost = [i.industry for i in industries if i.industry not in present]
    if lost:
        notes.append(f"no candidate for industries {', '.join(lost)}; their targets are dropped")
    return {i.industry: i.target for i in kept}


def _cap_targets(
    spec: ModelSpec, state: Any, table: pd.DataFrame, symbol: str | None, notes: list[str]
) -> dict[str, float]:
    """Market-cap bucket targets of the advanced model (by direction and VIX), where held."""
    if spec.advanced is None or symbol is not None:
        return {}
    shares = spec.advanced.cap_targets(str(state.direction), float(state.vix))
    present = set(table["market_cap"])
    lost = [b for b, v in shares.items() if v > 0 and b not in present]
    if lost:
        notes.append(f"no candidate in market-cap buckets {', '.join(lost)}; their share is free")
    return {b: v for b, v in shares.items() if b in present and v > 0}


__all__ = ["run_allocation"]
