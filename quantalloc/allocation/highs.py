"""Linear and mixed-integer programs handed to HiGHS directly (no modelling layer in between).

The working set's feasible start and lot rounding solve small LPs and MIPs many times; building
them through cvxpy cost more than solving them (measured: 0.2-4 s of compilation for a MIP HiGHS
solves in tens of milliseconds). Limits are by work (branch-and-bound nodes), never by time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from quantalloc.allocation.solvers import quiet_highs

INF = float("inf")


@dataclass(frozen=True)
class HighsResult:
    """HiGHS's model status (``Optimal``, ``Infeasible``, ``Solution limit``...) and the point
    it holds (None when it has none)."""

    status: str
    x: np.ndarray | None


@dataclass(frozen=True)
class LinearModel:
    """``min cost . x`` s.t. ``row_lower <= a x <= row_upper``, ``col_lower <= x <= col_upper``;
    ``integer`` marks integer columns."""

    cost: np.ndarray
    a: sp.spmatrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray | None = None


def solve_highs(
    model: LinearModel,
    *,
    max_nodes: int | None = None,
    options: dict[str, bool | int | float | str] | None = None,
) -> HighsResult:
    """Solve ``model`` with HiGHS (quiet, deterministic); a MIP stops at ``max_nodes`` nodes and
    keeps its best point. ``options`` are HiGHS options by name."""
    import highspy

    quiet_highs()
    a = sp.csc_matrix(model.a)
    n_col, n_row = a.shape[1], a.shape[0]
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_col, n_row
    lp.col_cost_ = np.asarray(model.cost, dtype=float)
    lp.col_lower_ = np.asarray(model.col_lower, dtype=float)
    lp.col_upper_ = np.asarray(model.col_upper, dtype=float)
    lp.row_lower_ = np.asarray(model.row_lower, dtype=float)
    lp.row_upper_ = np.asarray(model.row_upper, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n_col, n_row
    if model.integer is not None and model.integer.any():
        integer, continuous = highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous
        lp.integrality_ = [integer if flag else continuous for flag in model.integer.tolist()]
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    if max_nodes is not None:
        h.setOptionValue("mip_max_nodes", int(max_nodes))
    for name, value in (options or {}).items():
        h.setOptionValue(name, value)
    h.passModel(lp)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    if int(info.primal_solution_status) != 2:  # 2 = feasible
        return HighsResult(status, None)
    return HighsResult(status, np.asarray(h.getSolution().col_value, dtype=float))


__all__ = ["INF", "HighsResult", "LinearModel", "solve_highs"]
