"""GeoJSON of a round or of a project list, for QGIS, web maps and the street's GIS.

:func:`to_geojson` turns a :class:`~matchcore.MatchResult` into a
``FeatureCollection`` of need points, resource points and assignment lines, and
a project list (``MatchResult.projects``, :meth:`ProjectLedger.projects
<matchcore.ProjectLedger.projects>` or a :class:`~matchcore.ProjectLedger`
itself) into project points with their status.

Coordinates are longitude/latitude (WGS 84, as RFC 7946 wants) when the lists
have ``lat``/``lon`` for every row; otherwise they are the lists' ``x``/``y``
in metres on a local plane, which is *not* a GeoJSON coordinate system: the
collection's ``properties`` then say so (``"coordinates": "x/y"`` and a
``"crs"`` note), and a GIS must be told the plane's projection by hand.
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import InputError
from .io import atomic_file
from .schema import STATUSES

if TYPE_CHECKING:  # pragma: no cover
    from .result import MatchResult

__all__ = ["to_geojson"]

PathLike = str | os.PathLike[str]

#: The ``crs`` notes written in a collection's properties.
CRS_LONLAT = "EPSG:4326: WGS 84 longitude, latitude in degrees (RFC 7946)"
CRS_XY = (
    "local plane: x east and y north in metres, as in the input lists; not WGS 84 "
    "and not a GeoJSON coordinate system (set the projection by hand in a GIS)"
)

_NEED_PROPS = ("community", "grid", "category", "priority", "demand")
_RESOURCE_PROPS = ("community", "grid", "category", "provider", "provider_kind", "capacity")


# --------------------------------------------------------------------------- values
def _clean(value: Any) -> Any:
    """One cell as a JSON value: None for NaN, NaT, NA and infinities; Python scalars."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, np.datetime64, datetime)):
        ts: Any = pd.Timestamp(value)
        return None if pd.isna(ts) else ts.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (str, bool, int)):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _column(series: pd.Series) -> list[Any]:
    """A column as JSON values: whole-array conversion for numbers, cell by cell otherwise."""
    # Fast paths for plain numpy dtypes only (nullable extension dtypes hold pd.NA).
    kind = series.dtype.kind if isinstance(series.dtype, np.dtype) else "O"
    if kind in "iub":
        return list(series.to_numpy().tolist())
    if kind == "f":
        arr = series.to_numpy(dtype=float)
        out: list[Any] = arr.tolist()
        for k in np.flatnonzero(~np.isfinite(arr)).tolist():
            out[k] = None
        return out
    return [v if type(v) is str else _clean(v) for v in series.to_numpy(dtype=object).tolist()]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of JSON values, column by column (no NaN anywhere)."""
    columns = [_column(frame[c]) for c in frame.columns]
    names = [str(c) for c in frame.columns]
    return [dict(zip(names, row)) for row in zip(*columns)] if names else [{}] * len(frame)


def _coords(a: np.ndarray, b: np.ndarray) -> list[list[float] | None]:
    """[a, b] pairs of Python floats, None where either is missing or not finite."""
    ok = np.isfinite(a) & np.isfinite(b)
    return [[x, y] if k else None for x, y, k in zip(a.tolist(), b.tolist(), ok.tolist())]


def _point(xy: list[float] | None) -> dict[str, Any] | None:
    return None if xy is None else {"type": "Point", "coordinates": xy}


def _feature(fid: str, geometry: dict[str, Any] | None, props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "id": fid, "geometry": geometry, "properties": props}


def _has_lonlat(frame: pd.DataFrame) -> bool:
    if not {"lat", "lon"} <= set(frame.columns):
        return False
    values = frame[["lat", "lon"]].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    return bool(np.isfinite(values).all())


def _crs(lonlat: bool) -> dict[str, str]:
    return {"coordinates": "lon/lat" if lonlat else "x/y", "crs": CRS_LONLAT if lonlat else CRS_XY}


def _numeric(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)


# --------------------------------------------------------------------------- result
def _result_collection(result: MatchResult, lines: bool) -> dict[str, Any]:
    d, g = result.district, result.graph
    lonlat = _has_lonlat(d.needs) and _has_lonlat(d.resources)
    if lonlat:
        need_xy = _coords(_numeric(d.needs, "lon"), _numeric(d.needs, "lat"))
        res_xy = _coords(_numeric(d.resources, "lon"), _numeric(d.resources, "lat"))
    else:
        need_xy = _coords(d.need_xy[:, 0], d.need_xy[:, 1])
        res_xy = _coords(d.resource_xy[:, 0], d.resource_xy[:, 1])

    served = result.served
    status = np.where(
        served >= d.demand, "served", np.where(served > 0, "partly_served", "unmet")
    )
    needs = pd.DataFrame({"kind": "need", "need_id": d.need_ids})
    for name in _NEED_PROPS:
        if name in d.needs.columns:
            needs[name] = d.needs[name].to_numpy(dtype=object)
    needs["assigned"] = served
    needs["unmet"] = d.demand - served
    needs["status"] = status
    reasons = pd.Series(result.reasons, dtype=object)
    needs["reason"] = reasons.where(served < d.demand, None).to_numpy()

    used = result.used
    spare = d.capacity - used
    idle = result.idle.set_index("resource_id")["reason"]
    resources = pd.DataFrame({"kind": "resource", "resource_id": d.resource_ids})
    for name in _RESOURCE_PROPS:
        if name in d.resources.columns:
            resources[name] = d.resources[name].to_numpy(dtype=object)
    resources["used"] = used
    resources["spare"] = spare
    resources["idle_reason"] = (
        pd.Series(d.resource_ids).map(idle).astype(object).where(spare > 0, None).to_numpy()
    )

    features = [
        _feature(f"need:{p['need_id']}", _point(xy), p)
        for p, xy in zip(_records(needs), need_xy)
    ]
    features += [
        _feature(f"resource:{p['resource_id']}", _point(xy), p)
        for p, xy in zip(_records(resources), res_xy)
    ]
    a = result.assignments
    if lines:
        e = np.flatnonzero(result.units > 0)
        ni, rj = g.need[e], g.resource[e]
        props = pd.DataFrame({"kind": "assignment"}, index=range(len(a)))
        props = pd.concat(
            [props, a[["project_id", "need_id", "resource_id"]].reset_index(drop=True)], axis=1
        )
        props["category"] = d.needs["category"].to_numpy(dtype=object)[ni]
        props["community"] = (
            d.needs["community"].to_numpy(dtype=object)[ni]
            if "community" in d.needs.columns
            else None
        )
        props["units"] = a["units"].to_numpy()
        props["score"] = a["score"].to_numpy()
        props["distance"] = a["distance"].to_numpy()
        for p, i, j in zip(_records(props), ni.tolist(), rj.tolist()):
            ends = (need_xy[i], res_xy[j])
            geometry = (
                None
                if ends[0] is None or ends[1] is None
                else {"type": "LineString", "coordinates": [ends[0], ends[1]]}
            )
            features.append(
                _feature(f"assignment:{p['need_id']}:{p['resource_id']}", geometry, p)
            )
    return {
        "type": "FeatureCollection",
        "properties": {
            "kind": "match_result",
            **_crs(lonlat),
            "n_needs": int(d.n_needs),
            "n_resources": int(d.n_resources),
            "n_assignments": len(a) if lines else 0,
            "solver": result.solver,
        },
        "features": features,
    }


# --------------------------------------------------------------------------- projects
def _project_collection(
    projects: pd.DataFrame, needs: pd.DataFrame | None, kind: str = "projects"
) -> dict[str, Any]:
    frame = projects.copy()
    coords = {"x", "y", "lat", "lon"}
    if not ({"x", "y"} <= set(frame.columns) or {"lat", "lon"} <= set(frame.columns)):
        if needs is None:
            raise InputError(
                "projects has no coordinates (columns x/y or lat/lon); pass needs= (the needs "
                "list, joined on need_id) or use ProjectLedger.project_points()"
            )
        if "need_id" not in frame.columns or "need_id" not in needs.columns:
            raise InputError("joining positions needs a `need_id` column in projects and needs")
        pos = needs[["need_id", *[c for c in ("x", "y", "lat", "lon") if c in needs.columns]]]
        pos = pos.assign(need_id=pos["need_id"].astype(str)).drop_duplicates("need_id")
        frame = frame.assign(_key=frame["need_id"].astype(str)).merge(
            pos.rename(columns={"need_id": "_key"}), on="_key", how="left"
        )
        frame = frame.drop(columns="_key")
    order = "project_id" if "project_id" in frame.columns else frame.columns[0]
    frame = frame.sort_values(order, kind="stable").reset_index(drop=True)
    lonlat = _has_lonlat(frame) or not {"x", "y"} <= set(frame.columns)
    a, b = ("lon", "lat") if lonlat else ("x", "y")
    xy = _coords(_numeric(frame, a), _numeric(frame, b))
    props = frame[[c for c in frame.columns if c not in coords]]
    if "status" in props.columns:
        words = props["status"].map(STATUSES)
        props = props.assign(status_zh=words.astype(object).where(words.notna(), None))
    features = [
        _feature(f"project:{p.get(order)}", _point(pt), {"kind": "project", **p})
        for p, pt in zip(_records(props), xy)
    ]
    counts = (
        {s: int((frame["status"] == s).sum()) for s in STATUSES}
        if "status" in frame.columns
        else {}
    )
    return {
        "type": "FeatureCollection",
        "properties": {"kind": kind, **_crs(lonlat), "n_projects": len(frame),
                       "by_status": counts},
        "features": features,
    }


# --------------------------------------------------------------------------- writing
def _write_json(data: dict[str, Any], path: PathLike) -> Path:
    """Write ``data`` as UTF-8 JSON atomically (a temporary file, then a rename)."""
    p = Path(path)
    # Compact: a street's collection is megabytes, and indenting triples the time.
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    with atomic_file(p, suffix=".tmp") as tmp, open(
        tmp, "w", encoding="utf-8", newline="\n"
    ) as fh:
        fh.write(text)
        fh.write("\n")
    return p


def to_geojson(
    obj: Any,
    path: PathLike | None = None,
    *,
    lines: bool = True,
    needs: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """A GeoJSON ``FeatureCollection`` of a round or of a project list.

    For a :class:`~matchcore.MatchResult`: one point per need (need_id,
    category, community, grid, priority, demand, assigned, unmet, status
    ``served``/``partly_served``/``unmet`` and the unmet ``reason``), one point
    per resource (resource_id, category, community, grid, provider, capacity,
    used, spare, ``idle_reason``) and, when ``lines``, one LineString per
    assignment (project_id, need_id, resource_id, category, community, units,
    score, distance). For a project list (a DataFrame such as
    ``MatchResult.projects`` or ``ProjectLedger.projects()``, or a
    :class:`~matchcore.ProjectLedger`): one point per project with every
    column, its status and the status's Chinese word (``status_zh``).

    Coordinates are longitude/latitude when the lists have ``lat``/``lon``
    on every row, otherwise the lists' ``x``/``y`` in metres (not WGS 84):
    the collection's ``properties`` hold ``"coordinates"`` (``"lon/lat"`` or
    ``"x/y"``) and a ``"crs"`` note. A row without a position gets a null
    geometry. Values are JSON-safe (NaN and missing cells are null) and the
    order is fixed (needs, resources, assignments, projects by id), whatever
    the input's row order.

    Parameters
    ----------
    obj : MatchResult, ProjectLedger or DataFrame
        What to map.
    path : str or path-like, optional
        Also write the collection there, atomically, as UTF-8 (Chinese not
        escaped).
    lines : bool, default True
        Include the assignment lines of a MatchResult.
    needs : DataFrame, optional
        For a project list without coordinate columns: the needs list, joined
        on ``need_id`` for the positions.

    Returns
    -------
    dict
        The collection, ready for :func:`json.dumps`.

    Raises
    ------
    InputError
        If ``obj`` is of another type, or a project list has no positions.

    Examples
    --------
    >>> import matchcore as mc
    >>> from matchcore.geo import to_geojson
    >>> result = mc.match(*mc.synthetic.tiny(), max_distance=2000)
    >>> fc = to_geojson(result)
    >>> fc["properties"]["coordinates"], len(fc["features"])
    ('x/y', 12)
    >>> fc["features"][0]["properties"]["status"]
    'served'
    >>> to_geojson(result.projects, needs=result.district.needs)["features"][0]["id"]
    'project:P-N1'
    """
    # A MatchResult and a ProjectLedger are recognised by what they hold, not by
    # their class: geo sits below both and imports neither.
    if hasattr(obj, "district") and hasattr(obj, "assignments"):
        data = _result_collection(obj, lines)
    elif callable(getattr(obj, "project_points", None)):
        data = _project_collection(obj.project_points(), None, kind="ledger_projects")
    elif isinstance(obj, pd.DataFrame):
        data = _project_collection(obj, needs)
    else:
        raise InputError(
            "to_geojson takes a MatchResult, a ProjectLedger or a projects DataFrame; "
            f"got {type(obj).__name__}"
        )
    if path is not None:
        _write_json(data, path)
    return data
