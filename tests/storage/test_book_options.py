"""Option positions in the portfolio book, on SQLite and a real PostgreSQL server: the capital
rule at its edges (a short put cash-secured to the cent, calls covered share for share), cash
flows, and a version-1 book upgraded in place."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, text

from quantalloc.errors import ConflictError
from quantalloc.storage import Store
from quantalloc.storage import book_schema as t
from quantalloc.storage.book import Fill, PortfolioBook
from quantalloc.storage.book_rules import OptionTerms

PUT = OptionTerms("SPY", "2024-01-12", 98.0, "put", 100.0)
CALL = OptionTerms("SPY", "2024-01-26", 101.0, "call", 100.0)


def _order(book: PortfolioBook, *fills: Fill) -> dict[str, Any]:
    return book.record("order", lambda _s: list(fills), source="trade")


def _book(store: Store, cash: float) -> PortfolioBook:
    book = PortfolioBook(store)
    book.init()
    book.initialize(cash, [("wheel", "SPY")], [1.0])
    return book


def test_a_short_put_is_cash_secured_to_the_cent(store: Store) -> None:
    # 2 puts at 98 oblige 19,600; the premium (2 x 100 x 1.00) and the fee (1.30) count:
    # 19,401.30 of cash secures them exactly, a cent less does not
    book = _book(store, 19_401.29)
    sale = Fill("wheel", "SPY 2024-01-12 P98", "sell", 2, 1.0, 1.30, terms=PUT)
    with pytest.raises(ConflictError, match="over its capital"):
        _order(book, sale)
    assert book.sleeve("wheel").cash == pytest.approx(19_401.29)  # nothing written


def test_cash_secured_put_accepted_then_assigned_at_the_strike(store: Store) -> None:
    book = _book(store, 19_401.30)
    _order(book, Fill("wheel", "SPY 2024-01-12 P98", "sell", 2, 1.0, 1.30, terms=PUT))
    sleeve = book.sleeve("wheel")
    assert sleeve.cash == pytest.approx(19_600.0) and sleeve.locked
    assert sleeve.value == pytest.approx(19_400.0)  # the put at cost: -200 of liability
    # the settlement: the puts leave at no price, 200 shares bought at 98 empty the cash
    _order(book, Fill("wheel", "SPY 2024-01-12 P98", "buy", 2, 0.0),
           Fill("wheel", "SPY", "buy", 200, 98.0))  # fmt: skip
    sleeve = book.sleeve("wheel")
    assert sleeve.cash == pytest.approx(0.0, abs=1e-6) and sleeve.positions == {
        "SPY": (200.0, 98.0)}  # fmt: skip
    assert sleeve.terms == {}


def test_calls_must_be_covered_share_for_share(store: Store) -> None:
    book = _book(store, 10_000.0)
    _order(book, Fill("wheel", "SPY", "buy", 100, 95.0))
    two = Fill("wheel", "SPY 2024-01-26 C101", "sell", 2, 0.5, 1.3, terms=CALL)
    with pytest.raises(ConflictError, match="short calls on 200 shares of SPY with 100 held"):
        _order(book, two)
    _order(book, Fill("wheel", "SPY 2024-01-26 C101", "sell", 1, 0.5, 0.65, terms=CALL))
    # the covering shares cannot be sold while the call is open
    with pytest.raises(ConflictError, match="naked call"):
        _order(book, Fill("wheel", "SPY", "sell", 100, 96.0))
    row = book.orders("wheel")[-1]
    assert row["contract"] == {"underlying": "SPY", "expiry": "2024-01-26", "strike": 101.0,
                               "right": "call", "multiplier": 100.0}  # fmt: skip


def test_cash_flows_once_and_never_over_capital(store: Store) -> None:
    book = _book(store, 1_000.0)
    first = book.record_cash("wheel", 2.5, "interest", "flow-1", "2024-01-02")
    again = book.record_cash("wheel", 2.5, "interest", "flow-1", "2024-01-02")
    assert again["replayed"] and again["event_id"] == first["event_id"]
    assert book.sleeve("wheel").cash == pytest.approx(1_002.5)
    with pytest.raises(ConflictError, match="over its capital"):
        book.record_cash("wheel", -1_002.6, "fee", "flow-2")
    assert book.sleeve("wheel").cash == pytest.approx(1_002.5)


def test_a_version_1_book_gains_the_option_columns(store: Store) -> None:
    """A book created before option orders (no option columns, migration 1 only) is upgraded
    by ``init`` and then takes option orders; the stock positions it had are kept."""
    book = _book(store, 20_000.0)
    _order(book, Fill("wheel", "SPY", "buy", 10, 95.0))
    with store.transaction(write=True) as conn:  # back to version 1
        for table in (t.positions, t.orders):
            for name in t.OPTION_COLUMNS:
                conn.execute(text(f"alter table {table.name} drop column {name}"))
        conn.execute(delete(t.book_migrations_table).where(
            t.book_migrations_table.c.version == 2))  # fmt: skip
    assert PortfolioBook(store).init() == 2
    upgraded = PortfolioBook(store)
    assert upgraded.sleeve("wheel").positions == {"SPY": (10.0, 95.0)}
    _order(upgraded, Fill("wheel", "SPY 2024-01-12 P98", "sell", 1, 1.0, 0.65, terms=PUT))
    assert upgraded.sleeve("wheel").terms == {"SPY 2024-01-12 P98": PUT}
