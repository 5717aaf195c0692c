"""quantalloc: optimization-first allocation of options and trading strategies."""

from quantalloc.errors import (
    ConfigError,
    DataError,
    InfeasibleError,
    QuantallocError,
    SolverError,
    StorageError,
)
from quantalloc.markets import MarketProfile, get_market

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DataError",
    "InfeasibleError",
    "MarketProfile",
    "QuantallocError",
    "SolverError",
    "StorageError",
    "__version__",
    "get_market",
]
