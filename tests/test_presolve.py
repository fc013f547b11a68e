"""Unit tests of matchcore.solvers.presolve: the exact leaf peeling before a back-end."""

from __future__ import annotations

import numpy as np

from matchcore.model.problem import FlowNetwork
from matchcore.solvers.presolve import peel


def test_peel_forces_tree_flow_and_leaves_cycles():


    # A path 0->1->2 hanging off a 2-cycle 2<->3; node 0 supplies 2, node 3 takes 2.
    net = FlowNetwork(4, np.array([0, 1, 2, 3]), np.array([1, 2, 3, 2]),
                      np.array([5, 5, 5, 5]), np.array([1, 1, 1, -1]),
                      np.array([2, 0, 0, -2]))
    flow, rest, remainder = peel(net)
    assert flow[:2].tolist() == [2, 2]
    assert rest.tolist() == [False, False, True, True]
    assert remainder.supply.tolist() == [0, 0, 2, -2]


def test_peel_returns_the_network_itself_when_little_is_peeled():


    # A 10-cycle with one pendant arc: 1 of 11 arcs peels (< 10%), so no copy is made.
    tail = np.array([*range(10), 0])
    head = np.array([*range(1, 10), 0, 10])
    net = FlowNetwork(11, tail, head, np.full(11, 3), np.ones(11, dtype=np.int64),
                      np.zeros(11, dtype=np.int64))
    flow, rest, remainder = peel(net)
    assert remainder is net
    assert rest.all() and not flow.any()
