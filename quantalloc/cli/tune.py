"""`quantalloc tune`: placeholder until its issue lands."""

from __future__ import annotations

import typer

from quantalloc.cli.console import fail


def register(app: typer.Typer) -> None:
    """Add the `tune` command to ``app``."""

    extra = {"allow_extra_args": True, "ignore_unknown_options": True}

    @app.command("tune", context_settings=extra)
    def _cmd() -> None:
        """Not built yet (see the open issues)."""
        fail("'tune' is not built yet")
