"""ProjectLedger's one error vocabulary: every misuse raises a MatchcoreError naming what to do."""

from __future__ import annotations

import re
import sqlite3

import pytest

import matchcore as mc
from matchcore.ledger.schema import STATUS_WORDS, parse_status


@pytest.fixture
def ledger(tmp_path):
    led = mc.ProjectLedger(tmp_path / "l.db")
    led.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
    yield led
    led.close()


def test_error_classes_are_matchcore_errors():
    assert issubclass(mc.LedgerBusy, mc.MatchcoreError)
    assert issubclass(mc.LedgerClosed, mc.MatchcoreError)


def test_a_dict_as_note_is_an_input_error(ledger):
    with pytest.raises(mc.InputError, match=r"`note` must be a str or None; got \{'why': 1\}"):
        ledger.set_status("P-N1", "in_progress", note={"why": 1})
    assert ledger.projects().set_index("project_id").at["P-N1", "status"] == "not_started"


@pytest.mark.parametrize("call", ["set_status", "add_round", "rematch"])
def test_by_must_be_a_str(ledger, call):
    args = {"set_status": ("P-N1", "in_progress"),
            "add_round": (mc.match(*mc.synthetic.tiny(), max_distance=2000),),
            "rematch": ()}[call]
    with pytest.raises(mc.InputError, match=r"`by` must be a str or None; got 7 \(int\)"):
        getattr(ledger, call)(*args, by=7)


def test_project_id_must_be_a_str(ledger):
    with pytest.raises(mc.InputError, match="`project_id` must be a str; got None"):
        ledger.set_status(None, "in_progress")


@pytest.mark.parametrize("call", [
    lambda led: led.projects(),
    lambda led: led.n_rounds,
    lambda led: led.set_status("P-N1", "in_progress"),
    lambda led: led.rematch(),
    lambda led: led.export_all("out"),
    lambda led: led.audit(),
])
def test_a_closed_ledger_says_so(ledger, call):
    ledger.close()
    with pytest.raises(mc.LedgerClosed, match=r"ledger '.*l\.db' is closed; open it again"):
        call(ledger)
    ledger.close()  # closing twice is fine


def test_add_round_of_none(ledger):
    with pytest.raises(mc.InputError, match=r"`result` must be a MatchResult .*; got NoneType"):
        ledger.add_round(None)


def test_backups_is_checked(ledger):
    with pytest.raises(mc.InputError, match="`backups` must be an integer >= 0; got -1"):
        ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000), backups=-1)


@pytest.mark.parametrize("path", [None, 3, b"l.db"])
def test_path_must_be_a_str_or_path_like(path):
    with pytest.raises(mc.InputError, match="`path` must be a str or path-like"):
        mc.ProjectLedger(path)


@pytest.mark.parametrize("timeout", ["5", -1, float("nan"), True])
def test_timeout_is_checked(tmp_path, timeout):
    with pytest.raises(mc.InputError, match="`timeout` must be"):
        mc.ProjectLedger(tmp_path / "l.db", timeout=timeout)


def test_a_lock_held_past_the_timeout_is_busy_not_raw(ledger):
    holder = sqlite3.connect(ledger.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        # Opening an up-to-date file takes no write lock.
        quick = mc.ProjectLedger(ledger.path, timeout=0.1)
        with pytest.raises(mc.LedgerBusy, match=r"is busy: .*timeout=0.1 s.*retry"):
            quick.set_status("P-N1", "in_progress")
        quick.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    ledger.set_status("P-N1", "in_progress")  # nothing was half-written


def test_opening_a_locked_new_file_is_busy_not_corrupt(tmp_path):
    path = tmp_path / "new.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(mc.LedgerBusy, match="is busy"):
            mc.ProjectLedger(path, timeout=0.1)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with mc.ProjectLedger(path) as led:  # healthy once the lock is gone
        assert led.n_rounds == 0


def test_opening_an_exclusively_locked_ledger_is_busy_not_corrupt(ledger):
    ledger.close()  # exclusive locking mode needs the file to itself
    holder = sqlite3.connect(ledger.path, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO audit (at, action) VALUES ('x', 'hold')")
    holder.execute("COMMIT")  # exclusive mode keeps the lock after the commit
    try:
        with pytest.raises(mc.LedgerBusy, match="is busy"):
            mc.ProjectLedger(ledger.path, timeout=0.1)
    finally:
        holder.close()
    with mc.ProjectLedger(ledger.path) as led:
        assert "hold" in led.audit()["action"].tolist()


@pytest.mark.parametrize("word", sorted(STATUS_WORDS))
def test_set_status_accepts_every_status_word(tmp_path, word):
    with mc.ProjectLedger(tmp_path / "l.db") as led:
        led.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
        status = STATUS_WORDS[word]
        if status == "not_started":
            with pytest.raises(mc.InputError, match="from 'not_started' to 'not_started'"):
                led.set_status("P-N1", word)
            return
        if status == "completed":
            led.set_status("P-N1", "in_progress")
        led.set_status("P-N1", f" {word} ")
        assert led.projects(status=word)["project_id"].tolist() == ["P-N1"]
        assert led.history("P-N1")["to_status"].iat[-1] == status


def test_the_cli_and_the_ledger_share_one_status_map():
    from matchcore.cli import ledger as cli

    assert "parse_status" in cli.cmd_status.__code__.co_names
    assert parse_status("实施中") == "in_progress" and parse_status(3) is None


@pytest.mark.parametrize("status", [{"to": "done"}, 3, "done"])
def test_an_unknown_status_is_an_input_error(ledger, status):
    with pytest.raises(mc.InputError, match=r"unknown status .* for project 'P-N1'"):
        ledger.set_status("P-N1", status)
    with pytest.raises(mc.InputError, match="`status` must be one of"):
        ledger.projects(status=status)


def test_a_new_need_whose_project_is_in_progress_is_named(ledger):
    ledger.set_status("P-N1", "in_progress")
    needs, _ = mc.synthetic.tiny()
    with pytest.raises(mc.InputError, match=r"new_needs lists needs whose project is in "
                                            r"progress: 'N1' \(project 'P-N1'\)"):
        ledger.rematch(new_needs=needs.iloc[:1])


def test_round_options_round_is_checked(ledger):
    with pytest.raises(mc.InputError, match="`round` must be an integer >= 1; got 'x'"):
        ledger.round_options("x")


@pytest.mark.parametrize("call, message", [
    (lambda led: led.export(None), "`path` must be a str or path-like; got None"),
    (lambda led: led.export("x.csv", format=3), "export `format` must be one of"),
    (lambda led: led.export("x.csv", community=1), "`community` must be a str or None"),
    (lambda led: led.export_all(None), "`folder` must be a str or path-like"),
    (lambda led: led.status_maps(dpi=0), "`dpi` must be an integer >= 1; got 0"),
    (lambda led: led.projects(community=5), "`community` must be a str or None"),
    (lambda led: led.history(5), "`project_id` must be a str or None"),
    (lambda led: led.rematch(dry_run="yes"), "`dry_run` must be True or False; got 'yes'"),
])
def test_export_and_read_arguments_are_checked(ledger, call, message):
    with pytest.raises(mc.InputError, match=re.escape(message)):
        call(ledger)
