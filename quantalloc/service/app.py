"""The FastAPI app of ``quantalloc serve``: the portfolio's endpoints and quantalloc's own.

Every endpoint but ``/health`` needs the API key in the ``X-API-Key`` header (the page at
``/`` and the OpenAPI docs are static and hold no data; the page asks for the key and calls the
API with it). Errors map to status codes: bad body 422 (pydantic names the field and the rule),
bad value 422, unknown thing 404, a change the book refuses 409, the store unreachable 503.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Security
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import APIKeyHeader

from quantalloc.errors import (
    ConfigError,
    ConflictError,
    DataError,
    InfeasibleError,
    QuantallocError,
    StorageError,
)
from quantalloc.service import portfolio as pm
from quantalloc.service.jobs import JobRunner
from quantalloc.service.models import (
    AllocationHistory,
    BacktestRequest,
    CashRequest,
    CashResult,
    CurrentAllocation,
    Health,
    InitializeRequest,
    InitializeResult,
    OrderList,
    OrderRequest,
    OrdersResult,
    PositionList,
    PricesRequest,
    RebalanceRequest,
    RebalanceResult,
    RunAccepted,
    RunList,
    RunStatus,
    SleeveView,
    SolveRequest,
    StrategyPositions,
)
from quantalloc.storage.book import Fill, PortfolioBook
from quantalloc.storage.book_rules import OptionTerms
from quantalloc.version import __version__

API_KEY_HEADER = "X-API-Key"


@dataclass(frozen=True)
class ServiceConfig:
    """What ``quantalloc serve`` was started with (the CLI reads the environment, not this)."""

    api_key: str
    store_url: str | None = None
    data: str = "auto"
    """Price source of /regime, /backtest and rebalance backtests when a request gives none."""
    market: str = "in"
    """Market profile of /regime when a request gives none (``in`` or ``us``)."""
    studies: str | None = None
    """optuna storage URL of /studies (None: the default journal file)."""
    env: dict[str, str] = field(default_factory=dict)
    """Variables for opening the store (DATABASE_URL, QUANTALLOC_DB, ...)."""
    pause: Callable[[str], None] | None = None
    """Fault injection inside the book's transactions (tests only)."""


_STATUS = {ConflictError: 409, DataError: 422, ConfigError: 422, InfeasibleError: 422,
           StorageError: 503}  # fmt: skip


def _status(exc: QuantallocError) -> int:
    for cls, code in _STATUS.items():
        if isinstance(exc, cls):
            return code
    return 400


def create_app(config: ServiceConfig) -> FastAPI:
    """The app; the store is opened (and its tables created) when the server starts."""
    if not config.api_key:
        raise ConfigError("the API key is empty; set QUANTALLOC_API_KEY to a secret string")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from quantalloc.storage import open_store

        store = open_store(config.store_url, env=config.env)
        book = PortfolioBook(store, pause=config.pause)
        book.init()
        runner = JobRunner(book, config.data)
        runner.recover()
        app.state.book, app.state.runner = book, runner
        yield
        runner.shutdown()
        store.close()

    app = FastAPI(
        title="quantalloc",
        version=__version__,
        summary="The multi-strategy portfolio and quantalloc's solve, regime and backtests.",
        lifespan=lifespan,
    )

    app.state.config = config

    @app.exception_handler(QuantallocError)
    async def _quantalloc_error(_request: Request, exc: QuantallocError) -> JSONResponse:
        return JSONResponse(status_code=_status(exc), content={"detail": str(exc)})

    header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)

    def require_key(key: str | None = Security(header)) -> None:
        if key is None or not secrets.compare_digest(key.encode(), config.api_key.encode()):
            raise HTTPException(
                status_code=401,
                detail=f"missing or wrong API key; send it in the {API_KEY_HEADER} header",
            )

    @app.get("/health", response_model=Health, tags=["service"])
    def health(request: Request) -> Health:
        book: PortfolioBook = request.app.state.book
        return Health(status="ok", store=book.display, version=__version__)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        from quantalloc.service.page import page_html

        return HTMLResponse(page_html())

    api = APIRouter(dependencies=[Depends(require_key)])
    _portfolio_routes(api)
    _quantalloc_routes(api, config)
    app.include_router(api)
    return app


def _book(request: Request) -> PortfolioBook:
    book: PortfolioBook = request.app.state.book
    return book


def _portfolio_routes(api: APIRouter) -> None:
    @api.post("/portfolio/initialize", response_model=InitializeResult, tags=["portfolio"])
    def initialize(body: InitializeRequest, request: Request) -> dict[str, Any]:
        specs = [(s.name, s.symbol) for s in body.strategies]
        return pm.initialize(
            _book(request), body.capital, specs, body.min_weight, body.max_weight,
            body.request_id,
        )  # fmt: skip

    @api.post("/portfolio/rebalance", response_model=RebalanceResult, tags=["portfolio"])
    def rebalance(body: RebalanceRequest, request: Request) -> dict[str, Any]:
        book = _book(request)
        if body.metrics is not None:
            scores = pm.scores_from_metrics({k: v.model_dump() for k, v in body.metrics.items()})
        else:
            from quantalloc.service.measure import backtest_metrics

            config: ServiceConfig = request.app.state.config
            names = [s.name for s in book.sleeves()]
            metrics = backtest_metrics(names, body.data or config.data, body.start, body.end)
            scores = pm.scores_from_metrics(metrics)
        return pm.rebalance(book, scores, body.min_weight, body.max_weight, body.request_id)

    @api.get("/portfolio/allocation/current", response_model=CurrentAllocation, tags=["portfolio"])
    def allocation_current(request: Request) -> dict[str, Any]:
        return pm.current(_book(request))

    @api.get("/portfolio/allocation/history", response_model=AllocationHistory, tags=["portfolio"])
    def allocation_history(request: Request, limit: int = 200) -> dict[str, Any]:
        return {"events": _book(request).allocation_history(limit=max(1, min(limit, 10_000)))}

    @api.post("/orders/buy_all", response_model=OrdersResult, tags=["orders"])
    def buy_all(body: PricesRequest, request: Request) -> dict[str, Any]:
        return pm.trade_all(
            _book(request), "buy", body.prices, body.fee_per_trade, request_id=body.request_id
        )

    @api.post("/orders/sell_all", response_model=OrdersResult, tags=["orders"])
    def sell_all(body: PricesRequest, request: Request) -> dict[str, Any]:
        return pm.trade_all(
            _book(request), "sell", body.prices, body.fee_per_trade, request_id=body.request_id
        )

    @api.post("/orders", response_model=OrdersResult, tags=["orders"])
    def place_order(body: OrderRequest, request: Request) -> dict[str, Any]:
        c = body.contract
        terms = None if c is None else OptionTerms(
            c.underlying, c.expiry.isoformat(), c.strike, c.right, c.multiplier)  # fmt: skip
        symbol = c.symbol() if c is not None else str(body.symbol)
        fill = Fill(body.strategy_name, symbol, body.side, body.quantity, body.price,
                    body.fee, body.order_id, body.filled_at, terms)  # fmt: skip
        return _book(request).record("order", lambda _s: [fill], request_id=body.order_id,
                                     source="trade")  # fmt: skip

    @api.post("/cash", response_model=CashResult, tags=["orders"])
    def book_cash(body: CashRequest, request: Request) -> dict[str, Any]:
        return _book(request).record_cash(body.strategy_name, body.amount, body.reason,
                                          body.flow_id, body.booked_at)  # fmt: skip

    @api.get("/orders", response_model=OrderList, tags=["orders"])
    def list_orders(
        request: Request, strategy: str | None = None, limit: int = 1000
    ) -> dict[str, Any]:
        rows = _book(request).orders(strategy, limit=max(1, min(limit, 100_000)))
        return {"orders": rows}

    @api.get("/positions", response_model=PositionList, tags=["positions"])
    def positions(request: Request) -> dict[str, Any]:
        return {"positions": _positions(_book(request))}

    @api.get("/positions/{strategy_name}", response_model=StrategyPositions, tags=["positions"])
    def strategy_positions(strategy_name: str, request: Request) -> dict[str, Any]:
        _sleeve(_book(request), strategy_name)  # 404 for an unknown strategy
        rows = [p for p in _positions(_book(request)) if p["strategy_name"] == strategy_name]
        return {"strategy_name": strategy_name, "positions": rows}

    @api.get("/portfolio/{strategy_name}", response_model=SleeveView, tags=["portfolio"])
    def strategy(strategy_name: str, request: Request) -> dict[str, Any]:
        book = _book(request)
        total = sum(s.value for s in book.sleeves())
        return pm.sleeve_view(_sleeve(book, strategy_name), total)


def _sleeve(book: PortfolioBook, name: str) -> Any:
    try:
        return book.sleeve(name)
    except DataError as exc:
        raise HTTPException(404, str(exc)) from None


def _positions(book: PortfolioBook) -> list[dict[str, Any]]:
    out = []
    for s in book.sleeves():
        for symbol, (q, p) in sorted(s.positions.items()):
            out.append({"strategy_name": s.name, "symbol": symbol, "quantity": q, "avg_price": p,
                        "contract": pm.contract_of(s, symbol)})  # fmt: skip
    return out


def _quantalloc_routes(api: APIRouter, config: ServiceConfig) -> None:
    @api.post("/solve", status_code=202, response_model=RunAccepted, tags=["quantalloc"])
    def solve(body: SolveRequest, request: Request) -> RunAccepted:
        runner: JobRunner = request.app.state.runner
        run_id, _future = runner.submit_solve(body)
        return RunAccepted(run_id=run_id, status="queued", url=f"/runs/{run_id}")

    @api.get("/runs/{run_id}", response_model=RunStatus, tags=["quantalloc"])
    def run(run_id: str, request: Request) -> RunStatus:
        book = _book(request)
        job = book.job(run_id)
        if job is None:
            try:
                return RunStatus(run_id=run_id, status="done", document=book.store.get_run(run_id))
            except StorageError:
                raise HTTPException(404, f"no run {run_id!r}; GET /runs lists them") from None
        document = book.store.get_run(run_id) if job["status"] == "done" else None
        return RunStatus(run_id=run_id, status=job["status"], error=job["error"],
                         document=document)  # fmt: skip

    @api.get("/runs", response_model=RunList, tags=["quantalloc"])
    def runs(request: Request, limit: int = 20) -> dict[str, Any]:
        book = _book(request)
        limit = max(1, min(limit, 1000))
        jobs = {j["job_id"]: j for j in book.jobs("solve", limit)}
        stored = book.store.list_runs(limit).to_dict(orient="records")
        out = []
        for row in stored:
            job = jobs.pop(row["run_id"], None)
            out.append({**_json_row(row), "status": job["status"] if job else "done"})
        for job in jobs.values():  # not stored (yet): queued, running or failed
            out.append({"run_id": job["job_id"], "created_at": job["created_at"],
                        "status": job["status"], "error": job["error"]})  # fmt: skip
        out.sort(key=lambda r: str(r.get("created_at")), reverse=True)
        return {"runs": out[:limit]}

    _research_routes(api, config)


def _research_routes(api: APIRouter, config: ServiceConfig) -> None:
    @api.get("/regime", tags=["quantalloc"])
    def regime(
        request: Request,
        market: str | None = None,
        data: str | None = None,
        as_of: str | None = None,
    ) -> dict[str, Any]:
        from quantalloc.data import get_provider
        from quantalloc.regime.service import state_from_provider

        profile = market or config.market
        provider = get_provider(data or config.data, profile)
        result: dict[str, Any] = state_from_provider(provider, profile, as_of).to_dict()
        return result

    @api.post("/backtest", tags=["quantalloc"])
    def backtest(body: BacktestRequest, request: Request) -> dict[str, Any]:
        from quantalloc.backtest.registry import run_strategy
        from quantalloc.data import get_provider

        provider = get_provider(body.data or config.data, "us")
        result = run_strategy(body.strategy, provider, body.start, body.end, body.capital,
                              {k: str(v) for k, v in body.params.items()})  # fmt: skip
        out: dict[str, Any] = result.to_dict()
        return out

    @api.get("/studies/{name}", tags=["quantalloc"])
    def study(name: str, request: Request, metric: str = "sharpe") -> dict[str, Any]:
        import optuna

        from quantalloc.tuning.export import _clean
        from quantalloc.tuning.storage import open_storage
        from quantalloc.tuning.study import summarize

        storage = open_storage(config.studies)
        try:
            loaded = optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
            raise HTTPException(
                404, f"no study {name!r}; studies: {', '.join(names) or 'none'}"
            ) from None
        out: dict[str, Any] = _clean(summarize(loaded, metric).to_dict())
        return out


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    import math

    out = {}
    for k, v in row.items():
        if hasattr(v, "isoformat"):
            v = v.isoformat()
        elif hasattr(v, "item"):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            v = None
        out[k] = v
    return out
