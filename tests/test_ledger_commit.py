"""Committing a dry run (`ProjectLedger.commit`): the round previewed is the round recorded.

Staff look at ``rematch(..., dry_run=True)`` and then commit it. The commit
records exactly that round, without matching again, and writes what the same
``rematch`` without ``dry_run`` would have written; a ledger that changed
since the dry run refuses it (:class:`~matchcore.LedgerChanged`) and stays as
it was.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

import matchcore as mc
from matchcore.errors import InputError, LedgerChanged, MatchcoreError

REACH = mc.synthetic.suggested_max_distance("seed_street")
#: Columns that hold the wall clock of a write (different in any two runs).
CLOCKS = {"created_at", "updated_at", "at", "recorded_at"}


@pytest.fixture(scope="module")
def lists():
    return mc.synthetic.district("seed_street", seed=0)


@pytest.fixture(scope="module")
def base(lists, tmp_path_factory):
    """A ledger of one round with work in progress and a completed project."""
    needs, resources = lists
    path = tmp_path_factory.mktemp("commit") / "base.db"
    with mc.ProjectLedger(path) as led:
        led.add_round(mc.match(needs, resources, max_distance=REACH))
        ids = led.projects()["project_id"].tolist()
        led.set_status(ids[0], "in_progress", by="网格员 王芳")
        led.set_status(ids[1], "in_progress")
        led.set_status(ids[1], "completed")
    return path


def _copy(base, tmp_path, name):
    path = tmp_path / name
    shutil.copyfile(base, path)
    return path


def _frames(led: mc.ProjectLedger) -> dict[str, pd.DataFrame]:
    """Everything a round writes that staff read back, without the wall clocks."""
    out = {
        "projects": led.projects(),
        "assignments": led.assignments(),
        "rounds": led.rounds(),
        "audit": led.audit(),
        "claims": led.claims(),
        "needs": led.needs(led.n_rounds),
        "resources": led.resources(led.n_rounds),
    }
    out["history"] = pd.concat(
        [led.history(p).assign(project=p) for p in out["projects"]["project_id"]],
        ignore_index=True)
    return {k: f.drop(columns=[c for c in f.columns if c in CLOCKS]) for k, f in out.items()}


def _changes(lists, led):
    """A week's changes: some new needs, a changed one, the busiest resource leaves."""
    needs, _ = lists
    new = needs.iloc[:6].assign(need_id=lambda f: "NEW-" + f["need_id"])
    moved = needs.iloc[[40]].assign(priority=5)
    busiest = led.assignments().groupby("resource_id")["units"].sum().idxmax()
    return {"new_needs": pd.concat([new, moved], ignore_index=True),
            "dropped_resources": [busiest]}


def _assert_same_ledgers(a: mc.ProjectLedger, b: mc.ProjectLedger) -> None:
    fa, fb = _frames(a), _frames(b)
    for name in fa:
        pd.testing.assert_frame_equal(fa[name], fb[name], obj=name)


@pytest.mark.parametrize("stickiness", [0.1, pytest.param(0.0, marks=pytest.mark.slow)])
def test_a_committed_dry_run_writes_what_the_rematch_writes(lists, base, tmp_path, stickiness):
    with mc.ProjectLedger(_copy(base, tmp_path, "direct.db")) as direct, \
            mc.ProjectLedger(_copy(base, tmp_path, "commit.db")) as staged:
        kw = _changes(lists, direct)
        real = direct.rematch(stickiness=stickiness, by="街道 张主任", **kw)
        dry = staged.rematch(stickiness=stickiness, by="街道 张主任", dry_run=True, **kw)
        assert staged.n_rounds == 1 and dry.dry_run
        done = staged.commit(dry)
        assert not done.dry_run and done.round == real.round == 2 and done.attempts == 1
        assert done.result is dry.result  # not matched again
        assert (done.n_changed, done.n_new, done.n_dropped, done.n_affected, done.n_reassigned,
                done.n_to_backup, done.dropped_resources) == (
            real.n_changed, real.n_new, real.n_dropped, real.n_affected, real.n_reassigned,
            real.n_to_backup, real.dropped_resources)
        for name in ("moves", "new_projects", "extensions", "cancellations"):
            pd.testing.assert_frame_equal(getattr(done.preview, name),
                                          getattr(dry.preview, name))
        _assert_same_ledgers(direct, staged)
        assert done.result.verify()
        # The next week goes on from the committed round as from a rematched one.
        a = direct.rematch(start=real.result, stickiness=stickiness)
        b = staged.rematch(start=done.result, stickiness=stickiness)
        assert a.started_from == b.started_from == "memory"
        _assert_same_ledgers(direct, staged)


def test_a_dry_run_is_committed_by_another_ledger_of_the_same_file(lists, base, tmp_path):
    path = _copy(base, tmp_path, "l.db")
    with mc.ProjectLedger(path) as led:
        dry = led.rematch(dry_run=True, **_changes(lists, led))
    with mc.ProjectLedger(path) as again:  # the first one is closed
        done = again.commit(dry, by="街道 李书记")
        assert again.n_rounds == 2 and done.round == 2
        assert again.audit()["by"].iloc[-1] == "街道 李书记"
        assert again.warm_info()["current"]  # the round's warm state is kept as a rematch's


def test_a_ledger_that_changed_since_the_dry_run_refuses_it_and_stays(lists, base, tmp_path):
    path = _copy(base, tmp_path, "l.db")
    with mc.ProjectLedger(path) as led:
        dry = led.rematch(dry_run=True, **_changes(lists, led))
        open_ids = led.projects(status="not_started")["project_id"].tolist()
        led.set_status(open_ids[0], "in_progress")  # a write after the dry run
        before = path.read_bytes()
        with pytest.raises(LedgerChanged, match="changed since this dry run") as err:
            led.commit(dry)
        assert isinstance(err.value, MatchcoreError)
        assert led.n_rounds == 1 and path.read_bytes() == before
        # Dry-running again gives a plan that commits.
        again = led.rematch(dry_run=True, **_changes(lists, led))
        assert led.commit(again).round == 2


def test_a_dry_run_commits_once(lists, base, tmp_path):
    with mc.ProjectLedger(_copy(base, tmp_path, "l.db")) as led:
        dry = led.rematch(dry_run=True, **_changes(lists, led))
        led.commit(dry)
        with pytest.raises(LedgerChanged, match="already committed"):
            led.commit(dry)
        assert led.n_rounds == 2


def test_another_process_round_makes_the_dry_run_stale(lists, base, tmp_path):
    path = _copy(base, tmp_path, "l.db")
    with mc.ProjectLedger(path) as led, mc.ProjectLedger(path) as other:
        dry = led.rematch(dry_run=True, **_changes(lists, led))
        other.rematch()
        with pytest.raises(LedgerChanged):
            led.commit(dry)
        assert led.n_rounds == 2


def test_commit_refuses_what_is_not_a_dry_run_of_this_file(lists, base, tmp_path):
    with mc.ProjectLedger(_copy(base, tmp_path, "a.db")) as a, \
            mc.ProjectLedger(_copy(base, tmp_path, "b.db")) as b:
        dry = a.rematch(dry_run=True)
        with pytest.raises(InputError, match="planned on the ledger"):
            b.commit(dry)
        real = a.rematch()
        with pytest.raises(InputError, match="already recorded by rematch"):
            a.commit(real)
        with pytest.raises(InputError, match="RematchReport"):
            a.commit("round 2")  # type: ignore[arg-type]
        with pytest.raises(InputError, match="`by`"):
            b.commit(b.rematch(dry_run=True), by=3)  # type: ignore[arg-type]
        assert (a.n_rounds, b.n_rounds) == (2, 1)


def test_claims_a_dry_run_settled_are_settled_again_by_its_commit(lists, base, tmp_path):
    """A dry run settles expired claims in a transaction it rolls back; the commit
    settles them again at the dry run's clock, and the ledger is the rematch's."""
    ledgers = []
    for name in ("direct.db", "commit.db"):
        led = mc.ProjectLedger(_copy(base, tmp_path, name))
        led.settings(claim_expiry_days=7)
        open_projects = led.projects(status="not_started")
        need = open_projects["need_id"].iloc[3]
        resource = open_projects["resources"].iloc[3].split(";")[0]
        led.claim(need, resource, units=1, by="共建单位 A", as_of="2026-03-01")
        ledgers.append(led)
    direct, staged = ledgers
    try:
        real = direct.rematch(as_of="2026-03-20")  # the claim expired on 03-08
        dry = staged.rematch(as_of="2026-03-20", dry_run=True)
        assert staged.claims()["status"].tolist() == ["open"]  # the dry run wrote nothing
        done = staged.commit(dry)
        assert done.round == real.round
        assert staged.claims()["status"].tolist() == direct.claims()["status"].tolist() \
            == ["expired"]
        _assert_same_ledgers(direct, staged)
    finally:
        direct.close()
        staged.close()


def test_a_preview_edited_in_place_does_not_change_what_is_committed(lists, base, tmp_path):
    """Staff sort and filter the preview's frames; the round recorded stays the plan's."""
    with mc.ProjectLedger(_copy(base, tmp_path, "direct.db")) as direct, \
            mc.ProjectLedger(_copy(base, tmp_path, "commit.db")) as staged:
        kw = _changes(lists, direct)
        direct.rematch(**kw)
        dry = staged.rematch(dry_run=True, **kw)
        assert len(dry.preview.cancellations) and len(dry.preview.moves)
        for frame in (dry.preview.cancellations, dry.preview.moves):
            frame["project_id"] = "P-edited"  # the caller's frame, changed in place
        done = staged.commit(dry)
        for frame in (done.preview.cancellations, done.preview.moves):
            assert len(frame) and "P-edited" not in set(frame["project_id"])
        _assert_same_ledgers(direct, staged)
