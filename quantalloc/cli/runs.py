"""`quantalloc runs ...`: placeholder until the storage issue lands."""

from __future__ import annotations

import typer

runs = typer.Typer(help="Not built yet (storage issue).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the `runs` command group to ``app``."""
    app.add_typer(runs, name="runs")


@runs.command("status")
def _status() -> None:
    """Not built yet."""
    typer.echo("not built yet")
