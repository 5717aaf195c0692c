"""Render a `quantalloc tune --output` JSON as the Markdown result table of an experiment README.

Usage: python experiments/render.py experiments/NAME/results/summary.json > .../summary.md
"""

from __future__ import annotations

import json
import sys
from typing import Any


def fmt(value: Any, pct: bool = False) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.1%}" if pct else f"{value:.3f}"
    return str(value)


def render(doc: dict[str, Any]) -> str:
    oos, ins = doc["out_of_sample"], doc["in_sample"]
    dsr, pbo, wf = doc.get("deflated_sharpe") or {}, doc.get("pbo") or {}, doc.get("walk_forward")
    folds = doc["folds"]
    lines = [
        f"Study `{doc['study']}` on `{doc['data']}`, {doc['window']['start']} .. "
        f"{doc['window']['end']}, {len(folds)} walk-forward folds (test windows "
        + ", ".join(f"{f['test_start']}..{f['test_end']}" for f in folds)
        + ").",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| trials (complete / pruned / failed) | {doc['n_trials']} ({doc['n_complete']} / "
        f"{doc['n_pruned']} / {doc['n_failed']}) |",
        f"| objective | out-of-sample {doc['metric']} |",
        f"| best trial | #{doc['best_trial']} |",
    ]
    for k, v in doc["best_params"].items():
        lines.append(f"| &nbsp;&nbsp;`{k}` | {fmt(v)} |")
    lines += [
        f"| in-sample {doc['metric']} (mean of folds) | {fmt(next(iter(ins.values())))} |",
        f"| out-of-sample Sharpe | {fmt(oos.get('sharpe'))} |",
        f"| out-of-sample CAGR | {fmt(oos.get('cagr'), True)} |",
        f"| out-of-sample max drawdown | {fmt(oos.get('max_drawdown'), True)} |",
        f"| out-of-sample score | {fmt(oos.get('score'))} |",
    ]
    if wf:
        lines.append(
            f"| walk-forward selection Sharpe (best-in-training per fold: trials "
            f"{', '.join(map(str, wf['chosen_trials']))}) | {fmt(wf['sharpe'])} |"
        )
    base = doc.get("baseline")
    if base and base.get("out_of_sample"):
        b = base["out_of_sample"]
        lines.append(
            f"| untuned defaults (trial #{base['trial']}): out-of-sample Sharpe / CAGR / max DD | "
            f"{fmt(b['sharpe'])} / {fmt(b['cagr'], True)} / {fmt(b['max_drawdown'], True)} |"
        )
    if dsr:
        lines.append(
            f"| deflated Sharpe ratio (N = {dsr['n_trials']}, SR* = "
            f"{dsr['expected_max_sharpe']:.4f}/day vs SR = {dsr['sharpe']:.4f}/day) | "
            f"{fmt(dsr['dsr'])} |"
        )
    if pbo:
        lines.append(
            f"| probability of backtest overfitting ({pbo['n_configurations']} configurations, "
            f"S = {pbo['n_blocks']}, {pbo['n_splits']} splits) | {fmt(pbo['pbo'])} |"
        )
        lines.append(
            f"| CSCV probability of out-of-sample loss | {fmt(pbo['probability_of_loss'])} |"
        )
    if doc.get("at_search_bounds"):
        lines.append(
            f"| best value on the edge of the search space | {', '.join(doc['at_search_bounds'])} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    with open(sys.argv[1]) as fh:
        sys.stdout.write(render(json.load(fh)))
