"""Running a tuning study (one process or several sharing a storage) and summarising it.

:func:`create_study` makes (or loads) the named study with a seeded TPE sampler and a median
pruner; :func:`optimize` runs trials in this process; :func:`run_workers` starts worker
processes that open the same storage URL and study name, optuna's distributed mode, each running
its share of the trials. :func:`summarize` reads a finished study back into a
:class:`TuningReport`: best parameters, in-sample and out-of-sample metrics, the deflated Sharpe
ratio over every trial tried, the probability of backtest overfitting across the trials'
out-of-sample returns, and an honest walk-forward selection (per fold, the trial best on the
training window, scored on the test window).
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import time
import warnings
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.samplers._lazy_random_state import LazyRandomState

from quantalloc.atomic import write_atomic
from quantalloc.errors import ConfigError, DataError, QuantallocError
from quantalloc.storage.url import study_url
from quantalloc.tuning import objective as obj
from quantalloc.tuning.overfitting import (
    deflated_sharpe_from_returns,
    probability_of_backtest_overfitting,
    sharpe_per_period,
)
from quantalloc.tuning.storage import open_storage

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


class TrialSeededTPESampler(optuna.samplers.TPESampler):
    """TPE whose random stream is seeded by ``(seed, trial number)`` before each trial.

    Trial numbers are unique within a study, whichever process runs the trial, so workers
    started apart with the same ``--seed`` draw from distinct streams (never the same
    parameters in lock step), and a one-process study stays reproducible.
    """

    def __init__(self, seed: int | None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self._base_seed = seed

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if self._base_seed is not None:
            stream = int(
                np.random.SeedSequence([self._base_seed, trial.number]).generate_state(1)[0]
            )
            self._rng = LazyRandomState(stream)
            self._random_sampler = optuna.samplers.RandomSampler(seed=stream)
        super().before_trial(study, trial)


def make_sampler(seed: int | None, multi_objective: bool = False) -> optuna.samplers.BaseSampler:
    """Seeded sampler: TPE seeded per trial number (NSGA-II for the two-objective study)."""
    if multi_objective:
        return optuna.samplers.NSGAIISampler(seed=seed)
    return TrialSeededTPESampler(seed=seed, n_startup_trials=10)


def make_pruner(multi_objective: bool = False) -> optuna.pruners.BasePruner:
    """Median pruner after 5 finished trials (none for multi-objective studies)."""
    if multi_objective:
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)


def create_study(
    storage: str | None,
    study_name: str,
    directions: Sequence[str] = ("maximize",),
    seed: int | None = 0,
    storage_obj: optuna.storages.BaseStorage | None = None,
) -> optuna.Study:
    """Create the study, or load it when ``study_name`` already exists in ``storage``.

    ``study.user_attrs`` is not touched; :func:`created_here` tells whether this call made it.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    st = storage_obj if storage_obj is not None else open_storage(storage)
    multi = len(directions) > 1
    common: dict[str, Any] = {
        "storage": st,
        "study_name": study_name,
        "sampler": make_sampler(seed, multi),
        "pruner": make_pruner(multi),
    }
    try:
        study = optuna.create_study(
            directions=[str(d) for d in directions],  # type: ignore[misc]
            load_if_exists=False,
            **common,
        )
        _CREATED.add(study)
    except optuna.exceptions.DuplicatedStudyError:  # another process (or run) made it first
        study = optuna.load_study(**common)
    if [d.name.lower() for d in study.directions] != [d.lower() for d in directions]:
        raise ConfigError(
            f"study {study_name!r} exists with directions "
            f"{[d.name.lower() for d in study.directions]}, not {list(directions)}; "
            "pick another `study_name` or the same metric",
            params="study_name",
        )
    return study


_CREATED: weakref.WeakSet[optuna.Study] = weakref.WeakSet()


def created_here(study: optuna.Study) -> bool:
    """True when :func:`create_study` created ``study`` in this process (it did not exist)."""
    return study in _CREATED


def bind_settings(study: optuna.Study, settings: Mapping[str, Any]) -> None:
    """Record what a study tunes (strategy, data, window, folds, metric, space) or check it.

    A study's trials are only comparable when they share these settings: the deflated Sharpe
    ratio and PBO would mix windows otherwise. A new study stores ``settings``; an existing one
    must match them, else ConfigError.
    """
    plain = json.loads(json.dumps(dict(settings), default=str))
    stored = study.user_attrs.get("settings")
    if stored is None:
        study.set_user_attr("settings", plain)
        return
    diff = sorted(k for k in set(stored) | set(plain) if stored.get(k) != plain.get(k))
    if diff:
        shown = ", ".join(_short_setting(k, stored.get(k), plain.get(k)) for k in diff[:3])
        raise ConfigError(
            f"study {study.study_name!r} holds trials of other settings ({shown}); pass a new "
            "`study_name`, or the study's own settings",
            params="study_name",
        )


def _short_setting(key: str, old: Any, new: Any) -> str:
    """One setting that differs, in a few words (a window as its dates, a space by name)."""

    def brief(value: Any) -> str:
        if key == "folds" and isinstance(value, list) and value:
            return f"{value[0].get('train_start')}..{value[-1].get('test_end')}/{len(value)}"
        if isinstance(value, dict | list):
            return "other"
        return repr(value)

    label = "window" if key == "folds" else key
    return f"{label} {brief(old)} here, {brief(new)} asked"


def enqueue_baseline(
    study: optuna.Study, space: Any, defaults: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Make the strategy's default parameters the first trial of a new study.

    The tuned result is then never judged without the untuned rule beside it in the same study.
    Only tuned parameters whose default lies inside the search range are enqueued; returns the
    enqueued values, or None when the study already has trials or no default fits.
    """
    if study.get_trials(deepcopy=False) or not created_here(study):
        return None  # only the process that created the study enqueues it, never twice
    values = {
        p.name: defaults[p.name]
        for p in space.params
        if p.name in defaults and p.contains(defaults[p.name])
    }
    if not values:
        return None
    study.enqueue_trial(values, user_attrs={"baseline": True}, skip_if_exists=True)
    return values


def fail_stale_trials(study: optuna.Study) -> int:
    """Mark as failed the running trials whose worker stopped sending heartbeats.

    Only storages with heartbeats (PostgreSQL, SQLite) can tell a dead worker from a live one;
    returns how many trials are still marked running afterwards.
    """
    from optuna.storages._heartbeat import is_heartbeat_enabled

    if is_heartbeat_enabled(study._storage):
        optuna.storages.fail_stale_trials(study)
    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    return len(running)


def preflight(objective: obj.WalkForwardObjective, defaults: Mapping[str, Any]) -> None:
    """Evaluate one parameter set (the defaults, inside the space) outside the study.

    Bad capital, an unreadable source, a window outside the data or a strategy that cannot run
    on the data stop here with one error, before any trial is stored.
    """
    params: dict[str, Any] = {}
    for p in objective.space.params:
        if p.name in defaults and p.contains(defaults[p.name]):
            params[p.name] = defaults[p.name]
        else:
            params[p.name] = p.choices[0] if p.kind == "categorical" else p.low
    trial = optuna.trial.FixedTrial(params)
    try:
        with warnings.catch_warnings():  # a default off the space's step grid is used as is
            warnings.filterwarnings("ignore", message=".*out of the range of the distribution")
            objective(trial)
    except optuna.TrialPruned:  # pragma: no cover - a fixed trial is never pruned
        pass


def optimize(
    study: optuna.Study,
    objective: obj.WalkForwardObjective,
    n_trials: int,
    timeout: float | None = None,
    callbacks: Sequence[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]] = (),
) -> list[int]:
    """Run ``n_trials`` trials in this process; returns the numbers of the trials it ran.

    A trial whose evaluation raises a QuantallocError is recorded as failed and the study goes
    on; any other exception stops the study (it is a bug, not a bad parameter set).
    """
    ran: list[int] = []

    def _note(s: optuna.Study, t: optuna.trial.FrozenTrial) -> None:
        ran.append(t.number)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(
        objective,
        n_trials=n_trials,
        timeout=timeout,
        catch=(QuantallocError,),
        callbacks=[_note, *callbacks],
        gc_after_trial=False,
    )
    return ran


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker process needs, picklable (the objective is rebuilt in the child)."""

    storage: str
    study_name: str
    objective_factory: Callable[[], obj.WalkForwardObjective]
    n_trials: int
    seed: int | None
    timeout: float | None = None
    result_path: str | None = None


def _worker_main(spec: WorkerSpec, worker_id: int) -> None:
    objective = spec.objective_factory()
    seed = None if spec.seed is None else spec.seed + worker_id
    study = create_study(spec.storage, spec.study_name, objective.directions, seed)
    ran = optimize(study, objective, spec.n_trials, spec.timeout)
    if spec.result_path:
        write_atomic(f"{spec.result_path}.{worker_id}", "\n".join(str(n) for n in ran))


def split_trials(n_trials: int, workers: int) -> list[int]:
    """Share ``n_trials`` among ``workers`` as evenly as possible (sums to ``n_trials``)."""
    if workers < 1:
        raise ConfigError(f"`workers` must be >= 1, got {workers}", params="workers")
    if n_trials < 1:
        raise ConfigError(f"`n_trials` must be >= 1, got {n_trials}", params="n_trials")
    base, extra = divmod(n_trials, workers)
    return [base + (1 if i < extra else 0) for i in range(workers) if base + (i < extra) > 0]


def run_workers(
    spec: WorkerSpec,
    workers: int,
    on_poll: Callable[[int], None] | None = None,
    poll_seconds: float = 0.5,
) -> None:
    """Run the study in ``workers`` new processes sharing ``spec.storage``.

    The study is created here first (so the workers never race to create the schema), then each
    process runs its share of ``spec.n_trials``. ``on_poll(finished)`` is called while waiting
    with the number of finished trials in the study (for a progress bar).
    """
    if study_url(spec.storage) == "memory":
        raise ConfigError(
            "`workers` > 1 needs a storage the processes can share; pass `storage=URL` "
            "(journal:PATH, sqlite:///PATH or postgresql://...)",
            params=("workers", "storage"),
        )
    directions = spec.objective_factory().directions
    study = create_study(spec.storage, spec.study_name, directions, spec.seed)
    shares = split_trials(spec.n_trials, workers)
    ctx = mp.get_context("spawn")
    procs = [
        ctx.Process(
            target=_worker_main,
            args=(
                WorkerSpec(
                    spec.storage,
                    spec.study_name,
                    spec.objective_factory,
                    share,
                    spec.seed,
                    spec.timeout,
                    spec.result_path,
                ),
                i,
            ),
            name=f"quantalloc-tune-{i}",
        )
        for i, share in enumerate(shares)
    ]
    for p in procs:
        p.start()
    try:
        while any(p.is_alive() for p in procs):
            if on_poll is not None:
                on_poll(len(study.get_trials(deepcopy=False, states=FINISHED)))
            time.sleep(poll_seconds)
    finally:
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
                p.join()
    if on_poll is not None:
        on_poll(len(study.get_trials(deepcopy=False, states=FINISHED)))
    failed = [p.name for p in procs if p.exitcode != 0]
    if failed:
        raise QuantallocError(
            f"worker process(es) {', '.join(failed)} exited with an error; rerun with "
            "`workers=1` (and --verbose) to see it",
            params="workers",
        )


@dataclass(frozen=True)
class TuningReport:
    """What a finished study found, and how far to trust it."""

    study_name: str
    metric: str
    n_trials: int
    n_complete: int
    n_pruned: int
    n_failed: int
    best_params: dict[str, Any]
    best_value: float | list[float]
    best_trial: int
    in_sample: dict[str, Any]
    out_of_sample: dict[str, Any]
    deflated_sharpe: dict[str, float | int] | None
    pbo: dict[str, float | int] | None
    walk_forward: dict[str, Any] | None
    pareto: list[dict[str, Any]] = field(default_factory=list)
    baseline: dict[str, Any] | None = None
    n_running: int = 0
    """Trials still marked running: another worker's, or a killed worker's until it is failed."""
    n_distinct: int = 0
    """Distinct parameter sets among the finished trials (the trial count the DSR deflates by)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (the ``--output`` document)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _oos_matrix(trials: Sequence[optuna.trial.FrozenTrial]) -> tuple[np.ndarray, list[int]]:
    records = [(t.number, obj.wf_attrs(t)) for t in trials]
    series = [(n, a[obj.ATTR_OOS_RETURNS]) for n, a in records if obj.ATTR_OOS_RETURNS in a]
    if not series:
        return np.empty((0, 0)), []
    lengths = pd.Series([len(s) for _, s in series])
    common = int(lengths.mode().iloc[0])
    keep = [(n, s) for n, s in series if len(s) == common]
    return np.array([s for _, s in keep], dtype=float).T, [n for n, _ in keep]


def _pbo_blocks(t: int) -> int:
    for s in (16, 12, 10, 8, 6, 4, 2):
        if t // s >= 10:
            return s
    return 2


def _walk_forward_selection(
    trials: Sequence[optuna.trial.FrozenTrial],
) -> dict[str, Any] | None:
    usable = [
        (t.number, a)
        for t in trials
        if obj.ATTR_OOS_RETURNS in (a := obj.wf_attrs(t)) and obj.ATTR_FOLD_RETURNS in a
    ]
    if not usable:
        return None
    n_folds = len(usable[0][1][obj.ATTR_FOLD_TRAIN])
    pieces: list[np.ndarray] = []
    chosen: list[int] = []
    for k in range(n_folds):
        number, best = max(usable, key=lambda item: item[1][obj.ATTR_FOLD_TRAIN][k])
        sizes = best[obj.ATTR_FOLD_RETURNS]
        lo = int(sum(sizes[:k]))
        pieces.append(np.asarray(best[obj.ATTR_OOS_RETURNS][lo : lo + sizes[k]]))
        chosen.append(number)
    joined = np.concatenate(pieces)
    return {"chosen_trials": chosen, **obj.window_metrics(joined)}


def summarize(study: optuna.Study, metric: str = "sharpe") -> TuningReport:
    """Read a study back into a :class:`TuningReport`."""
    all_trials = study.get_trials(deepcopy=False)
    state = optuna.trial.TrialState
    complete = [t for t in all_trials if t.state == state.COMPLETE]
    n_pruned = sum(t.state == state.PRUNED for t in all_trials)
    n_failed = sum(t.state == state.FAIL for t in all_trials)
    if not complete:
        raise DataError(
            f"study {study.study_name!r} has no completed trial ({len(all_trials)} tried, "
            f"{n_pruned} pruned, {n_failed} failed); run more trials or check the data window"
        )
    multi = len(study.directions) > 1
    pareto: list[dict[str, Any]] = []
    if multi:
        front = study.best_trials
        pareto = [{"trial": t.number, "values": t.values, "params": t.params} for t in front]
        best = max(front, key=lambda t: t.values[0] / max(t.values[1], 1e-9))
        best_value: float | list[float] = list(best.values)
    else:
        best = study.best_trial
        best_value = float(best.value) if best.value is not None else math.nan
    record = obj.wf_attrs(best)
    oos_returns = np.asarray(record.get(obj.ATTR_OOS_RETURNS, []), dtype=float)
    oos: dict[str, Any] = obj.window_metrics(oos_returns) if oos_returns.size else {}
    fold_train = record.get(obj.ATTR_FOLD_TRAIN, [])
    in_sample: dict[str, Any] = {
        f"mean_fold_{metric if metric != 'return_drawdown' else 'sharpe'}": float(
            np.mean(fold_train)
        )
        if fold_train
        else math.nan,
        "folds": list(fold_train),
    }
    oos["folds"] = list(record.get(obj.ATTR_FOLD_TEST, []))
    matrix, _ = _oos_matrix(complete)
    finished = [t for t in all_trials if t.state in FINISHED]
    n_distinct = len({json.dumps(t.params, sort_keys=True, default=str) for t in finished})
    dsr = None
    if oos_returns.size >= 3 and matrix.size:
        per_trial = np.array([sharpe_per_period(matrix[:, j]) for j in range(matrix.shape[1])])
        dsr = deflated_sharpe_from_returns(
            oos_returns, per_trial, n_trials=max(n_distinct, 1)
        ).to_dict()
    pbo = None
    if matrix.ndim == 2 and matrix.shape[1] >= 2 and matrix.shape[0] >= 4:
        try:
            pbo = probability_of_backtest_overfitting(
                matrix, _pbo_blocks(matrix.shape[0])
            ).to_dict()
        except QuantallocError:
            pbo = None
    baseline = None
    for t in complete:
        if t.user_attrs.get("baseline"):
            rec = obj.wf_attrs(t)
            r = np.asarray(rec.get(obj.ATTR_OOS_RETURNS, []), dtype=float)
            baseline = {
                "trial": t.number,
                "params": dict(t.params),
                "value": list(t.values) if multi else t.value,
                "out_of_sample": obj.window_metrics(r) if r.size else {},
            }
            break
    return TuningReport(
        study_name=study.study_name,
        metric=metric,
        n_trials=len(all_trials),
        n_complete=len(complete),
        n_pruned=n_pruned,
        n_failed=n_failed,
        best_params=dict(best.params),
        best_value=best_value,
        best_trial=best.number,
        in_sample=in_sample,
        out_of_sample=oos,
        deflated_sharpe=dsr,
        pbo=pbo,
        walk_forward=_walk_forward_selection(complete),
        pareto=pareto,
        baseline=baseline,
        n_running=sum(t.state == state.RUNNING for t in all_trials),
        n_distinct=n_distinct,
    )


__all__ = [
    "TrialSeededTPESampler",
    "TuningReport",
    "WorkerSpec",
    "bind_settings",
    "create_study",
    "created_here",
    "enqueue_baseline",
    "fail_stale_trials",
    "make_pruner",
    "make_sampler",
    "optimize",
    "preflight",
    "run_workers",
    "split_trials",
    "summarize",
]
