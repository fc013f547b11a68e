"""The ledger's SQLite schema, its migrations and the row encoding it uses.

:class:`~matchcore.ledger.ProjectLedger` writes schema version
:data:`SCHEMA_VERSION`; :data:`MIGRATIONS` holds the SQL that brings an older
file up to it. Rows of needs, resources and assignments are kept as JSON text;
since version 5 a round's lists are stored as what changed (:mod:`.lists`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from ..schema import PROJECT_COLUMNS

__all__ = [
    "APPLICATION_ID",
    "ENCODER",
    "LEDGER_PROJECT_COLUMNS",
    "LIVE_COLUMNS",
    "LIVE_STATUSES",
    "MIGRATIONS",
    "N_BACKUPS",
    "SCHEMA_VERSION",
    "STATUS_WORDS",
    "TRANSITIONS",
    "as_text",
    "ascending",
    "columns_of",
    "frame_from_records",
    "is_in",
    "json_lines",
    "legacy_options",
    "parse_status",
    "parse_time",
    "plain_values",
    "stamp",
    "to_records",
    "utc_now",
]

#: PRAGMA application_id of a matchcore ledger ("MCLG").
APPLICATION_ID = 0x4D434C47
#: The schema version this code writes.
SCHEMA_VERSION = 8

#: Allowed status moves; completed and cancelled are final.
TRANSITIONS: dict[str, frozenset[str]] = {
    "not_started": frozenset({"in_progress", "cancelled"}),
    "in_progress": frozenset({"completed", "cancelled"}),
    "completed": frozenset(),
    "cancelled": frozenset(),
}
LIVE_STATUSES = ("not_started", "in_progress")
#: Columns of a rematch plan's live assignments (:attr:`.plan.LedgerState.live`).
LIVE_COLUMNS = ["project_id", "need_id", "resource_id", "units", "round", "status"]

#: Every word accepted for a status: the English keys and the Chinese words
#: district staff write (:data:`matchcore.schema.STATUSES` holds the map's words).
STATUS_WORDS: dict[str, str] = {
    "not_started": "not_started",
    "in_progress": "in_progress",
    "completed": "completed",
    "cancelled": "cancelled",
    "尚未开工": "not_started",
    "未开工": "not_started",
    "正在实施": "in_progress",
    "进行中": "in_progress",
    "实施中": "in_progress",
    "已经完成": "completed",
    "已完成": "completed",
    "已取消": "cancelled",
}


def parse_status(word: object) -> str | None:
    """The status a word names (English or Chinese, spaces trimmed), or None.

    Examples
    --------
    >>> parse_status(" 进行中 "), parse_status("completed"), parse_status("done")
    ('in_progress', 'completed', None)
    """
    if not isinstance(word, str):
        return None
    return STATUS_WORDS.get(word.strip())

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

# Version 2: each round's backups per assignment, and resources that dropped out
# (marked, never deleted; ``returned_round`` is set when one is listed again).
_SCHEMA_V2 = (
    "CREATE TABLE backups (round INTEGER NOT NULL, project_id TEXT NOT NULL,"
    " need_id TEXT NOT NULL, resource_id TEXT NOT NULL, rank INTEGER NOT NULL,"
    " backup_resource_id TEXT NOT NULL, score REAL, distance REAL, spare_units INTEGER,"
    " PRIMARY KEY (round, project_id, resource_id, rank))",
    "CREATE TABLE dropped_resources (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " resource_id TEXT NOT NULL, round INTEGER NOT NULL, at TEXT NOT NULL, by TEXT,"
    " n_projects INTEGER NOT NULL, returned_round INTEGER)",
    "CREATE INDEX dropped_resources_id ON dropped_resources (resource_id)",
)

# Version 3: each round's whole MatchOptions as JSON (MatchOptions.to_json), so
# that a rematch continues with exactly the options of the round it continues.
# Rounds written before keep ``match_options`` NULL; their ``options`` column
# (no weights, taxonomy as a repr) is read by :func:`legacy_options`.
_SCHEMA_V3 = ("ALTER TABLE rounds ADD COLUMN match_options TEXT",)

# Version 4: the governance loop. Claims (a provider takes on a need: a fixed
# assignment until released, started or expired), owners and deadlines of
# projects (one row per assignment of an owner: the latest is current), the
# problem ledger of inspections, and the dispatch reports made. A claim's
# ``claimed_at`` is its business time (``as_of``, which expiry counts from);
# ``recorded_at`` the wall clock, like every other stamp of the ledger. Ledger settings
# (claim limit, claim expiry) are ``meta`` rows keyed ``setting.<name>``.
_SCHEMA_V4 = (
    "CREATE TABLE claims (claim_id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " need_id TEXT NOT NULL, resource_id TEXT NOT NULL, provider TEXT,"
    " project_id TEXT NOT NULL, assignment_id INTEGER, round INTEGER NOT NULL,"
    " units INTEGER NOT NULL, by TEXT, claimed_at TEXT NOT NULL, recorded_at TEXT NOT NULL,"
    " forced INTEGER NOT NULL DEFAULT 0, flag TEXT, status TEXT NOT NULL DEFAULT 'open',"
    " closed_at TEXT, closed_by TEXT, note TEXT)",
    "CREATE INDEX claims_need ON claims (need_id)",
    "CREATE TABLE owners (id INTEGER PRIMARY KEY AUTOINCREMENT, project_id TEXT NOT NULL,"
    " owner TEXT, due TEXT, by TEXT, note TEXT, at TEXT NOT NULL)",
    "CREATE INDEX owners_project ON owners (project_id)",
    "CREATE TABLE problems (problem_id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " project_id TEXT, community TEXT, text TEXT NOT NULL, due TEXT, opened_by TEXT,"
    " opened_at TEXT NOT NULL, closed_by TEXT, closed_at TEXT, note TEXT)",
    "CREATE TABLE reports (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,"
    " round INTEGER, since TEXT, path TEXT, by TEXT)",
)

# Version 5: a round stores what changed in its lists (issue 13, warm re-plans).
# ``rounds.lists`` is 'full' when the round's needs and resources rows are its
# whole lists (the first round; NULL, as every round before version 5 left it,
# means the same), 'delta' when they are the rows new or changed since the round
# before, with ``closed_rows`` naming the needs and resources it no longer lists
# (``list`` is the table: 'needs' or 'resources'). Rows written before stay as
# they are: they are full rounds.
_SCHEMA_V5 = (
    "ALTER TABLE rounds ADD COLUMN lists TEXT",
    "CREATE TABLE closed_rows (round INTEGER NOT NULL, list TEXT NOT NULL,"
    " id TEXT NOT NULL, PRIMARY KEY (round, list, id))",
)

# Version 6: a binary snapshot of the last round's whole lists (issue 13). One row
# per list ('needs', 'resources'): the round it holds and its frame as Arrow IPC
# bytes, exactly as the round matched them (floats included), rewritten in each
# round's transaction. A rematch plans from it and compares the new lists with it;
# the JSON rows stay the history and what :meth:`ProjectLedger.needs` reads. A
# ledger without one (migrated, or a list Arrow cannot hold) reads the JSON rows.
# A round that changed few rows of a list writes a row '<list>.delta' instead (the
# rows that differ from the whole snapshot and each row's position, :mod:`.lists`);
# same table, so no new version: an older reader finds no snapshot of that round.
_SCHEMA_V6 = (
    "CREATE TABLE list_snapshots (list TEXT PRIMARY KEY, round INTEGER NOT NULL,"
    " data BLOB NOT NULL)",
)

# Version 7: the last round's warm state (issue 13), when the ledger is opened with
# ``keep_warm=True``: one row (slot 1) holding the round it belongs to, what ties it
# to that round (its stamp, options and list snapshots, :mod:`.warm`), a SHA-256 of
# the bytes and the bytes (:mod:`.warm_codec`: arrays and Arrow IPC, no pickle).
# Written in each round's transaction; a round recorded without it deletes the row.
_SCHEMA_V7 = (
    "CREATE TABLE warm_state (slot INTEGER PRIMARY KEY CHECK (slot = 1),"
    " round INTEGER NOT NULL, identity TEXT NOT NULL, sha256 TEXT NOT NULL,"
    " nbytes INTEGER NOT NULL, created_at TEXT NOT NULL, data BLOB NOT NULL)",
)


def _touch_triggers(table: str) -> tuple[str, ...]:
    """Triggers that name in ``live_touched`` each project a write of ``table`` touches."""
    touch = "INSERT OR IGNORE INTO live_touched VALUES ({}.project_id);"
    return (
        f"CREATE TRIGGER {table}_touch_insert AFTER INSERT ON {table}"
        f" BEGIN {touch.format('NEW')} END",
        f"CREATE TRIGGER {table}_touch_update AFTER UPDATE ON {table}"
        f" BEGIN {touch.format('OLD')} {touch.format('NEW')} END",
        f"CREATE TRIGGER {table}_touch_delete AFTER DELETE ON {table}"
        f" BEGIN {touch.format('OLD')} END",
    )


# Version 8: the live rows (active assignments, live projects) as a columnar snapshot
# (issue 13, :mod:`.live`): one row (slot 1) with the version stamp of the round that
# wrote it and two Arrow IPC streams, written in each round's transaction. Triggers
# name in ``live_touched`` every project a write of ``projects`` or ``assignments``
# touches, whoever writes; a snapshot write empties it. So the snapshot patched with
# the touched projects' rows is the live state, whatever ran since. A migrated ledger
# has no snapshot until its next round.
_SCHEMA_V8 = (
    "CREATE TABLE live_snapshot (slot INTEGER PRIMARY KEY CHECK (slot = 1),"
    " writes INTEGER NOT NULL, audit_id INTEGER NOT NULL, assignments BLOB NOT NULL,"
    " projects BLOB NOT NULL)",
    "CREATE TABLE live_touched (project_id TEXT PRIMARY KEY) WITHOUT ROWID",
    *_touch_triggers("projects"),
    *_touch_triggers("assignments"),
)

#: Migration hook: the SQL steps that bring a ledger *to* each version.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: _SCHEMA_V1, 2: _SCHEMA_V2, 3: _SCHEMA_V3, 4: _SCHEMA_V4, 5: _SCHEMA_V5,
    6: _SCHEMA_V6, 7: _SCHEMA_V7, 8: _SCHEMA_V8,
}

#: Backups recorded per assignment (see :meth:`MatchResult.backups`).
N_BACKUPS = 3

LEDGER_PROJECT_COLUMNS = [
    *PROJECT_COLUMNS,
    "round",
    "updated_round",
    "created_at",
    "updated_at",
]


def utc_now() -> str:
    """The current time in UTC, ISO 8601 with microseconds (how the ledger stamps rows)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def parse_time(value: Any, name: str = "as_of") -> datetime:
    """A clock argument as an aware UTC datetime; None is now.

    Accepts a datetime (naive means UTC), a date (its midnight, UTC), or ISO
    8601 text (``"2026-03-01"``, ``"2026-03-01T09:30:00+08:00"``). The ledger's
    deadlines and claim expiry take such an explicit clock so that runs can be
    replayed.
    """
    from datetime import date

    from ..errors import InputError

    if value is None:
        return datetime.now(timezone.utc)
    if isinstance(value, datetime):
        t = value
    elif isinstance(value, date):
        t = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as err:
            raise InputError(
                f"`{name}` must be a date or time (ISO 8601 such as '2026-03-01'); "
                f"got {value!r}"
            ) from err
    else:
        raise InputError(
            f"`{name}` must be a date, a datetime or ISO 8601 text; got {value!r}"
        )
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


def to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as JSON-ready dicts."""
    # pandas' JSON writer turns NaN/NaT into null and timestamps into ISO text.
    records: list[dict[str, Any]] = json.loads(
        frame.to_json(orient="records", date_format="iso", force_ascii=False)
    )
    return records


#: One JSON encoder for audit details (``json.dumps`` builds one per call when given options).
ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)


def json_lines(frame: pd.DataFrame) -> list[str]:
    """Each row of ``frame`` as JSON text, in one pass of pandas' JSON writer.

    The same values as ``json.dumps`` of :func:`to_records`' rows (NaN/NaT as
    null, timestamps as ISO text); a JSON string never holds a raw newline.
    """
    if not len(frame):
        return []
    text = frame.to_json(orient="records", date_format="iso", force_ascii=False)
    # Rows are objects side by side: "[{...},{...}]". A "},{" inside a row (in a
    # string or a nested value) would add a piece: then split the slower way.
    parts = text[2:-2].split("},{")
    if len(parts) == len(frame):
        return ["{" + p + "}" for p in parts]
    text = frame.to_json(orient="records", lines=True, date_format="iso", force_ascii=False)
    return text.rstrip("\n").split("\n")


def columns_of(rows: list[tuple[Any, ...]], n: int) -> list[np.ndarray]:
    """SQL rows as ``n`` object arrays, one per column, of the values as read.

    Examples
    --------
    >>> [c.tolist() for c in columns_of([("P-N1", 2), ("P-N2", None)], 2)]
    [['P-N1', 'P-N2'], [2, None]]
    """
    if not rows:
        return [np.empty(0, dtype=object) for _ in range(n)]
    # One pass in C over the rows into a 2-D object array, then a copy per column
    # (three times faster than one array per column from zip(*rows)).
    table = np.empty((len(rows), n), dtype=object)
    table[:] = rows
    return [np.ascontiguousarray(table[:, k]) for k in range(n)]


def as_text(column: pd.Series) -> pd.Series:
    """``column.astype(str)`` as an object column (the same values), without the
    round trip through pandas' Arrow-backed ``str`` dtype when it holds only text.

    Examples
    --------
    >>> as_text(pd.Series(["N1", 2], dtype=object)).tolist()
    ['N1', '2']
    """
    from pandas.api.types import infer_dtype

    if column.dtype == object and infer_dtype(column.to_numpy(), skipna=False) == "string":
        return column
    return column.astype(str).astype(object)


def ascending(values: np.ndarray, *, strict: bool = False) -> bool:
    """Whether an object array of text is in ascending order (``strict``: no ties).

    False when its values cannot be compared (ids of mixed types).

    Examples
    --------
    >>> ids = np.array(["N1", "N2", "N2"], dtype=object)
    >>> ascending(ids), ascending(ids, strict=True)
    (True, False)
    """
    if len(values) < 2:
        return True
    try:
        later = values[1:] > values[:-1] if strict else values[1:] >= values[:-1]
        return bool(np.asarray(later, dtype=bool).all())
    except TypeError:
        return False


def is_in(column: pd.Series, values: Collection[Any]) -> np.ndarray:
    """Which values of ``column`` are in ``values``, as a boolean array.

    The same as ``column.isin(values)`` for text and integer columns, without
    pandas' per-element path for Arrow-backed text (a hash lookup per value).

    Examples
    --------
    >>> import pandas as pd
    >>> is_in(pd.Series(["N1", "N2", None]), {"N2"}).tolist()
    [False, True, False]
    """
    keys = values if isinstance(values, (set, frozenset, dict)) else set(values)
    if not len(column) or not keys:
        return np.zeros(len(column), dtype=bool)
    # pandas' hash table on the Python values (hash and ==, as ``in`` uses), in C.
    found: np.ndarray = pd.Index(column.to_numpy(dtype=object), dtype=object).isin(
        np.array(list(keys), dtype=object))
    return found


def plain_values(column: pd.Series) -> list[Any]:
    """A column as Python values, missing ones (NaN, None, NA) as None."""
    values = column.astype(object)
    return values.where(column.notna(), None).tolist()


def frame_from_records(frame: pd.DataFrame) -> pd.DataFrame:
    """A validated frame in the same JSON-round-tripped form as the stored rows."""
    return pd.DataFrame(to_records(frame))


#: The keys of a round's ``options`` column before version 3 that MatchOptions kept.
_LEGACY_KEYS = ("max_distance", "scope", "max_candidates", "objective", "solver", "stickiness")


def legacy_options(options: dict[str, Any], round: int) -> dict[str, Any]:
    """The :meth:`MatchOptions.from_dict` form of a round recorded before version 3.

    Those rounds kept neither the weights (the bug that version 3 fixes: a
    rematch scored with the default weights) nor a readable taxonomy (its
    repr). The weights are the defaults, which is what such a round's
    rematch used; a custom taxonomy cannot be rebuilt and is refused.
    """
    from ..errors import InputError

    if options.get("taxonomy") is not None:
        raise InputError(
            f"round {round} was recorded by an older matchcore that kept its taxonomy only as "
            "text; pass taxonomy=... to rematch"
        )
    return {k: options[k] for k in _LEGACY_KEYS if k in options}


def stamp(c: sqlite3.Connection) -> tuple[int, ...]:
    """The version stamp: the write counter and the last audit row.

    Every write of :class:`~matchcore.ProjectLedger` bumps the counter; the
    audit id also catches a writer that only appends to the log.
    """
    row = c.execute(
        "SELECT (SELECT coalesce(max(CAST(value AS INTEGER)), 0) FROM meta"
        " WHERE key = 'writes'), (SELECT coalesce(max(id), 0) FROM audit)"
    ).fetchone()
    return int(row[0]), int(row[1])
