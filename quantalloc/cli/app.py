"""The ``quantalloc`` command: a thin typer app whose subcommands live one per module."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from quantalloc.cli import backtest, data, db, regime, runs, serve, solve, trade, tune
from quantalloc.cli.console import (
    EXIT_BAD_INPUT,
    CommandApp,
    click_exceptions,
    describe_os_error,
    err_console,
    print_error,
)
from quantalloc.errors import QuantallocError

app = CommandApp(
    name="quantalloc",
    help="Optimization-first allocation of options and trading strategies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # help text is plain: "[backtest]" in a help line stays as written
)


def _version(value: bool) -> None:
    if value:
        from quantalloc.version import __version__

        typer.echo(f"quantalloc {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show tracebacks and debug logging.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Optimization-first allocation of options and trading strategies."""
    ctx.obj = {"verbose": verbose}
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    _memo(ctx)
    # a driver's own warnings (psycopg's "error ignored in rollback" when a server goes away)
    # would print before the one error line that says what happened and what to do
    logging.getLogger("psycopg").setLevel(logging.DEBUG if verbose else logging.ERROR)


ENV_MEMO = "QUANTALLOC_MEMO"


def _memo(ctx: typer.Context) -> None:
    """Keep computed results (GARCH fits, parsed price files, exchange calendars) under
    ``$QUANTALLOC_CACHE_DIR/memo`` (else the user cache dir), or nowhere with
    ``$QUANTALLOC_MEMO=off``, for this command only."""
    import os
    from pathlib import Path

    from quantalloc.data import memo

    folder = os.environ.get("QUANTALLOC_CACHE_DIR") or None
    switch = os.environ.get(ENV_MEMO, "on").strip().lower()
    if switch not in ("on", "off", "1", "0", "true", "false", "yes", "no", ""):
        raise typer.BadParameter(f"{ENV_MEMO}={switch!r} is not a switch; set it to on or off")
    previous = memo.configure(
        Path(folder) / "memo" if folder else None,
        enabled=switch not in ("off", "0", "false", "no"),
    )
    ctx.call_on_close(lambda: memo.configure(previous.directory, enabled=previous.enabled))


for _module in (solve, regime, backtest, tune, data, db, runs, serve, trade):
    _module.register(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: every bad input becomes one line on stderr and exit code 2."""
    args = sys.argv[1:] if argv is None else argv
    verbose = "--verbose" in args or "-v" in args
    try:
        code = app(args=args, prog_name="quantalloc", standalone_mode=False)
    except click_exceptions.UsageError as exc:  # bad option or argument, caught before the command
        if verbose:
            raise
        if not exc.format_message():  # no arguments at all: the help was shown
            sys.exit(EXIT_BAD_INPUT)
        hint = f"see '{exc.ctx.command_path} --help'" if exc.ctx else "see 'quantalloc --help'"
        print_error(f"{exc.format_message()} ({hint})")
        sys.exit(EXIT_BAD_INPUT)
    except click_exceptions.ClickException as exc:
        if verbose:
            raise
        print_error(exc.format_message())
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except QuantallocError as exc:  # raised outside a command body (e.g. while registering)
        if verbose:
            raise
        print_error(str(exc))
        sys.exit(EXIT_BAD_INPUT)
    except OSError as exc:  # a file the user named, outside a command body
        if verbose:
            raise
        print_error(describe_os_error(exc))
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
