"""`quantalloc regime`: the market's state (direction x volatility regime) as a panel or JSON."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from quantalloc.cli.console import console, err_console
from quantalloc.cli.options import (
    ENV_CACHE_DIR,
    AsOfOpt,
    ChainsOpt,
    DataOpt,
    MarketOpt,
    VerboseOpt,
    VixOpt,
    VixSourceOpt,
    open_chains,
    open_provider,
)

_COLOURS = {"bullish": "green", "neutral": "yellow", "bearish": "red"}
_VOL_COLOURS = {"low": "green", "normal": "cyan", "high": "red", "spike": "bold red"}


def _fmt(value: Any, spec: str = ".3f", missing: str = "-") -> str:
    if value is None:
        return missing
    try:
        return format(float(value), spec)
    except (TypeError, ValueError):
        return str(value)


def _signed(value: Any) -> str:
    if value is None:
        return "[dim]missing[/]"
    v = float(value)
    colour = "green" if v > 0.05 else "red" if v < -0.05 else "yellow"
    return f"[{colour}]{v:+.3f}[/]"


def render_panel(
    result: dict[str, Any], cached_at: float | None = None, sources: dict[str, Any] | None = None
) -> Any:
    """A rich renderable of a ``MarketState.to_dict()`` result (and the data it was read from)."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table

    direction, vol = result["direction"], result["vix_regime"]
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row(
        "State",
        f"[bold {_COLOURS.get(direction, 'white')}]{result['state']}[/]"
        + ("  [bold red](VIX spike)[/]" if result.get("spike") else ""),
    )
    colour = _COLOURS.get(direction, "white")
    head.add_row(
        "Direction",
        f"[{colour}]{direction}[/]  score {_signed(result['direction_score'])}"
        f"  confidence {_fmt(result['confidence'], '.0%')}"
        f"  (agreement {_fmt(result.get('agreement'), '.0%')},"
        f" data quality {_fmt(result.get('data_quality'), '.0%')})",
    )
    pct = result.get("vix_percentile")
    head.add_row(
        "Volatility",
        f"[{_VOL_COLOURS.get(vol, 'white')}]{vol}[/]  level {_fmt(result['vix'], '.2f')}"
        f" ({result.get('vix_source', 'series')})"
        f"  1-year percentile {_fmt(pct, '.0f')}"
        f"  MA5 {_fmt(result.get('vix_ma5'), '.2f')} / MA20 {_fmt(result.get('vix_ma20'), '.2f')}"
        f" ({result.get('vix_trend', '-')})"
        f"  days since spike {_fmt(result.get('days_since_spike'), 'd', 'none in history')}",
    )
    head.add_row(
        "Options",
        f"PCR OI {_fmt(result.get('pcr_oi'))}  volume {_fmt(result.get('pcr_volume'))}"
        f"  max pain {_fmt(result.get('max_pain'), ',.2f')}"
        f"  spot {_fmt(result.get('spot'), ',.2f')}",
    )

    parts = Table(title="Direction components", title_justify="left", expand=False)
    parts.add_column("part")
    parts.add_column("score", justify="right")
    parts.add_column("weight used", justify="right")
    weights = result.get("weights", {})
    for key, label in (
        ("technical", "technical"),
        ("options_flow", "options flow"),
        ("price_action", "price action"),
    ):
        parts.add_row(label, _signed(result.get(f"{key}_score")), _fmt(weights.get(key), ".0%"))

    rules = result.get("rules", {})
    plan = Table.grid(padding=(0, 2))
    plan.add_column(style="bold")
    plan.add_column()
    plan.add_row("Preferred", ", ".join(rules.get("preferred", [])) or "-")
    plan.add_row("Avoided", ", ".join(rules.get("avoided", [])) or "-")
    plan.add_row(
        "Expiry",
        f"{rules.get('dte_min', '-')}-{rules.get('dte_max', '-')} days"
        f"  min probability of profit {_fmt(rules.get('probability_threshold'), '.0%')}"
        f"  IV: {rules.get('iv_preference', '-')}",
    )
    items: list[Any] = [head, "", parts, "", plan]
    notes = list(result.get("notes", []))
    sources = sources or {}
    if sources.get("data_source"):
        used = f"data {sources['data_source']}"
        for key in ("index", "vol_index"):
            if sources.get(f"{key}_symbol"):
                where = sources.get(f"{key}_file")
                used += f"; {sources[f'{key}_symbol']}" + (f" from {where}" if where else "")
        synthetic = "  (SYNTHETIC: the demo market)" if sources.get("synthetic") else ""
        notes.insert(0, used + synthetic)
    if cached_at is not None:
        notes.append(
            f"cached result from {datetime.fromtimestamp(cached_at):%Y-%m-%d %H:%M:%S} "
            "(--no-cache to recompute)"
        )
    if notes:
        items += ["", *(f"[dim]- {escape(str(n))}[/]" for n in notes)]
    title = f"Market regime  {result['market'].upper()}  as of {result['as_of']}"
    if sources.get("synthetic"):
        title += "  [bold yellow](synthetic)[/]"
    return Panel(Group(*items), title=title, title_align="left", expand=False)


def _sources(provider: Any, profile: Any, index: str | None) -> dict[str, Any]:
    """Which data the state was read from: the source, and the index and vol-index files."""
    out: dict[str, Any] = {
        "data_source": str(getattr(provider, "name", "")),
        "synthetic": bool(getattr(provider, "synthetic", False)),
    }
    path_of = getattr(provider, "path_of", None)
    for key, symbol in (("index", index or profile.index_symbol), ("vol_index", None)):
        symbol = symbol or profile.vol_index_symbol
        out[f"{key}_symbol"] = symbol
        if path_of is not None:
            try:
                out[f"{key}_file"] = str(path_of(symbol))
            except Exception:  # the state was computed, so the file exists; never fail on it
                out[f"{key}_file"] = None
    return out


def register(app: typer.Typer) -> None:
    """Add the `regime` command to ``app``."""

    @app.command("regime")
    def regime(
        market: MarketOpt = "in",
        data: DataOpt = "auto",
        as_of: AsOfOpt = None,
        chain: Annotated[
            Path | None,
            typer.Option(
                "--chain",
                help="Option chain file of the index (read with the chain loader) for the "
                "options-flow part; without it that part is marked missing.",
            ),
        ] = None,
        chains: ChainsOpt = None,
        vix: VixOpt = None,
        vix_source: VixSourceOpt = "auto",
        index: Annotated[
            str | None,
            typer.Option(
                "--index", help="Index symbol to read (default: the market's, SPY or ^NSEI)."
            ),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
        no_cache: Annotated[
            bool, typer.Option("--no-cache", help="Recompute, ignoring any cached result.")
        ] = False,
        cache_ttl: Annotated[
            float | None,
            typer.Option(
                "--cache-ttl",
                help="Seconds a cached result stays valid (default from models/regime.toml: "
                "3600). Cache folder: $QUANTALLOC_CACHE_DIR/regime, else the user cache dir.",
            ),
        ] = None,
        verbose: VerboseOpt = False,
    ) -> None:
        """Classify the market into one of 9 states (Bullish/Neutral/Bearish x Low/Normal/High
        VIX) from the index's trend, the volatility index and, optionally, the option chain."""
        from quantalloc.config import model_path
        from quantalloc.errors import DataError
        from quantalloc.markets import get_market
        from quantalloc.regime.cache import ResultCache, cache_key
        from quantalloc.regime.config import load_regime_config
        from quantalloc.regime.service import VIX_SOURCES, input_fingerprint, state_from_provider

        profile = get_market(market)
        if chain is not None and not chain.is_file():
            raise DataError(f"chain file {chain} does not exist; check the --chain path")
        if chain is not None and chains is not None:
            raise DataError("give --chain FILE or --chains SOURCE, not both")
        if vix_source not in VIX_SOURCES:
            raise DataError(
                f"--vix-source {vix_source!r} is unknown; use one of {', '.join(VIX_SOURCES)}"
            )
        if vix_source == "chain" and chains is None:
            raise DataError("--vix-source chain needs --chains DIR|yahoo|store (the index chain)")
        source = open_chains(chains, profile.name)
        if cache_ttl is not None and cache_ttl < 0:
            raise DataError(f"--cache-ttl must be >= 0 seconds, got {cache_ttl:g}")
        cfg = load_regime_config()
        provider = open_provider(data, profile.name)
        ttl = cfg.cache_ttl_seconds if cache_ttl is None else cache_ttl
        root = os.environ.get(ENV_CACHE_DIR)
        directory = Path(root) / "regime" if root else None
        cache = ResultCache(directory=directory, ttl_seconds=0.0 if no_cache else ttl)
        inputs: dict[str, Any] = {
            "chain_path": chain,
            "chains": source,
            "vix": vix,
            "vix_source": vix_source,
            "index_symbol": index,
        }
        key = cache_key(
            **input_fingerprint(
                provider, profile.name, as_of, config_path=model_path("regime"), **inputs
            )
        )
        hit = cache.get(key)
        cached_at: float | None = None
        if hit is not None:
            result, cached_at = hit
        else:
            state = state_from_provider(provider, profile.name, as_of, config=cfg, **inputs)
            result = state.to_dict()
            if ttl > 0:
                try:
                    cache.put(key, result)
                except Exception as exc:  # a cache that cannot be written must not fail the run
                    err_console.print(f"[yellow]warning:[/] {exc}")
        if as_json:  # the library's dict, as the API serves it
            typer.echo(json.dumps(result, indent=2))
        else:
            console.print(render_panel(result, cached_at, _sources(provider, profile, index)))
