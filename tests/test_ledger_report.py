"""Owners and deadlines, the problem ledger, and the dispatch report read back
against the ledger's own tables; the ``matchcore ledger report`` command."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import matchcore as mc
from matchcore.cli import main
from matchcore.ledger.report import sheet_name
from matchcore.ledger.supervision import SUPERVISION_COLOURS, SUPERVISION_LABELS

openpyxl = pytest.importorskip("openpyxl")


@pytest.fixture
def led(tmp_path):
    ledger = mc.ProjectLedger(tmp_path / "l.db")
    ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
    yield ledger
    ledger.close()


def test_colour_code_is_one_mapping():
    assert list(SUPERVISION_COLOURS) == ["overdue", "due_soon", "on_track", "done"]
    assert set(SUPERVISION_LABELS) == set(SUPERVISION_COLOURS)
    assert SUPERVISION_COLOURS["overdue"] == "#d62728"


def test_owners_deadlines_and_overdue(led):
    led.assign("P-N1", owner="王芳", due="2026-03-10", by="街道")
    led.assign("P-N2", owner="赵强", due="2026-03-20")
    led.assign("P-N2", owner="钱敏", due="2026-03-25", note="换人")  # the latest is current
    led.assign("P-N3", owner="孙丽", due="2026-03-01")
    led.set_status("P-N3", "in_progress")
    led.set_status("P-N3", "completed")
    assert led.owners().set_index("project_id").at["P-N2", "owner"] == "钱敏"
    flags = led.supervision(as_of="2026-03-18").set_index("project_id")["flag"].to_dict()
    assert flags == {"P-N1": "overdue", "P-N2": "due_soon", "P-N3": "done"}
    late = led.overdue(as_of="2026-03-18")
    assert late[["project_id", "owner", "days_left"]].values.tolist() == [["P-N1", "王芳", -8]]
    assert led.overdue(as_of="2026-03-10").empty  # due today is not late
    assert led.supervision(as_of="2026-03-01").set_index("project_id").at["P-N2", "flag"] == (
        "on_track")
    assert led.audit()["action"].tolist().count("assign") == 4
    with pytest.raises(mc.InputError, match="unknown project 'P-X'"):
        led.assign("P-X", owner="a")
    with pytest.raises(mc.InputError, match="`due` must be a date"):
        led.assign("P-N1", owner="a", due="next week")


def test_problems_are_closed_item_by_item(led):
    a = led.open_problem("P-N1", text="服务时间未公示", due="2026-03-15", by="督查组",
                         as_of="2026-03-01")
    b = led.open_problem(community="南苑社区", text="需求未上门核实", by="督查组")
    assert led.problems()["problem_id"].tolist() == [a, b]
    assert led.problems().set_index("problem_id").at[a, "community"] == "东湖社区"
    led.close_problem(a, by="东湖社区", note="已在公示栏张贴")
    assert led.problems()["problem_id"].tolist() == [b]
    closed = led.problems(open=False)
    assert closed[["problem_id", "closed_by", "note"]].values.tolist() == [
        [a, "东湖社区", "已在公示栏张贴"]]
    assert len(led.problems(open=None)) == 2
    with pytest.raises(mc.InputError, match="already closed"):
        led.close_problem(a)
    with pytest.raises(mc.InputError, match="a `project_id` or a `community`"):
        led.open_problem(text="x")
    with pytest.raises(mc.InputError, match="unknown problem"):
        led.close_problem(99)
    actions = led.audit()
    assert actions["action"].tolist().count("open_problem") == 2
    detail = json.loads(actions.loc[actions["action"] == "close_problem", "detail"].iat[0])
    assert detail == {"problem_id": a, "note": "已在公示栏张贴"}


def _month(led):
    """A month of the loop on the tiny district."""
    led.assign("P-N1", owner="王芳", due="2026-03-10")
    led.assign("P-N3", owner="孙丽", due="2026-03-30")
    led.set_status("P-N1", "in_progress")
    led.open_problem("P-N2", text="维修进度未反馈", by="督查组")
    solved = led.open_problem(community="西山社区", text="台账未更新", by="督查组")
    led.close_problem(solved, by="西山社区")
    led.rematch(stickiness=0.1)
    led.claim("N5", "R4", by="卫生站 刘医生", force=True)
    led.set_status("P-N2", "cancelled", note="居民已自行修好")


def test_report_sheets_and_numbers_match_the_ledger(led, tmp_path):
    _month(led)
    files = led.report(tmp_path / "out", since=1, as_of="2026-03-15")
    assert files["xlsx"].is_file() and files["html"].is_file()
    book = pd.read_excel(files["xlsx"], sheet_name=None)
    assert list(book)[:7] == ["汇总", "本期变化", "逾期督办", "问题台账", "未满足需求",
                              "未满足原因", "认领"]
    assert set(list(book)[7:]) == {"东湖社区", "西山社区", "南苑社区"}
    summary = book["汇总"].set_index("社区")
    projects = led.projects()
    assert summary.at["全街道", "项目数"] == len(projects)
    for status, label in mc.schema.STATUSES.items():
        assert summary.at["全街道", label] == (projects["status"] == status).sum()
    for comm, group in projects.groupby("community"):
        assert summary.at[comm, "项目数"] == len(group)
        sheet = book[comm]
        assert sorted(sheet["项目编号"]) == sorted(group["project_id"])
        assert sheet["状态"].tolist() == [mc.schema.STATUSES[s] for s in group["status"]]
    # Overdue items with owners: P-N1 was due on 3-10 and is still in progress.
    late = led.overdue(as_of="2026-03-15")
    assert summary.at["全街道", "逾期"] == len(late) == 1
    watch = book["逾期督办"]
    assert watch[["项目编号", "责任人", "剩余天数", "督办"]].values.tolist() == [
        ["P-N1", "王芳", -5, "已逾期"]]
    # Open problems only, until closed.
    assert book["问题台账"]["问题"].tolist() == led.problems()["text"].tolist() == [
        "维修进度未反馈"]
    assert summary.at["全街道", "待整改问题"] == 1
    # Unmet needs by reason, as the claiming board has them.
    board = led.open_for_claims(as_of="2026-03-15")
    assert book["未满足需求"]["需求编号"].tolist() == board["need_id"].tolist()
    assert summary.at["全街道", "未满足需求"] == len(board)
    assert book["未满足原因"]["需求数"].sum() == len(board)
    # Changes since round 1: started P-N1, claimed P-N5 (new), cancelled P-N2.
    changes = book["本期变化"]
    kinds = sorted(zip(changes["项目编号"], changes["变化"]))
    assert ("P-N1", "开工") in kinds and ("P-N2", "取消") in kinds
    assert ("P-N5", "认领") in kinds and ("P-N5", "新增") in kinds
    assert summary.at["全街道", "本期认领"] == len(led.claims()) == 1
    claims = book["认领"]
    assert claims[["需求编号", "资源编号", "不匹配原因"]].values.tolist() == [
        ["N5", "R4", "超出服务半径"]]
    page = files["html"].read_text(encoding="utf-8")
    assert "项目调度会通报" in page and "维修进度未反馈" in page
    assert SUPERVISION_COLOURS["overdue"] in page


def test_report_remembers_the_last_one(led, tmp_path):
    led.report(tmp_path / "first.xlsx", as_of="2026-03-01")
    assert (tmp_path / "first.html").is_file()
    led.set_status("P-N1", "in_progress")
    files = led.report(tmp_path / "second.xlsx", as_of="2026-03-08")
    changes = pd.read_excel(files["xlsx"], sheet_name="本期变化")
    assert changes[["项目编号", "变化"]].values.tolist() == [["P-N1", "开工"]]
    assert led.audit()["action"].tolist().count("report") == 2
    with pytest.raises(mc.InputError, match="round 9"):
        led.report(tmp_path / "x.xlsx", since=9)
    with pytest.raises(mc.InputError, match=r"\.xlsx file or a folder"):
        led.report(tmp_path / "x.csv")


def test_sheet_names_are_safe_for_excel(tmp_path):
    taken: set[str] = set()
    names = [sheet_name(n, taken) for n in
             ["东湖/西山:[联合]*社区?", "A" * 40, "a" * 40, "History", "'x'", ""]]
    for name in names:
        assert len(name) <= 31 and not set(name) & set("[]:*?/\\")
        assert not name.startswith("'") and name
    assert len({n.lower() for n in names}) == len(names)
    needs, resources = mc.synthetic.tiny()
    long_name = "东湖/新村:[一期]*社区名字很长很长很长很长"
    needs["community"] = needs["community"].replace("东湖社区", long_name)
    ledger = mc.ProjectLedger(tmp_path / "odd.db")
    ledger.add_round(mc.match(needs, resources, max_distance=2000))
    files = ledger.report(tmp_path / "odd")
    book = openpyxl.load_workbook(files["xlsx"])
    assert any(n.startswith("东湖_新村__一期__") for n in book.sheetnames)
    assert all(len(n) <= 31 for n in book.sheetnames)


def test_cli_report(tmp_path, capsys):
    path = tmp_path / "l.db"
    with mc.ProjectLedger(path) as ledger:
        ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
    out = tmp_path / "report"
    assert main(["ledger", "report", str(path), "-o", str(out), "--as-of", "2026-03-01",
                 "--since", "1", "--maps", str(tmp_path / "maps")]) == 0
    printed = capsys.readouterr().out
    assert "dispatch-report.xlsx" in printed and "public-map.html" in printed
    assert (out / "dispatch-report.xlsx").is_file()
    assert (tmp_path / "maps" / "public-map.html").is_file()
    assert main(["ledger", "report", str(tmp_path / "none.db"), "-o", str(out)]) == 2
    assert main(["ledger", "report", str(path), "-o", str(out), "--since", "7"]) == 2
    assert main(["ledger", "report", str(path), "-o", str(out), "--as-of", "soon"]) == 2
    assert "as_of" in capsys.readouterr().err


def test_report_reads_one_committed_state(led, tmp_path, monkeypatch):
    # Another writer commits while the report is being read (after its first tables,
    # before the claiming board): the report is still the state it started from.
    before = led.report(tmp_path / "before", since=1, as_of="2026-03-31")
    before_html = before["html"].read_text(encoding="utf-8")
    other = mc.ProjectLedger(led.path)
    supervision = led.supervision

    def racing(*args, **kwargs):
        other.rematch(dropped_resources=["R1"], by="a writer in between")
        return supervision(*args, **kwargs)

    monkeypatch.setattr(led, "supervision", racing)
    during = led.report(tmp_path / "during", since=1, as_of="2026-03-31")
    monkeypatch.undo()
    other.close()
    assert during["html"].read_text(encoding="utf-8") == before_html
    # The write did land: the next report shows the round it recorded.
    after = led.report(tmp_path / "after", since=1, as_of="2026-03-31")
    assert after["html"].read_text(encoding="utf-8") != before_html
