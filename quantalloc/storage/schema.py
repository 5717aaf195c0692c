"""The tables of DESIGN.md section 3 as SQLAlchemy Core metadata, with per-column kinds.

Input tables (the seeds' Supabase names) carry a surrogate ``id`` that keeps insertion order;
``read_table`` drops it. Output tables hold solve runs: one ``allocation_runs`` row per run with
the whole JSON document, and one ``allocations`` row per position.

Every column has a *kind* (text, float, int, bool, date, datetime, json) that drives how a
DataFrame is coerced before writing and typed after reading, the same way on every backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION, JSONB
from sqlalchemy.types import TypeEngine

from quantalloc.errors import ConfigError

SCHEMA_VERSION = 3
"""The schema version this quantalloc writes and reads (the last migration's number)."""

MIGRATIONS_TABLE = "quantalloc_schema"


@dataclass(frozen=True)
class ColumnSpec:
    """One data column: its name, kind, whether a value is required, and what it holds where
    the name does not say (``quantalloc db schema`` prints it beside the column)."""

    name: str
    kind: str  # text | float | int | bool | date | datetime | json
    required: bool = False
    note: str = ""


def _c(name: str, kind: str, required: bool = False, note: str = "") -> ColumnSpec:
    return ColumnSpec(name, kind, required, note)


INPUT_COLUMNS: dict[str, tuple[ColumnSpec, ...]] = {
    "industry_allocations_current": (
        _c("industry", "text", True),
        _c("sector", "text"),
        _c("position_type", "text", True, "LONG / SHORT"),
        _c("weight_percentage", "float", True, "percent of the portfolio, 0..100"),
        _c("rating", "text", note="e.g. strong_overweight"),
    ),
    "sector_allocations_current": (
        _c("sector", "text", True),
        _c("position_type", "text"),
        _c("weight_percentage", "float", True),
        _c("rating", "text"),
    ),
    "stock_data": (
        _c("symbol", "text", True),
        _c("industry", "text", True),
        _c("sector", "text"),
        _c("fno_stock", "bool", note="has exchange-traded options (F&O segment)"),
        _c("lot_size", "int"),
        _c("market_cap_category", "text"),
    ),
    "stock_rankings": (
        _c("symbol", "text", True),
        _c("market_cap_category", "text"),
        _c("score", "float", True),
    ),
    "strategies": (
        _c("stock_name", "text", True),
        _c("industry", "text"),
        _c("strategy_name", "text", True),
        _c("total_score", "float", True),
        _c("probability_of_profit", "float"),
        _c("risk_reward_ratio", "float"),
        _c("legs", "json", note='[{"kind","side","strike","price","quantity"}, ...]'),
    ),
    "option_chain_data": (
        _c("symbol", "text", True),
        _c("expiry", "date", True),
        _c("strike", "float", True),
        _c("kind", "text", True, "call / put"),
        _c("bid", "float"),
        _c("ask", "float"),
        _c("last", "float"),
        _c("volume", "float"),
        _c("open_interest", "float"),
        _c("implied_vol", "float", note="a fraction (0.20 for 20 percent)"),
        _c("spot", "float"),
        _c("as_of", "datetime", note="the quote date (and time) of the row's session"),
        _c("root", "text", note="contract class (SPX AM monthlies vs SPXW)"),
        _c("settlement", "float", note="the exchange's settlement price (NSE)"),
        _c("lot_size", "float", note="units per contract where the source lists it"),
    ),
    "holdings": (
        _c("symbol", "text", True),
        _c("instrument", "text", True, "stock / call / put"),
        _c("quantity", "float", True, "signed: shares, or contracts of the lot size"),
        _c("strike", "float"),
        _c("expiry", "date"),
        _c("cost", "float", note="per unit, optional"),
    ),
}

RUN_COLUMNS: tuple[ColumnSpec, ...] = (
    _c("run_id", "text", True),
    _c("created_at", "datetime", True),
    _c("as_of", "date"),
    _c("model", "text"),
    _c("risk", "text"),
    _c("market_state", "text"),
    _c("currency", "text"),
    _c("capital", "float"),
    _c("budget", "float"),
    _c("allocated_capital", "float"),
    _c("n_allocations", "int", True),
    _c("document", "json", True),
)

ALLOCATION_COLUMNS: tuple[ColumnSpec, ...] = (
    _c("run_id", "text", True),
    _c("position", "int", True),
    _c("symbol", "text", True),
    _c("industry", "text"),
    _c("sector", "text"),
    _c("strategy_name", "text"),
    _c("position_type", "text"),
    _c("expiry", "date"),
    _c("lots", "int", True),
    _c("lot_size", "int"),
    _c("allocated_capital", "float"),
    _c("max_loss", "float"),
    _c("probability_of_profit", "float"),
    _c("expected_return", "float"),
    _c("delta", "float"),
    _c("gamma", "float"),
    _c("vega", "float"),
    _c("theta", "float"),
    _c("legs", "json"),
)

INPUT_TABLES: tuple[str, ...] = tuple(INPUT_COLUMNS)
OUTPUT_TABLES: tuple[str, ...] = ("allocation_runs", "allocations")
TABLES: tuple[str, ...] = INPUT_TABLES + OUTPUT_TABLES

FLOAT_TYPE = Float().with_variant(DOUBLE_PRECISION(), "postgresql")
"""A float column: DOUBLE PRECISION on PostgreSQL."""
JSON_TYPE = JSON().with_variant(JSONB(), "postgresql")
"""A JSON column: JSONB on PostgreSQL."""
STAMP_TYPE = DateTime(timezone=True)
"""A point in time with its zone."""


def _sql_type(kind: str) -> TypeEngine[Any]:
    types: dict[str, TypeEngine[Any]] = {
        "text": Text(),
        "float": FLOAT_TYPE,
        "int": Integer(),
        "bool": Boolean(),
        "date": Date(),
        "datetime": DateTime(),
        "json": JSON_TYPE,
    }
    return types[kind]


def _columns(specs: tuple[ColumnSpec, ...]) -> list[Column[Any]]:
    return [Column(s.name, _sql_type(s.kind), nullable=not s.required) for s in specs]


def identity_key(name: str) -> Column[Any]:
    """A surrogate key numbered by the database in insertion order (BIGINT identity; the
    INTEGER rowid on SQLite)."""
    return Column(
        name,
        BigInteger().with_variant(Integer(), "sqlite"),
        Identity(),
        primary_key=True,
        autoincrement=True,
    )


def versions_table(name: str, meta: MetaData) -> Table:
    """A migration track: one row per applied version (version, description, applied_at)."""
    return Table(
        name,
        meta,
        Column("version", Integer(), primary_key=True, autoincrement=False),
        Column("description", Text(), nullable=False),
        Column("applied_at", STAMP_TYPE, nullable=False),
    )


metadata = MetaData()

for _name, _specs in INPUT_COLUMNS.items():
    Table(_name, metadata, identity_key("id"), *_columns(_specs))

allocation_runs = Table(
    "allocation_runs",
    metadata,
    *[
        Column(
            s.name,
            STAMP_TYPE if s.kind == "datetime" else _sql_type(s.kind),
            primary_key=s.name == "run_id",
            nullable=not s.required,
        )
        for s in RUN_COLUMNS
    ],
)

allocations = Table(
    "allocations",
    metadata,
    Column(
        "run_id",
        Text(),
        ForeignKey("allocation_runs.run_id", ondelete="CASCADE"),
        nullable=False,
    ),
    *_columns(ALLOCATION_COLUMNS[1:]),
    PrimaryKeyConstraint("run_id", "position"),
)

migrations_table = versions_table(MIGRATIONS_TABLE, metadata)


def columns_of(name: str) -> tuple[ColumnSpec, ...]:
    """The data columns of table ``name`` (no surrogate ``id``), in order."""
    if name in INPUT_COLUMNS:
        return INPUT_COLUMNS[name]
    if name == "allocation_runs":
        return RUN_COLUMNS
    if name == "allocations":
        return ALLOCATION_COLUMNS
    raise ConfigError(f"unknown table {name!r}; known tables: {', '.join(TABLES)}")


def check_input_table(name: str) -> None:
    """Raise ConfigError unless ``name`` is an input table (the ones users import and export)."""
    if name not in INPUT_COLUMNS:
        hint = " (runs are written by `quantalloc solve`)" if name in OUTPUT_TABLES else ""
        raise ConfigError(
            f"unknown input table {name!r}{hint}; input tables: {', '.join(INPUT_TABLES)}"
        )
