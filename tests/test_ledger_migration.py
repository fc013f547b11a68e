"""Schema 5 (lists stored as changes): old ledgers migrate and read back the same frames,
and new ledgers read back each round's lists as the rounds were matched on."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matchcore as mc
from matchcore.ledger.record import recorded_frames
from matchcore.ledger.schema import frame_from_records

DATA = Path(__file__).parent / "data"


def _make_v4():
    spec = importlib.util.spec_from_file_location("make_ledger_v4", DATA / "make_ledger_v4.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def v4_copy(tmp_path):
    path = tmp_path / "v4.db"
    shutil.copyfile(DATA / "ledger_v4.db", path)
    return path


def test_v4_ledger_reads_back_the_same_frames_after_migration(v4_copy):
    saved = _make_v4().load_frames()
    with mc.ProjectLedger(v4_copy) as led:
        assert led._conn.execute("PRAGMA user_version").fetchone()[0] == 8
        n_rounds = led.n_rounds
        assert n_rounds == 5
        got = {
            "projects": led.projects(),
            "assignments": led.assignments(),
            "history": led.history(),
            "rounds": led.rounds().assign(options=lambda f: f["options"].map(json.dumps)),
            "claims": led.claims(),
            "owners": led.owners(),
            "problems": led.problems(open=None),
            "project_points": led.project_points(),
            "supervision": led.supervision(as_of="2026-03-15"),
        }
        for rnd in range(1, n_rounds + 1):
            got[f"needs_{rnd}"] = led.needs(rnd)
            got[f"resources_{rnd}"] = led.resources(rnd)
        audit = led.audit()
        got["open_for_claims"] = led.open_for_claims(as_of="2026-03-15")
    for name, frame in got.items():
        pd.testing.assert_frame_equal(frame, saved[name], obj=name)
    # The audit log is the old one and one more row: the migration.
    old = saved["audit"]
    pd.testing.assert_frame_equal(audit.iloc[:len(old)], old)
    assert audit.iloc[len(old):]["action"].tolist() == ["migrate"]
    assert json.loads(audit["detail"].iat[-1]) == {"from_version": 4, "to_version": 8}


def test_migrated_v4_ledger_keeps_working(v4_copy):
    with mc.ProjectLedger(v4_copy) as led:
        before = led.needs()
        extra = pd.DataFrame({"need_id": ["N9"], "category": ["repair"], "demand": [1],
                              "x": [400.0], "y": [60.0]})
        report = led.rematch(new_needs=extra, as_of="2026-03-09")
        assert report.round == 6 and report.result.verify()
        after = led.needs(6)
        assert "N9" in set(after["need_id"])
        # Round 6 is stored as changes over the full v4 rounds.
        kinds = led._conn.execute("SELECT round, lists FROM rounds ORDER BY round").fetchall()
        assert kinds == [(1, None), (2, None), (3, None), (4, None), (5, None), (6, "delta")]
        n_rows = led._conn.execute("SELECT count(*) FROM needs WHERE round = 6").fetchone()[0]
        assert n_rows < len(after)
        pd.testing.assert_frame_equal(led.needs(5), before)


def _district(n_needs: int, n_resources: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    cats = np.array(["repair", "elderly_care", "medical"])
    needs = pd.DataFrame({
        "need_id": [f"N{k}" for k in range(n_needs)],
        "category": cats[rng.integers(0, 3, n_needs)],
        "demand": rng.integers(1, 4, n_needs),
        "x": rng.uniform(0, 1000, n_needs).round(1),
        "y": rng.uniform(0, 1000, n_needs).round(1),
        "priority": rng.integers(1, 6, n_needs),
        "description": rng.choice(["水管", None, '},{"x"', "a\nb"], n_needs),
    })
    resources = pd.DataFrame({
        "resource_id": [f"R{k}" for k in range(n_resources)],
        "category": cats[rng.integers(0, 3, n_resources)],
        "capacity": rng.integers(1, 5, n_resources),
        "x": rng.uniform(0, 1000, n_resources).round(1),
        "y": rng.uniform(0, 1000, n_resources).round(1),
    })
    return needs, resources


def _stored(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """A list in the form the ledger stores and reads it (JSON rows, ordered by id)."""
    out = frame_from_records(frame)
    out = out.iloc[np.argsort(out[key].astype(str).to_numpy(dtype=object), kind="stable")]
    out = out.reset_index(drop=True)
    out[key] = out[key].astype(str)
    return out


step = st.fixed_dictionaries({
    "new": st.integers(0, 3), "changed": st.integers(0, 3), "drop": st.booleans(),
    "add_resource": st.booleans(), "start": st.integers(0, 2), "cancel": st.integers(0, 1),
})


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), steps=st.lists(step, min_size=1, max_size=4))
def test_each_round_reads_back_the_lists_it_was_matched_on(tmp_path_factory, seed, steps):
    """Whatever the sequence of rematches, every round's lists read back (schema 5, stored
    as changes) equal the lists the round recorded: the needs it matched (claimed and
    extended needs as the plan stores them) and its resources with full capacities."""
    rng = np.random.default_rng(seed)
    needs, resources = _district(12, 6, seed)
    path = tmp_path_factory.mktemp("delta") / "l.db"
    expected: dict[int, tuple[pd.DataFrame, pd.DataFrame]] = {}
    with mc.ProjectLedger(path) as led:
        first = mc.match(needs, resources, max_distance=600)
        led.add_round(first)
        expected[1] = (_stored(first.district.needs, "need_id"),
                       _stored(first.district.resources, "resource_id"))
        for k, s in enumerate(steps):
            live = led.projects()
            ns = live[live["status"] == "not_started"]["project_id"].tolist()
            for pid in ns[:s["start"]]:
                led.set_status(pid, "in_progress")
            for pid in ns[s["start"]:s["start"] + s["cancel"]]:
                led.set_status(pid, "cancelled")
            last = led.needs()
            new, _ = _district(s["new"], 0, seed + 1 + k)
            new["need_id"] = [f"S{k}-{j}" for j in range(len(new))]
            pick = last.sample(min(s["changed"], len(last)), random_state=int(rng.integers(99)))
            changed = needs[needs["need_id"].isin(pick["need_id"])].assign(
                demand=lambda f: f["demand"] + 1)
            in_progress = set(led.projects(status="in_progress")["need_id"])
            changed = changed[~changed["need_id"].isin(in_progress)]
            given_needs = pd.concat([new, changed], ignore_index=True)
            res = led.resources()
            gone = set(led._conn.execute(
                "SELECT resource_id FROM dropped_resources WHERE returned_round IS NULL"
            ).fetchall())
            avail = [r for r in res["resource_id"] if (r,) not in gone]
            drop = [avail[int(rng.integers(len(avail)))]] if s["drop"] and avail else None
            extra = None
            if s["add_resource"]:
                _, extra = _district(0, 1, seed + 50 + k)
                extra["resource_id"] = [f"RS{k}"]
            report = led.rematch(new_needs=given_needs if len(given_needs) else None,
                                 new_resources=extra, dropped_resources=drop,
                                 max_distance=600)
            plan = report.plan
            # Kept, rescored and moved projects alike: the active assignments of the
            # round's not-started projects are the match's (units and scores).
            active = led.assignments().merge(
                led.projects(status="not_started")[["project_id"]], on="project_id")
            claimed = set(led.claims("open")["need_id"])
            active = active[~active["need_id"].isin(claimed)]
            # As recorded: the scores without the stickiness bonus.
            mine = recorded_frames(report.result)[1]
            mine = mine[mine["need_id"].isin(set(active["need_id"]))]
            cols = ["need_id", "resource_id", "units", "score"]
            pd.testing.assert_frame_equal(
                active[cols].sort_values(cols[:2]).reset_index(drop=True),
                pd.DataFrame({k: mine[k].to_numpy(dtype=object if k in cols[:2] else None)
                              for k in cols}).sort_values(cols[:2]).reset_index(drop=True),
                check_dtype=False)
            stored = plan.stored_needs if plan.stored_needs is not None else \
                report.result.district.needs
            expected[report.round] = (_stored(stored, "need_id"),
                                      _stored(plan.full_resources, "resource_id"))
        for rnd, (want_needs, want_resources) in expected.items():
            pd.testing.assert_frame_equal(led.needs(rnd), want_needs, obj=f"needs {rnd}")
            pd.testing.assert_frame_equal(led.resources(rnd), want_resources,
                                          obj=f"resources {rnd}")
        kinds = [k for (k,) in led._conn.execute("SELECT lists FROM rounds ORDER BY round")]
        assert kinds == ["full"] + ["delta"] * len(steps)


def test_a_round_writes_only_what_changed(tmp_path):
    """Round 2 (only the stickiness bonus changes the scores, and the ledger records them
    without it) and round 3 write no project, assignment or backup; round 4 writes the
    new need's rows only. Every round's lists and the active assignments stay the match's."""
    needs, resources = mc.synthetic.tiny()
    with mc.ProjectLedger(tmp_path / "l.db") as led:
        first = mc.match(needs, resources, max_distance=2000)
        led.add_round(first)
        q = led._conn.execute

        def counts(rnd):
            return {t: q(f"SELECT count(*) FROM {t} WHERE round = ?", (rnd,)).fetchone()[0]
                    for t in ("needs", "resources", "assignments", "backups")}

        before = led.projects()
        r2 = led.rematch(max_distance=2000)
        assert counts(2) == {"needs": 0, "resources": 0, "assignments": 0, "backups": 0}
        detail = json.loads(led.audit()["detail"].iat[-1])
        assert detail["n_rescored"] == 0 and detail["n_kept"] == 3
        a = led.assignments()
        assert a["round"].tolist() == [1, 1, 1]  # made in round 1, kept as they are
        # The recorded scores: the match's without the stickiness bonus (round 1's).
        assert (r2.result.assignments["stickiness"] > 0).all()
        assert a["score"].tolist() == first.assignments.sort_values("need_id")[
            "score"].tolist()
        assert a["score"].tolist() == recorded_frames(r2.result)[1].sort_values("need_id")[
            "score"].tolist()
        pd.testing.assert_frame_equal(led.projects(), before)
        assert led.projects()["updated_round"].tolist() == [1, 1, 1]
        n_audit = len(led.audit())
        led.rematch(max_distance=2000)
        assert counts(3) == {"needs": 0, "resources": 0, "assignments": 0, "backups": 0}
        audit = led.audit()
        assert audit["action"].iloc[n_audit:].tolist() == ["rematch"]
        assert json.loads(audit["detail"].iat[-1])["n_kept"] == 3
        assert led.projects()["updated_round"].tolist() == [1, 1, 1]
        extra = pd.DataFrame({"need_id": ["N6"], "category": ["repair"], "demand": [1],
                              "x": [450.0], "y": [50.0]})
        r4 = led.rematch(new_needs=extra, max_distance=2000)
        assert counts(4)["needs"] == 1 and counts(4)["resources"] == 0
        assert r4.n_new == 1
        for rnd in (1, 2, 3, 4):
            pd.testing.assert_frame_equal(led.resources(rnd), led.resources(1))
        assert led.needs(4)["need_id"].tolist() == ["N1", "N2", "N3", "N4", "N5", "N6"]
        with pytest.raises(mc.InputError, match="no round 5"):
            led.needs(5)
