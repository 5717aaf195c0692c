"""quantalloc: optimization-first allocation of options and trading strategies.

``quantalloc.solve(risk="moderate", ...)`` runs the industry-first options allocation end to end
and returns a :class:`~quantalloc.pipeline.SolveResult` (``.to_document()`` gives the JSON
contract). It is imported on first use, so ``import quantalloc`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quantalloc.errors import (
    ConfigError,
    DataError,
    InfeasibleError,
    QuantallocError,
    SolverError,
    StorageError,
)
from quantalloc.markets import MarketProfile, get_market
from quantalloc.version import __version__

if TYPE_CHECKING:
    from quantalloc.pipeline.core import solve
    from quantalloc.pipeline.document import SolveResult


__all__ = [
    "ConfigError",
    "DataError",
    "InfeasibleError",
    "MarketProfile",
    "QuantallocError",
    "SolveResult",
    "SolverError",
    "StorageError",
    "__version__",
    "get_market",
    "solve",
]


def __getattr__(name: str) -> Any:
    if name == "solve":
        from quantalloc.pipeline.core import solve

        return solve
    if name == "SolveResult":
        from quantalloc.pipeline.document import SolveResult

        return SolveResult
    raise AttributeError(f"module 'quantalloc' has no attribute {name!r}")
