"""Rematch planning: what the next round matches and what it will change, from frames only.

:func:`plan_rematch` turns a :class:`LedgerState` (what the ledger holds, read
in one snapshot by :class:`~matchcore.ledger.ProjectLedger`) and the lists
being added into a :class:`RematchPlan`: the needs to match, the resources
with the capacity they have left, the incumbent pairs, the in-progress
projects to extend and the assignments lost to dropped resources. Open claims
(:mod:`.claims`) are fixed like in-progress work: their units come off the
needs' demand and the resources' capacity, and the claimed needs are recorded
whole.
:func:`preview_rematch` compares a plan with its match result: the projects
that move, the new ones, the cancellations. Nothing here touches SQLite, so
both are tested on frames alone and a dry run is the same code as a real run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

from ..errors import InputError
from .schema import LIVE_COLUMNS, as_text, frame_from_records, is_in

if TYPE_CHECKING:  # pragma: no cover
    from ..result import MatchResult
    from .live import LiveRows

__all__ = [
    "CLAIM_COLUMNS",
    "LIVE_COLUMNS",
    "PREVIEW_FRAMES",
    "LedgerState",
    "RematchPlan",
    "RematchPreview",
    "less_claimed",
    "normalize_dropped",
    "plan_rematch",
    "preview_rematch",
]

#: Columns of :attr:`LedgerState.claims` (the open claims).
CLAIM_COLUMNS = ["claim_id", "need_id", "resource_id", "project_id", "assignment_id", "units"]


def _frame(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


@dataclass(frozen=True)
class LedgerState:
    """What a rematch reads from the ledger, as plain frames (one consistent snapshot).

    Attributes
    ----------
    next_round : int
        The number the new round will get.
    needs, resources : DataFrame
        The last round's needs and resources as stored (full capacities).
    projects : DataFrame
        project_id, need_id, status of every not-started and in-progress project.
    live : DataFrame
        Their active assignments: project_id, need_id, resource_id, units,
        round, status.
    used : dict
        Units held per resource by in-progress and completed projects.
    gone : dict
        Resources that dropped out and did not return: id -> round dropped.
    settled : frozenset of str
        Needs whose latest project is in progress, completed or cancelled.
    need_rows : DataFrame
        The last recorded row of each need whose in-progress project has
        units on a resource being dropped.
    backups : DataFrame
        need_id, resource_id (lost), project_id, round, backup_resource_id
        recorded for the assignments on the resources being dropped, by rank.
    claims : DataFrame
        The open claims on not-started projects (:mod:`.claims`), settled
        before the read: claim_id, need_id, resource_id, project_id,
        assignment_id, units. They are fixed like in-progress work.
    stamp : tuple of int
        The ledger's version stamp when this was read.
    lists : dict
        The last round's lists as stored, ``"needs"`` and ``"resources"``: id ->
        the row's JSON text (:func:`matchcore.ledger.lists.list_texts`); the next
        round stores the rows that differ. Empty when not read.
    exact : bool
        ``needs`` and ``resources`` are the last round's lists exactly as it
        matched them (the ledger's snapshot, :func:`matchcore.ledger.lists.read_snapshot`),
        not their JSON rows: the lists being added join them as they are.
    recorded : dict, optional
        What :func:`matchcore.ledger.record.record_round` compares the new round
        with, read with the rest so that the round need not read it again:
        ``"live"`` (project_id, resource_id, units, score, id of each row of
        ``live``, as stored) and ``"projects"`` (the stored rows of the
        not-started projects: project_id, community, grid, category, demand,
        assigned, resources, score), each a list of object arrays. None when not
        read (the round then reads them itself).
    rows : LiveRows, optional
        The live rows these frames were made from (:func:`matchcore.ledger.live.read_rows`),
        which the round patches with what it writes (its capacity check and the
        next snapshot); None when not read.

    Examples
    --------
    >>> state = LedgerState.empty()
    >>> state.next_round, len(state.live)
    (1, 0)
    """

    next_round: int
    needs: pd.DataFrame
    resources: pd.DataFrame
    projects: pd.DataFrame
    live: pd.DataFrame
    used: Mapping[str, int] = field(default_factory=dict)
    gone: Mapping[str, int] = field(default_factory=dict)
    settled: frozenset[str] = frozenset()
    need_rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    backups: pd.DataFrame = field(
        default_factory=lambda: _frame(
            ["need_id", "resource_id", "project_id", "round", "backup_resource_id"]
        )
    )
    claims: pd.DataFrame = field(default_factory=lambda: _frame(CLAIM_COLUMNS))
    stamp: tuple[int, ...] = ()
    lists: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    exact: bool = False
    recorded: Mapping[str, list[np.ndarray]] | None = None
    rows: LiveRows | None = None

    @classmethod
    def empty(cls) -> LedgerState:
        """The state of a ledger without rounds (for tests and examples)."""
        return cls(
            next_round=1,
            needs=pd.DataFrame(),
            resources=pd.DataFrame(),
            projects=_frame(["project_id", "need_id", "status"]),
            live=_frame(LIVE_COLUMNS),
        )


@dataclass(frozen=True)
class RematchPlan:
    """What a rematch will match and against what; built by :func:`plan_rematch`.

    Attributes
    ----------
    round : int
        The new round's number.
    needs : DataFrame
        Needs to match: the last round's without a settled project, the new
        ones, and in-progress projects' needs asking for the units they lost.
    resources : DataFrame
        Resources to match, each with the capacity it has left (>= 1).
    full_resources : DataFrame
        The round's resource list with full capacities (what is recorded).
    incumbent : DataFrame
        need_id, resource_id pairs that get the stickiness bonus.
    extend : dict
        need id -> in-progress project that gets the round's new units.
    lost : DataFrame
        Live assignments on the dropped resources (they end).
    dropped : tuple of str
        Resources dropped in this round.
    returned : tuple of str
        Resources that had dropped out and are listed again.
    gone : dict
        Resources that had dropped out: id -> round.
    affected : tuple of str
        Live projects with units on the dropped resources.
    preferred : DataFrame
        need_id, resource_id: backups recorded for the lost assignments.
    before : dict
        Active units of each live project before the round.
    projects : DataFrame
        The live projects the plan was made against (project_id, need_id, status).
    live : DataFrame
        Their active assignments.
    claims : DataFrame
        The open claims kept fixed (:attr:`LedgerState.claims`): their units
        are out of ``needs`` and ``resources``.
    stored_needs : DataFrame, optional
        The needs as the round records them when claims hold units: claimed
        needs with their whole demand (None: the match's own needs).
    """

    round: int
    needs: pd.DataFrame
    resources: pd.DataFrame
    full_resources: pd.DataFrame
    incumbent: pd.DataFrame
    extend: dict[str, str]
    lost: pd.DataFrame
    dropped: tuple[str, ...]
    returned: tuple[str, ...]
    gone: dict[str, int]
    affected: tuple[str, ...]
    preferred: pd.DataFrame
    before: dict[str, int]
    projects: pd.DataFrame
    live: pd.DataFrame
    claims: pd.DataFrame = field(default_factory=lambda: _frame(CLAIM_COLUMNS))
    stored_needs: pd.DataFrame | None = None


@dataclass(frozen=True)
class RematchPreview:
    """What recording a plan's match result changes (see :func:`preview_rematch`).

    Attributes
    ----------
    moves : DataFrame
        Not-started projects whose resources or units change: project_id,
        need_id, resources_before, resources_after (``"R1:2;R4:1"``).
    new_projects : DataFrame
        need_id, resources, assigned of the projects the round creates.
    extensions : DataFrame
        In-progress projects that get new units: project_id, need_id, resources.
    cancellations : DataFrame
        project_id, need_id of the not-started projects left without units.
    n_reassigned : int
        Affected projects whose active units are back to at least what they were.
    n_to_backup : int
        Of those, projects that got a unit from a recorded backup.
    """

    moves: pd.DataFrame
    new_projects: pd.DataFrame
    extensions: pd.DataFrame
    cancellations: pd.DataFrame
    n_reassigned: int
    n_to_backup: int

    def copy(self) -> RematchPreview:
        """The same preview with copies of its frames (edits to either stay in it).

        Examples
        --------
        >>> import pandas as pd
        >>> empty = pd.DataFrame({"project_id": []})
        >>> p = RematchPreview(empty, empty, empty, empty, 0, 0)
        >>> q = p.copy()
        >>> q.moves is p.moves, q.moves.equals(p.moves), q.n_reassigned
        (False, True, 0)
        """
        return replace(self, **{name: getattr(self, name).copy() for name in PREVIEW_FRAMES})


#: The frames of a :class:`RematchPreview`, in order (``matchcore ledger rematch
#: --preview`` writes one CSV of each).
PREVIEW_FRAMES = ("moves", "new_projects", "extensions", "cancellations")


def normalize_dropped(dropped: Iterable[str] | None) -> list[str]:
    """Sorted distinct ids of ``dropped_resources`` (a str is one id).

    Examples
    --------
    >>> normalize_dropped(["R2", " R1", "R2"])
    ['R1', 'R2']
    >>> normalize_dropped("R1")
    ['R1']
    """
    if dropped is None:
        return []
    if isinstance(dropped, str):
        dropped = [dropped]
    try:
        return sorted({str(v).strip() for v in dropped})
    except TypeError as err:
        raise InputError(
            f"`dropped_resources` must be an iterable of resource ids; got {dropped!r}"
        ) from err


def _demand(needs: pd.DataFrame) -> pd.Series:
    """The stored ``demand`` column as int64 (1 where missing)."""
    if "demand" not in needs.columns:
        return pd.Series(1, index=needs.index, dtype="int64")
    return pd.to_numeric(needs["demand"], errors="coerce").fillna(1).astype("int64")


def less_claimed(needs: pd.DataFrame, claims: pd.DataFrame) -> pd.DataFrame:
    """``needs`` with each claimed need's demand less its claimed units (rows left
    with none are dropped): what the solve may still assign.

    Examples
    --------
    >>> import pandas as pd
    >>> needs = pd.DataFrame({"need_id": ["N1", "N2"], "demand": [3, 1]})
    >>> claims = pd.DataFrame({"need_id": ["N1", "N2"], "units": [2, 1]})
    >>> less_claimed(needs, claims).values.tolist()
    [['N1', 1]]
    """
    if claims.empty or needs.empty:
        return needs
    taken = claims.groupby("need_id")["units"].sum()
    left = _demand(needs) - needs["need_id"].astype(str).map(taken).fillna(0).astype("int64")
    return needs.assign(demand=left)[left > 0].reset_index(drop=True)


def _check_dropped(
    ids: list[str], resources: pd.DataFrame, gone: Mapping[str, int], returned: set[str]
) -> None:
    if not ids:
        return
    known: set[str] = set()
    if len(resources):
        # The listed ids among the dropped ones, in C (not a Python set of every id).
        listed = as_text(resources["resource_id"])
        known = set(listed[is_in(listed, set(ids))].tolist())
    problems = [f"{r!r} is not a resource of the last round" for r in ids if r not in known]
    problems += [f"{r!r} already dropped out in round {gone[r]}" for r in ids
                 if r in gone and r not in returned]
    problems += [f"{r!r} is also listed in new_resources" for r in ids if r in returned]
    if problems:
        raise InputError(
            "`dropped_resources` must name resources of the last round that are still "
            "available; got: " + "; ".join(problems)
        )


def plan_rematch(
    state: LedgerState,
    new_needs: pd.DataFrame | None = None,
    new_resources: pd.DataFrame | None = None,
    dropped: Iterable[str] | None = None,
) -> RematchPlan:
    """Plan a rematch from the ledger's state; a pure function of frames.

    Parameters
    ----------
    state : LedgerState
        What the ledger holds (:meth:`ProjectLedger.rematch` reads it).
    new_needs, new_resources : DataFrame, optional
        Validated lists to add (:func:`matchcore.read_needs` /
        :func:`matchcore.read_resources`); an id given again replaces its row.
    dropped : iterable of str, optional
        Resources that drop out in this round.

    Returns
    -------
    RematchPlan

    Raises
    ------
    InputError
        A dropped resource that the last round did not list, that already
        left or that is also in ``new_resources``; a new need whose project is
        in progress (rematch keeps it fixed).

    Examples
    --------
    >>> import pandas as pd
    >>> state = LedgerState(
    ...     next_round=2,
    ...     needs=pd.DataFrame({"need_id": ["N1", "N2"], "category": "repair", "demand": 2,
    ...                         "x": 0.0, "y": 0.0}),
    ...     resources=pd.DataFrame({"resource_id": ["R1"], "category": "repair",
    ...                             "capacity": 3, "x": 0.0, "y": 0.0}),
    ...     projects=pd.DataFrame({"project_id": ["P-N1"], "need_id": ["N1"],
    ...                            "status": ["in_progress"]}),
    ...     live=pd.DataFrame({"project_id": ["P-N1"], "need_id": ["N1"],
    ...                        "resource_id": ["R1"], "units": [2], "round": [1],
    ...                        "status": ["in_progress"]}),
    ...     used={"R1": 2}, settled=frozenset({"N1"}))
    >>> plan = plan_rematch(state)
    >>> plan.needs["need_id"].tolist(), plan.resources["capacity"].tolist()
    (['N2'], [1])
    """
    drop = normalize_dropped(dropped)
    needs = state.needs
    resources = state.resources
    returned = set() if new_resources is None else set(new_resources["resource_id"].astype(str))
    gone = dict(state.gone)
    _check_dropped(drop, resources, gone, returned)
    new_ids = set() if new_needs is None else set(new_needs["need_id"].astype(str))
    live = state.live
    in_progress = state.projects[state.projects["status"] == "in_progress"]
    clash = sorted(
        (n, p) for n, p in zip(in_progress["need_id"], in_progress["project_id"]) if n in new_ids
    )
    if clash:
        listed = ", ".join(f"{n!r} (project {p!r})" for n, p in clash)
        raise InputError(
            f"new_needs lists needs whose project is in progress: {listed}; rematch keeps "
            "in-progress projects fixed: leave these rows out, or complete or cancel the "
            "project first"
        )
    # New rows join the last round's in its form: as matched (snapshot) or as stored.
    as_stored = (lambda f: f) if state.exact else frame_from_records
    if new_needs is not None:
        needs = pd.concat(
            [needs[~is_in(as_text(needs["need_id"]), new_ids)], as_stored(new_needs)],
            ignore_index=True,
        )
    if new_resources is not None:
        resources = pd.concat(
            [resources[~is_in(as_text(resources["resource_id"]), returned)],
             as_stored(new_resources)],
            ignore_index=True,
        )
    # A need given again is a new request, even if its old project is settled.
    settled = set(state.settled) - new_ids
    needs = needs[~is_in(as_text(needs["need_id"]), settled)]

    lost = live[is_in(live["resource_id"], set(drop))]
    affected = tuple(sorted(set(lost["project_id"])))
    # In-progress projects that lost units come back asking for those units only.
    lost_ip = lost[lost["status"] == "in_progress"]
    extend = dict(zip(lost_ip["need_id"], lost_ip["project_id"]))
    if extend:
        units_lost = lost_ip.groupby("need_id")["units"].sum()
        rows = state.need_rows
        back = rows[rows["need_id"].astype(str).isin(extend)].assign(
            demand=lambda f: f["need_id"].map(units_lost).astype("int64")
        )
        needs = pd.concat([needs, back], ignore_index=True)
    # Open claims are fixed like in-progress work: their units leave the solve, and
    # the claimed needs are recorded whole.
    claims = state.claims
    stored_needs = needs.reset_index(drop=True) if len(claims) else None
    needs = less_claimed(needs, claims)
    claimed = set(zip(claims["need_id"], claims["resource_id"]))
    unclaimed = (
        pd.Series([p not in claimed for p in zip(live["need_id"].tolist(),
                                                 live["resource_id"].tolist())],
                  index=live.index, dtype=bool)
        if claimed else np.ones(len(live), dtype=bool)
    )
    sticky = live[(live["status"] == "not_started") & ~is_in(live["resource_id"], set(drop))
                  & unclaimed]
    preferred = _backups_of(lost, state.backups)
    incumbent = _sorted_pairs(
        pd.concat([sticky[["need_id", "resource_id"]], preferred], ignore_index=True))
    full = resources.reset_index(drop=True)
    used = dict(state.used)
    for rid, units in claims.groupby("resource_id")["units"].sum().items():
        used[str(rid)] = used.get(str(rid), 0) + int(units)
    taken = full["resource_id"].astype(str).map(used).fillna(0).astype("int64")
    left = full.assign(capacity=full["capacity"].astype("int64").to_numpy() - taken.to_numpy())
    out = set(gone) - returned | set(drop)
    left = left[
        (left["capacity"] > 0) & ~is_in(as_text(left["resource_id"]), out)
    ].reset_index(drop=True)
    total = live.groupby("project_id")["units"].sum()
    before = dict(zip(total.index.astype(str).tolist(), total.astype("int64").tolist()))
    return RematchPlan(
        round=state.next_round,
        needs=needs.reset_index(drop=True),
        resources=left,
        full_resources=full,
        incumbent=incumbent,
        extend=extend,
        lost=lost,
        dropped=tuple(drop),
        returned=tuple(sorted(returned & set(gone))),
        gone=gone,
        affected=affected,
        preferred=preferred,
        before=before,
        projects=state.projects,
        live=live,
        claims=claims,
        stored_needs=stored_needs,
    )


def _sorted_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    """``pairs.drop_duplicates().sort_values(["need_id", "resource_id"])`` with a
    fresh index, the same frame, by sorted integer codes instead of comparing
    text pairs (0.16 s for city_100k's 10^5 incumbent pairs)."""
    if not len(pairs) or pairs.isna().to_numpy().any():
        return pairs.drop_duplicates().sort_values(["need_id", "resource_id"]).reset_index(
            drop=True)
    need = pairs["need_id"].to_numpy(dtype=object)
    res = pairs["resource_id"].to_numpy(dtype=object)
    if _strictly_sorted(need, res):
        # The usual case: the not-started pairs as read (by project, then resource;
        # a project's id is its need's with a prefix), no backups added.
        return pairs.reset_index(drop=True)
    n_code, _ = pd.factorize(pairs["need_id"], sort=True)
    r_code, r_ids = pd.factorize(pairs["resource_id"], sort=True)
    key = n_code.astype(np.int64) * max(len(r_ids), 1) + r_code
    # np.unique sorts the keys (need, then resource) and names each one's first row.
    _, first = np.unique(key, return_index=True)
    return pairs.take(first).reset_index(drop=True)


def _strictly_sorted(first: np.ndarray, second: np.ndarray) -> bool:
    """Whether the pairs ``(first[i], second[i])`` of two text arrays ascend strictly."""
    if len(first) < 2:
        return True
    if not all(isinstance(v, str) for v in (first[0], second[0])):
        return False
    try:
        up = np.asarray(first[1:] > first[:-1], dtype=bool)
        tie = np.asarray(first[1:] == first[:-1], dtype=bool)
        ok = up | (tie & np.asarray(second[1:] > second[:-1], dtype=bool))
    except TypeError:  # ids of mixed types: no order to check
        return False
    return bool(ok.all())


def _backups_of(lost: pd.DataFrame, backups: pd.DataFrame) -> pd.DataFrame:
    """(need_id, backup resource_id) recorded for the lost assignments, by rank."""
    if not len(lost) or not len(backups):
        return _frame(["need_id", "resource_id"])
    keys = lost[["project_id", "resource_id", "round"]].astype({"round": "int64"})
    found = backups.astype({"round": "int64"}).merge(keys, on=["project_id", "resource_id",
                                                              "round"])
    if "rank" in found:
        found = found.sort_values(["project_id", "resource_id", "rank"], kind="stable")
    return found[["need_id", "backup_resource_id"]].rename(
        columns={"backup_resource_id": "resource_id"}
    ).reset_index(drop=True)


class _Rows(NamedTuple):
    """need_id, resource_id and units of assignment rows, as plain arrays."""

    need: np.ndarray  # object: text
    resource: np.ndarray  # object: text
    units: np.ndarray  # int64

    def take(self, keep: np.ndarray) -> _Rows:
        return _Rows(self.need[keep], self.resource[keep], self.units[keep])


def _texts(column: pd.Series) -> np.ndarray:
    """``as_text(column)`` as an object array; text of pandas' ``str`` dtype with no
    missing value is taken as it is (the same values, no round trip)."""
    if isinstance(column.dtype, pd.StringDtype) and not column.hasnans:
        values: np.ndarray = column.to_numpy(dtype=object)
        return values
    return as_text(column).to_numpy(dtype=object)


def _triples(frame: pd.DataFrame) -> _Rows:
    """need_id, resource_id, units of an assignment frame, as plain arrays."""
    return _Rows(_texts(frame["need_id"]), _texts(frame["resource_id"]),
                 frame["units"].to_numpy(dtype="int64"))


def _less_claims(old: _Rows, claims: pd.DataFrame) -> _Rows:
    """Assignment triples without the claims' own rows (one row per open claim):
    a claimed assignment stays where it is, so it never makes a project move.

    Each claim takes out the first row equal to it that no earlier claim took.
    """
    if claims.empty or not len(old.need):
        return old
    rows: dict[tuple[str, str, int], list[int]] = {}
    for k, key in enumerate(zip(old.need.tolist(), old.resource.tolist(),
                                old.units.tolist())):
        rows.setdefault(key, []).append(k)
    keep = np.ones(len(old.need), dtype=bool)
    for key in zip(claims["need_id"].astype(str), claims["resource_id"].astype(str),
                   claims["units"].astype("int64")):
        left = rows.get((key[0], key[1], int(key[2])))
        if left:
            keep[left.pop(0)] = False
    return old.take(keep)


class _Moves(NamedTuple):
    """The needs whose (resource_id, units) rows differ between two triple sets."""

    old_code: np.ndarray  # need code of each old row
    new_code: np.ndarray  # need code of each new row
    moved: dict[str, int]  # need id -> code, of the needs whose rows differ

    def pairs(self, which: str, rows: _Rows, needs: set[str]) -> dict[str, str]:
        """need id -> "R1:2;R4:1" (resources sorted) for the needs in ``needs``
        (moved ones)."""
        wanted = np.array([self.moved[n] for n in needs], dtype=np.int64)
        if not len(wanted):
            return {}
        codes = self.old_code if which == "old" else self.new_code
        mine = np.flatnonzero(np.isin(codes, wanted))
        texts: dict[str, list[str]] = {}
        for need, rid, units in zip(rows.need[mine].tolist(), rows.resource[mine].tolist(),
                                    rows.units[mine].tolist()):
            texts.setdefault(str(need), []).append(f"{rid}:{units}")
        return {need: ";".join(sorted(v)) for need, v in texts.items()}


def _moved(old: _Rows, new: _Rows) -> _Moves:
    """Needs whose set of (resource_id, units) rows differs between two triple sets.

    The rows are coded as integers once and compared by hash (no merge, no sort).
    """
    n_old = len(old.need)
    need_code, need_names = pd.factorize(np.concatenate([old.need, new.need]))
    res_code, res_names = pd.factorize(np.concatenate([old.resource, new.resource]))
    units = np.concatenate([old.units, new.units])
    if not len(units):
        return _Moves(need_code[:0], need_code[:0], {})
    # One integer per row; units are offset so that any int64 value stays distinct.
    u_code, u_values = pd.factorize(units)
    n_res, n_u = max(len(res_names), 1), max(len(u_values), 1)
    key = (need_code.astype(np.int64) * n_res + res_code) * n_u + u_code
    old_key, new_key = key[:n_old], key[n_old:]
    # A row of one set that the other lacks (as sets: repeated rows count once).
    gone = old_key[~pd.Index(old_key).isin(new_key)]
    came = new_key[~pd.Index(new_key).isin(old_key)]
    codes = np.unique(np.concatenate([gone, came]) // (n_res * n_u))
    names = np.asarray(need_names, dtype=object)[codes].tolist()
    return _Moves(need_code[:n_old], need_code[n_old:],
                  {str(v): c for v, c in zip(names, codes.tolist())})


def preview_rematch(plan: RematchPlan, result: MatchResult) -> RematchPreview:
    """What recording ``result`` (the match of ``plan``) changes; a pure function.

    Parameters
    ----------
    plan : RematchPlan
    result : MatchResult
        The match of ``plan.needs`` over ``plan.resources``.

    Returns
    -------
    RematchPreview

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import matchcore as mc
    >>> ledger = mc.ProjectLedger(pathlib.Path(tempfile.mkdtemp()) / "l.db")
    >>> _ = ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
    >>> report = ledger.rematch(dry_run=True)
    >>> len(report.preview.moves), len(report.preview.cancellations)
    (0, 0)
    """
    assign = result.assignments
    projects = plan.projects
    live = plan.live
    res_needs = _texts(result.projects["need_id"])
    matched = set(res_needs.tolist())
    # A project held by an open claim keeps its claimed units: never cancelled.
    held = set(plan.claims["need_id"].astype(str).tolist())
    not_started = projects[
        (projects["status"] == "not_started") & ~is_in(projects["need_id"], set(plan.extend))
    ]
    # A not-started project moves when its (resource, units) set changes: one merge,
    # then text only for the few that moved (stickiness keeps most in place).
    ns_pids = not_started["project_id"].tolist()
    ns_needs = not_started["need_id"].tolist()
    kept = set(ns_needs) & (matched | held)
    old = _less_claims(_triples(live[live["status"] == "not_started"]), plan.claims)
    new = _triples(assign)
    # Rows of the other needs (new, cancelled, extended ones) only add needs to the
    # comparison's result that are not kept: they are left out of it afterwards
    # rather than filtered out of both frames first.
    moves = _moved(old, new)
    moved = moves.moved.keys() & kept
    old_pairs, new_pairs = moves.pairs("old", old, moved), moves.pairs("new", new, moved)
    moved_rows = [
        (pid, need, old_pairs.get(need, ""), new_pairs.get(need, ""))
        for pid, need in zip(ns_pids, ns_needs)
        if need in moved
    ]
    live_needs = set(projects["need_id"].tolist())
    new_needs = sorted(matched - live_needs)
    extended = sorted(matched & set(plan.extend))
    # The result's rows of those needs only (matched needs are the result's).
    at = pd.Index(res_needs, dtype=object).get_indexer(
        np.array(new_needs + extended, dtype=object))
    texts = result.projects["resources"].to_numpy(dtype=object)[at].tolist()
    units = result.projects["assigned"].to_numpy()[at[:len(new_needs)]].tolist()
    created = [(n, r, int(u)) for n, r, u in zip(new_needs, texts, units)]
    ext = [(plan.extend[n], n, r) for n, r in zip(extended, texts[len(new_needs):])]
    cancelled = [
        (pid, need) for pid, need in zip(ns_pids, ns_needs)
        if need not in matched and need not in held
    ]
    # Affected projects: active units after = kept + this round's for their need.
    backup_pairs = set(zip(plan.preferred["need_id"], plan.preferred["resource_id"]))
    lost_keys = set(zip(plan.lost["project_id"], plan.lost["resource_id"]))
    affected = set(plan.affected)
    mine_projects = projects[is_in(projects["project_id"], affected)]
    need_of = dict(zip(mine_projects["project_id"].tolist(), mine_projects["need_id"].tolist()))
    status_of = dict(zip(mine_projects["project_id"].tolist(), mine_projects["status"].tolist()))
    got = assign[is_in(as_text(assign["need_id"]), set(need_of.values()))]
    got = got.assign(need_id=got["need_id"].astype(str))
    n_back = n_backup = 0
    for pid in plan.affected:
        need = need_of[pid]
        mine = got[got["need_id"] == need]
        after = int(mine["units"].sum())
        if status_of[pid] == "in_progress":
            kept = live[(live["project_id"] == pid)]
            after += int(sum(u for r, u in zip(kept["resource_id"], kept["units"])
                             if (pid, r) not in lost_keys))
        if after >= plan.before.get(pid, 0):
            n_back += 1
            n_backup += any((need, r) in backup_pairs for r in mine["resource_id"].astype(str))
    return RematchPreview(
        moves=pd.DataFrame(moved_rows, columns=["project_id", "need_id", "resources_before",
                                           "resources_after"]),
        new_projects=pd.DataFrame(created, columns=["need_id", "resources", "assigned"]),
        extensions=pd.DataFrame(ext, columns=["project_id", "need_id", "resources"]),
        cancellations=pd.DataFrame(cancelled, columns=["project_id", "need_id"]),
        n_reassigned=n_back,
        n_to_backup=n_backup,
    )
