"""Versioned schema migrations shipped with the package.

``quantalloc_schema`` holds one row per applied migration (version, description, applied_at).
``migrate`` applies the missing ones in order inside the caller's transaction; on PostgreSQL an
advisory lock makes concurrent ``init`` calls queue instead of racing. Migration 1 creates the
tables of :mod:`quantalloc.storage.schema` and, on PostgreSQL, the two functions the Supabase REST
backend calls so that its writes are single transactions too. A later schema change adds a new
migration (and freezes the table definitions migration 1 needs alongside it); ``sql/schema.sql``
is kept equal to the result of all migrations on PostgreSQL (a test checks it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, insert, inspect, select, text
from sqlalchemy.engine import Connection

from quantalloc.errors import StorageError
from quantalloc.storage.schema import (
    INPUT_TABLES,
    MIGRATIONS_TABLE,
    SCHEMA_VERSION,
    metadata,
    migrations_table,
)

_ADVISORY_LOCK_KEY = 7_202_611  # any constant: serialises quantalloc migrations per database

_INPUT_LIST = ", ".join(f"'{name}'" for name in INPUT_TABLES)

# No '%' anywhere: these run through a DB-API driver that treats '%' as a placeholder marker.
PG_FUNCTIONS: tuple[str, ...] = (
    """
create or replace function quantalloc_save_run(run_row jsonb, position_rows jsonb)
returns boolean
language plpgsql
as $$
declare
  inserted integer;
begin
  insert into allocation_runs
    select * from jsonb_populate_record(null::allocation_runs, run_row)
    on conflict (run_id) do nothing;
  get diagnostics inserted = row_count;
  if inserted = 0 then
    return false;
  end if;
  insert into allocations
    select * from jsonb_populate_recordset(null::allocations, position_rows);
  return true;
end
$$
""".strip(),
    f"""
create or replace function quantalloc_replace_table(target_table text, table_rows jsonb)
returns integer
language plpgsql
as $$
declare
  cols text;
  written integer;
begin
  if target_table not in ({_INPUT_LIST}) then
    raise exception using errcode = '22023',
      message = 'quantalloc_replace_table: unknown input table ' || target_table;
  end if;
  select string_agg(quote_ident(c.column_name), ', ' order by c.ordinal_position) into cols
    from information_schema.columns c
    where c.table_schema = current_schema() and c.table_name = target_table
      and c.column_name <> 'id';
  execute 'delete from ' || quote_ident(target_table) || ' where true';
  execute 'insert into ' || quote_ident(target_table) || ' (' || cols || ') select ' || cols
    || ' from jsonb_populate_recordset(null::' || quote_ident(target_table) || ', $1)'
    using table_rows;
  get diagnostics written = row_count;
  return written;
end
$$
""".strip(),
)


@dataclass(frozen=True)
class Migration:
    """One schema step: its version number, what it does, and the function doing it."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _initial(conn: Connection) -> None:
    tables = [t for name, t in metadata.tables.items() if name != MIGRATIONS_TABLE]
    metadata.create_all(conn, tables=tables, checkfirst=True)
    if conn.dialect.name == "postgresql":
        for statement in PG_FUNCTIONS:
            conn.exec_driver_sql(statement)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "input tables, allocation_runs and allocations (DESIGN.md section 3)", _initial),
)
assert MIGRATIONS[-1].version == SCHEMA_VERSION


def applied_version(conn: Connection) -> int:
    """The highest migration applied on ``conn``'s database (0 for none)."""
    if not inspect(conn).has_table(MIGRATIONS_TABLE):
        return 0
    return int(conn.execute(select(func.max(migrations_table.c.version))).scalar() or 0)


def migrate(conn: Connection, *, display: str) -> list[int]:
    """Apply the missing migrations in ``conn``'s transaction; return the versions applied."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("select pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
    migrations_table.create(conn, checkfirst=True)
    current = applied_version(conn)
    if current > SCHEMA_VERSION:
        raise StorageError(
            f"the store {display} has schema version {current}, newer than this quantalloc "
            f"knows ({SCHEMA_VERSION}); upgrade quantalloc"
        )
    done: list[int] = []
    for migration in MIGRATIONS:
        if migration.version <= current:
            continue
        migration.apply(conn)
        conn.execute(
            insert(migrations_table).values(
                version=migration.version,
                description=migration.description,
                applied_at=dt.datetime.now(dt.UTC),
            )
        )
        done.append(migration.version)
    return done
