"""Candidate edges and score components of an earlier round, reused where no row changed.

An edge's existence, distance, affinity and score components depend only on
its need's row, its resource's row and the round's reach, scope and taxonomy
(see :mod:`.candidates` and :mod:`.scoring`). So when a round follows another
with the same reach, scope and taxonomy, :func:`reuse_candidates` keeps every
old edge whose need and resource are *unchanged* (same id, same position,
category, community, grid, time window, skills, priority; for resources also
the radius and partner communities), and builds candidates only for the
changed and new needs against all resources and for the changed and new
resources against the unchanged needs, with the very rules of a cold build.
Edges come out in (need, resource) order, every array equal to a cold build's.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from .candidates import CandidateGraph, Scope, candidates_of
from .district import District
from .scoring import COMPONENTS, Weights, score_edges
from .taxonomy import Taxonomy

__all__ = ["KnownRows", "ReusedRound", "changed_rows", "reuse_candidates"]

#: Needs' columns that candidates and scores read (besides the id).
NEED_COLUMNS = ("category", "community", "grid", "skills", "priority")
#: What a caller may know of a new district against an old one (:func:`reuse_candidates`):
#: the old row each new need / resource equals in every column (-1: none known),
#: and the old row with its id (-1: a new id).
KnownRows = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
#: Resources' columns that candidates and scores read (besides the id).
RESOURCE_COLUMNS = ("category", "community", "grid", "skills", "max_distance",
                    "partner_communities")


@dataclasses.dataclass(frozen=True, eq=False)
class ReusedRound:
    """A round's candidate graph and base score components, built from an earlier round's.

    Attributes
    ----------
    graph : CandidateGraph
        Equal, array by array, to :func:`.candidates_of` of the new district.
    components : pandas.DataFrame
        The :data:`.COMPONENTS` of every edge, equal to :func:`.score_edges`'s.
    n_reused : int
        Edges taken from the earlier round.
    n_changed_needs, n_changed_resources : int
        New or changed rows, whose edges were built afresh.
    edge_map : ndarray of int64, shape (old n_edges,)
        New index of each old edge, -1 where it is gone (an end changed or left).
    need_map, resource_map : ndarray of int64, shape (old n_needs,), (old n_resources,)
        New index of each old need / resource with the same id (changed or
        not), -1 where the id is gone: what :class:`~matchcore.solvers.WarmStart`
        maps bases by.
    """

    graph: CandidateGraph
    components: pd.DataFrame
    n_reused: int
    n_changed_needs: int
    n_changed_resources: int
    edge_map: np.ndarray
    need_map: np.ndarray
    resource_map: np.ndarray


def _same_values(a: pd.Series | np.ndarray, b: pd.Series | np.ndarray) -> np.ndarray:
    """Elementwise equality, a missing value equal to a missing value."""
    xa, ya = np.asarray(a), np.asarray(b)
    if xa.dtype == ya.dtype and xa.dtype.kind in "biuf":
        # Plain numbers (priority, radius): no boxing; NaN equals NaN.
        same = np.asarray(xa == ya, dtype=bool)
        if xa.dtype.kind == "f":
            same |= np.isnan(xa) & np.isnan(ya)
        return same
    x = np.asarray(pd.Series(a).astype(object).to_numpy(), dtype=object)
    y = np.asarray(pd.Series(b).astype(object).to_numpy(), dtype=object)
    na_x, na_y = pd.isna(x), pd.isna(y)
    same = na_x & na_y
    both = ~na_x & ~na_y
    same[both] = np.asarray(x[both] == y[both], dtype=bool)
    return same


def _matched(old_frame: pd.DataFrame, new_frame: pd.DataFrame, at: np.ndarray,
             columns: tuple[str, ...]) -> np.ndarray | None:
    """Whether each new row (``at``: its old row, -1 for none) has the same ``columns``.

    None when a column is in one frame and not the other (nothing is reused).
    """
    same = at >= 0
    for col in columns:
        if (col in old_frame.columns) != (col in new_frame.columns):
            return None
        if col not in new_frame.columns:
            continue
        rows = np.flatnonzero(same)
        same[rows] = _same_values(old_frame[col].iloc[at[rows]], new_frame[col].iloc[rows])
    return same


def changed_rows(old: District, new: District) -> tuple[np.ndarray, np.ndarray] | None:
    """The old row of each new need and resource that is unchanged, else -1.

    A row is unchanged when its id is in both districts and every value that
    candidates and scores read is equal (positions in metres on the same plane,
    category, community, grid, window, skills; priority for needs; radius and
    partner communities for resources). None when the two districts do not
    share a plane (their lat/lon origins differ) or a column that matters.

    Returns
    -------
    need_at : ndarray of int64, shape (new n_needs,)
    resource_at : ndarray of int64, shape (new n_resources,)

    Examples
    --------
    >>> import matchcore as mc
    >>> from matchcore.model import to_district
    >>> needs, resources = mc.synthetic.tiny()
    >>> old = to_district(mc.read_needs(needs), mc.read_resources(resources))
    >>> moved = needs.assign(priority=[1] + list(needs["priority"].iloc[1:]))
    >>> new = to_district(mc.read_needs(moved), mc.read_resources(resources))
    >>> need_at, resource_at = changed_rows(old, new)
    >>> need_at.tolist(), bool((resource_at >= 0).all())
    ([-1, 1, 2, 3, 4], True)
    """
    rows = _changed(old, new)
    return None if rows is None else (rows[0], rows[1])


def _changed(old: District, new: District, known: KnownRows | None = None,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """:func:`changed_rows`, and the old row of each new id (-1: a new id), changed or not.

    ``known`` (see :func:`reuse_candidates`) gives the id maps and the rows
    already known to be equal in every column; only the other rows whose id
    is in both are compared here.
    """
    if old.origin != new.origin:
        return None
    if known is None:
        # By hash on object indexes (pandas' Arrow-backed str index is ~2x slower).
        need_at = pd.Index(old.need_ids, dtype=object).get_indexer(
            pd.Index(new.need_ids, dtype=object)).astype(np.int64)
        res_at = pd.Index(old.resource_ids, dtype=object).get_indexer(
            pd.Index(new.resource_ids, dtype=object)).astype(np.int64)
        need_equal = res_equal = None
    else:
        need_equal, res_equal, need_at, res_at = known
    out = []
    for at, equal, pair, columns in (
        (need_at, need_equal, (old.needs, new.needs), NEED_COLUMNS),
        (res_at, res_equal, (old.resources, new.resources), RESOURCE_COLUMNS),
    ):
        # Rows equal in every column (same id, so same row) need no comparison.
        look = at.copy() if equal is None else np.where(equal >= 0, -1, at)
        same = _matched(pair[0], pair[1], look, columns)
        if same is None:
            return None
        out.append((same, look, equal))
    (need_same, need_look, need_equal), (res_same, res_look, res_equal) = out
    for same, at, a, b in (
        (need_same, need_look, (old.need_xy, old.need_window), (new.need_xy, new.need_window)),
        (res_same, res_look, (old.resource_xy, old.resource_window),
         (new.resource_xy, new.resource_window)),
    ):
        rows = np.flatnonzero(same)
        for x, y in zip(a, b):
            same[rows] &= (x[at[rows]] == y[rows]).all(axis=1)
    need_keep = np.where(need_same, need_at, -1)
    res_keep = np.where(res_same, res_at, -1)
    if need_equal is not None:
        need_keep = np.where(need_equal >= 0, need_equal, need_keep)
    if res_equal is not None:
        res_keep = np.where(res_equal >= 0, res_equal, res_keep)
    return need_keep, res_keep, need_at, res_at


def _inverse(at: np.ndarray, n_old: int) -> np.ndarray:
    """The new row of each old row, -1 where none, from the old row of each new one."""
    out = np.full(n_old, -1, dtype=np.int64)
    out[at[at >= 0]] = np.flatnonzero(at >= 0)
    return out


def _runs(old_at: np.ndarray, new_at: np.ndarray, *, limit: int
          ) -> list[tuple[int, int, int]] | None:
    """``(old start, new start, length)`` of each run of consecutive kept edges.

    ``old_at`` and ``new_at`` (both increasing) are each kept edge's old and new
    index; a run is where both go up by one. None when there are more than
    ``limit`` runs (a Python loop over them would be slower than masks).
    """
    if len(old_at) == 0:
        return []
    cut = np.flatnonzero((np.diff(old_at) != 1) | (np.diff(new_at) != 1)) + 1
    if len(cut) + 1 > limit:
        return None
    first = np.concatenate([[0], cut])
    size = np.diff(np.concatenate([first, [len(old_at)]]))
    return list(zip(old_at[first].tolist(), new_at[first].tolist(), size.tolist()))


def _take(d: District, needs: np.ndarray, resources: np.ndarray) -> District:
    """The district of some needs and resources (for :func:`.candidates_of` only).

    Codes keep their code space; frames and partner keys are not subset.
    """
    return dataclasses.replace(
        d,
        need_ids=d.need_ids[needs], resource_ids=d.resource_ids[resources],
        need_xy=d.need_xy[needs], resource_xy=d.resource_xy[resources],
        demand=d.demand[needs], capacity=d.capacity[resources], priority=d.priority[needs],
        need_category=d.need_category[needs], resource_category=d.resource_category[resources],
        need_community=d.need_community[needs],
        resource_community=d.resource_community[resources],
        need_grid=d.need_grid[needs], resource_grid=d.resource_grid[resources],
        need_window=d.need_window[needs], resource_window=d.resource_window[resources],
        need_skills=d.need_skills[needs], resource_skills=d.resource_skills[resources],
        radius=d.radius[resources],
    )


def _sub_graph(d: District, needs: np.ndarray, resources: np.ndarray, taxonomy: Taxonomy | None,
               max_distance: float | None, scope: Scope | None,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Edges (global indices), distance, affinity, and the funnel (per need of ``needs``)."""
    g = candidates_of(_take(d, needs, resources), taxonomy=taxonomy,
                      max_distance=max_distance, scope=scope)
    return (needs[g.need], resources[g.resource], g.distance, g.affinity,
            g.funnel.to_numpy(np.int64))


def reuse_candidates(
    old: District,
    old_graph: CandidateGraph,
    old_components: pd.DataFrame,
    new: District,
    *,
    taxonomy: Taxonomy | None,
    max_distance: float | None,
    scope: Scope | None,
    distance_scale: float = Weights.distance_scale,
    known: KnownRows | None = None,
) -> ReusedRound | None:
    """The candidate graph and base score components of ``new``, reusing ``old``'s.

    ``old_graph`` must be the whole candidate graph of ``old`` (no edge cut by
    ``max_candidates`` or ``forbid``) built with the same ``taxonomy``,
    ``max_distance`` and ``scope``, and ``old_components`` its base
    components (one row per edge), scored with the same ``distance_scale``
    (:class:`.Weights`; the locality component depends on it, the other
    weights do not). None when the districts cannot be
    compared (:func:`changed_rows`); the caller then builds from scratch.

    ``known`` spares the id lookups and the comparison of rows known to be
    equal: ``(need_equal, resource_equal, need_id_at, resource_id_at)``, for
    each new need and resource the old row it equals in every column of its
    list (-1: none known; such rows are compared here when their id is old),
    and the old row with its id (-1: a new id), as
    :func:`matchcore.schema.revalidate` pairs rows (``same_as``, ``id_at``)
    against the old district's frames. Only the time changes.

    Returns
    -------
    ReusedRound or None

    See Also
    --------
    matchcore.match : ``start=`` uses it.

    Examples
    --------
    >>> import matchcore as mc
    >>> needs, resources = mc.synthetic.tiny()
    >>> first = mc.match(needs, resources, max_distance=2000)
    >>> fewer = mc.read_resources(resources.iloc[1:])
    >>> new = mc.model.to_district(mc.read_needs(needs), fewer)
    >>> r = reuse_candidates(first.district, first.graph, first.components, new,
    ...                      taxonomy=None, max_distance=2000.0, scope=None)
    >>> r.graph.n_edges, r.n_changed_resources
    (3, 0)
    """
    rows = _changed(old, new, known)
    if rows is None:
        return None
    need_at, res_at, need_id_at, res_id_at = rows
    n_r = new.n_resources
    # The id maps, built once (by hash) and inverted with integer arrays.
    need_new = _inverse(need_at, old.n_needs)  # old row -> new row, if unchanged
    res_new = _inverse(res_at, old.n_resources)
    id_need = _inverse(need_id_at, old.n_needs)  # old row -> new row of the same id
    id_res = _inverse(res_id_at, old.n_resources)
    # Old edges whose two ends are unchanged keep everything; ids are sorted in
    # both districts, so their (need, resource) order survives the renumbering.
    oi, oj = need_new[old_graph.need], res_new[old_graph.resource]
    kept_mask = (oi >= 0) & (oj >= 0)
    kept = np.flatnonzero(kept_mask)
    kept_key = oi[kept] * n_r + oj[kept]

    changed_needs = np.flatnonzero(need_at < 0)
    changed_res = np.flatnonzero(res_at < 0)
    unchanged_needs = np.flatnonzero(need_at >= 0)
    gone_res = np.flatnonzero(res_new < 0)  # old resources removed or changed
    every_res = np.arange(n_r)
    def sub(d: District, needs: np.ndarray, resources: np.ndarray,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return _sub_graph(d, needs, resources, taxonomy, max_distance, scope)

    ai, aj, ad, aa, af = sub(new, changed_needs, every_res)
    parts = [(ai, aj, ad, aa)]
    funnel = np.zeros((new.n_needs, 4), dtype=np.int64)
    funnel[unchanged_needs] = old_graph.funnel.to_numpy(np.int64)[need_at[unchanged_needs]]
    funnel[changed_needs] = af
    if len(changed_res) and len(unchanged_needs):
        bi, bj, bd, ba, bf = sub(new, unchanged_needs, changed_res)
        parts.append((bi, bj, bd, ba))
        funnel[unchanged_needs] += bf
    if len(gone_res) and len(unchanged_needs):
        # The old resources that left (or changed) no longer count in the funnel.
        *_, gf = sub(old, need_at[unchanged_needs], gone_res)
        funnel[unchanged_needs] -= gf
    fi = np.concatenate([p[0] for p in parts])
    fj = np.concatenate([p[1] for p in parts])
    fresh_key = fi * n_r + fj
    order = np.argsort(fresh_key, kind="stable")
    fresh_key = fresh_key[order]
    # Merge two sorted key lists: each fresh edge lands after the kept ones below it.
    n_edges = len(kept) + len(fresh_key)
    fresh_at = np.searchsorted(kept_key, fresh_key) + np.arange(len(fresh_key))
    is_kept = np.ones(n_edges, dtype=bool)
    is_kept[fresh_at] = False
    kept_at = np.flatnonzero(is_kept)
    is_fresh = ~is_kept
    runs = _runs(kept, kept_at, limit=max(64, n_edges // 512))

    def merged(old_values: np.ndarray, fresh_values: np.ndarray,
               out: np.ndarray | None = None) -> np.ndarray:
        """Kept old values (all old edges, masked here) and fresh ones, in edge order.

        When the kept edges form few runs (old edges in a row landing in a
        row), one slice copy a run (a few changed rows: 2.5M edges in ~10^3
        runs); else boolean masks, not index arrays: both sides keep their
        order, and a masked copy is a sequential pass (index gathers were 45 ms
        an array).
        """
        if out is None:
            out = np.empty(n_edges, dtype=old_values.dtype)
        if runs is None:
            out[is_kept] = old_values[kept_mask]
            out[is_fresh] = fresh_values
            return out
        for o, n, size in runs:
            out[n:n + size] = old_values[o:o + size]
        out[fresh_at] = fresh_values
        return out

    fresh = CandidateGraph(new.need_ids, new.resource_ids, fi[order], fj[order],
                           np.concatenate([p[2] for p in parts])[order],
                           np.concatenate([p[3] for p in parts])[order], old_graph.funnel)
    _, fresh_components = score_edges(new, fresh, Weights(distance_scale=distance_scale))
    graph = CandidateGraph(
        new.need_ids, new.resource_ids,
        merged(oi, fresh.need), merged(oj, fresh.resource),
        merged(old_graph.distance, fresh.distance),
        merged(old_graph.affinity, fresh.affinity),
        pd.DataFrame(funnel, columns=list(old_graph.funnel.columns),
                     index=pd.Index(new.need_ids, name="need_id")),
    )
    # One float block, filled in place: a frame from separate columns would copy
    # them all into one (0.06 s a frame at 2.5M edges).
    block = np.empty((len(COMPONENTS), n_edges), dtype=np.float64)
    for k, name in enumerate(COMPONENTS):
        merged(old_components[name].to_numpy(np.float64), fresh_components[name].to_numpy(),
               out=block[k])
    components = pd.DataFrame(block.T, columns=list(COMPONENTS), copy=False)
    edge_map = np.full(old_graph.n_edges, -1, dtype=np.int64)
    edge_map[kept] = kept_at
    # Old edges of changed rows whose pair is a candidate again map to the fresh edge.
    lost = np.flatnonzero((oi < 0) | (oj < 0))
    li, lj = id_need[old_graph.need[lost]], id_res[old_graph.resource[lost]]
    back = (li >= 0) & (lj >= 0)
    lost, lost_key = lost[back], li[back] * n_r + lj[back]  # sorted: ids keep their order
    if len(lost_key) and len(fresh_key):
        at = np.minimum(np.searchsorted(fresh_key, lost_key), len(fresh_key) - 1)
        hit = fresh_key[at] == lost_key
        edge_map[lost[hit]] = fresh_at[at[hit]]
    return ReusedRound(graph, components, len(kept), len(changed_needs), len(changed_res),
                       edge_map, id_need, id_res)
