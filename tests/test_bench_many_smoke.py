"""The many-streets benchmark runs end to end, tiny (so that it cannot rot)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("distributed")


@pytest.mark.slow
def test_quick_many_benchmark_writes_report(tmp_path, load_benchmark):
    bench = load_benchmark("bench_many")
    result = bench.main(["--quick", "--out", str(tmp_path)])
    assert result["equal"] and result["n_streets"] == 4 and result["workers"] == 2
    assert result["serial"]["seconds"] > 0 and result["cluster"]["seconds"] > 0
    assert len(result["cluster"]["worker_peak_rss_gb"]) == 2
    assert min(result["cluster"]["worker_peak_rss_gb"]) > 0.05
    assert [r["streets"] for r in result["province"]] == [200_000, 20_000]
    text = (tmp_path / "scale.md").read_text(encoding="utf-8")
    assert "| Dask, 2 workers, lifted |" in text and "workers for 1 h" in text
    assert "| Dask, 2 workers, Dask's default |" in text
    # The lifted run's workers really started without Dask's trim threshold, the other with it.
    assert result["cluster"]["malloc_trim_threshold"] == ["None"]
    assert result["cluster_default"]["malloc_trim_threshold"] == ["65536"]
    assert json.loads((tmp_path / "scale.json").read_text())["machine"]["cores"] >= 1
