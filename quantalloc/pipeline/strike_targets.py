"""Where a candidate's strikes go: the model's distances from spot, or its |delta| targets.

With ``[candidates] delta = [...]`` a target ``|delta|`` becomes, per symbol and expiry, the
distance from spot of the strike whose Black-Scholes delta is that target (at the symbol's
vol to the expiry: its chain's or proxy's smile where there is one, else its ATM vol). The
catalog places a strategy's legs by one distance, so the distance is the calls' for a
strategy with only calls, the puts' for one with only puts, and their mean for one with both
(an iron condor's two short strikes sit at about the target each). The strikes are then
snapped to the listed or grid strikes as with a distance.
"""

from __future__ import annotations

from datetime import date

from quantalloc.options.catalog import strategy_info
from quantalloc.options.strikes import VolFn, strike_for_delta

MAX_DISTANCE = 0.49
"""A distance target of the model is a fraction in [0, 0.5); a delta far out on a volatile
long-dated symbol is capped there."""


def strike_distances(
    strategy: str,
    distances: tuple[float, ...],
    deltas: tuple[float, ...],
    *,
    spot: float,
    vol: float | VolFn,
    as_of: date,
    expiry: date,
    rate: float,
) -> list[float]:
    """The strike distances from spot to build ``strategy`` at: ``distances`` as given, or
    one per target of ``deltas`` when there are any (see the module notes). A strategy whose
    strikes do not move with the distance takes one (the first)."""
    uses = strategy_info(strategy).uses_otm
    if not deltas:
        return list(distances if uses else distances[:1])
    kinds = {leg.kind for leg in strategy_info(strategy).legs if leg.otm_sign}
    t = max((expiry - as_of).days, 1) / 365.0
    out = []
    for d in deltas if uses else deltas[:1]:
        call = strike_for_delta("call", d, spot, t, rate, vol) / spot - 1.0
        put = 1.0 - strike_for_delta("put", d, spot, t, rate, vol) / spot
        if kinds == {"call"}:
            distance = call
        elif kinds == {"put"}:
            distance = put
        else:
            distance = 0.5 * (call + put)
        out.append(min(max(distance, 0.0), MAX_DISTANCE))
    return out


__all__ = ["MAX_DISTANCE", "strike_distances"]
