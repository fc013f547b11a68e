"""The peers, written as a user who outgrew a spreadsheet would write them.

Every peer receives the same candidate edges and the same integer scores as
matchcore (``need``, ``resource``, ``score_int``, ``demand``, ``capacity``)
and maximises Σ score·units (matchcore's objective "score"). Each returns
units per edge.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix


def floor(need, resource, score, demand, capacity):
    """Only read the edge arrays into a CSR matrix: the cost of touching the data."""
    csr_matrix((score, (need, resource)), shape=(len(demand), len(capacity)))
    return None


def ortools_script(need, resource, score, demand, capacity):
    """SimpleMinCostFlow: source → needs → resources → sink, a bypass arc, arrays in one call."""
    from ortools.graph.python import min_cost_flow

    a, b, m = len(demand), len(capacity), len(need)
    source, sink = a + b, a + b + 1
    total = int(demand.sum())
    tail = np.concatenate([np.full(a, source), need, a + np.arange(b), [source]])
    head = np.concatenate([np.arange(a), a + resource, np.full(b, sink), [sink]])
    cap = np.concatenate([demand, np.minimum(demand[need], capacity[resource]), capacity, [total]])
    cost = np.concatenate([np.zeros(a, np.int64), -score, np.zeros(b + 1, np.int64)])
    smcf = min_cost_flow.SimpleMinCostFlow()
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(
        tail.astype(np.int64), head.astype(np.int64), cap.astype(np.int64), cost.astype(np.int64)
    )
    smcf.set_nodes_supplies(np.array([source, sink]), np.array([total, -total]))
    if smcf.solve() != smcf.OPTIMAL:
        raise RuntimeError("OR-Tools did not solve")
    return np.asarray(smcf.flows(arcs[a : a + m]), dtype=np.int64)


def pylmcf_lemon(need, resource, score, demand, capacity):
    """LEMON's network simplex (pylmcf) in its non-negative form.

    pylmcf wants non-negative costs and arcs sorted by (tail, head): each need
    supplies its demand, which goes to a resource at cost ``top - score`` or
    straight to the sink by an "unserved" arc at cost ``top``; resources send
    at most their capacity to the sink. Minimising the cost maximises the
    score (the cost is ``top × Σ demand - Σ score·units``).
    """
    import pylmcf

    a, b, m = len(demand), len(capacity), len(need)
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    sink = a + b
    top = max(int(score.max()), 0)
    tail = np.concatenate([need, a + np.arange(b), np.arange(a)]).astype(np.int64)
    head = np.concatenate([a + resource, np.full(b, sink), np.full(a, sink)]).astype(np.int64)
    cap = np.concatenate([np.minimum(demand[need], capacity[resource]), capacity, demand])
    cost = np.concatenate([top - score, np.zeros(b, np.int64), np.full(a, top, np.int64)])
    order = np.lexsort((head, tail))
    g = pylmcf.Graph(a + b + 1, tail[order], head[order])
    g.set_node_supply(np.concatenate([demand, np.zeros(b), [-int(demand.sum())]]).astype(np.int64))
    g.set_edge_costs(cost[order].astype(np.int64))
    g.set_edge_capacities(cap[order].astype(np.int64))
    g.solve()
    flow = np.empty(len(order), dtype=np.int64)
    flow[order] = g.result()
    return flow[:m]


def highs_lp(need, resource, score, demand, capacity):
    """The transportation LP in scipy.optimize.linprog (HiGHS), one variable per edge."""
    from scipy.optimize import linprog

    a, b, m = len(demand), len(capacity), len(need)
    cols = np.arange(m)
    A = csr_matrix(
        (np.ones(2 * m), (np.concatenate([need, a + resource]), np.concatenate([cols, cols]))),
        shape=(a + b, m),
    )
    res = linprog(
        -score.astype(float),
        A_ub=A,
        b_ub=np.concatenate([demand, capacity]).astype(float),
        bounds=(0, None),
        method="highs",
    )
    if res.status != 0:
        raise RuntimeError(res.message)
    return np.rint(res.x).astype(np.int64)


def networkx_simplex(need, resource, score, demand, capacity):
    """networkx.network_simplex on a DiGraph with source, sink and a bypass arc."""
    import networkx as nx

    total = int(demand.sum())
    g = nx.DiGraph()
    g.add_node("s", demand=-total)
    g.add_node("t", demand=total)
    g.add_edge("s", "t", capacity=total, weight=0)
    g.add_edges_from(
        ("s", ("n", i), {"capacity": int(d), "weight": 0}) for i, d in enumerate(demand)
    )
    g.add_edges_from(
        (("r", j), "t", {"capacity": int(c), "weight": 0}) for j, c in enumerate(capacity)
    )
    g.add_edges_from(
        (
            ("n", int(i)),
            ("r", int(j)),
            {"capacity": int(min(demand[i], capacity[j])), "weight": -int(s)},
        )
        for i, j, s in zip(need, resource, score)
    )
    _, flow = nx.network_simplex(g)
    return np.array(
        [flow[("n", int(i))][("r", int(j))] for i, j in zip(need, resource)], dtype=np.int64
    )


def greedy(need, resource, score, demand, capacity):
    """Best edge first: sort once in numpy, then take what is left, edge by edge."""
    order = np.argsort(-score, kind="stable")
    left_d, left_c = demand.tolist(), capacity.tolist()
    n, r = need[order].tolist(), resource[order].tolist()
    units = np.zeros(len(need), dtype=np.int64)
    out = []
    for k, (i, j) in enumerate(zip(n, r)):
        u = min(left_d[i], left_c[j])
        if u > 0:
            left_d[i] -= u
            left_c[j] -= u
            out.append((k, u))
    if out:
        ks, us = zip(*out)
        units[order[list(ks)]] = us
    return units


PEERS = {
    "floor": floor,
    "ortools_script": ortools_script,
    "pylmcf": pylmcf_lemon,
    "highs_lp": highs_lp,
    "networkx": networkx_simplex,
    "greedy": greedy,
}
