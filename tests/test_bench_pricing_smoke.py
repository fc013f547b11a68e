"""The pricing benchmark runs end to end on a small district (so that it cannot rot)."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_quick_pricing_benchmark_writes_report(tmp_path, load_benchmark):
    bench = load_benchmark("bench_pricing")
    result = bench.main(["--quick", "--out", str(tmp_path)])
    rows = result["rows"]
    assert [r["case"].split(" ")[0] for r in rows] == ["1.0%", "0.1%", "resource", "sweep"]
    for r in rows:
        assert r["same"] and r["certified"], r
        assert set(r["median_s"]) == {"before", "now"} and r["ratio"] > 0
    text = (tmp_path / "pricing.md").read_text(encoding="utf-8")
    assert "| case | timed | before (s) | now (s) | now / before |" in text
    data = json.loads((tmp_path / "pricing.json").read_text())
    assert data["preset"] == "seed_street" and data["machine"]["cores"] >= 1
