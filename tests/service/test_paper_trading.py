"""Paper-trading sessions through a real API server end with the same trades and equity as
``quantalloc backtest``: the opening-range breakout over the shared 5-minute bars, momentum
and the wheel (options) over the shared daily bars.

The session is the ``quantalloc trade`` command in its own process: bars replayed one
timestamp at a time, the strategy's own ``prepare`` on the bars seen so far, the paper broker
filling stop entries and brackets, every fill posted to ``POST /orders`` of the orb sleeve
(whose cash sizes each entry). The backtest is the vectorised kernel over the whole window.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quantalloc.cli.app import app as cli_app
from tests.support.server import API_KEY, Server, running_server

pytestmark = pytest.mark.slow

WINDOW = ("2025-06-02", "2025-07-03")
PARAMS = ["-p", "symbols=SPY,QQQ,NVDA,TSLA,MSTR,SMCI,SOXL", "-p", "min_atr_pct=0.03",
          "-p", "fee_per_trade=1", "-p", "fee_pct=0.0002"]  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("paper")
    with running_server(f"sqlite:///{folder / 'book.db'}", folder) as srv:
        yield srv


def test_paper_orb_through_the_api_equals_the_backtest(
    server: Server, shared_data: Path, tmp_path: Path
) -> None:
    data = f"csv:{shared_data / 'us_intraday' / '5min'}"
    with server.client() as http:
        init = http.post("/portfolio/initialize", json={
            "capital": 200_000, "min_weight": 0.5, "max_weight": 0.5,
            "strategies": [{"name": "orb", "symbol": "SPY"}, {"name": "momentum",
                                                             "symbol": "SPXL"}]})  # fmt: skip
        assert init.status_code == 200, init.text
    paper_out, bt_out = tmp_path / "paper.json", tmp_path / "bt.json"
    traded = subprocess.run(
        [sys.executable, "-m", "quantalloc", "trade", "orb", "--mode", "paper", "--api",
         server.url, "--data", data, "--start", WINDOW[0], "--end", WINDOW[1], *PARAMS,
         "--output", str(paper_out)],
        capture_output=True, text=True, env={**os.environ, "QUANTALLOC_API_KEY": API_KEY},
    )  # fmt: skip
    assert traded.returncode == 0, traded.stderr + traded.stdout
    bt = CliRunner().invoke(
        cli_app, ["backtest", "orb", "--data", data, "--start", WINDOW[0], "--end", WINDOW[1],
                  "--capital", "100000", *PARAMS, "--output", str(bt_out)],
    )  # fmt: skip
    assert bt.exit_code == 0, bt.output
    paper, backtest = json.loads(paper_out.read_text()), json.loads(bt_out.read_text())
    assert len(backtest["trades"]) >= 10  # a window with trades on both sides
    assert {t["side"] for t in backtest["trades"]} == {"long", "short"}
    assert len(paper["trades"]) == len(backtest["trades"])
    for mine, theirs in zip(paper["trades"], backtest["trades"], strict=True):
        for key in ("symbol", "side", "entry_time", "exit_time", "exit_reason"):
            assert mine[key] == theirs[key], (key, mine, theirs)
        for key in ("entry_price", "exit_price", "units", "pnl", "fees"):
            assert mine[key] == pytest.approx(theirs[key], rel=1e-9, abs=1e-7), (key, mine)
    assert list(paper["equity"]) == list(backtest["equity"])  # the same sessions
    for day, value in backtest["equity"].items():
        assert paper["equity"][day] == pytest.approx(value, rel=1e-9), day
    for key in ("total_return", "sharpe", "max_drawdown", "trades", "win_rate"):
        assert paper["metrics"][key] == pytest.approx(backtest["metrics"][key], rel=1e-8), key
    # the API booked every fill in the orb sleeve: its cash is the session's final equity
    with server.client() as http:
        orb = http.get("/portfolio/orb").json()
        orders = http.get("/orders", params={"strategy": "orb"}).json()["orders"]
        momentum = http.get("/portfolio/momentum").json()
    final = list(backtest["equity"].values())[-1]
    assert orb["cash"] == pytest.approx(final, rel=1e-9) and not orb["locked"]
    assert len(orders) == 2 * len(backtest["trades"])
    assert {o["source"] for o in orders} == {"trade"}
    assert momentum["cash"] == pytest.approx(100_000)  # the other sleeve is untouched


def test_paper_momentum_on_daily_bars_equals_the_backtest(shared_data: Path) -> None:
    """The same for momentum on the daily ETFs (stops, take-profits, signals, one open trade
    at the end), booked in a memory ledger: the API path is the one the ORB test covers."""
    import numpy as np

    from quantalloc.backtest.registry import run_strategy
    from quantalloc.data import get_provider
    from quantalloc.service.trading.ledger import MemoryLedger
    from quantalloc.service.trading.session import paper

    provider = get_provider(f"csv:{shared_data / 'us'}", "us")
    params = {"sma_days": "100", "fee_per_trade": "1", "stop_loss": "0.08", "take_profit": "0.3"}
    window = ("2015-06-01", "2017-12-29")
    bt = run_strategy("momentum", provider, *window, 100_000.0, params)
    ledger = MemoryLedger(100_000.0)
    pp = paper("momentum", provider, *window, ledger, params)
    reasons = set(bt.trades["exit_reason"])
    assert reasons == {"stop", "take_profit", "signal", "end_of_data"}  # every exit exercised
    assert len(pp.trades) == len(bt.trades)
    for key in ("entry_time", "exit_time", "exit_reason"):
        assert list(pp.trades[key].astype(str)) == list(bt.trades[key].astype(str)), key
    for key in ("entry_price", "exit_price", "units", "pnl", "fees"):
        np.testing.assert_allclose(pp.trades[key].astype(float), bt.trades[key].astype(float),
                                   rtol=1e-9, err_msg=key)  # fmt: skip
    assert pp.equity.index.equals(bt.equity.index)
    np.testing.assert_allclose(pp.equity.to_numpy(), bt.equity.to_numpy(), rtol=1e-9)
    assert (pp.locked == bt.locked).all() and (pp.in_position == bt.in_position).all()
    assert len(ledger.fills) == 2 * len(bt.trades) - 1  # the last trade is still open


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the metrics of a flat, zero equity
def test_paper_momentum_with_a_cashless_sleeve_trades_nothing(shared_data: Path) -> None:
    """A sleeve with no cash (a session restarted with all of it invested) still reads its
    signals: loading the bars takes no capital, and an entry buys zero whole shares."""
    from quantalloc.data import get_provider
    from quantalloc.service.trading.ledger import MemoryLedger
    from quantalloc.service.trading.session import paper

    provider = get_provider(f"csv:{shared_data / 'us'}", "us")
    ledger = MemoryLedger(0.0)
    pp = paper("momentum", provider, "2016-01-04", "2016-06-30", ledger, {"sma_days": "100"})
    assert len(pp.trades) == 0 and not ledger.fills
    assert len(pp.equity) > 100 and (pp.equity == 0.0).all()


WHEEL_WINDOW = ("2015-01-02", "2015-12-31")  # every exit: take-profit, expiry, both exercises


@pytest.fixture(scope="module")
def wheel_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("paper-wheel")
    with running_server(f"sqlite:///{folder / 'book.db'}", folder) as srv:
        yield srv


def test_paper_wheel_through_the_api_equals_the_backtest(
    wheel_server: Server, shared_data: Path, tmp_path: Path
) -> None:
    """The wheel's paper session (``quantalloc trade wheel`` in its own process) over the shared
    daily SPY and VIX: the paper broker fills its option orders at the wheel's own quotes
    (Black-Scholes at the VIX with the skew, 2% spread, $0.65 a contract) and settles expiring
    options at the close (assignment and call-away at the strike); every fill, and the
    sleeve's interest and dividends, go through the API. Same trades and equity as
    ``quantalloc backtest wheel`` on the window, to 1e-9."""
    data = f"csv:{shared_data / 'us'}"
    with wheel_server.client() as http:
        init = http.post("/portfolio/initialize", json={
            "capital": 200_000, "min_weight": 0.5, "max_weight": 0.5,
            "strategies": [{"name": "wheel", "symbol": "SPY"}, {"name": "momentum",
                                                               "symbol": "SPXL"}]})  # fmt: skip
        assert init.status_code == 200, init.text
    paper_out, bt_out = tmp_path / "paper.json", tmp_path / "bt.json"
    window = ["--start", WHEEL_WINDOW[0], "--end", WHEEL_WINDOW[1]]
    traded = subprocess.run(
        [sys.executable, "-m", "quantalloc", "trade", "wheel", "--mode", "paper", "--api",
         wheel_server.url, "--data", data, *window, "--output", str(paper_out)],
        capture_output=True, text=True, env={**os.environ, "QUANTALLOC_API_KEY": API_KEY},
    )  # fmt: skip
    assert traded.returncode == 0, traded.stderr + traded.stdout
    bt = CliRunner().invoke(cli_app, ["backtest", "wheel", "--data", data, *window,
                                      "--capital", "100000", "--output", str(bt_out)])  # fmt: skip
    assert bt.exit_code == 0, bt.output
    paper, backtest = json.loads(paper_out.read_text()), json.loads(bt_out.read_text())
    reasons = [t["exit_reason"] for t in backtest["trades"]]
    assert {"take_profit", "expired", "assigned", "called_away", "end_of_data"} <= set(reasons)
    assert len(paper["trades"]) == len(backtest["trades"])
    for mine, theirs in zip(paper["trades"], backtest["trades"], strict=True):
        for key in ("symbol", "side", "entry_time", "exit_time", "exit_reason"):
            assert mine[key] == theirs[key], (key, mine, theirs)
        for key in ("entry_price", "exit_price", "units", "pnl", "fees"):
            assert mine[key] == pytest.approx(theirs[key], rel=1e-9, abs=1e-7), (key, mine)
    assert list(paper["equity"]) == list(backtest["equity"])  # the same sessions
    for day, value in backtest["equity"].items():
        assert paper["equity"][day] == pytest.approx(value, rel=1e-9), day
    for key in ("total_return", "sharpe", "max_drawdown", "trades", "win_rate", "exposure"):
        assert paper["metrics"][key] == pytest.approx(backtest["metrics"][key], rel=1e-8), key
    # the book holds what the session ended with, and every fill was recorded once
    with wheel_server.client() as http:
        sleeve = http.get("/portfolio/wheel").json()
        orders = http.get("/orders", params={"strategy": "wheel"}).json()["orders"]
        other = http.get("/portfolio/momentum").json()
    opts = [t for t in backtest["trades"] if t["side"].startswith("short")]
    # an option sold, then bought back or settled (no price), and the shares an exercise moves
    expected_orders = sum(1 + (t["exit_reason"] != "end_of_data") for t in opts) + sum(
        t["exit_reason"] in ("assigned", "called_away") for t in opts
    )
    assert len(orders) == expected_orders
    assert {o["source"] for o in orders} == {"trade"}
    held = {p["symbol"]: p for p in sleeve["positions"]}
    open_rows = [t for t in backtest["trades"] if t["exit_reason"] == "end_of_data"]
    marked = sleeve["cash"]
    for row in open_rows:  # the open option short at its end mark, the shares at the close
        sign = -1.0 if row["side"].startswith("short") else 1.0
        assert held[row["symbol"]]["quantity"] * (100 if sign < 0 else 1) == sign * row["units"]
        marked += sign * row["units"] * row["exit_price"]
    assert sleeve["locked"] and set(held) == {r["symbol"] for r in open_rows}
    final = list(backtest["equity"].values())[-1]
    assert marked == pytest.approx(final, rel=1e-9)  # cash incl. interest and dividends
    assert other["cash"] == pytest.approx(100_000)  # the other sleeve is untouched
