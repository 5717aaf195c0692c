"""Put-call ratio and max pain on hand-made chains (values worked by hand) and the real chains."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantalloc.data.chains import load_chain, validate_chain
from quantalloc.errors import ConfigError, DataError
from quantalloc.regime.chain_analytics import (
    max_pain,
    pain_curve,
    parity_spot,
    put_call_ratio,
    put_call_table,
)

E1, E2 = "2026-01-16", "2026-02-20"


@pytest.fixture
def chain() -> pd.DataFrame:
    # Expiry E1, strikes 90/100/110:  call OI 10/20/30, put OI 40/20/5;
    #                                 call volume 1/2/3, put volume 4/5/6.
    # Expiry E2, strikes 100/120:     call OI 5/0, put OI 0/8; volume all 1.
    rows = [
        (E1, 90, "call", 10, 1),
        (E1, 100, "call", 20, 2),
        (E1, 110, "call", 30, 3),
        (E1, 90, "put", 40, 4),
        (E1, 100, "put", 20, 5),
        (E1, 110, "put", 5, 6),
        (E2, 100, "call", 5, 1),
        (E2, 120, "call", 0, 1),
        (E2, 100, "put", 0, 1),
        (E2, 120, "put", 8, 1),
    ]
    frame = pd.DataFrame(rows, columns=["expiry", "strike", "kind", "open_interest", "volume"])
    frame["spot"] = 100.0
    return validate_chain(frame)


def test_pcr_by_hand(chain: pd.DataFrame) -> None:
    # whole chain OI: puts 40+20+5+0+8 = 73, calls 10+20+30+5+0 = 65
    assert put_call_ratio(chain, by="oi") == pytest.approx(73 / 65)
    # E1 OI: 65 / 60; E1 volume: (4+5+6) / (1+2+3) = 15/6
    assert put_call_ratio(chain, by="oi", expiry=E1) == pytest.approx(65 / 60)
    assert put_call_ratio(chain, by="volume", expiry=E1) == pytest.approx(2.5)
    # E2 OI: 8 / 5
    assert put_call_ratio(chain, expiry=pd.Timestamp(E2)) == pytest.approx(1.6)
    # +-5% of spot 100 keeps strike 100 only: E1 OI 20/20, volume 5/2
    assert put_call_ratio(chain, expiry=E1, moneyness_band=0.05) == pytest.approx(1.0)
    assert put_call_ratio(chain, "volume", E1, 0.05) == pytest.approx(2.5)
    # +-10% keeps 90/100/110 of E1 and 100 of E2: puts 65+0, calls 60+5
    assert put_call_ratio(chain, moneyness_band=0.10) == pytest.approx(65 / 65)


def test_max_pain_by_hand(chain: pd.DataFrame) -> None:
    # E1 payout if settling at S (calls: OI*(S-K)+, puts: OI*(K-S)+):
    #   S=90:  puts 20*10 + 5*20 = 300
    #   S=100: call90 10*10 + put110 5*10 = 150   <- minimum
    #   S=110: call90 10*20 + call100 20*10 = 400
    curve = pain_curve(chain, E1)
    assert curve.to_dict() == {90.0: 300.0, 100.0: 150.0, 110.0: 400.0}
    assert max_pain(chain, E1) == 100.0
    assert max_pain(chain) == 100.0  # nearest expiry is E1
    # E2: S=100 -> put120 8*20 = 160; S=120 -> call100 5*20 = 100  => 120
    assert max_pain(chain, E2) == 120.0


def test_put_call_table(chain: pd.DataFrame) -> None:
    table = put_call_table(chain)
    assert table.index.tolist() == [pd.Timestamp(E1), pd.Timestamp(E2)]
    assert table["pcr_oi"].tolist() == pytest.approx([65 / 60, 8 / 5])
    assert table["pcr_volume"].tolist() == pytest.approx([2.5, 1.0])
    assert table["max_pain"].tolist() == [100.0, 120.0]


def test_parity_spot_by_hand() -> None:
    # strikes 95/100/105 with call-put mids 5.5-0.5, 2-2, 0.4-5.4: C - P + K = 100, 100, 100
    frame = pd.DataFrame(
        {
            "expiry": [E1] * 6,
            "strike": [95, 95, 100, 100, 105, 105],
            "kind": ["call", "put"] * 3,
            "bid": [5.4, 0.4, 1.9, 1.9, 0.3, 5.3],
            "ask": [5.6, 0.6, 2.1, 2.1, 0.5, 5.5],
        }
    )
    chain = validate_chain(frame)
    assert parity_spot(chain) == pytest.approx(100.0)
    assert parity_spot(chain, n_strikes=1) == pytest.approx(100.0)
    with pytest.raises(DataError, match="both a call and a put"):
        parity_spot(chain[chain.kind == "call"])


def test_errors(chain: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"no rows for expiry 2026-03-20.*2026-01-16, 2026-02-20"):
        put_call_ratio(chain, expiry="2026-03-20")
    with pytest.raises(DataError, match="no rows for expiry"):
        max_pain(chain, "2026-03-20")
    with pytest.raises(ConfigError, match="by='oi'"):
        put_call_ratio(chain, by="gamma")
    no_oi = chain.assign(open_interest=0.0)
    with pytest.raises(DataError, match="no open interest"):
        max_pain(no_oi)
    with pytest.raises(DataError, match="call open interest is zero"):
        put_call_ratio(no_oi)
    with pytest.raises(DataError, match="no open interest data"):
        put_call_ratio(chain.assign(open_interest=np.nan))
    with pytest.raises(DataError, match="no strikes within"):
        put_call_ratio(chain, moneyness_band=0.01, spot=150.0)
    with pytest.raises(DataError, match="pass spot"):
        put_call_ratio(chain.assign(spot=np.nan), moneyness_band=0.05)
    with pytest.raises(DataError, match="empty"):
        max_pain(chain.iloc[:0])


def test_real_chains(shared_data: Path) -> None:
    spy = load_chain(shared_data / "us/options/SPY_2026-05-01.csv")
    pcr = put_call_ratio(spy, by="oi")
    # recompute independently from the raw file
    raw = pd.read_csv(shared_data / "us/options/SPY_2026-05-01.csv")
    oi = raw.groupby("option_type")["openInterest"].sum()
    assert pcr == pytest.approx(oi["put"] / oi["call"])
    assert 0.2 < pcr < 5
    # max pain of the nearest expiry lies within the traded strikes and near spot (+-15%)
    mp = max_pain(spy)
    assert 0.85 * 720.65 < mp < 1.15 * 720.65
    near = put_call_ratio(spy, by="volume", moneyness_band=0.05)
    assert np.isfinite(near) and near > 0
    table = put_call_table(spy)
    assert len(table) == 24

    nifty = load_chain(shared_data / "in/options/NIFTY_2024-06-27_expiry_chain_a.json")
    # max pain is the argmin of a brute-force payout over every strike
    strikes = np.sort(nifty["strike"].unique())
    payout = [
        sum(
            r.open_interest * max(s - r.strike, 0.0)
            if r.kind == "call"
            else r.open_interest * max(r.strike - s, 0.0)
            for r in nifty.itertuples()
        )
        for s in strikes
    ]
    assert max_pain(nifty) == strikes[int(np.argmin(payout))]
    assert abs(max_pain(nifty) / 23501.1 - 1) < 0.05
    assert put_call_ratio(nifty, moneyness_band=0.03) > 0

    eod = load_chain(shared_data / "us/options/SPY_2015-01-05.csv")
    with pytest.raises(DataError, match="pass spot"):
        put_call_ratio(eod, moneyness_band=0.05)
    # this chain has no spot; parity recovers it: SPY closed at 201.72 on 2015-01-05
    # (us/etf/SPY.csv, an independent file), within 0.5%
    spot = parity_spot(eod)
    close = pd.read_csv(shared_data / "us/etf/SPY.csv", index_col="Date").loc["2015-01-05", "Close"]
    assert abs(spot / close - 1) < 0.005
    assert put_call_ratio(eod, moneyness_band=0.05, spot=spot) > 0
