"""Unit tests of the schema: aliases, parsing, defaults, pass-through, immutability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import matchcore as mc
from matchcore.schema import canonical_columns, split_list


def test_defaults_are_filled_when_optional_columns_are_absent(data_dir):
    # Regression: validation used to leave `demand`, `priority` and `capacity`
    # out when the columns were absent, and match() failed with KeyError.
    needs = mc.read_needs(data_dir / "absent_default_columns_keyerror_needs.csv")
    resources = mc.read_resources(data_dir / "absent_default_columns_keyerror_resources.csv")
    assert needs["demand"].tolist() == [1, 1]
    assert needs["priority"].tolist() == [3, 3]
    assert resources["capacity"].tolist() == [1]
    r = mc.match(data_dir / "absent_default_columns_keyerror_needs.csv",
                 data_dir / "absent_default_columns_keyerror_resources.csv")
    assert r.assignments["units"].sum() == 1
    assert r.verify()


def test_defaults_fill_missing_cells_only():
    frame = pd.DataFrame({"need_id": ["a", "b"], "category": ["repair"] * 2, "x": [0.0, 1.0],
                          "y": [0.0, 1.0], "demand": [None, "4"], "priority": [np.nan, 5.0]})
    out = mc.read_needs(frame)
    assert out["demand"].tolist() == [1, 4]
    assert out["priority"].tolist() == [3, 5]
    assert out["demand"].dtype == np.int64


def test_aliases_and_stray_spaces_and_bom():
    mapping = canonical_columns(["\ufeff需求编号", " 类别 ", "需求数量", "其他"])
    assert mapping == {"\ufeff需求编号": "need_id", " 类别 ": "category", "需求数量": "demand",
                       "其他": "其他"}


@pytest.mark.parametrize(
    ("cell", "items"),
    [("护理;陪诊", ("护理", "陪诊")), ("护理；陪诊", ("护理", "陪诊")), (" a ; ;b；", ("a", "b")),
     ("", ()), (None, ()), (float("nan"), ())],
)
def test_split_list(cell, items):
    assert split_list(cell) == items


def test_text_cells_are_parsed_exactly():
    frame = pd.DataFrame({"need_id": [1, 2.0, "N3"], "category": ["repair"] * 3,
                          "x": ["0", " 1.5 ", "-2e3"], "y": [0, 0, 0],
                          "demand": ["3", " 2 ", "4.0"],
                          "window_start": ["2024-05-01 08:00", None, pd.Timestamp("2024-05-02")]})
    out = mc.read_needs(frame)
    assert out["need_id"].tolist() == ["1", "2", "N3"]
    assert out["x"].tolist() == [0.0, 1.5, -2000.0]
    assert out["demand"].tolist() == [3, 2, 4]
    assert out["window_start"].iloc[0] == pd.Timestamp("2024-05-01 08:00")
    assert pd.isna(out["window_start"].iloc[1])


def test_aware_times_are_converted_to_the_local_zone():
    # Naive times are local times in `timezone` (Asia/Shanghai by default); aware
    # ones are converted to it, so a +08:00 start and a naive end compare directly.
    frame = pd.DataFrame({"need_id": ["a"], "category": ["repair"], "x": [0.0], "y": [0.0],
                          "window_start": ["2024-05-01T08:00:00+08:00"],
                          "window_end": ["2024-05-01 09:00"]})
    out = mc.read_needs(frame)
    assert out["window_start"].iloc[0] == pd.Timestamp("2024-05-01 08:00")
    assert out["window_end"].iloc[0] - out["window_start"].iloc[0] == pd.Timedelta(hours=1)
    utc = mc.read_needs(frame, timezone="UTC")
    assert utc["window_start"].iloc[0] == pd.Timestamp("2024-05-01 00:00")
    assert utc["window_end"].iloc[0] == pd.Timestamp("2024-05-01 09:00")
    typed = frame.assign(window_start=pd.to_datetime(["2024-05-01T00:00:00Z"]), window_end=None)
    assert mc.read_needs(typed)["window_start"].iloc[0] == pd.Timestamp("2024-05-01 08:00")


def test_nothing_is_dropped_or_reordered_and_extra_columns_pass_through(tiny):
    needs, _ = tiny
    extra = needs.assign(备注=["a", None, "c", "d", "e"], score_hint=[1.5, 2, 3, 4, 5])
    extra = extra.iloc[[3, 1, 4, 0, 2]]
    out = mc.read_needs(extra)
    assert out["need_id"].tolist() == ["N4", "N2", "N5", "N1", "N3"]
    assert out["备注"].tolist() == extra["备注"].tolist()
    assert out["score_hint"].tolist() == extra["score_hint"].tolist()
    assert out["description"].tolist() == extra["description"].tolist()


def test_input_frame_is_never_modified(tiny):
    needs, resources = tiny
    needs = needs.rename(columns={"need_id": "需求编号"}).assign(demand=["2", "1", "3", "2", "1"])
    before_n, before_r = needs.copy(deep=True), resources.copy(deep=True)
    mc.read_needs(needs)
    mc.read_resources(resources)
    mc.match(needs, resources, max_distance=2000)
    pd.testing.assert_frame_equal(needs, before_n)
    pd.testing.assert_frame_equal(resources, before_r)


def test_input_frame_is_not_modified_on_error(tiny):
    needs, _ = tiny
    bad = needs.assign(demand=[1, 2, -1, 1, 1])
    before = bad.copy(deep=True)
    with pytest.raises(mc.InputError):
        mc.read_needs(bad)
    pd.testing.assert_frame_equal(bad, before)


def test_solve_assignment_does_not_modify_inputs():
    edges = pd.DataFrame({"need_id": ["a", "b"], "resource_id": ["x", "x"], "score": [1, 2]})
    needs = pd.DataFrame({"需求编号": ["b", "a"], "需求数量": [1, 1]})
    res = pd.DataFrame({"resource_id": ["x"], "capacity": [1]})
    copies = [f.copy(deep=True) for f in (edges, needs, res)]
    out = mc.solve_assignment(edges, needs, res)
    assert out[["need_id", "resource_id", "units"]].values.tolist() == [["b", "x", 1]]
    for f, c in zip((edges, needs, res), copies):
        pd.testing.assert_frame_equal(f, c)


def test_chinese_headers_are_accepted():
    needs = pd.DataFrame({
        "需求编号": ["N1"], "类别": ["elderly_care"], "需求数量": [2], "社区": ["东湖社区"],
        "网格": ["G1"], "优先级": [5], "技能": ["护理"], "开始时间": ["2024-05-01 08:00"],
        "结束时间": ["2024-05-01 12:00"], "纬度": [30.0], "经度": [120.0],
        "需求方类型": ["resident"],
        "描述": ["独居老人助餐"],
    })
    resources = pd.DataFrame({
        "资源编号": ["R1"], "类别": ["elderly_care"], "可供数量": [3], "社区": ["东湖社区"],
        "网格": ["G1"], "提供方": ["志愿队"], "提供方类型": ["volunteer_team"],
        "技能": ["护理；驾驶"],
        "开始时间": ["2024-05-01 09:00"], "结束时间": ["2024-05-01 17:00"], "纬度": [30.001],
        "经度": [120.0], "服务半径": [500], "共建社区": ["西山社区；东湖社区"], "描述": ["助餐"],
    })
    n = mc.read_needs(needs)
    r = mc.read_resources(resources)
    assert {"need_id", "category", "demand", "community", "grid", "priority", "skills",
            "window_start", "window_end", "lat", "lon", "requester_kind",
            "description"} <= set(n.columns)
    assert {"resource_id", "capacity", "provider", "provider_kind", "max_distance",
            "partner_communities"} <= set(r.columns)
    result = mc.match(needs, resources)
    a = result.assignments
    assert a[["need_id", "resource_id", "units"]].values.tolist() == [["N1", "R1", 2]]
    assert a["partner"].iloc[0] == 1.0
    assert a["distance"].iloc[0] == pytest.approx(111.2, abs=0.5)
