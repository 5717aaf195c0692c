"""The Store contract, run against every backend (SQLite in memory, SQLite file, PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import event

from quantalloc.errors import ConfigError, DataError, StorageError
from quantalloc.storage import INPUT_TABLES, RUN_LIST_COLUMNS, SCHEMA_VERSION, Store
from tests.storage.samples import sample_document, sample_tables

_POSITION_FIELDS = (
    "symbol", "industry", "sector", "strategy_name", "position_type", "lots", "lot_size",
    "allocated_capital", "max_loss", "probability_of_profit", "expected_return",
    "delta", "gamma", "vega", "theta", "legs",
)  # fmt: skip


def test_init_creates_the_versioned_schema_once(bare_store: Store) -> None:
    assert bare_store.schema_version() == 0
    assert set(bare_store.table_counts().values()) == {None}
    assert bare_store.init() == SCHEMA_VERSION
    assert bare_store.init() == SCHEMA_VERSION  # idempotent
    counts = bare_store.table_counts()
    assert counts == {name: 0 for name in counts}
    assert "allocation_runs" in counts and "allocations" in counts


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.read_table("stock_data"),
        lambda s: s.write_table("stock_data", sample_tables()["stock_data"]),
        lambda s: s.save_run(sample_document()),
        lambda s: s.list_runs(),
        lambda s: s.get_run("x"),
    ],
    ids=["read", "write", "save_run", "list_runs", "get_run"],
)
def test_missing_schema_tells_to_run_db_init(bare_store: Store, call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(StorageError, match=r"run `Store.init\(\)`"):
        call(bare_store)
    assert bare_store.schema_version() == 0  # and nothing was created on the way


@pytest.mark.parametrize("table", INPUT_TABLES)
def test_every_input_table_round_trips(store: Store, table: str) -> None:
    frame = sample_tables()[table]
    assert store.write_table(table, frame) == len(frame)
    pd.testing.assert_frame_equal(store.read_table(table), frame)
    # replace=True swaps the whole table; replace=False appends after the existing rows
    store.write_table(table, frame.iloc[:1])
    pd.testing.assert_frame_equal(store.read_table(table), frame.iloc[:1])
    store.write_table(table, frame.iloc[1:], replace=False)
    pd.testing.assert_frame_equal(store.read_table(table), frame)
    assert store.table_counts()[table] == len(frame)


def test_text_cells_from_csv_are_coerced_to_column_kinds(store: Store) -> None:
    """What pandas reads from a CSV (strings for dates, JSON text, 'yes'/'no') lands typed."""
    raw = pd.DataFrame(
        {
            "symbol": ["TCS"],
            "industry": ["IT"],
            "fno_stock": ["yes"],
            "lot_size": [175.0],
            "id": [99],  # a Supabase export's bookkeeping column: ignored
        }
    )
    store.write_table("stock_data", raw)
    back = store.read_table("stock_data")
    assert back.loc[0, "fno_stock"] is np.True_ or bool(back.loc[0, "fno_stock"]) is True
    assert back.loc[0, "lot_size"] == 175 and str(back["lot_size"].dtype) == "Int64"
    assert pd.isna(back.loc[0, "sector"])
    chain = sample_tables()["option_chain_data"].iloc[:1].copy()
    chain["expiry"] = ["2024-06-27"]
    store.write_table("option_chain_data", chain)
    assert store.read_table("option_chain_data").loc[0, "expiry"] == pd.Timestamp("2024-06-27")
    strategies = sample_tables()["strategies"].iloc[:1].copy()
    strategies["legs"] = ['[{"kind": "put", "side": "sell", "strike": 100.0}]']
    store.write_table("strategies", strategies)
    assert store.read_table("strategies").loc[0, "legs"] == [
        {"kind": "put", "side": "sell", "strike": 100.0}
    ]


def test_wrong_columns_are_refused_and_nothing_is_written(store: Store) -> None:
    good = sample_tables()["industry_allocations_current"]
    store.write_table("industry_allocations_current", good)
    bad = good.drop(columns=["position_type", "weight_percentage"])
    with pytest.raises(DataError, match=r"missing column\(s\) position_type, weight_percentage"):
        store.write_table("industry_allocations_current", bad, source="ind.csv")
    extra = good.assign(colour="red")
    with pytest.raises(DataError, match="colour"):
        store.write_table("industry_allocations_current", extra)
    bad_value = good.assign(weight_percentage=[1.0, "lots", 3.0])
    with pytest.raises(DataError, match="row 2 has 'lots'"):
        store.write_table("industry_allocations_current", bad_value)
    empty_required = good.assign(industry=["Banks", None, "Power"])
    with pytest.raises(DataError, match=r"industry .* required but row 2 is empty"):
        store.write_table("industry_allocations_current", empty_required)
    pd.testing.assert_frame_equal(store.read_table("industry_allocations_current"), good)


def test_unknown_tables_are_config_errors(store: Store) -> None:
    with pytest.raises(ConfigError, match="unknown input table 'stocks'"):
        store.read_table("stocks")
    with pytest.raises(ConfigError, match="written by `quantalloc solve`"):
        store.write_table("allocations", pd.DataFrame())


def test_run_round_trips_document_and_rows(store: Store) -> None:
    document = sample_document()
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert store.save_run(document) is True
    assert store.get_run(document["run_id"]) == document
    runs = store.list_runs()
    assert list(runs.columns) == list(RUN_LIST_COLUMNS)
    row = runs.iloc[0]
    assert row["run_id"] == document["run_id"]
    assert row["as_of"] == pd.Timestamp("2024-06-20")
    assert (row["model"], row["risk"], row["currency"]) == ("industry_first", "moderate", "INR")
    assert row["market_state"] == "Bullish_Low_VIX"
    assert (row["capital"], row["budget"]) == (1_000_000.0, 300_000.0)
    assert row["allocated_capital"] == document["portfolio"]["allocated_capital"]
    assert row["n_allocations"] == 3
    assert abs(row["created_at"] - pd.Timestamp(before)) < pd.Timedelta(minutes=1)
    positions = store.run_positions(document["run_id"])  # type: ignore[attr-defined]
    assert list(positions["position"]) == [0, 1, 2]
    for i, expected in enumerate(document["allocations"]):
        got = positions.iloc[i]
        for field in _POSITION_FIELDS:
            assert got[field] == expected[field], (i, field)
        assert got["expiry"] == pd.Timestamp(expected["expiry"])


def test_saving_a_run_twice_is_a_no_op(store: Store) -> None:
    document = sample_document()
    assert store.save_run(document) is True
    changed = sample_document()
    changed["capital"] = 5.0
    changed["allocations"] = changed["allocations"][:1]
    assert store.save_run(changed) is False  # same run_id: nothing written
    assert store.save_run(document) is False
    assert store.get_run(document["run_id"]) == document
    counts = store.table_counts()
    assert (counts["allocation_runs"], counts["allocations"]) == (1, 3)


def test_list_runs_is_newest_first_and_limited(store: Store) -> None:
    for i in range(3):
        store.save_run(sample_document(f"run-{i}"))
    assert list(store.list_runs(limit=2)["run_id"]) == ["run-2", "run-1"]
    assert len(store.list_runs()) == 3
    with pytest.raises(StorageError, match=r"no run 'run-9'.*quantalloc runs list"):
        store.get_run("run-9")


def test_documents_are_stored_as_plain_json(store: Store) -> None:
    document = sample_document("numpy-run")
    document["capital"] = np.float64(1e6)
    document["allocations"][0]["lots"] = np.int64(3)
    document["constraints"][0]["dual"] = float("nan")  # not JSON: stored as null
    assert store.save_run(document)
    back = store.get_run("numpy-run")
    assert back["capital"] == 1e6 and type(back["allocations"][0]["lots"]) is int
    assert back["constraints"][0]["dual"] is None
    with pytest.raises(DataError, match="non-empty text run_id"):
        store.save_run({"allocations": []})
    with pytest.raises(DataError, match=r"allocations\[1\] lacks lots"):
        store.save_run(
            {"run_id": "r", "allocations": [{"symbol": "A", "lots": 1}, {"symbol": "B"}]}
        )
    assert store.table_counts()["allocation_runs"] == 1


def _fail_on_nth_insert(store: Store, table: str, n: int) -> tuple[list[int], Callable[[], None]]:
    """Make the ``n``-th INSERT into ``table`` raise inside the driver call: a real mid-write
    failure, after the transaction's earlier statements have run on the server."""
    seen = [0]
    engine = store.engine  # type: ignore[attr-defined]

    def boom(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(f"INSERT INTO {table.upper()} "):
            seen[0] += 1
            if seen[0] == n:
                raise RuntimeError(f"injected failure at insert {n} into {table}")

    event.listen(engine, "before_cursor_execute", boom)
    return seen, lambda: event.remove(engine, "before_cursor_execute", boom)


def test_failure_half_way_through_a_run_leaves_no_trace(store: Store) -> None:
    document = sample_document("half-run", positions=4)
    seen, restore = _fail_on_nth_insert(store, "allocations", 3)  # after 2 of 4 positions
    try:
        with pytest.raises(RuntimeError, match="injected failure"):
            store.save_run(document)
    finally:
        restore()
    assert seen[0] == 3  # the run row and two positions had been written before the failure
    counts = store.table_counts()
    assert (counts["allocation_runs"], counts["allocations"]) == (0, 0)
    assert store.list_runs().empty
    with pytest.raises(StorageError, match="no run 'half-run'"):
        store.get_run("half-run")
    assert store.save_run(document) is True  # the id is free: nothing half-stored blocks it
    assert store.get_run("half-run") == document
    assert len(store.run_positions("half-run")) == 4  # type: ignore[attr-defined]


def test_failed_replace_keeps_the_old_table(store: Store) -> None:
    old = sample_tables()["stock_rankings"]
    store.write_table("stock_rankings", old)
    seen, restore = _fail_on_nth_insert(store, "stock_rankings", 1)  # after the DELETE ran
    try:
        with pytest.raises(RuntimeError, match="injected failure"):
            store.write_table("stock_rankings", old.iloc[:1])
    finally:
        restore()
    assert seen[0] == 1
    pd.testing.assert_frame_equal(store.read_table("stock_rankings"), old)
