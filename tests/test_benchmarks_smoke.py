"""The benchmark harness runs end to end on a tiny grid (so that it cannot rot)."""

from __future__ import annotations

import json


def test_tiny_grid_writes_report_and_exact_peers_agree(tmp_path, load_benchmark):
    run = load_benchmark("run")
    result = run.main(["--quick", "--sizes", "120", "--repeats", "1", "--out", str(tmp_path)])
    assert len(result["cells"]) == 4
    for cell in result["cells"]:
        assert cell["exact_objectives_equal"], cell
        assert cell["certified"], cell
        runs = cell["runs"]
        for name in (
            "matchcore_match",
            "matchcore_solve",
            "ortools_script",
            "highs_lp",
            "networkx",
            "greedy",
            "floor",
        ):
            assert name in runs
        assert runs["greedy"]["gap"] >= 0
        assert runs["matchcore_solve"]["objective"] == runs["ortools_script"]["objective"]
    text = (tmp_path / "benchmarks.md").read_text(encoding="utf-8")
    assert "ratio to the fastest exact peer" in text
    assert "Scaling" in text
    data = json.loads((tmp_path / "benchmarks.json").read_text())
    assert data["machine"]["cores"] >= 1


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


def test_vectorised_edge_validation_keeps_its_messages():
    import pandas as pd
    import pytest

    import matchcore as mc

    needs = pd.DataFrame({"need_id": ["a", "b"]})
    resources = pd.DataFrame({"resource_id": ["x", "y"]})
    edges = pd.DataFrame({"need_id": ["a", " a", "b", "zz", "b"],
                          "resource_id": ["x", "x", "y", "x", "q"],
                          "score": [1.0, 2.0, float("nan"), 1.0, 1.0]})
    with pytest.raises(mc.InputError) as info:
        mc.solve_assignment(edges, needs, resources)
    text = str(info.value)
    assert "4 problems" in text
    assert "'zz'" in text and "'q'" in text and "finite" in text and "unique pair" in text
    assert "(row 2 of edges)" in text


def test_peel_forces_tree_flow_and_leaves_cycles():
    import numpy as np

    from matchcore.model.problem import FlowNetwork
    from matchcore.solvers.presolve import peel

    # A path 0->1->2 hanging off a 2-cycle 2<->3; node 0 supplies 2, node 3 takes 2.
    net = FlowNetwork(4, np.array([0, 1, 2, 3]), np.array([1, 2, 3, 2]),
                      np.array([5, 5, 5, 5]), np.array([1, 1, 1, -1]),
                      np.array([2, 0, 0, -2]))
    flow, rest, remainder = peel(net)
    assert flow[:2].tolist() == [2, 2]
    assert rest.tolist() == [False, False, True, True]
    assert remainder.supply.tolist() == [0, 0, 2, -2]


def test_peel_returns_the_network_itself_when_little_is_peeled():
    import numpy as np

    from matchcore.model.problem import FlowNetwork
    from matchcore.solvers.presolve import peel

    # A 10-cycle with one pendant arc: 1 of 11 arcs peels (< 10%), so no copy is made.
    tail = np.array([*range(10), 0])
    head = np.array([*range(1, 10), 0, 10])
    net = FlowNetwork(11, tail, head, np.full(11, 3), np.ones(11, dtype=np.int64),
                      np.zeros(11, dtype=np.int64))
    flow, rest, remainder = peel(net)
    assert remainder is net
    assert rest.all() and not flow.any()


def test_memory_release_is_safe_to_call():
    from matchcore import memory

    memory.release()
    memory.release()  # cached lookup, still fine
    assert memory.malloc_trim() is None or callable(memory.malloc_trim())
