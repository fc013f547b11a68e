"""Coverage, utilisation, distance and fairness of a round, as tidy tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from .result import MatchResult

__all__ = ["by_community", "jain_index", "summary"]


def jain_index(values: np.ndarray) -> float:
    """Jain's fairness index of non-negative values: 1 when all equal, 1/n at worst.

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


def summary(result: MatchResult) -> pd.Series:
    """Headline figures of a round.

    Returns
    -------
    pandas.Series
        n_needs, n_resources, n_edges, demand_units, capacity_units,
        assigned_units, unit_coverage, needs_fully_served,
        needs_partly_served, needs_unserved, need_coverage,
        priority_weighted_coverage, utilisation, mean_distance,
        max_distance, total_score, community_fairness (Jain's index of
        per-community unit coverage).

    Examples
    --------
    >>> import matchcore as mc
    >>> r = mc.match(*mc.synthetic.tiny(), max_distance=2000)
    >>> 0 <= r.metrics["unit_coverage"] <= 1
    True
    """
    d = result.district
    served = result._served
    demand = d.demand
    units = result.units
    dist = result.graph.distance
    total_units = int(units.sum())
    prio = d.priority
    comm = by_community(result)
    return pd.Series(
        {
            "n_needs": d.n_needs,
            "n_resources": d.n_resources,
            "n_edges": result.graph.n_edges,
            "demand_units": int(demand.sum()),
            "capacity_units": int(d.capacity.sum()),
            "assigned_units": total_units,
            "unit_coverage": _ratio(total_units, demand.sum()),
            "needs_fully_served": int((served >= demand).sum()),
            "needs_partly_served": int(((served > 0) & (served < demand)).sum()),
            "needs_unserved": int((served == 0).sum()),
            "need_coverage": _ratio((served >= demand).sum(), len(demand)),
            "priority_weighted_coverage": _ratio((prio * served).sum(), (prio * demand).sum()),
            "utilisation": _ratio(total_units, d.capacity.sum()),
            "mean_distance": float((dist * units).sum() / total_units)
            if total_units
            else float("nan"),
            "max_distance": float(dist[units > 0].max()) if total_units else float("nan"),
            "total_score": float((result.score * units).sum()),
            "community_fairness": jain_index(comm["unit_coverage"].to_numpy())
            if len(comm)
            else float("nan"),
        },
        dtype=object,
    )


def by_community(result: MatchResult) -> pd.DataFrame:
    """Per-community demand, assigned units and coverage.

    Examples
    --------
    >>> import matchcore as mc
    >>> r = mc.match(*mc.synthetic.tiny(), max_distance=2000)
    >>> list(mc.metrics.by_community(r).columns)
    ['community', 'n_needs', 'demand_units', 'assigned_units', 'unit_coverage']
    """
    d = result.district
    comm = (
        d.needs["community"].fillna("(none)")
        if "community" in d.needs.columns
        else pd.Series(["(none)"] * d.n_needs)
    )
    frame = pd.DataFrame(
        {"community": comm.to_numpy(dtype=object), "demand": d.demand, "served": result._served}
    )
    g = frame.groupby("community", sort=True)
    out = pd.DataFrame(
        {
            "n_needs": g.size(),
            "demand_units": g["demand"].sum(),
            "assigned_units": g["served"].sum(),
        }
    ).reset_index()
    out["unit_coverage"] = out["assigned_units"] / out["demand_units"]
    return out


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b else float("nan")
