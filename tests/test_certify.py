"""The certificate is itself tested: corrupted solutions are rejected, and
infeasibility is told apart from sub-optimality."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import matchcore as mc
from matchcore.model.problem import TransportProblem
from matchcore.solvers import solve, verify
from matchcore.solvers.certify import (
    check_flow,
    optimal_face,
    optimal_reduced_costs,
    potentials,
    residual,
)
from strategies import instances


def problem(need, resource, demand, capacity, score, weight=None, objective="coverage"):
    weight = np.ones(len(demand), np.int64) if weight is None else np.asarray(weight)
    return TransportProblem(np.array(need), np.array(resource), np.array(demand),
                            np.array(capacity), np.array(score, dtype=float), weight, objective)


# need a: edges to x (0.9) and y (0.4); need b: edge to x (0.8); one unit each.
P = problem([0, 0, 1], [0, 1, 0], [1, 1], [1, 1], [0.9, 0.4, 0.8])
OPTIMAL = np.array([0, 1, 1])  # two units (coverage) beats a-x alone


def assert_infeasible(cert, text):
    assert not cert.feasible and not cert.optimal and not cert
    assert any(text in p for p in cert.problems), cert.problems
    assert "infeasible" in repr(cert)


def assert_suboptimal(cert, phase):
    assert cert.feasible and not cert.optimal and not cert
    assert any(f"phase {phase!r}" in p for p in cert.problems), cert.problems
    assert "feasible, not optimal" in repr(cert)


def test_the_optimum_is_certified():
    cert = verify(P, OPTIMAL)
    assert cert and cert.feasible and cert.optimal and cert.problems == []
    assert cert.phases == ["coverage", "score"]
    assert "certified optimal" in repr(cert)
    np.testing.assert_array_equal(solve(P, "highs").units, OPTIMAL)


def test_move_a_unit_to_a_worse_edge():
    q = problem([0, 0], [0, 1], [1], [1, 1], [0.9, 0.4])
    assert verify(q, np.array([1, 0]))
    assert_suboptimal(verify(q, np.array([0, 1])), "score")


def test_exceed_a_demand():
    assert_infeasible(verify(P, np.array([1, 1, 1])), "needs get more than their demand")


def test_exceed_a_capacity():
    assert_infeasible(verify(P, np.array([1, 0, 1])), "resources give more than their capacity")


def test_negative_units():
    assert_infeasible(verify(P, np.array([-1, 1, 1])), "edges carry negative units")


@pytest.mark.parametrize("units", [np.array([0, 0.5, 1]), np.array([0, np.nan, 1])])
def test_non_integer_units(units):
    assert_infeasible(verify(P, units), "units are not integers")


def test_integral_floats_are_accepted():
    assert verify(P, OPTIMAL.astype(float))


def test_wrong_shape():
    assert_infeasible(verify(P, np.array([0, 1])), "units has shape (2,), expected (3,)")


def test_fewer_units_fail_the_coverage_phase():
    assert_suboptimal(verify(P, np.array([1, 0, 0])), "coverage")
    assert_suboptimal(verify(P, np.array([0, 0, 0])), "coverage")


def test_shift_units_between_needs():
    # One unit of x: the urgent need (weight 5) must get it.
    q = problem([0, 1], [0, 0], [1, 1], [1], [0.2, 0.9], weight=[5, 1])
    assert verify(q, np.array([1, 0]))
    assert_suboptimal(verify(q, np.array([0, 1])), "coverage")
    # Same weights: the better score must get it.
    q = problem([0, 1], [0, 0], [1, 1], [1], [0.2, 0.9])
    assert verify(q, np.array([0, 1]))
    assert_suboptimal(verify(q, np.array([1, 0])), "score")


def test_score_objective_rejects_a_useless_unit_only_when_it_costs():
    q = problem([0], [0], [1], [1], [-0.5], objective="score")
    assert verify(q, np.array([0]))
    assert_suboptimal(verify(q, np.array([1])), "score")
    assert verify(problem([0], [0], [1], [1], [0.0], objective="score"), np.array([1]))


@given(instances(priorities=True, max_units=3))
def test_corrupting_an_optimum_is_always_caught(inst):
    prob = inst.problem("coverage")
    units = solve(prob, "highs").units
    assert verify(prob, units)
    used = np.flatnonzero(units > 0)
    assume(len(used) > 0)
    e = int(used[0])
    less = units.copy()
    less[e] -= 1  # a unit fewer is always worse in the coverage phase
    assert_suboptimal(verify(prob, less), "coverage")
    more = units.copy()
    i, j = prob.need[e], prob.resource[e]
    more[e] += int(prob.demand[i]) + int(prob.capacity[j])
    assert_infeasible(verify(prob, more), "more than their")
    neg = units.copy()
    neg[e] = -1
    assert not verify(prob, neg).feasible


@given(instances(priorities=True, max_units=3), st.data())
def test_feasible_moves_keep_feasibility_and_worse_ones_are_rejected(inst, data):
    prob = inst.problem("coverage")
    units = solve(prob, "highs").units
    used = np.flatnonzero(units > 0)
    assume(len(used) > 0 and prob.n_edges > 1)
    e = data.draw(st.sampled_from(used.tolist()))
    f = data.draw(st.sampled_from([k for k in range(prob.n_edges) if k != e]))
    moved = units.copy()
    moved[e] -= 1
    moved[f] += 1
    served = np.bincount(prob.need, moved, prob.n_needs)
    used_cap = np.bincount(prob.resource, moved, prob.n_resources)
    cert = verify(prob, moved)
    feasible = (served <= prob.demand).all() and (used_cap <= prob.capacity).all()
    assert cert.feasible is bool(feasible)
    if feasible:
        # Accepted only if it is exactly as good in every phase.
        from oracle import lex_objective

        same = lex_objective(prob, moved) == lex_objective(prob, units)
        assert bool(cert) is same


def test_match_result_verify_on_a_corrupted_result(tiny):
    r = mc.match(*tiny, max_distance=2000)
    assert r.verify()
    r.solution.units = r.units.copy()
    r.solution.units[np.flatnonzero(r.units)[0]] -= 1
    cert = r.verify()
    assert cert.feasible and not cert.optimal
    with pytest.raises(mc.SolverError, match="failed its certificate"):
        r.verify(raise_error=True)


# ---------------------------------------------------------------------------
# potentials (Bellman–Ford) against networkx


@given(st.integers(1, 7).flatmap(lambda n: st.tuples(
    st.just(n),
    st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.integers(-5, 10)),
             max_size=14))))
def test_potentials_match_networkx(graph):
    n, arcs = graph
    tail = np.array([a[0] for a in arcs], dtype=np.int64)
    head = np.array([a[1] for a in arcs], dtype=np.int64)
    cost = np.array([a[2] for a in arcs], dtype=np.int64)
    d = potentials(n, tail, head, cost)
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(n))
    for t, h, c in arcs:
        g.add_edge(t, h, weight=c)
    negative = nx.negative_edge_cycle(g) if arcs else False
    if negative:
        assert d is None
    else:
        assert d is not None
        assert (d[head] <= d[tail] + cost).all()
        assert (d <= 0).all()


@pytest.mark.parametrize("check_after", [1, 32])
def test_negative_cycles_found_by_parent_pointers_match_networkx(monkeypatch, check_after):
    # Larger graphs than above, so the early parent-pointer check runs (every
    # round with check_after=1) before the textbook n_nodes rounds.
    from matchcore.solvers import certify

    monkeypatch.setattr(certify, "CYCLE_CHECK_ROUNDS", check_after)
    rng = np.random.default_rng(7)
    seen = set()
    for _ in range(150):
        n = int(rng.integers(2, 80))
        m = int(rng.integers(1, 3 * n))
        tail = rng.integers(0, n, m)
        head = rng.integers(0, n, m)
        cost = rng.integers(-3, 25, m)
        d = potentials(n, tail, head, cost)
        g = nx.MultiDiGraph()
        g.add_nodes_from(range(n))
        g.add_weighted_edges_from(zip(tail.tolist(), head.tolist(), cost.tolist()))
        negative = nx.negative_edge_cycle(g)
        seen.add(negative)
        assert (d is None) == negative
        if d is not None:
            assert (d[head] <= d[tail] + cost).all()
    assert seen == {True, False}


@given(st.integers(1, 6).flatmap(lambda n: st.tuples(
    st.just(n),
    st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.integers(-5, 10),
                       st.integers(0, 3), st.integers(0, 3)), max_size=12))),
    st.booleans())
def test_network_potentials_equal_potentials_of_the_residual(graph, with_hint):
    from matchcore.model.problem import FlowNetwork
    from matchcore.solvers.certify import network_potentials

    n, arcs = graph
    arr = np.array(arcs, dtype=np.int64).reshape(-1, 5)
    cap = arr[:, 3]
    net = FlowNetwork(n, arr[:, 0], arr[:, 1], cap, arr[:, 2], np.zeros(n, np.int64))
    flow = np.minimum(arr[:, 4], cap)
    plain = potentials(n, *residual(net, flow))
    hint = plain if with_hint and plain is not None else None
    d = network_potentials(net, flow, hint=hint)
    assert (d is None) == (plain is None)
    if d is not None:
        np.testing.assert_array_equal(d, plain)
    if hint is not None:
        assert d is hint  # a valid hint is accepted as is, in one pass


def test_parent_pointer_cycles():
    from matchcore.solvers.certify import has_parent_cycle

    assert not has_parent_cycle(np.array([-1, 0, 1, 2]))  # a path to the root
    assert has_parent_cycle(np.array([-1, 2, 3, 1]))  # 1 -> 2 -> 3 -> 1
    assert has_parent_cycle(np.array([0]))  # a self-loop
    assert not has_parent_cycle(np.array([-1] * 5))


def test_residual_and_check_flow():
    from matchcore.model.problem import FlowNetwork

    net = FlowNetwork(3, np.array([0, 1, 2]), np.array([1, 2, 0]), np.array([2, 2, 2]),
                      np.array([1, -3, 1]), np.zeros(3, np.int64))
    t, h, c = residual(net, np.array([2, 2, 2]))
    assert sorted(zip(t.tolist(), h.tolist(), c.tolist())) == [(0, 2, -1), (1, 0, -1), (2, 1, 3)]
    assert check_flow(net, np.array([1, 1, 1])) == []
    assert check_flow(net, np.array([1, 2, 1])) == ["flow is not conserved at 2 nodes"]
    assert check_flow(net, np.array([3, 3, 3])) == ["3 arcs exceed their capacity"]
    assert check_flow(net, np.array([-1, -1, -1])) == ["3 arcs carry negative flow"]
    assert potentials(3, np.array([0, 1, 2]), np.array([1, 2, 0]),
                      np.array([1, -3, 1])) is None



def test_check_flow_is_exact_beyond_float_precision():
    from matchcore.model.problem import FlowNetwork
    from matchcore.solvers.certify import net_outflow

    big = 2**60 + 1
    net = FlowNetwork(3, np.array([0, 1]), np.array([1, 2]), np.array([big, big]),
                      np.zeros(2, np.int64), np.array([big, 0, -big]))
    assert net_outflow(3, net.tail, net.head, np.array([big, big])).tolist() == [big, 0, -big]
    assert check_flow(net, np.array([big, big])) == []
    assert check_flow(net, np.array([big, big - 1])) != []


@pytest.mark.parametrize("objective", ["coverage", "score"])
def test_verify_accepts_the_solves_duals_without_bellman_ford(monkeypatch, objective):
    # The certificate of a solve's own result costs one pass per phase.
    from matchcore.solvers import certify
    from strategies import random_instance

    rng = np.random.default_rng(3)
    problems = [random_instance(rng, max_needs=30, max_resources=20, density=0.3)
                .problem(objective) for _ in range(5)]
    solutions = [solve(p, "auto") for p in problems]
    assert all(p.n_edges > 0 for p in problems)

    def no_bellman_ford(*args, **kwargs):
        raise AssertionError("a hint failed, so Bellman-Ford ran")

    monkeypatch.setattr(certify, "_bellman_ford", no_bellman_ford)
    for p, sol in zip(problems, solutions):
        assert verify(p, sol.units, sol.duals)


def test_verify_with_solve_duals_agrees_and_rejects_a_worse_solution():
    import numpy as np

    import matchcore as mc
    from matchcore.solvers import verify

    r = mc.match(*mc.synthetic.tiny(), max_distance=2000)
    duals = r.solution.duals
    assert duals, "solve keeps its phase potentials"
    assert verify(r.problem, r.solution.units, duals)
    # The duals of the optimum must not certify a worse (empty) assignment.
    empty = np.zeros_like(r.solution.units)
    assert not verify(r.problem, empty, duals)
    assert not verify(r.problem, empty)


@pytest.mark.parametrize("objective", ["coverage", "score"])
def test_verify_agrees_with_good_wrong_and_no_hints(objective):
    # Hints checked in place on the face never decide alone: a wrong one falls
    # back to Bellman-Ford, and no hint certifies a worse solution.
    from strategies import random_instance

    rng = np.random.default_rng(11)
    for _ in range(8):
        p = random_instance(rng, max_needs=25, max_resources=15, density=0.3).problem(objective)
        sol = solve(p, "auto")
        wrong = [[np.zeros_like(d) + 5 * k for k, d in enumerate(b)] for b in sol.duals or []]
        for units in (sol.units, np.roll(sol.units, 1), np.zeros_like(sol.units)):
            answers = {bool(verify(p, units, hints)) for hints in (sol.duals, wrong, None)}
            assert len(answers) == 1
        assert verify(p, sol.units, wrong) and verify(p, sol.units, sol.duals)


@st.composite
def reduced_cost_cases(draw):
    """Arcs, a flow within or beyond their bounds, potentials, and maybe a mask."""
    n = draw(st.integers(1, 6))
    m = draw(st.integers(0, 12))
    ints = st.integers(-5, 5)
    arcs = st.lists(st.integers(0, n - 1), min_size=m, max_size=m)
    tail, head = np.array(draw(arcs), np.int64), np.array(draw(arcs), np.int64)
    cost = np.array(draw(st.lists(ints, min_size=m, max_size=m)), np.int64)
    cap = np.array(draw(st.lists(st.integers(0, 3), min_size=m, max_size=m)), np.int64)
    flow = np.array(draw(st.lists(st.integers(0, 3), min_size=m, max_size=m)), np.int64)
    d = np.array(draw(st.lists(ints, min_size=n, max_size=n)), np.int64)
    where = draw(st.one_of(st.none(), st.lists(st.booleans(), min_size=m, max_size=m)))
    return cost, tail, head, cap, flow, d, None if where is None else np.array(where, bool)


@pytest.mark.skipif(not mc.solvers.network_simplex.is_available(), reason="needs numba")
@given(reduced_cost_cases())
def test_compiled_proof_of_optimality_equals_numpy(case):
    # The compiled check (warm solves' first phase) gives numpy's answer.
    from matchcore.model.problem import FlowNetwork
    from matchcore.solvers.certify import proves_optimal

    cost, tail, head, cap, flow, d, _ = case
    net = FlowNetwork(len(d), tail, head, cap, cost, np.zeros(len(d), np.int64))
    plain = optimal_reduced_costs(cost, tail, head, cap, flow, d) is not None
    assert proves_optimal(net, flow, d) == plain
    assert proves_optimal(net, flow, d, compiled=True) == plain


@pytest.mark.skipif(not mc.solvers.network_simplex.is_available(), reason="needs numba")
def test_compiled_face_leaves_odd_input_to_numpy():
    # Other dtypes, views and out-of-range nodes take numpy's path: same answers, same errors.
    cost, tail, head = np.array([-1, -2]), np.array([1, 2]), np.array([0, 0])
    cap, flow, d = np.array([1, 1]), np.array([1, 0]), np.array([0, 1, 2])
    args = (cost, tail, head, cap, flow, d)

    def face(*arcs):
        free = np.ones(2, bool)
        return optimal_face(*arcs, free, compiled=True), free.tolist()

    assert face(*args) == (True, [True, True])
    as32 = [x.astype(np.int32) for x in args]
    assert face(*as32) == (True, [True, True])
    strided = np.array([-1, 9, -2, 9])[::2]
    assert face(strided, *args[1:]) == (True, [True, True])
    with pytest.raises(IndexError):
        face(cost, np.array([1, 5]), head, cap, flow, d)
    # A negative node index is numpy's from-the-end indexing, as without compiled=True.
    neg = (cost, np.array([1, -1]), head, np.array([1, 0]), flow, d)
    plain = optimal_reduced_costs(*neg)
    assert plain is not None and face(*neg) == (True, (plain == 0).tolist())


@pytest.mark.parametrize("compiled", [False, True])
@given(case=reduced_cost_cases(), narrow=st.booleans())
def test_optimal_face_is_the_reduced_costs_face(case, narrow, compiled):
    # optimal_face answers as optimal_reduced_costs on the mask, and narrows the mask to
    # the arcs of zero reduced cost only when the answer is True (and narrow is asked).
    cost, tail, head, cap, flow, d, where = case
    free = np.ones(len(cost), bool) if where is None else where.copy()
    before = free.copy()
    rc = optimal_reduced_costs(cost, tail, head, cap, flow, d, free)
    assert optimal_face(cost, tail, head, cap, flow, d, free, narrow=narrow,
                        compiled=compiled) == (rc is not None)
    expected = before & (rc == 0) if rc is not None and narrow else before
    assert np.array_equal(free, expected)


def test_optimal_face_out_of_range_raises_as_numpy():
    args = (np.array([1, 2]), np.array([0, 3]), np.array([1, 0]), np.array([1, 1]),
            np.array([0, 0]), np.array([0, 0]))
    for compiled in (False, True):
        free = np.ones(2, bool)
        with pytest.raises(IndexError):
            optimal_face(*args, free, compiled=compiled)
        assert free.all()
