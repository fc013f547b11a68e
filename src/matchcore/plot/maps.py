"""Maps of a round and of the ledger: the district map, community maps, status maps.

Every function draws on a :class:`matplotlib.axes.Axes` (a new figure when
``ax`` is None) and returns it, so figures compose and can be restyled.
matplotlib is imported here only, when a plot is drawn; ``import matchcore``
never imports it.

Chinese names (communities, providers) need a CJK font. The ``plot`` extra
installs one with pip (Noto Sans CJK, SIL OFL, from ``manimgx-fonts-cjk``); the
first plot registers it with matplotlib, or finds an installed one (Source Han
Sans, WenQuanYi, SimHei, Microsoft YaHei, PingFang, ...), and every plot appends it to the font
families of the texts it draws, as a *fallback*: Latin text keeps its font and
only the missing glyphs come from the CJK font. matplotlib's global
``rcParams`` are left untouched. Without a CJK font, a
:class:`~matchcore.MatchcoreWarning` says so, once per process, and the names
show as boxes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import InputError
from ..schema import STATUSES

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ..result import MatchResult

from .base import (
    STATUS_COLOURS,
    as_strings,
    map_handles,
    new_axes,
    none_to,
    palette,
    setup_axes_text,
    use_cjk,
    xy_labels,
)

__all__ = ["community_maps", "district_map", "status_map"]


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
        none_to(d.needs["community"] if "community" in d.needs else None, d.n_needs), dtype=object
    )
    res_comm = np.array(
        none_to(d.resources["community"] if "community" in d.resources else None, d.n_resources),
        dtype=object,
    )
    plt = setup_axes_text(list(needs_comm) + list(res_comm) + [title])
    from matplotlib.collections import LineCollection

    ax = new_axes(ax)
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
    colours = palette(cats)
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

    served = result.served
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
    cat_handles, kind_handles = map_handles(shown, colours)
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
    xl, yl = xy_labels(result)
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
    use_cjk(ax)
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
            sorted(as_strings(d.needs["community"].unique())) if "community" in d.needs else []
        )
    if not communities:
        raise InputError("community_maps needs a `community` column in the needs list")
    plt = setup_axes_text(communities)
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
    cat_handles, kind_handles = map_handles([c for c in cats if c in shown], palette(cats))
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
    use_cjk(*legends)
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
    plt = setup_axes_text([*STATUSES.values(), title])
    from matplotlib.lines import Line2D

    ax = new_axes(ax, (7.5, 6.0))
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
    use_cjk(ax)
    del plt
    return ax


