"""Volatility forecasts and the proxy: EWMA by hand, GARCH(1,1) against the arch package's own
forecast, gaps and corporate-action jumps left out, the measured ratio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantalloc.errors import ConfigError, DataError
from quantalloc.options.forecast import (
    TRADING_DAYS,
    Garch,
    daily_returns,
    ewma_variances,
    forecast_path,
    measured_ratio,
    proxy_vol,
)


def _walk(n: int, vol: float = 0.01, seed: int = 7) -> pd.Series:
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2020-01-01", periods=n)
    return pd.Series(100 * np.exp(np.cumsum(rng.normal(0, vol, n))), index=days)


def test_returns_skip_gaps_and_jumps() -> None:
    close = pd.Series(
        [100.0, 101.0, 102.0, 51.0, 52.0, 53.0],
        index=pd.to_datetime(
            ["2026-01-01", "2026-01-02", "2026-01-05", "2026-01-06", "2026-02-02", "2026-02-03"]
        ),
    )
    rets = daily_returns(close)
    # 01-06 halves the price (a 1:2 split read as a move: dropped and listed); 02-02 follows a
    # four-week hole (dropped); the others are one day's log returns
    assert rets.index.strftime("%m-%d").tolist() == ["01-02", "01-05", "02-03"]
    assert rets.attrs["dropped"] == ["2026-01-06"]
    assert rets.iloc[0] == pytest.approx(np.log(101 / 100))


def test_ewma_by_hand() -> None:
    rets = pd.Series([0.01, -0.02, 0.03, 0.0], index=pd.bdate_range("2026-01-01", periods=4))
    got = ewma_variances(rets, lam=0.9, seed=2)
    v = (0.01**2 + 0.02**2) / 2  # seed: mean square of the first two
    expect = []
    for x in rets:
        v = 0.9 * v + 0.1 * x * x
        expect.append(v)
    assert got.tolist() == pytest.approx(expect)
    with pytest.raises(ConfigError, match="decay"):
        ewma_variances(rets, lam=1.0)


def test_garch_horizon_matches_arch_forecast(shared_data: Path) -> None:
    from arch import arch_model

    from quantalloc.data import CsvProvider

    close = CsvProvider(shared_data / "us" / "etf").history("SPY", end="2017-12-29")["close"]
    rets = daily_returns(close).iloc[-1500:]
    model = Garch.fit(rets)
    assert 0.8 < model.persistence < 1.0
    res = arch_model(rets.to_numpy() * 100, mean="Constant", vol="GARCH", rescale=False).fit(
        disp="off"
    )
    # arch's own 21-day variance forecast, averaged over the horizon (percent^2 -> fraction)
    arch_var = res.forecast(horizon=21, reindex=False).variance.to_numpy()[-1] / 1e4
    arch_vol = float(np.sqrt(arch_var.mean() * TRADING_DAYS))
    mine = model.horizon_vol(model.variances(rets).iloc[-1], 21)
    assert mine == pytest.approx(arch_vol, rel=1e-6)


def test_garch_needs_history() -> None:
    with pytest.raises(DataError, match="needs 250 returns"):
        Garch.fit(daily_returns(_walk(100)))
    with pytest.raises(ConfigError, match="unknown"):
        forecast_path(_walk(300), method="har")


def test_measured_ratio_and_proxy() -> None:
    index = _walk(600, vol=0.01, seed=1)
    stock = _walk(600, vol=0.02, seed=2)
    fc = forecast_path(index, "ewma")
    implied = fc * 1.3  # an index whose implied vol runs 30% over its forecast
    as_of = index.index[-1]
    assert measured_ratio(implied, fc, as_of) == pytest.approx(1.3)
    got = proxy_vol(stock, fc, implied, as_of, method="ewma")
    assert got.ratio == pytest.approx(1.3)
    assert got.vol == pytest.approx(forecast_path(stock, "ewma").iloc[-1] * 1.3)
    # a GARCH that cannot be fitted (too short) falls back to EWMA and says so
    short = proxy_vol(stock.iloc[-120:], fc, implied, as_of, method="garch")
    assert short.method == "ewma" and "EWMA instead" in short.notes[0]
    with pytest.raises(DataError, match="the implied-to-forecast ratio needs 20"):
        measured_ratio(implied.iloc[:5], fc, as_of)


@pytest.mark.parametrize("symbol", ["AAPL", "XOM", "JPM"])
def test_the_last_forecast_without_the_path_is_the_paths_last_value(
    shared_data: Path, symbol: str
) -> None:
    """forecast_last (the proxy's and the IV rule's per-symbol forecast, on arrays) is the last
    value of forecast_path bit for bit, for both methods."""
    from quantalloc.options.forecast import forecast_last

    frame = pd.read_csv(
        shared_data / "us" / "daily" / f"{symbol}.csv", index_col=0, parse_dates=True
    )
    close = frame["Close"].iloc[:1000]
    for method in ("ewma", "garch"):
        assert forecast_last(close, method) == float(forecast_path(close, method).iloc[-1])
