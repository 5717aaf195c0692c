"""Turn the engine's lots into the result document's allocations, portfolio and constraints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from quantalloc.markets import MarketProfile
from quantalloc.modelspec import ModelSpec, RiskProfile
from quantalloc.pipeline.engine import Outcome
from quantalloc.pipeline.inputs import MarketInputs
from quantalloc.pipeline.result import ALLOCATION_KEYS, MARKET_KEYS, SolveResult


def assemble(
    *,
    run_id: str,
    spec: ModelSpec,
    profile: RiskProfile,
    market: MarketProfile,
    capital: float,
    budget: float,
    state: Any,
    inputs: MarketInputs,
    table: pd.DataFrame,
    legs: list[list[dict[str, object]]],
    pnl: np.ndarray,
    outcome: Outcome,
    targets: Mapping[str, float],
    horizon_days: int,
    n_scenarios: int,
    seed: int,
    timings: Mapping[str, float],
    notes: list[str],
    n_built: int,
    caps: Mapping[str, float] | None = None,
) -> SolveResult:
    """The frozen result of a solve."""
    from quantalloc.options import theta_positive_strategies

    theta_positive = set(theta_positive_strategies())
    lots = outcome.lots
    held = np.flatnonzero(lots > 0)
    rows = []
    for i in held:
        r = table.iloc[i]
        n = int(lots[i])
        rows.append(
            {
                "symbol": str(r["symbol"]),
                "industry": str(r["industry"]),
                "sector": str(r["sector"]),
                "strategy_name": str(r["strategy_name"]),
                "position_type": str(r["position_type"]),
                "expiry": r["expiry"].isoformat(),
                "legs": [
                    {
                        "kind": leg["kind"],
                        "side": leg["side"],
                        "strike": leg["strike"],
                        "price": round(float(leg["price"]), 4),  # type: ignore[arg-type]
                        "quantity": float(leg["quantity"]) * n,  # type: ignore[arg-type]
                        "expiry": leg["expiry"],
                    }
                    for leg in legs[i]
                ],
                "lots": n,
                "lot_size": int(r["lot_size"]),
                "allocated_capital": float(r["capital"]) * n,
                "max_loss": float(r["max_loss"]) * n,
                "probability_of_profit": float(r["probability_of_profit"]),
                "expected_return": float(r["expected_pnl"] / r["capital"]),
                "delta": float(r["delta"]) * n,
                "gamma": float(r["gamma"]) * n,
                "vega": float(r["vega"]) * n,
                "theta": float(r["theta"]) * n,
                "theta_positive": str(r["strategy_name"]) in theta_positive,
            }
        )
    allocations = pd.DataFrame(rows, columns=[*ALLOCATION_KEYS, "theta_positive"])
    allocations["theta_positive"] = allocations["theta_positive"].astype(bool)
    book_pnl = pnl[:, held] @ lots[held].astype(float) if len(held) else np.zeros(pnl.shape[0])
    growth = float(np.mean(np.log1p(book_pnl / capital)))
    portfolio = {
        "allocated_capital": float(allocations["allocated_capital"].sum()),
        "max_loss": float(allocations["max_loss"].sum()),
        "delta": float(allocations["delta"].sum()),
        "gamma": float(allocations["gamma"].sum()),
        "vega": float(allocations["vega"].sum()),
        "theta": float(allocations["theta"].sum()),
        "expected_log_growth": growth,
        "expected_pnl": float(book_pnl.mean()),
        "probability_of_loss": float((book_pnl < 0).mean()),
        "by_industry": _breakdown(allocations, "industry", budget, targets),
        "by_strategy": _breakdown(allocations, "strategy_name", budget, {}),
        "by_symbol": _breakdown(allocations, "symbol", budget, {}),
        "theta_positive_capital": float(
            allocations.loc[allocations["theta_positive"], "allocated_capital"].sum()
        ),
    }
    if caps:
        cap_of = table.set_index("symbol")["market_cap"].to_dict()
        by_cap = allocations.assign(market_cap=allocations["symbol"].map(cap_of))
        portfolio["by_market_cap"] = _breakdown(by_cap, "market_cap", budget, caps)
    market_doc = state.to_dict()
    market_doc = {**{k: market_doc.get(k) for k in MARKET_KEYS}, **market_doc}
    market_doc["synthetic"] = inputs.synthetic
    if inputs.skipped:  # symbols the run wanted but could not read: kept with the run
        market_doc["skipped_symbols"] = dict(inputs.skipped)
    market_doc["data_source"] = inputs.provider_name
    market_doc["preferred_strategies"] = list(state.rules.preferred)
    market_doc["avoided_strategies"] = list(state.rules.avoided)
    market_doc["dte"] = [state.rules.dte_min, state.rules.dte_max]
    solver = {
        **outcome.solver,
        "candidates_built": n_built,
        "candidates": len(table),
        "scenarios": n_scenarios,
        "scenario_method": spec.scenarios.method,
        "horizon_days": horizon_days,
        "seed": seed,
        "timings": {k: round(v, 4) for k, v in timings.items()},
    }
    limits = {
        "max_symbol": spec.limits.max_symbol,
        "max_strategy": spec.limits.max_strategy,
        "max_industry": spec.limits.max_industry,
        "max_theta_positive": spec.limits.max_theta_positive,
        "max_abs_vega": spec.limits.max_abs_vega(capital),
        "max_risk_per_trade": profile.max_risk_per_trade,
        "min_probability_of_profit": max(
            profile.min_probability_of_profit, float(state.rules.probability_threshold)
        ),
    }
    if targets:
        limits["industry_target_tolerance"] = spec.industries.target_tolerance
    if caps and spec.advanced is not None:
        limits["market_cap_tolerance"] = spec.advanced.cap_tolerance
    constraints = outcome.constraints
    if len(constraints):
        shown = ["name", "limit", "value", "binding", "dual", "unit", "lower", "upper"]
        constraints = constraints.loc[
            :, [*shown, *(["before_lots"] if "before_lots" in constraints else [])]
        ]
    else:
        constraints = pd.DataFrame(columns=["name", "limit", "value", "binding", "dual", "unit"])
    return SolveResult(
        run_id=run_id,
        as_of=inputs.as_of.date().isoformat(),
        model=spec.name,
        risk=profile.name,
        currency=market.currency,
        capital=float(capital),
        budget=float(budget),
        market=market_doc,
        solver=solver,
        limits=limits,
        allocations=allocations,
        portfolio=portfolio,
        constraints=constraints.reset_index(drop=True),
        synthetic=inputs.synthetic,
        data_source=inputs.provider_name,
        timings=dict(timings),
        notes=tuple(notes),
        targets=dict(targets),
    )


def _breakdown(
    allocations: pd.DataFrame, by: str, budget: float, targets: Mapping[str, float]
) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    sums = allocations.groupby(by)["allocated_capital"].sum() if len(allocations) else pd.Series()
    for label in sorted(set(sums.index) | set(targets)):
        cap = float(sums.get(label, 0.0))
        entry = {"capital": cap, "weight": cap / budget if budget else 0.0}
        if label in targets:
            entry["target_weight"] = float(targets[label])
        out[str(label)] = entry
    return out


__all__ = ["assemble"]
