"""The script of ``quantalloc db schema`` (what a Supabase user pastes in the SQL editor) builds on
a REAL PostgreSQL exactly what the migrations build, and its functions do what the supabase://
store expects."""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd
import psycopg
import pytest

from quantalloc.storage import SCHEMA_VERSION, open_store
from quantalloc.storage.schema_sql import schema_sql
from tests.storage.samples import sample_document, sample_tables
from tests.storage.supabase_replay import replay_store

pytestmark = pytest.mark.postgres

_COLUMNS = """
select table_name, column_name, ordinal_position, data_type, is_nullable, is_identity,
       identity_generation, column_default
from information_schema.columns where table_schema = 'public'
order by table_name, ordinal_position
"""
_CONSTRAINTS = """
select tc.table_name, tc.constraint_type, kcu.column_name, kcu.ordinal_position,
       rc.delete_rule, ccu.table_name as ref_table
from information_schema.table_constraints tc
join information_schema.key_column_usage kcu
  on kcu.constraint_name = tc.constraint_name and kcu.table_schema = tc.table_schema
left join information_schema.referential_constraints rc on rc.constraint_name = tc.constraint_name
left join information_schema.constraint_column_usage ccu
  on ccu.constraint_name = rc.unique_constraint_name
where tc.table_schema = 'public'
order by 1, 2, 3, 4
"""
_FUNCTIONS = """
select p.proname, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid), p.prosrc
from pg_proc p join pg_namespace n on n.oid = p.pronamespace
where n.nspname = 'public' order by 1
"""


def _snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn:
        return {
            name: conn.execute(query).fetchall()
            for name, query in (("columns", _COLUMNS), ("constraints", _CONSTRAINTS),
                                ("functions", _FUNCTIONS))
        }  # fmt: skip


def _reset(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop schema public cascade")
        conn.execute("create schema public")


def _apply_schema_sql(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(schema_sql())  # type: ignore[call-overload]


def test_schema_sql_matches_the_migrations(fresh_pg_url: str) -> None:
    store = open_store(fresh_pg_url)
    store.init()
    store.close()
    by_migrations = _snapshot(fresh_pg_url)
    _reset(fresh_pg_url)
    _apply_schema_sql(fresh_pg_url)
    by_sql_file = _snapshot(fresh_pg_url)
    assert len(by_migrations["columns"]) > 60 and len(by_migrations["functions"]) == 2
    for part in ("columns", "constraints", "functions"):
        assert by_sql_file[part] == by_migrations[part], part


def test_schema_sql_twice_then_quantalloc_uses_it(fresh_pg_url: str) -> None:
    _apply_schema_sql(fresh_pg_url)
    _apply_schema_sql(fresh_pg_url)  # pasting it again is harmless
    store = open_store(fresh_pg_url)
    assert store.schema_version() == SCHEMA_VERSION
    assert store.init() == SCHEMA_VERSION  # nothing left to migrate
    assert store.save_run(sample_document()) is True
    store.close()


def _rpc_bodies() -> tuple[dict[str, Any], dict[str, Any]]:
    """The request bodies the supabase:// store sends for save_run and a replace."""
    store, replay = replay_store(
        [
            ("POST", "rpc/quantalloc_save_run", {}, "rpc_true"),
            ("POST", "rpc/quantalloc_replace_table", {}, "rpc_count_2"),
        ]
    )
    store.save_run(sample_document())
    store.write_table("strategies", sample_tables()["strategies"])
    return (
        replay.bodies("rpc/quantalloc_save_run")[0],
        replay.bodies("rpc/quantalloc_replace_table")[0],
    )


def test_the_rest_calls_work_on_the_real_functions(fresh_pg_url: str) -> None:
    """Replay what the supabase:// store sends into the functions PostgREST would call."""
    save_body, replace_body = _rpc_bodies()
    _apply_schema_sql(fresh_pg_url)
    with psycopg.connect(fresh_pg_url, autocommit=True) as conn:
        call = "select quantalloc_save_run(%s::jsonb, %s::jsonb)"
        args = (json.dumps(save_body["run_row"]), json.dumps(save_body["position_rows"]))
        assert conn.execute(call, args).fetchone() == (True,)
        assert conn.execute(call, args).fetchone() == (False,)  # idempotent
        replace = "select quantalloc_replace_table(%s, %s::jsonb)"
        table_rows = json.dumps(replace_body["table_rows"])
        assert conn.execute(replace, ("strategies", table_rows)).fetchone() == (2,)
        assert conn.execute(replace, ("strategies", table_rows)).fetchone() == (2,)  # replaced
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="unknown input table"):
            conn.execute(replace, ("allocation_runs; drop table allocations", "[]"))
    store = open_store(fresh_pg_url)
    document = sample_document()
    assert store.get_run(document["run_id"]) == document
    positions = store.run_positions(document["run_id"])  # type: ignore[attr-defined]
    assert list(positions["symbol"]) == [p["symbol"] for p in document["allocations"]]
    assert list(positions["legs"]) == [p["legs"] for p in document["allocations"]]
    pd.testing.assert_frame_equal(store.read_table("strategies"), sample_tables()["strategies"])
    assert store.table_counts()["allocations"] == 3
    store.close()


def test_a_failing_position_rolls_back_the_whole_rpc(fresh_pg_url: str) -> None:
    """One RPC call is one transaction: a bad second position leaves no run row behind."""
    save_body, _ = _rpc_bodies()
    save_body["position_rows"][1]["lots"] = None  # violates NOT NULL after row 0 went in
    _apply_schema_sql(fresh_pg_url)
    with psycopg.connect(fresh_pg_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.NotNullViolation):
            conn.execute(
                "select quantalloc_save_run(%s::jsonb, %s::jsonb)",
                (json.dumps(save_body["run_row"]), json.dumps(save_body["position_rows"])),
            )
        counts = conn.execute(
            "select (select count(*) from allocation_runs), (select count(*) from allocations)"
        ).fetchone()
    assert counts == (0, 0)


# An input table as an earlier system made it: other types, an extra column, a NOT NULL column
# with a default, and no 'sector' column. quantalloc must keep its rows and work with it.
_EARLIER_TABLE = """
create table industry_allocations_current (
    id bigint generated by default as identity primary key,
    industry text not null,
    position_type text not null,
    weight_percentage numeric not null,
    rating text,
    symbols text[],
    updated_at timestamptz not null default now()
);
insert into industry_allocations_current (industry, position_type, weight_percentage, symbols)
values ('Banks', 'LONG', 28.5, '{HDFCBANK,ICICIBANK}'), ('Power', 'SHORT', 7.25, '{NTPC}');
"""


@pytest.mark.parametrize("how", ["schema.sql", "db init"])
def test_an_earlier_systems_table_is_adopted(fresh_pg_url: str, how: str) -> None:
    with psycopg.connect(fresh_pg_url, autocommit=True) as conn:
        conn.execute(_EARLIER_TABLE)  # type: ignore[call-overload]
    if how == "schema.sql":
        _apply_schema_sql(fresh_pg_url)
    else:
        open_store(fresh_pg_url).init()
    store = open_store(fresh_pg_url)
    kept = store.read_table("industry_allocations_current")
    assert list(kept["industry"]) == ["Banks", "Power"]
    assert list(kept["weight_percentage"]) == [28.5, 7.25] and kept["sector"].isna().all()
    frame = sample_tables()["industry_allocations_current"]
    store.write_table("industry_allocations_current", frame)  # SQL store path
    pd.testing.assert_frame_equal(store.read_table("industry_allocations_current"), frame)
    rows = json.dumps(json.loads(frame.to_json(orient="records")))
    with psycopg.connect(fresh_pg_url, autocommit=True) as conn:  # the supabase:// RPC path
        replaced = conn.execute(
            "select quantalloc_replace_table('industry_allocations_current', %s::jsonb)", (rows,)
        ).fetchone()
        defaults = conn.execute(
            "select count(*) from industry_allocations_current where updated_at is not null"
        ).fetchone()
    assert replaced == (3,) and defaults == (3,)  # the earlier system's default still applies
    pd.testing.assert_frame_equal(store.read_table("industry_allocations_current"), frame)
    store.close()


# The tables and columns DESIGN.md section 3 names (users' Supabase tables depend on them), as
# the section lists them (in the order of the original Supabase schema); the script must create
# each, with these columns in this order.
_DESIGN_COLUMNS = {
    "industry_allocations_current": "industry sector position_type weight_percentage rating",
    "sector_allocations_current": "",
    "stock_data": "symbol industry sector fno_stock lot_size market_cap_category",
    "stock_rankings": "symbol market_cap_category score",
    "strategies": "stock_name industry strategy_name total_score probability_of_profit "
    "risk_reward_ratio legs",
    "option_chain_data": "",
    "holdings": "",
    "allocation_runs": "",
    "allocations": "",
}


def test_the_script_creates_the_tables_design_names() -> None:
    script = schema_sql()
    created = re.findall(r"^CREATE TABLE IF NOT EXISTS (\w+) \((.*?)^\);", script, re.M | re.S)
    columns = {name: [r.split()[0] for r in body.strip().splitlines()] for name, body in created}
    assert list(columns) == [*_DESIGN_COLUMNS, "quantalloc_schema"]
    for name, listed in _DESIGN_COLUMNS.items():
        data = [c for c in columns[name] if c not in ("id", "PRIMARY", "FOREIGN")]
        assert data[: len(listed.split())] == listed.split(), name
        assert f"ALTER TABLE {name}\n" in script  # an adopted table gains what it lacks
    assert script.count("create or replace function") == 2 and script.rstrip().endswith("COMMIT;")
