"""The ledger's SQLite schema, its migrations and the row encoding it uses.

:class:`~matchcore.ledger.ProjectLedger` writes schema version
:data:`SCHEMA_VERSION`; :data:`MIGRATIONS` holds the SQL that brings an older
file up to it. Rows of needs, resources and assignments are kept as JSON text.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from .schema import PROJECT_COLUMNS

__all__ = ["APPLICATION_ID", "MIGRATIONS", "N_BACKUPS", "SCHEMA_VERSION", "TRANSITIONS"]

#: PRAGMA application_id of a matchcore ledger ("MCLG").
APPLICATION_ID = 0x4D434C47
#: The schema version this code writes.
SCHEMA_VERSION = 2

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

#: Migration hook: the SQL steps that bring a ledger *to* each version.
MIGRATIONS: dict[int, tuple[str, ...]] = {1: _SCHEMA_V1, 2: _SCHEMA_V2}

#: Backups recorded per assignment (see :meth:`MatchResult.backups`).
N_BACKUPS = 3

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


#: One JSON encoder for audit details (``json.dumps`` builds one per call when given options).
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)


def _json_lines(frame: pd.DataFrame) -> list[str]:
    """Each row of ``frame`` as JSON text, in one pass of pandas' JSON writer.

    The same values as ``json.dumps`` of :func:`_records`' rows (NaN/NaT as
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


def _plain(column: pd.Series) -> list[Any]:
    """A column as Python values, missing ones (NaN, None, NA) as None."""
    values = column.astype(object)
    return values.where(column.notna(), None).tolist()


def _frame_from_records(frame: pd.DataFrame) -> pd.DataFrame:
    """A validated frame in the same JSON-round-tripped form as the stored rows."""
    return pd.DataFrame(_records(frame))
