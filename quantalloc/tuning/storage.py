"""Open the optuna storage a study URL names (the URL forms: :mod:`quantalloc.storage.url`).

``None`` or ``memory`` is in memory, this process only; ``sqlite:///PATH`` and
``postgresql://...`` go through optuna's RDBStorage (psycopg 3); ``journal:PATH`` or a plain
file path is an optuna JournalStorage file (the CLI's default).

Several processes (or machines, for PostgreSQL) that open the same URL and study name share the
study: that is optuna's distributed mode, and what ``quantalloc tune --workers K`` uses.

Why the journal file is the local default (measured on this 2-core machine, shared with other
jobs, so noisy): 200 TPE trials of a two-parameter no-op objective ran at 346 trials/s on a
JournalStorage file against 59 trials/s on SQLite (826/s in memory); on the real momentum
walk-forward study (``benchmarks/bench_tuning.py``, 60 trials, fastest of 3 runs) the figures
were 14.6 trials/s on the journal file, 4.9 on SQLite, 10.7 on a local PostgreSQL and 48.5 in
memory. Both files fsync every write; SQLite pays a transaction commit per storage call, the
journal one append. The journal file also takes several writer processes through its lock file,
where SQLite serialises them with "database is locked" retries.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import optuna
from optuna.storages import BaseStorage

from quantalloc.errors import StorageError
from quantalloc.storage.url import redact, study_url

SCHEMA_LOCK_KEY = 0x71A7_0C01
"""PostgreSQL advisory lock taken while optuna creates or checks its tables."""


@contextmanager
def schema_lock(canonical: str) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock while optuna creates its schema (no-op elsewhere).

    Two workers opening an empty database at once would otherwise both run ``CREATE TABLE``
    and one would fail on PostgreSQL's catalog (``pg_type_typname_nsp_index``).
    """
    if not canonical.startswith("postgresql"):
        yield
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(canonical, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK_KEY})
    finally:
        engine.dispose()


def driver_reason(exc: BaseException, limit: int = 160) -> str:
    """The database driver's reason for ``exc`` in one short line (no SQL, no traceback)."""
    inner = getattr(exc, "orig", None) or exc
    text = " ".join(str(inner).strip().split("\n")[0].split()) or type(inner).__name__
    text = text.split("[SQL:", 1)[0].strip()
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def open_storage(url: str | None) -> BaseStorage:
    """Open (creating when needed) the optuna storage named by ``url``.

    Raises
    ------
    ConfigError
        The URL names an unknown scheme.
    StorageError
        The database or file cannot be reached or created.
    """
    canonical = study_url(url)
    if canonical == "memory":
        return optuna.storages.InMemoryStorage()
    try:
        if canonical.startswith("journal:"):
            path = Path(canonical[len("journal:") :]).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
            from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

            backend = JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path)))
            return optuna.storages.JournalStorage(backend)
        if canonical.startswith("sqlite:///"):
            Path(canonical[len("sqlite:///") :]).expanduser().parent.mkdir(
                parents=True, exist_ok=True
            )
            return optuna.storages.RDBStorage(
                canonical, engine_kwargs={"connect_args": {"timeout": 60}}
            )
        with warnings.catch_warnings(), schema_lock(canonical):
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeats
            return optuna.storages.RDBStorage(
                canonical,
                engine_kwargs={"pool_pre_ping": True, "pool_size": 2, "max_overflow": 2},
                heartbeat_interval=60,
                grace_period=180,
            )
    except (OSError, ImportError) as exc:
        raise StorageError(f"cannot open study storage {redact(canonical)}: {exc}") from exc
    except Exception as exc:  # sqlalchemy / psycopg errors
        if "sqlalchemy" in type(exc).__module__ or "psycopg" in type(exc).__module__:
            raise StorageError(
                f"cannot open study storage {redact(canonical)}: {driver_reason(exc)}; "
                "check the URL, the server and the credentials"
            ) from exc
        raise


__all__ = ["driver_reason", "open_storage", "schema_lock"]
