"""`quantalloc tune`: bad input gives exit code 2 and one line, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from quantalloc.cli.app import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tune"], "name the strategy"),
        (["tune", "momentum", "--data", "csv:/x"], "data folder /x does not exist"),
        (["tune", "momentum", "--data", "bogus", "--start", "2014-01-01"], "unknown data source"),
        (
            ["tune", "nope", "--data", "csv:/x", "--start", "2014-01-01", "--end", "2016-01-01"],
            "search space",
        ),
        (
            [
                "tune",
                "momentum",
                "--data",
                "csv:/x",
                "--start",
                "2014-01-01",
                "--end",
                "2016-01-01",
                "--storage",
                "mysql://u:pw@h/db",
            ],
            "unsupported study storage",
        ),
        (
            [
                "tune",
                "momentum",
                "--data",
                "csv:/x",
                "--start",
                "2014-01-01",
                "--end",
                "2016-01-01",
                "--workers",
                "0",
            ],
            "--workers",
        ),
        (["tune", "--config", "/nonexistent.toml"], "does not exist"),
        (["tune", "nope"], "no search space for strategy 'nope'"),  # named before the window
    ],
)
def test_bad_input_exits_2_with_one_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_config_with_unknown_key(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[tune]\nstrategy = "momentum"\ntrails = 5\n')
    result = runner.invoke(app, ["tune", "--config", str(cfg)])
    assert result.exit_code == 2 and "trails" in result.output
