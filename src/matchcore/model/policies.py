"""Policies of a round that the objective alone does not express: fairness floors,
comparable units, and the checks of staff pins and forbids.

Everything here stays in the flow world. A *fairness floor* is a lower bound
on the units that reach a group of needs (a community or a grid):
:class:`~matchcore.model.problem.TransportProblem` turns it into a group node
between the hub and the group's needs and the lower bound into node supplies
(the standard transformation), so every back-end sees a plain
:class:`~matchcore.model.problem.FlowNetwork` and the dual certificate
certifies it. Floors are counted in **units** (the flow through the group's
arc): priority weights do not travel along a flow, so a floor of 0.6 means
"at least 60 % of the group's demand units". Floors that cannot be met are
lowered here, before the solve, to what a maximum flow shows to be reachable,
and the table of :func:`plan_floors` says which, how far and why.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from ..errors import InputError, MatchcoreWarning

__all__ = [
    "FAIRNESS",
    "GROUP_KEYS",
    "Fairness",
    "FloorPlan",
    "check_min_coverage",
    "check_pairs",
    "check_unit_value",
    "coverage_weight",
    "edge_index",
    "group_codes",
    "plan_floors",
    "unit_values",
    "warn_dominant_units",
]

Fairness = Literal["maxmin"]
FAIRNESS: tuple[str, ...] = get_args(Fairness)
#: Columns of the needs list a floor may group by.
GROUP_KEYS: tuple[str, ...] = ("community", "grid")
#: Share of all demand units above which one category "dominates" a list.
DOMINANT_SHARE = 0.5
#: ... when its needs are this many times larger than the other categories' (median).
UNIT_RATIO = 10.0
#: Largest common multiple of unit values kept exact (larger ones are rounded).
MAX_UNIT_SCALE = 2**20


def _check_share(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"`min_coverage` share must be a number in [0, 1]; got {value!r} {where}")
    share = float(value)
    if not 0.0 <= share <= 1.0:
        raise InputError(f"`min_coverage` share must be in [0, 1]; got {value!r} {where}")
    return share


def check_min_coverage(value: Any) -> dict[str, Any] | None:
    """Check a ``min_coverage`` option: ``{key: share}`` or ``{key: {group: share}}``.

    ``key`` is one of :data:`GROUP_KEYS`; one key per round (the groups of a
    floor must not overlap). Returns a plain, checked dict (or None).
    """
    if value is None:
        return None
    if not isinstance(value, Mapping) or len(value) != 1:
        raise InputError(
            "`min_coverage` must be a mapping with one key of "
            f"{list(GROUP_KEYS)}, e.g. {{'community': 0.6}}; got {value!r}"
        )
    ((key, spec),) = value.items()
    if key not in GROUP_KEYS:
        raise InputError(f"`min_coverage` groups by one of {list(GROUP_KEYS)}; got {key!r}")
    if isinstance(spec, Mapping):
        shares = {str(g): _check_share(s, f"for {key} {g!r}") for g, s in spec.items()}
        return {key: dict(sorted(shares.items()))}
    return {key: _check_share(spec, f"for every {key}")}


def check_unit_value(value: Any) -> dict[str, float] | str | None:
    """Check a ``unit_value`` option: ``{category: value}`` (> 0) or ``"per_need"``."""
    if value is None or value == "per_need":
        return value
    if not isinstance(value, Mapping):
        raise InputError(
            "`unit_value` must be a mapping {category: units per comparable unit} or "
            f"'per_need'; got {value!r}"
        )
    out: dict[str, float] = {}
    for cat, v in value.items():
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                or not math.isfinite(float(v)) or float(v) <= 0:
            raise InputError(
                f"`unit_value` must be a number > 0; got {v!r} for category {cat!r}"
            )
        out[str(cat)] = float(v)
    return dict(sorted(out.items()))


def unit_values(
    category: np.ndarray, demand: np.ndarray, spec: Mapping[str, float] | str | None
) -> np.ndarray:
    """Units of each need that make one comparable unit, shape ``(n_needs,)`` (1 by default).

    ``"per_need"``: a whole need is one unit (its demand); a mapping gives
    one value per category (categories not named count 1).
    """
    if spec is None:
        return np.ones(len(demand), dtype=float)
    if spec == "per_need":
        return demand.astype(float)
    assert isinstance(spec, Mapping)
    return np.array([float(spec.get(str(c), 1.0)) for c in category], dtype=float)


def coverage_weight(priority: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Integer per-unit weights of the coverage phase: ``priority / value``, scaled.

    Exact (a common multiple of the values) when that multiple is at most
    :data:`MAX_UNIT_SCALE`; otherwise rounded to 20 bits (exact for the
    rounded weights).
    """
    if (value == 1.0).all():
        return priority.astype(np.int64)
    ints = value == np.rint(value)
    scale = 1
    if ints.all():
        for v in np.unique(value).astype(np.int64).tolist():
            scale = scale * v // math.gcd(scale, v)
            if scale > MAX_UNIT_SCALE:
                break
    if ints.all() and scale <= MAX_UNIT_SCALE:
        return (priority.astype(np.int64) * (scale // value.astype(np.int64))).astype(np.int64)
    raw = priority / value
    return np.maximum(np.rint(raw * (MAX_UNIT_SCALE / raw.max())), 1).astype(np.int64)


def warn_dominant_units(
    category: np.ndarray, demand: np.ndarray, value: np.ndarray, what: str = "needs"
) -> None:
    """Warn when one category's units dominate a list: more than half of all its
    (comparable) units, with needs :data:`UNIT_RATIO` times larger than the others'.

    That is the mark of units that do not compare (yuan beside visits), not of
    a category that is merely common.
    """
    if len(demand) == 0:
        return
    cats, inv = np.unique(category.astype(str), return_inverse=True)
    if len(cats) < 2:
        return
    units = np.bincount(inv, weights=demand / value, minlength=len(cats))
    mean = units / np.bincount(inv, minlength=len(cats))
    top = int(np.argmax(units))
    share = units[top] / units.sum()
    others = np.delete(mean, top)
    if share > DOMINANT_SHARE and mean[top] >= UNIT_RATIO * float(np.median(others)):
        name = str(cats[top])
        warnings.warn(
            f"category {name!r} holds {share:.1%} of all demand units of the {what} "
            f"({mean[top]:.4g} per need against {float(np.median(others)):.4g} for the "
            "others): coverage figures mostly count it; give `unit_value` (e.g. "
            f"unit_value={{{name!r}: 100}}) so that units compare",
            MatchcoreWarning,
            stacklevel=3,
        )


def group_codes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group code of each need (-1 without a label) and the sorted group names."""
    s = pd.Series(labels, dtype=object)
    ok = s.notna().to_numpy() & (s.astype(str).str.len() > 0).to_numpy()
    names = np.array(sorted(set(s[ok].astype(str))), dtype=object)
    code = np.full(len(labels), -1, dtype=np.int64)
    if len(names):
        code[ok] = np.searchsorted(names, s[ok].astype(str).to_numpy(object))
    return code, names


def group_max_flow(
    need: np.ndarray,
    resource: np.ndarray,
    demand: np.ndarray,
    capacity: np.ndarray,
    group: np.ndarray,
    cap_group: np.ndarray,
) -> np.ndarray:
    """Units reaching each group in a maximum flow where group g may take ``cap_group[g]``.

    Nodes: source, groups, needs, resources, sink; arcs source→group
    (``cap_group``), group→need (demand), need→resource (min(demand,
    capacity)), resource→sink (capacity). Needs without a group take no part.
    """
    n_g, n_i, n_j = len(cap_group), len(demand), len(capacity)
    if n_g == 0 or cap_group.sum() == 0:
        return np.zeros(n_g, dtype=np.int64)
    src, g0, i0, j0 = 0, 1, 1 + n_g, 1 + n_g + n_i
    sink = j0 + n_j
    has = group >= 0
    e_ok = has[need]
    tails = np.concatenate([
        np.full(n_g, src), g0 + group[has], i0 + need[e_ok], j0 + np.arange(n_j),
    ])
    heads = np.concatenate([
        g0 + np.arange(n_g), i0 + np.flatnonzero(has), j0 + resource[e_ok], np.full(n_j, sink),
    ])
    big = np.iinfo(np.int32).max
    caps = np.concatenate([
        np.minimum(cap_group, big), demand[has],
        np.minimum(demand[need[e_ok]], capacity[resource[e_ok]]), capacity,
    ]).astype(np.int32)
    from scipy.sparse import csr_matrix  # scipy loads on first use, not at import
    from scipy.sparse.csgraph import maximum_flow

    graph = csr_matrix((caps, (tails, heads)), shape=(sink + 1, sink + 1))
    result = maximum_flow(graph, src, sink)
    flow = result.flow.tocsr()
    return np.asarray(flow[src, g0 : g0 + n_g].toarray()).ravel().astype(np.int64)


@dataclass(frozen=True)
class FloorPlan:
    """Floors of a round, in units, ready for :class:`TransportProblem`.

    Attributes
    ----------
    group : ndarray of int64, shape (n_needs,)
        Group of each need (-1: none, or its group has no floor).
    floor : ndarray of int64, shape (n_groups,)
        Units the solve must route to each group (beyond pinned units).
    table : pandas.DataFrame
        One row per group: group, demand (units), pinned, share (asked),
        asked (units), reachable (the most it can get alone), floor (units
        enforced, pinned ones included), lowered, reason.
    t : float or None
        The common coverage share reached by ``fairness="maxmin"``.
    """

    key: str
    group: np.ndarray
    floor: np.ndarray
    table: pd.DataFrame
    t: float | None = None


def _ceil_div(a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    return -(-a // b)


def plan_floors(
    labels: np.ndarray,
    key: str,
    shares: float | Mapping[str, float],
    total_demand: np.ndarray,
    pinned: np.ndarray,
    need: np.ndarray,
    resource: np.ndarray,
    demand: np.ndarray,
    capacity: np.ndarray,
    fairness: str | None = None,
) -> FloorPlan:
    """Floors in units per group, lowered where they cannot be met.

    Parameters
    ----------
    labels : ndarray of object, shape (n_needs,)
        The group (community or grid) of each need.
    shares : float or mapping
        The share asked of every group, or per group name (others: 0).
    total_demand, pinned : ndarray of int64, shape (n_needs,)
        Demand of each need, and its units already fixed by pins.
    need, resource, demand, capacity :
        The candidate edges and the demand and capacity left to the solve.
    fairness : {None, "maxmin"}
        ``"maxmin"``: the floors are the largest common share ``t`` that
        every group can get at once (``shares`` is then ignored).

    Notes
    -----
    A group's floor ``ceil(share × demand)`` (units, pinned ones included)
    is first capped by its *reachable* units, a maximum flow of that group
    alone. Floors that each group can meet alone may still conflict (they
    share resources); then they are lowered by progressive filling: all
    rise together, share ``t`` by share, to ``min(floor_g, ceil(t ×
    demand_g))``; a group that cannot get one unit more is frozen there and
    the others rise on, so only the floors that must give way are lowered.
    With ``"maxmin"`` every group asks for its whole demand and the first
    level is the answer (the largest share every group gets). ``t`` is
    searched exactly over the achievable shares ``k / demand_g`` (binary
    search, one maximum flow per step; feasibility is monotone in ``t``).
    """
    code, names = group_codes(labels)
    n_g = len(names)
    has = code >= 0
    g_demand = np.bincount(code[has], weights=total_demand[has], minlength=n_g).astype(np.int64)
    g_pinned = np.bincount(code[has], weights=pinned[has], minlength=n_g).astype(np.int64)
    if isinstance(shares, Mapping):
        unknown = sorted(set(shares) - set(names.tolist()))
        if unknown:
            raise InputError(
                f"`min_coverage` names {key}(s) {unknown} that no need belongs to; "
                f"the needs' {key}s are {names.tolist()[:20]}"
            )
        share = np.array([float(shares.get(n, 0.0)) for n in names], dtype=float)
    else:
        share = np.full(n_g, float(shares))
    big = np.int64(np.iinfo(np.int32).max)
    reach = np.zeros(n_g, dtype=np.int64)
    for g in range(n_g):  # one max flow per group alone: "the most it could get"
        cap = np.zeros(n_g, dtype=np.int64)
        cap[g] = big
        reach[g] = group_max_flow(need, resource, demand, capacity, code, cap)[g]
    reach_total = reach + g_pinned
    t: float | None = None
    if fairness == "maxmin":
        share = np.ones(n_g)
    asked = np.ceil(share * g_demand - 1e-9).astype(np.int64)
    # The floors, lowered evenly where they conflict: the largest common share t
    # such that min(asked, reachable, ceil(t × demand)) is feasible for all at once
    # (with "maxmin" every group asks for all of its demand, so t is the max-min share).
    t, floor = _water_level(g_demand, g_pinned, np.minimum(asked, reach_total), need,
                            resource, demand, capacity, code, fill=fairness != "maxmin")
    need_flow = np.maximum(floor - g_pinned, 0)
    conflict = floor < np.minimum(asked, reach_total)
    reason = np.where(
        asked > reach_total,
        "not enough compatible capacity in reach",
        np.where(conflict, "shares resources with other groups' floors", ""),
    )
    if fairness == "maxmin":
        share, asked, reason = np.full(n_g, t), floor, np.full(n_g, "")
    else:
        t = None
    table = pd.DataFrame({
        "group": names,
        "demand": g_demand,
        "pinned": g_pinned,
        "share": share,
        "asked": asked,
        "reachable": reach_total,
        "floor": floor,
        "lowered": floor < asked,
        "reason": reason,
    })
    # Only groups with a floor get a group node; the others stay plain.
    with_floor = np.append(need_flow > 0, False)  # index -1: no group
    group = np.where(with_floor[code], code, -1)
    return FloorPlan(key, group.astype(np.int64), need_flow.astype(np.int64), table, t)


def _water_level(
    g_demand: np.ndarray,
    g_pinned: np.ndarray,
    cap: np.ndarray,
    need: np.ndarray,
    resource: np.ndarray,
    demand: np.ndarray,
    capacity: np.ndarray,
    code: np.ndarray,
    *,
    fill: bool = False,
) -> tuple[float, np.ndarray]:
    """The largest share t with ``min(ceil(t × demand_g), cap_g)`` units feasible
    for every group at once, and those floors.

    ``cap`` is what a group asks, at most what it can reach alone: a group
    that cannot reach ``t`` of its demand gets all it can reach (else one
    unreachable group would hold every floor at 0). Candidates are the shares
    ``k / demand_g`` (the optimum is one of them: floors change only there);
    floors are compared in exact integers.

    With ``fill`` the level keeps rising for the groups that can still
    grow (progressive filling): after each level, the groups that are at
    their cap or cannot get one unit more are frozen, and the others rise
    on. Then no group's floor is lowered below what it could keep without
    lowering a group with a smaller share.
    """
    n_g = len(g_demand)
    live = g_demand > 0
    if not live.any():
        return 0.0, np.zeros(n_g, dtype=np.int64)

    def feasible_floors(f: np.ndarray) -> bool:
        want = np.maximum(f - g_pinned, 0)
        got = group_max_flow(need, resource, demand, capacity, code, want)
        return bool((got >= want).all())

    if feasible_floors(cap):  # the usual case: every floor asked can be met
        return 1.0, cap.astype(np.int64)
    base = np.zeros(n_g, dtype=np.int64)
    active = live & (cap > 0)
    first_t: float | None = None
    while active.any():
        cands = sorted({
            (k, int(d)) for d in np.unique(g_demand[active]).tolist() for k in range(d + 1)
        }, key=lambda kd: kd[0] / kd[1])

        def floors(kd: tuple[int, int], base: np.ndarray = base,
                   active: np.ndarray = active) -> np.ndarray:
            k, d = kd
            level = np.minimum(_ceil_div(np.int64(k) * g_demand, d), cap)
            return np.where(active, np.maximum(base, level), base).astype(np.int64)

        lo, hi = 0, len(cands) - 1  # level 0 keeps the floors already set: feasible
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if feasible_floors(floors(cands[mid])):
                lo = mid
            else:
                hi = mid - 1
        k, d = cands[lo]
        if first_t is None:
            first_t = k / d
        base = floors(cands[lo])
        if not fill:
            break
        frozen = np.zeros(n_g, dtype=bool)
        for g in np.flatnonzero(active).tolist():
            more = base.copy()
            more[g] += 1
            frozen[g] = base[g] >= cap[g] or not feasible_floors(more)
        if not frozen[active].any():
            # Each could grow alone but not all at the next share: grow the first.
            g = int(np.flatnonzero(active)[0])
            base[g] += 1
            frozen[g] = base[g] >= cap[g]
        active &= ~frozen
    return (first_t or 0.0), base


def check_pairs(
    frame: Any, name: str, need_ids: np.ndarray, resource_ids: np.ndarray, *, units: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Need and resource indices (and units) of a ``pins`` or ``forbid`` frame.

    Every failing row is reported: unknown ids, missing values, repeated
    pairs, and (for pins) units that are not integers >= 1.

    Returns
    -------
    need, resource, units : ndarray of int64, shape (n_rows,)
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(
            f"`{name}` must be a DataFrame with columns need_id, resource_id"
            + (", units" if units else "") + f"; got {type(frame).__name__}"
        )
    cols = ["need_id", "resource_id", *(["units"] if units else [])]
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise InputError(f"{name} lacks required column(s) {missing}; got {list(frame.columns)}")
    need = frame["need_id"].astype(str).str.strip().to_numpy(object)
    res = frame["resource_id"].astype(str).str.strip().to_numpy(object)
    i = np.minimum(np.searchsorted(need_ids, need), max(len(need_ids) - 1, 0))
    j = np.minimum(np.searchsorted(resource_ids, res), max(len(resource_ids) - 1, 0))
    ok_i = (need_ids[i] == need) if len(need_ids) else np.zeros(len(need), bool)
    ok_j = (resource_ids[j] == res) if len(resource_ids) else np.zeros(len(res), bool)
    u = np.ones(len(frame), dtype=np.int64)
    ok_u = np.ones(len(frame), dtype=bool)
    if units:
        raw = pd.to_numeric(frame["units"], errors="coerce").to_numpy(dtype=float)
        ok_u = np.isfinite(raw) & (raw >= 1) & (raw == np.rint(raw))
        u = np.where(ok_u, raw, 0).astype(np.int64)
    dup = pd.Series(list(zip(need, res))).duplicated().to_numpy()
    problems: list[str] = []
    for pos in np.flatnonzero(~(ok_i & ok_j & ok_u) | dup).tolist():
        place = f"pair {need[pos]!r}-{res[pos]!r} (row {pos + 1} of {name})"
        if not ok_i[pos]:
            problems.append(f"`need_id` must name a need of the needs list; got {need[pos]!r} "
                            f"in {place}")
        if not ok_j[pos]:
            problems.append(f"`resource_id` must name a resource of the resources list; got "
                            f"{res[pos]!r} in {place}")
        if not ok_u[pos]:
            problems.append(f"`units` must be an integer >= 1; got {frame['units'].iat[pos]!r} "
                            f"in {place}")
        if dup[pos]:
            problems.append(f"each pair must appear once; {place} repeats an earlier row")
    if problems:
        raise InputError(f"{len(problems)} problem(s) in {name}:\n  - "
                         + "\n  - ".join(problems[:20]))
    return i.astype(np.int64), j.astype(np.int64), u


def edge_index(
    need: np.ndarray, resource: np.ndarray, n_resources: int, pi: np.ndarray, pj: np.ndarray
) -> np.ndarray:
    """Index of each pair (pi, pj) among the edges (need, resource), -1 when not an edge."""
    width = np.int64(n_resources + 1)
    key = need.astype(np.int64) * width + resource.astype(np.int64)
    order = np.argsort(key, kind="stable")
    want = pi.astype(np.int64) * width + pj.astype(np.int64)
    if len(key) == 0:
        return np.full(len(want), -1, dtype=np.int64)
    at = np.minimum(np.searchsorted(key[order], want), len(key) - 1)
    found = key[order][at] == want
    return np.where(found, order[at], -1).astype(np.int64)
