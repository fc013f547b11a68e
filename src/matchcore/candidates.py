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
from scipy.spatial import cKDTree

from .errors import InputError
from .schema import split_list
from .taxonomy import Taxonomy

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

__all__ = ["CandidateGraph", "District", "Scope", "build_candidates", "to_district"]

Scope = Literal["grid", "community", "street"]
SCOPES: tuple[str, ...] = get_args(Scope)

EARTH_RADIUS_M = 6_371_008.8
#: Above this many edges a reach-unlimited (dense) candidate set is refused.
MAX_DENSE_EDGES = 50_000_000


@dataclass(frozen=True, eq=False)
class District:
    """Both lists as arrays, sorted by id (internal; built by :func:`to_district`).

    Sorting by id once, at the boundary, makes every later step independent of
    the callers' row order. Strings used in comparisons (categories,
    communities, grids, skills) share one code space across both lists.
    """

    needs: pd.DataFrame
    resources: pd.DataFrame
    need_ids: np.ndarray
    resource_ids: np.ndarray
    need_xy: np.ndarray
    resource_xy: np.ndarray
    demand: np.ndarray
    capacity: np.ndarray
    priority: np.ndarray
    need_category: np.ndarray
    resource_category: np.ndarray
    categories: np.ndarray
    need_community: np.ndarray
    resource_community: np.ndarray
    need_grid: np.ndarray
    resource_grid: np.ndarray
    need_window: np.ndarray
    resource_window: np.ndarray
    need_skills: np.ndarray
    resource_skills: np.ndarray
    radius: np.ndarray
    partner_keys: np.ndarray
    n_communities: int
    origin: tuple[float, float] | None = None

    @property
    def n_needs(self) -> int:
        return len(self.need_ids)

    @property
    def n_resources(self) -> int:
        return len(self.resource_ids)


def _codes(values: list[pd.Series]) -> tuple[list[np.ndarray], np.ndarray]:
    """Factorize several string series in one code space (missing -> -1)."""
    joined = pd.concat(values, ignore_index=True)
    codes, uniques = pd.factorize(joined, sort=True, use_na_sentinel=True)
    out, start = [], 0
    for v in values:
        out.append(codes[start : start + len(v)].astype(np.int64))
        start += len(v)
    return out, np.asarray(uniques, dtype=object)


def _skill_bits(needs: pd.Series, resources: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """One bit per distinct skill (sorted), one row of words per need / resource.

    Splits each distinct cell once (skill cells repeat), then spreads the rows.
    """
    cells = []
    for s in (needs, resources):
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        items = [split_list(u) for u in np.asarray(uniques, dtype=object).tolist()]
        cells.append((codes, items))
    vocab = sorted({w for _, items in cells for cell in items for w in cell})
    index = {w: k for k, w in enumerate(vocab)}
    n_words = max(1, (len(vocab) + 63) // 64)
    out = []
    for codes, items in cells:
        # One extra row of zeros for missing cells (code -1).
        ubits = np.zeros((len(items) + 1, n_words), dtype=np.uint64)
        for u, cell in enumerate(items):
            for w in cell:
                c = index[w]
                ubits[u, c // 64] |= np.uint64(1) << np.uint64(c % 64)
        out.append(ubits[codes])
    return out[0], out[1]


def _window(frame: pd.DataFrame) -> np.ndarray:
    lo = np.iinfo(np.int64).min
    hi = np.iinfo(np.int64).max
    n = len(frame)
    win = np.empty((n, 2), dtype=np.int64)
    for k, (col, fill) in enumerate((("window_start", lo), ("window_end", hi))):
        if col in frame.columns:
            vals = frame[col].to_numpy(dtype="datetime64[ns]")
            ints = vals.view(np.int64).copy()
            ints[np.isnat(vals)] = fill
            win[:, k] = ints
        else:
            win[:, k] = fill
    return win


def _positions(
    needs: pd.DataFrame, resources: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, tuple[float, float] | None]:
    n_xy = "x" in needs.columns
    r_xy = "x" in resources.columns
    if n_xy != r_xy:
        raise InputError(
            "needs and resources must use the same coordinates: "
            f"needs use {'x/y' if n_xy else 'lat/lon'}, resources use "
            f"{'x/y' if r_xy else 'lat/lon'}"
        )
    if n_xy:
        return (
            needs[["x", "y"]].to_numpy(dtype=float),
            resources[["x", "y"]].to_numpy(dtype=float),
            None,
        )
    lat = np.concatenate([needs["lat"].to_numpy(float), resources["lat"].to_numpy(float)])
    lon = np.concatenate([needs["lon"].to_numpy(float), resources["lon"].to_numpy(float)])
    # The centre of the bounding box, not the mean: it does not depend on row order.
    lat0 = 0.5 * (lat.min() + lat.max()) if len(lat) else 0.0
    lon0 = 0.5 * (lon.min() + lon.max()) if len(lon) else 0.0
    x = np.radians(lon - lon0) * EARTH_RADIUS_M * np.cos(np.radians(lat0))
    y = np.radians(lat - lat0) * EARTH_RADIUS_M
    xy = np.column_stack([x, y])
    return xy[: len(needs)], xy[len(needs) :], (float(lat0), float(lon0))


def to_district(needs: pd.DataFrame, resources: pd.DataFrame) -> District:
    """Turn two *validated* lists into id-sorted arrays (internal).

    lat/lon are projected on a local equirectangular plane centred on the
    bounding box of both lists (error below 0.1 % across a city).
    """
    needs = needs.sort_values("need_id", kind="stable").reset_index(drop=True)
    resources = resources.sort_values("resource_id", kind="stable").reset_index(drop=True)
    need_xy, res_xy, origin = _positions(needs, resources)

    def col(frame: pd.DataFrame, name: str) -> pd.Series:
        if name in frame.columns:
            return frame[name].astype(object)
        return pd.Series([None] * len(frame), dtype=object)

    (nc, rc), categories = _codes(
        [needs["category"].astype(object), resources["category"].astype(object)]
    )
    (ncomm, rcomm), communities = _codes([col(needs, "community"), col(resources, "community")])
    (ngrid, rgrid), _ = _codes(
        [
            col(needs, "community").fillna("") + "\x1f" + col(needs, "grid").fillna("\x00"),
            col(resources, "community").fillna("") + "\x1f" + col(resources, "grid").fillna("\x00"),
        ]
    )
    # A grid is only known when the grid column is filled in.
    ngrid[col(needs, "grid").isna().to_numpy()] = -1
    rgrid[col(resources, "grid").isna().to_numpy()] = -1
    nbits, rbits = _skill_bits(col(needs, "skills"), col(resources, "skills"))

    radius = (
        resources["max_distance"].to_numpy(dtype=float)
        if "max_distance" in resources.columns
        else np.full(len(resources), np.nan)
    )
    radius = np.where(np.isnan(radius), np.inf, radius)

    lookup = {c: k for k, c in enumerate(communities)}
    keys = []
    if "partner_communities" in resources.columns:
        for j, cell in enumerate(resources["partner_communities"].to_numpy(dtype=object)):
            for name in split_list(cell):
                code = lookup.get(name)
                if code is not None:
                    keys.append(j * (len(communities) + 1) + code)
    partner_keys = np.unique(np.asarray(keys, dtype=np.int64))

    return District(
        needs=needs,
        resources=resources,
        need_ids=needs["need_id"].to_numpy(dtype=object),
        resource_ids=resources["resource_id"].to_numpy(dtype=object),
        need_xy=need_xy,
        resource_xy=res_xy,
        demand=needs["demand"].to_numpy(dtype=np.int64),
        capacity=resources["capacity"].to_numpy(dtype=np.int64),
        priority=needs["priority"].to_numpy(dtype=np.int64),
        need_category=nc,
        resource_category=rc,
        categories=categories,
        need_community=ncomm,
        resource_community=rcomm,
        need_grid=ngrid,
        resource_grid=rgrid,
        need_window=_window(needs),
        resource_window=_window(resources),
        need_skills=nbits,
        resource_skills=rbits,
        radius=radius,
        partner_keys=partner_keys,
        n_communities=len(communities),
        origin=origin,
    )


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
    from .schema import validate_needs, validate_resources

    district = to_district(validate_needs(needs), validate_resources(resources))
    return candidates_of(district, taxonomy=taxonomy, max_distance=max_distance, scope=scope)


def check_reach(max_distance: float | None, scope: str | None) -> float:
    """Validate the reach arguments and return the global radius (inf if none)."""
    if scope is not None and scope not in SCOPES:
        raise InputError(f"scope must be one of {list(SCOPES)} or None; got {scope!r}")
    if max_distance is None:
        return np.inf
    try:
        value = float(max_distance)
    except (TypeError, ValueError):
        value = np.nan
    if not (value >= 0) or np.isnan(value):
        raise InputError(f"max_distance must be a number >= 0 (metres); got {max_distance!r}")
    return value


def candidates_of(
    district: District,
    *,
    taxonomy: Taxonomy | None = None,
    max_distance: float | None = None,
    scope: Scope | None = None,
) -> CandidateGraph:
    """Candidate edges of an id-sorted :class:`District` (internal; trusts its input)."""
    reach = check_reach(max_distance, scope)
    tax = taxonomy if taxonomy is not None else Taxonomy.default()
    if not isinstance(tax, Taxonomy):
        raise InputError(f"taxonomy must be a matchcore.Taxonomy; got {type(tax).__name__}")
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
    if k <= 0:
        raise InputError(f"max_candidates must be an integer >= 1; got {k!r}")
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
