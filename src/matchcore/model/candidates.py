"""The bipartite candidate graph: which resource may serve which need.

An edge need i — resource j exists when the categories are compatible (the
taxonomy's affinity is above 0), j is within reach (the global ``max_distance``
and j's own radius, found with :class:`scipy.spatial.cKDTree`, never an
all-pairs loop), the optional ``scope`` holds, the time windows overlap and j
offers every skill i requires. Edges are held as flat arrays sorted by
(need id, resource id): CSR by need.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np
import pandas as pd

from ..checks import check_choice, check_scalar
from ..errors import InputError
from ..schema import validate_needs, validate_resources
from .district import District, to_district
from .taxonomy import Taxonomy

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx
    from scipy.spatial import cKDTree

__all__ = [
    "SCOPES",
    "CandidateGraph",
    "Scope",
    "build_candidates",
    "candidates_of",
    "edge_distances",
    "keep_best",
]

Scope = Literal["grid", "community", "street"]
SCOPES: tuple[str, ...] = get_args(Scope)

#: Above this many edges a reach-unlimited (dense) candidate set is refused.
MAX_DENSE_EDGES = 50_000_000


@dataclass(frozen=True, eq=False)
class CandidateGraph:
    """Candidate edges between needs and resources, as flat arrays.

    Edges are sorted by need index then resource index (indices follow the
    id-sorted order of each list), so ``indptr`` gives each need's edges as in
    a CSR matrix.

    Attributes
    ----------
    need, resource : ndarray of int64, shape (n_edges,)
        End points of each edge.
    distance : ndarray of float, shape (n_edges,)
        Metres between the need and the resource.
    affinity : ndarray of float, shape (n_edges,)
        The taxonomy's affinity of the edge.
    indptr : ndarray of int64, shape (n_needs + 1,)
        Edges of need ``i`` are ``indptr[i]:indptr[i + 1]``.
    funnel : pandas.DataFrame
        Per need, how many resources survive each filter in turn:
        ``compatible``, ``in_reach``, ``time_overlap``, ``skills``.
    """

    need_ids: np.ndarray
    resource_ids: np.ndarray
    need: np.ndarray
    resource: np.ndarray
    distance: np.ndarray
    affinity: np.ndarray
    funnel: pd.DataFrame
    pruned: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def n_edges(self) -> int:
        return len(self.need)

    @property
    def n_needs(self) -> int:
        return len(self.need_ids)

    @property
    def n_resources(self) -> int:
        return len(self.resource_ids)

    @property
    def indptr(self) -> np.ndarray:
        return np.searchsorted(self.need, np.arange(self.n_needs + 1)).astype(np.int64)

    def subset(self, keep: np.ndarray) -> CandidateGraph:
        """The graph with only the edges where ``keep`` (bool or indices) holds."""
        return CandidateGraph(
            self.need_ids,
            self.resource_ids,
            self.need[keep],
            self.resource[keep],
            self.distance[keep],
            self.affinity[keep],
            self.funnel,
            self.pruned,
        )

    def to_frame(self) -> pd.DataFrame:
        """Edges as a frame: need_id, resource_id, distance, affinity.

        Examples
        --------
        >>> import matchcore as mc
        >>> g = mc.build_candidates(*mc.synthetic.tiny(), max_distance=2000)
        >>> list(g.to_frame().columns)
        ['need_id', 'resource_id', 'distance', 'affinity']
        """
        return pd.DataFrame(
            {
                "need_id": self.need_ids[self.need],
                "resource_id": self.resource_ids[self.resource],
                "distance": self.distance,
                "affinity": self.affinity,
            }
        )

    def to_networkx(self) -> nx.Graph:
        """A bipartite :class:`networkx.Graph` for analysis.

        Nodes are ``("need", id)`` and ``("resource", id)`` with attribute
        ``bipartite`` 0 / 1; edges carry ``distance`` and ``affinity``.

        Examples
        --------
        >>> import matchcore as mc
        >>> g = mc.build_candidates(*mc.synthetic.tiny(), max_distance=2000).to_networkx()
        >>> g.number_of_nodes()
        9
        """
        import networkx as nx

        graph = nx.Graph()
        graph.add_nodes_from((("need", i) for i in self.need_ids), bipartite=0)
        graph.add_nodes_from((("resource", j) for j in self.resource_ids), bipartite=1)
        graph.add_edges_from(
            (
                ("need", self.need_ids[a]),
                ("resource", self.resource_ids[b]),
                {"distance": float(d), "affinity": float(f)},
            )
            for a, b, d, f in zip(self.need, self.resource, self.distance, self.affinity)
        )
        return graph


def edge_distances(
    need_xy: np.ndarray, resource_xy: np.ndarray, need: np.ndarray, resource: np.ndarray
) -> np.ndarray:
    """Metres between each edge's need and resource, as the k-d tree measures them.

    ``sqrt(dx * dx + dy * dy)`` with each step rounded as
    :meth:`scipy.spatial.cKDTree.sparse_distance_matrix` rounds it for the
    Euclidean norm (the squares summed in axis order, then one square root),
    so that it gives :func:`candidates_of`'s distances of pairs found within a
    finite reach bit for bit (at city_100k all 2.49M). :func:`numpy.hypot`,
    which the reach-unlimited path uses, rounds otherwise (17% of those edges
    differ in the last bit), and a scipy build that fused the multiply-adds
    would too: a caller that relies on exactness compares (the ledger's warm
    state does, :mod:`matchcore.ledger.warm_codec`).

    Parameters
    ----------
    need_xy : ndarray of float, shape (n_needs, 2)
    resource_xy : ndarray of float, shape (n_resources, 2)
        Positions on the district's plane (:attr:`District.need_xy`).
    need, resource : ndarray of int, shape (n_edges,)
        The edges' end points.

    Returns
    -------
    ndarray of float64, shape (n_edges,)

    Examples
    --------
    >>> import numpy as np
    >>> import matchcore as mc
    >>> result = mc.match(*mc.synthetic.tiny(), max_distance=2000)
    >>> d, g = result.district, result.graph
    >>> again = edge_distances(d.need_xy, d.resource_xy, g.need, g.resource)
    >>> bool(np.array_equal(again, g.distance))
    True
    """
    need_xy = np.asarray(need_xy, dtype=np.float64)
    resource_xy = np.asarray(resource_xy, dtype=np.float64)

    def squared(k: int) -> np.ndarray:
        # Per axis on contiguous columns, in place: a third of the time of (n, 2) rows.
        delta = np.take(np.ascontiguousarray(need_xy[:, k]), need)
        delta -= np.take(np.ascontiguousarray(resource_xy[:, k]), resource)
        delta *= delta
        return delta

    out = squared(0)
    out += squared(1)
    return np.sqrt(out, out=out)


def _pairs_within(
    a_xy: np.ndarray,
    b_xy: np.ndarray,
    radius: float,
    trees: tuple[Callable[[], cKDTree], Callable[[], cKDTree]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (a, b) within ``radius`` and their distance; ``trees`` builds (or reuses)
    the two k-d trees of the points."""
    if len(a_xy) == 0 or len(b_xy) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    if np.isinf(radius):
        if len(a_xy) * len(b_xy) > MAX_DENSE_EDGES:
            raise InputError(
                f"without max_distance every compatible pair is a candidate "
                f"({len(a_xy) * len(b_xy):,} here); set max_distance or give resources "
                "a service radius (max_distance column)"
            )
        grid_a, grid_b = np.meshgrid(np.arange(len(a_xy)), np.arange(len(b_xy)), indexing="ij")
        ia, ib = grid_a.ravel(), grid_b.ravel()
        dist = np.hypot(*(a_xy[ia] - b_xy[ib]).T)
        return ia.astype(np.int64), ib.astype(np.int64), dist
    from scipy.spatial import cKDTree  # lazily: scipy.spatial is a third of `import matchcore`

    ta, tb = trees if trees is not None else (lambda: cKDTree(a_xy), lambda: cKDTree(b_xy))
    pairs = ta().sparse_distance_matrix(tb(), radius, output_type="ndarray")
    return pairs["i"].astype(np.int64), pairs["j"].astype(np.int64), pairs["v"]


def build_candidates(
    needs: pd.DataFrame,
    resources: pd.DataFrame,
    *,
    taxonomy: Taxonomy | None = None,
    max_distance: float | None = None,
    scope: Scope | None = None,
) -> CandidateGraph:
    """Build the candidate graph of two lists.

    Parameters
    ----------
    needs, resources : pandas.DataFrame
        The two lists (validated here if they are not already).
    taxonomy : Taxonomy, optional
        Category affinities; :meth:`Taxonomy.default` when None.
    max_distance : float, optional
        Global reach in metres. A resource's own ``max_distance`` also
        applies; without either, reach is unlimited.
    scope : {None, "grid", "community", "street"}
        Only match within the same grid, the same community, or anywhere in
        the street (the default).

    Returns
    -------
    CandidateGraph

    Raises
    ------
    InputError
        On invalid lists or arguments.

    See Also
    --------
    matchcore.match : the whole pipeline.

    Examples
    --------
    >>> import matchcore as mc
    >>> needs, resources = mc.synthetic.tiny()
    >>> g = mc.build_candidates(needs, resources, max_distance=2000)
    >>> g.n_edges
    4
    """
    reach = check_scalar(max_distance, "max_distance", "float", low=0, unit="metres",
                         allow_none=True)
    if scope is not None:
        check_choice(scope, "scope", SCOPES)
    if taxonomy is not None and not isinstance(taxonomy, Taxonomy):
        raise InputError(
            f"`taxonomy` must be a matchcore.Taxonomy or None; got {type(taxonomy).__name__}"
        )
    district = to_district(validate_needs(needs, taxonomy=taxonomy),
                           validate_resources(resources, taxonomy=taxonomy))
    return candidates_of(district, taxonomy=taxonomy, max_distance=reach, scope=scope)


def candidates_of(
    district: District,
    *,
    taxonomy: Taxonomy | None = None,
    max_distance: float | None = None,
    scope: Scope | None = None,
) -> CandidateGraph:
    """Candidate edges of an id-sorted :class:`District`.

    Trusts its arguments: they were checked where they entered
    (:class:`matchcore.MatchOptions`, :func:`build_candidates`).
    """
    reach = np.inf if max_distance is None else float(max_distance)
    tax = taxonomy if taxonomy is not None else Taxonomy.default()
    d = district
    cats = [str(c) for c in d.categories]
    aff = tax.matrix(cats, cats)

    need_by_cat = _group(d.need_category, len(cats))
    res_by_cat = _group(d.resource_category, len(cats))
    res_count = np.array([len(g) for g in res_by_cat], dtype=np.int64)
    compatible = ((aff > 0) @ res_count)[d.need_category] if d.n_needs else np.zeros(0, np.int64)

    parts_i, parts_j, parts_d, parts_a = [], [], [], []
    # One k-d tree per category of each list, reused across category pairs.
    cache: dict[tuple[int, int], cKDTree] = {}

    def tree(side: int, c: int, xy: np.ndarray) -> Callable[[], cKDTree]:
        def get() -> cKDTree:
            from scipy.spatial import cKDTree

            if (side, c) not in cache:
                cache[side, c] = cKDTree(xy)
            return cache[side, c]

        return get

    for a in range(len(cats)):
        ia_all = need_by_cat[a]
        if len(ia_all) == 0:
            continue
        for b in np.flatnonzero(aff[a] > 0):
            jb_all = res_by_cat[b]
            if len(jb_all) == 0:
                continue
            radius = min(reach, float(d.radius[jb_all].max()))
            a_xy, b_xy = d.need_xy[ia_all], d.resource_xy[jb_all]
            ia, jb, dist = _pairs_within(
                a_xy, b_xy, radius, (tree(0, a, a_xy), tree(1, int(b), b_xy))
            )
            i, j = ia_all[ia], jb_all[jb]
            ok = dist <= d.radius[j]
            parts_i.append(i[ok])
            parts_j.append(j[ok])
            parts_d.append(dist[ok])
            parts_a.append(np.full(int(ok.sum()), aff[a, b]))

    def cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    i, j = cat(parts_i, np.int64), cat(parts_j, np.int64)
    dist, affinity = cat(parts_d, np.float64), cat(parts_a, np.float64)
    del parts_i, parts_j, parts_d, parts_a  # not held through the filters below

    # One mask through the filters (compacting the edge arrays once, at the end);
    # the funnel counts each filter's survivors per need.
    if scope == "grid":
        keep = (d.need_grid[i] >= 0) & (d.need_grid[i] == d.resource_grid[j])
    elif scope == "community":
        keep = (d.need_community[i] >= 0) & (d.need_community[i] == d.resource_community[j])
    else:
        keep = np.ones(len(i), dtype=bool)
    in_reach = np.bincount(i[keep], minlength=d.n_needs)

    nw, rw = d.need_window, d.resource_window
    lo, hi = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    if not ((nw[:, 0] == lo).all() and (rw[:, 1] == hi).all()):
        keep &= nw[:, 0].copy()[i] <= rw[:, 1].copy()[j]
    if not ((rw[:, 0] == lo).all() and (nw[:, 1] == hi).all()):
        keep &= rw[:, 0].copy()[j] <= nw[:, 1].copy()[i]
    time_overlap = np.bincount(i[keep], minlength=d.n_needs)

    # Only needs that require a skill can lose an edge here.
    asks = np.asarray(d.need_skills.any(axis=1), dtype=bool)
    at = np.flatnonzero(keep & asks[i])
    lacking: np.ndarray = np.any(
        (d.need_skills[i[at]] & ~d.resource_skills[j[at]]) != 0, axis=1
    )
    keep[at[lacking]] = False
    at = np.flatnonzero(keep)
    skills = np.bincount(i[at], minlength=d.n_needs)

    # Sort by (need, resource): pairs are unique, so one int64 key sorts them.
    order = at[np.argsort(i[at] * max(d.n_resources, 1) + j[at])]
    funnel = pd.DataFrame(
        {
            "compatible": compatible.astype(np.int64),
            "in_reach": in_reach.astype(np.int64),
            "time_overlap": time_overlap.astype(np.int64),
            "skills": skills.astype(np.int64),
        },
        index=pd.Index(d.need_ids, name="need_id"),
    )
    return CandidateGraph(
        d.need_ids, d.resource_ids, i[order], j[order], dist[order], affinity[order], funnel
    )


def _group(codes: np.ndarray, n: int) -> list[np.ndarray]:
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(n + 1))
    return [order[bounds[k] : bounds[k + 1]] for k in range(n)]


def keep_best(
    graph: CandidateGraph, score: np.ndarray, k: int
) -> tuple[CandidateGraph, np.ndarray]:
    """Keep the ``k`` best-scoring edges of each need (ties: lower resource id first).

    Returns the pruned graph and the indices of the kept edges.
    """
    k = check_scalar(k, "max_candidates", "int", low=1)
    # Sort within each need by descending score, then resource index.
    order = np.lexsort((graph.resource, -score, graph.need))
    need_sorted = graph.need[order]
    starts = np.searchsorted(need_sorted, need_sorted, side="left")
    rank = np.arange(len(order)) - starts
    kept = np.sort(order[rank < k])
    pruned = np.bincount(graph.need, minlength=graph.n_needs) - np.bincount(
        graph.need[kept], minlength=graph.n_needs
    )
    sub = graph.subset(kept)
    return CandidateGraph(
        sub.need_ids,
        sub.resource_ids,
        sub.need,
        sub.resource,
        sub.distance,
        sub.affinity,
        sub.funnel,
        pruned,
    ), kept
