"""Synthetic districts for examples, tests and benchmarks.

:func:`tiny` is a fixed five-need district used in docstrings and tests;
:func:`district` builds realistic districts from a preset (:data:`PRESETS`):
``seed_street`` calibrated to a real street, ``district_10k``, ``city_100k`` and
``city_1m`` for benchmarks; :func:`street` and :func:`province_rounds` build a
province of many streets one street at a time (the rounds of
:func:`matchcore.match_many`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from .checks import check_choice, check_scalar
from .errors import InputError
from .model.taxonomy import DEFAULT_CATEGORIES

__all__ = [
    "KINDS",
    "PRESETS",
    "PROVINCE",
    "Spec",
    "district",
    "province_recipes",
    "province_rounds",
    "street",
    "street_seed",
    "suggested_max_distance",
    "tiny",
]


def tiny() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A fixed, hand-made district: 5 needs, 4 resources, positions in metres.

    Each unmet reason is represented: N4 has no compatible resource (no legal
    aid is offered) and N5 is out of reach at 2 km.

    Returns
    -------
    needs, resources : pandas.DataFrame

    Examples
    --------
    >>> from matchcore import synthetic
    >>> needs, resources = synthetic.tiny()
    >>> len(needs), len(resources)
    (5, 4)
    """
    needs = pd.DataFrame({
        "need_id": ["N1", "N2", "N3", "N4", "N5"],
        "category": ["elderly_care", "repair", "childcare", "legal_aid", "medical"],
        "demand": [2, 1, 3, 2, 1],
        "x": [0.0, 500.0, 1500.0, 300.0, 5000.0],
        "y": [0.0, 0.0, 500.0, 300.0, 5000.0],
        "community": ["东湖社区", "东湖社区", "西山社区", "西山社区", "南苑社区"],
        "grid": ["G1", "G1", "G2", "G2", "G3"],
        "priority": [5, 3, 4, 2, 3],
        "requester_kind": ["resident", "resident", "employee", "enterprise", "resident"],
        "description": ["独居老人助餐", "水管维修", "课后托管", "劳动合同咨询", "上门问诊"],
    })
    resources = pd.DataFrame({
        "resource_id": ["R1", "R2", "R3", "R4"],
        "category": ["elderly_care", "repair", "education", "medical"],
        "capacity": [3, 2, 2, 1],
        "x": [100.0, 400.0, 1400.0, 0.0],
        "y": [0.0, 100.0, 400.0, 100.0],
        "community": ["东湖社区", "东湖社区", "西山社区", "东湖社区"],
        "grid": ["G1", "G1", "G2", "G1"],
        "provider": ["东湖志愿服务队", "物业维修部", "社区学校", "社区卫生服务站"],
        "provider_kind": ["volunteer_team", "enterprise", "unit", "unit"],
        "partner_communities": ["西山社区", None, "东湖社区", None],
    })
    return needs, resources


# ---------------------------------------------------------------------------
# synthetic districts

Profile = Literal["old", "new", "mixed", "business"]
PROFILES: tuple[str, ...] = ("old", "new", "mixed", "business")

_CATS: tuple[str, ...] = tuple(DEFAULT_CATEGORIES)
_C = {c: k for k, c in enumerate(_CATS)}


def _probs(weights: dict[str, float]) -> np.ndarray:
    p = np.zeros(len(_CATS))
    for c, w in weights.items():
        p[_C[c]] = w
    return p / p.sum()


# Need categories by requester group: old communities need elderly care, new
# ones childcare and education, enterprises and their staff employment and law.
_NEED_MIX: dict[str, np.ndarray] = {
    "old": _probs({"elderly_care": 28, "medical": 14, "disability_support": 6, "repair": 10,
                   "cleaning": 7, "psychological_support": 4, "legal_aid": 4, "culture_sport": 7,
                   "environment": 6, "safety_patrol": 4, "childcare": 2, "education": 3,
                   "employment": 2, "venue": 1, "funding": 1, "community_service": 1}),
    "new": _probs({"childcare": 20, "education": 16, "elderly_care": 6, "medical": 7,
                   "repair": 8, "culture_sport": 10, "employment": 6, "environment": 5,
                   "venue": 4, "legal_aid": 4, "psychological_support": 4, "cleaning": 4,
                   "safety_patrol": 3, "disability_support": 1, "funding": 1,
                   "community_service": 1}),
    "enterprise": _probs({"employment": 22, "legal_aid": 15, "venue": 12, "funding": 10,
                          "environment": 8, "safety_patrol": 6, "culture_sport": 6,
                          "community_service": 6}),
    "employee": _probs({"childcare": 22, "legal_aid": 12, "psychological_support": 12,
                        "culture_sport": 14, "medical": 10, "education": 10, "employment": 12,
                        "community_service": 8}),
}
_NEED_MIX["mixed"] = (_NEED_MIX["old"] + _NEED_MIX["new"]) / 2
_NEED_MIX["business"] = _NEED_MIX["mixed"]

#: (lowest, highest) demand per category: visits, hours, half-days or thousand yuan.
_DEMAND = {c: (1, 3) for c in _CATS} | {
    "elderly_care": (2, 6), "childcare": (1, 4), "education": (2, 8), "venue": (1, 3),
    "funding": (2, 20), "disability_support": (1, 4), "culture_sport": (1, 5),
}
_PRIORITY = {c: 3 for c in _CATS} | {
    "elderly_care": 4, "medical": 4, "disability_support": 4, "psychological_support": 4,
    "safety_patrol": 3, "culture_sport": 2, "venue": 2, "funding": 2,
}
_SKILLS: dict[str, tuple[str, str, str]] = {
    "elderly_care": ("助餐", "助浴", "陪诊"), "medical": ("护理", "急救", "慢病管理"),
    "repair": ("水电", "家电", "门窗"), "cleaning": ("家政", "消杀", "保洁"),
    "legal_aid": ("劳动法", "婚姻家事", "物业纠纷"),
    "psychological_support": ("心理咨询", "情绪疏导", "危机干预"),
    "education": ("作业辅导", "英语", "编程"), "childcare": ("托管", "早教", "接送"),
    "employment": ("职业指导", "技能培训", "招聘对接"), "culture_sport": ("书法", "舞蹈", "太极"),
    "environment": ("绿化", "垃圾分类", "楼道清理"),
    "safety_patrol": ("夜间巡逻", "消防", "反诈宣传"),
    "disability_support": ("手语", "康复", "助行"),
}
_DESCRIPTION = {
    "elderly_care": "独居老人助餐", "childcare": "课后托管", "repair": "水管维修",
    "cleaning": "楼道保洁", "legal_aid": "法律咨询", "medical": "上门问诊",
    "psychological_support": "心理疏导", "education": "学业辅导", "employment": "就业帮扶",
    "culture_sport": "文体活动", "environment": "环境整治", "safety_patrol": "夜间巡逻",
    "venue": "活动场地", "funding": "微项目资金（千元）", "disability_support": "助残服务",
    "community_service": "政策咨询代办",
}

# Resource kinds: what they offer, where they are, how big they are.
# where: "home" (a residential grid), "grid" (their assigned grid), "centre"
# (a community centre), "business" (a business community).
_KINDS: dict[str, dict[str, Any]] = {
    "volunteer": dict(label="志愿者", where="home", size=2, radius=800.0, window=True,
                      cats=("elderly_care", "repair", "cleaning", "education", "childcare",
                            "culture_sport", "environment")),
    "party_member": dict(label="在职党员", where="home", size=3, radius=1500.0, window=True,
                         cats=("education", "legal_aid", "medical", "culture_sport",
                               "psychological_support", "employment", "repair",
                               "elderly_care")),
    "cadre": dict(label="下沉干部", where="grid", size=4, radius=np.nan, window=False,
                  cats=("community_service", "safety_patrol", "environment", "elderly_care")),
    "committee_member": dict(label="兼职委员", where="centre", size=4, radius=np.nan,
                             window=False,
                             cats=("community_service", "legal_aid", "employment")),
    "instructor": dict(label="党建指导员", where="centre", size=8, radius=np.nan, window=False,
                       cats=("community_service",)),
    "volunteer_team": dict(label="志愿服务队", where="centre", size=0, radius=np.nan,
                           window=False,
                           cats=("elderly_care", "environment", "safety_patrol", "culture_sport",
                                 "childcare", "cleaning", "disability_support")),
    "unit": dict(label="驻区单位", where="business", size=12, radius=np.nan, window=False,
                 cats=("venue", "medical", "education", "legal_aid", "culture_sport",
                       "employment", "psychological_support")),
    "enterprise": dict(label="企业", where="business", size=10, radius=np.nan, window=False,
                       cats=("employment", "repair", "funding", "cleaning", "venue")),
    "social_org": dict(label="社会组织", where="centre", size=15, radius=np.nan, window=False,
                       cats=("elderly_care", "childcare", "psychological_support",
                             "disability_support", "education")),
    "space": dict(label="党群服务阵地", where="centre", size=8, radius=np.nan, window=False,
                  cats=("venue",)),
    "fund": dict(label="社区基金", where="centre", size=40, radius=np.nan, window=False,
                 cats=("funding",)),
}
KINDS: tuple[str, ...] = tuple(_KINDS)

_NAMES_A = ("东湖", "西山", "南苑", "北辰", "梅园", "桂花", "紫阳", "青山", "石桥", "柳林",
            "杨园", "新华", "建设", "和平", "友谊", "幸福", "团结", "光明", "长江", "汉江",
            "月湖", "晴川", "首义", "积玉", "花园", "丹水", "水果", "中山", "民主", "胜利",
            "复兴", "振兴")
_NAMES_B = ("", "里", "苑", "村", "湾", "街", "坊", "城", "园", "路", "桥", "台", "岭", "港",
            "门", "巷")

ORIGIN = (30.5928, 114.3055)
_M_PER_DEG_LAT = math.pi / 180.0 * 6_371_008.8
ROUND_START = np.datetime64("2025-03-03T00:00", "m")
ROUND_DAYS = 28


@dataclass(frozen=True)
class Spec:
    """Parameters of a synthetic district (every preset is one; override any field).

    Attributes
    ----------
    n_needs : int
        Needs in the round.
    kinds : mapping of str to int
        Number of resources of each provider kind (:data:`KINDS`).
    n_communities : int
        Communities (社区); each is a spatial cluster with an age profile.
    grids_per_community : float
        Mean grids (网格) per community; total ``n_grids`` when set overrides it.
    n_grids : int or None
        Exact total of grids, spread over communities by population.
    profile_mix : mapping of profile to float
        Shares of ``old``, ``new``, ``mixed`` and ``business`` communities.
    spacing : float
        Metres between neighbouring community centres (> 0, at most 10,000).
    scarcity : float or mapping of category to float
        Supply / demand ratio of capacity units per category (from 0 to 1e6).
    partner_share : float
        Share of public units with a co-building agreement (共建).
    team_members : int
        Total volunteers of all volunteer teams.
    resources_per_provider : float
        Units and enterprises offer 1 or 2 resources; mean resources each.
    skill_share : float
        Share of needs that require one skill.
    max_distance : float
        Suggested global ``max_distance`` in metres (5–40 candidates per need).
    street : str
        Name of the street (街道) or city, in the extra ``street`` column.
    """

    n_needs: int = 1_260
    kinds: Mapping[str, int] = field(default_factory=dict)
    n_communities: int = 6
    grids_per_community: float = 7.0
    n_grids: int | None = None
    profile_mix: Mapping[str, float] = field(
        default_factory=lambda: {"old": 0.35, "new": 0.3, "mixed": 0.23, "business": 0.12}
    )
    spacing: float = 1_100.0
    scarcity: float | Mapping[str, float] = 0.9
    partner_share: float = 0.6
    team_members: int = 2_500
    resources_per_provider: float = 1.0
    skill_share: float = 0.2
    max_distance: float = 700.0
    street: str = "东湖街道"


def _kind_shares(n: int) -> dict[str, int]:
    shares = {"volunteer": 0.40, "party_member": 0.20, "cadre": 0.10, "volunteer_team": 0.03,
              "unit": 0.07, "enterprise": 0.08, "social_org": 0.04, "committee_member": 0.03,
              "instructor": 0.01, "space": 0.03, "fund": 0.01}
    counts = {k: round(n * s) for k, s in shares.items()}
    counts["volunteer"] += n - sum(counts.values())
    return counts


#: The presets: ``seed_street`` is calibrated to a real street's report; the
#: others are benchmark cities with about as many resources as needs.
PRESETS: dict[str, Spec] = {
    "seed_street": Spec(
        n_needs=1_260,
        kinds={"volunteer": 120, "party_member": 146, "cadre": 84, "committee_member": 32,
               "instructor": 9, "volunteer_team": 18, "unit": 35, "enterprise": 22,
               "social_org": 13, "space": 8, "fund": 5},
        n_communities=6, n_grids=42,
        profile_mix={"old": 2, "new": 2, "mixed": 1, "business": 1},
        resources_per_provider=1.3, max_distance=700.0,
    ),
    "district_10k": Spec(n_needs=10_000, kinds=_kind_shares(10_000), n_communities=40,
                         spacing=1_000.0, team_members=40 * 420, max_distance=300.0,
                         street="江岸区"),
    "city_100k": Spec(n_needs=100_000, kinds=_kind_shares(100_000), n_communities=400,
                      spacing=1_000.0, team_members=400 * 420, max_distance=300.0,
                      street="江城市"),
    "city_1m": Spec(n_needs=1_000_000, kinds=_kind_shares(1_000_000), n_communities=4_000,
                    spacing=1_000.0, team_members=4_000 * 420, max_distance=300.0,
                    street="江城市"),
}


def suggested_max_distance(preset: str) -> float:
    """The global ``max_distance`` (metres) that gives 5–40 candidates per need.

    Examples
    --------
    >>> suggested_max_distance("seed_street")
    700.0
    """
    return _spec(preset, {}).max_distance


def _spec(preset: str | None, overrides: Mapping[str, Any]) -> Spec:
    if preset is None:
        base = PRESETS["seed_street"]
    else:
        base = PRESETS[check_choice(preset, "preset", list(PRESETS))]
    names = {f.name for f in fields(Spec)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise InputError(f"unknown district parameter(s) {unknown}; valid: {sorted(names)}")
    if "n_needs" in overrides:
        check_scalar(overrides["n_needs"], "n_needs", "int", low=1)
    spec = replace(base, **overrides)
    if "n_needs" in overrides and "kinds" not in overrides and preset != "seed_street":
        spec = replace(spec, kinds=_kind_shares(spec.n_needs))
    return _checked(spec)


#: Largest ``scarcity``: capacities stay far below matchcore's limit of 2**53 units.
MAX_SCARCITY = 1e6
#: Largest ``spacing`` (metres): a city of thousands of communities stays on the map.
MAX_SPACING = 10_000.0


def _checked(spec: Spec) -> Spec:
    """Every field of ``spec`` checked (:func:`~matchcore.checks.check_scalar`), as plain values."""
    kinds = _check_mapping(spec.kinds, "kinds", KINDS)
    kinds = {k: check_scalar(v, f"kinds[{k!r}]", "int", low=0) for k, v in kinds.items()}
    if sum(kinds.values()) < 1:
        raise InputError(f"`kinds` must hold at least one resource; got {dict(spec.kinds)!r}")
    mix = _check_mapping(spec.profile_mix, "profile_mix", PROFILES)
    mix = {k: check_scalar(v, f"profile_mix[{k!r}]", "float", low=0) for k, v in mix.items()}
    if sum(mix.values()) <= 0:
        raise InputError(f"`profile_mix` must have a share > 0; got {dict(spec.profile_mix)!r}")
    n_communities = check_scalar(spec.n_communities, "n_communities", "int", low=1)
    if isinstance(spec.scarcity, Mapping):
        scarcity: float | Mapping[str, float] = {
            c: check_scalar(v, f"scarcity[{c!r}]", "float", low=0, high=MAX_SCARCITY)
            for c, v in _check_mapping(spec.scarcity, "scarcity", _CATS).items()
        }
    else:
        scarcity = check_scalar(spec.scarcity, "scarcity", "float", low=0, high=MAX_SCARCITY,
                                unit="capacity units per unit of demand")
    if not isinstance(spec.street, str) or not spec.street.strip():
        raise InputError(f"`street` must be a non-empty str; got {spec.street!r}")
    return replace(
        spec,
        n_needs=check_scalar(spec.n_needs, "n_needs", "int", low=1),
        kinds=kinds,
        n_communities=n_communities,
        grids_per_community=check_scalar(spec.grids_per_community, "grids_per_community",
                                         "float", low=0, low_open=True),
        n_grids=check_scalar(spec.n_grids, "n_grids", "int", low=n_communities,
                             allow_none=True, unit="at least one per community"),
        profile_mix=mix,
        spacing=check_scalar(spec.spacing, "spacing", "float", low=0, low_open=True,
                             high=MAX_SPACING, unit="metres"),
        scarcity=scarcity,
        partner_share=check_scalar(spec.partner_share, "partner_share", "float", low=0, high=1),
        team_members=check_scalar(spec.team_members, "team_members", "int", low=0),
        resources_per_provider=check_scalar(spec.resources_per_provider,
                                            "resources_per_provider", "float", low=1, high=2),
        skill_share=check_scalar(spec.skill_share, "skill_share", "float", low=0, high=1),
        max_distance=check_scalar(spec.max_distance, "max_distance", "float", low=0,
                                  low_open=True, unit="metres"),
    )


def _check_mapping(value: Any, name: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """``value`` as a dict whose keys are among ``keys``."""
    if not isinstance(value, Mapping):
        raise InputError(f"`{name}` must be a mapping with keys among {list(keys)}; "
                         f"got {value!r}")
    bad = [k for k in value if k not in keys]
    if bad:
        raise InputError(f"`{name}` keys must be among {list(keys)}; got {bad!r}")
    return dict(value)


def _community_names(n: int) -> np.ndarray:
    a = np.array(_NAMES_A, dtype=object)
    b = np.array(_NAMES_B, dtype=object)
    k = np.arange(n)
    names = a[k % len(a)] + b[(k // len(a)) % len(b)]
    over = k >= len(a) * len(b)
    if over.any():
        names[over] = names[over] + (k[over] // (len(a) * len(b)) + 1).astype(str).astype(object)
    return names + "社区"


def _ids(prefix: str, n: int) -> np.ndarray:
    width = max(4, len(str(n)))
    return (prefix + pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(width)).to_numpy(
        dtype=object
    )


def _to_latlon(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat0, lon0 = ORIGIN
    lat = np.round(lat0 + xy[:, 1] / _M_PER_DEG_LAT, 6)
    lon = np.round(lon0 + xy[:, 0] / (_M_PER_DEG_LAT * math.cos(math.radians(lat0))), 6)
    return lat, lon


def district(
    preset: str | None = None,
    *,
    seed: int | None = 0,
    progress: Callable[[str, float], None] | None = None,
    **overrides: Any,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A synthetic district: needs and resources with realistic structure.

    Communities are spatial clusters of different density and age profile
    (old communities need more elderly care, new ones more childcare, business
    communities host enterprises whose staff have needs too); grids lie inside
    communities; resources sit where their providers are (volunteers and
    party members at home, cadres in their grid, teams, spaces and funds at
    community centres, enterprises and units in business areas). Capacities
    are scaled per category to the ``scarcity`` ratio of supply to demand.

    Parameters
    ----------
    preset : {"seed_street", "district_10k", "city_100k", "city_1m"}, optional
        The parameter set (:data:`PRESETS`); ``seed_street`` when None.
    seed : int >= 0 or None, default 0
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same
        frames (None: fresh entropy, a different district each call).
    progress : callable, optional
        Called as ``progress(step, fraction_done)`` between steps.
    **overrides
        Any field of :class:`Spec` (``n_needs``, ``scarcity``,
        ``n_communities``, ...).

    Returns
    -------
    needs, resources : pandas.DataFrame
        Valid for :func:`matchcore.read_needs` / :func:`matchcore.read_resources`,
        positions in ``lat``/``lon``; extra columns ``street`` and (resources)
        ``members``.

    Raises
    ------
    InputError
        Unknown preset (the valid ones are listed) or parameters, or a
        parameter outside its range: every one is checked with
        :func:`matchcore.checks.check_scalar` (``n_needs`` an integer >= 1,
        ``seed`` an integer >= 0 or None, ``scarcity`` a number >= 0 or a
        mapping of category to one, shares from 0 to 1, ...).

    See Also
    --------
    suggested_max_distance, tiny

    Examples
    --------
    >>> from matchcore import synthetic
    >>> needs, resources = synthetic.district("seed_street", seed=0)
    >>> needs["grid"].groupby(needs["community"]).nunique().sum()
    np.int64(42)
    """
    spec = _spec(preset, overrides)
    rng = np.random.default_rng(check_scalar(seed, "seed", "int", low=0, allow_none=True))
    if progress is not None and not callable(progress):
        raise InputError(f"`progress` must be a callable or None; got {progress!r}")
    return _district(spec, rng, progress)


def _district(
    spec: Spec, rng: np.random.Generator, progress: Callable[[str, float], None] | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    report = progress or (lambda step, done: None)

    report("communities", 0.0)
    comm = _communities(spec, rng)
    report("needs", 0.1)
    needs = _needs(spec, comm, rng)
    report("resources", 0.55)
    resources = _resources(spec, comm, needs, rng)
    report("done", 1.0)
    return needs, resources


@dataclass
class _Place:
    names: np.ndarray          # community names (n_comm,)
    profile: np.ndarray        # profile codes (n_comm,)
    centre: np.ndarray         # (n_comm, 2) metres
    radius: np.ndarray         # (n_comm,)
    weight: np.ndarray         # population share (n_comm,)
    grid_comm: np.ndarray      # community of each grid (n_grids,)
    grid_label: np.ndarray     # grid name (n_grids,)
    grid_xy: np.ndarray        # (n_grids, 2)


def _communities(spec: Spec, rng: np.random.Generator) -> _Place:
    n = spec.n_communities
    mix = np.array([spec.profile_mix.get(p, 0.0) for p in PROFILES], dtype=float)
    counts = np.floor(mix / mix.sum() * n).astype(np.int64)
    counts[np.argsort(-(mix / mix.sum() * n - counts), kind="stable")[: n - counts.sum()]] += 1
    profile = rng.permutation(np.repeat(np.arange(len(PROFILES)), counts))
    cols = math.ceil(math.sqrt(n))
    k = np.arange(n)
    lattice = np.column_stack([k % cols, k // cols]).astype(float) * spec.spacing
    centre = lattice + rng.uniform(-0.2, 0.2, size=(n, 2)) * spec.spacing
    centre -= centre.mean(axis=0)
    # Old communities are dense and compact, new estates spread out.
    radius = np.array([330.0, 480.0, 400.0, 430.0])[profile] * rng.uniform(0.85, 1.15, n)
    density = np.array([1.4, 0.9, 1.0, 0.7])[profile] * rng.uniform(0.7, 1.3, n)
    weight = density * radius**2
    weight /= weight.sum()
    n_grids = spec.n_grids or max(n, round(spec.grids_per_community * n))
    grids = 1 + np.floor(weight * (n_grids - n)).astype(np.int64)
    rest = n_grids - grids.sum()
    grids[np.argsort(-(weight * (n_grids - n) % 1), kind="stable")[:rest]] += 1
    grid_comm = np.repeat(k, grids)
    local = np.arange(len(grid_comm)) - np.repeat(np.cumsum(grids) - grids, grids)
    labels = np.array([f"第{i + 1:02d}网格" for i in range(int(grids.max()))], dtype=object)
    r = radius[grid_comm] * 0.75 * np.sqrt(rng.random(len(grid_comm)))
    a = rng.random(len(grid_comm)) * 2 * np.pi
    grid_xy = centre[grid_comm] + np.column_stack([r * np.cos(a), r * np.sin(a)])
    return _Place(_community_names(n), profile, centre, radius, weight, grid_comm,
                  labels[local], grid_xy)


def _pick(p_rows: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw one category per row from the distribution ``p_rows[rows]``, vectorised."""
    cum = np.cumsum(p_rows, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(len(rows))
    out = np.empty(len(rows), dtype=np.int64)
    for g in np.unique(rows):
        sel = rows == g
        out[sel] = np.searchsorted(cum[g], u[sel], side="right")
    return np.minimum(out, p_rows.shape[1] - 1)


def _windows(
    n: int, rng: np.random.Generator, lo_days: int, hi_days: int
) -> tuple[np.ndarray, np.ndarray]:
    start_min = rng.integers(0, ROUND_DAYS - lo_days + 1, n) * 1440 + rng.integers(8, 19, n) * 60
    length = rng.integers(lo_days, hi_days + 1, n) * 1440
    start = ROUND_START + start_min.astype("timedelta64[m]")
    end = start + length.astype("timedelta64[m]")
    return start.astype("datetime64[ns]"), end.astype("datetime64[ns]")


def _skill_table() -> np.ndarray:
    """Skill strings per (category, 3-bit mask); None for no skill."""
    table = np.full((len(_CATS), 8), None, dtype=object)
    for c, words in _SKILLS.items():
        for mask in range(1, 8):
            table[_C[c], mask] = ";".join(w for b, w in enumerate(words) if mask >> b & 1)
    return table


def _needs(spec: Spec, place: _Place, rng: np.random.Generator) -> pd.DataFrame:
    n = spec.n_needs
    n_grids = len(place.grid_comm)
    # Needs per grid follow the community's population, shared among its grids.
    grid_w = place.weight[place.grid_comm] / np.bincount(place.grid_comm)[place.grid_comm]
    grid = np.repeat(np.arange(n_grids), rng.multinomial(n, grid_w / grid_w.sum()))
    comm = place.grid_comm[grid]
    prof = place.profile[comm]
    business = prof == PROFILES.index("business")
    # Residents everywhere; enterprises and their staff mostly in business areas.
    u = rng.random(n)
    kind = np.where(business, np.where(u < 0.25, 1, np.where(u < 0.65, 2, 0)),
                    np.where(u < 0.03, 1, np.where(u < 0.10, 2, 0)))
    groups = ("old", "new", "mixed", "business", "enterprise", "employee")
    p_rows = np.stack([_NEED_MIX[g] for g in groups])
    rows = np.where(kind == 0, prof, kind + 3)
    cat = _pick(p_rows, rows, rng)
    lo = np.array([_DEMAND[c][0] for c in _CATS])[cat]
    hi = np.array([_DEMAND[c][1] for c in _CATS])[cat]
    demand = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(np.int64)
    priority = np.clip(
        np.array([_PRIORITY[c] for c in _CATS])[cat] + rng.choice([-1, 0, 0, 0, 1], n), 1, 5
    )
    spread = np.array([110.0, 170.0, 140.0, 150.0])[prof]
    xy = place.grid_xy[grid] + rng.standard_normal((n, 2)) * spread[:, None]
    lat, lon = _to_latlon(xy)
    skill = np.where(rng.random(n) < spec.skill_share, 1 << rng.integers(0, 3, n), 0)
    start, end = _windows(n, rng, 3, 21)
    order = np.lexsort((rng.random(n), grid))
    requester = np.array(["resident", "enterprise", "employee"], dtype=object)
    frame = pd.DataFrame({
        "need_id": _ids("N-", n),
        "category": np.array(_CATS, dtype=object)[cat[order]],
        "demand": demand[order],
        "lat": lat[order],
        "lon": lon[order],
        "community": place.names[comm[order]],
        "grid": place.grid_label[grid[order]],
        "priority": priority[order].astype(np.int64),
        "skills": _skill_table()[cat[order], skill[order]],
        "window_start": start,
        "window_end": end,
        "requester_kind": requester[kind[order]],
        "description": np.array([_DESCRIPTION[c] for c in _CATS], dtype=object)[cat[order]],
        "street": spec.street,
    })
    return frame


def _resources(
    spec: Spec, place: _Place, needs: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    kinds = [k for k in KINDS if spec.kinds.get(k, 0) > 0]
    n_prov = np.array([int(spec.kinds[k]) for k in kinds], dtype=np.int64)
    kind_p = np.repeat(np.arange(len(kinds)), n_prov)          # per provider
    n_p = len(kind_p)
    n_comm = len(place.names)
    n_grids = len(place.grid_comm)
    # Organisations (units, enterprises) may offer more than one resource.
    org = np.isin(np.array(kinds)[kind_p], ["unit", "enterprise"])
    extra = org & (rng.random(n_p) < spec.resources_per_provider - 1.0)
    per = 1 + extra.astype(np.int64)
    provider = np.repeat(np.arange(n_p), per)
    kind = kind_p[provider]
    n = len(provider)
    kind_names = np.array(kinds, dtype=object)
    where = np.array([_KINDS[k]["where"] for k in kinds], dtype=object)[kind_p]

    # Home grid of each provider.
    grid_w = place.weight[place.grid_comm] / np.bincount(place.grid_comm)[place.grid_comm]
    home = rng.choice(n_grids, n_p, p=grid_w / grid_w.sum())
    own = np.flatnonzero(where == "grid")
    home[own] = np.arange(len(own)) % n_grids        # cadres: spread evenly over grids
    business = np.flatnonzero(place.profile == PROFILES.index("business"))
    hubs = business if len(business) else np.arange(n_comm)
    comm = place.grid_comm[home]
    at_centre = where == "centre"
    in_business = where == "business"
    comm[at_centre] = np.arange(int(at_centre.sum())) % n_comm   # one per community in turn
    comm[in_business] = np.where(rng.random(int(in_business.sum())) < 0.7,
                                 hubs[rng.integers(0, len(hubs), int(in_business.sum()))],
                                 rng.integers(0, n_comm, int(in_business.sum())))
    xy_p = place.grid_xy[home] + rng.standard_normal((n_p, 2)) * 120.0
    centre_xy = place.centre[comm] + rng.standard_normal((n_p, 2)) * 40.0
    biz_xy = place.centre[comm] + rng.standard_normal((n_p, 2)) * (
        0.5 * place.radius[comm][:, None])
    xy_p = np.where(at_centre[:, None], centre_xy, np.where(in_business[:, None], biz_xy, xy_p))
    # The grid a provider stands in: the nearest grid of its community.
    moved = at_centre | in_business
    grid_p = home.copy()
    if moved.any():
        first = np.searchsorted(place.grid_comm, np.arange(n_comm))
        count = np.bincount(place.grid_comm, minlength=n_comm)
        grid_p[moved] = first[comm[moved]] + rng.integers(0, count[comm[moved]])

    # Category: one of the kind's offers, the second resource of an org differs.
    offers = [np.array([_C[c] for c in _KINDS[k]["cats"]]) for k in kinds]
    pick = np.floor(rng.random(n) * np.array([len(o) for o in offers])[kind]).astype(np.int64)
    second = np.r_[False, provider[1:] == provider[:-1]]
    pick = np.where(second, pick + 1, pick) % np.array([len(o) for o in offers])[kind]
    cat = np.empty(n, dtype=np.int64)
    for k, o in enumerate(offers):
        sel = kind == k
        cat[sel] = o[pick[sel]]

    # Volunteer teams: members split unevenly; capacity grows with members.
    members = np.zeros(n, dtype=np.float64)
    is_team = kind_names[kind] == "volunteer_team"
    if is_team.any():
        share = rng.dirichlet(np.full(int(is_team.sum()), 3.0))
        members[is_team] = np.maximum(20, np.round(share * spec.team_members))
    person = np.isin(kind_names[kind], ["volunteer", "party_member", "cadre", "committee_member",
                                        "instructor"])
    members[person] = 1
    size = np.array([_KINDS[k]["size"] for k in kinds], dtype=float)[kind]
    base = np.where(is_team, members * 0.5, size) * rng.uniform(0.6, 1.4, n)

    # Scale capacity per category to the scarcity ratio of the needs' demand.
    demand_c = np.bincount(
        pd.Categorical(needs["category"], categories=_CATS).codes, weights=needs["demand"],
        minlength=len(_CATS))
    ratio = np.array([
        spec.scarcity.get(c, 0.9) if isinstance(spec.scarcity, Mapping) else spec.scarcity
        for c in _CATS
    ], dtype=float)
    base_c = np.bincount(cat, weights=base, minlength=len(_CATS))
    scale = np.divide(ratio * demand_c, base_c, out=np.zeros(len(_CATS)), where=base_c > 0)
    capacity = np.maximum(1, np.round(base * scale[cat])).astype(np.int64)

    skills = np.where(rng.random((n, 3)) < np.where(is_team, 0.9, 0.6)[:, None], 1, 0)
    mask = skills[:, 0] | skills[:, 1] << 1 | skills[:, 2] << 2
    radius = np.array([_KINDS[k]["radius"] for k in kinds])[kind]
    limited = np.array([_KINDS[k]["window"] for k in kinds])[kind]
    w_start, w_end = _windows(n, rng, 10, 28)
    w_start[~limited] = ROUND_START.astype("datetime64[ns]")
    w_end[~limited] = (ROUND_START + np.timedelta64(ROUND_DAYS, "D")).astype("datetime64[ns]")

    # Co-building agreements (共建): a share of public units with 1-2 communities.
    partner = np.full(n, None, dtype=object)
    units = np.flatnonzero(kind_names[kind_p] == "unit")
    signed = units[rng.permutation(len(units))[: round(spec.partner_share * len(units))]]
    if len(signed):
        near = place.names[comm[signed]]
        other = place.names[(comm[signed] + 1 + rng.integers(0, max(1, n_comm - 1),
                                                             len(signed))) % n_comm]
        two = (rng.random(len(signed)) < 0.4) & (other != near)
        text = np.where(two, near + ";" + other, near)
        per_provider = np.full(n_p, None, dtype=object)
        per_provider[signed] = text
        partner = per_provider[provider]

    xy = xy_p[provider] + rng.standard_normal((n, 2)) * np.where(second, 15.0, 0.0)[:, None]
    lat, lon = _to_latlon(xy)
    label = np.array([_KINDS[k]["label"] for k in kinds], dtype=object)
    prov_name = (place.names[comm] + label[kind_p] + pd.Series(
        np.arange(n_p) - np.searchsorted(kind_p, kind_p) + 1).astype(str).to_numpy(dtype=object))
    cat_names = np.array(_CATS, dtype=object)
    return pd.DataFrame({
        "resource_id": _ids("R-", n),
        "category": cat_names[cat],
        "capacity": capacity,
        "lat": lat,
        "lon": lon,
        "community": place.names[comm[provider]],
        "grid": place.grid_label[grid_p[provider]],
        "provider": prov_name[provider],
        "provider_kind": kind_names[kind],
        "skills": _skill_table()[cat, mask],
        "window_start": w_start,
        "window_end": w_end,
        "max_distance": radius,
        "partner_communities": partner,
        "description": label[kind] + "·" + np.array(
            [DEFAULT_CATEGORIES[c] for c in _CATS], dtype=object)[cat],
        "members": pd.array(np.where(members > 0, members, np.nan), dtype="Int64"),
        "street": spec.street,
    })


# ---------------------------------------------------------------------------
# a province: many streets, generated one at a time

#: The province of the scale benchmark: 10^4 streets of 10^4 needs (10^8 needs),
#: each street a ``district_10k`` with its own seed, placed on a square lattice
#: ``spacing`` metres apart so that no resource reaches another street.
PROVINCE: dict[str, Any] = {
    "n_streets": 10_000, "needs_per_street": 10_000, "preset": "district_10k",
    "spacing": 20_000.0,
}


def street_seed(seed: int, k: int) -> np.random.SeedSequence:
    """The seed of street ``k`` of a province: child ``k`` of ``SeedSequence(seed)``.

    Equal to ``np.random.SeedSequence(seed).spawn(k + 1)[k]`` (the same
    entropy and spawn key), built in O(1), so that any process can build any
    street without the streets before it.

    Examples
    --------
    >>> import numpy as np
    >>> a = street_seed(7, 3).generate_state(2)
    >>> b = np.random.SeedSequence(7).spawn(4)[3].generate_state(2)
    >>> bool((a == b).all())
    True
    """
    k = int(k)
    if k < 0:
        raise InputError(f"`k` must be a street index >= 0; got {k}")
    return np.random.SeedSequence(int(seed), spawn_key=(k,))


def street(
    k: int,
    needs_per_street: int = 10_000,
    seed: int = 0,
    *,
    preset: str = "district_10k",
    spacing: float = 20_000.0,
    **overrides: Any,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Street ``k`` of a synthetic province: a district of its own, built alone.

    Parameters
    ----------
    k : int
        The street's index (>= 0).
    needs_per_street : int, default 10_000
        Its needs; the preset's communities and resources scale with it.
    seed : int, default 0
        The province's seed; the street's generator is seeded with
        :func:`street_seed` ``(seed, k)``.
    preset : str, default "district_10k"
        The street's parameters (:data:`PRESETS`).
    spacing : float, default 20_000
        Metres between street centres on the province's square lattice (far
        more than any reach, so streets are independent rounds).
    **overrides
        Any field of :class:`Spec`.

    Returns
    -------
    needs, resources : pandas.DataFrame
        As :func:`district`, with ids prefixed ``S{k:05d}-`` (unique across
        the province) and the ``street`` column ``S{k:05d}``.

    Examples
    --------
    >>> from matchcore import synthetic
    >>> needs, resources = synthetic.street(3, 200, seed=1)
    >>> needs["need_id"].iloc[0], needs["street"].iloc[0], len(needs)
    ('S00003-N-0001', 'S00003', 200)
    """
    name = f"S{int(k):05d}"
    n = int(needs_per_street)
    base = _spec(preset, {})
    scale = n / base.n_needs
    fixed: dict[str, Any] = {"n_needs": n, "street": name}
    if "n_communities" not in overrides:
        fixed["n_communities"] = max(1, round(base.n_communities * scale))
    if "team_members" not in overrides:
        fixed["team_members"] = max(20, round(base.team_members * scale))
    spec = _spec(preset, {**fixed, **overrides})
    needs, resources = _district(spec, np.random.default_rng(street_seed(seed, k)), None)
    # Each street has its own place on the province's lattice.
    side = 100
    dx, dy = (k % side) * float(spacing), (k // side) * float(spacing)
    out = []
    for frame, key in ((needs, "need_id"), (resources, "resource_id")):
        lat = frame["lat"].to_numpy() + dy / _M_PER_DEG_LAT
        lon = frame["lon"].to_numpy() + dx / (_M_PER_DEG_LAT * math.cos(math.radians(ORIGIN[0])))
        moved = frame.copy()
        moved[key] = name + "-" + frame[key].astype(str)
        moved["lat"] = np.round(lat, 6)
        moved["lon"] = np.round(lon, 6)
        out.append(moved)
    return out[0], out[1]


def province_rounds(
    n_streets: int = PROVINCE["n_streets"],
    needs_per_street: int = PROVINCE["needs_per_street"],
    seed: int = 0,
    **street_options: Any,
) -> Iterator[tuple[str, tuple[pd.DataFrame, pd.DataFrame]]]:
    """The streets of a synthetic province, one at a time: ``(name, (needs, resources))``.

    Lazy: each street is built when it is asked for (by :func:`street`), so
    no process holds the province. Pass it to :func:`matchcore.match_many`
    (which consumes it as it submits); :func:`province_recipes` gives the
    same streets to be built on the workers instead.

    Parameters
    ----------
    n_streets : int, default 10_000
    needs_per_street : int, default 10_000
    seed : int, default 0
    **street_options
        Passed to :func:`street` (``preset``, ``spacing``, Spec fields).

    Examples
    --------
    >>> from matchcore import synthetic
    >>> [(name, len(n)) for name, (n, r) in synthetic.province_rounds(2, 100)]
    [('S00000', 100), ('S00001', 100)]
    """
    for k in range(int(n_streets)):
        needs, resources = street(k, needs_per_street, seed, **street_options)
        yield f"S{k:05d}", (needs, resources)


def province_recipes(
    n_streets: int = PROVINCE["n_streets"],
    needs_per_street: int = PROVINCE["needs_per_street"],
    seed: int = 0,
    **street_options: Any,
) -> Iterator[tuple[str, Callable[[], tuple[pd.DataFrame, pd.DataFrame]]]]:
    """The streets of :func:`province_rounds` as recipes: ``(name, build)``.

    ``build()`` returns the street's (needs, resources), equal to those of
    :func:`province_rounds`; :func:`matchcore.match_many` calls it where the
    round runs, so a worker builds each street and nothing large travels.

    Examples
    --------
    >>> from matchcore import synthetic
    >>> (name, build), = synthetic.province_recipes(1, 100, seed=4)
    >>> name, len(build()[0])
    ('S00000', 100)
    """
    for k in range(int(n_streets)):
        yield f"S{k:05d}", functools.partial(street, k, needs_per_street, seed, **street_options)
