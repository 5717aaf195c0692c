"""The console-script entry point: usage errors and library errors are one line with exit code 2."""

from __future__ import annotations

import pytest

from quantalloc.cli.app import main


def _exit_code_and_stderr(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as stop:
        main(args)
    return int(stop.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["data", "show", "--no-such-flag"], "No such option: --no-such-flag"),
        (["data", "show", "SPY", "--rows", "0"], "--rows"),
        (["data", "show", "SPY", "--data", "nowhere:x"], "unknown data source"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _exit_code_and_stderr(args, capsys)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert expected in lines[0] and "Traceback" not in err


def test_verbose_lets_the_traceback_through() -> None:
    from quantalloc.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown data source"):
        main(["--verbose", "data", "show", "SPY", "--data", "nowhere:x"])


def test_help_exits_zero_and_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code in (0, None)
    out = capsys.readouterr().out
    assert all(name in out for name in ("solve", "regime", "backtest", "tune", "db", "runs"))


def test_every_command_goes_through_the_error_handler() -> None:
    """Each registered command's callback is the ``handles_errors`` wrapper of its function
    (CommandApp applies it at registration, so a new command cannot leave it out)."""
    from typing import Any

    import typer.main

    from quantalloc.cli.app import app

    def commands(group: Any, path: str = "") -> list[tuple[str, Any]]:
        out = []
        for name, cmd in group.commands.items():
            out += (
                commands(cmd, f"{path}{name} ")
                if hasattr(cmd, "commands")
                else [(path + name, cmd)]
            )
        return out

    def wrapped(func: Any) -> bool:
        while func is not None:
            if func.__code__.co_qualname == "handles_errors.<locals>.wrapper":
                return True
            func = getattr(func, "__wrapped__", None)
        return False

    found = commands(typer.main.get_group(app))
    assert {"solve", "db schema", "runs show", "data fetch"} <= {name for name, _ in found}
    unwrapped = [name for name, cmd in found if not wrapped(cmd.callback)]
    assert not unwrapped, f"commands outside handles_errors: {unwrapped}"
