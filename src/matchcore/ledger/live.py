"""The live rows (active assignments and live projects): read once, kept as a snapshot.

Since schema version 8 each round's transaction keeps its live rows as a columnar
snapshot (``live_snapshot``: Arrow IPC, no pickle), and triggers on ``projects``
and ``assignments`` name every project any later write touches (``live_touched``,
cleared only when a snapshot is written). So the live rows now are, provably, the
snapshot with the touched projects read again from SQL (:func:`read_rows`): a
rematch after a status change or a claim reads a few rows, not every live one,
and a fresh process gets the same. A ledger without a snapshot (migrated, or rows
Arrow cannot hold exactly) reads every row with one query, as before.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .schema import LIVE_COLUMNS, LIVE_STATUSES, columns_of, is_in

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "HELD_STATUSES",
    "PATCH_SHARE",
    "PROJECT_COLUMNS",
    "LiveRows",
    "overfilled",
    "read_live",
    "read_rows",
    "rows_after",
    "write_rows",
]

#: Statuses whose projects' active assignments hold capacity (what the rows keep).
HELD_STATUSES = ("not_started", "in_progress", "completed")
#: Columns of :attr:`LiveRows.assignments`.
ASSIGNMENT_COLUMNS = [*LIVE_COLUMNS, "score", "id"]
#: Columns of :attr:`LiveRows.projects` (the projects with a live status).
PROJECT_COLUMNS = ["project_id", "need_id", "status", "community", "grid", "category",
                   "demand", "assigned", "resources", "score", "round"]
#: When more than this share of the snapshot's projects were touched since it was
#: written, every row is read again (one query costs less than the patch then).
PATCH_SHARE = 0.3

_ASSIGNMENTS_SQL = (
    "SELECT a.project_id, a.need_id, a.resource_id, a.units, a.round, p.status, a.score,"
    " a.id FROM assignments a JOIN projects p USING (project_id)"
    " WHERE a.active = 1 AND p.status IN (?, ?, ?){where}"
    # The id orders a project's two rows on one resource (a claim's and a round's).
    " ORDER BY a.project_id, a.resource_id, a.id"
)
_PROJECTS_SQL = (
    "SELECT project_id, need_id, status, community, grid, category, demand, assigned,"
    " resources, score, round FROM projects WHERE status IN (?, ?){where}"
    " ORDER BY project_id"
)
_TOUCHED = " AND {col} IN (SELECT project_id FROM live_touched)"


@dataclass(frozen=True)
class LiveRows:
    """The live rows as object arrays of the values SQLite returns.

    Attributes
    ----------
    assignments : list of ndarray
        :data:`ASSIGNMENT_COLUMNS` of every active assignment of a not-started,
        in-progress or completed project, by project, resource, then id.
    projects : list of ndarray
        :data:`PROJECT_COLUMNS` of every not-started and in-progress project, by id.
    token : tuple of int, optional
        The stored snapshot these rows start from (None: no snapshot was stored):
        :func:`rows_after` patches them only while it is still the stored one.
    """

    assignments: list[np.ndarray]
    projects: list[np.ndarray]
    token: tuple[int, int] | None = None

    def live(self) -> tuple[list[np.ndarray], list[np.ndarray], dict[str, list[np.ndarray]]]:
        """The live assignments' columns (:data:`LIVE_COLUMNS`, score, id: those of
        not-started and in-progress projects), the live projects' columns, and what
        a round's writer compares (:attr:`.plan.LedgerState.recorded`): the
        not-started projects' live assignments ("live") and stored rows
        ("projects"), and every live project's need, id and status by round, then
        project ("keys")."""
        a, rows = self.assignments, self.projects
        cols = [col[is_in(pd.Series(a[5], dtype=object), LIVE_STATUSES)] for col in a] \
            if len(a[0]) else list(a)
        ns = cols[5] == "not_started"
        ns_rows = rows[2] == "not_started"
        by_round = np.argsort(rows[10].astype(np.int64), kind="stable")
        recorded = {
            "live": [cols[0][ns], cols[2][ns], cols[3][ns], cols[6][ns], cols[7][ns]],
            "projects": [rows[0][ns_rows], *(col[ns_rows] for col in rows[3:10])],
            # need_id, project_id, status by (round, project_id): record_round's order.
            "keys": [rows[1][by_round], rows[0][by_round], rows[2][by_round]],
        }
        return cols, rows, recorded

    def held(self, statuses: tuple[str, ...]) -> dict[str, int]:
        """Active units per resource of the projects in ``statuses``, by resource id
        (in id order, as SQL's GROUP BY gives them)."""
        a = self.assignments
        mine = is_in(pd.Series(a[5], dtype=object), statuses)
        return dict(sorted(_totals(a[2][mine], a[3][mine]).items()))


def _totals(resource: np.ndarray, units: np.ndarray) -> dict[str, int]:
    """Sum of ``units`` per resource id (in the order ids first appear: sorting
    10^5 text ids costs more than the sums)."""
    if not len(resource):
        return {}
    codes, names = pd.factorize(resource)
    sums = np.zeros(len(names), dtype=np.int64)
    np.add.at(sums, codes, units.astype(np.int64))  # exact integers, not bincount's floats
    return dict(zip(names.tolist(), sums.tolist()))


def _sql_rows(c: sqlite3.Connection, touched: bool) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Every live row (or those of the touched projects only), read on ``c``."""
    a_where = _TOUCHED.format(col="a.project_id") if touched else ""
    p_where = _TOUCHED.format(col="project_id") if touched else ""
    assignments = columns_of(
        c.execute(_ASSIGNMENTS_SQL.format(where=a_where), HELD_STATUSES).fetchall(),
        len(ASSIGNMENT_COLUMNS))
    projects = columns_of(
        c.execute(_PROJECTS_SQL.format(where=p_where), LIVE_STATUSES).fetchall(),
        len(PROJECT_COLUMNS))
    return assignments, projects


def _stored_token(c: sqlite3.Connection) -> tuple[int, int] | None:
    row = c.execute("SELECT writes, audit_id FROM live_snapshot WHERE slot = 1").fetchone()
    return None if row is None else (int(row[0]), int(row[1]))


def _merged(kept: list[np.ndarray], fresh: list[np.ndarray]) -> list[np.ndarray]:
    """Two column lists sorted by their first column (the project id; a project's
    rows all in one of them) as one, still sorted: ``fresh``'s rows go before the
    first row of ``kept`` with a greater id, in their own order."""
    if not len(fresh[0]):
        return kept
    if not len(kept[0]):
        return fresh
    at = np.searchsorted(kept[0], fresh[0], side="left")
    order = np.insert(np.arange(len(kept[0])), at, len(kept[0]) + np.arange(len(fresh[0])))
    return [np.concatenate([k, f])[order] for k, f in zip(kept, fresh)]


def _patched(c: sqlite3.Connection, rows: LiveRows, token: tuple[int, int] | None) -> LiveRows:
    """``rows`` with every touched project's rows read again from SQL."""
    touched = np.array([r[0] for r in c.execute("SELECT project_id FROM live_touched")],
                       dtype=object)
    if not len(touched):
        return LiveRows(rows.assignments, rows.projects, token)
    if len(touched) > PATCH_SHARE * max(len(rows.projects[0]), 1):
        assignments, projects = _sql_rows(c, touched=False)
        return LiveRows(assignments, projects, token)
    fresh_a, fresh_p = _sql_rows(c, touched=True)
    names = set(touched.tolist())
    keep_a = ~is_in(pd.Series(rows.assignments[0], dtype=object), names)
    keep_p = ~is_in(pd.Series(rows.projects[0], dtype=object), names)
    return LiveRows(_merged([col[keep_a] for col in rows.assignments], fresh_a),
                    _merged([col[keep_p] for col in rows.projects], fresh_p), token)


def read_rows(c: sqlite3.Connection) -> LiveRows:
    """The live rows now, read on ``c`` (inside one transaction).

    The stored snapshot patched with the projects touched since it was written,
    or every row from SQL when there is none (or it cannot be read).

    Examples
    --------
    >>> import sqlite3, tempfile, pathlib
    >>> import matchcore as mc
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "l.db"
    >>> with mc.ProjectLedger(path) as ledger:
    ...     _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
    ...     ledger.set_status("P-N1", "in_progress")
    >>> c = sqlite3.connect(path)
    >>> rows = read_rows(c)
    >>> dict(zip(rows.projects[0].tolist(), rows.projects[2].tolist()))["P-N1"]
    'in_progress'
    >>> c.close()
    """
    found = c.execute(
        "SELECT writes, audit_id, assignments, projects FROM live_snapshot WHERE slot = 1"
    ).fetchone()
    decoded = None if found is None else _decoded(found[2], found[3])
    if decoded is None:
        assignments, projects = _sql_rows(c, touched=False)
        return LiveRows(assignments, projects, _stored_token(c))
    token = (int(found[0]), int(found[1]))
    return _patched(c, LiveRows(*decoded, token), token)


def read_live(
    c: sqlite3.Connection,
) -> tuple[list[np.ndarray], list[np.ndarray], dict[str, list[np.ndarray]]]:
    """The live assignments and projects, read once on ``c`` (inside one transaction).

    Returns :meth:`LiveRows.live` of :func:`read_rows`: the live assignments'
    columns (:data:`LIVE_COLUMNS`, then score and id; by project, resource, id),
    the live projects' columns (:data:`PROJECT_COLUMNS`; by project), and what a
    round's writer compares (:attr:`.plan.LedgerState.recorded`). The one
    producer of ``recorded``, for a rematch's plan and for ``add_round``.

    Examples
    --------
    >>> import sqlite3, tempfile, pathlib
    >>> import matchcore as mc
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "l.db"
    >>> with mc.ProjectLedger(path) as ledger:
    ...     _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
    >>> c = sqlite3.connect(path)
    >>> assignments, projects, recorded = read_live(c)
    >>> len(recorded["keys"][0]) == len(projects[0]) == len(set(projects[0]))
    True
    >>> c.close()
    """
    return read_rows(c).live()


def rows_after(c: sqlite3.Connection, before: LiveRows | None) -> LiveRows:
    """The live rows after the writes of the caller's transaction, ``before``
    (:func:`read_rows` of an earlier moment) patched with what was touched since.

    ``before`` is patched only while the stored snapshot is the one it started
    from (the touched projects then hold every change since); otherwise, or
    without it, the rows are read again (:func:`read_rows`).
    """
    if before is None or _stored_token(c) != before.token:
        return read_rows(c)
    return _patched(c, before, before.token)


# ------------------------------------------------------------------ the snapshot
def _column(values: np.ndarray) -> Any:
    """An object column of SQL values as an Arrow array that reads back the same
    values of the same types, or None when it cannot."""
    import pyarrow as pa
    from pandas.api.types import infer_dtype

    kind = infer_dtype(values, skipna=True)
    missing = np.asarray(values == None, dtype=bool)  # noqa: E711 (elementwise)
    if kind in ("string", "empty"):
        # Plain text (zstd packs repeated words; a dictionary costs more to build).
        return pa.array(values, type=pa.string(), from_pandas=False)
    if kind not in ("integer", "floating"):
        return None
    filled = values.copy()
    filled[missing] = 0
    if kind == "integer":
        if any(type(v) is not int for v in filled[:1]):  # bools are integers too
            return None
        numbers = filled.astype(np.int64)
    else:
        numbers = filled.astype(np.float64)
    return pa.array(numbers, mask=missing if missing.any() else None)


def _values(array: Any) -> np.ndarray:
    """The object array of SQL values an Arrow column of :func:`_column` holds."""
    import pyarrow as pa

    if pa.types.is_string(array.type):
        text: np.ndarray = array.to_numpy(zero_copy_only=False).astype(object, copy=False)
        return text  # missing values are None
    values = array.fill_null(0).to_numpy().astype(object)
    if array.null_count:
        values[np.asarray(array.is_null())] = None
    return values


def _encoded(columns: list[np.ndarray], names: list[str]) -> bytes | None:
    import pyarrow as pa

    arrays = [_column(col) for col in columns]
    if any(a is None for a in arrays):
        return None
    batch = pa.record_batch(arrays, names=names)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema,
                           options=pa.ipc.IpcWriteOptions(compression="zstd")) as writer:
        writer.write_batch(batch)
    data: bytes = sink.getvalue().to_pybytes()
    return data


def _decoded(assignments: bytes, projects: bytes
             ) -> tuple[list[np.ndarray], list[np.ndarray]] | None:
    """The two column lists of a snapshot's bytes; None when they do not read back
    as the columns this module writes."""
    import pyarrow as pa

    out = []
    for data, names in ((assignments, ASSIGNMENT_COLUMNS), (projects, PROJECT_COLUMNS)):
        try:
            table = pa.ipc.open_stream(bytes(data)).read_all()
        except (pa.ArrowException, OSError, ValueError):
            return None
        if table.column_names != names:
            return None
        out.append([_values(table.column(name).combine_chunks()) for name in names])
    return out[0], out[1]


def write_rows(c: sqlite3.Connection, rows: LiveRows,
               stamp: tuple[int, ...]) -> bool:
    """Keep ``rows`` (the live rows as the caller's transaction leaves them) as the
    snapshot, tagged ``stamp``; False when Arrow cannot hold them exactly (the
    snapshot is then dropped: readers use SQL).

    The touched projects are forgotten only with a new snapshot: they are what
    stands between the stored one and the rows now.
    """
    a = _encoded(rows.assignments, ASSIGNMENT_COLUMNS)
    p = _encoded(rows.projects, PROJECT_COLUMNS)
    if a is None or p is None:
        c.execute("DELETE FROM live_snapshot")
        return False
    c.execute("INSERT OR REPLACE INTO live_snapshot VALUES (1, ?, ?, ?, ?)",
              (int(stamp[0]), int(stamp[1]), a, p))
    c.execute("DELETE FROM live_touched")
    return True


def overfilled(rows: LiveRows, capacity: Mapping[str, int],
               resources: Collection[str]) -> list[tuple[str, int, int]]:
    """(resource id, active units, capacity) of the ``resources`` whose active units
    (not-started, in-progress and completed projects) exceed their ``capacity``,
    sorted: what a round's capacity check refuses. Resources ``capacity`` does not
    list are not checked.

    The units of all resources are summed in one pass over the rows' codes, then
    compared: no hash lookup per row (10^5 rows, 10^5 resources at city_100k).
    """
    a = rows.assignments
    over = []
    for r, u in _totals(a[2], a[3]).items():
        cap = capacity.get(r)
        if cap is not None and u > cap and r in resources:
            over.append((r, u, cap))
    return sorted(over)
