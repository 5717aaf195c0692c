"""``quantalloc runs ...``: list stored solve runs and show one (as a table or its JSON)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from quantalloc.cli.console import console, open_cli_store
from quantalloc.cli.options import StoreOpt, VerboseOpt, command_group

runs = command_group("Solve runs kept in the store (`solve --update-database` writes them).")


def register(app: typer.Typer) -> None:
    """Add the ``runs`` command group to ``app``."""
    app.add_typer(runs, name="runs")


def _num(value: Any, digits: int = 0) -> str:
    """A number with thousands separators; any other value as text safe to print as markup."""
    if value is None or value != value:  # None or NaN
        return "-"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,.{digits}f}"
    return escape(str(value))


def _date(value: Any) -> str:
    if value is None or value != value:
        return "-"
    text = str(value)
    return text[:10] if text.endswith("00:00:00") else text[:19]


@runs.command("list")
def list_(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many runs.")] = 20,
    store: StoreOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """List the latest runs, newest first."""
    opened = open_cli_store(store)
    try:
        frame = opened.list_runs(limit=limit)
        synthetic = {  # the demo market's runs are marked, as their reports are
            str(run_id): bool((opened.get_run(str(run_id)).get("market") or {}).get("synthetic"))
            for run_id in frame["run_id"]
        }
    finally:
        opened.close()
    if frame.empty:
        console.print(f"no runs stored in {opened.display} yet", soft_wrap=True)
        return
    for row in frame.itertuples(index=False):
        currency = "" if _num(row.currency) == "-" else " " + _num(row.currency)
        console.print(
            f"[bold]{escape(str(row.run_id))}[/]  created {_date(row.created_at)[:16]} UTC  as of "
            f"{_date(row.as_of)}  {_num(row.model)}/{_num(row.risk)}  "
            f"{_num(row.market_state)}  {row.n_allocations} positions  capital "
            f"{_num(row.capital)}{currency}  allocated {_num(row.allocated_capital)}"
            + ("  [bold yellow](synthetic)[/]" if synthetic.get(str(row.run_id)) else ""),
            soft_wrap=True,
            highlight=False,
        )


@runs.command("show")
def show(
    run_id: Annotated[
        str, typer.Argument(help="The run's id (see `quantalloc runs list`), or 'latest'.")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the stored JSON document unchanged.")
    ] = False,
    store: StoreOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Show one run: its settings, market state and positions."""
    import json

    opened = open_cli_store(store)
    try:
        if run_id.strip().lower() == "latest":
            newest = opened.list_runs(limit=1)
            if newest.empty:
                from quantalloc.errors import StorageError

                raise StorageError(
                    f"no runs stored in {opened.display} yet; store one with "
                    "`quantalloc solve --update-database`"
                )
            run_id = str(newest["run_id"].iloc[0])
        document = opened.get_run(run_id)
    finally:
        opened.close()
    if as_json:
        typer.echo(json.dumps(document, indent=2, sort_keys=True))
        return
    market = document.get("market") or {}
    portfolio = document.get("portfolio") or {}
    currency = document.get("currency") or ""
    console.print(
        f"run {_num(document['run_id'])}  as of {_num(document.get('as_of'))}  model "
        f"{_num(document.get('model'))}  risk {_num(document.get('risk'))}"
        + ("  [bold yellow](SYNTHETIC demo data)[/]" if market.get("synthetic") else ""),
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"market {_num(market.get('state'))} (VIX {_num(market.get('vix'), 2)}, PCR "
        f"{_num(market.get('pcr'), 2)})  capital {_num(document.get('capital'))} {_num(currency)}  "
        f"budget {_num(document.get('budget'))}  allocated "
        f"{_num(portfolio.get('allocated_capital'))}",
        highlight=False,
        soft_wrap=True,
    )
    for i, p in enumerate(document.get("allocations", []), start=1):
        console.print(
            f"{i:>3}. [bold]{_num(p.get('symbol'))}[/]  {_num(p.get('strategy_name'))}  "
            f"{_num(p.get('position_type'))}  expiry {_num(p.get('expiry'))}  "
            f"{_num(p.get('lots'))} lots x {_num(p.get('lot_size'))}  capital "
            f"{_num(p.get('allocated_capital'))}  max loss {_num(p.get('max_loss'))}  "
            f"PoP {_num(p.get('probability_of_profit'), 2)}  delta {_num(p.get('delta'), 1)}  "
            f"gamma {_num(p.get('gamma'), 2)}  vega {_num(p.get('vega'), 1)}  "
            f"theta {_num(p.get('theta'), 1)}",
            soft_wrap=True,
            highlight=False,
        )
