"""``quantalloc db ...``: create the schema, import and export input tables, show the store.

The store URL comes from ``--store``, else ``DATABASE_URL``, else the default SQLite file
(``QUANTALLOC_DB`` overrides its path). Credentials come only from the environment or a
``.env`` file; they are never printed: every message shows the store without its password.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from quantalloc.atomic import write_atomic
from quantalloc.cli.console import console, fail, open_cli_store
from quantalloc.cli.options import StoreOpt, VerboseOpt, command_group

db = command_group("The store of input tables and solve runs: init, import, export, status.")


def register(app: typer.Typer) -> None:
    """Add the ``db`` command group to ``app``."""
    app.add_typer(db, name="db")


@db.command("init")
def init(store: StoreOpt = None, verbose: VerboseOpt = False) -> None:
    """Create the quantalloc tables in the store (or upgrade them); safe to run again."""
    opened = open_cli_store(store)
    try:
        before = opened.schema_version() if opened.backend != "supabase" else None
        version = opened.init()
    finally:
        opened.close()
    if before is not None and before == version:
        console.print(
            f"schema version {version} already in place at {opened.display}", soft_wrap=True
        )
    else:
        console.print(f"schema version {version} ready at {opened.display}", soft_wrap=True)


@db.command("schema")
def schema() -> None:
    """Print the PostgreSQL schema script to paste into the Supabase SQL editor."""
    from quantalloc.storage.schema_sql import schema_sql

    typer.echo(schema_sql(), nl=False)


@db.command("status")
def status(store: StoreOpt = None, verbose: VerboseOpt = False) -> None:
    """Show which store is in use, its schema version and the row count of every table."""
    from rich.table import Table

    opened = open_cli_store(store)
    try:
        version = opened.schema_version()
        counts = opened.table_counts()
    finally:
        opened.close()
    console.print(f"store   {opened.display} ({opened.backend})", soft_wrap=True)
    if version == 0:
        console.print("schema  none: run `quantalloc db init`")
    else:
        console.print(f"schema  version {version}", soft_wrap=True)
    table = Table("table", "rows")
    for name, count in counts.items():
        table.add_row(name, "not created" if count is None else f"{count:,}")
    console.print(table)


@db.command("import")
def import_(
    table: Annotated[str, typer.Argument(help="Input table, e.g. industry_allocations_current.")],
    file: Annotated[Path, typer.Argument(help="CSV file with the table's columns.")],
    append: Annotated[
        bool, typer.Option("--append", help="Add the rows instead of replacing the table.")
    ] = False,
    normalize_weights: Annotated[
        bool,
        typer.Option(
            "--normalize-weights",
            help="Weights summing to more than 100%: rescale them to 100% instead of refusing.",
        ),
    ] = False,
    store: StoreOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Load an input table from a CSV file (validated; all or nothing).

    Tables and their columns (names match without regard to case):
    industry_allocations_current: industry, position_type, weight_percentage; optional sector,
    rating. sector_allocations_current: sector, weight_percentage; optional position_type,
    rating. stock_data: symbol, industry; optional sector, fno_stock, lot_size,
    market_cap_category. stock_rankings: symbol, score; optional market_cap_category.
    strategies: stock_name, strategy_name, total_score; optional industry,
    probability_of_profit, risk_reward_ratio, legs. option_chain_data: symbol, as_of, expiry,
    strike, kind; optional root, bid, ask, last, settlement, volume, open_interest, implied_vol,
    spot, lot_size.
    """
    import pandas as pd

    from quantalloc.data.tables import validate_table
    from quantalloc.errors import DataError
    from quantalloc.storage.schema import check_input_table

    check_input_table(table)
    if not file.is_file():
        fail(f"no CSV file at {file}; give the path of an existing file")
    try:
        frame = pd.read_csv(file)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"cannot read {file} as CSV: {str(exc).splitlines()[0]}") from None
    if normalize_weights:
        frame = validate_table(table, frame, source=str(file), normalize=True)
    opened = open_cli_store(store)
    try:
        written = opened.write_table(table, frame, replace=not append, source=str(file))
    finally:
        opened.close()
    how = "appended to" if append else "replaced"
    console.print(f"{written:,} rows {how} {table} in {opened.display}", soft_wrap=True)


@db.command("export")
def export(
    table: Annotated[str, typer.Argument(help="Input table, e.g. stock_data.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the CSV here (atomically); default stdout."),
    ] = None,
    store: StoreOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Write an input table as CSV (JSON columns as JSON text)."""
    import json

    from quantalloc.storage.schema import check_input_table, columns_of

    check_input_table(table)
    if output is not None:
        from quantalloc.cli.paths import output_file

        output_file(output, "--output")
    opened = open_cli_store(store)
    try:
        frame = opened.read_table(table)
    finally:
        opened.close()
    for spec in columns_of(table):
        if spec.kind == "json":
            frame[spec.name] = [None if v is None else json.dumps(v) for v in frame[spec.name]]
    if output is None:
        typer.echo(frame.to_csv(index=False), nl=False)
        return
    _write_atomically(output, frame.to_csv(index=False))
    console.print(f"{len(frame):,} rows of {table} written to {output}", soft_wrap=True)


def _write_atomically(path: Path, text: str) -> None:
    folder = path.resolve().parent
    if not folder.is_dir():
        fail(f"cannot write {path}: folder {folder} does not exist")
    write_atomic(path, text, make_parents=False)
