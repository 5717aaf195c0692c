"""``quantalloc data ...``: inspect what a data source serves."""

from __future__ import annotations

import typer

from quantalloc.cli.console import console, handles_errors, synthetic_banner
from quantalloc.cli.options import DataOpt, MarketOpt

data_app = typer.Typer(help="Inspect market data sources.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``data`` command group to ``app``."""
    app.add_typer(data_app, name="data")


@data_app.command("show")
@handles_errors
def show(
    symbol: str = typer.Argument(..., help="Symbol, e.g. RELIANCE, SPY or ^VIX."),
    data: DataOpt = "auto",
    market: MarketOpt = "in",
    start: str | None = typer.Option(None, help="First date (YYYY-MM-DD)."),
    end: str | None = typer.Option(None, help="Last date (YYYY-MM-DD)."),
    rows: int = typer.Option(5, help="Rows to show from each end."),
) -> None:
    """Print the validated OHLCV history of SYMBOL from a source."""
    from quantalloc.data import get_provider

    provider = get_provider(data, market)
    synthetic_banner(provider)
    frame = provider.history(symbol, start, end)
    console.print(
        f"{symbol} from {provider.name}: {len(frame)} rows, {frame.index[0]} .. {frame.index[-1]}"
    )
    console.print(frame.head(rows).to_string())
    if len(frame) > rows:
        console.print("...")
        console.print(frame.tail(rows).to_string(header=False))
