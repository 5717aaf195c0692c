"""A fixed set of solves whose JSON documents are kept as reference files (``golden/``).

The files were written from main before the engine and pipeline restructure (issue 12), whose
rule is that the same inputs give the same allocations, and rewritten for the interior method
of issue 19 (``test_golden.py`` says what moved); ``test_golden.py`` compares every run with
them. Rewrite them only for a deliberate change of behaviour, and say so in the commit:

    python -m tests.pipeline.golden_cases            # writes tests/pipeline/golden/*.json

What is left out of the comparison varies run to run: ``run_id`` and the wall-clock timings.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from quantalloc.allocation import ConstraintConflict
from quantalloc.pipeline import solve
from quantalloc.pipeline.model import ObjectiveSpec, load_model
from tests.conftest import SHARED_DATA

GOLDEN = Path(__file__).with_name("golden")
VOLATILE_SOLVER_KEYS = ("timings", "compile_seconds", "solve_seconds")


def readme_us_tables(shared: Path) -> dict[str, pd.DataFrame]:
    """The two tables as the README's allocator paragraph writes them from constituents.csv:
    each GICS sector an industry, lot size 100, every sector NEUTRAL at an equal weight."""
    c = pd.read_csv(shared / "us" / "constituents.csv")
    s = sorted(c.sector.unique())
    stock = pd.DataFrame(
        {
            "symbol": c.symbol,
            "industry": c.sector,
            "sector": c.sector,
            "fno_stock": True,
            "lot_size": 100,
            "market_cap_category": "Large",
        }
    )
    industries = pd.DataFrame(
        {
            "industry": s,
            "sector": s,
            "position_type": "NEUTRAL",
            "weight_percentage": round(100 / len(s), 2),
            "rating": "Neutral",
        }
    )
    return {"stock_data": stock, "industry_allocations_current": industries}


def _us(shared: Path, **kw: Any) -> dict[str, Any]:
    from tests.pipeline.test_solve import us_tables

    return {"market": "us", "data": f"csv:{shared / 'us'}", "tables": us_tables(shared), **kw}


def _nifty(shared: Path, **kw: Any) -> dict[str, Any]:
    from tests.pipeline.test_solve import in_tables

    # as-of pinned: csv:DIR also reads the NSE day files, which extend the data to 2026-02-13
    return {
        "market": "in",
        "data": f"csv:{shared / 'in'}",
        "tables": in_tables(shared),
        "as_of": "2025-09-30",
        **kw,
    }


def _rck() -> Any:
    spec = load_model("industry_first")
    return dataclasses.replace(
        spec, objective=ObjectiveSpec(kind="rck", drawdown_alpha=0.7, drawdown_beta=0.1)
    )


def _fractional() -> Any:
    spec = load_model("industry_first")
    return dataclasses.replace(
        spec,
        objective=ObjectiveSpec(kind="fractional_kelly", fraction=0.5),
        industries=dataclasses.replace(spec.industries, enforce_targets=False),
    )


def _advanced_tables(shared: Path) -> dict[str, pd.DataFrame]:
    from tests.pipeline.test_solve import us_tables

    tables = us_tables(shared)
    legs = json.dumps([{"kind": "put", "side": "sell", "strike": 150, "quantity": 1}])
    rows = [
        ("AAPL", "Information Technology", "Bull Put Spread", 0.8, 0.7, 0.4),
        ("AAPL", "Information Technology", "Bear Call Spread", 0.5, 0.6, 0.5),
        ("MSFT", "Information Technology", "bull_call_spread", 0.7, 0.5, 1.2),
        ("JPM", "Financials", "iron_condor", 0.6, 0.6, 0.6),
        ("BAC", "Financials", "bull_put_spread", 0.65, 0.6, 0.6),
        ("XOM", "Energy", "bear_put_spread", 0.5, 0.5, 1.0),
        ("JNJ", "Health Care", "bull_put_spread", 0.9, 0.6, 0.3),
    ]
    tables["strategies"] = pd.DataFrame(
        [(*r, legs) for r in rows],
        columns=[
            "stock_name",
            "industry",
            "strategy_name",
            "total_score",
            "probability_of_profit",
            "risk_reward_ratio",
            "legs",
        ],
    )
    return tables


# name -> keyword arguments of solve(), given the shared data folder
CASES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "demo_moderate": lambda s: {"risk": "moderate", "data": "demo"},
    "demo_conservative_limit": lambda s: {
        "risk": "conservative",
        "data": "demo",
        "n_scenarios": 600,
        "limits": {"max_strategy": 0.2, "max_industry": 0.35},
    },
    "demo_fractional_kelly": lambda s: {
        "risk": "aggressive",
        "data": "demo",
        "model": _fractional(),
        "n_scenarios": 800,
    },
    "us51_readme_tables": lambda s: {
        "risk": "moderate",
        "market": "us",
        "data": f"csv:{s / 'us'}",
        "tables": readme_us_tables(s),
    },
    "us51_rck": lambda s: _us(s, risk="moderate", model=_rck(), n_scenarios=500),
    "us51_advanced": lambda s: (
        _us(s, risk="aggressive", model="advanced", n_scenarios=300)
        | {"tables": _advanced_tables(s)}
    ),
    "nifty50_aggressive": lambda s: _nifty(s, risk="aggressive", n_scenarios=1000),
    "us51_infeasible_targets": lambda s: _infeasible(s),
}


def _infeasible(shared: Path) -> dict[str, Any]:
    from tests.pipeline.test_solve import TARGET_ABOVE_CAP

    kw = _us(shared, risk="moderate", n_scenarios=200, max_industries=3)
    kw["tables"]["industry_allocations_current"] = TARGET_ABOVE_CAP.copy()
    return kw


def run_case(name: str, shared: Path = SHARED_DATA) -> dict[str, Any]:
    """The case's document (or its diagnosis), without what varies run to run."""
    try:
        result = solve(**CASES[name](shared))
    except ConstraintConflict as exc:
        d = exc.diagnosis
        return {
            "error": type(exc).__name__,
            "message": str(exc),
            "conflict": list(d.conflict),
            "joint": [dataclasses.asdict(r) for r in d.joint],
            "alone": [dataclasses.asdict(r) for r in d.alone],
        }
    return stable(result.to_document(), shared)


def stable(doc: dict[str, Any], shared: Path = SHARED_DATA) -> dict[str, Any]:
    """``doc`` without ``run_id`` and the wall-clock timings of the solver block, and with the
    shared data folder written ``<shared>`` (it lies elsewhere on every machine)."""
    out = dict(doc)
    out.pop("run_id", None)
    market = dict(out["market"])
    market["data_source"] = str(market["data_source"]).replace(str(shared), "<shared>")
    out["market"] = market
    solver = dict(out["solver"])
    for key in VOLATILE_SOLVER_KEYS:
        solver.pop(key, None)
    if isinstance(solver.get("rounding"), dict):
        solver["rounding"] = {k: v for k, v in solver["rounding"].items() if k != "seconds"}
    out["solver"] = solver
    return out


def main(names: list[str]) -> None:
    GOLDEN.mkdir(exist_ok=True)
    for name in names or list(CASES):
        doc = run_case(name)
        path = GOLDEN / f"{name}.json"
        path.write_text(json.dumps(doc, indent=1, sort_keys=True, allow_nan=False) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
