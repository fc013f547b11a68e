"""The optimality certificate, and the phase restriction it makes possible.

A flow is optimal iff its residual graph has no negative-cost cycle,
equivalently iff node potentials ``d`` exist with non-negative reduced costs
``cost + d[tail] - d[head]`` on every residual arc (feasible duals with
complementary slackness). :func:`potentials` finds such ``d`` by a
frontier-based Bellman–Ford from a virtual root, vectorised with numpy; it
fails exactly when a negative cycle exists. No second solver is involved.

Potentials also describe *all* optimal solutions: an arc with positive
reduced cost carries no flow in any optimum, one with negative reduced cost is
saturated in every optimum, the rest are free. :func:`restrict` uses that to
optimise a lexicographic objective phase by phase, exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..model.problem import FlowNetwork

__all__ = ["Certificate", "network_potentials", "optimal_face", "optimal_reduced_costs",
           "potentials", "proves_optimal", "residual", "restrict"]


def residual(network: FlowNetwork, flow: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Residual arcs ``(tail, head, cost)``: forward where flow < cap, backward where flow > 0."""
    fwd = flow < network.capacity
    bwd = flow > 0
    tail = np.concatenate([network.tail[fwd], network.head[bwd]])
    head = np.concatenate([network.head[fwd], network.tail[bwd]])
    cost = np.concatenate([network.cost[fwd], -network.cost[bwd]])
    return tail, head, cost


def potentials(
    n_nodes: int,
    tail: np.ndarray,
    head: np.ndarray,
    cost: np.ndarray,
    hint: np.ndarray | None = None,
) -> np.ndarray | None:
    """Shortest-path potentials from a virtual root joined to every node at cost 0.

    Returns ``d`` with ``d[head] <= d[tail] + cost`` on every arc, or None when
    a negative cycle exists. Bellman–Ford that only relaxes arcs leaving nodes
    whose distance changed in the previous round; each round is a few numpy
    operations over those arcs.

    A ``hint`` (potentials found earlier, e.g. while solving) is returned as
    is when it satisfies every arc: any such ``d`` proves that no negative
    cycle exists, so the check is one pass over the arcs instead of a
    Bellman–Ford. A hint that fails is ignored.

    A negative cycle is found as soon as Bellman–Ford's parent pointers close
    a loop (checked after :data:`CYCLE_CHECK_ROUNDS` rounds and at each
    doubling), not after the ``n_nodes`` rounds of the textbook test, so
    rejecting a suboptimal solution costs about as much as certifying an
    optimal one.
    """
    if hint is not None and hint.shape == (n_nodes,):
        if len(tail) == 0 or bool((cost + hint[tail] - hint[head] >= 0).all()):
            return hint
    if len(tail) == 0:
        return np.zeros(n_nodes, dtype=np.int64)
    order = np.argsort(tail, kind="stable")
    return _bellman_ford(n_nodes, tail[order], head[order], cost[order])


def optimal_reduced_costs(
    cost: np.ndarray, tail: np.ndarray, head: np.ndarray, capacity: np.ndarray,
    flow: np.ndarray, d: np.ndarray, where: np.ndarray | None = None,
) -> np.ndarray | None:
    """The reduced costs ``cost + d[tail] - d[head]`` of the arcs when potentials ``d``
    prove ``flow`` optimal (on the arcs ``where``, all by default), else None.

    A forward residual arc (flow < capacity) needs ``rc >= 0``, a backward one
    (flow > 0, head -> tail at cost -cost) ``rc <= 0``: no residual arc of
    negative reduced cost. One reduced cost per arc, no masked copies; the
    caller keeps them (the arcs of ``rc == 0`` are the optimal face).

    Examples
    --------
    >>> import numpy as np
    >>> arcs = (np.array([1, 2]), np.array([0, 0]), np.array([1, 1]), np.array([1, 1]))
    >>> optimal_reduced_costs(*arcs, np.array([1, 0]), np.array([0, 1])).tolist()
    [0, 1]
    >>> optimal_reduced_costs(*arcs, np.array([0, 1]), np.array([0, 1])) is None
    True
    """
    rc: np.ndarray = cost + d[tail] - d[head]
    bad = ((flow < capacity) & (rc < 0)) | ((flow > 0) & (rc > 0))
    if where is not None:
        bad &= where
    return None if bad.any() else rc


def optimal_face(
    cost: np.ndarray, tail: np.ndarray, head: np.ndarray, capacity: np.ndarray,
    flow: np.ndarray, d: np.ndarray, free: np.ndarray, *, narrow: bool = True,
    compiled: bool = False,
) -> bool:
    """Whether potentials ``d`` prove ``flow`` optimal on the arcs ``free`` (a bool mask);
    then, with ``narrow``, ``free`` becomes the optimal face in place: the arcs of zero
    reduced cost among them (the arcs a next lexicographic phase may still use).

    :func:`optimal_reduced_costs` with ``where=free``, without keeping its
    array: ``free`` is changed only when the answer is True. ``compiled=True``
    (where numba loads) checks and narrows in compiled passes
    (:func:`~.batch_kernel.optimal_face`) that allocate nothing, when the
    arrays are contiguous int64 and ``free`` a contiguous bool mask; numpy's
    passes otherwise, with the same answer. Measured on 2.7M random arcs
    (shared 2-core machine): numpy's check 0.024-0.13 s a call, a compiled
    one 0.008-0.011 s; the certificate of a warm match at city_100k after a
    1% change (four calls) took 0.24-0.33 s with numpy's, 0.11-0.12 s
    compiled.

    Parameters
    ----------
    cost, tail, head, capacity, flow : ndarray of int, shape (n_arcs,)
        The arcs (lower bounds 0) and a flow on them.
    d : ndarray of int, shape (n_nodes,)
        Node potentials (a solver's duals).
    free : ndarray of bool, shape (n_arcs,)
        The arcs checked; narrowed in place when the answer is True and ``narrow``.
    narrow : bool, default True
        Narrow ``free`` to the arcs of zero reduced cost.
    compiled : bool, default False
        Check in compiled passes where numba loads.

    Returns
    -------
    bool
        True when no free arc is a residual arc of negative reduced cost.

    Raises
    ------
    IndexError
        A node of ``tail`` or ``head`` is not an index of ``d`` (numpy's).

    See Also
    --------
    optimal_reduced_costs : the same check, keeping the reduced costs.

    Examples
    --------
    >>> import numpy as np
    >>> arcs = (np.array([1, 2]), np.array([0, 0]), np.array([1, 1]), np.array([1, 1]))
    >>> free = np.ones(2, dtype=bool)
    >>> optimal_face(*arcs, np.array([1, 0]), np.array([0, 1]), free), free.tolist()
    (True, [True, False])
    >>> free = np.ones(2, dtype=bool)
    >>> optimal_face(*arcs, np.array([0, 1]), np.array([0, 1]), free), free.tolist()
    (False, [True, True])
    """
    if compiled and _compilable(cost, tail, head, capacity, flow, d, free):
        from . import batch_kernel  # numba: only with it

        status = batch_kernel.optimal_face(cost, tail, head, capacity, flow, d, free,
                                           bool(narrow))
        if status != 2:  # 2: a node out of range, numpy's indexing decides (and raises)
            return bool(status == 0)
    rc = optimal_reduced_costs(cost, tail, head, capacity, flow, d, where=free)
    if rc is None:
        return False
    if narrow:
        free &= rc == 0
    return True


def _compilable(cost: np.ndarray, tail: np.ndarray, head: np.ndarray, capacity: np.ndarray,
                flow: np.ndarray, d: np.ndarray, where: np.ndarray | None) -> bool:
    """Whether the compiled check takes these arrays as they are (no copies, no new types)."""
    ints = (cost, tail, head, capacity, flow, d)
    if not all(isinstance(x, np.ndarray) and x.dtype == np.int64 and x.ndim == 1
               and x.flags.c_contiguous for x in ints):
        return False
    n = len(cost)
    if any(len(x) != n for x in (tail, head, capacity, flow)):
        return False  # numpy's broadcasting rules (and its errors) decide
    if where is not None and not (isinstance(where, np.ndarray) and where.dtype == np.bool_
                                  and where.shape == (n,) and where.flags.c_contiguous):
        return False
    from .network_simplex import is_available

    return is_available()


def proves_optimal(network: FlowNetwork, flow: np.ndarray, d: np.ndarray, *,
                   compiled: bool = False) -> bool:
    """Whether potentials ``d`` prove ``flow`` optimal: no residual arc of negative reduced cost
    (:func:`optimal_reduced_costs`; feasibility is :func:`check_flow`'s). ``compiled=True``
    checks by :func:`optimal_face` on every arc, compiled where it can (no array of
    reduced costs), with the same answer.

    Examples
    --------
    >>> import numpy as np
    >>> from matchcore.model.problem import FlowNetwork
    >>> net = FlowNetwork(2, np.array([0, 0]), np.array([1, 1]), np.array([1, 1]),
    ...                   np.array([1, 2]), np.array([1, -1]))
    >>> d = np.array([0, 1])
    >>> proves_optimal(net, np.array([1, 0]), d), proves_optimal(net, np.array([0, 1]), d)
    (True, False)
    """
    if d.shape != (network.n_nodes,) or flow.shape != (network.n_arcs,):
        return False
    if compiled:
        return optimal_face(network.cost, network.tail, network.head, network.capacity, flow,
                            d, np.ones(network.n_arcs, dtype=bool), narrow=False,
                            compiled=True)
    return optimal_reduced_costs(network.cost, network.tail, network.head, network.capacity,
                                 flow, d) is not None


def network_potentials(
    network: FlowNetwork, flow: np.ndarray, hint: np.ndarray | None = None
) -> np.ndarray | None:
    """:func:`potentials` of the residual graph of ``flow``, built with less memory.

    The same answer as ``potentials(network.n_nodes, *residual(network, flow), hint=hint)``;
    the residual arcs are sorted one array at a time, so at city scale the
    unsorted and the sorted copies of all three are never held at once.
    """
    n_nodes = network.n_nodes
    fwd = flow < network.capacity
    bwd = flow > 0
    if hint is not None and proves_optimal(network, flow, hint):
        return hint
    tail = np.concatenate([network.tail[fwd], network.head[bwd]])
    if len(tail) == 0:
        return np.zeros(n_nodes, dtype=np.int64)
    order = np.argsort(tail, kind="stable")
    t_s = tail[order]
    del tail
    h_s = np.concatenate([network.head[fwd], network.tail[bwd]])[order]
    c_s = np.concatenate([network.cost[fwd], -network.cost[bwd]])[order]
    del order, fwd, bwd
    return _bellman_ford(n_nodes, t_s, h_s, c_s)


def _bellman_ford(
    n_nodes: int, t_s: np.ndarray, h_s: np.ndarray, c_s: np.ndarray
) -> np.ndarray | None:
    """The Bellman–Ford of :func:`potentials` on arcs sorted by tail."""
    d = np.zeros(n_nodes, dtype=np.int64)
    indptr = np.searchsorted(t_s, np.arange(n_nodes + 1))
    active = np.arange(n_nodes)
    changed = np.zeros(n_nodes, dtype=bool)
    parent = np.full(n_nodes, -1, dtype=np.int64)  # -1: the virtual root
    for rounds in range(1, n_nodes + 2):
        starts = indptr[active]
        counts = indptr[active + 1] - starts
        total = int(counts.sum())
        if total == 0:
            return d
        if total == len(t_s):  # every arc (the first round): no gathered copies
            tails, heads = t_s, h_s
            cand = d[t_s] + c_s
        else:
            offsets = np.cumsum(counts) - counts
            idx = np.repeat(starts - offsets, counts) + np.arange(total)
            tails, heads = t_s[idx], h_s[idx]
            cand = d[tails] + c_s[idx]
            del idx, offsets
        better = cand < d[heads]
        if not better.any():
            return d
        heads, cand, tails = heads[better], cand[better], tails[better]
        np.minimum.at(d, heads, cand)
        won = cand == d[heads]  # an arc that gave its head its new distance
        parent[heads[won]] = tails[won]
        changed[heads] = True  # the next frontier, without sorting the heads
        active = np.flatnonzero(changed)
        changed[active] = False
        if rounds >= CYCLE_CHECK_ROUNDS and rounds & (rounds - 1) == 0 and has_parent_cycle(parent):
            return None
    return None


#: Bellman–Ford looks for a cycle among its parent pointers after this many rounds,
#: then whenever the round count doubles (a few checks even when it runs long).
CYCLE_CHECK_ROUNDS = 32


def has_parent_cycle(parent: np.ndarray) -> bool:
    """Whether following ``parent`` pointers (-1 ends a path) ever loops.

    Any such cycle of Bellman–Ford's parent pointers has negative cost (each
    node's distance was set from its parent's distance at the time, which
    can only have decreased since, and the last update on the cycle was a
    strict decrease), so finding one proves a negative cycle long before the
    ``n_nodes`` rounds of the textbook test. Pointer doubling: ``log2(n)``
    vectorised jumps.
    """
    n = len(parent)
    jump = np.append(parent, -1)  # index n (= -1) is absorbing
    jump[jump < 0] = n
    for _ in range(max(1, int(n).bit_length()) + 1):
        jump = jump[jump]
    return bool((jump[:n] != n).any())


def net_outflow(n_nodes: int, tail: np.ndarray, head: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Outflow minus inflow at each node, exactly in int64.

    Sums with ``np.bincount`` (float64) when every partial sum is below 2**53,
    so exact; with ``np.add.at`` otherwise.
    """
    flow = np.asarray(flow, dtype=np.int64)
    if len(flow) == 0:
        return np.zeros(n_nodes, dtype=np.int64)
    if int(np.abs(flow).max()) * len(flow) < 2**53:
        w = flow.astype(np.float64)
        out = np.bincount(tail, weights=w, minlength=n_nodes)
        out -= np.bincount(head, weights=w, minlength=n_nodes)
        return out.astype(np.int64)
    net = np.zeros(n_nodes, dtype=np.int64)
    np.add.at(net, tail, flow)
    np.subtract.at(net, head, flow)
    return net


def reduced_costs(network: FlowNetwork, d: np.ndarray) -> np.ndarray:
    """``cost + d[tail] - d[head]`` per arc."""
    return network.cost + d[network.tail] - d[network.head]


def restrict(
    network: FlowNetwork, d: np.ndarray, flow: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split arcs into those every optimum shares and those left free, given optimal ``d``.

    Arcs with a positive reduced cost carry no flow in any optimum, those with
    a negative one are saturated in every optimum. Given an optimal ``flow``
    too, a zero-reduced-cost arc is also fixed (at its flow) unless it lies on
    a zero-cost cycle of the residual graph, i.e. unless both its ends are in
    one strongly connected component of the residual arcs of zero reduced
    cost: only along such cycles can one optimum turn into another. That
    leaves the next phase the smallest network with the same optima.

    Returns
    -------
    free : ndarray of bool, shape (n_arcs,)
        Arcs whose flow differs between optima (or may: without ``flow``,
        every arc of zero reduced cost).
    fixed_flow : ndarray of int64, shape (n_arcs,)
        The flow every optimal solution has on the other arcs (0 on free ones).
    supply : ndarray of int64, shape (n_nodes,)
        Node supplies once the fixed arcs are taken out.
    """
    rc = reduced_costs(network, d)
    free = rc == 0
    fixed_flow = np.where(rc < 0, network.capacity, 0).astype(np.int64)
    if flow is not None and free.any():
        from scipy.sparse import csr_matrix  # lazily, as in model.problem
        from scipy.sparse.csgraph import connected_components

        tail, head = network.tail, network.head
        fwd = free & (flow < network.capacity)
        bwd = free & (flow > 0)
        graph = csr_matrix(
            (
                np.ones(int(fwd.sum() + bwd.sum()), dtype=bool),
                (np.concatenate([tail[fwd], head[bwd]]), np.concatenate([head[fwd], tail[bwd]])),
            ),
            shape=(network.n_nodes, network.n_nodes),
        )
        _, scc = connected_components(graph, directed=True, connection="strong")
        on_cycle = scc[tail] == scc[head]
        fixed_flow = np.where(free & ~on_cycle, flow, fixed_flow)
        free &= on_cycle
    supply = network.supply - net_outflow(network.n_nodes, network.tail, network.head, fixed_flow)
    return free, fixed_flow, supply


def check_flow(network: FlowNetwork, flow: np.ndarray) -> list[str]:
    """Bounds and conservation of a flow; returns the problems found."""
    problems = []
    if flow.shape != (network.n_arcs,):
        return [f"flow has shape {flow.shape}, expected ({network.n_arcs},)"]
    if (flow < 0).any():
        problems.append(f"{int((flow < 0).sum())} arcs carry negative flow")
    if (flow > network.capacity).any():
        problems.append(f"{int((flow > network.capacity).sum())} arcs exceed their capacity")
    net = net_outflow(network.n_nodes, network.tail, network.head, flow)
    if (net != network.supply).any():
        problems.append(f"flow is not conserved at {int((net != network.supply).sum())} nodes")
    return problems


@dataclass
class Certificate:
    """The outcome of checking a solution.

    Attributes
    ----------
    feasible : bool
        Units are non-negative integers on candidate edges, within every
        demand and capacity.
    optimal : bool
        Each phase of the objective is optimal (no negative residual cycle).
    phases : list of str
        The phases certified, in order.
    problems : list of str
        What failed, if anything.

    ``bool(certificate)`` is True when the solution is feasible and optimal.
    """

    feasible: bool = True
    optimal: bool = True
    phases: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.feasible and self.optimal

    def __repr__(self) -> str:
        state = "certified optimal" if self else (
            "infeasible" if not self.feasible else "feasible, not optimal"
        )
        extra = f"; problems: {self.problems}" if self.problems else ""
        return f"Certificate({state}; phases {self.phases}{extra})"
