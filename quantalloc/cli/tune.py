"""`quantalloc tune`: walk-forward optuna studies of a strategy's parameters."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer

from quantalloc.cli.console import console, err_console, handles_errors
from quantalloc.cli.options import MarketOpt, OutputOpt, VerboseOpt

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
    @handles_errors
    def tune_cmd(
        strategy: Annotated[
            str | None,
            typer.Argument(help="Strategy to tune: momentum, orb, wheel or allocator."),
        ] = None,
        trials: Annotated[
            int | None, typer.Option("--trials", "-n", help="Number of trials (default 50).")
        ] = None,
        data: Annotated[
            str | None, typer.Option("--data", help="Price source, e.g. csv:../shared/data/us.")
        ] = None,
        market: MarketOpt = "us",
        start: Annotated[
            str | None, typer.Option("--start", help="First day of the tuning window.")
        ] = None,
        end: Annotated[str | None, typer.Option("--end", help="Last day of the window.")] = None,
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
            typer.Option("--study", help="Study name; processes naming it share the study."),
        ] = None,
        workers: Annotated[
            int | None,
            typer.Option("--workers", "-j", help="Worker processes sharing the study."),
        ] = None,
        timeout: Annotated[
            float | None, typer.Option("--timeout", help="Stop starting trials after S seconds.")
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
                help="Experiment TOML with \\[tune] defaults, \\[space] bounds, \\[fixed] params.",
            ),
        ] = None,
        output: OutputOpt = None,
        export: Annotated[
            str | None,
            typer.Option(
                "--export", help="Write the best parameters as a model file models/NAME.toml."
            ),
        ] = None,
        verbose: VerboseOpt = False,
    ) -> None:
        """Tune a strategy walk-forward with optuna; report how far to trust the result.

        The study maximises the out-of-sample metric; the report adds the deflated Sharpe ratio
        and the probability of backtest overfitting.
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
        source = _pick(data, cfg, "data", None)
        if not (first and last):
            raise ConfigError(
                "the tuning window needs --start and --end (e.g. --start 2010-01-01 --end "
                "2017-12-29); the last folds of it are the out-of-sample test windows"
            )
        if not source:
            raise ConfigError(
                "pass the price source with --data, e.g. --data csv:../shared/data/us"
            )
        url = _pick(storage, cfg, "storage", None) or default_study_url()
        study_name = _pick(study, cfg, "study", None) or f"{name}-{metric_name}"
        recipe = StrategyObjective(
            strategy=name,
            data=str(source),
            start=str(first),
            end=str(last),
            market=market if market != "us" else str(cfg.get("market", "us")),
            capital=float(_pick(capital, cfg, "capital", 100_000.0)),
            metric=metric_name,
            n_folds=int(_pick(folds, cfg, "folds", 3)),
            train_chunks=int(cfg.get("train_chunks", 2)),
            anchored=bool(cfg.get("anchored", False)),
            overrides=space_cfg,
            fixed=fixed_cfg,
        )
        report, objective = _run(
            recipe,
            url,
            study_name,
            n_trials,
            n_workers,
            int(_pick(seed, cfg, "seed", 0)),
            _pick(timeout, cfg, "timeout", None),
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
                export,
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


def _run(recipe: Any, url: str, study_name: str, n_trials: int, workers: int, seed: int,
         timeout: float | None) -> tuple[Any, Any]:  # fmt: skip
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from quantalloc.storage.url import study_url
    from quantalloc.tuning.evaluators import strategy_fields
    from quantalloc.tuning.study import (
        FINISHED,
        WorkerSpec,
        bind_settings,
        create_study,
        enqueue_baseline,
        optimize,
        run_workers,
        split_trials,
        summarize,
    )

    split_trials(n_trials, workers)  # validates both counts
    study_url(url)  # and the storage URL, before any backtest runs
    objective = recipe()  # fails early on a bad space, window or strategy
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
    defaults = {f["name"]: f["default"] for f in strategy_fields(recipe.strategy)}
    enqueue_baseline(study, objective.space, {**defaults, **objective.space.fixed})
    before = len(study.get_trials(deepcopy=False, states=FINISHED))
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    )
    with progress:
        task = progress.add_task(f"tuning {recipe.strategy}", total=n_trials)
        if workers == 1:
            optimize(
                study,
                objective,
                n_trials,
                timeout,
                callbacks=[lambda s, t: progress.advance(task)],
            )
        else:
            spec = WorkerSpec(url, study_name, recipe, n_trials, seed, timeout)
            run_workers(
                spec,
                workers,
                on_poll=lambda done: progress.update(task, completed=max(done - before, 0)),
            )
    return summarize(study, recipe.metric), objective


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
        f"{doc['n_failed']} failed)",
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
    if doc.get("at_search_bounds"):
        err_console.print(
            f"[yellow]note:[/] best {', '.join(doc['at_search_bounds'])} on the edge of the "
            "search space; widen it with a \\[space] table in --config",
            markup=True,
        )
