"""Claims (共建项目认领): a provider takes on a need, and the match keeps it so.

A claim is a fixed assignment — need, resource, units — recorded on the need's
not-started project (created when the need had none). Every later
:meth:`~matchcore.ledger.ProjectLedger.rematch` treats an open claim like
in-progress work: its units are subtracted from the resource's capacity and
from the need's demand, so the solve cannot move them. A claim ends when it is
released, when its project starts (``started``) or is cancelled, when its
resource drops out, or when it expires: ``claim_expiry_days`` days after it was
made without the project starting. ``claim_limit`` caps the open claims of one
provider (Crisis Cleanup's claim limit, HOT Tasking Manager's lock timeout).

The functions here work on an open SQLite connection (inside the caller's
transaction) and the ledger's audit helper; ``ProjectLedger`` delegates to
them. Every time is an explicit ``as_of`` clock.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import InputError
from .lists import ListName, list_frame
from .schema import ENCODER, parse_time, utc_now

if TYPE_CHECKING:  # pragma: no cover
    from ..options import MatchOptions

__all__ = [
    "CLAIM_STATUSES",
    "SETTINGS",
    "Audit",
    "capacity_left",
    "claim",
    "claims_table",
    "get_settings",
    "last_round",
    "open_for_claims",
    "reapply",
    "release",
    "round_rows",
    "set_settings",
    "settle",
]

#: The ledger's audit helper: ``audit(conn, action, *, project_id, round, by, detail)``.
Audit = Callable[..., None]

#: Settings of the claiming rules and their defaults (None: no limit, never expires).
SETTINGS: dict[str, Any] = {"claim_limit": None, "claim_expiry_days": None}

#: What a claim can be: open, or how it ended.
CLAIM_STATUSES: dict[str, str] = {
    "open": "认领中",
    "started": "已开工",
    "released": "已释放",
    "expired": "已过期",
    "cancelled": "已取消",
}

CLAIM_COLUMNS = [
    "claim_id", "need_id", "resource_id", "provider", "project_id", "round", "units", "by",
    "claimed_at", "recorded_at", "forced", "flag", "status", "closed_at", "closed_by", "note",
]


# ------------------------------------------------------------------ settings
def get_settings(c: sqlite3.Connection) -> dict[str, Any]:
    """The ledger's settings (:data:`SETTINGS` keys), stored ones over the defaults."""
    out = dict(SETTINGS)
    for key, value in c.execute("SELECT key, value FROM meta WHERE key LIKE 'setting.%'"):
        out[key.removeprefix("setting.")] = json.loads(value)
    return out


def _check_setting(key: str, value: Any) -> Any:
    if key not in SETTINGS:
        raise InputError(f"unknown ledger setting {key!r}; expected one of {sorted(SETTINGS)}")
    if value is None:
        return None
    if key == "claim_limit":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"`claim_limit` must be an integer >= 1 or None; got {value!r}")
        return int(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise InputError(f"`claim_expiry_days` must be a number > 0 or None; got {value!r}")
    return float(value)


def set_settings(
    c: sqlite3.Connection, audit: Audit, *, by: str | None = None, **values: Any
) -> dict[str, Any]:
    """Store settings (None restores a default); returns all settings."""
    checked = {k: _check_setting(k, v) for k, v in values.items()}
    for key, value in checked.items():
        if value is None:
            c.execute("DELETE FROM meta WHERE key = ?", (f"setting.{key}",))
        else:
            c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                      (f"setting.{key}", json.dumps(value)))
    if checked:
        audit(c, "settings", by=by, detail=checked)
    return get_settings(c)


# ------------------------------------------------------------------ the last round
def last_round(c: sqlite3.Connection) -> int:
    """The last round's number; InputError when there is none."""
    rnd = c.execute("SELECT max(round) FROM rounds").fetchone()[0]
    if rnd is None:
        raise InputError("the ledger has no round yet; call add_round first")
    return int(rnd)


def round_rows(c: sqlite3.Connection, table: ListName, key: str, rnd: int) -> pd.DataFrame:
    """The needs or resources of round ``rnd`` as stored (``table`` is ours, not input)."""
    frame = list_frame(c, table, rnd)
    if key not in frame.columns:
        frame[key] = pd.Series(dtype=object)
    frame[key] = frame[key].astype(str)
    return frame


def _units(frame: pd.DataFrame, column: str, default: int = 1) -> pd.Series:
    """A stored integer column (``demand``, ``capacity``) as int64, missing ones ``default``."""
    if column not in frame.columns:
        return pd.Series(default, index=frame.index, dtype="int64")
    return pd.to_numeric(frame[column], errors="coerce").fillna(default).astype("int64")


def _gone(c: sqlite3.Connection) -> set[str]:
    return {r[0] for r in c.execute(
        "SELECT resource_id FROM dropped_resources WHERE returned_round IS NULL")}


def capacity_left(c: sqlite3.Connection, resources: pd.DataFrame) -> pd.Series:
    """Each resource's capacity less the active units of projects not cancelled
    (0 for a resource that dropped out), indexed by resource id."""
    used = dict(c.execute(
        "SELECT a.resource_id, sum(a.units) FROM assignments a JOIN projects p"
        " USING (project_id) WHERE a.active = 1 AND p.status != 'cancelled'"
        " GROUP BY a.resource_id"
    ).fetchall())
    ids = resources["resource_id"].astype(str)
    left = _units(resources, "capacity").to_numpy()
    left = left - ids.map(used).fillna(0).astype("int64").to_numpy()
    out = pd.Series(left, index=pd.Index(ids, name="resource_id"), dtype="int64")
    out[out.index.isin(_gone(c))] = 0
    return out.clip(lower=0)


def _latest_project(c: sqlite3.Connection, need_id: str) -> tuple[str, str] | None:
    row = c.execute(
        "SELECT project_id, status FROM projects WHERE need_id = ?"
        " ORDER BY round DESC, created_at DESC LIMIT 1", (need_id,)
    ).fetchone()
    return None if row is None else (row[0], row[1])


def _refresh(c: sqlite3.Connection, pid: str, at: str, demand: int | None = None) -> None:
    """A project's assigned, resources and score from its active assignments."""
    rows = c.execute(
        "SELECT resource_id, units, score FROM assignments WHERE project_id = ?"
        " AND active = 1 ORDER BY units DESC, resource_id", (pid,),
    ).fetchall()
    names = list(dict.fromkeys(r for r, _, _ in rows))
    c.execute(
        "UPDATE projects SET assigned=?, resources=?, score=?, updated_at=?,"
        " demand=coalesce(?, demand) WHERE project_id=?",
        (sum(int(u) for _, u, _ in rows), ";".join(names),
         sum(float(s or 0.0) * int(u) for _, u, s in rows), at, demand, pid),
    )


# ------------------------------------------------------------------ claiming
def _pair_check(
    need: pd.DataFrame, resource: pd.DataFrame, units: int, options: MatchOptions
) -> tuple[str | None, float, dict[str, Any]]:
    """(None or the unmet reason, score per unit, the assignment row) of one pair,
    by matching it alone under the round's options: the same rules as any edge."""
    from ..pipeline import match

    result = match(need.assign(demand=units), resource.assign(capacity=units),
                   options.replace(stickiness=0.0))
    if len(result.assignments):
        row = json.loads(result.assignments.iloc[[0]].to_json(
            orient="records", date_format="iso", force_ascii=False))[0]
        return None, float(result.assignments["score"].to_numpy(float)[0]), row
    reason = str(result.unmet["reason"].iat[0]) if len(result.unmet) else "outbid"
    return reason, 0.0, {"need_id": need["need_id"].iat[0],
                         "resource_id": resource["resource_id"].iat[0], "units": units}


def _provider(resource: pd.DataFrame) -> str:
    value = resource["provider"].iat[0] if "provider" in resource.columns else None
    return str(value) if isinstance(value, str) and value else str(
        resource["resource_id"].iat[0])


def claim(
    c: sqlite3.Connection,
    audit: Audit,
    options: MatchOptions,
    need_id: str,
    resource_id: str,
    *,
    units: int | None = None,
    by: str | None = None,
    force: bool = False,
    as_of: Any = None,
) -> int:
    """Record a claim inside the caller's transaction; returns its ``claim_id``.

    See :meth:`matchcore.ledger.ProjectLedger.claim`.
    """
    from ..result import REASONS

    t = parse_time(as_of)
    at = t.isoformat(timespec="microseconds")
    settle(c, audit, as_of=t, by=by)
    rnd = last_round(c)
    need_id, resource_id = str(need_id).strip(), str(resource_id).strip()
    needs = round_rows(c, "needs", "need_id", rnd)
    resources = round_rows(c, "resources", "resource_id", rnd)
    need = needs[needs["need_id"] == need_id].reset_index(drop=True)
    resource = resources[resources["resource_id"] == resource_id].reset_index(drop=True)
    if need.empty:
        raise InputError(f"cannot claim need {need_id!r}: not a need of round {rnd}")
    if resource.empty or resource_id in _gone(c):
        raise InputError(
            f"cannot claim need {need_id!r} for resource {resource_id!r}: not an available "
            f"resource of round {rnd}"
        )
    latest = _latest_project(c, need_id)
    if latest is not None and latest[1] in ("in_progress", "completed"):
        raise InputError(
            f"cannot claim need {need_id!r}: its project {latest[0]!r} is {latest[1]!r}"
        )
    pid = latest[0] if latest is not None and latest[1] == "not_started" else None
    dup = c.execute("SELECT claim_id FROM claims WHERE status = 'open' AND need_id = ?"
                    " AND resource_id = ?", (need_id, resource_id)).fetchone()
    if dup is not None:
        raise InputError(
            f"need {need_id!r} is already claimed for resource {resource_id!r} "
            f"(claim {dup[0]}); release it first"
        )
    provider = _provider(resource)
    limit = get_settings(c)["claim_limit"]
    if limit is not None:
        n_open = c.execute("SELECT count(*) FROM claims WHERE status = 'open' AND provider = ?",
                           (provider,)).fetchone()[0]
        if n_open >= limit:
            raise InputError(
                f"provider {provider!r} has {n_open} open claim(s), the limit "
                f"(claim_limit={limit}); release one or wait for one to start"
            )
    demand = int(_units(need, "demand").to_numpy()[0])
    assigned = own = 0
    if pid is not None:
        for rid, u in c.execute("SELECT resource_id, units FROM assignments WHERE"
                                " project_id = ? AND active = 1", (pid,)):
            assigned += int(u)
            own += int(u) if rid == resource_id else 0
    cap = int(capacity_left(c, resource).to_numpy()[0])
    # Units this resource already has on the project become the claim's.
    room_need, room_res = demand - assigned + own, cap + own
    if units is None:
        units = min(room_need, room_res)
    elif isinstance(units, bool) or not isinstance(units, int) or units < 1:
        raise InputError(f"`units` must be an integer >= 1 or None; got {units!r}")
    if units < 1 or units > room_need:
        raise InputError(
            f"cannot claim {units} unit(s) of need {need_id!r}: {room_need} of its {demand} "
            "unit(s) are open to this resource (the rest are assigned)"
        )
    if units > room_res:
        raise InputError(
            f"cannot claim {units} unit(s) of resource {resource_id!r} for need {need_id!r}: "
            f"{room_res} unit(s) of its capacity are left"
        )
    reason, score, row = _pair_check(need, resource, units, options)
    if reason is not None and not force:
        raise InputError(
            f"resource {resource_id!r} cannot serve need {need_id!r} under round {rnd}'s "
            f"options: {reason} ({REASONS.get(reason, reason)}); pass force=True to record "
            "the claim anyway (it is flagged)"
        )
    if pid is None:
        pid = _new_project_id(c, need_id, rnd)
        first = need.iloc[0]
        c.execute(
            "INSERT INTO projects (project_id, round, updated_round, need_id, community, grid,"
            " category, demand, assigned, resources, score, status, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?,?,0,'',0.0,'not_started',?,?)",
            (pid, rnd, rnd, need_id, _text(first.get("community")), _text(first.get("grid")),
             _text(first.get("category")), demand, at, at),
        )
        c.execute(
            "INSERT INTO status_changes (project_id, from_status, to_status, by, note, at)"
            " VALUES (?,?,?,?,?,?)",
            (pid, None, "not_started", by, f"claimed for {resource_id}", at),
        )
        audit(c, "create", project_id=pid, round=rnd, by=by,
              detail={"need_id": need_id, "claimed": resource_id})
    if own:
        # The resource's units on the project become the claim's; any it does not
        # claim stay as an ordinary (unfixed) assignment.
        old = c.execute("SELECT score, data FROM assignments WHERE project_id = ? AND"
                        " resource_id = ? AND active = 1 LIMIT 1", (pid, resource_id)).fetchone()
        c.execute("UPDATE assignments SET active = 0 WHERE project_id = ? AND resource_id = ?"
                  " AND active = 1", (pid, resource_id))
        if own > units:
            c.execute(
                "INSERT INTO assignments (project_id, round, need_id, resource_id, units, score,"
                " data) VALUES (?,?,?,?,?,?,?)",
                (pid, rnd, need_id, resource_id, own - units, old[0], old[1]),
            )
    cur = c.execute(
        "INSERT INTO assignments (project_id, round, need_id, resource_id, units, score, data)"
        " VALUES (?,?,?,?,?,?,?)",
        (pid, rnd, need_id, resource_id, units, score, ENCODER.encode({**row, "units": units})),
    )
    _refresh(c, pid, at)
    cur = c.execute(
        "INSERT INTO claims (need_id, resource_id, provider, project_id, assignment_id, round,"
        " units, by, claimed_at, recorded_at, forced, flag)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (need_id, resource_id, provider, pid, cur.lastrowid, rnd, units, by, at, utc_now(),
         int(reason is not None), reason),
    )
    claim_id = int(cur.lastrowid or 0)
    audit(c, "claim", project_id=pid, round=rnd, by=by,
          detail={"claim_id": claim_id, "need_id": need_id, "resource_id": resource_id,
                  "units": units, "forced": reason is not None, "flag": reason})
    return claim_id


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _new_project_id(c: sqlite3.Connection, need_id: str, rnd: int) -> str:
    taken = {r[0] for r in c.execute("SELECT project_id FROM projects WHERE need_id = ?",
                                     (need_id,))}
    pid, k = f"P-{need_id}", 1
    if pid in taken:
        pid = f"P-{need_id}-R{rnd}"
    while pid in taken:
        k += 1
        pid = f"P-{need_id}-R{rnd}-{k}"
    return pid


def release(
    c: sqlite3.Connection,
    audit: Audit,
    key: int | str,
    *,
    by: str | None = None,
    note: str | None = None,
    as_of: Any = None,
    status: str = "released",
    end_assignment: bool = True,
) -> list[int]:
    """End the open claim ``key`` (a claim id, or a need id: all its open claims).

    Its assignment ends (the need goes back to the claiming board) unless
    ``end_assignment`` is False. Returns the claim ids ended.
    """
    at = parse_time(as_of).isoformat(timespec="microseconds")
    if isinstance(key, int) and not isinstance(key, bool):
        rows = c.execute("SELECT claim_id, project_id, assignment_id, round FROM claims"
                         " WHERE claim_id = ? AND status = 'open'", (key,)).fetchall()
    else:
        rows = c.execute("SELECT claim_id, project_id, assignment_id, round FROM claims"
                         " WHERE need_id = ? AND status = 'open'", (str(key),)).fetchall()
    if not rows:
        raise InputError(f"no open claim {key!r} (give a claim id or a need id)")
    for claim_id, pid, aid, rnd in rows:
        c.execute("UPDATE claims SET status = ?, closed_at = ?, closed_by = ?, note = ?"
                  " WHERE claim_id = ?", (status, at, by, note, claim_id))
        if end_assignment:
            c.execute("UPDATE assignments SET active = 0 WHERE id = ?", (aid,))
            _refresh(c, pid, at)
        audit(c, "claim_" + status, project_id=pid, round=rnd, by=by,
              detail={"claim_id": claim_id, "note": note})
    return [int(r[0]) for r in rows]


def settle(
    c: sqlite3.Connection,
    audit: Audit,
    *,
    as_of: Any = None,
    by: str | None = None,
    dropped: list[str] | tuple[str, ...] = (),
) -> None:
    """Bring open claims up to date at ``as_of``: started or cancelled with their
    project, released when their assignment was replaced (``add_round``) or their
    resource dropped out, expired after ``claim_expiry_days`` without starting."""
    t = parse_time(as_of)
    days = get_settings(c)["claim_expiry_days"]
    rows = c.execute(
        "SELECT k.claim_id, k.resource_id, k.claimed_at, p.status, a.active FROM claims k"
        " JOIN projects p USING (project_id) LEFT JOIN assignments a ON a.id = k.assignment_id"
        " WHERE k.status = 'open' ORDER BY k.claim_id"
    ).fetchall()
    for claim_id, rid, claimed_at, status, active in rows:
        if status in ("in_progress", "completed"):
            release(c, audit, claim_id, by=by, note=f"project {status}", as_of=t,
                    status="started", end_assignment=False)
        elif status == "cancelled":
            release(c, audit, claim_id, by=by, note="project cancelled", as_of=t,
                    status="cancelled", end_assignment=False)
        elif rid in dropped:
            # The rematch that drops the resource ends the assignment and re-matches.
            release(c, audit, claim_id, by=by, note="resource dropped out", as_of=t,
                    end_assignment=False)
        elif not active:
            release(c, audit, claim_id, by=by, note="assignment replaced by a new round",
                    as_of=t, end_assignment=False)
        elif days is not None and parse_time(claimed_at) + timedelta(days=days) <= t:
            release(c, audit, claim_id, by=by, as_of=t, status="expired",
                    note=f"not started within {days:g} days")


# ------------------------------------------------------------------ in rematch
def reapply(
    c: sqlite3.Connection, audit: Audit, rnd: int, at: str, held: pd.DataFrame | None = None
) -> None:
    """After a rematch recorded round ``rnd``: the open claims' assignments stay
    active on their projects, whose demand is the need's whole demand again.

    ``held`` are the claims the rematch kept fixed (claim_id, project_id,
    assignment_id, need_id: the plan's); every open claim when None.
    """
    needs = round_rows(c, "needs", "need_id", rnd)
    demand = dict(zip(needs["need_id"], _units(needs, "demand").tolist()))
    if held is None:
        rows = c.execute("SELECT claim_id, project_id, assignment_id, need_id FROM claims"
                         " WHERE status = 'open' ORDER BY claim_id").fetchall()
    else:
        rows = list(zip(held["claim_id"], held["project_id"], held["assignment_id"],
                        held["need_id"]))
    for claim_id, pid, aid, need_id in rows:
        c.execute("UPDATE assignments SET active = 1 WHERE id = ?", (int(aid),))
        full = demand.get(str(need_id))
        _refresh(c, pid, at, None if full is None else int(full))
        c.execute("UPDATE projects SET updated_round = ? WHERE project_id = ?", (rnd, pid))
        audit(c, "claim_kept", project_id=pid, round=rnd, detail={"claim_id": int(claim_id)})


# ------------------------------------------------------------------ views
def claims_table(c: sqlite3.Connection, status: str | None = None) -> pd.DataFrame:
    """The claims, every one or those of one status (:data:`CLAIM_STATUSES`)."""
    if status is not None and status not in CLAIM_STATUSES:
        raise InputError(f"`status` must be one of {list(CLAIM_STATUSES)}; got {status!r}")
    sql = f"SELECT {', '.join(CLAIM_COLUMNS)} FROM claims"
    args: tuple[Any, ...] = ()
    if status is not None:
        sql += " WHERE status = ?"
        args = (status,)
    frame = pd.DataFrame(c.execute(sql + " ORDER BY claim_id", args).fetchall(),
                         columns=CLAIM_COLUMNS)
    frame["forced"] = frame["forced"].astype(bool)
    return frame


def _funnel_reason(funnel: pd.DataFrame) -> pd.Series:
    reason = pd.Series("outbid", index=funnel.index, dtype=object)
    for stage, code in (("skills", "skills_missing"), ("time_overlap", "no_time_overlap"),
                        ("in_reach", "out_of_reach"), ("compatible", "no_compatible_resource")):
        reason[funnel[stage].to_numpy() == 0] = code
    return reason


OPEN_COLUMNS = ["need_id", "community", "grid", "category", "priority", "demand",
                "units_open", "reason", "n_resources", "resources", "providers"]


def open_for_claims(c: sqlite3.Connection, options: MatchOptions) -> pd.DataFrame:
    """The claiming board: the last round's needs with units no project holds.

    See :meth:`matchcore.ledger.ProjectLedger.open_for_claims`.
    """
    from ..model.candidates import CandidateGraph, build_candidates

    rnd = last_round(c)
    needs = round_rows(c, "needs", "need_id", rnd)
    resources = round_rows(c, "resources", "resource_id", rnd)
    if needs.empty:
        return pd.DataFrame(columns=OPEN_COLUMNS)
    held_units: dict[str, int] = {}
    settled: set[str] = set()
    for need_id, status, units in c.execute(
        "SELECT p.need_id, p.status, coalesce((SELECT sum(units) FROM assignments a WHERE"
        " a.project_id = p.project_id AND a.active = 1), 0) FROM projects p"
        " WHERE p.status != 'cancelled'"
    ):
        if status in ("in_progress", "completed"):
            settled.add(need_id)
        else:
            held_units[need_id] = held_units.get(need_id, 0) + int(units)
    demand = _units(needs, "demand")
    open_units = demand - needs["need_id"].map(held_units).fillna(0).astype("int64")
    keep = (open_units > 0) & ~needs["need_id"].isin(settled)
    board = needs[keep].assign(units_open=open_units[keep]).reset_index(drop=True)
    if board.empty:
        return pd.DataFrame(columns=OPEN_COLUMNS)
    def graph(resources: pd.DataFrame) -> CandidateGraph:
        return build_candidates(work, resources, taxonomy=options.taxonomy,
                                max_distance=options.max_distance, scope=options.scope)

    work = board.drop(columns=["units_open"])
    reason = _funnel_reason(graph(resources).funnel)
    left = capacity_left(c, resources)
    avail = resources[resources["resource_id"].map(left).fillna(0).to_numpy() > 0]
    edges = graph(avail).to_frame() if len(avail) else pd.DataFrame(
        columns=["need_id", "resource_id", "distance"])
    names = dict(zip(resources["resource_id"], resources["provider"].where(
        resources["provider"].notna(), resources["resource_id"])
        if "provider" in resources.columns else resources["resource_id"]))
    edges = edges.sort_values(["need_id", "distance", "resource_id"])
    by_need = {n: g["resource_id"].astype(str).tolist() for n, g in edges.groupby("need_id")}
    lists = [by_need.get(n, []) for n in board["need_id"]]
    out = pd.DataFrame({
        "need_id": board["need_id"],
        "community": board.get("community"),
        "grid": board.get("grid"),
        "category": board.get("category"),
        "priority": pd.to_numeric(board.get("priority", 3), errors="coerce"),
        "demand": demand[keep].to_numpy(),
        "units_open": board["units_open"].astype("int64"),
        "reason": board["need_id"].map(reason).to_numpy(),
        "n_resources": [len(v) for v in lists],
        "resources": [";".join(v) for v in lists],
        "providers": [";".join(dict.fromkeys(str(names[r]) for r in v)) for v in lists],
    })
    return out.sort_values(["priority", "need_id"], ascending=[False, True],
                           kind="stable").reset_index(drop=True)
