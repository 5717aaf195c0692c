"""Equity and drawdown chart of a backtest: a PNG, or a self-contained HTML page embedding it.

matplotlib draws the chart (headless ``Agg`` backend); the HTML form inlines the PNG as base64
next to the metrics table, so the file opens anywhere without a network or a server.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

from quantalloc.atomic import write_atomic
from quantalloc.backtest.metrics import METRIC_NAMES
from quantalloc.backtest.result import BacktestResult
from quantalloc.errors import ConfigError

PLOT_SUFFIXES = (".png", ".html")
_PERCENT = {"total_return", "cagr", "volatility", "max_drawdown", "win_rate", "exposure"}


def format_metric(name: str, value: float) -> str:
    """A metric as people read it: percentages for returns and rates, 2 decimals for ratios."""
    if value is None or value != value:
        return "n/a"
    if name == "trades":
        return f"{int(value)}"
    if name in _PERCENT:
        return f"{100 * value:.1f}%"
    return f"{value:.2f}"


def params_text(result: BacktestResult) -> str:
    """The run's data source and parameters in one line (symbols included), for titles."""
    shown = ", ".join(f"{k}={v}" for k, v in result.params.items() if v is not None)
    source = f"data {result.data_source}" if result.data_source else ""
    if result.synthetic:
        source += " (SYNTHETIC)"
    return "; ".join(p for p in (source, shown) if p)


def position_spans(result: BacktestResult) -> list[tuple[Any, Any]]:
    """(entry, exit) times of the run's trades, merged where they overlap; [] without times.

    Intraday strategies record times to the bar, so the shading shows the minutes held, not
    the whole day the daily ``in_position`` flag marks.
    """
    import pandas as pd

    trades = result.trades
    if not len(trades) or not {"entry_time", "exit_time"} <= set(trades.columns):
        return []
    start = pd.to_datetime(trades["entry_time"], errors="coerce")
    end = pd.to_datetime(trades["exit_time"], errors="coerce")
    pairs = sorted((a, b) for a, b in zip(start, end, strict=True) if a == a and b == b)
    merged: list[tuple[Any, Any]] = []
    for a, b in pairs:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def currency_of(result: BacktestResult) -> str:
    """The currency of the run's money, from its market parameter (US dollars by default)."""
    market = str(result.params.get("market", "us") or "us").lower()
    return "INR" if market == "in" else "USD"


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)[:3])


def _png_bytes(result: BacktestResult) -> bytes:
    import matplotlib.pyplot as plt

    fig = figure(result)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def figure(result: BacktestResult) -> Any:
    """The matplotlib figure: equity (money axis with separators) over drawdown."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_eq, ax_dd) = plt.subplots(
        2, 1, figsize=(11, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1.3]}
    )
    eq = result.equity
    ax_eq.plot(eq.index, eq.to_numpy(), color="#1f5fa8", lw=1.4, label="equity")
    ax_eq.axhline(result.capital, color="grey", lw=0.8, ls="--", label="starting capital")
    spans = position_spans(result)
    if spans:  # each trade from its entry to its exit, to the bar (a 30-minute trade is thin)
        for k, (start, end) in enumerate(spans):
            ax_eq.axvspan(start, end, color="#1f5fa8", alpha=0.07, lw=0,
                          label="in position" if k == 0 else None)  # fmt: skip
    else:
        held = result.in_position.reindex(eq.index).fillna(False).to_numpy(dtype=bool)
        lo, hi = float(eq.min()), float(eq.max())
        ax_eq.fill_between(eq.index, lo, hi, where=held, color="#1f5fa8", alpha=0.07,
                           step="mid", label="in position")  # fmt: skip
    mt = result.metrics
    ax_eq.set_title(
        f"{result.strategy}: total {format_metric('total_return', mt['total_return'])}, "
        f"CAGR {format_metric('cagr', mt['cagr'])}, "
        f"Sharpe {format_metric('sharpe', mt['sharpe'])}, "
        f"max drawdown {format_metric('max_drawdown', mt['max_drawdown'])}\n"
        + _wrap(params_text(result), 120),
        fontsize=10,
    )
    from matplotlib.ticker import FuncFormatter

    currency = currency_of(result)
    ax_eq.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    ax_eq.set_ylabel(f"equity ({currency})" if currency else "equity")
    ax_eq.grid(alpha=0.3)
    ax_eq.legend(loc="upper left", fontsize=8, frameon=False)
    dd = 100 * result.drawdown
    ax_dd.fill_between(dd.index, dd.to_numpy(), 0, color="#c0392b", alpha=0.5, lw=0)
    ax_dd.set_ylabel("drawdown %")
    ax_dd.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _html(result: BacktestResult, png: bytes) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(n)}</td><td>{format_metric(n, result.metrics[n])}</td></tr>"
        for n in METRIC_NAMES
    )
    img = base64.b64encode(png).decode("ascii")
    start, end = result.equity.index[0].date(), result.equity.index[-1].date()
    title = html.escape(f"{result.strategy} backtest {start} .. {end}")
    title += "<br><small>" + html.escape(params_text(result)) + "</small>"
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(result.strategy)} backtest</title>"
        "<style>body{font-family:sans-serif;margin:2em}"
        "table{border-collapse:collapse}td{padding:2px 12px;border-bottom:1px solid #ddd}"
        "td:last-child{text-align:right}</style></head><body>"
        f"<h2>{title}</h2><img alt='equity and drawdown' src='data:image/png;base64,{img}'>"
        f"<table>{rows}</table></body></html>\n"
    )


def write_plot(result: BacktestResult, path: str | Path) -> None:
    """Write the chart to ``path`` (``.png`` or ``.html``), atomically."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in PLOT_SUFFIXES:
        raise ConfigError(f"`plot` {path}: the file must end in .png or .html", params="plot")
    png = _png_bytes(result)
    data = png if suffix == ".png" else _html(result, png).encode("utf-8")
    write_atomic(target, data, make_parents=False)
