"""`quantalloc data ...` through the CLI runner: output, the synthetic banner, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from quantalloc.cli.app import app
from quantalloc.data import yahoo

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No configured source, an empty Yahoo cache, and Yahoo unreachable (as on this machine)."""
    monkeypatch.delenv("QUANTALLOC_DATA", raising=False)
    monkeypatch.setenv("QUANTALLOC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(yahoo, "yahoo_reachable", lambda *a, **k: False)


def one_line_error(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return lines[0]


def test_show_demo_with_banner() -> None:
    result = runner.invoke(app, ["data", "show", "SYNBANK1", "--data", "demo", "--rows", "2"])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC DATA" in result.stderr
    assert "SYNBANK1 from demo:in: 2609 rows" in result.stdout
    assert "2016-01-01" in result.stdout and "2025-12-31" in result.stdout


def test_auto_offline_falls_back_to_demo_with_banner() -> None:
    result = runner.invoke(app, ["data", "show", "SPY", "--market", "us"])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC DATA" in result.stderr
    assert "from demo:us" in result.stdout


def test_configured_source_from_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "prices"
    folder.mkdir()
    (folder / "ABC.csv").write_text("Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,1,1.5,3\n")
    monkeypatch.setenv("QUANTALLOC_DATA", f"csv:{folder}")
    result = runner.invoke(app, ["data", "symbols"])
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == ["ABC"]
    assert "SYNTHETIC" not in result.stderr


def test_symbols_of_demo() -> None:
    result = runner.invoke(app, ["data", "symbols", "--data", "demo", "--market", "us"])
    assert result.exit_code == 0
    names = result.stdout.split()
    assert len(names) == 62 and "SPY" in names and "^VIX" in names


def test_symbols_of_empty_yahoo_cache() -> None:
    result = runner.invoke(app, ["data", "symbols", "--data", "yahoo"])
    assert result.exit_code == 0
    assert "none is cached yet" in result.stdout


def test_universe_of_demo() -> None:
    result = runner.invoke(app, ["data", "universe", "--data", "demo"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "stock_data from demo:in: 60 symbols" in result.stdout
    assert "SYNBANK1" in result.stdout and "Large" in result.stdout


def test_universe_from_table(tmp_path: Path) -> None:
    table = tmp_path / "stocks.csv"
    table.write_text(
        "symbol,industry,sector,fno_stock,lot_size,market_cap_category\n"
        "AAA,Banks,Financials,true,500,Large\n"
    )
    result = runner.invoke(
        app, ["data", "universe", "--table", f"stock_data={table}"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "1 symbols" in result.stdout and "AAA" in result.stdout


def test_max_ffill_option(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "G.csv").write_text(
        "Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,1,1.5,3\n2024-01-03,,,,,\n"
        "2024-01-04,1,2,1,1.5,3\n"
    )
    line = one_line_error(["data", "show", "G", "--data", f"csv:{folder}"])
    assert "blank fields" in line and "--max-ffill" in line
    result = runner.invoke(
        app, ["data", "show", "G", "--data", f"csv:{folder}", "--max-ffill", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "3 rows" in " ".join(result.stdout.split())  # rich may wrap a long path


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["data", "show", "X", "--data", "bogus"], "unknown data source 'bogus'"),
        (["data", "show", "X", "--data", "demo", "--market", "uk"], "unknown market 'uk'"),
        (["data", "show", "NOPE", "--data", "demo"], "NOPE: not in the demo market"),
        (["data", "show", "SYNBANK1", "--data", "demo", "--start", "soon"], "is not a date"),
        (["data", "show", "SYNBANK1", "--data", "demo", "--start", "2031-01-01"], "no rows"),
        (["data", "show", "SPY", "--data", "csv:/no/such/dir"], "does not exist"),
        (["data", "symbols", "--data", "nope"], "unknown data source"),
        (["data", "universe", "--data", "yahoo"], "has no universe table"),
        (["data", "universe", "--table", "stock_data=/no/file.csv"], "not found"),
        (["data", "universe", "--table", "stock_data"], "NAME=FILE.csv"),
    ],
)
def test_bad_input_gives_one_line_and_exit_2(args: list[str], expected: str) -> None:
    assert expected in one_line_error(args)


def test_yahoo_offline_error_suggests_alternatives() -> None:
    line = one_line_error(["data", "show", "SPY", "--data", "yahoo", "--market", "us"])
    assert "unreachable" in line and "--data demo" in line and "--data csv:DIR" in line


def test_verbose_shows_the_exception() -> None:
    result = runner.invoke(app, ["--verbose", "data", "show", "X", "--data", "bogus"])
    assert result.exit_code != 0
    assert result.exception is not None and "unknown data source" in str(result.exception)


def test_real_folder_through_cli(shared_data: Path) -> None:
    result = runner.invoke(
        app, ["data", "show", "^INDIAVIX", "--data", f"csv:{shared_data / 'in'}", "--rows", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "2016-01-01" in result.stdout


def test_yahoo_warm_cache_serves_offline_through_cli(tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {"open": [1.0, 1.1], "high": [2.0, 2.0], "low": [1.0, 1.0], "close": [1.5, 1.6]},
        index=pd.DatetimeIndex(["2024-01-02", "2024-01-03"], name="date"),
    ).assign(volume=0.0)
    yahoo._write_cache(
        tmp_path / "cache" / "SPY.parquet", frame, symbol="SPY", yahoo_symbol="SPY", market="us"
    )
    for data in ("yahoo", "auto"):  # auto picks yahoo because its cache is warm
        result = runner.invoke(app, ["data", "show", "SPY", "--market", "us", "--data", data])
        assert result.exit_code == 0, result.output
        assert "SPY from yahoo: 2 rows" in result.stdout
        assert "SYNTHETIC" not in result.stderr
    symbols = runner.invoke(app, ["data", "symbols", "--market", "us", "--data", "yahoo"])
    assert symbols.stdout.split() == ["SPY"]
