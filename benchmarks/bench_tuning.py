"""Tuning throughput: trials per second of a cheap real strategy on every study storage.

Runs the same seeded walk-forward study (momentum on SPY/SPXL from ../shared/data/us, 3 folds)
on each storage -- in memory, a JournalStorage file, SQLite, and a real PostgreSQL server started
for the run -- and prints trials per second with the share of wall time spent

* in the backtests (the ``evaluate`` calls),
* in the sampler (TPE's ``sample_relative`` / ``sample_independent`` / hooks, timed by a wrapper),
* everywhere else: optuna's storage round-trips, the objective's bookkeeping, pruning;

then the same study run by 1 and 2 worker processes sharing each file or server storage (on a
costlier strategy, the wheel, where parallel trials can pay for the processes' start-up), and
PBO by CSCV vectorised over the splits against the naive loop over splits.

Usage::

    python benchmarks/bench_tuning.py [--trials 60] [--data csv:../shared/data/us] [--no-postgres]

The machine may be shared with other jobs, so treat the figures as indicative.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import math
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import scipy.stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from quantalloc.tuning.evaluators import StrategyObjective  # noqa: E402
from quantalloc.tuning.overfitting import probability_of_backtest_overfitting  # noqa: E402
from quantalloc.tuning.study import (  # noqa: E402
    FINISHED,
    WorkerSpec,
    create_study,
    optimize,
    run_workers,
)


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


def bench_workers(recipe: StrategyObjective, url: str, trials: int, workers: int) -> float:
    """Trials per second of ``workers`` processes sharing ``url`` (process start-up included)."""
    name = f"workers-{workers}-{time.time_ns()}"
    t0 = time.perf_counter()
    run_workers(WorkerSpec(url, name, recipe, trials, 0), workers, poll_seconds=0.1)
    wall = time.perf_counter() - t0
    study = create_study(url, name, recipe().directions, seed=0)
    assert len(study.get_trials(deepcopy=False, states=FINISHED)) == trials
    return trials / wall


def naive_pbo(m: np.ndarray, s: int) -> float:
    """CSCV one split at a time, recomputing each half's Sharpe ratios from the rows."""
    rows = m.shape[0] // s
    blocks = [m[i * rows : (i + 1) * rows] for i in range(s)]
    below = 0
    combos = list(itertools.combinations(range(s), s // 2))
    for train in combos:
        j = np.vstack([blocks[i] for i in train])
        jbar = np.vstack([blocks[i] for i in range(s) if i not in train])
        r = j.mean(axis=0) / j.std(axis=0, ddof=1)
        rbar = jbar.mean(axis=0) / jbar.std(axis=0, ddof=1)
        rank = scipy.stats.rankdata(rbar)[int(np.argmax(r))]
        w = rank / (m.shape[1] + 1)
        below += np.log(w / (1 - w)) <= 0
    return below / len(combos)


def bench_pbo() -> None:
    m = np.random.default_rng(0).normal(0.0, 1.0, (1000, 100))
    for s in (8, 12, 16):
        t0 = time.perf_counter()
        fast = probability_of_backtest_overfitting(m, s).pbo
        t_fast = time.perf_counter() - t0
        t0 = time.perf_counter()
        slow = naive_pbo(m, s)
        t_slow = time.perf_counter() - t0
        assert abs(fast - slow) < 1e-12
        print(
            f"S={s:<3} {math.comb(s, s // 2):>6} splits  vectorised {t_fast * 1e3:>8.1f} ms  "
            f"naive loop {t_slow * 1e3:>9.1f} ms  x{t_slow / t_fast:>6.1f}  (PBO {fast:.3f} both)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=60)
    ap.add_argument("--data", default=f"csv:{ROOT.parent / 'shared' / 'data' / 'us'}")
    ap.add_argument("--start", default="2010-01-01")
    ap.add_argument("--end", default="2017-12-29")
    ap.add_argument("--repeat", type=int, default=3, help="runs per storage; the fastest is shown")
    ap.add_argument("--worker-trials", type=int, default=16)
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
        heavy = StrategyObjective("wheel", args.data, "2006-01-01", "2017-12-29")
        print(
            f"\nworker processes sharing one study: wheel walk-forward (2006 .. 2017, ~0.5 s "
            f"per backtest), {args.worker_trials} trials, wall time including process start-up"
        )
        for name, url in items:
            if url is None:
                continue
            rates = {k: bench_workers(heavy, url, args.worker_trials, k) for k in (1, 2)}
            print(
                f"{name:<14} 1 worker {rates[1]:>6.1f} trials/s   2 workers {rates[2]:>6.1f} "
                "trials/s"
            )
    print("\nPBO by CSCV, 100 configurations x 1000 days")
    bench_pbo()


if __name__ == "__main__":
    main()
