"""Views of a :class:`~matchcore.ledger.ProjectLedger` for people: project points,
exports (CSV, Excel, JSON, GeoJSON, Parquet) and status maps.

:class:`LedgerExport` holds these methods; ``ProjectLedger`` inherits them, so
they are called on a ledger (``ledger.export(...)``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..checks import check_scalar
from ..errors import InputError

__all__ = ["LedgerExporter", "ProjectsReader", "QueryReader"]

PathLike = str | os.PathLike[str]

#: ``projects(status, community)``: the ledger's project list, filtered.
ProjectsReader = Callable[[str | None, str | None], pd.DataFrame]
#: ``query(sql, args)``: the rows of one read-only SELECT.
QueryReader = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


class LedgerExporter:
    """Project points, exports and status maps of a ledger, from its read API.

    Parameters
    ----------
    projects : callable
        ``projects(status, community)``, the ledger's project list
        (:meth:`ProjectLedger.projects`).
    query : callable
        ``query(sql, args)``, the rows of a read-only SELECT on the ledger.

    Examples
    --------
    >>> exporter = LedgerExporter(lambda status, community: pd.DataFrame(),
    ...                           lambda sql, args: [("东湖社区",), ("西山社区",)])
    >>> exporter.communities()
    ['东湖社区', '西山社区']
    """

    def __init__(self, projects: ProjectsReader, query: QueryReader) -> None:
        self._projects = projects
        self._query = query

    def _check_community(self, community: str) -> None:
        """An unknown community is an error naming the known ones (not an empty file)."""
        known = self.communities()
        if community not in known:
            raise InputError(
                f"`community` must be one of the ledger's communities "
                f"({', '.join(known) or 'none yet'}); got {community!r}"
            )

    def project_points(
        self, status: str | None = None, community: str | None = None
    ) -> pd.DataFrame:
        """The project list with each project's position (:meth:`ProjectLedger.project_points`)."""
        projects = self._projects(status, community)
        # SQLite returns the other columns of the row holding max(round).
        rows = self._query(
            "SELECT need_id, max(round), data FROM needs GROUP BY need_id ORDER BY need_id", ()
        )
        pos: dict[str, list[float]] = {c: [] for c in ("x", "y", "lat", "lon")}
        for _, _, data in rows:
            record = json.loads(data)
            for c, values in pos.items():
                v = record.get(c)
                values.append(float(v) if isinstance(v, (int, float)) else float("nan"))
        table = pd.DataFrame(
            {"need_id": pd.Series([str(r[0]) for r in rows], dtype=object), **pos}
        )
        keep = [c for c in ("x", "y", "lat", "lon") if table[c].notna().any()] or ["x", "y"]
        table = table[["need_id", *keep]]
        projects["need_id"] = projects["need_id"].astype(object)
        return projects.merge(table, on="need_id", how="left", validate="many_to_one")

    def export(
        self,
        path: PathLike,
        *,
        community: str | None = None,
        format: str | None = None,
    ) -> Path:
        """Write the current project list (see :meth:`ProjectLedger.export`)."""
        from ..geo import to_geojson
        from ..io import write_table

        p = _path(path, "path")
        if community is not None and not isinstance(community, str):
            raise InputError(f"`community` must be a str or None; got {community!r}")
        fmt = _export_format(p, format)
        if community is not None:
            self._check_community(community)
        if p.is_dir():
            p = p / f"projects{_EXPORT_SUFFIX[fmt]}"
        if fmt == "geojson":
            to_geojson(self.project_points(community=community), p)
            return p
        frame = self._projects(None, community)
        suffix = _EXPORT_SUFFIX[fmt]
        if p.suffix.lower() == suffix:
            return write_table(frame, p)
        # A suffix that does not name the format: write beside, then rename (still atomic).
        tmp = p.with_name(f".{p.name}.export{suffix}")
        try:
            write_table(frame, tmp)
            os.replace(tmp, p)
        finally:
            tmp.unlink(missing_ok=True)
        return p

    def export_all(self, folder: PathLike, *, format: str = "csv") -> list[Path]:
        """The whole list and one file per community (:meth:`ProjectLedger.export_all`)."""
        fmt = _export_format(None, format)
        suffix = _EXPORT_SUFFIX[fmt]
        out = _path(folder, "folder")
        out.mkdir(parents=True, exist_ok=True)
        written = [self.export(out / f"projects{suffix}", format=fmt)]
        for name in self.communities():
            written.append(
                self.export(out / f"projects-{_file_name(name)}{suffix}", community=name,
                            format=fmt)
            )
        return written

    def communities(self) -> list[str]:
        """The communities that have projects, sorted."""
        rows = self._query(
            "SELECT DISTINCT community FROM projects WHERE community IS NOT NULL"
            " ORDER BY community", ()
        )
        return [str(r[0]) for r in rows]

    def status_maps(
        self, folder: PathLike | None = None, *, dpi: int = 120
    ) -> dict[str | None, Any]:
        """The street's and each community's status map (:meth:`ProjectLedger.status_maps`)."""
        from ..plot.base import save_png
        from ..plot.maps import status_map

        try:
            import matplotlib.pyplot as plt
        except ImportError as err:
            raise InputError(
                f"status maps need matplotlib: pip install 'matchcore[plot]' ({err})"
            ) from err
        points = self.project_points()
        out = None if folder is None else _path(folder, "folder")
        check_scalar(dpi, "dpi", "int", low=1)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
        maps: dict[str | None, Any] = {}
        for name in [None, *self.communities()]:
            frame = points if name is None else points[points["community"] == name]
            where = "all communities" if name is None else name
            ax: Any = status_map(
                frame.reset_index(drop=True),
                title=f"{where}: {len(frame)} projects by status",
            )
            if out is None:
                maps[name] = ax
                continue
            stem = "status_map" if name is None else f"status_map-{_file_name(name)}"
            path = out / f"{stem}.png"
            try:
                save_png(ax.figure, path, dpi)
            finally:
                plt.close(ax.figure)
            maps[name] = path
        return maps


#: Export formats and their suffixes.
_EXPORT_SUFFIX: dict[str, str] = {
    "csv": ".csv",
    "xlsx": ".xlsx",
    "json": ".json",
    "geojson": ".geojson",
    "parquet": ".parquet",
}
_FORMAT_OF_SUFFIX: dict[str, str] = {
    **{s: f for f, s in _EXPORT_SUFFIX.items()},
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsm": "xlsx",
    ".pq": "parquet",
}


def _export_format(path: Path | None, format: str | None) -> str:
    """The export format: ``format`` if given, else from the suffix (a folder: csv)."""
    fmt: str | None
    if format is not None:
        if not isinstance(format, str):
            raise InputError(
                f"export `format` must be one of {list(_EXPORT_SUFFIX)}; got {format!r}"
            )
        fmt = {"excel": "xlsx"}.get(format.lower(), format.lower())
        if fmt not in _EXPORT_SUFFIX:
            raise InputError(
                f"export `format` must be one of {list(_EXPORT_SUFFIX)}; got {format!r}"
            )
        return fmt
    if path is None or path.is_dir():
        return "csv"
    fmt = _FORMAT_OF_SUFFIX.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"cannot tell the export format of {str(path)!r} from its suffix; expected one of "
            f"{sorted(_FORMAT_OF_SUFFIX)} or format= one of {list(_EXPORT_SUFFIX)}"
        )
    return fmt


def _path(value: Any, name: str) -> Path:
    if not isinstance(value, (str, os.PathLike)):
        raise InputError(f"`{name}` must be a str or path-like; got {value!r}")
    return Path(value)


def _file_name(name: str) -> str:
    """A community name made safe as part of a file name."""
    safe = "".join("_" if ch in '/\\:*?"<>|' or ord(ch) < 32 else ch for ch in name).strip()
    return safe.strip(".") or "_"
