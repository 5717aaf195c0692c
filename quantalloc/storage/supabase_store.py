"""The Supabase store: the same contract over Supabase's REST API (PostgREST), via supabase-py.

The REST API cannot run DDL, so the schema comes from the script of ``quantalloc db schema``
(pasted into the Supabase SQL editor) or from ``quantalloc db init --store postgresql://...``
with the project's direct connection string. Writes that must be atomic go through the two SQL
functions that schema creates (one RPC call is one transaction): ``quantalloc_save_run`` and
``quantalloc_replace_table``. Appends are one bulk insert request (also one transaction).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pandas as pd

from quantalloc.errors import StorageError
from quantalloc.storage.base import RUN_LIST_COLUMNS
from quantalloc.storage.documents import rows_as_json, run_rows
from quantalloc.storage.frames import input_rows, rows_to_frame
from quantalloc.storage.schema import (
    MIGRATIONS_TABLE,
    RUN_COLUMNS,
    SCHEMA_VERSION,
    TABLES,
    check_input_table,
    columns_of,
)
from quantalloc.storage.url import StoreTarget

log = logging.getLogger(__name__)

PAGE_ROWS = 1000  # Supabase's default max rows per response
SCHEMA_HINT = (
    "paste the output of `quantalloc db schema` into the Supabase SQL editor and run it (or run "
    "`quantalloc db init --store postgresql://...` with the project's direct connection string)"
)


REQUEST_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
"""Seconds a REST request may take (connecting: 10): a server that accepts and never answers
is an error after this, not a 120 s wait per request."""


def _local(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")


class SupabaseStore:
    """A Store on a Supabase project's REST API (see :class:`quantalloc.storage.base.Store`)."""

    backend = "supabase"

    def __init__(
        self,
        target: StoreTarget,
        *,
        http_client: httpx.Client | None = None,
        timeout: httpx.Timeout = REQUEST_TIMEOUT,
    ) -> None:
        from supabase import ClientOptions, create_client

        assert target.supabase_url is not None and target.supabase_key is not None
        self.display = target.display
        self._target = target
        if urlsplit(target.supabase_url).scheme == "http" and not _local(target.supabase_url):
            log.warning(
                "%s is plain http: the API key travels unencrypted; use the project's https URL",
                target.supabase_url,
            )
        self._timeout = timeout
        options = ClientOptions(postgrest_client_timeout=timeout, httpx_client=http_client)
        try:
            self._client = create_client(target.supabase_url, target.supabase_key, options=options)
        except Exception as exc:  # supabase-py raises a bare exception for a malformed URL/key
            raise StorageError(
                f"cannot open {self.display}: {self._target.scrub(str(exc))}; check "
                "SUPABASE_URL and SUPABASE_KEY"
            ) from None
        self._schema_checked = False

    def __repr__(self) -> str:
        return f"SupabaseStore({self.display!r})"

    # -- errors --------------------------------------------------------------------------------

    def _call(self, what: str, request: Callable[[], Any]) -> Any:
        from postgrest.exceptions import APIError

        try:
            return request()
        except APIError as exc:
            raise self._translate(exc, what) from None
        except httpx.TimeoutException as exc:
            raise StorageError(
                f"Supabase at {self.display} did not answer within "
                f"{self._timeout.read:g} s ({type(exc).__name__}); check SUPABASE_URL and "
                "the project's status"
            ) from None
        except httpx.HTTPError as exc:
            raise StorageError(
                f"cannot reach Supabase at {self.display} ({type(exc).__name__}: "
                f"{self._target.scrub(str(exc))}); check SUPABASE_URL and the network"
            ) from None

    def _translate(self, exc: Any, what: str) -> StorageError:
        code = str(getattr(exc, "code", "") or "")
        message = self._target.scrub(str(getattr(exc, "message", "") or exc))
        hint = getattr(exc, "hint", None)
        detail = f"{message} [{code}]" if code else message
        if code in ("PGRST205", "42P01", "PGRST202", "42883"):
            return StorageError(f"{what}: {detail} in {self.display}; {SCHEMA_HINT}")
        if code in ("42703", "PGRST204"):
            return StorageError(
                f"{what}: {detail} in {self.display}; the table lacks a column quantalloc needs: "
                "run the output of `quantalloc db schema` in the SQL editor (it adds them)"
            )
        if code in ("42501",) or "permission denied" in message.lower():
            return StorageError(
                f"{what}: {detail} in {self.display}; the key may read but not write (row level "
                "security): use a key with write access or add policies for these tables"
            )
        if (
            code in ("PGRST301", "PGRST302")
            or "jwt" in message.lower()
            or "api key" in message.lower()
        ):
            return StorageError(
                f"{what}: Supabase refused the key ({detail}); set SUPABASE_KEY to the project's "
                "anon or service-role key"
            )
        extra = f" ({self._target.scrub(str(hint))})" if hint else ""
        return StorageError(f"{what}: {detail}{extra} in {self.display}")

    def _require_schema(self) -> None:
        if self._schema_checked:
            return
        version = self.schema_version()
        if version < SCHEMA_VERSION:
            raise StorageError(
                f"the Supabase project {self.display} has quantalloc schema version {version}, "
                f"this quantalloc needs {SCHEMA_VERSION}; {SCHEMA_HINT}"
            )
        self._schema_checked = True

    # -- schema --------------------------------------------------------------------------------

    def init(self) -> int:
        """Check the schema is in place (the REST API cannot create it); return its version."""
        self._schema_checked = False
        self._require_schema()
        return self.schema_version()

    def schema_version(self) -> int:
        """The schema version recorded in the project (StorageError when the tables are absent)."""
        table = self._client.table(MIGRATIONS_TABLE)
        response = self._call(
            f"reading {MIGRATIONS_TABLE}",
            lambda: table.select("version").order("version", desc=True).limit(1).execute(),
        )
        return int(response.data[0]["version"]) if response.data else 0

    def table_counts(self) -> dict[str, int | None]:
        """Row count of every table (exact counts from PostgREST)."""
        from postgrest.types import CountMethod

        counts: dict[str, int | None] = {}
        for name in TABLES:
            table = self._client.table(name)
            try:
                response = self._call(
                    f"counting {name}",
                    lambda t=table: t.select("*", count=CountMethod.exact, head=True).execute(),  # type: ignore[misc]
                )
            except StorageError:
                counts[name] = None
                continue
            counts[name] = int(response.count or 0)
        return counts

    # -- input tables --------------------------------------------------------------------------

    def read_table(self, name: str) -> pd.DataFrame:
        """Input table ``name``, paged ``PAGE_ROWS`` rows per request, in insertion order."""
        check_input_table(name)
        self._require_schema()
        specs = columns_of(name)
        fields = ",".join(s.name for s in specs)
        rows: list[dict[str, Any]] = []
        while True:
            start = len(rows)
            query = (
                self._client.table(name)
                .select(fields)
                .order("id")
                .range(start, start + PAGE_ROWS - 1)
            )
            page = self._call(f"reading {name}", query.execute).data
            rows.extend(page)
            if len(page) < PAGE_ROWS:
                break
        return rows_to_frame(rows, specs)

    def write_table(
        self, name: str, frame: pd.DataFrame, *, replace: bool = True, source: str = "frame"
    ) -> int:
        """Validate ``frame`` and store it: replace via one RPC call, append via one insert."""
        rows = rows_as_json(input_rows(name, frame, source))
        self._require_schema()
        if replace:
            response = self._call(
                f"replacing {name}",
                self._client.rpc(
                    "quantalloc_replace_table", {"target_table": name, "table_rows": rows}
                ).execute,
            )
            return int(response.data)
        if rows:
            query = self._client.table(name).insert(rows, returning="minimal")  # type: ignore[arg-type]
            self._call(f"appending to {name}", query.execute)
        return len(rows)

    # -- runs ----------------------------------------------------------------------------------

    def save_run(self, document: dict[str, Any]) -> bool:
        """Store a run through ``quantalloc_save_run`` (one transaction); False when stored."""
        run, positions = run_rows(document)
        secret = self._target.secret
        run["created_at"] = run["created_at"].replace(tzinfo=dt.UTC)
        payload: dict[str, Any] = {
            "run_row": rows_as_json([run])[0],
            "position_rows": rows_as_json(positions),
        }
        if secret and secret in str(payload["run_row"]["document"]):
            raise StorageError("the run document contains the Supabase key; refusing to store it")
        self._require_schema()
        response = self._call(
            f"saving run {run['run_id']}",
            self._client.rpc("quantalloc_save_run", payload).execute,
        )
        return bool(response.data)

    def list_runs(self, limit: int = 20) -> pd.DataFrame:
        """The latest ``limit`` runs, newest first."""
        self._require_schema()
        query = (
            self._client.table("allocation_runs")
            .select(",".join(RUN_LIST_COLUMNS))
            .order("created_at", desc=True)
            .order("run_id", desc=True)
            .limit(max(int(limit), 0))
        )
        rows = self._call("listing runs", query.execute).data
        return rows_to_frame(rows, [s for s in RUN_COLUMNS if s.name in RUN_LIST_COLUMNS])

    def get_run(self, run_id: str) -> dict[str, Any]:
        """The stored document of run ``run_id``."""
        self._require_schema()
        query = self._client.table("allocation_runs").select("document").eq("run_id", run_id)
        rows = self._call(f"reading run {run_id}", query.execute).data
        if not rows:
            raise StorageError(
                f"no run {run_id!r} in {self.display}; `quantalloc runs list` shows stored runs"
            )
        return dict(rows[0]["document"])

    def run_positions(self, run_id: str) -> pd.DataFrame:
        """The ``allocations`` rows of run ``run_id``, by position."""
        self._require_schema()
        specs = columns_of("allocations")
        query = (
            self._client.table("allocations")
            .select(",".join(s.name for s in specs))
            .eq("run_id", run_id)
            .order("position")
        )
        rows = self._call(f"reading positions of run {run_id}", query.execute).data
        return rows_to_frame(rows, specs)

    def close(self) -> None:
        """Close the HTTP session."""
        session = getattr(self._client.postgrest, "session", None)
        if session is not None:
            session.close()
