"""The volatility index from a chain: Cboe's worked example to its published digits, the SPX
2019 chains against the published VIX, and NIFTY's level against its at-the-money implied vol."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantalloc.data import get_chain_source
from quantalloc.data.chains import validate_chain
from quantalloc.errors import DataError
from quantalloc.options.chain_vols import atm_vols, constant_maturity_vol, strike_table
from quantalloc.regime.vol_index import term_variance, thirty_day_index, vol_index_from_chain
from tests.regime import cboe_example as ex


def _term(term: str, minutes: int, rate: float):  # type: ignore[no-untyped-def]
    rows = pd.DataFrame(ex.chain_rows(term)).assign(expiry="2022-10-21", symbol="SPX", root="SPXW")
    return term_variance(strike_table(validate_chain(rows)), minutes / ex.YEAR_MINUTES, rate)


@pytest.mark.parametrize(
    ("term", "minutes", "rate", "forward", "strip_sum", "sigma2"),
    [
        ("near", ex.NEAR_MINUTES, ex.NEAR_RATE, ex.NEAR_FORWARD, ex.NEAR_STRIP_SUM, ex.NEAR_SIGMA2),
        ("next", ex.NEXT_MINUTES, ex.NEXT_RATE, ex.NEXT_FORWARD, ex.NEXT_STRIP_SUM, ex.NEXT_SIGMA2),
    ],
)
def test_cboe_worked_example_per_term(
    term: str, minutes: int, rate: float, forward: float, strip_sum: float, sigma2: float
) -> None:
    got = _term(term, minutes, rate)
    assert got.forward == pytest.approx(forward, abs=1e-4)
    assert got.k0 == ex.K0
    # exactly Cboe's strip: the same strikes (zero bids skipped, two in a row stop a wing), the
    # same Q(K) and the same delta-K taken over the included neighbours
    published = {(float(k), kind): (q, dk) for k, kind, q, dk in ex.STRIPS[term]}
    mine = {(r.strike, r.kind): (r.q, r.dk) for r in got.strip.itertuples()}
    assert set(mine) == set(published)
    for key, (q, dk) in published.items():
        assert mine[key] == pytest.approx((q, dk), abs=1e-12), key
    # Appendix 5 prints the strip sum to 10 decimals; sigma^2 is printed to 9
    assert got.strip["contribution"].sum() == pytest.approx(strip_sum, abs=1e-10)
    assert got.variance == pytest.approx(sigma2, abs=1e-9)


def test_cboe_worked_example_index() -> None:
    near = _term("near", ex.NEAR_MINUTES, ex.NEAR_RATE)
    nxt = _term("next", ex.NEXT_MINUTES, ex.NEXT_RATE)
    assert round(thirty_day_index(near, nxt), 2) == ex.VIX
    with pytest.raises(DataError, match="near term must expire before"):
        thirty_day_index(nxt, near)


@pytest.mark.slow
def test_spx_2019_chains_track_the_published_vix_real(shared_data: Path) -> None:
    source = get_chain_source(str(shared_data / "us/options/spx_2019"))
    vix = pd.read_csv(shared_data / "us/vix_daily_cboe.csv", index_col=0, parse_dates=True)
    diffs = []
    for session in source.sessions()[::2]:  # every other session keeps the test short
        chain = source.chain("SPX", session).frame
        level = vol_index_from_chain(chain, session, 0.024, "us").level  # 2019: T-bills ~2.4%
        diffs.append(level - vix.at[session, "CLOSE"])
    diffs_arr = np.abs(np.asarray(diffs))
    # end-of-day quotes and monthlies only, against Cboe's intraday weeklies: close, not equal
    assert np.median(diffs_arr) < 1.0 and diffs_arr.max() < 2.5


@pytest.mark.slow
def test_nifty_level_against_atm_implied_vol_real(shared_data: Path) -> None:
    source = get_chain_source(str(shared_data / "in/fo_bhavcopy"))
    ratios = []
    for session in source.sessions()[::2]:  # every other session keeps the test short
        chain = source.chain("NIFTY", session).frame
        index = vol_index_from_chain(chain, session, 0.065, "in")
        atm = constant_maturity_vol(atm_vols(chain, session, 0.065), 30.0)
        assert 7.0 < index.level < 30.0, session
        assert "interpolated to 30 days" in index.describe()
        ratios.append(index.level / (100 * atm))
    # a variance swap prices the whole smile, so it sits near the ATM vol (above it when the
    # put skew is steep): every session within 20%, the median within 8%
    ratios_arr = np.asarray(ratios)
    assert np.all(np.abs(ratios_arr - 1) < 0.2) and abs(np.median(ratios_arr) - 1) < 0.08


def test_needs_two_monthlies_real(shared_data: Path) -> None:
    chain = get_chain_source(str(shared_data / "in/fo_bhavcopy")).chain("NIFTY", "2026-02-02")
    weekly_only = chain.frame.loc[chain.frame["expiry"] <= pd.Timestamp("2026-02-24")]
    with pytest.raises(DataError, match="has 1 monthly expiries at least 7 days out"):
        vol_index_from_chain(weekly_only, pd.Timestamp("2026-02-02"), 0.065, "in")
