"""The flow problem: arrays, integer costs, components and flow networks.

A :class:`TransportProblem` is the transportation problem of the candidate
graph: maximise Σ score·units subject to Σ units ≤ demand per need and
≤ capacity per resource, units integer. It is compiled, one batch of
connected components at a time, into a min-cost *circulation* on a
:class:`FlowNetwork`::

    hub ──(cap demand_i, cost a_i)──▶ need i ──(cap min(d_i, c_j), cost e_ij)──▶
    resource j ──(cap capacity_j, cost 0)──▶ hub

Every back-end solves that network. Scores are floats; network back-ends
need integers, so scores are scaled by ``2**20 / max|score|`` and rounded
(:attr:`TransportProblem.scale`): the solution is exactly optimal for the
rounded scores, and within ``units / scale <= units × max|score| × 2**-19`` of
the optimum of the float scores (:attr:`TransportProblem.tolerance`).

The lexicographic objective ("coverage": most priority-weighted units, then
the best score) is solved in phases, never with a big-M weight: each phase
fixes, by complementary slackness with the previous phase's optimal duals,
the arcs that every optimal solution of that phase must share; the next
phase optimises over what is left (see :mod:`matchcore.solvers.certify`).
Fairness floors stay in the flow world: with ``group`` and ``floor`` set, the
needs of a group hang from a group node, ``hub ──(cap, lower bound floor)──▶
group ──▶ need``, and the lower bound becomes node supplies (hub −floor,
group +floor), so every back-end still sees a plain :class:`FlowNetwork`
(the group arcs come last, after the resource→hub arcs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np

from ..errors import InputError

__all__ = [
    "MAX_UNITS",
    "FlowNetwork",
    "Objective",
    "TransportProblem",
    "check_units",
    "exact_sum",
]

Objective = Literal["coverage", "score"]
OBJECTIVES: tuple[str, ...] = get_args(Objective)

#: Resolution of the integer score scale: 2**SCORE_BITS steps up to max|score|.
SCORE_BITS = 20
#: Largest exponent of the score scale (2**1000 is finite; 2**1024 is not).
MAX_SCALE_EXPONENT = 1000
#: Bound kept on |cost| × (nodes + 1) so that OR-Tools' cost scaling cannot overflow int64.
INT64_HEADROOM = 2**62
#: The most units any demand, any capacity, and the sum of the demands or of the
#: capacities of one problem may hold: 2**53, the largest integer that every
#: exact back-end handles exactly (HiGHS works in float64, where 2**53 + 1 is not
#: representable; OR-Tools' int64 node balances and the float64 sums of the
#: certificate stay exact below it). See docs/explanation/model.md.
MAX_UNITS = 2**53
#: Components are packed into batches of about this many edges before solving.
BATCH_EDGES = 250_000

#: Builds a batch's arcs: ``(edges, need, resource, demand, capacity) -> (needs,
#: resources, tail, head, capacity)``, int64 (see :meth:`TransportProblem.network`).
ArcBuilder = Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
#: Packs edges into batches: ``(need_label, need, batch_edges) -> (order, cuts)``,
#: int64: the edges batch by batch and where each batch after the first starts
#: (see :meth:`TransportProblem.batches`).
BatchPacker = Callable[..., tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True, eq=False)
class FlowNetwork:
    """A min-cost flow problem on a directed graph (what back-ends solve).

    Attributes
    ----------
    n_nodes : int
    tail, head : ndarray of int64, shape (n_arcs,)
    capacity : ndarray of int64, shape (n_arcs,)
        Upper bounds; lower bounds are 0.
    cost : ndarray of int64, shape (n_arcs,)
    supply : ndarray of int64, shape (n_nodes,)
        Net outflow required at each node (sums to 0).
    """

    n_nodes: int
    tail: np.ndarray
    head: np.ndarray
    capacity: np.ndarray
    cost: np.ndarray
    supply: np.ndarray

    @property
    def n_arcs(self) -> int:
        return len(self.tail)


def _same_array(a: np.ndarray, b: np.ndarray) -> bool:
    """The same object, or equal shape, dtype and values."""
    return a is b or (a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b)))


class _Memo(dict):
    """A cache that pickles and copies as empty (it is recomputed on demand)."""

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return (_Memo, ())


def tiebreak_preference(need: np.ndarray, resource: np.ndarray) -> np.ndarray:
    """Pseudo-random 20-bit preferences from (need rank, resource rank) (splitmix64).

    Ranks follow id order, so the preference does not depend on row order; its
    values are spread so that ties in the real objective are almost never tied
    again here.
    """
    z = (need.astype(np.uint64) << np.uint64(32)) ^ resource.astype(np.uint64)
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(64 - SCORE_BITS)).astype(np.int64)


@dataclass(frozen=True, eq=False)
class TransportProblem:
    """The assignment problem of one round (internal arrays; trusts its input).

    Attributes
    ----------
    need, resource : ndarray of int64, shape (n_edges,)
        Edge end points, indices into the id-sorted lists; sorted by (need, resource).
    demand : ndarray of int64, shape (n_needs,)
    capacity : ndarray of int64, shape (n_resources,)
    score : ndarray of float, shape (n_edges,)
    weight : ndarray of int64, shape (n_needs,)
        Per-unit value of serving a need in the first phase of the
        "coverage" objective (the need's priority in ``match``, 1 in
        ``solve_assignment``).
    objective : {"coverage", "score"}
    group : ndarray of int64, shape (n_needs,), optional
        Fairness group of each need (-1: none); see
        :func:`matchcore.model.policies.plan_floors`.
    floor : ndarray of int64, shape (n_groups,), optional
        Units that must reach each group (a lower bound on its group arc).
    """

    need: np.ndarray
    resource: np.ndarray
    demand: np.ndarray
    capacity: np.ndarray
    score: np.ndarray
    weight: np.ndarray
    objective: Objective = "coverage"
    group: np.ndarray | None = None
    floor: np.ndarray | None = None
    #: What is computed once per problem (components; batches and networks
    #: while :meth:`reusing_networks` holds): never pickled or copied.
    _memo: dict[str, Any] = field(default_factory=lambda: _Memo(), init=False, repr=False,
                                  compare=False)

    @property
    def has_floors(self) -> bool:
        return self.group is not None and self.floor is not None and bool((self.group >= 0).any())

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise InputError(f"objective must be one of {list(OBJECTIVES)}; got {self.objective!r}")

    @property
    def n_needs(self) -> int:
        return len(self.demand)

    @property
    def n_resources(self) -> int:
        return len(self.capacity)

    @property
    def n_edges(self) -> int:
        return len(self.need)

    @property
    def scale(self) -> float:
        """Factor turning float scores into integer costs (a power of two)."""
        top = float(np.abs(self.score).max()) if self.n_edges else 0.0
        if top == 0.0:
            return 1.0
        # Capped so that subnormal scores cannot overflow the scale to inf.
        return float(2.0 ** min(SCORE_BITS - np.ceil(np.log2(top)), MAX_SCALE_EXPONENT))

    @property
    def score_int(self) -> np.ndarray:
        """Scores as integers (``round(score * scale)``), the costs the solvers see."""
        return np.rint(self.score * self.scale).astype(np.int64)

    @property
    def tolerance(self) -> float:
        """Bound on the float-score gap of an optimum of the rounded scores.

        Each rounded score is within ``0.5 / scale`` of the float one, so two
        solutions' objectives can swap by at most ``units / scale``
        (``<= units × max|score| × 2**-19``).
        """
        units = float(min(exact_sum(self.demand), exact_sum(self.capacity)))
        return units / self.scale

    def phases(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """The objective's phases as ``(name, hub→need cost, edge cost)``, minimised in turn.

        The last phase, ``tiebreak``, picks one solution among equal optima so
        that every exact back-end returns the same assignment.
        """
        if "phases" in self._memo:  # within reusing_networks: a solve and its certificate
            return list(self._memo["phases"])
        out = self._phases()
        if "networks" in self._memo:
            self._memo["phases"] = out
        return list(out)

    def _phases(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        # Zero costs as zero-stride views: no memory for them.
        zero_need = np.broadcast_to(np.int64(0), (self.n_needs,))
        zero_edge = np.broadcast_to(np.int64(0), (self.n_edges,))
        out = []
        if self.objective == "coverage":
            out.append(("coverage", -self.weight.astype(np.int64), zero_edge))
        out.append(("score", zero_need, -self.score_int))
        tiebreak = self._memo.get("tiebreak")  # adopted from a problem of the same edges
        if tiebreak is None:
            tiebreak = tiebreak_preference(self.need, self.resource)
            if "networks" in self._memo:
                self._memo["tiebreak"] = tiebreak
        out.append(("tiebreak", zero_need, tiebreak))
        return out

    def components(self) -> tuple[np.ndarray, np.ndarray]:
        """Connected components of the candidate graph.

        Returns
        -------
        need_label : ndarray, shape (n_needs,)
        resource_label : ndarray, shape (n_resources,)
            Component of each node (isolated nodes get their own label).
        """
        if "components" in self._memo:  # a solve and its certificate ask once each
            need_label, resource_label = self._memo["components"]
            return need_label.copy(), resource_label.copy()
        need_label, resource_label = self._components()
        self._memo["components"] = (need_label, resource_label)
        return need_label.copy(), resource_label.copy()

    def _components(self) -> tuple[np.ndarray, np.ndarray]:
        # Imported here: scipy.sparse is slow to import and only solving needs it.
        from scipy.sparse import coo_matrix, csr_matrix
        from scipy.sparse.csgraph import connected_components

        n = self.n_needs + self.n_resources
        ones = np.ones(self.n_edges, dtype=np.float64)  # csgraph's dtype: no conversion
        cols = self.n_needs + self.resource
        if self.has_floors:
            # A group's needs share its arc: one component (group nodes come last).
            assert self.group is not None and self.floor is not None
            g = np.flatnonzero(self.group >= 0)
            rows = np.concatenate([self.need, g])
            cols = np.concatenate([cols, n + self.group[g]])
            ones = np.ones(len(rows), dtype=np.float64)
            m = n + len(self.floor)
            adj = coo_matrix((ones, (rows, cols)), shape=(m, m)).tocsr()
            _, labels = connected_components(adj, directed=False)
            return labels[: self.n_needs], labels[self.n_needs : n]
        if self.n_edges < 2 or bool((self.need[1:] >= self.need[:-1]).all()):
            # Edges sorted by need are already CSR rows: no sort, no duplicate summing.
            indptr = np.zeros(n + 1, dtype=np.int64)
            per_need = np.bincount(self.need, minlength=self.n_needs)
            np.cumsum(per_need, out=indptr[1 : self.n_needs + 1])
            indptr[self.n_needs + 1 :] = self.n_edges
            adj = csr_matrix((ones, cols, indptr), shape=(n, n))
        else:
            adj = coo_matrix((ones, (self.need, cols)), shape=(n, n)).tocsr()
        _, labels = connected_components(adj, directed=False)
        return labels[: self.n_needs], labels[self.n_needs :]

    def batches(self, batch_edges: int = BATCH_EDGES,
                pack: BatchPacker | None = None) -> list[np.ndarray]:
        """Group edges into batches of whole components (each a sorted index array).

        Components are packed in label order until a batch holds at least
        ``batch_edges`` edges; a component is never split. ``pack`` (the
        solvers' compiled pass, ``(need_label, need, batch_edges) -> (order,
        cuts)``) packs them instead of the numpy passes here: the same batches.
        """
        if self.n_edges == 0:
            return []
        memo = self._memo.get("batches")
        if memo is not None and batch_edges in memo:
            return list(memo[batch_edges])
        out = self._batches(batch_edges, pack)
        if memo is not None:
            memo[batch_edges] = out
        return list(out)

    def known_components(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The components when :meth:`components` has computed them (not copies), else None."""
        known: tuple[np.ndarray, np.ndarray] | None = self._memo.get("components")
        return known

    def take_components(self, need_label: np.ndarray, resource_label: np.ndarray) -> None:
        """Take the components from elsewhere (a compiled pass), unless already known.

        Trusted: they must be :meth:`components`' labels, numbered by each
        component's smallest node (needs first, then resources), so that
        :meth:`batches` packs the same components. Ignored with floors (group
        arcs join components there).

        Examples
        --------
        >>> import numpy as np
        >>> p = TransportProblem(np.array([0, 1]), np.array([0, 0]), np.array([1, 1]),
        ...                      np.array([1]), np.array([1.0, 2.0]), np.array([1, 1]))
        >>> p.take_components(np.array([0, 0]), np.array([0]))
        >>> p.known_components()
        (array([0, 0]), array([0]))
        """
        if "components" not in self._memo and not self.has_floors:
            self._memo["components"] = (need_label, resource_label)

    def kept_networks(self) -> dict[str, Any] | None:
        """What ``reusing_networks(keep=True)`` kept (batches, networks, tiebreak), or None."""
        kept: dict[str, Any] | None = self._memo.get("kept")
        return kept

    def adopt_components(self, other: TransportProblem) -> bool:
        """Take ``other``'s components when its edges are the very same arrays.

        (A sweep's weightings share one candidate graph.) True when taken:
        same need and resource arrays (the objects), the same numbers of needs
        and resources, no floors in either, and ``other`` has computed them.
        With equal demands and capacities too, the next :meth:`reusing_networks`
        starts from the batches, networks and tiebreak costs that ``other``
        kept (``reusing_networks(keep=True)``).

        Examples
        --------
        >>> import dataclasses
        >>> import numpy as np
        >>> p = TransportProblem(np.array([0, 1]), np.array([0, 0]), np.array([1, 1]),
        ...                      np.array([1]), np.array([1.0, 2.0]), np.array([1, 1]))
        >>> q = dataclasses.replace(p, score=np.array([2.0, 1.0]))
        >>> q.adopt_components(p), p.known_components() is None
        (False, True)
        >>> _ = p.components()
        >>> q.adopt_components(p), q.known_components() is p.known_components()
        (True, True)
        """
        known = other.known_components()
        if (known is None or other.need is not self.need or other.resource is not self.resource
                or other.n_needs != self.n_needs or other.n_resources != self.n_resources
                or self.has_floors or other.has_floors):
            return False
        self._memo.setdefault("components", known)
        kept = other.kept_networks()
        if kept is not None and _same_array(other.demand, self.demand) and _same_array(
                other.capacity, self.capacity):
            # The same edges, demands and capacities: the same batch networks.
            self._memo["adopted"] = kept
        return True

    @contextmanager
    def reusing_networks(self, keep: bool = False) -> Iterator[None]:
        """Within it, :meth:`phases`, :meth:`batches` and batch networks are built once.

        A solve and its certificate (:func:`matchcore.solvers.verify`) walk
        the same batches and networks: with this, the second reads what the
        first built (both from this problem's arrays alone; no solver writes
        them). Released on exit, so a kept result holds no networks, unless
        ``keep``: then the batches, networks and tiebreak costs stay for a
        problem of the same edges, demands and capacities to take
        (:meth:`adopt_components`; a sweep's next weighting).

        Examples
        --------
        >>> import numpy as np
        >>> p = TransportProblem(np.array([0, 1]), np.array([0, 0]), np.array([1, 1]),
        ...                      np.array([1]), np.array([1.0, 2.0]), np.array([1, 1]))
        >>> with p.reusing_networks():
        ...     edges, = p.batches()
        ...     p.network(edges)[0] is p.network(edges)[0]
        True
        """
        memo = self._memo
        if "networks" in memo:  # nested: the outer one owns the memo
            yield
            return
        adopted = memo.pop("adopted", None) or memo.pop("kept", None)
        memo["batches"] = dict(adopted["batches"]) if adopted else {}
        memo["networks"] = list(adopted["networks"]) if adopted else []
        if adopted and adopted["tiebreak"] is not None:
            memo["tiebreak"] = adopted["tiebreak"]
        try:
            yield
        finally:
            kept = {"batches": memo.pop("batches"), "networks": memo.pop("networks"),
                    "tiebreak": memo.pop("tiebreak", None)}
            memo.pop("phases", None)
            if keep:
                memo["kept"] = kept

    def _batches(self, batch_edges: int, pack: BatchPacker | None) -> list[np.ndarray]:
        need_label, _ = self.components()
        if pack is not None:
            order, cuts = pack(np.ascontiguousarray(need_label, dtype=np.int64),
                               np.ascontiguousarray(self.need, dtype=np.int64), int(batch_edges))
            if len(cuts) == 0:
                return [np.arange(self.n_edges)]
            return np.split(order, cuts)
        edge_label = need_label[self.need]
        sizes = np.bincount(edge_label)
        # Components in label order; a batch closes once it holds batch_edges edges.
        labels = np.flatnonzero(sizes)
        packed: list[int] = []
        n_batches, size = 0, 0
        for count in sizes[labels].tolist():  # one step per component, not per edge
            packed.append(n_batches)
            size += count
            if size >= batch_edges:
                n_batches, size = n_batches + 1, 0
        n_batches += int(size > 0)
        if n_batches == 1:
            return [np.arange(self.n_edges)]
        batch_of_label = np.zeros(len(sizes), dtype=np.int64)
        batch_of_label[labels] = packed
        edge_batch = batch_of_label[edge_label]
        # A stable sort keeps each batch's edges in (need, resource) order.
        order = np.argsort(edge_batch, kind="stable")
        cuts = np.cumsum(np.bincount(edge_batch, minlength=n_batches))[:-1]
        return np.split(order, cuts)

    def network(self, edges: np.ndarray, arcs: ArcBuilder | None = None
                ) -> tuple[FlowNetwork, np.ndarray, np.ndarray]:
        """The circulation network of a batch of edges (all phases share its arcs).

        Parameters
        ----------
        edges : ndarray of int
            A batch (:meth:`batches`).
        arcs : callable, optional
            ``arcs(edges, need, resource, demand, capacity)`` returning the
            batch's ``needs, resources, tail, head, capacity`` as this method
            lays them out (the solvers' compiled pass); used when there are no
            floors, instead of the numpy passes here.

        Returns
        -------
        network : FlowNetwork
            Costs are zero; :meth:`phase_costs` gives them per phase.
        needs, resources : ndarray
            Global indices of the batch's needs and resources (local node
            ``1 + k`` is ``needs[k]``; ``1 + len(needs) + k`` is ``resources[k]``).
        """
        known = self._memo.get("networks")
        if known is not None:
            for edges_k, built in known:
                if edges_k is edges:
                    return built
        built = self._network(edges, arcs)
        if known is not None:
            known.append((edges, built))
        return built

    def _network(self, edges: np.ndarray, arcs: ArcBuilder | None
                 ) -> tuple[FlowNetwork, np.ndarray, np.ndarray]:
        if arcs is not None and not self.has_floors:
            needs, resources, tail, head, cap = arcs(
                *(np.ascontiguousarray(x, dtype=np.int64)
                  for x in (edges, self.need, self.resource, self.demand, self.capacity)))
            n_nodes = 1 + len(needs) + len(resources)
            net = FlowNetwork(n_nodes, tail, head, cap, np.broadcast_to(np.int64(0), tail.shape),
                              np.zeros(n_nodes, np.int64))
            return net, needs, resources
        ei, ej = self.need[edges], self.resource[edges]
        # Local numbering by a lookup table: no sort of the batch's edges.
        needs = np.flatnonzero(np.bincount(ei, minlength=self.n_needs))
        resources = np.flatnonzero(np.bincount(ej, minlength=self.n_resources))
        a, b = len(needs), len(resources)
        need_node = np.zeros(self.n_needs, dtype=np.int64)
        need_node[needs] = 1 + np.arange(a)
        res_node = np.zeros(self.n_resources, dtype=np.int64)
        res_node[resources] = 1 + a + np.arange(b)
        n_nodes = 1 + a + b
        hub_a, hub_b = np.zeros(a, np.int64), np.zeros(b, np.int64)
        tail = np.concatenate([hub_a, need_node[ei], res_node[resources]])
        head = np.concatenate([need_node[needs], res_node[ej], hub_b])
        cap = np.concatenate(
            [
                self.demand[needs],
                np.minimum(self.demand[ei], self.capacity[ej]),
                self.capacity[resources],
            ]
        ).astype(np.int64, copy=False)
        supply = np.zeros(n_nodes, np.int64)
        if self.has_floors:
            tail, head, cap, supply = self._group_arcs(needs, n_nodes, tail, head, cap)
        # Zero costs as a read-only zero-stride view: no memory for an unused array.
        zero_cost = np.broadcast_to(np.int64(0), tail.shape)
        net = FlowNetwork(len(supply), tail, head, cap, zero_cost, supply)
        return net, needs, resources

    def _batch_groups(self, needs: np.ndarray) -> np.ndarray:
        """The groups with a floor among a batch's needs, sorted."""
        assert self.group is not None
        g = self.group[needs]
        return np.unique(g[g >= 0])

    def _group_arcs(
        self, needs: np.ndarray, n_nodes: int, tail: np.ndarray, head: np.ndarray,
        cap: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Hang grouped needs from group nodes; the floors become supplies."""
        assert self.group is not None and self.floor is not None
        groups = self._batch_groups(needs)
        local = np.full(int(self.group.max()) + 1, -1, dtype=np.int64)
        local[groups] = np.arange(len(groups))
        g = self.group[needs]
        grouped = g >= 0
        tail = tail.copy()
        tail[: len(needs)][grouped] = n_nodes + local[g[grouped]]
        g_demand = np.bincount(local[g[grouped]], weights=self.demand[needs][grouped],
                               minlength=len(groups)).astype(np.int64)
        low = self.floor[groups].astype(np.int64)
        supply = np.zeros(n_nodes + len(groups), np.int64)
        supply[0] = -int(low.sum())
        supply[n_nodes:] = low
        tail = np.concatenate([tail, np.zeros(len(groups), np.int64)])
        head = np.concatenate([head, n_nodes + np.arange(len(groups))])
        cap = np.concatenate([cap, g_demand - low]).astype(np.int64)
        return tail, head, cap, supply

    def group_flow(self, served: np.ndarray, needs: np.ndarray) -> np.ndarray:
        """Flow on a batch's group arcs (after :meth:`network`'s lower-bound shift).

        ``served`` is units per need; empty without floors.
        """
        if not self.has_floors:
            return np.zeros(0, dtype=np.int64)
        assert self.group is not None and self.floor is not None
        groups = self._batch_groups(needs)
        g = self.group[needs]
        got = np.array([served[needs][g == k].sum() for k in groups.tolist()], dtype=np.int64)
        return (got - self.floor[groups]).astype(np.int64)

    def floor_shortfall(self, served: np.ndarray) -> list[str]:
        """Groups that receive fewer units than their floor (empty when all are met)."""
        if not self.has_floors:
            return []
        assert self.group is not None and self.floor is not None
        has = self.group >= 0
        got = np.bincount(self.group[has], weights=served[has], minlength=len(self.floor))
        bad = np.flatnonzero(got < self.floor)
        return [f"group {int(k)} gets {int(got[k])} units, below its floor {int(self.floor[k])}"
                for k in bad.tolist()]

    def check_range(self) -> None:
        """Refuse quantities beyond :data:`MAX_UNITS` and costs that could overflow int64.

        Every demand, every capacity, the total demand and the total capacity
        must be at most ``MAX_UNITS`` (2**53), summed exactly
        (:func:`check_units`); ``|cost| × (nodes + 1)`` must stay below
        ``INT64_HEADROOM`` for OR-Tools' cost scaling.

        Raises
        ------
        InputError
            Stating the limit and the value found.
        """
        check_units(self.demand, self.capacity)
        n_nodes = self.n_needs + self.n_resources + 1
        top = max(2**SCORE_BITS, int(self.weight.max()) if self.n_needs else 1)
        if top * (n_nodes + 1) >= INT64_HEADROOM:
            raise InputError(
                f"the problem is too large for 64-bit costs: {n_nodes:,} nodes; "
                "split it into independent rounds"
            )


def check_units(
    demand: np.ndarray,
    capacity: np.ndarray,
    need_ids: np.ndarray | None = None,
    resource_ids: np.ndarray | None = None,
) -> None:
    """Refuse a demand, a capacity, or a total of either beyond :data:`MAX_UNITS`.

    Totals are summed exactly (:func:`exact_sum`), so no wrap-around of int64
    can hide one. ``need_ids`` and ``resource_ids`` (in index order), when
    given, name the offending need or resource.

    Raises
    ------
    InputError
        Stating the limit and the value found.

    Examples
    --------
    >>> import numpy as np
    >>> check_units(np.array([2**53 + 1]), np.array([1]), np.array(["N1"]))
    Traceback (most recent call last):
    ...
    matchcore.errors.InputError: `demand` must be at most 2**53 = 9,007,199,254,740,992 \
units (the most every exact back-end solves exactly); got 9,007,199,254,740,993 for need 'N1'
    """
    limit = (f"at most 2**53 = {MAX_UNITS:,} units "
             "(the most every exact back-end solves exactly)")
    for what, values, ids, entity in (
        ("demand", demand, need_ids, "need"),
        ("capacity", capacity, resource_ids, "resource"),
    ):
        if len(values) == 0:
            continue
        k = int(np.argmax(values))
        top = int(values[k])
        if top > MAX_UNITS:
            place = f"{entity} {str(ids[k])!r}" if ids is not None else f"{entity} at index {k}"
            raise InputError(f"`{what}` must be {limit}; got {top:,} for {place}")
        total = exact_sum(values)
        if total > MAX_UNITS:
            raise InputError(
                f"the total {what} must be {limit}; got {total:,} over "
                f"{len(values):,} {entity}s; split it into independent rounds"
            )


def exact_sum(values: np.ndarray) -> int:
    """The sum of an integer array as a Python int: exact, never wrapped around.

    Examples
    --------
    >>> import numpy as np
    >>> exact_sum(np.array([2**62, 2**62], dtype=np.int64))
    9223372036854775808
    """
    values = np.asarray(values)
    if len(values) == 0:
        return 0
    big = max(abs(int(values.max())), abs(int(values.min())))
    if big * len(values) < 2**63:  # no partial sum can leave int64
        return int(values.sum(dtype=np.int64))
    return sum(map(int, values.tolist()))
