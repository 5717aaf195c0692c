"""`quantalloc tune`: walk-forward optuna studies of a strategy's parameters."""

from __future__ import annotations

import math
import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from quantalloc.cli.console import console, err_console
from quantalloc.cli.options import ENV_DATA, EndOpt, OutputOpt, StartOpt, VerboseOpt
from quantalloc.cli.paths import output_file

if TYPE_CHECKING:
    from quantalloc.tuning.evaluators import StrategyObjective

_CONFIG_KEYS = {
    "strategy",
    "trials",
    "data",
    "market",
    "start",
    "end",
    "storage",
    "study",
    "workers",
    "timeout",
    "metric",
    "folds",
    "train_chunks",
    "anchored",
    "seed",
    "capital",
}


def _read_config(path: str | None) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The ``[tune]``, ``[space]`` and ``[fixed]`` tables of an experiment config file."""
    from quantalloc.errors import ConfigError

    if path is None:
        return {}, {}, {}
    p = Path(path)
    if not p.is_file():
        raise ConfigError(
            f"config file {path} does not exist; pass a TOML file with a [tune] table"
        )
    try:
        doc = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file") from exc
    unknown_tables = sorted(set(doc) - {"tune", "space", "fixed", "experiment"})
    if unknown_tables:
        raise ConfigError(
            f"{path}: unknown table(s) {unknown_tables}; use [tune], [space], [fixed]"
        )
    tune = dict(doc.get("tune", {}))
    bad = sorted(set(tune) - _CONFIG_KEYS)
    if bad:
        raise ConfigError(f"{path}: unknown [tune] key(s) {bad}; known: {sorted(_CONFIG_KEYS)}")
    return tune, dict(doc.get("space", {})), dict(doc.get("fixed", {}))


def _pick(flag: Any, config: dict[str, Any], key: str, default: Any) -> Any:
    if flag is not None:
        return flag
    return config.get(key, default)


def register(app: typer.Typer) -> None:
    """Add the `tune` command to ``app``."""

    @app.command("tune")
    def tune_cmd(
        strategy: Annotated[
            str | None,
            typer.Argument(help="Strategy to tune: momentum, orb, wheel or allocator."),
        ] = None,
        trials: Annotated[
            int | None, typer.Option("--trials", "-n", help="Number of trials (default 50).")
        ] = None,
        data: Annotated[
            str | None,
            typer.Option(
                "--data",
                help="Price source, e.g. csv:../shared/data/us (default auto: $QUANTALLOC_DATA, "
                "else yahoo, else demo).",
            ),
        ] = None,
        market: Annotated[
            str | None,
            typer.Option(
                "--market",
                help="Market profile: 'us' (the default: the strategies' symbols are US "
                "listings) or 'in'.",
            ),
        ] = None,
        start: StartOpt = None,
        end: EndOpt = None,
        storage: Annotated[
            str | None,
            typer.Option(
                "--storage",
                help="Study storage: memory, journal:FILE (default: a file in the user data "
                "folder), sqlite:///FILE or postgresql://USER:PASS@HOST/DB.",
            ),
        ] = None,
        study: Annotated[
            str | None,
            typer.Option(
                "--study",
                help="Study name; processes naming it share the study (default: "
                "STRATEGY-METRIC-START-END).",
            ),
        ] = None,
        workers: Annotated[
            int | None,
            typer.Option("--workers", "-j", help="Worker processes sharing the study."),
        ] = None,
        timeout: Annotated[
            float | None,
            typer.Option("--timeout", help="Stop starting trials after S seconds (> 0)."),
        ] = None,
        metric: Annotated[
            str | None,
            typer.Option(
                "--metric", help="Out-of-sample objective: sharpe, score or return_drawdown."
            ),
        ] = None,
        folds: Annotated[
            int | None, typer.Option("--folds", help="Walk-forward folds (default 3).")
        ] = None,
        seed: Annotated[
            int | None, typer.Option("--seed", help="Sampler seed (default 0).")
        ] = None,
        capital: Annotated[
            float | None, typer.Option("--capital", help="Starting capital of each backtest.")
        ] = None,
        config: Annotated[
            str | None,
            typer.Option(
                "--config",
                help="Experiment TOML with [tune] defaults, [space] bounds, [fixed] params.",
            ),
        ] = None,
        output: OutputOpt = None,
        export: Annotated[
            str | None,
            typer.Option(
                "--export",
                help="Write the best parameters as model NAME in your model folder (where "
                "--model NAME finds it), or to a PATH.toml; shipped models are never replaced.",
            ),
        ] = None,
        force: Annotated[
            bool, typer.Option("--force", help="Let --export replace an existing model file.")
        ] = False,
        verbose: VerboseOpt = False,
    ) -> None:
        """Tune a strategy walk-forward with optuna; report how far to trust the result.

        Only STRATEGY is required. The window defaults to the data's whole span, split into
        folds + 2 equal chunks: each fold trains on 2 chunks and tests on the next, so the last
        --folds chunks are out of sample. The study maximises the out-of-sample metric; the
        report adds the deflated Sharpe ratio and the probability of backtest overfitting. A
        study of the same --study name in the same --storage is resumed (and said so).
        """
        from quantalloc.errors import ConfigError
        from quantalloc.storage.url import default_study_url, redact
        from quantalloc.tuning.evaluators import StrategyObjective
        from quantalloc.tuning.export import write_json, write_model_toml

        cfg, space_cfg, fixed_cfg = _read_config(config)
        name = _pick(strategy, cfg, "strategy", None)
        if not name:
            raise ConfigError("name the strategy to tune, e.g. `quantalloc tune momentum`")
        from quantalloc.tuning.spaces import get_space

        get_space(str(name))  # an unknown strategy is named before anything else is asked for
        n_trials = int(_pick(trials, cfg, "trials", 50))
        n_workers = int(_pick(workers, cfg, "workers", 1))
        metric_name = str(_pick(metric, cfg, "metric", "sharpe"))
        first, last = _pick(start, cfg, "start", None), _pick(end, cfg, "end", None)
        source = str(_pick(data, cfg, "data", None) or "auto")
        the_market = str(_pick(market, cfg, "market", "us"))
        start_capital = float(_pick(capital, cfg, "capital", 100_000.0))
        n_folds = int(_pick(folds, cfg, "folds", 3))
        stop_after = _pick(timeout, cfg, "timeout", None)
        _check_numbers(n_trials, n_workers, n_folds, start_capital, stop_after)
        _check_words(metric_name, study, int(_pick(seed, cfg, "seed", 0)), first, last)
        if output:
            output_file(output, "--output", (".json",))
        if export:
            _export_target(export, force)
        url = _pick(storage, cfg, "storage", None) or default_study_url()
        if storage or cfg.get("storage"):
            _check_storage_folder(url)
        if source.strip().lower() == "auto" and os.environ.get(ENV_DATA):
            source = os.environ[ENV_DATA]
        recipe = StrategyObjective(
            strategy=name,
            data=str(source),
            start=str(first or ""),
            end=str(last or ""),
            market=the_market,
            capital=start_capital,
            metric=metric_name,
            n_folds=n_folds,
            train_chunks=int(cfg.get("train_chunks", 2)),
            anchored=bool(cfg.get("anchored", False)),
            overrides=space_cfg,
            fixed=fixed_cfg,
        )
        if not (first and last):
            recipe = _default_window(recipe)
        first, last = recipe.start, recipe.end
        # the default name carries the window: another window is another study, not a clash
        study_name = _pick(study, cfg, "study", None) or f"{name}-{metric_name}-{first}-{last}"
        report, objective = _run(
            recipe,
            url,
            study_name,
            n_trials,
            n_workers,
            int(_pick(seed, cfg, "seed", 0)),
            stop_after,
        )
        best_params = {**objective.space.fixed, **recipe.fixed, **report.best_params}
        doc = {
            "strategy": name,
            "study": study_name,
            "storage": redact(url),
            "data": source,
            "window": {"start": str(first), "end": str(last)},
            "folds": [f.to_dict() for f in objective.folds],
            "search_space": objective.space.to_dict(),
            **report.to_dict(),
            "best_params": best_params,
            "at_search_bounds": objective.space.at_bounds(report.best_params),
        }
        _print_report(doc)
        if output:
            write_json(output, doc)
            err_console.print(f"wrote {output}")
        if export:
            dsr = report.deflated_sharpe or {}
            pbo = report.pbo or {}
            path = write_model_toml(
                _export_target(export, force),
                name,
                best_params,
                {
                    "data": str(source),
                    "start": str(first),
                    "end": str(last),
                    "study": study_name,
                    "metric": metric_name,
                    "score": report.best_value
                    if isinstance(report.best_value, float)
                    else report.best_value[0],
                    "oos_sharpe": report.out_of_sample.get("sharpe"),
                    "trials": report.n_trials,
                    "deflated_sharpe": dsr.get("dsr"),
                    "pbo": pbo.get("pbo"),
                },
            )
            err_console.print(f"wrote model {path}")


def _check_numbers(
    trials: int, workers: int, folds: int, capital: float, timeout: float | None
) -> None:
    """The counts and amounts of a study, each in range, before anything runs."""
    from quantalloc.errors import ConfigError

    for flag, value in (("--trials", trials), ("--workers", workers), ("--folds", folds)):
        if value < 1:
            raise ConfigError(f"{flag} must be a whole number >= 1, got {value}")
    if not (math.isfinite(capital) and capital > 0):
        raise ConfigError(f"--capital must be a positive amount, got {capital:g}")
    if timeout is not None and not (math.isfinite(float(timeout)) and float(timeout) > 0):
        raise ConfigError(f"--timeout must be a number of seconds > 0, got {timeout}")


def _check_words(metric: str, study: str | None, seed: int, first: Any, last: Any) -> None:
    """The metric, study name, seed and window dates, checked before any data is read."""
    import pandas as pd

    from quantalloc.errors import ConfigError
    from quantalloc.tuning.objective import METRICS

    if metric not in METRICS:
        raise ConfigError(f"--metric {metric!r} is not one of {', '.join(METRICS)}")
    if study is not None and not study.strip():
        raise ConfigError("--study needs a name, e.g. --study momentum-v1")
    if seed < 0:
        raise ConfigError(f"--seed must be a whole number >= 0, got {seed}")
    days: dict[str, Any] = {}
    for flag, value in (("--start", first), ("--end", last)):
        if value is None:
            continue
        try:
            days[flag] = pd.Timestamp(str(value))
        except (ValueError, TypeError):
            days[flag] = pd.NaT
        if days[flag] is pd.NaT:
            raise ConfigError(f"{flag} {value!r} is not a date; write it as YYYY-MM-DD")
    if len(days) == 2 and days["--end"] <= days["--start"]:
        raise ConfigError(f"--end {last} is not after --start {first}; swap them")


def _export_target(target: str, force: bool) -> Path:
    from quantalloc.tuning.export import check_export_target

    return check_export_target(target, force=force)


def _check_storage_folder(url: str) -> None:
    """A study file's folder must exist (the user's data folder is the one folder made)."""
    from quantalloc.cli.paths import folder_of
    from quantalloc.storage.url import study_url

    canonical = study_url(url)
    for prefix in ("sqlite:///", "journal:"):
        if canonical.startswith(prefix):
            path = Path(canonical[len(prefix) :]).expanduser()
            folder_of(path, f"--storage {url} ({path})")


def _default_window(recipe: StrategyObjective) -> StrategyObjective:
    """``recipe`` with the data's span where its start or end is empty, announced with its split."""
    import dataclasses

    from quantalloc.tuning.spaces import get_space

    lo, hi = recipe.evaluator(get_space(recipe.strategy)).span()
    begin, finish = recipe.start or str(lo.date()), recipe.end or str(hi.date())
    err_console.print(
        f"window {begin} .. {finish} (the data's span where --start/--end is not given): "
        f"{recipe.n_folds + 2} equal chunks, each fold trains on 2 and tests on the next",
        markup=False,
        highlight=False,
    )
    return dataclasses.replace(recipe, start=begin, end=finish)


def _run(recipe: Any, url: str, study_name: str, n_trials: int, workers: int, seed: int,
         timeout: float | None) -> tuple[Any, Any]:  # fmt: skip
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from quantalloc.errors import QuantallocError
    from quantalloc.storage.url import redact, study_url
    from quantalloc.tuning.evaluators import strategy_fields
    from quantalloc.tuning.study import (
        FINISHED,
        WorkerSpec,
        bind_settings,
        create_study,
        created_here,
        enqueue_baseline,
        fail_stale_trials,
        optimize,
        preflight,
        run_workers,
        split_trials,
        summarize,
    )

    split_trials(n_trials, workers)  # validates both counts
    study_url(url)  # and the storage URL, before any backtest runs
    objective = recipe()  # fails early on a bad space, window or strategy
    defaults = {f["name"]: f["default"] for f in strategy_fields(recipe.strategy)}
    try:  # one backtest outside the study: a bad input stops here, no failed trial is stored
        preflight(objective, {**defaults, **objective.space.fixed})
    except QuantallocError as exc:
        raise type(exc)(f"{exc} (checked before the first trial; nothing was stored)") from exc
    study = create_study(url, study_name, objective.directions, seed)
    bind_settings(
        study,
        {
            "strategy": recipe.strategy,
            "data": recipe.data,
            "market": recipe.market,
            "capital": recipe.capital,
            "metric": recipe.metric,
            "folds": [f.to_dict() for f in objective.folds],
            "space": objective.space.to_dict(),
        },
    )
    if not created_here(study):
        running = fail_stale_trials(study)
        held = len(study.get_trials(deepcopy=False, states=FINISHED))
        err_console.print(
            f"resuming study {study_name} in {redact(url)}: {held} finished trials so far, "
            f"{n_trials} more now"
            + (f"; {running} marked running (other workers, or killed ones)" if running else ""),
            markup=False,
            highlight=False,
        )
    enqueue_baseline(study, objective.space, {**defaults, **objective.space.fixed})
    before = len(study.get_trials(deepcopy=False, states=FINISHED))
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[best]}"),
        console=err_console,
        transient=False,
    )
    with progress:
        task = progress.add_task(f"tuning {recipe.strategy}", total=n_trials, best="")

        def advance(done: int | None = None) -> None:
            best = _best_so_far(study)
            if done is None:
                progress.advance(task)
                progress.update(task, best=best)
            else:
                progress.update(task, completed=max(done - before, 0), best=best)

        if workers == 1:
            optimize(study, objective, n_trials, timeout, callbacks=[lambda s, t: advance()])
        else:
            spec = WorkerSpec(url, study_name, recipe, n_trials, seed, timeout)
            run_workers(spec, workers, on_poll=advance)
    return summarize(study, recipe.metric), objective


def _best_so_far(study: Any) -> str:
    """``best <value> (#trial)`` of a single-objective study, else nothing."""
    try:
        if len(study.directions) > 1:
            return ""
        best = study.best_trial
    except ValueError:  # no completed trial yet
        return ""
    return f"best {_fmt(best.value)} (#{best.number})"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def _print_report(doc: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"{doc['strategy']}: study {doc['study']}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row(
        "trials",
        f"{doc['n_trials']} ({doc['n_complete']} complete, {doc['n_pruned']} pruned, "
        f"{doc['n_failed']} failed; {doc.get('n_distinct', '-')} distinct parameter sets)",
    )
    table.add_row("best trial", f"#{doc['best_trial']}  value {_fmt(doc['best_value'])}")
    for k, v in doc["best_params"].items():
        table.add_row(f"  {k}", _fmt(v))
    oos = doc["out_of_sample"]
    for k in ("sharpe", "cagr", "max_drawdown", "score"):
        if k in oos:
            table.add_row(f"out-of-sample {k}", _fmt(oos[k]))
    table.add_row("in-sample (mean over folds)", _fmt(next(iter(doc["in_sample"].values()))))
    if doc.get("walk_forward"):
        wf = doc["walk_forward"]
        table.add_row("walk-forward selection Sharpe", f"{_fmt(wf['sharpe'])} (trials "
                      f"{', '.join(str(t) for t in wf['chosen_trials'])})")  # fmt: skip
    if doc.get("deflated_sharpe"):
        d = doc["deflated_sharpe"]
        table.add_row("deflated Sharpe ratio", f"{d['dsr']:.3f} over {d['n_trials']} trials")
    if doc.get("pbo"):
        p = doc["pbo"]
        table.add_row(
            "prob. of backtest overfitting", f"{p['pbo']:.3f} ({p['n_splits']} CSCV splits)"
        )
    console.print(table)
    console.print(
        "The best trial's out-of-sample Sharpe is optimistic: that trial was picked by its "
        "out-of-sample score. The walk-forward selection Sharpe is the honest one: per fold, "
        "the trial best on the training window, scored on the test window after it.",
        markup=False,
        highlight=False,
    )
    if doc.get("n_running"):
        err_console.print(
            f"note: {doc['n_running']} trials are still marked running and are not in this "
            "report (other workers, or killed ones: a resumed study fails those whose worker "
            "is gone)",
            markup=False,
        )
    if doc.get("at_search_bounds"):
        err_console.print(
            f"note: best {', '.join(doc['at_search_bounds'])} on the edge of the "
            "search space; widen it with a [space] table in --config",
            markup=False,
        )
