"""The project list as durable state: rounds, projects, statuses and their history.

A :class:`ProjectLedger` keeps every round's needs, resources, projects and
assignments in one SQLite file (WAL mode, one ``BEGIN IMMEDIATE`` transaction
per change), so several processes can update statuses safely and a crash
leaves the last committed state. Nothing is deleted: changes are appended to
``status_changes`` and to an audit log.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .errors import InputError
from .schema import PROJECT_COLUMNS, STATUSES

if TYPE_CHECKING:  # pragma: no cover
    from .result import MatchResult

__all__ = ["ProjectLedger", "RematchReport"]

PathLike = str | os.PathLike[str]

#: PRAGMA application_id of a matchcore ledger ("MCLG").
APPLICATION_ID = 0x4D434C47
#: The schema version this code writes.
SCHEMA_VERSION = 1

#: Allowed status moves; completed and cancelled are final.
TRANSITIONS: dict[str, frozenset[str]] = {
    "not_started": frozenset({"in_progress", "cancelled"}),
    "in_progress": frozenset({"completed", "cancelled"}),
    "completed": frozenset(),
    "cancelled": frozenset(),
}
_LIVE = ("not_started", "in_progress")

_SCHEMA_V1 = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE rounds (round INTEGER PRIMARY KEY, created_at TEXT NOT NULL,"
    " options TEXT NOT NULL)",
    "CREATE TABLE needs (round INTEGER NOT NULL, need_id TEXT NOT NULL, data TEXT NOT NULL,"
    " PRIMARY KEY (round, need_id))",
    "CREATE TABLE resources (round INTEGER NOT NULL, resource_id TEXT NOT NULL,"
    " data TEXT NOT NULL, PRIMARY KEY (round, resource_id))",
    "CREATE TABLE projects (project_id TEXT PRIMARY KEY, round INTEGER NOT NULL,"
    " updated_round INTEGER NOT NULL, need_id TEXT NOT NULL, community TEXT, grid TEXT,"
    " category TEXT, demand INTEGER, assigned INTEGER, resources TEXT, score REAL,"
    " status TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)",
    "CREATE INDEX projects_need ON projects (need_id)",
    "CREATE TABLE assignments (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " project_id TEXT NOT NULL, round INTEGER NOT NULL, need_id TEXT NOT NULL,"
    " resource_id TEXT NOT NULL, units INTEGER NOT NULL, score REAL, data TEXT,"
    " active INTEGER NOT NULL DEFAULT 1)",
    "CREATE INDEX assignments_project ON assignments (project_id)",
    "CREATE TABLE status_changes (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " project_id TEXT NOT NULL, from_status TEXT, to_status TEXT NOT NULL, by TEXT,"
    " note TEXT, at TEXT NOT NULL)",
    "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,"
    " action TEXT NOT NULL, project_id TEXT, round INTEGER, by TEXT, detail TEXT)",
)

#: Migration hook: the SQL steps that bring a ledger *to* each version.
MIGRATIONS: dict[int, tuple[str, ...]] = {1: _SCHEMA_V1}

_PROJECT_COLUMNS = [
    *PROJECT_COLUMNS,
    "round",
    "updated_round",
    "created_at",
    "updated_at",
]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    # pandas' JSON writer turns NaN/NaT into null and timestamps into ISO text.
    records: list[dict[str, Any]] = json.loads(
        frame.to_json(orient="records", date_format="iso", force_ascii=False)
    )
    return records


def _none(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and value != value) else value


@dataclass(frozen=True)
class RematchReport:
    """What :meth:`ProjectLedger.rematch` did.

    Attributes
    ----------
    round : int
        The new round's number.
    result : MatchResult
        The match of the carried and new needs over the remaining capacity.
    n_changed : int
        Not-started projects whose resources or units changed.
    n_new : int
        Projects created in this round.
    n_dropped : int
        Not-started projects that lost all their units (cancelled, noted).
    """

    round: int
    result: MatchResult
    n_changed: int
    n_new: int
    n_dropped: int


class ProjectLedger:
    """A durable project list (项目清单) in one SQLite file.

    Parameters
    ----------
    path : str or path-like
        The ledger file; created when missing.
    timeout : float, default 30.0
        Seconds to wait for another process's write lock (``busy_timeout``).

    Raises
    ------
    InputError
        If ``path`` exists but is not a matchcore ledger (another SQLite
        database, a text file, a truncated or corrupt file).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import matchcore as mc
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "projects.db"
    >>> ledger = mc.ProjectLedger(path)
    >>> ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
    1
    >>> ledger.set_status("P-N1", "in_progress", by="王芳")
    >>> ledger.projects(status="in_progress")["project_id"].tolist()
    ['P-N1']
    >>> ledger.close()
    """

    def __init__(self, path: PathLike, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self._check_file()
        try:
            self._conn = sqlite3.connect(
                str(self.path), timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as err:
            raise InputError(f"cannot open ledger {str(self.path)!r}: {err}") from err
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._open()
        except sqlite3.DatabaseError as err:
            self._conn.close()
            raise InputError(
                f"{str(self.path)!r} is not a readable matchcore ledger "
                f"(corrupt or truncated SQLite file: {err})"
            ) from err
        except InputError:
            self._conn.close()
            raise

    # ------------------------------------------------------------------ opening
    def _check_file(self) -> None:
        if not self.path.exists():
            return
        if not self.path.is_file():
            raise InputError(f"ledger path {str(self.path)!r} is not a file")
        size = self.path.stat().st_size
        if size == 0:
            return
        with open(self.path, "rb") as fh:
            header = fh.read(16)
        if header != b"SQLite format 3\x00":
            raise InputError(
                f"{str(self.path)!r} is not a matchcore ledger: not an SQLite database "
                f"(first bytes {header[:16]!r})"
            )

    def _open(self) -> None:
        c = self._conn
        app_id = c.execute("PRAGMA application_id").fetchone()[0]
        n_tables = c.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id != APPLICATION_ID and n_tables:
            raise InputError(
                f"{str(self.path)!r} is an SQLite database but not a matchcore ledger "
                f"(application_id {app_id}, expected {APPLICATION_ID}; "
                f"{n_tables} foreign table(s))"
            )
        check = c.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise InputError(f"{str(self.path)!r} is a damaged matchcore ledger: {check}")
        c.execute("PRAGMA journal_mode = WAL")
        c.execute("PRAGMA synchronous = FULL")
        c.execute("PRAGMA foreign_keys = ON")
        self._migrate()

    def _migrate(self) -> None:
        with self._write() as c:
            version = c.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise InputError(
                    f"ledger {str(self.path)!r} has schema version {version}; this matchcore "
                    f"reads up to {SCHEMA_VERSION} (upgrade matchcore)"
                )
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for sql in MIGRATIONS[step]:
                    c.execute(sql)
                c.execute(f"PRAGMA user_version = {step}")
                c.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(step),)
                )
                self._audit(c, "migrate", detail={"to_version": step})
            if version == 0:
                c.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                c.execute("INSERT OR REPLACE INTO meta VALUES ('application', 'matchcore-ledger')")
                c.execute("INSERT OR REPLACE INTO meta VALUES ('created_at', ?)", (_now(),))

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One change = one ``BEGIN IMMEDIATE`` transaction (the write lock up front)."""
        c = self._conn
        c.execute("BEGIN IMMEDIATE")
        try:
            yield c
        except BaseException:
            c.execute("ROLLBACK")
            raise
        c.execute("COMMIT")

    def _audit(
        self,
        c: sqlite3.Connection,
        action: str,
        *,
        project_id: str | None = None,
        round: int | None = None,
        by: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        c.execute(
            "INSERT INTO audit (at, action, project_id, round, by, detail) VALUES (?,?,?,?,?,?)",
            (
                _now(),
                action,
                project_id,
                round,
                by,
                json.dumps(detail or {}, ensure_ascii=False, default=str),
            ),
        )

    def close(self) -> None:
        """Close the connection (the file keeps every committed change)."""
        self._conn.close()

    def __enter__(self) -> ProjectLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ProjectLedger({str(self.path)!r})"

    # ------------------------------------------------------------------ rounds
    @property
    def n_rounds(self) -> int:
        """The number of rounds recorded."""
        return int(self._conn.execute("SELECT count(*) FROM rounds").fetchone()[0])

    def add_round(self, result: MatchResult, *, by: str | None = None) -> int:
        """Record a match result as a new round; its projects start as ``not_started``.

        A need that already has a not-started project keeps its project id
        (the project's assignments are replaced); a need whose earlier project
        was completed or cancelled gets a new project ``P-<need_id>-R<round>``.

        Parameters
        ----------
        result : MatchResult
            The output of :func:`matchcore.match`.
        by : str, optional
            Who recorded it (kept in the audit log).

        Returns
        -------
        int
            The new round's number (1 for the first).

        Raises
        ------
        InputError
            If one of the result's needs has a project already in progress.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        1
        >>> len(ledger.projects())
        3
        """
        with self._write() as c:
            rnd, _, _ = self._record(c, result, by=by, rematch=False)
        return rnd

    record = add_round

    def _record(
        self,
        c: sqlite3.Connection,
        result: MatchResult,
        *,
        by: str | None,
        rematch: bool,
        resources: pd.DataFrame | None = None,
    ) -> tuple[int, int, int]:
        """Store ``result`` as a new round; returns (round, n_changed, n_new)."""
        rnd = int(c.execute("SELECT coalesce(max(round), 0) + 1 FROM rounds").fetchone()[0])
        at = _now()
        options = {k: (v if isinstance(v, (int, float, str, type(None))) else repr(v))
                   for k, v in result.options.items()}
        c.execute("INSERT INTO rounds VALUES (?,?,?)",
                  (rnd, at, json.dumps(options, ensure_ascii=False)))
        needs = result.district.needs
        # rematch stores full capacities: fixed projects are subtracted again each round.
        resources = result.district.resources if resources is None else resources
        c.executemany(
            "INSERT INTO needs VALUES (?,?,?)",
            [(rnd, str(r["need_id"]), json.dumps(r, ensure_ascii=False)) for r in _records(needs)],
        )
        c.executemany(
            "INSERT INTO resources VALUES (?,?,?)",
            [(rnd, str(r["resource_id"]), json.dumps(r, ensure_ascii=False))
             for r in _records(resources)],
        )
        projects = result.projects
        assignments = result.assignments
        by_need = {need: rows for need, rows in assignments.groupby("need_id", sort=False)}
        n_changed = n_new = 0
        for p in _records(projects):
            need = str(p["need_id"])
            live = c.execute(
                "SELECT project_id, status FROM projects WHERE need_id = ? AND status IN (?, ?)"
                " ORDER BY round DESC LIMIT 1",
                (need, *_LIVE),
            ).fetchone()
            rows = by_need[p["need_id"]]
            if live is not None and live[1] == "in_progress":
                raise InputError(
                    f"need {need!r} already has project {live[0]!r} in progress; "
                    "use ProjectLedger.rematch, which keeps it fixed"
                )
            if live is not None:
                pid = live[0]
                old = c.execute(
                    "SELECT resource_id, units FROM assignments WHERE project_id = ? AND active = 1"
                    " ORDER BY resource_id", (pid,),
                ).fetchall()
                new = sorted(zip(rows["resource_id"].astype(str), rows["units"].astype(int)))
                changed = [(r, int(u)) for r, u in old] != new
                n_changed += changed
                c.execute("UPDATE assignments SET active = 0 WHERE project_id = ?", (pid,))
                c.execute(
                    "UPDATE projects SET updated_round=?, community=?, grid=?, category=?,"
                    " demand=?, assigned=?, resources=?, score=?, updated_at=?"
                    " WHERE project_id=?",
                    (rnd, _none(p["community"]), _none(p["grid"]), p["category"], p["demand"],
                     p["assigned"], p["resources"], p["score"], at, pid),
                )
                self._audit(c, "reassign", project_id=pid, round=rnd, by=by,
                            detail={"changed": changed, "resources": p["resources"]})
            else:
                pid = "P-" + need
                if c.execute("SELECT 1 FROM projects WHERE project_id = ?", (pid,)).fetchone():
                    pid = f"{pid}-R{rnd}"
                n_new += 1
                c.execute(
                    "INSERT INTO projects VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (pid, rnd, rnd, need, _none(p["community"]), _none(p["grid"]),
                     p["category"], p["demand"], p["assigned"], p["resources"], p["score"],
                     "not_started", at, at),
                )
                c.execute(
                    "INSERT INTO status_changes (project_id, from_status, to_status, by, note, at)"
                    " VALUES (?,?,?,?,?,?)",
                    (pid, None, "not_started", by, f"round {rnd}", at),
                )
                self._audit(c, "create", project_id=pid, round=rnd, by=by,
                            detail={"need_id": need, "resources": p["resources"]})
            for a in _records(rows):
                c.execute(
                    "INSERT INTO assignments (project_id, round, need_id, resource_id, units,"
                    " score, data) VALUES (?,?,?,?,?,?,?)",
                    (pid, rnd, need, str(a["resource_id"]), int(a["units"]), a["score"],
                     json.dumps(a, ensure_ascii=False)),
                )
        self._audit(c, "rematch" if rematch else "add_round", round=rnd, by=by,
                    detail={"n_projects": len(projects), "n_new": n_new, "n_changed": n_changed})
        return rnd, n_changed, n_new

    # ------------------------------------------------------------------ state
    def projects(self, status: str | None = None, community: str | None = None) -> pd.DataFrame:
        """The current project list, optionally filtered.

        Parameters
        ----------
        status : str, optional
            One of :data:`matchcore.schema.STATUSES`.
        community : str, optional
            Only this community's projects.

        Returns
        -------
        pandas.DataFrame
            project_id, need_id, community, grid, category, demand, assigned,
            resources, score, status, round (created), updated_round,
            created_at, updated_at; ordered by project_id.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> ledger.projects(community="西山社区")["project_id"].tolist()
        ['P-N3']
        """
        if status is not None and status not in STATUSES:
            raise InputError(f"`status` must be one of {list(STATUSES)}; got {status!r}")
        sql = f"SELECT {', '.join(_PROJECT_COLUMNS)} FROM projects WHERE 1=1"
        args: list[Any] = []
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        if community is not None:
            sql += " AND community = ?"
            args.append(community)
        rows = self._conn.execute(sql + " ORDER BY project_id", args).fetchall()
        frame = pd.DataFrame(rows, columns=_PROJECT_COLUMNS)
        for col in ("demand", "assigned", "round", "updated_round"):
            frame[col] = frame[col].astype("int64")
        frame["score"] = frame["score"].astype("float64")
        return frame

    def assignments(self, project_id: str | None = None) -> pd.DataFrame:
        """The active assignments (need, resource, units) of every or one project.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> ledger.assignments("P-N1")[["resource_id", "units"]].values.tolist()
        [['R1', 2]]
        """
        cols = ["project_id", "round", "need_id", "resource_id", "units", "score"]
        sql = f"SELECT {', '.join(cols)} FROM assignments WHERE active = 1"
        args: tuple[Any, ...] = ()
        if project_id is not None:
            sql += " AND project_id = ?"
            args = (project_id,)
        rows = self._conn.execute(sql + " ORDER BY project_id, resource_id", args).fetchall()
        frame = pd.DataFrame(rows, columns=cols)
        frame["units"] = frame["units"].astype("int64")
        return frame

    def set_status(
        self, project_id: str, status: str, *, by: str | None = None, note: str | None = None
    ) -> None:
        """Move a project to a new status (one transaction, logged).

        Allowed: not_started → in_progress → completed; not_started or
        in_progress → cancelled. Completed and cancelled are final.

        Parameters
        ----------
        project_id : str
            The project.
        status : str
            The new status (a key of :data:`matchcore.schema.STATUSES`).
        by : str, optional
            Who made the change.
        note : str, optional
            Why.

        Raises
        ------
        InputError
            Unknown project or status, or a move that is not allowed; the
            message names the project, its current and the requested status.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> ledger.set_status("P-N2", "cancelled", note="resident moved")
        >>> try:
        ...     ledger.set_status("P-N2", "in_progress")
        ... except mc.InputError as err:
        ...     print(err)
        cannot move project 'P-N2' from 'cancelled' to 'in_progress'; ...
        """
        with self._write() as c:
            row = c.execute(
                "SELECT status FROM projects WHERE project_id = ?", (project_id,)
            ).fetchone()
            if row is None:
                raise InputError(
                    f"unknown project {project_id!r} (requested status {status!r})"
                )
            current = row[0]
            if status not in STATUSES:
                raise InputError(
                    f"unknown status {status!r} for project {project_id!r} (current status "
                    f"{current!r}); expected one of {list(STATUSES)}"
                )
            allowed = TRANSITIONS[current]
            if status not in allowed:
                listed = ", ".join(repr(s) for s in sorted(allowed)) or "none (final)"
                raise InputError(
                    f"cannot move project {project_id!r} from {current!r} to {status!r}; "
                    f"allowed from {current!r}: {listed}"
                )
            at = _now()
            c.execute(
                "UPDATE projects SET status = ?, updated_at = ? WHERE project_id = ?",
                (status, at, project_id),
            )
            c.execute(
                "INSERT INTO status_changes (project_id, from_status, to_status, by, note, at)"
                " VALUES (?,?,?,?,?,?)",
                (project_id, current, status, by, note, at),
            )
            self._audit(c, "set_status", project_id=project_id, by=by,
                        detail={"from": current, "to": status, "note": note})

    def history(self, project_id: str | None = None) -> pd.DataFrame:
        """Status changes in the order they happened.

        Parameters
        ----------
        project_id : str, optional
            Only this project's changes.

        Returns
        -------
        pandas.DataFrame
            id, project_id, from_status (None on creation), to_status, by,
            note, at (UTC, ISO 8601).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> ledger.set_status("P-N1", "in_progress")
        >>> ledger.history("P-N1")["to_status"].tolist()
        ['not_started', 'in_progress']
        """
        cols = ["id", "project_id", "from_status", "to_status", "by", "note", "at"]
        sql = f"SELECT {', '.join(cols)} FROM status_changes"
        args: tuple[Any, ...] = ()
        if project_id is not None:
            sql += " WHERE project_id = ?"
            args = (project_id,)
        return pd.DataFrame(self._conn.execute(sql + " ORDER BY id", args).fetchall(),
                            columns=cols)

    def audit(self, project_id: str | None = None) -> pd.DataFrame:
        """The append-only audit log: every change, in order.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> ledger.audit()["action"].tolist()
        ['migrate']
        """
        cols = ["id", "at", "action", "project_id", "round", "by", "detail"]
        sql = f"SELECT {', '.join(cols)} FROM audit"
        args: tuple[Any, ...] = ()
        if project_id is not None:
            sql += " WHERE project_id = ?"
            args = (project_id,)
        return pd.DataFrame(self._conn.execute(sql + " ORDER BY id", args).fetchall(),
                            columns=cols)

    def rounds(self) -> pd.DataFrame:
        """The rounds recorded: number, time (UTC, ISO 8601) and match options.

        Returns
        -------
        pandas.DataFrame
            round, created_at, options (a dict per round; options that are not
            plain values, such as a taxonomy, are stored as their repr).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> ledger.rounds()["options"].iat[0]["max_distance"]
        2000
        """
        rows = self._conn.execute(
            "SELECT round, created_at, options FROM rounds ORDER BY round"
        ).fetchall()
        return pd.DataFrame(
            [(int(r), at, json.loads(opts)) for r, at, opts in rows],
            columns=["round", "created_at", "options"],
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
            An unknown format or suffix, or a missing optional dependency.

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
        from .geo import to_geojson
        from .io import write_table

        p = Path(path)
        fmt = _export_format(p, format)
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
        try:
            import matplotlib.pyplot as plt

            from .plot import status_map
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
                _save_png(ax.figure, path, dpi)
            finally:
                plt.close(ax.figure)
            maps[name] = path
        return maps

    # ------------------------------------------------------------------ rematch
    def _latest(self, table: str, key: str) -> pd.DataFrame:
        rows = self._conn.execute(
            f"SELECT data FROM {table} WHERE round = (SELECT max(round) FROM rounds)"
            f" ORDER BY {key}"
        ).fetchall()
        return pd.DataFrame([json.loads(r[0]) for r in rows])

    def rematch(
        self,
        new_needs: pd.DataFrame | None = None,
        new_resources: pd.DataFrame | None = None,
        *,
        by: str | None = None,
        **match_options: Any,
    ) -> RematchReport:
        """Match again, keeping in-progress and completed projects fixed.

        The next round's needs are the last round's needs that have no
        in-progress, completed or cancelled project, plus ``new_needs`` (a
        need id given again replaces its row). Its resources are the last
        round's plus ``new_resources`` (same rule), each less the units of
        in-progress and completed projects. Not-started projects keep their
        id and get the new assignment; those left without units are
        cancelled with a note. No stickiness yet: a not-started project may
        move to other resources when that is better.

        Parameters
        ----------
        new_needs, new_resources : DataFrame, optional
            Lists to add.
        by : str, optional
            Who ran it (audit log).
        **match_options
            Passed to :func:`matchcore.match` (``max_distance``, ``scope``, ...).

        Returns
        -------
        RematchReport

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> ledger.set_status("P-N1", "in_progress")
        >>> report = ledger.rematch(max_distance=2000)
        >>> report.round, report.n_changed
        (2, 0)
        """
        from .io import read_needs, read_resources
        from .pipeline import match

        if self.n_rounds == 0:
            raise InputError("rematch needs a recorded round; call add_round first")
        needs = self._latest("needs", "need_id")
        resources = self._latest("resources", "resource_id")
        if new_needs is not None:
            new_n = read_needs(new_needs)
            needs = pd.concat(
                [needs[~needs["need_id"].astype(str).isin(new_n["need_id"].astype(str))],
                 _frame_from_records(new_n)], ignore_index=True)
        if new_resources is not None:
            new_r = read_resources(new_resources)
            resources = pd.concat(
                [resources[~resources["resource_id"].astype(str)
                           .isin(new_r["resource_id"].astype(str))],
                 _frame_from_records(new_r)], ignore_index=True)
        c = self._conn
        settled = {
            r[0] for r in c.execute(
                "SELECT need_id FROM projects p WHERE round = (SELECT max(round) FROM projects q"
                " WHERE q.need_id = p.need_id) AND status IN ('in_progress', 'completed',"
                " 'cancelled')"
            )
        }
        if new_needs is not None:
            # A need given again is a new request, even if its old project is settled.
            settled -= set(new_n["need_id"].astype(str))
        needs = needs[~needs["need_id"].astype(str).isin(settled)]
        used = dict(c.execute(
            "SELECT a.resource_id, sum(a.units) FROM assignments a JOIN projects p"
            " USING (project_id) WHERE a.active = 1 AND p.status IN ('in_progress', 'completed')"
            " GROUP BY a.resource_id"
        ).fetchall())
        full = resources.reset_index(drop=True)
        resources = full.assign(
            capacity=[int(cap) - int(used.get(str(rid), 0))
                      for rid, cap in zip(resources["resource_id"], resources["capacity"])]
        )
        resources = resources[resources["capacity"] > 0].reset_index(drop=True)
        result = match(needs.reset_index(drop=True), resources, **match_options)
        with self._write() as w:
            rnd, n_changed, n_new = self._record(
                w, result, by=by, rematch=True, resources=full
            )
            matched = set(result.projects["need_id"].astype(str))
            dropped = [
                pid for pid, need in w.execute(
                    "SELECT project_id, need_id FROM projects WHERE status = 'not_started'"
                ).fetchall() if need not in matched
            ]
            at = _now()
            for pid in dropped:
                w.execute("UPDATE projects SET status='cancelled', updated_at=?,"
                          " updated_round=? WHERE project_id=?", (at, rnd, pid))
                w.execute("UPDATE assignments SET active = 0 WHERE project_id = ?", (pid,))
                w.execute(
                    "INSERT INTO status_changes (project_id, from_status, to_status, by, note, at)"
                    " VALUES (?,?,?,?,?,?)",
                    (pid, "not_started", "cancelled", by, f"rematch round {rnd}: no units", at),
                )
                self._audit(w, "set_status", project_id=pid, round=rnd, by=by,
                            detail={"from": "not_started", "to": "cancelled",
                                    "note": "rematch: no units"})
        return RematchReport(rnd, result, n_changed, n_new, len(dropped))


def _frame_from_records(frame: pd.DataFrame) -> pd.DataFrame:
    """A validated frame in the same JSON-round-tripped form as the stored rows."""
    return pd.DataFrame(_records(frame))


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


def _save_png(fig: Any, path: Path, dpi: int) -> None:
    """Save a figure as PNG atomically (a temporary file, then a rename)."""
    import tempfile
    import warnings

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".png", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        with warnings.catch_warnings():
            # Without a CJK font, matplotlib warns once per missing glyph.
            warnings.filterwarnings("ignore", message="Glyph .* missing")
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
