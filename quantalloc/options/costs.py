"""What a fill costs: the bid-ask spread model, fees per market, and liquidity rules.

**Spreads.** :class:`SpreadTable` holds the median full spread ``(ask - bid) / mid`` per
moneyness bucket (distance out of the money as a fraction of spot: calls ``K / S - 1``, puts
``1 - K / S``; negative in the money) and days-to-expiry bucket, plus an absolute floor (one
tick). :func:`estimate_spread_table` measures it on quoted chains; buckets the data does not
cover take the shape of a reference table (the US one) scaled to the buckets that are covered,
and failing that the nearest covered bucket. It prices the spread of chains that publish only
closes and settlements (NSE bhavcopy).

**Fees.** :class:`FeeSchedule` is charged per lot (contract) and per fill side: a fixed part
(brokerage or commission), charges on the premium traded (exchange, regulator, stamp duty on
buys, STT or SEC fees on sells) and a tax on the service part (India's GST). The values live in
the model file (``[costs.fees.in]``, ``[costs.fees.us]``).

**Liquidity.** :class:`LiquidityRules` keeps contracts with at least ``min_open_interest`` open
contracts and ``min_volume`` traded, and a spread of at most ``max_spread`` of the mid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from quantalloc.errors import ConfigError

FloatArray = NDArray[np.float64]
_R = TypeVar("_R", "FeeSchedule", "ExerciseCharges")

MONEYNESS_EDGES: tuple[float, ...] = (-0.02, 0.02, 0.05, 0.10, 0.20)
"""Inner edges of the moneyness buckets: ITM, ATM (+-2%), 2-5%, 5-10%, 10-20%, >20% OTM."""
DTE_EDGES: tuple[int, ...] = (7, 30, 90)
"""Inner edges (days, right-closed) of the expiry buckets: <=7, 8-30, 31-90, >90 days."""


def moneyness(kind: ArrayLike, strike: ArrayLike, spot: ArrayLike) -> FloatArray:
    """Distance out of the money as a fraction of spot (negative in the money)."""
    k = np.asarray(strike, dtype=float)
    s = np.asarray(spot, dtype=float)
    is_call = np.asarray(kind) == "call"
    return np.where(is_call, k / s - 1.0, 1.0 - k / s)


def _buckets(m: ArrayLike, dte: ArrayLike) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    mi = np.searchsorted(np.asarray(MONEYNESS_EDGES), np.asarray(m, dtype=float), side="left")
    di = np.searchsorted(np.asarray(DTE_EDGES), np.asarray(dte, dtype=float), side="left")
    return mi, di


@dataclass(frozen=True)
class SpreadTable:
    """Median full relative spread per (moneyness bucket, expiry bucket), and a floor."""

    spreads: tuple[tuple[float, ...], ...]
    min_spread: float = 0.05
    source: str = ""
    counts: tuple[tuple[int, ...], ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        shape = (len(MONEYNESS_EDGES) + 1, len(DTE_EDGES) + 1)
        arr = np.asarray(self.spreads, dtype=float)
        if arr.shape != shape or not np.isfinite(arr).all() or (arr < 0).any():
            raise ConfigError(
                f"spread table must be {shape[0]} x {shape[1]} non-negative numbers (moneyness "
                f"x expiry buckets), got shape {arr.shape}; re-estimate it"
            )
        if not self.min_spread >= 0:
            raise ConfigError(f"min_spread must be >= 0, got {self.min_spread}")

    def relative(self, kind: ArrayLike, strike: ArrayLike, spot: ArrayLike, dte: ArrayLike) -> Any:
        """The table's relative spread for each contract."""
        mi, di = _buckets(moneyness(kind, strike, spot), dte)
        return np.asarray(self.spreads, dtype=float)[mi, di]

    def spread(
        self, price: ArrayLike, kind: ArrayLike, strike: ArrayLike, spot: ArrayLike, dte: ArrayLike
    ) -> FloatArray:
        """Full spread in currency at reference price ``price``: max(relative x price, floor)."""
        rel = self.relative(kind, strike, spot, dte)
        return np.maximum(rel * np.asarray(price, dtype=float), self.min_spread)

    def to_mapping(self) -> dict[str, Any]:
        """The table as TOML-ready values."""
        return {
            "source": self.source,
            "min_spread": self.min_spread,
            "spreads": [[round(v, 4) for v in row] for row in self.spreads],
        }

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], where: str = "spread table") -> SpreadTable:
        """Read a table written by :meth:`to_mapping` (a model file's ``[costs.spreads.MKT]``)."""
        try:
            rows = tuple(tuple(float(v) for v in row) for row in raw["spreads"])
            return cls(rows, float(raw.get("min_spread", 0.05)), str(raw.get("source", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: needs spreads = [[...], ...] of numbers ({exc})") from exc


def load_spread_table(market: str, name: str = "spreads") -> SpreadTable:
    """The measured table of ``market`` in ``models/<name>.toml`` (see ``experiments/spreads``)."""
    from quantalloc.config import load_toml, model_path

    raw = load_toml(name)
    if market not in raw:
        raise ConfigError(
            f"{model_path(name)} has no spread table for market {market!r} (has "
            f"{', '.join(sorted(raw))}); run experiments/spreads/estimate.py --write"
        )
    return SpreadTable.from_mapping(raw[market], where=f"{model_path(name)} [{market}]")


def estimate_spread_table(
    chains: Iterable[pd.DataFrame],
    *,
    min_spread: float,
    source: str,
    shape: SpreadTable | None = None,
    min_count: int = 20,
) -> SpreadTable:
    """Median relative spreads of quoted contracts (bid > 0, ask >= bid) in canonical chains.

    Each chain needs ``spot`` and ``as_of``. Buckets with fewer than ``min_count`` quotes are
    filled: with ``shape``, by its value times the median ratio of covered buckets in the same
    moneyness row (so the term structure follows the reference market's); else from the nearest
    covered expiry bucket, then the nearest moneyness bucket.
    """
    parts = []
    for chain in chains:
        quoted = chain.loc[(chain["bid"] > 0) & (chain["ask"] >= chain["bid"])]
        dte = (quoted["expiry"] - quoted["as_of"]).dt.days.to_numpy(float)
        mid = (quoted["bid"] + quoted["ask"]).to_numpy(float) / 2.0
        rel = (quoted["ask"] - quoted["bid"]).to_numpy(float) / mid
        mi, di = _buckets(moneyness(quoted["kind"], quoted["strike"], quoted["spot"]), dte)
        ok = np.isfinite(rel) & np.isfinite(dte) & np.isfinite(quoted["spot"].to_numpy(float))
        parts.append(pd.DataFrame({"m": mi[ok], "d": di[ok], "rel": rel[ok]}))
    data = pd.concat(parts, ignore_index=True)
    nm, nd = len(MONEYNESS_EDGES) + 1, len(DTE_EDGES) + 1
    med = np.full((nm, nd), np.nan)
    counts = np.zeros((nm, nd), dtype=int)
    for key, group in data.groupby(["m", "d"]):
        m, d = (int(np.asarray(k)) for k in key)
        counts[m, d] = len(group)
        if len(group) >= min_count:
            med[m, d] = float(group["rel"].median())
    if np.isnan(med).all():
        raise ConfigError(f"{source}: no bucket has {min_count} quoted contracts to measure")
    filled = _fill(med, None if shape is None else np.asarray(shape.spreads, dtype=float))
    return SpreadTable(
        spreads=tuple(tuple(float(v) for v in row) for row in filled),
        min_spread=min_spread,
        source=source,
        counts=tuple(tuple(int(c) for c in row) for row in counts),
    )


def _fill(med: FloatArray, shape: FloatArray | None) -> FloatArray:
    out = med.copy()
    if shape is not None:
        for i in range(out.shape[0]):
            covered = np.isfinite(med[i])
            if covered.any() and not covered.all():
                ratio = float(np.median(med[i, covered] / shape[i, covered]))
                out[i, ~covered] = shape[i, ~covered] * ratio
    for r in range(out.shape[0]):  # nearest covered expiry bucket, then moneyness bucket
        row = out[r]
        if np.isfinite(row).any() and not np.isfinite(row).all():
            have = np.flatnonzero(np.isfinite(row))
            for j in np.flatnonzero(~np.isfinite(row)):
                row[j] = row[have[np.argmin(np.abs(have - j))]]
    rows = np.flatnonzero(np.isfinite(out).all(axis=1))
    for empty in np.flatnonzero(~np.isfinite(out).all(axis=1)):
        out[empty] = out[rows[np.argmin(np.abs(rows - empty))]]
    return out


@dataclass(frozen=True)
class FeeSchedule:
    """Fees per lot and fill side, in the market's currency (see the module notes)."""

    per_lot: float = 0.0
    regulatory_per_lot: float = 0.0
    premium_rate: float = 0.0
    buy_rate: float = 0.0
    sell_rate: float = 0.0
    tax_rate: float = 0.0

    def __post_init__(self) -> None:
        _check_rates(self, "fee")

    def per_fill(self, price: ArrayLike, lot_size: ArrayLike, side: ArrayLike) -> FloatArray:
        """Fees of one lot filled at ``price`` per unit on ``side`` (``buy`` or ``sell``)."""
        premium = np.asarray(price, dtype=float) * np.asarray(lot_size, dtype=float)
        taxed = self.per_lot + self.premium_rate * premium
        side_rate = np.where(np.asarray(side) == "buy", self.buy_rate, self.sell_rate)
        return np.asarray(
            taxed * (1.0 + self.tax_rate) + self.regulatory_per_lot + side_rate * premium,
            dtype=float,
        )

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], where: str = "fees") -> FeeSchedule:
        """Read ``[costs.fees.MKT]`` of a model file; unknown keys are an error."""
        return _from_rates(cls, raw, where, "fee(s)", "fees")


@dataclass(frozen=True)
class ExerciseCharges:
    """Charges of an option that expires in the money, per the exchange's settlement.

    ``intrinsic_rate`` of the intrinsic value on a long option exercised into cash (NSE: STT of
    0.125%); ``delivery_rate`` of the delivered shares' value on either side of a physically
    settled option (NSE stock options: delivery STT of 0.1%); ``per_lot`` per contract settled.
    """

    intrinsic_rate: float = 0.0
    delivery_rate: float = 0.0
    per_lot: float = 0.0

    def __post_init__(self) -> None:
        _check_rates(self, "exercise charge")

    def charge(
        self, *, intrinsic: float, spot: float, units: float, physical: bool, contracts: float = 0.0
    ) -> float:
        """Charges of ``units`` signed shares' worth of options settled in the money at ``spot``
        (``intrinsic`` per share; ``physical``: shares change hands at the strike)."""
        if intrinsic <= 0:
            return 0.0
        if physical:
            out = self.delivery_rate * spot * abs(units)
        else:
            out = self.intrinsic_rate * intrinsic * max(units, 0.0)
        return float(out + self.per_lot * contracts)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], where: str = "exercise") -> ExerciseCharges:
        """Read ``[costs.exercise.MKT]`` of a model file; unknown keys are an error."""
        return _from_rates(cls, raw, where, "charge(s)", "exercise charges")


def _check_rates(record: Any, what: str) -> None:
    """Every field of the fee record ``record`` must be a finite number >= 0."""
    for name in record.__dataclass_fields__:
        value = getattr(record, name)
        if not (np.isfinite(value) and value >= 0):
            raise ConfigError(f"{what} {name} must be a number >= 0, got {value}")


def _from_rates(cls: type[_R], raw: Mapping[str, Any], where: str, keys: str, values: str) -> _R:
    """``cls`` from a model file's table ``raw`` of numbers; unknown keys are an error."""
    known = set(cls.__dataclass_fields__)
    extra = sorted(set(raw) - known)
    if extra:
        raise ConfigError(f"{where}: unknown {keys} {extra}; known: {sorted(known)}")
    try:
        return cls(**{k: float(v) for k, v in raw.items()})
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {values} must be numbers ({exc})") from exc


@dataclass(frozen=True)
class LiquidityRules:
    """Which listed contracts are tradable enough to be candidates."""

    min_open_interest: float = 0.0
    min_volume: float = 0.0
    max_spread: float = 1.0

    def __post_init__(self) -> None:
        if self.min_open_interest < 0 or self.min_volume < 0 or not self.max_spread > 0:
            raise ConfigError(
                "liquidity rules need min_open_interest >= 0, min_volume >= 0 and "
                f"max_spread > 0 (got {self.min_open_interest}, {self.min_volume}, "
                f"{self.max_spread})"
            )

    def mask(self, fills: pd.DataFrame) -> tuple[NDArray[np.bool_], dict[str, int]]:
        """Contracts of a priced chain (:func:`quantalloc.options.fills.fill_prices`) that pass,
        and how many each rule dropped (a contract counts under the first rule it fails)."""
        oi = fills["open_interest"].to_numpy(float)
        vol = fills["volume"].to_numpy(float)
        rel = fills["rel_spread"].to_numpy(float)
        low_oi = ~(np.nan_to_num(oi, nan=0.0) >= self.min_open_interest)
        low_vol = ~low_oi & ~(np.nan_to_num(vol, nan=0.0) >= self.min_volume)
        wide = ~low_oi & ~low_vol & ~(rel <= self.max_spread)
        counts = {
            "open_interest": int(low_oi.sum()),
            "volume": int(low_vol.sum()),
            "spread": int(wide.sum()),
        }
        return ~(low_oi | low_vol | wide), counts


__all__ = [
    "DTE_EDGES",
    "MONEYNESS_EDGES",
    "ExerciseCharges",
    "FeeSchedule",
    "LiquidityRules",
    "SpreadTable",
    "estimate_spread_table",
    "load_spread_table",
    "moneyness",
]
