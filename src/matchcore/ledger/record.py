"""Writing to the ledger: the SQL that records a round, a rematch and the audit log.

Every function here runs inside the caller's ``BEGIN IMMEDIATE`` transaction
(:class:`~matchcore.ledger.ProjectLedger` holds it) and trusts its inputs: a
rematch's plan (:mod:`.plan`) was made against the state the transaction sees.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Collection, Mapping, Sequence
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import InputError, MatchcoreError
from . import claims as claims_
from .lists import ListName, list_texts, read_snapshot, store_list
from .live import LiveRows, overfilled, read_rows, rows_after, write_rows
from .schema import (
    ENCODER,
    N_BACKUPS,
    as_text,
    ascending,
    is_in,
    json_lines,
    plain_values,
    stamp,
    utc_now,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..result import MatchResult
    from .plan import RematchPlan, RematchPreview

__all__ = ["check_capacity", "finish_round", "record_rematch", "record_round",
           "recorded_frames", "refresh_project", "write_audit"]


def write_audit(
    c: sqlite3.Connection,
    action: str,
    *,
    project_id: str | None = None,
    round: int | None = None,
    by: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one row to the audit log."""
    c.execute(
        "INSERT INTO audit (at, action, project_id, round, by, detail) VALUES (?,?,?,?,?,?)",
        (utc_now(), action, project_id, round, by,
         json.dumps(detail or {}, ensure_ascii=False, default=str)),
    )


def record_round(
    c: sqlite3.Connection,
    result: MatchResult,
    *,
    by: str | None,
    rematch: bool,
    resources: pd.DataFrame | None = None,
    extend: dict[str, str] | None = None,
    backups: int = N_BACKUPS,
    needs: pd.DataFrame | None = None,
    claimed: Sequence[int] = (),
    previous: Mapping[str, Mapping[str, str]] | None = None,
    snapshots: Mapping[str, pd.DataFrame] | None = None,
    recorded: Mapping[str, list[np.ndarray]] | None = None,
) -> tuple[int, int, int]:
    """Store ``result`` as a new round; returns (round, n_changed, n_new).

    ``extend`` maps need ids to in-progress projects that lost units to a
    dropped resource: their new assignments are added to the project,
    which keeps its status and its other assignments. ``needs`` are the need
    rows to store when they differ from the match's (a rematch stores claimed
    needs whole); ``claimed`` the ids of the claims' assignments, which stay
    where they are and so do not count as a change of their project.
    ``previous`` may hold the last round's lists as stored (``"needs"`` and
    ``"resources"``: id -> JSON text, :func:`.lists.list_texts`) when the caller
    read them in this transaction; they are read here otherwise.
    ``snapshots`` may hold the last round's lists as frames (:func:`.lists.read_snapshot`,
    read in this transaction); they are read here otherwise, and when the ledger
    has them the rows that changed are found on the frames (no texts needed).
    ``recorded`` may hold the live projects and assignments as read in this
    transaction (:attr:`.plan.LedgerState.recorded`); they are read here otherwise.
    """
    extend = extend or {}
    rnd = int(c.execute("SELECT coalesce(max(round), 0) + 1 FROM rounds").fetchone()[0])
    at = utc_now()
    options = result.options
    # The first round stores its whole lists, every later one what changed since the last.
    kind = "full" if rnd == 1 else "delta"
    c.execute("INSERT INTO rounds (round, created_at, options, match_options, lists)"
              " VALUES (?,?,?,?,?)", (rnd, at, options.to_json(), options.to_json(), kind))
    # rematch stores claimed needs whole (their claimed units were taken out of the solve).
    needs = result.district.needs if needs is None else needs
    # rematch stores full capacities: fixed projects are subtracted again each round.
    resources = result.district.resources if resources is None else resources
    lists: tuple[tuple[ListName, pd.DataFrame], ...] = (
        ("needs", needs), ("resources", resources))
    for table, frame in lists:
        texts = None
        snapshot = None
        if kind == "delta":
            snapshot = None if snapshots is None else snapshots.get(table)
            if snapshot is None:
                snapshot = read_snapshot(c, table, rnd - 1)
            texts = None if previous is None else previous.get(table)
            if texts is None and snapshot is None:
                texts = list_texts(c, table, rnd - 1)
        store_list(c, table, rnd, frame, texts, snapshot)
    projects, assign = recorded_frames(result)
    # Assignments in project (need id) order, each need's rows as the match listed them.
    by_need = as_text(assign["need_id"]).to_numpy(dtype=object)
    if not ascending(by_need):  # a stable sort of sorted ids would keep the order
        assign = assign.iloc[np.argsort(by_need, kind="stable")]
    a_need = as_text(assign["need_id"])
    # One read of the live projects and their assignments, not one query per need
    # (none when the caller read them in this transaction: ``recorded``).
    if recorded is None:
        recorded = read_rows(c).live()[2]
    k_need, k_pid, k_status = recorded["keys"]
    live: dict[str, tuple[str, str]] = dict(zip(k_need.tolist(),
                                                zip(k_pid.tolist(), k_status.tolist())))
    # The claims' assignments stay where they are: they do not make a project change.
    claimed_ids = np.array(sorted({int(k) for k in claimed}), dtype=np.int64)
    o_pid, o_rid, o_units, o_score, o_id = recorded["live"]
    # NULL (None) scores as NaN, which never compare equal: such projects are rewritten.
    # (An object array's None becomes NaN in astype; numbers keep their value.)
    old = [o_pid, o_rid, o_units.astype(np.int64), o_score.astype(np.float64),
           o_id.astype(np.int64)]
    if len(claimed_ids):
        mine = ~np.isin(old[4].astype(np.int64), claimed_ids)
        old = [col[mine] for col in old]
    # A project with an open claim is always rewritten: the claim's assignment ends
    # with the others, and rematch puts it back (claims.reapply); add_round releases it.
    held = {r[0] for r in c.execute("SELECT project_id FROM claims WHERE status = 'open'")}
    keeps = {need: v[0] for need, v in live.items()
             if v[1] == "not_started" and need not in extend}
    new_pid = _looked_up(a_need.to_numpy(dtype=object), keeps)
    mine = new_pid != None  # noqa: E711 (elementwise: the needs with a kept project)
    new = [new_pid[mine],
           as_text(assign["resource_id"]).to_numpy(dtype=object)[mine],
           assign["units"].to_numpy(dtype="int64")[mine],
           assign["score"].to_numpy(dtype="float64")[mine]]
    # A not-started project changed when its (resource, units) rows differ; it is
    # rewritten when that or a score differs (or its row does), else kept as it is.
    matched_pids = set(new[0].tolist())
    moved, rescored_any = _differing(old[:4], new, 3)
    changed_pids = moved & matched_pids
    rewritten = (rescored_any & matched_pids) | changed_pids
    # NaN scores never compare equal (nor does a missing one): such projects are rewritten.
    rewritten |= set(new[0][np.isnan(new[3])].tolist())
    names = ("community", "grid", "category", "demand", "assigned", "resources", "score")
    p_need = as_text(projects["need_id"])
    p_need_values = p_need.to_numpy(dtype=object)
    # What each of the match's needs is to the ledger: an extension of an in-progress
    # project, a not-started project (kept or rewritten), in progress (refused) or new.
    is_ext = is_in(p_need, extend)
    is_live = is_in(p_need, live) & ~is_ext
    status = np.array([live[n][1] for n in p_need_values[is_live].tolist()], dtype=object)
    is_ns = is_live.copy()
    is_ns[is_live] = status == "not_started"
    if (is_live & ~is_ns).any():
        need = str(p_need_values[is_live & ~is_ns][0])
        raise InputError(
            f"need {need!r} already has project {live[need][0]!r} in progress; "
            "use ProjectLedger.rematch, which keeps it fixed"
        )
    ns_pid = np.array([keeps[n] for n in p_need_values[is_ns].tolist()], dtype=object)
    # A not-started project's stored row against the new one, all rows at once; the
    # values compare as Python values (object arrays), as a tuple of them would.
    stored = recorded["projects"]
    at_row = pd.Index(stored[0], dtype=object).get_indexer(ns_pid)
    same = at_row >= 0
    pick = np.flatnonzero(is_ns)
    for k, name in enumerate(names, start=1):
        if not len(stored[k]):
            same[:] = False
            break
        new_values = np.empty(len(pick), dtype=object)
        new_values[:] = plain_values(projects[name].iloc[pick])
        same &= np.asarray(new_values == stored[k][np.where(same, at_row, 0)], dtype=bool)
    # Same resources, units and scores, same row: the round writes nothing for it.
    kept_mask = same & ~is_in(pd.Series(ns_pid, dtype=object), rewritten | held)
    kept_needs = p_need_values[pick[kept_mask]]
    kept: set[str] = set(kept_needs.tolist())
    n_kept = len(kept)
    pids: dict[str, str] = dict(zip(kept_needs.tolist(), ns_pid[kept_mask].tolist()))
    # Only the other projects go through the loop below: O(changes), not O(projects).
    write = np.ones(len(projects), dtype=bool)
    write[pick[kept_mask]] = False
    todo = np.flatnonzero(write)
    col = {name: plain_values(projects[name].iloc[todo]) for name in names}
    created: set[str] = set()

    def is_taken(pid: str) -> bool:
        return pid in created or c.execute(
            "SELECT 1 FROM projects WHERE project_id = ?", (pid,)).fetchone() is not None
    n_changed = n_new = 0
    rescored: set[str] = set()
    audits: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    creates: list[tuple[Any, ...]] = []
    ended: list[tuple[str]] = []
    enc = ENCODER.encode
    for need, comm, grid, cat, demand, assigned, res, score in zip(
        p_need_values[todo].tolist(), col["community"], col["grid"],
        col["category"], col["demand"], col["assigned"], col["resources"], col["score"],
    ):
        if need in extend:
            pid = extend[need]
            detail = f'{{"in_progress": true, "added": {enc(res)}}}'
            audits.append((at, "reassign", pid, rnd, by, detail))
        elif need in keeps:
            pid = keeps[need]
            changed = pid in changed_pids
            n_changed += changed
            if changed or pid in held:
                ended.append((pid,))
            else:
                # Same resources and units, other scores (a changed need, other
                # weights) or another row: its assignments are updated where they
                # are, round and backups kept.
                rescored.add(need)
            updates.append(
                (rnd, comm, grid, cat, demand, assigned, res, score, at, pid)
            )
            detail = f'{{"changed": {"true" if changed else "false"}, "resources": {enc(res)}}}'
            audits.append((at, "reassign", pid, rnd, by, detail))
        else:
            pid = "P-" + need
            if is_taken(pid):
                pid = f"{pid}-R{rnd}"
            created.add(pid)
            n_new += 1
            creates.append(
                (pid, rnd, rnd, need, comm, grid, cat, demand, assigned, res, score,
                 "not_started", at, at)
            )
            detail = f'{{"need_id": {enc(need)}, "resources": {enc(res)}}}'
            audits.append((at, "create", pid, rnd, by, detail))
        pids[need] = pid
    c.executemany("UPDATE assignments SET active = 0 WHERE project_id = ?", ended)
    c.executemany(
        "UPDATE projects SET updated_round=?, community=?, grid=?, category=?,"
        " demand=?, assigned=?, resources=?, score=?, updated_at=? WHERE project_id=?",
        updates,
    )
    c.executemany("INSERT INTO projects VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", creates)
    c.executemany(
        "INSERT INTO status_changes (project_id, from_status, to_status, by, note, at)"
        " VALUES (?,?,?,?,?,?)",
        [(row[0], None, "not_started", by, f"round {rnd}", at) for row in creates],
    )
    c.executemany(
        "INSERT INTO audit (at, action, project_id, round, by, detail) VALUES (?,?,?,?,?,?)",
        audits,
    )
    # Only the moved and new assignments are written: a kept project's stay active,
    # a rescored one's get their new score where they are.
    if rescored:
        mine = is_in(a_need, rescored)
        again = assign[mine]
        again_pid = [pids[n] for n in a_need[mine].tolist()]
        o_pid, o_rid, _, _, o_id = old
        pick = is_in(pd.Series(o_pid, dtype=object), set(again_pid))
        ids = {(p, r): int(k) for p, r, k in zip(o_pid[pick].tolist(), o_rid[pick].tolist(),
                                                 o_id[pick].tolist())}
        c.executemany(
            "UPDATE assignments SET score = ?, data = ? WHERE id = ?",
            zip(plain_values(again["score"]), json_lines(again),
                [ids[k] for k in zip(again_pid, again["resource_id"].astype(str).tolist())]),
        )
    if kept or rescored:
        assign = assign[~is_in(a_need, kept | rescored)]
        a_need = assign["need_id"].astype(str)
    c.executemany(
        "INSERT INTO assignments (project_id, round, need_id, resource_id, units,"
        " score, data) VALUES (?,?,?,?,?,?,?)",
        zip([pids[n] for n in a_need.tolist()], repeat(rnd), a_need.tolist(),
            assign["resource_id"].astype(str).tolist(), plain_values(assign["units"]),
            plain_values(assign["score"]), json_lines(assign)),
    )
    written = set(pids) - kept - rescored
    if backups and written:
        b = result.backups(backups, needs=written)
        b_need = b["need_id"].astype(str)
        c.executemany(
            "INSERT INTO backups VALUES (?,?,?,?,?,?,?,?,?)",
            zip(repeat(rnd), [pids[n] for n in b_need.tolist()], b_need.tolist(),
                b["resource_id"].astype(str).tolist(), plain_values(b["rank"]),
                b["backup_resource_id"].astype(str).tolist(),
                b["score"].astype(float).tolist(), b["distance"].astype(float).tolist(),
                plain_values(b["spare_units"])),
        )
    write_audit(c, "rematch" if rematch else "add_round", round=rnd, by=by,
                detail={"n_projects": len(projects), "n_new": n_new, "n_changed": n_changed,
                        "n_kept": n_kept, "n_rescored": len(rescored)})
    return rnd, n_changed, n_new


def recorded_frames(result: MatchResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The projects and assignments of ``result`` as the ledger records them.

    Scores are recorded without the stickiness bonus: the bonus is a planning
    device of :meth:`~matchcore.ProjectLedger.rematch` (it keeps projects in
    place), not a property of the match. An assignment's score is its edge's
    score as a match without an incumbent would give it (the weighted components,
    plus the continuity bonus when the round has one), bit for bit (scores not
    made of the components have the bonus taken off: ``score - stickiness``), and
    the assignments have no ``stickiness`` column; a project's score is
    ``Σ score·units`` of those scores, summed as :attr:`MatchResult.projects`
    sums. So a project that a rematch keeps in place reads back as the round
    that made it wrote it, and the rematch writes nothing for it.

    Examples
    --------
    >>> import matchcore as mc
    >>> r = mc.match(*mc.synthetic.tiny(), max_distance=2000)
    >>> projects, assignments = recorded_frames(r)
    >>> projects["score"].tolist() == r.projects["score"].tolist()
    True
    """
    from ..model.scoring import COMPONENTS, weighted_score

    projects = result.projects
    assign = result.assignments
    if "stickiness" not in assign.columns:
        return projects, assign
    bonus = assign["stickiness"].to_numpy(dtype=np.float64)
    sticky = np.flatnonzero(bonus != 0)
    assign = assign.drop(columns="stickiness")
    if not len(sticky):
        return projects, assign
    score = assign["score"].to_numpy(dtype=np.float64).copy()
    # The pipeline's formula (score_round): weighted components, then continuity.
    part = assign.iloc[sticky]
    if set(COMPONENTS) <= set(part.columns):
        base = weighted_score(part, result.options.weights)
        if "continuity" in part.columns:
            base = base + part["continuity"].to_numpy(dtype=np.float64)
    else:  # scores not made of the components (given edges): take the bonus off
        base = score[sticky] - bonus[sticky]
    score[sticky] = base
    assign = assign.assign(score=score)
    # The project score as MatchResult.projects sums it: rows per need, most units
    # first, then resource; the same order and the same groupby sum, other scores.
    g = result.graph
    used = np.flatnonzero(result.units > 0)
    i, j, u = g.need[used], g.resource[used], result.units[used]
    order = np.lexsort((j, -u, i))
    i = i[order]
    first = np.ones(len(i), dtype=bool)
    first[1:] = i[1:] != i[:-1]
    group = np.cumsum(first) - 1
    total = pd.Series((score * u)[order]).groupby(group).sum().to_numpy(dtype=float)
    projects = projects.assign(score=total)
    return projects, assign


def _looked_up(values: np.ndarray, mapping: Mapping[Any, Any]) -> np.ndarray:
    """``mapping[v]`` for each of ``values`` (None where missing), as an object array:
    one hash lookup per value in C (pandas' object index), not ``Series.map``."""
    out = np.full(len(values), None, dtype=object)
    if not mapping or not len(values):
        return out
    keys = np.empty(len(mapping), dtype=object)
    keys[:] = list(mapping)
    got = np.empty(len(mapping), dtype=object)
    got[:] = list(mapping.values())
    at = pd.Index(keys, dtype=object).get_indexer(pd.Index(values, dtype=object))
    hit = at >= 0
    out[hit] = got[at[hit]]
    return out


def _differing(
    old: Sequence[np.ndarray], new: Sequence[np.ndarray], n_first: int
) -> tuple[set[Any], set[Any]]:
    """The groups (first column) whose multisets of rows differ between ``old`` and
    ``new``: on the first ``n_first`` columns, and on all of them.

    Each row is coded as one integer (columns factorised one after the other; floats
    by their bits, so a score compares exactly), then counted +1 in ``old`` and -1
    in ``new``: a key whose count is not 0 is a row of one side only.
    """
    n_old = len(old[0])
    if not n_old + len(new[0]):
        return set(), set()
    groups = np.concatenate([np.asarray(old[0], dtype=object), np.asarray(new[0], dtype=object)])
    sign = np.concatenate([np.ones(n_old), -np.ones(len(new[0]))])
    key = np.zeros(n_old + len(new[0]), dtype=np.int64)
    found: list[set[Any]] = []
    for k, (a, b) in enumerate(zip(old, new), start=1):
        both = np.concatenate([np.asarray(a), np.asarray(b)])
        if both.dtype.kind == "f":
            both = both.astype(np.float64).view(np.int64)
        codes, uniques = pd.factorize(both)
        key, _ = pd.factorize(key * max(len(uniques), 1) + codes)
        if k == n_first or k == len(old):
            counts = np.bincount(key, weights=sign)
            found.append(set(groups[counts[key] != 0].tolist()))
    return found[0], found[-1]


def refresh_project(c: sqlite3.Connection, pid: str, rnd: int, at: str) -> None:
    """Recompute an in-progress project's assigned, resources and score from its
    active assignments."""
    rows = c.execute(
        "SELECT resource_id, units, score FROM assignments WHERE project_id = ?"
        " AND active = 1 ORDER BY units DESC, resource_id", (pid,),
    ).fetchall()
    c.execute(
        "UPDATE projects SET updated_round=?, assigned=?, resources=?, score=?, updated_at=?"
        " WHERE project_id=?",
        (rnd, sum(int(u) for _, u, _ in rows), ";".join(r for r, _, _ in rows),
         sum(float(s or 0.0) * int(u) for _, u, s in rows), at, pid),
    )
    write_audit(c, "reassign", project_id=pid, round=rnd,
                detail={"in_progress": True, "resources": [r for r, _, _ in rows]})


def _capacities(resources: pd.DataFrame) -> dict[str, int]:
    """Resource id -> capacity of a stored resource list (rows without one left out)."""
    if not len(resources) or "capacity" not in resources.columns:
        return {}
    numbers = pd.to_numeric(resources["capacity"], errors="coerce")
    ids = as_text(resources["resource_id"]).to_numpy(dtype=object)
    if numbers.dtype.kind in "iu" and not numbers.isna().any():  # exact integers
        return dict(zip(ids.tolist(), numbers.tolist()))
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    ok = ~np.isnan(values)
    if not (np.abs(values[ok]) < 2.0**62).all():
        # An infinite or huge capacity: int() as it always was (inf is refused).
        return {r: int(v) for r, v in zip(ids.tolist(), values.tolist()) if not math.isnan(v)}
    # int(v) truncates towards zero, as astype(int64) does for finite values.
    return dict(zip(ids[ok].tolist(), values[ok].astype(np.int64).tolist()))


def check_capacity(
    rnd: int, capacity: Mapping[str, int], resources: Collection[str], rows: LiveRows
) -> None:
    """Refuse (raise) a round that gives a resource more than its capacity.

    For every resource that got units in round ``rnd`` (``resources``, those of
    the round's match): the active units of its not-started, in-progress and
    completed projects (``rows``, the live rows as the round leaves them:
    :func:`finish_round`) must not exceed the capacity the round lists for it
    (``capacity``: resource id -> units, the round's resource list). A resource
    that fixed projects already overfill (its capacity was lowered) gets no new
    units, so it is not checked.
    """
    over = overfilled(rows, capacity, resources)
    if over:
        listed = "; ".join(f"{r!r} would give {u} units of capacity {cap}" for r, u, cap in over)
        raise MatchcoreError(
            f"refusing to record round {rnd}: it would overfill resources ({listed}); "
            "nothing was written"
        )


def finish_round(c: sqlite3.Connection, before: LiveRows | None) -> LiveRows:
    """The live rows as the round's writes leave them (``before``, read at its start,
    patched with the projects it touched), kept as the ledger's snapshot
    (:func:`.live.write_rows`); the last write of a round's transaction."""
    after = rows_after(c, before)
    write_rows(c, after, stamp(c))
    return after


def record_rematch(
    c: sqlite3.Connection,
    plan: RematchPlan,
    result: MatchResult,
    preview: RematchPreview,
    *,
    by: str | None,
    backups: int,
    previous: Mapping[str, Mapping[str, str]] | None = None,
    snapshots: Mapping[str, pd.DataFrame] | None = None,
    recorded: Mapping[str, list[np.ndarray]] | None = None,
    rows: LiveRows | None = None,
) -> tuple[int, int, int, int]:
    """Record a planned rematch; returns (round, n_changed, n_new, n_cancelled).

    The plan's open claims stay: their assignments are active again after the
    round is recorded (on projects whose demand is the need's whole demand),
    and a project held only by a claim loses its other units but is not
    cancelled. The capacity check runs last, so it counts the claimed units.
    ``previous`` are the last round's lists as the plan read them
    (:attr:`.plan.LedgerState.lists`, same transaction or same version stamp),
    ``snapshots`` its frames when the plan read them from the snapshot, ``recorded``
    the live rows it read (:attr:`.plan.LedgerState.recorded`, and ``rows`` those
    rows whole: :attr:`.plan.LedgerState.rows`).
    """
    extend = plan.extend
    claims = plan.claims
    claimed = [int(k) for k in claims["assignment_id"]]
    rnd, n_changed, n_new = record_round(
        c, result, by=by, rematch=True, resources=plan.full_resources, extend=extend,
        backups=backups, needs=plan.stored_needs, claimed=claimed, previous=previous,
        snapshots=snapshots, recorded=recorded,
    )
    at = utc_now()
    if len(claims):
        # Held by a claim but not matched again: the project's other units end.
        matched = set(result.projects["need_id"].astype(str))
        for pid in sorted(set(claims.loc[~claims["need_id"].astype(str).isin(matched),
                                         "project_id"])):
            marks = ",".join("?" * len(claimed))
            ended = c.execute(
                f"UPDATE assignments SET active = 0 WHERE project_id = ? AND active = 1"
                f" AND id NOT IN ({marks})", (pid, *claimed),
            ).rowcount
            n_changed += ended > 0
        claims_.reapply(c, write_audit, rnd, at, held=claims)
    for rid in plan.returned:
        c.execute("UPDATE dropped_resources SET returned_round = ? WHERE resource_id = ?"
                  " AND returned_round IS NULL", (rnd, rid))
        write_audit(c, "resource_returned", round=rnd, by=by,
                    detail={"resource_id": rid, "dropped_in_round": plan.gone[rid]})
    lost = plan.lost
    for rid in plan.dropped:
        mine = lost[lost["resource_id"] == rid]
        c.execute(
            "INSERT INTO dropped_resources (resource_id, round, at, by, n_projects)"
            " VALUES (?,?,?,?,?)", (rid, rnd, at, by, len(mine)),
        )
        write_audit(c, "resource_dropped", round=rnd, by=by,
                    detail={"resource_id": rid, "projects": sorted(set(mine["project_id"]))})
    for pid, rid, units in zip(lost["project_id"], lost["resource_id"], lost["units"]):
        c.execute("UPDATE assignments SET active = 0 WHERE project_id = ?"
                  " AND resource_id = ? AND active = 1", (pid, rid))
        write_audit(c, "assignment_ended", project_id=pid, round=rnd, by=by,
                    detail={"resource_id": rid, "units": int(units),
                            "why": "resource dropped out"})
    for pid in sorted(set(extend.values())):
        refresh_project(c, pid, rnd, at)
    cancelled = preview.cancellations["project_id"].tolist()
    c.executemany("UPDATE projects SET status='cancelled', updated_at=?,"
                  " updated_round=? WHERE project_id=?",
                  [(at, rnd, pid) for pid in cancelled])
    c.executemany("UPDATE assignments SET active = 0 WHERE project_id = ?",
                  [(pid,) for pid in cancelled])
    c.executemany(
        "INSERT INTO status_changes (project_id, from_status, to_status, by, note, at)"
        " VALUES (?,?,?,?,?,?)",
        [(pid, "not_started", "cancelled", by, f"rematch round {rnd}: no units", at)
         for pid in cancelled],
    )
    detail = ENCODER.encode(
        {"from": "not_started", "to": "cancelled", "note": "rematch: no units"}
    )
    c.executemany(
        "INSERT INTO audit (at, action, project_id, round, by, detail) VALUES (?,?,?,?,?,?)",
        [(at, "set_status", pid, rnd, by, detail) for pid in cancelled],
    )
    if plan.dropped:
        write_audit(c, "rematch_dropped", round=rnd, by=by,
                    detail={"dropped_resources": list(plan.dropped),
                            "n_affected": len(plan.affected),
                            "n_reassigned": preview.n_reassigned,
                            "n_to_backup": preview.n_to_backup})
    # The round's live rows (kept as the next snapshot) are what capacity is checked on.
    after = finish_round(c, rows)
    check_capacity(rnd, _capacities(plan.full_resources),
                   set(result.assignments["resource_id"].astype(str).tolist()), after)
    return rnd, n_changed, n_new, len(cancelled)
