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
from pathlib import Path

import optuna
from optuna.storages import BaseStorage

from quantalloc.errors import StorageError
from quantalloc.storage.url import redact, study_url


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
        with warnings.catch_warnings():  # heartbeats are "experimental" in optuna 4
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                canonical,
                engine_kwargs={"pool_pre_ping": True, "pool_size": 2, "max_overflow": 2},
                heartbeat_interval=60,
                grace_period=180,
            )
    except (OSError, ImportError) as exc:
        raise StorageError(f"cannot open study storage {redact(canonical)}: {exc}") from exc
    except Exception as exc:  # sqlalchemy / psycopg errors
        name = type(exc).__name__
        if "sqlalchemy" in type(exc).__module__ or "psycopg" in type(exc).__module__:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else name
            raise StorageError(
                f"cannot open study storage {redact(canonical)}: {name}: {first}; "
                "check the URL, the server and the credentials"
            ) from exc
        raise


__all__ = ["open_storage"]
