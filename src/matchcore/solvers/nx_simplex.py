"""networkx back-end: :func:`networkx.network_simplex` (the pure-Python reference)."""

from __future__ import annotations

import numpy as np

from ..errors import SolverError
from ..model.problem import FlowNetwork

__all__ = ["solve_networkx"]


def solve_networkx(network: FlowNetwork) -> np.ndarray:
    """Solve a min-cost flow with networkx's network simplex.

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
        If networkx reports the problem infeasible or unbounded.
    """
    import networkx as nx

    graph = nx.DiGraph()
    # networkx's demand is inflow - outflow: the negated supply.
    graph.add_nodes_from((v, {"demand": -int(s)}) for v, s in enumerate(network.supply))
    graph.add_edges_from(
        (int(t), int(h), {"capacity": int(c), "weight": int(w)})
        for t, h, c, w in zip(network.tail, network.head, network.capacity, network.cost)
    )
    try:
        _, flow = nx.network_simplex(graph)
    except (nx.NetworkXUnfeasible, nx.NetworkXUnbounded) as err:
        raise SolverError(f"networkx network_simplex failed: {err}") from err
    return np.fromiter(
        (flow[int(t)][int(h)] for t, h in zip(network.tail, network.head)),
        dtype=np.int64,
        count=network.n_arcs,
    )
