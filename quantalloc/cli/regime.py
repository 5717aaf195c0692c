"""`quantalloc regime`: placeholder until its issue lands."""

from __future__ import annotations

import typer

from quantalloc.cli.console import fail


def register(app: typer.Typer) -> None:
    """Add the `regime` command to ``app``."""

    extra = {"allow_extra_args": True, "ignore_unknown_options": True}

    @app.command("regime", context_settings=extra)
    def _cmd() -> None:
        """Not built yet (see the open issues)."""
        fail("'regime' is not built yet")
