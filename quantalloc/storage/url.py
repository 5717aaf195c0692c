"""One storage URL scheme for results and optuna studies (as optuna has), and one ``redact``.

=====================================  =========================  ============================
URL                                    results store (``resolve``)  studies (``study_url``)
=====================================  =========================  ============================
(none)                                 SQLite file ``<user data   in memory, this process
                                       dir>/quantalloc.db``       only
                                       (``DATABASE_URL``, then
                                       ``QUANTALLOC_DB`` first)
``memory``, ``:memory:``, ``sqlite://``  SQLite in memory          in memory
``sqlite:///PATH``                     SQLite file at PATH        SQLite file (optuna RDB)
``postgresql://...``, ``postgres://``  PostgreSQL (psycopg 3;     PostgreSQL (optuna RDB)
                                       a Supabase direct string)
``supabase://``                        Supabase REST API          (no SQL access: refused)
``journal:PATH``                       (refused)                  optuna journal file
a bare path                            ``.db``/``.sqlite``: SQLite  ``.db``/``.sqlite``: SQLite;
                                       file; else refused         else a journal file
=====================================  =========================  ============================

"No URL" has one meaning per use, stated above; the CLI's ``tune --storage`` defaults to
:func:`default_study_url` (a journal file in the user data folder) and says so in its help.
The library reads no environment variables itself: callers pass the mapping (the CLI passes
``os.environ`` plus ``.env``). Every message that shows a URL shows ``redact(url)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from quantalloc.errors import ConfigError

MEMORY = ":memory:"
MEMORY_NAMES = ("memory", MEMORY, "sqlite://")
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
"""A bare path names a SQLite file only with one of these endings; anything else is refused."""
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

    def scrub(self, text: str) -> str:
        """``text`` (e.g. a driver's error message) with the password or key replaced by ``***``."""
        return text.replace(self.secret, "***") if self.secret else text

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
    """``url`` with any password replaced by ``***`` (safe to print or log).

    The password is what lies between the user name and the last ``@`` of the authority (a
    password may itself hold ``@``, ``:`` or, unencoded, ``/``); ``password=`` query parameters
    are hidden too.
    """
    split = _split_userinfo(url)
    if split is None:
        return url
    scheme, creds, rest = split
    if creds is not None and ":" in creds:
        rest = creds.split(":", 1)[0] + ":***" + rest[len(creds) :]
    return scheme + "://" + re.sub(r"(?i)(password=)[^&;#]*", r"\1***", rest)


def _split_userinfo(url: str) -> tuple[str, str | None, str] | None:
    """``(scheme, userinfo, rest after "://")`` of ``url``; None when it has no ``://``.

    The userinfo ends at the LAST ``@`` of the authority (a password may itself hold ``@``,
    ``:`` or, unencoded, ``/``); it is None when there is no ``@``.
    """
    if "://" not in url:
        return None
    scheme, rest = url.split("://", 1)
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" not in authority and "@" in rest:  # an unencoded "/" inside the password
        authority = rest.rpartition("@")[0] + "@"
    creds, at, _ = authority.rpartition("@")
    return scheme, (creds if at else None), rest


def resolve(url: str | None = None, env: Mapping[str, str] | None = None) -> StoreTarget:
    """Parse the store URL in force into a StoreTarget; ConfigError names what is wrong."""
    env = env or {}
    text = select_url(url, env)
    if text.lower() in MEMORY_NAMES:
        text = "sqlite://"
    if "://" not in text:  # a bare file path: only a SQLite file's name reads as one
        path = Path(text).expanduser()
        if path.suffix.lower() not in SQLITE_SUFFIXES:
            raise ConfigError(
                f"store URL {redact(text)!r} is not a URL; {_USAGE} (a file: sqlite:///{text})"
            )
        return _sqlite(path)
    scheme = text.split("://", 1)[0].lower()
    if scheme == "supabase":
        return _supabase(text, env)
    parsed = _parse(text, _USAGE)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if not database or database == MEMORY:
            return StoreTarget("sqlite", make_url("sqlite://"), "sqlite:// (in memory)")
        return _sqlite(Path(database).expanduser())
    if backend in ("postgresql", "postgres"):
        pg = _postgres(parsed, text, _USAGE)
        display = pg.set(drivername="postgresql").render_as_string(hide_password=True)
        return StoreTarget("postgresql", pg, display, secret=pg.password)
    raise ConfigError(f"unsupported store URL scheme {scheme!r}; {_USAGE}")


def _parse(text: str, usage: str) -> URL:
    try:
        return make_url(_encode_userinfo(text))
    except ArgumentError:
        raise ConfigError(f"cannot parse storage URL {redact(text)!r}; {usage}") from None


def _encode_userinfo(text: str) -> str:
    """``text`` with its user name and password percent-encoded, split at the LAST ``@``.

    A password written with an unencoded ``@`` (or ``/``) would otherwise be read as part of
    the host, shown in messages and connected to.
    """
    split = _split_userinfo(text)
    if split is None:
        return text
    scheme, creds, rest = split
    if creds is None:
        return text
    user, colon, password = creds.partition(":")
    encoded = quote(unquote(user), safe="") + (colon + quote(unquote(password), safe=""))
    return f"{scheme}://{encoded}{rest[len(creds) :]}"


def _postgres(parsed: URL, text: str, usage: str) -> URL:
    """The psycopg 3 form of a PostgreSQL URL; ConfigError when it names no host.

    A ``password=`` query parameter becomes the URL's password, so it is hidden and scrubbed
    like one.
    """
    pg = parsed.set(drivername="postgresql+psycopg")
    if "password" in pg.query:
        given = pg.query["password"]
        pg = pg.difference_update_query(["password"]).set(
            password=given if isinstance(given, str) else given[0]
        )
    if not pg.host and not pg.query.get("host"):
        raise ConfigError(f"storage URL {redact(text)!r} names no host; {usage}")
    return pg


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


# ----------------------------------------------------------------------------- studies

STUDY_FILE_NAME = "optuna-studies.journal"
_STUDY_USAGE = (
    "use memory, sqlite:///PATH, postgresql://USER:PASSWORD@HOST/DB, journal:PATH or a file path"
)


def default_study_url() -> str:
    """``journal:`` URL of the per-user study file (the CLI's default ``--storage``)."""
    from platformdirs import user_data_dir

    return f"journal:{Path(user_data_dir('quantalloc')) / STUDY_FILE_NAME}"


def study_url(url: str | None) -> str:
    """The canonical study storage URL: ``memory``, ``journal:PATH``, ``sqlite:///PATH`` or
    ``postgresql+psycopg://...`` (None: ``memory``); ConfigError names what is wrong.

    A PostgreSQL or SQLite URL names the same database as :func:`resolve` does, so results and
    studies may share one server.
    """
    if url is None or url.strip().lower() in ("", *MEMORY_NAMES):
        return "memory"
    text = url.strip()
    if text.startswith("journal:"):
        return text
    if text.startswith("file:"):
        return "journal:" + text[len("file:") :].removeprefix("//")
    if "://" not in text:  # a bare path
        path = Path(text).expanduser()
        sqlite = path.suffix in (".db", ".sqlite", ".sqlite3")
        return f"sqlite:///{path}" if sqlite else f"journal:{path}"
    scheme = text.split("://", 1)[0].lower()
    if scheme == "supabase":
        raise ConfigError(
            "optuna studies need SQL access, which supabase:// does not give; use the project's "
            "direct connection string (postgresql://postgres:PASSWORD@db.PROJECT.supabase.co:5432/"
            "postgres)"
        )
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        pg = _postgres(_parse(text, _STUDY_USAGE), text, _STUDY_USAGE)
        return pg.render_as_string(hide_password=False)
    if scheme == "sqlite" and text.startswith("sqlite:///"):
        return text
    raise ConfigError(
        f"unsupported study storage scheme {scheme!r} in {redact(text)!r}; {_STUDY_USAGE}"
    )
