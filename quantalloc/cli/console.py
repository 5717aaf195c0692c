"""Shared consoles and the one-line error exit every command uses."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

try:  # typer >= 0.2x ships its own copy of click; its context is the one commands run in
    from typer._click import exceptions as click_exceptions
    from typer._click.globals import get_current_context
except ImportError:  # pragma: no cover - older typer on the real click
    from click import exceptions as click_exceptions  # type: ignore[no-redef]  # noqa: F401
    from click.globals import get_current_context  # type: ignore[no-redef]

from quantalloc.errors import QuantallocError

if TYPE_CHECKING:
    from rich.progress import Progress

    from quantalloc.storage import Store

console = Console()
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_BAD_INPUT = 2

P = ParamSpec("P")
R = TypeVar("R")


def print_error(message: str) -> None:
    """Print ``message`` as one ``error:`` line on stderr; its text is never read as markup."""
    one_line = " ".join(str(message).split())
    err_console.print(f"[bold red]error:[/] {escape(one_line)}", markup=True, highlight=False)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print ``message`` as one line on stderr and exit with ``code`` (2: bad input)."""
    print_error(message)
    raise typer.Exit(code)


def is_verbose() -> bool:
    """True when ``--verbose`` was given to the root command or the running command."""
    ctx = get_current_context(silent=True)
    while ctx is not None:
        if ctx.params.get("verbose") or (isinstance(ctx.obj, dict) and ctx.obj.get("verbose")):
            return True
        ctx = ctx.parent
    return False


def flag_message(exc: QuantallocError) -> str:
    """The error's message with its parameter names written as the running command's flags."""
    from quantalloc.cli.flags import flags_for, with_flags

    ctx = get_current_context(silent=True)
    while ctx is not None and ctx.parent is not None and ctx.parent.parent is not None:
        ctx = ctx.parent  # up to the top-level command (`data show` -> `data`)
    command = ctx.info_name if ctx is not None and ctx.parent is not None else None
    return with_flags(str(exc), exc.params, flags_for(command))


def handles_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a QuantallocError raised by a command into one stderr line and exit code 2.

    With ``--verbose`` the exception propagates, so the traceback shows.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except QuantallocError as exc:
            if is_verbose():
                raise
            fail(flag_message(exc))
        except OSError as exc:  # a path the user named cannot be read or written
            if is_verbose():
                raise
            fail(describe_os_error(exc))

    return wrapper


class CommandApp(typer.Typer):
    """A typer app whose every command goes through :func:`handles_errors` as it is registered,
    so no command can print a traceback for bad input by forgetting it."""

    def command(  # type: ignore[override]  # typer's keywords pass through unchanged
        self, *args: Any, **kwargs: Any
    ) -> Callable[[Callable[P, R]], Callable[P, R]]:
        register = super().command(*args, **kwargs)

        def decorator(func: Callable[P, R]) -> Callable[P, R]:
            register(handles_errors(func))
            return func

        return decorator


def describe_os_error(exc: OSError) -> str:
    """One line for an operating-system error on a file: which file, why, what to do."""
    reason = exc.strerror or type(exc).__name__
    where = f" {exc.filename}" if exc.filename else ""
    return f"cannot use{where}: {reason}; check the path, its folder and their permissions"


def store_env() -> dict[str, str]:
    """The process environment over the values of the nearest ``.env`` file (if any)."""
    from dotenv import dotenv_values, find_dotenv

    found = find_dotenv(usecwd=True)
    values = {k: v for k, v in dotenv_values(found).items() if v is not None} if found else {}
    values.update(os.environ)
    return values


def open_cli_store(store: str | None) -> Store:
    """Open the store selected by ``--store`` / ``DATABASE_URL`` / ``.env`` for a command."""
    from quantalloc.errors import ConfigError
    from quantalloc.storage import open_store, redact

    env = store_env()
    try:
        return open_store(store, env=env)
    except ConfigError as exc:
        given = env.get("DATABASE_URL", "").strip()
        if store is None and given:  # the URL came from the environment: name the variable
            raise ConfigError(f"DATABASE_URL={redact(given)!r}: {exc}") from exc
        raise


def synthetic_banner(source: Any) -> None:
    """Warn, visibly, that the data shown is synthetic (the demo source)."""
    if getattr(source, "synthetic", False):
        err_console.print(
            "[bold yellow on black] SYNTHETIC DATA [/] the demo market is generated, not real; "
            "pass --data yahoo or --data csv:DIR for real prices",
            markup=True,
        )


def progress_bar(unit: str = "") -> Progress:
    """A transient progress bar on stderr (description, bar, ``done/total unit``, time), silent
    when stderr is not a terminal; use it as a context manager."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    counts = "{task.completed}/{task.total}" + (f" {unit}" if unit else "")
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn(counts),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
