"""``quantalloc data fetch``: fill the on-disk cache from a source, and say which one served."""

from __future__ import annotations

from typing import Annotated

import typer

from quantalloc.cli.console import console
from quantalloc.cli.options import ENV_CACHE_DIR, MarketOpt

SourceArg = Annotated[
    str,
    typer.Argument(
        help="dhan, upstox, polygon or ibkr (add :5m for 5-minute bars), yahoo, auto (the "
        "market's vendors with credentials set, then yahoo), or a list such as dhan,yahoo."
    ),
]
SymbolsArg = Annotated[
    list[str], typer.Argument(help="Symbols, e.g. ^NSEI ^INDIAVIX RELIANCE (commas work too).")
]


def fetch(
    source: SourceArg,
    symbols: SymbolsArg,
    start: Annotated[str | None, typer.Option(help="First date (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option(help="Last date (YYYY-MM-DD); default today.")] = None,
    market: MarketOpt = "in",
    chains: Annotated[
        bool,
        typer.Option(
            "--chains/--no-chains",
            help="Also snapshot each symbol's current option chain (sources that have chains).",
        ),
    ] = False,
) -> None:
    """Fetch SYMBOLS' bars from SOURCE into the cache, so later runs need no network."""
    from quantalloc.cli.console import store_env
    from quantalloc.data.sources import get_provider
    from quantalloc.errors import ConfigError

    kind = source.strip().lower()
    if kind == "demo" or kind.startswith("csv:"):
        raise ConfigError(
            f"source {source!r} reads local data and has no cache to fill; fetch from yahoo, "
            "a vendor (dhan, upstox, polygon, ibkr), auto, or a list such as dhan,yahoo"
        )
    names = [s.strip() for item in symbols for s in item.split(",") if s.strip()]
    if not names:
        raise ConfigError(
            "no symbols given; name at least one, e.g. quantalloc data fetch dhan ^NSEI"
        )
    from quantalloc.data.base import to_timestamp

    first = None if start is None else to_timestamp(start, "--start")
    last = None if end is None else to_timestamp(end, "--end")
    if first is not None and last is not None and first > last:  # before any network call
        raise ConfigError(f"--start {start} is after --end {end}; swap them")
    env = store_env()
    cache_dir = env.get(ENV_CACHE_DIR) or None
    provider = get_provider(kind, market, cache_dir=cache_dir, env=env)
    _report_skipped(provider)
    for name in names:
        frame = provider.history(name, start, end)
        served = _served(provider, name)
        console.print(
            f"{name}: {len(frame)} bars {frame.index[0]} .. {frame.index[-1]} from {served}",
            markup=False,
            highlight=False,
        )
    if chains:
        _fetch_chains(kind, names, market, cache_dir)


def _served(source: object, symbol: str) -> str:
    """The source that served ``symbol`` (auto's member, else the source's own name)."""
    pick = getattr(source, "source_of", None)
    served = pick(symbol) if callable(pick) else None
    return str(served or getattr(source, "name", "?"))


def _report_skipped(source: object) -> None:
    skipped = getattr(source, "skipped", None)
    if skipped:
        listed = ", ".join(f"{k} ({v})" for k, v in skipped.items())
        console.print(f"auto skips {listed}", markup=False, highlight=False)


def _fetch_chains(kind: str, names: list[str], market: str, cache_dir: str | None) -> None:
    from quantalloc.data.chain_open import get_chain_source
    from quantalloc.data.vendors import split_source

    spec = ",".join(split_source(part)[0] for part in kind.split(","))
    chain_source = get_chain_source(spec, market=market, cache_dir=cache_dir)
    for name in names:
        snap = chain_source.chain(name, None)  # type: ignore[arg-type]
        console.print(
            f"{name}: option chain of {snap.session.date()}, {len(snap.frame)} contracts from "
            f"{_served(chain_source, name)}",
            markup=False,
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Add ``fetch`` to the ``data`` command group ``app``."""
    app.command("fetch")(fetch)
