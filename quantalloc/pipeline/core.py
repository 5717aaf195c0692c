"""``solve()``: data -> regime -> candidates -> scenarios -> allocation -> lots -> result."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from quantalloc.errors import ConfigError
from quantalloc.pipeline.build import run_allocation
from quantalloc.pipeline.document import SolveResult
from quantalloc.pipeline.loading import load_inputs
from quantalloc.pipeline.model import ModelSpec
from quantalloc.pipeline.request import SolveRequest, plan
from quantalloc.pipeline.timer import Timer
from quantalloc.threads import one_blas_thread

Progress = Callable[[str, int, int], None]


def solve(
    *,
    risk: str = "moderate",
    model: str | ModelSpec = "industry_first",
    market: str | None = None,
    capital: float | None = None,
    vix: float | None = None,
    as_of: str | pd.Timestamp | None = None,
    data: str | Any = "auto",
    tables: Mapping[str, pd.DataFrame] | None = None,
    symbol: str | None = None,
    max_industries: int | None = None,
    n_scenarios: int | None = None,
    seed: int | None = None,
    store: str | None = None,
    limits: Mapping[str, Any] | None = None,
    chain: str | pd.DataFrame | None = None,
    chains: str | Any | None = None,
    vix_source: str = "auto",
    views: str = "model",
    progress: Progress | None = None,
) -> SolveResult:
    """Run the whole allocation and return a frozen :class:`SolveResult`.

    Parameters
    ----------
    risk
        ``conservative``, ``moderate`` or ``aggressive``: selects the model's profile.
    model
        A model name in ``models/`` (``industry_first``, ``advanced``), a path to a .toml file,
        or a :class:`~quantalloc.pipeline.model.ModelSpec`.
    market
        ``in`` or ``us`` (default ``in``).
    capital
        Total capital in the market's currency (default: the market's default capital).
    vix
        Override of the volatility index level on the as-of date.
    as_of
        Decide with the data known at this date (default: the last date all symbols trade).
    data
        A source string (``auto``, ``demo``, ``yahoo``, ``csv:DIR``) or a price provider.
    tables
        Input tables by name (``stock_data``, ``industry_allocations_current``, ``strategies``);
        missing ones come from ``store`` (when given) or the demo provider.
    symbol
        Analyse one symbol in its industry context.
    max_industries
        At most this many priority industries (default: the model's).
    n_scenarios, seed
        Override the model's scenario count and seed.
    store
        Store URL to read missing input tables from.
    limits
        Overrides of named constraint limits (``{"max_industry": 0.2}``), passed to the engine.
    chain
        The index's option chain (a file path or canonical frame) for the regime's options-flow
        score and put-call ratio; without one that part is marked missing.
    chains
        Option chains by date (a folder of chain files, ``yahoo``, ``store``, a vendor, or a
        :class:`~quantalloc.data.ChainSource`): every symbol with a chain on the as-of session
        is built on its listed contracts and priced at their fills; the regime's options flow
        reads the index chain, and the vol index comes from it when its series does not reach
        the date.
    vix_source
        ``series``, ``chain`` or ``auto`` (the series when it has a reading within 5 days of
        the as-of date, else the index chain of ``chains``).
    views
        ``none`` (calibrated scenarios only: no edge), ``model`` (the model's named views) or
        a path to a TOML file of ``[[view]]`` tables (:mod:`quantalloc.pipeline.views`).
    """
    given = {k: v for k, v in locals().items() if k != "progress"}
    request = SolveRequest(**given)
    return run(request, progress)


def run(request: SolveRequest, progress: Progress | None = None) -> SolveResult:
    """Run the solve ``request`` asks for (the keyword form: :func:`solve`), with BLAS on one
    thread (:mod:`quantalloc.threads`: the same numbers on any machine, and faster)."""
    with one_blas_thread():
        return _run(request, progress)


def _run(request: SolveRequest, progress: Progress | None) -> SolveResult:
    timer = Timer()
    with timer.stage("setup"):
        resolved = plan(request)
        provider = _provider(request.data, resolved.market.name)
        auto = isinstance(request.data, str) and request.data.strip().lower() == "auto"
        if auto and not hasattr(provider, "universe"):
            if not _has_tables(request.tables, request.store):
                # auto picked a real source (yahoo) but nothing says what to trade: the demo
                provider = _provider("demo", resolved.market.name)
        chain = request.chain
        if isinstance(chain, str):
            from quantalloc.data import load_chain

            chain = load_chain(chain)
        tables = {k: _validated(k, v) for k, v in dict(request.tables).items()}
        chains = _chain_source(request, resolved.market.name)
    with timer.stage("load data"):
        inputs = load_inputs(provider, resolved, tables, progress)
    return run_allocation(resolved, inputs, chain, timer, progress, chains)


_VALIDATED: OrderedDict[tuple[str, bytes, tuple[str, ...]], pd.DataFrame] = OrderedDict()
_VALIDATED_LOCK = threading.Lock()
VALIDATED_MEMO = 32
"""Validated input tables remembered by content (a replay or a study passes the same ones to
every solve)."""


def _validated(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``validate_table(name, frame)``, remembered by the frame's exact content: its columns,
    dtypes, every value's hash (a changed cell is validated again) and its ``attrs`` (where it
    came from, which the report names); a copy each time."""
    from quantalloc.data.tables import validate_table

    try:
        digest = pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()
    except TypeError:  # unhashable cells (lists): validate every time
        return validate_table(name, frame, source=f"tables[{name!r}]")
    shape = tuple(f"{c}:{t}" for c, t in frame.dtypes.astype(str).items())
    key = (name, digest, (*shape, repr(sorted(frame.attrs.items()))))  # attrs: its origin
    with _VALIDATED_LOCK:
        found = _VALIDATED.get(key)
    if found is None:
        found = validate_table(name, frame, source=f"tables[{name!r}]")
        with _VALIDATED_LOCK:
            _VALIDATED[key] = found
            while len(_VALIDATED) > VALIDATED_MEMO:
                _VALIDATED.popitem(last=False)
    return found.copy()


def _chain_source(request: SolveRequest, market: str) -> Any:
    if request.vix_source not in ("series", "chain", "auto"):
        raise ConfigError(
            f"`vix_source` {request.vix_source!r} is unknown; use series, chain or auto",
            params="vix_source",
        )
    if request.chains is None:
        if request.vix_source == "chain":
            raise ConfigError(
                "`vix_source=chain` needs `chains`: a folder of chain files, yahoo or store",
                params=("vix_source", "chains"),
            )
        return None
    from quantalloc.data import get_chain_source

    reader = None
    if isinstance(request.chains, str) and request.chains.strip().lower() == "store":
        from quantalloc.storage import open_store

        reader = open_store(request.store).read_table
    return get_chain_source(request.chains, market=market, table_reader=reader)


def _has_tables(tables: Mapping[str, pd.DataFrame] | None, store: str | None) -> bool:
    given = set(tables or {})
    return store is not None or {"stock_data", "industry_allocations_current"} <= given


def _provider(data: str | Any, market: str) -> Any:
    if not isinstance(data, str):
        return data
    from quantalloc.data import get_provider

    return get_provider(data, market)


__all__ = ["Timer", "run", "solve"]
