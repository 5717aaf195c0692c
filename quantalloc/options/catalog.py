"""The one strategy catalog: every option strategy declared once.

Each :class:`StrategyInfo` in :data:`STRATEGIES` states the facts the rest of the package
reads: its legs as a template (kind, signed quantity per lot, moneyness from the short-strike
distance ``otm`` and the spread width ``wing``, front or back expiry), its direction (LONG
bullish, SHORT bearish, NEUTRAL), whether it is net short premium (``theta_positive``), its
capital rule (see :mod:`quantalloc.options.strategy`) and whether its loss is bounded, and the
builders' default strike placement and wing width. The builders
(:mod:`quantalloc.options.builders`), the candidate rules, the candidate contracts and the model
files all read this table; adding a strategy means one entry here and its leg-placement function
in the builders.
"""

from __future__ import annotations

from dataclasses import dataclass

from quantalloc.errors import ConfigError
from quantalloc.options.legs import Direction
from quantalloc.options.strategy import CapitalRule
from quantalloc.options.strikes import ATM, StrikeRule

LegKindCode = str  # "call", "put" or "stock"


@dataclass(frozen=True, slots=True)
class LegTemplate:
    """One leg per lot: ``quantity`` (+ bought, - sold) of ``kind`` at a moneyness of spot.

    The strike is ``spot * moneyness(otm, wing)`` with ``moneyness = 1 + otm_sign * otm +
    wing_sign * wing + shift`` (stock legs have none); ``back`` puts the leg on the next monthly
    expiry after the front one (a calendar's long leg).
    """

    kind: LegKindCode
    quantity: float
    otm_sign: int = 0
    wing_sign: int = 0
    shift: float = 0.0
    back: bool = False

    def moneyness(self, otm: float, wing: float) -> float:
        """Strike over spot for short-strike distance ``otm`` and spread width ``wing``."""
        if self.kind == "stock":
            return 0.0
        return 1.0 + self.otm_sign * otm + self.wing_sign * wing + self.shift


@dataclass(frozen=True, slots=True)
class StrategyInfo:
    """Static facts about one strategy type (see the module notes)."""

    name: str
    display_name: str
    direction: Direction
    theta_positive: bool
    capital_rule: CapitalRule
    defined_risk: bool
    default_strike: StrikeRule
    default_width: float | None
    legs: tuple[LegTemplate, ...]

    @property
    def uses_otm(self) -> bool:
        """True when a leg's strike moves with the ``otm`` distance (not a straddle)."""
        return any(leg.otm_sign for leg in self.legs)

    @property
    def naked(self) -> bool:
        """True when the strategy sells options no other leg covers (capital rule ``margin``)."""
        return self.capital_rule == "margin"


def _leg(kind: str, quantity: float, otm: int = 0, wing: int = 0, **kw: object) -> LegTemplate:
    return LegTemplate(kind, float(quantity), otm, wing, **kw)  # type: ignore[arg-type]


_L, _S, _N = Direction.LONG, Direction.SHORT, Direction.NEUTRAL
_D30, _D20, _D25 = StrikeRule(delta=0.30), StrikeRule(delta=0.20), StrikeRule(delta=0.25)
_OTM5 = StrikeRule(otm=0.05)
_BULL_PUT = (_leg("put", -1, -1), _leg("put", 1, -1, -1))
_BEAR_CALL = (_leg("call", -1, 1), _leg("call", 1, 1, 1))
_STOCK = _leg("stock", 1)

_ROWS: tuple[tuple[object, ...], ...] = (
    # name, display, direction, theta+, capital rule, defined risk, strike, width, legs
    ("long_call", "Long Call", _L, False, "debit", True, ATM, None, (_leg("call", 1, 1),)),
    ("long_put", "Long Put", _S, False, "debit", True, ATM, None, (_leg("put", 1, -1),)),
    ("bull_call_spread", "Bull Call Spread", _L, False, "debit", True, ATM, 0.05,
     (_leg("call", 1, 1, -1), _leg("call", -1, 1))),
    ("bear_put_spread", "Bear Put Spread", _S, False, "debit", True, ATM, 0.05,
     (_leg("put", 1, -1, 1), _leg("put", -1, -1))),
    ("bull_put_spread", "Bull Put Spread", _L, True, "max_loss", True, _D30, 0.05, _BULL_PUT),
    ("bear_call_spread", "Bear Call Spread", _S, True, "max_loss", True, _D30, 0.05, _BEAR_CALL),
    ("iron_condor", "Iron Condor", _N, True, "max_loss", True, _D20, 0.05,
     _BULL_PUT + _BEAR_CALL),
    ("iron_butterfly", "Iron Butterfly", _N, True, "max_loss", True, ATM, 0.05,
     (_leg("put", 1, -1, -1), _leg("put", -1), _leg("call", -1), _leg("call", 1, 1, 1))),
    ("long_call_butterfly", "Long Call Butterfly", _N, False, "debit", True, ATM, 0.05,
     (_leg("call", 1, -1), _leg("call", -2), _leg("call", 1, 1))),
    ("long_straddle", "Long Straddle", _N, False, "debit", True, ATM, None,
     (_leg("call", 1), _leg("put", 1))),
    ("short_straddle", "Short Straddle", _N, True, "margin", False, ATM, None,
     (_leg("call", -1), _leg("put", -1))),
    ("long_strangle", "Long Strangle", _N, False, "debit", True, _D25, None,
     (_leg("call", 1, 1), _leg("put", 1, -1))),
    ("short_strangle", "Short Strangle", _N, True, "margin", False, _D25, None,
     (_leg("call", -1, 1), _leg("put", -1, -1))),
    ("covered_call", "Covered Call", _L, True, "stock", False, _D30, None,
     (_STOCK, _leg("call", -1, 1))),
    ("cash_secured_put", "Cash-Secured Put", _L, True, "cash_secured", False, _D30, None,
     (_leg("put", -1, -1),)),
    ("protective_put", "Protective Put", _L, False, "stock", True, _OTM5, None,
     (_STOCK, _leg("put", 1, -1))),
    ("collar", "Collar", _L, False, "stock", True, _OTM5, None,
     (_STOCK, _leg("put", 1, -1), _leg("call", -1, 1))),
    ("calendar_spread", "Calendar Spread", _N, False, "debit", True, ATM, None,
     (_leg("call", -1, 1, shift=-0.03), _leg("call", 1, 1, shift=-0.03, back=True))),
)  # fmt: skip

STRATEGIES: dict[str, StrategyInfo] = {
    str(row[0]): StrategyInfo(*row)  # type: ignore[arg-type]
    for row in _ROWS
}
"""Every strategy by its stable snake_case name."""


def strategy_names() -> tuple[str, ...]:
    """The stable snake_case names of every strategy."""
    return tuple(STRATEGIES)


def strategy_info(name: str) -> StrategyInfo:
    """The catalog entry of ``name``; ConfigError listing the known names otherwise."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise ConfigError(
            f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}"
        ) from None


def theta_positive_strategies() -> tuple[str, ...]:
    """Names of the strategies that are net short premium."""
    return tuple(n for n, s in STRATEGIES.items() if s.theta_positive)


def strategy_direction(name: str) -> str:
    """``LONG``, ``SHORT`` or ``NEUTRAL`` for strategy ``name``."""
    return str(strategy_info(name).direction)


__all__ = [
    "STRATEGIES",
    "LegTemplate",
    "StrategyInfo",
    "strategy_direction",
    "strategy_info",
    "strategy_names",
    "theta_positive_strategies",
]
