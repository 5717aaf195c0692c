"""The whole solve, from loaded data to the JSON document, and where the time goes.

Universe: the 51 real US stocks in ../shared/data/us (sectors as industries, every sector a
priority industry), or the NIFTY 50 (``--market in``), or the demo market (``--data demo``).
Goal (issue 6): >= 400 candidates, >= 2,000 scenarios, <= 5 s on a 2-core machine.

    python benchmarks/bench_solve.py [--market us|in] [--scenarios 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from quantalloc.data import get_provider  # noqa: E402
from quantalloc.markets import get_market  # noqa: E402
from quantalloc.pipeline.build import run_allocation  # noqa: E402
from quantalloc.pipeline.loading import load_inputs  # noqa: E402
from quantalloc.pipeline.model import load_model  # noqa: E402
from quantalloc.pipeline.request import SolveRequest, plan  # noqa: E402
from quantalloc.pipeline.timer import Timer  # noqa: E402

SHARED = Path(os.environ.get("QUANTALLOC_SHARED_DATA", ROOT.parent / "shared" / "data"))
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")


def tables(market: str) -> dict[str, pd.DataFrame]:
    """stock_data and an industry allocation over every industry of the real universe."""
    if market == "us":
        cons = pd.read_csv(SHARED / "us" / "constituents.csv")
        have = {p.stem for p in (SHARED / "us" / "daily").glob("*.csv")}
        cons = cons.loc[cons["symbol"].isin(have)].assign(industry=lambda f: f["sector"])
        lot = 100
    else:
        cons = pd.read_csv(SHARED / "in" / "nifty50_constituents.csv")
        lot = None
    stock = pd.DataFrame(
        {
            "symbol": cons["symbol"],
            "industry": cons["industry"],
            "sector": cons["industry"],
            "fno_stock": True,
            "lot_size": lot if lot else 250,
            "market_cap_category": "Large",
        }
    )
    industries = sorted(stock["industry"].unique())
    ratings = ["Strong Overweight", "Moderate Overweight", "Neutral", "Moderate Underweight"]
    positions = ["LONG", "LONG", "NEUTRAL", "SHORT"]
    alloc = pd.DataFrame(
        {
            "industry": industries,
            "sector": industries,
            "position_type": [positions[i % 4] for i in range(len(industries))],
            "weight_percentage": 95.0 / len(industries),
            "rating": [ratings[i % 4] for i in range(len(industries))],
        }
    )
    return {"stock_data": stock, "industry_allocations_current": alloc}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--market", default="us", choices=["us", "in"])
    ap.add_argument("--data", default=None, help="default: the real data for the market")
    ap.add_argument("--scenarios", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--risk", default="aggressive")
    args = ap.parse_args()

    base = load_model("industry_first")
    spec = dataclasses.replace(
        base,
        industries=dataclasses.replace(
            base.industries, min_industry_weight=0.0, max_industries=50, max_symbols_per_industry=10
        ),
    )
    market = get_market(args.market)
    source = args.data or f"csv:{SHARED / args.market}"
    provider = get_provider(source, market.name)
    given = {} if source == "demo" else tables(args.market)

    request = SolveRequest(
        risk=args.risk, model=spec, market=market.name, n_scenarios=args.scenarios
    )
    t0 = time.perf_counter()
    inputs = load_inputs(provider, plan(request), given)
    load_s = time.perf_counter() - t0
    print(
        f"data: {source}  symbols {len(inputs.symbols)}  as of {inputs.as_of.date()}  "
        f"loaded in {load_s:.2f} s (not counted)"
    )
    totals: list[float] = []
    cpus: list[float] = []
    stages: list[dict[str, float]] = []
    for i in range(args.repeat):
        timer = Timer()
        start, cpu_start = time.perf_counter(), time.process_time()
        result = run_allocation(plan(request), inputs, None, timer)
        with timer.stage("json"):
            text = result.to_json()
        total = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        totals.append(total)
        cpus.append(cpu)
        stage = dict(timer.stages)
        rounding = result.solver.get("rounding") or {}
        stage["  of which: convex solve"] = float(result.solver["solve_seconds"])
        stage["  of which: lot rounding"] = float(rounding.get("seconds", 0.0))
        stages.append(stage)
        print(
            f"run {i + 1}: {total:.2f} s wall, {cpu:.2f} s CPU  "
            f"candidates {result.solver['candidates']} "
            f"(built {result.solver['candidates_built']})  scenarios {result.solver['scenarios']}  "
            f"positions {len(result.allocations)}  JSON {len(text) / 1024:.0f} KiB  "
            f"solver {result.solver['name']}"
        )
    print(f"\nmachine load (1/5/15 min): {os.getloadavg()} on {os.cpu_count()} cores")
    print("where the time goes (median over runs, seconds):")
    for name in stages[0]:
        vals = [s.get(name, 0.0) for s in stages]
        med = statistics.median(vals)
        print(f"  {name:<31} {med:7.3f}  {100 * med / statistics.median(totals):5.1f}%")
    best, med = min(totals), statistics.median(totals)
    verdict = "meets" if med <= 5.0 else "misses"
    print(
        f"\ntotal: best {best:.2f} s, median {med:.2f} s wall -> {verdict} the 5 s goal; "
        f"CPU median {statistics.median(cpus):.2f} s (what an idle machine would take, roughly: "
        "the solver is single-threaded)"
    )


if __name__ == "__main__":
    main()
