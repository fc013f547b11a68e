"""Pictures of a round: maps, coverage, unmet reasons, score components, trade-offs.

Every function draws on a :class:`matplotlib.axes.Axes` (a new figure when
``ax`` is None) and returns it, so figures compose and can be restyled.
matplotlib is imported here only, when a plot is drawn; ``import matchcore``
never imports it.

Chinese names (communities, providers) need a CJK font. The first plot looks
for one among the installed fonts (Noto Sans CJK, Source Han Sans, WenQuanYi,
SimHei, Microsoft YaHei, PingFang, ...) and every plot appends it to the font
families of the texts it draws, as a *fallback*: Latin text keeps its font and
only the missing glyphs come from the CJK font. matplotlib's global
``rcParams`` are left untouched. Without a CJK font, a
:class:`~matchcore.MatchcoreWarning` says so and the names show as boxes. On
Debian or Ubuntu, ``apt-get install fonts-wqy-microhei`` (1.6 MB) is enough.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import InputError, MatchcoreWarning
from .schema import STATUSES

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from .result import MatchResult

__all__ = [
    "community_maps",
    "coverage_by_community",
    "district_map",
    "find_cjk_font",
    "frontier",
    "score_components",
    "status_map",
    "unmet_by_reason",
]

#: CJK fonts looked for, best first (family names as matplotlib reports them).
CJK_FONTS: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Sarasa Gothic SC",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
    "Hiragino Sans GB",
    "Droid Sans Fallback",
    "AR PL UMing CN",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
)
# Font files that hold one of the fonts above, for a matplotlib font cache that
# predates the font's installation.
_CJK_FILES = re.compile(
    r"(notosanscjk|notosans-?sc|sourcehansans|wqy|simhei|msyh|pingfang|droidsansfallback|uming)",
    re.I,
)
_CJK_TEXT = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")

_STATE: dict[str, Any] = {}

STATUS_COLOURS: dict[str, str] = {
    "not_started": "#9e9e9e",
    "in_progress": "#1f77b4",
    "completed": "#2ca02c",
    "cancelled": "#d62728",
}

REASON_COLOURS: dict[str, str] = {
    "no_compatible_resource": "#7f7f7f",
    "out_of_reach": "#ff7f0e",
    "no_time_overlap": "#9467bd",
    "skills_missing": "#8c564b",
    "outbid": "#d62728",
}


# --------------------------------------------------------------------------- fonts
def find_cjk_font() -> str | None:
    """The family name of an installed CJK font, or None.

    Looks in matplotlib's font list first, then among the system's font files
    (which finds a font installed after matplotlib built its cache).

    Returns
    -------
    str or None

    Examples
    --------
    >>> from matchcore import plot
    >>> plot.find_cjk_font() is None or isinstance(plot.find_cjk_font(), str)
    True
    """
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in names:
            return name
    for path in font_manager.findSystemFonts():
        if not _CJK_FILES.search(path):
            continue
        try:
            font_manager.fontManager.addfont(path)
        except Exception:  # an unreadable font file is simply skipped
            continue
    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in names:
            return name
    return None


def _setup(texts: Iterable[Any] = ()) -> Any:
    """Import pyplot, look for a CJK font once, warn if Chinese text will lack one."""
    import matplotlib.pyplot as plt

    if "font" not in _STATE:
        _STATE["font"] = find_cjk_font()
    if _STATE["font"] is None and any(isinstance(t, str) and _CJK_TEXT.search(t) for t in texts):
        warnings.warn(
            "no CJK font found, so Chinese names will show as empty boxes; install one "
            "(e.g. `apt-get install fonts-wqy-microhei` or fonts-noto-cjk) and restart Python",
            MatchcoreWarning,
            stacklevel=3,
        )
    return plt


def _cjk(*artists: Any) -> None:
    """Append the CJK font to the font families of every text drawn by these artists.

    matplotlib falls back across a text's family list, glyph by glyph: Latin
    text keeps its font and only the glyphs the first fonts lack (Chinese) come
    from the CJK font. Set per text, not in ``rcParams``, so the user's global
    settings stay as they were. Tick labels made later copy the first tick's.
    """
    font = _STATE.get("font")
    if font is None:
        return
    from matplotlib.text import Text

    for artist in artists:
        for text in artist.findobj(Text):
            families = list(text.get_fontfamily())
            if font not in families:
                text.set_fontfamily([*families, font])


def _new_ax(ax: Axes | None, size: tuple[float, float] = (8.0, 6.5)) -> Axes:
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def _palette(labels: Sequence[str]) -> dict[str, Any]:
    import matplotlib as mpl

    cmap = mpl.colormaps["tab10" if len(labels) <= 10 else "tab20"]
    return {lab: cmap(k % cmap.N) for k, lab in enumerate(labels)}


def _strings(values: Iterable[Any]) -> list[str]:
    return [str(v) for v in values if v is not None and not (isinstance(v, float) and np.isnan(v))]


# --------------------------------------------------------------------------- maps
def _xy_label(result: MatchResult) -> tuple[str, str]:
    if result.district.origin is not None:
        lat0, lon0 = result.district.origin
        return (f"east of {lon0:.4f}°E (m)", f"north of {lat0:.4f}°N (m)")
    return ("x (m)", "y (m)")


def _map_handles(shown: Sequence[str], colours: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """Legend entries of a map: one per category shown, one per kind of symbol."""
    from matplotlib.lines import Line2D

    cat_handles = [
        Line2D([], [], marker="o", ls="", color=colours[c], markeredgecolor="black", label=c)
        for c in shown
    ]
    kind_handles = [
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            color="#888888",
            markeredgecolor="black",
            label="need, fully served",
        ),
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            color="#888888",
            alpha=0.45,
            markeredgecolor="black",
            label="need, partly served",
        ),
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            markerfacecolor="white",
            markeredgecolor="#888888",
            label="need, unmet",
        ),
        Line2D(
            [],
            [],
            marker="s",
            ls="",
            color="#888888",
            markeredgecolor="black",
            label="resource (size: capacity)",
        ),
        Line2D([], [], color="#888888", lw=2, label="assignment (width: units)"),
    ]
    return cat_handles, kind_handles


def district_map(
    result: MatchResult,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    community: str | None = None,
    labels: bool | None = None,
) -> Axes:
    """Map of needs, resources and assignment lines, coloured by category.

    Needs are circles (filled: fully served; half-filled: partly served;
    hollow with a cross: unmet), resources are squares sized by capacity, and
    each assignment is a line whose width grows with its units. Community names
    are written at the centre of their needs.

    Parameters
    ----------
    result : MatchResult
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    title : str, optional
        Defaults to a one-line summary of the round.
    community : str, optional
        Draw only this community's needs (with every resource that serves
        them, and its own resources).
    labels : bool, optional
        Write need and resource ids next to the points; by default only when
        fewer than 40 points are drawn.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matchcore as mc
    >>> r = mc.match(*mc.synthetic.tiny(), max_distance=2000)
    >>> ax = mc.plot.district_map(r)
    >>> ax.get_xlabel()
    'x (m)'
    """
    d, g = result.district, result.graph
    needs_comm = np.array(
        _none_to(d.needs["community"] if "community" in d.needs else None, d.n_needs), dtype=object
    )
    res_comm = np.array(
        _none_to(d.resources["community"] if "community" in d.resources else None, d.n_resources),
        dtype=object,
    )
    plt = _setup(list(needs_comm) + list(res_comm) + [title])
    from matplotlib.collections import LineCollection

    ax = _new_ax(ax)
    units = result.units
    used = np.flatnonzero(units > 0)
    if community is None:
        nmask = np.ones(d.n_needs, dtype=bool)
        rmask = np.ones(d.n_resources, dtype=bool)
    else:
        if community not in set(needs_comm) | set(res_comm):
            raise InputError(
                f"community must be one of the communities of this result; got {community!r}"
            )
        nmask = needs_comm == community
        rmask = res_comm == community
        rmask[g.resource[used][nmask[g.need[used]]]] = True
        used = used[nmask[g.need[used]]]

    cats = [str(c) for c in d.categories]
    colours = _palette(cats)
    need_cat = np.array(cats, dtype=object)[d.need_category]
    res_cat = np.array(cats, dtype=object)[d.resource_category]

    # Assignment lines under the points.
    if len(used):
        segs = np.stack([d.need_xy[g.need[used]], d.resource_xy[g.resource[used]]], axis=1)
        lw = 0.8 + 1.6 * np.sqrt(units[used] / max(units[used].max(), 1))
        ax.add_collection(
            LineCollection(
                list(segs),
                colors=[colours[c] for c in need_cat[g.need[used]]],
                linewidths=lw,
                alpha=0.55,
                zorder=1,
            )
        )

    served = result._served
    full = served >= d.demand
    part = (served > 0) & ~full
    none = served == 0
    base = 36.0
    for mask, face, edge_w in ((full, "fill", 0.6), (part, "half", 1.2), (none, "none", 1.4)):
        idx = np.flatnonzero(mask & nmask)
        if not len(idx):
            continue
        col = [colours[c] for c in need_cat[idx]]
        size = base * (0.6 + 0.4 * np.sqrt(d.demand[idx]))
        if face == "fill":
            ax.scatter(
                d.need_xy[idx, 0],
                d.need_xy[idx, 1],
                s=size,
                c=col,
                edgecolors="black",
                linewidths=edge_w,
                zorder=3,
            )
        elif face == "half":
            ax.scatter(
                d.need_xy[idx, 0],
                d.need_xy[idx, 1],
                s=size,
                c=col,
                edgecolors="black",
                linewidths=edge_w,
                alpha=0.45,
                zorder=3,
            )
        else:
            ax.scatter(
                d.need_xy[idx, 0],
                d.need_xy[idx, 1],
                s=size,
                facecolors="white",
                edgecolors=col,
                linewidths=edge_w,
                zorder=3,
            )
            ax.scatter(
                d.need_xy[idx, 0],
                d.need_xy[idx, 1],
                s=size * 0.5,
                c=col,
                marker="x",
                linewidths=1.0,
                zorder=4,
            )
    ridx = np.flatnonzero(rmask)
    if len(ridx):
        ax.scatter(
            d.resource_xy[ridx, 0],
            d.resource_xy[ridx, 1],
            s=base * (0.8 + 0.5 * np.sqrt(d.capacity[ridx])),
            c=[colours[c] for c in res_cat[ridx]],
            marker="s",
            edgecolors="black",
            linewidths=0.8,
            zorder=3,
        )

    n_points = int(nmask.sum() + rmask.sum())
    if labels if labels is not None else n_points < 40:
        for i in np.flatnonzero(nmask):
            ax.annotate(
                str(d.need_ids[i]),
                d.need_xy[i],
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=7,
                color="#333333",
                zorder=5,
            )
        for j in ridx:
            ax.annotate(
                str(d.resource_ids[j]),
                d.resource_xy[j],
                xytext=(4, -9),
                textcoords="offset points",
                fontsize=7,
                color="#333333",
                fontweight="bold",
                zorder=5,
            )

    # Community names at the centre of their needs.
    for name in sorted({c for c in needs_comm[nmask] if c is not None}):
        at = d.need_xy[(needs_comm == name) & nmask].mean(axis=0)
        ax.annotate(
            name,
            at,
            ha="center",
            va="bottom",
            fontsize=10,
            color="#222222",
            xytext=(0, 12),
            textcoords="offset points",
            zorder=6,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#bbbbbb", "alpha": 0.8},
        )

    shown = sorted(set(need_cat[nmask]) | set(res_cat[rmask]))
    cat_handles, kind_handles = _map_handles(shown, colours)
    # Two columns of categories when one would run into the legend of symbols.
    rows_fit = ax.bbox.height / ax.figure.dpi / 0.19
    first = ax.legend(
        handles=cat_handles,
        ncols=1 if len(cat_handles) + len(kind_handles) + 2 <= rows_fit else 2,
        title="category",
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=8,
        title_fontsize=9,
        frameon=False,
    )
    ax.add_artist(first)
    ax.legend(
        handles=kind_handles,
        loc="lower left",
        bbox_to_anchor=(1.01, 0.0),
        fontsize=8,
        frameon=False,
    )
    xl, yl = _xy_label(result)
    ax.set_xlabel(xl)
    ax.set_ylabel(yl)
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    ax.grid(True, color="#eeeeee", zorder=0)
    if title is None:
        m = result.metrics
        title = (
            f"{community}\n{int(served[nmask].sum())}/{int(d.demand[nmask].sum())} units "
            f"served, {int((none & nmask).sum())} needs unmet"
            if community is not None
            else f"{int(m['assigned_units'])}/{int(m['demand_units'])} units served "
            f"({m['unit_coverage']:.0%}), {int(m['needs_unserved'])} needs unmet "
            f"(solver {result.solver})"
        )
    ax.set_title(title)
    _cjk(ax)
    del plt
    return ax


def community_maps(
    result: MatchResult, *, cols: int = 3, communities: Sequence[str] | None = None
) -> np.ndarray:
    """One :func:`district_map` per community, side by side.

    Parameters
    ----------
    result : MatchResult
    cols : int, default 3
        Maps per row.
    communities : sequence of str, optional
        Which communities, in order; all of them by default.

    Returns
    -------
    ndarray of matplotlib Axes
        One per community (extra cells of the grid are hidden).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matchcore as mc
    >>> r = mc.match(*mc.synthetic.tiny(), max_distance=2000)
    >>> len(mc.plot.community_maps(r))
    3
    """
    d = result.district
    if communities is None:
        communities = (
            sorted(_strings(d.needs["community"].unique())) if "community" in d.needs else []
        )
    if not communities:
        raise InputError("community_maps needs a `community` column in the needs list")
    plt = _setup(communities)
    rows = -(-len(communities) // cols)
    ncols = min(cols, len(communities))
    _, axes = plt.subplots(
        rows, ncols, figsize=(5.2 * ncols + 2.0, 4.6 * rows), squeeze=False, layout="constrained"
    )
    flat = axes.ravel()
    from matplotlib.legend import Legend

    shown: set[str] = set()
    for ax, name in zip(flat, communities):
        district_map(result, ax=ax, community=name, title=None)
        # One legend for the figure instead of one per map.
        for leg in [*ax.artists, ax.get_legend()]:
            if isinstance(leg, Legend):
                if leg.get_title().get_text() == "category":
                    shown.update(t.get_text() for t in leg.get_texts())
                leg.remove()
    for ax in flat[len(communities) :]:
        ax.set_visible(False)
    fig = flat[0].figure
    cats = [str(c) for c in d.categories]
    cat_handles, kind_handles = _map_handles([c for c in cats if c in shown], _palette(cats))
    legends = [
        fig.legend(
            handles=cat_handles,
            title="category",
            loc="outside right upper",
            fontsize=8,
            title_fontsize=9,
            frameon=False,
        ),
        fig.legend(
            handles=kind_handles,
            loc="outside lower center",
            ncols=len(kind_handles),
            fontsize=8,
            frameon=False,
        ),
    ]
    _cjk(*legends)
    return flat[: len(communities)]


def status_map(projects: pd.DataFrame, *, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Map of projects coloured by status (尚未开工 / 正在实施 / 已经完成 / 已取消).

    Parameters
    ----------
    projects : DataFrame
        One row per project, with coordinates (``x``/``y`` in metres or
        ``lat``/``lon`` in degrees) and a ``status`` column holding
        ``not_started``, ``in_progress``, ``completed``, ``cancelled`` or
        their Chinese words (:data:`matchcore.schema.STATUSES`).
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InputError
        Missing coordinates or status column, or an unknown status.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import pandas as pd, matchcore as mc
    >>> p = pd.DataFrame({"project_id": ["P1", "P2"], "x": [0, 100], "y": [0, 50],
    ...                   "status": ["completed", "正在实施"]})
    >>> mc.plot.status_map(p).get_legend() is not None
    True
    """
    if not isinstance(projects, pd.DataFrame):
        raise InputError(f"projects must be a DataFrame; got {type(projects).__name__}")
    if {"x", "y"} <= set(projects.columns):
        x, y = (pd.to_numeric(projects[c], errors="coerce").to_numpy(float) for c in ("x", "y"))
        xlabel, ylabel = "x (m)", "y (m)"
    elif {"lat", "lon"} <= set(projects.columns):
        x = pd.to_numeric(projects["lon"], errors="coerce").to_numpy(float)
        y = pd.to_numeric(projects["lat"], errors="coerce").to_numpy(float)
        xlabel, ylabel = "longitude (°E)", "latitude (°N)"
    else:
        raise InputError(
            f"projects must have coordinates: columns x/y or lat/lon; got {list(projects.columns)}"
        )
    status_col = (
        "status"
        if "status" in projects.columns
        else ("状态" if "状态" in projects.columns else None)
    )
    if status_col is None:
        raise InputError(f"projects lacks the `status` column; got {list(projects.columns)}")
    chinese = {v: k for k, v in STATUSES.items()}
    raw = projects[status_col].astype(object).to_numpy()
    status = np.array([chinese.get(str(s).strip(), str(s).strip()) for s in raw], dtype=object)
    bad = sorted({s for s in status if s not in STATUSES})
    if bad:
        row = int(np.flatnonzero(status == bad[0])[0])
        raise InputError(
            f"`status` must be one of {list(STATUSES)} (or their Chinese words); got "
            f"{raw[row]!r} (row {row + 1} of projects)"
        )
    plt = _setup([*STATUSES.values(), title])
    from matplotlib.lines import Line2D

    ax = _new_ax(ax, (7.5, 6.0))
    handles = []
    for name, word in STATUSES.items():
        mask = status == name
        ax.scatter(
            x[mask],
            y[mask],
            s=46,
            c=STATUS_COLOURS[name],
            edgecolors="black",
            linewidths=0.6,
            zorder=3,
        )
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                ls="",
                color=STATUS_COLOURS[name],
                markeredgecolor="black",
                label=f"{word} {name.replace('_', ' ')} ({int(mask.sum())})",
            )
        )
    if len(projects) < 40 and "project_id" in projects.columns:
        for xi, yi, pid in zip(x, y, projects["project_id"].astype(str)):
            ax.annotate(pid, (xi, yi), xytext=(4, 4), textcoords="offset points", fontsize=7)
    ax.legend(
        handles=handles,
        title="status 状态",
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
    )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if xlabel.startswith("x"):
        ax.set_aspect("equal", adjustable="datalim")
    elif np.isfinite(y).any():
        # Degrees of longitude are shorter than degrees of latitude away from the equator.
        lat0 = float(np.nanmean(y))
        ax.set_aspect(1.0 / max(np.cos(np.radians(lat0)), 0.05), adjustable="box")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.grid(True, color="#eeeeee", zorder=0)
    ax.set_title(title if title is not None else f"Projects by status ({len(projects)})")
    _cjk(ax)
    del plt
    return ax


def _none_to(col: pd.Series | None, n: int) -> list[Any]:
    if col is None:
        return [None] * n
    return [None if pd.isna(v) else str(v) for v in col.to_numpy(dtype=object)]


# --------------------------------------------------------------------------- charts
def _percent_axis(axis: Any) -> None:
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(1.0, decimals=0))


def coverage_by_community(
    result: MatchResult, *, ax: Axes | None = None, title: str | None = None
) -> Axes:
    """Unit coverage per community, as horizontal bars sorted best first.

    Each bar is split into the served share of the community's demand and the
    unmet rest, and is annotated with its served, demand and unmet units; a
    dashed line marks the coverage of the whole round.

    Parameters
    ----------
    result : MatchResult
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    title : str, optional
        Defaults to a summary with the round's coverage and fairness.

    Returns
    -------
    matplotlib.axes.Axes

    See Also
    --------
    matchcore.metrics.by_community : the numbers drawn.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matchcore as mc
    >>> r = mc.match(*mc.synthetic.tiny(), max_distance=2000)
    >>> ax = mc.plot.coverage_by_community(r)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['东湖社区', '西山社区', '南苑社区']
    """
    from .metrics import by_community

    comm = by_community(result).sort_values(
        ["unit_coverage", "community"], ascending=[False, True], kind="stable"
    )
    names = [str(c) for c in comm["community"]]
    _setup([*names, title])
    from matplotlib.patches import Patch

    ax = _new_ax(ax, (9.0, 1.2 + 0.55 * max(len(comm), 2)))
    cover = comm["unit_coverage"].to_numpy(float)
    served = comm["assigned_units"].to_numpy(np.int64)
    demand = comm["demand_units"].to_numpy(np.int64)
    pos = np.arange(len(comm))[::-1]  # best at the top
    ax.barh(pos, cover, height=0.7, color="#2ca02c", edgecolor="black", linewidth=0.5, zorder=2)
    ax.barh(
        pos,
        1.0 - cover,
        left=cover,
        height=0.7,
        color="#f4c7c3",
        edgecolor="black",
        linewidth=0.5,
        zorder=2,
    )
    for p, c, s, dmd in zip(pos, cover, served, demand):
        ax.text(
            1.02,
            p,
            f"{c:.0%}  {s}/{dmd} served, {dmd - s} unmet",
            va="center",
            ha="left",
            fontsize=8,
        )
    m = result.metrics
    overall = float(m["unit_coverage"])
    ax.axvline(overall, color="#333333", ls="--", lw=1.0, zorder=3)
    ax.set_yticks(pos, names)
    ax.set_xlim(0.0, 1.5)
    ax.set_xticks(np.linspace(0.0, 1.0, 6))
    _percent_axis(ax.xaxis)
    ax.set_ylim(-0.6, len(comm) - 0.4)
    ax.set_xlabel("unit coverage (units served / units needed)")
    ax.set_ylabel("community")
    ax.grid(True, axis="x", color="#eeeeee", zorder=0)
    ax.legend(
        handles=[
            Patch(facecolor="#2ca02c", edgecolor="black", label="served"),
            Patch(facecolor="#f4c7c3", edgecolor="black", label="unmet"),
            _line("#333333", "--", f"whole round ({overall:.0%})"),
        ],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=8,
        frameon=False,
    )
    if title is None:
        title = (
            f"Unit coverage by community: {int(m['assigned_units'])}/{int(m['demand_units'])} "
            f"units served, fairness {float(m['community_fairness']):.3f}"
        )
    ax.set_title(title)
    _cjk(ax)
    return ax


def _line(colour: str, style: str, label: str) -> Any:
    from matplotlib.lines import Line2D

    return Line2D([], [], color=colour, ls=style, lw=1.2, label=label)


def unmet_by_reason(
    result: MatchResult, *, ax: Axes | None = None, title: str | None = None
) -> Axes:
    """Needs not fully served, and their unmet units, by reason in funnel order.

    The reasons (:data:`matchcore.result.REASONS`) run top to bottom in the
    order of the candidate funnel: no compatible resource, out of reach, no
    time overlap, skills missing, outbid. Every reason has a row, so an empty
    row says that step of the funnel lost nothing.

    Parameters
    ----------
    result : MatchResult
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    title : str, optional
        Defaults to the totals.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matchcore as mc
    >>> r = mc.match(*mc.synthetic.tiny(), max_distance=2000)
    >>> ax = mc.plot.unmet_by_reason(r)
    >>> len(ax.get_yticklabels())
    5
    """
    import textwrap

    from .result import REASONS

    unmet = result.unmet
    codes = list(REASONS)
    code_of = {c: k for k, c in enumerate(codes)}
    k = np.array([code_of[str(r)] for r in unmet["reason"]], dtype=np.int64)
    n_needs = np.bincount(k, minlength=len(codes))
    n_units = np.bincount(
        k, weights=unmet["unmet"].to_numpy(np.int64), minlength=len(codes)
    ).astype(np.int64)
    _setup([title])
    from matplotlib.patches import Patch

    ax = _new_ax(ax, (9.5, 4.8))
    pos = np.arange(len(codes))[::-1].astype(float)  # funnel order, top to bottom
    h = 0.38
    colours = [REASON_COLOURS.get(c, "#7f7f7f") for c in codes]
    ax.barh(pos + h / 2, n_units, height=h, color=colours, edgecolor="black", lw=0.5, zorder=2)
    ax.barh(
        pos - h / 2,
        n_needs,
        height=h,
        color=colours,
        alpha=0.45,
        hatch="///",
        edgecolor="black",
        lw=0.5,
        zorder=2,
    )
    top = max(int(n_units.max()), int(n_needs.max()), 1)
    for p, u, n in zip(pos, n_units, n_needs):
        ax.text(u + top * 0.01, p + h / 2, f"{u} units", va="center", fontsize=8)
        ax.text(n + top * 0.01, p - h / 2, f"{n} needs", va="center", fontsize=8)
    labels = [f"{c}\n" + textwrap.fill(REASONS[c], 34) for c in codes]
    ax.set_yticks(pos, labels, fontsize=8)
    ax.set_xlim(0, top * 1.18)
    ax.set_xlabel("count")
    ax.set_ylabel("reason (funnel order)")
    ax.grid(True, axis="x", color="#eeeeee", zorder=0)
    ax.legend(
        handles=[
            Patch(facecolor="#999999", edgecolor="black", label="unmet units"),
            Patch(
                facecolor="#999999",
                alpha=0.45,
                hatch="///",
                edgecolor="black",
                label="needs not fully served",
            ),
        ],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=8,
        frameon=False,
    )
    if title is None:
        title = (
            f"Unmet by reason: {int(n_needs.sum())} needs not fully served, "
            f"{int(n_units.sum())} units unmet"
            if len(unmet)
            else "Every need is fully served"
        )
    ax.set_title(title)
    _cjk(ax)
    return ax


#: Colours of the score components.
COMPONENT_COLOURS: dict[str, str] = {
    "type": "#1f77b4",
    "locality": "#2ca02c",
    "priority": "#d62728",
    "partner": "#9467bd",
}


def score_components(
    result: MatchResult, *, ax: Axes | None = None, title: str | None = None
) -> Axes:
    """What the score of the assigned edges is made of, per need category.

    For every category of need, a stacked bar of the mean contribution of each
    weighted component (``weight × component``: type, locality, priority,
    partner) per assigned unit; the bar's length is the mean score per unit.
    The top bar is the whole round.

    Parameters
    ----------
    result : MatchResult
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    title : str, optional
        Defaults to the weights used.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matchcore as mc
    >>> r = mc.match(*mc.synthetic.tiny(), max_distance=2000)
    >>> ax = mc.plot.score_components(r)
    >>> [t.get_text() for t in ax.get_legend().get_texts()][:2]
    ['type (w = 0.3)', 'locality (w = 0.4)']
    """
    from .scoring import COMPONENTS

    d, g = result.district, result.graph
    used = np.flatnonzero(result.units > 0)
    units = result.units[used].astype(float)
    cat_codes = d.need_category[g.need[used]]
    cats = np.array([str(c) for c in d.categories], dtype=object)
    n_cat = len(cats)
    w = result.weights
    contrib = np.stack(
        [getattr(w, c) * result.components[c].to_numpy(float)[used] for c in COMPONENTS], axis=1
    )
    per_cat_units = np.bincount(cat_codes, weights=units, minlength=n_cat)
    per_cat = np.stack(
        [
            np.bincount(cat_codes, weights=units * contrib[:, k], minlength=n_cat)
            for k in range(len(COMPONENTS))
        ],
        axis=1,
    )
    keep = np.flatnonzero(per_cat_units > 0)
    mean = per_cat[keep] / per_cat_units[keep, None]
    order = np.lexsort((cats[keep], -mean.sum(axis=1)))  # best mean score first
    rows = ["all assigned", *cats[keep][order]]
    total_units = units.sum()
    overall = (units @ contrib) / total_units if total_units else np.zeros(len(COMPONENTS))
    values = np.vstack([overall[None, :], mean[order]])
    counts = np.concatenate([[total_units], per_cat_units[keep][order]]).astype(np.int64)

    _setup([*rows, title])
    ax = _new_ax(ax, (9.5, 1.4 + 0.42 * max(len(rows), 3)))
    pos = np.arange(len(rows))[::-1].astype(float)
    pos[1:] -= 0.5  # a gap under the whole-round bar
    left = np.zeros(len(rows))
    for k, name in enumerate(COMPONENTS):
        ax.barh(
            pos,
            values[:, k],
            left=left,
            height=0.72,
            color=COMPONENT_COLOURS.get(name, None),
            edgecolor="white",
            lw=0.6,
            label=f"{name} (w = {getattr(w, name):g})",
            zorder=2,
        )
        left += values[:, k]
    top = float(left.max()) if left.max() > 0 else w.total  # nothing assigned: the full scale
    for p, s, n in zip(pos, left, counts):
        ax.text(s + top * 0.01, p, f"{s:.3f}  ({n} units)", va="center", fontsize=8)
    ax.set_yticks(pos, rows)
    ax.get_yticklabels()[0].set_fontweight("bold")
    ax.set_xlim(0.0, top * 1.3)
    ax.set_xlabel("mean contribution to the score per assigned unit (weight × component)")
    ax.set_ylabel("need category")
    ax.grid(True, axis="x", color="#eeeeee", zorder=0)
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=8,
        title="component",
        title_fontsize=8,
        frameon=False,
    )
    if title is None:
        title = f"Score of the assigned edges, by component ({len(used)} edges)"
    ax.set_title(title)
    _cjk(ax)
    return ax


#: Readable axis labels of a sweep frame's columns.
SWEEP_LABELS: dict[str, str] = {
    "unit_coverage": "unit coverage",
    "priority_weighted_coverage": "priority-weighted coverage",
    "need_coverage": "needs fully served",
    "mean_distance": "mean distance per assigned unit (m)",
    "community_fairness": "community fairness (Jain's index)",
    "total_score": "total score",
    "coverage_gini": "coverage Gini across communities",
}
#: Sweep columns where lower is better (higher is better for the others).
_LOWER_IS_BETTER = frozenset({"mean_distance", "max_distance", "coverage_gini"})


def _front_2d(x: np.ndarray, y: np.ndarray, x_lower: bool, y_lower: bool) -> np.ndarray:
    """Mask of the points no other point beats on both x and y (ties do not beat)."""
    gx = -x if x_lower else x  # larger is better from here on
    gy = -y if y_lower else y
    no_worse = (gx[None, :] >= gx[:, None]) & (gy[None, :] >= gy[:, None])
    better = (gx[None, :] > gx[:, None]) | (gy[None, :] > gy[:, None])
    return np.asarray(~(no_worse & better).any(axis=1), dtype=bool)


_PERCENT_COLUMNS = frozenset({"unit_coverage", "priority_weighted_coverage", "need_coverage"})


def frontier(
    frame: pd.DataFrame,
    x: str = "mean_distance",
    y: str = "priority_weighted_coverage",
    *,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """The trade-off between two metrics over a sweep of weights.

    Every row (one weighting) is a point coloured by its community fairness;
    the Pareto-optimal rows (column ``pareto``) are drawn larger and labelled.
    A line joins, in order of ``x``, those of them that no other beats on both
    ``x`` and ``y`` (lower is better for mean_distance, max_distance and
    coverage_gini, higher for the others): the sweep's Pareto set may count
    more metrics than the two drawn.

    Parameters
    ----------
    frame : DataFrame
        One row per weighting, with columns ``label``, ``community_fairness``,
        ``pareto`` (bool) and the ``x`` and ``y`` metrics (the frame of
        ``matchcore.analysis.sweep``: unit_coverage,
        priority_weighted_coverage, need_coverage, mean_distance,
        total_score, ...). It is not modified.
    x, y : str
        The columns on the axes.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InputError
        A missing column, or a non-numeric value in ``x``, ``y`` or
        ``community_fairness``.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import pandas as pd, matchcore as mc
    >>> f = pd.DataFrame({"label": ["near", "fair", "far"],
    ...                   "mean_distance": [250.0, 320.0, 400.0],
    ...                   "priority_weighted_coverage": [0.83, 0.87, 0.86],
    ...                   "community_fairness": [0.97, 0.98, 0.99],
    ...                   "pareto": [True, True, False]})
    >>> mc.plot.frontier(f).get_xlabel()
    'mean distance per assigned unit (m)'
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"frame must be a DataFrame; got {type(frame).__name__}")
    need = ["label", x, y, "community_fairness", "pareto"]
    missing = [c for c in dict.fromkeys(need) if c not in frame.columns]
    if missing:
        raise InputError(
            f"the sweep frame lacks the column(s) {missing}; got {list(frame.columns)}"
        )
    cols = {}
    for c in dict.fromkeys((x, y, "community_fairness")):
        v = pd.to_numeric(frame[c], errors="coerce").to_numpy(float)
        bad = np.flatnonzero(~np.isfinite(v))
        if len(bad):
            raise InputError(
                f"column `{c}` of the sweep frame must hold finite numbers; got "
                f"{frame[c].iat[bad[0]]!r} (row {bad[0] + 1})"
            )
        cols[c] = v
    pareto_raw = frame["pareto"].to_numpy(dtype=object)
    ok = np.array([isinstance(p, (bool, np.bool_)) for p in pareto_raw], dtype=bool)
    if not ok.all():
        row = int(np.flatnonzero(~ok)[0])
        raise InputError(
            f"column `pareto` of the sweep frame must hold True/False; got "
            f"{pareto_raw[row]!r} (row {row + 1})"
        )
    pareto = pareto_raw.astype(bool)
    labels = [str(v) for v in frame["label"]]
    xv, yv, fair = cols[x], cols[y], cols["community_fairness"]
    _setup([*labels, title])
    from matplotlib.lines import Line2D

    ax = _new_ax(ax, (8.5, 6.0))
    vmin, vmax = float(fair.min()), float(fair.max())
    if vmax - vmin < 1e-9:
        vmin, vmax = vmin - 0.005, vmax + 0.005
    common: dict[str, Any] = {"cmap": "viridis", "vmin": vmin, "vmax": vmax, "zorder": 3}
    sc = ax.scatter(
        xv[~pareto], yv[~pareto], c=fair[~pareto], s=45, edgecolors="#555555", lw=0.6, **common
    )
    sc = ax.scatter(
        xv[pareto], yv[pareto], c=fair[pareto], s=110, edgecolors="black", lw=1.4, **common
    )
    idx = np.flatnonzero(pareto)
    idx = idx[np.lexsort((yv[idx], xv[idx]))]
    # The sweep's Pareto set may count more metrics than these two: join only the
    # Pareto points that no other one beats in this view, in order of x.
    front = idx[_front_2d(xv[idx], yv[idx], x in _LOWER_IS_BETTER, y in _LOWER_IS_BETTER)]
    ax.plot(xv[front], yv[front], color="black", lw=1.0, ls="-", zorder=2)
    for r, i in enumerate(idx):
        ax.annotate(
            labels[i],
            (xv[i], yv[i]),
            xytext=(8, 8) if r % 2 == 0 else (8, -14),
            textcoords="offset points",
            fontsize=8,
            zorder=4,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
        )
    if len(frame) <= 20:  # few enough to name the dominated points too, quietly
        for i in np.flatnonzero(~pareto):
            ax.annotate(
                labels[i],
                (xv[i], yv[i]),
                xytext=(6, -3),
                textcoords="offset points",
                fontsize=7,
                color="#666666",
                va="top",
                zorder=4,
            )
    cbar = ax.figure.colorbar(sc, ax=ax)
    cbar.set_label(SWEEP_LABELS["community_fairness"])
    ax.legend(
        handles=[
            Line2D(
                [],
                [],
                marker="o",
                ms=10,
                color="black",
                mfc="#bbbbbb",
                mew=1.4,
                label="Pareto-optimal (joined: the front in this view)",
            ),
            Line2D(
                [],
                [],
                marker="o",
                ms=7,
                ls="",
                mfc="#bbbbbb",
                mec="#555555",
                label="dominated",
            ),
        ],
        loc="best",
        fontsize=8,
    )
    ax.set_xlabel(SWEEP_LABELS.get(x, x))
    ax.set_ylabel(SWEEP_LABELS.get(y, y))
    if x in _PERCENT_COLUMNS:
        _percent_axis(ax.xaxis)
    if y in _PERCENT_COLUMNS:
        _percent_axis(ax.yaxis)
    ax.margins(0.12)
    ax.grid(True, color="#eeeeee", zorder=0)
    if title is None:
        title = f"Trade-off over {len(frame)} weightings ({int(pareto.sum())} Pareto-optimal)"
    ax.set_title(title)
    _cjk(ax, cbar.ax)
    return ax
