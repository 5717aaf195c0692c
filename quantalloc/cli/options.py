"""Option declarations shared by several commands, so each is spelled and documented once."""

from __future__ import annotations

from typing import Annotated, Any

import typer

MarketOpt = Annotated[
    str, typer.Option("--market", help="Market profile: 'in' (NIFTY 50, India VIX, INR) or 'us'.")
]
DataOpt = Annotated[
    str,
    typer.Option(
        "--data",
        help="Price source: auto (configured, else the market's vendors with credentials set, "
        "then yahoo, else demo), yahoo, demo, csv:DIR, dhan, upstox, polygon, ibkr (add :5m for "
        "5-minute bars), or a list tried in order such as dhan,yahoo.",
    ),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Decide with the data known at this date (YYYY-MM-DD)."),
]
TABLE_COLUMNS = {  # kept equal to data/tables.py's TABLE_SPECS by tests/cli/test_help.py
    "industry_allocations_current": "industry, position_type, weight_percentage; "
    "optional sector, rating",
    "sector_allocations_current": "sector, weight_percentage; optional position_type, rating",
    "stock_data": "symbol, industry; optional sector, fno_stock, lot_size, market_cap_category",
    "stock_rankings": "symbol, score; optional market_cap_category",
    "strategies": "stock_name, strategy_name, total_score; optional industry, "
    "probability_of_profit, risk_reward_ratio, legs",
    "option_chain_data": "symbol, as_of, expiry, strike, kind; optional root, bid, ask, last, "
    "settlement, volume, open_interest, implied_vol, spot, lot_size",
    "holdings": "symbol, instrument, quantity; optional strike, expiry, cost",
}
"""Each input table's columns, as the help texts list them."""

TABLES_HELP = "; ".join(f"{name} ({cols})" for name, cols in TABLE_COLUMNS.items())

TableOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--table",
        metavar="NAME=FILE.csv",
        help="Input table from a CSV file, repeatable. Tables and their columns: " + TABLES_HELP,
    ),
]
StartOpt = Annotated[
    str | None,
    typer.Option(
        "--start", help="First day of the window, YYYY-MM-DD (default: the data's first)."
    ),
]
EndOpt = Annotated[
    str | None,
    typer.Option("--end", help="Last day of the window, YYYY-MM-DD (default: the data's last)."),
]
VixOpt = Annotated[
    float | None,
    typer.Option("--vix", help="Use this volatility-index level on the as-of date."),
]
VixSourceOpt = Annotated[
    str,
    typer.Option(
        "--vix-source",
        help="Vol-index level: 'series' (the vol index's history), 'chain' (computed from the "
        "index chain of --chains by Cboe's variance-swap method) or 'auto' (the series when it "
        "covers the as-of date, else the chain).",
    ),
]
StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Store URL (input tables, saved runs, the portfolio book): sqlite:///PATH, sqlite:// "
        "(in memory), postgresql://USER@HOST/DB, or supabase:// (SUPABASE_URL + SUPABASE_KEY). "
        "Default: DATABASE_URL, else the SQLite file in your data folder (QUANTALLOC_DB "
        "overrides its path). Put passwords in the environment or a .env file.",
        show_default=False,
    ),
]
OutputOpt = Annotated[
    str | None, typer.Option("--output", help="Write the JSON result to this file (atomically).")
]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show tracebacks and debug detail.")
]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="Strategy parameter NAME=VALUE (repeatable)."),
]
"""A strategy's parameters (``backtest`` and ``trade`` read them alike)."""
SymbolsOpt = Annotated[
    str | None,
    typer.Option("--symbols", help="orb: comma-separated symbols to scan (default: all)."),
]
MaxFfillOpt = Annotated[
    int,
    typer.Option(
        "--max-ffill",
        min=0,
        help="Repair up to N consecutive rows with blank price fields by forward-fill (logged); "
        "0 rejects any blank field.",
    ),
]
NormalizeWeightsOpt = Annotated[
    bool,
    typer.Option(
        "--normalize-weights",
        help="Rescale industry/sector weights that sum to more than 100% down to 100%.",
    ),
]


def command_group(help: str) -> typer.Typer:
    """A group of subcommands (``data``, ``db``, ``runs``): lists them when called bare; help
    is plain text."""
    from quantalloc.cli.console import CommandApp

    return CommandApp(help=help, no_args_is_help=True, rich_markup_mode=None)


ENV_DATA = "QUANTALLOC_DATA"
ENV_CACHE_DIR = "QUANTALLOC_CACHE_DIR"


def open_provider(data: str, market: str | None, *, max_ffill: int = 0, banner: bool = True) -> Any:
    """The provider for ``--data``/``--market``, with the user's environment applied.

    ``$QUANTALLOC_DATA`` is the configured source that ``--data auto`` prefers;
    ``$QUANTALLOC_CACHE_DIR`` moves the Yahoo and vendor caches; vendor credentials come from
    the environment or a ``.env`` file. Prints the synthetic-data banner when the
    provider is synthetic (the demo market).
    """
    from quantalloc.cli.console import store_env, synthetic_banner
    from quantalloc.data import get_provider
    from quantalloc.errors import ConfigError, QuantallocError

    env = store_env()
    configured = env.get(ENV_DATA) or None
    cache_dir = env.get(ENV_CACHE_DIR) or None
    if configured and data.strip().lower() == "auto":  # name the variable the source came from
        try:
            provider = get_provider(
                configured, market, cache_dir=cache_dir, max_ffill=max_ffill, env=env
            )
        except QuantallocError as exc:
            raise ConfigError(
                f"{ENV_DATA}={configured!r} (used by --data auto): {exc}; fix or unset {ENV_DATA}"
            ) from exc
    else:
        provider = get_provider(data, market, cache_dir=cache_dir, max_ffill=max_ffill, env=env)
    if banner:
        synthetic_banner(provider)
    return provider


ChainsOpt = Annotated[
    str | None,
    typer.Option(
        "--chains",
        help="Option chains by date: a folder of chain files (NSE F&O bhavcopy, vendor/SPX, "
        "Cboe, yfinance, Upstox layouts; the session of --as-of is picked), 'yahoo' (cached "
        "with the quote time) or 'store' (the option_chain_data table).",
    ),
]


def open_chains(spec: str | None, market: str | None, store: str | None = None) -> Any:
    """The chain source for ``--chains`` (None when not given), with the user's environment:
    ``$QUANTALLOC_CACHE_DIR`` moves Yahoo's snapshots, and ``store`` reads ``option_chain_data``
    from ``--store`` / ``DATABASE_URL``."""
    if spec is None:
        return None
    import os
    from pathlib import Path

    from quantalloc.data import get_chain_source

    reader = None
    if spec.strip().lower() == "store":
        from quantalloc.cli.console import open_cli_store

        reader = open_cli_store(store).read_table
    root = os.environ.get(ENV_CACHE_DIR)
    return get_chain_source(
        spec,
        market=market,
        table_reader=reader,
        cache_dir=Path(root) / "chains" if root else None,
    )
