"""The synthetic demo market: determinism, shape, realism of its volatility index, its tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantalloc.data import PriceProvider
from quantalloc.data.demo import RATINGS, DemoProvider
from quantalloc.data.tables import validate_table
from quantalloc.errors import DataError

MARKETS = ("in", "us")


@pytest.fixture(scope="module", params=MARKETS)
def demo(request: pytest.FixtureRequest) -> DemoProvider:
    return DemoProvider(request.param)


def test_is_a_synthetic_price_provider(demo: DemoProvider) -> None:
    assert isinstance(demo, PriceProvider)
    assert demo.synthetic is True
    assert demo.name == f"demo:{demo.market.name}"


def test_same_seed_same_frames_other_seed_differs() -> None:
    a = DemoProvider("in", seed=11, start="2020-01-01", end="2022-12-31")
    b = DemoProvider("in", seed=11, start="2020-01-01", end="2022-12-31")
    c = DemoProvider("in", seed=12, start="2020-01-01", end="2022-12-31")
    pd.testing.assert_frame_equal(a.history("SYNBANK1"), b.history("SYNBANK1"))
    pd.testing.assert_frame_equal(a.universe(), b.universe())
    assert not np.allclose(a.history("SYNBANK1")["close"], c.history("SYNBANK1")["close"])
    # The two markets are different draws.
    us = DemoProvider("us", seed=11, start="2020-01-01", end="2022-12-31")
    assert not np.allclose(a.history("SYNBANK1")["close"], us.history("SYNBANK1")["close"])


def test_history_covers_business_days_2016_2025(demo: DemoProvider) -> None:
    frame = demo.history(demo.market.index_symbol)
    assert frame.index[0] == pd.Timestamp("2016-01-01")
    assert frame.index[-1] == pd.Timestamp("2025-12-31")
    assert len(frame) == len(pd.bdate_range("2016-01-01", "2025-12-31"))
    assert frame.index.day_of_week.max() < 5
    window = demo.history(demo.market.index_symbol, "2020-03-01", "2020-03-31")
    assert len(window) == 22  # business days of March 2020


def test_universe_shape(demo: DemoProvider) -> None:
    uni = demo.universe()
    assert list(uni.columns) == [
        "symbol",
        "industry",
        "sector",
        "fno_stock",
        "lot_size",
        "market_cap_category",
    ]
    assert len(uni) >= 50
    assert uni["industry"].nunique() >= 10
    assert uni["sector"].nunique() < uni["industry"].nunique()  # industries grouped in sectors
    assert set(uni["market_cap_category"]) == {"Large", "Mid", "Small", "Micro"}
    assert uni["symbol"].str.startswith("SYN").all()  # clearly not real tickers
    assert uni.groupby("industry")["sector"].nunique().max() == 1
    validate_table("stock_data", uni)  # the universe is a valid stock_data table
    for symbol in uni["symbol"]:
        assert symbol in demo.symbols()
    assert demo.market.index_symbol in demo.symbols()
    assert demo.market.vol_index_symbol in demo.symbols()


def test_lot_sizes_follow_the_market() -> None:
    us = DemoProvider("us").universe()
    assert (us["lot_size"] == 100).all()
    india = DemoProvider("in")
    uni = india.universe()
    last = india.closes(list(uni["symbol"])).iloc[-1]
    lot_value = uni.set_index("symbol")["lot_size"] * last
    # NSE-like: lots are round numbers worth about 7.5 lakh rupees.
    assert lot_value.between(3e5, 1.5e6).all()
    assert ((uni["lot_size"] % 5 == 0) | (uni["lot_size"] < 10)).all()
    assert uni["lot_size"].nunique() > 10


def test_industry_allocations_table(demo: DemoProvider) -> None:
    alloc = demo.industry_allocations()
    checked = validate_table("industry_allocations_current", alloc)
    assert checked["weight_percentage"].sum() <= 100
    assert set(alloc["industry"]) == set(demo.universe()["industry"])
    assert set(alloc["rating"]) == set(RATINGS)
    pos = dict(zip(alloc["rating"], alloc["position_type"], strict=True))
    assert pos["Strong Overweight"] == "LONG" and pos["Strong Underweight"] == "SHORT"
    assert pos["Neutral"] == "NEUTRAL"
    validate_table("sector_allocations_current", demo.sector_allocations())


def test_ratings_follow_trailing_industry_trend(demo: DemoProvider) -> None:
    """Overweight industries gained more over the last 126 days than underweight ones."""
    uni = demo.universe()
    closes = demo.closes(list(uni["symbol"]))
    gain = np.log(closes.iloc[-1] / closes.iloc[-127])
    by_ind = gain.groupby(uni.set_index("symbol")["industry"]).mean()
    alloc = demo.industry_allocations().set_index("industry")
    strong = by_ind[alloc.index[alloc.rating == "Strong Overweight"]].mean()
    weak = by_ind[alloc.index[alloc.rating == "Strong Underweight"]].mean()
    assert strong > weak


def test_vol_index_levels_are_realistic(demo: DemoProvider) -> None:
    vix = demo.history(demo.market.vol_index_symbol)["close"]
    low, high = (10, 30) if demo.market.name == "in" else (11, 35)
    share = vix.between(low, high).mean()
    assert share > 0.8, f"only {share:.0%} of days in [{low}, {high}]"
    assert vix.max() > 40  # spikes in stress
    assert vix.min() > 5
    regimes = demo.regimes()
    spikes = regimes[vix > 40]
    assert (spikes == "stressed").mean() > 0.6  # spikes happen in stress
    med = vix.groupby(regimes).median()
    assert med["calm"] < med["normal"] < med["stressed"]


def test_vol_index_tracks_realised_volatility(demo: DemoProvider) -> None:
    """The index's 21-day realised vol and the vol index move together (corr > 0.6)."""
    close = demo.history(demo.market.index_symbol)["close"]
    realised = np.log(close).diff().rolling(21).std().shift(-21) * np.sqrt(252) * 100
    vix = demo.history(demo.market.vol_index_symbol)["close"]
    both = pd.concat([realised, vix], axis=1).dropna()
    assert both.corr().iloc[0, 1] > 0.6


def test_factor_structure(demo: DemoProvider) -> None:
    """Stocks of one industry co-move more than stocks of different industries."""
    uni = demo.universe()
    rets = np.log(demo.closes(list(uni["symbol"]))).diff().dropna()
    corr = rets.corr().to_numpy()
    same = uni["industry"].to_numpy()[:, None] == uni["industry"].to_numpy()[None, :]
    off = ~np.eye(len(uni), dtype=bool)
    within, across = corr[same & off].mean(), corr[~same].mean()
    assert across > 0.1  # the market factor
    assert within > across + 0.05  # the industry factors


def test_regimes_and_crashes(demo: DemoProvider) -> None:
    regimes = demo.regimes()
    assert set(regimes) == {"calm", "normal", "stressed"}
    # Markov persistence: far fewer switches than days.
    assert (regimes != regimes.shift()).sum() < len(regimes) / 20
    index = demo.history(demo.market.index_symbol)["close"]
    rets = np.log(index).diff()
    worst = rets.nsmallest(10).index
    assert (regimes[worst] == "stressed").mean() >= 0.7  # crashes cluster in stress
    sigma = demo.conditional_vol()
    realised = rets.groupby(regimes).std() * np.sqrt(252)
    assert realised["calm"] < realised["normal"] < realised["stressed"]
    assert sigma.between(0.05, 1.3).all()


def test_history_long_enough_for_yearly_windows(demo: DemoProvider) -> None:
    close = demo.history(demo.market.index_symbol)["close"]
    assert close.rolling(252).mean().notna().sum() > 2000


def test_unknown_symbol_and_empty_range(demo: DemoProvider) -> None:
    with pytest.raises(DataError, match="RELIANCE: not in the demo market"):
        demo.history("RELIANCE")
    with pytest.raises(DataError, match="no rows between 2030-01-01"):
        demo.history("SYNBANK1", "2030-01-01")
    assert demo.history("synbank1")["close"].iloc[0] > 0  # lookup ignores case


def test_too_short_span_is_refused() -> None:
    with pytest.raises(DataError, match="at least 300"):
        DemoProvider("us", start="2024-01-01", end="2024-03-01").symbols()


def test_frames_are_copies(demo: DemoProvider) -> None:
    frame = demo.history("SYNBANK1")
    frame.loc[:, "close"] = -1.0
    assert (demo.history("SYNBANK1")["close"] > 0).all()
    uni = demo.universe()
    uni.loc[:, "lot_size"] = 0
    assert (demo.universe()["lot_size"] > 0).all()
