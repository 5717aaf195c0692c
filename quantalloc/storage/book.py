"""The strategies' book in the SQL store: sleeves, positions, orders, allocations, in one place.

Every change is one transaction that first takes the book's lock (SQLite: ``BEGIN
IMMEDIATE``, the store's default; PostgreSQL: a transaction-level advisory lock), reads the
state, checks the rules and writes. So concurrent requests apply one after another, and a
process killed mid-change leaves the book as it was before that change.

Rules kept here (the service decides *what* to change, the book refuses what breaks them):

- a strategy's sleeve holds cash and signed positions; its value at cost is
  ``cash + sum(quantity * avg_price)``;
- no strategy over its capital: after a fill, what its positions could lose may not exceed its
  equity (no leverage: a long buy cannot make cash negative, a short put must be cash-secured,
  a short call covered; see :mod:`quantalloc.storage.book_rules`);
- a strategy with an open position is **locked**: an allocation change keeps its capital;
- each order is recorded once (``order_id``), and a request repeated with the same
  ``request_id`` returns the first outcome without changing anything; so is a cash flow
  (interest, dividends: cash that is no trade) by its ``flow_id``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.engine import Connection

from quantalloc.errors import ConflictError, DataError, StorageError
from quantalloc.storage import book_schema as t
from quantalloc.storage.book_rules import (
    TOLERANCE,
    OptionTerms,
    check_capital,
    multiplier,
    position_after,
    terms_from_row,
)
from quantalloc.storage.migrations import Migration, apply_migrations

_LOCK_KEY = 7_202_612  # serialises changes of the book per PostgreSQL database
_MIGRATION_LOCK_KEY = 7_202_613
SIDES = ("buy", "sell")

Pause = Callable[[str], None]
"""Called at named points inside a transaction (fault injection in tests; no-op by default)."""


def _create_tables(conn: Connection) -> None:
    tables = [tab for name, tab in t.book_metadata.tables.items() if name in t.BOOK_TABLES]
    t.book_metadata.create_all(conn, tables=tables, checkfirst=True)


def _add_option_columns(conn: Connection) -> None:
    """Version 2: an option's terms beside positions and orders (added where missing)."""
    from sqlalchemy import inspect

    for table in (t.positions, t.orders):
        have = {c["name"] for c in inspect(conn).get_columns(table.name)}
        for name in t.OPTION_COLUMNS:
            if name not in have:
                kind = table.c[name].type.compile(dialect=conn.dialect)
                conn.execute(text(f"alter table {table.name} add column {name} {kind}"))


BOOK_MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "portfolio book (events, strategies, positions, orders, allocations), jobs",
              _create_tables),
    Migration(2, "option terms on positions and orders", _add_option_columns),
)  # fmt: skip
assert BOOK_MIGRATIONS[-1].version == t.BOOK_SCHEMA_VERSION


@dataclass(frozen=True)
class Sleeve:
    """One strategy's part of the book."""

    name: str
    symbol: str
    cash: float
    positions: dict[str, tuple[float, float]] = field(default_factory=dict)
    """symbol -> (signed quantity, average price per share)."""
    terms: dict[str, OptionTerms] = field(default_factory=dict)
    """symbol -> the option's terms, for the option positions."""

    @property
    def value(self) -> float:
        """Cash plus positions at cost."""
        return self.cash + sum(
            q * p * multiplier(self.terms, s) for s, (q, p) in self.positions.items()
        )

    @property
    def locked(self) -> bool:
        """True while any position is open (its capital cannot move)."""
        return any(abs(q) > TOLERANCE for q, _ in self.positions.values())


@dataclass(frozen=True)
class Fill:
    """An order to record: who, what, how many at which price, and the fee paid."""

    strategy_name: str
    symbol: str
    side: str
    quantity: float
    price: float
    fee: float = 0.0
    order_id: str | None = None
    filled_at: str | None = None
    terms: OptionTerms | None = None
    """An option's terms (quantity in contracts, price per share; absent: a stock)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PortfolioBook:
    """The book of a :class:`~quantalloc.storage.sqlstore.SqlStore` (see the module notes)."""

    def __init__(self, store: Any, *, pause: Pause | None = None) -> None:
        if getattr(store, "backend", None) not in ("sqlite", "postgresql"):
            raise StorageError(
                f"the portfolio service needs a SQL store (sqlite:///PATH or postgresql://...), "
                f"got {getattr(store, 'display', store)!r}"
            )
        self.store = store
        self.display: str = store.display
        self._pause = pause or (lambda _point: None)

    # -- plumbing ------------------------------------------------------------------------------

    def init(self) -> int:
        """Create the store's schema and the book's tables (idempotent); the book's version."""
        self.store.init()
        with self.store.transaction(write=True) as conn:
            apply_migrations(
                conn,
                BOOK_MIGRATIONS,
                t.book_migrations_table,
                lock_key=_MIGRATION_LOCK_KEY,
                display=self.display,
            )
        return t.BOOK_SCHEMA_VERSION

    @contextmanager
    def _change(self) -> Iterator[Connection]:
        with self.store.transaction(write=True, table="portfolio_strategies") as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("select pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            yield conn

    def _read(self) -> Any:
        return self.store.transaction(write=False, table="portfolio_strategies")

    # -- reading -------------------------------------------------------------------------------

    def sleeves(self, conn: Connection | None = None) -> list[Sleeve]:
        """Every strategy's sleeve, by name."""
        if conn is None:
            with self._read() as c:
                return self.sleeves(c)
        held: dict[str, dict[str, tuple[float, float]]] = {}
        terms: dict[str, dict[str, OptionTerms]] = {}
        for row in conn.execute(select(t.positions)).mappings():
            name = row["strategy_name"]
            held.setdefault(name, {})[row["symbol"]] = (
                float(row["quantity"]),
                float(row["avg_price"]),
            )
            if (option := terms_from_row(dict(row))) is not None:
                terms.setdefault(name, {})[row["symbol"]] = option
        rows = conn.execute(select(t.strategies).order_by(t.strategies.c.strategy_name))
        return [
            Sleeve(r["strategy_name"], r["symbol"], float(r["cash"]),
                   held.get(r["strategy_name"], {}), terms.get(r["strategy_name"], {}))
            for r in rows.mappings()
        ]  # fmt: skip

    def sleeve(self, name: str) -> Sleeve:
        """The sleeve of strategy ``name`` (DataError naming the known ones when absent)."""
        found = {s.name: s for s in self.sleeves()}
        if name not in found:
            known = ", ".join(found) or "none: POST /portfolio/initialize first"
            raise DataError(f"no strategy {name!r} in the portfolio; strategies: {known}")
        return found[name]

    def orders(self, strategy: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Recorded orders, oldest first (the last ``limit``)."""
        query = select(t.orders, t.events.c.seq).join(
            t.events, t.events.c.event_id == t.orders.c.event_id
        )
        if strategy is not None:
            query = query.where(t.orders.c.strategy_name == strategy)
        query = query.order_by(t.events.c.seq.desc(), t.orders.c.order_id).limit(limit)
        with self._read() as conn:
            rows = [_order_row(_plain(dict(r))) for r in conn.execute(query).mappings()]
        return rows[::-1]

    def allocation_history(self, limit: int = 200) -> list[dict[str, Any]]:
        """Initialize and rebalance events with their weights, oldest first (the last ``limit``)."""
        query = (
            select(t.events.c.seq, t.events.c.event_id, t.events.c.created_at, t.events.c.kind)
            .where(t.events.c.kind.in_(("initialize", "rebalance")))
            .order_by(t.events.c.seq.desc())
            .limit(limit)
        )
        with self._read() as conn:
            heads = [dict(r) for r in conn.execute(query).mappings()][::-1]
            ids = [h["event_id"] for h in heads]
            rows = conn.execute(
                select(t.allocations).where(t.allocations.c.event_id.in_(ids))
            ).mappings()
            by_event: dict[str, list[dict[str, Any]]] = {}
            for r in rows:
                by_event.setdefault(r["event_id"], []).append(_plain(dict(r)))
        return [
            {**_plain(h), "allocations": sorted(by_event.get(h["event_id"], []),
                                                key=lambda a: a["strategy_name"])}
            for h in heads
        ]  # fmt: skip

    def events(self) -> list[dict[str, Any]]:
        """Every event in commit order (for audits and tests)."""
        with self._read() as conn:
            rows = conn.execute(select(t.events).order_by(t.events.c.seq)).mappings()
            return [_plain(dict(r)) for r in rows]

    # -- changes -------------------------------------------------------------------------------

    def _event(
        self, conn: Connection, kind: str, request_id: str | None, detail: Mapping[str, Any]
    ) -> str:
        event_id = uuid.uuid4().hex
        conn.execute(
            insert(t.events).values(
                event_id=event_id,
                created_at=_now(),
                kind=kind,
                request_id=request_id,
                detail=dict(detail),
            )
        )
        return event_id

    def _replayed(
        self, conn: Connection, request_id: str | None, kind: str
    ) -> dict[str, Any] | None:
        """The first outcome of a repeated ``request_id`` (ConflictError: another kind's)."""
        if request_id is None:
            return None
        row = conn.execute(
            select(t.events.c.detail, t.events.c.event_id, t.events.c.kind).where(
                t.events.c.request_id == request_id
            )
        ).first()
        if row is None:
            return None
        if row[2] != kind:
            raise ConflictError(
                f"request_id {request_id!r} was already used by a {row[2]} request; a retry "
                f"must repeat that request, a new {kind} needs a new request_id"
            )
        return {**dict(row[0] or {}), "event_id": row[1], "replayed": True}

    def initialize(
        self,
        capital: float,
        sleeves: Sequence[tuple[str, str]],
        weights: Sequence[float],
        *,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """Start the book: ``capital`` split by ``weights`` among ``(name, symbol)`` sleeves.

        Refused (ConflictError) while any position is open; otherwise the previous sleeves,
        positions and their locks are replaced (orders and history are kept).
        """
        with self._change() as conn:
            if (done := self._replayed(conn, request_id, "initialize")) is not None:
                return done
            if any(s.locked for s in self.sleeves(conn)):
                raise ConflictError(
                    "the portfolio has open positions; POST /orders/sell_all before initializing"
                )
            conn.execute(delete(t.positions))
            conn.execute(delete(t.strategies))
            now = _now()
            rows = []
            for (name, symbol), w in zip(sleeves, weights, strict=True):
                conn.execute(
                    insert(t.strategies).values(
                        strategy_name=name, symbol=symbol, cash=capital * w, updated_at=now
                    )
                )
                rows.append({"strategy_name": name, "weight": w, "capital": capital * w,
                             "score": None, "locked": False})  # fmt: skip
            detail = {"capital": capital, "allocations": rows}
            event_id = self._event(conn, "initialize", request_id, detail)
            conn.execute(insert(t.allocations), [{**r, "event_id": event_id} for r in rows])
        return {**detail, "event_id": event_id, "replayed": False}

    def rebalance(
        self,
        decide: Callable[[list[Sleeve]], tuple[list[float], list[float | None]] | None],
        *,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """Move capital among the unlocked sleeves to the weights ``decide`` returns.

        ``decide`` gets the sleeves (read inside the transaction) and returns the new weights of
        all of them (a locked sleeve's weight must stay its current one) and their scores, or
        None to leave the book as it is.
        """
        with self._change() as conn:
            if (done := self._replayed(conn, request_id, "rebalance")) is not None:
                return done
            current = self.sleeves(conn)
            if not current:
                raise ConflictError("the portfolio is empty; POST /portfolio/initialize first")
            total = sum(s.value for s in current)
            decision = decide(current)
            if decision is None:
                rows = [_alloc_row(s, s.value / total, s.value, None) for s in current]
                return {"moved": False, "allocations": rows, "replayed": False}
            weights, scores = decision
            rows = []
            for s, w, score in zip(current, weights, scores, strict=True):
                if s.locked:
                    if abs(w * total - s.value) > 1e-6 * max(1.0, total):
                        raise ConflictError(
                            f"strategy {s.name} is locked (open position); its capital "
                            f"{s.value:.2f} cannot move to {w * total:.2f}"
                        )
                    rows.append(_alloc_row(s, s.value / total, s.value, score))
                    continue
                rows.append(_alloc_row(s, w, w * total, score))
                conn.execute(
                    update(t.strategies)
                    .where(t.strategies.c.strategy_name == s.name)
                    .values(cash=w * total, updated_at=_now())
                )
                self._pause("rebalance.sleeve")
            detail = {"moved": True, "allocations": rows}
            event_id = self._event(conn, "rebalance", request_id, detail)
            conn.execute(insert(t.allocations), [{**r, "event_id": event_id} for r in rows])
            self._pause("rebalance.before_commit")
        self._pause("rebalance.after_commit")
        return {**detail, "event_id": event_id, "replayed": False}

    def record(
        self,
        kind: str,
        plan: Callable[[list[Sleeve]], list[Fill]],
        *,
        request_id: str | None = None,
        source: str | None = None,
    ) -> dict[str, Any]:
        """Record the fills ``plan`` makes from the sleeves (read in the transaction), at once.

        All fills apply or none: one that breaks a rule (over capital, unknown strategy)
        raises ConflictError / DataError and nothing is written.
        """
        with self._change() as conn:
            if (done := self._replayed(conn, request_id, kind)) is not None:
                return done
            current = {s.name: s for s in self.sleeves(conn)}
            fills = plan(list(current.values()))
            event_id = uuid.uuid4().hex
            recorded = []
            for fill in fills:
                recorded.append(self._apply(conn, current, fill, event_id, source or kind))
            detail = {"orders": [_order_row(_plain(r)) for r in recorded]}
            conn.execute(
                insert(t.events).values(
                    event_id=event_id, created_at=_now(), kind=kind,
                    request_id=request_id, detail=detail,
                )
            )  # fmt: skip
            if recorded:
                conn.execute(insert(t.orders), recorded)
        return {**detail, "event_id": event_id, "replayed": False}

    def record_cash(
        self,
        strategy: str,
        amount: float,
        reason: str,
        flow_id: str,
        booked_at: str | None = None,
    ) -> dict[str, Any]:
        """Book a cash flow that is no trade (interest, a dividend) in ``strategy``'s sleeve.

        Once per ``flow_id`` (a repeat returns the first outcome). A debit that would leave the
        sleeve over its capital is refused like an order.
        """
        with self._change() as conn:
            if (done := self._replayed(conn, flow_id, "cash")) is not None:
                return done
            current = {s.name: s for s in self.sleeves(conn)}
            sleeve = current.get(strategy)
            if sleeve is None:
                raise DataError(f"no strategy {strategy!r} in the portfolio; strategies: "
                                f"{', '.join(current) or 'none'}")  # fmt: skip
            cash = sleeve.cash + amount
            if amount < 0:
                check_capital(strategy, cash, sleeve.positions, sleeve.terms,
                              f"cash flow {amount:g} ({reason})")  # fmt: skip
            conn.execute(
                update(t.strategies)
                .where(t.strategies.c.strategy_name == strategy)
                .values(cash=cash, updated_at=_now())
            )
            detail = {"strategy_name": strategy, "amount": float(amount), "reason": reason,
                      "booked_at": booked_at, "cash": cash}  # fmt: skip
            event_id = self._event(conn, "cash", flow_id, detail)
        return {**detail, "event_id": event_id, "replayed": False}

    def _apply(
        self,
        conn: Connection,
        current: dict[str, Sleeve],
        fill: Fill,
        event_id: str,
        source: str,
    ) -> dict[str, Any]:
        sleeve = current.get(fill.strategy_name)
        if sleeve is None:
            raise DataError(
                f"no strategy {fill.strategy_name!r} in the portfolio; strategies: "
                f"{', '.join(current) or 'none'}"
            )
        option = fill.terms or sleeve.terms.get(fill.symbol)
        least = 0.0 if option is not None else TOLERANCE  # an option may leave at no price
        if fill.side not in SIDES or not (
            fill.quantity > 0 and fill.price >= least and fill.fee >= 0
        ):
            raise DataError(
                f"order for {fill.strategy_name}: side must be buy or sell, quantity > 0, price "
                f"> 0 (>= 0 for an option), fee >= 0; got {fill.side} {fill.quantity} @ "
                f"{fill.price} fee {fill.fee}"
            )
        mult = option.multiplier if option is not None else 1.0
        q0, avg0 = sleeve.positions.get(fill.symbol, (0.0, 0.0))
        dq = fill.quantity if fill.side == "buy" else -fill.quantity
        q1, avg1 = position_after(q0, avg0, dq, fill.price)
        cash = sleeve.cash - dq * fill.price * mult - fill.fee
        held = dict(sleeve.positions)
        held[fill.symbol] = (q1, avg1)
        terms = dict(sleeve.terms)
        if option is not None:
            terms[fill.symbol] = option
        marks = {s: (q, fill.price if s == fill.symbol else p) for s, (q, p) in held.items()}
        what = f"order {fill.side} {fill.quantity:g} {fill.symbol} @ {fill.price:g}"
        check_capital(fill.strategy_name, cash, marks, terms, what)
        if q1 == 0.0:
            held.pop(fill.symbol)
            terms.pop(fill.symbol, None)
        _write_position(conn, sleeve.name, fill.symbol, q1, avg1, fill.symbol in sleeve.positions,
                        option)  # fmt: skip
        conn.execute(
            update(t.strategies)
            .where(t.strategies.c.strategy_name == sleeve.name)
            .values(cash=cash, updated_at=_now())
        )
        current[sleeve.name] = Sleeve(sleeve.name, sleeve.symbol, cash, held, terms)
        return {
            "order_id": fill.order_id or uuid.uuid4().hex,
            "event_id": event_id,
            "created_at": _now(),
            "strategy_name": sleeve.name,
            "symbol": fill.symbol,
            "side": fill.side,
            "quantity": float(fill.quantity),
            "price": float(fill.price),
            "fee": float(fill.fee),
            "source": source,
            "filled_at": fill.filled_at,
            **(option.as_row() if option is not None else dict.fromkeys(t.OPTION_COLUMNS)),
        }

    # -- jobs ----------------------------------------------------------------------------------

    def create_job(self, job_id: str, kind: str, request: Mapping[str, Any]) -> None:
        """Record a queued background job."""
        now = _now()
        with self.store.transaction(write=True, table="service_jobs") as conn:
            conn.execute(
                insert(t.jobs).values(
                    job_id=job_id, kind=kind, status="queued", created_at=now,
                    updated_at=now, request=dict(request),
                )
            )  # fmt: skip

    def update_job(
        self,
        job_id: str,
        status: str,
        *,
        result: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Set a job's status (and its result or error)."""
        with self.store.transaction(write=True, table="service_jobs") as conn:
            conn.execute(
                update(t.jobs)
                .where(t.jobs.c.job_id == job_id)
                .values(status=status, updated_at=_now(), result=result, error=error)
            )

    def job(self, job_id: str) -> dict[str, Any] | None:
        """One job as a dict, or None."""
        with self.store.transaction(write=False, table="service_jobs") as conn:
            row = conn.execute(select(t.jobs).where(t.jobs.c.job_id == job_id)).mappings().first()
        return None if row is None else _plain(dict(row))

    def jobs(self, kind: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The latest jobs, newest first (without their results)."""
        cols = [c for c in t.jobs.c if c.name != "result"]
        query = select(*cols).order_by(t.jobs.c.created_at.desc()).limit(limit)
        if kind is not None:
            query = query.where(t.jobs.c.kind == kind)
        with self.store.transaction(write=False, table="service_jobs") as conn:
            return [_plain(dict(r)) for r in conn.execute(query).mappings()]


def _write_position(
    conn: Connection,
    name: str,
    symbol: str,
    quantity: float,
    avg: float,
    existed: bool,
    option: OptionTerms | None,
) -> None:
    where = (t.positions.c.strategy_name == name) & (t.positions.c.symbol == symbol)
    if quantity == 0.0:
        conn.execute(delete(t.positions).where(where))
    elif existed:
        conn.execute(update(t.positions).where(where).values(quantity=quantity, avg_price=avg))
    else:
        conn.execute(insert(t.positions).values(
            strategy_name=name, symbol=symbol, quantity=quantity, avg_price=avg,
            **(option.as_row() if option is not None else {})))  # fmt: skip


def _alloc_row(s: Sleeve, weight: float, capital: float, score: float | None) -> dict[str, Any]:
    return {"strategy_name": s.name, "weight": float(weight), "capital": float(capital),
            "score": None if score is None else float(score), "locked": s.locked}  # fmt: skip


def _order_row(row: dict[str, Any]) -> dict[str, Any]:
    """An order row with an option's columns as one ``contract`` mapping (None: a stock)."""
    option = terms_from_row(row)
    out = {k: v for k, v in row.items() if k not in t.OPTION_COLUMNS}
    out["contract"] = None if option is None else option_view(option)
    return out


def option_view(option: OptionTerms) -> dict[str, Any]:
    """An option's terms as the API shows them."""
    return {"underlying": option.underlying, "expiry": option.expiry, "strike": option.strike,
            "right": option.right, "multiplier": option.multiplier}  # fmt: skip


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in row.items()}
