"""Network simplex back-end: a primal network simplex of our own, compiled with numba.

The primal network simplex keeps a spanning-tree basis and pivots until no
arc prices out; it returns that optimal basis and can start from one, so a
related problem (changed costs, capacities or supplies; arcs added or
removed) resumes where the last one stopped instead of starting over.

The start is a *big-M* basis: every node hangs from an artificial root by an
artificial arc of cost ``M = (max|cost| + 1) × (n_nodes + 1)``, above the
cost of any path, so artificial flow leaves the tree whenever the supplies
are feasible; flow left on an artificial arc at the optimum proves them
infeasible. A warm start keeps the previous tree arcs that still exist and
still fit (:func:`~matchcore.solvers.simplex_kernel.repair`) and hangs the
rest from the root the same way. Trees stay *strongly feasible* (Cunningham's
leaving-arc rule), which excludes cycling on degenerate pivots.

Entering arcs come from a candidate list by default (``pivot="candidate"``),
or from block search (``pivot="block"``, LEMON's default rule); on
matchcore's networks, as measured (see ``_pivot_sizes``), candidate lists
with a long minor phase were the fastest. numba is imported when the first solve
compiles the loops (``cache=True``: once per machine, then loaded from
disk), never when matchcore is imported.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Literal

import numpy as np

from ..checks import check_scalar
from ..errors import InputError, SolverError
from ..model.problem import FlowNetwork

__all__ = [
    "Basis",
    "Pricing",
    "SimplexResult",
    "Workspace",
    "is_available",
    "is_compiled",
    "is_hub_layout",
    "network_simplex",
    "pricing",
    "solve_network_simplex",
    "total_cost",
    "transport_start",
    "warm_up",
]

Pivot = Literal["candidate", "block", "local"]
#: The kernel's code of each pivot rule (``simplex_kernel.PIVOT_*``), in the order errors list them.
_PIVOT_CODES: dict[str, int] = {"candidate": 1, "block": 0, "local": 2}

#: Arc states of a :class:`Basis`.
TREE, LOWER, UPPER = 0, 1, 2

#: Headroom kept on every reduced cost (potentials reach ``M + n × max|cost|``).
_INT64_LIMIT = 2**63


@dataclass(frozen=True, eq=False)
class Basis:
    """A spanning-tree basis of a network simplex, to start a related solve from.

    Attributes
    ----------
    state : ndarray of int8, shape (n_arcs,)
        :data:`TREE` (0), :data:`LOWER` (1, no flow) or :data:`UPPER` (2, saturated)
        per arc.
    hung : ndarray of bool, shape (n_nodes,)
        Nodes whose tree path led straight to the artificial root (their
        subtrees' roots); a warm start roots the tree at them again.
    """

    state: np.ndarray
    hung: np.ndarray

    @property
    def n_arcs(self) -> int:
        return len(self.state)

    @property
    def n_nodes(self) -> int:
        return len(self.hung)

    @classmethod
    def from_flow(cls, network: FlowNetwork, flow: np.ndarray) -> Basis:
        """A starting basis from a feasible ``flow`` (a heuristic's, say).

        Arcs strictly between their bounds become tree arcs (where they form
        a cycle, one of its arcs is set to a bound by the repair), the others
        sit at the bound they are at; :func:`network_simplex` repairs the
        rest, so any flow of the right shape gives an exact optimum.
        """
        flow = np.asarray(flow, dtype=np.int64)
        state = np.full(network.n_arcs, LOWER, dtype=np.int8)
        state[(flow >= network.capacity) & (network.capacity > 0)] = UPPER
        state[(flow > 0) & (flow < network.capacity)] = TREE
        return cls(state, np.zeros(network.n_nodes, dtype=bool))

    def remap(self, arc_map: np.ndarray, n_arcs: int) -> Basis:
        """The basis for a network whose arcs were renumbered, added or removed.

        Parameters
        ----------
        arc_map : ndarray of int, shape (self.n_arcs,)
            New index of each old arc, or -1 for a removed one.
        n_arcs : int
            Arcs of the new network; arcs no old one maps to start at their
            lower bound.
        """
        arc_map = np.asarray(arc_map, dtype=np.int64)
        if arc_map.shape != (self.n_arcs,):
            raise InputError(f"arc_map must have shape ({self.n_arcs},); got {arc_map.shape}")
        kept = arc_map >= 0
        if (arc_map >= n_arcs).any() or (
            np.bincount(arc_map[kept], minlength=n_arcs) > 1
        ).any():
            raise InputError("arc_map must map old arcs to distinct new indices below n_arcs")
        state = np.full(n_arcs, LOWER, dtype=np.int8)
        state[arc_map[kept]] = self.state[kept]
        return Basis(state, self.hung)


@dataclass(frozen=True, eq=False)
class SimplexResult:
    """An optimal solution of :func:`network_simplex`.

    Attributes
    ----------
    flow : ndarray of int64, shape (n_arcs,)
    potentials : ndarray of int64, shape (n_nodes,)
        ``d`` with ``cost + d[tail] - d[head] >= 0`` on every residual arc
        (the convention of :func:`~matchcore.solvers.certify.network_potentials`).
    basis : Basis
        The optimal basis, to warm-start a related solve.
    pivots : int
    cost : ndarray of int64, shape (n_arcs,)
        The network's costs (for :attr:`objective`).
    """

    flow: np.ndarray
    potentials: np.ndarray
    basis: Basis
    pivots: int
    cost: np.ndarray

    @functools.cached_property
    def objective(self) -> int:
        """Total cost Σ cost·flow, exact (a Python int); computed when asked."""
        return total_cost(self.cost, self.flow)


class Workspace:
    """The big arrays of a network simplex solve, kept for the next solve to reuse.

    A solve allocates arrays over all ``m + n`` arcs (the network's and the
    artificial ones: ends, flow, state, capacities, costs; twice the arcs for
    local pricing's adjacency). Solves given the same workspace write into
    the arrays of the one before when they are large enough, instead of
    asking the operating system for fresh pages each time (at city_100k,
    2.7M arcs, 10k-30k page faults a solve in a large process). One
    workspace serves one solve at a time; a :class:`SimplexResult`'s
    ``flow`` lives in it until the next solve that uses it.

    Examples
    --------
    >>> import numpy as np
    >>> ws = Workspace()
    >>> first = ws.take("flow", 4, np.int64)
    >>> ws.take("flow", 3, np.int64).base is first.base  # the same memory, again
    True
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def take(self, name: str, size: int, dtype: type[np.int8] | type[np.int64]) -> np.ndarray:
        """An array of ``size`` items of ``dtype`` (contents undefined), kept under ``name``.

        The array kept under ``name`` (a view of its first ``size`` items)
        when it is large enough and of that dtype, else a new one kept in
        its place.
        """
        kept = self._arrays.get(name)
        if kept is None or len(kept) < size or kept.dtype != dtype:
            # Allocated by the compiled side, in ordinary pages: numpy asks for
            # transparent huge pages for large arrays, and their first touch
            # made the first phase's repair at city_100k 0.20 s against 0.09 s.
            k = _kernel()
            kept = k.empty_int8(size) if dtype is np.int8 else k.empty_int64(size)
            self._arrays[name] = kept
        return kept[:size]


def total_cost(cost: np.ndarray, flow: np.ndarray) -> int:
    """Σ cost·flow exactly: in int64 when no partial sum can overflow, else in Python ints."""
    if len(flow) == 0:
        return 0
    top = int(np.abs(cost).max()) * int(np.abs(flow).max())
    if top * len(flow) < _INT64_LIMIT:
        return int(np.dot(cost, flow))
    nz = np.flatnonzero(flow)
    return sum(int(c) * int(f) for c, f in zip(cost[nz].tolist(), flow[nz].tolist()))


@functools.cache
def _kernel() -> ModuleType:
    from . import simplex_kernel

    return simplex_kernel


@functools.cache
def is_available() -> bool:
    """Whether numba can be imported (the back-end needs it); asked once per process."""
    if importlib.util.find_spec("numba") is None:
        return False
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


_compiled = False


def is_compiled() -> bool:
    """Whether the compiled loops are loaded in this process (a first solve compiles them)."""
    return _compiled


def warm_up() -> None:
    """Compile (or load from numba's disk cache) the loops with a tiny solve.

    The first call on a machine compiles for several seconds (32 s measured
    on a shared 2-core machine under load 9); later processes load the
    cache in about a second.
    """
    # A hub circulation: hub 0 -> need 1 -> resource 2 -> hub, and a warm re-solve.
    one = np.ones(3, np.int64)
    net = FlowNetwork(3, np.array([0, 1, 2], np.int64), np.array([1, 2, 0], np.int64),
                      one, np.array([0, -1, 0], np.int64), np.zeros(3, np.int64))
    network_simplex(net, basis=transport_start(net, 1))


def _top_cost(cost: np.ndarray) -> int:
    """``max |cost|`` (0 for no arcs), without an array of absolute values."""
    return max(int(cost.max()), -int(cost.min())) if len(cost) else 0


def _big_m(network: FlowNetwork, top: int | None = None) -> int:
    n = network.n_nodes
    if top is None:
        top = _top_cost(np.asarray(network.cost))
    big_m = (top + 1) * (n + 1)
    # Largest reduced cost: |cost| + 2 (M + n × |cost|).
    if top + 2 * (big_m + n * top) >= _INT64_LIMIT:
        raise SolverError(
            f"costs up to {top:,} on {n:,} nodes are too large for the 64-bit network "
            "simplex; use solver='ortools' or split the problem"
        )
    return big_m


def is_hub_layout(network: FlowNetwork, n_needs: int) -> bool:
    """Whether ``network`` is a plain hub circulation (:meth:`TransportProblem.network`).

    Node 0 is the hub; ``n_needs`` arcs hub → need come first, the
    resources' arcs to the hub last, no supplies (a floor's group nodes and
    lower bounds make a network that is not).
    """
    a = int(n_needs)
    n_res = network.n_nodes - 1 - a
    m = network.n_arcs - a - n_res
    if m < 0 or n_res < 0 or network.supply.any():
        return False
    tail, head = network.tail, network.head
    return not ((tail[:a] != 0).any() or (head[a + m :] != 0).any()
                or (head[:a] != np.arange(1, a + 1)).any())


def transport_start(network: FlowNetwork, n_needs: int) -> Basis:
    """A greedy starting basis for a circulation laid out as :meth:`TransportProblem.network`.

    The layout: node 0 is the hub; arcs ``0 .. n_needs-1`` run hub → need,
    then the candidate edges need → resource, then resource → hub. Paths
    hub → need → resource → hub are filled cheapest first (most negative
    cost), which is close to optimal on these networks and leaves the
    simplex a fraction of the pivots of a cold start.

    Raises
    ------
    InputError
        If the network is not laid out that way.
    """
    if not is_hub_layout(network, n_needs):
        raise InputError("transport_start needs the hub layout of TransportProblem.network")
    tail, head, cost = network.tail, network.head, network.cost
    a = int(n_needs)
    n_res = network.n_nodes - 1 - a
    m = network.n_arcs - a - n_res
    et, eh = tail[a : a + m], head[a : a + m]
    in_arc = et - 1
    out_arc = a + m + (eh - 1 - a)
    path = cost[in_arc] + cost[a : a + m] + cost[out_arc]
    paying = np.flatnonzero(path < 0)
    order = paying
    if len(paying) > 1:
        # Sorted on the top 15 bits of the cost (a radix sort, 5x faster than a
        # full one at 10^5 edges): the start only has to be feasible and good.
        cheap = path[paying]
        low = int(cheap.min())
        shift = max(0, (-low).bit_length() - 15)
        key = ((cheap - low) >> shift).astype(np.int16)
        order = paying[np.argsort(key, kind="stable")]
    order = order.astype(np.int64)
    flow = np.zeros(network.n_arcs, dtype=np.int64)
    cap = np.ascontiguousarray(network.capacity, dtype=np.int64)
    _kernel().path_greedy(order, in_arc.astype(np.int64), out_arc.astype(np.int64), a, cap, flow)
    return Basis.from_flow(network, flow)


@dataclass(frozen=True)
class Pricing:
    """The sizes of the entering-arc rules: how fast the simplex finds an optimum.

    Lengths are factors of ``√(arcs + nodes)``, each at least 10. The
    defaults were the fastest measured on matchcore's networks (cold rules
    on district_10k and city_100k, local pricing on the warm re-plans of
    ``benchmarks/bench_pricing.py``); change them with :func:`pricing`, for
    benchmarks and for tuning on other networks.

    Attributes
    ----------
    block : float, default 0.25
        Block search's block (``pivot="block"``).
    candidates : float, default 0.25
        Candidate-list length of ``pivot="candidate"``.
    local_candidates : float, default 0.125
        Candidate-list length of local pricing (``pivot="local"``).
    minor : float, default 0.25
        Most minor iterations on one candidate list.
    mark_limit : int or None, default None
        Local pricing marks the nodes whose potentials a pivot moved, to
        price their arcs first, when there are at most this many; None marks
        them all. (Before issue 13's pricing change: 1,024.)

    Examples
    --------
    >>> Pricing().local_candidates, Pricing(mark_limit=1024).mark_limit
    (0.125, 1024)
    """

    block: float = 0.25
    candidates: float = 0.25
    local_candidates: float = 0.125
    minor: float = 0.25
    mark_limit: int | None = None

    def __post_init__(self) -> None:
        for name in ("block", "candidates", "local_candidates", "minor"):
            check_scalar(getattr(self, name), f"Pricing.{name}", "float", low=0, low_open=True)
        check_scalar(self.mark_limit, "Pricing.mark_limit", "int", low=0, allow_none=True)


#: The pricing of every solve in this process (:func:`pricing` changes it for a while).
_pricing = Pricing()


@contextlib.contextmanager
def pricing(rule: Pricing) -> Iterator[Pricing]:
    """Solve with the pricing sizes ``rule`` inside the ``with`` block, then restore them.

    For benchmarks and tuning: the sizes change how fast the simplex finds
    an optimum, never the optimal cost (and the tiebreak phase of
    :func:`~matchcore.match` makes its assignment the same under any rule).
    They hold for every solve this process starts inside the block (not
    per thread).

    Parameters
    ----------
    rule : Pricing

    Yields
    ------
    Pricing
        The rule in force (``rule``).

    Raises
    ------
    InputError
        ``rule`` is not a :class:`Pricing`.

    Examples
    --------
    >>> import matchcore as mc
    >>> from matchcore.solvers.network_simplex import Pricing, pricing
    >>> with pricing(Pricing(candidates=0.5)):
    ...     r = mc.match(*mc.synthetic.tiny(), max_distance=2000, solver="simplex")
    >>> bool(r.verify())
    True
    """
    global _pricing
    if not isinstance(rule, Pricing):
        raise InputError(f"pricing() takes a Pricing; got {type(rule).__name__}")
    before = _pricing
    _pricing = rule
    try:
        yield rule
    finally:
        _pricing = before


def _pivot_sizes(n_arcs: int, pivot: Pivot = "candidate") -> tuple[int, int, int, int]:
    """Block size, candidate-list length, minor-iteration limit and mark limit for ``n_arcs`` arcs.

    The sizes are :class:`Pricing`'s factors of √arcs (the mark limit -1
    when unlimited). Measured on district_10k's score phase from the greedy
    start (seconds, shared 2-core machine): candidate lists of 0.25·√arcs
    with a minor limit of 0.1 × the list (LEMON's factors) 0.102, with a
    limit of 1 × the list 0.066; block search with blocks of 0.25·√arcs
    0.105, 1·√arcs 0.234. At city_100k the same candidate rule took 1.31 s
    against 1.99 s.

    Local pricing (warm starts) fills lists of half that length (0.125·√arcs;
    the minor-iteration limit stays 0.25·√arcs) and marks every node a pivot
    moved. Measured by replaying the kernel on 12 warm phases of city_100k
    (a 1% and a 0.1% rematch, a dropped resource, the week after, a sweep's
    four score phases), best of 3 interleaved runs: 2.75 s together with
    the full length, 2.44 s with half (the sweep's phases 1.42 s -> 1.22 s);
    half was the faster in each of the three runs that compared the two
    lengths. ``benchmarks/bench_pricing.py`` compares the whole warm solves.
    """
    rule = _pricing
    sq = float(np.sqrt(n_arcs))

    def size(factor: float) -> int:
        return max(int(factor * sq), 10)

    list_len = size(rule.local_candidates if pivot == "local" else rule.candidates)
    limit = -1 if rule.mark_limit is None else int(rule.mark_limit)
    return size(rule.block), list_len, size(rule.minor), limit


def network_simplex(
    network: FlowNetwork,
    *,
    basis: Basis | None = None,
    pivot: Pivot = "candidate",
    max_pivots: int = -1,
    workspace: Workspace | None = None,
) -> SimplexResult:
    """Solve a min-cost flow by the primal network simplex, cold or from a basis.

    Parameters
    ----------
    network : FlowNetwork
        Lower bounds 0; costs of any sign; supplies summing to 0.
    basis : Basis, optional
        An optimal (or any) basis of a related network with the same nodes
        and arcs (use :meth:`Basis.remap` when arcs were added or removed).
        Tree arcs that still fit are kept; the rest is repaired. The optimum
        is the same as a cold solve's.
    pivot : {"candidate", "block", "local"}, default "candidate"
        The entering-arc rule (``"local"``: candidate lists that price the
        arcs of the nodes the last pivots moved first; for warm starts).
    max_pivots : int, default -1
        Stop with :class:`SolverError` after this many pivots (-1: no limit).
    workspace : Workspace, optional
        Arrays to solve in, kept from an earlier solve (see
        :class:`Workspace`); the result's ``flow`` is then a view into it,
        overwritten by the next solve given the same workspace.

    Returns
    -------
    SimplexResult

    Raises
    ------
    SolverError
        Infeasible supplies, costs beyond the 64-bit range, or the pivot limit.
    InputError
        A basis of another shape, or an unknown pivot rule.

    Examples
    --------
    >>> import numpy as np
    >>> from matchcore.model.problem import FlowNetwork
    >>> net = FlowNetwork(3, np.array([0, 1, 0]), np.array([1, 2, 2]),
    ...                   np.array([5, 5, 2]), np.array([1, 1, 3]), np.array([4, 0, -4]))
    >>> res = network_simplex(net)
    >>> res.flow.tolist(), res.objective
    ([4, 4, 0], 8)
    """
    global _compiled
    if pivot not in _PIVOT_CODES:
        raise InputError(f"pivot must be one of {list(_PIVOT_CODES)}; got {pivot!r}")
    k = _kernel()
    n, m = int(network.n_nodes), int(network.n_arcs)
    tail = np.ascontiguousarray(network.tail, dtype=np.int64)
    head = np.ascontiguousarray(network.head, dtype=np.int64)
    cap = np.ascontiguousarray(network.capacity, dtype=np.int64)
    cost = np.ascontiguousarray(network.cost, dtype=np.int64)
    supply = np.ascontiguousarray(network.supply, dtype=np.int64)
    if int(supply.sum()) != 0:
        raise SolverError(f"infeasible: supplies sum to {int(supply.sum())}, not 0")
    top = _top_cost(cost)
    big_m = _big_m(network, top)
    # The root's potential may drift by a reduced cost a pivot (at most
    # top + 2 (M + n top)) before it is reset: keep |cost| + |pi| within int64.
    drift_limit = max(0, _INT64_LIMIT - 1 - 2 * (top + 2 * (big_m + n * top)))
    if basis is None:
        start = np.full(m, LOWER, dtype=np.int8)
        order = np.arange(n, dtype=np.int64)
    else:
        if basis.n_arcs != m or basis.n_nodes != n:
            raise InputError(
                f"basis is for {basis.n_nodes} nodes and {basis.n_arcs} arcs; the network has "
                f"{n} and {m} (use Basis.remap for added or removed arcs)"
            )
        start = np.ascontiguousarray(basis.state, dtype=np.int8)
        # Old subtree roots first, so the kept tree keeps its orientation.
        order = np.argsort(~basis.hung, kind="stable").astype(np.int64)
    ws = workspace if workspace is not None else Workspace()
    n_all = m + n
    source, target = ws.take("source", n_all, np.int64), ws.take("target", n_all, np.int64)
    flow, state = ws.take("flow", n_all, np.int64), ws.take("state", n_all, np.int8)
    art_cap = ws.take("art_cap", n, np.int64)
    parent, pred, pred_up = k.repair(n, m, tail, head, cap, supply, start, TREE, UPPER, order,
                                     art_cap, source, target, flow, state)
    # The network's arcs, then the artificial ones (in place of two concatenations).
    cap_all, cost_all = ws.take("cap", n_all, np.int64), ws.take("cost", n_all, np.int64)
    cap_all[:m], cap_all[m:] = cap, art_cap
    cost_all[:m], cost_all[m:] = cost, big_m
    thread, rev_thread, succ, last, preorder = k.build_thread(n, parent)
    pi = k.tree_potentials(n, cost_all, parent, pred, pred_up, preorder)
    code = _PIVOT_CODES[pivot]
    max_deg = 0
    adj, adj_ptr = ws.take("adj", 0, np.int64), ws.take("adj_ptr", 0, np.int64)
    if pivot == "local":
        adj, adj_ptr = ws.take("adj", 2 * m, np.int64), ws.take("adj_ptr", n + 1, np.int64)
        max_deg = k.arc_adjacency(n, m, source, target, adj, adj_ptr)
    pivots = k.solve(n, m, source, target, cap_all, cost_all, flow, state, pi,
                     parent, pred, pred_up, thread, rev_thread, succ, last, code,
                     int(max_pivots), *_pivot_sizes(m + n, pivot), drift_limit, adj, adj_ptr,
                     int(max_deg))
    _compiled = True
    if pivots < 0:
        raise SolverError(f"network simplex stopped after {max_pivots:,} pivots")
    if flow[m:].any():
        # What is left on artificial arcs into the root could not reach its demand.
        stuck = flow[m:] * (source[m:] != n)
        bad = np.flatnonzero(stuck)
        raise SolverError(
            f"infeasible supplies: {int(stuck.sum()):,} units cannot be routed "
            f"from {len(bad)} nodes with supply (first: node {int(bad[0])})"
        )
    # (No int64 temporaries of the arcs: a mask, then the few tree arcs.)
    arc_state = np.full(m, LOWER, dtype=np.int8)
    arc_state[state[:m] == -1] = UPPER
    in_tree = pred[:n][pred[:n] < m]
    arc_state[in_tree] = TREE
    # Potentials relative to the artificial root; drop the root itself. The
    # flow is a view of the network's arcs (no copy: nothing else holds it).
    return SimplexResult(flow[:m], pi[:n].copy(), Basis(arc_state, parent[:n] == n),
                         int(pivots), cost)


def solve_network_simplex(network: FlowNetwork) -> np.ndarray:
    """The :class:`~matchcore.solvers.registry.FlowSolver` form: an optimal flow.

    Parameters
    ----------
    network : FlowNetwork

    Returns
    -------
    ndarray of int64, shape (n_arcs,)

    Raises
    ------
    SolverError
        If the supplies are infeasible.
    """
    return network_simplex(network).flow
