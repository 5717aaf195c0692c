"""``quantalloc backtest STRATEGY``: run one strategy on history and report it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from quantalloc.cli.console import console, synthetic_banner
from quantalloc.cli.options import (
    ChainsOpt,
    DataOpt,
    EndOpt,
    OutputOpt,
    ParamOpt,
    StartOpt,
    SymbolsOpt,
    VerboseOpt,
    open_provider,
)
from quantalloc.errors import ConfigError

STRATEGY_NAMES = ("momentum", "orb", "wheel", "multi", "allocator")
CHAIN_STRATEGIES = ("allocator", "wheel")
"""Strategies that take --chains (and --compare-proxy)."""


def register(app: typer.Typer) -> None:
    """Add the ``backtest`` command to ``app``."""
    app.command("backtest")(backtest)


def backtest(
    strategy: Annotated[
        str | None,
        typer.Argument(
            help=f"Strategy: {', '.join(STRATEGY_NAMES)} (may come from --model instead).",
            show_default=False,
        ),
    ] = None,
    data: DataOpt = "auto",
    market: Annotated[
        str,
        typer.Option(
            "--market",
            help="Market profile: 'us' (the default: the strategies' default symbols, SPY and "
            "SPXL, are US listings) or 'in' (a plain Yahoo name is an NSE stock).",
        ),
    ] = "us",
    start: StartOpt = None,
    end: EndOpt = None,
    capital: Annotated[float, typer.Option("--capital", help="Starting capital.")] = 100_000.0,
    param: ParamOpt = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Load [backtest] strategy and [backtest.params] from models/NAME.toml; "
            "--param overrides them.",
        ),
    ] = None,
    symbols: SymbolsOpt = None,
    chains: ChainsOpt = None,
    compare_proxy: Annotated[
        bool,
        typer.Option(
            "--compare-proxy",
            help="With --chains: also re-price the same positions by the vol proxy and report "
            "the difference (return, Sharpe, per-trade entry price and P&L error).",
        ),
    ] = False,
    output: OutputOpt = None,
    plot: Annotated[
        str | None,
        typer.Option("--plot", help="Write an equity and drawdown chart (FILE.png or FILE.html)."),
    ] = None,
    verbose: VerboseOpt = False,
) -> None:
    """Backtest a trading strategy and print its metrics (total return, CAGR, Sharpe, ...)."""
    from quantalloc.backtest.params import parse_kv
    from quantalloc.backtest.registry import make_params, run_strategy
    from quantalloc.cli.paths import output_file

    if plot is not None:
        output_file(plot, "--plot", (".png", ".html"))
    if output is not None:
        output_file(output, "--output", (".json",))
    if not capital > 0 or capital != capital or capital == float("inf"):
        raise ConfigError(f"--capital must be a positive amount, got {capital:g}")
    name, values = _from_model(model, strategy)
    values.update(parse_kv(param or []))
    if symbols is not None:
        values["symbols"] = symbols
    if chains is not None:
        if name not in CHAIN_STRATEGIES:
            raise ConfigError(
                f"--chains prices the option replays ({', '.join(CHAIN_STRATEGIES)}); {name!r} "
                "trades no options"
            )
        values["chains"] = chains
    if compare_proxy:
        if chains is None:
            raise ConfigError("--compare-proxy re-prices a replay on chains; give --chains too")
        values["compare_proxy"] = True
    params = make_params(name, values)
    provider = open_provider(data, market)
    with replay_progress(name in CHAIN_STRATEGIES) as progress:
        result = run_strategy(name, provider, start, end, capital, params, progress=progress)
    _print_summary(result)
    if output:
        result.write_json(output)
        console.print(f"wrote {output}")
    if plot:
        from quantalloc.backtest.plot import write_plot

        write_plot(result, plot)
        console.print(f"wrote {plot}")
    synthetic_banner(result)


@contextmanager
def replay_progress(show: bool = True) -> Iterator[Callable[[Any], None] | None]:
    """A rich progress bar on stderr fed with a replay's ``ReplayProgress`` (sessions done,
    rebalances, date, equity); silent when stderr is not a terminal; None unless ``show``."""
    if not show:
        yield None
        return
    from quantalloc.cli.console import progress_bar

    with progress_bar("sessions") as bar:
        task = bar.add_task("replay", total=None)

        def progress(state: Any) -> None:
            text = f"{state.day.date()}  {state.rebalances} rebalances  equity {state.equity:,.0f}"
            bar.update(task, completed=state.session, total=state.sessions, description=text)

        yield progress


def _from_model(model: str | None, strategy: str | None) -> tuple[str, dict[str, Any]]:
    """Strategy name and parameter values from ``--model`` and the STRATEGY argument."""
    if model is None:
        if strategy is None:
            raise ConfigError(f"name a STRATEGY ({', '.join(STRATEGY_NAMES)}) or pass --model NAME")
        return strategy, {}
    from quantalloc.config import load_toml

    doc = load_toml(model)
    table = doc.get("backtest")
    if not isinstance(table, dict) or "strategy" not in table:
        raise ConfigError(f'model {model!r} has no [backtest] table with strategy = "..."')
    name = str(table["strategy"])
    if strategy is not None and strategy != name:
        raise ConfigError(
            f"model {model!r} is for strategy {name!r}, not {strategy!r}; drop one of them"
        )
    params = table.get("params", {})
    if not isinstance(params, dict):
        raise ConfigError(f"model {model!r}: [backtest.params] must be a table of NAME = VALUE")
    return name, dict(params)


def _print_summary(result: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    from quantalloc.backtest.metrics import METRIC_NAMES
    from quantalloc.backtest.plot import format_metric

    eq = result.equity
    console.print(
        f"[bold]{escape(result.strategy)}[/]  {eq.index[0].date()} .. {eq.index[-1].date()}  "
        f"capital {result.capital:,.0f} -> {eq.iloc[-1]:,.0f}"
    )
    console.print(
        f"data {escape(result.data_source)}"
        + ("  [bold yellow](synthetic)[/]" if result.synthetic else ""),
        soft_wrap=True,
    )
    shown = {k: v for k, v in result.params.items() if v is not None}
    if shown:
        console.print(
            "params " + escape(", ".join(f"{k}={v}" for k, v in shown.items())),
            soft_wrap=True,
            highlight=False,
        )
    table = Table(show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    comparison = result.sections.get("comparison")
    if comparison:
        table.add_column("proxy", justify="right")
    for name in METRIC_NAMES:
        row = [name, format_metric(name, result.metrics[name])]
        if comparison:
            proxy = comparison["proxy"].get(name)
            row.append("" if proxy is None else format_metric(name, proxy))
        table.add_row(*row)
    console.print(table)
    if comparison:
        _print_comparison(comparison)
    _print_replay_facts(result)
    for note in result.notes:
        console.print(f"note: {note}", markup=False)


def _print_comparison(comparison: dict[str, Any]) -> None:
    s = comparison["summary"]
    if not s.get("positions"):
        return
    console.print(
        f"proxy vs chain over {s['positions']} positions: entry premium per lot off by "
        f"{s['entry_price_error_mean']:,.2f} on average "
        f"(median {s['entry_price_error_median']:,.2f}), "
        f"P&L by {s['pnl_error_mean']:,.2f} a position ({s['pnl_error_total']:,.0f} in all); "
        f"leg prices {s['leg_price_relative_error_mean']:+.1%} on average "
        f"(median absolute {s['leg_price_relative_error_median_abs']:.1%})",
        highlight=False,
    )


def _print_replay_facts(result: Any) -> None:
    pricing = result.sections.get("pricing")
    if pricing:
        marks, fills = pricing["marks"], pricing["fills"]
        console.print(
            f"option marks: {marks['chain']} from the chain, {marks['model']} from the model; "
            f"exit fills: {fills['chain']} chain, {fills['model']} model",
            highlight=False,
        )
    t = result.timings
    if t:
        console.print(
            f"{t['rebalances']} rebalances, {t['seconds_per_rebalance']:.2f} s each "
            f"({t['solve_seconds_per_rebalance']:.2f} s in the solve)",
            highlight=False,
        )
