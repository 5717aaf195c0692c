"""Tuning with optuna: search spaces, the walk-forward objective, overfitting statistics.

Public API::

    from quantalloc.tuning import StrategyObjective, create_study, optimize, summarize
    recipe = StrategyObjective("momentum", "csv:../shared/data/us", "2010-01-01", "2017-12-29")
    objective = recipe()                       # WalkForwardObjective over 3 folds
    study = create_study("journal:studies.journal", "mom", objective.directions, seed=0)
    optimize(study, objective, n_trials=50)
    report = summarize(study)                  # best params, IS/OOS, DSR, PBO, walk-forward

Modules: ``spaces`` (declared search spaces), ``objective`` (walk-forward folds and objective),
``overfitting`` (deflated Sharpe ratio, PBO by CSCV), ``storage`` (study storage URLs),
``study`` (running studies, worker processes, the report), ``evaluators`` (the bridge to
``quantalloc.backtest``), ``export`` (JSON and model TOML).
"""

from quantalloc.tuning.evaluators import StrategyEvaluator, StrategyObjective
from quantalloc.tuning.objective import Fold, WalkForwardObjective, make_folds
from quantalloc.tuning.overfitting import (
    DeflatedSharpe,
    PBOResult,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
)
from quantalloc.tuning.spaces import SPACES, Param, SearchSpace, get_space
from quantalloc.tuning.storage import open_storage
from quantalloc.tuning.study import (
    TuningReport,
    WorkerSpec,
    create_study,
    enqueue_baseline,
    optimize,
    run_workers,
    summarize,
)

__all__ = [
    "SPACES",
    "DeflatedSharpe",
    "Fold",
    "PBOResult",
    "Param",
    "SearchSpace",
    "StrategyEvaluator",
    "StrategyObjective",
    "TuningReport",
    "WalkForwardObjective",
    "WorkerSpec",
    "create_study",
    "deflated_sharpe_ratio",
    "enqueue_baseline",
    "expected_max_sharpe",
    "get_space",
    "make_folds",
    "open_storage",
    "optimize",
    "probabilistic_sharpe_ratio",
    "probability_of_backtest_overfitting",
    "run_workers",
    "summarize",
]
