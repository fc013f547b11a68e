"""The rounds' needs and resources lists: stored as what changed, read back whole.

Since schema version 5 a round stores its lists as changes since the round
before it: a row (in ``needs`` / ``resources``) for each need or resource that
is new or whose row changed, and a row of ``closed_rows`` for each one the
round no longer lists. The first round of a ledger (and every round written by
version 4 or older: ``rounds.lists`` is NULL) stores its full lists. A round's
full list is its latest full round's rows with the later rounds' changes laid
over them, so it reads back exactly as if it had been stored whole.

Since schema version 6 the last round's whole lists are also kept as a binary
snapshot (``list_snapshots``: Arrow IPC bytes of the frames the round matched,
bit for bit): a rematch plans from it (:func:`read_snapshot`) and finds the rows
that changed by comparing frames column by column (:func:`changed_rows`), not
JSON text. The JSON rows remain the history that every public read rebuilds.
"""

from __future__ import annotations

import json
import sqlite3
import warnings
from collections.abc import Iterable, Mapping
from itertools import repeat
from typing import Literal

import numpy as np
import pandas as pd

from .schema import json_lines

__all__ = [
    "LISTS",
    "ListName",
    "changed_rows",
    "frame_from_ipc",
    "frame_of_texts",
    "frame_to_ipc",
    "list_frame",
    "list_texts",
    "read_snapshot",
    "store_list",
    "write_snapshot",
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


#: Schema metadata key of a snapshot: its object (Python value) columns, which Arrow
#: alone would read back as pandas' string dtype.
_OBJECT_COLUMNS = b"matchcore.object_columns"


def _to_ipc(frame: pd.DataFrame) -> bytes | None:
    """``frame`` as Arrow IPC bytes, or None when Arrow cannot hold it exactly."""
    import pyarrow as pa

    objects = [str(k) for k, t in frame.dtypes.items() if t == np.dtype(object)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    # Numbers, times and pandas' own dtypes come back as they went; an object column
    # only when it holds text (Arrow would turn numbers or dates in one into others).
    text = (pa.types.is_string, pa.types.is_large_string, pa.types.is_null)
    if table.column_names != list(frame.columns) or any(
        not any(is_a(table.schema.field(name).type) for is_a in text) for name in objects
    ):
        return None
    meta = dict(table.schema.metadata or {})
    meta[_OBJECT_COLUMNS] = json.dumps(objects).encode()
    table = table.replace_schema_metadata(meta)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    data: bytes = sink.getvalue().to_pybytes()
    return data


def _from_ipc(data: bytes) -> pd.DataFrame:
    import pyarrow as pa

    table = pa.ipc.open_stream(data).read_all()
    frame: pd.DataFrame = table.to_pandas()
    meta = table.schema.metadata or {}
    for name in json.loads(meta.get(_OBJECT_COLUMNS, b"[]")):
        frame[name] = pd.Series(table.column(name).to_numpy(zero_copy_only=False),
                                index=frame.index, dtype=object)
    return frame


def frame_to_ipc(frame: pd.DataFrame) -> bytes | None:
    """``frame`` (index dropped) as the Arrow IPC bytes of a snapshot, or None when
    Arrow cannot hold it exactly; :func:`frame_from_ipc` reads it back bit for bit."""
    return _to_ipc(frame.reset_index(drop=True))


def frame_from_ipc(data: bytes) -> pd.DataFrame:
    """The frame of :func:`frame_to_ipc`'s bytes (no pickle: Arrow only)."""
    return _from_ipc(data)


def write_snapshot(c: sqlite3.Connection, table: ListName, rnd: int,
                   frame: pd.DataFrame) -> bool:
    """Keep ``frame`` as the snapshot of round ``rnd``'s ``table`` list; False when
    Arrow cannot hold it exactly (the list then has no snapshot: readers use the rows).

    Runs in the round's transaction, so the snapshot and the rows commit together.

    Examples
    --------
    >>> import sqlite3
    >>> import pandas as pd
    >>> c = sqlite3.connect(":memory:")
    >>> _ = c.execute("CREATE TABLE list_snapshots (list TEXT PRIMARY KEY,"
    ...               " round INTEGER NOT NULL, data BLOB NOT NULL)")
    >>> frame = pd.DataFrame({"need_id": ["N1"], "x": [0.1 + 0.2]})
    >>> write_snapshot(c, "needs", 1, frame)
    True
    >>> read_snapshot(c, "needs", 1)["x"].tolist() == [0.1 + 0.2]
    True
    >>> read_snapshot(c, "needs", 2) is None
    True
    """
    data = _to_ipc(frame.reset_index(drop=True))
    if data is None:
        c.execute("DELETE FROM list_snapshots WHERE list = ?", (table,))
        return False
    c.execute("INSERT OR REPLACE INTO list_snapshots VALUES (?,?,?)", (table, rnd, data))
    return True


def read_snapshot(c: sqlite3.Connection, table: ListName, rnd: int) -> pd.DataFrame | None:
    """Round ``rnd``'s whole ``table`` list as the round matched it (bit for bit),
    or None when the ledger keeps no snapshot of that round's list.

    See :func:`write_snapshot` for an example.
    """
    row = c.execute("SELECT data FROM list_snapshots WHERE list = ? AND round = ?",
                    (table, rnd)).fetchone()
    return None if row is None else _from_ipc(row[0])


def _same_values(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """Elementwise: the two arrays hold the same value (floats and times bit for
    bit, missing values equal to missing values)."""
    if new.dtype == old.dtype and new.dtype.kind in "fmM" and new.dtype.itemsize == 8:
        same: np.ndarray = new.view(np.int64) == old.view(np.int64)
        return same
    if new.dtype == old.dtype and new.dtype.kind in "iub":
        return np.asarray(new == old, dtype=bool)
    if new.dtype == object and old.dtype == object:
        text = _same_text(new, old)
        if text is not None:
            return text
    try:
        eq = np.asarray(new == old, dtype=bool)
    except (TypeError, ValueError):
        eq = np.fromiter((a == b for a, b in zip(new, old)), dtype=bool, count=len(new))
    return eq | (pd.isna(new) & pd.isna(old))


def _same_text(new: np.ndarray, old: np.ndarray) -> np.ndarray | None:
    """:func:`_same_values` of two object arrays of text, compared by Arrow (in C);
    None when they hold anything else."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        a = pa.array(new, from_pandas=True)
        b = pa.array(old, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    if not all(pa.types.is_string(t) or pa.types.is_null(t) for t in (a.type, b.type)):
        return None
    if a.type != b.type:  # one side all missing
        same_null: np.ndarray = pc.and_(a.is_null(), b.is_null()).to_numpy(
            zero_copy_only=False)
        return same_null
    eq = pc.or_(pc.fill_null(pc.equal(a, b), False), pc.and_(a.is_null(), b.is_null()))
    same: np.ndarray = eq.to_numpy(zero_copy_only=False)
    return same


def changed_rows(frame: pd.DataFrame, before: pd.DataFrame, key: str) -> np.ndarray | None:
    """Which rows of ``frame`` are new or differ from ``before``'s row of the same id.

    A vectorised comparison, column by column (floats bit for bit); None when
    the two frames do not have the same columns and dtypes, or ``before`` lists
    an id twice (then compare texts).

    Examples
    --------
    >>> import pandas as pd
    >>> before = pd.DataFrame({"need_id": ["N1", "N2"], "x": [1.0, 2.0]})
    >>> frame = pd.DataFrame({"need_id": ["N3", "N2", "N1"], "x": [0.0, 2.5, 1.0]})
    >>> changed_rows(frame, before, "need_id").tolist()
    [True, True, False]
    """
    if list(frame.columns) != list(before.columns) or not frame.dtypes.equals(before.dtypes):
        return None
    ids = frame[key].astype(str).to_numpy(dtype=object)
    known = pd.Index(before[key].astype(str).to_numpy(dtype=object))
    if not known.is_unique:  # not a list this ledger wrote: compare texts
        return None
    pos = known.get_indexer(ids)
    found = pos >= 0
    at = np.where(found, pos, 0)
    same = found.copy()
    for name in frame.columns:
        if not same.any():
            break
        new = frame[name].to_numpy()
        old = before[name].to_numpy()
        if not len(old):
            break
        same &= _same_values(new, old[at])
    changed: np.ndarray = ~same
    return changed


def store_list(
    c: sqlite3.Connection,
    table: ListName,
    rnd: int,
    frame: pd.DataFrame,
    previous: Mapping[str, str] | None,
    before: pd.DataFrame | None = None,
) -> tuple[int, int]:
    """Store ``frame`` as round ``rnd``'s list; returns (rows written, rows closed).

    With ``previous`` (the last round's list, :func:`list_texts`) only the rows
    that are new or whose text changed are written, and the ids that left are
    recorded in ``closed_rows``; without it the whole list is written. With
    ``before`` (the last round's snapshot, :func:`read_snapshot`) the rows
    that differ are found on the frames and only they are encoded; ``previous``
    is then not needed. The round's snapshot is written too.
    """
    key = LISTS[table]
    closed: list[tuple[int, str, str]]
    write_snapshot(c, table, rnd, frame)
    changed = None if before is None else changed_rows(frame, before, key)
    if changed is not None and before is not None:
        fresh = frame[changed]
        rows = list(zip(repeat(rnd), fresh[key].astype(str).tolist(), json_lines(fresh)))
        kept = set(frame[key].astype(str).tolist())
        closed = [(rnd, table, i) for i in sorted(set(before[key].astype(str).tolist()))
                  if i not in kept]
        c.executemany(f"INSERT INTO {table} VALUES (?,?,?)", rows)
        c.executemany("INSERT INTO closed_rows VALUES (?,?,?)", closed)
        return len(rows), len(closed)
    if previous is None and before is not None:
        previous = list_texts(c, table, rnd - 1)
    ids = frame[key].astype(str).tolist()
    texts = json_lines(frame)
    if previous is None:
        rows = list(zip(repeat(rnd), ids, texts))
        closed = []
    else:
        get = previous.get
        rows = [(rnd, i, t) for i, t in zip(ids, texts) if get(i) != t]
        kept = set(ids)
        closed = [(rnd, table, i) for i in sorted(previous) if i not in kept]
    c.executemany(f"INSERT INTO {table} VALUES (?,?,?)", rows)
    c.executemany("INSERT INTO closed_rows VALUES (?,?,?)", closed)
    return len(rows), len(closed)
