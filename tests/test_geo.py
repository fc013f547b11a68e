"""GeoJSON of a round and of a project list: structure, JSON round trip, counts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import matchcore as mc
from matchcore.geo import CRS_XY, to_geojson


@pytest.fixture(scope="module")
def tiny_result():
    return mc.match(*mc.synthetic.tiny(), max_distance=2000)


@pytest.fixture(scope="module")
def street_result():
    return mc.match(*mc.synthetic.district("seed_street", n_needs=150), max_distance=700)


def _kinds(fc):
    return [f["properties"]["kind"] for f in fc["features"]]


def _check_structure(fc):
    assert fc["type"] == "FeatureCollection"
    for f in fc["features"]:
        assert f["type"] == "Feature" and isinstance(f["id"], str)
        geom = f["geometry"]
        if geom is None:
            continue
        if geom["type"] == "Point":
            assert len(geom["coordinates"]) == 2
            assert all(isinstance(v, float) for v in geom["coordinates"])
        else:
            assert geom["type"] == "LineString"
            assert len(geom["coordinates"]) == 2 and all(len(p) == 2 for p in geom["coordinates"])
    ids = [f["id"] for f in fc["features"]]
    assert len(set(ids)) == len(ids)
    # Strict JSON: no NaN or infinity anywhere.
    text = json.dumps(fc, allow_nan=False, ensure_ascii=False)
    assert json.loads(text) == fc


@pytest.mark.parametrize("which", ["tiny_result", "street_result"])
def test_result_counts_match_tables(request, which):
    result = request.getfixturevalue(which)
    fc = to_geojson(result)
    _check_structure(fc)
    kinds = _kinds(fc)
    d = result.district
    assert kinds.count("need") == d.n_needs
    assert kinds.count("resource") == d.n_resources
    assert kinds.count("assignment") == len(result.assignments)
    assert kinds == sorted(kinds, key=["need", "resource", "assignment"].index)
    lines = [f["properties"] for f in fc["features"] if f["properties"]["kind"] == "assignment"]
    assert sum(p["units"] for p in lines) == result.assignments["units"].sum()
    needs = [f["properties"] for f in fc["features"] if f["properties"]["kind"] == "need"]
    assert sum(p["unmet"] for p in needs) == result.unmet["unmet"].sum()
    assert sum(p["reason"] is not None for p in needs) == len(result.unmet)
    assert to_geojson(result, lines=False)["properties"]["n_assignments"] == 0
    assert "assignment" not in _kinds(to_geojson(result, lines=False))


def test_coordinates_x_y_vs_lon_lat(tiny_result, street_result):
    tiny = to_geojson(tiny_result)
    assert tiny["properties"]["coordinates"] == "x/y"
    assert tiny["properties"]["crs"] == CRS_XY
    n1 = tiny["features"][0]
    assert n1["id"] == "need:N1" and n1["geometry"]["coordinates"] == [0.0, 0.0]
    street = to_geojson(street_result)
    assert street["properties"]["coordinates"] == "lon/lat"
    lon, lat = street["features"][0]["geometry"]["coordinates"]
    needs = street_result.district.needs
    assert (lon, lat) == (needs["lon"].iat[0], needs["lat"].iat[0])
    assert 100 < lon < 130 and 20 < lat < 40


def test_unmet_reasons_and_idle(tiny_result):
    props = {f["id"]: f["properties"] for f in to_geojson(tiny_result)["features"]}
    assert props["need:N4"]["reason"] == "no_compatible_resource"
    assert props["need:N4"]["status"] == "unmet"
    assert props["need:N5"]["reason"] == "out_of_reach"
    assert props["need:N1"]["reason"] is None and props["need:N1"]["status"] == "served"
    idle = tiny_result.idle.set_index("resource_id")["reason"]
    for rid, reason in idle.items():
        assert props[f"resource:{rid}"]["idle_reason"] == reason


def test_order_does_not_depend_on_row_order():
    needs, resources = mc.synthetic.tiny()
    a = to_geojson(mc.match(needs, resources, max_distance=2000))
    b = to_geojson(mc.match(needs.iloc[::-1], resources.iloc[::-1], max_distance=2000))
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_write_atomic_utf8(tiny_result, tmp_path):
    path = tmp_path / "sub" / "round.geojson"
    fc = tiny_result.to_geojson(path)
    text = path.read_text(encoding="utf-8")
    assert "东湖社区" in text and "\\u" not in text
    assert json.loads(text) == fc
    assert [p.name for p in path.parent.iterdir()] == ["round.geojson"]


def test_projects_frame(tiny_result):
    projects = tiny_result.projects
    with pytest.raises(mc.InputError, match="no coordinates"):
        to_geojson(projects)
    fc = to_geojson(projects, needs=tiny_result.district.needs)
    _check_structure(fc)
    assert len(fc["features"]) == len(projects)
    assert fc["properties"]["n_projects"] == len(projects)
    first = fc["features"][0]["properties"]
    assert first["status"] == "not_started" and first["status_zh"] == "尚未开工"
    # Coordinates in the frame itself; NaN becomes null, a missing position a null geometry.
    framed = pd.DataFrame({"project_id": ["B", "A"], "x": [1.0, np.nan], "y": [2.0, 3.0],
                           "score": [np.nan, 1.5], "status": ["completed", "正在实施"]})
    fc = to_geojson(framed)
    assert [f["id"] for f in fc["features"]] == ["project:A", "project:B"]
    assert fc["features"][0]["geometry"] is None
    assert fc["features"][1]["properties"]["score"] is None
    _check_structure(fc)


def test_bad_input():
    with pytest.raises(mc.InputError, match="MatchResult"):
        to_geojson([1, 2])
