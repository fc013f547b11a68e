"""The rematch benchmark runs end to end on a small district (so that it cannot rot)."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_quick_rematch_benchmark_writes_report(tmp_path, load_benchmark):
    bench = load_benchmark("bench_rematch")
    result = bench.main(["--quick", "--out", str(tmp_path)])
    assert [c["scope"] for c in result["cells"]] == ["street", "community"]
    for cell in result["cells"]:
        assert cell["certified"] and cell["same_coverage"], cell
        assert cell["n_changed"] > 0 and cell["n_needs"] > cell["n_changed"]
        assert cell["ratio"] > 0 and 0 < cell["touched_need_share"] <= 1
    rows = result["warm"]["rows"]
    assert len(rows) == 6 and all(r["same_as_cold"] and r["certified"] for r in rows), rows
    assert "fresh process" in rows[-2]["case"] and rows[-2]["state_read_s"] > 0
    assert "the week after" in rows[-1]["case"]
    assert result["warm"]["warm_state"]["bytes"] > 0
    committed = result["warm"]["commit"]
    assert committed["same_as_rematch"] and committed["certified"] and committed["round"] == 2
    text = (tmp_path / "rematch.md").read_text(encoding="utf-8")
    assert "| scope | needs | edges | full match (s) | rematch (s) | ratio" in text
    assert "dry run, then commit" in text
    floor = result["warm"]["unchanged"]
    assert floor["same_as_cold"] and floor["certified"] and floor["ratio"] > 0
    assert "the floor: the same lists matched again" in text
    data = json.loads((tmp_path / "rematch.json").read_text())
    assert data["preset"] == "seed_street" and data["machine"]["cores"] >= 1
