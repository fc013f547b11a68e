"""analysis: compare, hand-rule baselines, weight sweeps, Pareto fronts, explain's alternative."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import matchcore as mc
from matchcore.analysis import SWEEP_COLUMNS, baseline, compare, pareto_front, sweep
from matchcore.errors import InputError


@pytest.fixture
def line() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three repair needs on a line, two resources; rows in submission order A, B, C.

    Distances (m): A-R1 50, A-R2 1000, B-R1 50, B-R2 900, C-R1 1050, C-R2 100.
    nearest (B p5, C p3, A p2): B takes R1 x2, C takes R2, A is left out.
    fcfs (A, B, C): A takes R1, B takes R1 then R2, C is left out.
    """
    needs = pd.DataFrame({
        "need_id": ["A", "B", "C"],
        "category": ["repair"] * 3,
        "demand": [1, 2, 1],
        "priority": [2, 5, 3],
        "x": [0.0, 100.0, 1100.0],
        "y": [0.0, 0.0, 0.0],
        "community": ["c1", "c1", "c2"],
    })
    resources = pd.DataFrame({
        "resource_id": ["R1", "R2"],
        "category": ["repair", "repair"],
        "capacity": [2, 1],
        "x": [50.0, 1000.0],
        "y": [0.0, 0.0],
        "community": ["c1", "c2"],
    })
    return needs, resources


def pairs(r: mc.MatchResult) -> list[tuple[str, str, int]]:
    a = r.assignments
    return list(zip(a["need_id"], a["resource_id"], a["units"].astype(int)))


# ------------------------------------------------------------------ baseline
def test_nearest_and_fcfs_by_hand(line):
    needs, resources = line
    before = needs.copy(deep=True)
    near = baseline(needs, resources, "nearest", max_distance=1500)
    fcfs = baseline(needs, resources, "fcfs", max_distance=1500)
    pd.testing.assert_frame_equal(needs, before)
    assert pairs(near) == [("B", "R1", 2), ("C", "R2", 1)]
    assert pairs(fcfs) == [("A", "R1", 1), ("B", "R1", 1), ("B", "R2", 1)]
    assert near.solver == "baseline:nearest" and not near.is_exact
    assert fcfs.solver == "baseline:fcfs" and fcfs.options.solver == "baseline:fcfs"
    assert fcfs.solution.certificate is None
    # Every table and metric works on a baseline.
    assert fcfs.unmet["need_id"].tolist() == ["C"] and fcfs.unmet["reason"].tolist() == ["outbid"]
    assert near.metrics["assigned_units"] == 3
    assert fcfs.metrics["priority_weighted_coverage"] == pytest.approx((2 + 5 + 5) / 15)
    assert near.metrics["mean_distance"] == pytest.approx((50 + 50 + 100) / 3)
    assert fcfs.projects["need_id"].tolist() == ["A", "B"]
    assert "(inexact)" in repr(fcfs)
    # The exact optimum is the nearest rule's list here, and at least as good.
    opt = mc.match(needs, resources, max_distance=1500)
    assert pairs(opt) == pairs(near)


def test_fcfs_follows_row_order_and_nearest_does_not(line):
    needs, resources = line
    reordered = needs.iloc[[2, 1, 0]].reset_index(drop=True)
    # C first: C takes R2, B takes R1 x2, A is left out.
    assert pairs(baseline(reordered, resources, "fcfs", max_distance=1500)) == [
        ("B", "R1", 2), ("C", "R2", 1)]
    shuffled = needs.sample(frac=1.0, random_state=3)
    assert pairs(baseline(shuffled, resources.iloc[::-1], "nearest", max_distance=1500)) == \
        pairs(baseline(needs, resources, "nearest", max_distance=1500))


def test_baseline_uses_match_candidates(tiny):
    opt = mc.match(*tiny, max_distance=2000, max_candidates=1, scope="community")
    base = baseline(*tiny, "nearest", max_distance=2000, max_candidates=1, scope="community")
    np.testing.assert_array_equal(opt.graph.need, base.graph.need)
    np.testing.assert_array_equal(opt.graph.resource, base.graph.resource)
    np.testing.assert_array_equal(opt.score, base.score)
    assert base.options.max_candidates == 1 and base.options.scope == "community"


def test_baseline_bad_input(line):
    with pytest.raises(InputError, match="`rule` must be one of"):
        baseline(*line, "random")
    with pytest.raises(InputError, match="max_distance"):
        baseline(*line, max_distance=-1)
    with pytest.raises(InputError, match="objective"):
        baseline(*line, objective="cheapest")


@pytest.mark.parametrize(
    ("preset", "seed", "overrides"),
    [("seed_street", 0, {}), ("seed_street", 7, {"n_needs": 400, "scarcity": 0.6}),
     ("district_10k", 3, {"n_needs": 600, "n_communities": 4})],
)
def test_optimal_covers_at_least_as_much_as_baselines(preset, seed, overrides):
    needs, resources = mc.synthetic.district(preset, seed=seed, **overrides)
    md = mc.synthetic.suggested_max_distance(preset)
    opt = mc.match(needs, resources, max_distance=md)
    for rule in ("nearest", "fcfs"):
        b = baseline(needs, resources, rule, max_distance=md)
        assert b.verify().feasible
        assert (opt.objective["priority_weighted_units"]
                >= b.objective["priority_weighted_units"])
        assert (opt.metrics["priority_weighted_coverage"]
                >= b.metrics["priority_weighted_coverage"] - 1e-12)


# ------------------------------------------------------------------ compare
def test_compare_shape_and_order(line):
    needs, resources = line
    opt = mc.match(needs, resources, max_distance=1500)
    near = baseline(needs, resources, "nearest", max_distance=1500)
    fcfs = baseline(needs, resources, "fcfs", max_distance=1500)
    table = compare({"fcfs": fcfs, "optimal": opt, "nearest": near})
    assert list(table.columns) == ["fcfs", "optimal", "nearest"]
    metrics = list(opt.metrics.index)
    assert list(table.index) == [*metrics, "solver", "is_exact", "objective",
                                 "priority_weighted_coverage_gap", "total_score_gap"]
    assert table.shape == (len(metrics) + 5, 3)
    assert table.loc["solver"].tolist() == ["baseline:fcfs", opt.solver, "baseline:nearest"]
    assert table.loc["is_exact"].tolist() == [False, True, False]
    assert table.loc["objective"].tolist() == ["coverage"] * 3
    assert table.loc["priority_weighted_coverage_gap"].tolist() == pytest.approx(
        [(13 - 12) / 15, 0.0, 0.0])
    gap = table.loc["total_score_gap"]
    assert gap["optimal"] == pytest.approx(0.0) and gap["fcfs"] > 0


def test_compare_refuses_different_needs_only_for_gaps(line, tiny):
    a = mc.match(*line, max_distance=1500)
    b = mc.match(*tiny, max_distance=2000)
    with pytest.raises(InputError, match=r"different needs \(need ids differ.*gaps=False"):
        compare({"line": a, "tiny": b})
    table = compare({"line": a, "tiny": b}, gaps=False)
    assert "total_score_gap" not in table.index and table.shape[1] == 2
    needs, resources = line
    urgent = needs.assign(priority=5)
    with pytest.raises(InputError, match="priority differ"):
        compare({"a": a, "b": mc.match(urgent, resources, max_distance=1500)})
    # More resources is a fair comparison.
    more = pd.concat([resources, resources.assign(resource_id=["R3", "R4"])])
    assert compare({"a": a, "more": mc.match(needs, more, max_distance=1500)}).shape[1] == 2


def test_compare_scores_under_other_weights_have_no_gap(line):
    a = mc.match(*line, max_distance=1500)
    b = mc.match(*line, max_distance=1500, weights=mc.Weights(locality=1.0))
    gap = compare({"a": a, "b": b}).loc["total_score_gap"].tolist()
    assert all(math.isnan(v) for v in gap)


def test_compare_bad_input(line):
    r = mc.match(*line, max_distance=1500)
    with pytest.raises(InputError, match="non-empty mapping"):
        compare({})
    with pytest.raises(InputError, match="non-empty mapping"):
        compare([r])  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"results\['x'\] must be a MatchResult"):
        compare({"r": r, "x": r.metrics})  # type: ignore[dict-item]


# ------------------------------------------------------------------ pareto / sweep
def test_pareto_front_by_hand():
    frame = pd.DataFrame({
        "pwc": [0.9, 0.9, 0.8, 0.95, 0.9, np.nan],
        "dist": [300.0, 250.0, 200.0, 400.0, 250.0, 100.0],
        "fair": [0.9, 0.9, 0.99, 0.8, 0.9, 1.0],
    })
    before = frame.copy()
    # Row 0 is dominated by row 1 (same pwc and fairness, shorter); rows 1 and 4 tie.
    # Row 5: NaN coverage counts as the worst, but it is the shortest and fairest.
    got = pareto_front(frame, maximize=["pwc", "fair"], minimize=["dist"])
    assert got.dtype == bool
    assert got.tolist() == [False, True, True, True, True, True]
    assert pareto_front(frame, maximize=["pwc"], minimize=["dist"], chunk=2).tolist() == [
        False, True, True, True, True, True]
    assert pareto_front(frame, maximize=["pwc"]).tolist() == [
        False, False, False, True, False, False]
    pd.testing.assert_frame_equal(frame, before)
    assert pareto_front(frame.iloc[:0], maximize=["pwc"]).tolist() == []


def test_pareto_front_bad_input():
    f = pd.DataFrame({"a": [1.0], "b": ["x"]})
    with pytest.raises(InputError, match="at least one column"):
        pareto_front(f)
    with pytest.raises(InputError, match="no column 'c'"):
        pareto_front(f, maximize=["c"])
    with pytest.raises(InputError, match="'b' must be numeric"):
        pareto_front(f, minimize=["b"])
    with pytest.raises(InputError, match="named once"):
        pareto_front(f, maximize=["a"], minimize=["a"])


def test_sweep_rows_match_each_match(line):
    needs, resources = line
    ws = {"default": mc.Weights(), "near": mc.Weights(type=0.0, locality=1.0, priority=0.0,
                                                      partner=0.0),
          "urgent": mc.Weights(type=0.0, locality=0.1, priority=1.0, partner=0.0)}
    frame = sweep(needs, resources, ws, max_distance=1500)
    assert tuple(frame.columns) == SWEEP_COLUMNS
    assert frame["label"].tolist() == ["default", "near", "urgent"]
    assert frame["w_locality"].tolist() == [0.4, 1.0, 0.1]
    for label, w in ws.items():
        m = mc.match(needs, resources, max_distance=1500, weights=w).metrics
        row = frame.set_index("label").loc[label]
        for col in ("unit_coverage", "priority_weighted_coverage", "need_coverage",
                    "mean_distance", "community_fairness", "coverage_gini", "total_score"):
            assert row[col] == pytest.approx(float(m[col]))
    assert frame["pareto"].dtype == bool
    assert frame["pareto"].tolist() == pareto_front(
        frame, maximize=["priority_weighted_coverage", "community_fairness"],
        minimize=["mean_distance"]).tolist()
    seq = sweep(needs, resources, list(ws.values()), max_distance=1500)
    assert seq["label"].tolist() == ["w0", "w1", "w2"]


def test_sweep_pareto_by_hand(contested):
    # The unit goes to the urgent far need A under "coverage", whatever the weights:
    # every row is the same point, so none dominates another.
    ws = [mc.Weights(), mc.Weights(locality=1.0)]
    frame = sweep(*contested, ws)
    assert frame["pareto"].tolist() == [True, True]
    # Under "score", locality sends it to the near need B (900 m shorter).
    by_score = sweep(*contested, {"urgent": mc.Weights(type=0, locality=0, priority=1,
                                                       partner=0),
                                  "near": mc.Weights(type=0, locality=1, priority=0,
                                                     partner=0)}, objective="score")
    assert by_score["mean_distance"].tolist() == pytest.approx([900.0, 10.0])
    # urgent: pwc 5/6; near: pwc 1/6 but 890 m shorter: neither dominates.
    assert by_score["priority_weighted_coverage"].tolist() == pytest.approx([5 / 6, 1 / 6])
    assert by_score["pareto"].tolist() == [True, True]


def test_sweep_bad_weights(line):
    with pytest.raises(InputError, match="single Weights"):
        sweep(*line, mc.Weights())  # type: ignore[arg-type]
    with pytest.raises(InputError, match="at least one"):
        sweep(*line, [])
    with pytest.raises(InputError, match=r"weights\['w1'\] must be a matchcore.Weights"):
        sweep(*line, [mc.Weights(), {"type": 1.0}])  # type: ignore[list-item]


# ------------------------------------------------------------------ explain
def test_explain_names_the_alternative_and_who_took_it(line):
    needs, resources = line
    opt = mc.match(needs, resources, max_distance=1500)
    e = opt.explain("A")
    assert e.reason == "outbid"
    alt = e.alternative
    assert alt is not None and alt.resource_id == "R1"
    assert alt.distance == pytest.approx(50.0) and alt.capacity == 2 and alt.units == 0
    assert alt.takers[["need_id", "priority", "units"]].values.tolist() == [["B", 5, 2]]
    assert alt.takers["score"].iloc[0] == pytest.approx(
        opt.assignments.set_index("need_id").loc["B", "score"])
    assert "nearest alternative: R1 (50 m" in e.text
    assert "2 of its units went to B (priority 5, 2 units" in e.text
    assert "Needs holding R1" in e._repr_html_()

    fcfs = baseline(needs, resources, "fcfs", max_distance=1500)
    alt = fcfs.explain("C").alternative
    assert alt is not None and alt.resource_id == "R2"
    assert alt.takers[["need_id", "priority", "units"]].values.tolist() == [["B", 5, 1]]
    # Served needs and needs without candidates have no alternative.
    assert opt.explain("B").alternative is None


def test_explain_alternative_when_the_need_holds_it_all(tiny):
    r = mc.match(*tiny, max_distance=2000)
    e = r.explain("N3")
    assert e.alternative is not None and e.alternative.resource_id == "R3"
    assert e.alternative.takers.empty and e.alternative.units == 2
    assert "all its capacity went to this need" in e.text
    assert r.explain("N4").alternative is None and r.explain("N5").alternative is None
