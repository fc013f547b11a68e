"""Reading what a rematch plans from: the ledger's state as frames, in one snapshot.

:func:`read_state` runs inside the caller's transaction and returns the
:class:`~matchcore.ledger.plan.LedgerState` that :func:`~matchcore.ledger.plan.plan_rematch`
turns into a plan; the version stamp read with it lets the writer see whether
the ledger changed since.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import numpy as np
import pandas as pd

from .connection import stamp
from .lists import LISTS, ListName, frame_of_texts, list_frame, list_texts, read_snapshot
from .live import read_rows
from .plan import CLAIM_COLUMNS, LedgerState
from .schema import LIVE_COLUMNS, is_in

__all__ = ["held_claims", "latest_rows", "read_state"]


def latest_rows(c: sqlite3.Connection, table: ListName, key: str) -> pd.DataFrame:
    """The last round's full list of ``needs`` or ``resources``, ordered by ``key``
    (the list's id column, :data:`.lists.LISTS`)."""
    rnd = c.execute("SELECT max(round) FROM rounds").fetchone()[0]
    return list_frame(c, table, int(rnd)) if rnd is not None else pd.DataFrame()


def held_claims(c: sqlite3.Connection) -> pd.DataFrame:
    """The open claims whose assignment is active on a not-started project (what a
    rematch keeps fixed): :data:`~matchcore.ledger.plan.CLAIM_COLUMNS`, by claim id."""
    cols = ", ".join(f"k.{name}" for name in CLAIM_COLUMNS)
    return pd.DataFrame(
        c.execute(
            f"SELECT {cols} FROM claims k JOIN projects p USING (project_id)"
            " JOIN assignments a ON a.id = k.assignment_id"
            " WHERE k.status = 'open' AND p.status = 'not_started' AND a.active = 1"
            " ORDER BY k.claim_id"
        ).fetchall(),
        columns=CLAIM_COLUMNS,
    ).astype({"units": "int64"})


def read_state(c: sqlite3.Connection, dropped: list[str]) -> LedgerState:
    """What a rematch plans from, read on ``c`` (inside one transaction).

    Need rows and backups are read only for the live assignments on ``dropped``.
    Claims are read as they are: the caller settles them first (:func:`.claims.settle`).
    """
    live_rows = read_rows(c)
    cols, rows, recorded = live_rows.live()
    live = pd.DataFrame(dict(zip(LIVE_COLUMNS, cols))).infer_objects().astype(
        {"units": "int64"})
    projects = pd.DataFrame(
        dict(zip(["project_id", "need_id", "status"], rows))).infer_objects()
    lost = live[is_in(live["resource_id"], set(dropped))]
    need_rows = []
    for need in sorted(set(lost.loc[lost["status"] == "in_progress", "need_id"])):
        row = c.execute(
            "SELECT data FROM needs WHERE need_id = ? ORDER BY round DESC LIMIT 1", (need,)
        ).fetchone()
        need_rows.append(json.loads(row[0]))
    backups: list[tuple[Any, ...]] = []
    for pid, rid, rnd in zip(lost["project_id"], lost["resource_id"], lost["round"]):
        backups += c.execute(
            "SELECT need_id, resource_id, project_id, round, rank, backup_resource_id"
            " FROM backups WHERE round = ? AND project_id = ? AND resource_id = ?"
            " ORDER BY rank", (int(rnd), pid, rid),
        ).fetchall()
    last = int(c.execute("SELECT coalesce(max(round), 0) FROM rounds").fetchone()[0])
    # The last round's lists: its snapshot (exactly as matched) when the ledger keeps
    # one, else the stored rows, as frames to plan from and as the texts that the next
    # round is compared with (it stores what changed).
    tables: tuple[ListName, ListName] = ("needs", "resources")
    snaps = {table: read_snapshot(c, table, last) for table in tables}
    exact = all(f is not None for f in snaps.values())
    texts: dict[str, dict[str, str]] = {}
    frames: dict[str, pd.DataFrame] = {}
    for table in tables:
        snap = snaps[table]
        if exact and snap is not None:
            # Ordered by id, as the stored rows read back: the same plan, row for row.
            order = np.argsort(snap[LISTS[table]].astype(str).to_numpy(dtype=object),
                               kind="stable")
            frames[table] = snap.iloc[order].reset_index(drop=True)
        else:
            texts[table] = list_texts(c, table, last)
            frames[table] = frame_of_texts(texts[table][k] for k in sorted(texts[table]))
    return LedgerState(
        next_round=last + 1,
        needs=frames["needs"],
        resources=frames["resources"],
        projects=projects,
        live=live,
        used=live_rows.held(("in_progress", "completed")),
        gone={str(r): int(n) for r, n in c.execute(
            "SELECT resource_id, round FROM dropped_resources WHERE returned_round IS NULL"
        )},
        settled=frozenset(r[0] for r in c.execute(
            "SELECT need_id FROM projects p WHERE status IN ('in_progress', 'completed',"
            " 'cancelled') AND round = (SELECT max(round) FROM projects q"
            " WHERE q.need_id = p.need_id)"
        )),
        need_rows=pd.DataFrame(need_rows),
        backups=pd.DataFrame(
            backups,
            columns=["need_id", "resource_id", "project_id", "round", "rank",
                     "backup_resource_id"],
        ),
        claims=held_claims(c),
        stamp=stamp(c),
        lists=texts,
        exact=exact,
        recorded=recorded,
        rows=live_rows,
    )

