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


def test_help_lists_the_tables_columns_and_the_limit_names() -> None:
    from quantalloc.cli.options import TABLE_COLUMNS
    from quantalloc.data.tables import TABLE_SPECS
    from quantalloc.pipeline.requests import LIMIT_UNITS

    for name, spec in TABLE_SPECS.items():
        required, _, optional = TABLE_COLUMNS[name].partition("; optional ")
        assert required.split(", ") == list(spec.required), name
        assert (optional.split(", ") if optional else []) == list(spec.optional), name
    flat = " ".join(runner.invoke(app, ["solve", "--help"], terminal_width=200).output.split())
    assert all(name in flat for name in LIMIT_UNITS) and "stock_data (symbol, industry" in flat
    imp = " ".join(runner.invoke(app, ["db", "import", "--help"]).output.split())
    assert "stock_data: symbol, industry; optional sector, fno_stock, lot_size" in imp
    # plain help: brackets stay, flags carry no type
    bt = runner.invoke(app, ["backtest", "--help"], terminal_width=200).output
    assert "Load [backtest] strategy and [backtest.params]" in " ".join(bt.split())
    assert "<bool>" not in bt and "<bool>" not in runner.invoke(app, ["solve", "--help"]).output
