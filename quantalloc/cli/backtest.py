"""`quantalloc backtest`: placeholder until its issue lands."""

from __future__ import annotations

import typer

from quantalloc.cli.console import fail


def register(app: typer.Typer) -> None:
    """Add the `backtest` command to ``app``."""

    extra = {"allow_extra_args": True, "ignore_unknown_options": True}

    @app.command("backtest", context_settings=extra)
    def _cmd() -> None:
        """Not built yet (see the open issues)."""
        fail("'backtest' is not built yet")
