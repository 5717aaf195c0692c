"""The exception hierarchy.

Messages are built where the error is raised: the rule, the value seen, the next step. They
speak in the library's parameter names, in backticks (```capital```, ```as_of```,
```tables['stock_data']```, ```normalize_weights=True```), and list those names in ``params``;
the CLI turns each mention into the flag that sets it (``--capital``, ``--as-of``,
``--table stock_data=FILE.csv``, ``--normalize-weights``).
"""

from __future__ import annotations

from collections.abc import Sequence


class QuantallocError(Exception):
    """Base of every error quantalloc raises on purpose; the CLI maps it to exit code 2.

    Parameters
    ----------
    message
        The rule, the value seen and what to do, in the library's parameter names.
    params
        The parameter names the message mentions (written ```name```, ```name=VALUE``` or
        ```name['key']```), for a front end to replace with its own option names.
    """

    def __init__(self, message: str = "", *, params: str | Sequence[str] = ()) -> None:
        super().__init__(message)
        self.params: tuple[str, ...] = (params,) if isinstance(params, str) else tuple(params)

    def hinted(self, message: str, *params: str) -> QuantallocError:
        """An error of this one's kind (the nearest class of this module: a vendor's error
        becomes a :class:`DataError`) saying ``message``, which quotes this one and adds what the
        caller knows, and naming this one's ``params`` and then ``params``; raise it ``from``
        this one."""
        kind = next(c for c in type(self).__mro__ if c.__module__ == __name__)
        return kind(message, params=(*self.params, *params))


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
