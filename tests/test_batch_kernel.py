"""The compiled passes of the phase/batch loop equal the numpy and scipy code they stand for."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matchcore.model.problem import TransportProblem
from matchcore.solvers import solve, verify
from strategies import instances

pytest.importorskip("numba")


@given(instances(max_needs=12, max_resources=12, max_edges=30), st.booleans())
def test_union_find_components_are_scipys_labels(inst, shuffled):
    from matchcore.solvers import batch_kernel

    need, resource = inst.need, inst.resource
    if shuffled:  # the labels never depend on the edges' order
        order = np.random.default_rng(len(need)).permutation(len(need))
        need, resource = need[order], resource[order]
    p = TransportProblem(need, resource, inst.demand, inst.capacity,
                         np.ones(len(need)), np.ones(len(inst.demand), np.int64))
    need_label, resource_label = p.components()  # scipy's
    labels = batch_kernel.component_labels(len(inst.demand), len(inst.capacity),
                                           need.astype(np.int64), resource.astype(np.int64))
    np.testing.assert_array_equal(labels[: len(inst.demand)], need_label)
    np.testing.assert_array_equal(labels[len(inst.demand) :], resource_label)


def test_a_simplex_solve_takes_the_compiled_components_and_the_same_batches():
    rng = np.random.default_rng(5)
    n, m, k = 400, 300, 900
    need = np.sort(rng.integers(0, n, k))
    resource = rng.integers(0, m, k)
    key = np.unique(need * m + resource)
    need, resource = key // m, key % m
    args = (need, resource, rng.integers(1, 4, n), rng.integers(1, 4, m),
            rng.random(len(need)), np.ones(n, np.int64))
    cold = TransportProblem(*args)
    scipy_batches = cold.batches(batch_edges=50)
    fast = TransportProblem(*args)
    sol = solve(fast, "simplex")
    assert fast.known_components() is not None
    for a, b in zip(fast.components(), cold.components()):
        np.testing.assert_array_equal(a, b)
    assert [x.tolist() for x in fast.batches(batch_edges=50)] == [
        x.tolist() for x in scipy_batches]
    np.testing.assert_array_equal(sol.units, solve(cold, "highs").units)
    assert verify(fast, sol.units)


@given(instances(max_needs=10, max_resources=10, max_edges=40, max_units=5), st.integers(1, 30))
def test_compiled_batch_networks_are_the_numpy_ones(inst, batch_edges):
    from matchcore.solvers import batch_kernel

    p = TransportProblem(inst.need, inst.resource, inst.demand, inst.capacity,
                         np.ones(len(inst.need)), np.ones(len(inst.demand), np.int64))
    for edges in p.batches(batch_edges=batch_edges):
        slow, slow_needs, slow_res = p.network(edges)
        fast, fast_needs, fast_res = p.network(edges, batch_kernel.batch_arcs)
        np.testing.assert_array_equal(fast_needs, slow_needs)
        np.testing.assert_array_equal(fast_res, slow_res)
        assert fast.n_nodes == slow.n_nodes
        for name in ("tail", "head", "capacity", "cost", "supply"):
            np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name))
            assert getattr(fast, name).dtype == np.int64


@given(st.integers(0, 40), st.integers(0, 40), st.integers(0, 2**31))
def test_compiled_edge_state_scatter_is_numpys(n_old, n_new, seed):
    from matchcore.solvers import batch_kernel

    rng = np.random.default_rng(seed)
    # Old edges -> distinct new ones, or -1 (gone); a batch's edges, some of them.
    edge_map = np.full(n_old, -1, np.int64)
    moved = rng.random(n_old) < 0.7
    n_moved = min(int(moved.sum()), n_new)
    moved[np.flatnonzero(moved)[n_moved:]] = False
    edge_map[moved] = rng.permutation(n_new)[:n_moved]
    old_edges = np.sort(rng.choice(n_old, size=rng.integers(0, n_old + 1), replace=False))
    state = rng.integers(0, 3, len(old_edges)).astype(np.int8)
    fast = np.full(n_new, -1, np.int8)
    batch_kernel.scatter_edge_states(fast, edge_map, old_edges.astype(np.int64), state)
    slow = np.full(n_new, -1, np.int8)
    to = edge_map[old_edges]
    hit = to >= 0
    slow[to[hit]] = state[hit]
    np.testing.assert_array_equal(fast, slow)


@given(st.integers(1, 12), st.integers(1, 12), st.integers(0, 30), st.integers(0, 2**31))
def test_compiled_mapped_states_are_numpys(n_needs, n_res, n_by_edge, seed):
    from matchcore.solvers import batch_kernel
    from matchcore.solvers.network_simplex import LOWER

    rng = np.random.default_rng(seed)
    need_state = rng.integers(-1, 3, n_needs).astype(np.int8)
    res_state = rng.integers(-1, 3, n_res).astype(np.int8)
    by_edge = rng.integers(-1, 3, n_by_edge).astype(np.int8)
    needs = np.sort(rng.choice(n_needs, size=rng.integers(0, n_needs + 1), replace=False))
    resources = np.sort(rng.choice(n_res, size=rng.integers(0, n_res + 1), replace=False))
    edges = np.sort(rng.choice(n_by_edge + 10, size=rng.integers(0, 11), replace=False))
    state, known = batch_kernel.mapped_states(
        need_state, res_state, by_edge, needs.astype(np.int64), resources.astype(np.int64),
        edges.astype(np.int64), LOWER)
    # WarmStart.basis_for's numpy passes (edges past the table's end are unknown).
    a, m = len(needs), len(edges)
    slow = np.full(a + m + len(resources), -1, np.int8)
    slow[:a] = need_state[needs]
    slow[a + m :] = res_state[resources]
    inside = edges < len(by_edge)
    slow[a : a + m][inside] = by_edge[edges[inside]]
    assert known == int((slow >= 0).sum())
    slow[slow < 0] = LOWER
    np.testing.assert_array_equal(state, slow)
    assert state.dtype == np.int8


@given(instances(max_needs=10, max_resources=10, max_edges=40, max_units=5), st.integers(1, 30),
       st.booleans(), st.booleans())
def test_compiled_phase_costs_are_the_numpy_ones(inst, batch_edges, zero_needs, zero_edges):
    from matchcore.solvers.phases import phase_cost

    rng = np.random.default_rng(len(inst.need))
    n, m = len(inst.demand), len(inst.need)
    # A phase's zero costs are zero-stride views (TransportProblem.phases).
    need_cost = (np.broadcast_to(np.int64(0), (n,)) if zero_needs
                 else rng.integers(-9, 9, n).astype(np.int64))
    edge_cost = (np.broadcast_to(np.int64(0), (m,)) if zero_edges
                 else rng.integers(-2**40, 2**40, m).astype(np.int64))
    p = TransportProblem(inst.need, inst.resource, inst.demand, inst.capacity,
                         np.ones(m), np.ones(n, np.int64))
    for edges in p.batches(batch_edges=batch_edges):
        net, needs, resources = p.network(edges)
        slow = phase_cost(net, needs, edges, len(resources), need_cost, edge_cost)
        fast = phase_cost(net, needs, edges, len(resources), need_cost, edge_cost,
                          compiled=True)
        np.testing.assert_array_equal(fast, slow)
        assert fast.dtype == np.int64 and fast.shape == (net.n_arcs,)
        # Into an earlier phase's array (the certificate's reuse): the same costs, there.
        buffer = rng.integers(-5, 5, net.n_arcs).astype(np.int64)
        into = phase_cost(net, needs, edges, len(resources), need_cost, edge_cost,
                          compiled=True, out=buffer)
        assert into is buffer
        np.testing.assert_array_equal(into, slow)
        # A buffer of another shape or dtype is not used.
        other = phase_cost(net, needs, edges, len(resources), need_cost, edge_cost,
                           compiled=True, out=np.zeros(net.n_arcs + 1, np.int64))
        np.testing.assert_array_equal(other, slow)


@given(instances(max_needs=12, max_resources=12, max_edges=40), st.integers(1, 30),
       st.booleans())
def test_compiled_batches_are_the_numpy_ones(inst, batch_edges, shuffled):
    from matchcore.solvers import batch_kernel

    need, resource = inst.need, inst.resource
    if shuffled:  # edges in any order: each batch's still increasing
        order = np.random.default_rng(len(need)).permutation(len(need))
        need, resource = need[order], resource[order]
    p = TransportProblem(need, resource, inst.demand, inst.capacity,
                         np.ones(len(need)), np.ones(len(inst.demand), np.int64))
    slow = p.batches(batch_edges=batch_edges)
    fast = p.batches(batch_edges=batch_edges, pack=batch_kernel.pack_batches)
    assert [x.tolist() for x in fast] == [x.tolist() for x in slow]
    assert all(x.dtype == np.int64 for x in fast)


@given(st.integers(0, 50))
def test_compiled_phase_start_is_numpys(n_arcs):
    from matchcore.solvers import simplex_kernel
    from matchcore.solvers.network_simplex import LOWER

    keep, total, frozen = simplex_kernel.phase_start(n_arcs, LOWER)
    np.testing.assert_array_equal(keep, np.arange(n_arcs))
    np.testing.assert_array_equal(total, np.zeros(n_arcs, np.int64))
    np.testing.assert_array_equal(frozen, np.full(n_arcs, LOWER, np.int8))
    assert (keep.dtype, total.dtype, frozen.dtype) == (np.int64, np.int64, np.int8)
