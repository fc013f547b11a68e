"""The network simplex back-end: optima equal networkx's and OR-Tools', its potentials
certify in one pass, warm starts from a perturbed problem's basis equal cold solves,
infeasible supplies raise."""

from __future__ import annotations

import subprocess
import sys

import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matchcore.errors import InputError, SolverError
from matchcore.model.problem import FlowNetwork
from matchcore.solvers.certify import check_flow, network_potentials
from strategies import CAPACITIES, flow_networks, instances

ns = pytest.importorskip("matchcore.solvers.network_simplex")
if not ns.is_available():  # pragma: no cover - numba is a core dependency
    pytest.skip("numba is not installed", allow_module_level=True)


def nx_optimum(net: FlowNetwork) -> int | None:
    """networkx's optimal cost (exact Python ints), or None when infeasible."""
    g = nx.MultiDiGraph()
    g.add_nodes_from((v, {"demand": -int(s)}) for v, s in enumerate(net.supply))
    base = 0
    for t, h, c, w in zip(net.tail.tolist(), net.head.tolist(), net.capacity.tolist(),
                          net.cost.tolist()):
        if t == h:  # a loop: saturated when it pays, empty otherwise
            base += min(w, 0) * c
        else:
            g.add_edge(t, h, capacity=c, weight=w)
    try:
        cost, _ = nx.network_simplex(g)
    except nx.NetworkXUnfeasible:
        return None
    return base + cost


def cost_of(net: FlowNetwork, flow: np.ndarray) -> int:
    return sum(int(c) * int(f) for c, f in zip(net.cost, flow))


def assert_optimal(net: FlowNetwork, res) -> None:
    """Feasible, the objective it reports, and potentials that certify in one pass."""
    assert res.flow.dtype == np.int64 and res.potentials.dtype == np.int64
    assert check_flow(net, res.flow) == []
    assert res.objective == cost_of(net, res.flow)
    assert network_potentials(net, res.flow, hint=res.potentials) is res.potentials


def with_(net: FlowNetwork, **changes) -> FlowNetwork:
    fields = {k: getattr(net, k) for k in ("n_nodes", "tail", "head", "capacity", "cost",
                                           "supply")}
    fields.update(changes)
    return FlowNetwork(**fields)


@given(flow_networks(), st.sampled_from(["candidate", "block", "local"]))
def test_optimum_equals_networkx_and_certifies(net, pivot):
    best = nx_optimum(net)
    if best is None:
        with pytest.raises(SolverError, match="infeasible"):
            ns.network_simplex(net, pivot=pivot)
        return
    res = ns.network_simplex(net, pivot=pivot)
    assert_optimal(net, res)
    assert res.objective == best


@given(flow_networks(max_nodes=7))
def test_optimum_equals_ortools(net):
    pytest.importorskip("ortools")
    from matchcore.solvers.ortools_mcf import solve_ortools

    # OR-Tools' own capacity range is narrower than int64.
    net = with_(net, capacity=np.minimum(net.capacity, 10**12))
    if nx_optimum(net) is None:
        return
    assert ns.network_simplex(net).objective == cost_of(net, solve_ortools(net))


@given(instances(max_needs=5, max_resources=5, negative=True))
def test_transport_start_gives_the_cold_optimum(inst):
    problem = inst.problem("score")
    net, needs, _ = problem.network(np.arange(problem.n_edges))
    cost = np.concatenate([np.zeros(len(needs), np.int64), -problem.score_int,
                           np.zeros(net.n_nodes - 1 - len(needs), np.int64)])
    net = with_(net, cost=cost)
    cold = ns.network_simplex(net)
    warm = ns.network_simplex(net, basis=ns.transport_start(net, len(needs)))
    assert_optimal(net, warm)
    assert warm.objective == cold.objective


def perturb(draw, net: FlowNetwork, res):
    """A related network and the basis to start it from (old arcs mapped to new)."""
    kind = draw(st.sampled_from(["cost", "capacity", "supply", "add", "remove"]))
    m, n = net.n_arcs, net.n_nodes
    basis = res.basis
    if kind == "cost":
        cost = np.array(draw(st.lists(st.integers(-6, 6), min_size=m, max_size=m)), np.int64)
        return with_(net, cost=cost), basis
    if kind == "capacity":
        cap = net.capacity.copy()
        for e in draw(st.lists(st.integers(0, max(m - 1, 0)), max_size=4)) if m else []:
            cap[e] = draw(st.sampled_from(CAPACITIES))
        return with_(net, capacity=cap), basis
    if kind == "supply":
        supply = net.supply.copy()
        for a, b, q in draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1),
                                               st.integers(0, 3)), max_size=3)):
            supply[a] += q
            supply[b] -= q
        return with_(net, supply=supply), basis
    if kind == "add":
        k = draw(st.integers(1, 4))
        node = st.integers(0, n - 1)
        new = FlowNetwork(
            n,
            np.r_[net.tail, draw(st.lists(node, min_size=k, max_size=k))].astype(np.int64),
            np.r_[net.head, draw(st.lists(node, min_size=k, max_size=k))].astype(np.int64),
            np.r_[net.capacity, [3] * k].astype(np.int64),
            np.r_[net.cost, draw(st.lists(st.integers(-6, 6), min_size=k, max_size=k))
                  ].astype(np.int64),
            net.supply,
        )
        return new, basis.remap(np.arange(m), m + k)
    # remove some arcs and renumber the others
    keep = np.array(draw(st.lists(st.booleans(), min_size=m, max_size=m)), dtype=bool)
    kept = np.flatnonzero(keep)
    perm = np.array(draw(st.permutations(range(len(kept)))), dtype=np.int64)
    arc_map = np.full(m, -1, dtype=np.int64)
    arc_map[kept] = perm
    old_of_new = np.empty(len(kept), dtype=np.int64)
    old_of_new[perm] = kept
    new = FlowNetwork(n, net.tail[old_of_new], net.head[old_of_new],
                      net.capacity[old_of_new], net.cost[old_of_new], net.supply)
    return new, basis.remap(arc_map, len(kept))


@given(st.data(), flow_networks(supplies=False))
def test_warm_start_from_a_perturbed_optimum_equals_a_cold_solve(data, net):
    res = ns.network_simplex(net)
    new, basis = perturb(data.draw, net, res)
    pivot = data.draw(st.sampled_from(["candidate", "block", "local"]))
    try:
        cold = ns.network_simplex(new)
    except SolverError:
        with pytest.raises(SolverError, match="infeasible"):
            ns.network_simplex(new, basis=basis, pivot=pivot)
        return
    warm = ns.network_simplex(new, basis=basis, pivot=pivot)
    assert_optimal(new, warm)
    assert warm.objective == cold.objective


@given(st.data(), flow_networks(supplies=False))
def test_solves_in_one_workspace_equal_solves_without(data, net):
    """A larger network, then a smaller one, then warm: each as a solve of its own."""
    ws = ns.Workspace()
    try:
        alone = ns.network_simplex(net)
    except SolverError:
        return
    first = ns.network_simplex(net, workspace=ws)
    np.testing.assert_array_equal(first.flow, alone.flow)
    np.testing.assert_array_equal(first.basis.state, alone.basis.state)
    new, basis = perturb(data.draw, net, alone)
    pivot = data.draw(st.sampled_from(["candidate", "block", "local"]))
    try:
        cold = ns.network_simplex(new, basis=basis, pivot=pivot)
    except SolverError:
        return
    warm = ns.network_simplex(new, basis=basis, pivot=pivot, workspace=ws)
    np.testing.assert_array_equal(warm.flow, cold.flow)
    np.testing.assert_array_equal(warm.potentials, cold.potentials)
    np.testing.assert_array_equal(warm.basis.state, cold.basis.state)
    assert warm.pivots == cold.pivots


@given(flow_networks())
def test_an_optimal_basis_restarts_without_a_pivot(net):
    try:
        res = ns.network_simplex(net)
    except SolverError:
        return
    again = ns.network_simplex(net, basis=res.basis)
    assert again.pivots == 0
    assert again.objective == res.objective


def test_infeasible_supplies_raise():
    # 3 units must leave node 0, but its only arc carries 2.
    net = FlowNetwork(2, np.array([0]), np.array([1]), np.array([2]), np.array([1]),
                      np.array([3, -3]))
    with pytest.raises(SolverError, match="infeasible supplies: 1 units cannot be routed"):
        ns.network_simplex(net)
    unbalanced = with_(net, supply=np.array([3, -2]))
    with pytest.raises(SolverError, match="supplies sum to 1"):
        ns.solve_network_simplex(unbalanced)


def test_no_arcs_and_isolated_nodes():
    empty = FlowNetwork(3, *(np.zeros(0, np.int64),) * 4, np.zeros(3, np.int64))
    res = ns.network_simplex(empty)
    assert res.flow.shape == (0,) and res.objective == 0 and res.potentials.shape == (3,)


def test_supplies_with_no_arcs_are_infeasible_for_every_back_end():
    # Two units at node 0 that no arc can carry to node 1.
    net = FlowNetwork(2, *(np.zeros(0, np.int64),) * 4, np.array([2, -2], np.int64))
    with pytest.raises(SolverError, match="infeasible"):
        ns.network_simplex(net)
    pytest.importorskip("ortools")
    from matchcore.solvers.ortools_mcf import solve_ortools

    with pytest.raises(SolverError, match="infeasible: 2 units of supply and no arc"):
        solve_ortools(net)


def test_costs_beyond_the_int64_range_raise():
    net = FlowNetwork(2, np.array([0]), np.array([1]), np.array([1]),
                      np.array([-(2**61)]), np.array([0, 0]))
    with pytest.raises(SolverError, match="too large for the 64-bit network simplex"):
        ns.network_simplex(net)


def test_bad_arguments():
    net = FlowNetwork(2, np.array([0]), np.array([1]), np.array([1]), np.array([-1]),
                      np.array([0, 0]))
    res = ns.network_simplex(net)
    with pytest.raises(InputError, match="pivot must be one of"):
        ns.network_simplex(net, pivot="dantzig")
    with pytest.raises(InputError, match="basis is for 2 nodes and 1 arcs"):
        ns.network_simplex(with_(net, n_nodes=3, supply=np.zeros(3, np.int64)),
                           basis=res.basis)
    with pytest.raises(InputError, match="arc_map must have shape"):
        res.basis.remap(np.array([0, 1]), 2)
    with pytest.raises(InputError, match="distinct new indices"):
        res.basis.remap(np.array([5]), 2)
    with pytest.raises(SolverError, match="stopped after 0 pivots"):
        ns.network_simplex(net, max_pivots=0)


def test_importing_matchcore_does_not_import_numba():
    code = "import sys, matchcore, matchcore.solvers.network_simplex; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_warm_up_compiles():
    ns.warm_up()
    assert ns.is_compiled()


PRICINGS = st.builds(
    ns.Pricing,
    block=st.sampled_from([0.01, 0.25, 3.0]),
    candidates=st.sampled_from([0.01, 0.25, 3.0]),
    local_candidates=st.sampled_from([0.01, 0.125, 3.0]),
    minor=st.sampled_from([0.01, 0.25, 3.0]),
    mark_limit=st.sampled_from([None, 0, 1, 3, 1024]),
)


@given(st.data(), flow_networks(supplies=False), PRICINGS)
def test_every_pricing_rule_reaches_the_same_optimum(data, net, rule):
    """Any sizes and mark limit, cold and warm from a perturbed optimum: networkx's optimum."""
    try:
        res = ns.network_simplex(net)
    except SolverError:
        return
    new, basis = perturb(data.draw, net, res)
    pivot = data.draw(st.sampled_from(["candidate", "block", "local"]))
    best = nx_optimum(new)
    with ns.pricing(rule) as used:
        assert used is rule
        if best is None:
            with pytest.raises(SolverError, match="infeasible"):
                ns.network_simplex(new, basis=basis, pivot=pivot)
            return
        cold = ns.network_simplex(new, pivot=pivot)
        warm = ns.network_simplex(new, basis=basis, pivot=pivot)
    for out in (cold, warm):
        assert_optimal(new, out)
        assert out.objective == best


def test_pricing_restores_the_rule_it_replaced():
    rule = ns.Pricing(local_candidates=0.25, mark_limit=1024)
    assert ns._pivot_sizes(10_000, "local") == (25, 12, 25, -1)
    with pytest.raises(RuntimeError), ns.pricing(rule):
        assert ns._pivot_sizes(10_000, "local") == (25, 25, 25, 1024)
        raise RuntimeError("inside")
    assert ns._pivot_sizes(10_000, "local") == (25, 12, 25, -1)
    assert ns._pivot_sizes(10_000) == (25, 25, 25, -1)


@pytest.mark.parametrize("changes, match", [
    ({"block": 0}, r"`Pricing.block` must be a finite number > 0; got 0$"),
    ({"candidates": -0.5}, r"`Pricing.candidates` must be a finite number > 0; got -0.5$"),
    ({"local_candidates": float("nan")},
     r"`Pricing.local_candidates` must be a finite number > 0; got nan$"),
    ({"minor": "0.25"}, r"`Pricing.minor` must be a finite number > 0; got '0.25'$"),
    ({"minor": True}, r"`Pricing.minor` must be a finite number > 0; got True$"),
    ({"mark_limit": -1}, r"`Pricing.mark_limit` must be an integer >= 0 or None; got -1$"),
    ({"mark_limit": 2.0}, r"`Pricing.mark_limit` must be an integer >= 0 or None; got 2.0$"),
])
def test_bad_pricing_is_an_input_error(changes, match):
    with pytest.raises(InputError, match=match):
        ns.Pricing(**changes)


def test_pricing_takes_only_a_pricing():
    with pytest.raises(InputError, match="pricing\\(\\) takes a Pricing; got dict"):
        with ns.pricing({"mark_limit": 3}):
            pass
