"""The two lists as arrays: ids mapped to indices once, positions on a local plane.

:func:`to_district` is the one place where ids become indices (sorted by id, so
nothing later depends on the callers' row order) and lat/lon become metres;
:class:`District` is what every later step reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError
from ..schema import split_list

__all__ = ["EARTH_RADIUS_M", "District", "id_order", "to_district"]

EARTH_RADIUS_M = 6_371_008.8


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


def _partner_keys(cells: pd.Series, communities: np.ndarray) -> np.ndarray:
    """Sorted ``row * (n_communities + 1) + community`` of every known partner of every row.

    Splits each distinct cell once (cells repeat), then spreads the codes to the rows.
    """
    lookup = {c: k for k, c in enumerate(communities)}
    codes, uniques = pd.factorize(cells.to_numpy(dtype=object), use_na_sentinel=True)
    per = [[lookup[name] for name in split_list(u) if name in lookup]
           for u in np.asarray(uniques, dtype=object).tolist()]
    lens = np.array([len(p) for p in per] + [0], dtype=np.int64)  # code -1: none
    flat = np.array([c for p in per for c in p], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    row_len = lens[codes]
    total = int(row_len.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    rows = np.repeat(np.arange(len(codes), dtype=np.int64), row_len)
    # The k-th code of a row's cell: its cell's start plus k.
    k = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(row_len) - row_len, row_len)
    keys = rows * (len(communities) + 1) + flat[np.repeat(starts[codes], row_len) + k]
    return np.unique(keys)


def id_order(frame: pd.DataFrame, column: str) -> np.ndarray:
    """The positions that sort a *validated* list's rows by id (stable), as int64.

    The order :func:`to_district` puts the rows in: validated ids are unique,
    non-missing text, so a stable sort of them is ``sort_values``'s.

    Examples
    --------
    >>> import pandas as pd
    >>> id_order(pd.DataFrame({"need_id": ["N2", "N10", "N1"]}), "need_id").tolist()
    [2, 1, 0]
    """
    return np.argsort(frame[column].to_numpy(dtype=object), kind="stable").astype(np.int64)


def to_district(needs: pd.DataFrame, resources: pd.DataFrame, *,
                orders: tuple[np.ndarray, np.ndarray] | None = None) -> District:
    """Turn two *validated* lists into id-sorted arrays (internal).

    lat/lon are projected on a local equirectangular plane centred on the
    bounding box of both lists (error below 0.1 % across a city). ``orders``,
    the lists' :func:`id_order` when the caller has them, spares sorting again.
    """
    if orders is None:
        orders = (id_order(needs, "need_id"), id_order(resources, "resource_id"))
    needs = needs.take(orders[0]).reset_index(drop=True)
    resources = resources.take(orders[1]).reset_index(drop=True)
    need_xy, res_xy, origin = _positions(needs, resources)

    def col(frame: pd.DataFrame, name: str) -> pd.Series:
        if name in frame.columns:
            return frame[name].astype(object)
        return pd.Series([None] * len(frame), dtype=object)

    (nc, rc), categories = _codes(
        [needs["category"].astype(object), resources["category"].astype(object)]
    )
    (ncomm, rcomm), communities = _codes([col(needs, "community"), col(resources, "community")])
    # A grid is a (community, grid name) pair, known only when the grid is filled in;
    # its code is the pair's (codes are compared for equality only).
    (ngname, rgname), gnames = _codes([col(needs, "grid"), col(resources, "grid")])
    width = np.int64(len(gnames) + 1)
    (ngrid, rgrid), _ = _codes([pd.Series((c + 1) * width + g) for c, g in
                                ((ncomm, ngname), (rcomm, rgname))])
    ngrid[ngname < 0] = -1
    rgrid[rgname < 0] = -1
    nbits, rbits = _skill_bits(col(needs, "skills"), col(resources, "skills"))

    radius = (
        resources["max_distance"].to_numpy(dtype=float)
        if "max_distance" in resources.columns
        else np.full(len(resources), np.nan)
    )
    radius = np.where(np.isnan(radius), np.inf, radius)

    partner_keys = np.zeros(0, dtype=np.int64)
    if "partner_communities" in resources.columns:
        partner_keys = _partner_keys(resources["partner_communities"], communities)

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
