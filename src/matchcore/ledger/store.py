"""The project list as durable state: rounds, projects, statuses and their history.

A :class:`ProjectLedger` keeps every round's needs, resources, projects and
assignments (each round stores what changed since the last: :mod:`.lists`) in
one SQLite file (WAL mode, one ``BEGIN IMMEDIATE`` transaction
per change), so several processes can update statuses safely and a crash
leaves the last committed state. Nothing is deleted: changes are appended to
``status_changes`` and to an audit log. Planning a rematch is :mod:`.plan`
(frames only), writing it :mod:`.record`, the exports :mod:`.export`.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..checks import check_scalar
from ..errors import InputError, LedgerChanged, LedgerClosed, MatchcoreError
from ..schema import STATUSES
from . import claims as claims_
from . import public_map as public_map_
from . import report as report_
from . import supervision as supervision_
from .claims import round_rows
from .connection import bump, busy_error, is_locked, open_connection, stamp
from .export import LedgerExporter
from .lists import ListName
from .live import read_rows
from .plan import (
    LedgerState,
    RematchPlan,
    RematchPreview,
    normalize_dropped,
    plan_rematch,
    preview_rematch,
)
from .record import finish_round, record_rematch, record_round, write_audit
from .schema import (
    LEDGER_PROJECT_COLUMNS,
    N_BACKUPS,
    STATUS_WORDS,
    TRANSITIONS,
    legacy_options,
    parse_status,
    parse_time,
    utc_now,
)
from .state import latest_rows, read_state
from .warm import WarmEncoding, clear_warm, read_warm, start_reading, warm_info, write_warm

if TYPE_CHECKING:  # pragma: no cover
    from ..options import MatchOptions
    from ..result import MatchResult, WarmState

__all__ = ["ProjectLedger", "RematchReport", "StagedRound"]

PathLike = str | os.PathLike[str]

#: Optimistic rematch attempts (plan outside the write lock, check the stamp under
#: it) before the last attempt plans while holding the lock.
OPTIMISTIC_TRIES = 2


@dataclass(frozen=True)
class RematchReport:
    """What :meth:`ProjectLedger.rematch` did (or, with ``dry_run=True``, would do).

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
    dry_run : bool
        True when nothing was written.
    plan : RematchPlan, optional
        What was matched against what (:func:`matchcore.ledger.plan.plan_rematch`).
    preview : RematchPreview, optional
        The moves, new projects, extensions and cancellations as frames.
    attempts : int
        How many times the round was planned: more than 1 when another
        process wrote between the read and the write (the last attempt, 3,
        plans holding the write lock).
    started_from : {"memory", "ledger", "cold"}
        What the match started from: the ``start`` result given, the warm
        state stored in the ledger (``keep_warm=True``), or nothing.

    staged : StagedRound, optional
        A dry run's: what :meth:`ProjectLedger.commit` needs to record that
        very round later without matching again (the state it was planned
        on); None in the report of a recorded round. Not part of the report's
        value (``==``, ``repr``).
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
    dry_run: bool = False
    plan: RematchPlan | None = None
    preview: RematchPreview | None = None
    attempts: int = 1
    started_from: str = "cold"
    staged: StagedRound | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class StagedRound:
    """What a dry run planned on, for :meth:`ProjectLedger.commit` to record it as is
    (:attr:`RematchReport.staged`; read by ``commit`` only).

    ``before`` is the ledger's version stamp when the dry run began to read,
    ``state`` the state it planned from (after settling claims, when there were
    open ones: ``settle`` repeats that write, with the dry run's clock, in the
    commit's transaction).
    """

    path: Path
    before: tuple[int, ...]
    state: LedgerState
    plan: RematchPlan
    #: A copy of the report's preview (the frames a user may edit stay theirs).
    preview: RematchPreview
    settle: Any  # Callable[[sqlite3.Connection], None] | None
    by: str | None
    backups: int


class _StaleState(Exception):
    """The ledger changed between a rematch's read and its write (internal: re-plan)."""


def _text(value: Any, name: str, *, allow_none: bool = True) -> Any:
    """``value`` when it is a str (or None when allowed); else an InputError naming it."""
    if isinstance(value, str) or (value is None and allow_none):
        return value
    rule = "a str or None" if allow_none else "a str"
    raise InputError(f"`{name}` must be {rule}; got {value!r} ({type(value).__name__})")


class ProjectLedger:
    """A durable project list (项目清单) in one SQLite file.

    Parameters
    ----------
    path : str or path-like
        The ledger file; created when missing.
    timeout : float, default 30.0
        Seconds to wait for another process's write lock (``busy_timeout``).
    keep_warm : bool, default True
        Keep the last round's warm state in the file (:mod:`.warm`: its
        candidate graph and optimal bases, no pickle), written in each round's
        transaction, so that :meth:`rematch` in a fresh process starts warm
        from it (same result as cold, less time). At city_100k (10^5 needs,
        2.5M edges) it is 12.6 MB (format 2), costs about 0.3 s to write per
        round and 0.3 s to read (``docs/rematch.md``). False writes none (and
        deletes a stored one when a round is recorded); a stored state is read
        either way.

    Raises
    ------
    InputError
        If ``path`` is not a str or path-like, ``timeout`` is not a number
        >= 0, ``keep_warm`` is not a bool, or ``path`` exists but is not a
        matchcore ledger (another SQLite database, a text file, a truncated or
        corrupt file).
    LedgerBusy
        If another process held the file's write lock longer than ``timeout``
        (while creating or migrating it).

    Notes
    -----
    Every failure of a public method is a :class:`~matchcore.MatchcoreError`:
    :class:`~matchcore.InputError` for a bad argument, :class:`~matchcore.LedgerBusy`
    when the file stays locked (retry), :class:`~matchcore.LedgerClosed` after
    :meth:`close`. One ledger object is meant for one thread at a time; several
    processes (or objects) on one file are safe.

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

    def __init__(self, path: PathLike, *, timeout: float = 30.0,
                 keep_warm: bool = True) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise InputError(
                f"`path` must be a str or path-like (the ledger file); got {path!r} "
                f"({type(path).__name__})"
            )
        self.path = Path(path)
        self.timeout = check_scalar(timeout, "timeout", "float", low=0, unit="seconds")
        if not isinstance(keep_warm, bool):
            raise InputError(f"`keep_warm` must be True or False; got {keep_warm!r}")
        self.keep_warm = keep_warm
        #: (bytes, seconds) of the last warm state this object wrote (issue 13).
        self.last_warm_write: tuple[int, float] = (0, 0.0)
        self._closed = True
        self._exporter = LedgerExporter(self._projects_of, self._query)
        self._conn = open_connection(self.path, self.timeout)
        self._closed = False

    # ------------------------------------------------------------------ access
    def _error(self, err: sqlite3.Error) -> MatchcoreError:
        """The matchcore error for an SQLite failure of a public call."""
        if is_locked(err):
            return busy_error(self.path, self.timeout, err)
        if isinstance(err, sqlite3.ProgrammingError) and "closed" in str(err).lower():
            return self._closed_error()
        return MatchcoreError(f"ledger {str(self.path)!r}: SQLite failed: {err}")

    def _closed_error(self) -> LedgerClosed:
        return LedgerClosed(
            f"ledger {str(self.path)!r} is closed; open it again with "
            f"mc.ProjectLedger({str(self.path)!r})"
        )

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise self._closed_error()
        return self._conn

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one read-only statement (its own snapshot)."""
        c = self._connection()
        try:
            return c.execute(sql, tuple(args)).fetchall()
        except sqlite3.Error as err:
            raise self._error(err) from err

    def _select(
        self,
        table: str,
        columns: Sequence[str],
        where: Mapping[str, Any] | None = None,
        *,
        order: str | None = None,
    ) -> list[tuple[Any, ...]]:
        """``SELECT columns FROM table`` with an equality filter per non-None value of
        ``where``, ordered by ``order``. Names come from this module, never from users."""
        filters = {k: v for k, v in (where or {}).items() if v is not None}
        sql = f"SELECT {', '.join(columns)} FROM {table}"
        if filters:
            sql += " WHERE " + " AND ".join(f"{k} = ?" for k in filters)
        if order:
            sql += f" ORDER BY {order}"
        return self._query(sql, list(filters.values()))

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: every SELECT inside sees the same committed state.

        Inside a transaction of this ledger (a read that calls other reads, or a
        write) it is that transaction: the reads see its state.
        """
        c = self._connection()
        if c.in_transaction:
            yield c
            return
        try:
            c.execute("BEGIN")
            try:
                yield c
            finally:
                c.execute("COMMIT")
        except sqlite3.Error as err:
            raise self._error(err) from err

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One change = one ``BEGIN IMMEDIATE`` transaction (the write lock up front).

        Each committed change bumps the ledger's version stamp
        (:func:`~matchcore.ledger.connection.stamp`).
        """
        c = self._connection()
        try:
            c.execute("BEGIN IMMEDIATE")
            try:
                yield c
                bump(c)
            except BaseException:
                c.execute("ROLLBACK")
                raise
            c.execute("COMMIT")
        except sqlite3.Error as err:
            raise self._error(err) from err

    @contextmanager
    def _rolled_back(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that is always rolled back (a dry run's scratch state)."""
        c = self._connection()
        try:
            c.execute("BEGIN IMMEDIATE")
            try:
                yield c
            finally:
                c.execute("ROLLBACK")
        except sqlite3.Error as err:
            raise self._error(err) from err

    def _open_claims(self) -> bool:
        """Whether any claim is open (a rematch settles claims only then)."""
        return bool(self._query("SELECT 1 FROM claims WHERE status = 'open' LIMIT 1"))

    def _audit(self, c: sqlite3.Connection, action: str, **fields: Any) -> None:
        write_audit(c, action, **fields)

    def close(self) -> None:
        """Close the connection (the file keeps every committed change); idempotent."""
        if not self._closed:
            self._closed = True
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
        return int(self._query("SELECT count(*) FROM rounds")[0][0])

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
            If ``result`` is not a MatchResult, ``by`` not a str, ``backups``
            not an integer >= 0, or one of the result's needs has a project
            already in progress.
        LedgerBusy
            Another process held the write lock longer than ``timeout``.

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
        from ..result import MatchResult

        if not isinstance(result, MatchResult):
            raise InputError(
                f"`result` must be a MatchResult (the output of matchcore.match); got "
                f"{type(result).__name__}"
            )
        by = _text(by, "by")
        backups = check_scalar(backups, "backups", "int", low=0)
        # The round's number as read now: another writer may take it first, and the
        # state is then encoded again in the transaction (write_warm checks).
        encoding = self._start_warm(result, self.n_rounds + 1)
        with self._write() as c:
            before = read_rows(c)
            rnd, _, _ = record_round(c, result, by=by, rematch=False, backups=backups,
                                     recorded=before.live()[2])
            finish_round(c, before)
            self._keep_warm(c, rnd, result, encoding)
        return rnd

    def _start_warm(self, result: MatchResult, rnd: int) -> WarmEncoding | None:
        """Start encoding ``result``'s warm state as round ``rnd``'s (``keep_warm``),
        in a thread, so that it overlaps the round's writes."""
        return WarmEncoding(result, rnd) if self.keep_warm else None

    def _keep_warm(self, c: sqlite3.Connection, rnd: int, result: MatchResult,
                   encoding: WarmEncoding | None = None) -> None:
        # In the round's transaction: the stored state is always the last round's.
        if self.keep_warm:
            self.last_warm_write = write_warm(c, rnd, result, encoding)
        else:
            clear_warm(c)

    def warm_state(self) -> WarmState | None:
        """The last round's stored warm state (``keep_warm=True``), or None.

        What :meth:`rematch` starts from when no ``start`` is given: None when
        the ledger keeps no state, when the stored one belongs to an earlier
        round, or when it is corrupt (then with a :class:`~matchcore.MatchcoreWarning`).
        Pass it to ``match(..., start=state)`` to match the next lists warm.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "l.db"
        >>> with mc.ProjectLedger(path, keep_warm=True) as ledger:
        ...     _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> with mc.ProjectLedger(path) as ledger:
        ...     ledger.warm_state().round, ledger.warm_info()["current"]
        (1, True)
        """
        with self._snapshot() as c:
            return read_warm(c, str(self.path))

    def warm_info(self) -> dict[str, Any] | None:
        """The stored warm state's ``round``, size (``nbytes``), ``created_at`` and
        whether it is ``current`` (the last round's); None when none is stored.

        See :meth:`warm_state` for an example.
        """
        with self._snapshot() as c:
            return warm_info(c)

    # ------------------------------------------------------------------ state
    def projects(self, status: str | None = None, community: str | None = None) -> pd.DataFrame:
        """The current project list, optionally filtered.

        Parameters
        ----------
        status : str, optional
            One of :data:`matchcore.schema.STATUSES` (or its Chinese word).
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
        if status is not None:
            word = status
            status = parse_status(word)
            if status is None:
                raise InputError(
                    f"`status` must be one of {list(STATUSES)} (or its Chinese word); "
                    f"got {word!r}"
                )
        rows = self._select("projects", LEDGER_PROJECT_COLUMNS,
                            {"status": status, "community": _text(community, "community")},
                            order="project_id")
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
        rows = self._select("assignments", cols,
                            {"active": 1, "project_id": _text(project_id, "project_id")},
                            order="project_id, resource_id")
        frame = pd.DataFrame(rows, columns=cols)
        frame["units"] = frame["units"].astype("int64")
        return frame

    def set_status(
        self, project_id: str, status: str, *, by: str | None = None, note: str | None = None
    ) -> None:
        """Move a project to a new status (one transaction, logged).

        Allowed: not_started → in_progress → completed; not_started or
        in_progress → cancelled. Completed and cancelled are final. A
        cancelled project's active assignments end (:meth:`assignments` no
        longer lists them; their units are free for the next round), as those
        of a project a rematch cancels.

        Parameters
        ----------
        project_id : str
            The project.
        status : str
            The new status: a key of :data:`matchcore.schema.STATUSES` or a
            Chinese word for it (尚未开工 / 未开工, 正在实施 / 进行中 / 实施中,
            已经完成 / 已完成, 已取消; :data:`matchcore.ledger.schema.STATUS_WORDS`).
        by : str, optional
            Who made the change.
        note : str, optional
            Why.

        Raises
        ------
        InputError
            Unknown project or status, or a move that is not allowed; the
            message names the project, its current and the requested status.
            ``by`` or ``note`` that is not a str.
        LedgerBusy
            Another process held the write lock longer than ``timeout``.
        LedgerClosed
            The ledger was closed.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> ledger.set_status("P-N1", "进行中", by="王芳")
        >>> ledger.set_status("P-N2", "cancelled", note="resident moved")
        >>> ledger.assignments("P-N2").empty
        True
        >>> try:
        ...     ledger.set_status("P-N2", "in_progress")
        ... except mc.InputError as err:
        ...     print(err)
        cannot move project 'P-N2' from 'cancelled' to 'in_progress'; ...
        """
        pid = _text(project_id, "project_id", allow_none=False)
        target = parse_status(status)
        by, note = _text(by, "by"), _text(note, "note")
        with self._write() as c:
            row = c.execute("SELECT status FROM projects WHERE project_id = ?", (pid,)).fetchone()
            if row is None:
                raise InputError(f"unknown project {pid!r} (requested status {status!r})")
            current = row[0]
            if target is None:
                raise InputError(
                    f"unknown status {status!r} for project {pid!r} (current status "
                    f"{current!r}); expected one of {list(STATUSES)} or "
                    f"{[w for w in STATUS_WORDS if w not in STATUSES]}"
                )
            allowed = TRANSITIONS[current]
            if target not in allowed:
                listed = ", ".join(repr(s) for s in sorted(allowed)) or "none (final)"
                raise InputError(
                    f"cannot move project {pid!r} from {current!r} to {target!r}; "
                    f"allowed from {current!r}: {listed}"
                )
            at = utc_now()
            c.execute("UPDATE projects SET status = ?, updated_at = ? WHERE project_id = ?",
                      (target, at, pid))
            if target == "cancelled":
                # A cancelled project holds no units: its assignments end, as a rematch's
                # cancellations end theirs (the rows stay, inactive, in the history).
                c.execute("UPDATE assignments SET active = 0 WHERE project_id = ? AND active = 1",
                          (pid,))
            c.execute(
                "INSERT INTO status_changes (project_id, from_status, to_status, by, note, at)"
                " VALUES (?,?,?,?,?,?)",
                (pid, current, target, by, note, at),
            )
            write_audit(c, "set_status", project_id=pid, by=by,
                        detail={"from": current, "to": target, "note": note})

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
        rows = self._select("status_changes", cols,
                            {"project_id": _text(project_id, "project_id")}, order="id")
        return pd.DataFrame(rows, columns=cols)

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
        rows = self._select("audit", cols, {"project_id": _text(project_id, "project_id")},
                            order="id")
        return pd.DataFrame(rows, columns=cols)

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
        rows = self._select("rounds", ["round", "created_at", "options"], order="round")
        return pd.DataFrame(
            [(int(r), at, json.loads(opts)) for r, at, opts in rows],
            columns=["round", "created_at", "options"],
        )

    def _round_number(self, round: int | None) -> int:
        """A round's number (the last when None); InputError when there is none."""
        last = int(self._query("SELECT coalesce(max(round), 0) FROM rounds")[0][0])
        if round is None:
            if not last:
                raise InputError("the ledger has no round yet; call add_round first")
            return last
        number = check_scalar(round, "round", "int", low=1)
        if number > last:
            raise InputError(f"no round {round!r} in ledger {str(self.path)!r}")
        return int(number)

    def needs(self, round: int | None = None) -> pd.DataFrame:
        """A round's needs list as recorded (the last round's by default).

        A rematch records the needs it matched: the last round's that have no
        settled project, the new and changed ones, in-progress projects'
        needs asking for lost units, claimed needs whole. The ledger stores
        each round's changes only (schema version 5); the list is rebuilt
        whole, exactly as it was recorded.

        Parameters
        ----------
        round : int, optional
            The round's number; the last round when None.

        Returns
        -------
        pandas.DataFrame
            One row per need, ordered by need_id, with the columns of the
            list (values as stored: JSON text, times as ISO text).

        Raises
        ------
        InputError
            No such round, or no round yet.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> ledger.needs(1)["need_id"].tolist()
        ['N1', 'N2', 'N3', 'N4', 'N5']
        """
        number = self._round_number(round)
        with self._snapshot() as c:
            return round_rows(c, "needs", "need_id", number)

    def resources(self, round: int | None = None) -> pd.DataFrame:
        """A round's resources list as recorded, with full capacities (the last by default).

        Resources that dropped out stay listed (:meth:`rematch`); see :meth:`needs`.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> ledger.resources()[["resource_id", "capacity"]].values.tolist()
        [['R1', 3], ['R2', 2], ['R3', 2], ['R4', 1]]
        """
        number = self._round_number(round)
        with self._snapshot() as c:
            return round_rows(c, "resources", "resource_id", number)

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
            rows = self._query(
                "SELECT round, options, match_options FROM rounds ORDER BY round DESC LIMIT 1"
            )
            if not rows:
                raise InputError("the ledger has no round yet; call add_round first")
        else:
            number = check_scalar(round, "round", "int", low=1)
            rows = self._select("rounds", ["round", "options", "match_options"],
                                {"round": number})
            if not rows:
                raise InputError(f"no round {round!r} in ledger {str(self.path)!r}")
        number, legacy, text = rows[0]
        if text is not None:
            return MatchOptions.from_json(text)
        return MatchOptions.from_dict(legacy_options(json.loads(legacy), int(number)))

    # ------------------------------------------------------------------ exports
    def _projects_of(self, status: str | None, community: str | None) -> pd.DataFrame:
        return self.projects(status=status, community=community)

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
        with self._snapshot():  # the projects and their needs' rows from one state
            return self._exporter.project_points(status, community)

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
        with self._snapshot():  # every sheet from one committed state
            return self._exporter.export(path, community=community, format=format)

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
        with self._snapshot():  # every file from one committed state
            return self._exporter.export_all(folder, format=format)

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
        with self._snapshot():  # every map from one committed state
            return self._exporter.status_maps(folder, dpi=dpi)

    # ------------------------------------------------------------------ rematch
    def _latest(self, table: ListName, key: str) -> pd.DataFrame:
        with self._snapshot() as c:
            return latest_rows(c, table, key)

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
        dry_run: bool = False,
        pins: pd.DataFrame | None = None,
        forbid: pd.DataFrame | None = None,
        as_of: Any = None,
        start: MatchResult | None = None,
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
        dry_run : bool, default False
            Plan and match, but write nothing: the report's ``plan`` and
            ``preview`` (moves, new projects, extensions, cancellations as
            frames) say what the round would do; the file is left untouched.
        pins, forbid : DataFrame, optional
            Staff pins (need_id, resource_id, units) and forbidden pairs
            (need_id, resource_id) of this round, as for :func:`matchcore.match`.
        as_of : date, datetime or ISO text, optional
            The clock for claims (now when None): claims older than the
            ``claim_expiry_days`` setting expire first. Open claims are kept
            fixed like in-progress work (:meth:`claim`).
        start : MatchResult, optional
            The last round's result, when it is still in memory (the one
            given to :meth:`add_round`, or ``report.result`` of the last
            rematch): the round is solved warm from its optimal bases
            (``match(..., start=start)``), its arcs found by need and resource
            id, so that new, closed and changed needs, dropped resources (their
            edges vanish) and the stickiness bonus (a cost change) cost a
            fraction of a cold solve. The result is the cold one. Without
            ``start``, the warm state stored in the file is used when it is the
            last round's (a ledger opened with ``keep_warm=True`` keeps one:
            :meth:`warm_state`), so a fresh process rematches warm too;
            otherwise the round is solved cold.
        **overrides
            Single options (``max_distance``, ``weights``, ``scope``, ...; see
            :class:`~matchcore.MatchOptions`) that replace those of ``options``.

        Returns
        -------
        RematchReport
            With its :class:`~matchcore.ledger.plan.RematchPlan` and
            :class:`~matchcore.ledger.plan.RematchPreview`.

        Raises
        ------
        InputError
            No round recorded yet; a dropped resource that the last round did
            not list, that already left, or that is also in ``new_resources``;
            an unknown option, or ``incumbent`` (rematch sets it); a new need
            whose project is in progress; ``by`` that is not a str.
        LedgerBusy
            Another process held the write lock longer than ``timeout``.

        Notes
        -----
        Safe with other writers: the state is read in one snapshot, planned
        (:func:`~matchcore.ledger.plan.plan_rematch`) and matched outside the
        write lock; under the lock the ledger's version stamp is checked, and
        if another process wrote meanwhile the round is planned again from
        the new state (the last attempt plans while holding the lock). A
        round that would give a resource more than its capacity is refused.

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
        >>> ledger.rematch(dropped_resources=["R1"], dry_run=True).preview.extensions
          project_id need_id resources
        0       P-N1      N1        R4
        >>> ledger.n_rounds
        2
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
        by = _text(by, "by")
        backups = check_scalar(backups, "backups", "int", low=0)
        if not isinstance(dry_run, bool):
            raise InputError(f"`dry_run` must be True or False; got {dry_run!r}")
        def options_now() -> MatchOptions:
            # Inside planned(), this reads in the caller's transaction on this connection.
            return MatchOptions.from_arguments(
                self.round_options() if options is None else options, **overrides
            ).replace(stickiness=stickiness)

        options_now()  # bad options fail before any transaction
        new_n = read_needs(new_needs) if new_needs is not None else None
        new_r = read_resources(new_resources) if new_resources is not None else None
        drop = normalize_dropped(dropped_resources)
        clock = parse_time(as_of)  # a bad clock fails before any transaction

        def settled(c: sqlite3.Connection) -> None:
            # Claims first: started, cancelled, on a dropped resource, replaced or expired
            # ones end, so the state read next holds only the claims that stay. Bad
            # dropped ids fail first (the transaction rolls back: no claim is released).
            if drop:
                plan_rematch(read_state(c, drop), new_n, new_r, drop)
            claims_.settle(c, self._audit, as_of=clock, by=by, dropped=drop)

        def planned(c: sqlite3.Connection) -> tuple[LedgerState, RematchPlan, MatchOptions]:
            state = read_state(c, drop)
            return state, plan_rematch(state, new_n, new_r, drop), options_now()

        def begun(c: sqlite3.Connection) -> tuple[
                LedgerState, RematchPlan, MatchOptions, MatchResult | WarmState | None]:
            # The plan and the state to start from. The stored state is read in the
            # plan's snapshot (it is that state's round's) and decoded in a thread
            # while the plan is made.
            reading = None if start is not None else start_reading(c, str(self.path))
            state, plan, opts = planned(c)
            return state, plan, opts, start if reading is None else reading.state()

        def matched(plan: RematchPlan, opts: MatchOptions,
                    begin: MatchResult | WarmState | None) -> MatchResult:
            return match(plan.needs, plan.resources, opts, incumbent=plan.incumbent,
                         pins=pins, forbid=forbid, start=begin)

        def origin(begin: MatchResult | WarmState | None) -> str:
            return "memory" if start is not None else "cold" if begin is None else "ledger"

        def recorded(c: sqlite3.Connection, state: LedgerState, plan: RematchPlan,
                     result: MatchResult, attempts: int, begun_from: str,
                     encoding: WarmEncoding | None = None) -> RematchReport:
            return self._record_rematch(c, state, plan, result, by=by, backups=backups,
                                        attempts=attempts, started_from=begun_from,
                                        encoding=encoding)

        if dry_run:
            # Settling claims is a write: do it in a transaction that is rolled back,
            # so the plan is the real run's and the file stays untouched.
            settle = None
            if self._open_claims():
                with self._rolled_back() as r:
                    before = stamp(r)
                    settled(r)
                    state, plan, opts, begin = begun(r)
                settle = settled
            else:
                with self._snapshot() as r:
                    state, plan, opts, begin = begun(r)
                    before = state.stamp
            result = matched(plan, opts, begin)
            preview = preview_rematch(plan, result)
            pending = StagedRound(self.path.resolve(), before, state, plan, preview.copy(),
                                  settle, by, backups)
            return RematchReport(plan.round, result, len(preview.moves),
                                 len(preview.new_projects), len(preview.cancellations),
                                 plan.dropped, len(plan.affected), preview.n_reassigned,
                                 preview.n_to_backup, dry_run=True, plan=plan,
                                 preview=preview, started_from=origin(begin),
                                 staged=pending)
        for attempt in range(1, OPTIMISTIC_TRIES + 1):
            if self._open_claims():
                with self._write() as w:  # its own write (bumps the stamp) before the read
                    settled(w)
            with self._snapshot() as r:
                state, plan, opts, begin = begun(r)
            result = matched(plan, opts, begin)  # outside any transaction
            encoding = self._start_warm(result, plan.round)  # overlaps the writes
            try:
                with self._write() as w:
                    if stamp(w) != state.stamp:
                        raise _StaleState
                    return recorded(w, state, plan, result, attempt, origin(begin), encoding)
            except _StaleState:
                continue  # another process wrote meanwhile: settle and plan again
        # Still racing: settle, plan, match and write under the write lock.
        with self._write() as w:
            settled(w)
            state, plan, opts, begin = begun(w)
            return recorded(w, state, plan, matched(plan, opts, begin), OPTIMISTIC_TRIES + 1,
                            origin(begin))

    def _record_rematch(self, c: sqlite3.Connection, state: LedgerState, plan: RematchPlan,
                        result: MatchResult, *, by: str | None, backups: int, attempts: int,
                        started_from: str, preview: RematchPreview | None = None,
                        encoding: WarmEncoding | None = None) -> RematchReport:
        """Record a planned and matched round in the caller's write transaction.

        ``state`` is what the transaction sees (same stamp): its lists are the last;
        ``preview`` is ``preview_rematch(plan, result)``, computed when not given;
        ``encoding`` the result's warm state being encoded (:meth:`_start_warm`).
        """
        if preview is None:
            preview = preview_rematch(plan, result)
        rnd, n_changed, n_new, n_cancelled = record_rematch(
            c, plan, result, preview, by=by, backups=backups, previous=state.lists,
            snapshots={"needs": state.needs, "resources": state.resources}
            if state.exact else None, recorded=state.recorded, rows=state.rows,
        )
        self._keep_warm(c, rnd, result, encoding)
        return RematchReport(rnd, result, n_changed, n_new, n_cancelled, plan.dropped,
                             len(plan.affected), preview.n_reassigned,
                             preview.n_to_backup, plan=plan, preview=preview,
                             attempts=attempts, started_from=started_from)

    def commit(self, report: RematchReport, *, by: str | None = None) -> RematchReport:
        """Record the round a dry run previewed, exactly as previewed, without matching again.

        Staff look at ``rematch(..., dry_run=True)`` (its ``preview``: moves,
        new projects, extensions, cancellations) and then commit it: the round
        written is the one they saw, and the solve is not repeated (at
        city_100k that skips the whole match, see ``docs/rematch.md``). The
        ledger must be as the dry run read it: any write since (a status
        change, a claim, another process's round, or this report's own earlier
        commit) makes the plan stale, and nothing is written.

        Parameters
        ----------
        report : RematchReport
            The report of :meth:`rematch` with ``dry_run=True`` on this ledger
            file (any :class:`ProjectLedger` of the same path may commit it).
            Its ``result`` and ``plan`` are recorded as they are: do not modify
            them (or their frames) in place.
        by : str, optional
            Who commits (audit log); the dry run's ``by`` when None.

        Returns
        -------
        RematchReport
            The recorded round's report, as :meth:`rematch` without ``dry_run``
            returns it (``dry_run`` False, ``attempts`` 1).

        Raises
        ------
        InputError
            ``report`` is not a dry run's report, or one of another ledger file;
            ``by`` is not a str.
        LedgerChanged
            The ledger changed since the dry run (nothing was written): run the
            dry run again.
        LedgerBusy
            Another process held the write lock longer than ``timeout``.

        Notes
        -----
        The check is the one a rematch makes between its plan and its write:
        the ledger's version stamp (every write bumps it, and the audit log's
        last row) must be the one the dry run planned on. When the dry run
        settled open claims (in a transaction it rolled back), the commit
        settles them again with the dry run's clock and checks the stamp
        after that too. The state the dry run planned on is kept in the
        report until it is committed or dropped.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import matchcore as mc
        >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
        >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        >>> ledger.set_status("P-N1", "in_progress")
        >>> dry = ledger.rematch(dropped_resources=["R1"], dry_run=True)
        >>> dry.preview.extensions["project_id"].tolist(), ledger.n_rounds
        (['P-N1'], 1)
        >>> done = ledger.commit(dry, by="街道 张主任")
        >>> done.round, done.dry_run, ledger.n_rounds
        (2, False, 2)
        >>> ledger.commit(dry)
        Traceback (most recent call last):
        ...
        matchcore.errors.LedgerChanged: ledger ... changed since this dry run ...
        """
        if not isinstance(report, RematchReport):
            raise InputError(
                f"commit takes the RematchReport of rematch(..., dry_run=True); "
                f"got {type(report).__name__}"
            )
        pending = report.staged
        if not report.dry_run or pending is None:
            raise InputError(
                "commit takes the report of rematch(..., dry_run=True); this round "
                f"({report.round}) was already recorded by rematch"
            )
        if pending.path != self.path.resolve():
            raise InputError(
                f"this dry run was planned on the ledger {str(pending.path)!r}, not on "
                f"{str(self.path)!r}"
            )
        who = pending.by if by is None else _text(by, "by")

        def stale(now: tuple[int, ...], planned_on: tuple[int, ...]) -> LedgerChanged:
            return LedgerChanged(
                f"ledger {str(self.path)!r} changed since this dry run of round "
                f"{report.round} (planned on version {planned_on}, the file is at "
                f"{now}: another write, or this report was already committed); "
                "nothing was written: run the dry run again"
            )

        encoding = self._start_warm(report.result, pending.plan.round)
        with self._write() as w:
            now = stamp(w)
            if now != pending.before:
                raise stale(now, pending.before)
            if pending.settle is not None:
                pending.settle(w)  # the claims the dry run settled, at its clock
                now = stamp(w)
                if now != pending.state.stamp:
                    raise stale(now, pending.state.stamp)
            return self._record_rematch(w, pending.state, pending.plan, report.result,
                                        by=who, backups=pending.backups, attempts=1,
                                        started_from=report.started_from,
                                        preview=pending.preview, encoding=encoding)

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
            with self._snapshot() as c:
                return claims_.get_settings(c)
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
        with self._snapshot() as c:
            return claims_.claims_table(c, status)

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
        with self._snapshot() as c:
            return claims_.open_for_claims(c, self.round_options())

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
        with self._snapshot() as c:
            return supervision_.owners(c)

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
        with self._snapshot():  # the projects and their owners from one state
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
        with self._snapshot() as c:
            return supervision_.problems(c, open)

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
        clock = parse_time(as_of)
        paths = report_.report_paths(path)  # a bad path fails before any write
        with self._write() as c:  # expired claims end first (a write), as the board shows
            claims_.settle(c, self._audit, as_of=clock)
        with self._snapshot() as c:  # then every table from one committed state
            start = report_.since_time(c, since)
            tables = report_.report_tables(self, c, since=start, as_of=clock)
        files = report_.write_report(tables, paths, since=start, as_of=clock)
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
        with self._snapshot() as c:  # the map's reads all see one committed state
            return public_map_.write_public_map(
                self, c, path, community=community, columns=columns,
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
        with self._snapshot() as c:  # every map from one committed state
            return public_map_.write_public_maps(self, c, folder, **options)
