"""Shared fixtures: where the real market data lives, and a skip when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# property tests draw the same examples on every run (deterministic, as the house style asks)
settings.register_profile("quantalloc", derandomize=True)
settings.load_profile("quantalloc")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("QUANTALLOC_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


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
