"""One conformance suite over every registered back-end ("simplex", "ortools", "highs",
"networkx", "greedy" — feasibility only, flagged inexact), a custom callable
back-end and "auto"; the lexicographic coverage objective; the registry."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given

import matchcore as mc
from conftest import EXACT_SOLVERS
from matchcore.model.problem import FlowNetwork
from matchcore.solvers import BACKENDS, solve
from oracle import lex_objective, networkx_oracle
from strategies import districts, instances


def custom_highs(network: FlowNetwork) -> np.ndarray:
    """A user back-end: any callable with the FlowSolver signature."""
    from matchcore.solvers.highs_lp import solve_highs

    return solve_highs(network)


SOLVERS = [*EXACT_SOLVERS, "greedy", custom_highs, "auto"]
IDS = [*EXACT_SOLVERS, "greedy", "custom", "auto"]


def is_exact(solver) -> bool:
    return solver != "greedy"


def test_every_registered_back_end_is_in_the_suite():
    assert set(BACKENDS) == {"simplex", "ortools", "highs", "networkx", "greedy"}
    assert set(mc.available_solvers()) <= set(BACKENDS)
    assert mc.available_solvers()[0] in ("simplex", "ortools", "highs")
    assert set(BACKENDS) - {"ortools", "simplex"} <= set(mc.available_solvers())


def assert_feasible(r: mc.MatchResult) -> None:
    a = r.assignments
    assert (a["units"] > 0).all()
    assert a["units"].dtype.kind == "i"
    edges = set(zip(r.graph.to_frame()["need_id"], r.graph.to_frame()["resource_id"]))
    assert set(zip(a["need_id"], a["resource_id"])) <= edges
    needs = r.district.needs.set_index("need_id")
    res = r.district.resources.set_index("resource_id")
    served = a.groupby("need_id")["units"].sum()
    used = a.groupby("resource_id")["units"].sum()
    assert (served <= needs.loc[served.index, "demand"]).all()
    assert (used <= res.loc[used.index, "capacity"]).all()
    cert = r.verify()
    assert cert.feasible


@pytest.mark.parametrize("solver", SOLVERS, ids=IDS)
class TestConformance:
    def test_tiny(self, tiny, solver):
        r = mc.match(*tiny, max_distance=2000, solver=solver)
        assert_feasible(r)
        assert r.is_exact is is_exact(solver)
        if is_exact(solver):
            assert r.verify()
            assert r.assignments[["need_id", "resource_id", "units"]].values.tolist() == [
                ["N1", "R1", 2], ["N2", "R2", 1], ["N3", "R3", 2]]

    def test_solver_is_named(self, tiny, solver):
        r = mc.match(*tiny, max_distance=2000, solver=solver)
        if solver == "auto":
            assert r.solver == mc.available_solvers()[0]
            assert r.options.solver == "auto"
        elif callable(solver):
            assert r.solver == "custom_highs"
        else:
            assert r.solver == solver
        assert r.solver in repr(r)
        assert ("certified exact" in repr(r)) is is_exact(solver)
        assert ("inexact" in repr(r)) is not is_exact(solver)

    @given(district=districts())
    def test_random_districts(self, district, solver):
        for objective in ("coverage", "score"):
            r = mc.match(*district, max_distance=1500, objective=objective, solver=solver)
            assert_feasible(r)
            if is_exact(solver):
                assert r.verify()
                want, _ = networkx_oracle(r.problem)
                assert lex_objective(r.problem, r.units) == want

    @given(inst=instances(priorities=True))
    def test_random_instances(self, inst, solver):
        for objective in ("coverage", "score"):
            problem = inst.problem(objective)
            sol = solve(problem, solver)
            units = sol.units
            assert units.shape == (problem.n_edges,) and units.dtype == np.int64
            assert (units >= 0).all()
            assert (np.bincount(problem.need, units, problem.n_needs) <= problem.demand).all()
            assert (np.bincount(problem.resource, units, problem.n_resources)
                    <= problem.capacity).all()
            assert sol.exact is is_exact(solver)
            if is_exact(solver):
                assert lex_objective(problem, units) == networkx_oracle(problem)[0]
            else:
                assert sol.certificate is None

    def test_empty_and_isolated(self, solver):
        needs = pd.DataFrame({"need_id": ["a", "b"], "category": ["repair", "legal_aid"],
                              "x": [0.0, 0.0], "y": [0.0, 0.0]})
        resources = pd.DataFrame({"resource_id": ["r", "s"], "category": ["venue", "repair"],
                                  "x": [0.0, 0.0], "y": [0.0, 0.0]})
        r = mc.match(needs, resources, solver=solver)
        assert r.assignments[["need_id", "resource_id"]].values.tolist() == [["a", "s"]]
        assert r.unmet["need_id"].tolist() == ["b"]
        assert r.idle[["resource_id", "reason"]].values.tolist() == [["r", "no_candidate"]]
        empty = mc.match(needs.iloc[:0], resources.iloc[:0], solver=solver)
        assert empty.assignments.empty and empty.projects.empty and empty.unmet.empty
        assert empty.verify()

    def test_solve_assignment(self, solver):
        edges = pd.DataFrame({"need_id": ["a", "a", "b"], "resource_id": ["x", "y", "x"],
                              "score": [0.9, 0.5, 0.8]})
        out = mc.solve_assignment(edges, pd.DataFrame({"need_id": ["a", "b"]}),
                                  pd.DataFrame({"resource_id": ["x", "y"]}), solver=solver)
        assert list(out.columns) == ["need_id", "resource_id", "units", "score"]
        assert out.attrs["exact"] is is_exact(solver)
        assert out.attrs["objective"] == "coverage"
        # Two units are possible only as a-y, b-x; greedy takes a-x first.
        if is_exact(solver):
            assert out[["need_id", "resource_id", "units"]].values.tolist() == [
                ["a", "y", 1], ["b", "x", 1]]
        else:
            assert out[["need_id", "resource_id", "units"]].values.tolist() == [["a", "x", 1]]

    def test_coverage_is_lexicographic(self, contested, solver):
        weights = mc.Weights(type=0.0, locality=1.0, priority=0.0, partner=0.0)
        cov = mc.match(*contested, weights=weights, solver=solver)
        score = mc.match(*contested, weights=weights, objective="score", solver=solver)
        # Maximising the score alone gives the unit to the near, mild need B ...
        assert score.assignments["need_id"].tolist() == ["B"]
        # ... the coverage objective serves the urgent need A, at a lower score.
        assert cov.assignments["need_id"].tolist() == ["A"]
        assert cov.objective["priority_weighted_units"] == 5
        assert score.objective["priority_weighted_units"] == 1
        assert cov.objective["score"] < score.objective["score"]
        assert cov.objective["objective"] == "coverage"
        assert score.objective["objective"] == "score"

    def test_coverage_prefers_more_urgent_units_over_more_units(self, solver):
        # One unit of priority 5 beats two units of priority 2.
        needs = pd.DataFrame({"need_id": ["u", "m"], "category": ["repair"] * 2,
                              "x": [0.0, 0.0], "y": [0.0, 0.0], "priority": [5, 2],
                              "demand": [1, 2]})
        resources = pd.DataFrame({"resource_id": ["r"], "category": ["repair"], "x": [0.0],
                                  "y": [0.0], "capacity": [2]})
        r = mc.match(needs, resources, solver=solver)
        if is_exact(solver):
            assert r.assignments[["need_id", "units"]].values.tolist() == [["m", 1], ["u", 1]]
            assert r.objective["priority_weighted_units"] == 7


@pytest.mark.parametrize("solver", EXACT_SOLVERS)
def test_solve_assignment_coverage_is_most_units_then_best_score(solver):
    # Score alone: a-x (1.0) is worth more than a-y + b-x (0.1 + 0.6).
    edges = pd.DataFrame({"need_id": ["a", "a", "b"], "resource_id": ["x", "y", "x"],
                          "score": [1.0, 0.1, 0.6]})
    needs = pd.DataFrame({"need_id": ["a", "b"]})
    resources = pd.DataFrame({"resource_id": ["x", "y"]})
    cov = mc.solve_assignment(edges, needs, resources, solver=solver)
    score = mc.solve_assignment(edges, needs, resources, objective="score", solver=solver)
    assert cov[["need_id", "resource_id"]].values.tolist() == [["a", "y"], ["b", "x"]]
    assert score[["need_id", "resource_id"]].values.tolist() == [["a", "x"]]
    # Among the most-units solutions, the best score: a-y+b-x (0.7) over nothing else here,
    # and with a third resource the better pair wins.
    edges2 = pd.concat([edges, pd.DataFrame({"need_id": ["a"], "resource_id": ["z"],
                                             "score": [0.3]})], ignore_index=True)
    cov2 = mc.solve_assignment(edges2, needs, pd.DataFrame({"resource_id": ["x", "y", "z"]}),
                               solver=solver)
    assert cov2[["need_id", "resource_id"]].values.tolist() == [["a", "z"], ["b", "x"]]


def test_score_objective_leaves_non_positive_edges_unused():
    edges = pd.DataFrame({"need_id": ["a", "b", "c"], "resource_id": ["x", "y", "z"],
                          "score": [0.0, -0.5, 0.25]})
    needs = pd.DataFrame({"need_id": ["a", "b", "c"]})
    res = pd.DataFrame({"resource_id": ["x", "y", "z"]})
    out = mc.solve_assignment(edges, needs, res, objective="score")
    assert out["need_id"].tolist() == ["c"]
    cov = mc.solve_assignment(edges, needs, res)
    assert cov["need_id"].tolist() == ["a", "b", "c"]


def test_unknown_solver_lists_the_valid_names(tiny):
    from matchcore.solvers import BACKENDS

    with pytest.raises(mc.InputError, match=re.escape(
            f"unknown solver 'gurobi'; valid: {['auto', *BACKENDS]} (or, from Python, a "
            "function following matchcore.solvers.FlowSolver)")):
        mc.match(*tiny, solver="gurobi")
    with pytest.raises(mc.InputError, match="unknown solver 3"):
        mc.solve_assignment(pd.DataFrame({"need_id": [], "resource_id": [], "score": []}),
                            pd.DataFrame({"need_id": []}), pd.DataFrame({"resource_id": []}),
                            solver=3)


def test_a_wrong_custom_back_end_is_caught(tiny):
    def lazy(network: FlowNetwork) -> np.ndarray:
        return np.zeros(network.n_arcs, dtype=np.int64)

    def overflowing(network: FlowNetwork) -> np.ndarray:
        return network.capacity + 1

    with pytest.raises(mc.SolverError, match="returned a flow that is not optimal in phase "
                                             "'coverage'"):
        mc.match(*tiny, max_distance=2000, solver=lazy)
    with pytest.raises(mc.SolverError, match="returned an infeasible flow in phase 'coverage'"):
        mc.match(*tiny, max_distance=2000, solver=overflowing)


def test_greedy_is_feasible_but_can_be_suboptimal():
    # a-x first (the best edge) blocks b, whose only resource is x.
    edges = pd.DataFrame({"need_id": ["a", "a", "b"], "resource_id": ["x", "y", "x"],
                          "score": [0.9, 0.5, 0.8]})
    needs = pd.DataFrame({"need_id": ["a", "b"]})
    res = pd.DataFrame({"resource_id": ["x", "y"]})
    greedy = mc.solve_assignment(edges, needs, res, objective="score", solver="greedy")
    exact = mc.solve_assignment(edges, needs, res, objective="score")
    assert greedy["score"].sum() == pytest.approx(0.9)
    assert exact["score"].sum() == pytest.approx(1.3)
    needs_d = pd.DataFrame({"need_id": ["a", "b"], "category": ["repair"] * 2,
                            "x": [0.0, 0.0], "y": [0.0, 0.0], "priority": [3, 3]})
    res_d = pd.DataFrame({"resource_id": ["x", "y"], "category": ["repair", "cleaning"],
                          "x": [0.0, 0.0], "y": [0.0, 0.0]})
    g = mc.match(needs_d, res_d, solver="greedy", taxonomy=mc.Taxonomy(
        {("repair", "cleaning"): 0.5}))
    e = mc.match(needs_d, res_d, taxonomy=mc.Taxonomy({("repair", "cleaning"): 0.5}))
    assert g.units.sum() <= e.units.sum()
    assert g.verify().feasible


def test_subnormal_scores(data_dir):
    # Regression: a subnormal max|score| overflowed the integer scale to inf and
    # OR-Tools refused the costs (BAD_COST_RANGE).
    case = json.loads((data_dir / "subnormal_score_overflowed_scale.json").read_text())
    edges, needs, res = (pd.DataFrame(case[k]) for k in ("edges", "needs", "resources"))
    for solver in EXACT_SOLVERS:
        for objective in ("coverage", "score"):
            out = mc.solve_assignment(edges, needs, res, solver=solver, objective=objective)
            # Its integer score rounds to 0: served for coverage, not worth it for score.
            assert out["units"].sum() == (1 if objective == "coverage" else 0)


def test_auto_picks_the_first_installed_exact_back_end(tiny):
    r = mc.match(*tiny, max_distance=2000)
    assert r.solver == mc.available_solvers()[0]
    assert r.is_exact


def test_simplex_is_first_when_numba_loads_and_runs_the_phases_warm(tiny, monkeypatch):
    from matchcore.solvers import certify, registry

    if not BACKENDS["simplex"].is_available():
        pytest.skip("numba cannot be imported here")
    assert mc.available_solvers()[0] == "simplex"
    assert BACKENDS["simplex"].supports_warm_start
    r = mc.match(*tiny, max_distance=2000)
    assert r.solver == "simplex"
    # The duals it keeps certify every phase in one pass: no Bellman-Ford runs.
    assert [len(d) for d in r.solution.duals] == [2]  # coverage and score

    def no_bellman_ford(*args):
        raise AssertionError("a hint was rejected")

    with monkeypatch.context() as patch:
        patch.setattr(certify, "_bellman_ford", no_bellman_ford)
        assert mc.solvers.verify(r.problem, r.solution.units, r.solution.duals)
    # Without numba, "auto" falls back to the next exact back-end.
    monkeypatch.setitem(BACKENDS, "simplex",
                        registry.Backend("simplex", "numba", registry._simplex,
                                         warm_loader=registry._simplex_warm,
                                         probe=lambda: False))
    assert mc.match(*tiny, max_distance=2000).solver in ("ortools", "highs")
    with pytest.raises(mc.InputError, match="needs the 'numba' package: pip install numba"):
        mc.match(*tiny, solver="simplex")
