"""Multi-strategy allocator on hand-made return histories."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from quantalloc.backtest.multi import MultiParams, WeightProgram, allocate, parse_cadence
from quantalloc.errors import ConfigError

DAYS = pd.bdate_range("2021-01-04", periods=60, name="date")


def _frame(values: np.ndarray, cols=("a", "b", "c")) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return pd.DataFrame(values, index=DAYS[: len(values)], columns=list(cols))


def test_score_objective_puts_most_on_the_best_and_the_floor_on_the_worst() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.002, (60, 3))
    rets = _frame(noise + np.array([0.002, 0.001, -0.001]))
    free = _frame(np.zeros((60, 3), dtype=bool))
    p = MultiParams(min_history=5)
    equity, weights, moved = allocate(rets, free, 1000.0, p)
    # a linear objective over 10%..50% boxes summing to 1: 50% / 40% / 10% by score rank
    np.testing.assert_allclose(weights.iloc[-1], [0.5, 0.4, 0.1], atol=1e-6)
    # before min_history the start weights (the floors, the rest spread evenly) hold, and drift
    assert moved.iloc[:4].sum() == 0 and moved.iloc[4]
    # equity compounds the sleeves by hand: day 0 starts from 1/3 each
    sleeves = 1000.0 / 3 * (1 + rets.iloc[0].to_numpy())
    assert equity.iloc[0] == pytest.approx(sleeves.sum())


def test_locked_strategy_keeps_its_capital() -> None:
    rets = _frame(np.tile([0.01, 0.0, -0.005], (30, 1)))
    locked = _frame(np.zeros((30, 3), dtype=bool))
    locked.iloc[:, 0] = True  # a is always in position
    equity, weights, _ = allocate(rets, locked, 900.0, MultiParams(min_history=2))
    sleeve_a = 300.0 * 1.01 ** np.arange(1, 31)
    np.testing.assert_allclose(weights["a"].to_numpy() * equity.to_numpy(), sleeve_a)


def test_cadence_waits_the_given_days_between_moves() -> None:
    rng = np.random.default_rng(1)
    rets = _frame(rng.normal(0.0005, 0.01, (60, 3)))
    free = _frame(np.zeros((60, 3), dtype=bool))
    p = MultiParams(min_history=2, cadence="30")
    _, weights, moved = allocate(rets, free, 1000.0, p)
    days = weights.index[moved.to_numpy()]
    assert len(days) >= 2
    assert (np.diff(days.to_numpy()).astype("timedelta64[D]").astype(int) >= 30).all()
    assert parse_cadence("immediate,60,180", 3).tolist() == [0, 60, 180]


def test_kelly_weights_beat_every_point_of_a_grid() -> None:
    rng = np.random.default_rng(2)
    hist = rng.normal([0.001, 0.0005, 0.0002], [0.02, 0.01, 0.003], (250, 3))
    prog = WeightProgram(3, 252, "kelly")
    w = prog.solve(hist, np.full(3, 0.1), np.full(3, 0.5))
    growth = lambda x: np.log1p(hist @ x).sum()  # noqa: E731
    grid = [
        np.array([a, b, 1 - a - b])
        for a, b in itertools.product(np.arange(0.1, 0.51, 0.01), repeat=2)
    ]
    best = max(growth(g) for g in grid if 0.1 - 1e-9 <= g[2] <= 0.5 + 1e-9)
    assert w.sum() == pytest.approx(1.0) and (w >= 0.1 - 1e-7).all() and (w <= 0.5 + 1e-7).all()
    assert growth(w) >= best - 1e-6


def test_no_look_ahead_weights_ignore_later_returns() -> None:
    rng = np.random.default_rng(3)
    rets = _frame(rng.normal(0.0005, 0.01, (60, 3)))
    free = _frame(rng.random((60, 3)) < 0.3)
    p = MultiParams(min_history=3, objective="kelly", lookback_days=20)
    eq_full, w_full, _ = allocate(rets, free, 1000.0, p)
    eq_part, w_part, _ = allocate(rets.iloc[:40], free.iloc[:40], 1000.0, p)
    pd.testing.assert_frame_equal(w_part, w_full.iloc[:40])
    pd.testing.assert_series_equal(eq_part, eq_full.iloc[:40])


def test_bad_settings_are_config_errors() -> None:
    from quantalloc.backtest import run_strategy
    from tests.backtest.helpers import FrameProvider

    prov = FrameProvider({})
    with pytest.raises(ConfigError, match="cannot have weights"):
        run_strategy("multi", prov, None, None, 1e5, {"min_weight": 0.4})
    with pytest.raises(ConfigError, match="not one of"):
        run_strategy("multi", prov, None, None, 1e5, {"strategies": "momentum,nope"})
    with pytest.raises(ConfigError, match="cadence"):
        run_strategy("multi", prov, None, None, 1e5, {"cadence": "weekly"})


def test_run_allocates_between_real_strategy_runs() -> None:
    from quantalloc.backtest import run_strategy
    from tests.backtest.helpers import FrameProvider, frame_from_closes

    rng = np.random.default_rng(4)
    idx = pd.bdate_range("2019-01-01", periods=260, name="date")
    spy = 100 * np.exp(np.cumsum(rng.normal(0.0004, 0.01, len(idx))))
    lev = 10 * np.exp(np.cumsum(3 * np.diff(np.log(spy), prepend=np.log(spy[0]))))
    prov = FrameProvider(
        {
            "SPY": frame_from_closes(spy, idx),
            "SPXL": frame_from_closes(lev, idx),
            "^VIX": frame_from_closes(np.full(len(idx), 18.0), idx),
        }
    )
    params = {"strategies": "momentum,wheel", "sub_params": "momentum.sma_days=20"}
    res = run_strategy("multi", prov, idx[0], idx[-1], 1e5, params)
    mom = run_strategy("momentum", prov, idx[0], idx[-1], 1e5, {"sma_days": 20})
    whl = run_strategy("wheel", prov, idx[0], idx[-1], 1e5)
    rets = pd.DataFrame({"momentum": mom.returns, "wheel": whl.returns})
    locked = pd.DataFrame({"momentum": mom.locked, "wheel": whl.locked})
    equity, weights, moved = allocate(rets, locked, 1e5, MultiParams(strategies="momentum,wheel"))
    np.testing.assert_allclose(res.equity.to_numpy(), equity.to_numpy())
    np.testing.assert_allclose(res.weights.to_numpy(), weights.to_numpy())
    doc = res.to_dict()
    assert doc["weights"][str(idx[-1].date())]["momentum"] == pytest.approx(
        weights.iloc[-1]["momentum"], abs=1e-6
    )
    # two strategies within 10%..50% summing to 1: every rebalance lands on 50/50
    assert set(res.trades["symbol"].str.split(":").str[0]) == {"momentum", "wheel"}
    assert moved.sum() > 0
    np.testing.assert_allclose(weights.loc[moved.to_numpy()].to_numpy(), 0.5, atol=1e-6)
