"""Tuning throughput: trials per second of a cheap real strategy on every study storage.

Runs the same seeded walk-forward study (momentum on SPY/SPXL from ../shared/data/us, 3 folds)
on each storage -- in memory, a JournalStorage file, SQLite, and a real PostgreSQL server started
for the run -- and prints trials per second with the share of wall time spent

* in the backtests (the ``evaluate`` calls),
* in the sampler (TPE's ``sample_relative`` / ``sample_independent`` / hooks, timed by a wrapper),
* everywhere else: optuna's storage round-trips, the objective's bookkeeping, pruning.

Usage::

    python benchmarks/bench_tuning.py [--trials 60] [--data csv:../shared/data/us] [--no-postgres]

The machine may be shared with other jobs, so treat the figures as indicative.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from quantalloc.tuning.evaluators import StrategyObjective  # noqa: E402
from quantalloc.tuning.study import create_study, optimize  # noqa: E402


class TimedSampler(optuna.samplers.BaseSampler):
    """Delegates to ``inner`` and adds up the seconds spent in it."""

    def __init__(self, inner: optuna.samplers.BaseSampler) -> None:
        self.inner = inner
        self.seconds = 0.0

    def _timed(self, fn: Any, *args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.seconds += time.perf_counter() - t0

    def infer_relative_search_space(self, study: Any, trial: Any) -> Any:
        return self._timed(self.inner.infer_relative_search_space, study, trial)

    def sample_relative(self, study: Any, trial: Any, space: Any) -> Any:
        return self._timed(self.inner.sample_relative, study, trial, space)

    def sample_independent(self, study: Any, trial: Any, name: str, dist: Any) -> Any:
        return self._timed(self.inner.sample_independent, study, trial, name, dist)

    def before_trial(self, study: Any, trial: Any) -> None:
        self._timed(self.inner.before_trial, study, trial)

    def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
        self._timed(self.inner.after_trial, study, trial, state, values)

    def reseed_rng(self) -> None:
        self.inner.reseed_rng()


class TimedEvaluate:
    """Wraps the objective's ``evaluate`` and adds up the seconds spent backtesting."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.calls = 0

    def __call__(self, *args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self.inner(*args)
        finally:
            self.seconds += time.perf_counter() - t0
            self.calls += 1


@contextlib.contextmanager
def storages(use_postgres: bool) -> Iterator[list[tuple[str, str | None]]]:
    with tempfile.TemporaryDirectory() as tmp:
        out: list[tuple[str, str | None]] = [
            ("memory", None),
            ("journal file", f"journal:{tmp}/bench.journal"),
            ("sqlite", f"sqlite:///{tmp}/bench.db"),
        ]
        if not use_postgres:
            yield out
            return
        try:
            from tests.support.postgres import find_bin_dir, running_postgres
        except ImportError:
            yield out
            return
        if find_bin_dir() is None:
            print("(PostgreSQL not installed: skipping it)")
            yield out
            return
        with running_postgres() as server:
            yield [*out, ("postgresql", server.url)]


def bench(recipe: StrategyObjective, url: str | None, trials: int, name: str) -> dict[str, float]:
    objective = recipe()
    timed_eval = TimedEvaluate(objective.evaluate)
    objective.evaluate = timed_eval
    study = create_study(url, name, objective.directions, seed=0)
    sampler = TimedSampler(study.sampler)
    study.sampler = sampler
    t0 = time.perf_counter()
    optimize(study, objective, trials)
    wall = time.perf_counter() - t0
    return {
        "trials_per_s": trials / wall,
        "wall": wall,
        "backtest": timed_eval.seconds / wall,
        "sampler": sampler.seconds / wall,
        "other": max(0.0, 1.0 - (timed_eval.seconds + sampler.seconds) / wall),
        "backtests": timed_eval.calls,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=60)
    ap.add_argument("--data", default=f"csv:{ROOT.parent / 'shared' / 'data' / 'us'}")
    ap.add_argument("--start", default="2010-01-01")
    ap.add_argument("--end", default="2017-12-29")
    ap.add_argument("--repeat", type=int, default=3, help="runs per storage; the fastest is shown")
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    recipe = StrategyObjective("momentum", args.data, args.start, args.end)
    bench(recipe, None, 3, "warm-up")  # numba compilation, CSV cache
    print(
        f"momentum walk-forward ({args.start} .. {args.end}, 3 folds), {args.trials} TPE trials "
        f"per storage, one process, fastest of {args.repeat} runs"
    )
    header = f"{'storage':<14}{'trials/s':>10}{'wall s':>9}{'backtest':>10}{'sampler':>9}"
    print(header + f"{'storage+other':>15}{'backtests':>11}")
    with storages(not args.no_postgres) as items:
        for name, url in items:
            runs = [bench(recipe, url, args.trials, f"bench-{i}") for i in range(args.repeat)]
            r = min(runs, key=lambda x: x["wall"])
            print(
                f"{name:<14}{r['trials_per_s']:>10.1f}{r['wall']:>9.2f}{r['backtest']:>10.1%}"
                f"{r['sampler']:>9.1%}{r['other']:>15.1%}{int(r['backtests']):>11}"
            )


if __name__ == "__main__":
    main()
