"""Compiled passes of the phase/batch loop (numba; imported only when it loads).

What :mod:`.phases` does once per solve over every edge, in one pass each
instead of several numpy or scipy passes: the connected components of the
candidate graph. Everything is int64; callers pass contiguous arrays.
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
