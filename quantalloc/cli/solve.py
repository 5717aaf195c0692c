"""``quantalloc solve``: the industry-first options allocation, end to end."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from quantalloc.cli.console import (
    console,
    err_console,
    progress_bar,
    synthetic_banner,
)
from quantalloc.cli.options import (
    AsOfOpt,
    ChainsOpt,
    DataOpt,
    MarketOpt,
    OutputOpt,
    StoreOpt,
    TableOpt,
    VerboseOpt,
    VixOpt,
    VixSourceOpt,
    open_chains,
)
from quantalloc.pipeline.requests import LIMIT_UNITS

RISK_CHOICES = ("conservative", "moderate", "aggressive")


def register(app: typer.Typer) -> None:
    """Add the ``solve`` command to ``app``."""
    app.command("solve")(solve)


def solve(
    risk: Annotated[
        str, typer.Option("--risk", help="Risk profile: conservative, moderate or aggressive.")
    ] = "moderate",
    model: Annotated[
        str,
        typer.Option(
            "--model", help="Model name in models/ (industry_first, advanced) or a .toml."
        ),
    ] = "industry_first",
    market: MarketOpt = "in",
    capital: Annotated[
        float | None,
        typer.Option(
            "--capital", help="Total capital in the market's currency (default per market)."
        ),
    ] = None,
    vix: VixOpt = None,
    as_of: AsOfOpt = None,
    data: DataOpt = "auto",
    table: TableOpt = None,
    normalize_weights: Annotated[
        bool,
        typer.Option(
            "--normalize-weights",
            help="Rescale industry weights that sum to more than 100% instead of failing.",
        ),
    ] = False,
    symbol: Annotated[
        str | None, typer.Option("--symbol", help="Analyse one symbol in its industry context.")
    ] = None,
    max_industries: Annotated[
        int | None,
        typer.Option("--max-industries", min=1, help="At most this many priority industries."),
    ] = None,
    scenarios: Annotated[
        int | None,
        typer.Option("--scenarios", min=50, help="Number of joint scenarios (model default 2000)."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, help="Scenario seed (model default).")
    ] = None,
    limit: Annotated[
        list[str] | None,
        typer.Option(
            "--limit",
            metavar="NAME=VALUE",
            help="Override a limit for this run, repeatable. Names: "
            + "; ".join(f"{k} ({v})" for k, v in LIMIT_UNITS.items())
            + ". A bracket picks one row: max_industry[IT]=0.35.",
        ),
    ] = None,
    chain: Annotated[
        str | None,
        typer.Option(
            "--chain",
            help="The index's option chain file (CSV or Upstox JSON) for the put-call ratio "
            "and options-flow score.",
        ),
    ] = None,
    chains: ChainsOpt = None,
    vix_source: VixSourceOpt = "auto",
    views: Annotated[
        str,
        typer.Option(
            "--views",
            metavar="none|model|FILE",
            help="Where edge may come from: none (calibrated scenarios only, so no trade "
            "without costs' help), model (the model's named views: regime, industry drift, "
            "variance risk premium) or a TOML file of [[view]] tables (name, symbol or "
            "industry, drift a year, optional vol_ratio).",
        ),
    ] = "model",
    output: OutputOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Do not store the run (the default).")
    ] = False,
    update_database: Annotated[
        bool, typer.Option("--update-database", help="Store the run in the store (--store).")
    ] = False,
    store: StoreOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Allocate options capital across industries, symbols and strategies (convex program).

    Reads the industry allocation and the market, builds option-strategy candidates for the
    priority industries' symbols, sizes them by Kelly within the model's limits, rounds to whole
    lots, and prints (or writes with --output) the result.
    """
    from quantalloc.errors import ConfigError

    if risk.strip().lower() not in RISK_CHOICES:
        raise ConfigError(
            f"--risk {risk!r} is not a risk profile; choose one of {', '.join(RISK_CHOICES)}"
        )
    if dry_run and update_database:
        raise ConfigError("--dry-run and --update-database exclude each other; pass one of them")

    from quantalloc.cli.options import open_provider
    from quantalloc.cli.paths import output_file
    from quantalloc.cli.render import render
    from quantalloc.data.tables import parse_table_args
    from quantalloc.pipeline import solve as run_solve
    from quantalloc.pipeline.requests import check_levels, check_limits

    if output:
        output_file(output, "--output", (".json",))
    overrides = check_limits(_parse_limits(limit))
    from quantalloc.pipeline.views import resolve_views

    resolve_views(views)  # a bad --views fails before any data is read
    check_levels(capital=capital, vix=vix, n_scenarios=scenarios)
    tables = parse_table_args(table, normalize=normalize_weights)
    tables.update(_store_tables(store, tables))
    chain_source = open_chains(chains, market, store)
    provider = open_provider(data, market, banner=False)
    if not {"stock_data", "industry_allocations_current"} <= set(tables):
        if data.strip().lower() == "auto" and not hasattr(provider, "universe"):
            provider = open_provider("demo", market, banner=False)
    with progress_bar() as bar:
        tasks: dict[str, object] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

        result = run_solve(
            risk=risk,
            model=model,
            market=market,
            capital=capital,
            vix=vix,
            as_of=as_of,
            data=provider,
            tables=tables,
            symbol=symbol,
            max_industries=max_industries,
            n_scenarios=scenarios,
            seed=seed,
            limits=overrides,
            chain=chain,
            chains=chain_source,
            vix_source=vix_source,
            views=views,
            progress=progress,
        )
    if result.synthetic:
        synthetic_banner(result)
    render(result, console)
    if output:
        path = result.write_json(output)
        console.print(f"wrote {path}")
    if update_database:
        from quantalloc.cli.console import open_cli_store, store_env
        from quantalloc.storage import default_db_path, select_url

        env = store_env()
        target = open_cli_store(store)
        try:
            if store is None and select_url(None, env) == f"sqlite:///{default_db_path(env)}":
                target.init()  # the embedded default store is created on first use
            saved = target.save_run(result.to_document())
        finally:
            target.close()
        console.print(
            f"stored run {result.run_id} in {target.display}" if saved else "run already stored",
            markup=False,
        )
    if result.synthetic:
        synthetic_banner(result)


STORE_TABLES = ("stock_data", "industry_allocations_current", "strategies", "option_chain_data")
"""The input tables a solve reads from the store in force when --table does not give them."""


def _store_tables(store: str | None, given: dict[str, Any]) -> dict[str, Any]:
    """The input tables the store in force holds, for those --table does not give.

    The store is the one every command uses: --store, else DATABASE_URL (environment or
    .env), else the default SQLite file (used when it holds the tables, after `db import`).
    A store named by --store or DATABASE_URL must be readable: an unreachable one is an
    error, never skipped. The report's "tables:" note says where each table came from.
    """
    from quantalloc.cli.console import open_cli_store, store_env

    wanted = [name for name in STORE_TABLES if name not in given]
    env = store_env()
    configured = store is not None or bool(env.get("DATABASE_URL", "").strip())
    if not configured and not {"stock_data", "industry_allocations_current"} - set(given):
        return {}  # decided before importing the storage layer (SQLAlchemy: 0.2-0.3 s)
    from quantalloc.storage import default_db_path

    if not configured and not default_db_path(env).is_file():
        return {}
    opened = open_cli_store(store)
    try:
        if not configured and opened.schema_version() == 0:
            return {}
        found = {name: frame for name in wanted if len(frame := opened.read_table(name))}
        for frame in found.values():
            frame.attrs["origin"] = f"the store {opened.display}"
    finally:
        opened.close()
    missing = [
        name
        for name in ("stock_data", "industry_allocations_current")
        if name not in given and name not in found
    ]
    if missing:  # the data source's own tables (the demo market's), said by the caller
        if configured:
            err_console.print(
                f"note: the store {opened.display} holds no {' and no '.join(missing)} rows",
                markup=False,
                highlight=False,
            )
        return {}
    return found  # the report's "tables:" note names the store they came from


def _parse_limits(items: list[str] | None) -> dict[str, float]:
    from quantalloc.errors import ConfigError

    out: dict[str, float] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not sep or not name.strip() or number != number:
            raise ConfigError(f"--limit takes NAME=NUMBER (e.g. max_strategy=0.2), got {item!r}")
        out[name.strip()] = number
    return out
