"""The SQL store: SQLite (embedded, the default) and PostgreSQL through SQLAlchemy Core.

Every statement is built with SQLAlchemy Core, so values are always bound parameters. SQLite
files run in WAL mode with a 30 s busy timeout and every write transaction starts with ``BEGIN
IMMEDIATE``, so several processes can write the same file at once without "database is locked"
failures or lost runs; reads begin deferred, so under WAL they never wait for a writer.
PostgreSQL runs through psycopg 3.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, create_engine, delete, event, func, insert, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from quantalloc.errors import StorageError
from quantalloc.storage.base import RUN_LIST_COLUMNS
from quantalloc.storage.documents import run_rows
from quantalloc.storage.frames import input_rows, rows_to_frame
from quantalloc.storage.migrations import applied_version, migrate
from quantalloc.storage.schema import (
    RUN_COLUMNS,
    SCHEMA_VERSION,
    TABLES,
    allocation_runs,
    allocations,
    check_input_table,
    columns_of,
    metadata,
)
from quantalloc.storage.url import StoreTarget

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 10
INIT_HINT = "run `Store.init()`"
INIT_PARAMS = ("Store.init()",)


def _sqlite_engine(target: StoreTarget) -> Engine:
    assert target.sqlalchemy_url is not None
    if target.in_memory:
        engine = create_engine(
            "sqlite://",
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
            hide_parameters=True,
        )
    else:
        folder = Path(str(target.sqlalchemy_url.database)).parent
        if not folder.is_dir():
            raise StorageError(
                f"cannot create the SQLite store {target.display}: folder {folder} does not "
                "exist; create it or choose another path (sqlite:///PATH is relative to the "
                "current folder, sqlite:////PATH absolute)"
            )
        engine = create_engine(
            target.sqlalchemy_url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            hide_parameters=True,
        )
    file_backed = not target.in_memory

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see _on_begin)
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        if file_backed:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writer takes the write lock up front: a deferred transaction that reads and then
        # writes can fail at once with SQLITE_BUSY under concurrent writers, whatever the busy
        # timeout. A reader begins deferred, so under WAL it never queues behind a writer.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get(WRITE_FLAG) else "BEGIN")

    return engine


WRITE_FLAG = "quantalloc_write"
"""Set on a connection's info while it runs a write transaction (SQLite: BEGIN IMMEDIATE)."""


def _pg_engine(target: StoreTarget) -> Engine:
    assert target.sqlalchemy_url is not None
    return create_engine(
        target.sqlalchemy_url,
        pool_pre_ping=True,
        hide_parameters=True,
        # prepare_threshold=None: no server-side prepared statements, so transaction-mode
        # poolers (Supabase's port 6543, pgbouncer) work as well as direct connections.
        connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S, "prepare_threshold": None},
    )


class SqlStore:
    """A Store on SQLite or PostgreSQL (see :class:`quantalloc.storage.base.Store`)."""

    def __init__(self, target: StoreTarget) -> None:
        if target.backend not in ("sqlite", "postgresql"):
            raise ValueError(f"SqlStore cannot open a {target.backend} target")
        self.backend = target.backend
        self.display = target.display
        self._target = target
        self._engine = _sqlite_engine(target) if target.backend == "sqlite" else _pg_engine(target)
        self._schema_checked = False

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for tests and advanced use)."""
        return self._engine

    def __repr__(self) -> str:
        return f"SqlStore({self.display!r})"

    # -- errors --------------------------------------------------------------------------------

    def _translate(self, exc: SQLAlchemyError, table: str | None) -> StorageError:
        orig = exc.orig if isinstance(exc, DBAPIError) else exc
        detail = self._target.scrub(
            str(orig).strip().splitlines()[0] if str(orig).strip() else repr(orig)
        )
        low = detail.lower()
        url = self._target.sqlalchemy_url
        where = f"{url.host}:{url.port or 5432}" if url is not None and url.host else self.display
        if "password authentication failed" in low or "no password supplied" in low:
            user = url.username if url is not None else "?"
            return StorageError(
                f"the PostgreSQL server at {where} refused the password for user {user}; "
                "fix the password in `store` / DATABASE_URL or your .env file",
                params="store",
            )
        if self.backend == "postgresql" and "database" in low and "does not exist" in low:
            database = url.database if url is not None else "?"
            return StorageError(
                f"database {database!r} does not exist on the PostgreSQL server at {where}; "
                "create it (CREATE DATABASE) or fix the database name in the URL"
            )
        if self.backend == "postgresql" and any(
            s in low
            for s in (
                "connection refused",
                "could not translate host",
                "name or service not known",
                "timeout expired",
                "no route to host",
                "network is unreachable",
                "connection failed",
                "could not connect",
            )
        ):
            return StorageError(
                f"cannot reach the PostgreSQL server at {where} ({detail}); check the host and "
                "port in `store` / DATABASE_URL and that the server is running",
                params="store",
            )
        if "no such table" in low or ("relation" in low and "does not exist" in low):
            name = f"table {table}" if table else "a quantalloc table"
            return StorageError(
                f"{name} does not exist in {self.display}; {INIT_HINT}", params=INIT_PARAMS
            )
        if "no such column" in low or ("column" in low and "does not exist" in low):
            return StorageError(
                f"{detail} in {self.display}: the table lacks a column quantalloc needs; "
                f"{INIT_HINT} to add it",
                params=INIT_PARAMS,
            )
        if "unable to open database file" in low:
            return StorageError(f"cannot open the SQLite file {self.display} ({detail})")
        if self.backend == "postgresql" and any(
            s in low
            for s in (
                "server closed the connection",
                "terminating connection",
                "consuming input failed",
                "the connection is lost",
                "connection is closed",
            )
        ):
            return StorageError(
                f"the PostgreSQL server at {where} closed the connection mid-transaction "
                f"({detail}); nothing of that change was written: check that the server is "
                "running, then run the command again"
            )
        if "database is locked" in low:
            return StorageError(
                f"the SQLite file {self.display} is locked by another writer (waited up to "
                f"{SQLITE_BUSY_TIMEOUT_MS // 1000} s); retry when it is done"
            )
        return StorageError(f"{self.backend} store {self.display}: {detail}")

    @contextmanager
    def _connect(self, *, write: bool, table: str | None = None) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn:
                if not write:
                    yield conn
                    return
                conn.info[WRITE_FLAG] = True  # read by the SQLite "begin" hook
                try:
                    with conn.begin():
                        yield conn
                finally:
                    conn.info.pop(WRITE_FLAG, None)
        except SQLAlchemyError as exc:
            raise self._translate(exc, table) from None

    def transaction(self, *, write: bool = True, table: str | None = None) -> Any:
        """A connection in one transaction (committed at the end of the ``with`` block).

        With ``write`` the SQLite write lock is taken at once (``BEGIN IMMEDIATE``); database
        errors come out as StorageError naming ``table``. For modules that keep their own
        tables in this store (the portfolio book).
        """
        return self._connect(write=write, table=table)

    def _require_schema(self) -> None:
        if self._schema_checked:
            return
        version = self.schema_version()
        if version == 0:
            raise StorageError(
                f"the store {self.display} has no quantalloc tables; {INIT_HINT}",
                params=INIT_PARAMS,
            )
        if version < SCHEMA_VERSION:
            raise StorageError(
                f"the store {self.display} has schema version {version}, this quantalloc needs "
                f"{SCHEMA_VERSION}; {INIT_HINT} to upgrade it",
                params=INIT_PARAMS,
            )
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"the store {self.display} has schema version {version}, newer than this "
                f"quantalloc knows ({SCHEMA_VERSION}); upgrade quantalloc"
            )
        self._schema_checked = True

    # -- schema --------------------------------------------------------------------------------

    def init(self) -> int:
        """Create or upgrade the schema (idempotent); return the version now in force."""
        with self._connect(write=True) as conn:
            migrate(conn, display=self.display)
        self._schema_checked = False
        return self.schema_version()

    def schema_version(self) -> int:
        """The schema version present (0 for none)."""
        with self._connect(write=False) as conn:
            return applied_version(conn)

    def table_counts(self) -> dict[str, int | None]:
        """Row count of every table (None where the table does not exist)."""
        counts: dict[str, int | None] = {}
        with self._connect(write=False) as conn:
            inspector = inspect(conn)
            for name in TABLES:
                if not inspector.has_table(name):
                    counts[name] = None
                    continue
                table = metadata.tables[name]
                counts[name] = int(
                    conn.execute(select(func.count()).select_from(table)).scalar_one()
                )
        return counts

    # -- input tables --------------------------------------------------------------------------

    def read_table(self, name: str) -> pd.DataFrame:
        """Input table ``name`` as a typed DataFrame, in insertion order."""
        check_input_table(name)
        self._require_schema()
        table = metadata.tables[name]
        specs = columns_of(name)
        query = select(*(table.c[s.name] for s in specs)).order_by(table.c.id)
        with self._connect(write=False, table=name) as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        return rows_to_frame(rows, specs)

    def write_table(
        self, name: str, frame: pd.DataFrame, *, replace: bool = True, source: str = "frame"
    ) -> int:
        """Validate ``frame`` and store it as table ``name`` in one transaction."""
        rows = input_rows(name, frame, source)
        self._require_schema()
        table = metadata.tables[name]
        with self._connect(write=True, table=name) as conn:
            if replace:
                conn.execute(delete(table))
            if rows:
                conn.execute(insert(table), rows)
        return len(rows)

    # -- runs ----------------------------------------------------------------------------------

    def save_run(self, document: dict[str, Any]) -> bool:
        """Store a run and its positions in one transaction; False when already stored."""
        run, positions = run_rows(document)
        self._refuse_secret(run["document"])
        self._require_schema()
        if self.backend == "postgresql":
            run["created_at"] = run["created_at"].replace(tzinfo=dt.UTC)
        dialect_insert = pg_insert if self.backend == "postgresql" else sqlite_insert
        stmt = (
            dialect_insert(allocation_runs)
            .values(**run)
            .on_conflict_do_nothing()
            .returning(allocation_runs.c.run_id)  # no row back: the run was already there
        )
        with self._connect(write=True, table="allocation_runs") as conn:
            if conn.execute(stmt).first() is None:
                return False
            for row in positions:  # one statement per position, all in this transaction
                conn.execute(insert(allocations), [row])
        return True

    def _refuse_secret(self, document: dict[str, Any]) -> None:
        secret = self._target.secret
        if secret and len(secret) >= 4 and secret in json.dumps(document):
            raise StorageError(
                "the run document contains the store's password; refusing to store it"
            )

    def list_runs(self, limit: int = 20) -> pd.DataFrame:
        """The latest ``limit`` runs, newest first."""
        self._require_schema()
        cols = [allocation_runs.c[name] for name in RUN_LIST_COLUMNS]
        query = (
            select(*cols)
            .order_by(allocation_runs.c.created_at.desc(), allocation_runs.c.run_id.desc())
            .limit(max(int(limit), 0))
        )
        with self._connect(write=False, table="allocation_runs") as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        return rows_to_frame(rows, [s for s in RUN_COLUMNS if s.name in RUN_LIST_COLUMNS])

    def get_run(self, run_id: str) -> dict[str, Any]:
        """The stored document of run ``run_id``."""
        self._require_schema()
        query = select(allocation_runs.c.document).where(allocation_runs.c.run_id == run_id)
        with self._connect(write=False, table="allocation_runs") as conn:
            found = conn.execute(query).scalar_one_or_none()
        if found is None:
            raise StorageError(
                f"no run {run_id!r} in {self.display}; `quantalloc runs list` shows stored runs"
            )
        return json.loads(found) if isinstance(found, str) else dict(found)

    def run_positions(self, run_id: str) -> pd.DataFrame:
        """The ``allocations`` rows of run ``run_id``, by position."""
        self._require_schema()
        specs = columns_of("allocations")
        query = (
            select(*(allocations.c[s.name] for s in specs))
            .where(allocations.c.run_id == run_id)
            .order_by(allocations.c.position)
        )
        with self._connect(write=False, table="allocations") as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        return rows_to_frame(rows, specs)

    def close(self) -> None:
        """Dispose of the engine's connections."""
        self._engine.dispose()
