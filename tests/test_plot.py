"""Every plotting function runs headless (Agg) and returns labelled Axes."""

from __future__ import annotations

import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest

import matchcore as mc

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def result():
    return mc.match(*mc.synthetic.tiny(), max_distance=2000)


def test_import_matchcore_does_not_import_matplotlib():
    import subprocess

    code = "import matchcore, sys; print('matplotlib.pyplot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_district_map_is_labelled(result, tmp_path):
    ax = mc.plot.district_map(result, title="tiny")
    assert ax.get_xlabel() and ax.get_ylabel()
    assert ax.get_title() == "tiny"
    assert ax.get_legend() is not None
    ax.figure.savefig(tmp_path / "map.png")
    assert (tmp_path / "map.png").stat().st_size > 10_000


def test_district_map_draws_one_line_per_assignment(result):
    ax = mc.plot.district_map(result)
    from matplotlib.collections import LineCollection

    lines = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert sum(len(c.get_segments()) for c in lines) == len(result.assignments)


def test_community_maps_one_per_community(result):
    axes = mc.plot.community_maps(result)
    visible = [a for a in np.ravel(axes) if a.get_visible()]
    assert len(visible) == result.district.needs["community"].nunique()


def test_status_map_accepts_english_and_chinese_statuses():
    p = pd.DataFrame({"project_id": ["P1", "P2", "P3"], "x": [0, 100, 200], "y": [0, 50, 20],
                      "status": ["completed", "正在实施", "not_started"]})
    ax = mc.plot.status_map(p, title="状态")
    assert ax.get_legend() is not None


def test_status_map_rejects_unknown_status():
    p = pd.DataFrame({"x": [0], "y": [0], "status": ["done-ish"]})
    with pytest.raises(mc.InputError, match="status"):
        mc.plot.status_map(p)


def test_find_cjk_font_returns_a_name_or_none():
    font = mc.plot.find_cjk_font()
    assert font is None or isinstance(font, str)


def _draw_without_missing_glyphs(fig, tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*missing from font")
        fig.savefig(tmp_path / "fig.png")


@pytest.mark.skipif(mc.plot.find_cjk_font() is None, reason="no CJK font installed")
def test_chinese_renders_without_changing_global_font_settings(result, tmp_path):
    import matplotlib.pyplot as plt

    before = list(plt.rcParams["font.family"])
    ax = mc.plot.district_map(result, title="东湖社区")
    _draw_without_missing_glyphs(ax.figure, tmp_path)
    # Axes made by the caller (title and tick labels made before the plot) too.
    fig, ax = plt.subplots()
    mc.plot.status_map(
        pd.DataFrame({"x": [0, 1], "y": [0, 1], "status": ["completed", "已取消"]}),
        ax=ax,
        title="项目",
    )
    _draw_without_missing_glyphs(fig, tmp_path)
    assert list(plt.rcParams["font.family"]) == before
    plt.close("all")
