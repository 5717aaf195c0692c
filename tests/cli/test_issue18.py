"""Issue 18, item by item: each reproduction from the issue is the test's input.

The bad values that only need exit code 2 and one line are in test_bad_input_suite.py; here are
the items that need more than that (what was written, what a run records, what a report says).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from quantalloc.cli.app import app, main
from quantalloc.errors import ConfigError

runner = CliRunner()


def _main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stop:
        main(args)
    out, err = capsys.readouterr()
    return int(stop.value.code or 0), out, err


# --- one rule for output folders -------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["solve", "--output", "{missing}/run.json"],
        ["backtest", "momentum", "--plot", "{missing}/p.png"],
        ["backtest", "momentum", "--output", "{missing}/b.json"],
        ["tune", "momentum", "--output", "{missing}/t.json"],
        ["tune", "momentum", "--export", "{missing}/m.toml"],
        ["tune", "momentum", "--storage", "sqlite:///{missing}/s.db"],
    ],
    ids=lambda a: " ".join(a[:3]),
)
def test_six_commands_refuse_a_missing_folder_and_create_none(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nonexistent" / "dir"
    code, _, err = _main([a.replace("{missing}", str(missing)) for a in args], capsys)
    assert code == 2 and "does not exist" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "nonexistent").exists()


def test_quantalloc_db_in_a_missing_folder_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QUANTALLOC_DB", str(tmp_path / "nope" / "q.db"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    for args in (["db", "init"], ["db", "status"], ["runs", "list"]):
        code, _, err = _main(args, capsys)
        assert code == 2 and "folder" in err and "does not exist" in err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "nope").exists()


def test_written_files_follow_the_umask(tmp_path: Path) -> None:
    from quantalloc.atomic import write_atomic

    old = os.umask(0o022)
    try:
        path = write_atomic(tmp_path / "out.json", "{}")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644  # mkstemp alone would leave 0600


# --- capital, limits, levels -----------------------------------------------------------------


def test_greedy_rounding_ends_when_lots_are_tiny() -> None:
    # capital 1e30 makes one lot ~1e-26 of it: adding a lot no longer changes the float sum,
    # and the greedy loop went on for ever (allocation/lots.py:_greedy)
    from quantalloc.allocation.lots import _greedy

    target = np.array([0.1, 0.2, 0.3])
    unit = np.array([1e-26, 3e-26, 7e-27])
    a = np.ones((1, 3))
    started = time.perf_counter()
    lots = _greedy(target, unit, a, np.array([0.7]))
    assert time.perf_counter() - started < 30
    assert np.all(lots >= 0) and (a @ (unit * lots))[0] <= 0.7 + 1e-9


def test_library_checks_name_their_parameters() -> None:
    from quantalloc.pipeline.requests import check_levels, check_limits

    with pytest.raises(ConfigError, match=r"^`capital` must be a positive amount up to 1e\+13"):
        check_levels(capital=1e30, vix=None, n_scenarios=None)
    with pytest.raises(ConfigError, match=r"^`vix` must be"):
        check_levels(capital=None, vix=1e6, n_scenarios=None)
    with pytest.raises(ConfigError, match=r"^`n_scenarios` must be in \[50, "):
        check_levels(capital=None, vix=None, n_scenarios=20_000_000)
    with pytest.raises(ConfigError, match=r"max_symbol=-0\.1 is out of range"):
        check_limits({"max_symbol": -0.1})
    with pytest.raises(ConfigError, match="max_cvar") as info:
        check_limits({"max_bogus": 0.2})
    assert "max_abs_vega" in str(info.value)  # every name listed, none cut off
    assert check_limits({"max_industry[IT]": 0.35, "max_abs_vega": 5e4}) == {
        "max_industry[IT]": 0.35,
        "max_abs_vega": 5e4,
    }


def test_verbose_shows_the_traceback_of_a_door_check(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match="reckless"):
        main(["--verbose", "solve", "--risk", "reckless"])


def test_configured_source_is_named_by_its_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QUANTALLOC_DATA", "bogus")
    code, _, err = _main(["regime"], capsys)
    assert code == 2 and "QUANTALLOC_DATA='bogus'" in err and "unset QUANTALLOC_DATA" in err


# --- user values are text, never markup ------------------------------------------------------


def test_a_markup_cell_in_a_table_is_shown_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ind.csv"
    path.write_text("industry,position_type,weight_percentage\nBanks,LONG [/],10\n")
    code, _, err = _main(["solve", "--table", f"industry_allocations_current={path}"], capsys)
    assert code == 2 and "LONG [/]" in err and "Traceback" not in err


def test_stored_markup_never_breaks_or_renders_in_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from quantalloc.storage import open_store
    from tests.storage.samples import sample_document

    url = f"sqlite:///{tmp_path / 'q.db'}"
    store = open_store(url)
    store.init()
    doc = sample_document()
    doc["model"] = "x[/]"
    doc["allocations"][0]["symbol"] = "[link=https://example.invalid]SAFE[/link]"
    doc["market"]["synthetic"] = True  # a demo-market run: marked in the list and the show
    assert store.save_run(doc)
    store.close()
    code, out, err = _main(["runs", "list", "--store", url], capsys)
    assert code == 0 and "x[/]" in out and "(synthetic)" in out, err
    code, out, err = _main(["runs", "show", "latest", "--store", url], capsys)
    assert code == 0 and "[link=https://example.invalid]SAFE[/link]" in out, err
    assert "(SYNTHETIC demo data)" in out
    code, _, err = _main(["runs", "show", "[/]", "--store", url], capsys)
    assert code == 2 and "no run '[/]'" in err


# --- tune: nothing stored from a bad input, the window, the help ------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["momentum", "--start", "1990-01-01", "--end", "1995-01-01"], "no rows"),
        (["multi", "--start", "2010-01-01", "--end", "2017-12-29"], "5-minute bars"),
        (["momentum", "--capital", "0"], "--capital must be a positive"),
    ],
    ids=["window before the data", "multi on daily data", "capital 0"],
)
def test_tune_stops_before_the_first_trial_and_stores_nothing(
    args: list[str], words: str, shared_data: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "s.journal"
    result = runner.invoke(
        app, ["tune", *args, "--data", f"csv:{shared_data / 'us'}", "--storage",
              f"journal:{journal}"],
    )  # fmt: skip
    assert result.exit_code == 2 and words in result.output, result.output
    assert "Traceback" not in result.output and "run more trials" not in result.output
    assert not journal.exists()  # no study, so no failed trial, was stored


def test_tune_help_names_what_is_required_and_the_defaults() -> None:
    text = " ".join(runner.invoke(app, ["tune", "--help"], terminal_width=200).output.split())
    assert "Only STRATEGY is required" in text and "the data's whole span" in text
    assert "(default: the data's first)" in text and "shipped models are never replaced" in text


def test_tune_reports_trials_still_running() -> None:
    import optuna

    from quantalloc.tuning.study import fail_stale_trials, summarize

    study = optuna.create_study()
    dist = {"x": optuna.distributions.FloatDistribution(0, 1)}
    for x in (0.2, 0.2, 0.7):  # two trials with the same parameters: one distinct set
        study.add_trial(optuna.trial.create_trial(params={"x": x}, distributions=dist, value=x))
    study.ask()  # a trial a killed worker would leave RUNNING
    report = summarize(study)
    assert report.n_running == 1 and report.n_distinct == 2 and report.n_complete == 3
    assert fail_stale_trials(study) == 1  # in memory: no heartbeat, so it stays, and is said


# --- backtest: what was used, metrics, plots --------------------------------------------------


def test_backtest_names_its_data_and_parameters(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    result = runner.invoke(
        app, ["backtest", "momentum", "--data", f"csv:{shared_data / 'us'}", "--start",
              "2016-01-01", "--end", "2017-12-29", "--output", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"data csv:{shared_data / 'us'}" in result.output and "sma_days=252" in result.output
    doc = json.loads(out.read_text())
    assert doc["data"] == f"csv:{shared_data / 'us'}" and doc["synthetic"] is False


def test_backtest_on_demo_data_is_marked_synthetic(tmp_path: Path) -> None:
    out = tmp_path / "w.json"
    result = runner.invoke(
        app, ["backtest", "wheel", "--data", "demo", "--start", "2024-01-01", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "demo:us  (synthetic)" in result.output
    assert json.loads(out.read_text())["synthetic"] is True


def test_metrics_are_those_of_the_equity_curves_own_returns(shared_data: Path) -> None:
    # empyrical on equity.pct_change(): the reference the issue measured (-12.80% vs -12.73%)
    import empyrical

    from quantalloc.backtest import run_strategy
    from quantalloc.data.csv_provider import CsvProvider

    provider = CsvProvider(shared_data / "us_intraday" / "5min")
    result = run_strategy("orb", provider, None, None, 100_000, {"min_atr_pct": 0.04})
    assert result.equity.iloc[0] == result.capital  # the first close is the starting point
    own = result.equity.pct_change().dropna()
    assert result.metrics["cagr"] == pytest.approx(empyrical.cagr(own), rel=1e-9)
    assert result.metrics["sharpe"] == pytest.approx(empyrical.sharpe_ratio(own), rel=1e-9)
    total = result.equity.iloc[-1] / result.capital - 1
    assert result.metrics["total_return"] == pytest.approx(total, rel=1e-12)


def test_plot_title_carries_data_and_parameters_and_money_has_separators(
    shared_data: Path,
) -> None:
    from dataclasses import replace

    import matplotlib.pyplot as plt

    from quantalloc.backtest import run_strategy
    from quantalloc.backtest.plot import figure
    from quantalloc.data.csv_provider import CsvProvider

    result = run_strategy(
        "momentum", CsvProvider(shared_data / "us"), "2016-01-01", "2017-12-29", 2_000_000
    )
    result = replace(result, data_source="csv:us")
    fig = figure(result)
    try:
        ax = fig.axes[0]
        assert "data csv:us" in ax.get_title() and "sma_days=252" in ax.get_title()
        assert ax.yaxis.get_major_formatter()(2_500_000, 0) == "2,500,000"
        assert ax.get_ylabel() == "equity (USD)"
    finally:
        plt.close(fig)


# --- what a solve read and why it allocated nothing -------------------------------------------


def test_unreadable_symbols_are_noted_and_kept_with_the_run(
    shared_data: Path, tmp_path: Path
) -> None:
    # the 51 US stocks, with INTC's file emptied (0 bytes) and CSCO's holding one-minute bars
    import quantalloc

    root = tmp_path / "us"
    shutil.copytree(shared_data / "us" / "daily", root / "daily")
    (root / "etf").mkdir()
    for name in ("SPY.csv", "_VIX.csv"):
        shutil.copy(shared_data / "us" / "etf" / name, root / "etf" / name)
    (root / "daily" / "INTC.csv").write_bytes(b"")
    minutes = pd.read_csv(shared_data / "us_intraday" / "1min" / "SPY.csv")
    stamps = pd.to_datetime(minutes["datetime"])  # real 1-minute bars, moved into 2017
    minutes["datetime"] = stamps - (stamps.iloc[-1].normalize() - pd.Timestamp("2017-12-29"))
    minutes.to_csv(root / "daily" / "CSCO.csv", index=False)
    c = pd.read_csv(shared_data / "us" / "constituents.csv")
    sectors = sorted(c.sector.unique())
    weights = [12.0 if s == "Information Technology" else 8.0 for s in sectors]
    tables = {
        "stock_data": pd.DataFrame(
            {"symbol": c.symbol, "industry": c.sector, "fno_stock": True, "lot_size": 100}
        ),
        "industry_allocations_current": pd.DataFrame(
            {"industry": sectors, "position_type": "NEUTRAL", "weight_percentage": weights}
        ),
    }
    result = quantalloc.solve(
        risk="moderate", market="us", data=f"csv:{root}", tables=tables, n_scenarios=200
    )
    skipped = result.to_document()["market"]["skipped_symbols"]
    assert set(skipped) == {"INTC", "CSCO"}
    assert "intraday bars" in skipped["CSCO"] and "serves" in skipped["INTC"]
    assert any("skipped: " in n and "INTC" in n and "CSCO" in n for n in result.notes)


def test_a_symbol_given_nothing_says_why_for_each_candidate() -> None:
    import quantalloc
    from quantalloc.pipeline.verdicts import NO_GROWTH

    # SYNBANK2: at the GARCH proxy with fees and measured spreads (issue 13) SYNBANK1's iron
    # condor now earns a weight; SYNBANK2's candidates still do not
    result = quantalloc.solve(risk="conservative", data="demo", symbol="SYNBANK2", n_scenarios=200)
    assert len(result.allocations) == 0
    verdict = result.notes[-1]
    assert verdict.startswith("SYNBANK2: nothing allocated; ") and "candidates tried" in verdict
    assert "iron_condor" in verdict and (NO_GROWTH in verdict or "probability" in verdict)


def test_binding_table_shows_target_band_and_values_before_and_after_lots() -> None:
    # issue 18: max_symbol[X] was listed binding at 0.0925 against 0.1000 (after rounding), and
    # band edges as "target" limits
    from quantalloc.cli.render import constraint_cells

    cap = {"limit": 0.1, "value": 0.0925, "lower": None, "upper": 0.1, "before_lots": 0.1}
    assert constraint_cells(cap) == ("-", "<= 0.1000", "0.1000", "0.0925")
    band = {"limit": 0.06, "value": 0.0635, "lower": 0.06, "upper": 0.26, "before_lots": 0.06}
    assert constraint_cells(band) == ("0.1600", "0.0600 .. 0.2600", "0.0600", "0.0635")


def test_intraday_shading_is_to_the_bar(shared_data: Path) -> None:
    # orb holds positions for minutes: the shading follows each trade's entry and exit time,
    # not the whole day the daily in_position flag marks
    from quantalloc.backtest import run_strategy
    from quantalloc.backtest.plot import position_spans
    from quantalloc.data.csv_provider import CsvProvider

    result = run_strategy(
        "orb", CsvProvider(shared_data / "us_intraday" / "5min"), None, None, 100_000
    )
    spans = position_spans(result)
    assert spans and len(spans) <= len(result.trades)
    assert all(a < b for a, b in spans)
    assert all(b - a < pd.Timedelta(hours=7) for a, b in spans)  # within a session
    assert all(spans[k][1] < spans[k + 1][0] for k in range(len(spans) - 1))  # merged, sorted


# --- the store every command uses -------------------------------------------------------------


def test_plain_solve_uses_the_default_store_after_db_import_and_saves_there(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # issue 18: after `db import`, a plain solve still used the demo tables; and a DATABASE_URL
    # in .env was ignored by `solve --update-database`
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    db = tmp_path / "default.db"
    monkeypatch.setenv("QUANTALLOC_DB", str(db))
    c = pd.read_csv(shared_data / "us" / "constituents.csv")
    sectors = sorted(c.sector.unique())
    pd.DataFrame(
        {"symbol": c.symbol, "industry": c.sector, "fno_stock": True, "lot_size": 100}
    ).to_csv(work / "stock_data.csv", index=False)
    pd.DataFrame(
        {"industry": sectors, "position_type": "NEUTRAL", "weight_percentage": 9.0}
    ).to_csv(work / "industries.csv", index=False)
    assert runner.invoke(app, ["db", "init"]).exit_code == 0
    for table, file in (("stock_data", "stock_data.csv"), ("industry_allocations_current",
                                                           "industries.csv")):  # fmt: skip
        assert runner.invoke(app, ["db", "import", table, file]).exit_code == 0
    elsewhere = tmp_path / "env.db"
    (work / ".env").write_text(f"DATABASE_URL=sqlite:///{elsewhere}\n")
    assert runner.invoke(app, ["db", "init"]).exit_code == 0  # .env's store, as db commands do
    for table, file in (("stock_data", "stock_data.csv"), ("industry_allocations_current",
                                                           "industries.csv")):  # fmt: skip
        assert runner.invoke(app, ["db", "import", table, file]).exit_code == 0
    result = runner.invoke(
        app, ["solve", "--market", "us", "--data", f"csv:{shared_data / 'us'}", "--scenarios",
              "200", "--update-database"], terminal_width=200,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    tight = "".join(result.output.split())  # paths wrap at the console's width
    assert f"stock_datafromthestoresqlite:///{elsewhere}" in tight  # .env's DATABASE_URL
    assert "stored run" in flat and str(elsewhere) in tight
    listed = runner.invoke(app, ["runs", "list"])
    assert listed.exit_code == 0 and "positions" in listed.output
    (work / ".env").unlink()  # now the default file: it holds the imported tables too
    result = runner.invoke(
        app, ["solve", "--market", "us", "--data", f"csv:{shared_data / 'us'}", "--scenarios",
              "200"], terminal_width=200,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"stock_datafromthestoresqlite:///{db}" in "".join(result.output.split())


def test_an_unreachable_store_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    # issue 18: `solve --store postgresql://qa:x@127.0.0.1:55499/x --output f.json` exited 0 on
    # the demo tables
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "f.json"
    result = runner.invoke(
        app, ["solve", "--store", f"postgresql://qa:x@127.0.0.1:{port}/x", "--output", str(out)]
    )
    assert result.exit_code == 2 and "cannot reach the PostgreSQL server" in result.output
    assert not out.exists() and ":x@" not in result.output


def test_every_credential_form_is_hidden() -> None:
    from quantalloc.storage.url import redact, resolve, study_url

    for url in (
        "postgresql://qa@127.0.0.1:5432/x?password=s3cret-q",
        "postgresql://qa:s3cret@q@127.0.0.1:5432/x",  # an unencoded @ in the password
        "postgresql://qa:s3cret/q@127.0.0.1:5432/x",  # an unencoded /
    ):
        target = resolve(url)
        assert "s3cret" not in target.display and target.sqlalchemy_url.host == "127.0.0.1"
        assert target.secret is not None and target.secret.startswith("s3cret")
        assert "s3cret" not in redact(url) and "s3cret" not in redact(study_url(url))


def test_garbage_store_url_is_refused_and_creates_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "garbage")
    code, _, err = _main(["db", "status"], capsys)
    assert code == 2 and "DATABASE_URL='garbage'" in err and "is not a URL" in err
    monkeypatch.delenv("DATABASE_URL")
    code, _, err = _main(["db", "status", "--store", "garbage"], capsys)
    assert code == 2 and "is not a URL" in err
    assert not (tmp_path / "garbage").exists()


def test_read_only_places_are_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # /proc is a read-only file system everywhere these tests run (root included)
    monkeypatch.setenv("QUANTALLOC_DB", "/proc/quantalloc-test/q.db")
    code, _, err = _main(["runs", "list"], capsys)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    code, _, err = _main(["solve", "--output", "/proc/run.json"], capsys)
    assert code == 2 and "not writable" in err


def test_the_demo_market_names_a_real_source_for_what_it_lacks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = _main(["backtest", "momentum", "--data", "demo"], capsys)
    assert code == 2 and "SPXL: not in the demo market 'us'" in err
    assert "use --data yahoo or --data csv:DIR" in err


def test_tune_progress_shows_percent_eta_and_the_best_so_far() -> None:
    import optuna
    from rich.progress import TaskProgressColumn, TimeRemainingColumn

    from quantalloc.cli import tune

    study = optuna.create_study(direction="maximize")
    assert tune._best_so_far(study) == ""  # nothing finished yet
    dist = {"x": optuna.distributions.FloatDistribution(0, 1)}
    for x in (0.25, 0.75):
        study.add_trial(optuna.trial.create_trial(params={"x": x}, distributions=dist, value=x))
    assert tune._best_so_far(study) == "best 0.75 (#1)"
    source = Path(tune.__file__).read_text()
    assert TaskProgressColumn.__name__ in source and TimeRemainingColumn.__name__ in source
