"""Compiled passes of the phase/batch loop (numba; imported only when it loads).

What :mod:`.phases` does once per solve over every edge, in one pass each
instead of several numpy or scipy passes: the connected components of the
candidate graph, each batch's network arcs, and (for a warm start,
:class:`~.warm_phases.WarmStart`) an old basis's arc states mapped onto a
batch. Indices are int64, states int8; callers pass contiguous arrays.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def component_labels(n_needs, n_resources, need, resource):
    """Connected components of the bipartite candidate graph, by union-find.

    Node ``i`` is need ``i``, node ``n_needs + j`` resource ``j``. Components
    are numbered by their smallest node, in increasing order (isolated nodes
    get their own), as :func:`scipy.sparse.csgraph.connected_components`
    numbers them: the labels are the same, so the batches are too.
    """
    n = n_needs + n_resources
    parent = np.arange(n)
    for e in range(len(need)):
        a = need[e]
        while parent[a] != a:  # path halving
            parent[a] = parent[parent[a]]
            a = parent[a]
        b = n_needs + resource[e]
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        # The smaller root wins: every root is its component's smallest node.
        if a < b:
            parent[b] = a
        elif b < a:
            parent[a] = b
    label = np.empty(n, np.int64)
    k = 0
    for v in range(n):
        r = parent[v]
        while parent[r] != r:
            r = parent[r]
        parent[v] = r
        if r == v:  # a component's smallest node comes first
            label[v] = k
            k += 1
        else:
            label[v] = label[r]
    return label


@njit(cache=True)
def batch_arcs(edges, need, resource, demand, capacity):
    """A batch's hub circulation in one pass over its edges (no floors).

    What :meth:`~matchcore.model.problem.TransportProblem.network` builds:
    the batch's needs and resources (sorted), then per arc its tail, head
    and capacity: hub → need (the demand), need → resource (the smaller of
    demand and capacity), resource → hub (the capacity). Node 0 is the hub,
    ``1 + k`` the k-th need, ``1 + len(needs) + k`` the k-th resource.
    """
    m = len(edges)
    n_needs, n_resources = len(demand), len(capacity)
    need_node = np.zeros(n_needs, np.int64)
    res_node = np.zeros(n_resources, np.int64)
    for k in range(m):
        need_node[need[edges[k]]] = 1
        res_node[resource[edges[k]]] = 1
    a = 0
    for i in range(n_needs):
        a += need_node[i]
    b = 0
    for j in range(n_resources):
        b += res_node[j]
    needs = np.empty(a, np.int64)
    resources = np.empty(b, np.int64)
    c = 0
    for i in range(n_needs):
        if need_node[i]:
            needs[c] = i
            c += 1
            need_node[i] = c
    c = 0
    for j in range(n_resources):
        if res_node[j]:
            resources[c] = j
            c += 1
            res_node[j] = a + c
    n_arcs = a + m + b
    tail = np.empty(n_arcs, np.int64)
    head = np.empty(n_arcs, np.int64)
    cap = np.empty(n_arcs, np.int64)
    for k in range(a):
        tail[k] = 0
        head[k] = k + 1
        cap[k] = demand[needs[k]]
    for k in range(m):
        e = edges[k]
        i = need[e]
        j = resource[e]
        tail[a + k] = need_node[i]
        head[a + k] = res_node[j]
        cap[a + k] = min(demand[i], capacity[j])
    for k in range(b):
        tail[a + m + k] = a + 1 + k
        head[a + m + k] = 0
        cap[a + m + k] = capacity[resources[k]]
    return needs, resources, tail, head, cap


@njit(cache=True)
def scatter_edge_states(by_edge, edge_map, old_edges, state):
    """``by_edge[edge_map[old_edges[k]]] = state[k]`` where the edge is still there.

    For :class:`~matchcore.solvers.warm_phases.WarmStart`: an old batch's edge
    arc states moved to the new edges by index (``edge_map``: -1 where
    gone), as ``by_edge[to[hit]] = state[hit]`` with ``to =
    edge_map[old_edges]``, ``hit = to >= 0``, without those index arrays.
    """
    for k in range(len(old_edges)):
        t = edge_map[old_edges[k]]
        if t >= 0:
            by_edge[t] = state[k]


@njit(cache=True)
def mapped_states(need_state, res_state, by_edge, needs, resources, edges, lower):
    """A batch's arc states from per-need, per-resource and per-edge tables, in one pass.

    Arcs hub → need, then the edges, then resource → hub (the layout of
    :meth:`~matchcore.model.problem.TransportProblem.network`); an entry
    below 0 (unknown; an edge past the end of ``by_edge`` too) becomes
    ``lower``. Returns the states and the number of known arcs.
    """
    a, m, r = len(needs), len(edges), len(resources)
    state = np.empty(a + m + r, np.int8)
    known = _gather_states(state, 0, need_state, needs, lower)
    known += _gather_states(state, a, by_edge, edges, lower)
    known += _gather_states(state, a + m, res_state, resources, lower)
    return state, known


@njit(cache=True)
def _gather_states(out, at, table, index, lower):
    """``out[at + k] = table[index[k]]``, ``lower`` where that is below 0 or past the
    table's end; returns how many were known (for :func:`mapped_states`)."""
    known = 0
    n_table = len(table)
    for k in range(len(index)):
        i = index[k]
        s = table[i] if i < n_table else np.int8(-1)
        if s < 0:
            s = lower
        else:
            known += 1
        out[at + k] = s
    return known


@njit(cache=True)
def phase_costs(n_arcs, needs, edges, need_cost, edge_cost):
    """A phase's arc costs on a batch network, in one pass.

    What :func:`~matchcore.solvers.phases.phase_cost` builds: ``need_cost[needs]``
    on the hub → need arcs, ``edge_cost[edges]`` on the edges, 0 on the
    arcs after them (resource → hub, a floor's group arcs). The costs may
    be zero-stride views (a phase's zero costs).
    """
    cost = np.empty(n_arcs, np.int64)
    phase_costs_into(cost, needs, edges, need_cost, edge_cost)
    return cost


@njit(cache=True)
def phase_costs_into(cost, needs, edges, need_cost, edge_cost):
    """:func:`phase_costs` written into ``cost`` (int64, one per arc), for a buffer reused."""
    a, m = len(needs), len(edges)
    for k in range(a):
        cost[k] = need_cost[needs[k]]
    for k in range(m):
        cost[a + k] = edge_cost[edges[k]]
    for k in range(a + m, len(cost)):
        cost[k] = 0


@njit(cache=True)
def pack_batches(need_label, need, batch_edges):
    """Edges grouped into batches of whole components: the order and the cuts.

    What :meth:`~matchcore.model.problem.TransportProblem.batches` packs:
    components (labelled by ``need_label`` per need; edge ``e`` is in its
    need's) in label order, a batch closing once it holds ``batch_edges``
    edges. Returns ``order`` (the edges batch by batch, each batch's in
    increasing order: a stable counting sort) and ``cuts`` (where each batch
    after the first starts in ``order``).
    """
    m = len(need)
    n_labels = 0
    for i in range(len(need_label)):
        n_labels = max(n_labels, need_label[i] + 1)
    sizes = np.zeros(n_labels, np.int64)
    for e in range(m):
        sizes[need_label[need[e]]] += 1
    batch_of = np.zeros(n_labels, np.int64)
    n_batches = 0
    size = 0
    for c in range(n_labels):
        if sizes[c] == 0:
            continue
        batch_of[c] = n_batches
        size += sizes[c]
        if size >= batch_edges:
            n_batches += 1
            size = 0
    if size > 0:
        n_batches += 1
    start = np.zeros(n_batches + 1, np.int64)
    for c in range(n_labels):
        start[batch_of[c] + 1] += sizes[c]
    for b in range(n_batches):
        start[b + 1] += start[b]
    cuts = start[1:n_batches].copy()
    order = np.empty(m, np.int64)
    for e in range(m):
        b = batch_of[need_label[need[e]]]
        order[start[b]] = e
        start[b] += 1
    return order, cuts


@njit(cache=True)
def optimal_face(cost, tail, head, capacity, flow, d, free, narrow):
    """Whether ``d`` proves ``flow`` optimal on the arcs ``free``; then narrow ``free`` to rc == 0.

    What :func:`~matchcore.solvers.certify.optimal_face` does with numpy,
    with no array of reduced costs: a first pass checks (status 1 at the
    first residual arc of negative reduced cost among the free ones, 2 at a
    node that is not an index of ``d``: the caller asks numpy), and only
    when it passes and ``narrow`` does a second one set ``free`` False on
    the arcs of non-zero reduced cost. ``free`` is left as it was unless the
    status is 0.
    """
    m = len(cost)
    n = len(d)
    for e in range(m):
        t = tail[e]
        h = head[e]
        if t < 0 or t >= n or h < 0 or h >= n:
            return 2
        if not free[e]:
            continue
        r = cost[e] + d[t] - d[h]
        if r < 0:
            if flow[e] < capacity[e]:
                return 1
        elif r > 0:
            if flow[e] > 0:
                return 1
    if narrow:
        for e in range(m):
            if free[e] and cost[e] + d[tail[e]] - d[head[e]] != 0:
                free[e] = False
    return 0
