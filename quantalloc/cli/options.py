"""Option declarations shared by several commands, so each is spelled and documented once."""

from __future__ import annotations

from typing import Annotated

import typer

MarketOpt = Annotated[
    str, typer.Option("--market", help="Market profile: 'in' (NIFTY 50, India VIX, INR) or 'us'.")
]
DataOpt = Annotated[
    str,
    typer.Option(
        "--data",
        help="Price source: auto (configured, else yahoo, else demo), yahoo, demo, or csv:DIR.",
    ),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Decide with the data known at this date (YYYY-MM-DD)."),
]
TableOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--table",
        help="Input table from a CSV file, as NAME=FILE.csv "
        "(e.g. industry_allocations_current=ind.csv).",
    ),
]
OutputOpt = Annotated[
    str | None, typer.Option("--output", help="Write the JSON result to this file (atomically).")
]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show tracebacks and debug detail.")
]
