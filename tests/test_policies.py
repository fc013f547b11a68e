"""Policies: pins and forbids, exact fairness floors (fixed and max-min), units that compare.

Floors are checked against an independent integer program (``scipy.optimize.milp``,
HiGHS) with the same side constraints; every solution is certified by ``verify()``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import LinearConstraint, milp
from scipy.sparse import csr_matrix

import matchcore as mc
from conftest import EXACT_SOLVERS
from matchcore.solvers import solve, verify
from oracle import lex_objective
from strategies import bundled_districts, districts


# ----------------------------------------------------------------- the MILP oracle
def _rows(problem, extra_groups=None):
    """Constraint rows of the transportation problem: need, resource and group sums."""
    m = problem.n_edges
    cols = np.arange(m)
    a_need = csr_matrix((np.ones(m), (problem.need, cols)), shape=(problem.n_needs, m))
    a_res = csr_matrix((np.ones(m), (problem.resource, cols)), shape=(problem.n_resources, m))
    cons = [LinearConstraint(a_need, 0, problem.demand),
            LinearConstraint(a_res, 0, problem.capacity)]
    return cons, cols


def milp_lex(problem, group, floors):
    """Lexicographic optimum (weighted units, integer score) under group floors, or None.

    ``group[i]`` is need i's group (-1 none); ``floors[g]`` the units group g must get.
    """
    m = problem.n_edges
    cons, cols = _rows(problem)
    if len(floors):
        g_edge = group[problem.need]
        keep = g_edge >= 0
        a_g = csr_matrix((np.ones(int(keep.sum())), (g_edge[keep], cols[keep])),
                         shape=(len(floors), m))
        cons.append(LinearConstraint(a_g, floors, np.inf))
    integral = np.ones(m)
    bounds = (0, np.minimum(problem.demand[problem.need], problem.capacity[problem.resource]))
    from scipy.optimize import Bounds

    b = Bounds(np.zeros(m), bounds[1])
    if m == 0:
        return (0, 0) if not len(floors) or (np.asarray(floors) <= 0).all() else None
    w = problem.weight[problem.need].astype(float)
    first = milp(-w, constraints=cons, integrality=integral, bounds=b)
    if first.status != 0:
        return None
    best_w = round(-first.fun)
    cons2 = [*cons, LinearConstraint(w[None, :], best_w, best_w)]
    second = milp(-problem.score_int.astype(float), constraints=cons2, integrality=integral,
                  bounds=b)
    assert second.status == 0
    return best_w, round(-second.fun)


def _groups_of(result):
    key = result.floors.key
    labels = result.district.needs[key].astype(object)
    names = list(result.floors.table["group"])
    return np.array([names.index(v) if isinstance(v, str) and v in names else -1
                     for v in labels], dtype=np.int64)


# ----------------------------------------------------------------- floors
@given(districts(max_needs=7, max_resources=5, windows=False, skills=False),
       st.sampled_from([0.3, 0.5, 0.8, 1.0]))
def test_floors_match_milp(district, share):
    needs, resources = district
    r = mc.match(needs, resources, max_distance=1500, min_coverage={"community": share})
    assert r.verify()
    table = r.fairness
    group = _groups_of(r)
    free = mc.match(needs, resources, max_distance=1500).problem
    asked = milp_lex(free, group, table["asked"].to_numpy())
    if table["lowered"].any():
        assert asked is None  # the floors asked cannot all be met
        # Progressive filling: a lowered floor cannot rise by one unit, others kept.
        floors = table["floor"].to_numpy()
        for g in np.flatnonzero(table["lowered"].to_numpy()):
            more = floors.copy()
            more[g] += 1
            assert milp_lex(free, group, more) is None
    else:
        assert asked is not None
    # The optimum under the floors enforced equals the MILP's with the same floors.
    assert lex_objective(r.problem, r.units) == milp_lex(free, group, table["floor"].to_numpy())
    assert table["met"].all()
    # Every back-end sees the plain network and agrees.
    for name in EXACT_SOLVERS:
        assert lex_objective(r.problem, solve(r.problem, name).units) == \
            lex_objective(r.problem, r.units)


@given(districts(max_needs=7, max_resources=5, windows=False, skills=False))
def test_maxmin_is_the_largest_common_share(district):
    needs, resources = district
    r = mc.match(needs, resources, max_distance=1500, fairness="maxmin")
    assert r.verify()
    t, table = r.floors.t, r.fairness
    group = _groups_of(r)
    free = mc.match(needs, resources, max_distance=1500).problem
    reach = []
    for g in range(len(table)):  # reachable units of each group alone, by the MILP
        f = np.zeros(len(table))
        lo = 0
        for k in range(int(table["demand"].iat[g]), 0, -1):
            f[g] = k
            if milp_lex(free, group, f) is not None:
                lo = k
                break
        reach.append(lo)
    assert list(table["reachable"]) == reach
    demand = table["demand"].to_numpy()
    # No larger candidate share k/d is feasible for all groups at once.
    larger = sorted({k / d for d in set(demand.tolist()) if d for k in range(d + 1)
                     if k / d > t + 1e-12})
    if larger:
        nxt = larger[0]
        floors = np.minimum(np.ceil(nxt * demand - 1e-9), reach)
        assert milp_lex(free, group, floors) is None
    assert lex_objective(r.problem, r.units) == milp_lex(free, group, table["floor"].to_numpy())


def test_floor_raises_a_community_and_reports_its_price():
    needs, resources = mc.synthetic.district("seed_street", seed=1)
    free = mc.match(needs, resources, max_distance=700)
    low = mc.metrics.by_community(free).sort_values("unit_coverage").iloc[0]
    r = mc.match(needs, resources, max_distance=700,
                 min_coverage={"community": {low["community"]: 0.95}})
    assert r.verify()
    row = r.fairness.set_index("community").loc[low["community"]]
    assert row["achieved"] >= row["floor"]
    assert row["achieved"] / row["demand"] >= min(0.95, row["reachable"] / row["demand"]) - 1e-9
    price = r.price_of_fairness
    assert price["weighted_units_lost"] >= 0
    assert price["weighted_units_without"] == free.objective["priority_weighted_units"]


def test_unreachable_floor_is_lowered_with_a_reason():
    needs, resources = mc.synthetic.tiny()
    r = mc.match(needs, resources, max_distance=2000, min_coverage={"community": 0.9})
    t = r.fairness.set_index("community")
    assert t.loc["南苑社区", "reachable"] == 0
    assert t.loc["南苑社区", "floor"] == 0 and t.loc["南苑社区", "lowered"]
    assert "not enough compatible capacity" in t.loc["南苑社区", "reason"]
    assert r.verify()


def test_verify_rejects_a_solution_below_its_floor():
    needs, resources = mc.synthetic.tiny()
    r = mc.match(needs, resources, max_distance=2000, min_coverage={"community": 1.0})
    assert r.problem.has_floors
    units = r.solution.units.copy()
    units[units > 0] = 0
    cert = verify(r.problem, units)
    assert not cert and any("floor" in p for p in cert.problems)


@pytest.mark.parametrize("bad, msg", [
    ({"street": 0.5}, "groups by one of"),
    ({"community": 1.5}, r"in \[0, 1\]"),
    ({"community": 0.5, "grid": 0.5}, "one key"),
    (0.5, "mapping with one key"),
])
def test_min_coverage_is_checked(bad, msg):
    with pytest.raises(mc.InputError, match=msg):
        mc.MatchOptions(min_coverage=bad)


def test_unknown_group_is_named():
    with pytest.raises(mc.InputError, match="no need belongs to"):
        mc.match(*mc.synthetic.tiny(), min_coverage={"community": {"火星社区": 0.5}})


def test_policy_options_round_trip_json():
    opts = mc.MatchOptions(min_coverage={"community": {"东湖社区": 0.7}}, fairness="maxmin",
                           unit_value={"funding": 100})
    assert mc.MatchOptions.from_json(opts.to_json()) == opts


# ----------------------------------------------------------------- pins and forbids
def test_pins_are_kept_and_marked():
    needs, resources = mc.synthetic.tiny()
    pins = pd.DataFrame({"need_id": ["N3"], "resource_id": ["R3"], "units": [1]})
    r = mc.match(needs, resources, max_distance=2000, pins=pins)
    a = r.assignments.set_index(["need_id", "resource_id"])
    assert a.loc[("N3", "R3"), "pinned"] == 1 and a.loc[("N3", "R3"), "units"] >= 1
    assert r.verify()
    why = r.explain("N3").candidates.set_index("resource_id").loc["R3", "why"]
    assert why.startswith("pinned by staff")
    assert (r.served <= r.district.demand).all() and (r.used <= r.district.capacity).all()


@given(districts(max_needs=6, max_resources=5, windows=False, skills=False), st.data())
def test_pins_and_forbids_against_milp(district, data):
    needs, resources = district
    base = mc.match(needs, resources, max_distance=1500)
    g = base.graph
    if g.n_edges == 0:
        return
    edges = data.draw(st.lists(st.integers(0, g.n_edges - 1), unique=True, max_size=3))
    pin_e, ban_e = edges[:1], edges[1:]
    pins = pd.DataFrame({"need_id": g.need_ids[g.need[pin_e]],
                         "resource_id": g.resource_ids[g.resource[pin_e]], "units": 1})
    forbid = pd.DataFrame({"need_id": g.need_ids[g.need[ban_e]],
                           "resource_id": g.resource_ids[g.resource[ban_e]]})
    r = mc.match(needs, resources, max_distance=1500, pins=pins, forbid=forbid)
    assert r.verify()
    got = r.assignments.set_index(["need_id", "resource_id"])
    for n, s in zip(forbid["need_id"], forbid["resource_id"]):
        assert (n, s) not in got.index
    for n, s in zip(pins["need_id"], pins["resource_id"]):
        assert got.loc[(n, s), "units"] >= 1
    # The MILP with the pair fixed to >= 1 and the forbidden pairs at 0 agrees.
    p = base.problem
    lo = np.zeros(p.n_edges)
    hi = np.minimum(p.demand[p.need], p.capacity[p.resource]).astype(float)
    lo[pin_e] = 1
    hi[ban_e] = 0
    from scipy.optimize import Bounds

    cons, _ = _rows(p)
    w = p.weight[p.need].astype(float)
    first = milp(-w, constraints=cons, integrality=np.ones(p.n_edges), bounds=Bounds(lo, hi))
    assert round(-first.fun) == r.objective["priority_weighted_units"]


def test_forbidding_every_candidate_gives_reason_forbidden():
    needs, resources = mc.synthetic.tiny()
    base = mc.match(needs, resources, max_distance=2000)
    cand = base.explain("N1").candidates
    forbid = pd.DataFrame({"need_id": "N1", "resource_id": cand["resource_id"]})
    r = mc.match(needs, resources, max_distance=2000, forbid=forbid)
    assert r.unmet.set_index("need_id").loc["N1", "reason"] == "forbidden"
    assert "forbidden by staff: " in r.explain("N1").text


@pytest.mark.parametrize("pins, msg", [
    (pd.DataFrame({"need_id": ["N1"], "resource_id": ["R3"], "units": [1]}),
     r"'N1'-'R3' \(row 1 of pins\) is not a candidate edge"),
    (pd.DataFrame({"need_id": ["N1"], "resource_id": ["R1"], "units": [9]}),
     "its demand is 2"),
    (pd.DataFrame({"need_id": ["N9"], "resource_id": ["R1"], "units": [1]}),
     r"`need_id` must name a need.*'N9'"),
    (pd.DataFrame({"need_id": ["N1"], "resource_id": ["R1"], "units": [0]}),
     r"`units` must be an integer >= 1.*row 1 of pins"),
    (pd.DataFrame({"need_id": ["N1"], "resource_id": ["R1"]}), r"lacks required column"),
])
def test_bad_pins_name_their_rows(pins, msg):
    with pytest.raises(mc.InputError, match=msg):
        mc.match(*mc.synthetic.tiny(), max_distance=2000, pins=pins)


def test_bad_forbid_names_its_rows():
    forbid = pd.DataFrame({"need_id": ["N1", "N1"], "resource_id": ["R1", "R1"]})
    with pytest.raises(mc.InputError, match=r"row 2 of forbid\) repeats"):
        mc.match(*mc.synthetic.tiny(), forbid=forbid)


# ----------------------------------------------------------------- units that compare
def _fund_district():
    """Two fund requests of 3,000 and 2,000 yuan and 17 one-visit needs; one fund of 3,000."""
    needs = pd.DataFrame({
        "need_id": ["F1", "F2", *[f"V{k:02d}" for k in range(17)]],
        "category": ["funding", "funding", *["repair"] * 17],
        "demand": [3000, 2000, *[1] * 17],
        "x": 0.0, "y": 0.0, "community": "东湖社区",
    })
    resources = pd.DataFrame({
        "resource_id": ["FUND", "TEAM"], "category": ["funding", "repair"],
        "capacity": [3000, 17], "x": 0.0, "y": 0.0,
    })
    return needs, resources


def test_fund_units_dominate_then_compare():
    needs, resources = _fund_district()
    with pytest.warns(mc.MatchcoreWarning, match="'funding' holds"):
        raw = mc.match(needs, resources)
    # The raw figure says "3017 / 5017 units"; worse, one fund need counts like 2000 visits.
    assert raw.metrics["unit_coverage"] == pytest.approx(3017 / 5017)
    with warnings.catch_warnings():
        warnings.simplefilter("error", mc.MatchcoreWarning)
        fair = mc.match(needs, resources, unit_value={"funding": 1000})
    m = fair.metrics
    # 3 + 2 comparable fund units and 17 visits: 3 + 17 of 22 served.
    assert m["comparable_demand_units"] == pytest.approx(22)
    assert m["comparable_assigned_units"] == pytest.approx(20)
    assert m["comparable_coverage"] == pytest.approx(20 / 22)
    assert fair.verify()
    by = mc.metrics.by_community(fair)
    assert by["comparable_coverage"].iat[0] == pytest.approx(20 / 22)


def test_per_need_unit_value_serves_more_needs():
    # One fund of 2000 yuan: a 2000-yuan request or two 1000-yuan ones?
    needs = pd.DataFrame({"need_id": ["A", "B", "C"], "category": "funding",
                          "demand": [2000, 1000, 1000], "x": 0.0, "y": 0.0})
    resources = pd.DataFrame({"resource_id": ["F"], "category": "funding",
                              "capacity": [2000], "x": 0.0, "y": 0.0})
    r = mc.match(needs, resources, unit_value="per_need")
    assert set(r.projects["need_id"]) == {"B", "C"}
    assert r.verify()


def test_unit_value_is_checked():
    with pytest.raises(mc.InputError, match="`unit_value` must be a number > 0"):
        mc.MatchOptions(unit_value={"funding": 0})


def test_pins_forbids_and_floors_through_a_rematch(tmp_path):
    needs, resources = mc.synthetic.tiny()
    with mc.ProjectLedger(tmp_path / "l.db") as ledger:
        first = mc.match(needs, resources, max_distance=2000)
        ledger.add_round(first)
        assert ("N1", "R1") in set(zip(first.assignments["need_id"],
                                       first.assignments["resource_id"]))
        report = ledger.rematch(
            max_distance=2000,
            pins=pd.DataFrame({"need_id": ["N3"], "resource_id": ["R3"], "units": [1]}),
            forbid=pd.DataFrame({"need_id": ["N1"], "resource_id": ["R1"]}),
            min_coverage={"community": 0.5},
        )
        r = report.result
        pairs = set(zip(r.assignments["need_id"], r.assignments["resource_id"]))
        assert ("N1", "R1") not in pairs and ("N3", "R3") in pairs
        assert r.verify() and r.fairness["met"].all()
        assert r.options.min_coverage == {"community": 0.5}
        live = set(zip(ledger.assignments()["need_id"], ledger.assignments()["resource_id"]))
        assert ("N1", "R1") not in live


# ----------------------------------------------------------------- team needs (bundles)
def _brute_bundles(r):
    """The lexicographic optimum by enumeration, with bundles all-or-nothing (or None)."""
    import itertools

    d, p = r.district, r.problem
    ub = np.minimum(d.demand[p.need], d.capacity[p.resource])
    if np.prod(ub + 1.0) > 60_000:
        return None
    labels = d.needs["bundle"].to_numpy(object)
    best = None
    for x in itertools.product(*[range(int(u) + 1) for u in ub]):
        x = np.array(x, dtype=np.int64)
        served = np.bincount(p.need, weights=x, minlength=p.n_needs)
        used = np.bincount(p.resource, weights=x, minlength=p.n_resources)
        if (served > d.demand).any() or (used > d.capacity).any():
            continue
        ok = True
        for b in {v for v in labels if v is not None}:
            mine = labels == b
            full, empty = served[mine] == d.demand[mine], served[mine] == 0
            ok &= bool(full.all() or empty.all())
        if ok:
            val = lex_objective(p, x)
            best = val if best is None or val > best else best
    return best


@given(bundled_districts())
def test_bundles_against_brute_force(district):
    needs, resources = district
    r = mc.match(needs, resources, max_distance=1500)
    assert r.verify()  # the flow part is certified
    if (needs["bundle"].notna()).any():
        assert r.bundles is not None and r.bundles.status == "optimal"
        t = r.bundle_table
        assert ((t["assigned"] == t["demand"]) | (t["assigned"] == 0)).all()
        assert (t["served"] == (t["assigned"] == t["demand"])).all()
        lost = set(t.loc[~t["served"], "bundle"])
        unmet = r.unmet.merge(needs[["need_id", "bundle"]])
        assert (unmet.loc[unmet["bundle"].isin(lost) & (unmet["n_candidates"] > 0), "reason"]
                == "bundle_unserved").all()
    want = _brute_bundles(r)
    if want is not None:
        assert lex_objective(r.problem, r.units) == want


def test_bundle_column_has_a_chinese_alias():
    needs, resources = mc.synthetic.tiny()
    needs = needs.assign(捆绑编号=[None, None, "T", None, "T"])
    r = mc.match(needs, resources, max_distance=2000)
    assert list(r.bundle_table["bundle"]) == ["T"]
    assert not r.bundle_table["served"].iat[0]
    assert r.unmet.set_index("need_id").loc["N3", "reason"] == "bundle_unserved"


# ----------------------------------------------------------------- recurring needs
T = pd.Timestamp


def test_weekly_rule_expands_to_a_hand_made_calendar():
    needs = pd.DataFrame({"need_id": ["V"], "category": "elderly_care", "x": 0.0, "y": 0.0,
                          "recurrence": ["FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20261210T235959"],
                          "window_start": [T("2026-12-01 09:00")],  # a Tuesday
                          "window_end": [T("2026-12-01 10:30")]})
    from matchcore.model.recurrence import expand_recurrence

    out = expand_recurrence(mc.read_needs(needs), "need_id")
    calendar = [T("2026-12-01 09:00"), T("2026-12-03 09:00"), T("2026-12-08 09:00"),
                T("2026-12-10 09:00")]
    assert list(out["need_id"]) == ["V#1", "V#2", "V#3", "V#4"]
    assert list(out["window_start"]) == calendar
    assert list(out["window_end"]) == [c + pd.Timedelta("90min") for c in calendar]
    assert list(out["series_id"]) == ["V"] * 4 and list(out["occurrence"]) == [1, 2, 3, 4]


def _weekly():
    needs = pd.DataFrame({"need_id": ["V", "once"], "category": "elderly_care",
                          "x": 0.0, "y": 0.0,
                          "recurrence": ["FREQ=WEEKLY;BYDAY=TU;COUNT=4", None],
                          "window_start": [T("2026-12-01 09:00"), T("2026-12-02 09:00")],
                          "window_end": [T("2026-12-01 11:00"), T("2026-12-02 11:00")]})
    resources = pd.DataFrame({
        "resource_id": ["A", "B"], "category": "elderly_care", "x": [10.0, 300.0], "y": 0.0,
        "capacity": 1, "provider": ["Ann", "Bo"],
        # Ann comes on the first two Tuesdays only; Bo on every Tuesday and Wednesday.
        "recurrence": ["FREQ=WEEKLY;BYDAY=TU;COUNT=2", "FREQ=WEEKLY;BYDAY=TU,WE;COUNT=8"],
        "window_start": [T("2026-12-01 08:00")] * 2, "window_end": [T("2026-12-01 12:00")] * 2,
    })
    return needs, resources


def test_weekly_visit_keeps_one_provider_with_continuity():
    needs, resources = _weekly()
    plain = mc.match(needs, resources)
    assert plain.series.set_index("series_id").loc["V", "n_providers"] == 2  # Ann is nearer
    steady = mc.match(needs, resources, continuity=0.5)
    s = steady.series.set_index("series_id").loc["V"]
    assert s["n_occurrences"] == 4 and s["served"] == 4 and s["missed"] == 0
    assert s["providers"] == "Bo"
    assert steady.verify() and "continuity" in steady.components.columns
    # The one-off need is not a series.
    assert list(steady.series["series_id"]) == ["V"]


def test_missed_occurrences_are_counted():
    needs, resources = _weekly()
    resources = resources[resources["resource_id"] == "A"]
    r = mc.match(needs, resources)
    s = r.series.set_index("series_id").loc["V"]
    assert (s["served"], s["missed"]) == (2, 2)
    assert set(r.unmet["need_id"]) >= {"V#3", "V#4"}
    assert set(r.unmet.set_index("need_id").loc[["V#3", "V#4"], "reason"]) == {"no_time_overlap"}


@pytest.mark.parametrize("rule, start, msg", [
    ("FREQ=WEEKLY", T("2026-12-01"), "must end"),
    ("FREQ=SOMETIMES;COUNT=2", T("2026-12-01"), "must be an iCalendar RRULE"),
    ("FREQ=WEEKLY;COUNT=2", None, "needs a `window_start`"),
])
def test_bad_rules_name_their_rows(rule, start, msg):
    needs = pd.DataFrame({"need_id": ["V"], "category": "repair", "x": 0.0, "y": 0.0,
                          "recurrence": [rule], "window_start": [start]})
    with pytest.raises(mc.InputError, match=rf"{msg}.*need 'V' \(row 1 of needs\)"):
        mc.match(needs, mc.synthetic.tiny()[1])


def test_floors_refuse_a_heuristic_solver():
    with pytest.raises(mc.InputError, match="floors need an exact solver"):
        mc.match(*mc.synthetic.tiny(), max_distance=2000, min_coverage={"community": 1.0},
                 solver="greedy")


def test_grid_floors_and_named_communities():
    needs, resources = mc.synthetic.district("seed_street", seed=2)
    r = mc.match(needs, resources, max_distance=700, min_coverage={"grid": 0.8})
    assert r.verify() and "grid" in r.fairness.columns and r.fairness["met"].all()
    named = mc.match(needs, resources, max_distance=700,
                     min_coverage={"community": {"东湖社区": 0.9}})
    t = named.fairness.set_index("community")
    assert (t.drop(index="东湖社区")["share"] == 0).all()
    assert t.loc["东湖社区", "achieved"] >= t.loc["东湖社区", "floor"]
    assert named.verify()
