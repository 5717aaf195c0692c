"""Two ``quantalloc tune`` processes started together on an EMPTY PostgreSQL database.

Issue 18's reproduction: one of two workers crashed in 5 of 6 tries while both created optuna's
schema (``UniqueViolation ... pg_type_typname_nsp_index``), and otherwise 40-50% of the trials
were duplicates because both sampled with seed 0. Here both processes (the real console entry
point, a real PostgreSQL server from tests/support/postgres.py) must succeed, the study must
hold exactly the trials both ran, and no two trials may share their parameters.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import optuna
import psycopg
import pytest

from quantalloc.tuning.storage import open_storage

TRIALS_EACH = 6


@pytest.mark.slow
@pytest.mark.postgres
def test_two_tune_processes_on_an_empty_database(
    postgres_server,  # type: ignore[no-untyped-def]
    shared_data: Path,
    tmp_path: Path,
) -> None:
    name = f"tune_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_server.url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')  # empty: no optuna tables yet
    url = postgres_server.url.rsplit("/", 1)[0] + f"/{name}"
    args = ["tune", "momentum", "--trials", str(TRIALS_EACH), "--data",
            f"csv:{shared_data / 'us'}", "--start", "2011-01-01", "--end", "2017-12-29",
            "--storage", url, "--study", "shared"]  # fmt: skip
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "quantalloc", *args, "--output", str(tmp_path / f"{k}.json")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=tmp_path,
        )
        for k in range(2)
    ]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    for p, out in zip(procs, outputs, strict=True):
        assert p.returncode == 0, out
    assert "resuming study shared" in "".join(outputs)  # the later one joined, and said so
    study = optuna.load_study(study_name="shared", storage=open_storage(url))
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == 2 * TRIALS_EACH
    assert all(t.state.is_finished() for t in trials)
    params = [json.dumps(t.params, sort_keys=True) for t in trials]
    assert len(set(params)) == len(params), "two trials share their parameters"
    # each report counts the distinct parameter sets the DSR deflates by
    last = max((json.loads((tmp_path / f"{k}.json").read_text()) for k in range(2)),
               key=lambda d: d["n_trials"])  # fmt: skip
    assert last["n_distinct"] == last["n_complete"] + last["n_pruned"]
    assert last["deflated_sharpe"]["n_trials"] == last["n_distinct"]


@pytest.mark.postgres
def test_a_refused_password_is_one_short_line_without_it(
    postgres_server,  # type: ignore[no-untyped-def]
    shared_data: Path,
) -> None:
    # issue 18: PostgreSQL errors in tune printed ~300 characters of raw driver text
    from typer.testing import CliRunner

    from quantalloc.cli.app import app

    s = postgres_server
    url = f"postgresql://{s.user}:wrong-pw-123@{s.host}:{s.port}/{s.database}"
    result = CliRunner().invoke(
        app, ["tune", "momentum", "--data", f"csv:{shared_data / 'us'}", "--start", "2015-01-01",
              "--end", "2017-12-29", "--storage", url],
    )  # fmt: skip
    assert result.exit_code == 2
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("error: cannot open study storage") and "password" in line
    assert "wrong-pw-123" not in result.output and len(line) < 300
