"""ProjectLedger: project positions, export in every format, per-community files, status maps."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import matchcore as mc


@pytest.fixture
def ledger(tmp_path):
    led = mc.ProjectLedger(tmp_path / "l.db")
    led.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
    led.set_status("P-N1", "in_progress", by="王芳")
    yield led
    led.close()


@pytest.fixture(scope="module")
def street(tmp_path_factory):
    path = tmp_path_factory.mktemp("street") / "street.db"
    with mc.ProjectLedger(path) as led:
        led.add_round(mc.match(*mc.synthetic.district("seed_street", n_needs=200),
                               max_distance=700))
        first = led.projects()["project_id"].iloc[:6].tolist()
        led.set_status(first[0], "in_progress")
        led.set_status(first[1], "cancelled")
        led.set_status(first[2], "in_progress")
        led.set_status(first[2], "completed")
    return path


def test_project_points(ledger):
    points = ledger.project_points()
    assert points["project_id"].tolist() == ledger.projects()["project_id"].tolist()
    assert points.set_index("project_id").loc["P-N3", ["x", "y"]].tolist() == [1500.0, 500.0]
    assert "lat" not in points


def test_project_points_lat_lon(street):
    with mc.ProjectLedger(street) as led:
        points = led.project_points()
    assert points[["lat", "lon"]].notna().all().all()
    assert "x" not in points


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".json", ".geojson"])
def test_export_formats(ledger, tmp_path, suffix):
    if suffix == ".xlsx":
        pytest.importorskip("openpyxl")
    path = ledger.export(tmp_path / f"out{suffix}")
    assert path == tmp_path / f"out{suffix}"
    expected = ledger.projects()
    if suffix == ".csv":
        got = pd.read_csv(path, encoding="utf-8-sig")
    elif suffix == ".xlsx":
        got = pd.read_excel(path)
    elif suffix == ".json":
        got = pd.DataFrame(json.loads(path.read_text(encoding="utf-8")))
    else:
        fc = json.loads(path.read_text(encoding="utf-8"))
        assert fc["type"] == "FeatureCollection" and fc["properties"]["coordinates"] == "x/y"
        got = pd.DataFrame([f["properties"] for f in fc["features"]])
        assert fc["properties"]["by_status"]["in_progress"] == 1
    assert got["project_id"].tolist() == expected["project_id"].tolist()
    assert got["status"].tolist() == expected["status"].tolist()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_export_format_option_and_errors(ledger, tmp_path):
    path = ledger.export(tmp_path / "list.dat", format="geojson")
    assert json.loads(path.read_text(encoding="utf-8"))["type"] == "FeatureCollection"
    path = ledger.export(tmp_path / "plain", format="csv", community="东湖社区")
    assert pd.read_csv(path, encoding="utf-8-sig")["project_id"].tolist() == ["P-N1", "P-N2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["l.db", "l.db-shm", "l.db-wal",
                                                          "list.dat", "plain"]
    with pytest.raises(mc.InputError, match="suffix"):
        ledger.export(tmp_path / "x.docx")
    with pytest.raises(mc.InputError, match="format"):
        ledger.export(tmp_path / "x.csv", format="pdf")
    assert ledger.export(tmp_path, format="json").name == "projects.json"


def test_export_all(street, tmp_path):
    with mc.ProjectLedger(street) as led:
        written = led.export_all(tmp_path / "out")
        communities = sorted(led.projects()["community"].dropna().unique())
        total = len(led.projects())
        geo = led.export_all(tmp_path / "geo", format="geojson")
    assert [p.name for p in written] == ["projects.csv"] + [f"projects-{c}.csv"
                                                           for c in communities]
    parts = [pd.read_csv(p, encoding="utf-8-sig") for p in written[1:]]
    assert sum(len(p) for p in parts) == total
    for part, name in zip(parts, communities):
        assert set(part["community"]) == {name}
    fc = json.loads(geo[0].read_text(encoding="utf-8"))
    assert fc["properties"]["coordinates"] == "lon/lat"
    assert len(fc["features"]) == total


def test_status_maps(street, tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with mc.ProjectLedger(street) as led:
        communities = sorted(led.projects()["community"].dropna().unique())
        paths = led.status_maps(tmp_path / "maps")
        axes = led.status_maps()
        counts = led.projects()["status"].value_counts()
    assert list(paths) == [None, *communities]
    for path in paths.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == sorted(
        ["status_map.png"] + [f"status_map-{c}.png" for c in communities]
    )
    points = sum(len(c.get_offsets()) for c in axes[None].collections)
    assert points == counts.sum()
    labels = [t.get_text() for t in axes[None].get_legend().get_texts()]
    assert any(label.endswith(f"({counts['completed']})") for label in labels)
    plt.close("all")


def test_empty_ledger(tmp_path):
    from matchcore.geo import to_geojson

    with mc.ProjectLedger(tmp_path / "empty.db") as led:
        assert len(led.project_points()) == 0
        fc = to_geojson(led)
        assert fc["features"] == [] and fc["properties"]["n_projects"] == 0
        assert [p.name for p in led.export_all(tmp_path / "out")] == ["projects.csv"]
        pytest.importorskip("matplotlib")
        import matplotlib

        matplotlib.use("Agg")
        assert list(led.status_maps(tmp_path / "maps")) == [None]


def test_nullable_columns_are_json_safe():
    from matchcore.geo import to_geojson

    frame = pd.DataFrame({
        "project_id": ["P1", "P2"],
        "x": [0.0, 1.0], "y": [0.0, 1.0],
        "n": pd.array([1, None], dtype="Int64"),
        "ok": pd.array([True, None], dtype="boolean"),
        "at": pd.to_datetime(["2024-01-01", None]),
    })
    props = [f["properties"] for f in to_geojson(frame)["features"]]
    assert [p["n"] for p in props] == [1, None]
    assert [p["ok"] for p in props] == [True, None]
    assert [p["at"] for p in props] == ["2024-01-01T00:00:00", None]
    json.dumps(props, allow_nan=False)
