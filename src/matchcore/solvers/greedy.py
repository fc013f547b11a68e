"""Greedy back-end: the best remaining edge first (an inexact baseline).

This is the rule offices apply by hand, vectorised where it can be: edges are
ranked once (for "coverage": the need's priority weight, then the score; for
"score": the score), and each edge takes as many units as its need and its
resource still have. It is fast and usually good, but not optimal; the
result says so (``is_exact`` is False) and its gap is reported by the
certificate.
"""

from __future__ import annotations

import numpy as np

from ..problem import TransportProblem

__all__ = ["solve_greedy"]


def solve_greedy(problem: TransportProblem) -> np.ndarray:
    """Assign units edge by edge in order of preference.

    Parameters
    ----------
    problem : TransportProblem

    Returns
    -------
    ndarray of int64, shape (n_edges,)
        Units per candidate edge (feasible, not necessarily optimal).
    """
    score = problem.score_int
    if problem.objective == "coverage":
        order = np.lexsort((problem.resource, problem.need, -score,
                            -problem.weight[problem.need]))
    else:
        order = np.lexsort((problem.resource, problem.need, -score))
        order = order[score[order] > 0]
    demand = problem.demand.astype(np.int64).tolist()
    capacity = problem.capacity.astype(np.int64).tolist()
    need = problem.need.tolist()
    resource = problem.resource.tolist()
    units = [0] * problem.n_edges
    for e in order.tolist():
        i, j = need[e], resource[e]
        u = min(demand[i], capacity[j])
        if u > 0:
            units[e] = u
            demand[i] -= u
            capacity[j] -= u
    return np.asarray(units, dtype=np.int64)
