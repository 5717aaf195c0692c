"""`quantalloc db ...`: placeholder until the storage issue lands."""

from __future__ import annotations

import typer

db = typer.Typer(help="Not built yet (storage issue).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the `db` command group to ``app``."""
    app.add_typer(db, name="db")


@db.command("status")
def _status() -> None:
    """Not built yet."""
    typer.echo("not built yet")
