"""solve(): data -> regime -> candidates -> scenarios -> allocation -> lots -> result."""

from typing import Any

from quantalloc.pipeline.document import SolveResult

__all__ = ["SolveResult", "solve"]


def __getattr__(name: str) -> Any:
    if name == "solve":
        from quantalloc.pipeline.core import solve

        return solve
    raise AttributeError(name)
