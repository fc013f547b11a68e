"""Schema 8 (the live rows' snapshot): patched with the touched projects, it reads back
exactly what SQL reads, after any sequence of ledger operations."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matchcore as mc
from conftest import examples
from matchcore.ledger.live import read_rows
from matchcore.ledger.state import read_state


def _district(seed: int, n_needs: int = 12) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    cats = np.array(["repair", "elderly_care"])
    needs = pd.DataFrame({
        "need_id": [f"N{k:02d}" for k in range(n_needs)],
        "category": cats[rng.integers(0, 2, n_needs)],
        "demand": rng.integers(1, 4, n_needs),
        "x": rng.uniform(0, 800, n_needs),
        "y": rng.uniform(0, 800, n_needs),
        "priority": rng.integers(1, 6, n_needs),
        "community": rng.choice(["东湖社区", "西湖社区"], n_needs),
    })
    resources = pd.DataFrame({
        "resource_id": [f"R{k}" for k in range(5)],
        "category": cats[rng.integers(0, 2, 5)],
        "capacity": rng.integers(1, 5, 5),
        "x": rng.uniform(0, 800, 5),
        "y": rng.uniform(0, 800, 5),
        "provider": ["物业", "志愿者", "党员", "物业", "企业"],
    })
    return needs, resources


def _read(path, dropped=()) -> tuple:
    """(live rows, state) as the snapshot gives them and as SQL alone gives them."""
    c = sqlite3.connect(path, isolation_level=None)
    try:
        c.execute("BEGIN")
        patched = read_rows(c), read_state(c, list(dropped))
        c.execute("DELETE FROM live_snapshot")  # rolled back below
        fresh = read_rows(c), read_state(c, list(dropped))
        c.execute("ROLLBACK")
    finally:
        c.close()
    return patched, fresh


def _same_arrays(got: list[np.ndarray], want: list[np.ndarray], name: str) -> None:
    assert len(got) == len(want), name
    for k, (a, b) in enumerate(zip(got, want)):
        assert a.dtype == b.dtype, (name, k)
        # Same values of the same Python types (2 is not 2.0, None is not NaN).
        assert [(type(v), v) for v in a.tolist()] == [(type(v), v) for v in b.tolist()], \
            (name, k)


def _check(path, dropped=()) -> None:
    (rows, state), (rows0, state0) = _read(path, dropped)
    _same_arrays(rows.assignments, rows0.assignments, "assignments")
    _same_arrays(rows.projects, rows0.projects, "projects")
    pd.testing.assert_frame_equal(state.live, state0.live)
    pd.testing.assert_frame_equal(state.projects, state0.projects)
    assert list(state.used.items()) == list(state0.used.items())
    assert state.recorded is not None and state0.recorded is not None
    assert state.recorded.keys() == state0.recorded.keys()
    for key in state.recorded:
        _same_arrays(state.recorded[key], state0.recorded[key], key)


OPS = st.lists(
    st.tuples(st.sampled_from(["rematch", "drop", "status", "claim", "release", "owner",
                               "add_round", "raw"]),
               st.integers(0, 10**6)),
    min_size=1, max_size=6,
)


@settings(max_examples=8)
@given(seed=st.integers(0, 50), ops=OPS)
def test_the_patched_snapshot_is_what_sql_reads(tmp_path_factory, seed, ops):
    path = tmp_path_factory.mktemp("live") / "l.db"
    needs, resources = _district(seed)
    with mc.ProjectLedger(path, keep_warm=False) as led:
        led.add_round(mc.match(needs, resources, max_distance=600))
        _check(path)
        for op, k in ops:
            rng = np.random.default_rng(k)
            projects = led.projects()
            live = projects[projects["status"].isin(["not_started", "in_progress"])]
            try:
                if op == "rematch":
                    rows = needs.sample(2, random_state=k).assign(
                        demand=lambda f: f["demand"] % 3 + 1)
                    new = rows.iloc[:1].assign(need_id=f"X{k}")
                    led.rematch(pd.concat([rows, new], ignore_index=True),
                                stickiness=0.1, as_of="2026-03-02")
                elif op == "drop":
                    gone = set(led._conn.execute(
                        "SELECT resource_id FROM dropped_resources"
                        " WHERE returned_round IS NULL").fetchall())
                    left = [r for r in resources["resource_id"] if (r,) not in gone]
                    if left:
                        led.rematch(dropped_resources=[left[k % len(left)]], as_of="2026-03-02")
                elif op == "status" and len(live):
                    row = live.iloc[k % len(live)]
                    to = {"not_started": ["in_progress", "cancelled"],
                          "in_progress": ["completed", "cancelled"]}[row["status"]]
                    led.set_status(row["project_id"], to[k % 2])
                elif op == "claim":
                    a = led.assignments()
                    if len(a):
                        row = a.iloc[k % len(a)]
                        led.claim(row["need_id"], row["resource_id"], as_of="2026-03-01")
                elif op == "release":
                    open_ = led.claims("open")
                    if len(open_):
                        led.release_claim(int(open_["claim_id"].iloc[k % len(open_)]))
                elif op == "owner" and len(live):
                    led.assign(live["project_id"].iloc[k % len(live)], owner="王", due="2030-01-01")
                elif op == "add_round":
                    more = needs.assign(demand=rng.integers(1, 4, len(needs)))
                    led.add_round(mc.match(more, resources, max_distance=600))
                elif op == "raw" and len(live):
                    # A write that no ProjectLedger method makes: the triggers see it too.
                    pid = live["project_id"].iloc[k % len(live)]
                    with sqlite3.connect(path) as raw:
                        raw.execute("UPDATE assignments SET units = units + 1"
                                    " WHERE project_id = ?", (pid,))
            except mc.MatchcoreError:
                pass  # a refused operation writes nothing: the check below still holds
            _check(path)
            assert led._conn.execute("SELECT count(*) FROM live_snapshot").fetchone()[0] == 1


def test_a_status_change_patches_the_snapshot_with_one_project(tmp_path):
    path = tmp_path / "l.db"
    needs, resources = _district(3)
    with mc.ProjectLedger(path, keep_warm=False) as led:
        led.add_round(mc.match(needs, resources, max_distance=600))
        assert led._conn.execute("SELECT count(*) FROM live_touched").fetchone() == (0,)
        pid = led.projects()["project_id"].iloc[0]
        led.set_status(pid, "in_progress")
        assert led._conn.execute("SELECT project_id FROM live_touched").fetchall() == [(pid,)]
        _check(path)
        led.rematch(stickiness=0.1)
        # The round wrote a new snapshot: nothing stands between it and the rows.
        assert led._conn.execute("SELECT count(*) FROM live_touched").fetchone() == (0,)
        _check(path)


def test_a_damaged_snapshot_is_read_from_sql(tmp_path):
    path = tmp_path / "l.db"
    needs, resources = _district(4)
    with mc.ProjectLedger(path, keep_warm=False) as led:
        led.add_round(mc.match(needs, resources, max_distance=600))
        want = led.projects()
    with sqlite3.connect(path) as c:
        c.execute("UPDATE live_snapshot SET assignments = x'00ff'")
    (rows, _), (rows0, _) = _read(path)
    _same_arrays(rows.assignments, rows0.assignments, "assignments")
    with mc.ProjectLedger(path, keep_warm=False) as led:
        report = led.rematch(new_needs=needs.iloc[[0]].assign(demand=3))
        assert report.result.verify()
        assert set(want["project_id"]) <= set(led.projects()["project_id"])
    _check(path)


def test_a_version_7_ledger_migrates_and_reads_the_same_state(tmp_path):
    path = tmp_path / "v7.db"
    needs, resources = _district(5)
    with mc.ProjectLedger(path, keep_warm=False) as led:
        led.add_round(mc.match(needs, resources, max_distance=600))
        led.set_status(led.projects()["project_id"].iloc[0], "in_progress")
        before = led.projects(), led.assignments()
    with sqlite3.connect(path) as c:  # as version 7 left it
        for table in ("projects", "assignments"):
            for when in ("insert", "update", "delete"):
                c.execute(f"DROP TRIGGER {table}_touch_{when}")
        c.execute("DROP TABLE live_snapshot")
        c.execute("DROP TABLE live_touched")
        c.execute("PRAGMA user_version = 7")
    with mc.ProjectLedger(path, keep_warm=False) as led:
        assert led._conn.execute("PRAGMA user_version").fetchone()[0] == 8
        pd.testing.assert_frame_equal(led.projects(), before[0])
        pd.testing.assert_frame_equal(led.assignments(), before[1])
        assert led._conn.execute("SELECT count(*) FROM live_snapshot").fetchone() == (0,)
        _check(path)
        assert led.rematch(stickiness=0.1).result.verify()
        assert led._conn.execute("SELECT count(*) FROM live_snapshot").fetchone() == (1,)
    _check(path)


@pytest.mark.parametrize("value", [2.5, "two"])
def test_rows_arrow_cannot_hold_exactly_leave_no_snapshot(tmp_path, value):
    """A project column holding an integer in one row and something else in another
    (SQLite keeps what it is given) is not kept as a snapshot: readers use SQL."""
    path = tmp_path / "l.db"
    needs, resources = _district(6)
    with mc.ProjectLedger(path, keep_warm=False) as led:
        led.add_round(mc.match(needs, resources, max_distance=600))
        pid = led.projects()["project_id"].iloc[0]
        led.set_status(pid, "in_progress")  # a rematch keeps its row as it is
        with sqlite3.connect(path) as raw:
            raw.execute("UPDATE projects SET demand = ? WHERE project_id = ?", (value, pid))
        _check(path)
        led.rematch(stickiness=0.1)
        assert led._conn.execute("SELECT count(*) FROM live_snapshot").fetchone() == (0,)
        _check(path)


@settings(max_examples=examples(60), deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 6), st.integers(1, 5)), max_size=40),
       caps=st.dictionaries(st.integers(0, 8), st.integers(0, 12), max_size=9),
       asked=st.sets(st.integers(0, 8)))
def test_overfilled_is_a_plain_sum_per_resource(rows, caps, asked):
    """The capacity check's one-pass sums against a plain loop over the rows."""
    from matchcore.ledger.live import ASSIGNMENT_COLUMNS, LiveRows, overfilled

    n = len(rows)
    cols = [np.empty(n, dtype=object) for _ in ASSIGNMENT_COLUMNS]
    cols[2][:] = [f"R{r}" for r, _ in rows]
    cols[3][:] = [u for _, u in rows]  # ints, as SQLite returns them
    live = LiveRows(cols, [np.empty(0, dtype=object) for _ in range(11)])
    capacity = {f"R{r}": c for r, c in caps.items()}
    resources = {f"R{r}" for r in asked}
    used: dict[str, int] = {}
    for r, u in rows:
        used[f"R{r}"] = used.get(f"R{r}", 0) + u
    want = sorted((r, u, capacity[r]) for r, u in used.items()
                  if r in resources and r in capacity and u > capacity[r])
    assert overfilled(live, capacity, resources) == want
