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
    Boolean,
    Column,
    ForeignKey,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)

from quantalloc.storage.schema import (
    FLOAT_TYPE,
    JSON_TYPE,
    STAMP_TYPE,
    identity_key,
    versions_table,
)

BOOK_SCHEMA_VERSION = 2
BOOK_MIGRATIONS_TABLE = "quantalloc_book_schema"

book_metadata = MetaData()


def option_columns() -> list[Column]:
    """An option's terms beside a position or an order (all null for a stock)."""
    return [
        Column("underlying", Text()),
        Column("expiry", Text()),
        Column("strike", FLOAT_TYPE),
        Column("option_right", Text()),
        Column("multiplier", FLOAT_TYPE),
    ]


OPTION_COLUMNS = ("underlying", "expiry", "strike", "option_right", "multiplier")

events = Table(
    "portfolio_events",
    book_metadata,
    identity_key("seq"),
    Column("event_id", Text(), nullable=False),
    Column("created_at", STAMP_TYPE, nullable=False),
    Column("kind", Text(), nullable=False),
    Column("request_id", Text()),
    Column("detail", JSON_TYPE),
    UniqueConstraint("event_id", name="portfolio_events_event_id_key"),
    UniqueConstraint("request_id", name="portfolio_events_request_id_key"),
)

strategies = Table(
    "portfolio_strategies",
    book_metadata,
    Column("strategy_name", Text(), primary_key=True),
    Column("symbol", Text(), nullable=False),
    Column("cash", FLOAT_TYPE, nullable=False),
    Column("updated_at", STAMP_TYPE, nullable=False),
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
    Column("quantity", FLOAT_TYPE, nullable=False),
    Column("avg_price", FLOAT_TYPE, nullable=False),
    *option_columns(),
    PrimaryKeyConstraint("strategy_name", "symbol"),
)

orders = Table(
    "portfolio_orders",
    book_metadata,
    Column("order_id", Text(), primary_key=True),
    Column("event_id", Text(), ForeignKey("portfolio_events.event_id"), nullable=False),
    Column("created_at", STAMP_TYPE, nullable=False),
    Column("strategy_name", Text(), nullable=False),
    Column("symbol", Text(), nullable=False),
    Column("side", Text(), nullable=False),
    Column("quantity", FLOAT_TYPE, nullable=False),
    Column("price", FLOAT_TYPE, nullable=False),
    Column("fee", FLOAT_TYPE, nullable=False),
    Column("source", Text(), nullable=False),
    Column("filled_at", Text()),
    *option_columns(),
)

allocations = Table(
    "portfolio_allocations",
    book_metadata,
    Column("event_id", Text(), ForeignKey("portfolio_events.event_id"), nullable=False),
    Column("strategy_name", Text(), nullable=False),
    Column("weight", FLOAT_TYPE, nullable=False),
    Column("capital", FLOAT_TYPE, nullable=False),
    Column("score", FLOAT_TYPE),
    Column("locked", Boolean(), nullable=False),
    PrimaryKeyConstraint("event_id", "strategy_name"),
)

jobs = Table(
    "service_jobs",
    book_metadata,
    Column("job_id", Text(), primary_key=True),
    Column("kind", Text(), nullable=False),
    Column("status", Text(), nullable=False),
    Column("created_at", STAMP_TYPE, nullable=False),
    Column("updated_at", STAMP_TYPE, nullable=False),
    Column("request", JSON_TYPE, nullable=False),
    Column("result", JSON_TYPE),
    Column("error", Text()),
)

book_migrations_table = versions_table(BOOK_MIGRATIONS_TABLE, book_metadata)

BOOK_TABLES: tuple[str, ...] = tuple(
    name for name in book_metadata.tables if name != BOOK_MIGRATIONS_TABLE
)
