"""The solve report's book-risk part: exposure, VaR/CVaR, margin, naked positions, stress."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from quantalloc.pipeline.document import SolveResult


def _n(x: Any, digits: int = 0) -> str:
    return f"{float(x):,.{digits}f}"


def risk_panel(result: SolveResult) -> Group | None:
    """Book risk as a desk reads it, or None when the document has no risk block."""
    risk = result.portfolio.get("risk")
    if not risk:
        return None
    cur = result.currency
    bwd = risk["beta_weighted_delta"]
    margin = risk["margin"]
    head = Table.grid(padding=(0, 2))
    head.add_column()
    head.add_column(justify="right")
    head.add_row("dollar delta", f"{_n(risk['dollar_delta'])} {cur}")
    head.add_row(
        f"beta-weighted delta ({escape(str(risk.get('index', 'index')))})",
        f"{_n(bwd['index_points'], 2)} {cur} per index point = {_n(bwd['currency'])} {cur}",
    )
    head.add_row(
        "gross / net exposure",
        f"{_n(risk['gross_exposure'])} / {_n(risk['net_exposure'])} {cur} "
        f"({risk['gross_exposure_of_capital']:.0%} / {risk['net_exposure_of_capital']:.0%} "
        "of capital)",
    )
    head.add_row(
        "dollar gamma / vega / theta",
        f"{_n(risk['dollar_gamma'])} per 1% / {_n(risk['vega'])} per vol point / "
        f"{_n(risk['theta'])} per day",
    )
    head.add_row(
        f"VaR / CVaR 95% ({risk['horizon_days']} sessions)",
        f"{_n(risk['var_95'])} / {_n(risk['cvar_95'])} {cur}",
    )
    head.add_row("VaR / CVaR 99%", f"{_n(risk['var_99'])} / {_n(risk['cvar_99'])} {cur}")
    head.add_row(
        "margin / budget",
        f"{_n(margin['total'])} / {_n(margin['budget'])} {cur} ({margin['of_budget']:.0%}); "
        f"naked {_n(margin['naked'])}",
    )
    parts: list[Any] = [Panel(head, title="Book risk", expand=False)]
    naked = result.allocations.loc[result.allocations["unbounded_loss"].astype(bool)]
    for row in naked.to_dict(orient="records"):
        parts.append(
            f"[bold red]unbounded loss[/]: {escape(row['symbol'])} {escape(row['strategy_name'])}"
            f" x{row['lots']}, margin {_n(row['margin'])} {cur} ({escape(margin['rule'])})"
        )
    parts.append(stress_grid(risk["stress"], cur))
    return Group(*parts)


def stress_grid(rows: list[dict[str, float]], currency: str) -> Table:
    """The stress table: index moves down, vol moves across, P&L in the cells."""
    moves = sorted({r["index_move"] for r in rows})
    vols = sorted({r["vol_move"] for r in rows})
    pnl = {(r["index_move"], r["vol_move"]): r["pnl"] for r in rows}
    t = Table(title=f"Stress P&L ({currency}; index move through each stock's beta)")
    t.add_column("index")
    for v in vols:
        t.add_column(f"vol {v:+g} pts", justify="right")
    for m in moves:
        t.add_row(f"{m:+.0%}", *(_n(pnl.get((m, v), float("nan"))) for v in vols))
    return t


__all__ = ["risk_panel", "stress_grid"]
