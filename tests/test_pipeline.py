"""match() and solve_assignment() end to end: files in, options, certification."""

from __future__ import annotations

import pandas as pd

import matchcore as mc


def test_match_reads_files(tmp_path, tiny):
    needs, resources = tiny
    n = mc.write_table(needs, tmp_path / "needs.xlsx")
    r = mc.write_table(resources, tmp_path / "resources.csv")
    a = mc.match(n, r, max_distance=2000)
    b = mc.match(needs, resources, max_distance=2000)
    pd.testing.assert_frame_equal(a.assignments, b.assignments)
    assert a.verify()


def test_options_are_recorded(tiny):
    tax = mc.Taxonomy.exact()
    r = mc.match(*tiny, max_distance=2000, scope="community", max_candidates=3,
                 objective="score", taxonomy=tax, certify=False)
    assert r.options == {"max_distance": 2000, "scope": "community", "max_candidates": 3,
                         "objective": "score", "solver": "auto", "taxonomy": tax}
    assert "certify" not in r.timings
    assert r.verify()
    # Exact taxonomy: childcare no longer takes education, elderly care no longer medical.
    assert r.assignments["need_id"].tolist() == ["N1", "N2"]


def test_weights_change_the_choice():
    needs = pd.DataFrame({"need_id": ["n"], "category": ["elderly_care"], "x": [0.0],
                          "y": [0.0]})
    resources = pd.DataFrame({"resource_id": ["near_medical", "far_care"],
                              "category": ["medical", "elderly_care"], "x": [10.0, 3000.0],
                              "y": [0.0, 0.0]})
    by_type = mc.match(needs, resources, weights=mc.Weights(type=1, locality=0, priority=0,
                                                            partner=0))
    by_place = mc.match(needs, resources, weights=mc.Weights(type=0, locality=1, priority=0,
                                                             partner=0))
    assert by_type.assignments["resource_id"].tolist() == ["far_care"]
    assert by_place.assignments["resource_id"].tolist() == ["near_medical"]


def test_solve_assignment_attrs_and_chinese_headers():
    edges = pd.DataFrame({"需求编号": ["a"], "资源编号": ["x"], "分数": [0.5]})
    out = mc.solve_assignment(edges, pd.DataFrame({"需求编号": ["a"], "需求数量": [3]}),
                              pd.DataFrame({"资源编号": ["x"], "可供数量": [2]}), solver="highs")
    assert out.values.tolist() == [["a", "x", 2, 0.5]]
    assert out.attrs == {"solver": "highs", "objective": "coverage", "exact": True}


def test_solve_assignment_with_empty_tables():
    out = mc.solve_assignment(pd.DataFrame({"need_id": [], "resource_id": [], "score": []}),
                              pd.DataFrame({"need_id": []}), pd.DataFrame({"resource_id": []}))
    assert out.empty and list(out.columns) == ["need_id", "resource_id", "units", "score"]
