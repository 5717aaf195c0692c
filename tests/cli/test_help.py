"""Every command's --help works through the CLI runner."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from quantalloc.cli.app import app

runner = CliRunner()


def _commands() -> list[list[str]]:
    import typer.main

    group = typer.main.get_command(app)
    paths: list[list[str]] = [[]]

    def walk(cmd: object, prefix: list[str]) -> None:
        for name, sub in getattr(cmd, "commands", {}).items():
            paths.append([*prefix, name])
            walk(sub, [*prefix, name])

    walk(group, [])
    return paths


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "root")
def test_help_works(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
