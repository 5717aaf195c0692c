"""Two worker PROCESSES tuning one study share it: every trial they ran is there, once."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from quantalloc.tuning.storage import open_storage
from quantalloc.tuning.study import WorkerSpec, run_workers
from tests.tuning.synthetic import SyntheticObjective


def _check_shared(storage: str, study_name: str, result_path: Path, n_trials: int) -> None:
    spec = WorkerSpec(
        storage, study_name, SyntheticObjective(), n_trials, 7, None, str(result_path)
    )
    seen: list[int] = []
    run_workers(spec, workers=2, on_poll=seen.append, poll_seconds=0.2)
    per_worker = [
        [int(x) for x in Path(f"{result_path}.{i}").read_text().split()] for i in range(2)
    ]
    ran = per_worker[0] + per_worker[1]
    # both processes really ran trials, none twice
    assert all(per_worker), per_worker
    assert len(ran) == len(set(ran)) == n_trials
    # the storage, read by a fresh handle, holds exactly those trials and no others
    study = optuna.load_study(study_name=study_name, storage=open_storage(storage))
    numbers = [t.number for t in study.trials]
    assert sorted(numbers) == sorted(ran) == list(range(n_trials))
    assert all(t.state.is_finished() for t in study.trials)
    assert seen[-1] == n_trials


@pytest.mark.slow
@pytest.mark.postgres
def test_two_processes_share_a_postgres_study(postgres_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _check_shared(postgres_server.url, "two-workers", tmp_path / "ran", 10)


@pytest.mark.slow
def test_two_processes_share_a_journal_file(tmp_path: Path) -> None:
    _check_shared(f"journal:{tmp_path}/s.journal", "two-workers", tmp_path / "ran", 10)


def test_workers_refuse_memory_storage(tmp_path: Path) -> None:
    from quantalloc.errors import ConfigError

    with pytest.raises(ConfigError, match="share"):
        run_workers(WorkerSpec("memory", "x", SyntheticObjective(), 4, 0), workers=2)
