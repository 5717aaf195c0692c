"""Strikes by |delta|: the model's delta targets become strike distances per symbol and expiry.

Reference: Black-Scholes delta written out with scipy's normal CDF (N(d1) for a call,
N(d1) - 1 for a put), independent of :func:`quantalloc.options.strikes.strike_for_delta`.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pytest
from scipy.stats import norm

from quantalloc.errors import ConfigError
from quantalloc.pipeline import solve
from quantalloc.pipeline.model import load_toml, parse_model
from quantalloc.pipeline.strike_targets import strike_distances

AS_OF, EXPIRY = date(2026, 1, 2), date(2026, 2, 6)


def _bs_delta(kind: str, spot: float, strike: float, t: float, rate: float, vol: float) -> float:
    d1 = (math.log(spot / strike) + (rate + 0.5 * vol * vol) * t) / (vol * math.sqrt(t))
    return float(norm.cdf(d1)) if kind == "call" else float(norm.cdf(d1) - 1.0)


@pytest.mark.parametrize(
    ("strategy", "kind"), [("bull_put_spread", "put"), ("bear_call_spread", "call")]
)
def test_a_one_sided_strategy_sits_at_the_target_delta(strategy: str, kind: str) -> None:
    spot, vol, rate = 250.0, 0.32, 0.05
    t = (EXPIRY - AS_OF).days / 365.0
    for target, distance in zip(
        (0.30, 0.16),
        strike_distances(
            strategy, (0.03,), (0.30, 0.16), spot=spot, vol=vol, as_of=AS_OF, expiry=EXPIRY,
            rate=rate,
        ),
        strict=True,
    ):  # fmt: skip
        strike = spot * (1.0 + distance) if kind == "call" else spot * (1.0 - distance)
        assert abs(_bs_delta(kind, spot, strike, t, rate, vol)) == pytest.approx(target, abs=1e-9)


def test_a_two_sided_strategy_takes_the_mean_distance_and_otm_stays_the_default() -> None:
    kw: dict[str, Any] = {"spot": 100.0, "vol": 0.25, "as_of": AS_OF, "expiry": EXPIRY, "rate": 0}
    call = strike_distances("bear_call_spread", (0.03,), (0.2,), **kw)[0]
    put = strike_distances("bull_put_spread", (0.03,), (0.2,), **kw)[0]
    both = strike_distances("iron_condor", (0.03,), (0.2,), **kw)[0]
    assert both == pytest.approx(0.5 * (call + put)) and put < call
    assert strike_distances("iron_condor", (0.03, 0.06), (), **kw) == [0.03, 0.06]


def _model(delta: Any) -> Any:
    data: dict[str, Any] = load_toml("industry_first")
    data["scenarios"] = {**data["scenarios"], "n_scenarios": 200}
    data["candidates"] = {**data["candidates"], "delta": delta}
    return parse_model(data, source="industry_first (delta)")


def test_a_solve_places_strikes_by_delta_and_says_so() -> None:
    by_otm = solve(data="demo", risk="moderate", n_scenarios=200)
    by_delta = solve(model=_model([0.25]), data="demo", risk="moderate")
    assert any("strikes placed at |delta| 0.25" in n for n in by_delta.notes)
    assert len(by_delta.allocations)

    def strikes(frame: Any) -> set[tuple[str, float]]:
        return {
            (a["symbol"], leg["strike"])
            for a in frame.to_dict(orient="records")
            for leg in a["legs"]
            if leg["kind"] != "stock"
        }

    otm_strikes, delta_strikes = strikes(by_otm.allocations), strikes(by_delta.allocations)
    assert delta_strikes != otm_strikes  # the targets moved the strikes


def test_bad_delta_targets_name_the_rule() -> None:
    with pytest.raises(ConfigError, match=r"delta must be a list of \|delta\| targets in \(0, 1\)"):
        _model([0.3, 1.5])
