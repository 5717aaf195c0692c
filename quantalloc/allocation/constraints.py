"""Linear constraints as labelled objects.

Each constraint object expands into ``Row``s: one labelled linear condition
``lower <= a . w <= upper``
(or ``|a . w| <= upper``) with a stable name such as ``max_industry[Energy]``, limits in the user's
unit (a fraction of the budget, of capital, or currency) and a priority used by the diagnosis
(higher = relaxed last). The problem stacks all rows into one matrix ``G w <= h`` whose right side
``h`` is a parameter, so new limits, targets, capital or budget re-solve without recompiling.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import pandas as pd

from quantalloc.allocation.candidates import Candidates
from quantalloc.errors import ConfigError

Unit = Literal["budget", "capital", "currency"]
_UNITS = ("budget", "capital", "currency")


@dataclass(frozen=True, eq=False)
class Row:
    """One labelled linear condition on the weights."""

    name: str
    coeffs: np.ndarray
    lower: float | None
    upper: float | None
    unit: Unit = "budget"
    absolute: bool = False
    priority: float = 1.0
    source: str = ""

    def scale(self, capital: float, budget: float) -> float:
        """Weight-space value of one user unit: ``a . w = limit * scale``."""
        if self.unit == "budget":
            return budget
        if self.unit == "capital":
            return 1.0
        return 1.0 / capital

    def describe(self) -> str:
        """The limit in words, e.g. ``<= 30% of budget`` or ``45% +- 5%``."""
        if self.lower is not None and self.upper is not None and not self.absolute:
            mid, half = (self.lower + self.upper) / 2, (self.upper - self.lower) / 2
            if half <= 1e-12:
                return f"== {_fmt(mid, self.unit)}"
            return f"{_fmt(mid, self.unit, suffix=False)} +- {_fmt(half, self.unit)}"
        if self.absolute:
            return f"|.| <= {_fmt(self.upper or 0.0, self.unit)}"
        if self.upper is not None:
            return f"<= {_fmt(self.upper, self.unit)}"
        return f">= {_fmt(self.lower or 0.0, self.unit)}"


def _fmt(value: float, unit: str, suffix: bool = True) -> str:
    if unit == "currency":
        return f"{value:,.6g}"
    text = f"{100 * value:.4g}%"
    return f"{text} of {unit}" if suffix else text


def amount_text(value: float, unit: str) -> str:
    """A relaxation amount in words: percentage points for fractions, plain numbers for currency."""
    if unit == "currency":
        return f"{value:,.6g}"
    if unit == "beta":
        return f"{value:.3g} (in beta)"
    return f"{100 * value:.3g} points"


def _check_unit(unit: str) -> None:
    if unit not in _UNITS:
        raise ConfigError(f"unit must be one of {_UNITS}; got {unit!r}")


class LinearConstraint:
    """Base class: a labelled constraint expanding into rows."""

    name = "linear"
    priority = 1.0
    unit: Unit = "budget"

    def rows(self, data: Candidates) -> list[Row]:
        raise NotImplementedError

    def row(
        self,
        label: str,
        coeffs: np.ndarray,
        lower: float | None,
        upper: float | None,
        absolute: bool = False,
    ) -> Row:
        """A row of this constraint (its unit, priority and name as the source)."""
        return Row(label, coeffs, lower, upper, self.unit, absolute, self.priority, self.name)


@dataclass(eq=False, kw_only=True)
class Budget(LinearConstraint):
    """Total capital used ``sum w <= limit`` (a fraction of capital); ``exact=True`` for ``==``."""

    limit: float = 1.0
    exact: bool = False
    name: str = "budget"
    priority: float = 1000.0

    def __post_init__(self) -> None:
        if not self.limit > 0:
            raise ConfigError(f"budget must be > 0 (a fraction of capital); got {self.limit}")

    def rows(self, data: Candidates) -> list[Row]:
        lower = self.limit if self.exact else None
        ones = np.ones(data.n_candidates)
        return [Row(self.name, ones, lower, self.limit, "capital", False, self.priority, self.name)]


def _per_candidate(
    value: float | Mapping[str, float] | pd.Series | None, data: Candidates, what: str
) -> np.ndarray | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return np.full(data.n_candidates, float(value))
    series = pd.Series(value, dtype=float)
    series.index = pd.Index([str(i) for i in series.index])
    return series.reindex(data.names).to_numpy(dtype=float)  # NaN = no bound


@dataclass(eq=False, kw_only=True)
class CandidateBounds(LinearConstraint):
    """Per-candidate bounds ``lower_i <= w_i <= upper_i`` (``max_weight[c]``, ``min_weight[c]``).

    ``upper`` / ``lower`` are a number for all candidates or a mapping name -> value.
    """

    upper: float | Mapping[str, float] | pd.Series | None = None
    lower: float | Mapping[str, float] | pd.Series | None = None
    unit: Unit = "budget"
    name: str = "weight"
    priority: float = 100.0

    def __post_init__(self) -> None:
        _check_unit(self.unit)

    def rows(self, data: Candidates) -> list[Row]:
        up = _per_candidate(self.upper, data, "upper")
        lo = _per_candidate(self.lower, data, "lower")
        out: list[Row] = []
        for i, cand in enumerate(data.names):
            e = np.zeros(data.n_candidates)
            e[i] = 1.0
            if up is not None and not math.isnan(up[i]):
                out.append(self.row(f"max_{self.name}[{cand}]", e, None, float(up[i])))
            if lo is not None and not math.isnan(lo[i]) and lo[i] > 0:
                out.append(self.row(f"min_{self.name}[{cand}]", e, float(lo[i]), None))
        return out


def _group_limit(limit: float | Mapping[str, float], label: str) -> float | None:
    if isinstance(limit, Mapping):
        value = limit.get(label)
        return None if value is None else float(value)
    return float(limit)


@dataclass(eq=False, kw_only=True)
class Labelled(LinearConstraint):
    """A constraint with a unit, a name (its rows' source) and a diagnosis priority."""

    unit: Unit = "budget"
    name: str = ""
    priority: float = 1.0

    def __post_init__(self) -> None:
        _check_unit(self.unit)


@dataclass(eq=False, kw_only=True)
class GroupCap(Labelled):
    """Cap on the capital in each group of a grouping: rows ``max_{by}[label]``.

    ``limit`` is one number for every group or a mapping label -> limit (unlisted groups uncapped).
    """

    by: str = "industry"
    limit: float | Mapping[str, float] = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        self.name = self.name or f"max_{self.by}"

    def rows(self, data: Candidates) -> list[Row]:
        labels = data.group(self.by).astype(str).to_numpy()
        out = []
        for label in pd.unique(labels):
            cap = _group_limit(self.limit, label)
            if cap is None:
                continue
            coeffs = (labels == label).astype(float)
            out.append(self.row(f"{self.name}[{label}]", coeffs, None, cap))
        return out


@dataclass(eq=False, kw_only=True)
class _Bands(Labelled):
    """Targets per group of ``by`` (label -> target), each with a band of ``tolerance`` either
    side: what :class:`GroupTarget` and :class:`ShareTarget` share."""

    by: str = "industry"
    targets: Mapping[str, float] | None = None
    tolerance: float = 0.05
    what: ClassVar[str] = "target"
    """How the tolerance is named in an error."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.targets:
            raise ConfigError(
                f"{type(self).__name__} needs targets, e.g. {{'Energy': 0.3, 'IT': 0.2}}"
            )
        if self.tolerance < 0:
            raise ConfigError(f"{self.what} tolerance must be >= 0; got {self.tolerance}")

    def bands(self, data: Candidates) -> Iterator[tuple[str, np.ndarray, float, float]]:
        """Each target's ``(label, member, low, high)``: ``member`` is 1.0 on the group's
        candidates (all zeros for a group without any), ``low`` is floored at 0."""
        labels = data.group(self.by).astype(str).to_numpy()
        for label, target in (self.targets or {}).items():
            member = (labels == str(label)).astype(float)
            lo = max(float(target) - self.tolerance, 0.0)
            yield label, member, lo, float(target) + self.tolerance


@dataclass(eq=False, kw_only=True)
class GroupTarget(_Bands):
    """Group weights within a band around targets: ``target - tol <= weight <= target + tol``.

    Rows ``target[label]`` (or ``{name}[label]``). A group with a target but no candidate gets a row
    with zero coefficients, so an unreachable target is reported rather than ignored.
    """

    name: str = "target"

    def rows(self, data: Candidates) -> list[Row]:
        return [
            self.row(f"{self.name}[{label}]", member, lo, hi)
            for label, member, lo, hi in self.bands(data)
        ]


@dataclass(eq=False, kw_only=True)
class ShareTarget(_Bands):
    """Group shares of the *deployed* capital within ``target +- tolerance``.

    With ``x_g`` a group's capital and ``X`` all capital deployed, ``|x_g / X - t_g| <= tol`` is
    the pair of homogeneous linear rows ``{name}_max[g]``: ``x_g - (t_g + tol) X <= 0`` and
    ``{name}_min[g]``: ``(t_g - tol) X - x_g <= 0`` (value: the row's left side, in the unit).
    Investing nothing meets them, so targets alone never make a problem infeasible; make the
    rows soft (``Allocator(soft={name: penalty})``) to trade a deviation against the objective.
    """

    tolerance: float = 0.02
    name: str = "share_target"
    what: ClassVar[str] = "share target"

    def rows(self, data: Candidates) -> list[Row]:
        ones = np.ones(data.n_candidates)
        out = []
        for label, member, lo, hi in self.bands(data):
            out.append(self.row(f"{self.name}_max[{label}]", member - hi * ones, None, 0.0))
            if lo > 0:
                out.append(self.row(f"{self.name}_min[{label}]", lo * ones - member, None, 0.0))
        return out


@dataclass(eq=False, kw_only=True)
class ExposureLimit(LinearConstraint):
    """Limit on a linear exposure ``sum_i a_i w_i`` of a named attribute (delta, vega, theta, ...).

    ``max_abs`` bounds the absolute exposure (row ``max_abs_{attr}``); ``lower`` / ``upper`` bound
    the net exposure (rows ``min_net_{attr}``, ``max_net_{attr}`` or ``net_{attr}`` for both).
    """

    attribute: str = "delta"
    max_abs: float | None = None
    lower: float | None = None
    upper: float | None = None
    unit: Unit = "budget"
    priority: float = 1.0

    def __post_init__(self) -> None:
        _check_unit(self.unit)
        if self.max_abs is None and self.lower is None and self.upper is None:
            raise ConfigError(f"ExposureLimit({self.attribute!r}) needs max_abs, lower or upper")
        if self.max_abs is not None and self.max_abs < 0:
            raise ConfigError(f"max_abs must be >= 0; got {self.max_abs}")

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"exposure_{self.attribute}"

    def rows(self, data: Candidates) -> list[Row]:
        a = data.attribute(self.attribute)
        out = []
        if self.max_abs is not None:
            out.append(self.row(f"max_abs_{self.attribute}", a, None, self.max_abs, True))
        if self.lower is not None or self.upper is not None:
            if self.lower is not None and self.upper is not None:
                label = f"net_{self.attribute}"
            else:
                label = f"{'max' if self.upper is not None else 'min'}_net_{self.attribute}"
            out.append(self.row(label, a, self.lower, self.upper))
        return out


@dataclass(eq=False, kw_only=True)
class FlaggedCap(Labelled):
    """Cap on the capital in candidates whose boolean ``flag`` is true (e.g. theta-positive)."""

    flag: str = "theta_positive"
    limit: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        self.name = self.name or f"max_{self.flag}"

    def rows(self, data: Candidates) -> list[Row]:
        if data.groups is not None and self.flag in data.groups.columns:
            mask = data.groups[self.flag].astype(bool).to_numpy()
        else:
            mask = data.attribute(self.flag) != 0
        return [self.row(str(self.name), mask.astype(float), None, self.limit)]


@dataclass(eq=False, kw_only=True)
class LongShortSplit(LinearConstraint):
    """Caps on capital in LONG and SHORT candidates (labels in grouping ``by``) and on the gap.

    Rows ``max_long``, ``max_short`` and ``max_net_long`` (``|long - short| <= max_net``).
    """

    by: str = "position_type"
    max_long: float | None = None
    max_short: float | None = None
    max_net: float | None = None
    long_label: str = "LONG"
    short_label: str = "SHORT"
    unit: Unit = "budget"
    priority: float = 1.0
    name: str = "long_short"

    def rows(self, data: Candidates) -> list[Row]:
        labels = data.group(self.by).astype(str).str.upper().to_numpy()
        long = (labels == self.long_label.upper()).astype(float)
        short = (labels == self.short_label.upper()).astype(float)
        out = []
        if self.max_long is not None:
            out.append(self.row("max_long", long, None, self.max_long))
        if self.max_short is not None:
            out.append(self.row("max_short", short, None, self.max_short))
        if self.max_net is not None:
            out.append(self.row("max_net_long", long - short, None, self.max_net, True))
        return out


@dataclass(eq=False, kw_only=True)
class MaxLoss(LinearConstraint):
    """Worst-case loss of each candidate ``loss_i * w_i <= limit`` (rows ``max_loss[c]``).

    ``loss_i`` is the attribute ``attribute`` (loss per unit of currency invested) when given, else
    the worst scenario loss ``-min_s r_si`` of the candidate's returns at build time.
    """

    limit: float = 0.02
    attribute: str | None = None
    unit: Unit = "capital"
    name: str = "max_loss"
    priority: float = 100.0

    def __post_init__(self) -> None:
        _check_unit(self.unit)
        if not self.limit >= 0:
            raise ConfigError(f"max loss limit must be >= 0; got {self.limit}")

    def rows(self, data: Candidates) -> list[Row]:
        if self.attribute is not None:
            loss = np.abs(data.attribute(self.attribute))
        else:
            loss = np.maximum(-data.r.min(axis=0), 0.0)
        out = []
        for i, cand in enumerate(data.names):
            if loss[i] <= 0:
                continue
            e = np.zeros(data.n_candidates)
            e[i] = loss[i]
            out.append(self.row(f"{self.name}[{cand}]", e, None, self.limit))
        return out
