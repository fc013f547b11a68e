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
"""

from __future__ import annotations

import time

import numpy as np

from ..errors import SolverError
from ..problem import FlowNetwork
from . import maxflow
from .certify import check_flow, net_outflow, network_potentials
from .network_simplex import Basis, network_simplex, transport_start

__all__ = ["COVERAGE_BY_MAXFLOW", "solve_phases"]

#: Whether the coverage phase is solved by max flows (then the simplex starts
#: the score phase from that flow) instead of by the simplex itself.
COVERAGE_BY_MAXFLOW = False


def solve_phases(
    net: FlowNetwork,
    phase_costs: list[tuple[str, np.ndarray]],
    n_needs: int,
    seconds: dict[str, float],
    who: str = "solver 'simplex'",
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Optimise the phases in turn on one network, warm from one basis.

    Parameters
    ----------
    net : FlowNetwork
        A batch's circulation (:meth:`TransportProblem.network`: hub 0, then
        the needs' arcs first); its own costs are ignored.
    phase_costs : list of (name, ndarray of int64, shape (n_arcs,))
        Each phase's arc costs, minimised in turn.
    n_needs : int
        Needs of the batch (the hub's first arcs), for the greedy start.
    seconds : dict
        Time per phase, added to.

    Returns
    -------
    flow : ndarray of int64, shape (n_arcs,)
        Lexicographically optimal.
    duals : list of ndarray
        The certifying potentials of every phase but the last.

    Raises
    ------
    SolverError
        A phase's flow is infeasible or not optimal (never expected).
    """
    n = net.n_nodes
    cap = net.capacity
    supply = net.supply
    fixed = np.zeros(net.n_arcs, dtype=np.int64)  # flow of frozen saturated arcs
    basis: Basis | None = None
    duals: list[np.ndarray] = []
    flow = fixed
    for k, (name, cost) in enumerate(phase_costs):
        t0 = time.perf_counter()
        sub = FlowNetwork(n, net.tail, net.head, cap, cost, supply)
        d: np.ndarray | None = None
        if k == 0 and COVERAGE_BY_MAXFLOW and maxflow.is_coverage_phase(sub):
            flow = maxflow.coverage_flow(sub)
            basis = Basis.from_flow(sub, flow)
        else:
            if basis is None:
                basis = transport_start(sub, n_needs)
            res = network_simplex(sub, basis=basis)
            flow, d, basis = res.flow, res.potentials, res.basis
        problems = check_flow(sub, flow)
        if problems:
            raise SolverError(
                f"{who} returned an infeasible flow in phase {name!r}: " + "; ".join(problems)
            )
        if k < len(phase_costs) - 1:
            d = network_potentials(sub, flow, hint=d)
            if d is None:
                raise SolverError(
                    f"{who} returned a flow that is not optimal in phase {name!r} "
                    "(its residual graph has a negative cycle)"
                )
            duals.append(d)
            rc = cost + d[net.tail] - d[net.head]
            # Saturated in every optimum: a fixed transfer from now on.
            sat = np.where(rc < 0, cap, 0)
            fixed = fixed + sat
            supply = supply - net_outflow(n, net.tail, net.head, sat)
            cap = np.where(rc != 0, 0, cap)
            del rc, sat
        seconds[name] += time.perf_counter() - t0
    return fixed + flow, duals
