"""Storage: input tables and solve runs behind one Store contract and one URL scheme.

>>> store = open_store("sqlite://")          # in memory; None = the default SQLite file
>>> store.init()
1
>>> store.save_run({"run_id": "r1", "allocations": []})
True
>>> store.save_run({"run_id": "r1", "allocations": []})  # already stored: no-op
False

See :mod:`quantalloc.storage.url` for the URL forms and :class:`Store` for the contract.
"""

from __future__ import annotations

from collections.abc import Mapping

from quantalloc.errors import StorageError
from quantalloc.storage.base import RUN_LIST_COLUMNS, Store
from quantalloc.storage.schema import INPUT_TABLES, OUTPUT_TABLES, SCHEMA_VERSION, TABLES
from quantalloc.storage.url import (
    StoreTarget,
    default_db_path,
    default_study_url,
    redact,
    resolve,
    select_url,
    study_url,
)

__all__ = [
    "INPUT_TABLES",
    "OUTPUT_TABLES",
    "RUN_LIST_COLUMNS",
    "SCHEMA_VERSION",
    "TABLES",
    "Store",
    "StoreTarget",
    "default_db_path",
    "default_study_url",
    "open_store",
    "redact",
    "resolve",
    "select_url",
    "study_url",
]


def open_store(url: str | None = None, *, env: Mapping[str, str] | None = None) -> Store:
    """Open the store at ``url`` (or the one ``env`` selects; see :func:`select_url`).

    ``env`` supplies ``DATABASE_URL``, ``QUANTALLOC_DB`` and the Supabase variables; the
    library never reads the process environment itself. Opening is lazy for SQL stores: the
    first operation connects. The default SQLite file's folder is created when missing.
    """
    target = resolve(url, env)
    if target.backend == "supabase":
        from quantalloc.storage.supabase_store import SupabaseStore

        return SupabaseStore(target)
    from quantalloc.storage.sqlstore import SqlStore

    if target.backend == "sqlite" and not target.in_memory and not url:
        selected = select_url(None, env)
        default = selected == f"sqlite:///{default_db_path(env)}"
        if default and not (env or {}).get("QUANTALLOC_DB"):  # the platform's data folder
            try:
                default_db_path(env).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(
                    f"cannot create the data folder {default_db_path(env).parent} for the "
                    f"default store ({exc.strerror}); set QUANTALLOC_DB or pass --store"
                ) from exc
    return SqlStore(target)
