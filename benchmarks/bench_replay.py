"""Seconds per rebalance of the allocator replay, against issue 16's goals.

The two commands are read from the README's results table (the rows that start with
``quantalloc backtest allocator``), so the figures are those of exactly the command the README
shows; each runs through the CLI in this process (imports and the tables outside the figure):

- **US**: the 51 US stocks of ``csv:../shared/data/us``, 2016-01-04 .. 2017-11-30, a solve every
  21 sessions at 300 scenarios, marks by the proxy. Goal: at most 0.5 s a rebalance; issue 16
  measured 1.3-1.5 s a solve before.
- **NIFTY 50 on chains**: the F&O bhavcopy of 2026-01-01 .. 2026-02-13, a solve every 5 sessions
  on that session's listed contracts, every position marked at its contract's price, the proxy
  re-pricing (``--compare-proxy``) included. Goal: at most 2 s a rebalance.

    python benchmarks/bench_replay.py [--only us|in] [--cold]

Printed per command: the replay's own ``timings`` (wall-clock seconds per rebalance and the part
in the solve), the CPU seconds per rebalance (this process, all threads: steadier than the wall
clock on a shared machine), the machine's load average, and the result beside the README's
row (total return, Sharpe, closed trades), so a stale README figure shows. ``--cold`` points the
fit memo at an empty folder first, so every GARCH fit is computed (a first run on a new
machine); by default the memo is whatever earlier runs left (a second run: fits read back).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHARED = Path(os.environ.get("QUANTALLOC_SHARED_DATA", ROOT.parent / "shared" / "data"))
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")
BEFORE = "1.3-1.5 s a solve (issue 16, measured alone, 300 scenarios)"
GOALS = {"us": 0.5, "in": 2.0}


def readme_rows() -> dict[str, dict[str, Any]]:
    """The README's allocator rows: ``us`` and ``in``, each its command and printed figures."""
    rows = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        if not line.startswith("| `quantalloc backtest allocator"):
            continue
        command = line.split("`")[1]
        cells = [c.strip() for c in line.split("|")]
        key = "in" if "--market in" in command else "us"
        rows[key] = {
            "args": shlex.split(command)[1:],
            "total": cells[3],
            "sharpe": cells[5],
            "trades": cells[7],
        }
    return rows


def us_tables(folder: Path) -> None:
    """The README's US tables (its ``python -c`` lines): each GICS sector an industry."""
    c = pd.read_csv(SHARED / "us" / "constituents.csv")
    sectors = sorted(c["sector"].unique())
    pd.DataFrame({"symbol": c["symbol"], "industry": c["sector"], "sector": c["sector"],
                  "fno_stock": True, "lot_size": 100, "market_cap_category": "Large"}
                 ).to_csv(folder / "stock_data.csv", index=False)  # fmt: skip
    pd.DataFrame({"industry": sectors, "sector": sectors, "position_type": "NEUTRAL",
                  "weight_percentage": round(100 / len(sectors), 2), "rating": "Neutral"}
                 ).to_csv(folder / "industries.csv", index=False)  # fmt: skip


def in_tables(folder: Path) -> None:
    """The README's NSE tables (tests/pipeline/test_solve_chains.py writes them)."""
    from tests.pipeline.test_solve_chains import _tables

    _tables(SHARED, folder)


def localise(args: list[str], folder: Path, out: Path) -> list[str]:
    """The README's arguments with its paths pointed here: the shared data, the tables."""
    fixed = []
    for a in args:
        a = a.replace("../shared/data", str(SHARED))
        a = re.sub(r"/tmp/(replay|nse)/", f"{folder}/", a)
        fixed.append(a)
    return [*fixed, "--output", str(out)]


def one_solve(doc: dict[str, Any], first: str) -> float:
    """Seconds of one standalone ``quantalloc.solve`` as the replay's first rebalance asks it
    (GARCH fits not remembered in memory): the per-solve figure of before, under this load."""
    from quantalloc.backtest.registry import make_params
    from quantalloc.backtest.strategies import allocator
    from quantalloc.data.sources import get_provider
    from quantalloc.options import forecast
    from quantalloc.pipeline import solve

    keep = ("chains", "compare_proxy")
    p = make_params("allocator", {k: v for k, v in doc["params"].items() if k not in keep})
    chains = doc["params"].get("chains") or None
    provider = get_provider(doc["data"], p.market)
    forecast._FITS.clear()
    t0 = time.perf_counter()
    solve(risk=p.risk, model=allocator._spec(p), market=p.market, capital=doc["capital"],
          as_of=first, data=provider, tables=allocator._tables(p), n_scenarios=p.n_scenarios,
          seed=p.seed, **({"chains": chains} if chains else {}))  # fmt: skip
    return time.perf_counter() - t0


def run(key: str, row: dict[str, Any], folder: Path) -> None:
    from typer.testing import CliRunner

    from quantalloc.cli.app import app

    (us_tables if key == "us" else in_tables)(folder)
    out = folder / f"{key}.json"
    args = localise(row["args"], folder, out)
    load0 = os.getloadavg()[0]
    c0 = time.process_time()
    res = CliRunner().invoke(app, args)
    cpu = time.process_time() - c0
    if res.exit_code != 0:
        raise SystemExit(f"{key}: the README command failed:\n{res.output[-2000:]}")
    doc = json.loads(out.read_text())
    t, m = doc["timings"], doc["metrics"]
    n = t["rebalances"]
    load = max(load0, os.getloadavg()[0])
    name = "US (README command)" if key == "us" else "NIFTY 50 on chains"
    goal = GOALS[key]
    print(
        f"{name:<20} {n:>3} rebalances  {t['seconds_per_rebalance']:5.2f} s each wall "
        f"({t['solve_seconds_per_rebalance']:.2f} s in the solve), {cpu / n:5.2f} s CPU  "
        f"load {load:.1f}  goal <= {goal:g} s: {'met' if cpu / n <= goal else 'NOT met'} (CPU)"
    )
    now = f"total {m['total_return']:+.1%}, Sharpe {m['sharpe']:.2f}, {m['trades']} closed trades"
    then = f"README: {row['total']}, Sharpe {row['sharpe']}, {row['trades']}"
    print(f"{'':<20} {now}  ({then})")
    alone = one_solve(doc, min(doc["equity"]))
    print(f"{'':<20} one standalone solve of its first session: {alone:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=("us", "in"), default=None)
    ap.add_argument("--cold", action="store_true", help="an empty fit memo (every fit computed)")
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    import warnings

    warnings.simplefilter("ignore")
    import quantalloc.cli.app
    import quantalloc.pipeline  # noqa: F401

    rows = readme_rows()
    print(f"before this issue: {BEFORE}; goals: US <= 0.5 s, NIFTY 50 on chains <= 2 s")
    with tempfile.TemporaryDirectory() as tmp:
        if args.cold:
            os.environ["QUANTALLOC_CACHE_DIR"] = str(Path(tmp) / "cache")
            print("fit memo: empty (every GARCH fit computed)")
        for key in ("us", "in"):
            if args.only in (None, key):
                folder = Path(tmp) / key
                folder.mkdir()
                run(key, rows[key], folder)


if __name__ == "__main__":
    main()
