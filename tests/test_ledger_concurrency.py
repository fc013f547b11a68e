"""ProjectLedger under concurrent writers: rematch re-plans, creation cannot race, invariants hold.

The deterministic tests put a write from another connection between a
rematch's read and its write (inside ``match``); the stress test runs status
movers, a rematcher, a reader and two creators of one new ledger in separate
processes, then checks the invariants on the file.
"""

from __future__ import annotations

import multiprocessing as mp
import random
import time
import traceback

import pandas as pd
import pytest

import matchcore as mc
import matchcore.pipeline

CTX = mp.get_context("fork")
CAPACITY = 3


def scarce_district(n_needs: int = 20, n_resources: int = 5):
    """One category, everything within reach, more demand than capacity."""
    needs = pd.DataFrame({
        "need_id": [f"N{i:02d}" for i in range(1, n_needs + 1)],
        "category": "repair",
        "demand": [1 + i % 2 for i in range(n_needs)],
        "x": [10.0 * i for i in range(n_needs)],
        "y": 0.0,
        "priority": [1 + i % 5 for i in range(n_needs)],
    })
    resources = pd.DataFrame({
        "resource_id": [f"R{j}" for j in range(1, n_resources + 1)],
        "category": "repair",
        "capacity": CAPACITY,
        "x": [40.0 * j for j in range(n_resources)],
        "y": 5.0,
    })
    return needs, resources


def new_ledger(path):
    led = mc.ProjectLedger(path)
    led.add_round(mc.match(*scarce_district(), max_distance=5_000))
    return led


def over_capacity(led) -> dict[str, int]:
    """Resources whose active units (not cancelled) exceed their capacity."""
    live = led.assignments().merge(led.projects()[["project_id", "status"]])
    live = live[live["status"] != "cancelled"]
    used = live.groupby("resource_id")["units"].sum()
    return {r: int(u) for r, u in used.items() if u > CAPACITY}


def interfere_inside_match(monkeypatch, writes):
    """Run ``writes[k](call)`` before the k-th call of match (one per rematch attempt)."""
    real = matchcore.pipeline.match
    calls = []

    def spy(*args, **kwargs):
        calls.append(len(calls))
        if len(calls) <= len(writes):
            writes[len(calls) - 1]()
        return real(*args, **kwargs)

    monkeypatch.setattr(matchcore.pipeline, "match", spy)
    return calls


def test_rematch_replans_after_a_status_change_it_did_not_read(tmp_path, monkeypatch):
    path = tmp_path / "l.db"
    led = new_ledger(path)
    p = led.projects().set_index("need_id")
    cancelled, started = p.index[0], p.index[1]
    other = mc.ProjectLedger(path)

    def write():
        other.set_status(p.at[cancelled, "project_id"], "cancelled", by="other")
        other.set_status(p.at[started, "project_id"], "in_progress", by="other")

    fixed = led.assignments(p.at[started, "project_id"])
    calls = interfere_inside_match(monkeypatch, [write])
    report = led.rematch()  # no "already has project ... in progress" error
    assert len(calls) == report.attempts == 2  # planned again from the new state
    after = led.projects()
    assert (after["need_id"] == cancelled).sum() == 1  # the cancelled need got no new project
    assert after.set_index("need_id").at[cancelled, "status"] == "cancelled"
    assert cancelled not in set(report.result.district.needs["need_id"])
    pd.testing.assert_frame_equal(led.assignments(p.at[started, "project_id"]), fixed)
    assert over_capacity(led) == {}
    other.close()
    led.close()


def test_rematch_plans_under_the_lock_when_every_optimistic_try_is_stale(tmp_path, monkeypatch):
    path = tmp_path / "l.db"
    led = new_ledger(path)
    pids = led.projects()["project_id"].tolist()
    other = mc.ProjectLedger(path, timeout=0.2)
    seen: list[str] = []

    def write(k):
        def run():
            try:
                other.set_status(pids[k], "in_progress", by="other")
                seen.append("wrote")
            except mc.LedgerBusy:
                seen.append("busy")
        return run

    calls = interfere_inside_match(monkeypatch, [write(0), write(1), write(2)])
    assert led.rematch().attempts == len(calls) == 3
    # The third plan ran holding the write lock: the other writer had to wait.
    assert seen == ["wrote", "wrote", "busy"]
    statuses = led.projects().set_index("project_id")["status"]
    assert statuses[pids[0]] == statuses[pids[1]] == "in_progress"
    assert statuses[pids[2]] != "in_progress"
    assert over_capacity(led) == {}
    other.close()
    led.close()


def test_write_time_check_refuses_a_round_that_overfills(tmp_path, monkeypatch):
    led = new_ledger(tmp_path / "l.db")
    for pid in led.projects()["project_id"]:
        led.set_status(pid, "in_progress")
    n_rounds, n_audit = led.n_rounds, len(led.audit())
    # A (wrong) plan that ignores the capacity in-progress projects hold.
    import matchcore.ledger.store as store

    real = store.plan_rematch

    def wrong(state, *args, **kwargs):
        plan = real(state, *args, **kwargs)
        return plan.__class__(**{**plan.__dict__, "resources": plan.full_resources})

    monkeypatch.setattr(store, "plan_rematch", wrong)
    with pytest.raises(mc.MatchcoreError, match="refusing to record round 2: it would overfill"):
        led.rematch(new_needs=scarce_district(40)[0].iloc[20:])
    assert led.n_rounds == n_rounds and len(led.audit()) == n_audit
    led.close()


# ---------------------------------------------------------------------- stress
DURATION = 3.0  # seconds of concurrent work, after every process is ready


def _run(role, path, seed, start, out):
    errors, moves, rounds = [], [], []
    rng = random.Random(seed)
    try:
        start.wait(30)
        led = mc.ProjectLedger(path, timeout=10)
        end = time.monotonic() + DURATION
        i = 0
        while time.monotonic() < end:
            i += 1
            try:
                if role == "rematch":
                    report = led.rematch()
                    rounds.append((report.round, report.attempts))
                elif role == "reader":
                    led.projects()
                    led.assignments()
                    led.history()
                    led.rematch(dry_run=True)
                else:
                    live = led.projects()
                    live = live[live["status"].isin(["not_started", "in_progress"])]
                    if role == "own":  # this mover's own projects: even or odd rows
                        live = live.iloc[seed % 2::2]
                    if not len(live):
                        time.sleep(0.01)
                        continue
                    row = live.iloc[rng.randrange(len(live))]
                    nxt = {"not_started": "in_progress", "in_progress": "completed"}[
                        row["status"]]
                    if rng.random() < 0.2:
                        nxt = "cancelled"
                    note = f"{role}{seed}-{i}"
                    led.set_status(row["project_id"], nxt, by=f"{role}{seed}", note=note)
                    moves.append((row["project_id"], nxt, note))
            except Exception as err:  # every one is recorded and checked by the test
                errors.append((isinstance(err, mc.MatchcoreError), type(err).__name__,
                               str(err)))
        led.close()
    except Exception:
        errors.append((False, "crash", traceback.format_exc()))
    out.put((role, seed, errors, moves, rounds))


def _create(path, start, out):
    errors = []
    try:
        start.wait(30)
        with mc.ProjectLedger(path, timeout=10) as led:
            led.audit()
    except Exception as err:
        errors.append((isinstance(err, mc.MatchcoreError), type(err).__name__, str(err)))
    out.put(("create", 0, errors, [], []))


MISLEADING = ("use ProjectLedger.rematch", "corrupt", "not a matchcore ledger", "refusing",
              "not a readable")


def test_concurrent_movers_rematches_reader_and_creators_keep_the_invariants(tmp_path):
    path = tmp_path / "l.db"
    new_ledger(path).close()
    fresh = tmp_path / "fresh.db"
    start, out = CTX.Event(), CTX.Queue()
    roles = [("shared", 1), ("own", 2), ("own", 3), ("rematch", 4), ("reader", 5)]
    procs = [CTX.Process(target=_run, args=(role, path, seed, start, out))
             for role, seed in roles]
    procs += [CTX.Process(target=_create, args=(fresh, start, out)) for _ in range(2)]
    for p in procs:
        p.start()
    start.set()
    reports = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    errors = [e for _, _, errs, _, _ in reports for e in errs]
    # Every error is a MatchcoreError, none misleading: only a move that another
    # process made impossible (InputError) or a lock held too long (LedgerBusy).
    assert all(is_ours for is_ours, _, _ in errors), errors
    assert not [m for _, _, m in errors if any(w in m for w in MISLEADING)], errors
    assert {name for _, name, _ in errors} <= {"InputError", "LedgerBusy"}, errors
    moves = [m for _, _, _, ms, _ in reports for m in ms]
    rounds = [r for _, _, _, _, rs in reports for r in rs]
    assert moves and rounds  # the run did work
    with mc.ProjectLedger(path) as led:
        history = led.history()
        # No lost update: every status move that returned is in the history.
        logged = set(zip(history["project_id"], history["to_status"], history["note"]))
        assert [m for m in moves if m not in logged] == []
        # No resource over capacity.
        assert over_capacity(led) == {}
        # No cancelled need planned again: each need has one project, ever.
        projects = led.projects()
        assert projects["need_id"].is_unique
        assert led.n_rounds == 1 + len(rounds)
        assert sorted(r for r, _ in rounds) == list(range(2, 2 + len(rounds)))
    with mc.ProjectLedger(fresh) as led:
        # Created once: one schema, one migrate entry.
        assert led.audit()["action"].tolist() == ["migrate"]
