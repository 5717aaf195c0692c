"""Study storage URLs: every scheme opens, and a bad one fails with a teaching message."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from quantalloc.errors import ConfigError, StorageError
from quantalloc.storage.url import default_study_url, redact, study_url
from quantalloc.tuning.storage import open_storage


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, "memory"),
        ("memory", "memory"),
        ("postgresql://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///tmp/x.db", "sqlite:///tmp/x.db"),
        ("/tmp/studies.db", "sqlite:////tmp/studies.db"),
        ("/tmp/studies.journal", "journal:/tmp/studies.journal"),
        ("journal:/tmp/s.log", "journal:/tmp/s.log"),
    ],
)
def test_study_url(given: str | None, expected: str) -> None:
    assert study_url(given) == expected


def test_unknown_scheme_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="mysql"):
        study_url("mysql://u:secret@h/db")


def test_redact_hides_password() -> None:
    assert redact("postgresql://u:secret@h/db") == "postgresql://u:***@h/db"
    assert "secret" not in redact("postgresql+psycopg://user:secret@127.0.0.1:5/x")


def test_default_is_a_local_journal_file() -> None:
    assert default_study_url().startswith("journal:")


@pytest.mark.parametrize("kind", ["memory", "journal", "sqlite"])
def test_local_storages_keep_a_study(tmp_path: Path, kind: str) -> None:
    url = {
        "memory": None,
        "journal": f"journal:{tmp_path}/sub/s.journal",
        "sqlite": f"sqlite:///{tmp_path}/sub/s.db",
    }[kind]
    st = open_storage(url)
    study = optuna.create_study(storage=st, study_name="s")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    if kind != "memory":  # a second handle on the same file sees the trials
        again = optuna.load_study(study_name="s", storage=open_storage(url))
        assert len(again.trials) == 3


@pytest.mark.postgres
def test_postgres_storage_and_wrong_password(postgres_server) -> None:  # type: ignore[no-untyped-def]
    st = open_storage(postgres_server.url)
    study = optuna.create_study(storage=st, study_name="pg-open", load_if_exists=True)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert len(optuna.load_study(study_name="pg-open", storage=st).trials) >= 2
    bad = postgres_server.url.replace(postgres_server.password, "wrong")
    with pytest.raises(StorageError) as info:
        open_storage(bad)
    assert "wrong" not in str(info.value)
