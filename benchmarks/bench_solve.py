"""The solve users run, timed: ``quantalloc.solve`` end to end at the sizes of issue 19.

Universe: the 51 real US stocks in ../shared/data/us, each GICS sector an industry with a
rating and a position type (LONG / SHORT / NEUTRAL in turn), every sector a priority industry,
up to 10 symbols each; the model ``industry_first`` with its full constraints (budget, symbol /
strategy / industry caps, industry target bands with their floors, |vega|, the theta-positive
share, max risk per trade) and whole lots. The candidate count is set by the expiries and
short-strike distances priced and ``max_candidates``; the scenario count by ``n_scenarios``.

For each size and objective (exact Kelly, risk-constrained Kelly) it prints:

- ``solve()``: the whole call (regime, candidates, scenarios, allocation, lots, document), the
  best of ``--repeat`` runs (price files are read on the first run and kept by the provider);
- ``alloc``: the allocation step of that call (the convex solve and the lot rounding);
- ``engine``: ``Allocator.solve`` alone on the same inputs, its convex solve and its lots;
- ``weighted``: the engine again with weighted scenarios (:func:`tilted`, an entropy-pooling
  style tilt) beside the equal weights: the whole call and its convex solve;
- ``direct``: the direct conic form (cvxpy + Clarabel, every scenario a cone over every
  candidate) on the same inputs, and the gap between the two optima (``fast - direct``).

Then the CLI (``quantalloc solve`` on the README's two tables) as a user runs it, in a fresh
process each time: with a warm memo (its cache folder filled by one run first) and a cold one
(an empty folder each run), and the same command on an older checkout (``--before DIR``).

    python benchmarks/bench_solve.py [--repeat 3] [--direct all|small|none] [--cli-runs 5]
                                     [--cold-runs 3] [--before DIR] [--only-cli]
                                     [--sizes 422x10000 ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import quantalloc.pipeline.sizing as sizing  # noqa: E402
from quantalloc.allocation import Allocator  # noqa: E402
from quantalloc.errors import QuantallocError  # noqa: E402
from quantalloc.pipeline import solve  # noqa: E402
from quantalloc.pipeline.model import ModelSpec, ObjectiveSpec, load_model  # noqa: E402

SHARED = Path(os.environ.get("QUANTALLOC_SHARED_DATA", ROOT.parent / "shared" / "data"))
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")

# (candidates, scenarios) of issue 19's table, with the expiries and short-strike distances
# that build a little more than that many candidates before ``max_candidates`` keeps the count
SIZES: tuple[tuple[int, int, int, tuple[float, ...]], ...] = (
    (101, 2_000, 1, (0.03, 0.06)),
    (422, 2_000, 2, (0.03, 0.06)),
    (1_600, 2_000, 3, (0.02, 0.03, 0.04, 0.06, 0.08)),
    (422, 500, 2, (0.03, 0.06)),
    (422, 10_000, 2, (0.03, 0.06)),
)
GOALS = {(422, 2_000): 1.0, (422, 10_000): 3.0, (1_600, 2_000): 3.0}  # seconds (issue 19)
CLI_BEFORE = 8.0  # seconds: the CLI solve of issue 19 (7.7-8.6 s at low load)
CLI_GOAL = 2.5


def tables() -> dict[str, pd.DataFrame]:
    """stock_data and an industry allocation over every sector of the real universe."""
    cons = pd.read_csv(SHARED / "us" / "constituents.csv")
    have = {p.stem for p in (SHARED / "us" / "daily").glob("*.csv")}
    cons = cons.loc[cons["symbol"].isin(have)]
    stock = pd.DataFrame(
        {
            "symbol": cons["symbol"],
            "industry": cons["sector"],
            "sector": cons["sector"],
            "fno_stock": True,
            "lot_size": 100,
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


def sized_model(
    n: int, expiries: int, otm: tuple[float, ...], kind: str, base: ModelSpec
) -> ModelSpec:
    """``industry_first`` with every sector a priority industry and ``n`` candidates."""
    return dataclasses.replace(
        base,
        industries=dataclasses.replace(
            base.industries, min_industry_weight=0.0, max_industries=50, max_symbols_per_industry=10
        ),
        candidates=dataclasses.replace(
            base.candidates, expiries=expiries, otm=otm, max_candidates=n
        ),
        objective=ObjectiveSpec(
            kind=kind,
            drawdown_alpha=base.objective.drawdown_alpha,
            drawdown_beta=base.objective.drawdown_beta,
        ),
    )


class Recorder(Allocator):
    """The pipeline's Allocator, keeping the inputs of its last solve for the side-by-side."""

    last: ClassVar[dict[str, Any]] = {}

    def solve(self, candidates: Any, **kw: Any) -> Any:
        Recorder.last = {
            "data": candidates,
            "kw": {
                "objective": self.objective,
                "constraints": self.constraints,
                "capital": self.capital,
            },
            "limits": kw.get("limits"),
            "rounding": self.rounding,
        }
        return super().solve(candidates, **kw)


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """The least wall and the least CPU seconds (this process, every thread) of ``repeat``
    calls, and the last result. CPU time is what the load of the shared machine leaves
    almost untouched; wall time is what a user waits."""
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), out


def engine_alone(
    rec: dict[str, Any], repeat: int, data: Any = None
) -> tuple[float, float, float, float]:
    """Best seconds of Allocator.solve on the recorded inputs (or on ``data``): wall, its solve
    and lots parts, and the least CPU seconds; and the working set's description."""
    runs, cpus = [], []
    for _ in range(repeat):
        alloc = Allocator(**rec["kw"], rounding=rec["rounding"])
        start, cpu = time.perf_counter(), time.process_time()
        res = alloc.solve(rec["data"] if data is None else data, limits=rec["limits"])
        cpus.append(time.process_time() - cpu)
        total = time.perf_counter() - start
        runs.append((total, res.solve_seconds, res.rounding.seconds if res.rounding else 0.0))
    wall, solve_s, lots_s = min(runs)
    return wall, solve_s, lots_s, min(cpus)


def tilted(data: Any) -> Any:
    """The same candidates with weighted scenarios: an exponential tilt of the equal weights,
    ``p_s ~ exp(0.5 z_s)`` with ``z`` the standardised return of the equal-weight book (the
    form entropy pooling's minimum relative entropy re-weighting takes), so a view leans on
    the joint scenarios as a calibration would."""
    from quantalloc.allocation import Candidates

    book = data.r.mean(axis=1)
    z = (book - book.mean()) / max(float(book.std()), 1e-12)
    p = np.exp(0.5 * z)
    return Candidates(
        returns=data.returns,
        probabilities=p / p.sum(),
        attributes=data.attributes,
        groups=data.groups,
        lot_cost=data.lot_cost,
    )


def direct_form(rec: dict[str, Any]) -> tuple[str, float | None, float]:
    """The direct conic form on the recorded inputs: (status, objective, seconds)."""
    alloc = Allocator(**rec["kw"], method="direct", bands="full")
    start = time.perf_counter()
    try:
        res = alloc.solve(rec["data"], limits=rec["limits"])
    except QuantallocError as exc:
        return f"failed: {str(exc)[:60]}", None, time.perf_counter() - start
    return res.status, res.objective_value, time.perf_counter() - start


def size_table(args: argparse.Namespace) -> None:
    base = load_model("industry_first")
    given = tables()
    sizing.Allocator = Recorder  # type: ignore[misc]
    print(
        f"{'cands x scen':>14} {'obj':>5} | {'solve()':>8} {'cpu':>6} {'alloc':>6} | {'engine':>6} "
        f"{'cpu':>6} {'solve':>6} {'lots':>5} | {'weighted':>8} {'cpu':>6} {'solve':>6} | "
        f"{'direct':>8} "
        f"{'fast - direct':>14} | working set / drawdown"
    )
    for n, s, expiries, otm in SIZES:
        if args.sizes and f"{n}x{s}" not in args.sizes:
            continue
        for kind in ("kelly", "rck"):
            model = sized_model(n, expiries, otm, kind, base)

            def run(model: ModelSpec = model, s: int = s) -> Any:
                return solve(
                    risk="moderate",
                    model=model,
                    market="us",
                    data=f"csv:{SHARED / 'us'}",
                    tables=given,
                    n_scenarios=s,
                )

            e2e, e2e_cpu, result = best(run, args.repeat)
            rec = dict(Recorder.last)
            alloc_s = result.solver["timings"]["allocation: solve + lots"]
            eng, eng_solve, eng_lots, eng_cpu = engine_alone(rec, args.repeat)
            weng, weng_solve, _, weng_cpu = engine_alone(rec, args.repeat, tilted(rec["data"]))
            size = rec["data"].n_candidates * rec["data"].n_scenarios
            want_direct = args.direct == "all" or (args.direct == "small" and size <= 1_000_000)
            if want_direct:
                status, value, dsec = direct_form(rec)
                gap = "" if value is None else f"{result.solver['objective_value'] - value:+.1e}"
                direct = f"{dsec:7.1f}s {gap:>14}" + ("" if status == "optimal" else f" {status}")
            else:
                direct = f"{'not run':>8} {'':>14}"
            rows = result.constraints
            drawdown = rows.loc[rows["name"] == "drawdown", "value"]
            dd = "" if drawdown.empty else f" / E[W^-l] {float(drawdown.iloc[0]):.3f}"
            goal = GOALS.get((n, s))
            verdict = (
                ""
                if goal is None
                else f"  goal {goal:g} s: " + ("met" if max(e2e, alloc_s) <= goal else "MISSED")
            )
            print(
                f"{rec['data'].n_candidates:>6} x {s:>6} {kind:>5} | {e2e:7.2f}s {e2e_cpu:5.2f}s "
                f"{alloc_s:5.2f}s "
                f"| {eng:5.2f}s {eng_cpu:5.2f}s {eng_solve:5.2f}s {eng_lots:4.2f}s "
                f"| {weng:7.2f}s {weng_cpu:5.2f}s {weng_solve:5.2f}s | {direct} | "
                f"{result.solver['name'].split('(')[-1].rstrip(')')}{dd}{verdict}",
                flush=True,
            )
    sizing.Allocator = Allocator  # type: ignore[misc]


def readme_tables(folder: Path) -> list[str]:
    """The two tables of the README's allocator paragraph, written into ``folder``."""
    c = pd.read_csv(SHARED / "us" / "constituents.csv")
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
    ind = pd.DataFrame(
        {
            "industry": s,
            "sector": s,
            "position_type": "NEUTRAL",
            "weight_percentage": round(100 / len(s), 2),
            "rating": "Neutral",
        }
    )
    stock.to_csv(folder / "stock_data.csv", index=False)
    ind.to_csv(folder / "industries.csv", index=False)
    return [
        "--table",
        f"stock_data={folder / 'stock_data.csv'}",
        "--table",
        f"industry_allocations_current={folder / 'industries.csv'}",
    ]


def cli_times(
    code: Path | None, runs: int, folder: Path, cache: Path | None
) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + system) seconds of ``quantalloc solve`` on the 51 US stocks, the
    README's command with nothing added, a fresh process per run. ``cache`` is the memo's
    folder (``$QUANTALLOC_CACHE_DIR``), kept across the runs; None: a new empty one each run
    (a cold memo: every price file parsed, every GARCH model fitted)."""
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    cmd = [
        sys.executable,
        "-c",
        "import sys; from quantalloc.cli.app import main; sys.argv[0] = 'quantalloc'; main()",
        "solve",
        "--market",
        "us",
        "--data",
        f"csv:{SHARED / 'us'}",
        *readme_tables(folder),
        "--output",
        str(folder / "us.json"),
    ]
    walls, cpus = [], []
    for i in range(runs):
        env["QUANTALLOC_CACHE_DIR"] = str(cache or folder / f"cold-{i}")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        # run from ``folder``: ``python -c`` puts the working directory first on sys.path,
        # which from the repository root would shadow ``code``
        subprocess.run(cmd, env=env, check=True, capture_output=True, cwd=folder)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def _line(label: str, walls: list[float], cpus: list[float]) -> str:
    if not walls:
        return f"{label}: not run"
    return (
        f"{label}: median {statistics.median(walls):.2f} s, min {min(walls):.2f} s, "
        f"CPU median {statistics.median(cpus):.2f} s (load {os.getloadavg()[0]:.1f})"
    )


def cli_table(args: argparse.Namespace) -> None:
    # the package's bytecode, as ``pip install`` writes it: with PYTHONDONTWRITEBYTECODE set (as
    # on this project's machine) an editable install would compile every module at every start
    import compileall

    compileall.compile_dir(ROOT / "quantalloc", quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        warm = folder / "warm"
        cli_times(None, 1, folder, warm)  # fills the memo: parsed price files, GARCH fits
        now, now_cpu = cli_times(None, args.cli_runs, folder, warm)
        cold, cold_cpu = cli_times(None, args.cold_runs, folder, None)
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys, quantalloc.pipeline.core, quantalloc.cli.render; "
                "print('cvxpy' in sys.modules, 'scipy.stats' in sys.modules)",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        if not now:
            print("\nquantalloc solve (CLI): not run (--cli-runs 0)")
            return
        met = "met" if statistics.median(now) <= CLI_GOAL else "MISSED"
        print(
            f"\nquantalloc solve, 51 US stocks, the README's command and tables, fresh processes "
            f"(goal <= {CLI_GOAL:g} s wall, median of {args.cli_runs}; issue 19 measured "
            f"~{CLI_BEFORE:g} s):\n  "
            + _line(f"warm memo ({args.cli_runs} runs, {met})", now, now_cpu)
            + "\n  "
            + _line(f"cold memo ({args.cold_runs} runs, each on an empty cache)", cold, cold_cpu)
            + f"\n  cvxpy imported: {probe[0]}, scipy.stats imported: {probe[1]}"
        )
        if args.before:
            then, then_cpu = cli_times(Path(args.before), args.cli_runs, folder, warm)
            print("  " + _line(f"the same command on {args.before}", then, then_cpu))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--direct", default="all", choices=["all", "small", "none"])
    ap.add_argument("--cli-runs", type=int, default=5)
    ap.add_argument("--cold-runs", type=int, default=3)
    ap.add_argument("--before", default=None, help="an older checkout to time the CLI from")
    ap.add_argument("--only-cli", action="store_true")
    ap.add_argument(
        "--sizes", nargs="*", default=None, help="only these sizes, e.g. 422x10000 1600x2000"
    )
    args = ap.parse_args()
    print(f"machine load (1/5/15 min) at start: {os.getloadavg()} on {os.cpu_count()} cores")
    if not args.only_cli:
        size_table(args)
    cli_table(args)
    print(f"machine load (1/5/15 min) at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
