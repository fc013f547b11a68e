"""Views of a :class:`~matchcore.ledger.ProjectLedger` for people: project points,
exports (CSV, Excel, JSON, GeoJSON, Parquet) and status maps.

:class:`LedgerExport` holds these methods; ``ProjectLedger`` inherits them, so
they are called on a ledger (``ledger.export(...)``).
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import InputError

__all__ = ["LedgerExport"]

PathLike = str | os.PathLike[str]


class LedgerExport:
    """Project points, exports and status maps of a ledger (a base of ``ProjectLedger``).

    Examples
    --------
    >>> import matchcore as mc
    >>> issubclass(mc.ProjectLedger, LedgerExport)
    True
    """

    _conn: sqlite3.Connection

    if TYPE_CHECKING:  # pragma: no cover - defined by ProjectLedger

        def projects(
            self, status: str | None = None, community: str | None = None
        ) -> pd.DataFrame: ...

    def _check_community(self, community: str) -> None:
        """An unknown community is an error naming the known ones (not an empty file)."""
        known = sorted({str(c) for c in self.projects()["community"].dropna()})
        if community not in known:
            raise InputError(
                f"`community` must be one of the ledger's communities "
                f"({', '.join(known) or 'none yet'}); got {community!r}"
            )

    def project_points(
        self, status: str | None = None, community: str | None = None
    ) -> pd.DataFrame:
        """The project list with each project's position (its need's x/y or lat/lon).

        The position comes from the latest round that recorded the project's
        need. Columns: those of :meth:`projects`, then those of ``x``, ``y``,
        ``lat``, ``lon`` that the needs lists had (``x``/``y``, all NaN, when
        no position is known).

        Parameters
        ----------
        status, community : str, optional
            Filters, as in :meth:`projects`.

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> ledger.project_points()[["project_id", "x", "y"]].values.tolist()[0]
        ['P-N1', 0.0, 0.0]
        """
        projects = self.projects(status=status, community=community)
        # SQLite returns the other columns of the row holding max(round).
        rows = self._conn.execute(
            "SELECT need_id, max(round), data FROM needs GROUP BY need_id ORDER BY need_id"
        ).fetchall()
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
        """Write the current project list (with :func:`matchcore.write_table`, or as GeoJSON).

        Parameters
        ----------
        path : str or path-like
            A file, or an existing folder (``projects.<format>`` is written
            in it, CSV by default).
        community : str, optional
            Only this community's projects.
        format : str, optional
            ``"csv"`` (UTF-8 with BOM), ``"xlsx"`` (needs openpyxl),
            ``"json"``, ``"geojson"`` (project points with their status, see
            :func:`matchcore.geo.to_geojson`) or ``"parquet"``; by default the
            suffix of ``path`` says which.

        Returns
        -------
        pathlib.Path
            The file written (atomically).

        Raises
        ------
        InputError
            An unknown format, suffix or community, or a missing optional dependency.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> ledger = mc.ProjectLedger(folder / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> ledger.export(folder).name
        'projects.csv'
        >>> ledger.export(folder / "东湖.geojson", community="东湖社区").name
        '东湖.geojson'
        """
        from ..geo import to_geojson
        from ..io import write_table

        p = Path(path)
        fmt = _export_format(p, format)
        if community is not None:
            self._check_community(community)
        if p.is_dir():
            p = p / f"projects{_EXPORT_SUFFIX[fmt]}"
        if fmt == "geojson":
            to_geojson(self.project_points(community=community), p)
            return p
        frame = self.projects(community=community)
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
        """Write the whole project list and one file per community.

        Files: ``projects.<format>`` and ``projects-<community>.<format>``
        (characters that cannot be in a file name become ``_``).

        Parameters
        ----------
        folder : str or path-like
            Created when missing.
        format : str, default "csv"
            As in :meth:`export`.

        Returns
        -------
        list of pathlib.Path
            The files written, the whole list first, then by community name.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> ledger = mc.ProjectLedger(folder / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> [p.name for p in ledger.export_all(folder / "out")]
        ['projects.csv', 'projects-东湖社区.csv', 'projects-西山社区.csv']
        """
        fmt = _export_format(None, format)
        suffix = _EXPORT_SUFFIX[fmt]
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        written = [self.export(out / f"projects{suffix}", format=fmt)]
        for name in self._communities():
            written.append(
                self.export(out / f"projects-{_file_name(name)}{suffix}", community=name,
                            format=fmt)
            )
        return written

    def _communities(self) -> list[str]:
        rows = self._conn.execute(
            "SELECT DISTINCT community FROM projects WHERE community IS NOT NULL"
            " ORDER BY community"
        ).fetchall()
        return [str(r[0]) for r in rows]

    def status_maps(
        self, folder: PathLike | None = None, *, dpi: int = 120
    ) -> dict[str | None, Any]:
        """The status map of the whole street and one per community.

        Drawn with :func:`matchcore.plot.status_map` from :meth:`project_points`
        (needs matplotlib: ``pip install 'matchcore[plot]'``).

        Parameters
        ----------
        folder : str or path-like, optional
            Save the maps there as ``status_map.png`` and
            ``status_map-<community>.png`` (atomically) and close them.
        dpi : int, default 120
            Resolution of the saved images.

        Returns
        -------
        dict
            Keyed by community, ``None`` for the whole street: the Axes when
            ``folder`` is None, else the paths written.

        Raises
        ------
        InputError
            If matplotlib is not installed.

        Examples
        --------
        >>> import matplotlib; matplotlib.use("Agg")
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> ledger = mc.ProjectLedger(folder / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> sorted(p.name for p in ledger.status_maps(folder / "maps").values())
        ['status_map-东湖社区.png', 'status_map-西山社区.png', 'status_map.png']
        """
        from ..plot.base import save_png
        from ..plot.maps import status_map

        try:
            import matplotlib.pyplot as plt
        except ImportError as err:
            raise InputError(
                f"status maps need matplotlib: pip install 'matchcore[plot]' ({err})"
            ) from err
        points = self.project_points()
        out = None if folder is None else Path(folder)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
        maps: dict[str | None, Any] = {}
        for name in [None, *self._communities()]:
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


def _file_name(name: str) -> str:
    """A community name made safe as part of a file name."""
    safe = "".join("_" if ch in '/\\:*?"<>|' or ord(ch) < 32 else ch for ch in name).strip()
    return safe.strip(".") or "_"
