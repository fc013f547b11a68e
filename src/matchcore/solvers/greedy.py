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

from ..model.problem import TransportProblem

__all__ = ["fill_in_order", "solve_greedy"]


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
    return fill_in_order(order, problem.need, problem.resource, problem.demand,
                         problem.capacity)


def fill_in_order(
    order: np.ndarray,
    need: np.ndarray,
    resource: np.ndarray,
    demand: np.ndarray,
    capacity: np.ndarray,
) -> np.ndarray:
    """Let each edge of ``order`` in turn take all the units its need and resource have left.

    The sequential core of every hand rule (greedy, nearest first, first come
    first served): one pass over plain lists, O(len(order)).

    Parameters
    ----------
    order : ndarray of int
        Edge indices, in the order they take units (edges left out take none).
    need, resource : ndarray of int, shape (n_edges,)
        End points of each edge.
    demand, capacity : ndarray of int
        Units each need wants and each resource offers.

    Returns
    -------
    ndarray of int64, shape (n_edges,)
        Units per edge (feasible).

    Examples
    --------
    >>> import numpy as np
    >>> fill_in_order(np.array([1, 0]), np.array([0, 1]), np.array([0, 0]),
    ...               np.array([1, 1]), np.array([1])).tolist()
    [0, 1]
    """
    left = np.asarray(demand, dtype=np.int64).tolist()
    spare = np.asarray(capacity, dtype=np.int64).tolist()
    need_l = np.asarray(need).tolist()
    res_l = np.asarray(resource).tolist()
    units = [0] * len(need_l)
    for e in np.asarray(order, dtype=np.int64).tolist():
        i, j = need_l[e], res_l[e]
        u = min(left[i], spare[j])
        if u > 0:
            units[e] = u
            left[i] -= u
            spare[j] -= u
    return np.asarray(units, dtype=np.int64)
