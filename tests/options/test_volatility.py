"""Vol inputs: realized vol, the vol-index proxy, the skew, and chain vol surfaces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantalloc.data.chains import load_chain, validate_chain
from quantalloc.errors import ConfigError, DataError
from quantalloc.options import ChainVolSurface, SkewModel, realized_vol, vol_proxy


def test_realized_vol_by_hand() -> None:
    # log returns ln(1.1), ln(1/1.1), ln(1.1): mean m = ln(1.1)/3,
    # sample variance = sum((r - m)^2) / 2; annualized with sqrt(252)
    prices = [100.0, 110.0, 100.0, 110.0]
    r = np.log(1.1) * np.array([1.0, -1.0, 1.0])
    expected = np.sqrt(np.sum((r - r.mean()) ** 2) / 2 * 252)
    assert realized_vol(prices, window=None) == pytest.approx(expected, rel=1e-12)
    # the window keeps the last window+1 prices: a constant-growth tail has zero vol
    assert realized_vol([50.0, 100.0, 101.0, 102.01, 103.0301], window=3) == pytest.approx(
        0.0, abs=1e-12
    )


def test_realized_vol_recovers_gbm_sigma() -> None:
    # simulated GBM with sigma 30%: 5000 daily returns estimate it to within ~2% (4 std errors)
    rng = np.random.default_rng(5)
    prices = 100 * np.exp(np.cumsum(rng.normal(0, 0.30 / np.sqrt(252), 5000)))
    assert realized_vol(prices, window=None) == pytest.approx(0.30, rel=0.04)


def test_vol_proxy_scales_by_vol_index() -> None:
    rng = np.random.default_rng(6)
    sym = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, 300)))
    idx = 1000 * np.exp(np.cumsum(rng.normal(0, 0.01, 300)))
    expected = realized_vol(sym, 63) * 0.20 / realized_vol(idx, 63)
    assert vol_proxy(sym, idx, 20.0) == pytest.approx(expected, rel=1e-12)
    # clipped into [min_vol, max_vol]
    assert vol_proxy(sym, idx, 20.0, max_vol=0.1) == 0.1
    with pytest.raises(DataError, match="volatility index level"):
        vol_proxy(sym, idx, 0.0)
    with pytest.raises(DataError, match="at least 3 prices"):
        realized_vol([100.0, 101.0])
    with pytest.raises(ConfigError, match="window"):
        realized_vol(sym, window=1)


def test_skew_by_hand() -> None:
    skew = SkewModel()  # put slope 1.0, call slope 0.3
    # t = 0.25 -> sqrt 0.5; K=90: x = ln(0.9)/0.5 = -0.21072 -> factor 1.21072
    # K=110: x = ln(1.1)/0.5 = 0.19062 -> factor 1 - 0.3*0.19062 = 0.94281
    f = skew.factor(100.0, [90.0, 100.0, 110.0], 0.25)
    assert f == pytest.approx([1 - np.log(0.9) / 0.5, 1.0, 1 - 0.3 * np.log(1.1) / 0.5])
    assert skew.vol(0.2, 100.0, [100.0], 0.25)[0] == pytest.approx(0.2)
    # puts' side rises monotonically as the strike falls, and is capped
    k = np.linspace(20, 100, 50)
    assert np.all(np.diff(skew.factor(100.0, k, 0.1)) <= 0)
    assert skew.factor(100.0, [1.0], 0.1)[0] == skew.max_factor
    with pytest.raises(ConfigError):
        SkewModel(min_factor=1.5)


def _small_chain() -> pd.DataFrame:
    # two expiries 73 and 146 days after 2026-01-01 (0.2 and 0.4 years); spot 100
    rows = []
    for expiry, vols in (("2026-03-15", (0.30, 0.25, 0.22)), ("2026-05-27", (0.28, 0.24, 0.23))):
        for strike, v in zip((90.0, 100.0, 110.0), vols, strict=True):
            for kind in ("call", "put"):
                rows.append((expiry, strike, kind, v, 1.0))
    frame = pd.DataFrame(rows, columns=["expiry", "strike", "kind", "implied_vol", "bid"])
    frame["spot"] = 100.0
    frame["as_of"] = "2026-01-01"
    return validate_chain(frame)


def test_chain_surface_interpolation_by_hand() -> None:
    surf = ChainVolSurface.from_chain(_small_chain())
    assert surf.expiries_t == pytest.approx([73 / 365, 146 / 365])
    # on a listed expiry: linear in strike between quotes, flat beyond
    assert surf.vol([95.0], 0.2)[0] == pytest.approx(0.275)
    assert surf.vol([80.0, 120.0], 0.2) == pytest.approx([0.30, 0.22])
    # between expiries: linear in total variance; at K=100, t=0.3:
    # w = 0.25^2*0.2 + (0.24^2*0.4 - 0.25^2*0.2) * 0.5 = 0.0240 -> vol = sqrt(0.0240/0.3)
    t0, t1 = 73 / 365, 146 / 365
    w0, w1 = 0.25**2 * t0, 0.24**2 * t1
    expected = np.sqrt((w0 + (w1 - w0) * (0.3 - t0) / (t1 - t0)) / 0.3)
    assert surf.vol([100.0], 0.3)[0] == pytest.approx(expected)
    assert surf.atm_vol(5.0) == pytest.approx(0.24)  # beyond the last expiry: its smile


def test_chain_surface_errors() -> None:
    chain = _small_chain()
    with pytest.raises(DataError, match="no spot"):
        ChainVolSurface.from_chain(chain.assign(spot=np.nan))
    with pytest.raises(DataError, match="no quote date"):
        ChainVolSurface.from_chain(chain.assign(as_of=pd.NaT))
    with pytest.raises(DataError, match="vol proxy"):
        ChainVolSurface.from_chain(chain.assign(implied_vol=np.nan))


def test_chain_surface_on_real_chain(shared_data: Path) -> None:
    chain = load_chain(shared_data / "us/options/SPY_2026-05-01.csv")
    surf = ChainVolSurface.from_chain(chain)
    # on a listed expiry and quoted OTM strike, the surface returns the quote itself
    row = chain[(chain.kind == "put") & (chain.strike == 700.0) & (chain.bid > 0)].iloc[0]
    t = (row["expiry"] - pd.Timestamp("2026-05-01")).days / 365
    assert surf.vol([700.0], t)[0] == pytest.approx(row["implied_vol"])
    # put skew: a 10% OTM put has a higher vol than at the money for a 1-month expiry
    assert surf.vol([0.9 * 720.65], 30 / 365)[0] > surf.atm_vol(30 / 365)
    assert 0.05 < surf.atm_vol(0.25) < 0.6
