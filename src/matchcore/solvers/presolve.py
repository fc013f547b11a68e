"""Exact presolve: flows that conservation alone determines, found without a back-end.

After a phase restricts the network to its zero-reduced-cost arcs, what is
left is often a forest (an optimal basis is a spanning tree). On a forest the
feasible flow is unique: peel leaves, each leaf's only arc carrying exactly
what the leaf must send or receive. That flow is then the optimum of any
cost, so the back-end call is skipped; the result is checked like any other.
"""

from __future__ import annotations

import numpy as np

from ..model.problem import FlowNetwork

__all__ = ["peel"]

#: Leaf-peeling rounds before handing what is left to the back-end.
MAX_ROUNDS = 256
#: When more than this share of the arcs is left, :func:`peel` returns the
#: network unchanged rather than a copy that is barely smaller.
KEEP_WHOLE = 0.9


def peel(network: FlowNetwork) -> tuple[np.ndarray, np.ndarray, FlowNetwork]:
    """Fix the flow on every arc that conservation forces, by peeling leaves.

    A node with one arc left (a leaf) must send or receive its whole excess
    through it, in every feasible flow. Peeling repeats until no leaf is left
    (what remains is the 2-core: arcs on or between cycles) or
    :data:`MAX_ROUNDS` rounds have run.

    Returns
    -------
    flow : ndarray of int64, shape (n_arcs,)
        The forced flow on peeled arcs (0 elsewhere). It may break a bound
        when the network is infeasible; the caller checks the whole flow.
    rest : ndarray of bool, shape (n_arcs,)
        Arcs not peeled.
    remainder : FlowNetwork
        The network of the ``rest`` arcs, with supplies net of the forced
        flow: its optima plus ``flow`` are exactly the optima of ``network``.
        When more than :data:`KEEP_WHOLE` of the arcs are left, nothing is
        forced: ``flow`` is zero, ``rest`` all True and ``remainder`` is
        ``network`` itself.
    """
    n, m = network.n_nodes, network.n_arcs
    tail, head = network.tail, network.head
    excess = network.supply.astype(np.int64).copy()  # outflow still owed by each node
    flow = np.zeros(m, dtype=np.int64)
    deg = np.bincount(tail, minlength=n) + np.bincount(head, minlength=n)
    alive = np.arange(m)
    for _ in range(MAX_ROUNDS):
        if len(alive) == 0:
            break
        t, h = tail[alive], head[alive]
        from_tail = deg[t] == 1
        from_head = (deg[h] == 1) & ~from_tail
        done = from_tail | from_head
        if not done.any():
            break
        # Leaf is the tail: the arc carries what the leaf owes; leaf is the head: what it needs.
        a = alive[from_tail]
        flow[a] = excess[tail[a]]
        np.add.at(excess, head[a], excess[tail[a]])
        excess[tail[a]] = 0
        b = alive[from_head]
        flow[b] = -excess[head[b]]
        np.add.at(excess, tail[b], excess[head[b]])
        excess[head[b]] = 0
        np.subtract.at(deg, tail[alive[done]], 1)
        np.subtract.at(deg, head[alive[done]], 1)
        alive = alive[~done]
    rest = np.zeros(m, dtype=bool)
    if len(alive) > KEEP_WHOLE * m:
        # Too little peeled to be worth a copy of the arcs: the back-end gets
        # the whole network (its optima are the same), and no memory is spent.
        rest[:] = True
        return np.zeros(m, dtype=np.int64), rest, network
    rest[alive] = True
    remainder = FlowNetwork(n, tail[alive], head[alive], network.capacity[alive],
                            network.cost[alive], excess)
    return flow, rest, remainder
