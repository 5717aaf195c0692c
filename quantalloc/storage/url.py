"""One storage URL scheme, as optuna has: which backend, where, and how to show it safely.

=====================================  ==============================================
URL                                    store
=====================================  ==============================================
(none)                                 SQLite file ``<user data dir>/quantalloc.db``
                                       (``QUANTALLOC_DB`` overrides the path)
``sqlite:///PATH``, a bare file path   SQLite file at PATH (``sqlite:////abs/path``)
``sqlite://``, ``:memory:``            SQLite in memory (gone when the store closes)
``postgresql://...``, ``postgres://``  PostgreSQL through psycopg 3 (any server,
                                       including a Supabase direct connection string)
``supabase://``                        Supabase REST API (``SUPABASE_URL`` + key)
=====================================  ==============================================

``DATABASE_URL`` selects a store when no URL is given. The library reads no environment
variables itself: callers pass the mapping (the CLI passes ``os.environ`` plus ``.env``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from quantalloc.errors import ConfigError

MEMORY = ":memory:"
SUPABASE_URL_VARS = ("SUPABASE_URL", "NEXT_PUBLIC_SUPABASE_URL")
SUPABASE_KEY_VARS = ("SUPABASE_KEY", "SUPABASE_ANON_KEY", "NEXT_PUBLIC_SUPABASE_ANON_KEY")
_USAGE = (
    "use sqlite:///PATH, sqlite:// (in memory), postgresql://USER:PASSWORD@HOST:PORT/DB, "
    "supabase://, or leave it unset for the default SQLite file"
)


@dataclass(frozen=True)
class StoreTarget:
    """A resolved store URL: the backend, what to connect to, and a password-free label."""

    backend: str  # "sqlite" | "postgresql" | "supabase"
    sqlalchemy_url: URL | None  # for sqlite/postgresql
    display: str  # safe to print: no password, no key
    secret: str | None = None  # the password or API key, kept to scrub it from messages
    supabase_url: str | None = None
    supabase_key: str | None = None

    @property
    def in_memory(self) -> bool:
        """True for an in-memory SQLite store."""
        return (
            self.backend == "sqlite"
            and self.sqlalchemy_url is not None
            and (self.sqlalchemy_url.database in (None, "", MEMORY))
        )


def default_db_path(env: Mapping[str, str] | None = None) -> Path:
    """Where the default SQLite store lives: ``QUANTALLOC_DB``, else the user data dir."""
    env = env or {}
    if env.get("QUANTALLOC_DB"):
        return Path(env["QUANTALLOC_DB"]).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("quantalloc")) / "quantalloc.db"


def select_url(url: str | None, env: Mapping[str, str] | None = None) -> str:
    """The URL in force: ``url``, else ``DATABASE_URL``, else ``QUANTALLOC_DB``/the default file."""
    env = env or {}
    for candidate in (url, env.get("DATABASE_URL")):
        if candidate and candidate.strip():
            return candidate.strip()
    path = default_db_path(env)
    if "://" in str(env.get("QUANTALLOC_DB", "")):
        return str(env["QUANTALLOC_DB"]).strip()
    return f"sqlite:///{path}"


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***`` (safe to print or log)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return url.replace(parts.netloc, f"{user}@{netloc[-1]}", 1)


def resolve(url: str | None = None, env: Mapping[str, str] | None = None) -> StoreTarget:
    """Parse the store URL in force into a StoreTarget; ConfigError names what is wrong."""
    env = env or {}
    text = select_url(url, env)
    if text == MEMORY:
        text = "sqlite://"
    if "://" not in text:  # a bare file path
        return _sqlite(Path(text).expanduser())
    scheme = text.split("://", 1)[0].lower()
    if scheme == "supabase":
        return _supabase(text, env)
    try:
        parsed = make_url(text)
    except ArgumentError:
        raise ConfigError(f"cannot parse store URL {redact(text)!r}; {_USAGE}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if not database or database == MEMORY:
            return StoreTarget("sqlite", make_url("sqlite://"), "sqlite:// (in memory)")
        return _sqlite(Path(database).expanduser())
    if backend in ("postgresql", "postgres"):
        pg = parsed.set(drivername="postgresql+psycopg")
        if not pg.host and not pg.query.get("host"):
            raise ConfigError(f"store URL {redact(text)!r} names no host; {_USAGE}")
        display = pg.set(drivername="postgresql").render_as_string(hide_password=True)
        return StoreTarget("postgresql", pg, display, secret=pg.password)
    raise ConfigError(f"unsupported store URL scheme {scheme!r}; {_USAGE}")


def _sqlite(path: Path) -> StoreTarget:
    resolved = path.resolve()
    return StoreTarget(
        "sqlite", URL.create("sqlite", database=str(resolved)), f"sqlite:///{resolved}"
    )


def _supabase(text: str, env: Mapping[str, str]) -> StoreTarget:
    rest = text.split("://", 1)[1].strip("/")
    api_url = (
        f"https://{rest}" if rest else next((env[v] for v in SUPABASE_URL_VARS if env.get(v)), "")
    )
    key = next((env[v] for v in SUPABASE_KEY_VARS if env.get(v)), "")
    if not api_url or not key:
        missing = [] if api_url else ["SUPABASE_URL (or NEXT_PUBLIC_SUPABASE_URL)"]
        missing += [] if key else ["SUPABASE_KEY (or SUPABASE_ANON_KEY)"]
        raise ConfigError(
            f"supabase:// needs {' and '.join(missing)}; set them in the environment or a .env "
            "file (Project Settings > API in the Supabase dashboard)"
        )
    host = urlsplit(api_url).hostname or api_url
    return StoreTarget(
        "supabase",
        None,
        f"supabase://{host}",
        secret=key,
        supabase_url=api_url.rstrip("/"),
        supabase_key=key,
    )


def optuna_storage_url(url: str | None = None, env: Mapping[str, str] | None = None) -> str | None:
    """The same store as an optuna storage URL (None: optuna's in-memory storage).

    Optuna takes SQLAlchemy URLs, so SQLite and PostgreSQL stores map directly (the password is
    included: hand the result to optuna, never print it); a supabase:// store has no SQL access.
    """
    target = resolve(url, env)
    if target.backend == "supabase":
        raise ConfigError(
            "optuna studies need SQL access, which supabase:// does not give; use the project's "
            "direct connection string (postgresql://postgres:PASSWORD@db.PROJECT.supabase.co:5432/"
            "postgres) as --store or DATABASE_URL"
        )
    if target.in_memory:
        return None
    assert target.sqlalchemy_url is not None
    return target.sqlalchemy_url.render_as_string(hide_password=False)
