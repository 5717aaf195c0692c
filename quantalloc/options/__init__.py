"""Options engine: Black-Scholes-Merton pricing and Greeks, implied vol, vol inputs, strategies.

Public API (stable names; other layers build on them):

- pricing: :func:`black_scholes` -> :class:`BlackScholesResult`; :func:`implied_vol`,
  :func:`implied_vol_with_reasons` (:data:`IV_REASONS`); :func:`intrinsic`
- vol inputs: :func:`realized_vol`, :func:`vol_proxy`, :class:`SkewModel`,
  :class:`ChainVolSurface`
- strikes: :func:`strike_step`, :class:`StrikeGrid`, :class:`StrikeRule`, :func:`strike_for_delta`
- strategies: :class:`Underlying`, :func:`build_strategy`, :data:`STRATEGIES`,
  :func:`strategy_names`, :func:`strategy_info`, :func:`theta_positive_strategies`,
  :class:`Strategy`, :class:`Leg`, :class:`Direction`, :class:`MarginRule`, :func:`pnl_matrix`,
  :func:`summary_frame`
"""

from quantalloc.options.builders import (
    STRATEGIES,
    StrategyInfo,
    Underlying,
    build_strategy,
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
    "strategy_info",
    "strategy_names",
    "strike_for_delta",
    "strike_step",
    "summary_frame",
    "theta_positive_strategies",
    "vol_proxy",
]
