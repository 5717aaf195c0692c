"""Every endpoint of a real ``quantalloc serve`` process (uvicorn on a free loopback port),
driven over HTTP: the key, the bodies, the portfolio's rules, and quantalloc's own endpoints
compared with the CLI doing the same thing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from quantalloc.backtest.metrics import score
from quantalloc.cli.app import app as cli_app
from tests.support.server import Server, running_server

pytestmark = pytest.mark.slow

METRICS = {  # scores by (1 + Sharpe)(1 + return)/(1 + drawdown), worked by hand below
    "momentum": {"sharpe": 1.0, "total_return": 0.2, "max_drawdown": 0.1},  # 2*1.2/1.1 = 2.1818
    "orb": {"sharpe": 0.5, "total_return": 0.1, "max_drawdown": 0.1},  # 1.5*1.1/1.1 = 1.5
    "wheel": {"sharpe": 0.2, "total_return": 0.1, "max_drawdown": 0.1},  # 1.2*1.1/1.1 = 1.2
}
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/portfolio/initialize", {"capital": 1000}),
    ("POST", "/portfolio/rebalance", {"metrics": METRICS}),
    ("GET", "/portfolio/allocation/current", None),
    ("GET", "/portfolio/allocation/history", None),
    ("POST", "/orders/buy_all", {"prices": {"SPY": 1}}),
    ("POST", "/orders/sell_all", {"prices": {"SPY": 1}}),
    ("POST", "/orders", {"strategy_name": "orb", "symbol": "SPY", "side": "buy",
                         "quantity": 1, "price": 1}),
    ("GET", "/orders", None),
    ("POST", "/cash", {"strategy_name": "wheel", "amount": 1.0, "reason": "interest",
                       "flow_id": "f-1"}),
    ("GET", "/positions", None),
    ("GET", "/positions/orb", None),
    ("GET", "/portfolio/orb", None),
    ("POST", "/solve", {"risk": "moderate"}),
    ("GET", "/runs", None),
    ("GET", "/runs/abc", None),
    ("GET", "/regime", None),
    ("POST", "/backtest", {"strategy": "momentum"}),
    ("GET", "/studies/s1", None),
]  # fmt: skip
PUT = {"underlying": "SPY", "expiry": "2024-01-12", "strike": 98, "right": "put"}
TUNE_ARGS = ["--start", "2014-01-01", "--end", "2017-12-29", "--trials", "4", "--study", "s1"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("api")
    journal = f"journal:{folder / 'studies.journal'}"
    tuned = CliRunner().invoke(
        cli_app, ["tune", "momentum", "--data", f"csv:{shared_data / 'us'}", *TUNE_ARGS,
                  "--storage", journal, "--output", str(folder / "tune.json")],
    )  # fmt: skip
    assert tuned.exit_code == 0, tuned.output
    with running_server(
        f"sqlite:///{folder / 'book.db'}", folder, data=f"csv:{shared_data / 'us'}",
        args=("--studies", journal),
    ) as srv:  # fmt: skip
        srv.folder = folder  # type: ignore[attr-defined]
        yield srv


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def test_every_endpoint_but_health_needs_the_key(server: Server) -> None:
    paths = {(m, p) for m, p, _ in ENDPOINTS}
    schema = httpx.get(server.url + "/openapi.json").json()["paths"]
    listed = {(m.upper(), p) for p, ops in schema.items() for m in ops if p != "/health"}
    generic = {(m, p.replace("{strategy_name}", "orb").replace("{run_id}", "abc")
                .replace("{name}", "s1")) for m, p in listed}  # fmt: skip
    assert generic == paths  # this test walks every endpoint the app declares
    for key in (None, "wrong-key"):
        with server.client(key=key) as client:
            for method, path, body in ENDPOINTS:
                r = client.request(method, path, json=body)
                assert r.status_code == 401, (method, path, r.text)
                assert "X-API-Key" in r.json()["detail"]
            assert client.get("/health").status_code == 200
    docs = httpx.get(server.url + "/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


@pytest.mark.parametrize(
    ("path", "body", "field", "words"),
    [
        ("/portfolio/initialize", {"capital": -5}, "capital", "greater than 0"),
        ("/portfolio/initialize", {"capital": 10, "colour": "red"}, "colour", "Extra inputs"),
        ("/portfolio/initialize", {"capital": 10, "min_weight": 0.6, "max_weight": 0.5}, None,
         "min_weight 0.6 > max_weight 0.5"),
        ("/portfolio/rebalance", {"metrics": {"orb": {"sharpe": 1, "total_return": 0,
                                                      "max_drawdown": 2}}},
         "max_drawdown", "less than or equal to 1"),
        ("/orders", {"strategy_name": "orb", "symbol": "SPY", "side": "hold", "quantity": 1,
                     "price": 1}, "side", "'buy' or 'sell'"),
        ("/orders", {"strategy_name": "orb", "symbol": "SPY", "side": "buy", "quantity": 0,
                     "price": 1}, "quantity", "greater than 0"),
        ("/orders", {"strategy_name": "orb", "symbol": "SPY", "side": "buy", "quantity": 1,
                     "price": 0}, None, "a stock's price must be > 0, got 0"),
        ("/orders", {"strategy_name": "wheel", "side": "sell", "quantity": 1.5, "price": 2,
                     "contract": PUT}, None, "whole contracts, got quantity 1.5"),
        ("/orders", {"strategy_name": "wheel", "side": "sell", "quantity": 1, "price": 2,
                     "contract": {**PUT, "right": "straddle"}}, "right", "'call' or 'put'"),
        ("/orders", {"strategy_name": "wheel", "side": "sell", "quantity": 1, "price": 2,
                     "contract": {**PUT, "strike": 0}}, "strike", "greater than 0"),
        ("/orders", {"strategy_name": "wheel", "symbol": "SPY", "side": "sell", "quantity": 1,
                     "price": 2, "contract": PUT}, None,
         "symbol 'SPY' is not the contract's, 'SPY 2024-01-12 P98'"),
        ("/orders", {"strategy_name": "wheel", "side": "buy", "quantity": 1, "price": 2}, None,
         "give the stock's symbol, or an option's contract"),
        ("/cash", {"strategy_name": "wheel", "amount": 5, "reason": "gift", "flow_id": "x"},
         "reason", "'interest', 'dividend'"),
        ("/orders/buy_all", {"prices": {"SPY": -1}}, None, "price of SPY must be a positive"),
        ("/solve", {"risk": "wild"}, "risk", "'conservative', 'moderate' or 'aggressive'"),
        ("/solve", {"scenarios": 10}, "scenarios", "greater than or equal to 50"),
        ("/backtest", {"strategy": "nope"}, "strategy", "'momentum'"),
    ],
)  # fmt: skip
def test_bad_bodies_get_422_with_the_field_and_the_rule(
    http: httpx.Client, path: str, body: dict[str, Any], field: str | None, words: str
) -> None:
    r = http.post(path, json=body)
    assert r.status_code == 422, r.text
    errors = r.json()["detail"]
    if field is not None:
        assert any(e["loc"][-1] == field and words in e["msg"] for e in errors), errors
    else:
        assert any(words in e["msg"] for e in errors), errors
    text = http.post(path, content=b"{not json", headers={"Content-Type": "application/json"})
    assert text.status_code == 422


def test_the_portfolio_from_initialize_to_rebalance(http: httpx.Client) -> None:
    init = http.post("/portfolio/initialize", json={"capital": 90_000})
    assert init.status_code == 200, init.text
    current = http.get("/portfolio/allocation/current").json()
    assert [s["strategy_name"] for s in current["strategies"]] == ["momentum", "orb", "wheel"]
    assert all(abs(s["capital"] - 30_000) < 1e-6 for s in current["strategies"])
    # buy_all: whole shares of each strategy's symbol with its cash; all become locked
    prices = {"SPXL": 40.0, "SPY": 300.0}
    bought = http.post("/orders/buy_all", json={"prices": prices, "request_id": "b1"}).json()
    assert [(o["strategy_name"], o["quantity"]) for o in bought["orders"]] == [
        ("momentum", 750.0), ("orb", 100.0), ("wheel", 100.0)]  # fmt: skip
    again = http.post("/orders/buy_all", json={"prices": prices, "request_id": "b1"}).json()
    assert again["replayed"] and again["event_id"] == bought["event_id"]
    assert len(http.get("/orders").json()["orders"]) == 3  # recorded once
    other = http.post("/orders/sell_all", json={"prices": prices, "request_id": "b1"})
    assert other.status_code == 409 and "already used by a buy_all" in other.json()["detail"]
    assert http.get("/positions/orb").json()["positions"] == [
        {
            "strategy_name": "orb",
            "symbol": "SPY",
            "quantity": 100.0,
            "avg_price": 300.0,
            "contract": None,
        }  # a stock
    ]
    assert len(http.get("/positions").json()["positions"]) == 3
    orb = http.get("/portfolio/orb").json()
    assert orb["locked"] and orb["cash"] == pytest.approx(0.0, abs=1e-6)
    assert orb["capital"] == pytest.approx(30_000)
    # locked strategies keep their capital: nothing moves
    held = http.post("/portfolio/rebalance", json={"metrics": METRICS}).json()
    assert held["moved"] is False
    # sell_all at +10% on SPY: orb and wheel gain 3,000 each; everyone unlocked
    sold = http.post("/orders/sell_all", json={"prices": {"SPXL": 40.0, "SPY": 330.0}}).json()
    assert {o["side"] for o in sold["orders"]} == {"sell"}
    after = http.get("/portfolio/allocation/current").json()
    assert after["total_capital"] == pytest.approx(96_000)
    assert not any(s["locked"] for s in after["strategies"])
    # rebalance by score within 10-50%: the LP gives the best 50%, the next 40%, the last 10%
    moved = http.post("/portfolio/rebalance", json={"metrics": METRICS}).json()
    weights = {a["strategy_name"]: a["weight"] for a in moved["allocations"]}
    assert weights == pytest.approx({"momentum": 0.5, "orb": 0.4, "wheel": 0.1}, abs=1e-6)
    scores = {a["strategy_name"]: a["score"] for a in moved["allocations"]}
    assert scores["momentum"] == pytest.approx(2 * 1.2 / 1.1)
    assert scores["orb"] == pytest.approx(float(score(0.5, 0.1, 0.1)))
    history = http.get("/portfolio/allocation/history").json()["events"]
    assert [e["kind"] for e in history][-2:] == ["initialize", "rebalance"]  # no move, no event
    assert http.get("/portfolio/nope").status_code == 404
    assert http.get("/positions/nope").status_code == 404


def test_an_order_over_the_strategys_capital_is_refused(http: httpx.Client) -> None:
    http.post("/portfolio/initialize", json={"capital": 30_000})
    order = {"strategy_name": "orb", "symbol": "SPY", "side": "buy", "price": 100.0}
    r = http.post("/orders", json={**order, "quantity": 101})  # 10,100 > its 10,000
    assert r.status_code == 409 and "over its capital" in r.json()["detail"]
    short = http.post("/orders", json={**order, "side": "sell", "quantity": 101})
    assert short.status_code == 409  # a short is exposure too
    ok = http.post("/orders", json={**order, "quantity": 99, "fee": 1.0, "order_id": "o-1"})
    assert ok.status_code == 200
    assert http.post("/orders", json={**order, "quantity": 99, "order_id": "o-1"}).json()[
        "replayed"
    ]
    assert http.get("/portfolio/orb").json()["cash"] == pytest.approx(10_000 - 9_900 - 1)
    busy = http.post("/portfolio/initialize", json={"capital": 30_000})
    assert busy.status_code == 409 and "sell_all" in busy.json()["detail"]
    http.post("/orders/sell_all", json={"prices": {"SPY": 100.0}})


def test_option_orders_are_cash_secured_calls_covered_and_settle_at_the_strike(
    http: httpx.Client,
) -> None:
    """The wheel's life in the book: a short put must be cash-secured (cash after the sale
    covers strike x 100 a contract), a short call covered by shares held; an assignment leaves
    the option at no price and buys the shares at the strike; interest is a cash flow."""
    http.post("/portfolio/initialize", json={"capital": 30_000})  # 10,000 each
    put = {"strategy_name": "wheel", "side": "sell", "contract": PUT, "fee": 0.65}
    # 2 puts at 98 oblige 19,600 > 10,000 + premium: refused, nothing booked
    r = http.post("/orders", json={**put, "quantity": 2, "price": 1.5})
    assert r.status_code == 409 and "over its capital" in r.json()["detail"], r.text
    ok = http.post("/orders", json={**put, "quantity": 1, "price": 1.5, "order_id": "w-1"})
    assert ok.status_code == 200, ok.text
    (row,) = ok.json()["orders"]
    assert row["symbol"] == "SPY 2024-01-12 P98" and row["contract"]["multiplier"] == 100
    sleeve = http.get("/portfolio/wheel").json()
    assert sleeve["cash"] == pytest.approx(10_000 + 150 - 0.65)  # premium x 100, less the fee
    assert sleeve["locked"] and sleeve["positions"][0]["quantity"] == -1
    assert sleeve["capital"] == pytest.approx(10_000 - 0.65)  # the put at cost is a liability
    # a second put (one more 9,800) is not secured by what is left
    more = http.post("/orders", json={**put, "quantity": 1, "price": 1.5})
    assert more.status_code == 409
    # a call without shares is naked: refused whatever the cash
    call = {**put, "contract": {**PUT, "right": "call", "strike": 101}, "quantity": 1}
    naked = http.post("/orders", json={**call, "price": 0.5})
    assert naked.status_code == 409 and "naked call" in naked.json()["detail"]
    flow = http.post("/cash", json={"strategy_name": "wheel", "amount": 12.5,
                                    "reason": "interest", "flow_id": "i-1"})  # fmt: skip
    assert flow.status_code == 200 and flow.json()["cash"] == pytest.approx(10_149.35 + 12.5)
    again = http.post("/cash", json={"strategy_name": "wheel", "amount": 12.5,
                                     "reason": "interest", "flow_id": "i-1"})  # fmt: skip
    assert again.json()["replayed"]  # booked once
    # assigned at 98: the put leaves at no price, 100 shares are bought at the strike
    gone = http.post("/orders", json={**put, "side": "buy", "quantity": 1, "price": 0,
                                      "fee": 0})  # fmt: skip
    assert gone.status_code == 200, gone.text
    shares = http.post("/orders", json={"strategy_name": "wheel", "symbol": "SPY",
                                        "side": "buy", "quantity": 100, "price": 98})  # fmt: skip
    assert shares.status_code == 200, shares.text
    covered = http.post("/orders", json={**call, "price": 0.5})
    assert covered.status_code == 200, covered.text
    held = http.get("/positions/wheel").json()["positions"]
    assert {p["symbol"]: p["quantity"] for p in held} == {"SPY": 100, "SPY 2024-01-12 C101": -1}
    assert next(p for p in held if p["quantity"] < 0)["contract"]["right"] == "call"
    cash = 10_149.35 + 12.5 - 9_800 + 50 - 0.65
    assert http.get("/portfolio/wheel").json()["cash"] == pytest.approx(cash)
    # sell_all closes the call before the shares that cover it (prices per share)
    done = http.post("/orders/sell_all", json={"prices": {"SPY": 99.0, "SPY 2024-01-12 C101": 0.2}})
    assert done.status_code == 200, done.text
    assert [o["symbol"] for o in done.json()["orders"]] == ["SPY 2024-01-12 C101", "SPY"]
    final = http.get("/portfolio/wheel").json()
    assert final["cash"] == pytest.approx(cash - 20 + 9_900) and not final["locked"]


def _strip_clock(doc: dict[str, Any]) -> dict[str, Any]:
    """The document without its id and wall-clock seconds (the only parts that vary by run)."""
    out = json.loads(json.dumps(doc))
    out.pop("run_id")
    solver = out["solver"]
    for key in ("compile_seconds", "solve_seconds", "timings"):
        solver.pop(key, None)
    solver.get("rounding", {}).pop("seconds", None)
    return out


def _wait_done(http: httpx.Client, run_id: str) -> dict[str, Any]:
    for _ in range(600):
        body = http.get(f"/runs/{run_id}").json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish")


def test_solve_in_the_background_equals_the_cli(server: Server, http: httpx.Client) -> None:
    request = {"risk": "conservative", "data": "demo", "market": "in", "seed": 7}
    accepted = http.post("/solve", json=request)
    assert accepted.status_code == 202
    run_id = accepted.json()["run_id"]
    assert http.get(f"/runs/{run_id}").json()["status"] in ("queued", "running", "done")
    cli_out = server.folder / "cli.json"  # type: ignore[attr-defined]
    subprocess.run(
        [sys.executable, "-m", "quantalloc", "solve", "--risk", "conservative", "--data", "demo",
         "--market", "in", "--seed", "7", "--output", str(cli_out)],
        check=True, capture_output=True,
    )  # fmt: skip
    body = _wait_done(http, run_id)
    assert body["status"] == "done", body
    assert body["document"]["run_id"] == run_id
    assert _strip_clock(body["document"]) == _strip_clock(json.loads(cli_out.read_text()))
    runs = http.get("/runs").json()["runs"]
    assert runs[0]["run_id"] == run_id and runs[0]["status"] == "done"
    assert runs[0]["n_allocations"] == len(body["document"]["allocations"])
    failed = _wait_done(http, http.post("/solve", json={"model": "no_such_model"}).json()["run_id"])
    assert failed["status"] == "failed" and "no_such_model" in failed["error"]
    assert http.get("/runs/not-a-run").status_code == 404


def test_regime_backtest_and_study_equal_the_library_and_the_cli(
    server: Server, http: httpx.Client, shared_data: Path
) -> None:
    from quantalloc.data import get_provider
    from quantalloc.regime.service import state_from_provider

    regime = http.get("/regime", params={"market": "us", "as_of": "2017-06-30"}).json()
    provider = get_provider(f"csv:{shared_data / 'us'}", "us")
    assert regime == json.loads(json.dumps(state_from_provider(provider, "us", "2017-06-30")
                                           .to_dict()))  # fmt: skip
    body = {"strategy": "momentum", "start": "2015-01-01", "end": "2017-12-29",
            "capital": 50_000, "params": {"sma_days": 100}}  # fmt: skip
    api = http.post("/backtest", json=body).json()
    out = server.folder / "bt.json"  # type: ignore[attr-defined]
    cli = CliRunner().invoke(
        cli_app, ["backtest", "momentum", "--data", f"csv:{shared_data / 'us'}", "--start",
                  "2015-01-01", "--end", "2017-12-29", "--capital", "50000", "-p", "sma_days=100",
                  "--output", str(out)],
    )  # fmt: skip
    assert cli.exit_code == 0, cli.output
    assert api == json.loads(out.read_text())
    study = http.get("/studies/s1").json()
    tuned = json.loads((server.folder / "tune.json").read_text())  # type: ignore[attr-defined]
    for key in ("n_trials", "best_params", "best_value", "deflated_sharpe", "pbo"):
        assert study[key] == tuned[key], key
    missing = http.get("/studies/nope")
    assert missing.status_code == 404 and "s1" in missing.json()["detail"]
    bad = http.post("/backtest", json={"strategy": "momentum", "params": {"sma_days": "x"}})
    assert bad.status_code == 422 and "sma_days" in bad.json()["detail"]


def test_rebalance_without_metrics_measures_each_strategy_by_its_backtest(
    http: httpx.Client, shared_data: Path
) -> None:
    from quantalloc.backtest.registry import run_strategy
    from quantalloc.data import get_provider

    strategies = [{"name": "momentum", "symbol": "SPXL"}, {"name": "wheel", "symbol": "SPY"}]
    http.post("/portfolio/initialize", json={"capital": 50_000, "strategies": strategies,
                                             "min_weight": 0.2, "max_weight": 0.8})  # fmt: skip
    window = {"start": "2015-01-01", "end": "2017-12-29"}
    r = http.post("/portfolio/rebalance", json={**window, "min_weight": 0.2, "max_weight": 0.8})
    assert r.status_code == 200, r.text
    provider = get_provider(f"csv:{shared_data / 'us'}", "us")
    expected = {}
    for name in ("momentum", "wheel"):  # the same backtests, run here side by side
        m = run_strategy(name, provider, window["start"], window["end"], 100_000.0).metrics
        expected[name] = float(score(m["sharpe"], m["total_return"], m["max_drawdown"]))
    rows = {a["strategy_name"]: a for a in r.json()["allocations"]}
    assert {k: v["score"] for k, v in rows.items()} == pytest.approx(expected, rel=1e-12)
    best = max(expected, key=lambda k: expected[k])
    assert rows[best]["weight"] == pytest.approx(0.8, abs=1e-6)  # the LP puts the cap on it
    orb_only = http.post("/portfolio/initialize", json={"capital": 1_000, "strategies": [
        {"name": "mine", "symbol": "SPY"}], "min_weight": 1, "max_weight": 1})  # fmt: skip
    assert orb_only.status_code == 200
    unknown = http.post("/portfolio/rebalance", json=window)
    assert unknown.status_code == 422 and "pass metrics for it" in unknown.json()["detail"]
