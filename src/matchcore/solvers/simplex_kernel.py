"""The compiled loops of :mod:`.network_simplex` (numba; imported only by its loader).

Layout shared by every function here: nodes ``0 .. n-1`` are the network's,
node ``n`` is the artificial root; arcs ``0 .. m-1`` are the network's and arc
``m + v`` is node ``v``'s artificial arc to or from the root. The spanning
tree is held in flat arrays indexed by node: ``parent``, ``pred`` (the tree
arc to the parent), ``pred_up`` (1 when that arc runs node → parent, -1 when
it runs parent → node), ``thread`` / ``rev_thread`` (a preorder of the tree
as a doubly linked cyclic list), ``succ`` (the size of the node's subtree) and
``last`` (the subtree's last node in the preorder).
``state`` is 1 for an arc at its lower bound that may enter, -1 for one at
its upper bound, and 0 for tree arcs and for arcs that can never enter
(zero capacity). Potentials ``pi`` give reduced costs
``cost + pi[tail] - pi[head]`` (zero on tree arcs).

Everything is int64; the caller bounds costs so that no sum overflows.
"""

from __future__ import annotations

import numpy as np
from numba import njit

PIVOT_BLOCK = 0
PIVOT_CANDIDATE = 1
PIVOT_LOCAL = 2


@njit(cache=True)
def repair(n, m, tail, head, cap, supply, start, tree, upper, order_hint, art_cap,
           source, target, flow, state):
    """A strongly feasible spanning tree from the tree arcs of an earlier basis.

    ``start`` holds a basis's state per arc: ``tree`` for a tree arc,
    ``upper`` for one at its upper bound, anything else for one at its lower
    bound. The tree arcs form a forest (an arc closing a cycle is
    dropped). Leaves first, each kept arc takes the flow its subtree's
    imbalance forces on it; an arc for which that flow is out of bounds, or
    leaves no residual capacity towards the root, is cut (set at its nearest
    bound) and its subtree hangs from the root by an artificial arc carrying
    what is left. Forest roots are picked in ``order_hint`` order (nodes
    that hung from the root before first), so an unchanged optimal tree comes
    back unchanged.

    ``source``, ``target``, ``flow`` and ``state`` (``m + n`` arcs each; any
    contents) are filled; ``art_cap`` (``n``) gets the artificial arcs'
    capacities. Returns ``(parent, pred, pred_up)`` over the ``n + 1`` nodes.
    """
    root = n
    excess = supply.copy()
    # One pass over the arcs: their ends, the non-tree arcs at their bounds, and
    # the tree arcs listed (in arc order) with their nodes' degrees. (Four
    # passes before: the four repairs of a cold and a warm match at city_100k,
    # 2.1-2.7M arcs each, took 0.45 s, now 0.35 s, with the same outputs.)
    deg = np.zeros(n + 1, np.int64)
    trees = np.empty(m, np.int64)
    n_tree = 0
    for e in range(m):
        t = tail[e]
        h = head[e]
        source[e] = t
        target[e] = h
        s = start[e]
        if s == tree:
            flow[e] = 0
            state[e] = 0
            deg[t + 1] += 1
            deg[h + 1] += 1
            trees[n_tree] = e
            n_tree += 1
        elif cap[e] == 0:
            flow[e] = 0
            state[e] = 0
        elif s == upper:
            c = cap[e]
            flow[e] = c
            state[e] = -1
            excess[t] -= c
            excess[h] += c
        else:
            flow[e] = 0
            state[e] = 1
    for a in range(m, m + n):
        flow[a] = 0
        state[a] = 0
    # Adjacency of the kept arcs (CSR over nodes), each node's in arc order.
    for v in range(n):
        deg[v + 1] += deg[v]
    fill = deg[:n].copy()
    adj = np.empty(deg[n], np.int64)
    for i in range(n_tree):
        e = trees[i]
        adj[fill[tail[e]]] = e
        fill[tail[e]] += 1
        adj[fill[head[e]]] = e
        fill[head[e]] += 1
    parent = np.full(n + 1, -1, np.int64)
    pred = np.full(n + 1, -1, np.int64)
    pred_up = np.zeros(n + 1, np.int64)
    seen = np.zeros(n, np.bool_)
    used = np.zeros(m, np.bool_)
    bfs = np.empty(n, np.int64)
    count = 0
    for k in range(n):
        r = order_hint[k]
        if seen[r]:
            continue
        seen[r] = True
        parent[r] = root
        bfs[count] = r
        head_q = count
        count += 1
        while head_q < count:
            u = bfs[head_q]
            head_q += 1
            for p in range(deg[u], deg[u + 1]):
                e = adj[p]
                if used[e]:
                    continue
                used[e] = True
                w = head[e] if tail[e] == u else tail[e]
                if seen[w]:
                    # Closes a cycle: not a tree arc after all.
                    state[e] = 1 if cap[e] > 0 else 0
                    continue
                seen[w] = True
                parent[w] = u
                pred[w] = e
                pred_up[w] = 1 if tail[e] == w else -1
                bfs[count] = w
                count += 1
    # Leaves first: settle each node's arc to its parent.
    for k in range(n - 1, -1, -1):
        v = bfs[k]
        p = parent[v]
        if p == root:
            continue
        e = pred[v]
        f = excess[v] if pred_up[v] == 1 else -excess[v]
        # Strongly feasible: some residual capacity towards the root.
        ok = (0 <= f < cap[e]) if pred_up[v] == 1 else (0 < f <= cap[e])
        if ok:
            flow[e] = f
            excess[p] += excess[v]
            continue
        fb = 0 if f <= 0 else (cap[e] if f >= cap[e] else 0)
        flow[e] = fb
        if cap[e] == 0:
            state[e] = 0
        else:
            state[e] = 1 if fb == 0 else -1
        excess[tail[e]] -= fb
        excess[head[e]] += fb
        parent[v] = root
        pred[v] = -1
    # Artificial arcs: the forest roots hang from the root; the rest can never enter.
    for v in range(n):
        a = m + v
        if parent[v] == root:
            r = excess[v]
            pred[v] = a
            if r >= 0:
                source[a], target[a], flow[a], pred_up[v] = v, root, r, 1
            else:
                source[a], target[a], flow[a], pred_up[v] = root, v, -r, -1
            art_cap[v] = np.int64(2) ** 62
        else:
            source[a], target[a] = v, root
            art_cap[v] = 0
    return parent, pred, pred_up


@njit(cache=True)
def empty_int64(size):
    """``np.empty(size, np.int64)``, allocated here (see :class:`~.network_simplex.Workspace`)."""
    return np.empty(size, np.int64)


@njit(cache=True)
def empty_int8(size):
    """``np.empty(size, np.int8)``, allocated here (see :class:`~.network_simplex.Workspace`)."""
    return np.empty(size, np.int8)


@njit(cache=True)
def phase_start(n_arcs, lower):
    """The arrays a batch's phases start from: ``arange``, zero flows, ``lower`` states.

    For :func:`~matchcore.solvers.warm_phases.solve_phases` (``keep``,
    ``total``, ``frozen``), allocated here (see
    :class:`~.network_simplex.Workspace`).
    """
    keep = np.empty(n_arcs, np.int64)
    total = np.empty(n_arcs, np.int64)
    frozen = np.empty(n_arcs, np.int8)
    for e in range(n_arcs):
        keep[e] = e
        total[e] = 0
        frozen[e] = lower
    return keep, total, frozen


@njit(cache=True)
def build_thread(n, parent):
    """Preorder `thread` / `rev_thread`, subtree sizes `succ` and ends `last`, from `parent`."""
    root = n
    n1 = n + 1
    first = np.full(n1, -1, np.int64)
    sibling = np.full(n1, -1, np.int64)
    for v in range(n - 1, -1, -1):
        p = parent[v]
        sibling[v] = first[p]
        first[p] = v
    thread = np.empty(n1, np.int64)
    rev_thread = np.empty(n1, np.int64)
    succ = np.ones(n1, np.int64)
    order = np.empty(n1, np.int64)
    stack = np.empty(n1, np.int64)
    top = 0
    stack[0] = root
    top = 1
    k = 0
    while top > 0:
        top -= 1
        u = stack[top]
        order[k] = u
        k += 1
        c = first[u]
        # Push children in reverse so that the first child comes out first.
        start = top
        while c != -1:
            stack[top] = c
            top += 1
            c = sibling[c]
        i, j = start, top - 1
        while i < j:
            stack[i], stack[j] = stack[j], stack[i]
            i += 1
            j -= 1
    for i in range(n1):
        u = order[i]
        w = order[(i + 1) % n1]
        thread[u] = w
        rev_thread[w] = u
    for i in range(n1 - 1, 0, -1):
        u = order[i]
        succ[parent[u]] += succ[u]
    last = np.empty(n1, np.int64)
    for i in range(n1):
        last[order[i]] = order[i + succ[order[i]] - 1]
    return thread, rev_thread, succ, last, order


@njit(cache=True)
def tree_potentials(n, cost, parent, pred, pred_up, order):
    """Potentials with zero reduced cost on every tree arc (``pi[root] = 0``)."""
    pi = np.zeros(n + 1, np.int64)
    for i in range(1, n + 1):
        u = order[i]
        # Arc u -> parent: cost + pi[u] - pi[p] = 0; parent -> u: cost + pi[p] - pi[u] = 0.
        if pred_up[u] == 1:
            pi[u] = pi[parent[u]] - cost[pred[u]]
        else:
            pi[u] = pi[parent[u]] + cost[pred[u]]
    return pi


@njit(cache=True)
def arc_adjacency(n, m, source, target, adj, adj_ptr):
    """The arcs ``0 .. m-1`` of each node (CSR over nodes ``0 .. n-1``), for local pricing.

    Fills ``adj`` (``2 m``: each arc once at its source, once at its target)
    and ``adj_ptr`` (``n + 1``); returns the largest degree.
    """
    adj_ptr[:] = 0
    for e in range(m):
        adj_ptr[source[e] + 1] += 1
        adj_ptr[target[e] + 1] += 1
    max_deg = 0
    for v in range(n):
        max_deg = max(max_deg, adj_ptr[v + 1])
        adj_ptr[v + 1] += adj_ptr[v]
    fill = adj_ptr[:n].copy()
    for e in range(m):
        adj[fill[source[e]]] = e
        fill[source[e]] += 1
        adj[fill[target[e]]] = e
        fill[target[e]] += 1
    return max_deg


@njit(cache=True)
def solve(n, m, source, target, cap, cost, flow, state, pi,
          parent, pred, pred_up, thread, rev_thread, succ, last, pivot, max_pivots,
          block, list_len, minor_limit, mark_limit, drift_limit, adj, adj_ptr, max_deg):
    """Pivot until no arc prices out; returns the number of pivots (-1: limit hit).

    Entering arcs come from block search or a candidate list; the leaving arc
    is the last blocking arc of the cycle met from the apex in the cycle's
    direction, which keeps the tree strongly feasible (no cycling). With
    ``PIVOT_LOCAL``, ``adj``, ``adj_ptr`` and ``max_deg`` are the network's
    :func:`arc_adjacency` (unused otherwise).

    A pivot shifts the potentials of the smaller side of the tree (see
    :func:`_pivot`), so the root's potential drifts; it is brought back to 0
    whenever it leaves ``[-drift_limit, drift_limit]`` (the caller's bound
    that keeps every reduced cost inside int64) and when the loop ends.
    """
    n_arcs = m + n
    local = pivot == PIVOT_LOCAL
    # Local pricing (warm starts): the arcs of the nodes whose potentials a
    # pivot shifted are priced first; a full scan still decides optimality.
    if not local:
        max_deg = 0
    dirty = np.empty(n + 1 if local else 0, np.int64)
    is_dirty = np.zeros(n + 1 if local else 0, np.bool_)
    n_dirty = 0
    cand = np.empty(list_len + max_deg, np.int64)
    n_cand = 0
    minor = 0
    next_arc = 0
    run_a = np.empty(2 * n + 2, np.int64)
    run_b = np.empty(2 * n + 2, np.int64)
    pivots = 0
    while pivots != max_pivots:
        # --- pricing -------------------------------------------------------
        e_in = -1
        best = 0
        if pivot == PIVOT_BLOCK:
            left = block
            e = next_arc
            for _ in range(n_arcs):
                c = state[e] * (cost[e] + pi[source[e]] - pi[target[e]])
                if c < best:
                    best = c
                    e_in = e
                e += 1
                if e == n_arcs:
                    e = 0
                left -= 1
                if left == 0:
                    if e_in >= 0:
                        break
                    left = block
            next_arc = e
        else:
            if n_cand > 0 and minor < minor_limit:
                minor += 1
                i = 0
                while i < n_cand:
                    e = cand[i]
                    c = state[e] * (cost[e] + pi[source[e]] - pi[target[e]])
                    if c < 0:
                        if c < best:
                            best = c
                            e_in = e
                        i += 1
                    else:
                        n_cand -= 1
                        cand[i] = cand[n_cand]
            if e_in < 0 and n_dirty > 0:
                # Local major iteration: the arcs of recently shifted nodes.
                n_cand = 0
                minor = 1
                while n_dirty > 0 and n_cand < list_len:
                    n_dirty -= 1
                    v = dirty[n_dirty]
                    is_dirty[v] = False
                    for p in range(adj_ptr[v], adj_ptr[v + 1]):
                        e = adj[p]
                        c = state[e] * (cost[e] + pi[source[e]] - pi[target[e]])
                        if c < 0:
                            cand[n_cand] = e
                            n_cand += 1
                            if c < best:
                                best = c
                                e_in = e
            if e_in < 0:
                # Major iteration: refill the list from where the last one stopped.
                n_cand = 0
                minor = 1
                e = next_arc
                for _ in range(n_arcs):
                    c = state[e] * (cost[e] + pi[source[e]] - pi[target[e]])
                    if c < 0:
                        cand[n_cand] = e
                        n_cand += 1
                        if c < best:
                            best = c
                            e_in = e
                    e += 1
                    if e == n_arcs:
                        e = 0
                    if n_cand == list_len:
                        break
                next_arc = e
        if e_in < 0:
            _normalise(pi, n)
            return pivots
        pivots += 1
        start, count = _pivot(e_in, source, target, cap, cost, flow, state, pi, parent,
                              pred, pred_up, thread, rev_thread, succ, last, run_a, run_b)
        if local and count > 0 and (mark_limit < 0 or count <= mark_limit):
            # Every node whose potential moved is marked (``mark_limit`` -1),
            # however many: only their arcs' reduced costs changed. (Marking
            # at most 1,024 nodes a pivot and leaving larger shifts to the
            # full scans, as before, cost 230 full scans of 2.7M arcs in the
            # coverage phase of a 1% rematch at city_100k, against 3 now:
            # both warm phases 1.38 s -> 0.79 s, replayed from the same
            # bases, best of 3.)
            x = start
            for _ in range(count):
                if x != n and not is_dirty[x]:
                    is_dirty[x] = True
                    dirty[n_dirty] = x
                    n_dirty += 1
                x = thread[x]
        if pi[n] > drift_limit or pi[n] < -drift_limit:
            _normalise(pi, n)
    _normalise(pi, n)
    return -1


@njit(cache=True)
def _normalise(pi, root):
    """Potentials relative to the root (``pi[root] = 0``): reduced costs do not change."""
    base = pi[root]
    if base != 0:
        for v in range(len(pi)):
            pi[v] -= base


@njit(cache=True)
def _pivot(e_in, source, target, cap, cost, flow, state, pi, parent, pred, pred_up,
           thread, rev_thread, succ, last, run_a, run_b):
    """One pivot on the entering arc ``e_in``: push flow round its cycle, update the tree.

    The leaving arc is the last blocking arc of the cycle met from the apex
    in the cycle's direction, which keeps the tree strongly feasible. Returns
    the nodes whose potentials moved as ``(first, count)``: ``count`` nodes
    along the thread from ``first`` (``(-1, 0)`` when none did).
    """
    # --- the cycle: apex and leaving arc ---------------------------------
    u = source[e_in]
    v = target[e_in]
    while u != v:
        if succ[u] < succ[v]:
            u = parent[u]
        else:
            v = parent[v]
    join = u
    if state[e_in] == 1:
        first, second = source[e_in], target[e_in]
    else:
        first, second = target[e_in], source[e_in]
    delta = cap[e_in]
    side = 0
    u_out = -1
    u = first
    while u != join:
        e = pred[u]
        d = flow[e] if pred_up[u] == 1 else cap[e] - flow[e]
        if d < delta:
            delta = d
            u_out = u
            side = 1
        u = parent[u]
    u = second
    while u != join:
        e = pred[u]
        d = cap[e] - flow[e] if pred_up[u] == 1 else flow[e]
        if d <= delta:
            delta = d
            u_out = u
            side = 2
        u = parent[u]
    # --- push delta around the cycle -------------------------------------
    if delta > 0:
        val = state[e_in] * delta
        flow[e_in] += val
        u = source[e_in]
        while u != join:
            flow[pred[u]] -= pred_up[u] * val
            u = parent[u]
        u = target[e_in]
        while u != join:
            flow[pred[u]] += pred_up[u] * val
            u = parent[u]
    if side == 0:
        # The entering arc itself blocks: it moves to its other bound.
        state[e_in] = -state[e_in]
        return -1, 0
    if side == 1:
        u_in, v_in = first, second
    else:
        u_in, v_in = second, first
    e_out = pred[u_out]
    state[e_in] = 0
    if cap[e_out] == 0:
        state[e_out] = 0
    else:
        state[e_out] = 1 if flow[e_out] == 0 else -1
    # --- re-hang the subtree of u_out from v_in, rooted at u_in -----------
    v_out = parent[u_out]
    size = succ[u_out]
    # Reduced cost of the entering arc before the change: the subtree's shift.
    rc = cost[e_in] + pi[source[e_in]] - pi[target[e_in]]
    shift = -rc if u_in == source[e_in] else rc
    # The new preorder of the subtree is made of runs of the old thread:
    # u_in's old subtree, then for each stem node s_i (the old parent of
    # s_{i-1}) up to u_out, the run from s_i to just before s_{i-1}'s old
    # subtree and the run after it to the end of s_i's old subtree.
    before = rev_thread[u_out]
    after = thread[last[u_out]]
    n_runs = 0
    run_a[0] = u_in
    run_b[0] = last[u_in]
    n_runs = 1
    s = u_in
    while s != u_out:
        p = parent[s]
        run_a[n_runs] = p
        run_b[n_runs] = rev_thread[s]
        n_runs += 1
        if last[p] != last[s]:
            run_a[n_runs] = thread[last[s]]
            run_b[n_runs] = last[p]
            n_runs += 1
        s = p
    new_last = run_b[n_runs - 1]
    old_last_out = last[u_out]
    # Take the subtree out of the thread; ancestors that ended with it end earlier.
    thread[before] = after
    rev_thread[after] = before
    x = v_out
    while x != -1 and last[x] == old_last_out:
        last[x] = before
        x = parent[x]
    # Chain the runs, and splice them in right after v_in.
    nxt_v = thread[v_in]
    thread[v_in] = run_a[0]
    rev_thread[run_a[0]] = v_in
    for i in range(1, n_runs):
        thread[run_b[i - 1]] = run_a[i]
        rev_thread[run_a[i]] = run_b[i - 1]
    thread[new_last] = nxt_v
    rev_thread[nxt_v] = new_last
    # Ancestors of v_in that ended at v_in (a leaf) now end with the subtree.
    x = v_in
    while x != -1 and last[x] == v_in:
        last[x] = new_last
        x = parent[x]
    # Reverse the stem: parents, tree arcs, directions, subtree sizes and ends.
    s = u_in
    p = v_in
    e_prev = e_in
    up_prev = 1 if u_in == source[e_in] else -1
    size_prev = 0
    while True:
        nxt = parent[s]
        e_s = pred[s]
        up_s = pred_up[s]
        old_size = succ[s]
        parent[s] = p
        pred[s] = e_prev
        pred_up[s] = up_prev
        succ[s] = size - size_prev
        last[s] = new_last
        if s == u_out:
            break
        size_prev = old_size
        e_prev = e_s
        up_prev = -up_s
        p = s
        s = nxt
    # New potentials: the subtree moves by ``shift`` against the rest of the tree.
    # Only differences count, so shift whichever side is smaller. (After a warm
    # start, the subtree is often the whole tree but a few nodes hung from the
    # root: walking it cost 7,400 nodes a pivot at city_100k, against 15 cold.)
    if 2 * size <= len(pi):
        moved_first, moved = u_in, size
        x = u_in
        for _ in range(size):
            pi[x] += shift
            x = thread[x]
    else:
        moved_first, moved = thread[new_last], len(pi) - size
        x = moved_first
        while x != u_in:
            pi[x] -= shift
            x = thread[x]
    # Subtree sizes above: the subtree left v_out's side and joined v_in's.
    x = v_out
    while x != join:
        succ[x] -= size
        x = parent[x]
    x = v_in
    while x != join:
        succ[x] += size
        x = parent[x]
    return moved_first, moved


@njit(cache=True)
def path_greedy(order, in_arc, out_arc, first_edge, cap, flow):
    """Fill hub → need → resource → hub paths in ``order`` (cheapest first), each as far as it goes.

    ``order`` lists edge positions (arc ``first_edge + k``); ``in_arc`` and
    ``out_arc`` give each edge's hub arcs. ``flow`` (zeros on entry) gets a
    feasible circulation.
    """
    for k in order:
        e = first_edge + k
        a = in_arc[k]
        b = out_arc[k]
        x = min(cap[e], cap[a] - flow[a], cap[b] - flow[b])
        if x > 0:
            flow[e] = x
            flow[a] += x
            flow[b] += x
    return flow


@njit(cache=True)
def close_phase(n, tail, head, cap, cost, flow, supply, d, state, keep, total, whole,
                frozen, check_rc, lower, upper):
    """One pass over a phase's arcs: its flow checked, recorded and, optionally, frozen.

    For :func:`~matchcore.solvers.warm_phases.solve_phases` (arcs ``e`` of the
    phase network, ``keep[e]`` their index in the whole network):
    ``total[keep[e]] = flow[e]``, ``whole[keep[e]] = state[e]``. Counts the
    arcs with negative flow and over capacity, and the nodes where the flow
    is not conserved. With ``check_rc``, checks that potentials ``d`` prove
    ``flow`` optimal (no residual arc of negative reduced cost
    ``cost + d[tail] - d[head]``, as :func:`~matchcore.solvers.certify.optimal_reduced_costs`)
    and, when they do, freezes every arc of non-zero reduced cost:
    ``frozen[keep[e]]`` gets ``upper`` when its flow fills a positive
    capacity, ``lower`` otherwise, and its flow leaves the supplies.

    Returns ``(n_negative, n_over, n_unconserved, n_bad, free, supply_left)``:
    ``n_bad`` arcs whose reduced cost contradicts optimality (-1 without
    ``check_rc``), ``free`` (bool per arc: reduced cost zero) and the supplies
    without the frozen arcs' flow (both meaningful only when ``n_bad == 0``).
    """
    m = len(tail)
    n_neg = 0
    n_over = 0
    n_bad = 0
    out = np.zeros(n, np.int64)
    for e in range(m):
        f = flow[e]
        if f < 0:
            n_neg += 1
        if f > cap[e]:
            n_over += 1
        out[tail[e]] += f
        out[head[e]] -= f
        g = keep[e]
        total[g] = f
        whole[g] = state[e]
    n_unconserved = 0
    for v in range(n):
        if out[v] != supply[v]:
            n_unconserved += 1
    free = np.ones(m, np.bool_)
    left = supply.copy()
    if not check_rc:
        return n_neg, n_over, n_unconserved, -1, free, left
    for e in range(m):
        f = flow[e]
        rc = cost[e] + d[tail[e]] - d[head[e]]
        if (f < cap[e] and rc < 0) or (f > 0 and rc > 0):
            n_bad += 1
        if rc != 0:
            free[e] = False
    if n_bad:
        return n_neg, n_over, n_unconserved, n_bad, free, left
    for e in range(m):
        if not free[e]:
            f = flow[e]
            left[tail[e]] -= f
            left[head[e]] += f
            frozen[keep[e]] = upper if (f >= cap[e] and cap[e] > 0) else lower
    return n_neg, n_over, n_unconserved, 0, free, left


@njit(cache=True)
def compact_arcs(free, keep, tail, head, cap, state):
    """``keep[free], tail[free], head[free], cap[free], state[free]`` in one pass."""
    count = 0
    for e in range(len(free)):
        if free[e]:
            count += 1
    k2 = np.empty(count, np.int64)
    t2 = np.empty(count, np.int64)
    h2 = np.empty(count, np.int64)
    c2 = np.empty(count, np.int64)
    s2 = np.empty(count, np.int8)
    j = 0
    for e in range(len(free)):
        if free[e]:
            k2[j] = keep[e]
            t2[j] = tail[e]
            h2[j] = head[e]
            c2[j] = cap[e]
            s2[j] = state[e]
            j += 1
    return k2, t2, h2, c2, s2
