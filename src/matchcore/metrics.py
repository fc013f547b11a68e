"""Coverage, utilisation, distance and fairness of a round, as tidy tables.

:func:`summary` gives the headline figures (``MatchResult.metrics``); the
``by_*`` functions break coverage down per community, grid, priority level or
provider kind; :func:`distance_distribution` and :func:`distance_quantiles`
describe how far the assigned units travel; :func:`gini` and
:func:`jain_index` measure how evenly coverage is shared. Every table is
sorted by its keys, so it does not depend on the row order of the lists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import InputError
from .model.problem import exact_sum

if TYPE_CHECKING:  # pragma: no cover
    from numpy.typing import ArrayLike

    from .result import MatchResult

__all__ = [
    "DISTANCE_BINS",
    "MISSING",
    "by_community",
    "by_grid",
    "by_priority",
    "by_provider_kind",
    "distance_distribution",
    "distance_quantiles",
    "gini",
    "jain_index",
    "summary",
    "union_summary",
]

#: The label of a missing community, grid or provider kind in the tables.
MISSING = "(none)"

#: Default distance bins in metres: 100 m steps up to the 5-minute walk, then
#: the 10- and 15-minute walks of the residential-area planning standard
#: (GB 50180-2018: 300, 500, 1000 m), then cycling and driving distances.
DISTANCE_BINS: tuple[float, ...] = (0.0, 100.0, 200.0, 300.0, 500.0, 1000.0, 2000.0, 5000.0, np.inf)

#: Columns of the per-group need tables, after the group keys.
_NEED_COLUMNS = (
    "n_needs",
    "demand_units",
    "assigned_units",
    "unit_coverage",
    "unmet_units",
    "needs_fully_served",
    "needs_partly_served",
    "needs_unserved",
    "priority_weighted_coverage",
    "mean_distance",
)


# ---------------------------------------------------------------------- indices
def jain_index(values: ArrayLike) -> float:
    """Jain's fairness index of non-negative values: 1 when all equal, 1/n at worst.

    ``J = (Σ x)² / (n · Σ x²)``; NaN for no values, 1 when all are zero.

    Parameters
    ----------
    values : array_like, shape (n,)

    Returns
    -------
    float

    See Also
    --------
    gini : The Gini coefficient, 0 when all equal.

    Examples
    --------
    >>> jain_index(np.array([0.5, 0.5]))
    1.0
    >>> jain_index(np.array([1.0, 0.0]))
    0.5
    """
    v = np.asarray(values, dtype=float)
    if len(v) == 0 or not np.any(v):
        return float("nan") if len(v) == 0 else 1.0
    return float(v.sum() ** 2 / (len(v) * (v**2).sum()))


def gini(values: ArrayLike) -> float:
    """Gini coefficient of non-negative values: 0 when all equal, (n-1)/n at worst.

    The mean absolute difference over all ordered pairs, halved and divided
    by the mean::

        G = Σ_i Σ_j |x_i - x_j| / (2 n² x̄)

    computed in O(n log n) from the sorted values ``x_(1) <= ... <= x_(n)`` as
    ``G = 2 Σ_k k x_(k) / (n Σ x) - (n + 1) / n``. NaN for no values; 0 when
    all values are zero (they are equal).

    Parameters
    ----------
    values : array_like, shape (n,)
        Non-negative, finite numbers (e.g. the unit coverage of each community).

    Returns
    -------
    float

    Raises
    ------
    InputError
        If a value is negative or not finite.

    See Also
    --------
    jain_index : Jain's fairness index, 1 when all equal.

    Examples
    --------
    >>> gini([1.0, 1.0, 1.0])
    0.0
    >>> gini([1.0, 0.0, 0.0, 0.0])
    0.75
    >>> gini([1, 2, 3, 4])
    0.25
    """
    v = np.asarray(values, dtype=float).ravel()
    bad = np.flatnonzero(~np.isfinite(v) | (v < 0))
    if len(bad):
        raise InputError(
            "`values` must be finite numbers >= 0; "
            f"got {float(v[bad[0]])!r} at position {int(bad[0])}"
            + (f" ({len(bad) - 1} more)" if len(bad) > 1 else "")
        )
    n = len(v)
    if n == 0:
        return float("nan")
    total = v.sum()
    if total == 0:
        return 0.0
    ranks = np.arange(1, n + 1, dtype=float)
    g = 2.0 * (ranks * np.sort(v)).sum() / (n * total) - (n + 1) / n
    # Rounding can leave -1e-17 for equal values; the coefficient is never negative.
    return float(max(g, 0.0))


# ---------------------------------------------------------------------- summary
def summary(result: MatchResult) -> pd.Series:
    """Headline figures of a round.

    Parameters
    ----------
    result : MatchResult

    Returns
    -------
    pandas.Series
        n_needs, n_resources, n_edges, demand_units, capacity_units,
        assigned_units, unmet_units, unit_coverage, needs_fully_served,
        needs_partly_served, needs_unserved, need_coverage,
        priority_weighted_coverage, utilisation, mean_distance,
        max_distance, total_score, community_fairness (Jain's index of the
        per-community unit coverage), coverage_gini (their Gini
        coefficient), and comparable_demand_units, comparable_assigned_units
        and comparable_coverage: the same in comparable units (each need's
        units divided by its ``options.unit_value``; equal to the unit figures
        without one).

    See Also
    --------
    by_community, by_grid, by_priority, by_provider_kind, distance_distribution

    Examples
    --------
    >>> import matchcore as mc
    >>> r = mc.match(*mc.synthetic.tiny(), max_distance=2000)
    >>> 0 <= r.metrics["unit_coverage"] <= 1
    True
    >>> int(r.metrics["unmet_units"])
    4
    """
    d = result.district
    return _headline(d.demand, d.priority, result.served, d.capacity, result.units,
                     result.graph.distance, result.score, by_community(result),
                     result.unit_value)


def union_summary(results: Mapping[str, MatchResult]) -> pd.Series:
    """The headline figures of several rounds taken as one: metrics of the union.

    Every count and total is summed over the rounds and every ratio is
    recomputed from the sums (coverage is Σ assigned / Σ demand over all
    needs, never a mean of the rounds' coverages); the fairness figures are
    taken over the communities of every round, a community being keyed by
    (round, community) since names repeat across streets.

    Parameters
    ----------
    results : mapping of str to MatchResult
        The rounds, e.g. the streets of a city from :func:`matchcore.match_many`.

    Returns
    -------
    pandas.Series
        The fields of :func:`summary`. Equal to the summary of one round
        matched on the union of the lists whenever no candidate edge crosses
        two rounds (and community names are distinct across rounds).

    Raises
    ------
    InputError
        If ``results`` is empty.

    Examples
    --------
    >>> import matchcore as mc
    >>> r = mc.match(*mc.synthetic.tiny(), max_distance=2000)
    >>> union = mc.metrics.union_summary({"a": r, "b": r})
    >>> int(union["n_needs"]), bool(union["unit_coverage"] == r.metrics["unit_coverage"])
    (10, True)
    """
    rounds = list(results.values())
    if not rounds:
        raise InputError("results must hold at least one round")
    def joined(values: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(values)

    return _headline(
        joined([r.district.demand for r in rounds]),
        joined([r.district.priority for r in rounds]),
        joined([r.served for r in rounds]),
        joined([r.district.capacity for r in rounds]),
        joined([r.units for r in rounds]),
        joined([r.graph.distance for r in rounds]),
        joined([r.score for r in rounds]),
        pd.concat([by_community(r) for r in rounds], ignore_index=True),
        joined([np.broadcast_to(r.unit_value, r.district.demand.shape) for r in rounds]),
    )


def _headline(
    demand: np.ndarray,
    prio: np.ndarray,
    served: np.ndarray,
    capacity: np.ndarray,
    units: np.ndarray,
    dist: np.ndarray,
    score: np.ndarray,
    communities: pd.DataFrame,
    unit_value: np.ndarray,
) -> pd.Series:
    """The fields of :func:`summary` from per-need, per-resource and per-edge arrays.

    ``unit_value`` (per need, or a scalar) turns units into comparable units.
    """
    total_units = exact_sum(units)
    demand_units, capacity_units = exact_sum(demand), exact_sum(capacity)
    coverage = communities["unit_coverage"].to_numpy(dtype=float)
    coverage = coverage[~np.isnan(coverage)]
    return pd.Series(
        {
            "n_needs": len(demand),
            "n_resources": len(capacity),
            "n_edges": len(units),
            "demand_units": demand_units,
            "capacity_units": capacity_units,
            "assigned_units": total_units,
            "unmet_units": demand_units - total_units,
            "unit_coverage": _ratio(total_units, demand_units),
            "needs_fully_served": int((served >= demand).sum()),
            "needs_partly_served": int(((served > 0) & (served < demand)).sum()),
            "needs_unserved": int((served == 0).sum()),
            "need_coverage": _ratio((served >= demand).sum(), len(demand)),
            "priority_weighted_coverage": _ratio((prio * served).sum(), (prio * demand).sum()),
            "utilisation": _ratio(total_units, capacity_units),
            "mean_distance": float((dist * units).sum() / total_units)
            if total_units
            else float("nan"),
            "max_distance": float(dist[units > 0].max()) if total_units else float("nan"),
            "total_score": float((score * units).sum()),
            "community_fairness": jain_index(coverage),
            "coverage_gini": gini(coverage),
            # In comparable units (options.unit_value; equal to units without it).
            "comparable_demand_units": float((demand / unit_value).sum()),
            "comparable_assigned_units": float((served / unit_value).sum()),
            "comparable_coverage": _ratio((served / unit_value).sum(),
                                          (demand / unit_value).sum()),
        },
        dtype=object,
    )


# ---------------------------------------------------------------------- by need group
def by_community(result: MatchResult) -> pd.DataFrame:
    """Coverage of the needs of each community.

    Parameters
    ----------
    result : MatchResult

    Returns
    -------
    pandas.DataFrame
        One row per community (a missing one is ``"(none)"``), sorted by
        name: community, n_needs, demand_units, assigned_units,
        unit_coverage (assigned / demand), unmet_units, needs_fully_served,
        needs_partly_served, needs_unserved, priority_weighted_coverage
        (Σ priority·assigned / Σ priority·demand) and mean_distance (metres
        per assigned unit; NaN when none).

    See Also
    --------
    by_grid : The same per grid.

    Examples
    --------
    >>> import matchcore as mc
    >>> r = mc.match(*mc.synthetic.tiny(), max_distance=2000)
    >>> mc.metrics.by_community(r)[["community", "demand_units", "assigned_units"]]
      community  demand_units  assigned_units
    0      东湖社区             3               3
    1      南苑社区             1               0
    2      西山社区             5               2
    """
    return _by_need_group(result, ("community",))


def by_grid(result: MatchResult) -> pd.DataFrame:
    """Coverage of the needs of each grid (网格), within its community.

    A grid is named within its community, so the table is keyed by both.

    Parameters
    ----------
    result : MatchResult

    Returns
    -------
    pandas.DataFrame
        One row per (community, grid) (missing values are ``"(none)"``),
        sorted by both, with the columns of :func:`by_community`.

    Examples
    --------
    >>> import matchcore as mc
    >>> r = mc.match(*mc.synthetic.tiny(), max_distance=2000)
    >>> mc.metrics.by_grid(r)[["community", "grid", "unmet_units"]]
      community grid  unmet_units
    0      东湖社区   G1            0
    1      南苑社区   G3            1
    2      西山社区   G2            3
    """
    return _by_need_group(result, ("community", "grid"))


def by_priority(result: MatchResult) -> pd.DataFrame:
    """Coverage of the needs at each priority level present, lowest level first.

    Parameters
    ----------
    result : MatchResult

    Returns
    -------
    pandas.DataFrame
        priority, n_needs, demand_units, assigned_units, unit_coverage,
        unmet_units, needs_fully_served, needs_partly_served, needs_unserved
        and mean_distance (as in :func:`by_community`).

    Examples
    --------
    >>> import matchcore as mc
    >>> r = mc.match(*mc.synthetic.tiny(), max_distance=2000)
    >>> mc.metrics.by_priority(r)[["priority", "n_needs", "unit_coverage", "needs_unserved"]]
       priority  n_needs  unit_coverage  needs_unserved
    0         2        1       0.000000               1
    1         3        2       0.500000               1
    2         4        1       0.666667               0
    3         5        1       1.000000               0
    """
    out = _by_need_group(result, ("priority",))
    # Within one level the priority weights cancel: it would equal unit_coverage.
    return out.drop(columns="priority_weighted_coverage")


def _by_need_group(result: MatchResult, keys: tuple[str, ...]) -> pd.DataFrame:
    """The need table of :func:`by_community`, grouped by the need columns ``keys``."""
    d, g = result.district, result.graph
    labels = pd.DataFrame({k: _labels(d.needs, k) for k in keys})
    codes, groups = _group(labels, list(keys))
    n = len(groups)
    served = result.served
    demand = d.demand
    prio = d.priority

    def total(weights: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=weights, minlength=n)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(codes[mask], minlength=n).astype(np.int64)

    demand_units = total(demand)
    assigned = total(served)
    distance = np.bincount(codes[g.need], weights=g.distance * result.units, minlength=n)
    columns = {
        "n_needs": np.bincount(codes, minlength=n).astype(np.int64),
        "demand_units": demand_units.astype(np.int64),
        "assigned_units": assigned.astype(np.int64),
        "unit_coverage": _div(assigned, demand_units),
        "unmet_units": (demand_units - assigned).astype(np.int64),
        "needs_fully_served": count(served >= demand),
        "needs_partly_served": count((served > 0) & (served < demand)),
        "needs_unserved": count(served == 0),
        "priority_weighted_coverage": _div(total(prio * served), total(prio * demand)),
        "mean_distance": _div(distance, assigned),
    }
    extra = []
    if result.options.unit_value is not None:  # coverage in comparable units
        columns["comparable_coverage"] = _div(total(served / result.unit_value),
                                              total(demand / result.unit_value))
        extra = ["comparable_coverage"]
    out = groups.assign(**columns)
    return out[[*keys, *_NEED_COLUMNS, *extra]]


# ---------------------------------------------------------------------- resources
def by_provider_kind(result: MatchResult) -> pd.DataFrame:
    """Use of the resources of each provider kind (提供方类型).

    Parameters
    ----------
    result : MatchResult

    Returns
    -------
    pandas.DataFrame
        One row per provider_kind (a missing one is ``"(none)"``), sorted by
        name: provider_kind, n_resources, capacity_units, used_units,
        spare_units, utilisation (used / capacity), idle_resources (with
        spare capacity, as in ``result.idle``) and unused_resources (no unit
        used at all).

    Examples
    --------
    >>> import matchcore as mc
    >>> r = mc.match(*mc.synthetic.tiny(), max_distance=2000)
    >>> mc.metrics.by_provider_kind(r)[["provider_kind", "capacity_units", "used_units"]]
        provider_kind  capacity_units  used_units
    0      enterprise               2           1
    1            unit               3           2
    2  volunteer_team               3           2
    """
    d = result.district
    labels = pd.DataFrame({"provider_kind": _labels(d.resources, "provider_kind")})
    codes, groups = _group(labels, ["provider_kind"])
    n = len(groups)
    used = result.used
    capacity = d.capacity
    cap = np.bincount(codes, weights=capacity, minlength=n)
    use = np.bincount(codes, weights=used, minlength=n)
    return groups.assign(
        n_resources=np.bincount(codes, minlength=n).astype(np.int64),
        capacity_units=cap.astype(np.int64),
        used_units=use.astype(np.int64),
        spare_units=(cap - use).astype(np.int64),
        utilisation=_div(use, cap),
        idle_resources=np.bincount(codes[used < capacity], minlength=n).astype(np.int64),
        unused_resources=np.bincount(codes[used == 0], minlength=n).astype(np.int64),
    )


# ---------------------------------------------------------------------- distances
def distance_distribution(result: MatchResult, bins: Sequence[float] | None = None) -> pd.DataFrame:
    """How far the assigned units travel: a histogram of distance per unit.

    Each assigned unit counts once at the distance of its (need, resource)
    pair. Bins are closed on the right, ``(left, right]``, the first one on
    both sides, so ``cumulative_share`` is the share of units within
    ``right`` metres.

    Parameters
    ----------
    result : MatchResult
    bins : sequence of float, optional
        Strictly increasing bin edges in metres (``np.inf`` allowed);
        :data:`DISTANCE_BINS` when None. Units outside the edges are not
        counted, but shares stay relative to every assigned unit.

    Returns
    -------
    pandas.DataFrame
        One row per bin: left, right, units, share (of all assigned units;
        NaN when none) and cumulative_share.

    Raises
    ------
    InputError
        If ``bins`` is not at least two strictly increasing numbers.

    See Also
    --------
    distance_quantiles : Median and other quantiles of the same distances.

    Examples
    --------
    >>> import matchcore as mc
    >>> r = mc.match(*mc.synthetic.tiny(), max_distance=2000)
    >>> mc.metrics.distance_distribution(r, bins=[0, 100, 200])
        left  right  units  share  cumulative_share
    0    0.0  100.0      2    0.4               0.4
    1  100.0  200.0      3    0.6               1.0
    """
    edges = _bin_edges(bins)
    dist, units = _unit_distances(result)
    total = units.sum()
    inside = (dist >= edges[0]) & (dist <= edges[-1])
    # searchsorted(side="left") puts d in (e[k-1], e[k]] at k; d == e[0] joins the first bin.
    k = np.maximum(np.searchsorted(edges, dist[inside], side="left"), 1) - 1
    counts = np.bincount(k, weights=units[inside], minlength=len(edges) - 1).astype(np.int64)
    cumulative = np.cumsum(counts)
    return pd.DataFrame(
        {
            "left": edges[:-1],
            "right": edges[1:],
            "units": counts,
            "share": _div(counts, np.full(len(counts), total)),
            "cumulative_share": _div(cumulative, np.full(len(counts), total)),
        }
    )


def distance_quantiles(
    result: MatchResult, q: float | Sequence[float] = (0.5, 0.9, 0.99)
) -> pd.DataFrame:
    """Quantiles of the distance travelled per assigned unit.

    The ``q`` quantile is the smallest distance within which at least a
    share ``q`` of the assigned units lie (the inverted empirical CDF, as
    ``numpy.quantile(..., method="inverted_cdf")`` over one value per unit):
    always a distance that occurs, never an interpolation.

    Parameters
    ----------
    result : MatchResult
    q : float or sequence of float, default (0.5, 0.9, 0.99)
        Probabilities in [0, 1].

    Returns
    -------
    pandas.DataFrame
        q and distance (metres; NaN when no unit is assigned), in the order
        of ``q``.

    Raises
    ------
    InputError
        If a probability is outside [0, 1].

    See Also
    --------
    distance_distribution : The histogram of the same distances.

    Examples
    --------
    >>> import matchcore as mc
    >>> r = mc.match(*mc.synthetic.tiny(), max_distance=2000)
    >>> mc.metrics.distance_quantiles(r, q=[0.4, 0.5])
         q    distance
    0  0.4  100.000000
    1  0.5  141.421356
    """
    flags = _bool_cells(q)
    if flags.any():  # booleans are not probabilities: True is not 1.0
        k = int(np.flatnonzero(flags)[0])
        found = bool(np.atleast_1d(np.asarray(q, dtype=object)).ravel()[k])
        raise InputError(f"`q` must hold probabilities from 0 to 1; got {found!r} "
                         f"at position {k}")
    probs = np.atleast_1d(np.asarray(q, dtype=float))
    bad = np.flatnonzero(~((probs >= 0) & (probs <= 1)))
    if len(bad):
        raise InputError(
            f"`q` must hold probabilities from 0 to 1; got {float(probs[bad[0]])!r} "
            f"at position {int(bad[0])}"
        )
    dist, units = _unit_distances(result)
    if units.sum() == 0:
        values = np.full(len(probs), np.nan)
    else:
        order = np.argsort(dist, kind="stable")
        dist, units = dist[order], units[order]
        # The same division as the shares of distance_distribution: 0.7 matches 7/10.
        share = np.cumsum(units) / units.sum()
        pos = np.minimum(np.searchsorted(share, probs, side="left"), len(dist) - 1)
        values = dist[pos]
    return pd.DataFrame({"q": probs, "distance": values})


# ---------------------------------------------------------------------- helpers
def _unit_distances(result: MatchResult) -> tuple[np.ndarray, np.ndarray]:
    """Distance and units of every edge that carries units."""
    units = result.units
    used = np.flatnonzero(units > 0)
    return result.graph.distance[used].astype(float), units[used].astype(np.int64)


def _bool_cells(values: object) -> np.ndarray:
    """Which cells of a scalar or (nested) sequence are booleans (flattened)."""
    try:
        cells = np.atleast_1d(np.asarray(values, dtype=object)).ravel()
    except (TypeError, ValueError):  # ragged: its other checks refuse it
        return np.zeros(0, dtype=bool)
    return np.array([isinstance(v, (bool, np.bool_)) for v in cells.tolist()], dtype=bool)


def _bin_edges(bins: Sequence[float] | None) -> np.ndarray:
    if bins is None:
        return np.asarray(DISTANCE_BINS, dtype=float)
    try:
        edges = np.asarray(bins, dtype=float)
    except (TypeError, ValueError):
        edges = np.asarray([np.nan])
    if _bool_cells(bins).any():  # booleans are not distances
        edges = np.asarray([np.nan])
    if edges.ndim != 1 or len(edges) < 2 or np.isnan(edges).any() or np.any(np.diff(edges) <= 0):
        raise InputError(
            f"`bins` must be at least two strictly increasing distances in metres; got {bins!r}"
        )
    return edges


def _labels(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column as group labels: missing values (or a missing column) are ``MISSING``."""
    if name not in frame.columns:
        return np.full(len(frame), MISSING, dtype=object)
    col = frame[name]
    if pd.api.types.is_numeric_dtype(col):
        return col.to_numpy()
    return col.astype(object).where(col.notna(), MISSING).to_numpy(dtype=object)


def _group(labels: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Group codes per row (groups sorted by ``keys``) and the groups' key values."""
    grouped = labels.groupby(keys, sort=True)
    codes = grouped.ngroup().to_numpy(dtype=np.int64)
    groups = grouped.size().index.to_frame(index=False)
    return codes, groups[keys].reset_index(drop=True)


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b elementwise, NaN where b is 0."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return np.divide(a, b, out=np.full(len(a), np.nan), where=b != 0)


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b else float("nan")
