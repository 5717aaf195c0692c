"""The exception hierarchy.

Messages are built where the error is raised: the rule, the value seen, the next step.
"""

from __future__ import annotations


class QuantallocError(Exception):
    """Base of every error quantalloc raises on purpose; the CLI maps it to exit code 2."""


class DataError(QuantallocError):
    """Market data or an input table is missing, malformed or inconsistent."""


class ConfigError(QuantallocError):
    """A model file, option or setting is invalid."""


class InfeasibleError(QuantallocError):
    """The constraints of an allocation cannot all hold at once."""


class SolverError(QuantallocError):
    """A solver stopped without an optimal solution."""


class StorageError(QuantallocError):
    """A store could not be reached, read or written."""


class ConflictError(QuantallocError):
    """A change the current state refuses (a locked strategy, an order over its capital)."""


__all__ = [
    "ConfigError",
    "ConflictError",
    "DataError",
    "InfeasibleError",
    "QuantallocError",
    "SolverError",
    "StorageError",
]
