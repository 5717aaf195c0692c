"""solve(): data -> regime -> candidates -> scenarios -> allocation -> lots -> result.

``solve(**kwargs)`` is the public call; ``run(SolveRequest(...))`` the same with the request as a
frozen object. Both load the heavy modules on first use.
"""

from typing import Any

from quantalloc.pipeline.document import SolveResult
from quantalloc.pipeline.request import SolveRequest

__all__ = ["SolveRequest", "SolveResult", "run", "solve"]


def __getattr__(name: str) -> Any:
    if name in ("solve", "run"):
        from quantalloc.pipeline import core

        return getattr(core, name)
    raise AttributeError(name)
