"""``quantalloc solve`` through the CLI runner: offline demo, real data, infeasible settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quantalloc.cli.app import app
from quantalloc.config import model_path
from tests.pipeline.test_solve import TARGET_ABOVE_CAP, US_ALLOCATION, check_document, us_tables

runner = CliRunner()


def _write_tables(shared: Path, folder: Path, alloc=None) -> list[str]:  # type: ignore[no-untyped-def]
    tables = us_tables(shared)
    if alloc is not None:
        tables["industry_allocations_current"] = alloc
    args = []
    for name, frame in tables.items():
        path = folder / f"{name}.csv"
        frame.to_csv(path, index=False)
        args += ["--table", f"{name}={path}"]
    return args


def test_demo_offline_writes_the_contract_and_says_synthetic(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    result = runner.invoke(
        app,
        [
            "solve",
            "--risk",
            "moderate",
            "--data",
            "demo",
            "--scenarios",
            "400",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output
    assert "Allocations" in result.output and "Binding constraints" in result.output
    doc = json.loads(out.read_text())
    check_document(doc)
    assert doc["market"]["synthetic"] is True and doc["risk"] == "moderate"


@pytest.mark.slow
def test_no_argument_but_risk_works_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # auto: no configured source, Yahoo unreachable (forced) and no cache -> the demo market
    import quantalloc.data.yahoo as yahoo

    monkeypatch.setattr(yahoo, "yahoo_reachable", lambda *a, **k: False)
    monkeypatch.setenv("QUANTALLOC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("QUANTALLOC_DATA", raising=False)
    result = runner.invoke(app, ["solve", "--risk", "moderate"])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output and "Allocations" in result.output


def test_targets_above_the_industry_cap_solve_with_deviations(
    shared_data: Path, tmp_path: Path
) -> None:
    alloc = TARGET_ABOVE_CAP.copy()
    out = tmp_path / "never.json"
    result = runner.invoke(
        app,
        [
            "solve",
            "--market",
            "us",
            "--data",
            f"csv:{shared_data / 'us'}",
            *_write_tables(shared_data, tmp_path, alloc),
            "--max-industries",
            "3",
            "--scenarios",
            "200",
            "--output",
            str(out),
        ],
    )
    # industry targets are soft shares of the deployed capital: the run solves and the
    # report and the JSON state each industry's deviation from its target
    assert result.exit_code == 0, result.output
    assert "deviation" in result.output and "Traceback" not in result.output
    doc = json.loads(out.read_text())
    assert "deviation" in doc["portfolio"]["by_industry"]["Information Technology"]


def test_zero_vega_limit_with_only_short_vega_candidates_holds_nothing(
    shared_data: Path, tmp_path: Path
) -> None:
    # every industry NEUTRAL and mapped to iron condors / iron butterflies (short vega); on
    # 2017-12-06 the US state is Bullish_Low_VIX, whose preferred strategies add nothing neutral
    text = model_path("industry_first").read_text()
    text = text.replace("abs_vega_per_vol_point = 100000.0", "abs_vega_per_vol_point = 0.0")
    start = text.index("[strategy_map.LONG]")
    end = text.index("[views]")
    text = (
        text[:start]
        + (
            '[strategy_map.NEUTRAL]\nneutral = ["iron_condor", "iron_butterfly"]\n'
            'default = ["iron_condor", "iron_butterfly"]\n\n'
            '[strategy_map.default]\ndefault = ["iron_condor"]\n\n'
        )
        + text[end:]
    )
    model = tmp_path / "short_vega.toml"
    model.write_text(text)
    alloc = US_ALLOCATION.assign(position_type="NEUTRAL", rating="Neutral")
    out = tmp_path / "never.json"
    result = runner.invoke(
        app,
        [
            "solve",
            "--market",
            "us",
            "--model",
            str(model),
            "--data",
            f"csv:{shared_data / 'us'}",
            *_write_tables(shared_data, tmp_path, alloc),
            "--scenarios",
            "200",
            "--output",
            str(out),
        ],
    )
    # soft targets: nothing can be held within a zero vega limit, so nothing is, and every
    # industry is reported a whole target short (never an infeasible error from targets)
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["allocations"] == []
    for row in doc["portfolio"]["by_industry"].values():
        assert row["deviation"] == pytest.approx(-row["target_weight"])


def test_bad_options_exit_2_with_one_line() -> None:
    for args, words in [
        (["solve", "--risk", "reckless"], "risk profile"),
        (["solve", "--dry-run", "--update-database"], "exclude"),
        (["solve", "--model", "nope", "--data", "demo"], "no model named"),
        (["solve", "--data", "demo", "--capital", "-5"], "positive"),
        (["solve", "--data", "demo", "--limit", "max_strategy"], "NAME=NUMBER"),
    ]:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert words in result.output and "Traceback" not in result.output


def test_update_database_stores_the_run(tmp_path: Path) -> None:
    from quantalloc.storage import open_store

    url = f"sqlite:///{tmp_path / 'runs.db'}"
    open_store(url).init()
    out = tmp_path / "run.json"
    args = ["solve", "--data", "demo", "--scenarios", "300", "--update-database"]
    result = runner.invoke(app, [*args, "--store", url, "--output", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    store = open_store(url)
    assert len(store.list_runs()) == 1
    stored = store.get_run(doc["run_id"])
    assert stored["allocations"] == doc["allocations"]


def test_input_tables_come_from_the_store(shared_data: Path, tmp_path: Path) -> None:
    from quantalloc.storage import open_store

    url = f"sqlite:///{tmp_path / 'inputs.db'}"
    store = open_store(url)
    store.init()
    for name, frame in us_tables(shared_data).items():
        store.write_table(name, frame)
    out = tmp_path / "run.json"
    result = runner.invoke(
        app,
        [
            "solve",
            "--market",
            "us",
            "--data",
            f"csv:{shared_data / 'us'}",
            "--store",
            url,
            "--scenarios",
            "200",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "stock_data from the store sqlite:" in " ".join(result.output.split())
    check_document(json.loads(out.read_text()))


def test_update_database_creates_the_default_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from quantalloc.storage import open_store

    db = tmp_path / "default.db"
    monkeypatch.setenv("QUANTALLOC_DB", str(db))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    result = runner.invoke(
        app, ["solve", "--data", "demo", "--scenarios", "300", "--update-database"]
    )
    assert result.exit_code == 0, result.output
    assert len(open_store(f"sqlite:///{db}").list_runs()) == 1


def test_memo_follows_the_cache_dir_and_turns_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from collections import OrderedDict

    from quantalloc.data import memo
    from quantalloc.options import forecast

    args = ["solve", "--risk", "moderate", "--data", "demo", "--scenarios", "100"]
    monkeypatch.setattr(forecast, "_FITS", OrderedDict())  # no fit remembered in the process
    monkeypatch.setenv("QUANTALLOC_CACHE_DIR", str(tmp_path / "on"))
    result = runner.invoke(app, [*args, "--output", str(tmp_path / "on.json")])
    assert result.exit_code == 0, result.output
    assert list((tmp_path / "on" / "memo" / "fits").rglob("*.json"))  # the demo's GARCH fits, kept
    assert memo.settings() == memo.Settings()  # the command's setting ended with it

    monkeypatch.setattr(forecast, "_FITS", OrderedDict())
    monkeypatch.setenv("QUANTALLOC_CACHE_DIR", str(tmp_path / "off"))
    monkeypatch.setenv("QUANTALLOC_MEMO", "off")
    result = runner.invoke(app, [*args, "--output", str(tmp_path / "off.json")])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "off" / "memo").exists()
    on, off = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("on", "off"))
    assert on["allocations"] == off["allocations"]  # the cache changes no number

    monkeypatch.setenv("QUANTALLOC_MEMO", "maybe")
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "QUANTALLOC_MEMO='maybe'" in result.output and "on or off" in result.output


@pytest.mark.slow  # three US solves, two of them fitting 51 GARCH models: ~8 s idle
def test_us_solve_document_is_the_same_with_a_cold_a_warm_and_no_memo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_data: Path
) -> None:
    """The README's US command (51 real stocks, its tables; fewer scenarios to stay lean) three
    times: memo off, memo on an empty folder (computes and writes), memo on that folder again
    with parsing and GARCH fitting made impossible (every price file and fit read back). The
    documents agree in every field but the run's id and wall-clock timings, bit for bit."""
    from quantalloc.data import csv_provider, expiries
    from quantalloc.options import forecast
    from tests.pipeline.golden_cases import readme_us_tables, stable

    for name, frame in readme_us_tables(shared_data).items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    args = ["solve", "--market", "us", "--data", f"csv:{shared_data / 'us'}", "--scenarios", "300"]
    args += [
        f"--table={n}={tmp_path / n}.csv" for n in ("stock_data", "industry_allocations_current")
    ]

    def run(label: str, memo: str) -> dict:
        # nothing remembered in the process: a hit must come from the disk
        monkeypatch.setattr(forecast, "_FITS", type(forecast._FITS)())
        for cached in (csv_provider._read_cached, expiries._sessions):
            cached.cache_clear()
        monkeypatch.setenv("QUANTALLOC_CACHE_DIR", str(tmp_path / "cache"))
        monkeypatch.setenv("QUANTALLOC_MEMO", memo)
        out = tmp_path / f"{label}.json"
        result = runner.invoke(app, [*args, "--output", str(out)])
        assert result.exit_code == 0, result.output
        return stable(json.loads(out.read_text()), shared_data)

    off = run("off", "off")
    assert not (tmp_path / "cache" / "memo").exists()
    cold = run("cold", "on")
    kept = {p.name for p in (tmp_path / "cache" / "memo").iterdir()}
    assert {"prices", "fits", "calendars"} <= kept, kept
    with monkeypatch.context() as mp:
        mp.setattr(csv_provider, "read_price_csv", lambda *a, **k: pytest.fail("parsed on a hit"))
        mp.setattr(forecast.Garch, "_fit", classmethod(lambda c, r: pytest.fail("fitted on a hit")))
        warm = run("warm", "on")
    assert off["allocations"]  # a real allocation, not two empty documents
    assert cold == off
    assert warm == off
