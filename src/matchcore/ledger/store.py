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
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..schema import STATUSES
from . import claims as claims_
from . import public_map as public_map_
from . import report as report_
from . import supervision as supervision_
from .export import LedgerExport
from .schema import (
    APPLICATION_ID,
    ENCODER,
    LEDGER_PROJECT_COLUMNS,
    LIVE_STATUSES,
    MIGRATIONS,
    N_BACKUPS,
    SCHEMA_VERSION,
    TRANSITIONS,
    frame_from_records,
    json_lines,
    legacy_options,
    plain_values,
    utc_now,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..options import MatchOptions
    from ..result import MatchResult

__all__ = ["ProjectLedger", "RematchReport"]

PathLike = str | os.PathLike[str]

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
    dropped_resources : tuple of str
        The resources that left in this round (``dropped_resources=``).
    n_affected : int
        Not-started and in-progress projects that had units on them.
    n_reassigned : int
        Affected projects whose lost units were all replaced in this round
        (their active units are back to at least what they were).
    n_to_backup : int
        Re-assigned projects that got at least one unit from a backup
        recorded for the resource they lost.
    """

    round: int
    result: MatchResult
    n_changed: int
    n_new: int
    n_dropped: int
    dropped_resources: tuple[str, ...] = ()
    n_affected: int = 0
    n_reassigned: int = 0
    n_to_backup: int = 0


class ProjectLedger(LedgerExport):
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
            if version < SCHEMA_VERSION:
                self._audit(c, "migrate",
                            detail={"from_version": version, "to_version": SCHEMA_VERSION})
            if version == 0:
                c.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                c.execute("INSERT OR REPLACE INTO meta VALUES ('application', 'matchcore-ledger')")
                c.execute("INSERT OR REPLACE INTO meta VALUES ('created_at', ?)", (utc_now(),))

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
                utc_now(),
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

    def add_round(
        self, result: MatchResult, *, by: str | None = None, backups: int = N_BACKUPS
    ) -> int:
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
        backups : int, default 3
            Backups recorded per assignment (:meth:`MatchResult.backups`);
            :meth:`rematch` prefers them when a resource drops out.

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
            rnd, _, _ = self._record(c, result, by=by, rematch=False, backups=backups)
        return rnd

    def _record(
        self,
        c: sqlite3.Connection,
        result: MatchResult,
        *,
        by: str | None,
        rematch: bool,
        resources: pd.DataFrame | None = None,
        extend: dict[str, str] | None = None,
        backups: int = N_BACKUPS,
        needs: pd.DataFrame | None = None,
    ) -> tuple[int, int, int]:
        """Store ``result`` as a new round; returns (round, n_changed, n_new).

        ``extend`` maps need ids to in-progress projects that lost units to a
        dropped resource: their new assignments are added to the project,
        which keeps its status and its other assignments.
        """
        extend = extend or {}
        if backups is not None and (
            isinstance(backups, bool) or not isinstance(backups, int) or backups < 0
        ):
            raise InputError(f"`backups` must be an integer >= 0; got {backups!r}")
        rnd = int(c.execute("SELECT coalesce(max(round), 0) + 1 FROM rounds").fetchone()[0])
        at = utc_now()
        options = result.options
        c.execute("INSERT INTO rounds (round, created_at, options, match_options)"
                  " VALUES (?,?,?,?)", (rnd, at, options.to_json(), options.to_json()))
        # rematch stores claimed needs whole (their claimed units were taken out of the solve).
        needs = result.district.needs if needs is None else needs
        # rematch stores full capacities: fixed projects are subtracted again each round.
        resources = result.district.resources if resources is None else resources
        c.executemany(
            "INSERT INTO needs VALUES (?,?,?)",
            zip(repeat(rnd), needs["need_id"].astype(str).tolist(), json_lines(needs)),
        )
        c.executemany(
            "INSERT INTO resources VALUES (?,?,?)",
            zip(repeat(rnd), resources["resource_id"].astype(str).tolist(),
                json_lines(resources)),
        )
        projects = result.projects
        # Assignments in project (need id) order, each need's rows as the match listed them.
        assign = result.assignments
        assign = assign.iloc[
            np.argsort(assign["need_id"].astype(str).to_numpy(dtype=object), kind="stable")
        ]
        a_need = assign["need_id"].astype(str)
        # One read of the live projects and their assignments, not one query per need.
        live: dict[str, tuple[str, str]] = {
            need: (pid, status) for need, pid, status in c.execute(
                "SELECT need_id, project_id, status FROM projects WHERE status IN (?, ?)"
                " ORDER BY round, project_id", LIVE_STATUSES,
            )
        }
        old = pd.DataFrame(
            c.execute(
                "SELECT a.project_id, a.resource_id, a.units FROM assignments a JOIN projects p"
                " USING (project_id) WHERE a.active = 1 AND p.status = 'not_started'"
            ).fetchall(),
            columns=["project_id", "resource_id", "units"],
        ).astype({"project_id": object, "resource_id": object, "units": "int64"})
        # A not-started project changed when its (resource, units) set differs.
        keeps = {need: v[0] for need, v in live.items()
                 if v[1] == "not_started" and need not in extend}
        new_rows = pd.DataFrame({
            "project_id": a_need.map(keeps).to_numpy(dtype=object),
            "resource_id": assign["resource_id"].astype(str).to_numpy(dtype=object),
            "units": assign["units"].to_numpy(dtype="int64"),
        })
        new_rows = new_rows[new_rows["project_id"].notna()]
        old = old[old["project_id"].isin(set(new_rows["project_id"]))]
        diff = old.merge(new_rows, how="outer", indicator=True)
        changed_pids = set(diff.loc[diff["_merge"] != "both", "project_id"])
        taken = {r[0] for r in c.execute("SELECT project_id FROM projects")}
        n_changed = n_new = 0
        pids: dict[str, str] = {}
        audits: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        creates: list[tuple[Any, ...]] = []
        ended: list[tuple[str]] = []
        enc = ENCODER.encode
        col = {name: plain_values(projects[name]) for name in
               ("community", "grid", "category", "demand", "assigned", "resources", "score")}
        for need, comm, grid, cat, demand, assigned, res, score in zip(
            projects["need_id"].astype(str).tolist(), col["community"], col["grid"],
            col["category"], col["demand"], col["assigned"], col["resources"], col["score"],
        ):
            if need in extend:
                pid = extend[need]
                detail = f'{{"in_progress": true, "added": {enc(res)}}}'
                audits.append((at, "reassign", pid, rnd, by, detail))
            elif need in live and live[need][1] == "not_started":
                pid = live[need][0]
                changed = pid in changed_pids
                n_changed += changed
                ended.append((pid,))
                updates.append(
                    (rnd, comm, grid, cat, demand, assigned, res, score, at, pid)
                )
                detail = f'{{"changed": {"true" if changed else "false"}, "resources": {enc(res)}}}'
                audits.append((at, "reassign", pid, rnd, by, detail))
            elif need in live:
                raise InputError(
                    f"need {need!r} already has project {live[need][0]!r} in progress; "
                    "use ProjectLedger.rematch, which keeps it fixed"
                )
            else:
                pid = "P-" + need
                if pid in taken:
                    pid = f"{pid}-R{rnd}"
                taken.add(pid)
                n_new += 1
                creates.append(
                    (pid, rnd, rnd, need, comm, grid, cat, demand, assigned, res, score,
                     "not_started", at, at)
                )
                detail = f'{{"need_id": {enc(need)}, "resources": {enc(res)}}}'
                audits.append((at, "create", pid, rnd, by, detail))
            pids[need] = pid
        c.executemany("UPDATE assignments SET active = 0 WHERE project_id = ?", ended)
        c.executemany(
            "UPDATE projects SET updated_round=?, community=?, grid=?, category=?,"
            " demand=?, assigned=?, resources=?, score=?, updated_at=? WHERE project_id=?",
            updates,
        )
        c.executemany("INSERT INTO projects VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", creates)
        c.executemany(
            "INSERT INTO status_changes (project_id, from_status, to_status, by, note, at)"
            " VALUES (?,?,?,?,?,?)",
            [(row[0], None, "not_started", by, f"round {rnd}", at) for row in creates],
        )
        c.executemany(
            "INSERT INTO audit (at, action, project_id, round, by, detail) VALUES (?,?,?,?,?,?)",
            audits,
        )
        c.executemany(
            "INSERT INTO assignments (project_id, round, need_id, resource_id, units,"
            " score, data) VALUES (?,?,?,?,?,?,?)",
            zip(a_need.map(pids).tolist(), repeat(rnd), a_need.tolist(),
                assign["resource_id"].astype(str).tolist(), plain_values(assign["units"]),
                plain_values(assign["score"]), json_lines(assign)),
        )
        if backups:
            b = result.backups(backups)
            b = b[b["need_id"].astype(str).isin(pids)]
            b_need = b["need_id"].astype(str)
            c.executemany(
                "INSERT INTO backups VALUES (?,?,?,?,?,?,?,?,?)",
                zip(repeat(rnd), b_need.map(pids).tolist(), b_need.tolist(),
                    b["resource_id"].astype(str).tolist(), plain_values(b["rank"]),
                    b["backup_resource_id"].astype(str).tolist(),
                    b["score"].astype(float).tolist(), b["distance"].astype(float).tolist(),
                    plain_values(b["spare_units"])),
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
        sql = f"SELECT {', '.join(LEDGER_PROJECT_COLUMNS)} FROM projects WHERE 1=1"
        args: list[Any] = []
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        if community is not None:
            sql += " AND community = ?"
            args.append(community)
        rows = self._conn.execute(sql + " ORDER BY project_id", args).fetchall()
        frame = pd.DataFrame(rows, columns=LEDGER_PROJECT_COLUMNS)
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
            at = utc_now()
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
            round, created_at, options (a dict per round: the
            :meth:`MatchOptions.to_dict` form; rounds recorded before schema
            version 3 show what they kept). :meth:`round_options` gives a
            round's options as a :class:`~matchcore.MatchOptions`.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> ledger.rounds()["options"].iat[0]["max_distance"]
        2000.0
        """
        rows = self._conn.execute(
            "SELECT round, created_at, options FROM rounds ORDER BY round"
        ).fetchall()
        return pd.DataFrame(
            [(int(r), at, json.loads(opts)) for r, at, opts in rows],
            columns=["round", "created_at", "options"],
        )

    def round_options(self, round: int | None = None) -> MatchOptions:
        """The :class:`~matchcore.MatchOptions` a round was matched with (the last by default).

        Parameters
        ----------
        round : int, optional
            The round's number; the last round when None.

        Raises
        ------
        InputError
            No such round; a round recorded by an older matchcore with a
            custom taxonomy (it kept only its repr) or a custom solver function.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000,
        ...                               weights=mc.Weights(locality=0.7)))
        >>> ledger.round_options().weights.locality
        0.7
        """
        from ..options import MatchOptions

        if round is None:
            row = self._conn.execute(
                "SELECT round, options, match_options FROM rounds ORDER BY round DESC LIMIT 1"
            ).fetchone()
            if row is None:
                raise InputError("the ledger has no round yet; call add_round first")
        else:
            row = self._conn.execute(
                "SELECT round, options, match_options FROM rounds WHERE round = ?", (round,)
            ).fetchone()
            if row is None:
                raise InputError(f"no round {round!r} in ledger {str(self.path)!r}")
        number, legacy, text = row
        if text is not None:
            return MatchOptions.from_json(text)
        return MatchOptions.from_dict(legacy_options(json.loads(legacy), int(number)))

    # ------------------------------------------------------------------ rematch
    def _latest(self, table: str, key: str) -> pd.DataFrame:
        rows = self._conn.execute(
            f"SELECT data FROM {table} WHERE round = (SELECT max(round) FROM rounds)"
            f" ORDER BY {key}"
        ).fetchall()
        # One parse of a joined array, not one per row.
        return pd.DataFrame(json.loads("[" + ",".join(r[0] for r in rows) + "]"))

    def rematch(
        self,
        new_needs: pd.DataFrame | None = None,
        new_resources: pd.DataFrame | None = None,
        options: MatchOptions | None = None,
        *,
        by: str | None = None,
        stickiness: float = 0.1,
        dropped_resources: Iterable[str] | None = None,
        backups: int = N_BACKUPS,
        as_of: Any = None,
        **overrides: Any,
    ) -> RematchReport:
        """Match again, keeping in-progress and completed projects fixed.

        The next round's needs are the last round's needs that have no
        in-progress, completed or cancelled project, plus ``new_needs`` (a
        need id given again replaces its row). Its resources are the last
        round's plus ``new_resources`` (same rule), less those that dropped
        out, each less the units of in-progress and completed projects.
        Not-started projects keep their id and get the new assignment; their
        current resources get the ``stickiness`` bonus, so a project moves only
        when that gains more than ``stickiness`` per unit. Those left without
        units are cancelled with a note.

        Resources in ``dropped_resources`` leave for good (they are marked in
        the ledger, never deleted; listing one again in ``new_resources``
        brings it back). The live assignments on them end. The needs of the
        not-started and in-progress projects that had units on them go back
        into the round (an in-progress project asks only for the units it
        lost and keeps its status and its other resources), and their edges to
        the backups recorded for the lost resource get the stickiness bonus:
        backups first, while the solve stays exact.

        The round is matched with the options of the round it continues
        (:meth:`round_options`: weights, reach, scope, taxonomy, ...), unless
        ``options`` or a keyword in ``overrides`` says otherwise.

        Parameters
        ----------
        new_needs, new_resources : DataFrame, optional
            Lists to add.
        options : MatchOptions, optional
            The options of this round; the last round's when None.
        by : str, optional
            Who ran it (audit log).
        stickiness : float, default 0.1
            Bonus in score units for each not-started project's current
            resources and for the backups of lost ones (see
            :func:`matchcore.match`); 0 re-matches freely.
        dropped_resources : iterable of str, optional
            Ids of resources that dropped out.
        backups : int, default 3
            Backups recorded per assignment of the new round.
        as_of : date, datetime or ISO text, optional
            The clock for claims (now when None): claims older than the
            ``claim_expiry_days`` setting expire first. Open claims are kept
            fixed like in-progress work (:meth:`claim`).
        **overrides
            Single options (``max_distance``, ``weights``, ``scope``, ...; see
            :class:`~matchcore.MatchOptions`) that replace those of ``options``.

        Returns
        -------
        RematchReport

        Raises
        ------
        InputError
            No round recorded yet; a dropped resource that the last round did
            not list, that already left, or that is also in ``new_resources``;
            an unknown option, or ``incumbent`` (rematch sets it).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> ledger.set_status("P-N1", "in_progress")
        >>> report = ledger.rematch()
        >>> report.round, report.n_changed, report.result.options.max_distance
        (2, 0, 2000.0)
        >>> report = ledger.rematch(dropped_resources=["R1"])
        >>> report.n_affected, report.n_reassigned, report.n_to_backup
        (1, 0, 0)
        """
        from ..io import read_needs, read_resources
        from ..options import MatchOptions
        from ..pipeline import match

        if self.n_rounds == 0:
            raise InputError("rematch needs a recorded round; call add_round first")
        if "incumbent" in overrides:
            raise InputError(
                "rematch sets `incumbent` itself (the not-started projects' assignments); "
                "do not pass it"
            )
        opts = MatchOptions.from_arguments(
            self.round_options() if options is None else options, **overrides
        ).replace(stickiness=stickiness)
        c = self._conn
        needs = self._latest("needs", "need_id")
        resources = self._latest("resources", "resource_id")
        new_n = read_needs(new_needs) if new_needs is not None else None
        new_r = read_resources(new_resources) if new_resources is not None else None
        returned = set() if new_r is None else set(new_r["resource_id"].astype(str))
        gone = {
            r[0]: r[1] for r in c.execute(
                "SELECT resource_id, round FROM dropped_resources WHERE returned_round IS NULL"
            )
        }
        drop = self._check_dropped(dropped_resources, resources, gone, returned)
        with self._write() as w:
            claims_.settle(w, self._audit, as_of=as_of, by=by, dropped=drop)
        if new_n is not None:
            needs = pd.concat(
                [needs[~needs["need_id"].astype(str).isin(new_n["need_id"].astype(str))],
                 frame_from_records(new_n)], ignore_index=True)
        if new_r is not None:
            resources = pd.concat(
                [resources[~resources["resource_id"].astype(str).isin(returned)],
                 frame_from_records(new_r)], ignore_index=True)
        settled = {
            r[0] for r in c.execute(
                "SELECT need_id FROM projects p WHERE round = (SELECT max(round) FROM projects q"
                " WHERE q.need_id = p.need_id) AND status IN ('in_progress', 'completed',"
                " 'cancelled')"
            )
        }
        if new_n is not None:
            # A need given again is a new request, even if its old project is settled.
            settled -= set(new_n["need_id"].astype(str))
        needs = needs[~needs["need_id"].astype(str).isin(settled)]

        live = self._live_assignments()
        lost = live[live["resource_id"].isin(drop)]
        affected = sorted(set(lost["project_id"]))
        # In-progress projects that lost units come back asking for those units only.
        lost_ip = lost[lost["status"] == "in_progress"]
        if new_n is not None:
            lost_ip = lost_ip[~lost_ip["need_id"].isin(set(new_n["need_id"].astype(str)))]
        extend = dict(zip(lost_ip["need_id"], lost_ip["project_id"]))
        if extend:
            units_lost = lost_ip.groupby("need_id")["units"].sum()
            back = self._need_rows(sorted(extend)).assign(
                demand=lambda f: f["need_id"].map(units_lost).astype("int64")
            )
            needs = pd.concat([needs, back], ignore_index=True)
        # Open claims are fixed like in-progress work: their units leave the solve.
        held = claims_.held(c)
        stored_needs = needs if len(held) else None
        needs = claims_.less_claimed(needs, held)
        claimed = set(zip(held["need_id"], held["resource_id"]))
        sticky = live[(live["status"] == "not_started") & ~live["resource_id"].isin(drop)
                      & np.array([p not in claimed for p in zip(live["need_id"],
                                                                 live["resource_id"])], bool)]
        preferred = self._backups_of(lost)
        incumbent = (
            pd.concat([sticky[["need_id", "resource_id"]], preferred], ignore_index=True)
            .drop_duplicates()
            .sort_values(["need_id", "resource_id"])
            .reset_index(drop=True)
        )

        used = dict(c.execute(
            "SELECT a.resource_id, sum(a.units) FROM assignments a JOIN projects p"
            " USING (project_id) WHERE a.active = 1 AND p.status IN ('in_progress', 'completed')"
            " GROUP BY a.resource_id"
        ).fetchall())
        for rid, units in held.groupby("resource_id")["units"].sum().items():
            used[rid] = used.get(rid, 0) + int(units)
        full = resources.reset_index(drop=True)
        taken_units = full["resource_id"].astype(str).map(used).fillna(0).astype("int64")
        resources = full.assign(
            capacity=full["capacity"].astype("int64").to_numpy() - taken_units.to_numpy()
        )
        out = set(gone) - returned | set(drop)
        resources = resources[
            (resources["capacity"] > 0) & ~resources["resource_id"].astype(str).isin(out)
        ].reset_index(drop=True)
        result = match(needs.reset_index(drop=True), resources, opts, incumbent=incumbent)
        before = live.groupby("project_id")["units"].sum()
        with self._write() as w:
            rnd, n_changed, n_new = self._record(
                w, result, by=by, rematch=True, resources=full, extend=extend, backups=backups,
                needs=None if stored_needs is None else stored_needs.reset_index(drop=True),
            )
            claims_.reapply(w, self._audit, rnd, utc_now())
            at = utc_now()
            for rid in sorted(returned & set(gone)):
                w.execute("UPDATE dropped_resources SET returned_round = ? WHERE resource_id = ?"
                          " AND returned_round IS NULL", (rnd, rid))
                self._audit(w, "resource_returned", round=rnd, by=by,
                            detail={"resource_id": rid, "dropped_in_round": gone[rid]})
            for rid in drop:
                mine = lost[lost["resource_id"] == rid]
                w.execute(
                    "INSERT INTO dropped_resources (resource_id, round, at, by, n_projects)"
                    " VALUES (?,?,?,?,?)", (rid, rnd, at, by, len(mine)),
                )
                self._audit(w, "resource_dropped", round=rnd, by=by,
                            detail={"resource_id": rid,
                                    "projects": sorted(set(mine["project_id"]))})
            for pid, rid, units in zip(lost["project_id"], lost["resource_id"], lost["units"]):
                w.execute("UPDATE assignments SET active = 0 WHERE project_id = ?"
                          " AND resource_id = ? AND active = 1", (pid, rid))
                self._audit(w, "assignment_ended", project_id=pid, round=rnd, by=by,
                            detail={"resource_id": rid, "units": int(units),
                                    "why": "resource dropped out"})
            for pid in sorted(set(extend.values())):
                self._refresh_project(w, pid, rnd, at)
            matched = set(result.projects["need_id"].astype(str)) | set(held["need_id"])
            cancelled = [
                pid for pid, need in w.execute(
                    "SELECT project_id, need_id FROM projects WHERE status = 'not_started'"
                ).fetchall() if need not in matched
            ]
            w.executemany("UPDATE projects SET status='cancelled', updated_at=?,"
                          " updated_round=? WHERE project_id=?",
                          [(at, rnd, pid) for pid in cancelled])
            w.executemany("UPDATE assignments SET active = 0 WHERE project_id = ?",
                          [(pid,) for pid in cancelled])
            w.executemany(
                "INSERT INTO status_changes (project_id, from_status, to_status, by, note, at)"
                " VALUES (?,?,?,?,?,?)",
                [(pid, "not_started", "cancelled", by, f"rematch round {rnd}: no units", at)
                 for pid in cancelled],
            )
            detail = ENCODER.encode(
                {"from": "not_started", "to": "cancelled", "note": "rematch: no units"}
            )
            w.executemany(
                "INSERT INTO audit (at, action, project_id, round, by, detail)"
                " VALUES (?,?,?,?,?,?)",
                [(at, "set_status", pid, rnd, by, detail) for pid in cancelled],
            )
            n_reassigned, n_to_backup = self._replaced(w, affected, before, rnd, preferred)
            if drop:
                self._audit(w, "rematch_dropped", round=rnd, by=by,
                            detail={"dropped_resources": drop, "n_affected": len(affected),
                                    "n_reassigned": n_reassigned, "n_to_backup": n_to_backup})
        return RematchReport(rnd, result, n_changed, n_new, len(cancelled), tuple(drop),
                             len(affected), n_reassigned, n_to_backup)

    def _check_dropped(
        self,
        dropped: Iterable[str] | None,
        resources: pd.DataFrame,
        gone: dict[str, int],
        returned: set[str],
    ) -> list[str]:
        """Sorted distinct ids of ``dropped``, each a resource of the last round still here."""
        if dropped is None:
            return []
        if isinstance(dropped, str):
            dropped = [dropped]
        try:
            ids = sorted({str(v).strip() for v in dropped})
        except TypeError as err:
            raise InputError(
                f"`dropped_resources` must be an iterable of resource ids; got {dropped!r}"
            ) from err
        known = set(resources["resource_id"].astype(str)) if len(resources) else set()
        problems = [f"{r!r} is not a resource of the last round" for r in ids if r not in known]
        problems += [f"{r!r} already dropped out in round {gone[r]}" for r in ids
                     if r in gone and r not in returned]
        problems += [f"{r!r} is also listed in new_resources" for r in ids if r in returned]
        if problems:
            raise InputError(
                "`dropped_resources` must name resources of the last round that are still "
                "available; got: " + "; ".join(problems)
            )
        return ids

    def _live_assignments(self) -> pd.DataFrame:
        """Active assignments of not-started and in-progress projects, with the status."""
        cols = ["project_id", "need_id", "resource_id", "units", "round", "status"]
        rows = self._conn.execute(
            "SELECT a.project_id, a.need_id, a.resource_id, a.units, a.round, p.status"
            " FROM assignments a JOIN projects p USING (project_id)"
            " WHERE a.active = 1 AND p.status IN (?, ?) ORDER BY a.project_id, a.resource_id",
            LIVE_STATUSES,
        ).fetchall()
        frame = pd.DataFrame(rows, columns=cols)
        frame["units"] = frame["units"].astype("int64")
        return frame

    def _need_rows(self, need_ids: list[str]) -> pd.DataFrame:
        """Each need's row as last recorded (whatever the round)."""
        records = []
        for need in need_ids:
            row = self._conn.execute(
                "SELECT data FROM needs WHERE need_id = ? ORDER BY round DESC LIMIT 1", (need,)
            ).fetchone()
            records.append(json.loads(row[0]))
        return pd.DataFrame(records)

    def _backups_of(self, lost: pd.DataFrame) -> pd.DataFrame:
        """(need_id, backup resource_id) recorded for the lost assignments."""
        pairs: list[tuple[str, str]] = []
        for pid, rid, rnd in zip(lost["project_id"], lost["resource_id"], lost["round"]):
            pairs += self._conn.execute(
                "SELECT need_id, backup_resource_id FROM backups WHERE round = ?"
                " AND project_id = ? AND resource_id = ? ORDER BY rank",
                (int(rnd), pid, rid),
            ).fetchall()
        return pd.DataFrame(pairs, columns=["need_id", "resource_id"])

    def _refresh_project(self, c: sqlite3.Connection, pid: str, rnd: int, at: str) -> None:
        """Recompute an in-progress project's assigned, resources and score from its
        active assignments."""
        rows = c.execute(
            "SELECT resource_id, units, score FROM assignments WHERE project_id = ?"
            " AND active = 1 ORDER BY units DESC, resource_id", (pid,),
        ).fetchall()
        c.execute(
            "UPDATE projects SET updated_round=?, assigned=?, resources=?, score=?, updated_at=?"
            " WHERE project_id=?",
            (rnd, sum(int(u) for _, u, _ in rows), ";".join(r for r, _, _ in rows),
             sum(float(s or 0.0) * int(u) for _, u, s in rows), at, pid),
        )
        self._audit(c, "reassign", project_id=pid, round=rnd,
                    detail={"in_progress": True, "resources": [r for r, _, _ in rows]})

    def _replaced(
        self,
        c: sqlite3.Connection,
        affected: list[str],
        before: pd.Series,
        rnd: int,
        preferred: pd.DataFrame,
    ) -> tuple[int, int]:
        """How many affected projects got all their units back, and how many of those
        got a unit from a recorded backup."""
        backup_pairs = set(zip(preferred["need_id"], preferred["resource_id"]))
        n_back = n_backup = 0
        for pid in affected:
            rows = c.execute(
                "SELECT need_id, resource_id, units, round FROM assignments"
                " WHERE project_id = ? AND active = 1", (pid,),
            ).fetchall()
            if sum(int(u) for _, _, u, _ in rows) >= int(before.get(pid, 0)):
                n_back += 1
                n_backup += any(r == rnd and (n, res) in backup_pairs for n, res, _, r in rows)
        return n_back, n_backup

    # ------------------------------------------------------------------ the loop: claims
    # Thin doors to claims.py, supervision.py, report.py and public_map.py (issue 17).
    def settings(self, *, by: str | None = None, **values: Any) -> dict[str, Any]:
        """Read, or set and read, the ledger's settings.

        Parameters
        ----------
        by : str, optional
            Who changed them (audit log).
        **values
            ``claim_limit`` (open claims per provider, an int >= 1) and
            ``claim_expiry_days`` (days a claim may stay unstarted, > 0); None
            restores the default (no limit, no expiry).

        Returns
        -------
        dict
            Every setting's current value.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> ledger.settings(claim_limit=2)
        {'claim_limit': 2, 'claim_expiry_days': None}
        """
        if not values:
            return claims_.get_settings(self._conn)
        with self._write() as c:
            return claims_.set_settings(c, self._audit, by=by, **values)

    def set_setting(self, key: str, value: Any, *, by: str | None = None) -> None:
        """Set one setting (see :meth:`settings`).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> ledger.set_setting("claim_expiry_days", 14)
        >>> ledger.settings()["claim_expiry_days"]
        14.0
        """
        self.settings(by=by, **{key: value})

    def claim(
        self,
        need_id: str,
        resource_id: str,
        units: int | None = None,
        *,
        by: str | None = None,
        force: bool = False,
        as_of: Any = None,
    ) -> int:
        """Record that a provider takes on a need (共建项目认领).

        The claim is an assignment on the need's not-started project (created
        when it has none) that every later :meth:`rematch` keeps fixed, like
        in-progress work, until the claim is released (:meth:`release_claim`),
        its project starts or is cancelled, its resource drops out, or it
        expires (``claim_expiry_days`` after ``as_of`` without starting).

        Parameters
        ----------
        need_id, resource_id : str
            A need and a resource of the last round.
        units : int, optional
            Units claimed; by default as many as both the need (units no other
            resource holds) and the resource (capacity left) allow.
        by : str, optional
            Who claims (a party member, a co-building unit's contact).
        force : bool, default False
            Record a pair that the round's options would not match (category
            affinity 0 under the round's taxonomy, out of reach, no time
            overlap, skills missing); the claim is flagged with the reason.
        as_of : date, datetime or ISO text, optional
            When it is made (now when None).

        Returns
        -------
        int
            The claim's id.

        Raises
        ------
        InputError
            An unknown need or resource, a need already in progress or done,
            more units than the need or the resource has left, the provider
            at its ``claim_limit``, or an incompatible pair without ``force``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> ledger.claim("N1", "R1", by="党员 李明", as_of="2026-03-02")
        1
        >>> ledger.rematch(as_of="2026-03-03").result.options.max_distance
        2000.0
        >>> ledger.claims()[["need_id", "resource_id", "units", "status"]].values.tolist()
        [['N1', 'R1', 2, 'open']]
        """
        options = self.round_options()
        with self._write() as c:
            return claims_.claim(c, self._audit, options, need_id, resource_id, units=units,
                                 by=by, force=force, as_of=as_of)

    def release_claim(
        self,
        claim: int | str,
        *,
        by: str | None = None,
        note: str | None = None,
        as_of: Any = None,
    ) -> list[int]:
        """Release an open claim (by claim id) or every open claim of a need (by need id).

        The claim's assignment ends: the need is open again (:meth:`open_for_claims`)
        and the next :meth:`rematch` may match it anew.

        Returns
        -------
        list of int
            The claims released.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> k = ledger.claim("N1", "R1", by="李明")
        >>> ledger.release_claim("N1", by="李明", note="moved away")
        [1]
        """
        with self._write() as c:
            return claims_.release(c, self._audit, claim, by=by, note=note, as_of=as_of)

    def expire_claims(self, as_of: Any = None, *, by: str | None = None) -> pd.DataFrame:
        """Bring the claims up to date at ``as_of`` and return them (:meth:`claims`).

        Open claims whose project started become ``started``; those older than
        ``claim_expiry_days`` become ``expired`` (their assignment ends).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> ledger.set_setting("claim_expiry_days", 7)
        >>> _ = ledger.claim("N1", "R1", as_of="2026-03-01")
        >>> ledger.expire_claims("2026-03-09")["status"].tolist()
        ['expired']
        """
        with self._write() as c:
            claims_.settle(c, self._audit, as_of=as_of, by=by)
        return self.claims()

    def claims(self, status: str | None = None) -> pd.DataFrame:
        """The claims (every one, or those of one status: open, started, released,
        expired, cancelled), with ``forced`` and the ``flag`` of a forced claim.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> len(ledger.claims())
        0
        """
        return claims_.claims_table(self._conn, status)

    def open_for_claims(self, as_of: Any = None) -> pd.DataFrame:
        """The claiming board: needs of the last round with units no project holds.

        Returns
        -------
        pandas.DataFrame
            need_id, community, grid, category, priority, demand, units_open,
            reason (why it is unmet, a key of :data:`matchcore.result.REASONS`,
            under the last round's options), n_resources, resources and
            providers (``;``-separated, nearest first: resources with capacity
            left that the round's options would match to it). Most urgent
            first.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> ledger.open_for_claims()[["need_id", "reason"]].values.tolist()
        [['N3', 'outbid'], ['N5', 'out_of_reach'], ['N4', 'no_compatible_resource']]
        """
        with self._write() as c:
            claims_.settle(c, self._audit, as_of=as_of)
        return claims_.open_for_claims(self._conn, self.round_options())

    # ------------------------------------------------------------------ the loop: supervision
    def assign(
        self,
        project_id: str,
        *,
        owner: str | None = None,
        due: Any = None,
        by: str | None = None,
        note: str | None = None,
        as_of: Any = None,
    ) -> None:
        """Give a project an owner (责任人) and a deadline (完成时限).

        Each call adds a row (the latest is current), so the history stays.

        Parameters
        ----------
        project_id : str
            The project.
        owner : str, optional
            Who answers for it.
        due : date, datetime or ISO text, optional
            The deadline (a day).
        by, note : str, optional
            Who made the assignment and why (audit log).
        as_of : date, datetime or ISO text, optional
            When (now when None).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> ledger.assign("P-N1", owner="王芳", due="2026-03-10")
        >>> ledger.overdue(as_of="2026-03-12")[["project_id", "owner", "days_left"]].values.tolist()
        [['P-N1', '王芳', -2]]
        """
        with self._write() as c:
            supervision_.assign(c, self._audit, project_id, owner=owner, due=due, by=by,
                                note=note, as_of=as_of)

    def owners(self) -> pd.DataFrame:
        """Each project's current owner and deadline (project_id, owner, due, assigned_at).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> list(ledger.owners().columns)
        ['project_id', 'owner', 'due', 'assigned_at']
        """
        return supervision_.owners(self._conn)

    def supervision(self, as_of: Any = None) -> pd.DataFrame:
        """The project list with owner, due, days_left and its supervision ``flag``.

        ``flag`` is a key of :data:`matchcore.ledger.supervision.SUPERVISION_COLOURS`:
        ``overdue`` (red), ``due_soon`` (amber, within 7 days), ``on_track``
        (green; no deadline counts as on track) or ``done`` (grey: completed
        or cancelled), at ``as_of`` (today when None).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> ledger.assign("P-N2", owner="赵强", due="2026-03-05")
        >>> ledger.supervision(as_of="2026-03-01")["flag"].tolist()
        ['on_track', 'due_soon', 'on_track']
        """
        return supervision_.supervision(self.projects(), self.owners(), as_of)

    def overdue(self, as_of: Any = None) -> pd.DataFrame:
        """Projects not done whose deadline is past at ``as_of`` (today when None),
        most overdue first (see :meth:`supervision`).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> len(ledger.overdue())
        0
        """
        table = self.supervision(as_of)
        late = table[table["flag"] == "overdue"]
        return late.sort_values(["days_left", "project_id"]).reset_index(drop=True)

    def open_problem(
        self,
        project_id: str | None = None,
        community: str | None = None,
        *,
        text: str,
        due: Any = None,
        by: str | None = None,
        as_of: Any = None,
    ) -> int:
        """Open an item of the problem ledger (问题台账) found at an inspection.

        Parameters
        ----------
        project_id : str, optional
            The project it concerns (its community is taken from it).
        community : str, optional
            The community, for a problem of no single project.
        text : str
            What is wrong.
        due : date, datetime or ISO text, optional
            When it must be put right.
        by : str, optional
            Who found it.
        as_of : date, datetime or ISO text, optional
            When (now when None).

        Returns
        -------
        int
            The problem's id; it stays in every dispatch report until closed.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> k = ledger.open_problem("P-N1", text="助餐点未公示服务时间", by="督查组")
        >>> ledger.close_problem(k, by="东湖社区", note="已公示")
        >>> len(ledger.problems()), len(ledger.problems(open=False))
        (0, 1)
        """
        with self._write() as c:
            return supervision_.open_problem(c, self._audit, project_id=project_id,
                                             community=community, text=text, due=due, by=by,
                                             as_of=as_of)

    def close_problem(
        self, problem_id: int, *, by: str | None = None, note: str | None = None,
        as_of: Any = None,
    ) -> None:
        """Close an open problem (逐项对账销号), saying who and how; see :meth:`open_problem`.

        Raises
        ------
        InputError
            An unknown problem, or one already closed.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> k = ledger.open_problem(community="西山社区", text="台账未更新")
        >>> ledger.close_problem(k, by="西山社区", note="已更新")
        >>> ledger.problems(open=False)[["problem_id", "note"]].values.tolist()
        [[1, '已更新']]
        """
        with self._write() as c:
            supervision_.close_problem(c, self._audit, problem_id, by=by, note=note,
                                       as_of=as_of)

    def problems(self, open: bool | None = True) -> pd.DataFrame:
        """The problem ledger: open items (True), closed ones (False) or all (None).

        Columns: problem_id, project_id, community, text, due, opened_by,
        opened_at, closed_by, closed_at, note; see :meth:`open_problem`.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> _ = ledger.open_problem(community="东湖社区", text="公示栏未更新", due="2026-04-01")
        >>> ledger.problems()[["community", "text", "due"]].values.tolist()
        [['东湖社区', '公示栏未更新', '2026-04-01']]
        """
        return supervision_.problems(self._conn, open)

    # ------------------------------------------------------------------ the loop: report
    def report(
        self,
        path: PathLike,
        since: int | str | Any = None,
        *,
        as_of: Any = None,
        by: str | None = None,
    ) -> dict[str, Path]:
        """Write the dispatch report (项目调度会通报): an Excel workbook and an HTML page.

        The workbook (Chinese headers) has the sheets 汇总 (per community and
        for the street: projects by status, the period's changes, overdue and
        due-soon items, open problems, unmet needs), 本期变化 (new, started,
        completed, cancelled and claimed projects since ``since``), 逾期督办
        (overdue and due-soon projects with owners; :meth:`supervision`),
        问题台账 (open problems), 未满足需求 and 未满足原因 (unmet needs,
        :meth:`open_for_claims`), 认领 (open claims) and one sheet of projects
        per community. The HTML page beside it shows the same tables. The
        ledger remembers the report, so the next one starts from it.

        Parameters
        ----------
        path : str or path-like
            An ``.xlsx`` file (the page gets the same name with ``.html``), or
            a folder (``dispatch-report.xlsx`` and ``.html`` in it).
        since : int, date, datetime or ISO text, optional
            The period's start: a round number (changes after that round was
            recorded) or a time; by default the last report (or the start).
        as_of : date, datetime or ISO text, optional
            The day deadlines are measured against (today when None).
        by : str, optional
            Who made it (audit log).

        Returns
        -------
        dict
            ``{"xlsx": Path, "html": Path}``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> ledger = mc.ProjectLedger(folder / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> files = ledger.report(folder / "report", as_of="2026-03-31")
        >>> sorted(p.name for p in files.values())
        ['dispatch-report.html', 'dispatch-report.xlsx']
        """
        start = report_.since_time(self._conn, since)
        files = report_.write_report(self, path, since=start, as_of=as_of)
        with self._write() as c:
            report_.record_report(c, self._audit, at=utc_now(), since=start,
                                  path=files["xlsx"], by=by)
        return files

    # ------------------------------------------------------------------ the loop: public maps
    def public_map(
        self,
        path: PathLike,
        community: str | None = None,
        *,
        columns: Sequence[str] | None = None,
        colour_by: public_map_.ColourBy = "status",
        jitter: float = public_map_.JITTER_M,
        tiles: str | None = None,
        title: str | None = None,
        as_of: Any = None,
    ) -> Path:
        """Write the public project map (公示图): one self-contained, de-identified HTML page.

        Projects are coloured by the three classes completed, in progress,
        not started (已经完成、正在实施、尚未开工; cancelled ones are left out),
        with a legend and counts; hovering a marker shows its whitelisted
        fields. The page has its SVG, CSS and script inline and works
        offline. Markers sit at their grid's centre, moved at most ``jitter``
        metres with a seed derived from the project id (see
        :mod:`matchcore.ledger.public_map`): no need's position, resident's
        name, phone number or description is in the file; providers are named.

        Parameters
        ----------
        path : str or path-like
            The ``.html`` file.
        community : str, optional
            Only this community's projects (the street's map when None).
        columns : sequence of str, optional
            The fields shown per project, among
            :data:`~matchcore.ledger.public_map.ALLOWED_COLUMNS`; by default
            :data:`~matchcore.ledger.public_map.PUBLIC_COLUMNS`.
        colour_by : {"status", "supervision"}, default "status"
            The three status classes, or the supervision colour code
            (:meth:`supervision`).
        jitter : float, default 150.0
            Largest offset from the snapped position, metres.
        tiles : str, optional
            A tile URL template (``https://.../{z}/{x}/{y}.png``) drawn under
            the markers when the browser is online; lat/lon ledgers only.
        title : str, optional
            The page's heading.
        as_of : date, datetime or ISO text, optional
            The day of the data (deadlines for ``colour_by="supervision"``).

        Returns
        -------
        pathlib.Path

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> ledger = mc.ProjectLedger(folder / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> page = ledger.public_map(folder / "map.html").read_text(encoding="utf-8")
        >>> "独居老人助餐" in page, 'id="mc-legend"' in page
        (False, True)
        """
        return public_map_.write_public_map(
            self, path, community=community, columns=columns,
            colour_by=colour_by, jitter=jitter, tiles=tiles, title=title, as_of=as_of)

    def public_maps(self, folder: PathLike, **options: Any) -> dict[str, Path]:
        """Write the street's public map and one per community in ``folder``.

        ``public-map.html`` is the street's, ``public-map-<community>.html``
        each community's; ``options`` are those of :meth:`public_map`.

        Returns
        -------
        dict
            Community name (``"全街道"`` for the street) to the file written.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> ledger = mc.ProjectLedger(folder / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> sorted(ledger.public_maps(folder / "maps"))
        ['东湖社区', '全街道', '西山社区']
        """
        return public_map_.write_public_maps(self, folder, **options)
