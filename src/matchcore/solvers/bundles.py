"""Team needs: needs sharing a ``bundle`` id are served all together or not at all.

All-or-nothing leaves the flow world (the constraint matrix is no longer
totally unimodular), so only the connected components that hold a bundle are
solved as an integer program, exactly, with :func:`scipy.optimize.milp`
(HiGHS branch and bound); the rest of the round stays a certified min-cost
flow. The lexicographic objective is kept: first the most weighted units,
then (with that fixed) the best integer score, as in the flow phases.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

from ..errors import SolverError
from ..model.problem import TransportProblem

__all__ = ["BundleSolution", "bundle_components", "solve_bundles"]


@dataclass
class BundleSolution:
    """The integer program of the bundles' components and its outcome.

    Attributes
    ----------
    units : ndarray of int64, shape (n_edges,)
        Units per candidate edge in the bundles' components (0 elsewhere).
    edges : ndarray of bool, shape (n_edges,)
        The edges of those components.
    needs, resources : ndarray of bool
        The needs and resources of those components.
    served : ndarray of bool, shape (n_bundles,)
        Whether each bundle is served (all its needs in full).
    status : str
        ``"optimal"`` when HiGHS proved every stage optimal, else its message.
    gap : float
        The relative MIP gap HiGHS reports (0 for a proven optimum).
    stages : list of dict
        Per stage (coverage, score): status, message, objective, mip_gap.
    """

    units: np.ndarray
    edges: np.ndarray
    needs: np.ndarray
    resources: np.ndarray
    served: np.ndarray
    status: str = "optimal"
    gap: float = 0.0
    stages: list[dict[str, object]] = field(default_factory=list)


def bundle_components(
    problem: TransportProblem, bundle: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The needs, resources and edges (bool masks) of the components holding a bundle.

    A bundle joins its needs into one component.
    """
    n_i, n_j = problem.n_needs, problem.n_resources
    n_b = int(bundle.max()) + 1 if (bundle >= 0).any() else 0
    n = n_i + n_j + n_b
    grouped = np.flatnonzero(bundle >= 0)
    rows = np.concatenate([problem.need, grouped])
    cols = np.concatenate([n_i + problem.resource, n_i + n_j + bundle[grouped]])
    adj = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)).tocsr()
    _, labels = connected_components(adj, directed=False)
    hot = np.zeros(labels.max() + 1 if n else 0, dtype=bool)
    hot[labels[grouped]] = True
    needs = hot[labels[:n_i]]
    resources = hot[labels[n_i : n_i + n_j]]
    return needs, resources, needs[problem.need]


def solve_bundles(
    problem: TransportProblem,
    bundle: np.ndarray,
    total_demand: np.ndarray,
    pinned: np.ndarray,
    *,
    time_limit: float | None = None,
) -> BundleSolution:
    """Solve the components holding a bundle exactly as an integer program.

    Parameters
    ----------
    problem : TransportProblem
        Demand and capacity already less any pinned units.
    bundle : ndarray of int64, shape (n_needs,)
        Bundle code of each need (-1: none).
    total_demand, pinned : ndarray of int64, shape (n_needs,)
        A bundled need is served when pinned plus assigned units reach its
        total demand; a pinned bundle must therefore be served.
    time_limit : float, optional
        Seconds per stage for HiGHS; the status and gap say if it stopped early.

    Raises
    ------
    SolverError
        HiGHS found no feasible solution (cannot happen without pins: serving
        no bundle is feasible) or failed.
    """
    needs, resources, edges = bundle_components(problem, bundle)
    e = np.flatnonzero(edges)
    n_bundles = int(bundle.max()) + 1 if (bundle >= 0).any() else 0
    units = np.zeros(problem.n_edges, dtype=np.int64)
    m = len(e)
    cols = np.arange(m)
    ni, nj = problem.need[e], problem.resource[e]
    # Variables: x (one per edge), then y (one per bundle).
    nv = m + n_bundles
    plain = bundle[ni] < 0
    a_need = csr_matrix((np.ones(int(plain.sum())), (ni[plain], cols[plain])),
                        shape=(problem.n_needs, nv))
    # Bundled need i:  Σ x - demand_i · y_b = -pinned_i  (full, or nothing beyond pins).
    bi = np.flatnonzero((bundle >= 0) & needs)
    link_x = coo_matrix((np.ones(int((~plain).sum())),
                         (np.searchsorted(bi, ni[~plain]), cols[~plain])), shape=(len(bi), nv))
    link_y = coo_matrix((-total_demand[bi].astype(float), (np.arange(len(bi)), m + bundle[bi])),
                        shape=(len(bi), nv))
    a_res = csr_matrix((np.ones(m), (nj, cols)), shape=(problem.n_resources, nv))
    cons = [
        LinearConstraint(a_need, 0, problem.demand.astype(float)),
        LinearConstraint((link_x + link_y).tocsr(), -pinned[bi].astype(float),
                         -pinned[bi].astype(float)),
        LinearConstraint(a_res, 0, problem.capacity.astype(float)),
    ]
    upper = np.concatenate([
        np.minimum(problem.demand[ni], problem.capacity[nj]).astype(float), np.ones(n_bundles),
    ])
    bounds = Bounds(np.zeros(nv), upper)
    integrality = np.ones(nv)
    options = {} if time_limit is None else {"time_limit": time_limit}
    stages: list[tuple[str, np.ndarray]] = []
    if problem.objective == "coverage":
        stages.append(("coverage", problem.weight[ni].astype(float)))
    stages.append(("score", problem.score_int[e].astype(float)))
    report: list[dict[str, object]] = []
    x = np.zeros(nv)
    for name, gain in stages:
        c = np.concatenate([-gain, np.zeros(n_bundles)])
        res = milp(c, constraints=cons, integrality=integrality, bounds=bounds, options=options)
        report.append({"stage": name, "status": int(res.status), "message": str(res.message),
                       "objective": None if res.x is None else float(-res.fun),
                       "mip_gap": float(getattr(res, "mip_gap", 0.0) or 0.0)})
        if res.x is None:
            raise SolverError(f"the bundles' integer program has no solution in stage "
                              f"{name!r}: {res.message}")
        x = res.x
        # Fix this stage's optimum (integers: an equality) before the next.
        best = float(np.rint(-res.fun))
        cons = [*cons, LinearConstraint(-c[None, :], best, np.inf)]
    units[e] = np.rint(x[:m]).astype(np.int64)
    served = np.rint(x[m:]).astype(bool)
    proven = all(r["status"] == 0 for r in report)
    status = "optimal" if proven else "; ".join(str(r["message"]) for r in report)
    gap = max(float(r["mip_gap"]) for r in report)  # type: ignore[arg-type]
    return BundleSolution(units, edges, needs, resources, served, status, gap, report)
