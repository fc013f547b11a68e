"""The last round's warm state in the ledger file (issue 13): a fresh process rematches warm.

A ledger opened with ``keep_warm=True`` keeps the last round's
:class:`~matchcore.result.WarmState` (table ``warm_state``, schema 7), written
in the round's transaction and encoded without pickle. ``rematch()`` with no
``start=`` uses it when it is the last round's; the result is the in-memory
warm start's and the cold one's. A stale state is ignored, a corrupt one is
ignored with a warning (cold: same result).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import matchcore as mc
from matchcore.errors import MatchcoreError, MatchcoreWarning
from matchcore.ledger import record, store, warm, warm_codec
from matchcore.ledger.warm_codec import WarmStateError, decode_warm_state, encode_warm_state
from matchcore.model import to_district
from matchcore.result import WarmState
from oracle import assert_same_plan, assignment_pairs
from strategies import districts

pytest.importorskip("numba")

PRESET = "seed_street"


@pytest.fixture(scope="module")
def lists():
    needs, resources = mc.synthetic.district(PRESET, seed=3)
    reach = mc.synthetic.suggested_max_distance(PRESET)
    return needs, resources, {"max_distance": reach}


@pytest.fixture(scope="module")
def first(lists):
    needs, resources, opts = lists
    return mc.match(needs, resources, **opts)


def _changed(needs: pd.DataFrame, share: float = 0.02, seed: int = 0) -> pd.DataFrame:
    """New needs and moved needs (about ``share`` of them), as bench_rematch.change."""
    rng = np.random.default_rng(seed)
    n = max(2, round(len(needs) * share))
    rows = needs.iloc[rng.choice(len(needs), size=n, replace=False)].reset_index(drop=True)
    half = n // 2
    new = rows.iloc[:half].assign(need_id=lambda f: "NEW-" + f["need_id"].astype(str))
    moved = rows.iloc[half:].copy()
    moved["lat"] = moved["lat"] + 0.0018
    moved["priority"] = np.minimum(moved["priority"].astype(int) + 1, 5)
    return pd.concat([new, moved], ignore_index=True)


@pytest.fixture
def base(tmp_path, first):
    """A ledger file with round 1 and its warm state."""
    path = tmp_path / "base.db"
    with mc.ProjectLedger(path, keep_warm=True) as led:
        led.add_round(first)
        assert led.last_warm_write[0] > 0
    return path


def _copy(path: Path, name: str) -> Path:
    out = path.with_name(name)
    shutil.copyfile(path, out)
    return out


def _cold_copy(path: Path, name: str) -> Path:
    out = _copy(path, name)
    with sqlite3.connect(out) as c:
        c.execute("DELETE FROM warm_state")
    return out


# --------------------------------------------------------------------------- the codec
def _assert_same_state(state: WarmState, back: WarmState) -> None:
    """Every array of ``back`` is ``state``'s, bit for bit and of the same dtype."""
    def same(a: np.ndarray, b: np.ndarray, name: str) -> None:
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape, name
        if a.dtype.kind == "f":  # bits, not values: -0.0 and NaN payloads count
            assert np.array_equal(a.view(f"u{a.dtype.itemsize}"),
                                  b.view(f"u{b.dtype.itemsize}")), name
        else:
            assert np.array_equal(a, b), name

    g, h = state.graph, back.graph
    for name in ("need", "resource", "distance", "affinity", "need_ids", "resource_ids",
                 "pruned"):
        same(getattr(g, name), getattr(h, name), name)
    pd.testing.assert_frame_equal(h.funnel, g.funnel)
    for name in mc.model.scoring.COMPONENTS:
        same(state.components[name].to_numpy(), back.components[name].to_numpy(), name)
    d, e = state.district, back.district
    for name in ("need_xy", "resource_xy", "demand", "capacity", "priority", "need_category",
                 "resource_category", "need_grid", "resource_grid", "need_window",
                 "resource_window", "need_skills", "resource_skills", "radius",
                 "partner_keys"):
        same(getattr(d, name), getattr(e, name), name)
    assert d.origin == e.origin
    assert back.options == state.options
    if back.assigned is not None:  # (a state stored before did not keep them)
        same(state.assigned, back.assigned, "assigned")
    assert len(back.bases) == len(state.bases)
    for a, b in zip(state.bases, back.bases):
        assert a.phases == b.phases
        for name in ("needs", "resources", "edges"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name
        for x, y in zip(a.bases, b.bases):
            same(x.state, y.state, "state")
            same(x.hung, y.hung, "hung")


def _files(data: bytes) -> set[str]:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return set(z.files)


def test_codec_round_trip_gives_the_same_arrays(first):
    data = encode_warm_state(WarmState.of(first))
    assert data is not None
    # Plain arrays only: numpy refuses object arrays without allow_pickle.
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        assert all(z[name].dtype != object for name in z.files)
    back = decode_warm_state(data)
    _assert_same_state(WarmState.of(first), back)
    assert np.array_equal(back.assigned, np.flatnonzero(first.units > 0))
    # The k-d tree's distances are recomputed on load, not stored.
    assert not _files(data) & {"distance", "distance_at", "distance_off"}


@pytest.mark.parametrize("bad", ["past the graph", "repeated"])
def test_assigned_edges_that_do_not_fit_the_graph_are_refused(first, bad):
    import dataclasses

    n = first.graph.n_edges
    assigned = np.array([0, n]) if bad == "past the graph" else np.array([3, 3])
    data = encode_warm_state(dataclasses.replace(WarmState.of(first), assigned=assigned))
    with pytest.raises(WarmStateError, match="assigned edges do not fit"):
        decode_warm_state(data)


def test_match_from_a_decoded_state_equals_memory_and_cold(lists, first):
    needs, resources, opts = lists
    new = pd.concat([needs, _changed(needs)]).drop_duplicates("need_id", keep="last")
    state = decode_warm_state(encode_warm_state(WarmState.of(first)))
    from_state = mc.match(new, resources, **opts, start=state)
    from_memory = mc.match(new, resources, **opts, start=first)
    cold = mc.match(new, resources, **opts)
    assert_same_plan(from_state, from_memory)
    assert_same_plan(from_state, cold)
    assert from_state.verify()
    pd.testing.assert_frame_equal(from_state.projects, from_memory.projects)


@pytest.mark.parametrize("garbage", [b"", b"not a warm state", b"PK\x03\x04" + b"\0" * 64])
def test_garbage_bytes_raise_a_matchcore_error(garbage):
    with pytest.raises(WarmStateError, match="cannot be read") as err:
        decode_warm_state(garbage)
    assert isinstance(err.value, MatchcoreError)


def test_a_truncated_archive_raises_a_matchcore_error(first):
    data = encode_warm_state(WarmState.of(first))
    with pytest.raises(WarmStateError):
        decode_warm_state(data[: len(data) // 2])


def test_a_district_without_lists_arrow_can_hold_keeps_no_state(first):
    odd = first.district.needs.assign(note=[{"a": 1}] * len(first.district.needs))
    district = to_district(odd, first.district.resources)
    state = WarmState(district, first.graph, first.components, first.options,
                      list(first.solution.bases))
    # The column is not one a warm start reads: it is left out, and the state kept.
    assert encode_warm_state(state) is not None
    state = WarmState.of(first)
    assert encode_warm_state(WarmState(state.district, state.graph, state.components,
                                       state.options, [])) is None


# --------------------------------------------------------------------------- the ledger
# ------------------------------------------------ the distances, recomputed on load (format 2)
_DISTANCE_FILES = {"distance", "distance_at", "distance_off"}


@settings(max_examples=15)  # each example is a match, an encode and a decode
@given(st.booleans().flatmap(lambda latlon: districts(
           max_needs=10, max_resources=8, min_needs=1, min_resources=1, latlon=latlon)),
       st.sampled_from([None, 700.0, 1500.0, 5000.0]),
       st.sampled_from([None, "grid", "community", "street"]))
def test_every_array_round_trips_bit_for_bit(lists, reach, scope):
    # x/y and lat/lon, per-resource radii, scopes; without a reach some pairs are
    # measured by numpy.hypot, whose roundings the archive must then keep.
    result = mc.match(*lists, max_distance=reach, scope=scope)
    state = WarmState.of(result)
    data = encode_warm_state(state)
    assume(data is not None)
    _assert_same_state(state, decode_warm_state(data))


def test_distances_measured_otherwise_are_kept_exactly():
    # Reach unlimited: numpy.hypot measured these pairs, not the k-d tree's sum of squares.
    rng = np.random.default_rng(7)
    needs = pd.DataFrame({"need_id": [f"N{k:02d}" for k in range(40)],
                          "category": "repair", "x": rng.uniform(0, 3000, 40),
                          "y": rng.uniform(0, 3000, 40)})
    resources = pd.DataFrame({"resource_id": [f"R{k:02d}" for k in range(30)],
                              "category": "repair", "x": rng.uniform(0, 3000, 30),
                              "y": rng.uniform(0, 3000, 30), "capacity": 2})
    result = mc.match(needs, resources)
    g, d = result.graph, result.district
    again = warm_codec.edge_distances(d.need_xy, d.resource_xy, g.need, g.resource)
    assert (again != g.distance).any()  # else this test would test nothing
    data = encode_warm_state(WarmState.of(result))
    assert _files(data) & _DISTANCE_FILES
    _assert_same_state(WarmState.of(result), decode_warm_state(data))


def _nudged(k: int | None):
    """A recomputation that is off in the last bit on the first ``k`` edges (None: all)."""
    real = warm_codec.edge_distances

    def off(*args: np.ndarray) -> np.ndarray:
        out = real(*args)
        n = len(out) if k is None else k
        out[:n] = np.nextafter(out[:n], np.inf)
        return out

    return off


@pytest.mark.parametrize(("k", "stored"), [(3, {"distance_at", "distance_off"}),
                                           (None, {"distance"})])
def test_distances_the_recomputation_misses_are_stored(first, monkeypatch, k, stored):
    # Encoded and decoded with the same inexact recomputation: the archive keeps the
    # edges it misses (or, when it misses most, every distance) and decodes exactly.
    monkeypatch.setattr(warm_codec, "edge_distances", _nudged(k))
    state = WarmState.of(first)
    data = encode_warm_state(state)
    assert _files(data) & _DISTANCE_FILES == stored
    _assert_same_state(state, decode_warm_state(data))


def test_distances_that_do_not_recompute_exactly_are_refused(first, monkeypatch):
    data = encode_warm_state(WarmState.of(first))
    monkeypatch.setattr(warm_codec, "edge_distances", _nudged(1))
    with pytest.raises(WarmStateError, match=r"distances recomputed .* SHA-256 differs"):
        decode_warm_state(data)


def test_a_state_whose_distances_do_not_recompute_rematches_cold(base, lists, monkeypatch):
    cold_path = _cold_copy(base, "cold.db")
    with mc.ProjectLedger(base) as led:
        monkeypatch.setattr(warm_codec, "edge_distances", _nudged(1))
        with pytest.warns(MatchcoreWarning, match=r"cannot be used .*distances recomputed"):
            report = led.rematch(stickiness=0.1, **lists[2])
        monkeypatch.undo()
    with mc.ProjectLedger(cold_path) as led:
        cold = led.rematch(stickiness=0.1, **lists[2])
    assert report.started_from == "cold"
    assert_same_plan(report.result, cold.result)


def _as_format_1(state: WarmState, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """``state`` in format 1's layout: every distance stored, ``meta`` without a digest."""
    with monkeypatch.context() as m:
        m.setattr(warm_codec, "edge_distances", _nudged(None))
        data = encode_warm_state(state)
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        arrays = {name: z[name] for name in z.files}
    meta = json.loads(arrays["meta"].tobytes())
    assert meta.pop("distances") is None and meta["format"] == 2
    meta["format"] = 1
    arrays["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), np.uint8)
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def test_a_format_1_state_still_reads_and_starts_warm(base, lists, first, monkeypatch):
    with mc.ProjectLedger(base) as led:
        state = led.warm_state()
    data = _as_format_1(state, monkeypatch)
    _assert_same_state(state, decode_warm_state(data))
    with sqlite3.connect(base) as c:  # the ledger's row in format 1, its identity kept
        c.execute("UPDATE warm_state SET data = ?, sha256 = ?, nbytes = ?",
                  (data, hashlib.sha256(data).hexdigest(), len(data)))
    cold_path = _cold_copy(base, "cold.db")
    needs = _changed(lists[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", MatchcoreWarning)
        with mc.ProjectLedger(base) as led:
            report = led.rematch(new_needs=needs, stickiness=0.1, **lists[2])
    with mc.ProjectLedger(cold_path) as led:
        cold = led.rematch(new_needs=needs, stickiness=0.1, **lists[2])
    assert report.started_from == "ledger"
    assert_same_plan(report.result, cold.result)


def test_the_format_1_fixture_written_by_the_old_code_decodes():
    # tests/data/make_warm_format1.py wrote it with the code before format 2.
    data = (Path(__file__).parent / "data" / "warm_state_format1_tiny.npz").read_bytes()
    state = WarmState.of(mc.match(*mc.synthetic.tiny(), max_distance=2000))
    _assert_same_state(state, decode_warm_state(data))


def test_the_lists_are_stored_whole_so_the_next_round_revalidates_them(first, monkeypatch):
    # seed_street's lists carry descriptions and providers: they are stored whole, so
    # a decoded state's lists are the validated lists, and the next round's validation
    # pairs the rows it repeats with them (as from the result in memory).
    back = decode_warm_state(encode_warm_state(WarmState.of(first)))
    for frame, kept in ((back.district.needs, first.district.needs),
                        (back.district.resources, first.district.resources)):
        assert "description" in frame.columns
        pd.testing.assert_frame_equal(frame, kept.reset_index(drop=True))
    needs = first.district.needs
    again = mc.schema.revalidate(needs, "needs", back.district.needs)
    assert (again.same_as >= 0).all()
    # A list Arrow cannot hold whole keeps the ids and what reuse compares; positions,
    # windows and units are in the arrays.
    real = warm_codec.frame_to_ipc
    monkeypatch.setattr(warm_codec, "frame_to_ipc", lambda f: None if "description"
                        in f.columns else real(f))
    back = decode_warm_state(encode_warm_state(WarmState.of(first)))
    for frame, kept in ((back.district.needs, first.district.needs),
                        (back.district.resources, first.district.resources)):
        assert set(frame.columns) <= warm_codec.COMPARED_COLUMNS
        columns = [c for c in kept.columns if c in warm_codec.COMPARED_COLUMNS]
        pd.testing.assert_frame_equal(frame, kept[columns].reset_index(drop=True))
    assert "lat" not in back.district.needs.columns
    # Lists of kept columns only are stored whole.
    monkeypatch.undo()
    needs, resources = (f[[c for c in f.columns if c in warm_codec.KEPT_COLUMNS]]
                        for f in (first.district.needs, first.district.resources))
    result = mc.match(needs, resources, max_distance=first.options.max_distance)
    back = decode_warm_state(encode_warm_state(WarmState.of(result)))
    pd.testing.assert_frame_equal(back.district.needs,
                                  result.district.needs.reset_index(drop=True))
    pd.testing.assert_frame_equal(back.district.resources,
                                  result.district.resources.reset_index(drop=True))


def test_a_fresh_ledger_revalidates_only_the_rows_that_changed(base, lists, monkeypatch):
    # From the stored state the next round's validation pairs every unchanged row with
    # the stored lists, as from the result in memory: only the changed rows are parsed;
    # and the last assignment's edges get the stickiness bonus by index.
    needs, _, opts = lists
    change = _changed(needs)
    seen = {}
    real = mc.pipeline.revalidate

    def spy(frame, table, validated, **kwargs):
        out = real(frame, table, validated, **kwargs)
        seen[table] = out.same_as
        return out

    def by_id(*args, **kwargs):
        raise AssertionError("the incumbent edges are found by index from the state")

    monkeypatch.setattr(mc.pipeline, "revalidate", spy)
    monkeypatch.setattr(mc.pipeline, "_incumbent_mask", by_id)
    with mc.ProjectLedger(base, keep_warm=True) as led:
        report = led.rematch(change, stickiness=0.1, **opts)
    assert report.started_from == "ledger"
    assert (seen["resources"] >= 0).all()
    fresh = int((seen["needs"] < 0).sum())
    assert 0 < fresh <= len(change)


def test_a_fresh_ledger_rematches_warm_like_memory_and_cold(base, lists, first, monkeypatch):
    needs, _, opts = lists
    change = _changed(needs)
    memory_path = _copy(base, "memory.db")
    cold_path = _cold_copy(base, "cold.db")
    seen = []
    import matchcore.pipeline as pipeline

    def spy(name):
        real = getattr(pipeline, name)

        def call(*args, **kwargs):
            out = real(*args, **kwargs)
            seen.append((name, out is not None))
            return out
        monkeypatch.setattr(pipeline, name, call)

    spy("reuse_candidates")
    spy("warm_start_of")
    with mc.ProjectLedger(base) as led:  # a new object on the file: no result in memory
        assert led.warm_info()["current"] is True
        warm = led.rematch(change, stickiness=0.1, **opts)
    # The stored graph was reused and the stored bases mapped onto the new round.
    assert seen == [("reuse_candidates", True), ("warm_start_of", True)]
    monkeypatch.undo()
    with mc.ProjectLedger(memory_path) as led:
        memory = led.rematch(change, stickiness=0.1, start=first, **opts)
    with mc.ProjectLedger(cold_path) as led:
        cold = led.rematch(change, stickiness=0.1, **opts)
    assert (warm.started_from, memory.started_from, cold.started_from) == (
        "ledger", "memory", "cold")
    assert_same_plan(warm.result, memory.result)
    assert_same_plan(warm.result, cold.result)
    assert warm.result.verify()
    for name in ("projects", "assignments"):
        got = {}
        for path in (base, memory_path, cold_path):
            with mc.ProjectLedger(path) as led:
                got[path] = getattr(led, name)().drop(
                    columns=["created_at", "updated_at"], errors="ignore")
        pd.testing.assert_frame_equal(got[base], got[cold_path], obj=name)
        pd.testing.assert_frame_equal(got[base], got[memory_path], obj=name)


def test_a_subprocess_rematches_warm_from_the_file(base, lists):
    needs, _, opts = lists
    change = _changed(needs, seed=5)
    change_path = base.with_name("change.parquet")
    change.to_parquet(change_path)
    cold_path = _cold_copy(base, "cold.db")
    code = (
        "import pandas as pd, matchcore as mc\n"
        f"led = mc.ProjectLedger({str(base)!r}, keep_warm=True)\n"
        f"r = led.rematch(pd.read_parquet({str(change_path)!r}), stickiness=0.1,"
        f" max_distance={opts['max_distance']!r})\n"
        "a = r.result.assignments[['need_id', 'resource_id', 'units']]\n"
        "a = a.sort_values(['need_id', 'resource_id'])\n"
        "print(r.started_from, bool(r.result.verify()), repr(r.result.objective['score']))\n"
        "print(a.to_csv(index=False))\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = (str(Path(mc.__file__).parent.parent) + os.pathsep
                         + env.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True, timeout=600)
    head, _, table = out.stdout.partition("\n")
    started, certified, score = head.split()
    assert (started, certified) == ("ledger", "True")
    with mc.ProjectLedger(base) as led:
        assert led.n_rounds == 2 and led.warm_info()["round"] == 2
    with mc.ProjectLedger(cold_path) as led:
        cold = led.rematch(change, stickiness=0.1, **opts)
    assert cold.started_from == "cold"
    assert table.strip() == assignment_pairs(cold.result).to_csv(index=False).strip()
    assert float(score) == cold.result.objective["score"]


def test_a_round_recorded_without_keep_warm_forgets_the_state(base, lists, first):
    with mc.ProjectLedger(base, keep_warm=False) as led:
        led.add_round(first)
        assert led.warm_info() is None and led.warm_state() is None
        report = led.rematch(stickiness=0.1, **lists[2])
    assert report.started_from == "cold"


def test_a_state_of_an_earlier_round_is_ignored(base, lists, first):
    with sqlite3.connect(base) as c:
        row = c.execute("SELECT * FROM warm_state").fetchone()
    with mc.ProjectLedger(base, keep_warm=False) as led:
        led.add_round(first)  # round 2, the state deleted
    with sqlite3.connect(base) as c:  # ... and round 1's put back (a stale state)
        c.execute("INSERT INTO warm_state VALUES (?,?,?,?,?,?,?)", row)
    with mc.ProjectLedger(base) as led:
        info = led.warm_info()
        assert info["round"] == 1 and info["current"] is False
        assert led.warm_state() is None
        assert led.rematch(stickiness=0.1, **lists[2]).started_from == "cold"


def test_a_state_whose_round_changed_is_ignored(base, lists):
    with sqlite3.connect(base) as c:  # same number, but not the round it was written with
        c.execute("UPDATE rounds SET created_at = '2020-01-01T00:00:00+00:00' WHERE round = 1")
    with mc.ProjectLedger(base) as led:
        assert led.warm_info()["current"] is False
        assert led.rematch(stickiness=0.1, **lists[2]).started_from == "cold"


def test_a_state_with_other_options_is_ignored(base, lists):
    with sqlite3.connect(base) as c:
        text = c.execute("SELECT match_options FROM rounds WHERE round = 1").fetchone()[0]
        c.execute("UPDATE rounds SET match_options = ? WHERE round = 1",
                  (text.replace('"max_distance": ', '"max_distance": 1'),))
    with mc.ProjectLedger(base) as led:
        assert led.warm_info()["current"] is False


@pytest.mark.parametrize("how", ["flipped", "rehashed", "empty"])
def test_a_corrupt_state_warns_and_rematches_cold(base, lists, how):
    with sqlite3.connect(base) as c:
        data = bytearray(c.execute("SELECT data FROM warm_state").fetchone()[0])
        if how == "empty":
            data = bytearray(b"x")
        else:
            data[len(data) // 3 : len(data) // 3 + 64] = b"\xff" * 64
        digest = c.execute("SELECT sha256 FROM warm_state").fetchone()[0]
        if how != "flipped":  # a checksum that holds over broken bytes
            digest = hashlib.sha256(bytes(data)).hexdigest()
        c.execute("UPDATE warm_state SET data = ?, sha256 = ?", (bytes(data), digest))
    cold_path = _cold_copy(base, "cold.db")
    with mc.ProjectLedger(base) as led:
        with pytest.warns(MatchcoreWarning, match="warm state of round 1 cannot be used"):
            report = led.rematch(stickiness=0.1, **lists[2])
    with mc.ProjectLedger(cold_path) as led:
        cold = led.rematch(stickiness=0.1, **lists[2])
    assert report.started_from == "cold"
    assert_same_plan(report.result, cold.result)


def _fails_writing_nothing(base: Path, lists, monkeypatch, module, name: str,
                           message: str) -> None:
    """A rematch whose ``module.name`` raises ``message`` leaves round 1 and its state."""
    needs, _, opts = lists

    def fails(*args, **kwargs):
        raise RuntimeError(message)

    monkeypatch.setattr(module, name, fails)
    with mc.ProjectLedger(base, keep_warm=True) as led:
        with pytest.raises(RuntimeError, match=message):
            led.rematch(_changed(needs), stickiness=0.1, **opts)
        # The round and its state were one transaction: neither was written.
        assert led.n_rounds == 1
        assert led.warm_info() == {**led.warm_info(), "round": 1, "current": True}
    monkeypatch.undo()


def test_an_interrupted_rematch_leaves_round_and_state_together(base, lists, monkeypatch):
    needs, _, opts = lists
    _fails_writing_nothing(base, lists, monkeypatch, store, "write_warm", "power cut")
    real = store.record_rematch

    def then_fails(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("crash after the rows")

    monkeypatch.setattr(store, "record_rematch", then_fails)
    with mc.ProjectLedger(base, keep_warm=True) as led:
        with pytest.raises(RuntimeError, match="crash after the rows"):
            led.rematch(_changed(needs), stickiness=0.1, **opts)
        assert led.n_rounds == 1 and led.warm_info()["current"] is True
    monkeypatch.undo()
    with mc.ProjectLedger(base, keep_warm=True) as led:
        report = led.rematch(_changed(needs), stickiness=0.1, **opts)
        assert report.started_from == "ledger"
        assert led.warm_info() == {**led.warm_info(), "round": 2, "current": True}


def _stored(path: Path) -> tuple[int, str, bytes]:
    with sqlite3.connect(path) as c:
        return c.execute("SELECT round, sha256, data FROM warm_state").fetchone()


@pytest.mark.parametrize("which", ["this round's", "another round's", "another result's"])
def test_a_state_encoded_in_the_background_is_the_one_encoded_in_the_round(
        tmp_path, lists, first, which):
    # What the thread encoded is stored only when it is this result's, for this
    # round; otherwise the round encodes it itself. The bytes are the same either way.
    other = mc.match(*lists[:2], **{**lists[2], "max_distance": lists[2]["max_distance"] / 2})
    encoding = {"this round's": warm.WarmEncoding(first, 1),
                "another round's": warm.WarmEncoding(first, 2),
                "another result's": warm.WarmEncoding(other, 1)}[which]
    stored = []
    for name, handed in (("given.db", encoding), ("plain.db", None)):
        with mc.ProjectLedger(tmp_path / name, keep_warm=True) as led:
            with led._write() as c:
                record.record_round(c, first, by=None, rematch=False, backups=3)
                written = warm.write_warm(c, 1, first, handed)
        assert written[0] > 0
        stored.append(_stored(tmp_path / name))
    assert stored[0][1:] == stored[1][1:]
    assert stored[0][1] == hashlib.sha256(stored[0][2]).hexdigest()


def test_an_encoding_error_in_the_thread_fails_the_round(base, lists, monkeypatch):
    # The thread's error is the round's: raised in its transaction, nothing written.
    _fails_writing_nothing(base, lists, monkeypatch, warm, "encode_warm_state",
                           "disk of the thread")


def test_a_state_decoded_in_the_background_is_the_one_read_in_place(base):
    with sqlite3.connect(base) as c:
        here = warm.read_warm(c)
        thread = warm.start_reading(c, str(base))
        assert thread is not None
        _assert_same_state(here, thread.state())


def test_rounds_chain_warm_across_processes(base, lists):
    needs, _, opts = lists
    for k, rnd in enumerate((2, 3)):
        with mc.ProjectLedger(base, keep_warm=True) as led:
            report = led.rematch(_changed(needs, seed=10 + k), stickiness=0.1, **opts)
        assert (report.round, report.started_from) == (rnd, "ledger")
        assert report.result.verify()
    with mc.ProjectLedger(base) as led:
        assert led.warm_info()["round"] == 3


def test_a_dry_run_starts_from_the_state_and_writes_nothing(base, lists):
    needs, _, opts = lists
    before = base.read_bytes()
    with mc.ProjectLedger(base, keep_warm=True) as led:
        report = led.rematch(_changed(needs), stickiness=0.1, dry_run=True, **opts)
        assert led.n_rounds == 1
    assert report.started_from == "ledger" and report.result.verify()
    with sqlite3.connect(base) as c:
        assert c.execute("SELECT round FROM warm_state").fetchone() == (1,)
        assert c.execute("SELECT count(*) FROM rounds").fetchone() == (1,)
    assert len(before)


def test_a_dropped_resource_rematches_warm(base, lists, first):
    _, _, opts = lists
    dropped = str(first.assignments.groupby("resource_id")["units"].sum().idxmax())
    cold_path = _cold_copy(base, "cold.db")
    with mc.ProjectLedger(base) as led:
        warm = led.rematch(stickiness=0.1, dropped_resources=[dropped], **opts)
    with mc.ProjectLedger(cold_path) as led:
        cold = led.rematch(stickiness=0.1, dropped_resources=[dropped], **opts)
    assert (warm.started_from, cold.started_from) == ("ledger", "cold")
    assert_same_plan(warm.result, cold.result)


def test_keep_warm_is_the_default(tmp_path, first):
    with mc.ProjectLedger(tmp_path / "l.db") as led:
        assert led.keep_warm is True
        led.add_round(first)
        assert led.warm_info()["round"] == 1 and led.last_warm_write[0] > 0


def test_keep_warm_must_be_a_bool(tmp_path):
    with pytest.raises(mc.InputError, match="keep_warm"):
        mc.ProjectLedger(tmp_path / "l.db", keep_warm="yes")


def test_a_version_6_ledger_migrates_and_keeps_warm(tmp_path, first, lists):
    path = tmp_path / "v6.db"
    with mc.ProjectLedger(path) as led:
        led.add_round(first)
    with sqlite3.connect(path) as c:  # as version 6 left it: no warm_state table
        c.execute("DROP TABLE warm_state")
        for table in ("projects", "assignments"):  # nor version 8's live rows
            for when in ("insert", "update", "delete"):
                c.execute(f"DROP TRIGGER {table}_touch_{when}")
        c.execute("DROP TABLE live_snapshot")
        c.execute("DROP TABLE live_touched")
        c.execute("PRAGMA user_version = 6")
    with mc.ProjectLedger(path, keep_warm=True) as led:
        assert led._conn.execute("PRAGMA user_version").fetchone()[0] == 8
        assert led.warm_info() is None
        report = led.rematch(stickiness=0.1, **lists[2])
        assert report.started_from == "cold"
        assert led.warm_info()["round"] == 2
    with mc.ProjectLedger(path) as led:
        assert led.rematch(stickiness=0.1, **lists[2]).started_from == "ledger"


def test_a_ledger_without_the_table_keeps_working(tmp_path, first, lists):
    """A file whose table is gone (a foreign tool dropped it) reads and writes as before."""
    path = tmp_path / "l.db"
    with mc.ProjectLedger(path, keep_warm=True) as led:
        led.add_round(first)
    with sqlite3.connect(path) as c:
        c.execute("DROP TABLE warm_state")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with mc.ProjectLedger(path, keep_warm=True) as led:
            assert led.warm_state() is None
            report = led.rematch(stickiness=0.1, **lists[2])
            assert report.started_from == "cold" and led.last_warm_write[0] == 0


@pytest.mark.parametrize("kind", ["forbid", "max_candidates"])
def test_rounds_with_a_cut_graph_keep_a_state_that_starts_the_solve(tmp_path, lists, kind):
    """A forbidden pair or max_candidates cuts the graph: the state's bases still start
    the next solve (its edges are not reused), and the result is the cold one."""
    needs, resources, opts = lists
    first = mc.match(needs, resources, **opts)
    extra: dict = {}
    if kind == "forbid":
        a = first.assignments.iloc[:3]
        extra["forbid"] = a[["need_id", "resource_id"]].reset_index(drop=True)
    else:
        opts = {**opts, "max_candidates": 5}
    path = tmp_path / "l.db"
    with mc.ProjectLedger(path) as led:
        led.add_round(first)
        led.rematch(stickiness=0.1, **extra, **opts)  # round 2: its state has the cut graph
    cold_path = _cold_copy(path, "cold.db")
    with mc.ProjectLedger(path) as led:
        state = led.warm_state()
        assert state is not None and state.round == 2
        if kind == "forbid":
            assert state.forbidden is not None and len(state.forbidden) == 3
        warm = led.rematch(_changed(needs), stickiness=0.1, **extra, **opts)
    with mc.ProjectLedger(cold_path) as led:
        cold = led.rematch(_changed(needs), stickiness=0.1, **extra, **opts)
    assert (warm.started_from, cold.started_from) == ("ledger", "cold")
    assert_same_plan(warm.result, cold.result)
    assert warm.result.verify()


def test_a_state_whose_list_snapshot_changed_is_ignored(base, lists):
    with sqlite3.connect(base) as c:  # same round, same length, other bytes
        data = bytearray(c.execute(
            "SELECT data FROM list_snapshots WHERE list = 'needs'").fetchone()[0])
        data[-1] ^= 1
        c.execute("UPDATE list_snapshots SET data = ? WHERE list = 'needs'", (bytes(data),))
    with mc.ProjectLedger(base) as led:
        assert led.warm_info()["current"] is False and led.warm_state() is None


def test_reading_a_state_never_unpickles(base, monkeypatch):
    import pickle

    def refuse(*args, **kwargs):
        raise AssertionError("a warm state must load without pickle")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    with mc.ProjectLedger(base) as led:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a refused unpickle would show as a warning
            state = led.warm_state()
    assert state is not None and state.round == 1
