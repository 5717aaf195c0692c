"""``quantalloc data ...``: inspect what a data source serves."""

from __future__ import annotations

import typer

from quantalloc.cli.console import console
from quantalloc.cli.options import (
    DataOpt,
    MarketOpt,
    MaxFfillOpt,
    TableOpt,
    command_group,
    open_provider,
)

data_app = command_group("Inspect market data sources.")


def register(app: typer.Typer) -> None:
    """Add the ``data`` command group to ``app``."""
    from quantalloc.cli import data_fetch

    data_fetch.register(data_app)
    app.add_typer(data_app, name="data")


@data_app.command("show")
def show(
    symbol: str = typer.Argument(..., help="Symbol, e.g. RELIANCE, SPY or ^VIX."),
    data: DataOpt = "auto",
    market: MarketOpt = "in",
    start: str | None = typer.Option(None, help="First date (YYYY-MM-DD)."),
    end: str | None = typer.Option(None, help="Last date (YYYY-MM-DD)."),
    rows: int = typer.Option(5, min=1, help="Rows to show from each end."),
    max_ffill: MaxFfillOpt = 0,
) -> None:
    """Print the validated OHLCV history of SYMBOL from a source."""
    provider = open_provider(data, market, max_ffill=max_ffill)
    frame = provider.history(symbol, start, end)
    served = getattr(provider, "source_of", lambda _: None)(symbol) or provider.name
    console.print(
        f"{symbol} from {served}: {len(frame)} rows, {frame.index[0]} .. {frame.index[-1]}",
        markup=False,
    )
    console.print(frame.head(rows).to_string(), markup=False, highlight=False)
    if len(frame) > rows:
        console.print("...")
        tail = frame.tail(rows).to_string(header=False, index_names=False)
        console.print(tail, markup=False, highlight=False)


@data_app.command("symbols")
def symbols(data: DataOpt = "auto", market: MarketOpt = "in") -> None:
    """List the symbols a source serves, one per line (yahoo: the cached ones)."""
    provider = open_provider(data, market)
    names = provider.symbols()
    if not names:
        console.print(
            f"{provider.name} lists no symbols"
            + (
                " (only cached symbols are listed; none is cached yet)"
                if provider.name == "yahoo"
                else ""
            ),
            markup=False,
        )
        return
    for name in names:
        typer.echo(name)


@data_app.command("universe")
def universe(
    data: DataOpt = "auto",
    market: MarketOpt = "in",
    table: TableOpt = None,
) -> None:
    """Print the universe table (stock_data): the demo market's, or one given by --table."""
    import pandas as pd
    from rich.table import Table

    from quantalloc.data.tables import parse_table_args

    tables = parse_table_args(table)
    if "stock_data" in tables:
        frame: pd.DataFrame = tables["stock_data"]
        origin = "--table stock_data"
    else:
        provider = open_provider(data, market)
        if not hasattr(provider, "universe"):
            from quantalloc.errors import DataError

            raise DataError(
                f"the {provider.name} source has no universe table; pass "
                "--table stock_data=FILE.csv or --data demo"
            )
        frame = provider.universe()
        origin = provider.name
    view = Table(title=f"stock_data from {origin}: {len(frame)} symbols")
    for column in frame.columns:
        view.add_column(str(column))
    for row in frame.itertuples(index=False):
        view.add_row(*(str(v) for v in row))
    console.print(view)
