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


@pytest.mark.postgres
def test_losing_the_server_mid_import_is_one_line_with_a_remedy(
    fresh_pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # issue 18: losing PostgreSQL during `db import` printed a psycopg warning line before the
    # error, and no remedy. The store's own connection is terminated by the real server (from a
    # second connection, the moment the import's first INSERT runs).
    import pandas as pd
    import psycopg
    from sqlalchemy import event

    from quantalloc.cli.app import main

    store = open_store(fresh_pg_url)
    store.init()
    killed: list[int] = []

    def terminate(conn, cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT") and not killed:
            pid = conn.connection.dbapi_connection.info.backend_pid
            with psycopg.connect(fresh_pg_url, autocommit=True) as admin:
                admin.execute("select pg_terminate_backend(%s)", [pid])
            killed.append(pid)

    event.listen(store.engine, "before_cursor_execute", terminate)
    frame = pd.DataFrame({"symbol": ["AAPL", "MSFT"], "industry": ["IT", "IT"]})
    with pytest.raises(StorageError, match="closed the connection mid-transaction") as info:
        store.write_table("stock_data", frame)
    assert killed and "run the command again" in str(info.value)
    store.close()
    assert len(open_store(fresh_pg_url).read_table("stock_data")) == 0  # nothing half-written
    # the CLI prints that one line and nothing from the driver before it: psycopg's own
    # warnings ("error ignored in rollback ...") are held back unless --verbose
    import logging

    csv = tmp_path / "s.csv"
    frame.to_csv(csv, index=False)
    with pytest.raises(SystemExit):
        main(["db", "import", "stock_data", str(csv), "--store", "postgresql://u@127.0.0.1:1/x"])
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if line.strip()][-1].startswith("error:")
    assert logging.getLogger("psycopg").getEffectiveLevel() == logging.ERROR
