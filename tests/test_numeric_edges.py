"""Exact at the edges of int64: the documented limit of 2**53 units, on every exact back-end.

Every exact back-end in the registry (``matchcore.solvers.BACKENDS``; a back-end
registered later is covered without a change here) must solve demands and
capacities up to ``MAX_UNITS = 2**53`` exactly — no unit lost to float64
rounding, no total wrapped around in int64 — and refuse anything past it
with an ``InputError`` that states the limit and the exact value. Whatever
a back-end raises becomes a ``SolverError`` naming it.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

import matchcore as mc
from matchcore.model.problem import MAX_UNITS, TransportProblem, exact_sum
from matchcore.solvers import BACKENDS, solve, verify

EXACT = [name for name in mc.available_solvers() if BACKENDS[name].exact]
LIMIT = "at most 2**53 = 9,007,199,254,740,992 units"


def test_the_limit_is_two_to_the_53():
    assert MAX_UNITS == 2**53 and float(MAX_UNITS) == MAX_UNITS
    assert float(MAX_UNITS + 1) != MAX_UNITS + 1  # why: float64 (HiGHS) loses 2**53 + 1
    assert {"ortools", "highs", "networkx"} & set(EXACT)


def assignment(demand, capacity, scores=None):
    """A complete bipartite solve_assignment instance."""
    need_ids = [f"n{i}" for i in range(len(demand))]
    res_ids = [f"r{j}" for j in range(len(capacity))]
    pairs = [(n, r) for n in need_ids for r in res_ids]
    edges = pd.DataFrame(pairs, columns=["need_id", "resource_id"])
    edges["score"] = np.linspace(0.2, 1.0, len(pairs)) if scores is None else scores
    needs = pd.DataFrame({"need_id": need_ids, "demand": demand})
    resources = pd.DataFrame({"resource_id": res_ids, "capacity": capacity})
    return edges, needs, resources


AT_THE_LIMIT = {
    "one need, one resource": ([2**53], [2**53]),
    "halves, uneven capacity": ([2**52, 2**52], [2**52 + 1, 2**52 - 1]),
    "one unit beside 2**53 - 1": ([2**53 - 1, 1], [1, 2**53 - 1]),
    "quarters": ([2**51] * 4, [2**51 + 3, 2**51 - 3, 2**51, 2**51]),
}


@pytest.mark.parametrize("solver", EXACT)
@pytest.mark.parametrize("objective", ["coverage", "score"])
@pytest.mark.parametrize("case", list(AT_THE_LIMIT), ids=list(AT_THE_LIMIT))
def test_the_limit_is_solved_exactly_by_every_exact_back_end(solver, objective, case):
    demand, capacity = AT_THE_LIMIT[case]
    edges, needs, resources = assignment(demand, capacity)
    out = mc.solve_assignment(edges, needs, resources, objective=objective, solver=solver)
    units = [int(u) for u in out["units"]]
    assert min(units) > 0
    # Every need is served in full: not one unit short, not one rounded away.
    assert sum(units) == MAX_UNITS == sum(demand)
    served = out.groupby("need_id")["units"].sum()
    assert [int(served[f"n{i}"]) for i in range(len(demand))] == demand


@pytest.mark.parametrize("solver", EXACT)
def test_the_limit_through_match_is_exact_and_certified(solver):
    needs = pd.DataFrame({"need_id": ["a", "b"], "category": ["repair"] * 2, "x": [0.0, 10.0],
                          "y": [0.0, 0.0], "demand": [2**52 + 1, 2**52 - 1]})
    resources = pd.DataFrame({"resource_id": ["x", "y"], "category": ["repair"] * 2,
                              "x": [0.0, 10.0], "y": [5.0, 5.0],
                              "capacity": [2**53 - 3, 3]})
    r = mc.match(needs, resources, solver=solver)
    assert r.verify()
    units = r.objective["units"]
    assert type(units) is int and units == MAX_UNITS
    assert type(r.objective["priority_weighted_units"]) is int
    assert r.objective["priority_weighted_units"] == 3 * MAX_UNITS
    m = r.metrics
    for key in ("demand_units", "capacity_units", "assigned_units", "unmet_units"):
        assert type(m[key]) is int, key
    assert m["demand_units"] == m["capacity_units"] == m["assigned_units"] == MAX_UNITS
    assert m["unmet_units"] == 0
    assert r.projects["assigned"].tolist() == [2**52 + 1, 2**52 - 1]


PAST_THE_LIMIT = {
    "demand 2**53 + 1": ([2**53 + 1], [1], "`demand` must be " + LIMIT,
                         "got 9,007,199,254,740,993 for need 'n0'"),
    "capacity 2**53 + 1": ([1], [2**53 + 1], "`capacity` must be " + LIMIT,
                           "got 9,007,199,254,740,993 for resource 'r0'"),
    "demand 2**62": ([1, 2**62], [1], "`demand` must be " + LIMIT,
                     "got 4,611,686,018,427,387,904 for need 'n1'"),
    "two demands of 2**62 (int64 wraps)": ([2**62, 2**62], [1], "`demand` must be " + LIMIT,
                                           "got 4,611,686,018,427,387,904 for need 'n0'"),
    "total demand one past": ([2**52, 2**52 + 1], [5], "the total demand must be " + LIMIT,
                              "got 9,007,199,254,740,993 over 2 needs"),
    "total capacity one past": ([5], [2**52 + 1, 2**52], "the total capacity must be " + LIMIT,
                                "got 9,007,199,254,740,993 over 2 resources"),
}


@pytest.mark.parametrize("solver", [*EXACT, "greedy"])
@pytest.mark.parametrize("case", list(PAST_THE_LIMIT), ids=list(PAST_THE_LIMIT))
def test_past_the_limit_is_refused_with_the_limit_and_the_exact_value(solver, case):
    demand, capacity, rule, found = PAST_THE_LIMIT[case]
    edges, needs, resources = assignment(demand, capacity)
    with pytest.raises(mc.InputError, match=re.escape(rule) + ".*" + re.escape(found)):
        mc.solve_assignment(edges, needs, resources, solver=solver)


@pytest.mark.parametrize("solver", EXACT)
def test_a_total_that_wraps_int64_is_refused(solver):
    # 2,048 needs of 2**52 each: the int64 sum is -2**63; the exact one 2**63.
    n = 2_048
    problem = TransportProblem(
        np.arange(n, dtype=np.int64), np.zeros(n, dtype=np.int64),
        np.full(n, 2**52, dtype=np.int64), np.array([5], dtype=np.int64),
        np.ones(n), np.ones(n, dtype=np.int64), "coverage")
    assert int(problem.demand.sum()) < 0  # what the old check saw
    with pytest.raises(mc.InputError, match=re.escape(
            "the total demand must be " + LIMIT) + ".*" + re.escape(
            "got 9,223,372,036,854,775,808 over 2,048 needs")):
        solve(problem, solver)


def test_match_refuses_past_the_limit_naming_the_need():
    needs = pd.DataFrame({"need_id": ["a"], "category": ["repair"], "x": [0.0], "y": [0.0],
                          "demand": [2**53 + 1]})
    resources = pd.DataFrame({"resource_id": ["x"], "category": ["repair"], "x": [0.0],
                              "y": [0.0], "capacity": [1]})
    with pytest.raises(mc.InputError, match=re.escape(
            "`demand` must be " + LIMIT + " (the most every exact back-end solves exactly); "
            "got 9,007,199,254,740,993 for need 'a'")):
        mc.match(needs, resources)


@pytest.mark.parametrize("dtype", ["int64", "Int64", "uint64", "object"])
def test_integer_columns_are_read_exactly(dtype):
    # Regression: integer columns went through float64, so 2**53 + 1 became 2**53.
    frame = pd.DataFrame({"need_id": ["a", "b"], "category": ["repair"] * 2, "x": [0.0, 1.0],
                          "y": [0.0, 1.0],
                          "demand": pd.Series([2**53 + 1, 2**62 + 1], dtype=dtype)})
    assert mc.read_needs(frame)["demand"].tolist() == [2**53 + 1, 2**62 + 1]


def test_exact_sum_does_not_wrap():
    values = np.array([2**62, 2**62, 2**62], dtype=np.int64)
    assert exact_sum(values) == 3 * 2**62
    assert exact_sum(np.array([3, -1])) == 2 and exact_sum(np.array([], dtype=np.int64)) == 0


# ---------------------------------------------------------------------------
# whatever a back-end raises is a SolverError naming it


@pytest.mark.parametrize("solver", EXACT)
@pytest.mark.parametrize("error", [RuntimeError("boom"), OverflowError("int too big"),
                                   ValueError("status 4"), ZeroDivisionError("x")])
def test_back_end_exceptions_become_solver_errors_naming_it(monkeypatch, solver, error):
    def broken(network):
        raise error

    def broken_warm(network, basis=None):  # a warm back-end's solver (the simplex)
        raise error

    changes = {"loader": lambda: broken, "coverage_by_maxflow": False}
    if BACKENDS[solver].supports_warm_start:
        changes["warm_loader"] = lambda: broken_warm
    backend = dataclasses.replace(BACKENDS[solver], **changes)
    monkeypatch.setitem(BACKENDS, solver, backend)
    edges, needs, resources = assignment([2], [3])
    with pytest.raises(mc.SolverError, match=re.escape(
            f"solver {solver!r} failed: {type(error).__name__}: {error}")) as info:
        mc.solve_assignment(edges, needs, resources, solver=solver)
    assert info.value.__cause__ is error


def test_a_custom_back_end_is_named_too():
    def my_solver(network):
        raise RuntimeError("no")

    edges, needs, resources = assignment([2], [3])
    with pytest.raises(mc.SolverError, match="solver 'my_solver' failed: RuntimeError: no"):
        mc.solve_assignment(edges, needs, resources, solver=my_solver)


@pytest.mark.skipif("ortools" not in EXACT, reason="needs OR-Tools")
def test_the_coverage_max_flow_failure_names_ortools(monkeypatch):
    from matchcore.solvers import maxflow

    def overflowing(network):
        raise RuntimeError("OR-Tools max flow returned status <Status.POSSIBLE_OVERFLOW: 1>")

    monkeypatch.setattr(maxflow, "coverage_flow", overflowing)
    edges, needs, resources = assignment([2], [3])
    with pytest.raises(mc.SolverError, match=re.escape(
            "the coverage max flow of solver 'ortools' failed: RuntimeError: OR-Tools max flow")):
        mc.solve_assignment(edges, needs, resources, solver="ortools")


@pytest.mark.parametrize("solver", EXACT)
def test_past_the_limit_a_back_end_is_exact_or_a_named_solver_error(monkeypatch, solver):
    # Without the range check (what 2**62 did before): OR-Tools overflowed with a
    # raw RuntimeError, HiGHS returned an unknown status. Now each back-end
    # either answers exactly (and is certified) or raises SolverError naming it.
    monkeypatch.setattr(TransportProblem, "check_range", lambda self: None)
    problem = TransportProblem(
        np.array([0, 1, 2]), np.array([0, 0, 0]), np.full(3, 2**62, dtype=np.int64),
        np.array([2**62], dtype=np.int64), np.array([0.5, 0.75, 1.0]),
        np.ones(3, dtype=np.int64), "coverage")
    try:
        sol = solve(problem, solver)
    except mc.SolverError as err:
        assert repr(solver) in str(err)
    else:
        assert exact_sum(sol.units) == 2**62 and (sol.units >= 0).all()
        assert verify(problem, sol.units)


@pytest.mark.skipif("highs" not in EXACT, reason="HiGHS")
def test_a_highs_status_is_a_named_solver_error(monkeypatch):
    from types import SimpleNamespace

    from matchcore.solvers import highs_lp

    monkeypatch.setattr(highs_lp, "linprog", lambda *a, **k: SimpleNamespace(
        status=4, x=None, message="numerical difficulties"))
    edges, needs, resources = assignment([2], [3])
    with pytest.raises(mc.SolverError, match=re.escape(
            "solver 'highs' failed: HiGHS failed with status 4: numerical difficulties")):
        mc.solve_assignment(edges, needs, resources, solver="highs")


# ---------------------------------------------------------------------------
# scores that would overflow are refused as input


@pytest.mark.parametrize("kwargs", [{"type": 1e308}, {"type": 1e308, "locality": 1e308},
                                    {"partner": 2e290}])
def test_weights_whose_products_overflow_are_refused(kwargs):
    with pytest.raises(mc.InputError, match=re.escape(
            "the weights' total must be at most 1e+290, so that a score times the units of "
            "a round (at most 2**53) stays finite; got ")):
        mc.Weights(**kwargs)


def test_the_largest_weights_stay_finite():
    needs, resources = mc.synthetic.tiny()
    r = mc.match(needs, resources, weights=mc.Weights(type=1e290, locality=0, priority=0,
                                                      partner=0), max_distance=2000)
    assert np.isfinite(r.objective["score"]) and r.verify()
