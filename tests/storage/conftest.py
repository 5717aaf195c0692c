"""Backends for the one contract suite: SQLite in memory and in a file always, and a REAL
PostgreSQL server (tests/support/postgres.py) with a fresh database per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from quantalloc.storage import Store, open_store

BACKENDS = ("sqlite-memory", "sqlite-file", "postgresql")


@pytest.fixture(scope="module")
def module_pg_url(postgres_server) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """URL of a new database on the test server for one test module (dropped afterwards)."""
    name = f"qa_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server.url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    yield postgres_server.url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(postgres_server.url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def fresh_pg_url(module_pg_url: str) -> str:
    """The module's database, emptied: its public schema dropped and created again."""
    with psycopg.connect(module_pg_url, autocommit=True) as conn:
        conn.execute("drop schema public cascade")
        conn.execute("create schema public")
    return module_pg_url


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty store on each backend."""
    if request.param == "sqlite-memory":
        return "sqlite://"
    if request.param == "sqlite-file":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("fresh_pg_url"))


@pytest.fixture
def bare_store(store_url: str) -> Iterator[Store]:
    """An open store with no schema yet."""
    store = open_store(store_url)
    yield store
    store.close()


@pytest.fixture
def store(bare_store: Store) -> Store:
    """An open store with the schema created."""
    bare_store.init()
    return bare_store
