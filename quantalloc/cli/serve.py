"""``quantalloc serve``: the portfolio's REST API under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from quantalloc.cli.console import err_console, fail
from quantalloc.cli.options import DataOpt, MarketOpt, StoreOpt, VerboseOpt

ENV_API_KEY = "QUANTALLOC_API_KEY"
ENV_FAILPOINTS = "QUANTALLOC_FAILPOINTS"


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to ``app``."""
    app.command("serve")(serve)


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port.")] = 8000,
    store: StoreOpt = None,
    data: DataOpt = "auto",
    market: MarketOpt = "in",
    studies: Annotated[
        str | None,
        typer.Option("--studies", help="optuna storage of GET /studies (as tune --storage)."),
    ] = None,
    verbose: VerboseOpt = False,
) -> None:
    """Serve the multi-strategy portfolio's REST API (docs at /docs, a page at /).

    Every endpoint but /health needs the key in $QUANTALLOC_API_KEY, sent as the X-API-Key
    header. State lives in the store, each change one transaction.
    """
    import os

    import uvicorn

    from quantalloc.service import ServiceConfig, create_app
    from quantalloc.service.faults import parse, pause_at
    from quantalloc.storage import open_store, redact, select_url

    key = os.environ.get(ENV_API_KEY, "")
    if not key.strip():
        fail(f"${ENV_API_KEY} is not set; export a secret string as the API key and retry")
    if not host.strip():
        fail("--host needs an address to listen on, e.g. --host 127.0.0.1")
    if studies is not None:
        from quantalloc.storage.url import study_url

        study_url(studies)  # an unusable study storage is named now, not on the first request
    from quantalloc.markets import get_market

    get_market(market)
    if data.strip().lower() != "auto":
        from quantalloc.cli.options import open_provider

        open_provider(data, market, banner=False)
    env = dict(os.environ)
    url = select_url(store, env)
    target = open_store(store, env=env)  # checks the URL now, before the server starts
    if target.backend == "supabase":
        fail("the service needs a SQL store; pass --store sqlite:///PATH or postgresql://...")
    target.close()
    config = ServiceConfig(
        api_key=key,
        store_url=store,
        data=os.environ.get("QUANTALLOC_DATA", data) if data == "auto" else data,
        market=market,
        studies=studies,
        env=env,
        pause=pause_at(parse(os.environ.get(ENV_FAILPOINTS, ""))),
    )
    app = create_app(config)
    err_console.print(f"quantalloc serve on http://{host}:{port} (store {redact(url)})")
    uvicorn.run(app, host=host, port=port, log_level="debug" if verbose else "warning")
