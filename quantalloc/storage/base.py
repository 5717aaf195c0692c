"""The Store protocol: one contract that every backend (SQLite, PostgreSQL, Supabase) keeps."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import pandas as pd

RUN_LIST_COLUMNS: tuple[str, ...] = (
    "run_id",
    "created_at",
    "as_of",
    "model",
    "risk",
    "market_state",
    "currency",
    "capital",
    "budget",
    "allocated_capital",
    "n_allocations",
)


@runtime_checkable
class Store(Protocol):
    """Where quantalloc keeps its input tables and solve runs.

    Every method raises StorageError (unreachable, refused, no schema: the message says what to
    do), DataError (a frame or document that does not fit) or ConfigError (an unknown table).
    """

    backend: str
    """``"sqlite"``, ``"postgresql"`` or ``"supabase"``."""
    display: str
    """The store's URL without password or key, safe to print."""

    def init(self) -> int:
        """Create or upgrade the schema (idempotent); return the schema version now in force."""
        ...

    def schema_version(self) -> int:
        """The schema version present (0 when the store has no quantalloc schema)."""
        ...

    def table_counts(self) -> dict[str, int | None]:
        """Row count of every table (None for a table that does not exist)."""
        ...

    def read_table(self, name: str) -> pd.DataFrame:
        """Input table ``name`` as a typed DataFrame, in insertion order."""
        ...

    def write_table(
        self, name: str, frame: pd.DataFrame, *, replace: bool = True, source: str = "frame"
    ) -> int:
        """Validate ``frame`` and store it as table ``name`` (replacing or appending, atomically).

        Returns the number of rows written. ``source`` names the frame's origin in messages.
        """
        ...

    def save_run(self, document: dict[str, Any]) -> bool:
        """Store a solve run and its positions in one transaction, keyed by ``run_id``.

        Returns False, writing nothing, when a run with that id is already stored.
        """
        ...

    def list_runs(self, limit: int = 20) -> pd.DataFrame:
        """The latest runs, newest first, one row each (columns RUN_LIST_COLUMNS)."""
        ...

    def get_run(self, run_id: str) -> dict[str, Any]:
        """The stored document of run ``run_id`` (StorageError when there is none)."""
        ...

    def run_positions(self, run_id: str) -> pd.DataFrame:
        """The ``allocations`` rows of run ``run_id`` (one per position, by position)."""
        ...

    def close(self) -> None:
        """Release connections (an in-memory store is gone afterwards)."""
        ...
