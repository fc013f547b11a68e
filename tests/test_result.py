"""MatchResult: projects / assignments / unmet / idle consistency, unmet and
idle reasons, explain(), the HTML view and the metrics of synthetic.tiny()."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import matchcore as mc
from matchcore.result import POLICY_REASONS, REASONS
from strategies import districts


@given(districts(), st.sampled_from(["coverage", "score"]),
       st.sampled_from(["auto", "greedy"]))
def test_tables_are_consistent(district, objective, solver):
    r = mc.match(*district, max_distance=1500, objective=objective, solver=solver)
    needs = r.district.needs.set_index("need_id")
    resources = r.district.resources.set_index("resource_id")
    a, p, u, idle = r.assignments, r.projects, r.unmet, r.idle
    served = a.groupby("need_id")["units"].sum().reindex(needs.index, fill_value=0)
    # assigned + unmet = demand for every need
    unmet = u.set_index("need_id")["unmet"].reindex(needs.index, fill_value=0)
    assert (served + unmet == needs["demand"]).all()
    assert (u["assigned"] + u["unmet"] == u["demand"]).all()
    assert (u["unmet"] > 0).all()
    assert set(u["reason"]) <= set(REASONS)
    # projects: one per need that receives units
    assert sorted(p["need_id"]) == sorted(served[served > 0].index)
    assert (p.set_index("need_id")["assigned"] == served[served > 0]).all()
    assert (p["project_id"] == "P-" + p["need_id"]).all()
    assert set(p["status"]) <= {"not_started"}
    for row in p.itertuples():
        rows = a[a["need_id"] == row.need_id]
        assert sorted(row.resources.split(";")) == sorted(rows["resource_id"])
        assert row.score == pytest.approx((rows["units"] * rows["score"]).sum())
    # resources: Σ units <= capacity, idle = spare capacity
    used = a.groupby("resource_id")["units"].sum().reindex(resources.index, fill_value=0)
    assert (used <= resources["capacity"]).all()
    spare = resources["capacity"] - used
    assert sorted(idle["resource_id"]) == sorted(spare[spare > 0].index)
    assert (idle.set_index("resource_id")["spare"] == spare[spare > 0]).all()
    assert (idle["used"] + idle["spare"] == idle["capacity"]).all()
    assert set(idle["reason"]) <= {"no_candidate", "needs_met", "not_chosen"}
    # metrics agree with the tables
    m = r.metrics
    assert m["assigned_units"] == a["units"].sum()
    assert m["demand_units"] == needs["demand"].sum()
    assert m["needs_fully_served"] + m["needs_partly_served"] + m["needs_unserved"] == len(needs)
    assert m["needs_fully_served"] == len(needs) - len(u)


def test_every_unmet_reason(reasons_district):
    r = mc.match(*reasons_district, max_distance=2000)
    reasons = dict(zip(r.unmet["need_id"], r.unmet["reason"]))
    assert reasons == {
        "compat": "no_compatible_resource",
        "far": "out_of_reach",
        "late": "no_time_overlap",
        "skill": "skills_missing",
        "lost": "outbid",
    }
    assert set(reasons.values()) == set(REASONS) - set(POLICY_REASONS)  # test_policies.py
    assert r.projects["need_id"].tolist() == ["won"]
    assert r.unmet.set_index("need_id").loc["lost", "n_candidates"] == 1
    assert r.unmet.set_index("need_id").loc["skill", "n_candidates"] == 0


def test_idle_reasons():
    needs = pd.DataFrame({"need_id": ["a", "b"], "category": ["repair", "medical"],
                          "x": [0.0, 0.0], "y": [0.0, 0.0], "priority": [3, 1]})
    resources = pd.DataFrame({"resource_id": ["big", "med", "venue"],
                              "category": ["repair", "medical", "venue"],
                              "x": [0.0, 0.0, 0.0], "y": [0.0, 0.0, 0.0],
                              "capacity": [3, 1, 1]})
    r = mc.match(needs, resources)
    assert dict(zip(r.idle["resource_id"], r.idle["reason"])) == {
        "big": "needs_met", "venue": "no_candidate"}
    # Scores of zero are not worth a unit under the "score" objective.
    w = mc.Weights(type=0.0, locality=0.0, priority=1.0, partner=0.0)
    s = mc.match(needs, resources, weights=w, objective="score")
    assert dict(zip(s.idle["resource_id"], s.idle["reason"]))["med"] == "not_chosen"
    assert dict(zip(s.unmet["need_id"], s.unmet["reason"]))["b"] == "outbid"
    assert "not chosen: it would not improve the objective" in s.explain("b").candidates[
        "why"].tolist()


def test_explain(tiny):
    r = mc.match(*tiny, max_distance=2000)
    e = r.explain("N1")
    assert e.reason is None
    assert e.need["need_id"] == "N1"
    c = e.candidates
    assert list(c.columns) == ["resource_id", "category", "distance", "type", "locality",
                               "priority", "partner", "score", "units", "chosen",
                               "spare_capacity", "why"]
    assert c["resource_id"].tolist() == ["R1", "R4"]
    assert c["units"].tolist() == [2, 0]
    assert c["chosen"].tolist() == [True, False]
    assert c["why"].tolist() == [
        "chosen: 2 units", "not needed: the need is already served by other candidates"]
    assert c["score"].iloc[0] == pytest.approx(0.877161, abs=1e-6)
    assert "need 'N1' (elderly_care, priority 5): 2 of 2 units served" in e.text
    assert "2 compatible, 2 in reach, 2 in time, 2 with the skills" in e.text
    assert str(e) == e.text
    html = e._repr_html_()
    assert "<table" in html and "R4" in html

    n3 = r.explain("N3")
    assert n3.reason == "outbid"
    assert "2 of 3 units served" in n3.text and "unmet: outbid" in n3.text
    n4 = r.explain("N4")
    assert n4.reason == "no_compatible_resource" and n4.candidates.empty
    assert "0 compatible" in n4.text
    assert r.explain("N5").reason == "out_of_reach"


def test_explain_names_who_took_a_full_resource(reasons_district):
    r = mc.match(*reasons_district, max_distance=2000)
    why = r.explain("lost").candidates["why"].tolist()
    assert len(why) == 1 and why[0].startswith("resource full: its capacity went to won (score")


def test_repr_html(tiny):
    r = mc.match(*tiny, max_distance=2000)
    html = r._repr_html_()
    assert html.startswith("<div>") and html.endswith("</div>")
    assert "matchcore.MatchResult" in html and "certified exact" in html
    assert "unit_coverage" in html and "P-N1" in html
    assert "out_of_reach: 1" in html
    g = mc.match(*tiny, max_distance=2000, solver="greedy")._repr_html_()
    assert "(inexact)" in g
    empty = mc.match(tiny[0].iloc[:0], tiny[1])
    assert "<table" in empty._repr_html_()


def test_metrics_of_tiny_by_hand(tiny):
    r = mc.match(*tiny, max_distance=2000)
    m = r.metrics
    # N1 gets 2 of 2 from R1, N2 1 of 1 from R2, N3 2 of 3 from R3 (its capacity);
    # N4 has no compatible resource, N5 is out of reach.
    assert r.assignments[["need_id", "resource_id", "units"]].values.tolist() == [
        ["N1", "R1", 2], ["N2", "R2", 1], ["N3", "R3", 2]]
    expected = {
        "n_needs": 5, "n_resources": 4, "n_edges": 4,
        "demand_units": 9, "capacity_units": 8, "assigned_units": 5,
        "needs_fully_served": 2, "needs_partly_served": 1, "needs_unserved": 2,
    }
    for k, v in expected.items():
        assert m[k] == v, k
    assert m["unit_coverage"] == pytest.approx(5 / 9)
    assert m["need_coverage"] == pytest.approx(2 / 5)
    # priorities 5, 3, 4, 2, 3; demands 2, 1, 3, 2, 1
    assert m["priority_weighted_coverage"] == pytest.approx((5 * 2 + 3 * 1 + 4 * 2) / 32)
    assert m["utilisation"] == pytest.approx(5 / 8)
    assert m["mean_distance"] == pytest.approx((2 * 100 + 3 * math.hypot(100, 100)) / 5)
    assert m["max_distance"] == pytest.approx(math.hypot(100, 100))
    # scores: N1-R1 = .3 + .4 (.6 e^-0.1 + .4) + .2; N2-R2 = .3 + .4 loc + .2 * .5;
    # N3-R3 = .3 * .6 + .4 loc + .2 * .75 (childcare -> education affinity .6)
    loc1 = 0.6 * math.exp(-0.1) + 0.4
    loc2 = 0.6 * math.exp(-math.hypot(100, 100) / 1000) + 0.4
    total = 2 * (0.3 + 0.4 * loc1 + 0.2) + (0.3 + 0.4 * loc2 + 0.1) + 2 * (
        0.18 + 0.4 * loc2 + 0.15)
    assert m["total_score"] == pytest.approx(total)
    # per community: 东湖 3/3, 西山 2/5, 南苑 0/1
    c = mc.metrics.by_community(r).set_index("community")
    assert c["unit_coverage"].to_dict() == pytest.approx(
        {"东湖社区": 1.0, "西山社区": 0.4, "南苑社区": 0.0})
    assert m["community_fairness"] == pytest.approx(1.4**2 / (3 * (1 + 0.16)))
    assert r.objective == {"objective": "coverage", "priority_weighted_units": 21, "units": 5,
                           "score": pytest.approx(total)}


def test_jain_index():
    assert mc.metrics.jain_index(np.array([1.0, 1.0, 1.0])) == 1.0
    assert mc.metrics.jain_index(np.array([1.0, 0.0, 0.0, 0.0])) == 0.25
    assert mc.metrics.jain_index(np.zeros(3)) == 1.0
    assert math.isnan(mc.metrics.jain_index(np.array([])))


def test_summary_and_repr(tiny):
    r = mc.match(*tiny, max_distance=2000)
    text = repr(r)
    assert "5 needs, 4 resources, 4 candidates; 5/9 units served (55.6%), 3 projects" in text
    assert "3 needs not fully served" in text
    assert set(r.timings) >= {"validate", "candidates", "score", "solve", "certify"}


def test_projects_carry_need_fields(tiny):
    r = mc.match(*tiny, max_distance=2000)
    p = r.projects
    assert list(p.columns) == ["project_id", "need_id", "community", "grid", "category",
                               "demand", "assigned", "resources", "score", "status"]
    assert p[["need_id", "community", "grid", "category", "demand", "assigned"]].values.tolist() \
        == [["N1", "东湖社区", "G1", "elderly_care", 2, 2],
            ["N2", "东湖社区", "G1", "repair", 1, 1],
            ["N3", "西山社区", "G2", "childcare", 3, 2]]
    a = r.assignments
    assert list(a.columns) == ["project_id", "need_id", "resource_id", "units", "score", "type",
                               "locality", "priority", "partner", "distance"]


def test_split_need_lists_resources_most_units_first():
    needs = pd.DataFrame({"need_id": ["n"], "category": ["repair"], "x": [0.0], "y": [0.0],
                          "demand": [4]})
    resources = pd.DataFrame({"resource_id": ["a", "b", "c"], "category": ["repair"] * 3,
                              "x": [0.0, 10.0, 20.0], "y": [0.0] * 3, "capacity": [1, 3, 1]})
    r = mc.match(needs, resources)
    assert r.projects["assigned"].tolist() == [4]
    assert r.projects["resources"].tolist() == ["b;a"]


# ---------------------------------------------------------------------------
# backups


def _backup_district():
    """Two repair needs and four repair resources on a line (metres).

    Both needs want A (nearest, capacity 1); B (capacity 2) serves the other,
    so after the round A has no spare unit, B one, C and D one each.
    """
    needs = pd.DataFrame({"need_id": ["N1", "N2"], "category": ["repair", "repair"],
                          "priority": [5, 3], "x": [0.0, 50.0], "y": [0.0, 0.0]})
    resources = pd.DataFrame({
        "resource_id": ["A", "B", "C", "D"],
        "category": ["repair"] * 4,
        "capacity": [1, 2, 1, 1],
        "x": [10.0, 300.0, 600.0, 900.0],
        "y": [0.0] * 4,
    })
    return needs, resources


def test_backups_by_hand():
    r = mc.match(*_backup_district(), max_distance=2000)
    assert r.assignments[["need_id", "resource_id"]].values.tolist() == [["N1", "A"], ["N2", "B"]]
    b = r.backups(k=2)
    assert b.columns.tolist() == ["need_id", "resource_id", "rank", "backup_resource_id",
                                  "score", "distance", "spare_units"]
    assert b[["need_id", "resource_id", "rank", "backup_resource_id", "spare_units"]] \
        .values.tolist() == [["N1", "A", 1, "B", 1], ["N1", "A", 2, "C", 1],
                             ["N2", "B", 1, "C", 1], ["N2", "B", 2, "D", 1]]
    np.testing.assert_allclose(b["distance"], [300.0, 600.0, 550.0, 850.0])
    # Each backup's score is the need's score with it, best first.
    edges = r.graph.to_frame().assign(score=r.score).set_index(["need_id", "resource_id"])
    expected = edges.loc[list(zip(b["need_id"], b["backup_resource_id"])), "score"]
    np.testing.assert_allclose(b["score"], expected.to_numpy())
    assert (b.groupby(["need_id", "resource_id"])["score"].diff().dropna() <= 0).all()
    assert len(r.backups()) == 5 and r.backups()["rank"].max() == 3
    assert len(r.backups(k=1)) == 2


def test_backups_skip_full_resources_and_follow_ids_not_rows():
    needs, resources = _backup_district()
    r = mc.match(needs, resources, max_distance=2000)
    assert "A" not in set(r.backups(k=10)["backup_resource_id"])  # A is full
    shuffled = mc.match(needs.iloc[::-1], resources.sample(frac=1, random_state=3),
                        max_distance=2000)
    pd.testing.assert_frame_equal(shuffled.backups(), r.backups())


def test_backups_empty_and_bad_k():
    needs, resources = _backup_district()
    r = mc.match(needs, resources.assign(category="childcare"), max_distance=2000,
                 taxonomy=mc.Taxonomy.exact())
    empty = r.backups()
    assert len(empty) == 0 and "backup_resource_id" in empty.columns
    for bad in (0, -1, 1.5, True, "3"):
        with pytest.raises(mc.InputError, match="`k` must be an integer >= 1"):
            r.backups(bad)


@given(districts())
def test_backups_have_spare_capacity_and_are_candidates(district):
    r = mc.match(*district, max_distance=1500)
    b = r.backups(k=2)
    spare = r.district.resources.set_index("resource_id")["capacity"] - r.assignments.groupby(
        "resource_id")["units"].sum().reindex(r.district.resource_ids, fill_value=0)
    assert (b["spare_units"].to_numpy() == spare.loc[b["backup_resource_id"]].to_numpy()).all()
    assert (b["spare_units"] > 0).all() and (b["resource_id"] != b["backup_resource_id"]).all()
    cand = set(zip(r.graph.to_frame()["need_id"], r.graph.to_frame()["resource_id"]))
    assert all(p in cand for p in zip(b["need_id"], b["backup_resource_id"]))
    assert (b.groupby(["need_id", "resource_id"]).size() <= 2).all()
