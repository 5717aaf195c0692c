"""The options-flow part read from real and hand-made chains, and chains that must be refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantalloc.data.chains import load_chain, validate_chain
from quantalloc.errors import DataError
from quantalloc.regime import market_state, max_pain, put_call_ratio
from quantalloc.regime.flow import read_chain


def _chain(as_of: str | None, expiries=("2024-03-15", "2024-04-19"), call_volume: float = 10.0):
    rows = []
    for e in expiries:
        for k in (90.0, 100.0, 110.0):
            rows.append((e, k, "call", call_volume, 100.0))
            rows.append((e, k, "put", 12.0, 130.0))
    frame = pd.DataFrame(rows, columns=["expiry", "strike", "kind", "volume", "open_interest"])
    frame["spot"] = 100.0
    frame["as_of"] = pd.Timestamp(as_of) if as_of else pd.NaT
    return validate_chain(frame)


def test_spy_chain_of_5_january_2015(shared_data: Path, us_frames, regime_config) -> None:
    """The SPY end-of-day chain of 2015-01-05 with SPY's own history to that day: the options
    part is present, its ratios are exactly the chain analytics' figures, and the full
    40/35/25 weights are used."""
    chain = load_chain(shared_data / "us" / "options" / "SPY_2015-01-05.csv")
    state = market_state(
        us_frames["SPY"], us_frames["^VIX"], chain, "2015-01-05", market="us", config=regime_config
    )
    assert state.missing == () and state.options_flow_score is not None
    assert state.weights == pytest.approx(regime_config.weights)
    assert state.chain.pcr_volume == pytest.approx(put_call_ratio(chain, by="volume"))
    assert state.chain.pcr_oi == pytest.approx(put_call_ratio(chain, by="oi"))
    assert state.pcr == state.chain.pcr_oi
    nearest = chain["expiry"].min()
    assert state.chain.max_pain == pytest.approx(max_pain(chain, expiry=nearest))
    # the file has no spot column value, so SPY's close (201.72) stands in
    assert any("stands in" in n for n in state.notes)
    pull = (state.chain.max_pain / 201.72 - 1) / regime_config.options_flow.max_pain_scale
    assert state.components["options_flow.max_pain"] == pytest.approx(min(1.0, pull))
    assert -1 <= state.direction_score <= 1


def test_nifty_chain_of_june_2024(shared_data: Path, in_frames, regime_config) -> None:
    """The NIFTY chain for the 27 June 2024 expiry was taken with spot 23501.1, NIFTY's close on
    21 June 2024, so that is its as-of date. Upstox chains carry no quote date, which the state
    must say."""
    chain = load_chain(shared_data / "in" / "options" / "NIFTY_2024-06-27_expiry_chain_a.json")
    state = market_state(
        in_frames["^NSEI"], in_frames["^INDIAVIX"], chain, "2024-06-21", market="in",
        config=regime_config,
    )  # fmt: skip
    assert state.chain.max_pain == pytest.approx(max_pain(chain))
    assert state.chain.pcr_oi == pytest.approx(put_call_ratio(chain, by="oi"))
    assert state.components["options_flow.chain_spot"] == pytest.approx(23501.1)
    assert any("no quote date" in n for n in state.notes)
    # an expired chain is refused: every expiry lies before the as-of date
    with pytest.raises(DataError, match="every expiry"):
        market_state(
            in_frames["^NSEI"], in_frames["^INDIAVIX"], chain, "2024-07-05", market="in",
            config=regime_config,
        )  # fmt: skip


def test_chain_dates_are_checked(regime_config) -> None:
    cfg = regime_config.options_flow
    day = pd.Timestamp("2024-03-08")
    with pytest.raises(DataError, match="would look ahead"):
        read_chain(_chain("2024-03-11"), day, 100.0, cfg)
    with pytest.raises(DataError, match="20 days before the as-of date"):
        read_chain(_chain("2024-02-17"), day, 100.0, cfg)
    ok = read_chain(_chain("2024-03-07"), day, 100.0, cfg)
    # puts 12 vs calls 10 by volume, 130 vs 100 by open interest, in every row
    assert ok.pcr_volume == pytest.approx(1.2) and ok.pcr_oi == pytest.approx(1.3)
    assert ok.spot == 100.0 and ok.max_pain is not None
    with pytest.raises(DataError, match="columns"):
        read_chain(_chain("2024-03-07").drop(columns="open_interest"), day, 100.0, cfg)


def test_a_ratio_the_chain_cannot_give_is_left_out(regime_config) -> None:
    """No call volume at all: the volume PCR is undefined, so it is reported missing and the
    options part stands on the OI ratio and max pain alone."""
    reading = read_chain(_chain("2024-03-07", call_volume=0.0), pd.Timestamp("2024-03-08"),
                         100.0, regime_config.options_flow)  # fmt: skip
    assert reading.pcr_volume is None and reading.pcr_oi == pytest.approx(1.3)
    assert any("volume PCR not available" in n for n in reading.notes)


def test_max_pain_needs_a_spot_on_the_chains_scale(regime_config) -> None:
    """A chain without spot whose strikes do not bracket the index close (SPY strikes against
    the S&P 500 level, say) must not turn a tenfold scale gap into a max-pain signal."""
    chain = _chain("2024-03-07")
    chain["spot"] = np.nan
    reading = read_chain(chain, pd.Timestamp("2024-03-08"), 1000.0, regime_config.options_flow)
    assert reading.spot is None
    assert any("do not span the index close" in n for n in reading.notes)
