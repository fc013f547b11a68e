"""The compact pickle of results (matchcore.wire): smaller, and equal bit for bit."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import matchcore as mc
from conftest import examples
from matchcore import wire

INT64 = np.dtype("<i8")


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return (a.dtype == b.dtype and a.shape == b.shape
            and a.tobytes() == b.tobytes() and a.flags.c_contiguous == b.flags.c_contiguous)


INTS = st.one_of(st.integers(-3, 3), st.integers(0, 300), st.integers(-2**63, 2**63 - 1))
FLOATS = st.one_of(st.sampled_from([0.0, -0.0, 0.5, np.nan, np.inf, 1e-310]),
                   st.floats(allow_nan=True, allow_infinity=True))


@settings(max_examples=examples(80), deadline=None)
@given(
    small=st.one_of(
        hnp.arrays(np.int64, st.integers(1, 40), elements=INTS),
        hnp.arrays(np.dtype(">i8"), st.integers(1, 40), elements=INTS),
        hnp.arrays(np.uint64, st.integers(1, 40), elements=st.integers(0, 2**64 - 1)),
        hnp.arrays(np.float64, st.integers(1, 40), elements=FLOATS),
    ),
    how=st.sampled_from(["tile", "repeat", "sorted", "2-d"]),
)
def test_arrays_come_back_bit_for_bit(small, how):
    # Large arrays made of a small drawn one keep its structure: few values, runs, order.
    k = -(-wire.MIN_SIZE // small.size) + 1
    if how == "tile":
        values = np.tile(small, k)
    elif how == "repeat":
        values = np.repeat(small, k)
    elif how == "sorted":
        values = np.sort(np.tile(small, k))
    else:
        values = np.stack([np.tile(small, k), np.repeat(small, k)])
    back = wire.loads(wire.dumps(values))
    assert _same_bits(back, values)
    assert back.flags.writeable


def test_sorted_wide_and_wrapping_integers():
    # Sorted indices are stored as differences; values spanning the whole int64 range
    # wrap around in the differences and still come back exactly.
    need = np.repeat(np.arange(10_000, dtype=np.int64), 25)
    assert len(wire.dumps(need)) < len(pickle.dumps(need)) // 7
    extremes = np.tile(np.array([-2**63, 2**63 - 1, 0, 1], dtype=np.int64), 2000)
    assert _same_bits(wire.loads(wire.dumps(extremes)), extremes)
    big = np.arange(2**40, 2**40 + 5000, dtype=np.uint64)
    assert _same_bits(wire.loads(wire.dumps(big)), big)


def test_frames_views_and_shared_arrays():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.integers(0, 5, 6000).astype(float),
                          "b": rng.random(6000), "c": rng.integers(0, 9, 6000)})
    back = wire.loads(wire.dumps(frame))
    pd.testing.assert_frame_equal(back, frame)
    base = np.arange(20_000, dtype=np.int64)
    view = base[::2]  # not contiguous: pickled as it is
    shared = {"x": base, "y": base, "v": view}
    out = wire.loads(wire.dumps(shared))
    assert out["x"] is out["y"] and np.array_equal(out["v"], view)


@pytest.fixture(scope="module")
def street_result():
    needs, resources = mc.synthetic.street(0, 2_000, 0)
    return mc.match(needs, resources, max_distance=300)


def _arrays(obj, prefix="", out=None):
    """Every ndarray reachable through the attributes of obj (dataclasses, lists, frames)."""
    out = {} if out is None else out
    if isinstance(obj, np.ndarray):
        out[prefix] = obj
    elif isinstance(obj, pd.DataFrame):
        for c in obj.columns:
            out[f"{prefix}[{c}]"] = obj[c].to_numpy()
    elif isinstance(obj, (list, tuple)):
        for k, v in enumerate(obj):
            _arrays(v, f"{prefix}[{k}]", out)
    elif hasattr(obj, "__dict__") and type(obj).__module__.startswith("matchcore"):
        for k, v in vars(obj).items():
            _arrays(v, f"{prefix}.{k}", out)
    return out


def test_a_result_pickles_smaller_and_the_same(street_result):
    r = street_result
    _ = r.assignments  # a cached table travels too
    data = pickle.dumps(r, protocol=5)
    plain = len(pickle.dumps(r.__dict__, protocol=5))
    assert len(data) < 0.6 * plain
    back = pickle.loads(data)
    before, after = _arrays(r), _arrays(back)
    assert before.keys() == after.keys()
    for name, array in before.items():
        assert array.dtype == after[name].dtype and array.shape == after[name].shape, name
        if array.dtype.kind != "O":
            assert array.tobytes() == after[name].tobytes(), name
        else:
            assert list(array) == list(after[name]), name
    assert back.objective == r.objective
    pd.testing.assert_frame_equal(back.assignments, r.assignments)
    pd.testing.assert_frame_equal(back.projects, r.projects)
    assert back.verify().optimal


def test_an_unpicklable_solver_falls_back_to_the_default_pickle():
    """A solver given as a local function cannot be pickled by name: the result falls
    back to the default reduce, which cloudpickle (Dask's fallback) then handles."""
    import cloudpickle

    from matchcore.solvers.registry import get_backend

    loader = get_backend("simplex").loader
    assert loader is not None
    simplex = loader()

    def local_solver(network):
        return simplex(network)

    needs, resources = mc.synthetic.tiny()
    r = mc.match(needs, resources, max_distance=2000, solver=local_solver)
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        pickle.dumps(r)
    back = cloudpickle.loads(cloudpickle.dumps(r))
    assert back.objective == r.objective
    pd.testing.assert_frame_equal(back.assignments, r.assignments)
