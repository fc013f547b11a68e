"""Every hypothesis strategy of the test suite, shared (import from here).

Two families:

* :func:`instances` — random transportation instances (explicit edges and
  scores, as for :func:`matchcore.solve_assignment`) with ties, zero scores,
  empty lists and isolated nodes; :func:`random_instance` draws the same kind
  from a numpy seed, for sweeps of hundreds of cases;
* :func:`districts` — random small districts (needs and resources as
  DataFrames, the input of :func:`matchcore.match`).

:func:`flow_networks` draws general min-cost flow networks (negative costs,
supplies, parallel and zero-capacity arcs, isolated nodes) for the
network-level back-ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from matchcore.model.problem import FlowNetwork, TransportProblem

__all__ = [
    "CATEGORIES",
    "CHANGE_KINDS",
    "Instance",
    "districts",
    "flow_networks",
    "instances",
    "random_district",
    "random_instance",
    "relabel_district",
    "round_changes",
    "shuffle_district",
    "staff_lists",
]

#: Scores that tie often, zero included.
TIED_SCORES = (0.0, 0.25, 0.5, 0.5, 0.75, 1.0)


@dataclass
class Instance:
    """A transportation instance: ids sorted, edges as index arrays.

    ``weight`` is the per-unit value of each need in the first phase of the
    coverage objective (priorities); ``solve_assignment`` uses all ones.
    """

    need_ids: list[str]
    resource_ids: list[str]
    demand: np.ndarray
    capacity: np.ndarray
    need: np.ndarray
    resource: np.ndarray
    score: np.ndarray
    weight: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.weight is None:
            self.weight = np.ones(len(self.need_ids), dtype=np.int64)
        order = np.lexsort((self.resource, self.need))
        self.need = np.asarray(self.need, dtype=np.int64)[order]
        self.resource = np.asarray(self.resource, dtype=np.int64)[order]
        self.score = np.asarray(self.score, dtype=float)[order]

    @property
    def n_edges(self) -> int:
        return len(self.need)

    def problem(self, objective: str = "coverage") -> TransportProblem:
        return TransportProblem(
            self.need, self.resource, np.asarray(self.demand, np.int64),
            np.asarray(self.capacity, np.int64), self.score,
            np.asarray(self.weight, np.int64), objective,  # type: ignore[arg-type]
        )

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """``(edges, needs, resources)`` as :func:`matchcore.solve_assignment` takes them."""
        edges = pd.DataFrame({
            "need_id": pd.Series([self.need_ids[i] for i in self.need], dtype=object),
            "resource_id": pd.Series([self.resource_ids[j] for j in self.resource], dtype=object),
            "score": self.score,
        })
        needs = pd.DataFrame({"need_id": pd.Series(self.need_ids, dtype=object),
                              "demand": self.demand})
        resources = pd.DataFrame({"resource_id": pd.Series(self.resource_ids, dtype=object),
                                  "capacity": self.capacity})
        return edges, needs, resources


def _ids(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{k:02d}" for k in range(n)]


@st.composite
def instances(
    draw: st.DrawFn,
    *,
    max_needs: int = 6,
    max_resources: int = 6,
    max_units: int = 4,
    max_edges: int | None = None,
    negative: bool = False,
    priorities: bool = False,
) -> Instance:
    """Random transportation instances.

    Scores mix a tied set (zeros included) with arbitrary floats; some needs
    and resources have no edge (isolated), and either list may be empty.
    ``negative`` allows scores below zero; ``priorities`` draws need weights 1-5.
    """
    n = draw(st.integers(0, max_needs))
    m = draw(st.integers(0, max_resources))
    demand = np.array(draw(st.lists(st.integers(1, max_units), min_size=n, max_size=n)),
                      dtype=np.int64)
    capacity = np.array(draw(st.lists(st.integers(1, max_units), min_size=m, max_size=m)),
                        dtype=np.int64)
    pairs = [(i, j) for i in range(n) for j in range(m)]
    chosen = (draw(st.lists(st.sampled_from(pairs), unique=True, max_size=max_edges))
              if pairs else [])
    low = -1.0 if negative else 0.0
    value = st.one_of(
        st.sampled_from(TIED_SCORES if not negative else (*TIED_SCORES, -0.5)),
        st.floats(low, 1.0, allow_nan=False, allow_infinity=False),
    )
    score = draw(st.lists(value, min_size=len(chosen), max_size=len(chosen)))
    weight = (
        np.array(draw(st.lists(st.integers(1, 5), min_size=n, max_size=n)), dtype=np.int64)
        if priorities else None
    )
    return Instance(
        _ids("n", n), _ids("r", m), demand, capacity,
        np.array([p[0] for p in chosen], dtype=np.int64),
        np.array([p[1] for p in chosen], dtype=np.int64),
        np.array(score, dtype=float), weight,
    )


def random_instance(
    rng: np.random.Generator,
    *,
    max_needs: int = 7,
    max_resources: int = 7,
    max_units: int = 4,
    density: float | None = None,
    priorities: bool = True,
) -> Instance:
    """A random instance from a numpy generator (for seeded sweeps).

    Scores come from a small tied set half of the time (zeros included);
    density varies so that some instances have no edge at all.
    """
    # Mostly non-trivial; now and then an empty list or no edge at all.
    n = 0 if rng.random() < 0.04 else int(rng.integers(1, max_needs + 1))
    m = 0 if rng.random() < 0.04 else int(rng.integers(1, max_resources + 1))
    if density is None:
        p = 0.0 if rng.random() < 0.04 else float(rng.uniform(0.15, 0.8))
    else:
        p = density
    mask = rng.random((n, m)) < p
    need, resource = np.nonzero(mask)
    if rng.random() < 0.5:
        score = rng.choice(np.array(TIED_SCORES), size=len(need))
    else:
        score = np.round(rng.random(len(need)), int(rng.integers(1, 6)))
    weight = rng.integers(1, 6, size=n) if priorities else None
    return Instance(
        _ids("n", n), _ids("r", m),
        rng.integers(1, max_units + 1, size=n), rng.integers(1, max_units + 1, size=m),
        need, resource, score, weight,
    )


# ---------------------------------------------------------------------------
# flow networks

#: Capacities of random networks: zero, small, and far beyond any supply.
CAPACITIES = (0, 1, 2, 3, 5, 10**12, 2**62)


@st.composite
def flow_networks(
    draw: st.DrawFn,
    *,
    max_nodes: int = 9,
    max_arcs: int = 24,
    max_cost: int = 6,
    supplies: bool = True,
) -> FlowNetwork:
    """Random min-cost flow networks, feasible or not.

    Costs of both signs from a small range (ties and zero-cost cycles are
    common, so bases are degenerate), capacities from :data:`CAPACITIES`,
    self-loops and parallel arcs allowed, nodes without arcs allowed.
    Supplies, when drawn, are moved in pairs so that they sum to 0 (they may
    still be infeasible for the arcs).
    """
    n = draw(st.integers(1, max_nodes))
    m = draw(st.integers(0, max_arcs))
    node = st.integers(0, n - 1)
    tail = draw(st.lists(node, min_size=m, max_size=m))
    head = draw(st.lists(node, min_size=m, max_size=m))
    cap = draw(st.lists(st.sampled_from(CAPACITIES), min_size=m, max_size=m))
    cost = draw(st.lists(st.integers(-max_cost, max_cost), min_size=m, max_size=m))
    supply = np.zeros(n, dtype=np.int64)
    if supplies:
        for a, b, q in draw(st.lists(st.tuples(node, node, st.integers(0, 4)), max_size=4)):
            supply[a] += q
            supply[b] -= q
    return FlowNetwork(n, np.array(tail, np.int64), np.array(head, np.int64),
                       np.array(cap, np.int64), np.array(cost, np.int64), supply)


# ---------------------------------------------------------------------------
# districts

#: Categories of random districts: related pairs under the default taxonomy
#: (elderly_care–medical 0.6, elderly_care–cleaning 0.4, repair–cleaning 0.3)
#: and one with no relative among them (legal_aid).
CATEGORIES = ("elderly_care", "medical", "repair", "cleaning", "legal_aid")
COMMUNITIES = ("东湖社区", "西山社区", "南苑社区")
GRIDS = ("G1", "G2")
SKILLS = ("护理", "驾驶", "电工")
DAYS = tuple(pd.Timestamp("2024-05-01") + pd.Timedelta(hours=12 * k) for k in range(6))


def _maybe(draw: st.DrawFn, values: st.SearchStrategy, p_none: bool = True):
    return draw(st.one_of(st.none(), values) if p_none else values)


@st.composite
def _skills(draw: st.DrawFn) -> str | None:
    items = draw(st.lists(st.sampled_from(SKILLS), unique=True, max_size=3))
    if not items:
        return draw(st.sampled_from([None, ""]))
    sep = draw(st.sampled_from([";", "；", "; "]))
    return sep.join(items)


@st.composite
def _window(draw: st.DrawFn) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    start = draw(st.one_of(st.none(), st.sampled_from(DAYS)))
    if start is None:
        return None, draw(st.one_of(st.none(), st.sampled_from(DAYS)))
    end = draw(st.one_of(st.none(), st.sampled_from([d for d in DAYS if d >= start])))
    return start, end


@st.composite
def districts(
    draw: st.DrawFn,
    *,
    max_needs: int = 8,
    max_resources: int = 6,
    extent: int = 3000,
    windows: bool = True,
    skills: bool = True,
    radius: bool = True,
    min_needs: int = 0,
    min_resources: int = 0,
    latlon: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random small districts ``(needs, resources)`` on an ``extent``-metre square.

    Positions lie on a 100 m lattice (so that distances tie and hit reach
    limits exactly); communities, grids, skills (``;`` and ``；``), windows,
    service radii and co-building partners are drawn when enabled. With
    ``latlon`` the positions are given as WGS84 ``lat``/``lon`` near 30°N, 120°E.
    """
    n = draw(st.integers(min_needs, max_needs))
    m = draw(st.integers(min_resources, max_resources))
    coord = st.integers(0, extent // 100).map(lambda v: float(v * 100))

    def rows(k: int, kind: str) -> dict[str, list]:
        cols: dict[str, list] = {"category": [], "x": [], "y": [], "community": [], "grid": []}
        if skills:
            cols["skills"] = []
        if windows:
            cols["window_start"], cols["window_end"] = [], []
        for _ in range(k):
            cols["category"].append(draw(st.sampled_from(CATEGORIES)))
            cols["x"].append(draw(coord))
            cols["y"].append(draw(coord))
            cols["community"].append(_maybe(draw, st.sampled_from(COMMUNITIES)))
            cols["grid"].append(_maybe(draw, st.sampled_from(GRIDS)))
            if skills:
                # Needs ask for few skills, resources offer more: both outcomes happen.
                cols["skills"].append(draw(_skills()) if kind == "resource" or
                                      draw(st.booleans()) else None)
            if windows:
                s, e = draw(_window())
                cols["window_start"].append(s)
                cols["window_end"].append(e)
        return cols

    need_cols = rows(n, "need")
    needs = pd.DataFrame({
        "need_id": [f"N-{k:03d}" for k in range(n)],
        **need_cols,
        "demand": draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)),
        "priority": draw(st.lists(st.integers(1, 5), min_size=n, max_size=n)),
    })
    res_cols = rows(m, "resource")
    resources = pd.DataFrame({
        "resource_id": [f"R-{k:03d}" for k in range(m)],
        **res_cols,
        "capacity": draw(st.lists(st.integers(1, 3), min_size=m, max_size=m)),
    })
    if radius:
        resources["max_distance"] = draw(st.lists(
            st.one_of(st.none(), st.sampled_from([0.0, 500.0, 1000.0, 1500.0])),
            min_size=m, max_size=m))
        resources["partner_communities"] = draw(st.lists(
            st.one_of(st.none(), st.lists(st.sampled_from(COMMUNITIES), unique=True,
                                          min_size=1).map("；".join)),
            min_size=m, max_size=m))
    for frame in (needs, resources):
        for col in ("window_start", "window_end"):
            if col in frame.columns:
                frame[col] = pd.to_datetime(frame[col])
        for col in ("x", "y"):
            frame[col] = frame[col].astype(float)
    if latlon:
        metres_per_degree = 6_371_008.8 * np.pi / 180
        needs, resources = (
            f.assign(lat=30.0 + f["y"] / metres_per_degree,
                     lon=120.0 + f["x"] / (metres_per_degree * np.cos(np.radians(30.0))))
            .drop(columns=["x", "y"])
            for f in (needs, resources)
        )
    return needs, resources


def random_district(
    rng: np.random.Generator, n_needs: int = 40, n_resources: int = 25, extent: float = 3000.0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A seeded random district with every optional column (for sweeps)."""
    def base(k: int, prefix: str) -> pd.DataFrame:
        return pd.DataFrame({
            f"{prefix}_id": [f"{prefix[0].upper()}-{v:04d}" for v in range(k)],
            "category": rng.choice(CATEGORIES, size=k),
            "x": np.round(rng.uniform(0, extent, size=k), -1),
            "y": np.round(rng.uniform(0, extent, size=k), -1),
            "community": rng.choice(np.array([*COMMUNITIES, None], dtype=object), size=k),
            "grid": rng.choice(np.array([*GRIDS, None], dtype=object), size=k),
            "skills": rng.choice(np.array([None, "护理", "驾驶；护理", "电工;驾驶;护理"],
                                          dtype=object), size=k),
        })
    needs = base(n_needs, "need").assign(
        demand=rng.integers(1, 4, size=n_needs), priority=rng.integers(1, 6, size=n_needs))
    needs["skills"] = np.where(rng.random(n_needs) < 0.6, None, needs["skills"])
    resources = base(n_resources, "resource").assign(
        capacity=rng.integers(1, 5, size=n_resources),
        max_distance=rng.choice(np.array([np.nan, 600.0, 1200.0]), size=n_resources),
    )
    return needs, resources


def shuffle_district(
    needs: pd.DataFrame, resources: pd.DataFrame, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same district with its rows in another order (and a fresh index)."""
    rng = np.random.default_rng(seed)
    return (
        needs.iloc[rng.permutation(len(needs))].reset_index(drop=True),
        resources.iloc[rng.permutation(len(resources))].reset_index(drop=True),
    )


def relabel_district(
    needs: pd.DataFrame, resources: pd.DataFrame, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str], dict[str, str]]:
    """The same district with ids renamed so that their order changes.

    Returns the frames and the maps old id -> new id.
    """
    rng = np.random.default_rng(seed)
    nmap = dict(zip(needs["need_id"], [f"x{v:04d}" for v in rng.permutation(len(needs))]))
    rmap = dict(zip(resources["resource_id"],
                    [f"y{v:04d}" for v in rng.permutation(len(resources))]))
    return (
        needs.assign(need_id=needs["need_id"].map(nmap)),
        resources.assign(resource_id=resources["resource_id"].map(rmap)),
        nmap, rmap,
    )


@st.composite
def bundled_districts(draw: st.DrawFn, *, max_needs: int = 6, max_resources: int = 4):
    """Small districts whose needs may share a ``bundle`` id (team needs)."""
    needs, resources = draw(districts(max_needs=max_needs, max_resources=max_resources,
                                      windows=False, skills=False, min_needs=1))
    labels = draw(st.lists(st.sampled_from([None, "T1", "T2"]), min_size=len(needs),
                           max_size=len(needs)))
    return needs.assign(bundle=labels), resources


# ---------------------------------------------------------------------------
# needs lists as district staff write them (issue 14)

#: Every documented spelling of a header of the needs list.
HEADER_SPELLINGS = {
    "need_id": ("need_id", "需求编号", " Need ID ", "\ufeff需求编号", "需求编号 (need_id)"),
    "category": ("category", "类别", "CATEGORY", "类别（category）"),
    "demand": ("demand", "需求数量", "Demand"),
    "priority": ("priority", "优先级", "优先级 (1-5)"),
    "community": ("community", "社区", "所属社区"),
    "skills": ("skills", "技能"),
    "x": ("x", "X"),
    "y": ("y", "Y"),
    "window_start": ("window_start", "开始时间", "Window Start"),
}
#: The documented separators of a list cell.
LIST_SEPARATORS = (";", "；", "、", "，", ",", "|", "/", "\n", "; ")
SKILL_WORDS = ("护理", "陪诊", "助餐", "理发", "维修")
#: A valid window start and the spellings that read as it.
DATE_SPELLINGS = {
    "2025-05-03 09:00:00": ("2025-05-03 09:00", "2025/5/3 9:00", "2025.05.03 09:00",
                            "2025年5月3日 09:00", "2025-05-03T01:00Z", "2025-05-03T09:00+08:00"),
    "2025-12-31 00:00:00": ("2025-12-31", "20251231", "31/12/2025", "2025/12/31"),
}


@st.composite
def staff_lists(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, str, str]:
    """A valid needs list twice: canonical, and as staff write it; a suffix and an encoding.

    The written one uses any documented header spelling, category word
    (Chinese name or synonym), list separator and date form; it is written to
    ``suffix`` (".csv" in ``encoding``, or ".xlsx") and must read back as the
    canonical one.
    """
    from matchcore.categories import CATEGORY_ALIASES, DEFAULT_CATEGORIES

    n = draw(st.integers(1, 5))
    cats = draw(st.lists(st.sampled_from(CATEGORIES), min_size=n, max_size=n))
    skills = draw(st.lists(st.lists(st.sampled_from(SKILL_WORDS), max_size=3, unique=True),
                           min_size=n, max_size=n))
    dates = draw(st.lists(st.sampled_from(sorted(DATE_SPELLINGS)), min_size=n, max_size=n))
    canonical = pd.DataFrame({
        "need_id": [f"N{k}" for k in range(n)],
        "category": cats,
        "demand": draw(st.lists(st.integers(1, 9), min_size=n, max_size=n)),
        "priority": draw(st.lists(st.integers(1, 5), min_size=n, max_size=n)),
        "community": draw(st.lists(st.sampled_from(["东湖社区", "西山社区"]), min_size=n,
                                   max_size=n)),
        "skills": [";".join(s) or None for s in skills],
        "x": [float(v) for v in draw(st.lists(st.integers(-500, 500), min_size=n, max_size=n))],
        "y": [float(v) for v in draw(st.lists(st.integers(-500, 500), min_size=n, max_size=n))],
        "window_start": dates,
    })
    written = canonical.copy()
    written["category"] = [
        draw(st.sampled_from((c, DEFAULT_CATEGORIES[c], *CATEGORY_ALIASES[c]))) for c in cats]
    written["skills"] = [draw(st.sampled_from(LIST_SEPARATORS)).join(s) or None for s in skills]
    written["window_start"] = [draw(st.sampled_from(DATE_SPELLINGS[d])) for d in dates]
    written.columns = [draw(st.sampled_from(HEADER_SPELLINGS[c])) for c in canonical.columns]
    suffix = draw(st.sampled_from([".csv", ".xlsx"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
    return canonical, written, suffix, encoding


#: Kinds of change between two rounds, as drawn by :func:`round_changes`.
CHANGE_KINDS = ("add_need", "drop_need", "change_need", "drop_resource", "weights",
                "stickiness")


@st.composite
def round_changes(draw: st.DrawFn, *, max_changes: int = 4) -> list[tuple[str, int, float]]:
    """A sequence of changes between rounds: ``(kind, which, amount)``.

    ``which`` picks a row (modulo the list's length), ``amount`` in [0, 1]
    sets a new weight, priority or stickiness; kinds are :data:`CHANGE_KINDS`.
    """
    kind = st.sampled_from(CHANGE_KINDS)
    return draw(st.lists(st.tuples(kind, st.integers(0, 50),
                                   st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0])),
                         min_size=1, max_size=max_changes))
