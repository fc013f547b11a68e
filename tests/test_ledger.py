"""ProjectLedger: statuses, durability, concurrency, crash safety, export, rematch."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sqlite3
import time

import pandas as pd
import pytest

import matchcore as mc

CTX = mp.get_context("fork")


@pytest.fixture
def ledger(tmp_path):
    led = mc.ProjectLedger(tmp_path / "l.db")
    led.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
    yield led
    led.close()


def test_add_round_stores_projects_not_started(ledger):
    p = ledger.projects()
    assert p["project_id"].tolist() == ["P-N1", "P-N2", "P-N3"]
    assert set(p["status"]) == {"not_started"}
    assert ledger.assignments()["units"].sum() == p["assigned"].sum()


@pytest.mark.parametrize(
    "path",
    [
        ["in_progress"],
        ["in_progress", "completed"],
        ["cancelled"],
        ["in_progress", "cancelled"],
    ],
)
def test_valid_transitions(ledger, path):
    for status in path:
        ledger.set_status("P-N1", status, by="王芳", note="ok")
    assert ledger.projects().set_index("project_id").at["P-N1", "status"] == path[-1]
    assert ledger.history("P-N1")["to_status"].tolist() == ["not_started", *path]


@pytest.mark.parametrize(
    "path, bad",
    [
        (["in_progress", "completed"], "in_progress"),
        (["in_progress", "completed"], "cancelled"),
        (["cancelled"], "in_progress"),
        (["in_progress"], "not_started"),
        ([], "completed"),
        ([], "not_started"),
    ],
)
def test_invalid_transitions_name_project_and_statuses(ledger, path, bad):
    for status in path:
        ledger.set_status("P-N1", status)
    current = path[-1] if path else "not_started"
    with pytest.raises(mc.InputError) as err:
        ledger.set_status("P-N1", bad)
    msg = str(err.value)
    assert "P-N1" in msg and repr(current) in msg and repr(bad) in msg
    assert len(ledger.history("P-N1")) == len(path) + 1


def test_unknown_status_and_project(ledger):
    with pytest.raises(mc.InputError, match=r"'P-N1'.*'not_started'") as err:
        ledger.set_status("P-N1", "done")
    assert "'done'" in str(err.value)
    with pytest.raises(mc.InputError, match=r"unknown project 'P-X'.*'in_progress'"):
        ledger.set_status("P-X", "in_progress")


def test_reopen_keeps_state(tmp_path):
    path = tmp_path / "l.db"
    with mc.ProjectLedger(path) as led:
        led.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        led.set_status("P-N2", "in_progress", by="a")
        before = led.projects()
    with mc.ProjectLedger(path) as led:
        pd.testing.assert_frame_equal(led.projects(), before)
        assert led.n_rounds == 1
        assert led.history()["to_status"].tolist()[-1] == "in_progress"
        assert "set_status" in led.audit()["action"].tolist()


def test_foreign_and_garbage_files(tmp_path):
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(mc.InputError, match="not a matchcore ledger"):
        mc.ProjectLedger(foreign)
    text = tmp_path / "notes.txt"
    text.write_text("需求清单\n" * 100, encoding="utf-8")
    with pytest.raises(mc.InputError, match="not an SQLite database"):
        mc.ProjectLedger(text)


def test_truncated_ledger(tmp_path):
    path = tmp_path / "l.db"
    with mc.ProjectLedger(path) as led:
        led.add_round(mc.match(*mc.synthetic.district("seed_street", seed=0),
                               max_distance=mc.synthetic.suggested_max_distance("seed_street")))
    conn = sqlite3.connect(path)  # fold the WAL into the main file before cutting it
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = path.read_bytes()
    assert len(data) > 8192
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(mc.InputError, match="matchcore ledger"):
        led = mc.ProjectLedger(path)
        led.projects()


def _worker(path, pids, n):
    led = mc.ProjectLedger(path)
    for i in range(n):
        pid = pids[i % len(pids)]
        # Alternate a status move with an audit-only write on the same project.
        if i == 0:
            led.set_status(pid, "in_progress", by=str(os.getpid()))
        else:
            with led._write() as c:
                led._audit(c, "note", project_id=pid, by=str(os.getpid()), detail={"i": i})
    led.close()


def test_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "l.db"
    needs, resources = mc.synthetic.district("seed_street", seed=0)
    with mc.ProjectLedger(path) as led:
        led.add_round(mc.match(needs, resources,
                               max_distance=mc.synthetic.suggested_max_distance("seed_street")))
        pids = led.projects()["project_id"].tolist()[:4]
        n_audit = len(led.audit())
    assert len(pids) == 4
    procs = [CTX.Process(target=_worker, args=(path, [pid], 25)) for pid in pids]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with mc.ProjectLedger(path) as led:
        assert len(led.audit()) == n_audit + 4 * 25
        assert set(led.projects().set_index("project_id").loc[pids, "status"]) == {"in_progress"}


def _hold_transaction(path, ready):
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE projects SET status = 'completed'")
    conn.execute("INSERT INTO audit (at, action) VALUES ('x', 'half')")
    ready.set()
    time.sleep(60)  # killed before it ever commits


def test_sigkill_mid_transaction_keeps_last_committed_state(tmp_path):
    path = tmp_path / "l.db"
    with mc.ProjectLedger(path) as led:
        led.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        led.set_status("P-N1", "in_progress")
        before = led.projects()
    ready = CTX.Event()
    proc = CTX.Process(target=_hold_transaction, args=(path, ready))
    proc.start()
    assert ready.wait(20)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    with mc.ProjectLedger(path, timeout=5) as led:
        pd.testing.assert_frame_equal(led.projects(), before)
        assert "half" not in led.audit()["action"].tolist()
        led.set_status("P-N1", "completed")  # the lock died with the process
        assert led.projects().set_index("project_id").at["P-N1", "status"] == "completed"


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_export_round_trips(ledger, tmp_path, suffix):
    ledger.set_status("P-N3", "in_progress")
    out = ledger.export(tmp_path / f"projects{suffix}")
    back = pd.read_csv(out, encoding="utf-8-sig") if suffix == ".csv" else pd.read_json(out)
    expected = ledger.projects()
    assert back["project_id"].tolist() == expected["project_id"].tolist()
    assert back["status"].tolist() == expected["status"].tolist()
    assert back["assigned"].tolist() == expected["assigned"].tolist()
    only = ledger.export(tmp_path / "west.csv", community="西山社区")
    assert pd.read_csv(only, encoding="utf-8-sig")["project_id"].tolist() == ["P-N3"]


def test_returning_need_gets_round_suffix(ledger):
    ledger.set_status("P-N1", "in_progress")
    ledger.set_status("P-N1", "completed")
    assert ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000)) == 2
    ids = ledger.projects()["project_id"].tolist()
    assert ids == ["P-N1", "P-N1-R2", "P-N2", "P-N3"]  # N2 and N3 keep their project
    ledger.set_status("P-N2", "in_progress")
    with pytest.raises(mc.InputError, match="already has project 'P-N2' in progress"):
        ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
    assert ledger.n_rounds == 2  # the failed round left nothing behind


def test_rematch_keeps_fixed_projects_and_capacity(ledger):
    ledger.set_status("P-N1", "in_progress")
    ledger.set_status("P-N3", "cancelled")
    fixed = ledger.assignments("P-N1")
    report = ledger.rematch(max_distance=2000)
    assert report.round == 2
    r = report.result
    assert "N1" not in set(r.district.needs["need_id"]) and "N3" not in set(
        r.district.needs["need_id"]
    )
    pd.testing.assert_frame_equal(ledger.assignments("P-N1"), fixed)
    # Capacity left for the rematch excludes the in-progress project's units.
    _, resources = mc.synthetic.tiny()
    cap = dict(zip(resources["resource_id"], resources["capacity"]))
    left = dict(zip(r.district.resources["resource_id"], r.district.resources["capacity"]))
    for rid, units in zip(fixed["resource_id"], fixed["units"]):
        assert left.get(rid, 0) == cap[rid] - units
    # Every resource's total use stays within its capacity.
    live = ledger.assignments().merge(ledger.projects()[["project_id", "status"]])
    used = live.groupby("resource_id")["units"].sum()
    assert all(used[rid] <= cap[rid] for rid in used.index)
    # A second rematch subtracts from full capacities again, not twice.
    report2 = ledger.rematch(max_distance=2000)
    assert report2.n_changed == 0 and report2.n_new == 0


def test_rematch_on_seed_street_respects_capacity(tmp_path):
    needs, resources = mc.synthetic.district("seed_street", seed=0)
    reach = mc.synthetic.suggested_max_distance("seed_street")
    with mc.ProjectLedger(tmp_path / "l.db") as led:
        led.add_round(mc.match(needs, resources, max_distance=reach))
        ids = led.projects()["project_id"].tolist()
        for pid in ids[: len(ids) // 3]:
            led.set_status(pid, "in_progress")
        for pid in ids[len(ids) // 3 : len(ids) // 2]:
            led.set_status(pid, "cancelled")
        fixed = led.assignments().set_index("project_id").loc[ids[: len(ids) // 3]]
        new = needs.iloc[:20].assign(need_id="X" + needs["need_id"].iloc[:20].astype(str))
        report = led.rematch(new, max_distance=reach)
        assert report.n_new > 0 and bool(report.result.verify())
        after = led.assignments().set_index("project_id").loc[ids[: len(ids) // 3]]
        pd.testing.assert_frame_equal(after, fixed)
        live = led.projects().query("status != 'cancelled'")
        assert not live["need_id"].duplicated().any()
        used = led.assignments().merge(live[["project_id"]]).groupby("resource_id")["units"].sum()
        cap = resources.set_index("resource_id")["capacity"]
        assert (used <= cap.reindex(used.index)).all()
