"""Schema 6: the last round's lists kept as a binary snapshot, exactly as matched.

A rematch plans from the snapshot and finds the changed rows on frames; the JSON rows
stay the history that public reads rebuild, so both paths must store the same rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import matchcore as mc
from matchcore.ledger.lists import changed_rows, read_snapshot, write_snapshot


def _district(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    cats = np.array(["repair", "elderly_care", "medical"])
    needs = pd.DataFrame({
        "need_id": [f"N{k:02d}" for k in range(14)],
        "category": cats[rng.integers(0, 3, 14)],
        "demand": rng.integers(1, 4, 14),
        # Floats that JSON with 10 decimals would not give back exactly.
        "x": rng.uniform(0, 1000, 14) + 1 / 3,
        "y": rng.uniform(0, 1000, 14) + 1e-13,
        "priority": rng.integers(1, 6, 14),
        "description": rng.choice(["水管", None, '},{"x"', "a\nb"], 14),
    })
    resources = pd.DataFrame({
        "resource_id": [f"R{k}" for k in range(6)],
        "category": cats[rng.integers(0, 3, 6)],
        "capacity": rng.integers(1, 5, 6),
        "x": rng.uniform(0, 1000, 6) + 2 / 3,
        "y": rng.uniform(0, 1000, 6),
    })
    return needs, resources


def _snapshot(led: mc.ProjectLedger, table: str) -> pd.DataFrame | None:
    return read_snapshot(led._conn, table, led.n_rounds)  # type: ignore[arg-type]


def test_snapshot_reads_back_the_lists_matched_bit_for_bit(tmp_path):
    needs, resources = _district(0)
    with mc.ProjectLedger(tmp_path / "l.db") as led:
        first = mc.match(needs, resources, max_distance=600)
        led.add_round(first)
        for table, frame in (("needs", first.district.needs),
                             ("resources", first.district.resources)):
            snap = _snapshot(led, table)
            assert snap is not None
            pd.testing.assert_frame_equal(snap, frame.reset_index(drop=True), check_exact=True)
            for name in frame.columns:
                if frame[name].dtype.kind == "f":
                    assert np.array_equal(snap[name].to_numpy().view(np.int64),
                                          frame[name].to_numpy().view(np.int64))
        # The JSON rows, read back by the public API, are not exact: the snapshot is.
        assert not np.array_equal(led.needs(1)["x"].to_numpy(),
                                  np.sort(first.district.needs["x"].to_numpy()))
        change = needs.iloc[[2]].assign(demand=9)
        report = led.rematch(new_needs=change)
        snap = _snapshot(led, "needs")
        assert snap is not None
        pd.testing.assert_frame_equal(snap, report.result.district.needs.reset_index(drop=True),
                                      check_exact=True)
        # One row changed, one row stored for it.
        n = led._conn.execute("SELECT count(*) FROM needs WHERE round = 2").fetchone()[0]
        assert n == 1
        # One row of 14 changed: the needs' round-1 snapshot stays, with a delta.
        assert dict(led._conn.execute("SELECT list, round FROM list_snapshots")) == {
            "needs": 1, "needs.delta": 2, "resources": 1}


def _drop_snapshots(led: mc.ProjectLedger) -> None:
    with led._conn:
        led._conn.execute("DELETE FROM list_snapshots")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_snapshot_and_text_paths_store_the_same_rows(tmp_path, seed):
    """A ledger that loses its snapshots (the JSON path) records the same history."""
    needs, resources = _district(seed)
    needs = needs.assign(x=needs["x"].round(1), y=needs["y"].round(1))
    resources = resources.assign(x=resources["x"].round(1))
    reads = []
    for name, drop in (("a.db", False), ("b.db", True)):
        with mc.ProjectLedger(tmp_path / name) as led:
            led.add_round(mc.match(needs, resources, max_distance=600))
            steps = [
                dict(new_needs=needs.iloc[[1, 4]].assign(demand=3, description="新")),
                dict(dropped_resources=["R1"]),
                dict(new_resources=resources.iloc[[1]].assign(capacity=2),
                     new_needs=pd.DataFrame({"need_id": ["N99"], "category": ["repair"],
                                             "demand": [2], "x": [500.0], "y": [500.0]})),
            ]
            for kw in steps:
                if drop:
                    _drop_snapshots(led)
                led.rematch(**kw)
            reads.append({
                **{f"needs_{r}": led.needs(r) for r in range(1, led.n_rounds + 1)},
                **{f"resources_{r}": led.resources(r) for r in range(1, led.n_rounds + 1)},
                # Without snapshots the lists come back from JSON (10 decimals): the
                # scores differ in the last bits, so the kept projects are rescored
                # (updated_round) where the snapshot path writes nothing for them.
                "projects": led.projects().drop(
                    columns=["created_at", "updated_at", "updated_round"]),
                "assignments": led.assignments(),
                "rows": pd.DataFrame(led._conn.execute(
                    "SELECT round, need_id, data FROM needs ORDER BY round, need_id").fetchall()),
                "closed": pd.DataFrame(led._conn.execute(
                    "SELECT * FROM closed_rows ORDER BY round, list, id").fetchall()),
            })
    for name, frame in reads[0].items():
        pd.testing.assert_frame_equal(frame, reads[1][name], obj=name)


def test_a_list_arrow_cannot_hold_has_no_snapshot_and_still_rematches(tmp_path):
    needs, resources = _district(3)
    # A pass-through column mixing numbers and text: no exact Arrow column for it.
    needs["tag"] = pd.Series([1, "a"] * 7, dtype=object)
    with mc.ProjectLedger(tmp_path / "l.db") as led:
        led.add_round(mc.match(needs, resources, max_distance=600))
        assert _snapshot(led, "needs") is None
        assert _snapshot(led, "resources") is not None
        report = led.rematch(new_needs=needs.iloc[[0]].assign(demand=2))
        assert report.result.verify()
        assert led.needs(2)["tag"].tolist() == led.needs(1)["tag"].tolist()


def test_a_failed_rematch_leaves_the_last_rounds_snapshot(tmp_path, monkeypatch):
    needs, resources = _district(4)
    with mc.ProjectLedger(tmp_path / "l.db") as led:
        first = mc.match(needs, resources, max_distance=600)
        led.add_round(first)
        import matchcore.ledger.record as record

        def boom(*args, **kwargs):
            raise mc.MatchcoreError("boom")

        monkeypatch.setattr(record, "check_capacity", boom)
        with pytest.raises(mc.MatchcoreError, match="boom"):
            led.rematch(new_needs=needs.iloc[[0]].assign(demand=3))
        assert led.n_rounds == 1
        rounds = led._conn.execute("SELECT DISTINCT round FROM list_snapshots").fetchall()
        assert rounds == [(1,)]
        snap = _snapshot(led, "needs")
        assert snap is not None
        pd.testing.assert_frame_equal(snap, first.district.needs.reset_index(drop=True))


def test_write_and_read_snapshot_round_trip_dtypes(tmp_path):
    import sqlite3

    c = sqlite3.connect(":memory:")
    c.execute("CREATE TABLE list_snapshots (list TEXT PRIMARY KEY, round INTEGER NOT NULL,"
              " data BLOB NOT NULL)")
    frame = pd.DataFrame({
        "need_id": pd.Series(["N1", "N2"], dtype=object),
        "text": pd.Series([None, "水"], dtype=object),
        "x": [0.1 + 0.2, np.nan],
        "t": pd.to_datetime(["2026-03-01 09:30", None]),
        "k": pd.array([1, None], dtype="Int64"),
    })
    assert write_snapshot(c, "needs", 3, frame)
    back = read_snapshot(c, "needs", 3)
    assert back is not None
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert read_snapshot(c, "needs", 2) is None
    # A list Arrow cannot hold removes the old snapshot: no stale one is read.
    assert not write_snapshot(c, "needs", 4, frame.assign(text=[1, "a"]))
    assert read_snapshot(c, "needs", 3) is None


def test_changed_rows_compares_floats_bit_for_bit_and_missing_as_equal():
    before = pd.DataFrame({"need_id": ["N1", "N2", "N3"], "x": [0.3, np.nan, 1.0],
                           "d": pd.Series([None, "a", np.nan], dtype=object)})
    frame = pd.DataFrame({"need_id": ["N3", "N1", "N2", "N4"],
                          "x": [1.0, 0.1 + 0.2, np.nan, 2.0],
                          "d": pd.Series([None, None, "a", None], dtype=object)})
    assert changed_rows(frame, before, "need_id").tolist() == [False, True, False, True]
    assert changed_rows(frame.assign(extra=1), before, "need_id") is None


def test_an_unchanged_list_keeps_its_snapshot_for_the_next_rounds(tmp_path):
    """A round whose list did not change does not encode it again: the last snapshot
    stands for it (a meta row says so) and reads back as the round's list, exactly."""
    needs, resources = _district(5)
    with mc.ProjectLedger(tmp_path / "l.db") as led:
        first = mc.match(needs, resources, max_distance=600)
        led.add_round(first)
        q = led._conn.execute

        def written():
            return dict(q("SELECT list, round FROM list_snapshots").fetchall())

        assert written() == {"needs": 1, "resources": 1}
        # Round 2 changes a need only (a delta of the needs' round-1 snapshot), round 3
        # nothing: the resources' bytes stay round 1's, the needs' round 1's and 2's.
        r2 = led.rematch(new_needs=needs.iloc[[2]].assign(demand=3))
        assert written() == {"needs": 1, "needs.delta": 2, "resources": 1}
        r3 = led.rematch()
        assert written() == {"needs": 1, "needs.delta": 2, "resources": 1}
        for table, frame in (("needs", r3.result.district.needs),
                             ("resources", r3.plan.full_resources)):
            snap = read_snapshot(led._conn, table, 3)
            assert snap is not None
            pd.testing.assert_frame_equal(snap, frame.reset_index(drop=True), check_exact=True)
        # It stands for the round that wrote it and the last one: round 2, which the
        # resources' meta row does not name, reads None (the rows tell it instead).
        assert read_snapshot(led._conn, "resources", 2) is None
        assert read_snapshot(led._conn, "needs", 2) is not None
        # Round 4 changes the resources: a delta of them, the meta row is stale.
        led.rematch(new_resources=resources.iloc[[0]].assign(capacity=9))
        assert written() == {"needs": 1, "needs.delta": 2, "resources": 1,
                             "resources.delta": 4}
        assert read_snapshot(led._conn, "needs", 4) is not None
        assert read_snapshot(led._conn, "resources", 3) is None
        assert r2.round == 2


@pytest.mark.parametrize("k", [1, 3])
def test_backups_of_some_needs_are_those_rows_of_all_backups(k):
    needs, resources = mc.synthetic.district("seed_street", seed=0)
    r = mc.match(needs, resources,
                 max_distance=mc.synthetic.suggested_max_distance("seed_street"))
    every = r.backups(k)
    ids = sorted(set(every["need_id"].astype(str)))
    some = set(ids[::3]) | {"no-such-need"}
    want = every[every["need_id"].astype(str).isin(some)].reset_index(drop=True)
    got = r.backups(k, needs=some)
    pd.testing.assert_frame_equal(got, want)
    assert len(got) and len(r.backups(k, needs=set())) == 0
    with pytest.raises(mc.InputError, match="collection of need ids"):
        r.backups(k, needs="N1")


def test_capacities_of_a_stored_list_skip_missing_ones():
    from matchcore.ledger.record import _capacities

    frame = pd.DataFrame({"resource_id": ["R1", "R2", 3, "R4"],
                          "capacity": [2, None, "5", 7.0]})
    assert _capacities(frame) == {"R1": 2, "3": 5, "R4": 7}
    assert all(type(v) is int for v in _capacities(frame).values())
    assert _capacities(frame.iloc[:0]) == {}


def test_capacities_keep_exact_integers_and_missing_values_out():
    from matchcore.ledger.record import _capacities

    big = 2**62 + 1
    assert _capacities(pd.DataFrame({"resource_id": ["R1", "R2"], "capacity": [big, 3]})) \
        == {"R1": big, "R2": 3}
    frame = pd.DataFrame({"resource_id": ["R1", "R2"],
                          "capacity": pd.array([4, None], dtype="Int64")})
    assert _capacities(frame) == {"R1": 4}


def test_changed_rows_of_the_same_ids_in_order_and_not():
    before = pd.DataFrame({"need_id": ["N1", "N2", "N3"], "x": [1.0, 2.0, 3.0]})
    same_order = pd.DataFrame({"need_id": ["N1", "N2", "N3"], "x": [1.0, 2.5, 3.0]})
    assert changed_rows(same_order, before, "need_id").tolist() == [False, True, False]
    other_order = same_order.iloc[::-1].reset_index(drop=True)
    assert changed_rows(other_order, before, "need_id").tolist() == [False, True, False]
    twice = pd.DataFrame({"need_id": ["N1", "N1", "N3"], "x": [1.0, 2.0, 3.0]})
    assert changed_rows(twice, twice, "need_id") is None
