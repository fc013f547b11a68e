"""match() and solve_assignment() end to end: files in, options, certification."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

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
    assert r.options == mc.MatchOptions(max_distance=2000, scope="community", max_candidates=3,
                                        objective="score", taxonomy=tax)
    assert r.options.max_distance == 2000.0 and isinstance(r.options.max_distance, float)
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


# ---------------------------------------------------------------------------
# incumbent and stickiness


def _line(resource_x):
    """One need at x=0 and candidate resources of its category along the x axis."""
    needs = pd.DataFrame({"need_id": ["N"], "category": ["repair"], "x": [0.0], "y": [0.0]})
    resources = pd.DataFrame({
        "resource_id": [f"R{k}" for k in range(len(resource_x))],
        "category": ["repair"] * len(resource_x),
        "x": list(resource_x),
        "y": [0.0] * len(resource_x),
    })
    return needs, resources


def test_stickiness_is_a_visible_certified_bonus(tiny):
    from matchcore.model.scoring import COMPONENTS

    first = mc.match(*tiny, max_distance=2000)
    r = mc.match(*tiny, max_distance=2000, incumbent=first.assignments, stickiness=0.25)
    comp = r.components
    assert list(comp.columns) == [*COMPONENTS, "stickiness"]
    on = set(zip(first.assignments["need_id"], first.assignments["resource_id"]))
    edges = r.graph.to_frame()
    sticky = [(n, j) in on for n, j in zip(edges["need_id"], edges["resource_id"])]
    np.testing.assert_array_equal(comp["stickiness"].to_numpy(), np.where(sticky, 0.25, 0.0))
    base = sum(getattr(r.weights, c) * comp[c].to_numpy() for c in COMPONENTS)
    np.testing.assert_allclose(r.score, base + comp["stickiness"].to_numpy())
    assert r.options.stickiness == 0.25 and r.n_incumbent_edges == len(on)
    assert "stickiness" in r.assignments.columns
    assert "stickiness" in r.explain("N1").candidates.columns
    assert r.verify()


def test_stickiness_keeps_the_incumbent_until_a_move_gains_more():
    needs, resources = _line([100.0, 200.0])  # R0 is nearer, so better
    free = mc.match(needs, resources, max_distance=1000)
    assert free.assignments["resource_id"].tolist() == ["R0"]
    gap = float(np.diff(free.explain("N").candidates["score"].to_numpy())[0])
    incumbent = pd.DataFrame({"need_id": ["N"], "resource_id": ["R1"]})
    for bonus, expected in [(0.0, "R0"), (-gap / 2, "R0"), (-gap * 2, "R1")]:
        r = mc.match(needs, resources, max_distance=1000, incumbent=incumbent,
                     stickiness=bonus)
        assert r.assignments["resource_id"].tolist() == [expected], bonus
        assert r.verify()


def test_stickiness_zero_changes_nothing_and_unknown_pairs_get_no_bonus(tiny):
    first = mc.match(*tiny, max_distance=2000)
    incumbent = pd.DataFrame({"需求编号": ["N1", "N9", "N2"], "资源编号": ["R4", "R1", "R9"]})
    r = mc.match(*tiny, max_distance=2000, incumbent=incumbent)
    cols = ["need_id", "resource_id", "units", "score"]
    pd.testing.assert_frame_equal(r.assignments[cols], first.assignments[cols])
    assert r.n_incumbent_edges == 1 and r.components["stickiness"].sum() == 0.0
    s = mc.match(*tiny, max_distance=2000, incumbent=incumbent, stickiness=0.1)
    assert s.n_incumbent_edges == 1 and s.components["stickiness"].sum() == 0.1
    assert incumbent.columns.tolist() == ["需求编号", "资源编号"]  # the caller's frame is untouched


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"stickiness": -0.1}, r"`stickiness` must be a finite number >= 0.*-0\.1"),
        ({"stickiness": float("nan")}, r"`stickiness` must be a finite number >= 0.*nan"),
        ({"stickiness": True}, r"`stickiness` must be a finite number >= 0.*True"),
        ({"stickiness": "0.1"}, r"`stickiness` must be a finite number >= 0.*'0.1'"),
        ({"stickiness": 0.1, "incumbent": None}, r"needs an `incumbent`"),
        ({"incumbent": [("N1", "R1")]}, r"`incumbent` must be a DataFrame.*got list"),
        ({"incumbent": pd.DataFrame({"need_id": ["N1"]})},
         r"incumbent lacks required column\(s\) \['resource_id'\]"),
        ({"incumbent": pd.DataFrame({"need_id": ["N1", None], "resource_id": ["R1", "R2"]})},
         r"`need_id` must be a non-empty id; got a missing value in row 2 of incumbent"),
    ],
)
def test_stickiness_validation(tiny, kwargs, message):
    kwargs = {"incumbent": pd.DataFrame({"need_id": ["N1"], "resource_id": ["R1"]}), **kwargs}
    with pytest.raises(mc.InputError, match=message):
        mc.match(*tiny, max_distance=2000, **kwargs)


@pytest.mark.parametrize("solver", ["simplex", "highs"])
def test_progress_moves_through_the_solve_phase_by_phase(solver):
    if solver not in mc.available_solvers():
        pytest.skip(f"{solver} is not installed")
    seen: list[tuple[str, float]] = []
    r = mc.match(*mc.synthetic.tiny(), max_distance=2000, solver=solver,
                 progress=lambda step, done: seen.append((step, done)))
    steps = [step for step, _ in seen]
    assert any("'coverage'" in s for s in steps) and any("'score'" in s for s in steps)
    done = [d for _, d in seen]
    assert done == sorted(done) and 0 < done[0] and done[-1] == 1.0
    assert r.verify()
