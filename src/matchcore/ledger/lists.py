"""The rounds' needs and resources lists: stored as what changed, read back whole.

Since schema version 5 a round stores its lists as changes since the round
before it: a row (in ``needs`` / ``resources``) for each need or resource that
is new or whose row changed, and a row of ``closed_rows`` for each one the
round no longer lists. The first round of a ledger (and every round written by
version 4 or older: ``rounds.lists`` is NULL) stores its full lists. A round's
full list is its latest full round's rows with the later rounds' changes laid
over them, so it reads back exactly as if it had been stored whole.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from itertools import repeat
from typing import Literal

import pandas as pd

from .schema import json_lines

__all__ = [
    "LISTS",
    "ListName",
    "frame_of_texts",
    "list_frame",
    "list_texts",
    "store_list",
]

ListName = Literal["needs", "resources"]
#: Each list's table and id column.
LISTS: dict[str, str] = {"needs": "need_id", "resources": "resource_id"}


def list_texts(c: sqlite3.Connection, table: ListName, rnd: int) -> dict[str, str]:
    """Round ``rnd``'s list as stored: id -> the row's JSON text (in no set order).

    Empty when the ledger has no such round.
    """
    key = LISTS[table]
    base = c.execute(
        "SELECT max(round) FROM rounds WHERE round <= ? AND coalesce(lists, 'full') = 'full'",
        (rnd,),
    ).fetchone()[0]
    if base is None:
        return {}
    texts: dict[str, str] = dict(
        c.execute(f"SELECT {key}, data FROM {table} WHERE round = ?", (base,))
    )
    if rnd == base:
        return texts
    # The changes of the later rounds, in round order: closed ones leave, rows replace.
    changes: dict[int, list[tuple[str, str | None]]] = {}
    for r, rid in c.execute(
        "SELECT round, id FROM closed_rows WHERE list = ? AND round > ? AND round <= ?",
        (table, base, rnd),
    ):
        changes.setdefault(int(r), []).append((rid, None))
    for r, rid, data in c.execute(
        f"SELECT round, {key}, data FROM {table} WHERE round > ? AND round <= ?", (base, rnd)
    ):
        changes.setdefault(int(r), []).append((rid, data))
    for r in sorted(changes):
        for rid, data in changes[r]:
            if data is None:
                texts.pop(rid, None)
            else:
                texts[rid] = data
    return texts


def frame_of_texts(texts: Iterable[str]) -> pd.DataFrame:
    """The frame of stored JSON rows (one parse of a joined array, not one per row)."""
    return pd.DataFrame(json.loads("[" + ",".join(texts) + "]"))


def list_frame(c: sqlite3.Connection, table: ListName, rnd: int) -> pd.DataFrame:
    """Round ``rnd``'s full list as a frame of the stored rows, ordered by id.

    The rows are those a version-4 ledger stored whole for the round, in the
    order of its ``ORDER BY`` id (SQLite compares text by its UTF-8 bytes, which
    is the order of code points, so Python's ``sorted`` gives the same).
    """
    texts = list_texts(c, table, rnd)
    return frame_of_texts(texts[k] for k in sorted(texts))


def store_list(
    c: sqlite3.Connection,
    table: ListName,
    rnd: int,
    frame: pd.DataFrame,
    previous: Mapping[str, str] | None,
) -> tuple[int, int]:
    """Store ``frame`` as round ``rnd``'s list; returns (rows written, rows closed).

    With ``previous`` (the last round's list, :func:`list_texts`) only the rows
    that are new or whose text changed are written, and the ids that left are
    recorded in ``closed_rows``; without it the whole list is written.
    """
    key = LISTS[table]
    ids = frame[key].astype(str).tolist()
    texts = json_lines(frame)
    if previous is None:
        rows = list(zip(repeat(rnd), ids, texts))
        closed: list[tuple[int, str, str]] = []
    else:
        get = previous.get
        rows = [(rnd, i, t) for i, t in zip(ids, texts) if get(i) != t]
        kept = set(ids)
        closed = [(rnd, table, i) for i in sorted(previous) if i not in kept]
    c.executemany(f"INSERT INTO {table} VALUES (?,?,?)", rows)
    c.executemany("INSERT INTO closed_rows VALUES (?,?,?)", closed)
    return len(rows), len(closed)
