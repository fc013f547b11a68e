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

__all__ = ["community_maps", "district_map", "find_cjk_font", "status_map"]

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
    from matplotlib.lines import Line2D

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
    first = ax.legend(
        handles=cat_handles,
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
        where = f"{community}: " if community is not None else ""
        title = (
            f"{where}{int(served[nmask].sum())}/{int(d.demand[nmask].sum())} units served, "
            f"{int((none & nmask).sum())} needs unmet (solver {result.solver})"
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
    for ax, name in zip(flat, communities):
        district_map(result, ax=ax, community=name, title=None)
        # One shared legend is enough: keep it on the last map only.
        if name != communities[-1]:
            for leg in [*ax.artists, ax.get_legend()]:
                if leg is not None and leg.__class__.__name__ == "Legend":
                    leg.remove()
    for ax in flat[len(communities) :]:
        ax.set_visible(False)
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
    ax.grid(True, color="#eeeeee", zorder=0)
    ax.set_title(title if title is not None else f"Projects by status ({len(projects)})")
    _cjk(ax)
    del plt
    return ax


def _none_to(col: pd.Series | None, n: int) -> list[Any]:
    if col is None:
        return [None] * n
    return [None if pd.isna(v) else str(v) for v in col.to_numpy(dtype=object)]
