"""The store URL scheme: which backend each URL opens, precedence, and password-free labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from quantalloc.errors import ConfigError, StorageError
from quantalloc.storage import (
    SCHEMA_VERSION,
    default_db_path,
    open_store,
    redact,
    resolve,
    select_url,
)


def test_no_url_is_the_sqlite_file_in_the_user_data_dir() -> None:
    from platformdirs import user_data_dir

    target = resolve(None, {})
    expected = Path(user_data_dir("quantalloc")) / "quantalloc.db"
    assert target.backend == "sqlite" and not target.in_memory
    assert Path(str(target.sqlalchemy_url.database)) == expected.resolve()  # type: ignore[union-attr]
    assert default_db_path({}) == expected


def test_precedence_store_then_database_url_then_quantalloc_db(tmp_path: Path) -> None:
    env = {"DATABASE_URL": "sqlite://", "QUANTALLOC_DB": str(tmp_path / "q.db")}
    assert select_url("postgresql://u@h/d", env) == "postgresql://u@h/d"
    assert select_url(None, env) == "sqlite://"
    assert select_url(None, {"QUANTALLOC_DB": str(tmp_path / "q.db")}) == (
        f"sqlite:///{tmp_path / 'q.db'}"
    )
    assert resolve(None, {"QUANTALLOC_DB": "sqlite://"}).in_memory


@pytest.mark.parametrize("url", ["sqlite://", ":memory:", "sqlite:///:memory:"])
def test_in_memory_forms(url: str) -> None:
    assert resolve(url).in_memory


def test_sqlite_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve("sqlite:///rel.db").display == f"sqlite:///{tmp_path / 'rel.db'}"
    assert resolve(f"sqlite:///{tmp_path}/abs.db").display == f"sqlite:///{tmp_path / 'abs.db'}"
    assert resolve("plain.db").display == f"sqlite:///{tmp_path / 'plain.db'}"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://alice:s3cr3t-pw@db.example.com:5432/app",
        "postgres://alice:s3cr3t-pw@db.example.com:5432/app",
        "postgresql+psycopg2://alice:s3cr3t-pw@db.example.com:5432/app",
    ],
)
def test_postgres_urls_use_psycopg3_and_hide_the_password(url: str) -> None:
    target = resolve(url)
    assert target.backend == "postgresql"
    assert target.sqlalchemy_url.drivername == "postgresql+psycopg"  # type: ignore[union-attr]
    assert target.sqlalchemy_url.password == "s3cr3t-pw"  # type: ignore[union-attr]
    assert target.display == "postgresql://alice:***@db.example.com:5432/app"
    assert "s3cr3t" not in redact(url) and "db.example.com" in redact(url)


def test_supabase_direct_connection_string() -> None:
    url = "postgresql://postgres:pw-123456@db.abcdefghijklmnop.supabase.co:5432/postgres"
    target = resolve(url)
    assert target.sqlalchemy_url.host == "db.abcdefghijklmnop.supabase.co"  # type: ignore[union-attr]
    assert "pw-123456" not in target.display


@pytest.mark.parametrize(
    ("env", "url", "key"),
    [
        (
            {"SUPABASE_URL": "https://abc.supabase.co", "SUPABASE_KEY": "k1"},
            "https://abc.supabase.co",
            "k1",
        ),
        (
            {"SUPABASE_URL": "https://abc.supabase.co", "SUPABASE_ANON_KEY": "k2"},
            "https://abc.supabase.co",
            "k2",
        ),
        (
            {
                "NEXT_PUBLIC_SUPABASE_URL": "https://n.supabase.co/",
                "NEXT_PUBLIC_SUPABASE_ANON_KEY": "k3",
            },
            "https://n.supabase.co",
            "k3",
        ),
    ],
)
def test_supabase_reads_its_variables(env: dict[str, str], url: str, key: str) -> None:
    target = resolve("supabase://", env)
    assert (target.backend, target.supabase_url, target.supabase_key) == ("supabase", url, key)
    assert key not in target.display


def test_supabase_without_variables_names_them() -> None:
    with pytest.raises(ConfigError, match=r"SUPABASE_URL .* and SUPABASE_KEY .*\.env"):
        resolve("supabase://", {})
    with pytest.raises(ConfigError, match=r"needs SUPABASE_KEY"):
        resolve("supabase://", {"SUPABASE_URL": "https://abc.supabase.co"})


@pytest.mark.parametrize("url", ["mysql://u:p@h/d", "redis://h"])
def test_unsupported_schemes_are_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="unsupported store URL scheme") as info:
        resolve(url)
    assert ":p@" not in str(info.value)


def test_default_store_creates_its_folder_but_not_a_named_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    store = open_store(None, env={})  # the platform's data folder is made on first use
    assert store.init() == SCHEMA_VERSION
    store.close()
    assert (tmp_path / "xdg" / "quantalloc" / "quantalloc.db").is_file()
    env = {"QUANTALLOC_DB": str(tmp_path / "new" / "dir" / "q.db")}  # one the user named: not
    with pytest.raises(StorageError, match="does not exist"):
        open_store(None, env=env).init()
    assert not (tmp_path / "new").exists()


def test_study_url_names_the_same_database_as_the_store(tmp_path: Path) -> None:
    import optuna

    from quantalloc.storage import study_url

    for memory in (None, "", "memory", ":memory:", "sqlite://"):  # one meaning of no URL
        assert study_url(memory) == "memory"
    assert study_url("postgres://u:pw@h:5432/d") == "postgresql+psycopg://u:pw@h:5432/d"
    assert resolve("postgres://u:pw@h:5432/d").sqlalchemy_url.render_as_string(  # type: ignore[union-attr]
        hide_password=False
    ) == study_url("postgres://u:pw@h:5432/d")
    with pytest.raises(ConfigError, match="direct connection string"):
        study_url("supabase://")
    with pytest.raises(ConfigError, match="names no host"):
        study_url("postgresql:///db")
    url = study_url(f"sqlite:///{tmp_path / 'q.db'}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=url, study_name="s")
    study.optimize(lambda trial: trial.suggest_float("x", -1, 1) ** 2, n_trials=3)
    assert len(optuna.load_study(study_name="s", storage=url).trials) == 3
    store = open_store(f"sqlite:///{tmp_path / 'q.db'}")
    assert (
        store.init() == SCHEMA_VERSION
    )  # quantalloc's tables live beside optuna's in the same file
    store.close()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:secret@h/db", "postgresql://u:***@h/db"),
        (
            "postgresql+psycopg://user:s@cr:et@127.0.0.1:5/x",
            "postgresql+psycopg://user:***@127.0.0.1:5/x",
        ),
        ("postgresql://u:se/cret@h:5432/db", "postgresql://u:***@h:5432/db"),
        (
            "postgresql://h/db?user=u&password=secret&x=1",
            "postgresql://h/db?user=u&password=***&x=1",
        ),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("sqlite:////tmp/with@sign.db", "sqlite:////tmp/with@sign.db"),
        ("/plain/path.db", "/plain/path.db"),
    ],
)
def test_one_redact_for_stores_and_studies(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_supabase_host_in_the_url_and_protocol_conformance() -> None:
    from quantalloc.storage import Store
    from quantalloc.storage.supabase_store import SupabaseStore

    target = resolve("supabase://abc.supabase.co", {"SUPABASE_KEY": "k"})
    assert target.supabase_url == "https://abc.supabase.co"
    assert isinstance(SupabaseStore(target), Store)
    memory = open_store(":memory:")
    assert isinstance(memory, Store) and memory.backend == "sqlite"
    memory.close()
