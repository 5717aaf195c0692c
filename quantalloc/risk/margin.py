"""Margin of naked (uncovered) short options, by the market's rules.

**US, Reg-T style** (the CBOE/FINRA rule for uncovered equity options): each short option needs
its current value plus ``max(20% x S - out-of-the-money amount, 10% x base)``, ``base`` the spot
for a call and the strike for a put; a short straddle or strangle needs the larger side's
requirement plus the other side's value. Index options use 15% in place of 20%.

**NSE, SPAN-like** (an approximation, stated as such): NSE computes SPAN margin from a scan of
price and vol scenarios, plus an exposure margin on the notional. Here the SPAN part is a stated
share of the short side's notional (``span_rate``: 15% for stock options, 9% for index
options, round figures near NSE's published stock and index scan ranges) and the exposure margin
3.5% of notional for stock options and 2% for index options (NSE's rates); a straddle or
strangle counts the larger side's notional once, since SPAN's worst scenario loses on one side.
Real SPAN files give other numbers day by day; use these as a planning figure, not a broker's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quantalloc.errors import ConfigError


@dataclass(frozen=True, slots=True)
class MarginModel:
    """A market's naked-option margin rule (see the module notes for the two rules)."""

    style: str
    rate: float = 0.20
    index_rate: float = 0.15
    min_rate: float = 0.10
    span_rate: float = 0.15
    index_span_rate: float = 0.09
    exposure_rate: float = 0.035
    index_exposure_rate: float = 0.02

    def __post_init__(self) -> None:
        if self.style not in ("reg_t", "span_like"):
            raise ConfigError(f"margin style must be reg_t or span_like; got {self.style!r}")

    @property
    def description(self) -> str:
        """One line naming the rule and its rates."""
        if self.style == "reg_t":
            return (
                f"US Reg-T style: option value + max({self.rate:.0%} x spot - OTM, "
                f"{self.min_rate:.0%} x spot or strike) per naked short; straddles the larger side"
            )
        return (
            f"NSE SPAN-like approximation: {self.span_rate:.0%} (index {self.index_span_rate:.0%})"
            f" of the short notional plus exposure margin {self.exposure_rate:.1%} "
            f"(index {self.index_exposure_rate:.0%})"
        )

    def naked(
        self,
        kind: np.ndarray,
        units: np.ndarray,
        strike: np.ndarray,
        value: np.ndarray,
        spot: float,
        *,
        index: bool = False,
    ) -> float:
        """Margin of one position's uncovered short options, in currency.

        ``kind`` +1 call, -1 put, 0 stock; ``units`` signed units (+ long, - short); ``value``
        each leg's current value per unit. Short calls are covered first by long stock, then
        by long calls; short puts by long puts; what is left is naked.
        """
        kind = np.asarray(kind)
        units = np.asarray(units, dtype=float)
        short_call, short_put = _uncovered(kind, units)
        if short_call <= 0 and short_put <= 0:
            return 0.0
        if self.style == "span_like":
            rate = (
                (self.index_span_rate + self.index_exposure_rate)
                if index
                else (self.span_rate + self.exposure_rate)
            )
            return float(rate * spot * max(short_call, short_put))
        rate = self.index_rate if index else self.rate
        sides = {}
        for side, naked_units in ((1, short_call), (-1, short_put)):
            legs = (kind == side) & (units < 0)
            if naked_units <= 0 or not legs.any():
                sides[side] = (0.0, 0.0)
                continue
            share = naked_units / float(-units[legs].sum())
            k, v, q = strike[legs], value[legs], -units[legs] * share
            otm = np.maximum(side * (k - spot), 0.0)
            base = spot if side == 1 else k
            req = v + np.maximum(rate * spot - otm, self.min_rate * base)
            sides[side] = (float(q @ req), float(q @ v))
        (call_req, call_val), (put_req, put_val) = sides[1], sides[-1]
        if call_req >= put_req:
            return call_req + put_val
        return put_req + call_val


def _uncovered(kind: np.ndarray, units: np.ndarray) -> tuple[float, float]:
    """Short call and short put units left after long stock and long options cover them."""
    stock = max(float(units[kind == 0].sum()), 0.0)
    calls = units[kind == 1]
    puts = units[kind == -1]
    short_call = float(-calls[calls < 0].sum()) - stock - float(calls[calls > 0].sum())
    short_put = float(-puts[puts < 0].sum()) - float(puts[puts > 0].sum())
    return max(short_call, 0.0), max(short_put, 0.0)


def margin_model(market: str) -> MarginModel:
    """The margin rule of ``market``: ``us`` Reg-T style, ``in`` NSE SPAN-like."""
    if market == "us":
        return MarginModel(style="reg_t")
    if market == "in":
        return MarginModel(style="span_like")
    raise ConfigError(f"no margin rule for market {market!r}; use 'in' or 'us'")


__all__ = ["MarginModel", "margin_model"]
