"""Delta list snapshots: a round that changed few rows of a list writes only those rows
(and where each row is) beside the last whole snapshot, and reads back exactly.

A ledger that writes every snapshot whole must record the same history, and a
matchcore that does not know deltas must find no snapshot (and read the JSON rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matchcore as mc
import matchcore.ledger.lists as lists
from matchcore.ledger.lists import read_snapshot


def _district(n_needs: int, n_resources: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    cats = np.array(["repair", "elderly_care", "medical"])
    needs = pd.DataFrame({
        "need_id": [f"N{k:03d}" for k in range(n_needs)],
        "category": cats[rng.integers(0, 3, n_needs)],
        "demand": rng.integers(1, 4, n_needs),
        "x": rng.uniform(0, 1000, n_needs) + 1 / 3,  # not exact in JSON
        "y": rng.uniform(0, 1000, n_needs),
        "description": rng.choice(["水管", None, '},{"x"', "a\nb"], n_needs),
    })
    resources = pd.DataFrame({
        "resource_id": [f"R{k:02d}" for k in range(n_resources)],
        "category": cats[rng.integers(0, 3, n_resources)],
        "capacity": rng.integers(1, 5, n_resources),
        "x": rng.uniform(0, 1000, n_resources) + 2 / 3,
        "y": rng.uniform(0, 1000, n_resources),
    })
    return needs, resources


def _written(led: mc.ProjectLedger) -> dict[str, int]:
    return dict(led._conn.execute("SELECT list, round FROM list_snapshots").fetchall())


step = st.fixed_dictionaries({
    "changed": st.integers(0, 12), "new": st.integers(0, 3), "start": st.integers(0, 2),
    "capacity": st.integers(0, 3), "drop": st.booleans(),
})


def _run(path, seed: int, steps: list[dict[str, int]]) -> dict[str, pd.DataFrame]:
    """Record ``steps``; check every round's snapshots; return the history as read."""
    rng = np.random.default_rng(seed)
    needs, resources = _district(40, 8, seed)
    with mc.ProjectLedger(path) as led:
        first = mc.match(needs, resources, max_distance=600)
        led.add_round(first)
        for k, s in enumerate(steps):
            live = led.projects(status="not_started")["project_id"].tolist()
            for pid in live[:s["start"]]:
                led.set_status(pid, "in_progress")
            last = led.needs()
            busy = set(led.projects(status="in_progress")["need_id"])
            pool = last[~last["need_id"].isin(busy)]
            pick = pool.sample(min(s["changed"], len(pool)), random_state=int(rng.integers(99)))
            changed = needs[needs["need_id"].isin(pick["need_id"])].assign(
                demand=lambda f: f["demand"] % 3 + 1, x=lambda f: f["x"] + 1 / 7)
            new, _ = _district(s["new"], 0, seed + 1 + k)
            new["need_id"] = [f"S{k}-{j}" for j in range(len(new))]
            given_needs = pd.concat([changed, new], ignore_index=True)
            res = led.resources()
            more = res.sample(min(s["capacity"], len(res)), random_state=int(rng.integers(99)))
            more = more.assign(capacity=more["capacity"].astype("int64") + 1)
            gone = {r for (r,) in led._conn.execute(
                "SELECT resource_id FROM dropped_resources WHERE returned_round IS NULL")}
            avail = [r for r in res["resource_id"] if r not in gone
                     and r not in set(more["resource_id"])]
            drop = [avail[int(rng.integers(len(avail)))]] if s["drop"] and avail else None
            report = led.rematch(new_needs=given_needs if len(given_needs) else None,
                                 new_resources=resources[resources["resource_id"].isin(
                                     more["resource_id"])].assign(
                                     capacity=more["capacity"].to_numpy())
                                 if len(more) else None,
                                 dropped_resources=drop, max_distance=600)
            plan = report.plan
            want = {"needs": plan.stored_needs if plan.stored_needs is not None
                    else report.result.district.needs,
                    "resources": plan.full_resources}
            for table, frame in want.items():
                snap = read_snapshot(led._conn, table, report.round)  # type: ignore[arg-type]
                assert snap is not None, (table, report.round, _written(led))
                pd.testing.assert_frame_equal(snap, frame.reset_index(drop=True),
                                              check_exact=True, obj=f"{table} {report.round}")
        return {
            **{f"needs_{r}": led.needs(r) for r in range(1, led.n_rounds + 1)},
            **{f"resources_{r}": led.resources(r) for r in range(1, led.n_rounds + 1)},
            "projects": led.projects().drop(columns=["created_at", "updated_at"]),
            "assignments": led.assignments(),
            "closed": pd.DataFrame(led._conn.execute(
                "SELECT * FROM closed_rows ORDER BY round, list, id").fetchall()),
        }


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), steps=st.lists(step, min_size=1, max_size=4))
def test_delta_snapshots_read_back_exactly_and_record_the_same_history(
        tmp_path_factory, monkeypatch_session, seed, steps):
    """Every round's snapshots (whole, delta or kept) read back the lists the round
    recorded, bit for bit and in order; writing every snapshot whole records the same."""
    folder = tmp_path_factory.mktemp("delta")
    with_deltas = _run(folder / "a.db", seed, steps)
    monkeypatch_session.setattr(lists, "DELTA_SHARE", -1.0)
    try:
        whole = _run(folder / "b.db", seed, steps)
    finally:
        monkeypatch_session.undo()
    for name, frame in with_deltas.items():
        pd.testing.assert_frame_equal(frame, whole[name], obj=name)


@pytest.fixture
def monkeypatch_session():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_a_small_change_writes_a_delta_and_a_large_one_a_whole_snapshot(tmp_path):
    needs, resources = _district(40, 8, 0)
    with mc.ProjectLedger(tmp_path / "l.db") as led:
        led.add_round(mc.match(needs, resources, max_distance=600))
        base = led._conn.execute(
            "SELECT length(data) FROM list_snapshots WHERE list = 'needs'").fetchone()[0]
        led.rematch(new_needs=needs.iloc[[3]].assign(demand=5))
        assert _written(led) == {"needs": 1, "needs.delta": 2, "resources": 1}
        delta = led._conn.execute(
            "SELECT length(data) FROM list_snapshots WHERE list = 'needs.delta'").fetchone()[0]
        assert delta < base
        # The next small change is a delta of the same base; it keeps the row of round 2.
        led.rematch(new_needs=needs.iloc[[7]].assign(demand=5))
        assert _written(led) == {"needs": 1, "needs.delta": 3, "resources": 1}
        snap = read_snapshot(led._conn, "needs", 3)
        assert snap is not None
        assert snap.set_index("need_id").loc[["N003", "N007"], "demand"].tolist() == [5, 5]
        # More than DELTA_SHARE of the rows: a whole snapshot, a new base, no delta.
        led.rematch(new_needs=needs.iloc[:20].assign(demand=4))
        assert _written(led) == {"needs": 4, "resources": 1}


def test_a_matchcore_without_deltas_finds_no_snapshot_of_the_round(tmp_path):
    """Its rule (the base's round, or a meta row naming it for the round) finds none."""
    needs, resources = _district(40, 8, 1)
    with mc.ProjectLedger(tmp_path / "l.db") as led:
        led.add_round(mc.match(needs, resources, max_distance=600))
        led.rematch(new_needs=needs.iloc[[3]].assign(demand=5))
        led.rematch()  # the delta stands for round 3 too
        q = led._conn.execute
        base_round = q("SELECT round FROM list_snapshots WHERE list = 'needs'").fetchone()[0]
        said = q("SELECT value FROM meta WHERE key = 'list_snapshot_stands_for.needs'").fetchone()
        assert base_round == 1 and said == ("2:3",)  # not "1:3": no old reader uses round 1
        assert read_snapshot(led._conn, "needs", 3) is not None


def test_a_delta_of_another_base_or_malformed_is_not_read(tmp_path):
    needs, resources = _district(40, 8, 2)
    with mc.ProjectLedger(tmp_path / "l.db") as led:
        led.add_round(mc.match(needs, resources, max_distance=600))
        report = led.rematch(new_needs=needs.iloc[[3]].assign(demand=5))
        c = led._conn
        blob = c.execute("SELECT data FROM list_snapshots WHERE list = 'needs.delta'").fetchone()[0]
        with c:  # a malformed delta: no snapshot (the rows are read instead)
            c.execute("UPDATE list_snapshots SET data = ? WHERE list = 'needs.delta'",
                      (b"not a delta",))
        assert read_snapshot(c, "needs", 2) is None
        with c:  # an older matchcore wrote a whole snapshot of round 2 over the base
            c.execute("UPDATE list_snapshots SET data = ? WHERE list = 'needs.delta'", (blob,))
            c.execute("UPDATE list_snapshots SET round = 2 WHERE list = 'needs'")
        snap = read_snapshot(c, "needs", 2)
        assert snap is not None and "demand" in snap  # the base alone, not patched
        assert snap.set_index("need_id").loc["N003", "demand"] != 5
        with c:
            c.execute("UPDATE list_snapshots SET round = 1 WHERE list = 'needs'")
        pd.testing.assert_frame_equal(read_snapshot(c, "needs", 2),
                                      report.result.district.needs.reset_index(drop=True),
                                      check_exact=True)
        # A rematch from the malformed delta plans from the rows and still records.
        with c:
            c.execute("UPDATE list_snapshots SET data = ? WHERE list = 'needs.delta'",
                      (blob[:-1],))
        assert read_snapshot(c, "needs", 2) is None
        again = led.rematch(new_needs=needs.iloc[[4]].assign(demand=5))
        assert again.result.verify()
        assert read_snapshot(c, "needs", again.round) is not None


def test_the_ledger_does_not_zero_the_pages_it_frees(tmp_path):
    """secure_delete = FAST: replaced snapshots and warm states go to the freelist without
    being overwritten with zeros (builds that default to ON wrote them twice)."""
    with mc.ProjectLedger(tmp_path / "l.db") as led:
        assert led._conn.execute("PRAGMA secure_delete").fetchone()[0] == 2
