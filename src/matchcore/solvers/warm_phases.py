"""A batch's lexicographic phases as one warm sequence of network simplex solves.

With a back-end that returns its basis (:mod:`.network_simplex`), the phases
(coverage → score → tiebreak) share one network and one basis. After each
phase, its optimal potentials ``d`` describe the optimal face exactly: an arc
with positive reduced cost carries no flow in any optimum, one with negative
reduced cost is saturated in every optimum. Those arcs are *frozen*: their
flow moves into the supplies (a saturated arc's flow becomes a fixed
transfer) and their capacity window collapses to zero. Tree arcs have zero
reduced cost, so the tree survives and its flows stay feasible; the next
phase sets its costs and the simplex resumes pivoting from the previous
optimal basis instead of starting over.

Every phase is checked as in the cold loop: its flow by
:func:`~.certify.check_flow`, its optimality by
:func:`~.certify.network_potentials` with the simplex's potentials as the
hint (one pass when they hold, Bellman–Ford otherwise). The potentials are
valid hints for :func:`~matchcore.solvers.verify` too: its restricted
networks are sub-networks of the frozen ones, with the same flows.

The coverage phase is the simplex's too, not the max flows of
:mod:`.maxflow`. Measured at city_100k (2.7M arcs, one run each on the shared
2-core machine): the coverage phase took 3.09 s by the simplex (greedy
start) and 3.05 s by the max flows, but the score phase after it took
2.55 s warm from the simplex's optimal basis and 55.3 s from a basis built
out of the max flow's flow (:meth:`Basis.from_flow`: its free arcs form
cycles, which the repair hangs from the root with artificial arcs that the
simplex then has to drive out). Whole coverage solves: 6.2 s, against 14.1 s
for the OR-Tools back-end (max flows, then its min-cost flow).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import MatchcoreError, SolverError
from ..model.problem import FlowNetwork
from .certify import (
    check_flow,
    net_outflow,
    network_potentials,
    optimal_reduced_costs,
    proves_optimal,
)
from .network_simplex import (
    LOWER,
    TREE,
    UPPER,
    Basis,
    Workspace,
    is_available,
    is_hub_layout,
    network_simplex,
    transport_start,
)

__all__ = ["BatchBasis", "WarmStart", "solve_phases"]


@dataclass(frozen=True, eq=False)
class BatchBasis:
    """A batch's optimal bases, one per phase, and what maps their arcs.

    Attributes
    ----------
    needs, resources : ndarray of int64
        The batch's needs and resources (indices into the problem).
    edges : ndarray of int64
        The batch's candidate edges (indices into the problem).
    phases : tuple of str
        Phase names, in order.
    bases : tuple of Basis
        The optimal basis at the end of each phase, on the batch's whole
        network (:meth:`TransportProblem.network` numbering: hub → need arcs,
        edges, resource → hub arcs): arcs frozen by earlier phases sit at the
        bound they were frozen at.
    """

    needs: np.ndarray
    resources: np.ndarray
    edges: np.ndarray
    phases: tuple[str, ...]
    bases: tuple[Basis, ...]
    #: The first phase's optimum on the whole network: the arcs with flow, their
    #: flow, and the certifying potentials (``None`` when not kept). A related
    #: solve of the very same network and first-phase costs (a sweep's next
    #: weighting: coverage does not depend on the weights) takes it once
    #: :func:`~.certify.check_flow` and :func:`~.certify.proves_optimal` accept it.
    first: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def first_flow(self, n_arcs: int) -> np.ndarray | None:
        """The first phase's optimal flow, shape ``(n_arcs,)``, or None."""
        if self.first is None:
            return None
        arcs, values, _ = self.first
        if len(arcs) and int(arcs.max()) >= n_arcs:
            return None
        flow = np.zeros(n_arcs, dtype=np.int64)
        flow[arcs] = values
        return flow


class WarmStart:
    """The bases of an earlier solve, mapped onto a new problem by need and resource.

    Arcs are matched by key: a hub → need arc by its need, a resource → hub
    arc by its resource, a candidate edge by its (need, resource) pair. Arcs
    of the new problem that no old arc maps to start at their lower bound;
    old arcs that vanished (a dropped resource's edges) are dropped. Any
    basis of the right shape is a valid start (the simplex repairs it), so
    a poor match only costs pivots, never exactness.

    Parameters
    ----------
    batches : list of BatchBasis
        ``Solution.bases`` of the earlier solve.
    edge_need, edge_resource : ndarray of int, shape (old n_edges,)
        The earlier problem's edges.
    need_map, resource_map : ndarray of int
        New index of each old need / resource, -1 where it is gone.
    n_needs, n_resources : int
        Needs and resources of the new problem.
    edge_map : ndarray of int, shape (old n_edges,), optional
        New index of each old edge (-1 where it is gone), when the caller
        knows it (an incremental round, :mod:`matchcore.model.reuse`): edges
        are then mapped by index, with no keys to sort, when
        :meth:`basis_for` is given the batch's ``edges``. It must agree with
        the keys (same need and resource); edges it maps to -1 start at their
        lower bound.
    """

    def __init__(self, batches: Sequence[BatchBasis], edge_need: np.ndarray,
                 edge_resource: np.ndarray, need_map: np.ndarray, resource_map: np.ndarray,
                 n_needs: int, n_resources: int, *,
                 edge_map: np.ndarray | None = None) -> None:
        self.batches = list(batches)
        self.edge_need = np.asarray(edge_need, dtype=np.int64)
        self.edge_resource = np.asarray(edge_resource, dtype=np.int64)
        self.need_map = np.asarray(need_map, dtype=np.int64)
        self.resource_map = np.asarray(resource_map, dtype=np.int64)
        self.n_needs, self.n_resources = int(n_needs), int(n_resources)
        self.edge_map = None if edge_map is None else np.asarray(edge_map, dtype=np.int64)
        self._tables: dict[str, tuple[Any, ...] | None] = {}
        # The old edges' keys, sorted, and where each came from: the same in every
        # phase, so sorted once (argsort of 2.5M keys was 0.08 s a phase at city_100k).
        self._keys: tuple[np.ndarray, np.ndarray] | None = None
        # The last batch's edge keys looked up in the old ones (each phase asks again).
        self._lookup: tuple[np.ndarray, ...] | None = None
        #: Phases that start from their old basis (the others from the previous phase's).
        self.phases: set[str] | None = None
        self._same_last: tuple[tuple[np.ndarray | None, ...], BatchBasis | None] | None = None
        self._mapped_last: tuple[tuple[int, ...], tuple[np.ndarray, np.ndarray, int]] | None = None
        self._edges_size: int | None = None
        # same_edges' last answer, by the identity of the arrays it was asked about.
        self._same_edges: tuple[tuple[np.ndarray, np.ndarray], bool] | None = None

    def _table(self, phase: str) -> tuple[Any, ...] | None:
        """Per new need / resource / edge key: the old arc state and hung flag."""
        if phase in self._tables:
            return self._tables[phase]
        n_r = self.n_resources
        need_state = np.full(self.n_needs, -1, dtype=np.int8)
        res_state = np.full(n_r, -1, dtype=np.int8)
        need_hung = np.zeros(self.n_needs, dtype=bool)
        res_hung = np.zeros(n_r, dtype=bool)
        used: list[BatchBasis] = []
        states = []
        found = False
        for b in self.batches:
            if phase not in b.phases:
                continue
            basis = b.bases[b.phases.index(phase)]
            a, m = len(b.needs), len(b.edges)
            if basis.n_arcs < a + m + len(b.resources):
                continue
            found = True
            nn, rr = self.need_map[b.needs], self.resource_map[b.resources]
            ok = nn >= 0
            need_state[nn[ok]] = basis.state[:a][ok]
            need_hung[nn[ok]] = basis.hung[1 : a + 1][ok]
            ok = rr >= 0
            res_state[rr[ok]] = basis.state[a + m : a + m + len(rr)][ok]
            res_hung[rr[ok]] = basis.hung[a + 1 : a + 1 + len(rr)][ok]
            used.append(b)
            states.append(basis.state[a : a + m])
        if not found:
            self._tables[phase] = None
            return None
        table: tuple[Any, ...]
        if self.edge_map is not None and is_available():
            # Per new edge, its old state (-1: unknown): one compiled scatter a
            # batch, no index arrays (city_100k: 2.5M edges).
            from . import batch_kernel  # numba: only with it

            by_edge = np.full(self._n_new_edges(), -1, dtype=np.int8)
            for b, old in zip(used, states):
                batch_kernel.scatter_edge_states(
                    by_edge, self.edge_map, np.ascontiguousarray(b.edges, dtype=np.int64), old)
            table = (need_state, res_state, need_hung, res_hung, None, by_edge)
            self._tables[phase] = table
            return table
        state = np.concatenate(states) if states else np.zeros(0, np.int8)
        if self.edge_map is not None:
            # Per new edge, its old state (-1: unknown): a scatter, no sort.
            to, hit, size = self._mapped(used)
            by_edge = np.full(size, -1, dtype=np.int8)
            by_edge[to] = state[hit]
            table = (need_state, res_state, need_hung, res_hung, None, by_edge)
        else:
            key, order = self._sorted_keys(used)
            table = (need_state, res_state, need_hung, res_hung, key, state[order])
        self._tables[phase] = table
        return table

    def _n_new_edges(self) -> int:
        """Size of a table by new edge: one past the largest index ``edge_map`` gives."""
        assert self.edge_map is not None
        if self._edges_size is None:
            self._edges_size = int(self.edge_map.max(initial=-1)) + 1
        return self._edges_size

    def _mapped(self, used: list[BatchBasis]) -> tuple[np.ndarray, np.ndarray, int]:
        """The new index of the ``used`` batches' old edges that are still edges, and their places.

        Places index the concatenated edge states of ``used``; with the size
        of a table by new edge. The same in every phase that uses the same
        batches, so computed once for them (three gathers of 2.5M edges a
        round at city_100k before).
        """
        assert self.edge_map is not None
        ids = tuple(id(b) for b in used)
        last = self._mapped_last
        if last is not None and last[0] == ids:
            return last[1]
        old_edges = np.concatenate([b.edges for b in used]) if used else np.zeros(0, np.int64)
        to = self.edge_map[old_edges]
        hit = np.flatnonzero(to >= 0)
        out = (to[hit], hit, self._n_new_edges())
        self._mapped_last = (ids, out)
        return out

    def _sorted_keys(self, used: list[BatchBasis]) -> tuple[np.ndarray, np.ndarray]:
        """The known old edges' (new need, new resource) keys, sorted, and their places.

        Places index the concatenated edge states of the batches ``used``;
        computed once when every batch is used (the same set in every phase).
        """
        every = len(used) == len(self.batches)
        if every and self._keys is not None:
            return self._keys
        n_r = self.n_resources
        keys, offsets, start = [], [], 0
        for b in used:
            en = self.need_map[self.edge_need[b.edges]]
            er = self.resource_map[self.edge_resource[b.edges]]
            ok = (en >= 0) & (er >= 0)
            keys.append(en[ok] * n_r + er[ok])
            offsets.append(start + np.flatnonzero(ok))
            start += len(b.edges)
        key = np.concatenate(keys) if keys else np.zeros(0, np.int64)
        place = np.concatenate(offsets) if offsets else np.zeros(0, np.int64)
        order = np.argsort(key, kind="stable")
        out = (key[order], place[order])
        if every:
            self._keys = out
        return out

    def same_edges(self, edge_need: np.ndarray, edge_resource: np.ndarray) -> bool:
        """Whether the new problem's edges (all of them) are the old ones, index for index.

        True when no need or resource moved (the maps are identities) and
        edge ``e`` joins the same need and resource in both problems: a
        sweep's weightings, or a round solved again on the same lists. Then
        a batch with the same edge indices is the very same batch
        (:meth:`has_batch`), found without gathering any edge's need and
        resource. The answer is kept for the arrays asked about.
        """
        last = self._same_edges
        if last is not None and last[0][0] is edge_need and last[0][1] is edge_resource:
            return last[1]
        same = (len(self.need_map) == self.n_needs
                and len(self.resource_map) == self.n_resources
                and len(edge_need) == len(self.edge_need)
                and len(edge_resource) == len(self.edge_resource)
                and bool(np.array_equal(self.need_map, np.arange(self.n_needs)))
                and bool(np.array_equal(self.resource_map, np.arange(self.n_resources)))
                and (edge_need is self.edge_need
                     or bool(np.array_equal(edge_need, self.edge_need)))
                and (edge_resource is self.edge_resource
                     or bool(np.array_equal(edge_resource, self.edge_resource))))
        self._same_edges = ((edge_need, edge_resource), same)
        return same

    def has_batch(self, needs: np.ndarray, resources: np.ndarray, edges: np.ndarray) -> bool:
        """Whether an old batch has these needs, resources and edge indices, when
        :meth:`same_edges` holds (then it is the very same batch: no edge keys needed).

        The answer is :meth:`basis_for`'s and :meth:`first_for`'s next, kept: given
        the same arrays (and no edge keys) they do not compare the batches again."""
        return self._same(needs, resources, None, None, edges) is not None

    def _by_index(self, needs: np.ndarray, resources: np.ndarray,
                  edges: np.ndarray | None) -> BatchBasis | None:
        """The old batch of the same edge indices, needs and resources, if
        :meth:`same_edges` last held."""
        if edges is None or self._same_edges is None or not self._same_edges[1]:
            return None
        for b in self.batches:
            if (len(b.edges) == len(edges) and len(b.needs) == len(needs)
                    and len(b.resources) == len(resources)
                    and np.array_equal(b.needs, needs)
                    and np.array_equal(b.resources, resources)
                    and np.array_equal(b.edges, edges)):
                return b
        return None

    def edge_keys_needed(self, n_needs: int, n_resources: int, n_edges: int) -> bool:
        """Whether :meth:`basis_for` and :meth:`first_for` read a batch's edge keys.

        A batch of these sizes needs its edges' needs and resources unless the
        edges map by index (``edge_map``) and no old batch has the same
        sizes (so none can be the very same batch): then they may be given
        as None, and the caller saves two gathers of its edges (city_100k:
        0.13 s in a warm round).
        """
        if self.edge_map is None:
            return True
        return any(len(b.edges) == n_edges and len(b.needs) == n_needs
                   and len(b.resources) == n_resources for b in self.batches)

    def _same_batch(self, phase: str, needs: np.ndarray, resources: np.ndarray,
                    edge_need: np.ndarray | None,
                    edge_resource: np.ndarray | None,
                    edges: np.ndarray | None = None) -> Basis | None:
        """The old basis of a batch with the very same needs, resources and edges, if any.

        (A sweep's weightings share their candidate graph: no keys to sort.)
        """
        b = self._same(needs, resources, edge_need, edge_resource, edges)
        if b is None or phase not in b.phases:
            return None
        return b.bases[b.phases.index(phase)]

    def _same(self, needs: np.ndarray, resources: np.ndarray, edge_need: np.ndarray | None,
              edge_resource: np.ndarray | None,
              edges: np.ndarray | None = None) -> BatchBasis | None:
        """The old batch with the very same needs, resources and edges, if any.

        Each phase (and :meth:`first_for`) asks about the same arrays: the
        last answer is kept (the comparisons were 0.04 s a phase at city_100k).
        When :meth:`same_edges` held, the batch's edge indices are compared
        (one pass) instead of its edges' mapped needs and resources (four
        gathers and four passes: 0.19 s of a sweep of five weightings).
        """
        asked = (needs, resources, edge_need, edge_resource, edges)
        last = self._same_last
        if last is not None and all(x is y for x, y in zip(last[0], asked)):
            return last[1]
        found = self._by_index(needs, resources, edges)
        for b in () if found is not None else self.batches:
            if edge_need is None or edge_resource is None:  # none can be (edge_keys_needed)
                break
            if (len(b.edges) == len(edge_need)
                    and len(b.needs) == len(needs) and len(b.resources) == len(resources)
                    and np.array_equal(self.need_map[b.needs], needs)
                    and np.array_equal(self.resource_map[b.resources], resources)
                    and np.array_equal(self.need_map[self.edge_need[b.edges]], edge_need)
                    and np.array_equal(self.resource_map[self.edge_resource[b.edges]],
                                       edge_resource)):
                found = b
                break
        self._same_last = (asked, found)
        return found

    def first_for(self, phase: str, net: FlowNetwork, needs: np.ndarray,
                  resources: np.ndarray, edge_need: np.ndarray | None,
                  edge_resource: np.ndarray | None,
                  edges: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        """The first phase's old flow and potentials on a batch of the very same arcs, or None.

        ``phase`` must be the first phase of both solves. A candidate only:
        :func:`solve_phases` takes it once it is feasible and proven optimal
        for the new costs. ``edges``: the batch's edge indices, as for
        :meth:`basis_for`.
        """
        if self.phases is not None and phase not in self.phases:
            return None
        b = self._same(needs, resources, edge_need, edge_resource, edges)
        if b is None or b.first is None or not b.phases or b.phases[0] != phase:
            return None
        flow = b.first_flow(net.n_arcs)
        d = b.first[2]
        if flow is None or d.shape != (net.n_nodes,):
            return None
        return flow, d

    def basis_for(self, phase: str, net: FlowNetwork, needs: np.ndarray,
                  resources: np.ndarray, edge_need: np.ndarray | None,
                  edge_resource: np.ndarray | None,
                  edges: np.ndarray | None = None) -> Basis | None:
        """The old ``phase`` basis mapped onto a batch network, or None (start cold).

        None when no old batch had that phase, when the network is not a
        plain hub layout, or when none of its arcs were known before.
        ``edges`` (the batch's edge indices in the new problem) lets an
        ``edge_map`` map the edges by index; ``edge_need`` and
        ``edge_resource`` (the edges' needs and resources) may then be None
        where :meth:`edge_keys_needed` says so.
        """
        if self.phases is not None and phase not in self.phases:
            return None
        same = self._same_batch(phase, needs, resources, edge_need, edge_resource, edges)
        if same is not None:
            return same if same.n_arcs == net.n_arcs else None
        table = self._table(phase)
        if edge_need is None or edge_resource is None:
            if edges is None:
                return None
            m = len(edges)
        else:
            m = len(edge_need)
        a, r = len(needs), len(resources)
        if table is None or not is_hub_layout(net, a) or net.n_arcs != a + m + r:
            return None
        need_state, res_state, need_hung, res_hung, key, kstate = table
        hung = np.concatenate([[True], need_hung[needs], res_hung[resources]])
        if key is None and edges is not None and is_available():
            # The states of all arcs gathered in one compiled pass (about ten
            # numpy passes and their temporaries over the 2.7M arcs of city_100k).
            from . import batch_kernel  # numba: only with it

            state, n_known = batch_kernel.mapped_states(
                need_state, res_state, kstate, np.ascontiguousarray(needs, dtype=np.int64),
                np.ascontiguousarray(resources, dtype=np.int64),
                np.ascontiguousarray(edges, dtype=np.int64), LOWER)
            return Basis(state, hung) if n_known else None
        state = np.full(net.n_arcs, -1, dtype=np.int8)
        state[:a] = need_state[needs]
        state[a + m :] = res_state[resources]
        if key is None:
            if edges is None:  # an edge map but no edge indices: nothing known
                state[a : a + m] = -1
            else:
                inside = edges < len(kstate)
                state[a : a + m][inside] = kstate[edges[inside]]
        elif len(key) and edge_need is not None and edge_resource is not None:
            last = self._lookup
            if (last is not None and last[0] is edge_need and last[1] is edge_resource
                    and last[2] is key):
                pos, hit = last[3], last[4]
            else:
                k = (np.asarray(edge_need, np.int64) * self.n_resources
                     + np.asarray(edge_resource, np.int64))
                pos = np.minimum(np.searchsorted(key, k), len(key) - 1)
                hit = key[pos] == k
                self._lookup = (edge_need, edge_resource, key, pos, hit)
            state[a : a + m][hit] = kstate[pos[hit]]
        known = state >= 0
        if not known.any():
            return None
        state[~known] = LOWER
        return Basis(state, hung)


def _in_workspace(warm_solve: Callable[..., Any], workspace: Workspace,
                  resumed: bool) -> Callable[..., Any]:
    """The solver of a phase: the network simplex in ``workspace``, others as they are.

    The phases of a batch share one network, so the simplex's arrays over
    its arcs are allocated once and reused (:class:`~.network_simplex.Workspace`).
    A phase ``resumed`` from an earlier round's basis prices the arcs of the
    nodes each pivot moved first (``pivot="local"``): after a warm start few
    arcs price out, and a scan of all arcs for each found most of the time
    (city_100k, 1% changed: the coverage phase 0.53 s -> 0.44-0.48 s, the
    resumed score phase 1.28 s -> 0.89 s).
    """
    if warm_solve is not network_simplex:
        return warm_solve
    if resumed:
        return functools.partial(network_simplex, pivot="local", workspace=workspace)
    return functools.partial(network_simplex, workspace=workspace)


#: Share of a basis's tree arcs that may lie on frozen arcs for it to be worth resuming from.
FIT_TOLERANCE = 0.001


def fits(basis: Basis, keep: np.ndarray) -> bool:
    """Whether ``basis`` (of the whole network) keeps its tree on the free arcs ``keep``."""
    free = np.zeros(basis.n_arcs, dtype=bool)
    free[keep] = True
    tree = basis.state == TREE
    lost = int((tree & ~free).sum())
    return lost <= FIT_TOLERANCE * max(int(tree.sum()), 1)


def _close(sub: FlowNetwork, flow: np.ndarray, basis: Basis, keep: np.ndarray,
           total: np.ndarray, whole: np.ndarray, frozen: np.ndarray,
           hint: np.ndarray | None) -> tuple[Any, ...] | None:
    """A phase's flow checked, recorded and frozen in one compiled pass, or None without numba.

    :func:`~.simplex_kernel.close_phase` on the phase network ``sub``:
    ``total`` and ``whole`` get the phase's flow and basis states at the
    arcs ``keep``; with a ``hint``, the potentials are checked as
    :func:`~.certify.optimal_reduced_costs` checks them and, when they prove
    ``flow`` optimal, the arcs of non-zero reduced cost are frozen
    (``frozen``, the supplies). About twenty numpy passes over the arcs
    before (city_100k: 2.7M arcs).
    """
    if not is_available():
        return None
    from . import simplex_kernel  # numba: only with it

    d = hint if hint is not None else np.zeros(sub.n_nodes, dtype=np.int64)
    ints = [np.ascontiguousarray(x, dtype=np.int64)
            for x in (sub.tail, sub.head, sub.capacity, sub.cost, flow, sub.supply, d, keep)]
    tail, head, cap, cost, flow, supply, d, keep = ints
    return tuple(simplex_kernel.close_phase(
        int(sub.n_nodes), tail, head, cap, cost, flow, supply, d,
        np.ascontiguousarray(basis.state, dtype=np.int8), keep, total, whole, frozen,
        hint is not None, LOWER, UPPER))


def solve_phases(
    net: FlowNetwork,
    phase_costs: Sequence[tuple[str, Callable[[], np.ndarray]]],
    n_needs: int,
    seconds: dict[str, float],
    who: str = "solver 'simplex'",
    warm_solve: Callable[..., Any] = network_simplex,
    start: Sequence[Basis | None] | None = None,
    on_phase: Callable[[int], None] | None = None,
    first: tuple[np.ndarray, np.ndarray] | None = None,
    on_first: Callable[[np.ndarray], None] | None = None,
) -> tuple[np.ndarray, list[np.ndarray], tuple[Basis, ...]]:
    """Optimise the phases in turn on one network, warm from one basis.

    Parameters
    ----------
    net : FlowNetwork
        A batch's circulation (:meth:`TransportProblem.network`: hub 0, then
        the needs' arcs first); its own costs are ignored.
    phase_costs : sequence of (name, callable)
        Each phase's name and a function giving its arc costs (int64, shape
        ``(n_arcs,)``), minimised in turn; called when the phase starts, so
        only one phase's costs are held at a time.
    n_needs : int
        Needs of the batch (the hub's first arcs), for the greedy start.
    seconds : dict
        Time per phase, added to.
    who : str
        Names the back-end in errors.
    warm_solve : callable, default :func:`.network_simplex.network_simplex`
        ``(network, basis=None) ->`` a result with ``flow``, ``potentials``
        and ``basis``.
    start : sequence of Basis or None, optional
        Per phase, a basis of the whole network (:meth:`WarmStart.basis_for`)
        to start that phase from instead of the greedy start (phase 0) or the
        previous phase's optimum (later phases); restricted to the arcs still
        free. A basis of another shape is ignored. Any basis gives the same
        optimum; a good one saves pivots.
    first : (flow, potentials), optional
        A candidate optimum of the first phase on ``net`` (the first phase's
        flow and potentials of an earlier solve of the same arcs,
        :meth:`WarmStart.first_for`), used with ``start[0]`` as its basis:
        taken without pivoting when :func:`~.certify.check_flow` finds it
        feasible and :func:`~.certify.proves_optimal` proves it optimal for
        this phase's costs (then it is an optimum like any other: the face
        the next phases search is the same); otherwise the phase is solved.
    on_first : callable, optional
        Called with the first phase's optimal flow on ``net`` (a copy), to keep.

    Returns
    -------
    flow : ndarray of int64, shape (n_arcs,)
        Lexicographically optimal.
    duals : list of ndarray
        The certifying potentials of every phase but the last.
    bases : tuple of Basis
        The optimal basis at the end of each phase on the whole network
        (arcs frozen earlier at the bound they were frozen at): the
        ``bases`` of a :class:`BatchBasis`.

    Raises
    ------
    SolverError
        A phase's flow is infeasible or not optimal (never expected).
    """
    n = net.n_nodes
    # The arcs still free (indices into net) and their arrays; frozen arcs leave
    # the network, their flow stays in ``total`` and in the supplies.
    # ``frozen``: per arc of the whole network, the bound it was frozen at
    # (LOWER while free). Compiled in ordinary pages where numba loads (as
    # network_simplex.Workspace's arrays): at city_100k the first phase's
    # check, the first to write ``total``, took 0.05-0.08 s with numpy's
    # arrays, 0.03 s with these.
    if is_available():
        from . import simplex_kernel  # numba: only with it

        keep, total, frozen = simplex_kernel.phase_start(net.n_arcs, LOWER)
    else:
        keep = np.arange(net.n_arcs)
        total = np.zeros(net.n_arcs, dtype=np.int64)
        frozen = np.full(net.n_arcs, LOWER, dtype=np.int8)
    tail, head, cap = net.tail, net.head, net.capacity
    supply = net.supply
    basis: Basis | None = None
    duals: list[np.ndarray] = []
    bases: list[Basis] = []
    workspace = Workspace()
    for k, (name, make_cost) in enumerate(phase_costs):
        t0 = time.perf_counter()
        cost = make_cost()
        if len(keep) < net.n_arcs:
            cost = cost[keep]
        sub = FlowNetwork(n, tail, head, cap, cost, supply)
        given = start[k] if start is not None and k < len(start) else None
        if given is not None and (given.n_arcs != net.n_arcs or given.n_nodes != n):
            given = None
        if given is not None and k > 0 and k == len(phase_costs) - 1 and not fits(given, keep):
            # The old basis's tree lies partly on arcs this phase froze (the
            # optimal face moved): it fits another network and would cost
            # more pivots than the previous phase's optimum (measured at
            # city_100k: a tiebreak 62k pivots, 21 s, against 5). A score
            # phase is resumed all the same: from the coverage optimum it is
            # a cold solve (city_100k, 1% changed: 553k pivots, 1.36 s; from
            # the old basis, repaired, 54k pivots, 0.89 s with local pricing).
            given = None
        solver = _in_workspace(warm_solve, workspace, resumed=given is not None)
        if given is not None:
            basis = Basis(given.state[keep], given.hung)
        if basis is None and is_hub_layout(sub, n_needs):
            basis = transport_start(sub, n_needs)
        # (A floor's group arcs break the hub layout: those batches start cold.)
        d: np.ndarray | None
        if (k == 0 and first is not None and given is not None
                and not check_flow(sub, first[0])
                and proves_optimal(sub, first[0], first[1], compiled=is_available())):
            # The earlier optimum of the same arcs is feasible and optimal here:
            # checked exactly as a solver's answer, so no pivots to confirm it.
            flow, d = first
            assert basis is not None
        else:
            try:
                res = solver(sub, basis=basis)
            except (MatchcoreError, MemoryError) as err:
                if not isinstance(err, SolverError):
                    raise
                raise SolverError(f"{who} failed: {err}") from err
            except Exception as err:  # as phases.run_backend: whatever a back-end raises
                raise SolverError(f"{who} failed: {type(err).__name__}: {err}") from err
            flow, basis = res.flow, res.basis
            d = res.potentials
            del res
        assert basis is not None
        last = k == len(phase_costs) - 1
        hint = d if not last and d is not None and d.shape == (n,) else None
        whole = frozen.copy()
        closed = _close(sub, flow, basis, keep, total, whole, frozen, hint)
        if closed is None:  # no numba: the same checks in numpy
            problems = check_flow(sub, flow)
        else:
            n_neg, n_over, n_unconserved, n_bad, free_fast, supply_fast = closed
            problems = (check_flow(sub, flow) if n_neg or n_over or n_unconserved else [])
        if problems:
            raise SolverError(
                f"{who} returned an infeasible flow in phase {name!r}: " + "; ".join(problems)
            )
        if closed is None:
            total[keep] = flow
            whole[keep] = basis.state
        if k == 0 and on_first is not None:
            on_first(total.copy())
        bases.append(Basis(whole, basis.hung))
        del whole
        if on_phase is not None:
            on_phase(k)  # phase k is optimal (progress reports)
        if not last:
            if closed is not None and n_bad == 0:
                # The solver's potentials prove the flow optimal; the arcs of
                # non-zero reduced cost were frozen in the same pass.
                assert d is not None
                free = free_fast
                supply = supply_fast
            else:
                rc = None
                if hint is not None and closed is None:
                    # The solver's potentials checked as network_potentials checks a
                    # hint, keeping the reduced costs for the restriction.
                    rc = optimal_reduced_costs(cost, tail, head, cap, flow, hint)
                if rc is None:
                    d = network_potentials(sub, flow)
                    if d is None:
                        raise SolverError(
                            f"{who} returned a flow that is not optimal in phase {name!r} "
                            "(its residual graph has a negative cycle)"
                        )
                    rc = cost + d[tail] - d[head]
                free = rc == 0
                # Saturated (rc < 0) or empty (rc > 0) in every optimum: a fixed
                # transfer (summed over all arcs with the free ones at 0: no masked copies).
                supply = supply - net_outflow(n, tail, head, np.where(free, 0, flow))
                gone = keep[~free]
                frozen[gone] = np.where((total[gone] >= net.capacity[gone])
                                        & (net.capacity[gone] > 0), UPPER, LOWER)
                del rc, gone
            assert d is not None
            duals.append(d)
            # Tree arcs have rc == 0, so the basis keeps its tree. (Basis.remap of
            # the free arcs in order, without checking a map made injective here.)
            if closed is not None:  # numba: the five arrays in one pass
                from . import simplex_kernel

                keep, tail, head, cap, state = simplex_kernel.compact_arcs(
                    free, keep, np.ascontiguousarray(tail, dtype=np.int64),
                    np.ascontiguousarray(head, dtype=np.int64),
                    np.ascontiguousarray(cap, dtype=np.int64),
                    np.ascontiguousarray(basis.state, dtype=np.int8))
                basis = Basis(state, basis.hung)
                del state
            else:
                basis = Basis(basis.state[free], basis.hung)
                keep, tail, head, cap = keep[free], tail[free], head[free], cap[free]
            del free
        del sub, cost, flow  # before the next phase's costs are made
        seconds[name] += time.perf_counter() - t0
    return total, duals, tuple(bases)
