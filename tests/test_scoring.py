"""Scores: every component in [0, 1], the weighted sum, locality and partner."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import matchcore as mc
from matchcore.model.scoring import COMPONENTS
from strategies import districts

weights = st.builds(
    mc.Weights,
    type=st.floats(0, 2), locality=st.floats(0, 2), priority=st.floats(0, 2),
    partner=st.floats(0.01, 2), distance_scale=st.floats(1, 5000),
)


@given(districts(min_needs=1, min_resources=1), weights)
def test_components_lie_in_0_1_and_sum_to_the_score(district, w):
    r = mc.match(*district, weights=w, max_distance=2000, objective="score")
    a = r.graph.to_frame()
    comp = r.components
    assert list(comp.columns) == list(COMPONENTS)
    assert len(comp) == len(a)
    values = comp.to_numpy()
    assert ((values >= 0) & (values <= 1)).all()
    expected = sum(getattr(w, c) * comp[c].to_numpy() for c in COMPONENTS)
    np.testing.assert_allclose(r.score, expected, rtol=1e-12, atol=0)
    assert (r.score <= w.total + 1e-12).all()
    # Priority is the need's urgency, (p - 1) / 4.
    prio = r.district.priority[r.graph.need]
    np.testing.assert_allclose(comp["priority"], (prio - 1) / 4)
    np.testing.assert_array_equal(comp["type"], r.graph.affinity)


def two(need_kw=None, res_kw=None, distance=0.0):
    needs = pd.DataFrame({"need_id": ["n"], "category": ["repair"], "x": [0.0], "y": [0.0],
                          **{k: [v] for k, v in (need_kw or {}).items()}})
    resources = pd.DataFrame({"resource_id": ["r"], "category": ["repair"], "x": [distance],
                              "y": [0.0], **{k: [v] for k, v in (res_kw or {}).items()}})
    return needs, resources


@pytest.mark.parametrize(
    ("need_kw", "res_kw", "bonus"),
    [
        ({"community": "东湖", "grid": "G1"}, {"community": "东湖", "grid": "G1"}, 0.4),
        ({"community": "东湖", "grid": "G1"}, {"community": "东湖", "grid": "G2"}, 0.2),
        ({"community": "东湖"}, {"community": "东湖"}, 0.2),
        ({"community": "东湖", "grid": "G1"}, {"community": "西山", "grid": "G1"}, 0.0),
        ({}, {}, 0.0),
    ],
)
def test_locality(need_kw, res_kw, bonus):
    r = mc.match(*two(need_kw, res_kw, distance=500.0),
                 weights=mc.Weights(distance_scale=1000.0))
    loc = r.components["locality"].iloc[0]
    assert loc == pytest.approx(0.6 * math.exp(-0.5) + bonus)


@pytest.mark.parametrize(
    ("need_community", "partners", "value"),
    [("东湖社区", "西山社区;东湖社区", 1.0), ("东湖社区", "西山社区；东湖社区", 1.0),
     ("东湖社区", "西山社区", 0.0), (None, "东湖社区", 0.0), ("东湖社区", None, 0.0),
     ("东湖社区", " 东湖社区 ", 1.0)],
)
def test_partner_component(need_community, partners, value):
    needs, resources = two({"community": need_community}, {"partner_communities": partners})
    r = mc.match(needs, resources, weights=mc.Weights(partner=1.0))
    assert r.components["partner"].tolist() == [value]
    assert r.assignments["partner"].tolist() == [value]


def test_partner_weight_decides_between_equal_resources():
    needs = pd.DataFrame({"need_id": ["n"], "category": ["repair"], "x": [0.0], "y": [0.0],
                          "community": ["东湖社区"]})
    resources = pd.DataFrame({"resource_id": ["a", "b"], "category": ["repair"] * 2,
                              "x": [0.0, 0.0], "y": [0.0, 0.0], "community": ["西山社区"] * 2,
                              "partner_communities": [None, "东湖社区"]})
    r = mc.match(needs, resources)
    assert r.assignments["resource_id"].tolist() == ["b"]
    assert r.assignments["partner"].tolist() == [1.0]


def test_weights_total_and_dict():
    w = mc.Weights(type=0.5, locality=0.25, priority=0.25, partner=0.0)
    assert w.total == 1.0
    assert w.as_dict() == {"type": 0.5, "locality": 0.25, "priority": 0.25, "partner": 0.0,
                           "distance_scale": 1000.0}
    assert mc.Weights().total == pytest.approx(1.0)


def test_numpy_numbers_are_accepted_as_weights_and_affinities():
    # Regression: np.int64 / np.float32 weights (e.g. read from a table) were
    # refused as "not a finite number".
    w = mc.Weights(type=np.int64(1), locality=np.float32(0.5), priority=np.float64(0.25),
                   partner=0, distance_scale=np.int32(500))
    assert w.total == pytest.approx(1.75)
    assert mc.Taxonomy({("a", "b"): np.float32(0.5)}).affinity("a", "b") == 0.5
