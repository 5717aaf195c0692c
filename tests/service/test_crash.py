"""``kill -9`` of the server in the middle of a rebalance leaves the store as before it or
after it, never between.

The server is started with a fault point (``QUANTALLOC_FAILPOINTS``) that holds the rebalance
at a named place: after the first sleeve's cash is updated inside the transaction, or just
after the commit. The test waits until the server is there, kills it with SIGKILL (no
handler runs), then reads the store directly and restarts a server on it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from quantalloc.storage import open_store
from quantalloc.storage.book import PortfolioBook
from tests.service.audit import replay
from tests.support.server import Server, running_server

pytestmark = pytest.mark.slow

METRICS = {
    "momentum": {"sharpe": 2.0, "total_return": 0.5, "max_drawdown": 0.1},
    "orb": {"sharpe": 0.1, "total_return": 0.0, "max_drawdown": 0.3},
    "wheel": {"sharpe": 0.5, "total_return": 0.1, "max_drawdown": 0.2},
}


def _book_state(url: str) -> dict[str, float]:
    store = open_store(url)
    try:
        return {s.name: round(s.cash, 6) for s in PortfolioBook(store).sleeves()}
    finally:
        store.close()


def _kill_at(server: Server, marker: Path) -> None:
    def call() -> None:
        try:
            with server.client(timeout=60) as client:
                client.post("/portfolio/rebalance", json={"metrics": METRICS})
        except httpx.HTTPError:
            pass  # the server dies under it

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline, "the rebalance never reached the fault point"
        time.sleep(0.05)
    server.kill()
    thread.join(timeout=30)


def _crash(url: str, folder: Path, point: str) -> tuple[dict[str, float], dict[str, float]]:
    marker = folder / f"{point}.reached"
    env = {"QUANTALLOC_FAILPOINTS": f"{point}={marker}"}
    with running_server(url, folder, env=env) as server:
        with server.client() as client:
            assert client.post("/portfolio/initialize", json={"capital": 90_000}).status_code == 200
        before = _book_state(url)
        _kill_at(server, marker)
        assert server.process.returncode == -9
    return before, _book_state(url)


def _restart_and_rebalance(url: str, folder: Path) -> dict[str, Any]:
    with running_server(url, folder) as server, server.client() as client:
        r = client.post("/portfolio/rebalance", json={"metrics": METRICS})
        assert r.status_code == 200, r.text
        return {a["strategy_name"]: a["weight"] for a in r.json()["allocations"]}


# scores: momentum 2*1.5/1.1 = 2.73 > wheel 1.5*1.1/1.2 = 1.38 > orb 1.1*1/1.3 = 0.85
AFTER = {"momentum": 0.5, "orb": 0.1, "wheel": 0.4}


def test_killed_inside_the_transaction_leaves_the_book_as_before(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'book.db'}"
    before, after_kill = _crash(url, tmp_path, "rebalance.sleeve")
    assert after_kill == before  # the first sleeve's new cash was never committed
    assert replay(url) == {"initialize": 1}
    assert _restart_and_rebalance(url, tmp_path) == pytest.approx(AFTER, abs=1e-6)
    assert replay(url) == {"initialize": 1, "rebalance": 1}


def test_killed_after_the_commit_leaves_the_book_as_after(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'book.db'}"
    before, after_kill = _crash(url, tmp_path, "rebalance.after_commit")
    assert after_kill != before
    total = sum(before.values())
    assert {k: v / total for k, v in after_kill.items()} == pytest.approx(AFTER, abs=1e-6)
    assert replay(url) == {"initialize": 1, "rebalance": 1}


@pytest.fixture
def pg_url(postgres_server: Any) -> Iterator[str]:
    import psycopg

    with psycopg.connect(postgres_server.url, autocommit=True) as conn:
        conn.execute("drop database if exists service_crash")
        conn.execute("create database service_crash")
    yield postgres_server.url.rsplit("/", 1)[0] + "/service_crash"


@pytest.mark.postgres
def test_killed_inside_the_transaction_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    before, after_kill = _crash(pg_url, tmp_path, "rebalance.sleeve")
    assert after_kill == before
    assert _restart_and_rebalance(pg_url, tmp_path) == pytest.approx(AFTER, abs=1e-6)
    assert replay(pg_url) == {"initialize": 1, "rebalance": 1}
