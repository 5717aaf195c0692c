"""BLAS on one thread for the length of a block, for every caller of the library.

A solve's numbers depend on BLAS's thread count in their last bits (OpenBLAS splits a product
among its threads, and the GARCH fits and L-BFGS-B answer to those bits), and the thread count
OpenBLAS picks depends on the machine. Its products here are small (scenarios x tens of columns):
on the shared 2-core machine a second thread made a 2,000 x 232 product 70x slower under load
(6.6 ms against 0.09 ms) while saving nothing idle. So a solve runs on one BLAS thread, on any
machine, whether the CLI, the service or a replay asks for it.

Blocks nest, in any thread. OpenBLAS keeps one pool for the process, and threadpoolctl lets one
Python thread at a time own its limit (the first to set it, until its block ends); the service
runs its solves one at a time on one worker thread, so a solve's block always owns it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_CONTROLLER: list[Any] = []


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS limited to one thread inside the block, the thread count restored after it.

    The controller that finds the loaded BLAS libraries is made once: ``threadpool_limits``
    scans them at each call (~15 ms)."""
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())
    with _CONTROLLER[0].limit(limits=1, user_api="blas"):
        yield


__all__ = ["one_blas_thread"]
