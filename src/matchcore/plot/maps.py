"""Maps of a round and of the ledger: the district map, community maps, status maps.

Drawn like every plot of :mod:`matchcore.plot` (an Axes in, the Axes out;
matplotlib imported when a map is drawn; the CJK font fallback of
:mod:`matchcore.plot.base`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from ..checks import check_choice
from ..errors import InputError
from ..schema import STATUSES

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ..result import MatchResult

from .base import (
    LINE_COLOUR,
    NEED_STYLES,
    RESOURCE_STYLE,
    STATUS_COLOURS,
    WEAK_COLOUR,
    as_strings,
    capped_sizes,
    map_handles,
    new_axes,
    none_to,
    palette,
    setup_axes_text,
    status_handles,
    use_cjk,
    xy_labels,
)

__all__ = ["MAP_BY", "MapBy", "community_maps", "district_map", "status_map"]

#: What a district map colours by.
MapBy = Literal["status", "category"]
MAP_BY: tuple[str, ...] = ("status", "category")


def district_map(
    result: MatchResult,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    community: str | None = None,
    labels: bool | None = None,
    by: MapBy = "status",
) -> Axes:
    """Map of a round: which needs are served, partly served or unmet, and where.

    By default (``by="status"``) it shows what a dispatcher asks first: needs
    as three colours (served: green, small; partly served: orange; unmet: red,
    largest, on top), resources as small neutral squares, assignments as thin
    grey lines, and each community's name with its coverage at the centre of
    its needs, the community with the lowest coverage framed in red.
    ``by="category"`` colours needs and resources by category instead
    (filled: fully served; faded: partly served; hollow with a cross: unmet).
    Marker sizes grow with the square root of demand or capacity and are
    capped, so that one large fund does not hide its neighbours.

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
    by : {"status", "category"}, default "status"
        Colour needs by how well they are served, or needs and resources by
        category.

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
    >>> ax = mc.plot.district_map(r, by="category")
    """
    check_choice(by, "by", MAP_BY)
    d, g = result.district, result.graph
    needs_comm = np.array(
        none_to(d.needs["community"] if "community" in d.needs else None, d.n_needs), dtype=object
    )
    res_comm = np.array(
        none_to(d.resources["community"] if "community" in d.resources else None, d.n_resources),
        dtype=object,
    )
    plt = setup_axes_text(list(needs_comm) + list(res_comm) + [title])

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

    served = result.served
    state = np.where(served >= d.demand, "served", np.where(served > 0, "partly", "unmet"))
    if by == "status":
        _draw_by_status(ax, result, used, nmask, rmask, state)
    else:
        _draw_by_category(ax, result, used, nmask, rmask, state)

    n_points = int(nmask.sum() + rmask.sum())
    if labels if labels is not None else n_points < 40:
        for i in np.flatnonzero(nmask):
            ax.annotate(str(d.need_ids[i]), d.need_xy[i], xytext=(4, 4),
                        textcoords="offset points", fontsize=7, color="#333333", zorder=6)
        for j in np.flatnonzero(rmask):
            ax.annotate(str(d.resource_ids[j]), d.resource_xy[j], xytext=(4, -9),
                        textcoords="offset points", fontsize=7, color="#000000",
                        zorder=6)

    weakest = _community_labels(ax, result, needs_comm, nmask)
    xl, yl = xy_labels(result)
    ax.set_xlabel(xl)
    ax.set_ylabel(yl)
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    ax.grid(True, color="#eeeeee", zorder=0)
    if title is None:
        n_unmet = int(((state == "unmet") & nmask).sum())
        got, want = int(served[nmask].sum()), int(d.demand[nmask].sum())
        share = got / want if want else 1.0
        title = (f"{community}: " if community is not None else "")
        title += f"{got:,}/{want:,} units served ({share:.0%}), {n_unmet:,} needs unmet"
        if weakest is not None:
            title += f"\nlowest coverage: {weakest[0]} ({weakest[1]:.0%})"
    ax.set_title(title)
    use_cjk(ax)
    del plt
    return ax


def _draw_by_status(
    ax: Axes,
    result: MatchResult,
    used: np.ndarray,
    nmask: np.ndarray,
    rmask: np.ndarray,
    state: np.ndarray,
) -> None:
    """Needs by service (three colours), neutral resources, thin grey lines; the legend."""
    from matplotlib.collections import LineCollection

    d, g = result.district, result.graph
    units = result.units
    if len(used):
        segs = np.stack([d.need_xy[g.need[used]], d.resource_xy[g.resource[used]]], axis=1)
        lw = 0.4 + 0.8 * np.sqrt(units[used] / max(units[used].max(), 1))
        ax.add_collection(LineCollection(list(segs), colors=LINE_COLOUR, linewidths=lw,
                                         alpha=0.45, zorder=1))
    ridx = np.flatnonzero(rmask)
    if len(ridx):
        ax.scatter(d.resource_xy[ridx, 0], d.resource_xy[ridx, 1],
                   s=capped_sizes(d.capacity[ridx], 8.0, 36.0), marker="s",
                   c=RESOURCE_STYLE["color"], edgecolors=RESOURCE_STYLE["edgecolor"],
                   linewidths=0.6, zorder=2)
    for name, style in NEED_STYLES.items():
        idx = np.flatnonzero((state == name) & nmask)
        if len(idx):
            ax.scatter(d.need_xy[idx, 0], d.need_xy[idx, 1], s=style["size"],
                       c=style["color"], edgecolors=style["edgecolor"], linewidths=0.6,
                       zorder=style["zorder"])
    counts = {name: int(((state == name) & nmask).sum()) for name in NEED_STYLES}
    handles = status_handles()
    for handle, name in zip(handles, NEED_STYLES):
        handle.set_label(f"{handle.get_label()} ({counts[name]:,})")
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
              frameon=False, title="needs and resources", title_fontsize=9)


def _draw_by_category(
    ax: Axes,
    result: MatchResult,
    used: np.ndarray,
    nmask: np.ndarray,
    rmask: np.ndarray,
    state: np.ndarray,
) -> None:
    """Needs and resources coloured by category; the two legends."""
    from matplotlib.collections import LineCollection

    d, g = result.district, result.graph
    units = result.units
    cats = [str(c) for c in d.categories]
    colours = palette(cats)
    need_cat = np.array(cats, dtype=object)[d.need_category]
    res_cat = np.array(cats, dtype=object)[d.resource_category]
    if len(used):
        segs = np.stack([d.need_xy[g.need[used]], d.resource_xy[g.resource[used]]], axis=1)
        lw = 0.8 + 1.6 * np.sqrt(units[used] / max(units[used].max(), 1))
        ax.add_collection(LineCollection(
            list(segs), colors=[colours[c] for c in need_cat[g.need[used]]], linewidths=lw,
            alpha=0.55, zorder=1))
    base = 36.0
    for name in ("served", "partly", "unmet"):
        idx = np.flatnonzero((state == name) & nmask)
        if not len(idx):
            continue
        col = [colours[c] for c in need_cat[idx]]
        size = capped_sizes(d.demand[idx], base * 0.8, base * 2.5)
        x, y = d.need_xy[idx, 0], d.need_xy[idx, 1]
        if name == "served":
            ax.scatter(x, y, s=size, c=col, edgecolors="black", linewidths=0.6, zorder=3)
        elif name == "partly":
            ax.scatter(x, y, s=size, c=col, edgecolors="black", linewidths=1.2, alpha=0.45,
                       zorder=3)
        else:
            ax.scatter(x, y, s=size, facecolors="white", edgecolors=col, linewidths=1.4,
                       zorder=3)
            ax.scatter(x, y, s=size * 0.5, c=col, marker="x", linewidths=1.0, zorder=4)
    ridx = np.flatnonzero(rmask)
    if len(ridx):
        ax.scatter(d.resource_xy[ridx, 0], d.resource_xy[ridx, 1],
                   s=capped_sizes(d.capacity[ridx], base * 0.8, base * 3.0),
                   c=[colours[c] for c in res_cat[ridx]], marker="s", edgecolors="black",
                   linewidths=0.8, zorder=3)
    shown = sorted(set(need_cat[nmask]) | set(res_cat[rmask]))
    cat_handles, kind_handles, kind_labels = map_handles(shown, colours)
    # Two columns of categories when one would run into the legend of symbols.
    rows_fit = ax.bbox.height / ax.figure.dpi / 0.19
    first = ax.legend(
        handles=cat_handles,
        ncols=1 if len(cat_handles) + len(kind_handles) + 2 <= rows_fit else 2,
        title="category", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
        title_fontsize=9, frameon=False,
    )
    ax.add_artist(first)
    ax.legend(kind_handles, kind_labels, loc="lower left", bbox_to_anchor=(1.01, 0.0),
              fontsize=8, frameon=False)


def _community_labels(
    ax: Axes, result: MatchResult, needs_comm: np.ndarray, nmask: np.ndarray
) -> tuple[str, float] | None:
    """Each community's name and coverage at the centre of its needs; the weakest framed.

    Returns the community with the lowest unit coverage and its coverage
    (None when fewer than two communities are drawn).
    """
    d = result.district
    served = result.served
    cover: dict[str, float] = {}
    for name in sorted({c for c in needs_comm[nmask] if c is not None}):
        mask = (needs_comm == name) & nmask
        want = float(d.demand[mask].sum())
        cover[name] = float(served[mask].sum()) / want if want else 1.0
    weakest = min(cover, key=lambda c: (cover[c], c)) if len(cover) > 1 else None
    for name, share in cover.items():
        at = d.need_xy[(needs_comm == name) & nmask].mean(axis=0)
        weak = name == weakest
        ax.annotate(
            f"{name} {share:.0%}", at, ha="center", va="bottom",
            # No bold: many CJK fonts have no bold face (matplotlib would log a warning).
            fontsize=10.5 if weak else 9,
            color=WEAK_COLOUR if weak else "#222222", xytext=(0, 12),
            textcoords="offset points", zorder=7,
            bbox={"boxstyle": "round,pad=0.25", "fc": "white",
                  "ec": WEAK_COLOUR if weak else "#bbbbbb", "lw": 1.6 if weak else 0.8,
                  "alpha": 0.9},
        )
    return (weakest, cover[weakest]) if weakest is not None else None


def community_maps(
    result: MatchResult,
    *,
    cols: int = 3,
    communities: Sequence[str] | None = None,
    by: MapBy = "status",
) -> np.ndarray:
    """One :func:`district_map` per community, side by side, with one legend.

    Parameters
    ----------
    result : MatchResult
    cols : int, default 3
        Maps per row.
    communities : sequence of str, optional
        Which communities, in order; all of them by default.
    by : {"status", "category"}, default "status"
        As in :func:`district_map`.

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
    check_choice(by, "by", MAP_BY)
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
        district_map(result, ax=ax, community=name, title=None, by=by)
        # One legend for the figure instead of one per map.
        for leg in [*ax.artists, ax.get_legend()]:
            if isinstance(leg, Legend):
                if leg.get_title().get_text() == "category":
                    shown.update(t.get_text() for t in leg.get_texts())
                leg.remove()
    for ax in flat[len(communities) :]:
        ax.set_visible(False)
    fig = flat[0].figure
    if by == "status":
        handles = status_handles()
        legends = [fig.legend(handles=handles, loc="outside lower center", ncols=len(handles),
                              fontsize=8, frameon=False)]
    else:
        cats = [str(c) for c in d.categories]
        cat_handles, kind_handles, kind_labels = map_handles(
            [c for c in cats if c in shown], palette(cats)
        )
        legends = [
            fig.legend(handles=cat_handles, title="category", loc="outside right upper",
                       fontsize=8, title_fontsize=9, frameon=False),
            fig.legend(kind_handles, kind_labels, loc="outside lower center",
                       ncols=len(kind_handles), fontsize=8, frameon=False),
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


