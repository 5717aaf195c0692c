"""Bad stores: one clear StorageError with the remedy, naming the host, never the password."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from quantalloc.errors import StorageError
from quantalloc.storage import open_store
from tests.storage.samples import sample_document


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nobody listens once the socket is closed


def test_unreachable_server() -> None:
    port = _closed_port()
    store = open_store(f"postgresql://alice:hunter2-pw@127.0.0.1:{port}/db")
    with pytest.raises(StorageError) as info:
        store.init()
    message = str(info.value)
    assert f"cannot reach the PostgreSQL server at 127.0.0.1:{port}" in message
    assert "check the host and port" in message and "hunter2" not in message
    assert "\n" not in message


def test_wrong_password(postgres_server) -> None:  # type: ignore[no-untyped-def]
    url = postgres_server.url.replace(postgres_server.password, "wrong-pw-777")
    store = open_store(url)
    with pytest.raises(StorageError) as info:
        store.list_runs()
    message = str(info.value)
    assert f"server at 127.0.0.1:{postgres_server.port} refused the password for user" in message
    assert "wrong-pw-777" not in message and postgres_server.password not in message
    assert ".env" in message


def test_missing_database(postgres_server) -> None:  # type: ignore[no-untyped-def]
    store = open_store(postgres_server.url.rsplit("/", 1)[0] + "/no_such_db")
    with pytest.raises(
        StorageError, match=r"database 'no_such_db' does not exist.*CREATE DATABASE"
    ) as info:
        store.schema_version()
    assert postgres_server.password not in str(info.value)


def test_sqlite_file_in_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"folder .*missing.* does not exist"):
        open_store(f"sqlite:///{tmp_path / 'missing' / 'q.db'}")


def test_dropped_table_says_run_db_init(fresh_pg_url: str) -> None:
    store = open_store(fresh_pg_url)
    store.init()
    with store.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.exec_driver_sql("drop table stock_rankings")
    with pytest.raises(
        StorageError, match=r"table stock_rankings does not exist .*`Store.init\(\)`"
    ):
        store.read_table("stock_rankings")
    store.close()


def test_a_document_holding_the_password_is_refused(postgres_server, fresh_pg_url: str) -> None:  # type: ignore[no-untyped-def]
    store = open_store(fresh_pg_url)
    store.init()
    document = sample_document("leaky")
    document["solver"] = {"note": f"connected with {postgres_server.password}"}
    with pytest.raises(StorageError, match="contains the store's password") as info:
        store.save_run(document)
    assert postgres_server.password not in str(info.value)
    assert store.table_counts()["allocation_runs"] == 0
    store.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_missing_column_is_named_and_db_init_adds_it(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'q.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("fresh_pg_url")
    )
    store = open_store(url)
    store.init()
    with store.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.exec_driver_sql("alter table stock_rankings drop column market_cap_category")
    with pytest.raises(
        StorageError, match=r"market_cap_category.*lacks a column.*`Store.init\(\)`"
    ):
        store.read_table("stock_rankings")
    store.init()
    assert store.read_table("stock_rankings").empty
    store.close()
