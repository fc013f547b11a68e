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
