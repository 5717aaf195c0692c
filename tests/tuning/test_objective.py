"""Walk-forward folds, the objective's out-of-sample value, pruning and reproducibility."""

from __future__ import annotations

import itertools
from datetime import date

import numpy as np
import optuna
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantalloc.errors import ConfigError, DataError
from quantalloc.tuning import objective as obj
from quantalloc.tuning.objective import WalkForwardObjective, make_folds
from quantalloc.tuning.spaces import get_space
from quantalloc.tuning.study import create_study, optimize, split_trials, summarize
from tests.tuning.synthetic import SyntheticObjective, sma_strategy


def test_rolling_folds_tile_the_window() -> None:
    folds = make_folds("2016-01-01", "2020-12-31", n_folds=3, train_chunks=2)
    assert len(folds) == 3
    assert folds[0].train_start == pd.Timestamp("2016-01-01")
    assert folds[-1].test_end == pd.Timestamp("2020-12-31")
    for a, b in itertools.pairwise(folds):
        assert a.test_end + pd.Timedelta(days=1) == b.test_start  # test windows follow each other
        assert b.train_start > a.train_start  # rolling
    for f in folds:
        assert f.train_end < f.test_start  # never train on the test window
        assert f.test_start == f.train_end + pd.Timedelta(days=1)
    anchored = make_folds("2016-01-01", "2020-12-31", n_folds=3, anchored=True)
    assert {f.train_start for f in anchored} == {pd.Timestamp("2016-01-01")}


def test_bad_windows() -> None:
    with pytest.raises(ConfigError, match="before it starts"):
        make_folds("2020-01-01", "2019-01-01")
    with pytest.raises(ConfigError, match="too short"):
        make_folds("2020-01-01", "2020-02-01", n_folds=5)
    with pytest.raises(ConfigError):
        make_folds("2020-01-01", "2021-01-01", n_folds=0)
    with pytest.raises(ConfigError, match="metric"):
        WalkForwardObjective(
            evaluate=sma_strategy, space=get_space("momentum"), folds=[], metric="alpha"
        )


def test_study_value_is_the_joined_out_of_sample_metric() -> None:
    objective = SyntheticObjective()()
    study = optuna.create_study(direction="maximize")
    optimize(study, objective, 4)
    for t in study.trials:
        params = t.params
        pieces = []
        for f in objective.folds:  # recompute by hand from the strategy itself
            r = sma_strategy(params, f.train_start, f.test_end)
            pieces.append(r.loc[f.test_start : f.test_end])
        oos = pd.concat(pieces)
        assert t.value == pytest.approx(obj.sharpe(oos.to_numpy()))
        assert oos.index.is_monotonic_increasing and oos.index.is_unique
        rec = obj.wf_attrs(t)
        assert len(rec[obj.ATTR_OOS_RETURNS]) == len(oos)
        np.testing.assert_allclose(rec[obj.ATTR_OOS_RETURNS], oos.to_numpy(), rtol=1e-9)
        assert len(rec[obj.ATTR_FOLD_TRAIN]) == 3


def test_metrics_reference_values() -> None:
    # A 10% fall then a 20% rise: drawdown 10%, growth 1.08 over 2 days.
    r = np.array([-0.1, 0.2])
    assert obj.max_drawdown(r) == pytest.approx(0.1)
    assert obj.cagr(r) == pytest.approx(1.08 ** (252 / 2) - 1)
    # Sharpe: mean / std(ddof=1) * sqrt(252)
    assert obj.sharpe(r) == pytest.approx(0.05 / np.std(r, ddof=1) * np.sqrt(252))
    assert obj.sharpe(np.zeros(10)) == 0.0


def test_seeded_study_reproduces() -> None:
    def run() -> list[float]:
        study = create_study(None, "repro", seed=123)
        optimize(study, SyntheticObjective()(), 12)
        return [t.value for t in study.trials if t.value is not None] + [
            float(t.params["sma_days"]) for t in study.trials
        ]

    assert run() == run()


def test_pruning_stops_hopeless_trials() -> None:
    study = create_study(None, "prune", seed=5)
    optimize(study, SyntheticObjective(n_folds=4)(), 30)
    states = [t.state for t in study.trials]
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert optuna.trial.TrialState.PRUNED in states
    # a pruned trial stopped before its last fold and has no out-of-sample series
    assert all(len(obj.wf_attrs(t)[obj.ATTR_FOLD_TEST]) < 4 for t in pruned)
    assert all(obj.ATTR_OOS_RETURNS not in obj.wf_attrs(t) for t in pruned)


def test_summary_report_holds_overfitting_statistics() -> None:
    study = create_study(None, "summary", seed=1)
    optimize(study, SyntheticObjective()(), 20)
    rep = summarize(study)
    assert rep.n_trials == 20 == rep.n_complete + rep.n_pruned + rep.n_failed
    assert rep.best_value == pytest.approx(max(t.value for t in study.trials if t.value))
    assert rep.out_of_sample["sharpe"] == pytest.approx(rep.best_value)
    assert rep.deflated_sharpe is not None and 0 <= rep.deflated_sharpe["dsr"] <= 1
    assert rep.deflated_sharpe["n_trials"] == rep.n_complete + rep.n_pruned
    assert rep.pbo is not None and 0 <= rep.pbo["pbo"] <= 1
    assert rep.walk_forward is not None and len(rep.walk_forward["chosen_trials"]) == 3
    assert set(rep.best_params) == {"sma_days", "stop_loss", "take_profit"}


def test_multi_objective_return_vs_drawdown() -> None:
    factory = SyntheticObjective(metric="return_drawdown")
    objective = factory()
    study = create_study(None, "mo", directions=objective.directions, seed=2)
    optimize(study, objective, 8)
    rep = summarize(study, "return_drawdown")
    assert isinstance(rep.best_value, list) and len(rep.best_value) == 2
    assert rep.pareto and all(p["values"][1] >= 0 for p in rep.pareto)
    with pytest.raises(ConfigError, match="directions"):
        create_study(None, "mo", seed=2, storage_obj=study._storage)


def test_evaluator_that_misses_the_window_fails_the_trial_only() -> None:
    def short(params, start, end):  # type: ignore[no-untyped-def]
        return pd.Series([0.01], index=[pd.Timestamp(start)])

    o = WalkForwardObjective(
        evaluate=short, space=get_space("momentum"), folds=make_folds("2018-01-01", "2020-01-01")
    )
    study = optuna.create_study(direction="maximize")
    optimize(study, o, 2)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.FAIL] * 2
    with pytest.raises(DataError, match="no completed trial"):
        summarize(study)


def test_split_trials() -> None:
    assert split_trials(10, 3) == [4, 3, 3]
    assert split_trials(2, 4) == [1, 1]
    with pytest.raises(ConfigError):
        split_trials(5, 0)


def test_baseline_is_the_first_trial_of_a_new_study() -> None:
    from quantalloc.tuning.study import enqueue_baseline

    study = create_study(None, "base", seed=0)
    objective = SyntheticObjective()()
    defaults = {"sma_days": 200, "stop_loss": 0.05, "take_profit": 0.0, "unused": 1}
    assert enqueue_baseline(study, objective.space, defaults) == {
        "sma_days": 200,
        "stop_loss": 0.05,
        "take_profit": 0.0,
    }
    optimize(study, objective, 3)
    first = study.trials[0]
    assert first.params == {"sma_days": 200, "stop_loss": 0.05, "take_profit": 0.0}
    assert first.user_attrs["baseline"] is True
    assert enqueue_baseline(study, objective.space, defaults) is None  # not twice
    rep = summarize(study)
    assert rep.baseline is not None and rep.baseline["trial"] == 0
    assert rep.baseline["out_of_sample"]["sharpe"] == pytest.approx(first.value)
    # a default outside the search range is left to the sampler
    fresh = create_study(None, "base2", seed=0)
    assert enqueue_baseline(fresh, objective.space, {"sma_days": 5, "stop_loss": 0.05}) == {
        "stop_loss": 0.05
    }


def test_a_study_keeps_its_settings() -> None:
    from quantalloc.tuning.study import bind_settings

    study = create_study(None, "settings", seed=0)
    bind_settings(study, {"strategy": "momentum", "start": pd.Timestamp("2015-01-01")})
    bind_settings(study, {"strategy": "momentum", "start": pd.Timestamp("2015-01-01")})  # same
    with pytest.raises(ConfigError, match=r"other settings.*start"):
        bind_settings(study, {"strategy": "momentum", "start": pd.Timestamp("2016-01-01")})


@settings(max_examples=40, deadline=None)
@given(
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2020, 1, 1)),
    days=st.integers(200, 6000),
    n_folds=st.integers(1, 6),
    train_chunks=st.integers(1, 4),
    anchored=st.booleans(),
)
def test_fold_properties(
    start: date, days: int, n_folds: int, train_chunks: int, anchored: bool
) -> None:
    end = pd.Timestamp(start) + pd.Timedelta(days=days)
    folds = make_folds(start, end, n_folds, train_chunks, anchored)
    assert len(folds) == n_folds
    assert folds[-1].test_end == end
    for f in folds:
        assert pd.Timestamp(start) <= f.train_start <= f.train_end < f.test_start <= f.test_end
    for a, b in itertools.pairwise(folds):
        assert a.test_end + pd.Timedelta(days=1) == b.test_start  # disjoint, no gap
    lengths = [(f.test_end - f.test_start).days for f in folds]
    assert max(lengths) - min(lengths) <= 2  # equal chunks up to rounding
