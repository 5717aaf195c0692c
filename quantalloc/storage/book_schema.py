"""Tables of the portfolio service (``quantalloc serve``): the strategies' book and its jobs.

They live beside the input and run tables in the same SQL store (SQLite or PostgreSQL) but
have their own migration track (``quantalloc_book_schema``), so the Supabase SQL file and the
REST store, which the service does not use, stay as they are.

- ``portfolio_events``: one row per change of the book (initialize, rebalance, buy_all,
  sell_all, order), in commit order (``seq``); ``request_id`` makes a retried request a no-op.
- ``portfolio_strategies``: each strategy's sleeve: its traded symbol and its cash.
- ``portfolio_positions``: signed quantity and average price per strategy and symbol; an
  option's terms (underlying, expiry, strike, right, multiplier) beside it (version 2).
- ``portfolio_orders``: every fill, once (``order_id`` is the key), with an option's terms.
- ``portfolio_allocations``: the weights each initialize or rebalance set, with the scores.
- ``service_jobs``: background work of the API (solve, backtest) and its outcome.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION, JSONB

BOOK_SCHEMA_VERSION = 2
BOOK_MIGRATIONS_TABLE = "quantalloc_book_schema"

_FLOAT = Float().with_variant(DOUBLE_PRECISION(), "postgresql")
_JSON = JSON().with_variant(JSONB(), "postgresql")
_STAMP = DateTime(timezone=True)

book_metadata = MetaData()


def option_columns() -> list[Column]:
    """An option's terms beside a position or an order (all null for a stock)."""
    return [
        Column("underlying", Text()),
        Column("expiry", Text()),
        Column("strike", _FLOAT),
        Column("option_right", Text()),
        Column("multiplier", _FLOAT),
    ]


OPTION_COLUMNS = ("underlying", "expiry", "strike", "option_right", "multiplier")

events = Table(
    "portfolio_events",
    book_metadata,
    Column(
        "seq",
        BigInteger().with_variant(Integer(), "sqlite"),
        Identity(),
        primary_key=True,
        autoincrement=True,
    ),
    Column("event_id", Text(), nullable=False),
    Column("created_at", _STAMP, nullable=False),
    Column("kind", Text(), nullable=False),
    Column("request_id", Text()),
    Column("detail", _JSON),
    UniqueConstraint("event_id", name="portfolio_events_event_id_key"),
    UniqueConstraint("request_id", name="portfolio_events_request_id_key"),
)

strategies = Table(
    "portfolio_strategies",
    book_metadata,
    Column("strategy_name", Text(), primary_key=True),
    Column("symbol", Text(), nullable=False),
    Column("cash", _FLOAT, nullable=False),
    Column("updated_at", _STAMP, nullable=False),
)

positions = Table(
    "portfolio_positions",
    book_metadata,
    Column(
        "strategy_name",
        Text(),
        ForeignKey("portfolio_strategies.strategy_name", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("symbol", Text(), nullable=False),
    Column("quantity", _FLOAT, nullable=False),
    Column("avg_price", _FLOAT, nullable=False),
    *option_columns(),
    PrimaryKeyConstraint("strategy_name", "symbol"),
)

orders = Table(
    "portfolio_orders",
    book_metadata,
    Column("order_id", Text(), primary_key=True),
    Column("event_id", Text(), ForeignKey("portfolio_events.event_id"), nullable=False),
    Column("created_at", _STAMP, nullable=False),
    Column("strategy_name", Text(), nullable=False),
    Column("symbol", Text(), nullable=False),
    Column("side", Text(), nullable=False),
    Column("quantity", _FLOAT, nullable=False),
    Column("price", _FLOAT, nullable=False),
    Column("fee", _FLOAT, nullable=False),
    Column("source", Text(), nullable=False),
    Column("filled_at", Text()),
    *option_columns(),
)

allocations = Table(
    "portfolio_allocations",
    book_metadata,
    Column("event_id", Text(), ForeignKey("portfolio_events.event_id"), nullable=False),
    Column("strategy_name", Text(), nullable=False),
    Column("weight", _FLOAT, nullable=False),
    Column("capital", _FLOAT, nullable=False),
    Column("score", _FLOAT),
    Column("locked", Boolean(), nullable=False),
    PrimaryKeyConstraint("event_id", "strategy_name"),
)

jobs = Table(
    "service_jobs",
    book_metadata,
    Column("job_id", Text(), primary_key=True),
    Column("kind", Text(), nullable=False),
    Column("status", Text(), nullable=False),
    Column("created_at", _STAMP, nullable=False),
    Column("updated_at", _STAMP, nullable=False),
    Column("request", _JSON, nullable=False),
    Column("result", _JSON),
    Column("error", Text()),
)

book_migrations_table = Table(
    BOOK_MIGRATIONS_TABLE,
    book_metadata,
    Column("version", Integer(), primary_key=True, autoincrement=False),
    Column("description", Text(), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

BOOK_TABLES: tuple[str, ...] = tuple(
    name for name in book_metadata.tables if name != BOOK_MIGRATIONS_TABLE
)
