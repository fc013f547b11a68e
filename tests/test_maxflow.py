"""The coverage phase by max flows, and the tighter restriction between phases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import examples
from matchcore.model.problem import FlowNetwork
from matchcore.solvers import solve, verify
from matchcore.solvers.certify import check_flow, potentials, residual, restrict
from matchcore.solvers.maxflow import MAX_LEVELS, coverage_flow, is_coverage_phase
from matchcore.solvers.nx_simplex import solve_networkx
from matchcore.solvers.phases import batch_arrays, phase_cost
from oracle import brute_force
from strategies import instances

pytest.importorskip("ortools")


def coverage_network(inst):
    problem = inst.problem("coverage")
    edges = np.arange(problem.n_edges)
    net, needs, resources, _, _ = batch_arrays(problem, edges)
    _, need_cost, edge_cost = problem.phases()[0]
    cost = phase_cost(net, needs, edges, len(resources), need_cost, edge_cost)
    return FlowNetwork(net.n_nodes, net.tail, net.head, net.capacity, cost, net.supply)


@settings(max_examples=examples(150), deadline=None)
@given(instances(max_needs=7, max_resources=6, max_units=4, priorities=True))
def test_coverage_flow_is_an_optimal_min_cost_flow(inst):
    if inst.n_edges == 0:
        return
    net = coverage_network(inst)
    assert is_coverage_phase(net)
    flow = coverage_flow(net)
    assert check_flow(net, flow) == []
    assert potentials(net.n_nodes, *residual(net, flow)) is not None  # certified optimal
    assert int(net.cost @ flow) == int(net.cost @ solve_networkx(net))


@settings(max_examples=examples(100), deadline=None)
@given(instances(max_needs=5, max_resources=4, max_units=3, priorities=True), st.data())
def test_ortools_with_max_flow_matches_brute_force_and_other_back_ends(inst, data):
    problem = inst.problem("coverage")
    ortools = solve(problem, "ortools")
    assert verify(problem, ortools.units, ortools.duals)
    np.testing.assert_array_equal(ortools.units, solve(problem, "networkx").units)
    best = brute_force(problem)
    if best is not None:
        from oracle import lex_objective

        assert lex_objective(problem, ortools.units) == best


def test_other_shapes_are_not_coverage_phases():
    tail, head = np.array([0, 1, 2]), np.array([1, 2, 0])
    cap, sup = np.ones(3, np.int64), np.zeros(3, np.int64)
    assert not is_coverage_phase(FlowNetwork(3, tail, head, cap, np.array([-1, -1, 0]), sup))
    assert not is_coverage_phase(FlowNetwork(3, tail, head, cap, np.array([1, 0, 0]), sup))
    assert not is_coverage_phase(
        FlowNetwork(3, tail, head, cap, np.array([-1, 0, 0]), np.array([1, 0, -1]))
    )
    many = MAX_LEVELS + 1
    fan = FlowNetwork(
        2 + many,
        np.concatenate([np.zeros(many, np.int64), 1 + np.arange(many)]),
        np.concatenate([1 + np.arange(many), np.full(many, 1 + many)]),
        np.ones(2 * many, np.int64),
        np.concatenate([-1 - np.arange(many), np.zeros(many, np.int64)]),
        np.zeros(2 + many, np.int64),
    )
    assert not is_coverage_phase(fan)
    assert not is_coverage_phase(FlowNetwork(1, np.zeros(0, np.int64), np.zeros(0, np.int64),
                                             np.zeros(0, np.int64), np.zeros(0, np.int64),
                                             np.zeros(1, np.int64)))


def test_restrict_fixes_zero_cost_arcs_off_every_zero_cycle():
    # hub 0 -> need 1 -> resources 2, 3 -> hub; only resource 2 can return to the hub.
    net = FlowNetwork(
        4,
        tail=np.array([0, 1, 1, 2, 3]),
        head=np.array([1, 2, 3, 0, 0]),
        capacity=np.array([1, 1, 1, 1, 0]),
        cost=np.array([-1, 0, 0, 0, 0]),
        supply=np.zeros(4, dtype=np.int64),
    )
    flow = np.array([1, 1, 0, 1, 0])
    d = potentials(net.n_nodes, *residual(net, flow))
    loose, _, _ = restrict(net, d)
    tight, fixed, supply = restrict(net, d, flow)
    assert tight.sum() < loose.sum()
    assert not tight[2]  # need 1 -> resource 3 can carry nothing: resource 3 has no way out
    assert (tight <= loose).all()
    # The fixed arcs keep their flow; the rest is a circulation with those supplies.
    np.testing.assert_array_equal(fixed[~tight], flow[~tight])
    sub = FlowNetwork(4, net.tail[tight], net.head[tight], net.capacity[tight],
                      net.cost[tight], supply)
    assert check_flow(sub, flow[tight]) == []
