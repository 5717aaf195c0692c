"""Market regime: indicators, volatility regime, options sentiment and the 9 market states.

``market_state(prices, vol_index, chain=None, as_of=None, market="in")`` is the entry point;
the state table (preferred strategies per state) lives in ``models/regime.toml``.
"""

from quantalloc.regime.chain_analytics import max_pain, put_call_ratio
from quantalloc.regime.config import (
    STATE_NAMES,
    STRATEGY_NAMES,
    RegimeConfig,
    StateRules,
    load_regime_config,
    parse_regime_config,
    state_name,
    state_rules,
)
from quantalloc.regime.indicators import (
    TIMEFRAME_WEIGHTS,
    TIMEFRAMES,
    atr,
    bollinger_bands,
    ema,
    macd,
    momentum,
    multi_timeframe,
    rsi,
    sma,
    support_resistance,
    trend,
    true_range,
    wilder_smooth,
)
from quantalloc.regime.service import state_from_provider
from quantalloc.regime.state import MarketState, market_state
from quantalloc.regime.volatility import VolRegime, vol_regime

__all__ = [
    "STATE_NAMES",
    "STRATEGY_NAMES",
    "TIMEFRAMES",
    "TIMEFRAME_WEIGHTS",
    "MarketState",
    "RegimeConfig",
    "StateRules",
    "VolRegime",
    "atr",
    "bollinger_bands",
    "ema",
    "load_regime_config",
    "macd",
    "market_state",
    "max_pain",
    "momentum",
    "multi_timeframe",
    "parse_regime_config",
    "put_call_ratio",
    "rsi",
    "sma",
    "state_from_provider",
    "state_name",
    "state_rules",
    "support_resistance",
    "trend",
    "true_range",
    "vol_regime",
    "wilder_smooth",
]
