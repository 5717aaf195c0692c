"""`quantalloc db ...` and `quantalloc runs ...` through the CLI runner, on real stores."""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from quantalloc.cli.app import app
from quantalloc.storage import SCHEMA_VERSION, open_store
from tests.storage.samples import sample_document, sample_tables

runner = CliRunner()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No store settings from the machine running the tests; cwd without a .env file."""
    for name in (
        "DATABASE_URL",
        "QUANTALLOC_DB",
        "SUPABASE_URL",
        "SUPABASE_KEY",
        "SUPABASE_ANON_KEY",
        "NEXT_PUBLIC_SUPABASE_URL",
        "NEXT_PUBLIC_SUPABASE_ANON_KEY",
    ):
        monkeypatch.delenv(name, raising=False)  # fmt: skip
    monkeypatch.chdir(tmp_path)


def _run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def _one_error_line(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_init_import_export_status_round_trip(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'q.db'}"
    first = _run("db", "init", "--store", store)
    assert first.exit_code == 0 and f"schema version {SCHEMA_VERSION} ready" in first.stdout
    assert "already in place" in _run("db", "init", "--store", store).stdout
    frame = sample_tables()["strategies"]
    csv_in = tmp_path / "strategies.csv"
    frame.assign(legs=[json.dumps(v) if v else None for v in frame["legs"]]).to_csv(
        csv_in, index=False
    )
    imported = _run("db", "import", "strategies", str(csv_in), "--store", store)
    assert imported.exit_code == 0, imported.stderr
    assert "2 rows replaced strategies" in imported.stdout
    csv_out = tmp_path / "out.csv"
    exported = _run("db", "export", "strategies", "--output", str(csv_out), "--store", store)
    assert exported.exit_code == 0 and "2 rows of strategies written" in exported.stdout
    back = pd.read_csv(csv_out)
    assert list(back.columns) == list(frame.columns)
    assert [json.loads(v) if isinstance(v, str) else None for v in back["legs"]] == list(
        frame["legs"]
    )
    pd.testing.assert_frame_equal(
        back.drop(columns="legs"), pd.read_csv(csv_in).drop(columns="legs")
    )
    again = _run("db", "import", "strategies", str(csv_out), "--append", "--store", store)
    assert "2 rows appended" in again.stdout
    stdout_csv = _run("db", "export", "strategies", "--store", store).stdout
    assert (
        stdout_csv.splitlines()[0] == ",".join(frame.columns) and len(stdout_csv.splitlines()) == 5
    )
    status = _run("db", "status", "--store", store)
    assert status.exit_code == 0 and f"schema  version {SCHEMA_VERSION}" in status.stdout
    assert any("strategies" in line and " 4 " in line for line in status.stdout.splitlines())


def test_csv_with_wrong_columns_writes_nothing(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'q.db'}"
    _run("db", "init", "--store", store)
    good = tmp_path / "good.csv"
    sample_tables()["industry_allocations_current"].to_csv(good, index=False)
    assert (
        _run("db", "import", "industry_allocations_current", str(good), "--store", store).exit_code
        == 0
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("industry,weight\nBanks,30\n")
    line = _one_error_line(
        _run("db", "import", "industry_allocations_current", str(bad), "--store", store)
    )
    assert "missing column(s) position_type, weight_percentage" in line and "bad.csv" in line
    kept = open_store(store).read_table("industry_allocations_current")
    assert list(kept["industry"]) == ["Banks", "Information Technology", "Power"]


def test_missing_tables_point_to_db_init(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'fresh.db'}"
    csv = tmp_path / "r.csv"
    sample_tables()["stock_rankings"].to_csv(csv, index=False)
    for args in (("db", "import", "stock_rankings", str(csv)), ("runs", "list"),
                 ("db", "export", "stock_rankings")):  # fmt: skip
        assert "run `quantalloc db init`" in _one_error_line(_run(*args, "--store", store))
    status = _run("db", "status", "--store", store)
    assert status.exit_code == 0 and "none: run `quantalloc db init`" in status.stdout


def test_unknown_table_and_missing_file(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'q.db'}"
    assert "unknown input table 'stocks'" in _one_error_line(
        _run("db", "import", "stocks", "x.csv", "--store", store)
    )
    assert "no CSV file at nope.csv" in _one_error_line(
        _run("db", "import", "stock_data", "nope.csv", "--store", store)
    )
    _run("db", "init", "--store", store)
    line = _one_error_line(
        _run(
            "db",
            "export",
            "stock_data",
            "--output",
            str(tmp_path / "no" / "x.csv"),
            "--store",
            store,
        )
    )
    assert "does not exist" in line and not (tmp_path / "no").exists()


def test_unreachable_server_shows_host_not_password() -> None:
    port = _closed_port()
    result = _run("db", "status", "--store", f"postgresql://bob:pw-sekrit-42@127.0.0.1:{port}/db")
    line = _one_error_line(result)
    assert f"cannot reach the PostgreSQL server at 127.0.0.1:{port}" in line
    assert "pw-sekrit-42" not in result.output


def test_credentials_from_dotenv_and_wrong_password(
    postgres_server, tmp_path: Path, caplog
) -> None:  # type: ignore[no-untyped-def]
    wrong = postgres_server.url.replace(postgres_server.password, "not-the-pw-9")
    (tmp_path / ".env").write_text(f"DATABASE_URL={wrong}\n")
    result = _run("db", "status")
    line = _one_error_line(result)
    assert f"127.0.0.1:{postgres_server.port} refused the password" in line
    assert "not-the-pw-9" not in result.output
    (tmp_path / ".env").write_text(f"DATABASE_URL={postgres_server.url}\n")
    ok = _run("db", "status")
    assert ok.exit_code == 0, ok.stderr
    assert f"127.0.0.1:{postgres_server.port}" in ok.stdout and ":***@" in ok.stdout
    assert postgres_server.password not in ok.output
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")  # SQL, parameters and pool events
    verbose = _run("--verbose", "db", "init")
    assert verbose.exit_code == 0, verbose.stderr
    assert any(r.name.startswith("sqlalchemy") for r in caplog.records)  # logging did happen
    assert postgres_server.password not in caplog.text + verbose.output


def test_db_schema_prints_the_script() -> None:
    from quantalloc.storage.schema_sql import schema_sql

    result = _run("db", "schema")
    assert result.exit_code == 0 and result.stdout == schema_sql()
    assert "create or replace function quantalloc_save_run" in result.stdout


def test_runs_list_and_show(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'q.db'}"
    opened = open_store(store)
    opened.init()
    assert "no runs stored" in _run("runs", "list", "--store", store).stdout
    document = sample_document()
    opened.save_run(document)
    opened.save_run(sample_document("second-run"))
    listed = _run("runs", "list", "--store", store)
    assert listed.exit_code == 0
    assert "second-run" in listed.stdout and "industry_first" in listed.stdout  # ids never wrap
    assert listed.stdout.index("second-run") < listed.stdout.index("2024-06-20-industry")
    shown = _run("runs", "show", document["run_id"], "--store", store)
    assert shown.exit_code == 0
    for symbol in ("TCS", "RELIANCE", "HDFCBANK"):
        assert symbol in shown.stdout
    as_json = _run("runs", "show", document["run_id"], "--json", "--store", store)
    assert json.loads(as_json.stdout) == document
    assert "no run 'nope'" in _one_error_line(_run("runs", "show", "nope", "--store", store))


def test_quantalloc_db_sets_the_default_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUANTALLOC_DB", str(tmp_path / "data" / "mine.db"))
    refused = _run("db", "init")  # a folder the user named is never created for them
    assert refused.exit_code == 2 and "does not exist" in refused.output
    assert not (tmp_path / "data").exists()
    (tmp_path / "data").mkdir()
    result = _run("db", "init")
    assert result.exit_code == 0 and "mine.db" in result.stdout
    assert (tmp_path / "data" / "mine.db").is_file()


def test_verbose_shows_the_traceback() -> None:
    result = _run(
        "--verbose", "db", "status", "--store", f"postgresql://u@127.0.0.1:{_closed_port()}/d"
    )
    assert result.exit_code != 0 and result.exception is not None
    assert type(result.exception).__name__ == "StorageError"


def test_weights_over_100_percent_need_normalize_weights(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'q.db'}"
    _run("db", "init", "--store", store)
    csv = tmp_path / "ind.csv"
    csv.write_text(
        "industry,sector,position_type,weight_percentage,rating\n"
        "Banks,Financial Services,LONG,72,overweight\nPower,Utilities,SHORT,48,underweight\n"
    )
    line = _one_error_line(
        _run("db", "import", "industry_allocations_current", str(csv), "--store", store)
    )
    assert "120" in line and "--normalize-weights" in line
    ok = _run(
        "db",
        "import",
        "industry_allocations_current",
        str(csv),
        "--normalize-weights",
        "--store",
        store,
    )
    assert ok.exit_code == 0, ok.stderr
    weights = open_store(store).read_table("industry_allocations_current")["weight_percentage"]
    assert list(weights) == pytest.approx([60.0, 40.0])  # 72 and 48 scaled by 100/120
