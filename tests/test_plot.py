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


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


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


@pytest.fixture(scope="module")
def street():
    needs, resources = mc.synthetic.district("seed_street")
    return mc.match(needs, resources,
                    max_distance=mc.synthetic.suggested_max_distance("seed_street"))


def test_district_map_by_status_shows_service_with_legend_symbols_as_drawn(street):
    from matplotlib.colors import to_rgba

    from matchcore.plot.base import NEED_STYLES

    ax = mc.plot.district_map(street)
    from matplotlib.collections import PathCollection

    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    legend = ax.get_legend()
    drawn = {to_rgba(c.get_facecolor()[0]): c for c in points}
    for name, style in NEED_STYLES.items():
        handle = next(h for h in legend.legend_handles if h.get_label().startswith(
            style["label"]))
        colour = to_rgba(handle.get_markerfacecolor())
        assert colour == to_rgba(style["color"])
        if name in ("served", "unmet"):  # both happen on this street
            assert colour in drawn
            assert handle.get_markersize() ** 2 == pytest.approx(drawn[colour].get_sizes()[0])
    # Unmet needs: the largest markers, on top of everything else.
    unmet = drawn[to_rgba(NEED_STYLES["unmet"]["color"])]
    assert unmet.get_zorder() == max(c.get_zorder() for c in points)
    assert unmet.get_sizes().max() == max(c.get_sizes().max() for c in points)
    n_unmet = int((street.served == 0).sum())
    assert len(unmet.get_offsets()) == n_unmet
    assert f"({n_unmet:,})" in " ".join(t.get_text() for t in legend.get_texts())


def test_district_map_caps_marker_sizes_and_names_the_weakest_community(street):
    from matplotlib.collections import PathCollection

    ax = mc.plot.district_map(street)
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert max(c.get_sizes().max() for c in points) <= 46.0
    cover = mc.metrics.by_community(street).set_index("community")["unit_coverage"]
    weakest = cover.idxmin()
    assert f"lowest coverage: {weakest} ({cover.min():.0%})" in ax.get_title()
    labels = {t.get_text(): t for t in ax.texts}
    assert f"{weakest} {cover.min():.0%}" in labels
    from matplotlib.colors import to_hex

    from matchcore.plot.base import WEAK_COLOUR

    assert to_hex(labels[f"{weakest} {cover.min():.0%}"].get_color()) == WEAK_COLOUR


def test_district_map_by_category_legend_shows_the_crossed_circle(street):
    ax = mc.plot.district_map(street, by="category")
    legend = ax.get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    unmet = legend.legend_handles[labels.index("need, unmet")]
    # A tuple handle draws a hollow circle under a cross, like the map.
    assert unmet is not None
    assert ax.get_title().startswith(f"{int(street.metrics['assigned_units']):,}/")
    with pytest.raises(mc.InputError, match="by"):
        mc.plot.district_map(street, by="colour")


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


def test_find_cjk_font_finds_one_where_the_plot_extra_is_installed():
    # The `plot` extra ships Noto Sans CJK; no system font is needed.
    assert isinstance(mc.plot.find_cjk_font(), str)


def test_the_packaged_cjk_font_registers_with_matplotlib():
    from matplotlib import font_manager

    from matchcore.plot import base

    files = base._packaged_font_files()
    assert files, "the plot extra's font package (manimgx-fonts-cjk) is not installed"
    for path in files:
        font_manager.fontManager.addfont(path)
    names = {f.name for f in font_manager.fontManager.ttflist if f.fname in files}
    assert "Noto Sans CJK SC" in names


def test_missing_cjk_font_warns_once_at_the_callers_line(result, monkeypatch):
    import warnings

    from matchcore.plot import base

    monkeypatch.setattr(base, "_STATE", {"font": None})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mc.plot.community_maps(result)  # several maps, one warning
        mc.plot.district_map(result, title="东湖社区")
    mine = [w for w in caught if issubclass(w.category, mc.MatchcoreWarning)]
    assert len(mine) == 1
    assert mine[0].filename == __file__
    assert "pip install" in str(mine[0].message)


def _draw_without_missing_glyphs(fig, tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*missing from font")
        fig.savefig(tmp_path / "fig.png")


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


# --------------------------------------------------------------------------- charts
def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_coverage_by_community_sorted_and_annotated(result):
    ax = mc.plot.coverage_by_community(result)
    comm = mc.metrics.by_community(result)
    best_first = comm.sort_values(["unit_coverage", "community"], ascending=[False, True])
    assert [t.get_text() for t in ax.get_yticklabels()] == list(best_first["community"])
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    assert ax.get_legend() is not None
    texts = _texts(ax)
    for row in comm.itertuples():
        unmet = row.demand_units - row.assigned_units
        assert any(f"{row.assigned_units}/{row.demand_units} served, {unmet} unmet" in t
                   for t in texts)


def test_unmet_by_reason_one_row_per_reason_in_funnel_order(reasons_district):
    from matchcore.result import POLICY_REASONS
    from matchcore.result import REASONS as ALL

    # Reasons of staff policies (forbids, bundles) show only when they occur.
    REASONS = {k: v for k, v in ALL.items() if k not in POLICY_REASONS}

    r = mc.match(*reasons_district, max_distance=2000)
    ax = mc.plot.unmet_by_reason(r)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    # Top to bottom (highest tick first) follows the funnel.
    ticks = ax.get_yticks()
    top_down = [lab for _, lab in sorted(zip(ticks, labels), reverse=True)]
    assert [lab.split("\n")[0] for lab in top_down] == list(REASONS)
    assert all(REASONS[code].split()[0] in lab for code, lab in zip(REASONS, top_down))
    assert len(ax.patches) == 2 * len(REASONS)
    units = int(r.unmet["unmet"].sum())
    assert units == sum(int(t.split()[0]) for t in _texts(ax) if t.endswith("units"))
    assert sum(int(t.split()[0]) for t in _texts(ax) if t.endswith("needs")) == len(r.unmet)
    assert ax.get_legend() is not None and ax.get_xlabel()


def test_unmet_by_reason_when_everything_is_served():
    needs = pd.DataFrame({"need_id": ["A"], "category": ["repair"], "x": [0.0], "y": [0.0]})
    res = pd.DataFrame({"resource_id": ["R"], "category": ["repair"], "x": [0.0], "y": [0.0]})
    ax = mc.plot.unmet_by_reason(mc.match(needs, res, max_distance=100))
    assert "fully served" in ax.get_title()


def test_score_components_stack_up_to_the_mean_score(result):
    from matchcore.model.scoring import COMPONENTS

    ax = mc.plot.score_components(result)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert [lab.split()[0] for lab in legend] == list(COMPONENTS)
    a = result.assignments
    mean_score = float((a["score"] * a["units"]).sum() / a["units"].sum())
    top = max(p.get_y() for p in ax.patches)
    stacked = sum(p.get_width() for p in ax.patches if p.get_y() == top)
    assert stacked == pytest.approx(mean_score)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "all assigned"
    assert set(labels[1:]) == set(a.merge(result.district.needs, on="need_id")["category"])
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


@pytest.fixture
def sweep_frame():
    return pd.DataFrame({
        "label": ["near", "default", "urgent", "type"],
        "w_type": [0.0, 0.3, 0.0, 1.0],
        "w_locality": [1.0, 0.4, 0.0, 0.0],
        "w_priority": [0.0, 0.2, 1.0, 0.0],
        "w_partner": [0.0, 0.1, 0.0, 0.0],
        "unit_coverage": [0.82, 0.85, 0.84, 0.83],
        "priority_weighted_coverage": [0.83, 0.87, 0.91, 0.84],
        "need_coverage": [0.80, 0.83, 0.82, 0.81],
        "mean_distance": [261.0, 319.0, 404.0, 400.0],
        "community_fairness": [0.972, 0.985, 0.993, 0.987],
        "total_score": [1900.0, 1950.0, 1800.0, 1700.0],
        "pareto": [True, True, True, False],
    })


def test_frontier_joins_and_labels_the_pareto_points(sweep_frame):
    before = sweep_frame.copy()
    ax = mc.plot.frontier(sweep_frame.iloc[::-1])
    pd.testing.assert_frame_equal(sweep_frame, before)
    assert ax.get_xlabel().startswith("mean distance")
    assert ax.get_ylabel() == "priority-weighted coverage"
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [261.0, 319.0, 404.0]
    names = _texts(ax)
    assert {"near", "default", "urgent"} <= set(names)
    assert len(ax.figure.axes) == 2  # the colour bar
    assert ax.figure.axes[1].get_ylabel().startswith("community fairness")
    assert ax.get_legend() is not None


def test_frontier_other_axes(sweep_frame):
    ax = mc.plot.frontier(sweep_frame, x="total_score", y="unit_coverage", title="t")
    assert ax.get_xlabel() == "total score" and ax.get_title() == "t"


def test_frontier_rejects_bad_frames(sweep_frame):
    with pytest.raises(mc.InputError, match="pareto"):
        mc.plot.frontier(sweep_frame.drop(columns="pareto"))
    bad = sweep_frame.assign(pareto=["yes", True, True, False])
    with pytest.raises(mc.InputError, match="row 1"):
        mc.plot.frontier(bad)
    bad = sweep_frame.assign(mean_distance=[1.0, None, 2.0, 3.0])
    with pytest.raises(mc.InputError, match=r"mean_distance.*row 2"):
        mc.plot.frontier(bad)


@pytest.mark.parametrize("name", ["coverage_by_community", "unmet_by_reason", "score_components"])
def test_charts_draw_on_a_given_axes(result, name):
    import matplotlib.pyplot as plt

    _, axes = plt.subplots(1, 2)
    assert getattr(mc.plot, name)(result, ax=axes[1]) is axes[1]


def test_charts_render_chinese(result, tmp_path):
    ax = mc.plot.coverage_by_community(result, title="覆盖率")
    _draw_without_missing_glyphs(ax.figure, tmp_path)
    axes = mc.plot.community_maps(result)
    _draw_without_missing_glyphs(axes[0].figure, tmp_path)


@pytest.fixture(scope="module")
def make_figures():
    """docs/make_figures.py, imported from its path (docs is not a package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "docs" / "make_figures.py"
    spec = importlib.util.spec_from_file_location("make_figures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_figures_writes_every_plot(make_figures, tmp_path):
    written = make_figures.main(["--out", str(tmp_path), "--dpi", "40"])
    names = {p.stem for p in written}
    assert names == {
        "district_map", "district_map_by_category", "demo_map", "community_maps", "status_map",
        "coverage_by_community",
        "unmet_by_reason", "score_components", "frontier",
    }
    assert all(p.stat().st_size > 5_000 for p in written)


def test_charts_with_nothing_assigned():
    needs = pd.DataFrame({"need_id": ["A"], "category": ["repair"], "x": [0.0], "y": [0.0]})
    res = pd.DataFrame({"resource_id": ["R"], "category": ["repair"], "x": [5e3], "y": [0.0]})
    r = mc.match(needs, res, max_distance=100)
    ax = mc.plot.score_components(r)
    assert ax.get_xlim()[1] >= r.weights.total
    ax = mc.plot.coverage_by_community(r)
    assert any("0/1 served, 1 unmet" in t for t in _texts(ax))
    ax = mc.plot.unmet_by_reason(r)
    assert "1 units" in _texts(ax)


def test_frontier_joins_only_the_front_of_the_view(sweep_frame):
    # Pareto on more metrics than the two drawn: "type" is Pareto-optimal (say, on
    # fairness) but beaten on both axes by "urgent", so it is labelled, not joined.
    ax = mc.plot.frontier(sweep_frame.assign(pareto=True))
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [261.0, 319.0, 404.0]
    assert "type" in _texts(ax)


def test_frontier_draws_a_sweep(tiny):
    from matchcore.analysis import sweep

    weights = {
        "default": mc.Weights(),
        "near": mc.Weights(type=0, locality=1, priority=0, partner=0),
    }
    frame = sweep(*tiny, weights, max_distance=2000)
    ax = mc.plot.frontier(frame)
    assert ax.get_lines() and ax.get_xlabel()
