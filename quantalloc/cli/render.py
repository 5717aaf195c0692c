"""Rich rendering of a solve result: market panel, allocation table, portfolio, constraints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from quantalloc.cli.render_risk import risk_panel
from quantalloc.pipeline.document import SolveResult


def _money(x: float, currency: str) -> str:
    return f"{x:,.0f} {currency}"


def _num(x: Any, digits: int = 2) -> str:
    if x is None:
        return "-"
    return f"{float(x):,.{digits}f}"


_SOURCE_MARK = {"chain": "c", "proxy": "p"}


def _leg_text(leg: dict[str, Any], expiry: str | None = None) -> str:
    """``+2C1400@17.68c``: side, quantity, kind, strike, price per unit and where the price came
    from (c: the chain's listed contract, p: Black-Scholes at the vol proxy); a leg on another
    expiry than the position's names it (``-1C152.5@2.10p[2018-01-19]``, a calendar's back
    month)."""
    sign = "+" if leg["side"] == "buy" else "-"
    strike = "" if leg["kind"] == "stock" else format(leg["strike"], "g")
    mark = _SOURCE_MARK.get(str(leg.get("price_source", "")), "")
    text = f"{sign}{leg['quantity']:g}{leg['kind'][0].upper()}{strike}@{leg['price']:.2f}{mark}"
    own = leg.get("expiry")
    if expiry is not None and own and leg["kind"] != "stock" and str(own) != str(expiry):
        text += f"[{own}]"
    return text


def legs_text(row: Mapping[Any, Any]) -> str:
    """A position's legs; when they span expiries (a calendar) every option leg names its own."""
    expiries = {str(g.get("expiry")) for g in row["legs"] if g["kind"] != "stock"}
    if len(expiries) > 1:
        return " ".join(
            _leg_text(g) + ("" if g["kind"] == "stock" else f"[{g.get('expiry')}]")
            for g in row["legs"]
        )
    return " ".join(_leg_text(g, str(row["expiry"])) for g in row["legs"])


def market_panel(result: SolveResult) -> Panel:
    """The market state and its component scores."""
    m = result.market
    lines = [
        f"[bold]{m.get('state')}[/]  direction {m.get('direction')} "
        f"(score {_num(m.get('direction_score'))}, confidence {_num(m.get('confidence'))}), "
        f"vol regime {m.get('vix_regime')}",
        f"technical {_num(m.get('technical_score'))}  options flow "
        f"{_num(m.get('options_flow_score'))}  price action {_num(m.get('price_action_score'))}",
        f"vol index {_num(m.get('vix'))} ({m.get('vix_source', 'series')})  put-call ratio "
        f"{_num(m.get('pcr'))}",
        f"as of {result.as_of}  data {escape(result.data_source)}"
        + ("  [bold yellow](synthetic)[/]" if result.synthetic else ""),
    ]
    return Panel("\n".join(lines), title="Market", expand=False)


WIDE_TABLE_COLUMNS = 140
"""Consoles at least this wide get one column per field; narrower ones a two-line compact table."""


def allocation_table(result: SolveResult, width: int = WIDE_TABLE_COLUMNS) -> Table:
    """One row per position; on a console narrower than WIDE_TABLE_COLUMNS, a compact layout."""
    cur = result.currency
    wide = width >= WIDE_TABLE_COLUMNS
    t = Table(
        title=f"Allocations ({len(result.allocations)} positions)",
        caption="legs: side, lots, Call/Put strike @ price per unit; c = the chain's listed "
        "contract at its fill, p = Black-Scholes at the vol proxy",
        show_lines=not wide,
    )
    columns = (
        [
            ("symbol", "left"),
            ("industry", "left"),
            ("strategy", "left"),
            ("expiry", "left"),
            ("legs", "left"),
        ]
        if wide
        else [("position / expiry and legs", "left")]
    )
    columns += [("lots", "right"), (f"capital {cur}", "right")]
    columns += [(f"max loss {cur}", "right")] if wide else []
    columns += [("PoP", "right"), ("delta", "right")]
    columns += [("gamma", "right")] if wide else []
    columns += [("vega", "right"), ("theta", "right")]
    for col, justify in columns:
        t.add_column(col, justify=justify)  # type: ignore[arg-type]
    for row in result.allocations.to_dict(orient="records"):
        legs = legs_text(row)
        if wide:
            head = [
                escape(row["symbol"]),
                escape(row["industry"]),
                escape(row["strategy_name"]),
                str(row["expiry"]),
                escape(legs),
            ]
        else:
            head = [
                f"[bold]{escape(row['symbol'])}[/] {escape(row['strategy_name'])}\n"
                f"{row['expiry']} {escape(legs)}"
            ]
        cells = [*head, str(row["lots"]), _num(row["allocated_capital"], 0)]
        cells += [_num(row["max_loss"], 0)] if wide else []
        cells += [f"{row['probability_of_profit']:.0%}", _num(row["delta"], 0)]
        cells += [_num(row["gamma"], 1)] if wide else []
        cells += [_num(row["vega"], 0), _num(row["theta"], 0)]
        t.add_row(*cells)
    return t


def portfolio_panel(result: SolveResult) -> Group:
    """Capital against budget, Greeks against limits, growth, and the industries against target."""
    p = result.portfolio
    cur = result.currency
    used = float(p["allocated_capital"])
    head = Table.grid(padding=(0, 2))
    head.add_column()
    head.add_column(justify="right")
    head.add_row(
        "capital used / budget",
        f"{_money(used, cur)} / {_money(result.budget, cur)} ({used / result.budget:.1%})"
        if result.budget
        else "-",
    )
    head.add_row("max loss (sum)", _money(float(p["max_loss"]), cur))
    head.add_row(
        "net vega / limit",
        f"{_num(p['vega'], 0)} / +-{_num(result.limits['max_abs_vega'], 0)} {cur} per vol point",
    )
    head.add_row("net delta", f"{_num(p['delta'], 0)} {cur} per point")
    head.add_row("net theta", f"{_num(p['theta'], 0)} {cur} per day")
    head.add_row("net gamma", _num(p["gamma"], 2))
    head.add_row("expected log growth", f"{float(p['expected_log_growth']):.5f} per horizon")
    theta_pos = float(p.get("theta_positive_capital", 0.0))
    head.add_row(
        "theta-positive capital / cap",
        f"{_money(theta_pos, cur)} / {result.limits['max_theta_positive']:.0%} of budget "
        "(positions whose theta > 0)",
    )
    rounding = dict(result.solver.get("rounding") or {})
    if rounding:
        status = str(rounding.get("status", "-"))
        style = "green" if status in ("ok", "optimal") else "bold yellow"
        head.add_row(
            "lot rounding",
            f"{escape(str(rounding.get('method', '-')))}: [{style}]{escape(status)}[/]"
            f" (objective lost {float(rounding.get('objective_lost', 0.0)):.3g})",
        )
    edge = p.get("edge") or {}
    if edge:
        head.add_row(
            "expected return by source",
            ", ".join(f"{escape(k)} {v:+.2%}" for k, v in edge.items()),
        )
    if p.get("views"):
        head.add_row("views", escape("; ".join(p["views"])))
    tol = result.limits.get("industry_target_tolerance")
    ind = Table(
        title="By industry (weight: share of budget; deployed: share of the options capital "
        "deployed, which the targets are" + ("" if tol is None else f", +-{tol:.0%}") + ")"
    )
    for col in ("industry", "capital", "weight", "deployed", "target", "deviation", "cap"):
        ind.add_column(col, justify="left" if col == "industry" else "right")
    for name, row in p["by_industry"].items():
        target, dev = row.get("target_weight"), row.get("deviation")
        off = dev is not None and tol is not None and abs(dev) > tol + 1e-9
        ind.add_row(
            escape(name),
            _num(row["capital"], 0),
            f"{row['weight']:.1%}",
            f"{row.get('deployed_weight', 0.0):.1%}",
            "-" if target is None else f"{target:.1%}",
            "-" if dev is None else (f"[yellow]{dev:+.1%}[/]" if off else f"{dev:+.1%}"),
            f"{result.limits['max_industry']:.0%}",
        )
    if not p["by_industry"]:
        return Group(Panel(head, title="Portfolio", expand=False))
    return Group(Panel(head, title="Portfolio", expand=False), ind)


def _bound(value: Any) -> float | None:
    return None if value is None or value != value else float(value)


def constraint_cells(row: Mapping[Any, Any]) -> tuple[str, str, str, str]:
    """Target, band, value before lots and value after lots of one constraint row.

    A target band (``lower`` and ``upper``) shows its midpoint as the target; a cap shows
    ``<= limit``, a floor ``>= limit``. Binding is judged on the continuous optimum, so its
    value is shown beside the value the whole lots realise.
    """
    lo, hi = _bound(row.get("lower")), _bound(row.get("upper"))
    if lo is not None and hi is not None:
        target, band = _num((lo + hi) / 2, 4), f"{_num(lo, 4)} .. {_num(hi, 4)}"
    elif hi is not None:
        target, band = "-", f"<= {_num(hi, 4)}"
    elif lo is not None:
        target, band = "-", f">= {_num(lo, 4)}"
    else:
        target, band = "-", _num(row.get("limit"), 4)
    before = row.get("before_lots")
    return (
        target,
        band,
        _num(before if before is not None else row["value"], 4),
        _num(row["value"], 4),
    )


def constraints_table(result: SolveResult) -> Table:
    """Binding constraints: target, band, the value at the optimum and after lots, shadow price."""
    t = Table(
        title="Binding constraints (binding at the continuous optimum; shadow price = objective "
        "gain per unit of relaxation)"
    )
    for col in ("constraint", "target", "band", "optimum", "after lots", "shadow price"):
        t.add_column(col, justify="left" if col == "constraint" else "right")
    shown, folded = _fold_families(result.binding_constraints().to_dict(orient="records"))
    for row in shown:
        t.add_row(
            escape(row["name"]),
            *constraint_cells(row),
            "-" if row["dual"] is None else f"{float(row['dual']):.3g}",
        )
    for family, rows in folded.items():
        duals = [abs(d) for d in (_bound(r["dual"]) for r in rows) if d is not None]
        t.add_row(  # the count first: a narrow table cuts the end of a name
            f"[dim]+{len(rows)} more {escape(family + '[...]')}[/]",
            "",
            "",
            "",
            "",
            f"[dim]<= {max(duals):.3g}[/]" if duals else "-",
        )
    return t


ROWS_PER_FAMILY = 5
"""Rows of one per-candidate family (``max_negative_edge[...]``) the report lists; the rest are
counted in one line (the JSON ``constraints`` keeps every row). The US solve of the README
binds 202 negative-edge rows at zero: listed, they buried the three rows a reader needs."""


def _fold_families(
    rows: list[dict[Any, Any]],
) -> tuple[list[dict[Any, Any]], dict[str, list[dict[Any, Any]]]]:
    """The rows to list (per family, those with the largest shadow prices, in their order) and
    the rest of each family with more than :data:`ROWS_PER_FAMILY` rows, by family name."""
    families: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        families.setdefault(str(row["name"]).split("[", 1)[0], []).append(i)
    keep: set[int] = set()
    folded: dict[str, list[dict[Any, Any]]] = {}
    for family, index in families.items():
        if len(index) <= ROWS_PER_FAMILY:
            keep.update(index)
            continue
        by_dual = sorted(index, key=lambda i: -abs(_bound(rows[i]["dual"]) or 0.0))
        keep.update(by_dual[:ROWS_PER_FAMILY])
        folded[family] = [rows[i] for i in sorted(by_dual[ROWS_PER_FAMILY:])]
    return [row for i, row in enumerate(rows) if i in keep], folded


def render(result: SolveResult, console: Console) -> None:
    """Print the whole report."""
    console.print(market_panel(result))
    if len(result.allocations):
        console.print(allocation_table(result, console.width))
    else:
        console.print(
            "[yellow]no position: no candidate adds expected log growth within the limits[/]"
        )
    console.print(portfolio_panel(result))
    risk = risk_panel(result)
    if risk is not None:
        console.print(risk)
    if len(result.binding_constraints()):
        console.print(constraints_table(result))
    else:
        console.print("no constraint binds at the optimum")
    for note in result.notes:
        console.print(f"[dim]note: {escape(note)}[/]")


__all__ = [
    "allocation_table",
    "constraint_cells",
    "constraints_table",
    "legs_text",
    "market_panel",
    "portfolio_panel",
    "render",
]
