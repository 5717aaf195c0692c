"""The test PostgreSQL server really runs and enforces its password."""

from __future__ import annotations

import psycopg
import pytest

pytestmark = pytest.mark.postgres


def test_server_answers_queries(postgres_server) -> None:  # type: ignore[no-untyped-def]
    with psycopg.connect(postgres_server.url) as conn:
        assert conn.execute("select 1 + 1").fetchone() == (2,)


def test_wrong_password_is_refused(postgres_server) -> None:  # type: ignore[no-untyped-def]
    bad = postgres_server.url.replace(postgres_server.password, "wrong")
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(bad)
