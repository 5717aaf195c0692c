"""Every flag and argument of every command, given a bad value: one line, exit code 2.

Each case runs the console entry point (``quantalloc.cli.app.main``, what the installed
``quantalloc`` command runs) in a fresh working folder and asserts: exit code 2, no traceback,
exactly one ``error:`` line on stderr and nothing else there (the SYNTHETIC DATA banner aside),
the expected words in that line, and no file written in the working folder. A coverage test
walks the command tree and fails when a flag or argument has no case, so a new flag needs one.
The count is printed at the end of the run (``tests/conftest.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from quantalloc.cli.app import app, main

STORE = "mysql://user@127.0.0.1/db"  # a scheme no store speaks
US = "csv:{shared}/us"

# (command path, arguments, words the error line must hold)
CASES: list[tuple[str, list[str], str]] = [
    # solve
    ("solve", ["solve", "--risk", "reckless"], "not a risk profile"),
    ("solve", ["solve", "--risk", "x[/]"], "'x[/]' is not a risk profile"),
    ("solve", ["solve", "--model", "nope", "--data", "demo"], "no model named 'nope'"),
    ("solve", ["solve", "--market", "mars", "--data", "demo"], "unknown market 'mars'"),
    ("solve", ["solve", "--capital", "1e30"], "--capital must be a positive amount up to"),
    ("solve", ["solve", "--vix", "1e6"], "--vix must be a volatility index level"),
    ("solve", ["solve", "--as-of", "2030-01-01", "--data", "demo"], "after the data"),
    ("solve", ["solve", "--data", "bogus"], "unknown data source 'bogus'"),
    ("solve", ["solve", "--table", "stock_data=blank_lot.csv"], "lot_size is blank in row 3"),
    ("solve", ["solve", "--normalize-weights=yes"], "does not take a value"),
    ("solve", ["solve", "--symbol", "NOPE", "--data", "demo"], "not in the stock_data table"),
    ("solve", ["solve", "--max-industries", "0"], "--max-industries"),
    ("solve", ["solve", "--scenarios", "20000000"], "--scenarios must be in [50,"),
    ("solve", ["solve", "--seed", "-1"], "--seed"),
    ("solve", ["solve", "--limit", "max_symbol=-0.1"], "out of range"),
    ("solve", ["solve", "--limit", "max_bogus=0.2"], "no limit named 'max_bogus'"),
    ("solve", ["solve", "--chain", "nochain.csv", "--data", "demo"], "nochain.csv"),
    ("solve", ["solve", "--chains", "bogus", "--data", "demo"], "unknown chain source 'bogus'"),
    ("solve", ["solve", "--vix-source", "bogus"], "--vix-source 'bogus' is unknown"),
    ("solve", ["solve", "--views", "bogus"], "--views 'bogus': not none, model or an existing"),
    ("solve", ["solve", "--output", "/nonexistent/dir/run.json"], "does not exist"),
    ("solve", ["solve", "--output", "."], "must end in .json"),
    ("solve", ["solve", "--dry-run", "--update-database"], "exclude each other"),
    ("solve", ["solve", "--update-database=1"], "does not take a value"),
    ("solve", ["solve", "--store", STORE, "--data", "demo"], "mysql"),
    ("solve", ["solve", "--verbose=1"], "does not take a value"),
    # regime
    ("regime", ["regime", "--market", "mars"], "unknown market 'mars'"),
    ("regime", ["regime", "--data", "bogus"], "unknown data source 'bogus'"),
    ("regime", ["regime", "--data", "demo", "--as-of", "notadate"], "not a date"),
    ("regime", ["regime", "--chain", "nochain.csv"], "does not exist"),
    ("regime", ["regime", "--data", "demo", "--vix", "-1"], "must be a positive number"),
    ("regime", ["regime", "--data", "demo", "--index", "NOPE"], "NOPE: not in the demo market"),
    ("regime", ["regime", "--json=1"], "does not take a value"),
    ("regime", ["regime", "--chains", "bogus"], "unknown chain source 'bogus'"),
    ("regime", ["regime", "--vix-source", "bogus"], "--vix-source 'bogus' is unknown"),
    ("regime", ["regime", "--no-cache=1"], "does not take a value"),
    ("regime", ["regime", "--cache-ttl", "-1"], "--cache-ttl must be >= 0"),
    ("regime", ["regime", "--verbose=1"], "does not take a value"),
    # backtest
    ("backtest", ["backtest", "nope", "--data", "demo"], "nope"),
    ("backtest", ["backtest", "momentum", "--data", "bogus"], "unknown data source 'bogus'"),
    ("backtest", ["backtest", "momentum", "--market", "mars"], "unknown market 'mars'"),
    ("backtest", ["backtest", "wheel", "--data", "demo", "--start", "notadate"], "not a date"),
    ("backtest", ["backtest", "wheel", "--data", "demo", "--end", "1990-01-01"], "1990-01-01"),
    ("backtest", ["backtest", "momentum", "--capital", "0"], "--capital must be a positive"),
    ("backtest", ["backtest", "momentum", "--param", "smadays=3"], "smadays"),
    ("backtest", ["backtest", "--model", "nope"], "no model named 'nope'"),
    ("backtest", ["backtest", "orb", "--symbols", "NOPE", "--data", US], "NOPE"),
    ("backtest", ["backtest", "momentum", "--chains", "bogus"], "trades no options"),
    ("backtest", ["backtest", "allocator", "--compare-proxy"], "give --chains too"),
    ("backtest", ["backtest", "wheel", "--chains", "bogus"], "unknown chain source 'bogus'"),
    ("backtest", ["backtest", "allocator", "-p", "take_profit=-1"], "take_profit"),
    ("backtest", ["backtest", "momentum", "--output", "/nonexistent/b.json"], "does not exist"),
    ("backtest", ["backtest", "momentum", "--plot", "chart.gif"], "must end in .png or .html"),
    ("backtest", ["backtest", "momentum", "--plot", "/nonexistent/dir/p.png"], "does not exist"),
    ("backtest", ["backtest", "momentum", "--verbose=1"], "does not take a value"),
    # tune
    ("tune", ["tune", "nope"], "no search space for strategy 'nope'"),
    ("tune", ["tune", "momentum", "--trials", "0"], "--trials must be"),
    ("tune", ["tune", "momentum", "--data", "bogus"], "unknown data source 'bogus'"),
    ("tune", ["tune", "momentum", "--data", US, "--market", "mars"], "unknown market 'mars'"),
    ("tune", ["tune", "momentum", "--start", "notadate"], "--start 'notadate' is not a date"),
    ("tune", ["tune", "momentum", "--start", "2015-01-01", "--end", "2014-01-01"], "not after"),
    ("tune", ["tune", "momentum", "--storage", "sqlite:////nonexistent/dir/s.db"], "not exist"),
    ("tune", ["tune", "momentum", "--storage", STORE], "unsupported study storage"),
    ("tune", ["tune", "momentum", "--study", " "], "--study needs a name"),
    ("tune", ["tune", "momentum", "--workers", "0"], "--workers must be"),
    ("tune", ["tune", "momentum", "--timeout", "-1"], "--timeout must be"),
    ("tune", ["tune", "momentum", "--metric", "bogus"], "--metric 'bogus'"),
    ("tune", ["tune", "momentum", "--folds", "0"], "--folds must be"),
    ("tune", ["tune", "momentum", "--seed", "-1"], "--seed must be"),
    ("tune", ["tune", "momentum", "--capital", "0"], "--capital must be a positive"),
    ("tune", ["tune", "--config", "/nonexistent.toml"], "does not exist"),
    ("tune", ["tune", "momentum", "--output", "/nonexistent/t.json"], "does not exist"),
    ("tune", ["tune", "momentum", "--export", "industry_first"], "never overwritten"),
    ("tune", ["tune", "momentum", "--export", "/nonexistent/dir/m.toml"], "does not exist"),
    ("tune", ["tune", "momentum", "--force=1"], "does not take a value"),
    ("tune", ["tune", "momentum", "--verbose=1"], "does not take a value"),
    # data
    ("data show", ["data", "show", "NOPE", "--data", "demo"], "NOPE: not in the demo market"),
    ("data show", ["data", "show", "SPY", "--data", "bogus"], "unknown data source"),
    ("data show", ["data", "show", "SPY", "--market", "mars"], "unknown market 'mars'"),
    (
        "data show",
        ["data", "show", "SPY", "--data", "demo", "--market", "us", "--start", "x"],
        "not a date",
    ),
    (
        "data show",
        ["data", "show", "SPY", "--data", "demo", "--market", "us", "--end", "1990-01-01"],
        "no rows",
    ),
    ("data show", ["data", "show", "SPY", "--rows", "0"], "--rows"),
    ("data show", ["data", "show", "SPY", "--max-ffill", "-1"], "--max-ffill"),
    ("data symbols", ["data", "symbols", "--data", "bogus"], "unknown data source"),
    ("data symbols", ["data", "symbols", "--market", "mars"], "unknown market 'mars'"),
    ("data universe", ["data", "universe", "--data", "bogus"], "unknown data source"),
    ("data universe", ["data", "universe", "--market", "mars"], "unknown market 'mars'"),
    ("data universe", ["data", "universe", "--table", "stock_data=blank_lot.csv"], "lot_size"),
    ("data fetch", ["data", "fetch", "demo", "SPY"], "has no cache to fill"),
    ("data fetch", ["data", "fetch", "yahoo", ","], "no symbols given"),
    ("data fetch", ["data", "fetch", "yahoo", "SPY", "--start", "notadate"], "not a date"),
    (
        "data fetch",
        ["data", "fetch", "yahoo", "SPY", "--start", "2020-02-01", "--end", "2020-01-01"],
        "swap them",
    ),
    ("data fetch", ["data", "fetch", "yahoo", "SPY", "--market", "mars"], "unknown market"),
    ("data fetch", ["data", "fetch", "yahoo", "SPY", "--chains=1"], "does not take a value"),
    # db
    ("db init", ["db", "init", "--store", STORE], "mysql"),
    ("db init", ["db", "init", "--verbose=1"], "does not take a value"),
    ("db schema", ["db", "schema", "extra"], "unexpected extra argument"),
    ("db status", ["db", "status", "--store", STORE], "mysql"),
    ("db status", ["db", "status", "--verbose=1"], "does not take a value"),
    ("db import", ["db", "import", "bogus", "blank_lot.csv"], "unknown input table 'bogus'"),
    ("db import", ["db", "import", "stock_data", "none.csv"], "no CSV file at none.csv"),
    (
        "db import",
        ["db", "import", "stock_data", "blank_lot.csv", "--store", "sqlite://"],
        "lot_size is blank",
    ),
    ("db import", ["db", "import", "stock_data", "blank_lot.csv", "--append=1"], "take a value"),
    (
        "db import",
        ["db", "import", "stock_data", "blank_lot.csv", "--normalize-weights=1"],
        "does not take a value",
    ),
    ("db import", ["db", "import", "stock_data", "blank_lot.csv", "--store", STORE], "mysql"),
    ("db import", ["db", "import", "stock_data", "x.csv", "--verbose=1"], "take a value"),
    ("db export", ["db", "export", "bogus"], "unknown input table 'bogus'"),
    (
        "db export",
        [
            "db",
            "export",
            "stock_data",
            "--store",
            "sqlite://",
            "--output",
            "/nonexistent/dir/s.csv",
        ],
        "does not exist",
    ),
    ("db export", ["db", "export", "stock_data", "--store", STORE], "mysql"),
    ("db export", ["db", "export", "stock_data", "--verbose=1"], "does not take a value"),
    # serve (the API key is set for these; uvicorn.run is replaced so no server ever starts)
    ("serve", ["serve", "--host", " "], "--host needs an address"),
    ("serve", ["serve", "--port", "70000"], "--port"),
    ("serve", ["serve", "--store", STORE], "mysql"),
    ("serve", ["serve", "--data", "bogus"], "unknown data source 'bogus'"),
    ("serve", ["serve", "--market", "mars"], "unknown market 'mars'"),
    ("serve", ["serve", "--studies", STORE], "unsupported study storage"),
    ("serve", ["serve", "--verbose=1"], "does not take a value"),
    # trade (checked before the portfolio API is called; none runs here)
    ("trade", ["trade", "multi"], "cannot trade bar by bar"),
    ("trade", ["trade", "wheel"], "give --start and --end"),
    ("trade", ["trade", "wheel", "--param", "put_otm=2"], "put_otm"),
    ("trade", ["trade", "wheel", "--mode", "live", "-p", "vol_data=csv:x"], "vol_data"),
    ("trade", ["trade", "orb", "--mode", "dream"], "not a trading mode"),
    ("trade", ["trade", "orb", "--api", "ftp://x"], "not an http(s) URL"),
    ("trade", ["trade", "orb", "--name", " "], "--name needs a name"),
    (
        "trade",
        ["trade", "orb", "--data", "bogus", "--start", "2025-06-02", "--end", "2025-06-03"],
        "unknown data source 'bogus'",
    ),
    ("trade", ["trade", "orb", "--start", "notadate", "--end", "2025-06-03"], "not a date"),
    ("trade", ["trade", "orb", "--start", "2025-06-03", "--end", "2025-06-02"], "swap them"),
    ("trade", ["trade", "orb", "--param", "bogus=1"], "bogus"),
    ("trade", ["trade", "orb", "--symbols", "", "--param", "x=1"], "x"),
    ("trade", ["trade", "orb", "--mode", "live", "--ib-host", " "], "--ib-host needs"),
    ("trade", ["trade", "orb", "--ib-port", "0"], "--ib-port"),
    ("trade", ["trade", "orb", "--ib-client-id", "-1"], "--ib-client-id"),
    ("trade", ["trade", "orb", "--sessions", "-1"], "--sessions"),
    ("trade", ["trade", "orb", "--output", "/nonexistent/dir/t.json"], "does not exist"),
    ("trade", ["trade", "orb", "--verbose=1"], "does not take a value"),
    # runs
    ("runs list", ["runs", "list", "--limit", "0"], "--limit"),
    ("runs list", ["runs", "list", "--store", STORE], "mysql"),
    ("runs list", ["runs", "list", "--verbose=1"], "does not take a value"),
    ("runs show", ["runs", "show", "[/]", "--store", "sqlite://"], "no quantalloc tables"),
    ("runs show", ["runs", "show", "x", "--json=1"], "does not take a value"),
    ("runs show", ["runs", "show", "x", "--store", STORE], "mysql"),
    ("runs show", ["runs", "show", "x", "--verbose=1"], "does not take a value"),
]


def _command_tree() -> dict[str, set[str]]:
    """Every leaf command's path -> its options (``--name``) and arguments (by name)."""
    import typer.main

    out: dict[str, set[str]] = {}

    def walk(cmd: object, prefix: list[str]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*prefix, name])
            return
        names: set[str] = set()
        for p in cmd.params:  # type: ignore[attr-defined]
            if p.param_type_name == "argument":
                names.add(p.name)
            else:
                names |= {o for o in p.opts if o.startswith("--") and o != "--help"}
        out[" ".join(prefix)] = names

    walk(typer.main.get_command(app), [])
    return out


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_every_flag_and_argument_has_a_bad_input_case() -> None:
    tree = _command_tree()
    missing = []
    for command, names in tree.items():
        argvs = [argv for path, argv, _ in CASES if path == command]
        if not argvs:
            missing.append(f"{command}: no case")
        for name in sorted(names):
            if name.startswith("--"):
                covered = any(a == name or a.startswith(name + "=") for v in argvs for a in v)
            else:
                covered = bool(argvs)  # every case of the command passes its arguments
            if not covered:
                missing.append(f"{command} {name}")
    assert not missing, f"flags without a bad-input case: {missing}"
    flags = sum(len(n) for n in tree.values())
    assert len(CASES) >= flags


@pytest.mark.parametrize(
    ("command", "argv", "words"),
    CASES,
    ids=[f"{c}:{' '.join(a[len(c.split()) :])[:40]}" for c, a, _ in CASES],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    command: str,
    argv: list[str],
    words: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    shared_data: Path,
) -> None:
    import quantalloc.data.yahoo as yahoo

    monkeypatch.setattr(yahoo, "yahoo_reachable", lambda *a, **k: False)  # offline, as CI is
    monkeypatch.setenv("QUANTALLOC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("QUANTALLOC_DB", str(tmp_path / "db" / "q.db"))
    for name in ("QUANTALLOC_DATA", "DATABASE_URL", "SUPABASE_URL", "SUPABASE_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QUANTALLOC_API_KEY", "a-test-key")  # serve and trade get past it
    import uvicorn

    def no_server(*_a: object, **_k: object) -> None:
        raise AssertionError("a bad input started the server")

    monkeypatch.setattr(uvicorn, "run", no_server)
    work = tmp_path / "work"
    work.mkdir()
    (work / "blank_lot.csv").write_text(
        "symbol,industry,lot_size\nAAPL,Information Technology,100\nMSFT,Information Technology,"
        "100\nXOM,Energy,\n"
    )
    monkeypatch.chdir(work)
    args = [a.replace("{shared}", str(shared_data)) for a in argv]
    before = _files(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(args)
    out, err = capsys.readouterr()
    assert stop.value.code == 2, (out, err)
    assert "Traceback" not in out + err
    lines = [line for line in err.splitlines() if line.strip() and "SYNTHETIC DATA" not in line]
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert words in lines[0], lines[0]
    assert _files(tmp_path) - before <= {"cache", "db"}, "a bad input wrote a file"
    assert not Path("/nonexistent").exists(), "a bad input created a folder"
