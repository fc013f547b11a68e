"""ProjectLedger: statuses, durability, concurrency, crash safety, export, rematch."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import sqlite3
import time

import numpy as np
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


def test_rows_round_trip_through_the_ledger(tmp_path):
    """Needs, resources and assignments are stored as one JSON row each, whatever the text."""
    needs, resources = mc.synthetic.tiny()
    needs = needs.assign(description=['},{"x": 1}', "水管\n维修", None, "a\"b", "},{"])
    result = mc.match(needs, resources, max_distance=2000)
    with mc.ProjectLedger(tmp_path / "l.db") as led:
        led.add_round(result)
        stored = led._latest("needs", "need_id")
        assert stored["description"].tolist() == needs["description"].tolist()
        assert stored["need_id"].tolist() == sorted(needs["need_id"])
        back = led._latest("resources", "resource_id")
        assert back["resource_id"].tolist() == sorted(resources["resource_id"])
        rows = led._conn.execute("SELECT data FROM assignments ORDER BY id").fetchall()
        data = [json.loads(r[0]) for r in rows]
        a = result.assignments.sort_values("need_id", kind="stable")
        assert [d["resource_id"] for d in data] == a["resource_id"].tolist()
        assert [d["units"] for d in data] == a["units"].tolist()
        audit = led.audit()
        created = audit[audit["action"] == "create"]
        assert [json.loads(d) for d in created["detail"]] == [
            {"need_id": n, "resources": r} for n, r in
            zip(result.projects["need_id"], result.projects["resources"])
        ]
        before = led.projects(), led.assignments()
        report = led.rematch(max_distance=2000)
        audit = led.audit()
        # Nothing changed: the kept projects are not rewritten (their recorded scores
        # have no stickiness bonus), so the round logs no reassign and writes no row.
        assert (audit["action"] == "reassign").sum() == 0
        assert report.n_changed == 0
        pd.testing.assert_frame_equal(led.projects(), before[0])
        pd.testing.assert_frame_equal(led.assignments(), before[1])
        assert led._latest("needs", "need_id")["description"].tolist() == \
            needs["description"].tolist()


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


# ---------------------------------------------------------------------------
# stickiness, backups and dropped-out resources

REACH = mc.synthetic.suggested_max_distance("seed_street")


def _copy(src, dst):
    """A copy of a ledger file (SQLite's online backup, WAL included)."""
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    a.backup(b)
    a.close()
    b.close()
    return dst


def _better_placed(needs, resources, assignments, n, seed):
    """Clones of ``n`` assigned resources moved onto the needs they serve."""
    pick = assignments.sample(n, random_state=seed)
    at = needs.set_index("need_id").loc[pick["need_id"]]
    new = resources.set_index("resource_id").loc[pick["resource_id"]].reset_index()
    new["resource_id"] = [f"NEW-{k}" for k in range(n)]
    for col in ("x", "y", "lat", "lon"):
        if col in new.columns and col in at.columns:
            new[col] = at[col].to_numpy()
    return new


def _sticky_rounds(tmp_path, needs, resources, change):
    """Record a round, fix a fifth of it, then rematch copies at growing stickiness."""
    with mc.ProjectLedger(tmp_path / "base.db") as led:
        led.add_round(mc.match(needs, resources, max_distance=REACH))
        ids = led.projects()["project_id"].tolist()
        fixed_ids = ids[: len(ids) // 5]
        for pid in fixed_ids[: len(fixed_ids) // 2]:
            led.set_status(pid, "in_progress")
        for pid in fixed_ids[len(fixed_ids) // 2 :]:
            led.set_status(pid, "in_progress")
            led.set_status(pid, "completed")
        fixed = led.assignments().set_index("project_id").loc[fixed_ids]
        new_needs, new_resources = change(led.assignments()[
            ~led.assignments()["project_id"].isin(fixed_ids)])
    churn = []
    for s in (0.0, 0.05, 0.2, 1.0):
        path = _copy(tmp_path / "base.db", tmp_path / f"s{s}.db")
        with mc.ProjectLedger(path) as led:
            report = led.rematch(new_needs, new_resources, stickiness=s, max_distance=REACH)
            assert report.result.verify()
            assert report.result.options.stickiness == s
            pd.testing.assert_frame_equal(
                led.assignments().set_index("project_id").loc[fixed.index.unique()], fixed)
            churn.append(report.n_changed + report.n_dropped)
    return churn


def test_stickiness_churn_with_new_needs_and_resources(tmp_path):
    needs, resources = mc.synthetic.district("seed_street", seed=3)

    def change(assignments):
        new_needs = needs.sample(30, random_state=2).assign(
            need_id=lambda f: "X" + f["need_id"].astype(str))
        return new_needs, _better_placed(needs, resources, assignments, 40, 1)

    churn = _sticky_rounds(tmp_path, needs, resources, change)
    assert churn == sorted(churn, reverse=True) and churn[0] > churn[-1] > 0, churn


def test_stickiness_churn_is_zero_when_nothing_forces_a_move(tmp_path):
    # Only needs the street can serve in full: better-placed resources then
    # cannot add coverage, so no move is forced and a large bonus keeps every project.
    needs, resources = mc.synthetic.district("seed_street", seed=3)
    r = mc.match(needs, resources, max_distance=REACH)
    full = r.projects.loc[r.projects["assigned"] == r.projects["demand"], "need_id"]
    needs = needs[needs["need_id"].isin(full)].reset_index(drop=True)

    def change(assignments):
        return None, _better_placed(needs, resources, assignments, 40, 1)

    churn = _sticky_rounds(tmp_path, needs, resources, change)
    assert churn == sorted(churn, reverse=True) and churn[0] > 0 and churn[-1] == 0, churn


def test_rematch_passes_not_started_assignments_as_incumbent(ledger):
    ledger.set_status("P-N1", "in_progress")
    report = ledger.rematch(max_distance=2000)
    r = report.result
    assert r.options.stickiness == 0.1 and r.n_incumbent_edges == 2  # N2, N3
    sticky = r.assignments.loc[r.assignments["stickiness"] > 0, "need_id"].tolist()
    assert sticky == ["N2", "N3"]
    with pytest.raises(mc.InputError, match="rematch sets `incumbent` itself"):
        ledger.rematch(max_distance=2000, incumbent=r.assignments)


def test_rounds_record_backups(ledger):
    rows = ledger._conn.execute(
        "SELECT project_id, resource_id, rank, backup_resource_id FROM backups WHERE round = 1"
    ).fetchall()
    assert rows == [("P-N1", "R1", 1, "R4")]


def _drop_district():
    """N1 is served by A; B is its only recorded backup (k=1); C is not a candidate."""
    needs = pd.DataFrame({"need_id": ["N1", "N2"], "category": ["repair", "repair"],
                          "priority": [5, 3], "x": [0.0, 3000.0], "y": [0.0, 0.0]})
    resources = pd.DataFrame({
        "resource_id": ["A", "B", "C"], "category": ["repair"] * 3, "capacity": [1, 1, 1],
        "x": [10.0, 400.0, 3010.0], "y": [0.0, 0.0, 0.0],
    })
    return needs, resources


@pytest.fixture
def drop_ledger(tmp_path):
    led = mc.ProjectLedger(tmp_path / "d.db")
    led.add_round(mc.match(*_drop_district(), max_distance=1000), backups=1)
    yield led
    led.close()


# A new resource nearer to N1 than its backup B (but farther than A).
NEARER = pd.DataFrame({"resource_id": ["E"], "category": ["repair"], "x": [100.0], "y": [0.0]})


@pytest.mark.parametrize("status", ["not_started", "in_progress"])
@pytest.mark.parametrize("stickiness, expected", [(0.0, "E"), (0.5, "B")])
def test_dropped_resource_backups_first(drop_ledger, status, stickiness, expected):
    led = drop_ledger
    if status == "in_progress":
        led.set_status("P-N1", "in_progress")
    report = led.rematch(None, NEARER, dropped_resources=["A"], stickiness=stickiness,
                         max_distance=1000, by="李明")
    assert report.dropped_resources == ("A",) and report.n_affected == 1
    assert report.n_reassigned == 1 and report.n_to_backup == int(expected == "B")
    assert report.result.verify()
    p = led.projects().set_index("project_id")
    assert p.at["P-N1", "status"] == status and p.at["P-N1", "resources"] == expected
    assert led.assignments("P-N1")["resource_id"].tolist() == [expected]
    assert "A" not in set(report.result.district.resources["resource_id"])
    # Recorded, never deleted: the resource stays listed in the new round, marked as dropped
    # (unchanged, so the round stores no row for it: schema 5 stores what changed).
    assert "A" in set(led.resources(2)["resource_id"])
    rounds = led._conn.execute("SELECT round FROM resources WHERE resource_id = 'A'").fetchall()
    assert rounds == [(1,)]
    assert led._conn.execute(
        "SELECT resource_id, round, by, n_projects FROM dropped_resources").fetchall() == [
        ("A", 2, "李明", 1)]
    ended = led._conn.execute(
        "SELECT active FROM assignments WHERE project_id = 'P-N1' AND resource_id = 'A'"
    ).fetchall()
    assert ended == [(0,)]
    actions = led.audit()["action"].tolist()
    for action in ("resource_dropped", "assignment_ended", "rematch_dropped"):
        assert action in actions
    # Later rounds leave it out too, until it is listed again.
    again = led.rematch(max_distance=1000)
    assert "A" not in set(again.result.district.resources["resource_id"])
    back = led.rematch(None, _drop_district()[1].iloc[[0]], max_distance=1000)
    assert "A" in set(back.result.district.resources["resource_id"])
    assert "resource_returned" in led.audit()["action"].tolist()


def test_dropped_resource_keeps_completed_projects(drop_ledger):
    led = drop_ledger
    led.set_status("P-N1", "in_progress")
    led.set_status("P-N1", "completed")
    report = led.rematch(dropped_resources=["A"], max_distance=1000)
    assert report.n_affected == 0
    assert led.assignments("P-N1")["resource_id"].tolist() == ["A"]  # done is done


def test_in_progress_project_without_replacement_stays_in_progress(drop_ledger):
    led = drop_ledger
    led.set_status("P-N1", "in_progress")
    report = led.rematch(dropped_resources=["A", "B"], max_distance=1000)
    assert report.n_affected == 1 and report.n_reassigned == 0 and report.n_to_backup == 0
    p = led.projects().set_index("project_id")
    assert p.at["P-N1", "status"] == "in_progress" and p.at["P-N1", "assigned"] == 0
    assert len(led.assignments("P-N1")) == 0


@pytest.mark.parametrize(
    "dropped, message",
    [
        (["Z", "A", "Y"], r"'Y' is not a resource of the last round; 'Z' is not"),
        (["E"], r"'E' is also listed in new_resources"),
    ],
)
def test_dropped_resources_validation(drop_ledger, dropped, message):
    n = drop_ledger.n_rounds
    with pytest.raises(mc.InputError, match=message):
        drop_ledger.rematch(None, NEARER, dropped_resources=dropped, max_distance=1000)
    assert drop_ledger.n_rounds == n


def test_dropped_twice_is_an_error(drop_ledger):
    drop_ledger.rematch(dropped_resources="A", max_distance=1000)
    with pytest.raises(mc.InputError, match=r"'A' already dropped out in round 2"):
        drop_ledger.rematch(dropped_resources=["A"], max_distance=1000)


def test_dropped_resources_on_seed_street(tmp_path):
    needs, resources = mc.synthetic.district("seed_street", seed=0)
    with mc.ProjectLedger(tmp_path / "l.db") as led:
        led.add_round(mc.match(needs, resources, max_distance=REACH))
        ids = led.projects()["project_id"].tolist()
        for pid in ids[::4]:
            led.set_status(pid, "in_progress")
        busiest = led.assignments().groupby("resource_id")["units"].sum().nlargest(8).index
        live = led.assignments()
        hit = set(live.loc[live["resource_id"].isin(busiest), "project_id"])
        untouched = led.assignments().set_index("project_id").loc[
            [p for p in ids[::4] if p not in hit]]
        dry = led.rematch(dropped_resources=list(busiest), max_distance=REACH, dry_run=True)
        report = led.rematch(dropped_resources=list(busiest), max_distance=REACH)
        assert report.result.verify()
        assert report.n_affected == len(hit) > 0
        # The pure preview counts what the SQL wrote, and the dry run said the same.
        preview = report.preview
        assert (report.n_changed, report.n_new, report.n_dropped) == (
            len(preview.moves), len(preview.new_projects), len(preview.cancellations))
        assert (dry.n_changed, dry.n_new, dry.n_dropped, dry.n_reassigned, dry.n_to_backup) == (
            report.n_changed, report.n_new, report.n_dropped, report.n_reassigned,
            report.n_to_backup)
        assert 0 < report.n_to_backup <= report.n_reassigned <= report.n_affected
        now = led.assignments()
        assert not now["resource_id"].isin(busiest).any()
        pd.testing.assert_frame_equal(
            now.set_index("project_id").loc[untouched.index.unique()], untouched)
        status = led.projects().set_index("project_id")["status"]
        assert (status.loc[[p for p in ids[::4]]] == "in_progress").all()
        cap = resources.set_index("resource_id")["capacity"]
        used = now.groupby("resource_id")["units"].sum()
        assert (used <= cap.reindex(used.index)).all()


def test_version_1_ledger_is_migrated(tmp_path):
    from matchcore.ledger.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION

    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path)
    for sql in MIGRATIONS[1]:
        conn.execute(sql)
    conn.execute("PRAGMA user_version = 1")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.commit()
    conn.close()
    with mc.ProjectLedger(path) as led:
        assert led._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 8
        led.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        assert len(led._conn.execute("SELECT * FROM backups").fetchall()) == 1
        audit = led.audit()
        assert audit.loc[audit["action"] == "migrate", "detail"].tolist() == [
            '{"from_version": 1, "to_version": 8}']


# ---------------------------------------------------------------------------
# the options of a round (regression: rematch used to score with default weights)

CUSTOM = mc.Weights(locality=0.7, type=0.2, priority=0.1, partner=0.0)


def test_rematch_scores_with_the_weights_of_the_round_it_continues(tmp_path):
    needs, resources = mc.synthetic.district("seed_street", seed=0)
    first = mc.match(needs, resources, max_distance=700, weights=CUSTOM)
    with mc.ProjectLedger(tmp_path / "l.db") as led:
        led.add_round(first)
        report = led.rematch(stickiness=0.0)
    again = report.result
    assert again.options.weights == CUSTOM and again.options.max_distance == 700.0
    # Nothing is fixed and nothing sticks, so the rematch is the same problem:
    # same scores on every assignment as a fresh match with the custom weights.
    a = first.assignments.set_index(["need_id", "resource_id"])["score"]
    b = again.assignments.set_index(["need_id", "resource_id"])["score"]
    pd.testing.assert_series_equal(a.sort_index(), b.sort_index())
    default = mc.match(needs, resources, max_distance=700)
    assert not np.isclose(default.objective["score"], again.objective["score"])


def test_rematch_override_wins_over_the_round_options(tmp_path):
    with mc.ProjectLedger(tmp_path / "l.db") as led:
        led.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000, weights=CUSTOM))
        report = led.rematch(max_distance=500, objective="score")
        o = report.result.options
        assert (o.max_distance, o.objective, o.weights) == (500.0, "score", CUSTOM)
        assert led.round_options(1).max_distance == 2000.0
        assert led.round_options() == o  # round 2 keeps what it was matched with
        with pytest.raises(mc.InputError, match="no round 7"):
            led.round_options(7)
        with pytest.raises(mc.InputError, match=r"unknown option\(s\) \['distance'\]"):
            led.rematch(distance=3)


def test_options_round_trip_through_a_ledger_file(tmp_path):
    tax = mc.Taxonomy({("repair", "cleaning"): 0.5}, {"repair": "维修"})
    opts = mc.MatchOptions(weights=CUSTOM, max_distance=1500, scope="community", taxonomy=tax,
                           max_candidates=4, objective="score", solver="highs")
    result = mc.match(*mc.synthetic.tiny(), opts)
    path = tmp_path / "l.db"
    with mc.ProjectLedger(path) as led:
        led.add_round(result)
    with mc.ProjectLedger(path) as led:  # a fresh connection: only the file remains
        assert led.round_options(1) == opts == result.options
        assert led.rounds()["options"].iat[0]["weights"]["locality"] == 0.7


def test_version_2_round_options_are_read_after_migration(tmp_path):
    """A round written by schema version 2 (no weights kept) opens and rematches."""
    from matchcore.ledger.schema import APPLICATION_ID, MIGRATIONS

    path = tmp_path / "v2.db"
    conn = sqlite3.connect(path)
    for step in (1, 2):
        for sql in MIGRATIONS[step]:
            conn.execute(sql)
    conn.execute("PRAGMA user_version = 2")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    legacy = {"max_distance": 2000, "scope": None, "max_candidates": None,
              "objective": "coverage", "solver": "auto", "taxonomy": None}
    conn.execute("INSERT INTO rounds VALUES (1, '2026-11-01T00:00:00+00:00', ?)",
                 (json.dumps(legacy),))
    needs, resources = mc.synthetic.tiny()
    for row in json.loads(needs.to_json(orient="records")):
        conn.execute("INSERT INTO needs VALUES (1, ?, ?)", (row["need_id"], json.dumps(row)))
    for row in json.loads(resources.to_json(orient="records")):
        conn.execute("INSERT INTO resources VALUES (1, ?, ?)",
                     (row["resource_id"], json.dumps(row)))
    conn.commit()
    conn.close()
    with mc.ProjectLedger(path) as led:
        opts = led.round_options(1)
        assert opts == mc.MatchOptions(max_distance=2000)
        assert led.rematch().result.options.max_distance == 2000.0


def test_recorded_scores_have_no_stickiness_bonus_and_follow_the_weights(tmp_path):
    """The ledger records the match's scores without the stickiness bonus: a kept
    project keeps its round-1 row; other weights rescore it in place (same round, new
    score as a match without an incumbent gives it)."""
    from matchcore.ledger.record import recorded_frames

    needs, resources = mc.synthetic.tiny()
    with mc.ProjectLedger(tmp_path / "l.db") as led:
        first = mc.match(needs, resources, max_distance=2000)
        led.add_round(first)
        before = led.projects()
        r2 = led.rematch(stickiness=0.5, max_distance=2000)
        assert (r2.result.assignments["stickiness"] == 0.5).all()
        pd.testing.assert_frame_equal(led.projects(), before)
        weights = mc.Weights(type=0.1, locality=0.6, priority=0.2, partner=0.1)
        r3 = led.rematch(stickiness=0.5, max_distance=2000, weights=weights)
        cold = mc.match(needs, resources, max_distance=2000, weights=weights)
        projects, assign = recorded_frames(r3.result)
        assert "stickiness" not in assign.columns
        got = led.projects()
        assert got["updated_round"].tolist() == [3, 3, 3]
        assert got["round"].tolist() == [1, 1, 1]
        assert r3.n_changed == 0
        # Same resources and units as the cold match: its scores, bit for bit.
        assert got["score"].tolist() == cold.projects["score"].tolist()
        assert got["score"].tolist() == projects["score"].tolist()
        a = led.assignments().sort_values(["need_id", "resource_id"])
        c = cold.assignments.sort_values(["need_id", "resource_id"])
        assert a["score"].tolist() == c["score"].tolist()
        audit = led.audit()
        details = [json.loads(d) for d in audit[audit["action"] == "reassign"]["detail"]]
        assert [d["changed"] for d in details] == [False, False, False]


def test_a_cancelled_project_holds_no_units(tmp_path):
    """Cancelling a project ends its assignments, as a rematch's cancellations end theirs:
    they leave ``assignments()`` and their units go to the next round; the rows stay."""
    path = tmp_path / "l.db"
    with mc.ProjectLedger(path) as led:
        led.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        before = led.assignments()
        led.set_status("P-N1", "cancelled", note="居民已自行解决")
        after = led.assignments()
        assert "P-N1" not in set(after["project_id"])
        pd.testing.assert_frame_equal(
            after, before[before["project_id"] != "P-N1"].reset_index(drop=True))
        assert led.projects().set_index("project_id").at["P-N1", "status"] == "cancelled"
    with sqlite3.connect(path) as c:  # nothing is lost: the ended rows stay
        rows = c.execute("SELECT resource_id, units, active FROM assignments"
                         " WHERE project_id = 'P-N1'").fetchall()
    assert rows == [("R1", 2, 0)]
