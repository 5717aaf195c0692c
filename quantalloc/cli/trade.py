"""``quantalloc trade STRATEGY --mode paper|live``: trade a strategy through the portfolio API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from quantalloc.cli.console import console, fail
from quantalloc.cli.options import DataOpt, OutputOpt, ParamOpt, SymbolsOpt, VerboseOpt

if TYPE_CHECKING:
    pass

MODES = ("paper", "live")


def register(app: typer.Typer) -> None:
    """Add the ``trade`` command to ``app``."""
    app.command("trade")(trade)


def trade(
    strategy: Annotated[str, typer.Argument(help="Strategy: orb, momentum or wheel.")],
    mode: Annotated[
        str, typer.Option("--mode", help="paper (replayed bars) or live (the broker's feed).")
    ] = "paper",
    api: Annotated[
        str, typer.Option("--api", help="The portfolio API (quantalloc serve) to trade through.")
    ] = "http://127.0.0.1:8000",
    name: Annotated[
        str | None,
        typer.Option("--name", help="The strategy's name in the portfolio (default: STRATEGY)."),
    ] = None,
    data: DataOpt = "auto",
    start: Annotated[str | None, typer.Option("--start", help="paper: first day.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="paper: last day.")] = None,
    param: ParamOpt = None,
    symbols: SymbolsOpt = None,
    ib_host: Annotated[
        str, typer.Option("--ib-host", help="live: IB gateway host (not empty).")
    ] = "127.0.0.1",
    ib_port: Annotated[
        int,
        typer.Option("--ib-port", min=1, max=65535, help="live: IB gateway port (7497 paper TWS)."),
    ] = 7497,
    ib_client_id: Annotated[
        int, typer.Option("--ib-client-id", min=0, help="live: client id.")
    ] = 17,
    sessions: Annotated[
        int,
        typer.Option("--sessions", min=0, help="live: sessions to trade (0: until stopped)."),
    ] = 1,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Trade STRATEGY from the backtest's code, booking every fill in its portfolio sleeve.

    paper replays --data's bars from --start to --end through a broker that fills as the
    backtest does (the wheel's options at its own quotes); live takes bars and fills from
    Interactive Brokers. Orders go through the API (key in $QUANTALLOC_API_KEY), so the
    sleeve's capital and lock hold.
    """
    import os
    import uuid

    import httpx

    from quantalloc.backtest.params import parse_kv
    from quantalloc.service.trading.ledger import ApiLedger
    from quantalloc.service.trading.session import check_tradeable

    if mode not in MODES:
        fail(f"--mode {mode!r} is not a trading mode; choose paper or live")
    check_tradeable(strategy)
    values = parse_kv(param or [])
    if symbols is not None:
        values["symbols"] = symbols
    provider = _check_door(strategy, mode, api, ib_host, name, data, start, end, values, output)
    key = os.environ.get("QUANTALLOC_API_KEY", "")
    if not key:
        fail("$QUANTALLOC_API_KEY is not set; export the key the API was started with")
    session = uuid.uuid4().hex[:12]
    with httpx.Client(base_url=api, headers={"X-API-Key": key}, timeout=60.0) as client:
        try:
            client.get("/health").raise_for_status()
        except httpx.HTTPError as exc:
            fail(f"cannot reach the portfolio API at {api} ({exc}); start `quantalloc serve`")
        ledger = ApiLedger(client, name or strategy, session)
        if mode == "paper":
            from quantalloc.service.trading.session import paper

            assert start is not None and end is not None  # checked at the door
            result = paper(strategy, provider, start, end, ledger, values)
        else:
            from quantalloc.service.trading.ib import live_session

            result = live_session(strategy, ledger, values, ib_host, ib_port, ib_client_id,
                                  sessions=sessions)  # fmt: skip
    eq = result.equity
    console.print(
        f"[bold]{strategy}[/] {mode} session {session}: {len(result.trades)} trades, "
        f"{ledger.orders} orders booked, equity {eq.iloc[0]:,.2f} -> {eq.iloc[-1]:,.2f}"
        if len(eq)
        else f"{strategy} {mode} session {session}: no bars"
    )
    if output:
        result.write_json(output)
        console.print(f"wrote {output}")


def _check_door(
    strategy: str,
    mode: str,
    api: str,
    ib_host: str,
    name: str | None,
    data: str,
    start: str | None,
    end: str | None,
    values: dict[str, Any],
    output: str | None,
) -> Any:
    """Every input checked before the API is called: parameters, names, dates, the source and
    the output file; returns the paper session's price provider (None when live)."""
    from quantalloc.backtest.registry import make_params
    from quantalloc.cli.options import open_provider
    from quantalloc.cli.paths import output_file
    from quantalloc.data.base import to_timestamp

    if not ib_host.strip():
        fail("--ib-host needs a host name or address, e.g. --ib-host 127.0.0.1")
    if not api.startswith(("http://", "https://")):
        fail(f"--api {api!r} is not an http(s) URL; e.g. --api http://127.0.0.1:8000")
    if name is not None and not name.strip():
        fail("--name needs a name for the strategy's sleeve, e.g. --name orb-paper")
    make_params(strategy, dict(values))  # unknown names, wrong types, out of range
    if mode == "live" and values.get("vol_data"):
        fail(
            f"--mode live reads the vol index from IB's bars; drop -p vol_data="
            f"{values['vol_data']} (and give -p vol_symbol=^VIX or another index IB serves)"
        )
    if output:
        output_file(output, "--output", (".json",))
    if mode != "paper":
        return None
    if start is None or end is None:
        fail("--mode paper replays stored bars: give --start and --end (YYYY-MM-DD)")
    if to_timestamp(end, "--end") < to_timestamp(start, "--start"):
        fail(f"--start {start} is after --end {end}; swap them")
    return open_provider(data, "us")
