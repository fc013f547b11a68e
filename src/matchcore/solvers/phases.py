"""The phase/batch loop: solving a :class:`~matchcore.model.problem.TransportProblem`
phase by phase, batch by batch, and certifying it.

:func:`solve` packs connected components into batches, solves each batch's
circulation with the chosen back-end once per phase of the objective
(restricting each next phase to the optimal face of the previous one), checks
every phase's optimality with :mod:`.certify`, and returns units per edge.
:func:`verify` re-checks any units array, whoever produced it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import MatchcoreError, SolverError
from ..memory import release
from ..model.problem import BatchPacker, FlowNetwork, TransportProblem
from . import maxflow
from .certify import (
    Certificate,
    check_flow,
    network_potentials,
    optimal_face,
    restrict,
)
from .network_simplex import is_available, is_compiled
from .presolve import peel
from .registry import FlowSolver, get_backend
from .warm_phases import BatchBasis, WarmStart, solve_phases

__all__ = ["Solution", "run_backend", "solve", "verify"]


@dataclass
class Solution:
    """Units per candidate edge, and how they were found."""

    units: np.ndarray
    solver: str
    exact: bool
    certificate: Certificate | None
    n_batches: int = 0
    seconds: float = 0.0
    phase_seconds: dict[str, float] = field(default_factory=dict)
    #: Optimal potentials per batch and phase (all but the last), the dual
    #: certificate found while solving; :func:`verify` re-checks them in one pass.
    duals: list[list[np.ndarray]] | None = None
    #: Per batch, the optimal basis at the end of every phase and the batch's
    #: needs, resources and edges (:class:`~.warm_phases.BatchBasis`), kept in
    #: memory to warm-start a related solve (``solve(..., start=...)``); None
    #: for back-ends without a basis.
    bases: list[BatchBasis] | None = None


def batch_arrays(
    problem: TransportProblem, edges: np.ndarray, compiled: bool = False
) -> tuple[FlowNetwork, np.ndarray, np.ndarray, int, int]:
    """A batch's network, its needs and resources, and their counts (needs, edges).

    ``compiled`` (when numba loads) builds the arcs in one compiled pass
    (:func:`.batch_kernel.batch_arcs`; at city_100k's 2.5M-edge batch
    in a fresh process: 81-108 ms against 246-431 ms) instead of the problem's
    numpy passes: the same arrays.
    """
    arcs = None
    if compiled and is_available():
        from . import batch_kernel  # numba: only with it

        arcs = batch_kernel.batch_arcs
    net, needs, resources = problem.network(edges, arcs)
    a, m = len(needs), len(edges)
    return net, needs, resources, a, m


def label_components(problem: TransportProblem) -> None:
    """Give ``problem`` its components from one compiled pass (union-find), when numba loads.

    The labels :meth:`~matchcore.model.problem.TransportProblem.components`
    finds with scipy (the same numbering, so the same batches): at city_100k
    (2.5M edges) 0.18-0.35 s by scipy, 0.04 s by the pass. Nothing when they
    are known already, with floors, or without numba.
    """
    if problem.known_components() is not None or problem.has_floors or not is_available():
        return
    from . import batch_kernel  # numba: only with it

    labels = batch_kernel.component_labels(
        problem.n_needs, problem.n_resources,
        np.ascontiguousarray(problem.need, dtype=np.int64),
        np.ascontiguousarray(problem.resource, dtype=np.int64))
    problem.take_components(labels[: problem.n_needs], labels[problem.n_needs :])


def packer() -> BatchPacker | None:
    """The compiled batch packing (:func:`.batch_kernel.pack_batches`), or None without numba.

    The batches :meth:`~matchcore.model.problem.TransportProblem.batches`
    packs by numpy (a gather, a count and a stable sort of every edge): at
    city_100k in a warm round 0.06-0.10 s.
    """
    if not is_available():
        return None
    from . import batch_kernel  # numba: only with it

    return batch_kernel.pack_batches


def phase_cost(net: FlowNetwork, needs: np.ndarray, edges: np.ndarray, n_res: int,
               need_cost: np.ndarray, edge_cost: np.ndarray,
               compiled: bool = False, out: np.ndarray | None = None) -> np.ndarray:
    """Arc costs of one phase on a batch network: hub→need, need→resource, resource→hub.

    Arcs after those (a floor's group arcs) cost nothing. ``compiled`` (when
    numba loads) writes them in one compiled pass
    (:func:`.batch_kernel.phase_costs`), without the gathers' temporaries;
    into ``out`` (int64, one per arc: an earlier phase's costs, no longer
    needed) when given.
    """
    if compiled and is_available():
        from . import batch_kernel  # numba: only with it

        needs = np.ascontiguousarray(needs, dtype=np.int64)
        edges = np.ascontiguousarray(edges, dtype=np.int64)
        if (out is not None and out.dtype == np.int64 and out.shape == (net.n_arcs,)
                and out.flags.c_contiguous and out.flags.writeable):
            batch_kernel.phase_costs_into(out, needs, edges, _int64(need_cost),
                                          _int64(edge_cost))
            return out
        return batch_kernel.phase_costs(net.n_arcs, needs, edges, _int64(need_cost),
                                        _int64(edge_cost))
    extra = net.n_arcs - len(needs) - len(edges) - n_res
    return np.concatenate(
        [need_cost[needs], edge_cost[edges], np.zeros(n_res + extra, dtype=np.int64)]
    ).astype(np.int64, copy=False)


def _int64(cost: np.ndarray) -> np.ndarray:
    """``cost`` as int64, a zero-stride view (a phase's zero costs) kept as it is."""
    if cost.dtype == np.int64 and (cost.flags.c_contiguous or cost.strides == (0,)):
        return cost
    return np.ascontiguousarray(cost, dtype=np.int64)


def phase_network(
    net: FlowNetwork, free: np.ndarray, cost: np.ndarray, supply: np.ndarray
) -> FlowNetwork:
    """The network of one phase: the arcs still free, with this phase's costs and supplies."""
    if free.all():  # the first phase: no copies of the arc arrays
        return FlowNetwork(net.n_nodes, net.tail, net.head, net.capacity, cost, supply)
    return FlowNetwork(net.n_nodes, net.tail[free], net.head[free], net.capacity[free],
                       cost[free], supply)


def run_backend(who: str, fn: Callable[[FlowNetwork], np.ndarray],
                network: FlowNetwork) -> np.ndarray:
    """Call a back-end on a network; whatever else it raises becomes a :class:`SolverError`.

    The one place where back-end failures (OR-Tools' ``RuntimeError`` or
    ``OverflowError``, a HiGHS status, a networkx exception, a back-end's own
    :class:`SolverError`) become a :class:`SolverError` that names the
    back-end as registered; matchcore's other errors (and running out of
    memory) pass through.
    """
    try:
        return np.asarray(fn(network), dtype=np.int64)
    except SolverError as err:
        raise SolverError(f"{who} failed: {err}") from err
    except (MatchcoreError, MemoryError):
        raise
    except Exception as err:
        raise SolverError(f"{who} failed: {type(err).__name__}: {err}") from err


def solve(problem: TransportProblem, solver: str | FlowSolver = "auto",
          start: WarmStart | None = None,
          progress: Callable[[str, float], None] | None = None) -> Solution:
    """Solve the problem exactly (or greedily with ``solver="greedy"``).

    Parameters
    ----------
    problem : TransportProblem
    solver : str or FlowSolver, default "auto"
        A registered name, ``"auto"`` (the fastest exact back-end installed)
        or a function following :class:`FlowSolver`.
    start : WarmStart, optional
        Bases of an earlier solve (:attr:`Solution.bases`, mapped by
        :class:`~.warm_phases.WarmStart`): each batch starts each phase from
        the old basis of the same phase, its arcs found by need, resource and
        (need, resource) key; batches none of whose arcs were known (or with a
        floor's group arcs) start cold. Back-ends without a basis ignore it.
        The result and its certificate are those of a cold solve.
    progress : callable, optional
        Called as ``progress(step, done)`` each time a phase of a batch is
        optimal, ``done`` the share of (batch, phase) steps finished, in [0, 1].

    Returns
    -------
    Solution

    Raises
    ------
    InputError
        Unknown or unavailable solver; costs out of the 64-bit range.
    SolverError
        A back-end failed, or returned a flow that is infeasible or not optimal.
    """
    backend = get_backend(solver)
    problem.check_range()
    t_start = time.perf_counter()
    if backend.heuristic is not None:
        units = np.asarray(backend.heuristic()(problem), dtype=np.int64)
        return Solution(units, backend.name, False, None, 0, time.perf_counter() - t_start)
    fn = backend.load()
    # A back-end that says so solves the coverage phase as a few max flows
    # (exact, see .maxflow); the others solve every phase themselves, so the
    # tests compare them all.
    use_maxflow = backend.coverage_by_maxflow
    phases = problem.phases()
    units = np.zeros(problem.n_edges, dtype=np.int64)
    cert = Certificate(phases=[name for name, _, _ in phases[:-1]])
    seconds = {name: 0.0 for name, _, _ in phases}
    pack = None
    if backend.supports_warm_start:  # the simplex loads numba anyway
        label_components(problem)
        pack = packer()
    batches = problem.batches(pack=pack)
    duals: list[list[np.ndarray]] = []
    bases: list[BatchBasis] = []
    names = tuple(name for name, _, _ in phases)

    def report(b: int, k: int) -> None:
        if progress is not None:
            step = f"phase {names[k]!r}" + (f", batch {b + 1}/{len(batches)}"
                                            if len(batches) > 1 else "")
            progress(step, (b * len(names) + k + 1) / (len(batches) * len(names)))

    for b, edges in enumerate(batches):
        net, needs, resources, a, m = batch_arrays(problem, edges, backend.supports_warm_start)
        if backend.supports_warm_start:
            # One network, one basis, all phases (see .warm_phases).
            costs = [(name, functools.partial(phase_cost, net, needs, edges, len(resources),
                                              nc, ec, compiled=True))
                     for name, nc, ec in phases]
            assert backend.warm_loader is not None
            begin = None
            first = None
            if start is not None:
                # The very same batch (a sweep's next weighting) is found by its edge
                # indices; otherwise edges are matched by key unless an edge map does.
                same = (start.same_edges(problem.need, problem.resource)
                        and start.has_batch(needs, resources, edges))
                keyed = not same and start.edge_keys_needed(len(needs), len(resources),
                                                            len(edges))
                en = problem.need[edges] if keyed else None
                er = problem.resource[edges] if keyed else None
                begin = [start.basis_for(name, net, needs, resources, en, er, edges)
                         for name in names]
                first = start.first_for(names[0], net, needs, resources, en, er, edges)
                del en, er
            kept: list[np.ndarray] = []
            warm_flow, batch_duals, batch_bases = solve_phases(
                net, costs, a, seconds, f"solver {backend.name!r}", backend.warm_loader(),
                start=begin, on_phase=functools.partial(report, b), first=first,
                on_first=kept.append)
            del costs, begin, first
            duals.append(batch_duals)
            # The first phase's optimum, sparse (most edges carry nothing), for a
            # solve of the same arcs to take (WarmStart.first_for).
            head = None
            if kept and batch_duals:
                arcs = np.flatnonzero(kept[0])
                head = (arcs, kept[0][arcs], batch_duals[0])
            del kept
            bases.append(BatchBasis(needs, resources, edges, names, batch_bases, head))
            units[edges] = warm_flow[a : a + m]
            del net, warm_flow
            if start is None:  # a warm solve keeps its freed memory (see matchcore.memory)
                release()
            continue
        duals.append([])
        free = np.ones(net.n_arcs, dtype=bool)
        supply = net.supply.copy()  # a floor's lower bounds
        # One flow array for all phases: arcs a phase fixes keep their value,
        # free arcs get the next phase's.
        flow = np.zeros(net.n_arcs, dtype=np.int64)
        for k, (name, need_cost, edge_cost) in enumerate(phases):
            t0 = time.perf_counter()
            who = f"solver {backend.name!r}"
            cost = phase_cost(net, needs, edges, len(resources), need_cost, edge_cost)
            sub = phase_network(net, free, cost, supply)
            del cost  # sub has its own (or the same) array
            if sub.n_arcs == 0:
                sub_flow = np.zeros(0, dtype=np.int64)
            elif k > 0:
                # A restricted phase is mostly a forest: its flow is forced there,
                # and only the cycles left need the back-end (exact either way).
                sub_flow, rest, remainder = peel(sub)
                if remainder.n_arcs:
                    sub_flow[rest] = run_backend(who, fn, remainder)
            elif use_maxflow and maxflow.is_coverage_phase(sub):
                who = f"the coverage max flow of solver {backend.name!r}"
                sub_flow = run_backend(who, maxflow.coverage_flow, sub)
            else:
                sub_flow = run_backend(who, fn, sub)
            problems = check_flow(sub, sub_flow)
            if problems:
                raise SolverError(
                    f"{who} returned an infeasible flow in phase {name!r}: "
                    + "; ".join(problems)
                )
            flow[free] = sub_flow
            if k < len(phases) - 1:
                d = network_potentials(sub, sub_flow)
                if d is None:
                    raise SolverError(
                        f"{who} returned a flow that is not optimal in "
                        f"phase {name!r} (its residual graph has a negative cycle)"
                    )
                duals[-1].append(d)
                # Arcs fixed here keep the flow they have: every optimum shares it.
                sub_free, _, supply = restrict(sub, d, sub_flow)
                free[np.flatnonzero(free)[~sub_free]] = False
            del sub, sub_flow
            release()
            seconds[name] += time.perf_counter() - t0
            report(b, k)
        units[edges] = flow[a : a + m]
    return Solution(units, backend.name, True, cert, len(batches),
                    time.perf_counter() - t_start, seconds, duals,
                    bases if backend.supports_warm_start else None)


def verify(
    problem: TransportProblem,
    units: np.ndarray,
    duals: list[list[np.ndarray]] | None = None,
) -> Certificate:
    """Certify feasibility and (lexicographic) optimality of ``units``.

    Parameters
    ----------
    problem : TransportProblem
    units : ndarray of int, shape (n_edges,)
    duals : list of list of ndarray, optional
        :attr:`Solution.duals` of the solve that produced ``units``: each is
        checked against the residual graph in one pass (a valid one is a
        proof of optimality on its own); missing or failing ones are
        recomputed by Bellman–Ford, so a wrong hint never certifies.

    Returns
    -------
    Certificate
        ``bool(cert)`` is True when feasible and optimal in every phase.
    """
    phases = problem.phases()[:-1]
    cert = Certificate(phases=[name for name, _, _ in phases])
    units = np.asarray(units)
    if units.shape != (problem.n_edges,):
        cert.feasible = cert.optimal = False
        cert.problems.append(f"units has shape {units.shape}, expected ({problem.n_edges},)")
        return cert
    if not np.issubdtype(units.dtype, np.integer):
        if not np.all(np.isfinite(units)) or not np.all(units == np.rint(units)):
            cert.feasible = cert.optimal = False
            cert.problems.append("units are not integers")
            return cert
    units = units.astype(np.int64)
    # Summed over the edges that carry units (most carry none): the same sums.
    carry = np.flatnonzero(units)
    served = np.bincount(problem.need[carry], weights=units[carry], minlength=problem.n_needs)
    used = np.bincount(problem.resource[carry], weights=units[carry],
                       minlength=problem.n_resources)
    del carry
    if (units < 0).any():
        cert.problems.append(f"{int((units < 0).sum())} edges carry negative units")
    if (served > problem.demand).any():
        bad = np.flatnonzero(served > problem.demand)
        cert.problems.append(f"{len(bad)} needs get more than their demand (first: index {bad[0]})")
    if (used > problem.capacity).any():
        bad = np.flatnonzero(used > problem.capacity)
        cert.problems.append(
            f"{len(bad)} resources give more than their capacity (first: index {bad[0]})"
        )
    cert.problems.extend(problem.floor_shortfall(served))
    if cert.problems:
        cert.feasible = cert.optimal = False
        return cert
    for b, edges in enumerate(problem.batches(pack=packer() if is_compiled() else None)):
        # Compiled when the simplex is loaded (in a solve's certificate, the
        # networks are the solve's anyway).
        net, needs, resources, _, _ = batch_arrays(problem, edges, is_compiled())
        hints = duals[b] if duals is not None and b < len(duals) else []
        # In int64 from the start (the sums are whole: no float copy of the arcs).
        flow = np.concatenate(
            [served[needs].astype(np.int64), units[edges],
             used[resources].astype(np.int64), problem.group_flow(served, needs)]
        )
        # The arcs of the face still free; potentials never read supplies, so the
        # fixed arcs' flow need not move into them here.
        free = np.ones(net.n_arcs, dtype=bool)
        compiled = is_compiled()
        cost = None
        for k, (name, need_cost, edge_cost) in enumerate(phases):
            # (Compiled: each phase's costs in the last one's array, which nothing keeps.)
            cost = phase_cost(net, needs, edges, len(resources), need_cost, edge_cost,
                              compiled=compiled, out=cost)
            hint = hints[k] if k < len(hints) else None
            last = k == len(phases) - 1
            if hint is not None and hint.shape == (net.n_nodes,):
                # The hint checked on the free arcs in place: no copies of the face.
                # With a hint for the next phase, the next face is the arcs of zero
                # reduced cost, as the solver froze them (its next hint fits there;
                # the same optima as the smaller face the flow's zero-cost cycles
                # leave): ``free`` is narrowed to it in the same call.
                narrow = not last and k + 1 < len(hints)
                if optimal_face(cost, net.tail, net.head, net.capacity, flow, hint, free,
                                narrow=narrow, compiled=compiled):
                    if last:
                        break  # the last phase certified
                    if narrow:
                        continue
                    sub = phase_network(net, free, cost, net.supply)
                    sub_free, _, _ = restrict(sub, hint, flow[free])
                    free[np.flatnonzero(free)[~sub_free]] = False
                    continue
            sub = phase_network(net, free, cost, net.supply)
            sub_flow = flow[free]
            d = network_potentials(sub, sub_flow)
            if d is None:
                cert.optimal = False
                cert.problems.append(
                    f"phase {name!r}: the residual graph has a negative cycle, so a better "
                    "solution exists"
                )
                return cert
            if last:
                break  # the last phase certified: no next face to restrict to
            # With a hint for the next phase, the next face is the arcs of zero
            # reduced cost (where the hint fits); without, the smallest face (no
            # strongly connected components to find when a hint fits: 0.26 s at
            # city_100k).
            has_hint = k + 1 < len(hints)
            sub_free, _, _ = restrict(sub, d, None if has_hint else sub_flow)
            free[np.flatnonzero(free)[~sub_free]] = False
    return cert
