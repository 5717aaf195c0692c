"""Background work of the API: a solve runs in one worker thread, its status in the store.

``POST /solve`` records a queued job and returns its id at once; the worker runs the same
``quantalloc.solve`` the CLI runs, stores the document (``allocation_runs``, like
``solve --update-database``) under the job's id, and marks the job done or failed with the
error's one line. Jobs a stopped server left queued or running are marked failed at start.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from quantalloc.errors import QuantallocError
from quantalloc.service.models import SolveRequest
from quantalloc.storage.book import PortfolioBook

log = logging.getLogger(__name__)


def solve_document(req: SolveRequest, run_id: str, default_data: str = "auto") -> dict[str, Any]:
    """Run ``quantalloc.solve`` for ``req`` and return its JSON document under ``run_id``."""
    from quantalloc.data.tables import parse_table_args
    from quantalloc.pipeline import solve

    tables = parse_table_args(
        [f"{name}={path}" for name, path in req.tables.items()], normalize=req.normalize_weights
    )
    data = default_data if req.data.strip().lower() == "auto" else req.data
    result = solve(
        risk=req.risk,
        model=req.model,
        market=req.market,
        capital=req.capital,
        vix=req.vix,
        as_of=None if req.as_of is None else req.as_of.isoformat(),
        data=data,
        tables=tables,
        symbol=req.symbol,
        max_industries=req.max_industries,
        n_scenarios=req.scenarios,
        seed=req.seed,
        limits=dict(req.limits) or None,
        chain=req.chain,
    )
    return dataclasses.replace(result, run_id=run_id).to_document()


class JobRunner:
    """One worker thread for solves (each uses the cores fully; more would only queue)."""

    def __init__(self, book: PortfolioBook, default_data: str = "auto") -> None:
        self.book = book
        self.default_data = default_data
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="quantalloc-solve")

    def recover(self) -> int:
        """Mark jobs a stopped server left unfinished as failed; return how many."""
        stale = [j for j in self.book.jobs(limit=10_000) if j["status"] in ("queued", "running")]
        for job in stale:
            self.book.update_job(job["job_id"], "failed", error="the server stopped during it")
        return len(stale)

    def submit_solve(self, req: SolveRequest) -> tuple[str, Future[None]]:
        """Queue a solve; return its run id (and the future, for tests)."""
        run_id = uuid.uuid4().hex
        self.book.create_job(run_id, "solve", req.model_dump(mode="json"))
        return run_id, self._pool.submit(self._run, run_id, req)

    def _run(self, run_id: str, req: SolveRequest) -> None:
        self.book.update_job(run_id, "running")
        try:
            document = solve_document(req, run_id, self.default_data)
            self.book.store.save_run(document)
        except QuantallocError as exc:
            self.book.update_job(run_id, "failed", error=str(exc))
            return
        except Exception as exc:  # a bug: keep the server up, say what happened
            log.exception("solve %s failed", run_id)
            self.book.update_job(run_id, "failed", error=f"internal error: {exc!r}")
            return
        self.book.update_job(run_id, "done")

    def shutdown(self) -> None:
        """Stop taking work; a running solve finishes in its thread."""
        self._pool.shutdown(wait=False, cancel_futures=True)
