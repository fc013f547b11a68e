"""Incremental rounds (issue 13): ``match(..., start=previous)`` reuses the earlier round's
candidate edges and score components between unchanged rows, and equals a cold match.

Every array of the candidate graph (edges, distances, affinities, funnel), every score
component, the objective and the assignment are those of a cold match of the same lists
with the same incumbents, and the result is certified.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matchcore as mc
from matchcore.model.reuse import changed_rows
from matchcore.pipeline import prepare_round
from strategies import CATEGORIES, districts

pytest.importorskip("numba")

KINDS = ("add_need", "drop_need", "move_need", "recategorise_need", "reprioritise_need",
         "add_resource", "drop_resource", "move_resource", "reskill_resource",
         "resize_resource", "stickiness")


def _change(needs: pd.DataFrame, resources: pd.DataFrame, kind: str, which: int,
            k: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The lists after one change (``stickiness`` leaves them as they are)."""
    needs, resources = needs.copy(), resources.copy()
    if kind == "add_need" and len(needs):
        row = needs.iloc[[which % len(needs)]].assign(need_id=f"NEW-{k}")
        needs = pd.concat([row, needs], ignore_index=True)  # first: row order must not matter
    elif kind == "drop_need" and len(needs) > 1:
        needs = needs.drop(index=needs.index[which % len(needs)]).reset_index(drop=True)
    elif kind == "move_need" and len(needs):
        needs.loc[needs.index[which % len(needs)], "x"] += 300.0
    elif kind == "recategorise_need" and len(needs):
        needs.loc[needs.index[which % len(needs)], "category"] = CATEGORIES[which % 3]
    elif kind == "reprioritise_need" and len(needs):
        needs.loc[needs.index[which % len(needs)], "priority"] = 1 + which % 5
    elif kind == "add_resource" and len(resources):
        row = resources.iloc[[which % len(resources)]].assign(resource_id=f"NEWR-{k}")
        resources = pd.concat([resources, row], ignore_index=True)
    elif kind == "drop_resource" and len(resources) > 1:
        resources = resources.drop(index=resources.index[which % len(resources)])
        resources = resources.reset_index(drop=True)
    elif kind == "move_resource" and len(resources):
        resources.loc[resources.index[which % len(resources)], "y"] -= 200.0
    elif kind == "reskill_resource" and len(resources) and "skills" in resources.columns:
        resources.loc[resources.index[which % len(resources)], "skills"] = None
    elif kind == "resize_resource" and len(resources):
        resources.loc[resources.index[which % len(resources)], "capacity"] = 1 + which % 4
    return needs, resources


def _same_round(warm: mc.MatchResult, cold: mc.MatchResult) -> None:
    assert warm.objective == cold.objective
    pd.testing.assert_frame_equal(warm.assignments, cold.assignments)
    pd.testing.assert_frame_equal(warm.projects, cold.projects)
    pd.testing.assert_frame_equal(warm.components, cold.components, check_exact=True)
    pd.testing.assert_frame_equal(warm.graph.funnel, cold.graph.funnel)
    for name in ("need", "resource", "distance", "affinity"):
        a, b = getattr(warm.graph, name), getattr(cold.graph, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    np.testing.assert_array_equal(warm.score, cold.score)
    np.testing.assert_array_equal(warm.solution.units, cold.solution.units)
    # Components patched from the earlier round's equal cold ones, labels and all.
    for a, b in zip(warm.problem.components(), cold.problem.components()):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert warm.verify()


@settings(deadline=None, max_examples=20)
@given(districts(min_needs=1, min_resources=1, max_needs=10, max_resources=8),
       st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 50)), min_size=1, max_size=4),
       st.sampled_from([None, "community", "grid"]),
       st.sampled_from([0.0, 0.1, 0.5]))
def test_incremental_rounds_equal_cold_rounds(lists, changes, scope, stickiness):
    needs, resources = lists
    opts = mc.MatchOptions(solver="simplex", max_distance=2000.0, scope=scope)
    previous = mc.match(needs, resources, opts)
    for k, (kind, which) in enumerate(changes):
        needs, resources = _change(needs, resources, kind, which, k)
        sticky = {}
        if kind == "stickiness" or stickiness:
            sticky = {"incumbent": previous.assignments[["need_id", "resource_id"]],
                      "stickiness": stickiness or 0.25}
        warm = mc.match(needs, resources, opts, start=previous, **sticky)
        cold = mc.match(needs, resources, opts, **sticky)
        _same_round(warm, cold)
        previous = warm


@settings(deadline=None, max_examples=15)
@given(districts(min_needs=2, min_resources=2, latlon=True), st.integers(0, 50))
def test_incremental_rounds_on_lat_lon_equal_cold_rounds(lists, which):
    needs, resources = lists
    first = mc.match(needs, resources, solver="simplex", max_distance=2000.0)
    for kind in ("add_need", "drop_resource", "reprioritise_need"):
        needs, resources = _change(needs, resources, kind, which, 0)
        warm = mc.match(needs, resources, solver="simplex", max_distance=2000.0, start=first)
        cold = mc.match(needs, resources, solver="simplex", max_distance=2000.0)
        _same_round(warm, cold)


def test_unchanged_rows_are_reused():
    needs, resources = mc.synthetic.district("seed_street", seed=3)
    first = mc.match(needs, resources, max_distance=1500.0)
    needs2 = pd.concat([needs.iloc[1:], needs.iloc[:1].assign(need_id="NEW-1")],
                       ignore_index=True)
    prepared = prepare_round(needs2, resources, first.options, start=first)
    assert prepared.components is not None
    rows = changed_rows(first.district, prepared.district)
    assert rows is not None
    need_at, res_at = rows
    assert (need_at < 0).sum() == 1 and (res_at >= 0).all()
    cold = prepare_round(needs2, resources, first.options)
    np.testing.assert_array_equal(prepared.graph.distance, cold.graph.distance)


@pytest.mark.parametrize("options", [{"max_candidates": 2}, {"max_distance": 900.0},
                                     {"scope": "grid"}])
def test_a_start_of_other_options_is_built_afresh(options):
    needs, resources = mc.synthetic.district("seed_street", seed=3)
    first = mc.match(needs, resources, max_distance=1500.0,
                     max_candidates=options.get("max_candidates"))
    opts = first.options.replace(max_candidates=None, **{k: v for k, v in options.items()
                                                         if k != "max_candidates"})
    prepared = prepare_round(needs, resources, opts, start=first)
    assert prepared.components is None
    warm = mc.match(needs, resources, opts, start=first)
    _same_round(warm, mc.match(needs, resources, opts))


@pytest.mark.parametrize("bad", ["demand", "category", "duplicate"])
def test_bad_rows_raise_the_cold_error(bad):
    needs, resources = mc.synthetic.district("seed_street", seed=4)
    first = mc.match(needs, resources, max_distance=1500.0)
    changed = needs.copy()
    if bad == "demand":
        changed.loc[changed.index[[3, 7]], "demand"] = [-1, 0]
    elif bad == "category":
        changed.loc[changed.index[5], "category"] = None
    else:
        changed = pd.concat([changed, changed.iloc[[2]]], ignore_index=True)
    with pytest.raises(mc.InputError) as cold:
        mc.match(changed, resources, first.options)
    with pytest.raises(mc.InputError) as warm:
        mc.match(changed, resources, first.options, start=first)
    assert str(warm.value) == str(cold.value)
    failures = getattr(cold.value, "failures", None)
    if failures is not None:
        pd.testing.assert_frame_equal(warm.value.failures, failures)


def test_an_incremental_round_maps_old_edges_by_index_as_by_key():
    from matchcore.pipeline import warm_start_of
    from matchcore.solvers.phases import batch_arrays

    needs, resources = mc.synthetic.district("seed_street", seed=5)
    first = mc.match(needs, resources, max_distance=1500.0, solver="simplex")
    needs2, resources2 = _change(needs, resources, "add_need", 3, 0)
    needs2, resources2 = _change(needs2, resources2, "drop_resource", 7, 1)
    needs2, resources2 = _change(needs2, resources2, "reprioritise_need", 11, 2)
    prepared = prepare_round(needs2, resources2, first.options, start=first)
    assert prepared.edge_map is not None and (prepared.edge_map < 0).any()
    r = mc.match(needs2, resources2, first.options, start=first)
    by_key = warm_start_of(first, r.district)
    by_index = warm_start_of(first, r.district, edge_map=prepared.edge_map)
    assert by_key is not None and by_index is not None
    problem = r.problem
    for edges in problem.batches():
        net, needs_b, res_b, _, _ = batch_arrays(problem, edges)
        en, er = problem.need[edges], problem.resource[edges]
        for phase in ("coverage", "score", "tiebreak"):
            a = by_key.basis_for(phase, net, needs_b, res_b, en, er)
            b = by_index.basis_for(phase, net, needs_b, res_b, en, er, edges)
            assert (a is None) == (b is None)
            if a is not None and b is not None:
                np.testing.assert_array_equal(a.state, b.state)
                np.testing.assert_array_equal(a.hung, b.hung)
            # Sizes no old batch had: by index, the edges' keys are not read.
            assert by_key.edge_keys_needed(len(needs_b), len(res_b), len(edges))
            assert not by_index.edge_keys_needed(len(needs_b), len(res_b), len(edges))
            c = by_index.basis_for(phase, net, needs_b, res_b, None, None, edges)
            assert (c is None) == (b is None)
            if c is not None and b is not None:
                np.testing.assert_array_equal(c.state, b.state)
                np.testing.assert_array_equal(c.hung, b.hung)
        assert by_index.first_for("coverage", net, needs_b, res_b, None, None) is None


@pytest.mark.parametrize("scales", [(300.0, 300.0), (300.0, 1000.0), (1000.0, 2500.0)])
def test_an_incremental_round_with_a_distance_scale_equals_the_cold_round(scales):
    # The locality component depends on the distance scale: fresh edges are
    # scored with the round's, and a start scored with another is not reused.
    needs, resources = mc.synthetic.district("seed_street", seed=5)
    first = mc.match(needs, resources, max_distance=1500.0, solver="simplex",
                     weights=mc.Weights(distance_scale=scales[0]))
    needs2, resources2 = _change(needs, resources, "add_need", 3, 0)
    needs2.loc[needs2.index[5], "lat"] += 0.002
    opts = first.options.replace(weights=mc.Weights(distance_scale=scales[1]))
    warm = mc.match(needs2, resources2, opts, start=first)
    _same_round(warm, mc.match(needs2, resources2, opts))


def _changed_street(scope: str | None = None
                    ) -> tuple[mc.MatchResult, pd.DataFrame, pd.DataFrame]:
    needs, resources = mc.synthetic.district("seed_street", seed=5)
    first = mc.match(needs, resources, max_distance=1500.0, solver="simplex", scope=scope)
    for k, (kind, which) in enumerate([("add_need", 3), ("drop_resource", 7),
                                       ("recategorise_need", 11), ("reprioritise_need", 2)]):
        needs, resources = _change(needs, resources, kind, which, k)
    return first, needs, resources


def test_merging_by_runs_equals_merging_by_masks(monkeypatch):
    from matchcore.model import reuse

    first, needs, resources = _changed_street()
    by_runs = prepare_round(needs, resources, first.options, start=first)
    monkeypatch.setattr(reuse, "_runs", lambda *a, **k: None)
    by_masks = prepare_round(needs, resources, first.options, start=first)
    for name in ("need", "resource", "distance", "affinity"):
        a, b = getattr(by_runs.graph, name), getattr(by_masks.graph, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert by_runs.components is not None and by_masks.components is not None
    pd.testing.assert_frame_equal(by_runs.components, by_masks.components, check_exact=True)
    np.testing.assert_array_equal(by_runs.edge_map, by_masks.edge_map)


def test_runs_of_kept_edges():
    from matchcore.model.reuse import _runs

    old, new = np.array([0, 1, 2, 4, 5, 6]), np.array([0, 1, 3, 4, 5, 7])
    assert _runs(old, new, limit=10) == [(0, 0, 2), (2, 3, 1), (4, 4, 2), (6, 7, 1)]
    assert _runs(old, new, limit=3) is None
    assert _runs(old[:0], new[:0], limit=1) == []


def test_the_incumbent_found_by_index_equals_the_incumbent_found_by_id():
    from matchcore.pipeline import _assigned_by_index, _incumbent_mask, _reused_edges

    first, needs, resources = _changed_street()
    prepared = prepare_round(needs, resources, first.options, start=first)
    reused = _reused_edges(prepared, first)
    assert reused is not None
    by_id = _incumbent_mask(prepared.graph, first.assignments)
    assert by_id.any()
    same = first.assignments
    copy = same[["need_id", "resource_id"]].copy()
    for incumbent in (same, copy):
        by_index = _assigned_by_index(prepared.graph, incumbent, reused)
        assert by_index is not None
        np.testing.assert_array_equal(by_index, by_id)
    # Not the earlier assignment row by row: looked up by id instead.
    assert _assigned_by_index(prepared.graph, copy.iloc[::-1], reused) is None
    assert _assigned_by_index(prepared.graph, copy.iloc[1:], reused) is None
    assert _reused_edges(prepared, None) is None
    for incumbent in (copy, copy.iloc[::-1], copy.iloc[1:]):
        warm = mc.match(needs, resources, first.options, start=first, incumbent=incumbent,
                        stickiness=0.3)
        cold = mc.match(needs, resources, first.options, incumbent=incumbent, stickiness=0.3)
        _same_round(warm, cold)


def test_same_values_of_numbers_and_objects():
    from matchcore.model.reuse import _same_values

    nan = float("nan")
    x = pd.Series([1.0, nan, 2.0, nan])
    y = pd.Series([1.0, nan, 3.0, 4.0])
    assert _same_values(x, y).tolist() == [True, True, False, False]
    assert _same_values(pd.Series([1, 2]), pd.Series([1, 3])).tolist() == [True, False]
    assert _same_values(pd.Series([1, None], dtype="Int64"),
                        pd.Series([1, None], dtype="Int64")).tolist() == [True, True]
    assert _same_values(pd.Series(["a", None]), pd.Series(["a", None])).tolist() == [True, True]
    # Another dtype: compared as objects (1 == 1.0).
    assert _same_values(pd.Series([1, 2]), pd.Series([1.0, 2.5])).tolist() == [True, False]
