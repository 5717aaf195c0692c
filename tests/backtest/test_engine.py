"""The compiled engine on hand-made bars where every fill can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantalloc.backtest.engine import EXIT_REASONS, Costs, simulate
from quantalloc.errors import ConfigError

# five bars: open, high, low, close
OP = np.array([10.0, 11.0, 12.0, 13.0, 14.0])
H = OP + 0.5
L = OP - 0.5
C = OP + 0.2


def _sig(*bars: int, n: int = 5) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    out[list(bars)] = True
    return out


def _reason(out, k: int = 0) -> str:  # type: ignore[no-untyped-def]
    return EXIT_REASONS[int(out.records[k, 8])]


def test_signal_fills_at_next_open_by_default() -> None:
    out = simulate(OP, H, L, C, _sig(0), _sig(2), capital=1100.0, record_trades=True)
    # buy 1100 / 11 = 100 units at bar 1's open, sell at bar 3's open (13)
    assert out.records[0, 1:6].tolist() == [1, 3, 11.0, 13.0, 100.0]
    np.testing.assert_allclose(out.equity[:, 0], [1100, 1120, 1220, 1300, 1300])
    assert out.in_position[:, 0].tolist() == [False, True, True, True, False]
    assert (out.trades[0], out.wins[0]) == (1, 1)


def test_same_bar_close_is_an_explicit_option() -> None:
    out = simulate(OP, H, L, C, _sig(0), _sig(2), capital=1020.0, fill="close", record_trades=True)
    # buy at bar 0's close 10.2 (100 units), sell at bar 2's close 12.2
    assert out.records[0, 3:6].tolist() == pytest.approx([10.2, 12.2, 100.0])
    assert out.equity[-1, 0] == pytest.approx(1220.0)


def test_stop_fills_at_level_inside_range_and_at_open_through_a_gap() -> None:
    o = np.array([100.0, 100.0, 99.0, 90.0])
    h = np.array([100.0, 101.0, 99.5, 91.0])
    lo = np.array([100.0, 99.0, 94.0, 89.0])
    c = np.array([100.0, 100.0, 96.0, 90.0])
    # entered at bar 1 open (100): stop 95 is reached inside bar 2's range -> filled at 95
    out = simulate(o, h, lo, c, _sig(0, n=4), _sig(n=4), capital=1000.0, stop_loss=0.05,
                   record_trades=True)  # fmt: skip
    assert out.records[0, 2] == 2 and out.records[0, 4] == 95.0 and _reason(out) == "stop"
    # the same trade when bar 2 gaps to 90 below the stop: filled at the open, not at 95
    o2, h2, lo2 = o.copy(), h.copy(), lo.copy()
    o2[2], h2[2], lo2[2] = 90.0, 92.0, 89.0
    out = simulate(o2, h2, lo2, c, _sig(0, n=4), _sig(n=4), capital=1000.0, stop_loss=0.05,
                   record_trades=True)  # fmt: skip
    assert out.records[0, 4] == 90.0 and out.equity[-1, 0] == pytest.approx(900.0)


def test_stop_is_assumed_first_when_both_levels_are_in_one_bar() -> None:
    o = np.array([100.0, 100.0, 100.0])
    h = np.array([100.0, 100.0, 120.0])
    lo = np.array([100.0, 100.0, 80.0])
    c = np.array([100.0, 100.0, 100.0])
    out = simulate(o, h, lo, c, _sig(0, n=3), _sig(n=3), capital=1000.0, stop_loss=0.1,
                   take_profit=0.1, record_trades=True)  # fmt: skip
    assert _reason(out) == "stop" and out.records[0, 4] == 90.0
    # take profit alone in the range: filled at the level
    lo[2] = 95.0
    out = simulate(o, h, lo, c, _sig(0, n=3), _sig(n=3), capital=1000.0, stop_loss=0.1,
                   take_profit=0.1, record_trades=True)  # fmt: skip
    assert _reason(out) == "take_profit" and out.records[0, 4] == pytest.approx(110.0)


def test_fees_and_slippage_by_hand() -> None:
    costs = Costs(fee_per_trade=1.0, fee_per_unit=0.01, fee_pct=0.001, slippage=0.01)
    out = simulate(OP, H, L, C, _sig(0), _sig(2), capital=1000.0, costs=costs, record_trades=True)
    buy = 11.0 * 1.01
    units = (1000.0 - 1.0) / (buy * 1.001 + 0.01)
    fee_in = 1.0 + units * 0.01 + units * buy * 0.001
    sell = 13.0 * 0.99
    fee_out = 1.0 + units * 0.01 + units * sell * 0.001
    final = 1000.0 - units * buy - fee_in + units * sell - fee_out
    assert out.records[0, 5] == pytest.approx(units)
    assert out.records[0, 7] == pytest.approx(fee_in + fee_out)
    assert out.equity[-1, 0] == pytest.approx(final)
    assert out.records[0, 6] == pytest.approx(final - 1000.0)


def test_whole_units_leave_the_remainder_in_cash() -> None:
    out = simulate(OP, H, L, C, _sig(0), _sig(2), capital=1000.0, whole_units=True,
                   record_trades=True)  # fmt: skip
    assert out.records[0, 5] == 90.0  # floor(1000 / 11)
    assert out.equity[-1, 0] == pytest.approx(1000.0 - 90 * 11 + 90 * 13)


def test_session_end_forces_flat_at_the_close_and_blocks_new_entries() -> None:
    entries = np.ones(5, dtype=bool)
    out = simulate(OP, H, L, C, entries, _sig(), capital=1000.0, force_exit=_sig(2),
                   record_trades=True)  # fmt: skip
    # in at bar 1's open, out at bar 2's close; the signal at bar 2's close (a session end)
    # is dropped rather than carried overnight, so the next entry is bar 3's, filled at bar 4
    assert out.records[0, 1:3].tolist() == [1, 2]
    assert _reason(out) == "session_close" and out.records[0, 4] == C[2]
    assert out.in_position[:, 0].tolist() == [False, True, True, False, True]


def test_open_position_at_the_end_is_marked_not_counted() -> None:
    out = simulate(OP, H, L, C, _sig(0), _sig(), capital=1100.0, record_trades=True)
    assert out.trades[0] == 0 and _reason(out) == "end_of_data"
    assert out.equity[-1, 0] == pytest.approx(100 * C[-1])


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_batch_columns_equal_single_runs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 60
    c = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    o = c * np.exp(rng.normal(0, 0.005, n))
    h = np.maximum(o, c) * 1.01
    lo = np.minimum(o, c) * 0.99
    ent = rng.random((n, 4)) < 0.2
    ext = rng.random((n, 4)) < 0.2
    sl = np.array([np.nan, 0.02, 0.05, 0.1])
    tp = np.array([0.03, np.nan, 0.1, np.nan])
    batch = simulate(o, h, lo, c, ent, ext, capital=1e4, stop_loss=sl, take_profit=tp,
                     costs=Costs(fee_pct=0.001))  # fmt: skip
    for k in range(4):
        one = simulate(o, h, lo, c, ent[:, k], ext[:, k], capital=1e4, stop_loss=sl[k],
                       take_profit=tp[k], costs=Costs(fee_pct=0.001))  # fmt: skip
        np.testing.assert_allclose(batch.equity[:, k], one.equity[:, 0])
        assert batch.trades[k] == one.trades[0]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(5, 55))
def test_no_look_ahead_future_bars_do_not_change_the_past(seed: int, cut: int) -> None:
    rng = np.random.default_rng(seed)
    n = 60
    c = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    o, h, lo = c * 1.001, c * 1.02, c * 0.98
    ent, ext = rng.random(n) < 0.2, rng.random(n) < 0.2
    full = simulate(o, h, lo, c, ent, ext, capital=1e4, stop_loss=0.03)
    part = simulate(o[:cut], h[:cut], lo[:cut], c[:cut], ent[:cut], ext[:cut], capital=1e4,
                    stop_loss=0.03)  # fmt: skip
    np.testing.assert_allclose(part.equity[:, 0], full.equity[:cut, 0])


def test_bad_inputs_raise_config_errors() -> None:
    with pytest.raises(ConfigError, match="fill"):
        simulate(OP, H, L, C, _sig(0), _sig(), capital=1.0, fill="tomorrow")
    with pytest.raises(ConfigError, match="stop_loss"):
        simulate(OP, H, L, C, _sig(0), _sig(), capital=1.0, stop_loss=-0.1)
    with pytest.raises(ConfigError, match="rows"):
        simulate(OP, H, L, C, _sig(0, n=3), _sig(), capital=1.0)
    with pytest.raises(ConfigError, match="slippage"):
        Costs(slippage=-1.0)


def test_a_strategys_parameters_are_checked_as_costs_when_built() -> None:
    # One cost record: MomentumParams inherits Costs' fields and its checks, so a NaN fee fails
    # where the parameters are made, not later when the engine reads them.
    from quantalloc.backtest.strategies.momentum import MomentumParams

    with pytest.raises(ConfigError, match="fee_per_trade"):
        MomentumParams(fee_per_trade=float("nan"))
    p = MomentumParams(fee_pct=0.001)
    assert p.costs() == Costs(fee_pct=0.001, slippage=0.0005)
    assert type(p.costs()) is Costs
