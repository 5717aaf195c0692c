"""50 parallel buy_all / sell_all / rebalance calls against a real server keep the books
consistent, on SQLite (the default store) and on a real PostgreSQL server."""

from __future__ import annotations

import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.audit import replay
from tests.support.server import Server, running_server

pytestmark = pytest.mark.slow

CALLS = 50


def _metrics(rng: random.Random) -> dict[str, Any]:
    return {
        name: {"sharpe": rng.uniform(-1, 2), "total_return": rng.uniform(-0.3, 0.6),
               "max_drawdown": rng.uniform(0, 0.5)}
        for name in ("momentum", "orb", "wheel")
    }  # fmt: skip


def _calls(seed: int) -> list[tuple[str, dict[str, Any]]]:
    """A fixed mix, a third of each kind; five of them sent twice (a client's retry)."""
    rng = random.Random(seed)
    out: list[tuple[str, dict[str, Any]]] = []
    for k in range(CALLS - 5):
        kind = ("buy_all", "sell_all", "rebalance")[k % 3]
        prices = {"SPXL": rng.uniform(30, 60), "SPY": rng.uniform(250, 350)}
        if kind == "rebalance":
            body: dict[str, Any] = {"metrics": _metrics(rng)}
        else:
            body = {"prices": prices, "fee_per_trade": 1.0}
        if k % 9 == 0:
            body["request_id"] = f"req-{k}"
        out.append((kind, body))
    out += [call for call in out if "request_id" in call[1]][:5]  # the same request again
    rng.shuffle(out)
    assert len(out) == CALLS
    return out


def _hammer(server: Server) -> list[httpx.Response]:
    with server.client() as client:
        r = client.post("/portfolio/initialize", json={"capital": 300_000})
        assert r.status_code == 200, r.text
    calls = _calls(seed=11)

    def one(call: tuple[str, dict[str, Any]]) -> httpx.Response:
        kind, body = call
        path = "/portfolio/rebalance" if kind == "rebalance" else f"/orders/{kind}"
        with server.client() as client:
            return client.post(path, json=body)

    with ThreadPoolExecutor(max_workers=CALLS) as pool:
        return list(pool.map(one, calls))


def _check(server: Server, store_url: str, responses: list[httpx.Response]) -> None:
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses][:3]
    counts = replay(store_url)
    replayed = [r for r in responses if r.json().get("replayed")]
    assert replayed  # the retried request ids were answered from the first outcome
    assert counts["buy_all"] + counts["sell_all"] + counts.get("rebalance", 0) <= CALLS
    assert counts["orders"] > 0 and counts.get("rebalance", 0) > 0
    with server.client() as client:
        listed = client.get("/orders", params={"limit": 100_000}).json()["orders"]
    answered = [
        o["order_id"] for r in responses if "orders" in r.json() for o in r.json()["orders"]
    ]
    assert sorted({*answered}) == sorted(o["order_id"] for o in listed)  # each order once
    assert len(listed) == counts["orders"]


def test_fifty_parallel_calls_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'book.db'}"
    with running_server(url, tmp_path) as server:
        responses = _hammer(server)
        _check(server, url, responses)


@pytest.fixture
def pg_url(postgres_server: Any) -> Iterator[str]:
    import psycopg

    admin = postgres_server.url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("drop database if exists service_book")
        conn.execute("create database service_book")
    yield admin.rsplit("/", 1)[0] + "/service_book"


@pytest.mark.postgres
def test_fifty_parallel_calls_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    with running_server(pg_url, tmp_path) as server:
        responses = _hammer(server)
        _check(server, pg_url, responses)
