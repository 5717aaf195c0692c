"""The one strategy catalog: its leg templates agree with the builders' legs."""

from __future__ import annotations

from collections import Counter

import pytest

from quantalloc.errors import ConfigError
from quantalloc.options import STRATEGIES, Underlying, build_strategy, strategy_info
from quantalloc.options.catalog import strategy_direction, theta_positive_strategies


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_template_legs_are_the_builders_legs(name: str) -> None:
    """Same legs (kind, side, quantity) whichever way a strategy is built."""
    built = build_strategy(name, Underlying("X", 100.0, 0.25, market="us"), 30 / 365)
    from_builder = Counter((g.kind, g.side, g.quantity) for g in built.legs)
    from_template = Counter(
        (leg.kind, "buy" if leg.quantity > 0 else "sell", abs(leg.quantity))
        for leg in strategy_info(name).legs
    )
    assert from_builder == from_template
    assert built.theta_positive == strategy_info(name).theta_positive
    assert built.capital_rule == strategy_info(name).capital_rule


def test_template_strikes_by_rule() -> None:
    # bull call spread: long leg at 1 + otm - wing, short leg at 1 + otm (fractions of spot)
    long_leg, short_leg = strategy_info("bull_call_spread").legs
    assert long_leg.moneyness(0.03, 0.05) == pytest.approx(0.98)
    assert short_leg.moneyness(0.03, 0.05) == pytest.approx(1.03)
    front, back = strategy_info("calendar_spread").legs
    assert not front.back and back.back
    assert front.moneyness(0.03, 0.05) == back.moneyness(0.03, 0.05) == pytest.approx(1.0)


def test_derived_facts() -> None:
    assert not strategy_info("long_straddle").uses_otm
    assert not strategy_info("short_straddle").uses_otm
    assert strategy_info("iron_condor").uses_otm
    assert {n for n, s in STRATEGIES.items() if s.naked} == {"short_straddle", "short_strangle"}
    assert strategy_direction("bear_put_spread") == "SHORT"
    assert "iron_condor" in theta_positive_strategies()
    assert "long_call" not in theta_positive_strategies()
    with pytest.raises(ConfigError, match="unknown strategy 'nope'"):
        strategy_info("nope")
