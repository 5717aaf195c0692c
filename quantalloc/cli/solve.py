"""``quantalloc solve``: placeholder printing the market and data it would use."""

from __future__ import annotations

import typer

from quantalloc.cli.console import console, handles_errors
from quantalloc.cli.options import DataOpt, MarketOpt, VerboseOpt


def register(app: typer.Typer) -> None:
    """Add the ``solve`` command to ``app``."""
    app.command("solve")(solve)


@handles_errors
def solve(
    risk: str = typer.Option("moderate", help="Risk profile: conservative, moderate, aggressive."),
    market: MarketOpt = "in",
    data: DataOpt = "auto",
    verbose: VerboseOpt = False,
) -> None:
    """Allocate options capital across industries and strategies (convex program)."""
    from quantalloc.markets import get_market

    profile = get_market(market)
    console.print(
        f"market {profile.name}: index {profile.index_symbol}, "
        f"vol index {profile.vol_index_symbol}, {profile.currency}; risk {risk}; "
        f"data {data}"
    )
