"""The supabase:// store at the HTTP boundary, against PostgREST-shaped recorded responses.

A live Supabase project is unreachable from the machine these tests run on, so supabase-py's
HTTP client gets a transport that replays stored responses (see supabase_replay.py and
postgrest_responses.json for how they were made). The RPC bodies captured here are executed
against the real PostgreSQL functions in test_schema_sql.py. ``test_live_project`` runs when
SUPABASE_URL is set.
"""

from __future__ import annotations

import os
import uuid

import httpx
import pandas as pd
import pytest

from quantalloc.errors import DataError, StorageError
from quantalloc.storage import open_store
from quantalloc.storage import supabase_store as supabase_module
from tests.storage.samples import sample_document, sample_tables
from tests.storage.supabase_replay import KEY, RESPONSES, replay_store


def test_reads_page_through_a_table_with_the_key_in_headers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(supabase_module, "PAGE_ROWS", 2)
    store, replay = replay_store(
        [
            ("GET", "stock_rankings", {"offset": "0", "limit": "2"}, "rankings_page_1"),
            ("GET", "stock_rankings", {"offset": "2", "limit": "2"}, "rankings_page_2"),
        ]
    )
    frame = store.read_table("stock_rankings")
    assert list(frame["symbol"]) == ["TCS", "RELIANCE", "INFY"]
    assert list(frame["score"]) == [81.5, 77.25, 64.0] and frame["score"].dtype == "float64"
    assert pd.isna(frame.loc[1, "market_cap_category"])
    page = replay.requests[-1]
    assert page.url.params["select"] == "symbol,market_cap_category,score"
    assert page.url.params["order"] == "id.asc"  # insertion order, as the SQL store
    assert page.headers["apikey"] == KEY and page.headers["authorization"] == f"Bearer {KEY}"
    assert len(replay.requests) == 3  # schema check + two pages (the second one short)


def test_chain_rows_come_back_typed() -> None:
    store, _ = replay_store([("GET", "option_chain_data", {}, "chain_rows")])
    frame = store.read_table("option_chain_data")
    expected = sample_tables()["option_chain_data"].iloc[:1]
    pd.testing.assert_frame_equal(frame, expected.assign(bid=182.3).reset_index(drop=True))


def test_get_run_and_positions_select_with_filters() -> None:
    document = sample_document()
    run_filter = {"run_id": f"eq.{document['run_id']}"}
    store, _ = replay_store(
        [
            ("GET", "allocation_runs", {**run_filter, "select": "document"}, "run_document"),
            ("GET", "allocations", {**run_filter, "order": "position.asc"}, "run_positions"),
            ("GET", "allocation_runs", {"run_id": "eq.missing"}, "no_rows"),
        ]
    )
    assert store.get_run(document["run_id"]) == document
    positions = store.run_positions(document["run_id"])
    assert list(positions["symbol"]) == ["TCS", "RELIANCE", "HDFCBANK"]
    assert list(positions["lots"]) == [3, 2, 1] and str(positions["lots"].dtype) == "Int64"
    assert positions.loc[2, "expiry"] == pd.Timestamp("2024-07-25")
    assert positions.loc[1, "legs"][1] == {
        "kind": "put", "side": "sell", "strike": 2860.0, "price": 14.9, "quantity": 1
    }  # fmt: skip
    with pytest.raises(StorageError, match="no run 'missing'"):
        store.get_run("missing")


def test_list_runs_orders_newest_first() -> None:
    store, replay = replay_store(
        [("GET", "allocation_runs", {"order": "created_at.desc,run_id.desc"}, "run_list")]
    )
    runs = store.list_runs(limit=2)
    assert replay.requests[-1].url.params["limit"] == "2"
    assert list(runs["n_allocations"]) == [4, 3]
    assert runs.loc[0, "created_at"] == pd.Timestamp("2024-06-21 04:01:17.204311")  # UTC
    assert runs.loc[1, "as_of"] == pd.Timestamp("2024-06-20")


def test_save_run_is_one_rpc_call_and_idempotent() -> None:
    store, replay = replay_store(
        [("POST", "rpc/quantalloc_save_run", {}, ["rpc_true", "rpc_false"])]
    )
    document = sample_document()
    assert store.save_run(document) is True
    assert store.save_run(document) is False  # the function found the run_id: wrote nothing
    body = replay.bodies("rpc/quantalloc_save_run")[0]
    assert set(body) == {"run_row", "position_rows"}
    run = body["run_row"]
    assert run["document"] == document and run["n_allocations"] == 3
    assert run["created_at"].endswith("+00:00") and run["as_of"] == "2024-06-20"
    assert [p["position"] for p in body["position_rows"]] == [0, 1, 2]
    assert body["position_rows"][2]["expiry"] == "2024-07-25"
    assert KEY not in str(body)


def test_replace_is_one_rpc_call_and_append_one_insert() -> None:
    frame = sample_tables()["stock_rankings"]
    store, replay = replay_store(
        [
            ("POST", "rpc/quantalloc_replace_table", {}, "rpc_count_2"),
            ("POST", "stock_rankings", {}, "insert_minimal"),
        ]
    )
    assert store.write_table("stock_rankings", frame) == 2
    assert replay.bodies("rpc/quantalloc_replace_table") == [
        {
            "target_table": "stock_rankings",
            "table_rows": [
                {"symbol": "TCS", "market_cap_category": "Large", "score": 81.5},
                {"symbol": "RELIANCE", "market_cap_category": None, "score": 77.25},
            ],
        }
    ]
    assert store.write_table("stock_rankings", frame, replace=False) == 2
    insert = replay.requests[-1]
    assert insert.method == "POST" and insert.headers["prefer"] == "return=minimal"
    assert replay.bodies("stock_rankings")[0][1]["symbol"] == "RELIANCE"


def test_bad_frames_are_refused_before_any_request() -> None:
    store, replay = replay_store([])
    with pytest.raises(DataError, match="missing column"):
        store.write_table("stock_rankings", pd.DataFrame({"symbol": ["A"]}))
    assert replay.requests == []


@pytest.mark.parametrize(
    ("route", "call", "pattern"),
    [
        (
            ("GET", "quantalloc_schema", {}, "schema_missing"),
            lambda s: s.list_runs(),
            r"Could not find the table .*\[PGRST205\].*`quantalloc db schema` into the Supabase",
        ),
        (
            ("POST", "rpc/quantalloc_save_run", {}, "function_missing"),
            lambda s: s.save_run(sample_document()),
            r"saving run .*\[PGRST202\].*quantalloc db schema",
        ),
        (
            ("POST", "stock_rankings", {}, "rls_denied"),
            lambda s: s.write_table(
                "stock_rankings", sample_tables()["stock_rankings"], replace=False
            ),
            r"row-level security .*\[42501\].*key with write access or add policies",
        ),
        (
            ("GET", "allocation_runs", {}, "bad_api_key"),
            lambda s: s.list_runs(),
            r"Supabase refused the key \(Invalid API key\); set SUPABASE_KEY",
        ),
        (
            ("POST", "rpc/quantalloc_replace_table", {}, "bad_value"),
            lambda s: s.write_table("stock_rankings", sample_tables()["stock_rankings"]),
            r"replacing stock_rankings: invalid input syntax .*\[22P02\]",
        ),
        (
            (
                "GET",
                "allocation_runs",
                {},
                httpx.ConnectError("[Errno -2] Name or service not known"),
            ),
            lambda s: s.list_runs(),
            r"cannot reach Supabase at supabase://abcdefghij\.supabase\.co \(ConnectError",
        ),
    ],
    ids=["missing-table", "missing-function", "rls", "bad-key", "bad-value", "unreachable"],
)
def test_errors_are_one_line_with_the_remedy(route, call, pattern, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from postgrest._sync import request_builder

    monkeypatch.setattr(request_builder.time, "sleep", lambda seconds: None)  # retry back-off
    store, replay = replay_store([route], schema=route[1] != "quantalloc_schema")
    with pytest.raises(StorageError, match=pattern) as info:
        call(store)
    assert KEY not in str(info.value) and "\n" not in str(info.value)
    if isinstance(route[3], httpx.ConnectError):  # supabase-py retries idempotent reads first
        assert sum(r.url.path.endswith("allocation_runs") for r in replay.requests) > 1


def test_counts_use_exact_count_heads() -> None:
    store, replay = replay_store([("HEAD", name, {}, "count_head") for name in
                                  ("industry_allocations_current", "sector_allocations_current",
                                   "stock_data", "stock_rankings", "strategies",
                                   "option_chain_data", "holdings", "allocation_runs",
                                   "allocations")],
                                 schema=False)  # fmt: skip
    assert set(store.table_counts().values()) == {42}
    assert all(r.headers["prefer"] == "count=exact" for r in replay.requests)


def test_responses_file_says_how_it_was_made() -> None:
    assert "not captured" in RESPONSES["_about"]


@pytest.mark.skipif(
    not os.environ.get("SUPABASE_URL"),
    reason="SUPABASE_URL is not set: no live Supabase project to test against "
    "(none is reachable from the machine these tests were written on)",
)
def test_live_project() -> None:
    """Against a real project with schema.sql applied: store a run, read it back, read inputs."""
    store = open_store("supabase://", env=dict(os.environ))
    assert store.init() >= 1
    document = sample_document(f"live-test-{uuid.uuid4().hex[:8]}")
    assert store.save_run(document) is True
    assert store.save_run(document) is False
    assert store.get_run(document["run_id"]) == document
    assert document["run_id"] in set(store.list_runs(limit=50)["run_id"])
    for name in ("industry_allocations_current", "stock_data"):
        assert list(store.read_table(name).columns)  # readable, typed
    store.close()


def test_a_server_that_never_answers_is_an_error_not_a_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # issue 18: a server that accepts and never answers held each request for 120 s. A real
    # socket on 127.0.0.1 that accepts connections and sends nothing stands in for it.
    import socket
    import time

    import httpx

    from quantalloc.errors import StorageError
    from quantalloc.storage.supabase_store import SupabaseStore
    from quantalloc.storage.url import resolve

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        port = silent.getsockname()[1]
        env = {"SUPABASE_URL": f"http://127.0.0.1:{port}", "SUPABASE_KEY": "k" * 40}
        store = SupabaseStore(resolve("supabase://", env), timeout=httpx.Timeout(1.0))
        started = time.perf_counter()
        with pytest.raises(StorageError, match=r"did not answer within 1 s"):
            store.read_table("stock_data")
        assert time.perf_counter() - started < 20
    finally:
        silent.close()


def test_a_key_sent_over_plain_http_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    from quantalloc.storage.supabase_store import SupabaseStore
    from quantalloc.storage.url import resolve

    env = {"SUPABASE_URL": "http://db.example.invalid", "SUPABASE_KEY": "k" * 40}
    with caplog.at_level("WARNING"):
        SupabaseStore(resolve("supabase://", env))
    assert "plain http: the API key travels unencrypted" in caplog.text
    caplog.clear()
    env["SUPABASE_URL"] = "https://db.example.invalid"
    with caplog.at_level("WARNING"):
        SupabaseStore(resolve("supabase://", env))
    assert "plain http" not in caplog.text
