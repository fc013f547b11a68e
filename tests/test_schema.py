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


# ---------------------------------------------------------------------------
# issue 14: the lists as district staff keep them

import warnings  # noqa: E402

from matchcore.categories import CATEGORY_ALIASES, DEFAULT_CATEGORIES, default_category_map  # noqa: E402


def frame_of(**columns) -> pd.DataFrame:
    base = {"need_id": ["N1", "N2"], "category": ["repair", "repair"], "x": [0.0, 1.0],
            "y": [0.0, 1.0]}
    base.update(columns)
    return pd.DataFrame(base)


def test_chinese_category_names_and_synonyms_are_the_taxonomy_categories():
    out = mc.read_needs(frame_of(category=["养老服务", " 医疗 "]))
    assert out["category"].tolist() == ["elderly_care", "medical"]
    assert out["category_text"].tolist() == ["养老服务", "医疗"]  # as written (cleaned)
    # English spellings too; nothing to keep when nothing was rewritten.
    assert mc.read_needs(frame_of(category=["Elderly Care", "REPAIR"]))["category"].tolist() == [
        "elderly_care", "repair"]
    assert "category_text" not in mc.read_needs(frame_of()).columns


def test_no_alias_names_two_categories():
    seen: dict[str, str] = {}
    for cat, words in CATEGORY_ALIASES.items():
        assert cat in DEFAULT_CATEGORIES
        for w in (cat, DEFAULT_CATEGORIES[cat], *words):
            assert seen.setdefault(w, cat) == cat, w
    assert len(set(default_category_map().values())) == len(DEFAULT_CATEGORIES)


def test_chinese_categories_match_as_the_english_ones():
    needs, resources = mc.synthetic.tiny()
    zh = {k: v for k, v in DEFAULT_CATEGORIES.items()}
    a = mc.match(needs, resources, max_distance=2000)
    b = mc.match(needs.assign(category=needs["category"].map(zh)),
                 resources.assign(category=resources["category"].map(zh)), max_distance=2000)
    assert len(a.components) == len(b.components)
    pd.testing.assert_frame_equal(a.assignments, b.assignments)


def test_unknown_category_warns_with_the_closest_known_ones():
    with pytest.warns(mc.MatchcoreWarning, match=r"1 category is not in the taxonomy .*"
                      r"'养老护理' \(closest: elderly_care"):
        out = mc.read_needs(frame_of(category=["repair", "养老护理"]))
    assert out["category"].tolist() == ["repair", "养老护理"]


def test_custom_taxonomy_aliases_apply_only_to_its_categories():
    tax = mc.Taxonomy({("repair", "cleaning"): 0.5}, aliases={"修东西": "repair"})
    assert not tax.is_closed
    out = mc.read_needs(frame_of(category=["修东西", "保洁"]), taxonomy=tax)
    assert out["category"].tolist() == ["repair", "cleaning"]
    # 养老服务 is not one of its categories: kept as written, and an open taxonomy does
    # not warn (identical categories still match).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kept = mc.read_needs(frame_of(category=["养老服务", "repair"]), taxonomy=tax)
    assert kept["category"].tolist() == ["养老服务", "repair"]
    # A taxonomy in Chinese words keeps them.
    zh = mc.Taxonomy({("养老服务", "医疗健康"): 0.6}, names={"养老服务": "", "医疗健康": ""})
    assert mc.read_needs(frame_of(category=["养老服务", "医疗健康"]),
                         taxonomy=zh)["category"].tolist() == ["养老服务", "医疗健康"]
    r = mc.match(frame_of(category=["养老服务", "养老服务"]),
                 pd.DataFrame({"resource_id": ["R"], "category": ["医疗健康"], "x": [0.0],
                               "y": [0.0], "capacity": [2]}), taxonomy=zh)
    assert r.assignments["units"].sum() == 2


@pytest.mark.parametrize("cell", ["陪诊、助餐", "陪诊，助餐", "陪诊,助餐", "陪诊|助餐", "陪诊/助餐",
                                  "陪诊\n助餐", "陪诊;助餐", "陪诊；助餐", " 陪诊 ; ;助餐；",
                                  "['陪诊', '助餐']", ("陪诊", "助餐"), ["陪诊", "助餐"],
                                  np.array(["陪诊", "助餐"])])
def test_list_cells_one_rule(cell):
    assert split_list(cell) == ("陪诊", "助餐")
    frame = frame_of(skills=pd.Series([cell, None], dtype=object))
    assert mc.read_needs(frame)["skills"].tolist() == ["陪诊;助餐", None]


def test_list_cells_of_partner_communities_are_matched_item_by_item():
    needs = frame_of(community=["东湖社区", "西山社区"])
    res = pd.DataFrame({"resource_id": ["R"], "category": ["repair"], "x": [0.0], "y": [0.0],
                        "capacity": [2], "community": ["南园社区"],
                        "partner_communities": [["东湖社区", "西山社区"]]})
    a = mc.match(needs, res).assignments
    assert a["partner"].tolist() == [1.0, 1.0]


def test_headers_are_normalised_before_matching():
    frame = pd.DataFrame({"\ufeff 需求编号 ": ["N1"], "CATEGORY": ["repair"], "纬度 (lat)": [30.0],
                          "经度（lon）": [114.0], "服务半径(米)": [5]})
    out = mc.read_needs(frame.drop(columns=["服务半径(米)"]))
    assert {"need_id", "category", "lat", "lon"} <= set(out.columns)


def test_columns_mapping_names_your_own_headers():
    frame = frame_of().rename(columns={"need_id": "编码"}).assign(数量=[2, 3], 备注=["a", "b"])
    out = mc.read_needs(frame, columns={"编码": "need_id", "数量": "需求数量"})
    assert out["need_id"].tolist() == ["N1", "N2"] and out["demand"].tolist() == [2, 3]
    assert out["备注"].tolist() == ["a", "b"]
    kept = mc.read_needs(frame_of(数量=[2, 3]), columns={"数量": None})
    assert kept["数量"].tolist() == [2, 3] and kept["demand"].tolist() == [1, 1]


def test_absent_optional_columns_are_recorded_once_on_attrs():
    out = mc.read_needs(frame_of(priority=[5, 4]))
    assert out.attrs["defaults"] == {"demand": 1}
    assert mc.read_resources(pd.DataFrame({"resource_id": ["R"], "category": ["repair"],
                                           "x": [0], "y": [0]})).attrs["defaults"] == {
        "capacity": 1}


def test_invisible_characters_are_removed_and_reported_once():
    frame = frame_of(need_id=["N1\u200b", "\ufeffN2"], category=["repair\u2060", "Ｒepair"])
    with pytest.warns(mc.MatchcoreWarning, match="3 cells of needs had invisible characters"):
        out = mc.read_needs(frame)
    assert out["need_id"].tolist() == ["N1", "N2"]
    assert out["category"].tolist() == ["repair", "repair"]


def test_bom_inside_a_cell_does_not_make_a_second_id():
    with pytest.warns(mc.MatchcoreWarning), pytest.raises(mc.InputError, match="already on row 1"):
        mc.read_needs(frame_of(need_id=["N2", "\ufeffN2"]))


def test_blank_rows_are_skipped_and_reported_once():
    frame = frame_of(need_id=["N1", None, "N3"], category=["repair", " ", "repair"],
                     x=[0.0, np.nan, 1.0], y=[0.0, np.nan, 1.0])
    with pytest.warns(mc.MatchcoreWarning, match=r"^row 2 of needs is empty and was skipped$"):
        out = mc.read_needs(frame)
    assert out["need_id"].tolist() == ["N1", "N3"]


def test_integers_are_exact_beyond_2_53():
    big = 9007199254740993
    for demand in (pd.Series([1, big]), pd.Series([1, big], dtype=object), ["1", str(big)]):
        assert mc.read_needs(frame_of(demand=demand))["demand"].tolist() == [1, big]
    # A float cell above 2**53 has been rounded already: refused, never guessed.
    with pytest.raises(mc.InputError, match="`demand` must be an integer >= 1; got 9007199"):
        mc.read_needs(frame_of(demand=[1.0, float(big + 1)]))
    with pytest.raises(mc.InputError, match="`need_id` must be a unique, non-empty id"):
        mc.read_needs(frame_of(need_id=[1.0, 2.0**60]))


@pytest.mark.parametrize(("cell", "want"), [
    ("2025-05-03 09:00", "2025-05-03 09:00"), ("2025/5/3", "2025-05-03"),
    ("2025.05.03 9:30", "2025-05-03 09:30"), ("2025年5月3日", "2025-05-03"),
    ("20250503", "2025-05-03"), ("13/05/2025", "2025-05-13"), ("05/13/2025", "2025-05-13"),
    ("2025-05-03T01:00Z", "2025-05-03 09:00"), ("2025-05-03 09:00+08:00", "2025-05-03 09:00"),
])
def test_date_forms(cell, want):
    out = mc.read_needs(frame_of(window_start=[cell, None]))
    assert out["window_start"].iloc[0] == pd.Timestamp(want)


def test_dayfirst_says_how_ambiguous_dates_read():
    frame = frame_of(window_start=["05/03/2025", None])
    assert mc.read_needs(frame, dayfirst=True)["window_start"].iloc[0] == pd.Timestamp(
        "2025-03-05")
    assert mc.read_needs(frame, dayfirst=False)["window_start"].iloc[0] == pd.Timestamp(
        "2025-05-03")


def test_time_values_from_excel_or_python_are_refused():
    import datetime as dt

    with pytest.raises(mc.InputError, match="a date as well as a time"):
        mc.read_needs(frame_of(window_start=pd.Series([dt.time(9, 0), None], dtype=object)))
