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
            "matchcore_simplex",
            "ortools_script",
            "pylmcf",
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
