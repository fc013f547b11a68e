"""Every bad input raises one InputError whose message names the table, the row
(by id and by row / file line), the column, what was expected and what was found."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import matchcore as mc


def needs_frame(**columns) -> pd.DataFrame:
    """Three valid needs N1..N3; keyword arguments replace or add columns."""
    base = {
        "need_id": ["N1", "N2", "N3"],
        "category": ["repair", "repair", "medical"],
        "x": [0.0, 100.0, 200.0],
        "y": [0.0, 0.0, 0.0],
    }
    base.update(columns)
    return pd.DataFrame(base)


def resources_frame(**columns) -> pd.DataFrame:
    base = {
        "resource_id": ["R1", "R2", "R3"],
        "category": ["repair", "medical", "medical"],
        "x": [0.0, 100.0, 200.0],
        "y": [0.0, 0.0, 0.0],
    }
    base.update(columns)
    return pd.DataFrame(base)


def esc(text: str) -> str:
    return re.escape(text)


# ---------------------------------------------------------------------------
# required columns and ids


@pytest.mark.parametrize("column", ["need_id", "category"])
def test_missing_required_column_of_needs(column):
    with pytest.raises(mc.InputError, match=esc(f"`{column}` is a required column of needs")):
        mc.read_needs(needs_frame().drop(columns=[column]))


def test_missing_required_column_of_resources():
    with pytest.raises(mc.InputError, match=esc("`resource_id` is a required column of resources")):
        mc.read_resources(resources_frame().drop(columns=["resource_id"]))


def test_missing_position_columns():
    with pytest.raises(mc.InputError, match=esc("`x/y or lat/lon` is a required column")):
        mc.read_needs(needs_frame().drop(columns=["x", "y"]))


def test_half_a_coordinate_pair():
    with pytest.raises(mc.InputError, match=esc("`y` is a required column of needs; "
                                                "expected `x` and `y` together")):
        mc.read_needs(needs_frame().drop(columns=["y"]))


def test_column_given_twice_under_two_names():
    frame = needs_frame().assign(**{"需求编号": ["a", "b", "c"]})
    with pytest.raises(mc.InputError, match=esc("two columns 'need_id' and '需求编号'")):
        mc.read_needs(frame)


def test_missing_id():
    with pytest.raises(
        mc.InputError,
        match=esc("`need_id` must be a unique, non-empty id; got a missing value for need "
                  "without id (row 2 of needs)"),
    ):
        mc.read_needs(needs_frame(need_id=["N1", None, "N3"]))


@pytest.mark.parametrize("empty", ["", "   "])
def test_empty_id(empty):
    with pytest.raises(
        mc.InputError,
        match=esc(f"`resource_id` must be a unique, non-empty id; got {empty!r} for resource "
                  "without id (row 3 of resources)"),
    ):
        mc.read_resources(resources_frame(resource_id=["R1", "R2", empty]))


def test_duplicate_id():
    with pytest.raises(
        mc.InputError,
        match=esc("`need_id` must be a unique id (already on row 1); got 'N1' for need 'N1' "
                  "(row 3 of needs)"),
    ):
        mc.read_needs(needs_frame(need_id=["N1", "N2", "N1"]))


def test_duplicate_id_after_stripping_spaces():
    with pytest.raises(mc.InputError, match=esc("already on row 1); got 'N1'")):
        mc.read_needs(needs_frame(need_id=["N1", "N2", " N1 "]))


@pytest.mark.parametrize("value", [None, "", " "])
def test_missing_category(value):
    with pytest.raises(
        mc.InputError,
        match=esc("`category` must be a non-empty category; got ") + ".*"
        + esc("for need 'N2' (row 2 of needs)"),
    ):
        mc.read_needs(needs_frame(category=["repair", value, "medical"]))


# ---------------------------------------------------------------------------
# quantities


@pytest.mark.parametrize(
    ("value", "shown"), [("three", "'three'"), (2.5, "2.5"), (-1, "-1"), (0, "0"),
                         ("2.5", "'2.5'"), ("1e3", "'1e3'"), (True, "True")]
)
def test_bad_demand(value, shown):
    demand = pd.Series([1, value, 2], dtype=object)
    with pytest.raises(
        mc.InputError,
        match=esc(f"`demand` must be an integer >= 1; got {shown} for need 'N2' (row 2 of needs)"),
    ):
        mc.read_needs(needs_frame(demand=demand))


@pytest.mark.parametrize(("value", "shown"), [(2.5, "2.5"), (-1.0, "-1.0"), (0.0, "0.0")])
def test_bad_demand_in_a_float_column(value, shown):
    with pytest.raises(
        mc.InputError,
        match=esc(f"`demand` must be an integer >= 1; got {shown} for need 'N3' (row 3 of needs)"),
    ):
        mc.read_needs(needs_frame(demand=[1.0, 2.0, value]))


@pytest.mark.parametrize(
    ("value", "shown"), [("three", "'three'"), (2.5, "2.5"), (-1, "-1"), (0, "0")]
)
def test_bad_capacity(value, shown):
    capacity = pd.Series([value, 1, 2], dtype=object)
    with pytest.raises(
        mc.InputError,
        match=esc(f"`capacity` must be an integer >= 1; got {shown} for resource 'R1' "
                  "(row 1 of resources)"),
    ):
        mc.read_resources(resources_frame(capacity=capacity))


@pytest.mark.parametrize("value", [0, 6, -3, 2.5, "high"])
def test_priority_outside_1_to_5(value):
    with pytest.raises(
        mc.InputError,
        match=esc("`priority` must be an integer from 1 to 5; got ") + ".*"
        + esc("for need 'N3' (row 3 of needs)"),
    ):
        mc.read_needs(needs_frame(priority=pd.Series([1, 5, value], dtype=object)))


# ---------------------------------------------------------------------------
# positions


@pytest.mark.parametrize(("value", "shown"), [(np.nan, "a missing value"), (np.inf, "inf"),
                                              (-np.inf, "-inf"), ("east", "'east'")])
def test_bad_coordinate(value, shown):
    with pytest.raises(
        mc.InputError,
        match=esc(f"`x` must be a finite number (metres); got {shown} for need 'N2' "
                  "(row 2 of needs)"),
    ):
        mc.read_needs(needs_frame(x=pd.Series([0.0, value, 1.0], dtype=object)))


def test_missing_coordinate_in_a_float_column():
    with pytest.raises(mc.InputError, match=esc("`y` must be a finite number (metres); got a "
                                                "missing value for resource 'R3'")):
        mc.read_resources(resources_frame(y=[0.0, 1.0, np.nan]))


@pytest.mark.parametrize("lat", [90.5, -91.0])
def test_latitude_out_of_range(lat):
    frame = needs_frame(lat=[30.0, lat, 30.1], lon=[120.0, 120.0, 120.0]).drop(columns=["x", "y"])
    with pytest.raises(
        mc.InputError,
        match=esc(f"`lat` must be a latitude from -90 to 90; got {lat} for need 'N2' "
                  "(row 2 of needs)"),
    ):
        mc.read_needs(frame)


@pytest.mark.parametrize("lon", [180.5, -200.0])
def test_longitude_out_of_range(lon):
    frame = resources_frame(lat=[30.0, 30.0, 30.1], lon=[120.0, 120.0, lon]).drop(
        columns=["x", "y"])
    with pytest.raises(
        mc.InputError,
        match=esc(f"`lon` must be a longitude from -180 to 180; got {lon} for resource 'R3' "
                  "(row 3 of resources)"),
    ):
        mc.read_resources(frame)


def test_nan_latitude():
    frame = needs_frame(lat=[30.0, np.nan, 30.1], lon=[120.0, 120.0, 120.0]).drop(
        columns=["x", "y"])
    with pytest.raises(mc.InputError, match=esc("`lat` must be a latitude from -90 to 90; got a "
                                                "missing value for need 'N2' (row 2 of needs)")):
        mc.read_needs(frame)


# ---------------------------------------------------------------------------
# windows, radius


def test_window_end_before_start():
    with pytest.raises(
        mc.InputError,
        match=esc("`window_end` must be not before window_start (2024-05-02 09:00:00); got "
                  "'2024-05-01 09:00:00' for need 'N2' (row 2 of needs)"),
    ):
        mc.read_needs(needs_frame(window_start=[None, "2024-05-02 09:00", None],
                                  window_end=[None, "2024-05-01 09:00", None]))


def test_unparseable_window():
    with pytest.raises(mc.InputError, match=esc("`window_start` must be a date and time written "
                                                "year first (2025-05-03 09:00, ...); got "
                                                "'next tuesday' for resource 'R1'")):
        mc.read_resources(resources_frame(window_start=["next tuesday", None, None]))


def test_number_is_not_a_window():
    with pytest.raises(mc.InputError, match=esc("`window_end` must be a date and time; got 5 "
                                                "for resource 'R2'")):
        mc.read_resources(resources_frame(window_end=pd.Series([None, 5, None], dtype=object)))


@pytest.mark.parametrize(("value", "shown"), [(-1.0, "-1.0"), (np.inf, "inf"), ("far", "'far'")])
def test_bad_service_radius(value, shown):
    with pytest.raises(
        mc.InputError,
        match=esc(f"`max_distance` must be a finite distance >= 0 (metres); got {shown} for "
                  "resource 'R2' (row 2 of resources)"),
    ):
        mc.read_resources(resources_frame(max_distance=pd.Series([100.0, value, None],
                                                                 dtype=object)))


def test_chinese_header_is_named_as_written_and_by_its_canonical_column():
    frame = needs_frame().rename(columns={"need_id": "需求编号"}).assign(需求数量=[1, -1, 1])
    with pytest.raises(mc.InputError, match=esc("`需求数量` (`demand`) must be an integer >= 1; "
                                                "got -1 for need 'N2' (row 2 of needs)")) as info:
        mc.read_needs(frame)
    assert info.value.failures[["column", "header"]].values.tolist() == [["demand", "需求数量"]]


# ---------------------------------------------------------------------------
# all at once, failures frame


def test_every_problem_is_reported_at_once():
    frame = needs_frame(demand=["three", 1, 0], priority=[9, 3, 3], x=[0.0, np.nan, 1.0])
    with pytest.raises(mc.InputError) as info:
        mc.read_needs(frame)
    err = info.value
    assert str(err).startswith("4 problems in needs:")
    f = err.failures
    assert list(f.columns) == ["table", "row", "line", "id", "column", "expected", "found",
                               "header"]
    assert sorted(zip(f["id"], f["column"])) == [
        ("N1", "demand"), ("N1", "priority"), ("N2", "x"), ("N3", "demand")]
    assert set(f["table"]) == {"needs"}
    assert f["row"].tolist() == sorted(f["row"].tolist())


def test_long_lists_are_cut_after_twenty_with_a_count():
    n = 25
    frame = pd.DataFrame({"need_id": [f"N{k}" for k in range(n)], "category": ["repair"] * n,
                          "x": [0.0] * n, "y": [0.0] * n, "demand": [-1] * n})
    with pytest.raises(mc.InputError, match=r"and 5 more \(see the `failures` attribute\)") as info:
        mc.read_needs(frame)
    assert str(info.value).count("`demand` must be") == 20
    assert len(info.value.failures) == 25
    assert info.value.failures["id"].tolist() == [f"N{k}" for k in range(n)]


def test_input_error_is_a_value_error():
    assert issubclass(mc.InputError, ValueError)
    assert issubclass(mc.InputError, mc.MatchcoreError)
    assert issubclass(mc.SolverError, RuntimeError)
    with pytest.raises(ValueError, match="demand"):
        mc.read_needs(needs_frame(demand=[0, 1, 1]))


def test_not_a_frame():
    with pytest.raises(mc.InputError, match="expected a DataFrame or a path to a file; got list"):
        mc.read_needs([1, 2])


# ---------------------------------------------------------------------------
# arguments of match / solve_assignment


MAX_DISTANCE = "`max_distance` must be a finite number >= 0 (metres) or None"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_distance": -5}, MAX_DISTANCE + "; got -5"),
        ({"max_distance": "far"}, MAX_DISTANCE + "; got 'far'"),
        ({"max_distance": float("nan")}, MAX_DISTANCE + "; got nan"),
        ({"max_distance": True}, MAX_DISTANCE + "; got True"),
        ({"scope": "city"}, "`scope` must be one of ['grid', 'community', 'street']; got 'city'"),
        ({"objective": "fast"}, "`objective` must be one of ['coverage', 'score']; got 'fast'"),
        ({"max_candidates": 0}, "`max_candidates` must be an integer >= 1 or None; got 0"),
        ({"max_candidates": 2.5}, "`max_candidates` must be an integer >= 1 or None; got 2.5"),
        ({"max_candidates": True}, "`max_candidates` must be an integer >= 1 or None; got True"),
        ({"weights": {"type": 1}}, "`weights` must be a matchcore.Weights; got dict"),
        ({"taxonomy": "default"}, "`taxonomy` must be a matchcore.Taxonomy or None; got str"),
        ({"stickiness": -1},
         "`stickiness` must be a finite number >= 0 and <= 1e+290 (score units); got -1"),
        ({"stickiness": True},
         "`stickiness` must be a finite number >= 0 and <= 1e+290 (score units); got True"),
        ({"solver": "cplex"}, "unknown solver 'cplex'; valid: ['auto', "),
        ({"solver": 3}, "`solver` must be a back-end name (see matchcore.available_solvers())"),
    ],
)
def test_bad_match_argument(tiny, kwargs, message):
    with pytest.raises(mc.InputError, match=esc(message)):
        mc.match(*tiny, **kwargs)


def test_mixed_coordinate_systems(tiny):
    needs, resources = tiny
    resources = resources.drop(columns=["x", "y"]).assign(lat=30.0, lon=120.0)
    with pytest.raises(mc.InputError, match=esc("needs and resources must use the same "
                                                "coordinates: needs use x/y, resources use "
                                                "lat/lon")):
        mc.match(needs, resources)


def edges_frame(**columns) -> pd.DataFrame:
    base = {"need_id": ["a", "a", "b"], "resource_id": ["x", "y", "x"], "score": [0.9, 0.5, 0.8]}
    base.update(columns)
    return pd.DataFrame(base)


AB = pd.DataFrame({"need_id": ["a", "b"], "demand": [1, 2]})
XY = pd.DataFrame({"resource_id": ["x", "y"], "capacity": [1, 1]})


@pytest.mark.parametrize(
    ("edges", "message"),
    [
        (edges_frame(need_id=["a", "c", "b"]),
         "`need_id` must name a need of the needs table; got 'c' for edge 'c'-'y' "
         "(row 2 of edges)"),
        (edges_frame(resource_id=["x", "y", "z"]),
         "`resource_id` must name a resource of the resources table; got 'z' for edge "
         "'b'-'z' (row 3 of edges)"),
        (edges_frame(score=[0.9, np.inf, 0.8]),
         "`score` must be a finite number; got inf for edge 'a'-'y' (row 2 of edges)"),
        (edges_frame(score=[0.9, "high", 0.8]),
         "`score` must be a finite number; got 'high' for edge 'a'-'y' (row 2 of edges)"),
        (edges_frame(score=[0.9, None, 0.8]),
         "`score` must be a finite number; got a missing value for edge 'a'-'y' (row 2 of edges)"),
        (edges_frame(resource_id=["x", "x", "x"]),
         "`need_id`/`resource_id` must be a unique pair; got a repeat for edge 'a'-'x' "
         "(row 2 of edges)"),
        (edges_frame().drop(columns=["score"]),
         "edges lacks required column(s) ['score']"),
        # Booleans are not numbers: True was taken as a score of 1.0, False as 0.0.
        (edges_frame(score=[0.9, True, 0.8]),
         "`score` must be a finite number; got True for edge 'a'-'y' (row 2 of edges)"),
        (edges_frame(score=pd.Series([0.9, np.bool_(False), 0.8], dtype=object)),
         "`score` must be a finite number; got False for edge 'a'-'y' (row 2 of edges)"),
        (edges_frame(score=[True, False, True]),
         "`score` must be a finite number; got True for edge 'a'-'x' (row 1 of edges)"),
        (edges_frame(score=pd.array([0.9, True, None], dtype="object")),
         "`score` must be a finite number; got True for edge 'a'-'y' (row 2 of edges)"),
        # A missing id is no id: NaN joined a need named "nan".
        (edges_frame(need_id=["a", np.nan, "b"]),
         "`need_id` must be a non-empty id; got a missing value for edge None-'y' "
         "(row 2 of edges)"),
        (edges_frame(resource_id=["x", "y", None]),
         "`resource_id` must be a non-empty id; got a missing value for edge 'b'-None "
         "(row 3 of edges)"),
        (edges_frame(need_id=pd.Series(["a", pd.NA, "b"], dtype="string")),
         "`need_id` must be a non-empty id; got a missing value for edge None-'y' "
         "(row 2 of edges)"),
    ],
)
def test_bad_edges(edges, message):
    with pytest.raises(mc.InputError, match=esc(message)):
        mc.solve_assignment(edges, AB, XY)


@pytest.mark.parametrize(
    ("needs", "resources", "message"),
    [
        (AB.assign(demand=[1, 0]), XY,
         "`demand` must be an integer >= 1; got 0 for need 'b' (row 2 of needs)"),
        (AB, XY.assign(capacity=["two", 1]),
         "`capacity` must be an integer >= 1; got 'two' for resource 'x' (row 1 of resources)"),
        (AB.assign(need_id=["a", "a"]), XY,
         "`need_id` must be a unique id; got 'a' for need 'a' (row 2 of needs)"),
        (AB.drop(columns=["need_id"]), XY, "`need_id` is a required column of needs"),
        (AB, XY.assign(resource_id=["x", None]),
         "`resource_id` must be a unique, non-empty id; got a missing value for resource "
         "without id (row 2 of resources)"),
        # Booleans are not quantities, in any dtype.
        (AB.assign(demand=[True, 2]), XY,
         "`demand` must be an integer >= 1; got True for need 'a' (row 1 of needs)"),
        (AB.assign(demand=[True, False]), XY,
         "`demand` must be an integer >= 1; got False for need 'b' (row 2 of needs)"),
        (AB, XY.assign(capacity=pd.Series([1, np.bool_(True)], dtype=object)),
         "`capacity` must be an integer >= 1; got True for resource 'y' (row 2 of resources)"),
        (AB, XY.assign(capacity=pd.array([True, None], dtype="boolean")),
         "`capacity` must be an integer >= 1; got True for resource 'x' (row 1 of resources)"),
    ],
)
def test_bad_bare_tables(needs, resources, message):
    with pytest.raises(mc.InputError, match=esc(message)):
        mc.solve_assignment(edges_frame(), needs, resources)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"type": -0.1}, "`type` must be a finite number >= 0; got -0.1"),
        ({"locality": float("nan")}, "`locality` must be a finite number >= 0; got nan"),
        ({"priority": float("inf")}, "`priority` must be a finite number >= 0; got inf"),
        ({"partner": "0.1"}, "`partner` must be a finite number >= 0; got '0.1'"),
        ({"partner": True}, "`partner` must be a finite number >= 0; got True"),
        ({"distance_scale": 0}, "`distance_scale` must be a finite number > 0 (metres); got 0"),
        ({"type": 0, "locality": 0, "priority": 0, "partner": 0},
         "at least one weight must be > 0"),
    ],
)
def test_bad_weights(kwargs, message):
    with pytest.raises(mc.InputError, match=esc("invalid Weights: " if "at least" in message
                                                else "") + ".*" + esc(message)):
        mc.Weights(**kwargs)


@pytest.mark.parametrize(
    ("affinities", "message"),
    [
        ({("a", "b"): 1.5}, "taxonomy affinities must be numbers from 0 to 1; got ('a', 'b'): 1.5"),
        ({("a", "b"): True},
         "taxonomy affinities must be numbers from 0 to 1; got ('a', 'b'): True"),
        ({("a", "b"): "high"}, "taxonomy affinities must be numbers from 0 to 1; got ('a', 'b'): "
                               "'high'"),
    ],
)
def test_bad_taxonomy(affinities, message):
    with pytest.raises(mc.InputError, match=esc(message)):
        mc.Taxonomy(affinities)


def test_bad_taxonomy_table():
    frame = pd.DataFrame({"need_category": ["a", "b"], "resource_category": ["b", "c"],
                          "affinity": [0.5, 2]})
    with pytest.raises(mc.InputError, match=esc("row 2: affinity must be from 0 to 1; got 2")):
        mc.Taxonomy.from_frame(frame)
    with pytest.raises(mc.InputError, match="needs columns need_category, resource_category"):
        mc.Taxonomy.from_frame(frame.drop(columns=["affinity"]))


def test_explain_unknown_need(tiny):
    r = mc.match(*tiny, max_distance=2000)
    with pytest.raises(mc.InputError, match=esc("no need with id 'N9' in this result")):
        r.explain("N9")


def test_repeated_header():
    # Regression: a frame with the same header twice crashed with pandas'
    # "Length mismatch" ValueError instead of an InputError naming the column.
    frame = pd.DataFrame([["N1", "repair", 0.0, 0.0, "N2"]],
                         columns=["need_id", "category", "x", "y", "need_id"])
    with pytest.raises(mc.InputError, match=esc("`need_id` must be one column per name; got "
                                                "\"two columns 'need_id' and 'need_id'\"")):
        mc.read_needs(frame)


def test_dates_beyond_the_supported_range(data_dir):
    # Regression: "9999-12-31" (a common "open-ended" sentinel) was cast to
    # datetime64[ns] and wrapped around to 1816 without a word.
    with pytest.raises(mc.InputError, match=esc(
            "`window_end` must be a date and time from 1677-09-22 to 2262-04-11 (leave the cell "
            "empty when open); got '9999-12-31' for need 'N1' (row 1 of needs, line 2 of "
            "open_ended_window_9999_wrapped_around.csv)")):
        mc.read_needs(data_dir / "open_ended_window_9999_wrapped_around.csv")
    typed = needs_frame(window_end=pd.to_datetime(["2024-05-01", "9999-12-31", None]))
    with pytest.raises(mc.InputError, match=esc("got Timestamp('9999-12-31 00:00:00') for need "
                                                "'N2' (row 2 of needs)")):
        mc.read_needs(typed)
    ok = mc.read_needs(needs_frame(window_end=pd.to_datetime(["2024-05-01", "2262-04-10", None])))
    assert ok["window_end"].iloc[1] == pd.Timestamp("2262-04-10")


def test_edge_problems_are_attached_as_failures():
    edges = pd.DataFrame({"need_id": ["a", "q", "b"], "resource_id": ["x", "y", "w"],
                          "score": [0.5, float("nan"), 0.5]})
    with pytest.raises(mc.InputError, match="3 problems in edges") as info:
        mc.solve_assignment(edges, AB, XY)
    f = info.value.failures
    assert f[["row", "id", "column"]].values.tolist() == [
        [2, "q-y", "need_id"], [2, "q-y", "score"], [3, "b-w", "resource_id"]]


@pytest.mark.parametrize("value", [1e20, 2**63, "99999999999999999999"])
def test_quantities_beyond_int64(value):
    # Regression (found by the fuzz test below): 1e20 in a float column was cast
    # to int64 and wrapped around to a negative demand without a word; 2**63 as
    # an object crashed with OverflowError.
    demand = pd.Series([1, value, 1], dtype=object if not isinstance(value, float) else float)
    with pytest.raises(mc.InputError, match=esc("`demand` must be an integer >= 1; got ")
                       + ".*" + esc("for need 'N2' (row 2 of needs)")):
        mc.read_needs(needs_frame(demand=demand))


# ---------------------------------------------------------------------------
# fuzz: any cell gives a parsed frame or an InputError, never another exception

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

cells = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6),
    st.sampled_from(["", " ", "3", "2.0", "1e3", "nan", "inf", "2024-05-01", "9999-12-31",
                     "2024-05-01T08:00+08:00", "护理；驾驶", "NaT", "-0"]),
    st.just(pd.Timestamp("2024-05-01")), st.just(pd.NaT), st.just(float("nan")),
)
NEED_COLS = ["need_id", "category", "demand", "x", "y", "community", "grid", "priority",
             "skills", "window_start", "window_end", "description"]
RES_COLS = ["resource_id", "category", "capacity", "lat", "lon", "max_distance",
            "partner_communities", "provider", "window_start", "window_end"]


def _is_blank_cell(v) -> bool:
    return v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v)) or (
        isinstance(v, str) and not v.strip())


@pytest.mark.filterwarnings("ignore::matchcore.MatchcoreWarning")
@given(st.sampled_from(["needs", "resources"]), st.data())
def test_fuzzed_cells_never_crash(table, data):
    cols = NEED_COLS if table == "needs" else RES_COLS
    n = data.draw(st.integers(0, 4))
    frame = pd.DataFrame({c: pd.Series(data.draw(st.lists(cells, min_size=n, max_size=n)),
                                       dtype=object) for c in cols})
    before = frame.copy(deep=True)
    read = mc.read_needs if table == "needs" else mc.read_resources
    try:
        out = read(frame)
    except mc.InputError as err:
        assert err.failures is not None and len(err.failures) > 0
        assert str(err).splitlines()[0].endswith(f"in {table}:")
    else:
        blank = sum(all(_is_blank_cell(v) for v in row) for row in frame.itertuples(index=False))
        assert len(out) == n - blank  # entirely empty rows are skipped, with a warning
    pd.testing.assert_frame_equal(frame, before)


@given(st.data())
def test_fuzzed_solve_assignment_tables_never_crash(data):
    ids = st.one_of(st.sampled_from(["a", "b", "x", "y", " a ", ""]), st.none(),
                    st.integers(0, 2), st.floats(allow_nan=True))
    k = data.draw(st.integers(0, 4))
    edges = pd.DataFrame({
        "need_id": pd.Series(data.draw(st.lists(ids, min_size=k, max_size=k)), dtype=object),
        "resource_id": pd.Series(data.draw(st.lists(ids, min_size=k, max_size=k)), dtype=object),
        "score": pd.Series(data.draw(st.lists(cells, min_size=k, max_size=k)), dtype=object),
    })
    n = data.draw(st.integers(0, 3))
    needs = pd.DataFrame({
        "need_id": pd.Series(data.draw(st.lists(ids, min_size=n, max_size=n)), dtype=object),
        "demand": pd.Series(data.draw(st.lists(cells, min_size=n, max_size=n)), dtype=object)})
    resources = pd.DataFrame({"resource_id": pd.Series(["x", "y"], dtype=object),
                              "capacity": [1, 2]})
    try:
        out = mc.solve_assignment(edges, needs, resources)
    except mc.InputError as err:
        # Table problems carry failures; the other refusals are the range checks.
        assert (err.failures is not None and len(err.failures) > 0) or (
            "too large" in str(err) or "at most 2**53" in str(err))
    else:
        assert (out["units"] > 0).all()


def test_repeated_pairs_named_in_row_order_whatever_the_edge_order():
    edges = pd.DataFrame({
        "need_id": ["b", "a", " b", "a", "a "],
        "resource_id": ["y", "x", "y", "y", "x"],
        "score": [0.5, 0.9, 0.4, 0.3, 0.2],
    })
    with pytest.raises(mc.InputError) as err:
        mc.solve_assignment(edges, AB, XY)
    rows = err.value.failures["row"].tolist()
    assert rows == [3, 5]  # the later row of each repeated (stripped) pair


def test_edges_in_any_order_give_the_same_assignment():
    edges = pd.DataFrame({
        "need_id": ["a", "a", "b", "b"],
        "resource_id": ["x", "y", "x", "y"],
        "score": [0.9, 0.5, 0.8, 0.1],
    })
    want = mc.solve_assignment(edges, AB, XY, objective="score")
    got = mc.solve_assignment(edges.iloc[[3, 1, 2, 0]], AB, XY, objective="score")
    pd.testing.assert_frame_equal(want.reset_index(drop=True), got.reset_index(drop=True))


text_cells = st.one_of(
    st.none(), st.text(max_size=6),
    st.sampled_from(["", " ", "3", " 3 ", "2.0", "1e3", "1_000", "nan", "inf", "-0", "9" * 20,
                     "2024-05-01", " 2024-05-01 08:00 ", "9999-12-31", "2024-05-01T08:00+08:00",
                     "next tuesday", "护理；驾驶", "\u3000N1\u3000", "0.5", "-91", "1e400"]),
)


@pytest.mark.filterwarnings("ignore::matchcore.MatchcoreWarning")
@given(st.sampled_from(["needs", "resources"]), st.data())
def test_text_columns_parse_as_cell_by_cell(table, data):
    """The whole-column path for text cells (CSV) gives the cell-by-cell results and messages."""
    from unittest import mock

    from matchcore import cells, schema

    cols = NEED_COLS if table == "needs" else RES_COLS
    n = data.draw(st.integers(0, 5))
    frame = pd.DataFrame({c: pd.Series(data.draw(st.lists(text_cells, min_size=n, max_size=n)),
                                       dtype=object) for c in cols})
    validate = schema.validate_needs if table == "needs" else schema.validate_resources

    def outcome():
        try:
            return validate(frame, source="x.csv", line_offset=2), None
        except mc.InputError as err:
            return None, (str(err), err.failures)

    fast, fast_err = outcome()
    with mock.patch.object(cells, "is_all_text", lambda series: None):
        slow, slow_err = outcome()
    if slow_err is None:
        assert fast_err is None
        pd.testing.assert_frame_equal(fast, slow)
    else:
        assert fast_err is not None
        assert fast_err[0] == slow_err[0]
        pd.testing.assert_frame_equal(fast_err[1], slow_err[1])


def test_empty_xy_beside_filled_latlon_uses_latlon():
    # An all-columns Excel template: x/y left empty, lat/lon filled.
    needs = pd.DataFrame(
        {
            "need_id": ["n1", "n2"],
            "category": ["repair", "repair"],
            "x": [None, None],
            "y": [None, None],
            "lat": [30.59, 30.591],
            "lon": [114.30, 114.301],
        }
    )
    out = mc.read_needs(needs)
    assert "x" not in out.columns and out["lat"].tolist() == [30.59, 30.591]
    # One empty x/y cell among filled ones is still an error of that row.
    partly = needs.assign(x=[1.0, None], y=[2.0, None])
    with pytest.raises(mc.InputError, match="row 2"):
        mc.read_needs(partly)


def test_vectorised_edge_validation_keeps_its_messages():
    import pandas as pd
    import pytest

    import matchcore as mc

    needs = pd.DataFrame({"need_id": ["a", "b"]})
    resources = pd.DataFrame({"resource_id": ["x", "y"]})
    edges = pd.DataFrame({"need_id": ["a", " a", "b", "zz", "b"],
                          "resource_id": ["x", "x", "y", "x", "q"],
                          "score": [1.0, 2.0, float("nan"), 1.0, 1.0]})
    with pytest.raises(mc.InputError) as info:
        mc.solve_assignment(edges, needs, resources)
    text = str(info.value)
    assert "4 problems" in text
    assert "'zz'" in text and "'q'" in text and "finite" in text and "unique pair" in text
    assert "(row 2 of edges)" in text


def test_nan_need_id_never_joins_a_need_named_nan():
    needs = pd.DataFrame({"need_id": ["a", "nan"], "demand": [1, 1]})
    edges = pd.DataFrame({"need_id": [float("nan")], "resource_id": ["x"], "score": [1.0]})
    with pytest.raises(mc.InputError, match=esc(
            "`need_id` must be a non-empty id; got a missing value for edge None-'x' "
            "(row 1 of edges)")):
        mc.solve_assignment(edges, needs, XY)


@pytest.mark.parametrize("k", [True, 0, 1.5, "2", None])
def test_bad_backups_k(tiny, k):
    r = mc.match(*tiny, max_distance=2000)
    with pytest.raises(mc.InputError, match=esc(f"`k` must be an integer >= 1; got {k!r}")):
        r.backups(k)


@pytest.mark.parametrize(
    ("preset", "kwargs", "message"),
    [
        ("nowhere", {}, "`preset` must be one of ['seed_street', 'district_10k', 'city_100k', "
                        "'city_1m']; got 'nowhere'"),
        (3, {}, "`preset` must be one of ['seed_street', "),
        ("seed_street", {"seed": -1}, "`seed` must be an integer >= 0 or None; got -1"),
        ("seed_street", {"seed": 1.5}, "`seed` must be an integer >= 0 or None; got 1.5"),
        ("seed_street", {"seed": True}, "`seed` must be an integer >= 0 or None; got True"),
        ("seed_street", {"seed": "0"}, "`seed` must be an integer >= 0 or None; got '0'"),
        ("district_10k", {"n_needs": 0}, "`n_needs` must be an integer >= 1; got 0"),
        ("district_10k", {"n_needs": True}, "`n_needs` must be an integer >= 1; got True"),
        ("seed_street", {"n_needs": 10.0}, "`n_needs` must be an integer >= 1; got 10.0"),
        ("seed_street", {"n_communities": 0}, "`n_communities` must be an integer >= 1; got 0"),
        ("seed_street", {"n_grids": 3},
         "`n_grids` must be an integer >= 6 (at least one per community) or None; got 3"),
        ("seed_street", {"grids_per_community": 0},
         "`grids_per_community` must be a finite number > 0; got 0"),
        ("seed_street", {"kinds": {"volunteer": -1}},
         "`kinds['volunteer']` must be an integer >= 0; got -1"),
        ("seed_street", {"kinds": {"wizard": 3}},
         "`kinds` keys must be among ['volunteer', "),
        ("seed_street", {"kinds": {}}, "`kinds` must hold at least one resource; got {}"),
        ("seed_street", {"profile_mix": {"old": -1}},
         "`profile_mix['old']` must be a finite number >= 0; got -1"),
        ("seed_street", {"profile_mix": {"old": 0}}, "`profile_mix` must have a share > 0"),
        ("seed_street", {"spacing": 0},
         "`spacing` must be a finite number > 0 and <= 10000 (metres); got 0"),
        ("seed_street", {"scarcity": -0.5},
         "`scarcity` must be a finite number >= 0 and <= 1000000 (capacity units per unit of "
         "demand); got -0.5"),
        ("seed_street", {"scarcity": float("inf")}, "`scarcity` must be a finite number >= 0"),
        ("seed_street", {"scarcity": 1e300},
         "`scarcity` must be a finite number >= 0 and <= 1000000 (capacity units per unit of "
         "demand); got 1e+300"),
        ("seed_street", {"spacing": 1e9},
         "`spacing` must be a finite number > 0 and <= 10000 (metres); got 1000000000.0"),
        ("seed_street", {"scarcity": {"repair": True}},
         "`scarcity['repair']` must be a finite number >= 0 and <= 1000000; got True"),
        ("seed_street", {"scarcity": {"telepathy": 1.0}}, "`scarcity` keys must be among ["),
        ("seed_street", {"partner_share": 1.5},
         "`partner_share` must be a finite number >= 0 and <= 1; got 1.5"),
        ("seed_street", {"team_members": -3}, "`team_members` must be an integer >= 0; got -3"),
        ("seed_street", {"resources_per_provider": 3},
         "`resources_per_provider` must be a finite number >= 1 and <= 2; got 3"),
        ("seed_street", {"skill_share": float("nan")},
         "`skill_share` must be a finite number >= 0 and <= 1; got nan"),
        ("seed_street", {"max_distance": -1},
         "`max_distance` must be a finite number > 0 (metres); got -1"),
        ("seed_street", {"street": ""}, "`street` must be a non-empty str; got ''"),
        ("seed_street", {"progress": 3}, "`progress` must be a callable or None; got 3"),
        ("seed_street", {"colour": "red"}, "unknown district parameter(s) ['colour']; valid: "),
    ],
)
def test_bad_synthetic_parameters(preset, kwargs, message):
    with pytest.raises(mc.InputError, match=esc(message)):
        mc.synthetic.district(preset, **kwargs)


def test_synthetic_seed_none_is_fresh_entropy():
    a, _ = mc.synthetic.district("seed_street", seed=None, n_needs=50)
    assert len(a) == 50


# ---------------------------------------------------------------------------
# issue 14: headers, categories, dates and cells as staff write them


@pytest.mark.parametrize(("header", "message"), [
    ("优先极", "`优先极` is not a header of needs, but it looks like `优先级` (priority); rename "
               "the header to 优先级 (or priority), or pass columns={'优先极': 'priority'} to map "
               "it (columns={'优先极': None} keeps it as an extra column)"),
    ("数量", "`数量` is not a header of needs, but it looks like `需求数量` (demand)"),
    ("priorty", "`priorty` is not a header of needs, but it looks like `priority`"),
])
def test_header_near_miss(header, message):
    with pytest.raises(mc.InputError, match=esc(message)) as info:
        mc.read_needs(needs_frame(**{header: [1, 2, 3]}))
    f = info.value.failures
    assert f[["column", "header"]].values.tolist()[0][1] == header


def test_missing_id_header_names_the_expected_and_the_found_headers():
    frame = needs_frame().rename(columns={"need_id": "需求编码"})
    with pytest.raises(mc.InputError, match=esc("`需求编码` is not a header of needs, but it looks "
                                                "like `需求编号` (need_id)")):
        mc.read_needs(frame)
    with pytest.raises(mc.InputError, match=esc(
            "`need_id` is a required column of needs; expected a unique, non-empty id (a header "
            "需求编号 or need_id; the headers are ['XX', 'category', 'x', 'y'])")):
        mc.read_needs(needs_frame().rename(columns={"need_id": "XX"}))


def test_same_header_twice_in_any_spelling():
    frame = pd.DataFrame([["N1", "repair", 0.0, 0.0, "2"]],
                         columns=["need_id", "category", "x", "y", "Need ID"])
    with pytest.raises(mc.InputError, match=esc("`Need ID` (`need_id`) must be one column per name;"
                                                " got \"two columns 'need_id' and 'Need ID'\"")):
        mc.read_needs(frame)


@pytest.mark.parametrize(("columns", "message"), [
    ({"编码": "need_id"}, "`columns` names the header '编码', which needs does not have"),
    ({"x": "wrong"}, "`columns` maps 'x' to 'wrong', which is not a column of needs"),
])
def test_bad_columns_mapping(columns, message):
    with pytest.raises(mc.InputError, match=esc(message)):
        mc.read_needs(needs_frame(), columns=columns)


def test_user_header_is_named_in_cell_messages():
    frame = needs_frame().drop(columns=["x", "y"]).assign(**{"纬度 (lat)": [30.0, 95.0, 30.0],
                                                             "经度 (lon)": [114.0] * 3})
    with pytest.raises(mc.InputError, match=esc("`纬度 (lat)` (`lat`) must be a latitude from -90 "
                                                "to 90; got 95.0 for need 'N2'")) as info:
        mc.read_needs(frame)
    assert info.value.failures["header"].tolist() == ["纬度 (lat)"]


def test_no_known_category_is_the_wrong_taxonomy():
    with pytest.raises(mc.InputError, match=esc(
            "no category of needs is a category of the taxonomy (found 'foo', 'bar'): is it the "
            "right taxonomy?")):
        mc.read_needs(needs_frame(category=["foo", "bar", "foo"]))


def test_swapped_coordinates_are_one_message():
    frame = needs_frame().drop(columns=["x", "y"]).assign(lat=[114.3, 114.31, 120.0],
                                                          lon=[30.5, 30.6, 31.0])
    with pytest.raises(mc.InputError, match=esc(
            "`lat` and `lon` look swapped: every latitude is from 73 to 135 and every longitude "
            "from 18 to 54")) as info:
        mc.read_needs(frame)
    assert len(info.value.failures) == 1


@pytest.mark.parametrize(("cell", "message"), [
    ("9:00", "a date as well as a time (a time alone has no date); got '9:00'"),
    ("now", "an absolute date (relative words such as 'today', 'now', 明天 are not read); "
            "got 'now'"),
    ("today", "an absolute date"), ("明天 9:00", "an absolute date"),
    ("05/03/2025", "a date that reads one way: day/month/year or month/day/year? write it year "
                   "first (2025-03-05) or pass dayfirst=True or dayfirst=False; got '05/03/2025'"),
    ("5/3/25", "a date and time written year first (2025-05-03 09:00, ...); got '5/3/25'"),
    ("2025", "a date and time written year first"),
])
def test_dates_that_would_be_guessed(cell, message):
    with pytest.raises(mc.InputError, match=esc(f"`window_start` must be {message}")):
        mc.read_needs(needs_frame(window_start=[cell, None, None]))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"dayfirst": "yes"}, "`dayfirst` must be True, False or None; got 'yes'"),
    ({"timezone": "Mars/Base"}, "`timezone` must be an IANA time zone name such as "
                                "'Asia/Shanghai' or 'UTC'; got 'Mars/Base'"),
    ({"columns": ["x"]}, "`columns` must be a mapping {header: column}; got ['x']"),
])
def test_bad_reading_options(kwargs, message):
    with pytest.raises(mc.InputError, match=esc(message)):
        mc.read_needs(needs_frame(), **kwargs)


def test_id_empty_after_removing_invisible_characters():
    with pytest.warns(mc.MatchcoreWarning, match="1 cell of needs had invisible characters"), \
            pytest.raises(mc.InputError, match=esc("`need_id` must be a unique, non-empty id; got "
                                                   "'\\u200b' for need without id (row 2")):
        mc.read_needs(needs_frame(need_id=["N1", "\u200b", "N3"]))


@given(st.lists(st.text(alphabet=" \t\u3000\xa0\u200bab\u0301eé\u1100\u1161Ｎﬁ\u2000\x00东",
                        max_size=4), max_size=5))
def test_the_plain_text_check_never_passes_a_cell_cleaning_would_change(values):
    from matchcore.cells import _plain, clean_text

    if _plain(values):
        assert all(clean_text(v)[0] == v and v.strip() == v for v in values)
    if all(v.isascii() and "\x00" not in v and v.strip() == v for v in values):
        assert _plain(values)


def test_plain_and_unclean_ids_validate_as_cell_by_cell():
    ids = ["N1", " N2", "N3\u200b", "Ｎ4", "n5"]
    with pytest.warns(mc.MatchcoreWarning, match="1 cell of needs had invisible characters"):
        out = mc.read_needs(pd.DataFrame({"need_id": ids, "category": ["repair"] * 5,
                                          "x": [0.0] * 5, "y": [0.0] * 5,
                                          "community": ["东湖社区", "东湖社区 ", "a", "b", "c"]}))
    assert out["need_id"].tolist() == ["N1", "N2", "N3", "N4", "n5"]
    assert out["community"].tolist() == ["东湖社区", "东湖社区", "a", "b", "c"]
