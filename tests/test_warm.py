"""Warm starts (issue 13): a round solved from an earlier round's bases equals the cold solve.

``match(..., start=previous)``, the warm :func:`~matchcore.analysis.sweep` and
``ProjectLedger.rematch(..., start=...)`` only change how long the network
simplex pivots: objective and assignment (the tie-break makes it unique)
are those of a cold solve, and certified.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matchcore as mc
from conftest import examples
from matchcore.analysis import sweep
from matchcore.solvers import WarmStart, solve
from oracle import assert_same_plan
from strategies import districts, round_changes

pytest.importorskip("numba")

SIMPLEX = {"solver": "simplex", "max_distance": 2000.0}


def _changed(needs: pd.DataFrame, resources: pd.DataFrame, kind: str, which: int,
             amount: float, k: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The lists after one change (weights and stickiness leave them as they are)."""
    if kind == "add_need" and len(needs):
        row = needs.iloc[[which % len(needs)]].assign(need_id=f"NEW-{k}")
        needs = pd.concat([needs, row], ignore_index=True)
    elif kind == "drop_need" and len(needs) > 1:
        needs = needs.drop(index=needs.index[which % len(needs)]).reset_index(drop=True)
    elif kind == "change_need" and len(needs):
        needs = needs.copy()
        i = needs.index[which % len(needs)]
        needs.loc[i, "priority"] = 1 + int(amount * 4)
        needs.loc[i, "x"] = needs.loc[i, "x"] + 100.0
    elif kind == "drop_resource" and len(resources) > 1:
        resources = resources.drop(index=resources.index[which % len(resources)])
        resources = resources.reset_index(drop=True)
    return needs, resources


@settings(deadline=None, max_examples=examples(40))
@given(districts(min_needs=1, min_resources=1), round_changes(),
       st.sampled_from(["coverage", "score"]))
def test_warm_rounds_equal_cold_rounds(lists, changes, objective):
    needs, resources = lists
    opts = mc.MatchOptions(objective=objective, **SIMPLEX)
    previous = mc.match(needs, resources, opts)
    for k, (kind, which, amount) in enumerate(changes):
        needs, resources = _changed(needs, resources, kind, which, amount, k)
        if kind == "weights":
            opts = opts.replace(weights=mc.Weights(type=amount, locality=1.0 - amount,
                                                   priority=0.2))
        sticky = {}
        if kind == "stickiness":
            sticky = {"incumbent": previous.assignments, "stickiness": amount}
        warm = mc.match(needs, resources, opts, start=previous, **sticky)
        cold = mc.match(needs, resources, opts, **sticky)
        assert_same_plan(warm, cold)
        previous = warm


@settings(deadline=None, max_examples=examples(40))
@given(districts(min_needs=1, min_resources=1), districts(min_needs=1, min_resources=1),
       st.integers(0, 2**31))
def test_a_mismatched_start_never_gives_a_wrong_answer(lists, other, seed):
    """Bases of another district, with needs and resources mapped at random."""
    first = mc.match(*other, **SIMPLEX)
    cold = mc.match(*lists, **SIMPLEX)
    problem = cold.problem
    rng = np.random.default_rng(seed)
    need_map = rng.integers(-1, problem.n_needs, size=first.problem.n_needs)
    res_map = rng.integers(-1, problem.n_resources, size=first.problem.n_resources)
    start = WarmStart(first.solution.bases or [], first.problem.need, first.problem.resource,
                      need_map, res_map, problem.n_needs, problem.n_resources)
    warm = solve(problem, "simplex", start=start)
    np.testing.assert_array_equal(warm.units, cold.solution.units)
    assert mc.solvers.verify(problem, warm.units)


def test_bases_are_kept_per_batch_and_phase():
    r = mc.match(*mc.synthetic.tiny(), **SIMPLEX)
    bases = r.solution.bases
    assert bases is not None and len(bases) == r.solution.n_batches
    for b in bases:
        assert b.phases == ("coverage", "score", "tiebreak")
        n_arcs = len(b.needs) + len(b.edges) + len(b.resources)
        assert all(basis.n_arcs == n_arcs for basis in b.bases)
    assert mc.match(*mc.synthetic.tiny(), max_distance=2000.0,
                    solver="highs").solution.bases is None


def test_start_must_be_a_result():
    with pytest.raises(mc.InputError, match="`start` must be a MatchResult"):
        mc.match(*mc.synthetic.tiny(), start="last week")


@pytest.mark.parametrize("max_candidates", [None, 2])
def test_warm_sweep_rows_equal_cold_matches(max_candidates):
    needs, resources = mc.synthetic.district("seed_street", seed=1)
    settings_ = {"near": mc.Weights(locality=1.0), "typed": mc.Weights(type=1.0, locality=0.0),
                 "mixed": mc.Weights(type=0.4, locality=0.4, priority=0.2)}
    frame = sweep(needs, resources, settings_, max_candidates=max_candidates, **SIMPLEX)
    for label, w in settings_.items():
        cold = mc.match(needs, resources, weights=w, max_candidates=max_candidates, **SIMPLEX)
        row = frame.set_index("label").loc[label]
        m = cold.metrics
        assert row["total_score"] == pytest.approx(float(m["total_score"]), abs=0)
        assert row["priority_weighted_coverage"] == float(m["priority_weighted_coverage"])


def test_ledger_rematch_from_the_last_result_equals_a_cold_rematch(tmp_path):
    needs, resources = mc.synthetic.district("seed_street", seed=2)
    first = mc.match(needs, resources, **SIMPLEX)
    reports = {}
    for how in ("warm", "cold"):
        ledger = mc.ProjectLedger(tmp_path / f"{how}.db")
        ledger.add_round(first)
        new = needs.iloc[:3].assign(need_id=lambda f: "NEW-" + f["need_id"])
        dropped = [first.assignments["resource_id"].iloc[0]]
        reports[how] = ledger.rematch(new, dropped_resources=dropped,
                                      start=first if how == "warm" else None)
    assert_same_plan(reports["warm"].result, reports["cold"].result)
    assert reports["warm"].n_to_backup == reports["cold"].n_to_backup


def test_a_first_phase_optimum_of_the_same_arcs_is_taken_without_pivots():
    from matchcore.solvers.network_simplex import network_simplex
    from matchcore.solvers.warm_phases import solve_phases

    net, bn, costs = _phase_setup("seed_street", 2)
    calls: list[int] = []

    def counted(network, basis=None, **kw):
        calls.append(1)
        return network_simplex(network, basis=basis, **kw)

    kept: list[np.ndarray] = []
    seconds = dict.fromkeys([name for name, _ in costs], 0.0)
    cold, duals, bases = solve_phases(net, costs, len(bn), seconds, on_first=kept.append)
    assert kept and len(duals) == 2
    for first, want in (((kept[0], duals[0]), 2),  # taken: no solve of the first phase
                        ((np.zeros_like(kept[0]), duals[0]), 3),  # not feasible: solved
                        ((kept[0], np.zeros_like(duals[0])), 3)):  # not proven optimal
        calls.clear()
        flow, _, _ = solve_phases(net, costs, len(bn), seconds, warm_solve=counted,
                                  start=list(bases), first=first)
        assert len(calls) == want
        np.testing.assert_array_equal(flow, cold)


def test_a_warm_sweep_takes_the_coverage_optimum_and_equals_cold_matches():
    needs, resources = mc.synthetic.district("seed_street", seed=4)
    weights = {"a": mc.Weights(), "b": mc.Weights(type=0.7, locality=0.2, priority=0.1),
               "c": mc.Weights(locality=0.8, distance_scale=400.0)}
    frame = sweep(needs, resources, weights, max_distance=1500.0, solver="simplex")
    first = mc.match(needs, resources, max_distance=1500.0, solver="simplex")
    assert first.solution.bases and first.solution.bases[0].first is not None
    for label, w in weights.items():
        cold = mc.match(needs, resources, max_distance=1500.0, solver="simplex", weights=w)
        warm = mc.match(needs, resources, max_distance=1500.0, solver="simplex", weights=w,
                        start=first)
        assert_same_plan(warm, cold)
        row = frame.set_index("label").loc[label]
        assert row["total_score"] == pytest.approx(float(cold.metrics["total_score"]), abs=0)


def _phase_setup(preset: str, seed: int):
    import functools

    from matchcore.solvers.phases import phase_cost

    needs, resources = mc.synthetic.district(preset, seed=seed)
    r = mc.match(needs, resources, max_distance=1500.0, solver="simplex")
    problem = r.problem
    (edges,) = problem.batches()
    net, bn, br = problem.network(edges)[:3]
    costs = [(name, functools.partial(phase_cost, net, bn, edges, len(br), nc, ec))
             for name, nc, ec in problem.phases()]
    return net, bn, costs


@settings(deadline=None, max_examples=10)
@given(st.integers(0, 50))
def test_the_compiled_phase_close_equals_the_numpy_one(seed):
    # simplex_kernel.close_phase (one pass: checks, record, freeze) against the
    # numpy checks it replaced: the same flow, duals and bases in every phase.
    from matchcore.solvers import warm_phases

    net, bn, costs = _phase_setup("seed_street", seed)
    seconds = dict.fromkeys([name for name, _ in costs], 0.0)
    fast = warm_phases.solve_phases(net, costs, len(bn), seconds)
    original = warm_phases.is_available
    warm_phases.is_available = lambda: False
    try:
        slow = warm_phases.solve_phases(net, costs, len(bn), seconds)
    finally:
        warm_phases.is_available = original
    np.testing.assert_array_equal(fast[0], slow[0])
    assert len(fast[1]) == len(slow[1]) == 2
    for a, b in zip(fast[1], slow[1]):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(fast[2], slow[2]):
        np.testing.assert_array_equal(a.state, b.state)
        np.testing.assert_array_equal(a.hung, b.hung)


def test_wrong_solver_potentials_are_recomputed_and_an_infeasible_flow_is_refused():
    from matchcore.errors import SolverError
    from matchcore.solvers.network_simplex import network_simplex
    from matchcore.solvers.warm_phases import solve_phases

    net, bn, costs = _phase_setup("seed_street", 3)
    seconds = dict.fromkeys([name for name, _ in costs], 0.0)
    cold, _, _ = solve_phases(net, costs, len(bn), seconds)

    def wrong_duals(network, basis=None, **kw):
        res = network_simplex(network, basis=basis, **kw)
        object.__setattr__(res, "potentials", np.zeros_like(res.potentials))
        return res

    flow, again, _ = solve_phases(net, costs, len(bn), seconds, warm_solve=wrong_duals)
    np.testing.assert_array_equal(flow, cold)  # Bellman-Ford's potentials froze the same face
    assert len(again) == 2

    def leaky(network, basis=None, **kw):
        res = network_simplex(network, basis=basis, **kw)
        res.flow[0] += 1  # one unit more into the first need: not conserved
        return res

    with pytest.raises(SolverError, match="not conserved"):
        solve_phases(net, costs, len(bn), seconds, warm_solve=leaky)


def test_a_sweeps_next_weighting_finds_its_batches_by_index(monkeypatch):
    # The weightings of a sweep share their edges: each batch of the next one is found
    # by its edge indices (no edge keys gathered), and the rows are the cold matches'.
    needs, resources = mc.synthetic.district("seed_street", seed=4)
    weights = {"a": mc.Weights(), "b": mc.Weights(type=0.7, locality=0.2, priority=0.1),
               "c": mc.Weights(type=0.3, locality=0.3, priority=0.4)}
    found: list[bool] = []
    by_index = WarmStart._by_index

    def spied(self, needs, resources, edges):
        out = by_index(self, needs, resources, edges)
        found.append(out is not None)
        return out

    monkeypatch.setattr(WarmStart, "_by_index", spied)
    keyed = WarmStart.edge_keys_needed
    asked: list[int] = []
    monkeypatch.setattr(WarmStart, "edge_keys_needed",
                        lambda self, *a: asked.append(1) or keyed(self, *a))
    warm = sweep(needs, resources, weights, max_distance=1500.0, solver="simplex")
    assert found and all(found) and not asked
    cold = sweep(needs, resources, weights, max_distance=1500.0, solver="simplex", warm=False)
    pd.testing.assert_frame_equal(warm, cold)
    # Other lists (a need left): not the same edges, so the keys are used, as before.
    first = mc.match(needs, resources, max_distance=1500.0, solver="simplex")
    found.clear()
    fewer = needs.iloc[1:]
    again = mc.match(fewer, resources, max_distance=1500.0, solver="simplex", start=first)
    assert not any(found)
    assert_same_plan(again, mc.match(fewer, resources, max_distance=1500.0, solver="simplex"))


def test_same_edges_needs_the_same_needs_resources_and_edges():
    from matchcore.pipeline import warm_start_of

    r = mc.match(*mc.synthetic.tiny(), max_distance=2000.0, solver="simplex")
    start = warm_start_of(r, r.district)
    p = r.problem
    assert start.same_edges(p.need, p.resource)
    assert start.same_edges(p.need.copy(), p.resource.copy())
    assert not start.same_edges(p.need[::-1].copy(), p.resource)
    assert not start.same_edges(p.need[1:], p.resource[1:])
    moved = WarmStart(r.solution.bases, p.need, p.resource,
                      np.arange(r.district.n_needs)[::-1].copy(),
                      np.arange(r.district.n_resources), r.district.n_needs,
                      r.district.n_resources)
    assert not moved.same_edges(p.need, p.resource)
    b = r.solution.bases[0]
    assert not moved.has_batch(b.needs, b.resources, b.edges)
