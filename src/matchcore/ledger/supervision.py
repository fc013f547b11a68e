"""Supervision (督办): owners and deadlines of projects, and the problem ledger.

Each project can be given an owner (责任人) and a deadline (完成时限); every
assignment of one is a row of ``owners`` (the latest is current), so the
history stays. Inspections open problems (问题台账) on a project or a
community; each is closed item by item (逐项对账销号) with who and why. The
colour code :data:`SUPERVISION_COLOURS` is the one the dispatch report and
the maps use. ``ProjectLedger`` delegates to the functions here, which work
inside the caller's transaction and log to the audit table.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from typing import Any

import pandas as pd

from ..errors import InputError
from .claims import Audit
from .schema import parse_time

__all__ = [
    "DUE_SOON_DAYS",
    "SUPERVISION_COLOURS",
    "SUPERVISION_LABELS",
    "assign",
    "close_problem",
    "open_problem",
    "owners",
    "problems",
    "supervision",
]

#: A deadline this many days away or fewer is "due soon" (amber).
DUE_SOON_DAYS = 7

#: The supervision colour code, one mapping for the report and the maps:
#: ``overdue`` red (past its deadline and not done), ``due_soon`` amber (due within
#: :data:`DUE_SOON_DAYS` days), ``on_track`` green (a later deadline, or none),
#: ``done`` grey (completed or cancelled).
SUPERVISION_COLOURS: dict[str, str] = {
    "overdue": "#d62728",
    "due_soon": "#ff9f1c",
    "on_track": "#2ca02c",
    "done": "#9e9e9e",
}
#: The Chinese label of each supervision class.
SUPERVISION_LABELS: dict[str, str] = {
    "overdue": "已逾期",
    "due_soon": "7日内到期",
    "on_track": "按期推进",
    "done": "已办结",
}


def _due(value: Any, name: str = "due") -> str | None:
    """A deadline as ISO date text (``YYYY-MM-DD``); None stays None."""
    if value is None:
        return None
    if isinstance(value, (date, datetime, str)):
        return parse_time(value, name).date().isoformat()
    raise InputError(f"`{name}` must be a date or ISO 8601 text; got {value!r}")


def assign(
    c: sqlite3.Connection,
    audit: Audit,
    project_id: str,
    *,
    owner: str | None,
    due: Any,
    by: str | None,
    note: str | None,
    as_of: Any,
) -> None:
    """Give a project an owner and a deadline (a new ``owners`` row, logged)."""
    row = c.execute("SELECT status FROM projects WHERE project_id = ?", (project_id,)).fetchone()
    if row is None:
        raise InputError(f"unknown project {project_id!r} (assigning owner {owner!r})")
    if owner is not None and (not isinstance(owner, str) or not owner.strip()):
        raise InputError(f"`owner` must be a non-empty name or None; got {owner!r}")
    day = _due(due)
    at = parse_time(as_of).isoformat(timespec="microseconds")
    c.execute("INSERT INTO owners (project_id, owner, due, by, note, at) VALUES (?,?,?,?,?,?)",
              (project_id, owner, day, by, note, at))
    audit(c, "assign", project_id=project_id, by=by,
          detail={"owner": owner, "due": day, "note": note})


def owners(c: sqlite3.Connection) -> pd.DataFrame:
    """Each project's current owner and deadline: project_id, owner, due, assigned_at."""
    rows = c.execute(
        "SELECT o.project_id, o.owner, o.due, o.at FROM owners o WHERE o.id ="
        " (SELECT max(id) FROM owners q WHERE q.project_id = o.project_id)"
        " ORDER BY o.project_id"
    ).fetchall()
    return pd.DataFrame(rows, columns=["project_id", "owner", "due", "assigned_at"])


def supervision(projects: pd.DataFrame, owner_rows: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    """``projects`` with owner, due, days_left and the supervision class ``flag``
    (a key of :data:`SUPERVISION_COLOURS`) at ``as_of``."""
    today = parse_time(as_of).date()
    table = projects.merge(owner_rows[["project_id", "owner", "due"]], on="project_id",
                           how="left")
    days = [
        None if not isinstance(d, str) else (date.fromisoformat(d) - today).days
        for d in table["due"]
    ]
    flags = []
    for status, left in zip(table["status"], days):
        if status in ("completed", "cancelled"):
            flags.append("done")
        elif left is not None and left < 0:
            flags.append("overdue")
        elif left is not None and left <= DUE_SOON_DAYS:
            flags.append("due_soon")
        else:
            flags.append("on_track")
    return table.assign(days_left=pd.array(days, dtype="Int64"), flag=flags)


def open_problem(
    c: sqlite3.Connection,
    audit: Audit,
    *,
    project_id: str | None,
    community: str | None,
    text: str,
    due: Any,
    by: str | None,
    as_of: Any,
) -> int:
    """Open an item of the problem ledger; returns its ``problem_id``."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"`text` must say what the problem is; got {text!r}")
    if project_id is not None:
        row = c.execute("SELECT community FROM projects WHERE project_id = ?",
                        (project_id,)).fetchone()
        if row is None:
            raise InputError(f"unknown project {project_id!r} (opening problem {text!r})")
        community = row[0] if community is None else community
    elif community is None:
        raise InputError("a problem needs a `project_id` or a `community`")
    day = _due(due)
    at = parse_time(as_of).isoformat(timespec="microseconds")
    cur = c.execute(
        "INSERT INTO problems (project_id, community, text, due, opened_by, opened_at)"
        " VALUES (?,?,?,?,?,?)", (project_id, community, text.strip(), day, by, at),
    )
    problem_id = int(cur.lastrowid or 0)
    audit(c, "open_problem", project_id=project_id, by=by,
          detail={"problem_id": problem_id, "community": community, "text": text, "due": day})
    return problem_id


def close_problem(
    c: sqlite3.Connection,
    audit: Audit,
    problem_id: int,
    *,
    by: str | None,
    note: str | None,
    as_of: Any,
) -> None:
    """Close an open problem (销号), with who and how."""
    row = c.execute("SELECT project_id, closed_at FROM problems WHERE problem_id = ?",
                    (problem_id,)).fetchone()
    if row is None:
        raise InputError(f"unknown problem {problem_id!r}")
    if row[1] is not None:
        raise InputError(f"problem {problem_id!r} is already closed (at {row[1]})")
    at = parse_time(as_of).isoformat(timespec="microseconds")
    c.execute("UPDATE problems SET closed_by = ?, closed_at = ?, note = ? WHERE problem_id = ?",
              (by, at, note, problem_id))
    audit(c, "close_problem", project_id=row[0], by=by,
          detail={"problem_id": problem_id, "note": note})


PROBLEM_COLUMNS = ["problem_id", "project_id", "community", "text", "due", "opened_by",
                   "opened_at", "closed_by", "closed_at", "note"]


def problems(c: sqlite3.Connection, open: bool | None = True) -> pd.DataFrame:
    """The problem ledger: open items (``open=True``), closed ones (False) or all (None)."""
    sql = f"SELECT {', '.join(PROBLEM_COLUMNS)} FROM problems"
    if open is True:
        sql += " WHERE closed_at IS NULL"
    elif open is False:
        sql += " WHERE closed_at IS NOT NULL"
    frame = pd.DataFrame(c.execute(sql + " ORDER BY problem_id").fetchall(),
                         columns=PROBLEM_COLUMNS)
    frame["problem_id"] = frame["problem_id"].astype("int64")
    return frame
