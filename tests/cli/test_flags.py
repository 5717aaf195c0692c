"""Library errors speak in parameter names; the CLI shows the flags that set them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from quantalloc.cli.app import app
from quantalloc.cli.flags import FLAGS, flags_for, with_flags
from quantalloc.errors import ConfigError, DataError

runner = CliRunner()


@pytest.mark.parametrize(
    ("message", "params", "command", "shown"),
    [
        ("`capital` must be positive", ("capital",), "solve", "--capital must be positive"),
        ("pass `as_of=2015-01-05` or", ("as_of",), "regime", "pass --as-of 2015-01-05 or"),
        (
            "pass `tables['stock_data']` or `store=URL`",
            ("tables", "store"),
            "solve",
            "pass --table stock_data=FILE.csv or --store URL",
        ),
        (
            "pass `normalize_weights=True`",
            ("normalize_weights",),
            "solve",
            "pass --normalize-weights",
        ),
        (
            "pass `normalize_weights=True`",
            ("normalize_weights",),
            "backtest",
            "pass --param normalize_weights=true",
        ),
        (
            "use `params['vol_data']=csv:DIR`",
            ("params",),
            "backtest",
            "use --param vol_data=csv:DIR",
        ),
        # only the parameters the error lists, only in backticks
        ("`capital` and `vix`", ("capital",), "solve", "--capital and `vix`"),
        ("the capital is short", ("capital",), "solve", "the capital is short"),
    ],
)
def test_with_flags(message: str, params: tuple[str, ...], command: str, shown: str) -> None:
    assert with_flags(message, params, flags_for(command)) == shown


def test_every_param_named_by_a_library_error_has_a_flag() -> None:
    import re

    root = Path(__file__).resolve().parents[2] / "quantalloc"
    named = set()
    for path in root.rglob("*.py"):
        if "cli" in path.parts:
            continue
        for group in re.findall(r"params=\(?([^)\n]+)", path.read_text()):
            named |= set(re.findall(r'"([^"]+)"', group))
    assert named, "no library error names a parameter"
    assert named <= set(FLAGS) | {"params"}, named - set(FLAGS)


def test_library_message_names_the_parameter() -> None:
    from quantalloc.pipeline import solve

    with pytest.raises(ConfigError) as info:
        solve(data="demo", capital=-5)
    assert "`capital`" in str(info.value) and "--capital" not in str(info.value)
    assert info.value.params == ("capital",)


def test_solve_shows_the_flag() -> None:
    result = runner.invoke(app, ["solve", "--data", "demo", "--capital", "-5"])
    assert result.exit_code == 2
    assert "--capital must be a positive amount up to 1e+13, got -5" in result.stderr
    assert "`" not in result.stderr


def test_backtest_allocator_shows_its_param_flag(tmp_path: Path) -> None:
    path = tmp_path / "ind.csv"
    pd.DataFrame(
        {
            "industry": ["A", "B"],
            "sector": ["A", "B"],
            "position_type": "NEUTRAL",
            "weight_percentage": 60.0,  # 120% in all
            "rating": "Neutral",
        }
    ).to_csv(path, index=False)
    result = runner.invoke(
        app, ["backtest", "allocator", "--data", "demo", "-p", f"industry_allocations={path}"]
    )
    assert result.exit_code == 2
    assert "--param normalize_weights=true" in result.stderr
    assert isinstance(DataError("x", params="data").params, tuple)
