"""Several processes initialising and writing one store at once: every run stored whole.

Runs against the same SQLite file (WAL + busy timeout + BEGIN IMMEDIATE) and the same real
PostgreSQL database (advisory lock around migrations, ON CONFLICT for run ids).
"""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Any

import pytest

from quantalloc.storage import SCHEMA_VERSION, open_store
from tests.storage.samples import sample_document

WORKERS = 4
RUNS_EACH = 6


def _writer(url: str, worker: int, start: Any, results: Any) -> None:
    try:
        store = open_store(url)
        start.wait(30)
        version = store.init()  # all at once on a store without schema
        saved = [store.save_run(sample_document(f"w{worker}-r{k}")) for k in range(RUNS_EACH)]
        shared = store.save_run(sample_document("shared-run"))  # everyone races for this id
        store.close()
        results.put((worker, version, saved, shared, None))
    except Exception as exc:  # report, do not hang the parent
        results.put((worker, None, [], None, repr(exc)))


@pytest.fixture(params=["sqlite-file", "postgresql"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite-file":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    return str(request.getfixturevalue("fresh_pg_url"))


def test_concurrent_writers_lose_nothing(shared_url: str) -> None:
    # forkserver, not fork: a fork of this test process copies the locks its other threads
    # (left by earlier tests in the session) held at that instant, and a child stuck on one
    # inside its write transaction would hold the database lock past every other's timeout
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    start, results = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_writer, args=(shared_url, w, start, results)) for w in range(WORKERS)
    ]
    for proc in procs:
        proc.start()
    start.set()
    reports = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(30)
    errors = [r[4] for r in reports if r[4]]
    assert not errors, errors
    assert all(r[1] == SCHEMA_VERSION for r in reports)
    assert all(all(r[2]) for r in reports)  # every own run was new
    assert sorted(r[3] for r in reports) == [False] * (WORKERS - 1) + [True]  # one winner

    store = open_store(shared_url)
    try:
        expected_ids = {f"w{w}-r{k}" for w in range(WORKERS) for k in range(RUNS_EACH)}
        expected_ids.add("shared-run")
        listed = store.list_runs(limit=1000)
        assert set(listed["run_id"]) == expected_ids and len(listed) == len(expected_ids)
        counts = store.table_counts()
        assert counts["allocations"] == 3 * len(expected_ids)
        with store.engine.connect() as conn:  # type: ignore[attr-defined]
            applied = conn.exec_driver_sql("select count(*) from quantalloc_schema").scalar()
        assert applied == SCHEMA_VERSION  # each migration recorded once despite racing inits
        for run_id in sorted(expected_ids):
            assert store.get_run(run_id) == sample_document(run_id)
            assert len(store.run_positions(run_id)) == 3  # type: ignore[attr-defined]
    finally:
        store.close()


def test_sqlite_readers_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    # issue 18: every connection began with BEGIN IMMEDIATE, so `runs list` queued behind a
    # writer and failed after the busy timeout. Hold the write lock from another connection
    # (a real second sqlite3 connection on the same WAL file) and read meanwhile.
    import sqlite3
    import time

    path = tmp_path / "q.db"
    store = open_store(f"sqlite:///{path}")
    store.init()
    assert store.save_run(sample_document())
    writer = sqlite3.connect(path, isolation_level=None, timeout=0.1)
    writer.execute("BEGIN IMMEDIATE")  # the write lock, held open
    writer.execute("UPDATE allocation_runs SET risk = risk")
    try:
        started = time.perf_counter()
        listed = store.list_runs()
        assert time.perf_counter() - started < 5.0  # the busy timeout is 30 s
        assert len(listed) == 1
        document = store.get_run(str(listed["run_id"].iloc[0]))
        assert document["run_id"] == sample_document()["run_id"]
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        store.close()
