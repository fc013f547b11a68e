"""HiGHS back-end: the flow problem as a sparse LP through :func:`scipy.optimize.linprog`.

The constraint matrix is a network matrix (totally unimodular) and the data
are integers, so the simplex's basic optimal solution is integral; it is
rounded and checked.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix

from ..errors import SolverError
from ..model.problem import FlowNetwork

__all__ = ["solve_highs"]


def solve_highs(network: FlowNetwork) -> np.ndarray:
    """Solve a min-cost flow as an LP with HiGHS (dual simplex).

    Parameters
    ----------
    network : FlowNetwork

    Returns
    -------
    ndarray of int64, shape (n_arcs,)
        An optimal, integral flow.

    Raises
    ------
    SolverError
        If HiGHS fails or its solution is not integral.
    """
    m = network.n_arcs
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    arcs = np.arange(m)
    incidence = csr_matrix(
        (
            np.concatenate([np.ones(m), -np.ones(m)]),
            (np.concatenate([network.tail, network.head]), np.concatenate([arcs, arcs])),
        ),
        shape=(network.n_nodes, m),
    )
    bounds = np.column_stack([np.zeros(m), network.capacity.astype(float)])
    res = linprog(
        network.cost.astype(float),
        A_eq=incidence,
        b_eq=network.supply.astype(float),
        bounds=bounds,
        method="highs-ds",
    )
    if res.status != 0 or res.x is None:
        raise SolverError(f"HiGHS failed with status {res.status}: {res.message}")
    flow = np.rint(res.x)
    if np.abs(flow - res.x).max(initial=0.0) > 1e-6:
        raise SolverError("HiGHS returned a fractional flow; the basis is not integral")
    return flow.astype(np.int64)
