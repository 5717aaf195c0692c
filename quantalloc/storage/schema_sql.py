"""The PostgreSQL script a Supabase user pastes in the SQL editor (``quantalloc db schema``).

Supabase's REST API cannot run DDL, so a project gets quantalloc's tables from this script (or
from ``quantalloc db init`` on its direct connection string). The script is rendered from what
``db init`` itself runs, so the two cannot differ: the tables of
:mod:`quantalloc.storage.schema` as SQLAlchemy compiles them for PostgreSQL, the columns a table
made elsewhere is given (:func:`~quantalloc.storage.migrations.adopted_column`), the two
functions of ``sql/functions.sql`` and one ``quantalloc_schema`` row per migration. A test builds
a database from it and one from the migrations on a real PostgreSQL and compares them.
"""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateTable

from quantalloc.storage.migrations import MIGRATIONS, adopted_column, pg_functions
from quantalloc.storage.schema import (
    MIGRATIONS_TABLE,
    SCHEMA_VERSION,
    columns_of,
    metadata,
    migrations_table,
)

_HEADER = """\
-- quantalloc schema, version {version}, for PostgreSQL (a Supabase project's SQL editor, or psql).
-- Written by `quantalloc db schema` from the tables `quantalloc db init` creates.
--
-- Paste the whole script into the Supabase SQL editor and run it once; running it again is
-- harmless. It creates what `quantalloc db init --store postgresql://...` creates: the input
-- tables, the run tables, the two functions the supabase:// store calls so that each write is
-- one transaction, and the schema-version rows quantalloc checks. Tables of the same name that
-- already exist (the original system's) are kept with their rows; missing columns are added.
--
-- Row level security: these tables are created without it. If you enable RLS (Supabase
-- recommends it for tables exposed to the anon key), add policies that let the key you give
-- quantalloc (SUPABASE_KEY) select and insert, or use the service-role key.
"""

_ADOPT = """\
-- Tables that already exist (made by an earlier system, such as the original Supabase project)
-- keep their rows and extra columns; the columns quantalloc needs are added to them, nullable.
-- On tables created above these statements change nothing.
"""


def _create(table: Table, dialect: Dialect) -> str:
    """``CREATE TABLE IF NOT EXISTS`` as ``db init`` runs it, one column a line with its note."""
    compiled = str(CreateTable(table, if_not_exists=True).compile(dialect=dialect)).strip()
    head, *body, tail = compiled.splitlines()
    specs = () if table.name == MIGRATIONS_TABLE else columns_of(table.name)
    notes = {spec.name: spec.note for spec in specs}
    lines = []
    for i, raw in enumerate(body):
        line = "    " + raw.strip().rstrip(",").rstrip() + ("," if i < len(body) - 1 else "")
        note = notes.get(raw.split()[0], "")
        lines.append(f"{line}  -- {note}" if note else line)
    return "\n".join([head, *lines, tail]) + ";"


def _adopt(table: Table, dialect: Dialect) -> str:
    """``ALTER TABLE`` adding every column quantalloc needs that an adopted table lacks."""
    adds = [adopted_column(column, dialect) for column in table.columns]
    columns = ",\n".join(f"    ADD COLUMN IF NOT EXISTS {a}" for a in adds if a is not None)
    return f"ALTER TABLE {dialect.identifier_preparer.quote(table.name)}\n{columns};"


def _versions() -> str:
    rows = ",\n       ".join(
        f"({m.version}, '{m.description.replace(chr(39), chr(39) * 2)}', now())" for m in MIGRATIONS
    )
    return (
        f"INSERT INTO {MIGRATIONS_TABLE} (version, description, applied_at)\n"
        f"VALUES {rows}\nON CONFLICT (version) DO NOTHING;"
    )


def schema_sql() -> str:
    """The whole script, in one transaction: tables, adoption of existing ones, functions and
    the schema-version rows."""
    dialect = postgresql.dialect()
    tables = [t for name, t in metadata.tables.items() if name != MIGRATIONS_TABLE]
    parts = [
        _HEADER.format(version=SCHEMA_VERSION),
        "BEGIN;",
        "-- Inputs (the names of the original Supabase schema), then the runs: one row per solve "
        "run\n-- (the whole JSON document) and one per position",
        *(_create(t, dialect) for t in tables),
        _ADOPT.rstrip(),
        *(_adopt(t, dialect) for t in tables),
        "-- Atomic writes for the REST API (one RPC call is one transaction)",
        *(f"{statement};" for statement in pg_functions()),
        "-- The schema version quantalloc checks",
        _create(migrations_table, dialect),
        _versions(),
        "COMMIT;",
    ]
    return "\n\n".join(part.rstrip() for part in parts) + "\n"
