"""Validation of a warm round's lists (issue 13): only rows that were not validated before.

``schema.revalidate`` takes rows equal to an earlier validation's output as validated and
parses the others; its result, errors and warnings must be exactly a full validation's.
That rests on validation being idempotent on its own output, checked here first.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matchcore as mc
from conftest import examples
from matchcore.pipeline import prepare_round
from matchcore.schema import revalidate, validate_needs, validate_resources
from strategies import CATEGORIES, districts, staff_lists

VALIDATE = {"needs": validate_needs, "resources": validate_resources}


def _comparable(failures: pd.DataFrame) -> dict:
    """An error's failures frame as a dict that ``==`` compares: each column's dtype and cells.

    A NaN cell becomes the text "NaN" (``float("nan") != float("nan")``, so two
    equal frames' ``to_dict`` compare unequal when their NaNs are different
    objects); None and ``pd.NA`` stay distinct.
    """
    def cell(v):
        if v is pd.NA:
            return "<NA>"
        return "NaN" if isinstance(v, float) and v != v else v

    return {c: (str(failures[c].dtype), [cell(v) for v in failures[c].tolist()])
            for c in failures.columns}


def _outcome(call):
    """``(frame or None, error text and failures or None, warning texts)`` of a call."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = call()
        except mc.InputError as err:
            failures = getattr(err, "failures", None)
            return None, (str(err), None if failures is None else _comparable(failures)), [
                str(w.message) for w in caught]
    return out, None, [str(w.message) for w in caught]


def _assert_same_frame(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert a.attrs == b.attrs
    assert a.index.equals(b.index) and a.columns.equals(b.columns)


@settings(max_examples=examples(60), deadline=None)
@given(districts(max_needs=10, max_resources=8), st.booleans())
def test_validation_is_idempotent(lists, latlon):
    """validate(validate(x)) == validate(x): values, dtypes, index, columns; no warning."""
    for table, frame in zip(("needs", "resources"), lists):
        if latlon and len(frame):
            frame = frame.assign(lat=30.0 + frame["y"] / 1e5, lon=120.0 + frame["x"] / 1e5)
            frame = frame.drop(columns=["x", "y"])
        once = VALIDATE[table](frame)
        twice, error, said = _outcome(lambda t=table, f=once: VALIDATE[t](f))
        assert error is None and said == []
        pd.testing.assert_frame_equal(twice, once, check_exact=True)
        # Shuffled and cut, it stays a fixed point row by row.
        part = once.iloc[::-1].iloc[: max(len(once) - 1, 0)]
        pd.testing.assert_frame_equal(VALIDATE[table](part), part, check_exact=True)


@settings(max_examples=examples(30), deadline=None)
@given(staff_lists())
def test_validation_is_idempotent_on_staff_lists(lists):
    """Lists as staff write them (Chinese headers, aliases, text) validate to a fixed point."""
    _, staff, *_ = lists
    once = validate_needs(staff)
    twice, error, said = _outcome(lambda: validate_needs(once))
    assert error is None and said == []
    pd.testing.assert_frame_equal(twice, once, check_exact=True)


#: Cell edits of a validated row: good ones, ones the full validation rewrites or warns
#: about, and bad ones (errors must be the full validation's, all at once).
EDITS = ("priority", "demand", "bad_priority", "bad_demand", "alias", "unknown_category",
         "duplicate", "move", "nan_position", "id_space", "zero_width", "skills", "none")


def _edit(frame: pd.DataFrame, table: str, pos: int, edit: str, k: int) -> pd.DataFrame:
    """``frame`` with row ``pos`` edited (object columns stay object)."""
    frame = frame.copy()
    idx = frame.index[pos]
    id_col = "need_id" if table == "needs" else "resource_id"
    qty = "demand" if table == "needs" else "capacity"
    if edit == "priority" and "priority" in frame.columns:
        frame.loc[idx, "priority"] = 1 + k % 5
    elif edit == "demand":
        frame.loc[idx, qty] = 1 + k % 4
    elif edit == "bad_priority" and "priority" in frame.columns:
        frame.loc[idx, "priority"] = 9
    elif edit == "bad_demand":
        frame.loc[idx, qty] = -1
    elif edit == "alias":
        frame.loc[idx, "category"] = "养老服务"
    elif edit == "unknown_category":
        frame.loc[idx, "category"] = "quantum_repair"
    elif edit == "duplicate" and len(frame) > 1:
        frame.loc[idx, id_col] = frame[id_col].iat[(pos + 1) % len(frame)]
    elif edit == "move":
        col = "x" if "x" in frame.columns else "lat"
        frame.loc[idx, col] = frame.loc[idx, col] + 0.5
    elif edit == "nan_position":
        col = "x" if "x" in frame.columns else "lat"
        frame.loc[idx, col] = np.nan
    elif edit == "id_space":
        frame.loc[idx, id_col] = " " + str(frame.loc[idx, id_col]) + " "
    elif edit == "zero_width":
        frame.loc[idx, id_col] = str(frame.loc[idx, id_col]) + "\u200b"
    elif edit == "skills" and "skills" in frame.columns:
        frame.loc[idx, "skills"] = "cooking、repair"
    elif edit == "none" and "community" in frame.columns:
        frame.loc[idx, "community"] = np.nan
    return frame


@st.composite
def edited_lists(draw: st.DrawFn):
    """A validated list, the list a later round gets (kept rows, edited rows, new rows)."""
    needs, resources = draw(districts(min_needs=1, min_resources=1, max_needs=10,
                                      max_resources=8))
    table = draw(st.sampled_from(("needs", "resources")))
    old = VALIDATE[table](needs if table == "needs" else resources)
    old = old.sort_values(old.columns[0], kind="stable").reset_index(drop=True)
    keep = draw(st.lists(st.integers(0, len(old) - 1), unique=True, min_size=0,
                         max_size=len(old)))
    new = old.iloc[sorted(keep)]
    n_edits = draw(st.integers(0, 3))
    for k in range(n_edits):
        if not len(new):
            break
        pos = draw(st.integers(0, len(new) - 1))
        new = _edit(new, table, pos, draw(st.sampled_from(EDITS)), k)
    if draw(st.booleans()):  # a new row, validated on its own (as rematch does)
        src = old.iloc[[draw(st.integers(0, len(old) - 1))]]
        added = src.assign(**{old.columns[0]: "NEW-1"})
        new = pd.concat([new, added], ignore_index=draw(st.booleans()))
    if draw(st.booleans()):
        new = new.sample(frac=1.0, random_state=draw(st.integers(0, 99)))
    return table, old, new


@settings(max_examples=examples(150), deadline=None)
@given(edited_lists())
def test_revalidate_equals_full_validation(case):
    """Result, error (message and failures) and warnings: exactly the full validation's."""
    table, old, new = case
    fast, fast_error, fast_said = _outcome(lambda: revalidate(new, table, old))
    full, full_error, full_said = _outcome(lambda: VALIDATE[table](new))
    assert fast_error == full_error
    assert fast_said == full_said
    if full is None:
        return
    _assert_same_frame(fast.frame, full)
    if fast.same_as is not None:
        # Rows said to be the old ones are, cell for cell.
        rows = np.flatnonzero(fast.same_as >= 0)
        pd.testing.assert_frame_equal(
            old.iloc[fast.same_as[rows]].reset_index(drop=True),
            full.iloc[rows].reset_index(drop=True), check_exact=True)


def test_revalidate_parses_only_new_rows():
    """Unchanged rows pair with the old ones; a changed and a new row are validated."""
    needs, _ = mc.synthetic.tiny()
    old = validate_needs(needs)
    changed = old.copy()
    changed.loc[1, "priority"] = 5
    new = pd.concat([changed, old.iloc[[0]].assign(need_id="N9")], ignore_index=True)
    r = revalidate(new, "needs", old)
    assert r.same_as.tolist() == [0, -1, *range(2, len(old)), -1]
    assert r.id_at.tolist() == [*range(len(old)), -1]
    _assert_same_frame(r.frame, validate_needs(new))


def test_revalidate_falls_back_when_it_cannot_tell():
    """Other columns, an object column of numbers, or no earlier rows: the full validation."""
    needs, _ = mc.synthetic.tiny()
    old = validate_needs(needs)
    for new in (needs, old.drop(columns=["priority"]),
                old.assign(extra=pd.Series([1, True, 2.0, "a", None], dtype=object))):
        r = revalidate(new, "needs", old)
        assert r.same_as is None
        _assert_same_frame(r.frame, validate_needs(new))
    assert revalidate(old, "needs", None).same_as is None
    with pytest.raises(mc.InputError, match="`table`"):
        revalidate(old, "projects", old)  # type: ignore[arg-type]


def test_revalidate_bad_rows_give_the_full_errors():
    """Two bad new rows: the full validation's message, naming both rows."""
    needs, _ = mc.synthetic.tiny()
    old = validate_needs(needs)
    new = old.copy()
    new.loc[1, "demand"] = -1
    new.loc[3, "priority"] = 7
    with pytest.raises(mc.InputError) as fast:
        revalidate(new, "needs", old)
    with pytest.raises(mc.InputError) as full:
        validate_needs(new)
    assert str(fast.value) == str(full.value)
    assert "row 2" in str(fast.value) and "row 4" in str(fast.value)


def _same_prepared(a, b) -> None:
    for f in dataclasses.fields(a.district):
        x, y = getattr(a.district, f.name), getattr(b.district, f.name)
        if isinstance(x, pd.DataFrame):
            _assert_same_frame(x, y)
        elif isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y), f.name
        else:
            assert x == y, f.name
    for f in dataclasses.fields(a.graph):
        x, y = getattr(a.graph, f.name), getattr(b.graph, f.name)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_exact=True)
        elif isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y), f.name
    assert np.array_equal(a.arrival, b.arrival)


@settings(max_examples=examples(60), deadline=None)
@given(districts(min_needs=2, min_resources=2, max_needs=10, max_resources=8),
       st.lists(st.tuples(st.sampled_from(("needs", "resources")), st.integers(0, 50),
                          st.sampled_from(("priority", "demand", "move", "category", "add",
                                           "drop"))), max_size=4),
       st.booleans())
def test_warm_prepare_equals_cold(lists, changes, latlon):
    """A later round given as the ledger gives it (the earlier round's validated rows, some
    changed): the warm prepare's district, graph and arrival order are the cold ones, and
    the match is the cold plan."""
    needs, resources = lists
    if latlon:
        needs, resources = (f.assign(lat=30.0 + f["y"] / 1e5, lon=120.0 + f["x"] / 1e5)
                            .drop(columns=["x", "y"]) for f in (needs, resources))
    opts = mc.MatchOptions(solver="simplex", max_distance=2000.0)
    first = mc.match(needs, resources, opts)
    new = {"needs": first.district.needs.copy(), "resources": first.district.resources.copy()}
    for k, (table, which, kind) in enumerate(changes):
        frame = new[table]
        pos = which % len(frame)
        idx = frame.index[pos]
        id_col = frame.columns[0]
        if kind == "priority" and table == "needs":
            frame.loc[idx, "priority"] = 1 + which % 5
        elif kind == "demand":
            frame.loc[idx, "demand" if table == "needs" else "capacity"] = 1 + which % 3
        elif kind == "move":
            col = "x" if "x" in frame.columns else "lat"
            frame.loc[idx, col] = frame.loc[idx, col] + (300.0 if col == "x" else 0.003)
        elif kind == "category":
            frame.loc[idx, "category"] = CATEGORIES[which % len(CATEGORIES)]
        elif kind == "add":
            frame = pd.concat([frame, frame.iloc[[pos]].assign(**{id_col: f"NEW-{k}"})],
                              ignore_index=True)
        elif kind == "drop" and len(frame) > 1:
            frame = frame.drop(index=idx).reset_index(drop=True)
        new[table] = frame
    warm = prepare_round(new["needs"], new["resources"], opts, start=first)
    cold = prepare_round(new["needs"], new["resources"], opts)
    _same_prepared(warm, cold)
    from oracle import assert_same_plan
    assert_same_plan(mc.match(new["needs"], new["resources"], opts, start=first),
                     mc.match(new["needs"], new["resources"], opts))
