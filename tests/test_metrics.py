"""matchcore.metrics: every table checked by hand on a small district, gini and
Jain's index on known values, empty rounds, row-order invariance and the
tables' agreement with the summary on random districts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given

import matchcore as mc
from matchcore.errors import InputError
from matchcore.metrics import (
    DISTANCE_BINS,
    by_community,
    by_grid,
    by_priority,
    by_provider_kind,
    distance_distribution,
    distance_quantiles,
    gini,
    jain_index,
    summary,
)
from strategies import districts, shuffle_district

INF = math.inf
NAN = math.nan

TABLES = (by_community, by_grid, by_priority, by_provider_kind, distance_distribution,
          distance_quantiles)


@pytest.fixture
def hand() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Six needs, four resources; every outcome forced (max_distance=1000).

    need  community grid  category      demand prio  at          candidates
    N1    east      g1    repair        2      5     (0, 0)      R1 at 200 m
    N2    east      g1    elderly_care  3      4     (0, -100)   R2 at 100 m
    N3    east      -     childcare     1      1     (2000, 0)   R3 at 250 m
    N4    west      g2    repair        2      3     (600, 0)    R1 at 400 m
    N5    west      g2    legal_aid     1      2     (600, 0)    none (no legal aid)
    N6    east      g1    elderly_care  1      4     (0, 3000)   none (R2 is 3.2 km away)

    R1 repair cap 3 government; R2 elderly_care cap 2 ngo; R3 childcare cap 2
    ngo; R4 repair cap 2, no provider kind, at (5000, 5000): out of reach.

    R1's 3 units: N1 (priority 5) takes 2, N4 (priority 3) 1 (5·2 + 3·1 = 13
    beats 5·1 + 3·2 = 11). R2 gives N2 2 of 3; R3 gives N3 1 of 1.
    served: N1 2/2, N2 2/3, N3 1/1, N4 1/2, N5 0/1, N6 0/1.
    """
    needs = pd.DataFrame({
        "need_id": ["N1", "N2", "N3", "N4", "N5", "N6"],
        "category": ["repair", "elderly_care", "childcare", "repair", "legal_aid",
                     "elderly_care"],
        "demand": [2, 3, 1, 2, 1, 1],
        "priority": [5, 4, 1, 3, 2, 4],
        "x": [0.0, 0.0, 2000.0, 600.0, 600.0, 0.0],
        "y": [0.0, -100.0, 0.0, 0.0, 0.0, 3000.0],
        "community": ["east", "east", "east", "west", "west", "east"],
        "grid": ["g1", "g1", None, "g2", "g2", "g1"],
    })
    resources = pd.DataFrame({
        "resource_id": ["R1", "R2", "R3", "R4"],
        "category": ["repair", "elderly_care", "childcare", "repair"],
        "capacity": [3, 2, 2, 2],
        "x": [200.0, 0.0, 2000.0, 5000.0],
        "y": [0.0, -200.0, 250.0, 5000.0],
        "provider_kind": ["government", "ngo", "ngo", None],
    })
    return needs, resources


def _match(district: tuple[pd.DataFrame, pd.DataFrame]) -> mc.MatchResult:
    return mc.match(*district, max_distance=1000)


def test_hand_district_solution(hand):
    r = _match(hand)
    assert r.assignments[["need_id", "resource_id", "units", "distance"]].values.tolist() == [
        ["N1", "R1", 2, 200.0], ["N2", "R2", 2, 100.0], ["N3", "R3", 1, 250.0],
        ["N4", "R1", 1, 400.0]]


def test_summary_by_hand(hand):
    m = summary(_match(hand))
    expected = {
        "n_needs": 6, "n_resources": 4, "n_edges": 4,
        "demand_units": 10,            # 2 + 3 + 1 + 2 + 1 + 1
        "capacity_units": 9,           # 3 + 2 + 2 + 2
        "assigned_units": 6,           # 2 + 2 + 1 + 1
        "unmet_units": 4,              # 0 + 1 + 0 + 1 + 1 + 1
        "needs_fully_served": 2,       # N1, N3
        "needs_partly_served": 2,      # N2, N4
        "needs_unserved": 2,           # N5, N6
        "unit_coverage": 6 / 10,
        "need_coverage": 2 / 6,
        # Σ prio·served = 5·2 + 4·2 + 1·1 + 3·1 = 22; Σ prio·demand = 10 + 12 + 1 + 6 + 2 + 4 = 35
        "priority_weighted_coverage": 22 / 35,
        "utilisation": 6 / 9,
        # (2·200 + 2·100 + 1·250 + 1·400) / 6
        "mean_distance": 1250 / 6,
        "max_distance": 400.0,
    }
    for key, value in expected.items():
        assert m[key] == value, key
    # community coverage: east 5/7, west 1/3.
    # Jain: (22/21)² / (2 · (25/49 + 1/9)) = (484/441) / (548/441) = 121/137
    assert m["community_fairness"] == pytest.approx(121 / 137, rel=1e-12)
    # Gini of two values: |a - b| / (2 (a + b)) = (8/21) / (44/21) = 2/11
    assert m["coverage_gini"] == pytest.approx(2 / 11, rel=1e-12)
    assert m.equals(_match(hand).metrics)


def test_by_community_by_hand(hand):
    c = by_community(_match(hand))
    assert list(c.columns) == [
        "community", "n_needs", "demand_units", "assigned_units", "unit_coverage",
        "unmet_units", "needs_fully_served", "needs_partly_served", "needs_unserved",
        "priority_weighted_coverage", "mean_distance"]
    # east: N1, N2, N3, N6 — demand 2+3+1+1 = 7, served 2+2+1+0 = 5; full N1, N3; partly N2;
    #   none N6; prio 10+8+1 = 19 of 10+12+1+4 = 27; distance (2·200 + 2·100 + 250) / 5 = 170
    # west: N4, N5 — demand 3, served 1; partly N4, none N5; prio 3 of 6+2 = 8; 400 / 1
    assert c.to_dict("list") == {
        "community": ["east", "west"],
        "n_needs": [4, 2],
        "demand_units": [7, 3],
        "assigned_units": [5, 1],
        "unit_coverage": [5 / 7, 1 / 3],
        "unmet_units": [2, 2],
        "needs_fully_served": [2, 0],
        "needs_partly_served": [1, 1],
        "needs_unserved": [1, 1],
        "priority_weighted_coverage": [19 / 27, 3 / 8],
        "mean_distance": [170.0, 400.0],
    }


def test_by_grid_by_hand(hand):
    g = by_grid(_match(hand))
    assert list(g.columns[:3]) == ["community", "grid", "n_needs"]
    assert list(g.columns[2:]) == list(by_community(_match(hand)).columns[1:])
    # east/(none): N3 alone, 1/1 at 250 m
    # east/g1: N1, N2, N6 — demand 6, served 4; full N1, partly N2, none N6;
    #   prio 10+8 = 18 of 10+12+4 = 26; distance (400 + 200) / 4 = 150
    # west/g2: as west
    assert g.to_dict("list") == {
        "community": ["east", "east", "west"],
        "grid": ["(none)", "g1", "g2"],
        "n_needs": [1, 3, 2],
        "demand_units": [1, 6, 3],
        "assigned_units": [1, 4, 1],
        "unit_coverage": [1.0, 4 / 6, 1 / 3],
        "unmet_units": [0, 2, 2],
        "needs_fully_served": [1, 1, 0],
        "needs_partly_served": [0, 1, 1],
        "needs_unserved": [0, 1, 1],
        "priority_weighted_coverage": [1.0, 18 / 26, 3 / 8],
        "mean_distance": [250.0, 150.0, 400.0],
    }


def test_by_priority_by_hand(hand):
    p = by_priority(_match(hand))
    # 1: N3 1/1 at 250; 2: N5 0/1; 3: N4 1/2 at 400; 4: N2 2/3 at 100 and N6 0/1; 5: N1 2/2 at 200
    expected = pd.DataFrame({
        "priority": [1, 2, 3, 4, 5],
        "n_needs": [1, 1, 1, 2, 1],
        "demand_units": [1, 1, 2, 4, 2],
        "assigned_units": [1, 0, 1, 2, 2],
        "unit_coverage": [1.0, 0.0, 0.5, 0.5, 1.0],
        "unmet_units": [0, 1, 1, 2, 0],
        "needs_fully_served": [1, 0, 0, 0, 1],
        "needs_partly_served": [0, 0, 1, 1, 0],
        "needs_unserved": [0, 1, 0, 1, 0],
        "mean_distance": [250.0, NAN, 400.0, 100.0, 200.0],
    })
    pd.testing.assert_frame_equal(p, expected, check_exact=True)


def test_by_provider_kind_by_hand(hand):
    k = by_provider_kind(_match(hand))
    # (none): R4 2 spare, unused; government: R1 3/3; ngo: R2 2/2 and R3 1/2 (idle, used)
    expected = pd.DataFrame({
        "provider_kind": ["(none)", "government", "ngo"],
        "n_resources": [1, 1, 2],
        "capacity_units": [2, 3, 4],
        "used_units": [0, 3, 3],
        "spare_units": [2, 0, 1],
        "utilisation": [0.0, 1.0, 0.75],
        "idle_resources": [1, 0, 1],
        "unused_resources": [1, 0, 0],
    })
    pd.testing.assert_frame_equal(k, expected, check_exact=True, check_dtype=False)
    assert k["idle_resources"].sum() == len(_match(hand).idle)


def test_distance_distribution_by_hand(hand):
    r = _match(hand)
    # unit distances: 100, 100, 200, 200, 250, 400 (6 units)
    t = distance_distribution(r)
    assert list(t.columns) == ["left", "right", "units", "share", "cumulative_share"]
    assert t["left"].tolist() == list(DISTANCE_BINS[:-1])
    assert t["right"].tolist() == list(DISTANCE_BINS[1:])
    # [0, 100]: 100 ×2; (100, 200]: 200 ×2; (200, 300]: 250; (300, 500]: 400
    assert t["units"].tolist() == [2, 2, 1, 1, 0, 0, 0, 0]
    assert t["share"].tolist() == [2 / 6, 2 / 6, 1 / 6, 1 / 6, 0, 0, 0, 0]
    assert t["cumulative_share"].tolist() == [2 / 6, 4 / 6, 5 / 6, 1.0, 1.0, 1.0, 1.0, 1.0]
    # Right-closed bins: 100 falls in [0, 100], 200 in (100, 200], 250 and 400 in (200, 400].
    t = distance_distribution(r, bins=[0, 100, 200, 400])
    assert t["units"].tolist() == [2, 2, 2]
    assert t["cumulative_share"].tolist() == [2 / 6, 4 / 6, 1.0]
    # Units outside the edges are left out; shares stay relative to all 6 units.
    t = distance_distribution(r, bins=(150, 300))
    assert t.to_dict("list") == {"left": [150.0], "right": [300.0], "units": [3],
                                 "share": [0.5], "cumulative_share": [0.5]}


def test_distance_quantiles_by_hand(hand):
    r = _match(hand)
    q = distance_quantiles(r)
    # sorted unit distances 100, 100, 200, 200, 250, 400: shares 1/6 .. 6/6
    # 0.5 -> first share >= 0.5 is 3/6 -> 200; 0.9 and 0.99 -> 400
    assert q.to_dict("list") == {"q": [0.5, 0.9, 0.99], "distance": [200.0, 400.0, 400.0]}
    q = distance_quantiles(r, q=[0.0, 1 / 6, 0.2, 2 / 3, 0.7, 5 / 6, 1.0])
    assert q["distance"].tolist() == [100.0, 100.0, 100.0, 200.0, 250.0, 250.0, 400.0]
    assert distance_quantiles(r, q=0.5).to_dict("list") == {"q": [0.5], "distance": [200.0]}


def test_quantiles_agree_with_numpy_over_units(hand):
    r = _match(hand)
    used = r.units > 0
    per_unit = np.repeat(r.graph.distance[used], r.units[used])
    probs = np.linspace(0, 1, 41)
    got = distance_quantiles(r, q=probs)["distance"].to_numpy()
    np.testing.assert_array_equal(got, np.quantile(per_unit, probs, method="inverted_cdf"))


def test_gini_known_values():
    assert gini([1.0, 1.0, 1.0]) == 0.0
    assert gini([5]) == 0.0
    assert gini(np.zeros(3)) == 0.0
    assert gini([1.0, 0.0, 0.0, 0.0]) == 0.75          # (n - 1) / n
    # Σ|xi - xj| over ordered pairs = 2 (1+2+3+1+2+1) = 20; 2 n² mean = 2·16·2.5 = 80
    assert gini([1, 2, 3, 4]) == pytest.approx(0.25, rel=1e-12)
    assert gini([4, 3, 2, 1]) == gini([1, 2, 3, 4])
    assert gini([2, 4, 6, 8]) == gini([1, 2, 3, 4])      # scale free
    # brute force on a random sample
    x = np.random.default_rng(0).random(50)
    brute = np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())
    assert gini(x) == pytest.approx(brute, rel=1e-12)
    assert math.isnan(gini([]))
    with pytest.raises(InputError, match=r"`values` must be finite numbers >= 0; got -1.0 at "
                                         r"position 1"):
        gini([1.0, -1.0])
    with pytest.raises(InputError, match="got nan at position 0"):
        gini([NAN, 1.0])


def test_jain_known_values():
    assert jain_index([1.0, 1.0, 1.0]) == 1.0
    assert jain_index([1.0, 0.0, 0.0, 0.0]) == 0.25      # 1 / n
    assert jain_index([1, 2, 3, 4]) == pytest.approx(100 / 120, rel=1e-12)
    assert jain_index(np.zeros(2)) == 1.0
    assert math.isnan(jain_index([]))


def test_bad_arguments(hand):
    r = _match(hand)
    for bins in ([100], [0, 0], [300, 100], [0, NAN], "abc", [[0, 1], [2, 3]], [False, True]):
        with pytest.raises(InputError, match="`bins` must be at least two strictly increasing"):
            distance_distribution(r, bins=bins)
    for q in (1.5, [-0.1, 0.5], NAN):
        with pytest.raises(InputError, match="`q` must hold probabilities from 0 to 1"):
            distance_quantiles(r, q=q)
    for q in (True, [0.5, np.bool_(False)]):  # booleans are not probabilities
        with pytest.raises(InputError, match=r"`q` must hold probabilities from 0 to 1; got "
                                             r"(True at position 0|False at position 1)"):
            distance_quantiles(r, q=q)


def test_nothing_served(hand):
    needs, resources = hand
    # No edge at all: every resource is of a category no need can use.
    r = mc.match(needs, resources.assign(category="venue"), max_distance=1000)
    assert r.graph.n_edges == 0
    m = r.metrics
    assert (m["assigned_units"], m["unmet_units"], m["needs_unserved"]) == (0, 10, 6)
    assert m["unit_coverage"] == 0.0 and math.isnan(m["mean_distance"])
    assert m["community_fairness"] == 1.0 and m["coverage_gini"] == 0.0   # equal: all zero
    c = by_community(r)
    assert c["assigned_units"].tolist() == [0, 0]
    assert c["unit_coverage"].tolist() == [0.0, 0.0]
    assert c["needs_unserved"].tolist() == [4, 2]
    assert c["mean_distance"].isna().all()
    assert by_grid(r)["unmet_units"].tolist() == [1, 6, 3]
    assert by_priority(r)["unit_coverage"].tolist() == [0.0] * 5
    k = by_provider_kind(r)
    assert k["used_units"].tolist() == [0, 0, 0]
    assert k["unused_resources"].tolist() == k["n_resources"].tolist() == [1, 1, 2]
    t = distance_distribution(r)
    assert t["units"].sum() == 0 and t["share"].isna().all()
    assert t["cumulative_share"].isna().all()
    assert distance_quantiles(r)["distance"].isna().all()

    # Edges exist, but the "score" objective with zero scores uses none of them.
    w = mc.Weights(type=0.0, locality=0.0, priority=1.0, partner=0.0)
    s = mc.match(needs.assign(priority=1), resources, max_distance=1000, weights=w,
                 objective="score")
    assert s.graph.n_edges == 4 and s.metrics["assigned_units"] == 0
    assert distance_quantiles(s)["distance"].isna().all()
    assert by_community(s)["mean_distance"].isna().all()


def test_empty_lists(hand):
    needs, resources = hand
    r = mc.match(needs.iloc[:0], resources, max_distance=1000)
    m = r.metrics
    assert m["n_needs"] == 0 and m["unmet_units"] == 0
    assert math.isnan(m["community_fairness"]) and math.isnan(m["coverage_gini"])
    for table in (by_community, by_grid, by_priority):
        t = table(r)
        assert t.empty and list(t.columns) == list(table(_match(hand)).columns)
    assert by_provider_kind(r)["capacity_units"].tolist() == [2, 3, 4]
    assert distance_distribution(r)["units"].tolist() == [0] * (len(DISTANCE_BINS) - 1)

    r = mc.match(needs, resources.iloc[:0], max_distance=1000)
    k = by_provider_kind(r)
    assert k.empty and list(k.columns) == list(by_provider_kind(_match(hand)).columns)
    assert by_community(r)["unmet_units"].tolist() == [7, 3]


def test_missing_optional_columns(hand):
    needs, resources = hand
    r = _match((needs.drop(columns=["community", "grid"]), resources.drop(
        columns="provider_kind")))
    assert by_community(r)[["community", "n_needs", "assigned_units"]].values.tolist() == [
        ["(none)", 6, 6]]
    assert by_grid(r)[["community", "grid"]].values.tolist() == [["(none)", "(none)"]]
    assert by_provider_kind(r)[["provider_kind", "n_resources", "used_units"]].values.tolist() \
        == [["(none)", 4, 6]]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_row_order_invariance(hand, seed):
    base = _match(hand)
    needs, resources = hand
    shuffled = _match(shuffle_district(needs, resources, seed))
    for table in TABLES:
        pd.testing.assert_frame_equal(table(shuffled), table(base), check_exact=True)
    pd.testing.assert_series_equal(shuffled.metrics, base.metrics, check_exact=True)


def test_caller_frames_untouched(hand):
    needs, resources = hand
    before = needs.copy(), resources.copy()
    r = _match(hand)
    for table in TABLES:
        table(r)
    pd.testing.assert_frame_equal(needs, before[0])
    pd.testing.assert_frame_equal(resources, before[1])


@given(districts())
def test_tables_add_up_to_the_summary(district):
    r = mc.match(*district, max_distance=1500)
    m = r.metrics
    for table in (by_community, by_grid, by_priority):
        t = table(r)
        assert t["n_needs"].sum() == m["n_needs"]
        assert t["demand_units"].sum() == m["demand_units"]
        assert t["assigned_units"].sum() == m["assigned_units"]
        assert t["unmet_units"].sum() == m["unmet_units"]
        for col in ("needs_fully_served", "needs_partly_served", "needs_unserved"):
            assert t[col].sum() == m[col]
        weighted = (t["mean_distance"].fillna(0) * t["assigned_units"]).sum()
        assert weighted == pytest.approx(m["mean_distance"] * m["assigned_units"]
                                         if m["assigned_units"] else 0.0)
    k = by_provider_kind(r)
    assert k["capacity_units"].sum() == m["capacity_units"]
    assert k["used_units"].sum() == m["assigned_units"]
    assert k["idle_resources"].sum() == len(r.idle)
    t = distance_distribution(r)
    assert t["units"].sum() == m["assigned_units"]
    if m["assigned_units"]:
        assert t["cumulative_share"].iloc[-1] == 1.0
        q = distance_quantiles(r, q=[0.0, 1.0])["distance"].tolist()
        assert q[1] == m["max_distance"]
        # (the mean is a float sum: allow its rounding)
        assert q[0] - 1e-9 <= m["mean_distance"] <= q[1] + 1e-9
