"""Turn the engine's lots into the result document's allocations, portfolio and constraints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.pipeline.book_risk import held_risk
from quantalloc.pipeline.document import (
    ALLOCATION_KEYS,
    EXTRA_ALLOCATION_KEYS,
    LIMIT_KEYS,
    MARKET_KEYS,
    SolveResult,
)
from quantalloc.pipeline.edge import portfolio_edge
from quantalloc.pipeline.holdings import HoldingPlan
from quantalloc.pipeline.inputs import MarketInputs
from quantalloc.pipeline.records import CandidateSet, ScenarioBook, Targets
from quantalloc.pipeline.request import Plan
from quantalloc.pipeline.sizing import Outcome
from quantalloc.regime.state import MarketState

CONSTRAINT_COLUMNS = ["name", "limit", "value", "binding", "dual", "unit"]
DISPLAY_COLUMNS = ["lower", "upper", "before_lots"]
"""Kept in ``SolveResult.constraints`` for the report (band, value at the continuous optimum)."""


def assemble(
    plan: Plan,
    state: MarketState,
    inputs: MarketInputs,
    cands: CandidateSet,
    book: ScenarioBook,
    outcome: Outcome,
    targets: Targets,
    timings: Mapping[str, float],
    notes: list[str],
    held: HoldingPlan | None = None,
) -> SolveResult:
    """The frozen result of a solve."""
    covered = set(held.writes) if held is not None else set()
    allocations = _positions(book, outcome.lots, covered, set(targets.industry))
    extra = held.positions if held is not None else None
    risk = held_risk(plan, inputs, cands, book, outcome.lots, extra)
    allocations = allocations.assign(unbounded_loss=risk.unbounded, margin=risk.margin)
    allocations["unbounded_loss"] = allocations["unbounded_loss"].astype(bool)
    notes = [*notes, *risk.notes]
    portfolio = {**_portfolio(plan, book, outcome.lots, allocations, targets), "risk": risk.block}
    if held is not None and len(held.holdings):
        portfolio["holdings"] = held.holdings.document()
    constraints = outcome.constraints
    shown = [*CONSTRAINT_COLUMNS, *DISPLAY_COLUMNS]  # the report's band and values; not the doc's
    if len(constraints):
        constraints = constraints.loc[:, [c for c in shown if c in constraints]]
    else:
        constraints = pd.DataFrame(columns=shown)
    solver = {
        **outcome.solver,
        "candidates_built": cands.n_built,
        "candidates": len(book.table),
        "scenarios": plan.n_scenarios,
        "scenario_method": plan.spec.scenarios.method,
        "horizon_days": book.horizon_days,
        "seed": plan.seed,
        "timings": {k: round(v, 4) for k, v in timings.items()},
    }
    return SolveResult(
        run_id=plan.run_id,
        as_of=inputs.as_of.date().isoformat(),
        model=plan.spec.name,
        risk=plan.profile.name,
        currency=plan.market.currency,
        capital=float(plan.capital),
        budget=float(plan.budget),
        market=_market_document(plan, state, inputs, targets),
        solver=solver,
        limits=limits_in_force(plan, state, targets),
        allocations=allocations,
        portfolio=portfolio,
        constraints=constraints.reset_index(drop=True),
        synthetic=inputs.synthetic,
        data_source=inputs.provider_name,
        timings=dict(timings),
        notes=tuple(notes),
        targets=dict(targets.industry),
    )


def _positions(
    book: ScenarioBook, lots: np.ndarray, covered: set[int], targeted: set[str]
) -> pd.DataFrame:
    """One row per candidate held (lots > 0): legs, lots, capital, risk and Greeks in total.

    Every row is to ``open``; a covered call written on held shares (``covered``) uses no
    budget and its stock leg says ``held``. A position expecting a loss names the rule that
    holds it (``forced_by``: the holdings, or its industry's target when ``targeted``)."""
    rows = []
    for i in np.flatnonzero(lots > 0):
        r = book.table.iloc[i]
        n = int(lots[i])
        rows.append(
            {
                "symbol": str(r["symbol"]),
                "industry": str(r["industry"]),
                "sector": str(r["sector"]),
                "strategy_name": str(r["strategy_name"]),
                "position_type": str(r["position_type"]),
                "expiry": r["expiry"].isoformat(),
                "legs": [_leg(leg, n, i in covered) for leg in book.legs[i]],
                "lots": n,
                "lot_size": int(r["lot_size"]),
                "allocated_capital": 0.0 if i in covered else float(r["capital"]) * n,
                "max_loss": float(r["max_loss"]) * n,
                "probability_of_profit": float(r["probability_of_profit"]),
                "expected_return": float(r["expected_pnl"] / r["capital"]),
                "edge": _edge_row(book, int(i)),
                "delta": float(r["delta"]) * n,
                "gamma": float(r["gamma"]) * n,
                "vega": float(r["vega"]) * n,
                "theta": float(r["theta"]) * n,
                "theta_positive": float(r["theta"]) > 0,
                "action": "open",
                "covered_by_holdings": i in covered,
                "forced_by": _forced_by(r, i in covered, targeted),
            }
        )
    out = pd.DataFrame(rows, columns=[*ALLOCATION_KEYS, *EXTRA_ALLOCATION_KEYS])
    out["theta_positive"] = out["theta_positive"].astype(bool)
    return out


def _forced_by(row: pd.Series, covered: bool, targeted: set[str]) -> str:
    if covered:
        return "holdings"
    if float(row["expected_pnl"]) < 0 and str(row["industry"]) in targeted:
        return f"industry_target[{row['industry']}]"
    return ""


def _edge_row(book: ScenarioBook, i: int) -> dict[str, float]:
    """Candidate ``i``'s expected return per unit of capital by source (empty without one)."""
    if book.edge is None:
        return {}
    return {str(k): float(v) for k, v in book.edge.iloc[i].items()}


def _leg(leg: Mapping[str, Any], lots: int, on_held_shares: bool = False) -> dict[str, Any]:
    held = on_held_shares and leg["kind"] == "stock"
    return {
        "kind": leg["kind"],
        "side": "held" if held else leg["side"],
        "strike": leg["strike"],
        "price": round(float(leg["price"]), 4),
        "quantity": float(leg["quantity"]) * lots,
        "expiry": leg["expiry"],
        "price_source": leg.get("price_source", "proxy"),
    }


def _portfolio(
    plan: Plan,
    book: ScenarioBook,
    lots: np.ndarray,
    allocations: pd.DataFrame,
    targets: Targets,
) -> dict[str, Any]:
    """Sums of the positions, growth and loss odds over the scenarios, and the breakdowns."""
    held = np.flatnonzero(lots > 0)
    pnl = book.pnl
    book_pnl = pnl[:, held] @ lots[held].astype(float) if len(held) else np.zeros(pnl.shape[0])
    budget = plan.budget
    amounts = allocations["allocated_capital"].to_numpy(dtype=float)
    edge = (
        portfolio_edge(book.edge.iloc[held], amounts, float(amounts.sum()))
        if book.edge is not None
        else {}
    )
    portfolio = {
        "allocated_capital": float(allocations["allocated_capital"].sum()),
        "max_loss": float(allocations["max_loss"].sum()),
        "delta": float(allocations["delta"].sum()),
        "gamma": float(allocations["gamma"].sum()),
        "vega": float(allocations["vega"].sum()),
        "theta": float(allocations["theta"].sum()),
        "expected_log_growth": float(book.expectation(np.log1p(book_pnl / plan.capital))),
        "expected_pnl": float(book.expectation(book_pnl)),
        "expected_return": (
            float(book.expectation(book_pnl)) / float(amounts.sum()) if amounts.sum() > 0 else 0.0
        ),
        "edge": edge,
        "views": list(book.views),
        "probability_of_loss": float(book.expectation((book_pnl < 0).astype(float))),
        "by_industry": _breakdown(allocations, "industry", budget, targets.industry, True),
        "by_strategy": _breakdown(allocations, "strategy_name", budget, {}),
        "by_symbol": _breakdown(allocations, "symbol", budget, {}),
        "theta_positive_capital": float(
            allocations.loc[allocations["theta_positive"], "allocated_capital"].sum()
        ),
    }
    if targets.market_cap:
        cap_of = book.table.set_index("symbol")["market_cap"].to_dict()
        by_cap = allocations.assign(market_cap=allocations["symbol"].map(cap_of))
        buckets = _breakdown(by_cap, "market_cap", budget, targets.market_cap)
        for row in buckets.values():  # bucket targets are shares of the budget (soft bands)
            if "target_weight" in row:
                row["deviation"] = row["weight"] - row["target_weight"]
        portfolio["by_market_cap"] = buckets
    return portfolio


def _market_document(
    plan: Plan, state: MarketState, inputs: MarketInputs, targets: Targets
) -> dict[str, Any]:
    doc = state.to_dict()
    doc = {**{k: doc.get(k) for k in MARKET_KEYS}, **doc}
    doc["synthetic"] = inputs.synthetic
    doc["data_source"] = inputs.provider_name
    if inputs.skipped:  # symbols the run wanted but could not read: kept with the run
        doc["skipped_symbols"] = dict(inputs.skipped)
    doc["preferred_strategies"] = list(state.rules.preferred)
    doc["avoided_strategies"] = list(state.rules.avoided)
    doc["dte"] = [state.rules.dte_min, state.rules.dte_max]
    window = plan.spec.candidates.dte_window or (state.rules.dte_min, state.rules.dte_max)
    doc["dte_window"] = [int(window[0]), int(window[1])]  # in force (a model may override)
    doc["iv_preference"] = state.rules.iv_preference
    if targets.long_short is not None:
        doc["long_short_split"] = {"long": targets.long_short[0], "short": targets.long_short[1]}
    return doc


def limits_in_force(plan: Plan, state: MarketState, targets: Targets) -> dict[str, float | None]:
    """The document's ``limits``: the model's values with the run's overrides (``limits=``)
    applied, so the block states what the solve kept (a ``(lower, upper)`` override shows its
    upper side)."""
    spec, profile = plan.spec, plan.profile
    limits: dict[str, float | None] = {
        "max_symbol": spec.limits.max_symbol,
        "max_strategy": spec.limits.max_strategy,
        "max_industry": spec.limits.max_industry,
        "max_theta_positive": spec.limits.max_theta_positive,
        "max_abs_vega": plan.vega_limit,
        "max_risk_per_trade": profile.max_risk_per_trade,
    }
    for key in LIMIT_KEYS:
        override = plan.request.limits.get(key)
        if isinstance(override, tuple):
            override = override[1]
        if override is not None:
            limits[key] = float(override)
    limits["min_probability_of_profit"] = max(
        profile.min_probability_of_profit, float(state.rules.probability_threshold)
    )
    if targets.industry:
        limits["industry_target_tolerance"] = spec.industries.target_tolerance
    if targets.market_cap and spec.advanced is not None:
        limits["market_cap_tolerance"] = spec.advanced.cap_tolerance
    return limits


def _breakdown(
    allocations: pd.DataFrame,
    by: str,
    budget: float,
    targets: Mapping[str, float],
    deployed: bool = False,
) -> dict[str, dict[str, float]]:
    """Capital and weight (of the budget) per label; with ``deployed``, also the share of the
    deployed capital (``deployed_weight``) and, where a target exists, ``deviation`` from it."""
    out: dict[str, dict[str, float]] = {}
    sums = allocations.groupby(by)["allocated_capital"].sum() if len(allocations) else pd.Series()
    total = float(sums.sum()) if len(sums) else 0.0
    for label in sorted(set(sums.index) | set(targets)):
        cap = float(sums.get(label, 0.0))
        entry = {"capital": cap, "weight": cap / budget if budget else 0.0}
        if deployed:
            entry["deployed_weight"] = cap / total if total > 0 else 0.0
        if label in targets:
            entry["target_weight"] = float(targets[label])
            if deployed:
                entry["deviation"] = entry["deployed_weight"] - entry["target_weight"]
        out[str(label)] = entry
    return out


__all__ = ["assemble", "limits_in_force"]
