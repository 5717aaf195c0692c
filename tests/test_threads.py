"""A solve runs BLAS on one thread on any machine, in the main thread or a worker's."""

from __future__ import annotations

import threading

import numpy as np
from threadpoolctl import threadpool_info

from quantalloc.threads import one_blas_thread


def _blas_threads() -> set[int]:
    """Threads of each BLAS library loaded (numpy's OpenBLAS at least)."""
    assert np.ones((2, 2)) @ np.ones(2) is not None
    return {int(i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"}


def test_the_limit_holds_inside_and_the_count_comes_back_after() -> None:
    before = _blas_threads()
    assert before, "no BLAS library loaded: nothing to limit"
    with one_blas_thread():
        assert _blas_threads() == {1}
        with one_blas_thread():  # nested: still one, and leaving it does not lift the outer
            assert _blas_threads() == {1}
        assert _blas_threads() == {1}
    assert _blas_threads() == before


def test_a_worker_thread_after_the_main_thread_is_limited_too() -> None:
    """The service solves on a worker thread. threadpoolctl lets one thread own OpenBLAS's
    limit: a limit set without its context manager kept the main thread the owner, and a
    worker's later limit did nothing (seen: 2 threads inside the worker's block)."""
    before = _blas_threads()
    with one_blas_thread():
        pass
    seen: dict[str, set[int]] = {}

    def worker() -> None:
        with one_blas_thread():
            seen["inside"] = _blas_threads()
        seen["after"] = _blas_threads()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(20)
    assert seen == {"inside": {1}, "after": before}
