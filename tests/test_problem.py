"""TransportProblem: integer scale, tolerance, phases, components and batches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given

import matchcore as mc
from conftest import EXACT_SOLVERS
from matchcore.model.problem import SCORE_BITS, TransportProblem
from matchcore.solvers import solve, verify
from oracle import lex_objective, networkx_oracle
from strategies import instances, random_instance


def make(score, demand=(1,), capacity=(1,), need=None, resource=None, objective="coverage"):
    n = len(score)
    need = np.zeros(n, np.int64) if need is None else np.asarray(need)
    resource = np.arange(n) if resource is None else np.asarray(resource)
    cap = np.asarray(capacity if len(capacity) >= n else [1] * n)
    return TransportProblem(need, resource, np.asarray(demand), cap, np.asarray(score, float),
                            np.ones(len(demand), np.int64), objective)


@pytest.mark.parametrize("top", [1.0, 0.7, 3.0, 1e-9, 1e9, -0.25])
def test_scale_is_a_power_of_two_mapping_the_top_score_near_2_to_the_20(top):
    p = make([top, top / 3])
    scale = p.scale
    assert np.log2(scale) == np.round(np.log2(scale))
    assert 2 ** (SCORE_BITS - 1) < abs(top) * scale <= 2**SCORE_BITS
    assert abs(p.score_int[0]) == round(abs(top) * scale)
    assert p.tolerance == pytest.approx(1 / scale)


def test_zero_scores_and_no_edges():
    assert make([0.0, 0.0]).scale == 1.0
    assert make([0.0]).score_int.tolist() == [0]
    empty = TransportProblem(np.zeros(0, np.int64), np.zeros(0, np.int64), np.array([2]),
                             np.array([1]), np.zeros(0), np.array([1]))
    assert empty.scale == 1.0 and empty.batches() == []
    assert solve(empty).units.shape == (0,)
    assert verify(empty, np.zeros(0, np.int64))


def test_phases():
    assert [name for name, _, _ in make([0.5]).phases()] == ["coverage", "score", "tiebreak"]
    assert [name for name, _, _ in make([0.5], objective="score").phases()] == [
        "score", "tiebreak"]
    with pytest.raises(mc.InputError, match="objective must be one of"):
        make([0.5], objective="fair")


def test_tiebreak_depends_on_ranks_only():
    from matchcore.model.problem import tiebreak_preference

    a = tiebreak_preference(np.array([0, 1, 2]), np.array([3, 3, 0]))
    b = tiebreak_preference(np.array([2, 0, 1]), np.array([0, 3, 3]))
    assert a.tolist() == b[[1, 2, 0]].tolist()
    assert (a >= 0).all() and (a < 2**SCORE_BITS).all()
    pairs = tiebreak_preference(np.repeat(np.arange(30), 30), np.tile(np.arange(30), 30))
    assert len(set(pairs)) > 890


@given(instances(max_needs=8, max_resources=8))
def test_components_and_batches(inst):
    p = inst.problem()
    need_label, res_label = p.components()
    assert (need_label[p.need] == res_label[p.resource]).all()
    for size in (1, 3, 1000):
        batches = p.batches(size)
        all_edges = np.sort(np.concatenate(batches)) if batches else np.zeros(0, np.int64)
        assert all_edges.tolist() == list(range(p.n_edges))  # every edge exactly once
        labels = [set(need_label[p.need[b]]) for b in batches]
        for k, a in enumerate(labels):  # a component is never split
            for b in labels[k + 1:]:
                assert not a & b


def test_many_batches_give_the_same_certified_optimum(monkeypatch):
    rng = np.random.default_rng(5)
    problems = [random_instance(rng, max_needs=9, max_resources=9).problem(o)
                for o in ("coverage", "score") for _ in range(25)]
    want = {id(p): {s: solve(p, s).units for s in EXACT_SOLVERS} for p in problems}
    original = TransportProblem.batches
    monkeypatch.setattr(TransportProblem, "batches", lambda self, batch_edges=2, pack=None:
                        original(self, batch_edges, pack))
    for p in problems:
        for s in EXACT_SOLVERS:
            sol = solve(p, s)
            assert sol.n_batches == len(original(p, 2))
            np.testing.assert_array_equal(sol.units, want[id(p)][s])
            assert verify(p, sol.units)
            assert lex_objective(p, sol.units) == networkx_oracle(p)[0]


def test_units_beyond_the_limit_are_refused():
    needs = pd.DataFrame({"need_id": ["a"], "category": ["repair"], "x": [0.0], "y": [0.0],
                          "demand": [2**53 + 1]})
    resources = pd.DataFrame({"resource_id": ["x"], "category": ["repair"], "x": [0.0],
                              "y": [0.0], "capacity": [5]})
    with pytest.raises(mc.InputError, match="at most 2\\*\\*53 = 9,007,199,254,740,992 units"):
        mc.match(needs, resources)
    r = mc.match(needs.assign(demand=2**53), resources)
    assert r.assignments["units"].tolist() == [5] and r.verify()


def test_costs_out_of_the_64_bit_range_are_refused(monkeypatch):
    # |cost| x (nodes + 1) must stay below 2**62 for OR-Tools' cost scaling.
    from matchcore.model import problem as problem_module

    monkeypatch.setattr(problem_module, "INT64_HEADROOM", 2**20 * 4)
    p = problem_module.TransportProblem(
        np.array([0]), np.array([0]), np.array([1]), np.array([1]), np.array([1.0]),
        np.array([1]), "score")
    with pytest.raises(mc.InputError, match="too large for 64-bit costs: 3 nodes"):
        p.check_range()


@given(instances(max_needs=8, max_resources=8))
def test_components_do_not_depend_on_edge_order(inst):
    p = inst.problem()
    flip = np.arange(p.n_edges)[::-1]
    q = TransportProblem(p.need[flip], p.resource[flip], p.demand, p.capacity, p.score[flip],
                         p.weight, p.objective)
    for x, y in zip(p.components(), q.components()):
        assert x.tolist() == y.tolist()


def test_network_numbers_the_batch_nodes_in_id_order():
    p = TransportProblem(np.array([0, 2, 2]), np.array([3, 1, 3]), np.array([1, 2, 3]),
                         np.array([1, 1, 1, 5]), np.array([1.0, 2.0, 3.0]), np.ones(3, np.int64))
    net, needs, resources = p.network(np.arange(3))
    assert needs.tolist() == [0, 2] and resources.tolist() == [1, 3]
    assert net.n_nodes == 5
    assert net.tail.tolist() == [0, 0, 1, 2, 2, 3, 4]
    assert net.head.tolist() == [1, 2, 4, 3, 4, 0, 0]
    assert net.capacity.tolist() == [1, 3, 1, 1, 3, 1, 5]


def test_a_round_builds_its_batches_and_networks_once_and_keeps_none():
    import pickle

    i = random_instance(np.random.default_rng(3), max_needs=30, max_resources=12)
    p = TransportProblem(i.need, i.resource, i.demand, i.capacity, i.score, i.weight)
    labels = p.components()
    labels[0][:] = -7  # a caller's copy: the memo keeps its own
    assert (p.components()[0] >= 0).all()
    with p.reusing_networks():
        edges = p.batches()
        assert all(a is b for a, b in zip(edges, p.batches()))
        built = p.network(edges[0])
        assert p.network(edges[0]) is built
        cert = verify(p, solve(p, "simplex").units)
    assert cert and "networks" not in p._memo and "batches" not in p._memo
    assert p.network(edges[0]) is not built
    assert len(pickle.loads(pickle.dumps(p))._memo) == 0


def test_a_problem_of_the_same_edges_adopts_the_components():
    import dataclasses

    i = random_instance(np.random.default_rng(5), max_needs=20, max_resources=9)
    p = TransportProblem(i.need, i.resource, i.demand, i.capacity, i.score, i.weight)
    q = dataclasses.replace(p, score=p.score * 2)
    assert not q.adopt_components(p)  # p has not computed them yet
    want = p.components()
    assert q.adopt_components(p)
    for a, b in zip(q.components(), want):
        np.testing.assert_array_equal(a, b)
    other = dataclasses.replace(p, need=p.need.copy())
    assert not other.adopt_components(p)


def test_a_kept_round_hands_its_networks_to_a_problem_of_the_same_arrays():
    import dataclasses

    i = random_instance(np.random.default_rng(8), max_needs=20, max_resources=9)
    p = TransportProblem(i.need, i.resource, i.demand, i.capacity, i.score, i.weight)
    with p.reusing_networks(keep=True):
        (edges,) = p.batches()
        built = p.network(edges)
        tiebreak = p.phases()[-1][2]
    q = dataclasses.replace(p, score=p.score[::-1].copy())
    assert q.adopt_components(p)
    with q.reusing_networks():
        assert q.batches()[0] is edges and q.network(edges) is built
        assert q.phases()[-1][2] is tiebreak
        assert verify(q, solve(q, "simplex").units)
    assert "networks" not in q._memo and "kept" not in q._memo
    fewer = dataclasses.replace(p, capacity=p.capacity * 0 + 1)
    assert fewer.adopt_components(p)
    with fewer.reusing_networks():  # other capacities: networks built afresh
        assert fewer.network(fewer.batches()[0]) is not built
