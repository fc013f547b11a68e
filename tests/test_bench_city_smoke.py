"""The city-scale benchmark runs end to end on district_10k (so that it cannot rot)."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_quick_city_benchmark_writes_report(tmp_path, load_benchmark):
    bench = load_benchmark("bench_city")
    result = bench.main(["--quick", "--out", str(tmp_path)])
    rec, ort = result["runs"]
    assert (rec["solver"], ort["solver"]) == ("simplex", "ortools")
    assert rec["preset"] == "district_10k" and rec["certified"]
    assert rec["seconds"] > 0 and rec["peak_rss_gb"] > 0.05
    assert set(rec["timings"]) >= {"validate", "candidates", "score", "solve", "certify"}
    text = (tmp_path / "city.md").read_text(encoding="utf-8")
    assert "| district_10k | simplex | 10,000 |" in text
    assert "| district_10k | ortools | 10,000 |" in text
    assert json.loads((tmp_path / "city.json").read_text())["machine"]["cores"] >= 1
