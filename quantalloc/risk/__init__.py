"""Book risk as a risk desk reads it: dollar and beta-weighted Greeks, scenario VaR and CVaR, a
stress table repriced leg by leg, and margin by market rules.

Inputs are flat legs (:class:`Positions`): each leg's position, symbol, kind, signed units,
strike, years to expiry and implied vol. Nothing here knows the allocation engine or the
``solve()`` product; ``pipeline/`` builds the legs and puts the figures in the document.
"""

from quantalloc.risk.beta import betas
from quantalloc.risk.book import BookRisk, book_risk
from quantalloc.risk.margin import MarginModel, margin_model
from quantalloc.risk.measures import var_cvar
from quantalloc.risk.positions import Positions
from quantalloc.risk.stress import INDEX_MOVES, VOL_MOVES, horizon_pnl, leg_values, stress_table

__all__ = [
    "INDEX_MOVES",
    "VOL_MOVES",
    "BookRisk",
    "MarginModel",
    "Positions",
    "betas",
    "book_risk",
    "horizon_pnl",
    "leg_values",
    "margin_model",
    "stress_table",
    "var_cvar",
]
