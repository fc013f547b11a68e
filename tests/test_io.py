"""Files in and out: CSV (UTF-8, UTF-8 with BOM, GB18030), Excel, JSON, Parquet."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import matchcore as mc
from matchcore.io import read_table


def full_needs() -> pd.DataFrame:
    needs, _ = mc.synthetic.tiny()
    return needs.assign(
        skills=["护理;陪诊", None, "辅导", None, "问诊"],
        window_start=pd.to_datetime(["2024-05-01 08:00", None, "2024-05-02 00:00", None, None]),
        window_end=pd.to_datetime(["2024-05-01 12:00", None, None, None, None]),
        备注=["一", "二", None, "四", "五"],
    )


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".xlsx", ".json", ".parquet"])
def test_round_trip(tmp_path, suffix):
    needs = mc.read_needs(full_needs())
    path = mc.write_table(needs, tmp_path / f"needs{suffix}")
    assert path.exists()
    back = mc.read_needs(path)
    for col in ("need_id", "category", "community", "grid", "description", "skills"):
        assert back[col].tolist() == needs[col].tolist(), col
    for col in ("demand", "priority"):
        assert back[col].tolist() == needs[col].tolist(), col
    np.testing.assert_array_equal(back[["x", "y"]].to_numpy(float), needs[["x", "y"]].to_numpy())
    for col in ("window_start", "window_end"):
        pd.testing.assert_series_equal(back[col], needs[col], check_dtype=False)
    assert back["备注"].tolist() == needs["备注"].tolist()
    # The same round whatever the file format.
    a = mc.match(back, mc.synthetic.tiny()[1], max_distance=2000).assignments
    b = mc.match(needs, mc.synthetic.tiny()[1], max_distance=2000).assignments
    pd.testing.assert_frame_equal(a, b)


def test_resources_round_trip_with_chinese_headers(tmp_path):
    _, resources = mc.synthetic.tiny()
    zh = resources.rename(columns={"resource_id": "资源编号", "category": "类别",
                                   "capacity": "可供数量", "provider": "提供方",
                                   "partner_communities": "共建社区"})
    for suffix in (".csv", ".xlsx", ".json", ".parquet"):
        back = mc.read_resources(mc.write_table(zh, tmp_path / f"res{suffix}"))
        assert back["resource_id"].tolist() == ["R1", "R2", "R3", "R4"]
        assert back["capacity"].tolist() == [3, 2, 2, 1]
        assert back["provider"].tolist() == resources["provider"].tolist()


def test_csv_is_written_with_a_bom(tmp_path):
    path = mc.write_table(pd.DataFrame({"社区": ["东湖社区"]}), tmp_path / "a.csv")
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert "东湖社区" in data.decode("utf-8-sig")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings(tmp_path, encoding):
    text = "需求编号,类别,需求数量,社区,x,y\nN1,repair,2,东湖社区,0,0\nN2,repair,1,西山社区,5,5\n"
    path = tmp_path / "needs.csv"
    path.write_bytes(text.encode(encoding))
    out = mc.read_needs(path)
    assert out["need_id"].tolist() == ["N1", "N2"]
    assert out["community"].tolist() == ["东湖社区", "西山社区"]
    assert out["demand"].tolist() == [2, 1]


def test_csv_messages_name_the_file_line(tmp_path):
    # Header is line 1, so the third data row is line 4.
    text = "need_id,category,demand,x,y\nN1,repair,1,0,0\nN2,repair,1,0,0\nN3,repair,three,0,0\n"
    path = tmp_path / "needs.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(
        mc.InputError,
        match=re.escape("`demand` must be an integer >= 1; got 'three' for need 'N3' "
                        "(row 3 of needs, line 4 of needs.csv)"),
    ) as info:
        mc.read_needs(path)
    assert str(info.value).startswith("1 problem in needs (needs.csv):")
    assert info.value.failures[["row", "line"]].values.tolist() == [[3, 4]]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("R9,repair,2.5,0,0,", "`capacity` must be an integer >= 1; got '2.5' for resource 'R9'"),
        ("R9,repair,1,nan,0,", "`x` must be a finite number (metres); got 'nan' for resource 'R9'"),
        ("R9,repair,1,inf,0,", "`x` must be a finite number (metres); got 'inf' for resource 'R9'"),
        ("R9,repair,1,,0,", "`x` must be a finite number (metres); got a missing value for "
                            "resource 'R9'"),
        ("R9,repair,1,0,0,-5", "`max_distance` must be a finite distance >= 0 (metres); got '-5' "
                               "for resource 'R9'"),
        (",repair,1,0,0,", "`resource_id` must be a unique, non-empty id; got a missing value "
                           "for resource without id"),
        ("R1,repair,1,0,0,", "`resource_id` must be a unique id (already on row 1); got 'R1' "
                             "for resource 'R1'"),
        ("R9,,1,0,0,", "`category` must be a non-empty category; got a missing value for "
                       "resource 'R9'"),
    ],
)
def test_csv_bad_cell(tmp_path, line, message):
    text = f"resource_id,category,capacity,x,y,max_distance\nR1,repair,1,0,0,\n{line}\n"
    path = tmp_path / "res.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(mc.InputError, match=re.escape(message + " (row 2 of resources, "
                                                      "line 3 of res.csv)")):
        mc.read_resources(path)


def test_excel_messages_name_the_sheet_row(tmp_path):
    frame = pd.DataFrame({"need_id": ["N1", "N2"], "category": ["repair", "repair"],
                          "x": [0, 0], "y": [0, 0], "priority": [3, 7]})
    path = mc.write_table(frame, tmp_path / "needs.xlsx")
    with pytest.raises(mc.InputError, match=re.escape("got 7 for need 'N2' (row 2 of needs, "
                                                      "line 3 of needs.xlsx)")):
        mc.read_needs(path)


def test_json_and_parquet_messages_name_the_row(tmp_path):
    frame = pd.DataFrame({"need_id": ["N1", "N2"], "category": ["repair", "repair"],
                          "x": [0.0, 0.0], "y": [0.0, 0.0], "demand": [1, -2]})
    for suffix in (".json", ".parquet"):
        path = mc.write_table(frame, tmp_path / f"needs{suffix}")
        with pytest.raises(mc.InputError, match=re.escape(
                "got -2 for need 'N2' (row 2 of needs)")):
            mc.read_needs(path)


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(mc.InputError, match="cannot tell the format"):
        mc.read_needs(tmp_path / "needs.doc")
    with pytest.raises(mc.InputError, match="no such file"):
        mc.read_needs(tmp_path / "nothing.csv")
    with pytest.raises(mc.InputError, match="cannot tell the format"):
        mc.write_table(pd.DataFrame({"a": [1]}), tmp_path / "out.doc")


def test_undecodable_text(tmp_path):
    path = tmp_path / "needs.csv"
    path.write_bytes(b"need_id,category\n\xff\xfe\xfa,x\n\x81")
    with pytest.raises(mc.InputError, match=re.escape(
            "cannot tell the text encoding of needs.csv: it is none of UTF-8")):
        mc.read_needs(path)


def test_write_is_atomic_and_leaves_no_temporary_files(tmp_path):
    mc.write_table(pd.DataFrame({"a": [1]}), tmp_path / "out.csv")
    mc.write_table(pd.DataFrame({"a": [2]}), tmp_path / "out.csv")
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    assert pd.read_csv(tmp_path / "out.csv")["a"].tolist() == [2]


@pytest.mark.filterwarnings("ignore:line 5 of multiline_cell:matchcore.MatchcoreWarning")
def test_line_numbers_survive_multiline_cells_and_blank_lines(data_dir):
    # Regression: a quoted description spanning two lines (Alt+Enter in Excel) and a
    # blank line shifted every later line number; N3 is on line 6, not line 4.
    path = data_dir / "multiline_cell_shifted_line_numbers.csv"
    with pytest.raises(mc.InputError, match=re.escape(
            "got 'zero' for need 'N3' (row 3 of needs, line 6 of "
            "multiline_cell_shifted_line_numbers.csv)")):
        mc.read_needs(path)
    frame, lines = read_table(path)
    # The empty line 5 is read as a row of empty cells; validation skips it with a warning.
    assert lines == [2, 4, 5, 6]
    assert frame["description"].tolist()[0] == "独居老人\r\n需要助餐"  # kept as written


def test_atomic_file_gives_plain_permissions_and_keeps_the_old_file_on_error(tmp_path):
    from matchcore.io import atomic_file

    umask = os.umask(0)
    os.umask(umask)
    out = tmp_path / "sub" / "a.txt"
    with atomic_file(out) as tmp:
        Path(tmp).write_text("first")
    assert out.read_text() == "first"
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0600
    with pytest.raises(RuntimeError), atomic_file(out) as tmp:
        Path(tmp).write_text("half")
        raise RuntimeError("writer failed")
    assert out.read_text() == "first"
    assert [p.name for p in out.parent.iterdir()] == ["a.txt"]  # no temporary left


def test_demo_map_has_plain_permissions(tmp_path):
    pytest.importorskip("matplotlib")
    from matchcore.cli import main

    umask = os.umask(0)
    os.umask(umask)
    assert main(["--quiet", "demo", "-o", str(tmp_path / "demo")]) == 0
    png = tmp_path / "demo" / "map.png"
    assert png.stat().st_mode & 0o777 == 0o666 & ~umask


# ---------------------------------------------------------------------------
# issue 14: files as district staff keep them

HEAD = "需求编号,类别,需求数量,社区,x,y\n"


def write(tmp_path, text: str, name: str = "needs.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_short_row_is_an_error_naming_its_line(tmp_path):
    path = write(tmp_path, HEAD + "N1,repair,2,东湖社区,0,0\nN2,repair,1\nN3,repair,1,东湖,0,0\n")
    with pytest.raises(mc.InputError, match=re.escape(
            "line 3 of needs.csv has 3 cells but the header has 6 (a short row: every row needs "
            "all its separators, even for empty cells)")) as info:
        mc.read_needs(path)
    assert info.value.failures["line"].tolist() == [3]


def test_file_cut_mid_row(tmp_path):
    path = write(tmp_path, HEAD + "N1,repair,2,东湖社区,0,0\nN2,repair")
    with pytest.raises(mc.InputError, match=re.escape(
            "line 3 of needs.csv has 2 cells but the header has 6 (the last row: is the file cut "
            "short?)")):
        mc.read_needs(path)
    quoted = write(tmp_path, HEAD + 'N1,repair,2,"东湖社区', name="cut.csv")
    with pytest.raises(mc.InputError, match=re.escape("cannot read line 2 of cut.csv: unexpected "
                                                      "end of data (a quoted cell that is not "
                                                      "closed: is the file cut short?)")):
        mc.read_needs(quoted)


def test_blank_rows_are_skipped_and_reported_by_line(tmp_path):
    path = write(tmp_path, HEAD + "N1,repair,2,东湖社区,0,0\n,,,,,\n\nN2,repair,1,东湖,0,0\n\n")
    with pytest.warns(mc.MatchcoreWarning, match=r"^lines 3, 4 of needs.csv are empty and were "
                                                 r"skipped$"):
        out = mc.read_needs(path)
    assert out["need_id"].tolist() == ["N1", "N2"]


def test_title_row_above_the_header_is_skipped(tmp_path):
    text = ("东湖社区需求清单（2025年5月）,,,,,\n" + HEAD
            + "N1,repair,2,东湖社区,0,0\nN2,repair,x,东湖,0,0\n")
    with pytest.raises(mc.InputError, match=re.escape(
            "got 'x' for need 'N2' (row 2 of needs, line 4 of needs.csv)")):
        mc.read_needs(write(tmp_path, text))
    two = "标题,,,,,\n" + HEAD + HEAD + "N1,repair,2,东湖社区,0,0\n"
    with pytest.raises(mc.InputError, match=re.escape("cannot tell the header row of two.csv: "
                                                      "lines 2, 3 all look like headers")):
        mc.read_needs(write(tmp_path, two, name="two.csv"))


def test_integers_in_csv_are_exact(tmp_path):
    path = write(tmp_path, HEAD + "9007199254740993,repair,9007199254740993,东湖社区,0,0\n")
    out = mc.read_needs(path)
    assert out["need_id"].tolist() == ["9007199254740993"]
    assert out["demand"].tolist() == [9007199254740993]
    big = write(tmp_path, HEAD + "N1,repair,9223372036854775808,东湖社区,0,0\n", name="big.csv")
    with pytest.raises(mc.InputError, match=re.escape(
            "`需求数量` (`demand`) must be an integer >= 1; got '9223372036854775808'")):
        mc.read_needs(big)


def test_big5_is_not_read_as_gb18030_garbage(tmp_path):
    # Traditional headers are aliases too; traditional category words are not (yet).
    text = ("需求編號,類別,需求數量,社區,x,y\n"
            "N1,repair,2,東湖社區,0,0\nN2,medical,1,西山社區,0,0\n")
    out = mc.read_needs(write(tmp_path, text, encoding="big5"))
    assert out["community"].tolist() == ["東湖社區", "西山社區"]
    assert out["demand"].tolist() == [2, 1]
    # Simplified text in GB18030 still reads as GB18030.
    zh = "需求编号,类别,社区,x,y\nN1,repair,东湖社区,0,0\n"
    assert mc.read_needs(write(tmp_path, zh, "gb.csv", "gb18030"))["community"].tolist() == [
        "东湖社区"]
    # The user can say.
    assert mc.read_needs(write(tmp_path, text, "b5.csv", "big5"), encoding="big5")[
        "need_id"].tolist() == ["N1", "N2"]
    with pytest.raises(mc.InputError, match=re.escape("needs.csv is not ascii text")):
        mc.read_needs(tmp_path / "needs.csv", encoding="ascii")


def _xlsx(path, rows, sheet="需求清单", more=()):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    for name, extra in more:
        other = wb.create_sheet(name)
        for row in extra:
            other.append(row)
    wb.save(path)
    return wb


EXCEL_HEAD = ["需求编号", "类别", "需求数量", "社区", "x", "y"]
EXCEL_ROWS = [["N1", "养老服务", 2, "东湖社区", 0, 0], ["N2", "维修", 1, "东湖社区", 1, 1]]


def test_excel_sheet_is_picked_by_its_name(tmp_path):
    path = tmp_path / "lists.xlsx"
    _xlsx(path, [["资源编号", "类别", "x", "y"], ["R1", "repair", 0, 0]], sheet="资源清单",
          more=[("需求清单", [EXCEL_HEAD, *EXCEL_ROWS])])
    assert mc.read_needs(path)["need_id"].tolist() == ["N1", "N2"]
    assert mc.read_resources(path)["resource_id"].tolist() == ["R1"]
    assert mc.read_needs(path, sheet=1)["category"].tolist() == ["elderly_care", "repair"]
    with pytest.raises(mc.InputError, match=re.escape(
            "`sheet` must be one of the sheets of lists.xlsx ['资源清单', '需求清单']; got 'x'")):
        mc.read_needs(path, sheet="x")
    with pytest.raises(mc.InputError, match=re.escape("`sheet` must be a position from 0 to 1")):
        mc.read_needs(path, sheet=5)


def test_excel_with_several_unnamed_sheets_is_an_error(tmp_path):
    path = tmp_path / "book.xlsx"
    _xlsx(path, [EXCEL_HEAD, *EXCEL_ROWS], sheet="Sheet1", more=[("Sheet2", [["a"]]),
                                                                 ("Sheet3", [])])
    with pytest.raises(mc.InputError, match=re.escape(
            "book.xlsx has 3 sheets ['Sheet1', 'Sheet2', 'Sheet3'] and none is named like "
            "需求清单; pass sheet= (a name, or a position from 0)")):
        mc.read_needs(path)
    # An empty extra sheet does not count.
    single = tmp_path / "single.xlsx"
    _xlsx(single, [EXCEL_HEAD, *EXCEL_ROWS], sheet="Sheet1", more=[("Sheet2", [])])
    assert len(mc.read_needs(single)) == 2


def test_excel_formula_without_a_saved_value_is_an_error(tmp_path):
    path = tmp_path / "f.xlsx"
    _xlsx(path, [EXCEL_HEAD, ["N1", "repair", "=1+1", "东湖社区", 0, 0], EXCEL_ROWS[1]])
    with pytest.raises(mc.InputError, match=re.escape(
            "1 cell of sheet '需求清单' of f.xlsx hold a formula without a saved value: C2; open "
            "the file in Excel or WPS and save it")):
        mc.read_needs(path)


def test_excel_merged_cells_are_filled_down_with_a_warning(tmp_path):
    path = tmp_path / "m.xlsx"
    wb = _xlsx(path, [EXCEL_HEAD, *EXCEL_ROWS, ["N3", "repair", 1, None, 2, 2]])
    wb.active.merge_cells("D2:D4")
    wb.save(path)
    with pytest.warns(mc.MatchcoreWarning, match=re.escape(
            "sheet '需求清单' of m.xlsx has merged cells (D2:D4); the value of each was filled "
            "into every row of the range")):
        out = mc.read_needs(path)
    assert out["community"].tolist() == ["东湖社区"] * 3


def test_excel_title_row_and_exact_lines(tmp_path):
    path = tmp_path / "t.xlsx"
    _xlsx(path, [["东湖社区需求清单"], [], EXCEL_HEAD, EXCEL_ROWS[0],
                 ["N2", "repair", -1, "东湖社区", 1, 1]])
    with pytest.raises(mc.InputError, match=re.escape(
            "got -1 for need 'N2' (row 2 of needs, line 5 of t.xlsx)")):
        mc.read_needs(path)


def test_excel_times_alone_are_refused(tmp_path):
    import datetime as dt

    path = tmp_path / "time.xlsx"
    _xlsx(path, [[*EXCEL_HEAD, "开始时间"], [*EXCEL_ROWS[0], dt.time(9, 0)],
                 [*EXCEL_ROWS[1], dt.datetime(2025, 5, 3, 9, 0)]])
    with pytest.raises(mc.InputError, match=re.escape(
            "`开始时间` (`window_start`) must be a date as well as a time (a time alone has no "
            "date); got datetime.time(9, 0) for need 'N1' (row 1 of needs, line 2 of time.xlsx)")):
        mc.read_needs(path)


def test_xls_needs_xlrd(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    if importlib.util.find_spec("xlrd") is None:
        with pytest.raises(mc.InputError, match=re.escape("reading .xls files needs an optional "
                                                          "dependency: pip install "
                                                          "'matchcore[xls]'")):
            mc.read_needs(path)
    else:
        with pytest.raises(mc.InputError, match="cannot read"):
            mc.read_needs(path)


# ---------------------------------------------------------------------------
# property: any documented spelling of a valid list reads back the same frame

from hypothesis import given, settings  # noqa: E402

from strategies import staff_lists  # noqa: E402


@settings(max_examples=15)
@given(staff_lists())
def test_any_documented_spelling_reads_back_the_same_frame(case):
    import tempfile

    canonical, written, suffix, encoding = case
    want = mc.read_needs(canonical)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"needs{suffix}"
        if suffix == ".xlsx":
            written.to_excel(path, index=False)
        else:
            path.write_bytes(written.to_csv(index=False).encode(encoding))
        got = mc.read_needs(path)
    keep = [c for c in want.columns if c != "category_text"]
    pd.testing.assert_frame_equal(got[keep].reset_index(drop=True),
                                  want[keep].reset_index(drop=True), check_dtype=False)
