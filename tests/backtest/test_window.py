"""BacktestWindow: the one place a run's capital and dates are checked (run and batch alike)."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from quantalloc.backtest import BacktestWindow, run_batch
from quantalloc.errors import ConfigError
from tests.backtest.helpers import FrameProvider


def test_dates_are_parsed_and_capital_is_a_float() -> None:
    w = BacktestWindow(FrameProvider({}), "2020-01-02", None, 100_000)
    assert w.start == pd.Timestamp("2020-01-02") and w.end is None
    assert isinstance(w.capital, float) and w.capital == 100_000.0
    moved = dataclasses.replace(w, end="2020-03-31")  # a copy is checked like a new window
    assert moved.end == pd.Timestamp("2020-03-31") and moved.start == w.start


@pytest.mark.parametrize(
    ("start", "end", "capital", "message"),
    [
        ("2020-01-02", "2020-03-31", 0, "capital must be a positive number, got 0"),
        ("2020-01-02", "2020-03-31", "1e5", "capital must be a positive number, got '1e5'"),
        ("soon", None, 1e5, "start date 'soon' is not a date; write YYYY-MM-DD"),
        ("2020-03-31", "2020-01-02", 1e5, "start 2020-03-31 is after end 2020-01-02; swap them"),
    ],
)
def test_bad_values_raise_one_line(
    start: str, end: str | None, capital: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        BacktestWindow(FrameProvider({}), start, end, capital)  # type: ignore[arg-type]


def test_run_batch_checks_the_window_as_run_strategy_does() -> None:
    with pytest.raises(ConfigError, match="capital must be a positive number"):
        run_batch("momentum", FrameProvider({}), None, None, -1.0, [{}])
    with pytest.raises(ConfigError, match="swap them"):
        run_batch("momentum", FrameProvider({}), "2020-03-31", "2020-01-02", 1e5, [{}])


def test_registry_range_checks_a_parameter_instance_before_any_run() -> None:
    from quantalloc.backtest import make_params
    from quantalloc.backtest.strategies.momentum import MomentumParams

    with pytest.raises(ConfigError, match="momentum parameter sma_days must be >= 2, got 1"):
        make_params("momentum", MomentumParams(sma_days=1))
