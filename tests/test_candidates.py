"""The candidate graph: reach, radius, projection, windows, skills, scope,
max_candidates, taxonomy, networkx export, and the cKDTree edge set against a
brute-force all-pairs reference."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import matchcore as mc
from matchcore.schema import split_list
from strategies import districts


def _txt(v) -> str | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def reference(needs, resources, *, taxonomy=None, max_distance=None, scope=None):
    """All pairs, one by one: {(need_id, resource_id): (distance, affinity)} and the funnel."""
    tax = taxonomy or mc.Taxonomy.default()
    n, r = mc.read_needs(needs), mc.read_resources(resources)
    edges, funnel = {}, {}
    for a in n.to_dict("records"):
        counts = [0, 0, 0, 0]
        for b in r.to_dict("records"):
            aff = tax.affinity(a["category"], b["category"])
            if aff <= 0:
                continue
            counts[0] += 1
            d = math.hypot(a["x"] - b["x"], a["y"] - b["y"])
            reach = math.inf if max_distance is None else max_distance
            radius = b.get("max_distance")
            if radius is not None and not math.isnan(radius):
                reach = min(reach, radius)
            if d > reach:
                continue
            ca, cb = _txt(a.get("community")), _txt(b.get("community"))
            ga, gb = _txt(a.get("grid")), _txt(b.get("grid"))
            if scope == "grid" and (ga is None or (ca or "", ga) != (cb or "", gb)):
                continue
            if scope == "community" and (ca is None or ca != cb):
                continue
            counts[1] += 1
            lo, hi = pd.Timestamp.min, pd.Timestamp.max
            a0 = lo if pd.isna(a.get("window_start", pd.NaT)) else a["window_start"]
            a1 = hi if pd.isna(a.get("window_end", pd.NaT)) else a["window_end"]
            b0 = lo if pd.isna(b.get("window_start", pd.NaT)) else b["window_start"]
            b1 = hi if pd.isna(b.get("window_end", pd.NaT)) else b["window_end"]
            if not (a0 <= b1 and b0 <= a1):
                continue
            counts[2] += 1
            if not set(split_list(a.get("skills"))) <= set(split_list(b.get("skills"))):
                continue
            counts[3] += 1
            edges[(a["need_id"], b["resource_id"])] = (d, aff)
        funnel[a["need_id"]] = counts
    return edges, funnel


def engine(needs, resources, **kwargs):
    g = mc.build_candidates(needs, resources, **kwargs)
    f = g.to_frame()
    edges = {(a, b): (d, w) for a, b, d, w in zip(f["need_id"], f["resource_id"],
                                                     f["distance"], f["affinity"])}
    funnel = {k: list(v) for k, v in zip(g.funnel.index, g.funnel[
        ["compatible", "in_reach", "time_overlap", "skills"]].to_numpy().tolist())}
    return g, edges, funnel


@given(
    districts(),
    st.sampled_from([None, 0.0, 300.0, 800.0, 1500.0, 5000.0]),
    st.sampled_from([None, "street", "community", "grid"]),
)
def test_edges_equal_brute_force(district, max_distance, scope):
    needs, resources = district
    g, got, got_funnel = engine(needs, resources, max_distance=max_distance, scope=scope)
    want, want_funnel = reference(needs, resources, max_distance=max_distance, scope=scope)
    assert set(got) == set(want)
    for key, (d, w) in want.items():
        assert got[key][0] == pytest.approx(d, abs=1e-9)
        assert got[key][1] == w
    assert got_funnel == want_funnel
    # CSR by need, then resource; indices in id order.
    order = np.lexsort((g.resource, g.need))
    assert (order == np.arange(g.n_edges)).all()
    assert (np.diff(g.indptr) == np.bincount(g.need, minlength=g.n_needs)).all()


def test_edge_set_on_a_larger_random_district():
    from strategies import random_district

    rng = np.random.default_rng(7)
    needs, resources = random_district(rng, 120, 80)
    for max_distance in (None, 700.0):
        _, got, gf = engine(needs, resources, max_distance=max_distance)
        want, wf = reference(needs, resources, max_distance=max_distance)
        assert set(got) == set(want)
        assert gf == wf


def pair(nx_=0.0, ny=0.0, rx=0.0, ry=0.0, **kw):
    needs = pd.DataFrame({"need_id": ["n"], "category": ["repair"], "x": [nx_], "y": [ny]})
    resources = pd.DataFrame({"resource_id": ["r"], "category": ["repair"], "x": [rx], "y": [ry]})
    for k, v in kw.items():
        table, col = k.split("__")
        frame = needs if table == "need" else resources
        frame[col] = [v]
    return needs, resources


@pytest.mark.parametrize(("max_distance", "edges"), [(None, 1), (499.9, 0), (500.0, 1)])
def test_global_reach_is_inclusive(max_distance, edges):
    g = mc.build_candidates(*pair(rx=300.0, ry=400.0), max_distance=max_distance)
    assert g.n_edges == edges
    if edges:
        assert g.distance[0] == pytest.approx(500.0)


@pytest.mark.parametrize(("radius", "max_distance", "edges"),
                         [(400.0, None, 0), (500.0, None, 1), (600.0, 450.0, 0),
                          (None, None, 1), (0.0, None, 0)])
def test_resource_radius(radius, max_distance, edges):
    g = mc.build_candidates(*pair(rx=300.0, ry=400.0, resource__max_distance=radius),
                            max_distance=max_distance)
    assert g.n_edges == edges


def test_colocated_pair_with_zero_radius_is_a_candidate():
    assert mc.build_candidates(*pair(resource__max_distance=0.0)).n_edges == 1


def test_latitude_projection_known_distance():
    needs = pd.DataFrame({"need_id": ["n"], "category": ["repair"], "lat": [30.0],
                          "lon": [120.0]})
    resources = pd.DataFrame({"resource_id": ["r", "s"], "category": ["repair", "repair"],
                              "lat": [30.01, 30.0], "lon": [120.0, 120.01]})
    f = mc.build_candidates(needs, resources).to_frame().set_index("resource_id")
    # 0.01° of latitude ≈ 1112 m; of longitude, times cos(30°) ≈ 963 m.
    assert f.loc["r", "distance"] == pytest.approx(1111.95, rel=1e-3)
    assert f.loc["s", "distance"] == pytest.approx(1111.95 * math.cos(math.radians(30.0)),
                                                   rel=2e-3)
    assert mc.build_candidates(needs, resources, max_distance=1100).to_frame()[
        "resource_id"].tolist() == ["s"]
    assert mc.build_candidates(needs, resources, max_distance=1120).n_edges == 2


@pytest.mark.parametrize(
    ("need_window", "resource_window", "edges"),
    [
        (("2024-05-01 08:00", "2024-05-01 12:00"), ("2024-05-01 11:00", "2024-05-01 17:00"), 1),
        (("2024-05-01 08:00", "2024-05-01 12:00"), ("2024-05-01 12:00", "2024-05-01 17:00"), 1),
        (("2024-05-01 08:00", "2024-05-01 12:00"), ("2024-05-01 12:01", "2024-05-01 17:00"), 0),
        (("2024-05-02 08:00", None), ("2024-05-01 08:00", "2024-05-01 17:00"), 0),
        ((None, "2024-05-01 07:00"), ("2024-05-01 08:00", None), 0),
        ((None, None), ("2024-05-01 08:00", "2024-05-01 09:00"), 1),
    ],
)
def test_time_window_overlap(need_window, resource_window, edges):
    needs, resources = pair()
    needs["window_start"], needs["window_end"] = [need_window[0]], [need_window[1]]
    resources["window_start"], resources["window_end"] = [resource_window[0]], [resource_window[1]]
    g = mc.build_candidates(needs, resources)
    assert g.n_edges == edges
    assert g.funnel["time_overlap"].tolist() == [edges]


@pytest.mark.parametrize(
    ("need_skills", "resource_skills", "edges"),
    [("护理", "护理;驾驶", 1), ("护理；驾驶", "驾驶; 护理", 1), ("护理;电工", "护理；驾驶", 0),
     (None, None, 1), (None, "护理", 1), ("护理", None, 0), ("", "", 1)],
)
def test_skills_coverage(need_skills, resource_skills, edges):
    needs, resources = pair(need__skills=need_skills, resource__skills=resource_skills)
    assert mc.build_candidates(needs, resources).n_edges == edges


def test_many_skills_span_several_words():
    skills = [f"s{k}" for k in range(130)]
    needs, resources = pair(need__skills=";".join(skills[60:70] + skills[125:]),
                            resource__skills=";".join(skills))
    assert mc.build_candidates(needs, resources).n_edges == 1
    needs, resources = pair(need__skills="s129", resource__skills=";".join(skills[:129]))
    assert mc.build_candidates(needs, resources).n_edges == 0


def test_scope():
    needs = pd.DataFrame({"need_id": ["a", "b", "c"], "category": ["repair"] * 3,
                          "x": [0.0] * 3, "y": [0.0] * 3,
                          "community": ["东湖", "东湖", None], "grid": ["G1", "G2", "G1"]})
    resources = pd.DataFrame({"resource_id": ["r", "s"], "category": ["repair"] * 2,
                              "x": [0.0] * 2, "y": [0.0] * 2,
                              "community": ["东湖", "西山"], "grid": ["G1", "G1"]})

    def pairs(scope):
        f = mc.build_candidates(needs, resources, scope=scope).to_frame()
        return sorted(zip(f["need_id"], f["resource_id"]))

    assert pairs(None) == pairs("street") == [
        ("a", "r"), ("a", "s"), ("b", "r"), ("b", "s"), ("c", "r"), ("c", "s")]
    assert pairs("community") == [("a", "r"), ("b", "r")]
    # G1 of 东湖 is not G1 of 西山; a need without community shares no grid.
    assert pairs("grid") == [("a", "r")]


def test_max_candidates_keeps_the_best_per_need():
    rng = np.random.default_rng(3)
    from strategies import random_district

    needs, resources = random_district(rng, 30, 20)
    full = mc.match(needs, resources, max_distance=1500)
    cut = mc.match(needs, resources, max_distance=1500, max_candidates=2)
    f = full.graph.to_frame().assign(score=full.score)
    best = (f.sort_values(["need_id", "score", "resource_id"], ascending=[True, False, True])
            .groupby("need_id").head(2))
    c = cut.graph.to_frame()
    assert sorted(zip(c["need_id"], c["resource_id"])) == sorted(
        zip(best["need_id"], best["resource_id"]))
    assert np.bincount(cut.graph.need).max() <= 2
    pruned = np.bincount(full.graph.need, minlength=full.graph.n_needs) - np.bincount(
        cut.graph.need, minlength=cut.graph.n_needs)
    assert (cut.graph.pruned == pruned).all()
    assert cut.verify()
    some = int(np.flatnonzero(pruned)[0])
    assert "cut by max_candidates" in cut.explain(full.graph.need_ids[some]).text


def test_max_candidates_ties_go_to_the_lower_resource_id():
    needs, _ = pair()
    resources = pd.DataFrame({"resource_id": ["r2", "r1", "r3"], "category": ["repair"] * 3,
                              "x": [0.0] * 3, "y": [0.0] * 3})
    r = mc.match(needs, resources, max_candidates=1)
    assert r.graph.to_frame()["resource_id"].tolist() == ["r1"]


def test_default_taxonomy_affinities():
    tax = mc.Taxonomy.default()
    assert tax.affinity("elderly_care", "medical") == 0.6
    assert tax.affinity("medical", "elderly_care") == 0.6
    assert tax.affinity("repair", "repair") == 1.0
    assert tax.affinity("repair", "venue") == 0.0
    needs, resources = pair()
    needs["category"] = ["elderly_care"]
    resources = pd.concat([resources.assign(category="medical"),
                           resources.assign(resource_id="v", category="venue")])
    f = mc.build_candidates(needs, resources).to_frame()
    assert f[["resource_id", "affinity"]].values.tolist() == [["r", 0.6]]
    assert mc.build_candidates(needs, resources, taxonomy=mc.Taxonomy.exact()).n_edges == 0


def test_custom_taxonomy_is_directional_and_can_forbid_same_category():
    tax = mc.Taxonomy({("repair", "cleaning"): 0.5, ("repair", "repair"): 0.0})
    needs = pd.DataFrame({"need_id": ["n", "m"], "category": ["repair", "cleaning"],
                          "x": [0.0, 0.0], "y": [0.0, 0.0]})
    resources = pd.DataFrame({"resource_id": ["r", "c"], "category": ["repair", "cleaning"],
                              "x": [0.0, 0.0], "y": [0.0, 0.0]})
    f = mc.build_candidates(needs, resources, taxonomy=tax).to_frame()
    assert sorted(zip(f["need_id"], f["resource_id"], f["affinity"])) == [
        ("m", "c", 1.0), ("n", "c", 0.5)]


@pytest.mark.parametrize("fmt", ["csv", "json_records", "json_nested", "xlsx"])
def test_taxonomy_from_file(tmp_path, fmt):
    rows = [{"need_category": "repair", "resource_category": "cleaning", "affinity": 0.5}]
    if fmt == "csv":
        path = mc.write_table(pd.DataFrame(rows), tmp_path / "tax.csv")
    elif fmt == "xlsx":
        path = mc.write_table(pd.DataFrame(rows), tmp_path / "tax.xlsx")
    elif fmt == "json_records":
        path = tmp_path / "tax.json"
        path.write_text(json.dumps(rows))
    else:
        path = tmp_path / "tax.json"
        path.write_text(json.dumps({"repair": {"cleaning": 0.5}}), encoding="utf-8")
    tax = mc.Taxonomy.from_file(path)
    assert tax.affinity("repair", "cleaning") == 0.5
    assert tax.affinity("cleaning", "repair") == 0.0
    assert mc.Taxonomy.from_file(path, symmetric=True).affinity("cleaning", "repair") == 0.5
    needs, resources = pair()
    resources["category"] = ["cleaning"]
    r = mc.match(needs, resources, taxonomy=tax)
    assert r.assignments["type"].tolist() == [0.5]


def test_to_networkx(tiny):
    g = mc.build_candidates(*tiny, max_distance=2000)
    graph = g.to_networkx()
    assert graph.number_of_nodes() == 9
    assert graph.number_of_edges() == g.n_edges
    f = g.to_frame()
    for a, b, d, w in zip(f["need_id"], f["resource_id"], f["distance"], f["affinity"]):
        data = graph.edges[("need", a), ("resource", b)]
        assert data == {"distance": d, "affinity": w}
    assert {n for n, v in graph.nodes(data="bipartite") if v == 0} == {
        ("need", f"N{k}") for k in range(1, 6)}
    assert graph.degree[("need", "N4")] == 0


def test_empty_lists():
    needs, resources = pair()
    g = mc.build_candidates(needs.iloc[:0], resources)
    assert g.n_edges == 0 and g.n_needs == 0
    r = mc.match(needs, resources.iloc[:0])
    assert r.assignments.empty
    assert r.unmet["reason"].tolist() == ["no_compatible_resource"]
    assert r.verify()


def haversine(lat1, lon1, lat2, lon2, r=6_371_008.8):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(
        np.radians(lon2 - lon1) / 2) ** 2
    return 2 * r * np.arcsin(np.sqrt(a))


@given(districts(latlon=True, windows=False, skills=False, radius=False))
def test_lat_lon_distances_are_close_to_great_circle(district):
    needs, resources = district
    f = mc.build_candidates(needs, resources).to_frame()
    n = needs.set_index("need_id").loc[f["need_id"]]
    r = resources.set_index("resource_id").loc[f["resource_id"]]
    want = haversine(n["lat"].to_numpy(), n["lon"].to_numpy(), r["lat"].to_numpy(),
                     r["lon"].to_numpy())
    np.testing.assert_allclose(f["distance"], want, rtol=2e-3, atol=1e-6)


def test_partner_keys_are_those_of_each_cell_split():
    from matchcore.model.district import _partner_keys
    from matchcore.schema import split_list

    communities = np.array(["A", "B", "C"], dtype=object)
    cells = pd.Series(["A;B", None, "C;X", "A;B", np.nan, "B", "", "B;A"], dtype=object)
    lookup = {c: k for k, c in enumerate(communities)}
    want = sorted({j * 4 + lookup[name] for j, cell in enumerate(cells)
                   for name in split_list(cell) if name in lookup})
    assert _partner_keys(cells, communities).tolist() == want
    assert _partner_keys(pd.Series([None], dtype=object), communities).dtype == np.int64
