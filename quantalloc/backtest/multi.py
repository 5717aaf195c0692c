"""Multi-strategy capital allocator: a convex program over the strategies' joint returns.

Each strategy runs on its own (a sleeve); the portfolio holds capital ``c_s`` in each sleeve,
which grows with that strategy's daily return. At a day's close the allocator may move capital:

- a strategy with a position open past the close is **locked**: its capital stays as it is;
- an unlocked strategy is eligible by its **cadence**: ``immediate`` (any close it is out of
  position), or ``N`` (out of position and at least N calendar days since its last rebalance);
- when at least one strategy is eligible, the weights solve

      maximise   sum_s w_s * score_s                        (objective = "score")
      or         sum_t log(1 + sum_s w_s * r_s,t)           (objective = "kelly", growth)
      subject to sum_s w_s = 1,  min_weight <= w_s <= max_weight  (eligible s)
                 w_s = current weight                             (the others)

  over the last ``lookback_days`` of returns known at that close (``score_s`` is the strategy
  score of :mod:`quantalloc.backtest.metrics` on that window). When the locked weights make the
  bounds infeasible, the eligible weights may go from 0 to 1 instead.

The program is built once with cvxpy parameters (DPP) and re-solved at each rebalance. New
weights apply from the next day's returns, so nothing after a close is used at that close.
Scaling a sleeve's returns with its capital assumes each strategy sizes its trades in proportion
to its capital, which holds for these strategies up to whole contracts and shares.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cvxpy as cp
import numpy as np
import pandas as pd

from quantalloc.backtest import metrics as m
from quantalloc.backtest.params import param, parse_kv
from quantalloc.backtest.result import BacktestResult, empty_trades, make_result
from quantalloc.backtest.window import BacktestWindow
from quantalloc.errors import ConfigError, DataError, SolverError

NAME = "multi"
SUBSTRATEGIES = ("momentum", "orb", "wheel")


@dataclass(frozen=True)
class MultiParams:
    """Parameters of the multi-strategy allocator."""

    strategies: str = param("momentum,orb,wheel", help="comma-separated strategies to combine")
    objective: str = param("score", choices=("score", "kelly"), help="what the weights maximise")
    min_weight: float = param(0.10, low=0.0, high=1.0, help="lowest weight of a strategy")
    max_weight: float = param(0.50, low=0.0, high=1.0, help="highest weight of a strategy")
    cadence: str = param(
        "immediate", help="per strategy (comma list) or for all: immediate or N calendar days"
    )
    lookback_days: int = param(252, low=5, high=5000, help="days of returns the weights see")
    min_history: int = param(20, low=2, high=5000, help="days before the first rebalance")
    momentum_data: str = param("", help="data source for momentum (empty: --data)")
    orb_data: str = param("", help="data source for orb (empty: --data)")
    wheel_data: str = param("", help="data source for wheel (empty: --data)")
    sub_params: str = param("", help="strategy parameters, e.g. 'momentum.sma_days=50;orb.x=1'")


PARAMS = MultiParams


def _names(p: MultiParams) -> list[str]:
    names = [s.strip() for s in p.strategies.split(",") if s.strip()]
    unknown = [n for n in names if n not in SUBSTRATEGIES]
    if unknown:
        raise ConfigError(
            f"multi parameter strategies: {unknown[0]!r} is not one of {', '.join(SUBSTRATEGIES)}"
        )
    if len(set(names)) != len(names) or len(names) < 2:
        raise ConfigError(f"multi needs at least two different strategies, got {p.strategies!r}")
    if p.min_weight > p.max_weight:
        raise ConfigError(f"multi: min_weight {p.min_weight} > max_weight {p.max_weight}")
    if len(names) * p.min_weight > 1 + 1e-12 or len(names) * p.max_weight < 1 - 1e-12:
        raise ConfigError(
            f"multi: {len(names)} strategies cannot have weights between {p.min_weight} and "
            f"{p.max_weight} summing to 1; widen the bounds"
        )
    return names


def parse_cadence(text: str, n: int) -> np.ndarray:
    """Cadence per strategy in calendar days (0 = immediate) from text like ``immediate,60,180``."""
    items = [s.strip().lower() for s in text.split(",") if s.strip()]
    if len(items) == 1:
        items = items * n
    if len(items) != n:
        raise ConfigError(f"multi parameter cadence needs 1 or {n} values, got {text!r}")
    out = []
    for item in items:
        if item == "immediate":
            out.append(0)
        elif item.isdigit():
            out.append(int(item))
        else:
            raise ConfigError(f"multi cadence {item!r} must be 'immediate' or a number of days")
    return np.array(out)


def _sub_values(text: str, names: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {n: {} for n in names}
    for key, value in parse_kv([s for s in text.split(";") if s.strip()]).items():
        strat, dot, name = key.partition(".")
        if not dot or strat not in out:
            raise ConfigError(
                f"multi sub_params key {key!r} must be STRATEGY.NAME with STRATEGY one of "
                f"{', '.join(names)}"
            )
        out[strat][name] = value
    return out


class WeightProgram:
    """The allocation program, compiled once; :meth:`solve` re-solves with new data."""

    def __init__(self, n: int, lookback: int, objective: str) -> None:
        self.n, self.lookback, self.objective = n, lookback, objective
        self.w = cp.Variable(n)
        self.lo = cp.Parameter(n)
        self.hi = cp.Parameter(n)
        cons = [cp.sum(self.w) == 1, self.w >= self.lo, self.w <= self.hi]
        if objective == "kelly":
            self.returns = cp.Parameter((lookback, n))
            goal = cp.sum(cp.log(1 + self.returns @ self.w))
        else:
            self.scores = cp.Parameter(n)
            goal = self.scores @ self.w
        self.problem = cp.Problem(cp.Maximize(goal), cons)
        if not self.problem.is_dpp():  # pragma: no cover - a programming error
            raise SolverError("the allocation program is not DPP; it would recompile each solve")

    def solve(
        self,
        history: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
        *,
        scores: np.ndarray | None = None,
    ) -> np.ndarray:
        """Weights for ``history`` (``(days, n)`` returns, most recent last) within [lo, hi].

        ``scores`` (score objective only) gives the strategies' scores directly, e.g. from
        metrics measured elsewhere; ``history`` is then not read.
        """
        self.lo.value, self.hi.value = lo, hi
        if scores is not None:
            if self.objective != "score":
                raise SolverError("scores are only read by the score objective")
            self.scores.value = np.nan_to_num(np.asarray(scores, dtype=float), nan=0.0)
        elif self.objective == "kelly":
            padded = np.zeros((self.lookback, self.n))  # zero rows add log(1) = 0
            tail = history[-self.lookback :]
            padded[-len(tail) :] = tail
            self.returns.value = padded
        else:
            s = m.summary(history)
            self.scores.value = np.nan_to_num(np.asarray(s["score"], dtype=float), nan=0.0)
        try:
            self.problem.solve(solver=cp.CLARABEL)
        except cp.SolverError:
            return _fallback(lo, hi)
        if self.w.value is None or self.problem.status not in ("optimal", "optimal_inaccurate"):
            return _fallback(lo, hi)
        return np.clip(np.asarray(self.w.value, dtype=float), lo, hi)


def even_weights(n: int, min_weight: float, max_weight: float) -> np.ndarray:
    """Starting weights of ``n`` strategies: equal, within [min_weight, max_weight].

    Raises ConfigError when no weights within the bounds sum to 1.
    """
    if n < 1 or n * min_weight > 1 + 1e-12 or n * max_weight < 1 - 1e-12:
        raise ConfigError(
            f"{n} strategies cannot have weights between {min_weight} and {max_weight} "
            "summing to 1; widen the bounds or change the number of strategies"
        )
    return _fallback(np.full(n, float(min_weight)), np.full(n, float(max_weight)))


def _fallback(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Feasible weights without the solver: the lower bounds, the rest spread up to the caps."""
    w = lo.copy()
    room = hi - lo
    left = 1.0 - w.sum()
    if room.sum() > 0:
        w += room * left / room.sum()
    return w


def weight_bounds(
    current: np.ndarray, eligible: np.ndarray, min_weight: float, max_weight: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """Bounds of the next weights: eligible strategies within [min, max], the others fixed.

    When the fixed weights leave no room for the eligible ones within [min, max], they may go
    from 0 to 1 instead; None when even that cannot sum to 1 (nothing may move).
    """
    lo = np.where(eligible, min_weight, current)
    hi = np.where(eligible, max_weight, current)
    if lo.sum() > 1 + 1e-9 or hi.sum() < 1 - 1e-9:
        lo = np.where(eligible, 0.0, current)
        hi = np.where(eligible, 1.0, current)
    if lo.sum() > 1 + 1e-9 or hi.sum() < 1 - 1e-9:
        return None
    return lo, hi


def rebalance_weights(
    program: WeightProgram,
    history: np.ndarray,
    current: np.ndarray,
    eligible: np.ndarray,
    min_weight: float,
    max_weight: float,
    scores: np.ndarray | None = None,
) -> np.ndarray | None:
    """New weights (summing to 1) moving only the ``eligible`` strategies; None: no move.

    ``history`` is the ``(days, n)`` returns the program sees; with ``scores`` given (score
    objective only) they replace the scores computed from ``history``.
    """
    bounds = weight_bounds(current, eligible, min_weight, max_weight)
    if bounds is None:
        return None
    lo, hi = bounds
    w = program.solve(history, lo, hi, scores=scores)
    w = np.where(eligible, w, current)
    return np.asarray(w / w.sum(), dtype=float)


def allocate(
    returns: pd.DataFrame,
    locked: pd.DataFrame,
    capital: float,
    p: MultiParams,
) -> tuple[pd.Series, pd.DataFrame, pd.Series]:
    """Portfolio equity, the weights after each close and the days capital moved.

    ``returns`` and ``locked`` share a daily index and one column per strategy; ``locked`` is
    True on days whose close finds that strategy in a position.
    """
    names = list(returns.columns)
    n = len(names)
    cadence = parse_cadence(p.cadence, n)
    r = returns.to_numpy(dtype=float)
    lk = locked.to_numpy(dtype=bool)
    days = pd.DatetimeIndex(returns.index)
    program = WeightProgram(n, p.lookback_days, p.objective)
    start_w = even_weights(n, p.min_weight, p.max_weight)
    sleeves = capital * start_w
    stamps = days.to_numpy()
    last = np.full(n, stamps[0])
    equity = np.empty(len(days))
    weights = np.empty((len(days), n))
    moved = np.zeros(len(days), dtype=bool)
    for t in range(len(days)):
        sleeves = sleeves * (1.0 + r[t])
        total = sleeves.sum()
        current = sleeves / total if total > 0 else start_w
        age = (stamps[t] - last).astype("timedelta64[D]").astype(np.int64)
        eligible = ~lk[t] & (age >= cadence)
        if eligible.any() and t + 1 >= p.min_history and total > 0:
            history = r[max(0, t + 1 - p.lookback_days) : t + 1]
            w = rebalance_weights(program, history, current, eligible, p.min_weight, p.max_weight)
            if w is not None:
                moved[t] = bool(np.abs(w - current).max() > 1e-6)
                sleeves = w * total
                last = np.where(eligible, stamps[t], last)
                current = w
        equity[t] = total
        weights[t] = current
    return (
        pd.Series(equity, index=days),
        pd.DataFrame(weights, index=days, columns=names),
        pd.Series(moved, index=days),
    )


def run(window: BacktestWindow, p: MultiParams) -> BacktestResult:
    """Run each strategy over ``window``, then the allocator over their common dates."""
    from quantalloc.backtest.registry import run_strategy
    from quantalloc.data.sources import get_provider

    names = _names(p)
    parse_cadence(p.cadence, len(names))
    subs = _sub_values(p.sub_params, names)
    results = {}
    for name in names:
        source = getattr(p, f"{name}_data")
        prov = get_provider(source, "us") if source else window.provider
        try:
            results[name] = run_strategy(
                name, prov, window.start, window.end, window.capital, subs[name]
            )
        except DataError as exc:
            hint = f"give it its own source with `params['{name}_data']=SOURCE`"
            raise exc.hinted(f"multi: {name}: {exc} ({hint})", "params") from exc
    first = max(res.equity.index[0] for res in results.values())
    last = min(res.equity.index[-1] for res in results.values())
    if first > last:
        spans = "; ".join(
            f"{k} {v.equity.index[0].date()}..{v.equity.index[-1].date()}"
            for k, v in results.items()
        )
        raise DataError(
            f"multi: the strategies share no dates ({spans}); give each a source covering the "
            "same period (momentum_data, orb_data, wheel_data)"
        )
    days = pd.DatetimeIndex(
        sorted(set().union(*[set(v.equity.loc[first:last].index) for v in results.values()]))
    )
    rets = pd.DataFrame({k: v.returns.reindex(days).fillna(0.0) for k, v in results.items()})
    locked = pd.DataFrame(
        {k: v.locked.reindex(days).ffill().fillna(False).astype(bool) for k, v in results.items()}
    )
    inpos = pd.DataFrame(
        {k: v.in_position.reindex(days).fillna(False).astype(bool) for k, v in results.items()}
    )
    equity, weights, moved = allocate(rets, locked, window.capital, p)
    trades = _combined_trades(results, first, last)
    final = ", ".join(f"{k} {w:.0%}" for k, w in weights.iloc[-1].items())
    notes = (
        f"final weights: {final}; capital moved on {int(moved.sum())} of {len(days)} days",
        "trades are each strategy's own, at its standalone capital",
    )
    return make_result(
        NAME, asdict(p), window.capital, equity, trades, inpos.any(axis=1), notes, weights=weights
    )


def _combined_trades(
    results: dict[str, BacktestResult], first: pd.Timestamp, last: pd.Timestamp
) -> pd.DataFrame:
    frames: list[pd.DataFrame] = []
    for name, res in results.items():
        t = res.trades
        if not len(t):
            continue
        exit_day = pd.DatetimeIndex(t["exit_time"]).normalize()
        keep = t.loc[(exit_day >= first) & (exit_day <= last)].copy()
        keep["symbol"] = name + ":" + keep["symbol"].astype(str)
        frames.append(keep)
    if not frames:
        return empty_trades()
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values("exit_time", kind="stable").reset_index(drop=True)
