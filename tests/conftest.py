"""Shared fixtures: where the real market data lives, and a skip when it is absent."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# property tests draw the same examples on every run (deterministic, as the house style asks)
settings.register_profile("quantalloc", derandomize=True)
settings.load_profile("quantalloc")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("QUANTALLOC_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def private_data_folder(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Each test gets its own user data and cache folders (default store, studies, user
    models, cached regime results)."""
    folder = tmp_path_factory.mktemp("xdg-data")
    monkeypatch.setenv("XDG_DATA_HOME", str(folder))
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder / "cache"))  # and its own cache folder
    return folder


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real market data folder (../shared/data); tests using it skip when it is absent."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip(f"real market data not found at {SHARED_DATA} (set QUANTALLOC_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def postgres_server():  # type: ignore[no-untyped-def]
    """A real PostgreSQL server for the session (skips when PostgreSQL is not installed)."""
    from tests.support.postgres import find_bin_dir, running_postgres

    if find_bin_dir() is None:
        pytest.skip("PostgreSQL is not installed (initdb/pg_ctl not found); .ci/run installs it")
    with running_postgres() as server:
        yield server


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Report the CLI bad-input suite's count (tests/cli/test_bad_input_suite.py)."""
    key = "test_bad_input_suite.py::test_bad_input_is_one_line_exit_2_and_writes_nothing"
    counts = {
        outcome: sum(
            key in getattr(r, "nodeid", "") for r in terminalreporter.stats.get(outcome, [])
        )
        for outcome in ("passed", "failed")
    }
    total = counts["passed"] + counts["failed"]
    if total:
        terminalreporter.write_line(
            f"CLI bad-input suite: {total} cases, {counts['passed']} passed, "
            f"{counts['failed']} failed (exit code 2, one error line, no traceback, no file)"
        )
