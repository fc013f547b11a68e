"""Claims (共建项目认领) through rematches: kept, expired, released, started, over the
limit, incompatible; the claiming board; settings."""

from __future__ import annotations

import pandas as pd
import pytest

import matchcore as mc


def _lists():
    """One repairer, one low-priority need that has it; a more urgent need comes later."""
    needs = pd.DataFrame({"need_id": ["A"], "category": ["repair"], "demand": [1],
                          "x": [0.0], "y": [0.0], "priority": [1], "community": ["东湖社区"],
                          "grid": ["G1"]})
    resources = pd.DataFrame({"resource_id": ["R", "S"], "category": ["repair", "repair"],
                              "capacity": [1, 1], "x": [10.0, 20.0], "y": [0.0, 0.0],
                              "provider": ["物业维修部", "物业维修部"],
                              "community": ["东湖社区", "东湖社区"]})
    urgent = pd.DataFrame({"need_id": ["B", "C"], "category": ["repair", "repair"],
                           "demand": [1, 1], "x": [5.0, 6.0], "y": [0.0, 0.0],
                           "priority": [5, 5], "community": ["东湖社区", "东湖社区"],
                           "grid": ["G1", "G1"]})
    return needs, resources, urgent


@pytest.fixture
def led(tmp_path):
    needs, resources, _ = _lists()
    ledger = mc.ProjectLedger(tmp_path / "l.db")
    ledger.add_round(mc.match(needs, resources, max_distance=1000))
    yield ledger
    ledger.close()


def _holder(ledger, need):
    a = ledger.assignments()
    return sorted(a.loc[a["need_id"] == need, "resource_id"])


def test_without_a_claim_the_urgent_needs_take_the_capacity(led):
    _, _, urgent = _lists()
    assert _holder(led, "A") == ["R"]
    led.rematch(urgent, stickiness=0.0)
    assert _holder(led, "A") == []
    assert led.projects().set_index("need_id").at["A", "status"] == "cancelled"


def test_claim_is_kept_through_rematches(led):
    _, _, urgent = _lists()
    k = led.claim("A", "R", by="党员 李明", as_of="2026-03-01")
    assert k == 1
    for day in ("2026-03-02", "2026-03-20"):
        report = led.rematch(urgent, stickiness=0.0, as_of=day)
        # The claimed need and the claimed unit never reach the solve.
        assert "A" not in set(report.result.district.needs["need_id"])
        assert "R" not in set(report.result.district.resources["resource_id"])
        assert _holder(led, "A") == ["R"]
        p = led.projects().set_index("need_id")
        assert p.at["A", "status"] == "not_started" and p.at["A", "assigned"] == 1
        assert p.at["A", "demand"] == 1
        urgent = None
    assert led.claims()["status"].tolist() == ["open"]
    assert "claim_kept" in set(led.audit()["action"])
    # Capacity is never exceeded.
    a = led.assignments()
    assert (a.groupby("resource_id")["units"].sum() <= 1).all()


def test_expired_claim_is_released_and_the_unit_moves(led):
    _, _, urgent = _lists()
    led.settings(claim_expiry_days=7)
    led.claim("A", "R", by="李明", as_of="2026-03-01")
    led.rematch(urgent, stickiness=0.0, as_of="2026-03-07")
    assert _holder(led, "A") == ["R"]
    led.rematch(stickiness=0.0, as_of="2026-03-08")
    claims = led.claims()
    assert claims["status"].tolist() == ["expired"]
    assert "7 days" in claims["note"].iat[0]
    assert _holder(led, "A") == []
    assert {"R", "S"} == set(led.assignments()["resource_id"])


def test_released_claim_frees_the_need(led):
    _, _, urgent = _lists()
    led.claim("A", "R", by="李明")
    assert led.release_claim("A", by="李明", note="另有安排") == [1]
    assert led.claims().at[0, "status"] == "released"
    assert _holder(led, "A") == []
    board = led.open_for_claims()
    assert board["need_id"].tolist() == ["A"] and board["units_open"].tolist() == [1]
    # The board lists the compatible resources with capacity left, nearest first.
    assert board[["resources", "providers", "n_resources"]].values.tolist() == [
        ["R;S", "物业维修部", 2]]
    led.rematch(urgent, stickiness=0.0)
    assert _holder(led, "A") == []
    with pytest.raises(mc.InputError, match="no open claim"):
        led.release_claim(1)


def test_started_claim_becomes_in_progress_work(led):
    _, _, urgent = _lists()
    led.claim("A", "R", by="李明")
    pid = led.projects().set_index("need_id").at["A", "project_id"]
    led.set_status(pid, "in_progress", by="李明")
    led.rematch(urgent, stickiness=0.0)
    assert led.claims()["status"].tolist() == ["started"]
    assert _holder(led, "A") == ["R"]


def test_claim_limit_per_provider(led):
    led.rematch(pd.DataFrame({"need_id": ["D"], "category": ["repair"], "demand": [1],
                              "x": [0.0], "y": [0.0], "priority": [1]}), stickiness=0.0)
    led.set_setting("claim_limit", 1)
    led.claim("A", "R", by="甲")
    with pytest.raises(mc.InputError, match=r"'物业维修部' has 1 open claim.*claim_limit=1"):
        led.claim("D", "S", by="乙")
    led.release_claim(1)
    assert led.claim("D", "S", by="乙") == 2
    with pytest.raises(mc.InputError, match="claim_limit"):
        led.settings(claim_limit=0)
    with pytest.raises(mc.InputError, match="unknown ledger setting"):
        led.set_setting("limit", 3)
    assert led.settings() == {"claim_limit": 1, "claim_expiry_days": None}


def test_incompatible_claim_needs_force_and_is_flagged(tmp_path):
    ledger = mc.ProjectLedger(tmp_path / "t.db")
    ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
    # N4 asks for legal aid, which no resource offers; N5 is 5 km from R4.
    with pytest.raises(mc.InputError, match=r"'R2' cannot serve need 'N4'.*no_compatible"):
        ledger.claim("N4", "R2", by="律师 陈")
    with pytest.raises(mc.InputError, match="out_of_reach"):
        ledger.claim("N5", "R4")
    k = ledger.claim("N5", "R4", by="卫生站", force=True)
    row = ledger.claims().set_index("claim_id").loc[k]
    assert bool(row["forced"]) and row["flag"] == "out_of_reach"
    assert row["project_id"] == "P-N5"
    report = ledger.rematch()
    # The forced claim is kept like any other: a project, not cancelled, R4 used up.
    p = ledger.projects().set_index("project_id")
    assert p.at["P-N5", "status"] == "not_started" and p.at["P-N5", "assigned"] == 1
    assert "R4" not in set(report.result.district.resources["resource_id"])
    assert ledger.audit()["action"].tolist().count("claim") == 1


def test_claim_checks_units_and_ids(tmp_path):
    ledger = mc.ProjectLedger(tmp_path / "t.db")
    ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
    with pytest.raises(mc.InputError, match="not a need of round 1"):
        ledger.claim("N9", "R1")
    with pytest.raises(mc.InputError, match="not an available resource"):
        ledger.claim("N1", "R9")
    # N1 (2 units) holds 2 of R1's 3; claiming it for R1 takes those 2.
    with pytest.raises(mc.InputError, match="2 of its 2 unit"):
        ledger.claim("N1", "R1", units=3)
    assert ledger.claim("N1", "R1", units=2) == 1
    assert ledger.assignments("P-N1")[["resource_id", "units"]].values.tolist() == [["R1", 2]]
    with pytest.raises(mc.InputError, match="already claimed"):
        ledger.claim("N1", "R1")
    ledger.set_status("P-N2", "in_progress")
    with pytest.raises(mc.InputError, match="'in_progress'"):
        ledger.claim("N2", "R2")
    # N3 (3 units) has 2 of R3, which has no capacity left: at most 2 to claim.
    with pytest.raises(mc.InputError, match=r"2 unit.*of its capacity are left"):
        ledger.claim("N3", "R3", units=3)
    ledger.claim("N3", "R3", units=1)
    a = ledger.assignments("P-N3")
    assert a["units"].sum() == 2 and set(a["resource_id"]) == {"R3"}
    ledger.rematch(stickiness=0.0)
    assert ledger.assignments("P-N3")["units"].sum() == 2
    assert ledger.projects().set_index("project_id").at["P-N3", "assigned"] == 2


def test_claim_after_add_round_is_released(led):
    needs, resources, _ = _lists()
    led.claim("A", "R")
    led.add_round(mc.match(needs, resources, max_distance=1000))
    claims = led.expire_claims()
    assert claims["status"].tolist() == ["released"]
    assert "replaced" in claims["note"].iat[0]


def test_claim_on_a_dropped_resource_is_released_and_rematched(led):
    led.claim("A", "R")
    led.rematch(dropped_resources=["R"], stickiness=0.0)
    assert led.claims()["status"].tolist() == ["released"]
    assert _holder(led, "A") == ["S"]


def test_open_for_claims_board(tmp_path):
    ledger = mc.ProjectLedger(tmp_path / "t.db")
    ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
    board = ledger.open_for_claims()
    assert board[["need_id", "units_open", "reason"]].values.tolist() == [
        ["N3", 1, "outbid"], ["N5", 1, "out_of_reach"], ["N4", 2, "no_compatible_resource"]]
    assert (board["n_resources"] == 0).all()
    ledger.claim("N5", "R4", force=True)
    assert "N5" not in set(ledger.open_for_claims()["need_id"])
    # A new resource with capacity shows on the board as a provider.
    ledger.rematch(new_resources=pd.DataFrame({
        "resource_id": ["R5"], "category": ["legal_aid"], "capacity": [1], "x": [300.0],
        "y": [320.0], "provider": ["律师事务所"]}), stickiness=0.0)
    board = ledger.open_for_claims().set_index("need_id")
    assert board.at["N4", "units_open"] == 1 and board.at["N4", "reason"] == "outbid"
    # R5's one unit went to N4, so no provider is left to list.
    assert board.at["N4", "n_resources"] == 0


def test_version_3_ledger_gets_the_claim_tables(tmp_path):
    import sqlite3

    from matchcore.ledger.schema import APPLICATION_ID, MIGRATIONS

    path = tmp_path / "v3.db"
    conn = sqlite3.connect(path)
    for step in (1, 2, 3):
        for sql in MIGRATIONS[step]:
            conn.execute(sql)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    with mc.ProjectLedger(path) as ledger:
        assert len(ledger.claims()) == 0 and len(ledger.problems()) == 0
        assert ledger.audit()["action"].tolist() == ["migrate"]


def test_claims_on_seed_street_never_exceed_capacity_or_demand(tmp_path):
    import numpy as np

    needs, resources = mc.synthetic.district("seed_street", seed=0)
    ledger = mc.ProjectLedger(tmp_path / "s.db")
    ledger.add_round(mc.match(needs, resources, max_distance=700))
    rng = np.random.default_rng(1)
    a = ledger.assignments()
    picks = a.iloc[rng.choice(len(a), 12, replace=False)]
    for need, rid in zip(picks["need_id"], picks["resource_id"]):
        ledger.claim(need, rid, by="共建单位", as_of="2026-03-02")
    started = picks["project_id"].iat[0]
    ledger.set_status(started, "in_progress")
    ledger.release_claim(picks["need_id"].iat[1])
    ledger.rematch(stickiness=0.0, as_of="2026-03-10",
                   dropped_resources=[picks["resource_id"].iat[2]])
    ledger.rematch(needs.sample(40, random_state=2).assign(priority=5), stickiness=0.0,
                   as_of="2026-03-20")
    live = ledger.projects().query("status != 'cancelled'")["project_id"]
    active = ledger.assignments()
    active = active[active["project_id"].isin(set(live))]
    cap = resources.set_index("resource_id")["capacity"]
    used = active.groupby("resource_id")["units"].sum()
    assert (used <= cap.loc[used.index]).all()
    dem = needs.set_index("need_id")["demand"]
    got = active.groupby("need_id")["units"].sum()
    assert (got <= dem.loc[got.index]).all()
    # Every claim still open holds its units on an active assignment.
    claims = ledger.claims()
    assert claims.set_index("claim_id").loc[1, "status"] == "started"
    assert claims.set_index("claim_id").loc[3, "note"] == "resource dropped out"
    for need, rid, units in claims.query("status == 'open'")[
            ["need_id", "resource_id", "units"]].itertuples(index=False):
        mine = active[(active["need_id"] == need) & (active["resource_id"] == rid)]
        assert mine["units"].sum() >= units


def test_dry_run_settles_claims_like_the_real_run_and_writes_nothing(led, tmp_path):
    # The dry run plans from the claims as the real run settles them (here: one expires),
    # and leaves the file as it was.
    _, _, urgent = _lists()
    led.settings(claim_expiry_days=7)
    led.claim("A", "R", by="李明", as_of="2026-03-01")
    led.rematch(urgent, stickiness=0.0, as_of="2026-03-02")
    claims, projects, audit = led.claims(), led.projects(), led.audit()
    dry = led.rematch(stickiness=0.0, as_of="2026-03-09", dry_run=True)
    pd.testing.assert_frame_equal(led.claims(), claims)
    pd.testing.assert_frame_equal(led.projects(), projects)
    pd.testing.assert_frame_equal(led.audit(), audit)
    assert dry.plan.claims.empty  # expired at 2026-03-09: the unit is free again
    kept = led.rematch(stickiness=0.0, as_of="2026-03-03", dry_run=True)
    assert kept.plan.claims["need_id"].tolist() == ["A"] and kept.preview.cancellations.empty
    real = led.rematch(stickiness=0.0, as_of="2026-03-09")
    assert (dry.n_changed, dry.n_new, dry.n_dropped) == (real.n_changed, real.n_new,
                                                        real.n_dropped)
    pd.testing.assert_frame_equal(dry.result.assignments, real.result.assignments)
    assert led.claims()["status"].tolist() == ["expired"]


def test_a_rematch_with_a_bad_drop_releases_no_claim(led):
    led.claim("A", "R", by="李明", as_of="2026-03-01")
    with pytest.raises(mc.InputError, match="'R9' is not a resource of the last round"):
        led.rematch(dropped_resources=["R", "R9"], as_of="2026-03-02")
    assert led.claims()["status"].tolist() == ["open"]
