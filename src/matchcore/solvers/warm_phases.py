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

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import MatchcoreError, SolverError
from ..model.problem import FlowNetwork
from .certify import check_flow, net_outflow, network_potentials
from .network_simplex import Basis, is_hub_layout, network_simplex, transport_start

__all__ = ["solve_phases"]


def solve_phases(
    net: FlowNetwork,
    phase_costs: Sequence[tuple[str, Callable[[], np.ndarray]]],
    n_needs: int,
    seconds: dict[str, float],
    who: str = "solver 'simplex'",
    warm_solve: Callable[..., Any] = network_simplex,
) -> tuple[np.ndarray, list[np.ndarray]]:
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
    # The arcs still free (indices into net) and their arrays; frozen arcs leave
    # the network, their flow stays in ``total`` and in the supplies.
    keep = np.arange(net.n_arcs)
    tail, head, cap = net.tail, net.head, net.capacity
    supply = net.supply
    total = np.zeros(net.n_arcs, dtype=np.int64)
    basis: Basis | None = None
    duals: list[np.ndarray] = []
    for k, (name, make_cost) in enumerate(phase_costs):
        t0 = time.perf_counter()
        cost = make_cost()
        if len(keep) < net.n_arcs:
            cost = cost[keep]
        sub = FlowNetwork(n, tail, head, cap, cost, supply)
        if basis is None and is_hub_layout(sub, n_needs):
            basis = transport_start(sub, n_needs)
        # (A floor's group arcs break the hub layout: those batches start cold.)
        try:
            res = warm_solve(sub, basis=basis)
        except (MatchcoreError, MemoryError) as err:
            if not isinstance(err, SolverError):
                raise
            raise SolverError(f"{who} failed: {err}") from err
        except Exception as err:  # as phases.run_backend: whatever a back-end raises
            raise SolverError(f"{who} failed: {type(err).__name__}: {err}") from err
        flow, basis = res.flow, res.basis
        d: np.ndarray | None = res.potentials
        del res
        problems = check_flow(sub, flow)
        if problems:
            raise SolverError(
                f"{who} returned an infeasible flow in phase {name!r}: " + "; ".join(problems)
            )
        total[keep] = flow
        if k < len(phase_costs) - 1:
            d = network_potentials(sub, flow, hint=d)
            if d is None:
                raise SolverError(
                    f"{who} returned a flow that is not optimal in phase {name!r} "
                    "(its residual graph has a negative cycle)"
                )
            duals.append(d)
            rc = cost + d[tail] - d[head]
            free = rc == 0
            # Saturated (rc < 0) or empty (rc > 0) in every optimum: a fixed transfer.
            supply = supply - net_outflow(n, tail[~free], head[~free], flow[~free])
            # Tree arcs have rc == 0, so the basis keeps its tree.
            arc_map = np.full(len(keep), -1, dtype=np.int64)
            arc_map[free] = np.arange(int(free.sum()))
            basis = basis.remap(arc_map, int(free.sum()))
            keep, tail, head, cap = keep[free], tail[free], head[free], cap[free]
            del rc, free, arc_map
        del sub, cost, flow  # before the next phase's costs are made
        seconds[name] += time.perf_counter() - t0
    return total, duals
