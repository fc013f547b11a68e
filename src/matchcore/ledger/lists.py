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

A round that changed few rows of a list does not write its whole snapshot again:
it writes a *delta snapshot* (row ``<list>.delta`` of ``list_snapshots``): the
rows that differ from the last whole snapshot (the *base*) and, for every row of
the round's list, where it is among the base's rows and the delta's, so that
:func:`read_snapshot` rebuilds the round's frame exactly, in its order. No schema
change: a matchcore that does not know deltas finds no snapshot of the round
(the base is older and no ``meta`` row says it stands for the round) and reads
the JSON rows, as for a ledger without snapshots.
"""

from __future__ import annotations

import json
import sqlite3
import struct
import warnings
from collections.abc import Iterable, Mapping
from itertools import repeat
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd

from .schema import as_text, ascending, json_lines

__all__ = [
    "DELTA_SHARE",
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
    meta = table.schema.metadata or {}
    objects = json.loads(meta.get(_OBJECT_COLUMNS, b"[]"))
    # The object columns straight from Arrow to Python values, the others by pandas
    # (not every column through pandas' str dtype first).
    rest = [name for name in table.column_names if name not in set(objects)]
    frame: pd.DataFrame = (table.select(rest).to_pandas() if rest
                           else pd.DataFrame(index=pd.RangeIndex(table.num_rows)))
    if not objects:
        return frame
    for name in objects:
        frame[name] = pd.Series(table.column(name).to_numpy(zero_copy_only=False),
                                index=frame.index, dtype=object)
    return frame[table.column_names]


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
    >>> _ = c.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    >>> frame = pd.DataFrame({"need_id": ["N1"], "x": [0.1 + 0.2]})
    >>> write_snapshot(c, "needs", 1, frame)
    True
    >>> read_snapshot(c, "needs", 1)["x"].tolist() == [0.1 + 0.2]
    True
    >>> read_snapshot(c, "needs", 2) is None
    True
    """
    data = _to_ipc(frame.reset_index(drop=True))
    # A whole snapshot is a new base: any delta of the old one goes with it.
    c.execute("DELETE FROM list_snapshots WHERE list = ?", (table + _DELTA,))
    if data is None:
        c.execute("DELETE FROM list_snapshots WHERE list = ?", (table,))
        return False
    c.execute("INSERT OR REPLACE INTO list_snapshots VALUES (?,?,?)", (table, rnd, data))
    return True


#: ``meta`` key (plus the list's name) of "the snapshot of round k stands for round r"
#: (value ``"k:r"``), written by a round whose list did not change at all.
_SNAPSHOT_KEY = "list_snapshot_stands_for."
#: ``list_snapshots`` name (the list's name plus this) of a list's delta snapshot.
_DELTA = ".delta"
#: A delta snapshot's first bytes, then its base round and the length of its rows'
#: Arrow IPC bytes (two little-endian int64), the rows, and one little-endian int32
#: per row of the round's list: its position among the base's rows then the delta's.
_DELTA_MAGIC = b"MCDELTA1"
_DELTA_HEAD = struct.Struct("<qq")
#: A delta holds at most this share of its list's rows; a list that changed more is
#: written whole (a new base), so reading one never patches more than this.
DELTA_SHARE = 0.25


class _Snapshot(NamedTuple):
    """The snapshot that holds a round's list: the round that wrote it, its base
    (round and Arrow IPC bytes) and its delta's bytes (None: the base alone)."""

    written: int
    base_round: int
    base: bytes
    delta: bytes | None


def _split_delta(data: bytes) -> tuple[int, bytes, np.ndarray] | None:
    """(base round, rows' IPC bytes, positions) of a delta's bytes; None when malformed."""
    head = len(_DELTA_MAGIC) + _DELTA_HEAD.size
    if len(data) < head or data[:len(_DELTA_MAGIC)] != _DELTA_MAGIC:
        return None
    base_round, n_rows = _DELTA_HEAD.unpack_from(data, len(_DELTA_MAGIC))
    rest = len(data) - head - n_rows
    if n_rows < 0 or rest < 0 or rest % 4:
        return None
    order = np.frombuffer(data, dtype="<i4", offset=head + n_rows)
    return int(base_round), data[head:head + n_rows], order.astype(np.int64, copy=False)


def _snapshot_row(c: sqlite3.Connection, table: ListName, rnd: int) -> _Snapshot | None:
    """The snapshot that holds round ``rnd``'s list, or None."""
    rows = {name: (int(r), bytes(data)) for name, r, data in c.execute(
        "SELECT list, round, data FROM list_snapshots WHERE list IN (?, ?)",
        (table, table + _DELTA))}
    if table not in rows:
        return None
    base_round, base = rows[table]
    found = _Snapshot(base_round, base_round, base, None)
    if table + _DELTA in rows:
        at, delta = rows[table + _DELTA]
        split = _split_delta(delta)
        # A delta of this base only (a whole snapshot written since replaced it).
        if at > base_round and split is not None and split[0] == base_round:
            found = _Snapshot(at, base_round, base, delta)
    if found.written > rnd:
        return None
    if found.written < rnd:
        # Written by an earlier round: it holds this one only if every round since
        # left the list as it was (the last of them says so in ``meta``).
        said = c.execute("SELECT value FROM meta WHERE key = ?",
                         (_SNAPSHOT_KEY + table,)).fetchone()
        if said is None or said[0] != f"{found.written}:{rnd}":
            return None
    return found


def _column_ids(data: bytes, key: str) -> np.ndarray | None:
    """The ``key`` column of a snapshot's Arrow IPC bytes, as an object array of text
    (only that column is read: zero copy); None when it has no such column."""
    import pyarrow as pa

    stored = pa.ipc.open_stream(data).read_all()
    if key not in stored.column_names:
        return None
    ids: np.ndarray = stored.column(key).to_numpy(zero_copy_only=False).astype(object)
    return ids


def _snapshot_ids(found: _Snapshot, key: str) -> np.ndarray | None:
    """The ids of the list ``found`` holds, in its order (None: no ``key`` column)."""
    ids = _column_ids(found.base, key)
    if ids is None or found.delta is None:
        return ids
    split = _split_delta(found.delta)
    more = None if split is None else _column_ids(split[1], key)
    if split is None or more is None:
        return None
    both = np.concatenate([ids, more])
    order = split[2]
    if len(order) and (order.min() < 0 or order.max() >= len(both)):
        return None
    out: np.ndarray = both[order]
    return out


def _patched(base: pd.DataFrame, delta: bytes) -> pd.DataFrame | None:
    """The list a delta snapshot holds: ``base``'s rows and the delta's, in the
    delta's order; None when the delta does not fit ``base`` (columns, dtypes)."""
    split = _split_delta(delta)
    if split is None:
        return None
    rows = _from_ipc(split[1])
    if list(rows.columns) != list(base.columns) or not rows.dtypes.equals(base.dtypes):
        return None
    both = pd.concat([base, rows], ignore_index=True) if len(rows) else base
    order = split[2]
    if len(order) and (order.min() < 0 or order.max() >= len(both)):
        return None
    if not both.dtypes.equals(base.dtypes):
        return None
    out: pd.DataFrame = both.take(order).reset_index(drop=True)
    return out


def read_snapshot(c: sqlite3.Connection, table: ListName, rnd: int) -> pd.DataFrame | None:
    """Round ``rnd``'s whole ``table`` list as the round matched it (bit for bit),
    or None when the ledger keeps no snapshot of that round's list.

    A round whose list did not change at all keeps the last snapshot (a ``meta``
    row says it stands for the round); one that changed few rows keeps a delta of
    the last whole snapshot (:func:`store_list`). See :func:`write_snapshot` for an
    example.
    """
    found = _snapshot_row(c, table, rnd)
    if found is None:
        return None
    base = _from_ipc(found.base)
    return base if found.delta is None else _patched(base, found.delta)


def _write_delta(c: sqlite3.Connection, table: ListName, rnd: int, frame: pd.DataFrame,
                 changed: np.ndarray, key: str, ids: np.ndarray | None = None) -> bool:
    """Keep round ``rnd``'s ``table`` list as a delta of the last whole snapshot, when
    round ``rnd - 1``'s list has a snapshot and few rows changed; False (nothing
    written) otherwise.

    ``changed`` marks the rows of ``frame`` that are new or differ from round
    ``rnd - 1``'s list (:func:`changed_rows`). The delta holds those rows and the
    rows of the last delta that ``frame`` still lists (they may differ from the
    base); every other row of ``frame`` is, bit for bit, its base row. ``ids``:
    the frame's ids as text, when the caller has them.
    """
    found = _snapshot_row(c, table, rnd - 1)
    if found is None or not len(frame):
        return False
    base_ids = _column_ids(found.base, key)
    if base_ids is None:
        return False
    if ids is None:
        ids = _text_ids(frame[key])
    take = np.asarray(changed, dtype=bool).copy()
    if found.delta is not None:
        split = _split_delta(found.delta)
        before = None if split is None else _column_ids(split[1], key)
        if before is None:
            return False
        take |= pd.Index(ids, dtype=object).isin(before)
    n = int(take.sum())
    if n > DELTA_SHARE * len(frame):
        return False
    known = pd.Index(base_ids, dtype=object)
    if not known.is_unique:
        return False
    at = known.get_indexer(ids)
    if (at[~take] < 0).any():  # a row neither changed nor in the base: cannot be
        return False
    rows = frame[take].reset_index(drop=True)
    data = _to_ipc(rows)
    if data is None:
        return False
    # The rows read back with the list's columns and dtypes (an object column of
    # missing values only stays object), so the patch keeps the frame's dtypes.
    back = _from_ipc(data)
    if list(back.columns) != list(frame.columns) or not back.dtypes.equals(frame.dtypes):
        return False
    if len(base_ids) + n >= 2**31:  # positions are int32
        return False
    order = at.astype("<i4")
    order[take] = len(base_ids) + np.arange(n)
    blob = (_DELTA_MAGIC + _DELTA_HEAD.pack(found.base_round, len(data)) + data
            + order.tobytes())
    c.execute("INSERT OR REPLACE INTO list_snapshots VALUES (?,?,?)",
              (table + _DELTA, rnd, blob))
    return True


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
    """:func:`_same_values` of two object arrays of text (or missing values), compared
    elementwise in C (``str == str``); None when they hold anything else."""
    from pandas.api.types import infer_dtype

    text = ("string", "empty")
    if infer_dtype(new, skipna=True) not in text or infer_dtype(old, skipna=True) not in text:
        return None
    same: np.ndarray = np.asarray(new == old, dtype=bool)
    # Missing equals missing (None, NaN): looked at only where the texts differ.
    other = np.flatnonzero(~same)
    if len(other):
        same[other] = pd.isna(new[other]) & pd.isna(old[other])
    return same


def _text_ids(column: pd.Series) -> np.ndarray:
    """A list's id column as an object array of text (:func:`.schema.as_text`)."""
    out: np.ndarray = as_text(column).to_numpy(dtype=object)
    return out


def _same_ids_ascending(ids: np.ndarray, before: np.ndarray) -> bool:
    """Whether two object arrays of text ids are equal and strictly ascending."""
    if len(ids) != len(before) or len(ids) < 2:
        return False
    return bool(np.asarray(ids == before, dtype=bool).all()) and ascending(before, strict=True)


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
    found = _changes(frame, before, key)
    return None if found is None else found.changed


class _Changes(NamedTuple):
    """:func:`changed_rows`, with the ids it compared and where each row was before."""

    changed: np.ndarray  # bool, per row of the frame
    ids: np.ndarray  # object: the frame's ids as text
    before_ids: np.ndarray  # object: the last list's ids as text (unique)
    pos: np.ndarray  # int: each row's position in the last list, -1 when new


def _changes(frame: pd.DataFrame, before: pd.DataFrame, key: str) -> _Changes | None:
    """:func:`changed_rows` and what it found on the way (None as it)."""
    if list(frame.columns) != list(before.columns) or not frame.dtypes.equals(before.dtypes):
        return None
    ids = _text_ids(frame[key])
    before_ids = _text_ids(before[key])
    if _same_ids_ascending(ids, before_ids):
        # The same ids in the same, strictly ascending order (unique): row k is row k
        # (an unchanged list read back in id order), no hash lookups needed.
        pos = np.arange(len(ids))
    else:
        known = pd.Index(before_ids, dtype=object)
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
    return _Changes(~same, ids, before_ids, pos)


def _relabel_snapshot(c: sqlite3.Connection, table: ListName, rnd: int,
                      frame: pd.DataFrame, key: str, ids: np.ndarray | None = None) -> bool:
    """Let the snapshot that stands for round ``rnd - 1``'s ``table`` list stand for
    round ``rnd``'s too, when ``frame`` (whose rows equal it, bit for bit, by id)
    lists its ids in the snapshot's order; False (nothing done) otherwise.

    The snapshot's bytes are not rewritten (SQLite would copy the whole blob): a
    ``meta`` row says which later round it stands for (:func:`read_snapshot`).
    """
    found = _snapshot_row(c, table, rnd - 1)
    if found is None:
        return False
    stored = _snapshot_ids(found, key)  # zero copy: only the ids are read
    if stored is None or len(stored) != len(frame) or not np.array_equal(
            stored, _text_ids(frame[key]) if ids is None else ids):
        return False
    base = found.written
    c.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET"
              " value = excluded.value", (_SNAPSHOT_KEY + table, f"{base}:{rnd}"))
    return True


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
    is then not needed. The round's snapshot is written too; when the list did
    not change at all (same rows, bit for bit, in the order of the last round's
    snapshot) the last snapshot is relabelled as this round's, not encoded again,
    and when at most :data:`DELTA_SHARE` of its rows differ from the last whole
    snapshot only they (and where each row is) are written (a delta snapshot).
    """
    key = LISTS[table]
    closed: list[tuple[int, str, str]]
    found = None if before is None else _changes(frame, before, key)
    if found is not None:
        changed = found.changed
        fresh = frame[changed]
        rows = list(zip(repeat(rnd), fresh[key].astype(str).tolist(), json_lines(fresh)))
        # The ids that left (before's rows no row of the frame was found at), in
        # sorted order; before's ids are unique (changed_rows).
        hit = np.zeros(len(found.before_ids), dtype=bool)
        hit[found.pos[found.pos >= 0]] = True
        closed = [(rnd, table, i) for i in sorted(found.before_ids[~hit].tolist())]
        if (rows or closed or not _relabel_snapshot(c, table, rnd, frame, key, found.ids)) \
                and not _write_delta(c, table, rnd, frame, changed, key, found.ids):
            write_snapshot(c, table, rnd, frame)
        c.executemany(f"INSERT INTO {table} VALUES (?,?,?)", rows)
        c.executemany("INSERT INTO closed_rows VALUES (?,?,?)", closed)
        return len(rows), len(closed)
    write_snapshot(c, table, rnd, frame)
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
