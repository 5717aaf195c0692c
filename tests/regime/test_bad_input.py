"""Bad input gives one clear DataError that says what is wrong and what is needed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantalloc.errors import DataError
from quantalloc.regime import market_state
from quantalloc.regime.inputs import required_price_rows


def _prices(
    n: int, start: str = "2020-01-01", drift: float = 0.0005, seed: int = 1
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(drift + 0.01 * rng.standard_normal(n)))
    idx = pd.bdate_range(start, periods=n, name="date")
    return pd.DataFrame(
        {
            "open": close,
            "high": close * 1.005,
            "low": close * 0.995,
            "close": close,
            "volume": 1e6,
        },
        index=idx,
    )


def _vol(index: pd.DatetimeIndex, level: float = 16.0, seed: int = 2) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(level * np.exp(0.05 * rng.standard_normal(len(index))), index=index)


def test_required_history_is_the_200_day_average(regime_config) -> None:
    need, what = required_price_rows(regime_config)
    assert need == 200 and "200-day moving average" in what


def test_too_little_price_history_says_how_much_is_needed(regime_config) -> None:
    px = _prices(150)
    with pytest.raises(DataError) as err:
        market_state(px, _vol(px.index), market="us", config=regime_config)
    msg = str(err.value)
    assert "150 rows" in msg and "at least 200 trading days" in msg
    assert "200-day moving average" in msg and "earlier" in msg


def test_too_little_vol_history_says_how_much_is_needed(regime_config) -> None:
    px = _prices(400)
    vol = _vol(px.index).iloc[-120:]  # the vol index starts 120 days before as-of
    with pytest.raises(DataError) as err:
        market_state(px, vol, market="us", config=regime_config, vol_name="^VIX")
    msg = str(err.value)
    assert msg.startswith("^VIX:") and "120 trading days" in msg and "needs 252" in msg


def test_vol_index_with_a_long_gap_is_refused(regime_config) -> None:
    px = _prices(400)
    vol = _vol(px.index)
    gap = vol.index[300:310]
    with pytest.raises(DataError) as err:
        market_state(px, vol.drop(gap), market="us", config=regime_config, vol_name="^VIX")
    msg = str(err.value)
    assert "10 consecutive trading days" in msg
    assert str(gap[0].date()) in msg and str(gap[-1].date()) in msg
    assert "at most 3" in msg


def test_vol_index_ending_early_is_a_gap(regime_config) -> None:
    px = _prices(400)
    vol = _vol(px.index).iloc[:-8]  # vol data stops 8 trading days before the index
    with pytest.raises(DataError, match="8 consecutive trading days"):
        market_state(px, vol, market="us", config=regime_config)


def test_short_vol_gaps_are_filled_noted_and_cost_confidence(regime_config) -> None:
    px = _prices(400)
    vol = _vol(px.index)
    clean = market_state(px, vol, market="us", config=regime_config)
    holed = market_state(
        px, vol.drop(vol.index[[350, 351, 370]]), market="us", config=regime_config
    )
    assert holed.data_quality < clean.data_quality
    assert holed.confidence < clean.confidence
    assert any("3 missing days" in n for n in holed.notes)
    # NaN readings count as missing, the same as absent rows
    nan_vol = vol.copy()
    nan_vol.iloc[[350, 351, 370]] = np.nan
    assert market_state(px, nan_vol, market="us", config=regime_config) == holed


@pytest.mark.parametrize(
    ("as_of", "phrase"),
    [("2010-01-01", "before the data"), ("2030-06-01", "after the data")],
)
def test_as_of_outside_the_data(regime_config, as_of: str, phrase: str) -> None:
    px = _prices(400)
    with pytest.raises(DataError) as err:
        market_state(px, _vol(px.index), as_of=as_of, market="us", config=regime_config)
    msg = str(err.value)
    assert phrase in msg and str(px.index[0].date()) in msg and str(px.index[-1].date()) in msg


def test_as_of_on_a_weekend_uses_the_last_bar_before_it(regime_config) -> None:
    px = _prices(400)
    friday = px.index[300:][px.index[300:].day_of_week == 4][0]
    sunday = friday + pd.Timedelta(days=2)
    a = market_state(px, _vol(px.index), as_of=sunday, market="us", config=regime_config)
    assert a.as_of == friday
    # and the day after the last bar (data not yet in) is allowed for a few days
    last = px.index[-1] + pd.Timedelta(days=3)
    assert (
        market_state(px, _vol(px.index), as_of=last, market="us", config=regime_config).as_of
        == px.index[-1]
    )


def test_unreadable_as_of(regime_config) -> None:
    px = _prices(400)
    with pytest.raises(DataError, match="not a date"):
        market_state(px, _vol(px.index), as_of="yesterday-ish", market="us", config=regime_config)


def test_broken_price_frames(regime_config) -> None:
    px = _prices(300)
    vol = _vol(px.index)
    holed = px.copy()
    holed.iloc[100, 3] = np.nan
    with pytest.raises(DataError, match="missing or non-positive prices"):
        market_state(holed, vol, market="us", config=regime_config)
    with pytest.raises(DataError, match="no 'close' column"):
        market_state(px.drop(columns="close"), vol, market="us", config=regime_config)
    with pytest.raises(DataError, match="not in increasing order"):
        market_state(px.iloc[::-1], vol, market="us", config=regime_config)
    dup = pd.concat([px.iloc[:250], px.iloc[249:]])
    with pytest.raises(DataError, match="duplicate date"):
        market_state(dup, vol, market="us", config=regime_config)
    with pytest.raises(DataError, match="non-positive readings"):
        market_state(px, -vol, market="us", config=regime_config)


def test_no_vol_index_needs_a_level(regime_config) -> None:
    px = _prices(300)
    with pytest.raises(DataError, match="no level given"):
        market_state(px, None, market="us", config=regime_config)
    state = market_state(px, None, market="us", config=regime_config, vix=35.0)
    assert state.vol.regime == "spike" and state.vol.percentile is None
    assert any("given by hand" in n for n in state.notes)
