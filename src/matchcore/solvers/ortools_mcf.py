"""OR-Tools back-end: ``SimpleMinCostFlow``, arcs added from numpy arrays in one call."""

from __future__ import annotations

import numpy as np

from ..errors import SolverError
from ..model.problem import FlowNetwork

__all__ = ["solve_ortools"]


def solve_ortools(network: FlowNetwork) -> np.ndarray:
    """Solve a min-cost flow with OR-Tools' cost-scaling push-relabel.

    Parameters
    ----------
    network : FlowNetwork

    Returns
    -------
    ndarray of int64, shape (n_arcs,)
        An optimal flow.

    Raises
    ------
    SolverError
        If OR-Tools does not report an optimal solution.
    """
    from ortools.graph.python import min_cost_flow

    smcf = min_cost_flow.SimpleMinCostFlow()
    if network.n_arcs == 0:
        if np.any(network.supply):
            raise SolverError(
                f"infeasible: {int(np.abs(network.supply).sum()) // 2:,} units of supply "
                "and no arc to carry them"
            )
        return np.zeros(0, dtype=np.int64)
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(
        network.tail, network.head, network.capacity, network.cost
    )
    nodes = np.flatnonzero(network.supply)
    if len(nodes):
        smcf.set_nodes_supplies(nodes, network.supply[nodes])
    # Nodes without arcs beyond the last tail/head still need to exist.
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise SolverError(f"OR-Tools min-cost flow returned status {status!r}")
    return np.asarray(smcf.flows(arcs), dtype=np.int64)
