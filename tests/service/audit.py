"""An independent audit of the book: replay its events in commit order and check every rule.

The replay rebuilds each strategy's cash and positions from the events alone (initialize sets
the sleeves, fills move cash and positions, a rebalance sets the unlocked sleeves' cash) and
checks, at every step, that no strategy went over its capital, that a rebalance kept the
locked strategies' capital and the total, and at the end that the stored state equals the
replayed one and that every order is recorded once.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from quantalloc.storage import book_schema as t
from quantalloc.storage import open_store
from quantalloc.storage.book import PortfolioBook

TOL = 1e-6


def _value(sleeve: dict[str, Any]) -> float:
    return float(sleeve["cash"] + sum(q * p for q, p in sleeve["pos"].values()))


def _fill(sleeve: dict[str, Any], order: dict[str, Any]) -> None:
    q0, p0 = sleeve["pos"].get(order["symbol"], (0.0, 0.0))
    dq = order["quantity"] if order["side"] == "buy" else -order["quantity"]
    q1 = q0 + dq
    sleeve["cash"] -= dq * order["price"] + order["fee"]
    if abs(q1) <= 1e-9:
        sleeve["pos"].pop(order["symbol"], None)
    elif q0 == 0 or (q0 > 0) != (q1 > 0):
        sleeve["pos"][order["symbol"]] = (q1, order["price"])
    elif abs(q1) > abs(q0):
        sleeve["pos"][order["symbol"]] = (q1, (q0 * p0 + dq * order["price"]) / q1)
    else:
        sleeve["pos"][order["symbol"]] = (q1, p0)
    gross = sum(abs(q) * order["price"] if s == order["symbol"] else abs(q) * p
                for s, (q, p) in sleeve["pos"].items())  # fmt: skip
    equity = sleeve["cash"] + sum(q * (order["price"] if s == order["symbol"] else p)
                                  for s, (q, p) in sleeve["pos"].items())  # fmt: skip
    assert gross <= equity + TOL * max(1.0, abs(equity)), ("over capital", order)


def replay(store_url: str) -> dict[str, Any]:
    """Replay the book at ``store_url``; return the counts it saw (assertions inside)."""
    store = open_store(store_url)
    book = PortfolioBook(store)
    try:
        events = book.events()
        with store.transaction(write=False) as conn:
            orders = [dict(r) for r in conn.execute(select(t.orders)).mappings()]
            allocs = [dict(r) for r in conn.execute(select(t.allocations)).mappings()]
        stored = {s.name: s for s in book.sleeves()}
    finally:
        store.close()
    by_event: dict[str, list[dict[str, Any]]] = {}
    for o in orders:
        by_event.setdefault(o["event_id"], []).append(o)
    alloc_by_event: dict[str, list[dict[str, Any]]] = {}
    for a in allocs:
        alloc_by_event.setdefault(a["event_id"], []).append(a)
    assert len({o["order_id"] for o in orders}) == len(orders)  # each order once
    sleeves: dict[str, dict[str, Any]] = {}
    counts: Counter[str] = Counter()
    requests = [e["request_id"] for e in events if e["request_id"] is not None]
    assert len(requests) == len(set(requests))  # a repeated request made no second event
    for event in events:
        kind = event["kind"]
        counts[kind] += 1
        rows = alloc_by_event.get(event["event_id"], [])
        if kind == "initialize":
            sleeves = {a["strategy_name"]: {"cash": a["capital"], "pos": {}} for a in rows}
        elif kind == "rebalance":
            before = sum(_value(s) for s in sleeves.values())
            assert {a["strategy_name"] for a in rows} == set(sleeves)
            for a in rows:
                sleeve = sleeves[a["strategy_name"]]
                if sleeve["pos"]:  # locked: its capital may not move
                    assert a["locked"] and abs(a["capital"] - _value(sleeve)) <= TOL * before
                else:
                    sleeve["cash"] = a["capital"]
            assert abs(sum(_value(s) for s in sleeves.values()) - before) <= TOL * before
        else:
            fills = by_event.get(event["event_id"], [])
            assert len(fills) == len(event["detail"]["orders"])
            if kind == "buy_all":  # only strategies without positions buy
                buyers = [o["strategy_name"] for o in fills]
                assert len(buyers) == len(set(buyers))
            for o in sorted(fills, key=lambda o: o["created_at"]):
                if kind == "buy_all":
                    assert not sleeves[o["strategy_name"]]["pos"], ("bought while locked", o)
                _fill(sleeves[o["strategy_name"]], o)
            counts["orders"] += len(fills)
    assert set(stored) == set(sleeves)
    for name, s in stored.items():
        assert abs(s.cash - sleeves[name]["cash"]) <= TOL * max(1.0, abs(s.cash)), name
        assert {k: v[0] for k, v in s.positions.items()} == {
            k: v[0] for k, v in sleeves[name]["pos"].items()
        }
    assert counts["orders"] == len(orders)
    return dict(counts)
