"""Independent references for the optimisation: a networkx min-cost flow and brute force.

Both work on a :class:`matchcore.model.problem.TransportProblem` and its integer
scores ``problem.score_int`` (what the back-ends optimise), and return the
optimal *lexicographic objective tuple*: ``(priority-weighted units, integer
score)`` for "coverage", ``(integer score,)`` for "score". Python ints never
overflow, so the coverage objective uses a big-M weight here — fine for an
oracle on small instances (the library itself never does).
"""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pandas as pd

from matchcore.model.problem import TransportProblem

__all__ = ["assert_same_plan", "assignment_pairs", "brute_force", "lex_objective",
           "networkx_oracle"]


def lex_objective(problem: TransportProblem, units: np.ndarray) -> tuple[int, ...]:
    """The objective tuple of a solution, compared lexicographically (larger is better)."""
    u = [int(v) for v in units]
    sc = [int(v) for v in problem.score_int]
    score = sum(a * b for a, b in zip(sc, u))
    if problem.objective == "score":
        return (score,)
    w = [int(problem.weight[i]) for i in problem.need]
    return (sum(a * b for a, b in zip(w, u)), score)


def networkx_oracle(problem: TransportProblem) -> tuple[tuple[int, ...], np.ndarray]:
    """Optimum by :func:`networkx.network_simplex` on source → needs → resources → sink.

    A bypass arc source → sink lets any unit stay unserved.
    """
    total = int(problem.demand.sum())
    sc = [int(v) for v in problem.score_int]
    edge_cap = [int(min(problem.demand[i], problem.capacity[j]))
                for i, j in zip(problem.need, problem.resource)]
    big = sum(abs(s) * c for s, c in zip(sc, edge_cap)) + 1
    g = nx.DiGraph()
    g.add_node("s", demand=-total)
    g.add_node("t", demand=total)
    g.add_edge("s", "t", capacity=total, weight=0)
    for i, d in enumerate(problem.demand):
        g.add_edge("s", ("n", i), capacity=int(d), weight=0)
    for j, c in enumerate(problem.capacity):
        g.add_edge(("r", j), "t", capacity=int(c), weight=0)
    for e, (i, j) in enumerate(zip(problem.need, problem.resource)):
        value = sc[e]
        if problem.objective == "coverage":
            value += big * int(problem.weight[i])
        g.add_edge(("n", int(i)), ("r", int(j)), capacity=edge_cap[e], weight=-value)
    _, flow = nx.network_simplex(g)
    units = np.array([flow[("n", int(i))][("r", int(j))]
                      for i, j in zip(problem.need, problem.resource)], dtype=np.int64)
    return lex_objective(problem, units), units


def brute_force(problem: TransportProblem, limit: int = 50_000) -> tuple[int, ...] | None:
    """Optimum by enumerating every integer assignment (None when there are too many)."""
    caps = [int(min(problem.demand[i], problem.capacity[j]))
            for i, j in zip(problem.need, problem.resource)]
    if int(np.prod([c + 1 for c in caps], dtype=float)) > limit:
        return None
    best = None
    for units in itertools.product(*(range(c + 1) for c in caps)):
        u = np.array(units, dtype=np.int64)
        served = np.bincount(problem.need, weights=u, minlength=problem.n_needs)
        used = np.bincount(problem.resource, weights=u, minlength=problem.n_resources)
        if (served > problem.demand).any() or (used > problem.capacity).any():
            continue
        value = lex_objective(problem, u)
        if best is None or value > best:
            best = value
    return best


def assignment_pairs(result) -> pd.DataFrame:
    """need_id, resource_id, units of a result's assignments, in id order."""
    a = result.assignments[["need_id", "resource_id", "units"]]
    return a.sort_values(["need_id", "resource_id"]).reset_index(drop=True)


def assert_same_plan(a, b) -> None:
    """Two results of one problem (warm and cold, say) are the same plan, and ``a`` certifies.

    Same objective, the same assignments, the same units and scores per edge.
    """
    assert a.objective == b.objective
    pd.testing.assert_frame_equal(assignment_pairs(a), assignment_pairs(b))
    assert np.array_equal(a.units, b.units)
    assert np.array_equal(a.score, b.score)
    assert a.verify()
