"""Rematch planning on frames alone (no SQLite), and the dry run that uses it."""

from __future__ import annotations

import pandas as pd
import pytest

import matchcore as mc
from matchcore.ledger.plan import LedgerState, plan_rematch, preview_rematch


def _needs(ids, demand=2):
    return pd.DataFrame({"need_id": ids, "category": "repair", "demand": demand,
                         "x": [10.0 * k for k in range(len(ids))], "y": 0.0})


def _resources(ids, capacity=3):
    return pd.DataFrame({"resource_id": ids, "category": "repair", "capacity": capacity,
                         "x": [20.0 * k for k in range(len(ids))], "y": 5.0})


def _live(rows):
    return pd.DataFrame(rows, columns=["project_id", "need_id", "resource_id", "units",
                                       "round", "status"]).astype({"units": "int64"})


@pytest.fixture
def state():
    """N1 in progress on R1 (2 units), N2 not started on R2 (2), N3 completed on R1 (1),
    N4 cancelled, N5 without a project."""
    live = _live([("P-N1", "N1", "R1", 2, 1, "in_progress"),
                  ("P-N2", "N2", "R2", 2, 1, "not_started")])
    return LedgerState(
        next_round=2,
        needs=_needs(["N1", "N2", "N3", "N4", "N5"]),
        resources=_resources(["R1", "R2", "R3"]),
        projects=live[["project_id", "need_id", "status"]],
        live=live,
        used={"R1": 3},
        settled=frozenset({"N1", "N3", "N4"}),
        need_rows=_needs(["N1"]),
        backups=pd.DataFrame({"need_id": ["N1", "N1", "N2"], "resource_id": ["R1", "R1", "R2"],
                              "project_id": ["P-N1", "P-N1", "P-N2"], "round": [1, 1, 1],
                              "rank": [2, 1, 1], "backup_resource_id": ["R2", "R3", "R3"]}),
    )


def test_plan_needs_resources_and_incumbent(state):
    plan = plan_rematch(state)
    assert plan.round == 2
    assert plan.needs["need_id"].tolist() == ["N2", "N5"]  # settled needs stay out
    left = dict(zip(plan.resources["resource_id"], plan.resources["capacity"]))
    assert left == {"R2": 3, "R3": 3}  # R1's 3 units are held by fixed projects
    assert plan.full_resources["capacity"].tolist() == [3, 3, 3]
    assert plan.incumbent.values.tolist() == [["N2", "R2"]]
    assert plan.extend == {} and plan.affected == () and plan.before == {"P-N1": 2, "P-N2": 2}


def test_plan_a_dropped_resource_extends_in_progress_and_prefers_backups(state):
    plan = plan_rematch(state, dropped=["R1"])
    assert plan.dropped == ("R1",) and plan.affected == ("P-N1",)
    assert plan.extend == {"N1": "P-N1"}
    back = plan.needs.set_index("need_id")
    assert back.at["N1", "demand"] == 2  # asks only for the units it lost
    assert "R1" not in set(plan.resources["resource_id"])
    # Backups of the lost assignment by rank (R3 rank 1, R2 rank 2), plus the sticky pair.
    assert plan.preferred.values.tolist() == [["N1", "R3"], ["N1", "R2"]]
    assert sorted(map(tuple, plan.incumbent.values.tolist())) == [
        ("N1", "R2"), ("N1", "R3"), ("N2", "R2")]


def test_plan_new_lists_replace_rows_and_a_new_need_reopens_a_settled_one(state):
    plan = plan_rematch(state, new_needs=mc.read_needs(_needs(["N4", "N6"], demand=1)),
                        new_resources=mc.read_resources(_resources(["R1"], capacity=5)))
    assert sorted(plan.needs["need_id"]) == ["N2", "N4", "N5", "N6"]
    assert plan.needs.set_index("need_id").at["N4", "demand"] == 1
    left = dict(zip(plan.resources["resource_id"], plan.resources["capacity"]))
    assert left["R1"] == 5 - 3


@pytest.mark.parametrize("dropped, message", [
    (["R9"], "'R9' is not a resource of the last round"),
    (5, "must be an iterable of resource ids"),
])
def test_plan_refuses_bad_drops(state, dropped, message):
    with pytest.raises(mc.InputError, match=message):
        plan_rematch(state, dropped=dropped)


def test_plan_refuses_a_dropped_resource_that_already_left(state):
    gone = LedgerState(**{**state.__dict__, "gone": {"R3": 1}})
    with pytest.raises(mc.InputError, match="'R3' already dropped out in round 1"):
        plan_rematch(gone, dropped="R3")
    plan = plan_rematch(gone, new_resources=mc.read_resources(_resources(["R3"])))
    assert plan.returned == ("R3",) and "R3" in set(plan.resources["resource_id"])


def test_plan_refuses_a_new_need_whose_project_is_in_progress(state):
    with pytest.raises(mc.InputError, match=r"'N1' \(project 'P-N1'\)"):
        plan_rematch(state, new_needs=mc.read_needs(_needs(["N1"])))


def test_preview_moves_new_projects_and_cancellations(state):
    # Only R3 is left with capacity 1: N2 cannot keep R2, N5 gets nothing.
    tight = LedgerState(**{**state.__dict__,
                           "resources": _resources(["R1", "R2", "R3"], capacity=[3, 0, 1]),
                           "needs": _needs(["N2", "N5"]).assign(x=[0.0, 5000.0])})
    plan = plan_rematch(tight)
    result = mc.match(plan.needs, plan.resources, max_distance=100, incumbent=plan.incumbent)
    preview = preview_rematch(plan, result)
    assert preview.moves.values.tolist() == [["P-N2", "N2", "R2:2", "R3:1"]]
    assert preview.new_projects.empty and preview.cancellations.empty
    plan = plan_rematch(LedgerState(**{**tight.__dict__, "needs": _needs(["N5"])}))
    result = mc.match(plan.needs, plan.resources, max_distance=100)
    preview = preview_rematch(plan, result)
    assert preview.cancellations.values.tolist() == [["P-N2", "N2"]]


def test_state_of_an_empty_ledger_plans_nothing():
    empty = LedgerState.empty()
    plan = plan_rematch(LedgerState(**{**empty.__dict__, "needs": _needs(["N1"]),
                                       "resources": _resources(["R1"])}))
    assert plan.needs["need_id"].tolist() == ["N1"] and plan.incumbent.empty


# ---------------------------------------------------------------------- dry run
def _ledger(path):
    led = mc.ProjectLedger(path)
    led.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
    led.set_status("P-N1", "in_progress")
    return led


def test_dry_run_leaves_the_file_unchanged(tmp_path):
    path = tmp_path / "l.db"
    _ledger(path).close()
    before = path.read_bytes()
    with mc.ProjectLedger(path) as led:
        audit, rounds, projects = led.audit(), led.rounds(), led.projects()
        report = led.rematch(dropped_resources=["R1"], new_needs=mc.synthetic.tiny()[0].iloc[1:2],
                             dry_run=True)
        assert report.dry_run and report.round == 2
        pd.testing.assert_frame_equal(led.audit(), audit)
        pd.testing.assert_frame_equal(led.rounds(), rounds)
        pd.testing.assert_frame_equal(led.projects(), projects)
    assert path.read_bytes() == before


def test_dry_run_says_what_the_real_rematch_does(tmp_path):
    with _ledger(tmp_path / "l.db") as led:
        dry = led.rematch(dropped_resources=["R1"], dry_run=True)
        real = led.rematch(dropped_resources=["R1"])
        assert not real.dry_run
        assert (dry.round, dry.n_changed, dry.n_new, dry.n_dropped, dry.n_affected,
                dry.n_reassigned, dry.n_to_backup) == (
            real.round, real.n_changed, real.n_new, real.n_dropped, real.n_affected,
            real.n_reassigned, real.n_to_backup)
        pd.testing.assert_frame_equal(dry.result.assignments, real.result.assignments)
        for name in ("moves", "new_projects", "extensions", "cancellations"):
            pd.testing.assert_frame_equal(getattr(dry.preview, name),
                                          getattr(real.preview, name))
        assert dry.preview.extensions["project_id"].tolist() == ["P-N1"]
        assert "R4" in led.projects().set_index("project_id").at["P-N1", "resources"]


# ---------------------------------------------------------------------- claims
def _claimed(state, units, rows):
    live = _live([("P-N1", "N1", "R1", 2, 1, "in_progress"), *rows])
    claims = pd.DataFrame({"claim_id": [1], "need_id": ["N2"], "resource_id": ["R2"],
                           "project_id": ["P-N2"], "assignment_id": [7], "units": [units]})
    return LedgerState(**{**state.__dict__, "live": live, "claims": claims})


def test_plan_keeps_open_claims_fixed_like_work_in_progress(state):
    # N2's 2 units on R2 are claimed: they leave the solve's demand and capacity.
    held = _claimed(state, 2, [("P-N2", "N2", "R2", 2, 1, "not_started")])
    plan = plan_rematch(held)
    assert plan.needs["need_id"].tolist() == ["N5"]
    left = dict(zip(plan.resources["resource_id"], plan.resources["capacity"]))
    assert left == {"R2": 1, "R3": 3}
    assert plan.incumbent.empty  # the claimed pair is fixed, not merely sticky
    # The claimed need is recorded whole; the plan's claims are the state's.
    stored = plan.stored_needs.set_index("need_id")
    assert sorted(stored.index) == ["N2", "N5"] and stored.at["N2", "demand"] == 2
    assert plan.claims["claim_id"].tolist() == [1]
    assert plan_rematch(state).stored_needs is None  # no claims: the match's own needs
    # The project held only by its claim is neither cancelled nor moved.
    result = mc.match(plan.needs, plan.resources, max_distance=100)
    preview = preview_rematch(plan, result)
    assert preview.cancellations.empty and preview.moves.empty


def test_plan_a_partial_claim_leaves_the_rest_of_the_need_to_the_solve(state):
    # 1 of N2's 2 units is claimed on R2; the other unit on R2 is ordinary.
    held = _claimed(state, 1, [("P-N2", "N2", "R2", 1, 1, "not_started"),
                               ("P-N2", "N2", "R2", 1, 1, "not_started")])
    plan = plan_rematch(held)
    assert plan.needs.set_index("need_id").at["N2", "demand"] == 1
    left = dict(zip(plan.resources["resource_id"], plan.resources["capacity"]))
    assert left == {"R2": 2, "R3": 3}
    assert ("N2", "R2") not in set(map(tuple, plan.incumbent.values.tolist()))
    # The solve gives N2's open unit to R2 again: only the ordinary row counts, so no move.
    result = mc.match(plan.needs, plan.resources, max_distance=100)
    assert result.assignments[["need_id", "resource_id", "units"]].values.tolist()[0] == [
        "N2", "R2", 1]
    preview = preview_rematch(plan, result)
    assert preview.cancellations.empty and preview.moves.empty
    # Given to R3 instead, the project moves from R2:1 (not R2:2: the claim stays).
    result = mc.match(plan.needs, plan.resources[plan.resources["resource_id"] == "R3"],
                      max_distance=100)
    preview = preview_rematch(plan, result)
    assert preview.moves.values.tolist() == [["P-N2", "N2", "R2:1", "R3:1"]]


@pytest.mark.parametrize("seed", range(5))
def test_incumbent_pairs_are_the_sorted_distinct_pairs(seed):
    import numpy as np

    from matchcore.ledger.plan import _sorted_pairs

    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 300))
    pairs = pd.DataFrame({
        "need_id": [f"N{k}" for k in rng.integers(0, 40, n)],
        "resource_id": [f"R{k}" for k in rng.integers(0, 12, n)],
    })
    if seed == 4:
        pairs = pairs.astype("str")
    want = pairs.drop_duplicates().sort_values(["need_id", "resource_id"]).reset_index(
        drop=True)
    pd.testing.assert_frame_equal(_sorted_pairs(pairs), want)


def test_incumbent_pairs_already_sorted_or_not():
    from matchcore.ledger.plan import _sorted_pairs

    sorted_ = pd.DataFrame({"need_id": ["N1", "N1", "N2", "N10"],
                            "resource_id": ["R1", "R2", "R1", "R1"]}, index=[5, 6, 7, 8])
    for pairs in (sorted_, sorted_.iloc[[0, 1, 3, 2]], sorted_.iloc[::-1],
                  pd.concat([sorted_, sorted_.iloc[:2]]), sorted_.iloc[:1], sorted_.iloc[:0]):
        want = pairs.drop_duplicates().sort_values(["need_id", "resource_id"]).reset_index(
            drop=True)
        pd.testing.assert_frame_equal(_sorted_pairs(pairs), want)


def _rows_frame(rng, n, dtype=object):
    import numpy as np

    return pd.DataFrame({
        "need_id": pd.Series([f"N{k}" for k in rng.integers(0, 30, n)], dtype=dtype),
        "resource_id": pd.Series([f"R{k}" for k in rng.integers(0, 8, n)], dtype=dtype),
        "units": rng.integers(1, 4, n).astype(np.int64),
    })


@pytest.mark.parametrize("seed", range(8))
def test_moved_needs_and_their_pairs_match_a_plain_comparison(seed):
    """The preview's coded comparison (``_moved``, ``_Moves.pairs``) against sets of
    (resource, units) per need, with repeated rows, text of both dtypes and claims
    taking out one equal row each (``_less_claims``)."""
    import numpy as np

    from matchcore.ledger.plan import _less_claims, _moved, _triples

    rng = np.random.default_rng(seed)
    old_frame = _rows_frame(rng, int(rng.integers(0, 120)))
    new_frame = _rows_frame(rng, int(rng.integers(0, 120)), "str" if seed % 2 else object)
    if seed % 3 == 0 and len(old_frame):  # some needs keep their rows exactly
        new_frame = pd.concat([new_frame, old_frame.iloc[: len(old_frame) // 2]],
                              ignore_index=True)
    claims = old_frame.sample(min(len(old_frame), 5), random_state=seed)
    claims = pd.concat([claims, claims.iloc[:1]], ignore_index=True)  # twice the same row
    old = _less_claims(_triples(old_frame), claims)
    new = _triples(new_frame)

    # The reference: drop the claims' rows one by one, then compare sets per need.
    left = list(zip(old_frame["need_id"], old_frame["resource_id"], old_frame["units"]))
    for key in zip(claims["need_id"], claims["resource_id"], claims["units"]):
        if key in left:
            left.remove(key)
    assert list(zip(old.need, old.resource, old.units)) == left

    def by_need(rows):
        out: dict[str, set] = {}
        for need, rid, units in rows:
            out.setdefault(str(need), set()).add((str(rid), int(units)))
        return out

    before = by_need(left)
    after = by_need(zip(new_frame["need_id"], new_frame["resource_id"], new_frame["units"]))
    want = {n for n in before.keys() | after.keys() if before.get(n) != after.get(n)}
    moves = _moved(old, new)
    assert set(moves.moved) == want

    def text(rows, need):
        return ";".join(sorted(f"{r}:{u}" for n, r, u in rows if str(n) == need))

    moved = set(list(want)[: len(want) // 2 + 1]) if want else set()
    new_rows = list(zip(new_frame["need_id"], new_frame["resource_id"], new_frame["units"]))
    for which, rows, listed in (("old", old, left), ("new", new, new_rows)):
        got = moves.pairs(which, rows, moved)
        assert got == {n: text(listed, n) for n in moved if text(listed, n)}
