"""Overfitting statistics for a tuning study.

* The deflated Sharpe ratio (Bailey & Lopez de Prado, "The Deflated Sharpe Ratio: Correcting for
  Selection Bias, Backtest Overfitting and Non-Normality", JPM 2014): the probabilistic Sharpe
  ratio of the selected trial measured against the Sharpe ratio one expects from the best of
  ``n_trials`` skill-less trials.
* The probability of backtest overfitting by combinatorially symmetric cross-validation
  (Bailey, Borwein, Lopez de Prado & Zhu, "The Probability of Backtest Overfitting", J. Comp.
  Finance 2015): how often the configuration that is best in-sample ranks below the median
  out-of-sample, over every way of splitting the sample into two halves.

All Sharpe ratios here are per observation (not annualised); annualise outside if needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from quantalloc.errors import ConfigError, DataError

EULER_MASCHERONI = 0.5772156649015329


def expected_max_sharpe(n_trials: int, sharpe_variance: float, mean_sharpe: float = 0.0) -> float:
    """Expected maximum Sharpe ratio of ``n_trials`` independent skill-less trials.

    The false-strategy approximation of Bailey & Lopez de Prado (2014, eq. 4 / proposition 1):
    ``E[max] ~ mean + sqrt(V) * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e)))`` with ``g``
    the Euler-Mascheroni constant and ``V`` the variance of the trials' Sharpe ratios.
    """
    if n_trials < 1:
        raise ConfigError(f"n_trials must be >= 1, got {n_trials}; count every trial tried")
    if not math.isfinite(sharpe_variance) or sharpe_variance < 0:
        raise ConfigError(
            f"the variance of trial Sharpe ratios must be >= 0, got {sharpe_variance}"
        )
    if n_trials == 1:
        return float(mean_sharpe)
    z1 = stats.norm.ppf(1.0 - 1.0 / n_trials)
    z2 = stats.norm.ppf(1.0 - 1.0 / (n_trials * math.e))
    spread = (1.0 - EULER_MASCHERONI) * z1 + EULER_MASCHERONI * z2
    return float(mean_sharpe + math.sqrt(sharpe_variance) * spread)


def probabilistic_sharpe_ratio(
    sharpe: float, n_obs: int, skew: float = 0.0, kurtosis: float = 3.0, benchmark: float = 0.0
) -> float:
    """Probability that the true Sharpe ratio exceeds ``benchmark`` (PSR, Bailey & LdP 2012).

    ``Z((SR - SR*) sqrt(T - 1) / sqrt(1 - skew SR + (kurtosis - 1) / 4 SR^2))``; ``kurtosis`` is
    the raw (not excess) kurtosis, 3 for normal returns.
    """
    if n_obs < 2:
        raise DataError(f"the probabilistic Sharpe ratio needs >= 2 observations, got {n_obs}")
    denom = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if not denom > 0:
        raise DataError(
            f"the Sharpe ratio's variance term is {denom:.4g} <= 0 (SR={sharpe:.4g}, "
            f"skew={skew:.4g}, kurtosis={kurtosis:.4g}); the moments are inconsistent"
        )
    z = (sharpe - benchmark) * math.sqrt(n_obs - 1) / math.sqrt(denom)
    return float(stats.norm.cdf(z))


@dataclass(frozen=True)
class DeflatedSharpe:
    """The deflated Sharpe ratio and what went into it (per-observation Sharpe ratios)."""

    dsr: float
    sharpe: float
    expected_max_sharpe: float
    n_trials: int
    sharpe_variance: float
    n_obs: int
    skew: float
    kurtosis: float

    def to_dict(self) -> dict[str, float | int]:
        """Plain dict for JSON output."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def deflated_sharpe_ratio(
    sharpe: float,
    n_obs: int,
    n_trials: int,
    sharpe_variance: float,
    skew: float = 0.0,
    kurtosis: float = 3.0,
) -> DeflatedSharpe:
    """Deflated Sharpe ratio from summary numbers (Bailey & Lopez de Prado 2014, eq. 2).

    Parameters
    ----------
    sharpe
        Per-observation Sharpe ratio of the selected trial.
    n_obs
        Number of return observations behind ``sharpe``.
    n_trials
        Number of (independent) trials tried before selecting it.
    sharpe_variance
        Variance of the per-observation Sharpe ratios across the trials.
    skew, kurtosis
        Skewness and raw kurtosis of the selected trial's returns.
    """
    sr0 = expected_max_sharpe(n_trials, sharpe_variance)
    dsr = probabilistic_sharpe_ratio(sharpe, n_obs, skew, kurtosis, benchmark=sr0)
    return DeflatedSharpe(
        dsr, float(sharpe), sr0, int(n_trials), float(sharpe_variance), int(n_obs), skew, kurtosis
    )


def sharpe_per_period(returns: np.ndarray) -> float:
    """Mean over standard deviation (ddof=1) of a return series; 0 when it never moves."""
    r = np.asarray(returns, dtype=float)
    sd = float(r.std(ddof=1)) if r.size > 1 else 0.0
    return float(r.mean() / sd) if sd > 0 else 0.0


def deflated_sharpe_from_returns(
    selected: pd.Series | np.ndarray, trial_sharpes: np.ndarray, n_trials: int | None = None
) -> DeflatedSharpe:
    """Deflated Sharpe ratio of ``selected`` returns, given every trial's per-period Sharpe.

    ``n_trials`` defaults to ``len(trial_sharpes)``; pass a larger count when some trials
    (pruned or failed ones) have no Sharpe ratio but were tried all the same.
    """
    r = np.asarray(selected, dtype=float)
    r = r[np.isfinite(r)]
    sr_all = np.asarray(trial_sharpes, dtype=float)
    sr_all = sr_all[np.isfinite(sr_all)]
    if r.size < 3:
        raise DataError(f"the deflated Sharpe ratio needs >= 3 returns, got {r.size}")
    n = int(n_trials if n_trials is not None else sr_all.size)
    var = float(sr_all.var(ddof=1)) if sr_all.size > 1 else 0.0
    skew = float(stats.skew(r, bias=True)) if r.std() > 0 else 0.0
    kurt = float(stats.kurtosis(r, fisher=False, bias=True)) if r.std() > 0 else 3.0
    return deflated_sharpe_ratio(sharpe_per_period(r), r.size, max(n, 1), var, skew, kurt)


@dataclass(frozen=True)
class PBOResult:
    """Probability of backtest overfitting and the CSCV distribution behind it."""

    pbo: float
    logits: np.ndarray
    is_performance: np.ndarray
    oos_performance: np.ndarray
    n_splits: int
    n_configurations: int
    n_blocks: int

    @property
    def degradation_slope(self) -> float:
        """Slope of out-of-sample on in-sample performance of the selected configuration."""
        if np.ptp(self.is_performance) == 0:
            return float("nan")
        return float(np.polyfit(self.is_performance, self.oos_performance, 1)[0])

    @property
    def probability_of_loss(self) -> float:
        """Share of splits where the selected configuration loses out of sample."""
        return float(np.mean(self.oos_performance < 0))

    def to_dict(self) -> dict[str, float | int]:
        """Plain dict for JSON output (the logits are summarised, not listed)."""
        return {
            "pbo": self.pbo,
            "n_splits": self.n_splits,
            "n_configurations": self.n_configurations,
            "n_blocks": self.n_blocks,
            "median_logit": float(np.median(self.logits)),
            "degradation_slope": self.degradation_slope,
            "probability_of_loss": self.probability_of_loss,
        }


def _split_matrix(n_blocks: int) -> np.ndarray:
    """Boolean (C(S, S/2), S) matrix: row c marks the blocks of training split c."""
    combos = list(combinations(range(n_blocks), n_blocks // 2))
    mask = np.zeros((len(combos), n_blocks), dtype=bool)
    for i, c in enumerate(combos):
        mask[i, list(c)] = True
    return mask


def _sharpe_from_sums(n: float, s1: np.ndarray, s2: np.ndarray) -> np.ndarray:
    mean = s1 / n
    var = (s2 - n * mean**2) / (n - 1)
    sd = np.sqrt(np.clip(var, 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(sd > 0, mean / sd, 0.0)
    return out


def probability_of_backtest_overfitting(
    returns: pd.DataFrame | np.ndarray, n_blocks: int = 16, metric: str = "sharpe"
) -> PBOResult:
    """PBO by combinatorially symmetric cross-validation (Bailey et al. 2015).

    Parameters
    ----------
    returns
        (T, N) matrix: column n is the return series of configuration (trial) n on common dates.
    n_blocks
        S, an even number of contiguous row blocks; every choice of S/2 blocks is a training
        set and the rest its test set, so there are C(S, S/2) splits. Rows past the last whole
        block are dropped, as in the paper.
    metric
        ``"sharpe"`` (per-period mean / std) or ``"mean"`` (mean return).

    Notes
    -----
    Vectorised over the splits: each block is reduced once to its count, sum and sum of squares
    per configuration, and a split's statistics are the (splits x blocks) indicator matrix times
    those sums. The out-of-sample rank of the in-sample winner uses average ranks for ties; its
    relative rank ``w = rank / (N + 1)`` gives the logit ``log(w / (1 - w))`` and PBO is the
    share of splits with a logit <= 0.
    """
    m = np.asarray(returns, dtype=float)
    if m.ndim != 2:
        raise DataError(f"PBO needs a (T, N) returns matrix, got shape {m.shape}")
    t, n_cfg = m.shape
    if n_blocks < 2 or n_blocks % 2:
        raise ConfigError(f"n_blocks must be an even number >= 2, got {n_blocks}")
    if n_cfg < 2:
        raise DataError(f"PBO compares configurations; got {n_cfg} column(s), need >= 2")
    if not np.isfinite(m).all():
        raise DataError("the returns matrix holds NaN or inf; align the trials on common dates")
    rows = t // n_blocks
    if rows < 2:
        raise DataError(
            f"{t} observations cannot make {n_blocks} blocks of >= 2 rows; "
            "use fewer blocks or a longer sample"
        )
    if metric not in ("sharpe", "mean"):
        raise ConfigError(f"metric must be 'sharpe' or 'mean', got {metric!r}")
    blocks = m[: rows * n_blocks].reshape(n_blocks, rows, n_cfg)
    s1 = blocks.sum(axis=1)  # (S, N)
    s2 = (blocks**2).sum(axis=1)
    train = _split_matrix(n_blocks).astype(float)  # (C, S)
    test = 1.0 - train
    n_half = rows * (n_blocks // 2)
    if metric == "sharpe":
        perf_is = _sharpe_from_sums(float(n_half), train @ s1, train @ s2)
        perf_oos = _sharpe_from_sums(float(n_half), test @ s1, test @ s2)
    else:
        perf_is = (train @ s1) / n_half
        perf_oos = (test @ s1) / n_half
    best = np.argmax(perf_is, axis=1)  # (C,)
    idx = np.arange(best.size)
    chosen_oos = perf_oos[idx, best]
    below = (perf_oos < chosen_oos[:, None]).sum(axis=1)
    ties = (perf_oos == chosen_oos[:, None]).sum(axis=1)
    rank = below + (ties + 1) / 2.0  # average rank, 1 = worst
    w = rank / (n_cfg + 1.0)
    logits = np.log(w / (1.0 - w))
    return PBOResult(
        pbo=float(np.mean(logits <= 0)),
        logits=logits,
        is_performance=perf_is[idx, best],
        oos_performance=chosen_oos,
        n_splits=int(best.size),
        n_configurations=int(n_cfg),
        n_blocks=int(n_blocks),
    )


__all__ = [
    "DeflatedSharpe",
    "PBOResult",
    "deflated_sharpe_from_returns",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "probabilistic_sharpe_ratio",
    "probability_of_backtest_overfitting",
    "sharpe_per_period",
]
