"""The last round's warm state, kept in the ledger file so a fresh process rematches warm.

Issue 13: a rematch solved warm from the last round's optimal bases, with the
candidate edges of unchanged rows reused, costs a fraction of a cold one. In
one process the last result is in memory (``rematch(..., start=result)``); a
ledger opened with ``keep_warm=True`` also keeps its
:class:`~matchcore.result.WarmState` in the table ``warm_state`` (schema
version 7): one row, for the last round only, replaced in each round's own
transaction, so it is committed (or rolled back) with the round it belongs
to. The bytes are :mod:`.warm_codec`'s archive: plain arrays and Arrow IPC,
never a pickle, so opening a shared ledger never runs code from it.

A stored state is used only when it provably belongs to the last round
(:func:`read_warm`): its round number, the round's ``created_at`` stamp and
options, and the list snapshots (round and SHA-256 of their bytes) recorded
with it must all be those of the last round, and its SHA-256 checksum must hold. Anything else
(a round recorded without ``keep_warm``, which deletes the row; a ledger
migrated from version 6; a checksum or decoding failure) means no state: the
rematch is cold. A corrupt state is reported with a
:class:`~matchcore.MatchcoreWarning` and ignored — the state only saves time,
a cold solve gives the same result.

Encoding the state (0.5 s at city_100k) depends only on the result and the
round's number, so a round starts it in a background thread
(:class:`WarmEncoding`) and writes its rows meanwhile; the bytes are stored
in the round's transaction as before. Reading is the same in reverse: the bytes
are read in the rematch's snapshot and decoded (:class:`WarmReading`) while the
rematch reads and plans the ledger's state.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import MatchcoreWarning
from .schema import utc_now
from .warm_codec import WarmStateError, decode_warm_state, encode_warm_state

if TYPE_CHECKING:  # pragma: no cover
    from ..result import MatchResult, WarmState

T = TypeVar("T")

__all__ = ["WarmEncoding", "WarmReading", "clear_warm", "read_warm", "start_reading",
           "warm_info", "write_warm"]


def _in_thread(fn: Callable[..., T], *args: Any) -> Future[T]:
    """``fn(*args)`` run in a thread of its own (it ends with its one task)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="matchcore-warm")
    try:
        return pool.submit(fn, *args)
    finally:
        pool.shutdown(wait=False)


def _state_of(result: MatchResult, rnd: int) -> WarmState:
    from ..result import WarmState

    return dataclasses.replace(WarmState.of(result), round=rnd)


def _encoded(state: WarmState) -> tuple[bytes, str] | None:
    """The archive of a warm ``state`` and its SHA-256."""
    data = encode_warm_state(state)
    return None if data is None else (data, hashlib.sha256(data).hexdigest())


class WarmEncoding:
    """``result``'s warm state for round ``rnd``, encoded in a background thread.

    A round starts it before writing its rows and :func:`write_warm` takes the
    bytes at the end of the transaction: the encoding (Arrow, zstd, SHA-256,
    which release the GIL) overlaps the round's SQL writes. The state's parts
    are taken from ``result`` on the calling thread (its lazily computed
    attributes are not shared with the thread), which only reads them; an
    error it raises is raised again by :meth:`data`.

    Examples
    --------
    >>> import matchcore as mc
    >>> result = mc.match(*mc.synthetic.tiny(), max_distance=2000)
    >>> data, digest = WarmEncoding(result, 1).data()
    >>> len(digest), data[:2]
    (64, b'PK')
    """

    def __init__(self, result: MatchResult, rnd: int) -> None:
        self.result = result
        self.round = int(rnd)
        self._future = _in_thread(_encoded, _state_of(result, self.round))

    def data(self) -> tuple[bytes, str] | None:
        """The archive and its SHA-256 (waiting for the thread), or None when the
        state cannot be kept exactly (:func:`~.warm_codec.encode_warm_state`)."""
        return self._future.result()


def _has_table(c: sqlite3.Connection) -> bool:
    return c.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'warm_state'"
    ).fetchone() is not None


def _identity(c: sqlite3.Connection, rnd: int) -> str | None:
    """What ties a state to round ``rnd``: its stamp, options and list snapshots.

    None when the ledger has no such round.
    """
    row = c.execute("SELECT created_at, coalesce(match_options, options) FROM rounds"
                    " WHERE round = ?", (rnd,)).fetchone()
    if row is None:
        return None
    # The snapshots' bytes hashed (40 ms at city_100k): a list rewritten since is seen.
    snaps = [[name, int(at), hashlib.sha256(data).hexdigest()] for name, at, data in c.execute(
        "SELECT list, round, data FROM list_snapshots ORDER BY list")]
    return json.dumps({"round": rnd, "created_at": row[0], "options": row[1],
                       "snapshots": snaps}, sort_keys=True, ensure_ascii=False)


def clear_warm(c: sqlite3.Connection) -> None:
    """Forget the stored state (a round was recorded without one), in ``c``'s transaction.

    See :func:`read_warm` for an example.
    """
    if _has_table(c):
        c.execute("DELETE FROM warm_state")


def write_warm(c: sqlite3.Connection, rnd: int, result: MatchResult,
               encoding: WarmEncoding | None = None) -> tuple[int, float]:
    """Keep ``result``'s warm state as round ``rnd``'s, in the round's transaction.

    Returns (bytes written, seconds the transaction spent on it, waiting for
    ``encoding`` included); 0 bytes when nothing was kept. ``encoding``: the
    state encoded in the background (:class:`WarmEncoding`), used when it is
    ``result``'s for round ``rnd`` (else the state is encoded here).
    See :func:`read_warm` for an example.

    Call it after the round's rows and list snapshots are written. When the
    result cannot be kept (no bases, options that are not JSON, lists Arrow
    cannot hold exactly) any older state is deleted and 0 bytes are written.
    """
    t = time.perf_counter()
    if not _has_table(c):
        return (0, 0.0)
    identity = _identity(c, rnd)
    if identity is None:
        packed = None
    elif encoding is not None and encoding.result is result and encoding.round == rnd:
        packed = encoding.data()
    else:
        packed = _encoded(_state_of(result, rnd))
    if packed is None:
        c.execute("DELETE FROM warm_state")
        return (0, time.perf_counter() - t)
    data, digest = packed
    c.execute("INSERT OR REPLACE INTO warm_state VALUES (1,?,?,?,?,?,?)",
              (rnd, identity, digest, len(data), utc_now(), data))
    return (len(data), time.perf_counter() - t)


def warm_info(c: sqlite3.Connection) -> dict[str, object] | None:
    """The stored state's round, size and time, and whether it is the last round's.

    None when there is none (or the ledger has no table for it). See
    :func:`read_warm` for an example.
    """
    if not _has_table(c):
        return None
    row = c.execute("SELECT round, identity, nbytes, created_at FROM warm_state").fetchone()
    if row is None:
        return None
    last = int(c.execute("SELECT coalesce(max(round), 0) FROM rounds").fetchone()[0])
    current = row[0] == last and row[1] == _identity(c, last)
    return {"round": int(row[0]), "nbytes": int(row[2]), "created_at": row[3],
            "current": bool(current)}


class WarmReading:
    """A stored warm state's bytes (read in a rematch's snapshot), decoded in a
    background thread while the rematch plans: :meth:`state` waits for it.

    Made by :func:`start_reading`; see :func:`read_warm` for an example.
    """

    def __init__(self, rnd: int, digest: str, data: bytes, identity: str, path: str,
                 background: bool = True) -> None:
        self.round = rnd
        self.path = path
        self._job = (digest, data, identity)
        self._future = _in_thread(_decoded, *self._job) if background else None

    def state(self) -> WarmState | None:
        """The decoded state, or None (with a :class:`~matchcore.MatchcoreWarning`
        naming the ledger) when its checksum fails or it cannot be decoded."""
        try:
            return self._future.result() if self._future is not None \
                else _decoded(*self._job)
        except Exception as err:  # a cache that fails is skipped, never fatal
            warnings.warn(
                f"ledger {self.path!r}: the stored warm state of round {self.round} cannot "
                f"be used ({err}); the rematch is solved cold (same result, more time)",
                MatchcoreWarning, stacklevel=3,
            )
            return None


def _decoded(digest: str, data: bytes, identity: str) -> WarmState:
    """The state in ``data``, checked against its SHA-256 ``digest``, with the
    options its round's ``identity`` (:func:`_identity`) records."""
    from ..options import MatchOptions

    if hashlib.sha256(data).hexdigest() != digest:
        raise WarmStateError("its checksum does not match (the blob was altered)")
    options = MatchOptions.from_json(json.loads(identity)["options"])
    return decode_warm_state(data, options)


def start_reading(c: sqlite3.Connection, path: str = "", *,
                  background: bool = True) -> WarmReading | None:
    """The last round's stored warm state, its bytes read in ``c``'s transaction
    and decoded in a thread (``background``); None when none is current.

    What :func:`read_warm` checks, split so that a rematch decodes while it plans.
    """
    info = warm_info(c)
    if info is None or not info["current"]:
        return None
    row = c.execute("SELECT round, sha256, data, identity FROM warm_state").fetchone()
    return WarmReading(int(row[0]), row[1], bytes(row[2]), row[3], path, background)


def read_warm(c: sqlite3.Connection, path: str = "") -> WarmState | None:
    """The last round's warm state, or None when the ledger keeps none that is current.

    Read in ``c``'s transaction (the same snapshot as the rematch's plan). A
    state of another round, or one whose stamp, options or list snapshots
    differ from the last round's, is ignored (None). A state whose checksum
    fails or that cannot be decoded is ignored with a
    :class:`~matchcore.MatchcoreWarning` naming the ledger ``path``.

    Examples
    --------
    >>> import sqlite3, tempfile, pathlib
    >>> import matchcore as mc
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "l.db"
    >>> with mc.ProjectLedger(path) as ledger:
    ...     _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
    >>> c = sqlite3.connect(path)
    >>> warm_info(c)["round"], read_warm(c).graph.n_edges
    (1, 4)
    >>> start_reading(c).state().graph.n_edges  # decoded in a thread meanwhile
    4
    >>> clear_warm(c)
    >>> warm_info(c) is None, read_warm(c) is None
    (True, True)
    >>> c.close()
    """
    reading = start_reading(c, path, background=False)
    return None if reading is None else reading.state()
