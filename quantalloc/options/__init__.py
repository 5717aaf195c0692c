"""Options engine: Black-Scholes-Merton pricing and Greeks, implied vol, vol inputs, strategies.

Public API (stable names; other layers build on them):

- pricing: :func:`black_scholes` -> :class:`BlackScholesResult`; :func:`implied_vol`,
  :func:`implied_vol_with_reasons` (:data:`IV_REASONS`); :func:`intrinsic`
- vol inputs: :func:`realized_vol`, :func:`vol_proxy`, :class:`SkewModel`,
  :class:`ChainVolSurface`
- strikes: :func:`strike_step`, :class:`StrikeGrid`, :class:`StrikeRule`, :func:`strike_for_delta`
- the one strategy catalog: :data:`STRATEGIES` (:class:`StrategyInfo`, :class:`LegTemplate`),
  :func:`strategy_names`, :func:`strategy_direction`, :func:`strategy_info`,
  :func:`theta_positive_strategies`
- strategies: :class:`Underlying`, :func:`build_strategy`, :class:`Strategy`, :class:`Leg`,
  :class:`Direction`, :class:`MarginRule`, :func:`pnl_matrix`, :func:`summary_frame`
- option books (many candidates as flat arrays): :mod:`quantalloc.options.book`
"""

from quantalloc.options.builders import Underlying, build_strategy
from quantalloc.options.catalog import (
    STRATEGIES,
    LegTemplate,
    StrategyInfo,
    strategy_direction,
    strategy_info,
    strategy_names,
    theta_positive_strategies,
)
from quantalloc.options.implied_vol import (
    IV_REASONS,
    ImpliedVolResult,
    implied_vol,
    implied_vol_with_reasons,
)
from quantalloc.options.legs import Direction, Leg
from quantalloc.options.margin import MarginRule
from quantalloc.options.payoff import pnl_matrix, summary_frame
from quantalloc.options.pricing import BlackScholesResult, black_scholes, intrinsic
from quantalloc.options.strategy import PayoffSummary, Strategy
from quantalloc.options.strikes import ATM, StrikeGrid, StrikeRule, strike_for_delta, strike_step
from quantalloc.options.volatility import ChainVolSurface, SkewModel, realized_vol, vol_proxy

__all__ = [
    "ATM",
    "IV_REASONS",
    "STRATEGIES",
    "BlackScholesResult",
    "ChainVolSurface",
    "Direction",
    "ImpliedVolResult",
    "Leg",
    "LegTemplate",
    "MarginRule",
    "PayoffSummary",
    "SkewModel",
    "Strategy",
    "StrategyInfo",
    "StrikeGrid",
    "StrikeRule",
    "Underlying",
    "black_scholes",
    "build_strategy",
    "implied_vol",
    "implied_vol_with_reasons",
    "intrinsic",
    "pnl_matrix",
    "realized_vol",
    "strategy_direction",
    "strategy_info",
    "strategy_names",
    "strike_for_delta",
    "strike_step",
    "summary_frame",
    "theta_positive_strategies",
    "vol_proxy",
]
