"""Charts of a round: coverage by community, unmet needs by reason, score components, trade-offs.

Public through :mod:`matchcore.plot`; see its docstring for the CJK font fallback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ..result import MatchResult

from .base import (
    REASON_COLOURS,
    legend_line,
    new_axes,
    percent_axis,
    setup_axes_text,
    use_cjk,
)


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
    from ..metrics import by_community

    comm = by_community(result).sort_values(
        ["unit_coverage", "community"], ascending=[False, True], kind="stable"
    )
    names = [str(c) for c in comm["community"]]
    setup_axes_text([*names, title])
    from matplotlib.patches import Patch

    ax = new_axes(ax, (9.0, 1.2 + 0.55 * max(len(comm), 2)))
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
    percent_axis(ax.xaxis)
    ax.set_ylim(-0.6, len(comm) - 0.4)
    ax.set_xlabel("unit coverage (units served / units needed)")
    ax.set_ylabel("community")
    ax.grid(True, axis="x", color="#eeeeee", zorder=0)
    ax.legend(
        handles=[
            Patch(facecolor="#2ca02c", edgecolor="black", label="served"),
            Patch(facecolor="#f4c7c3", edgecolor="black", label="unmet"),
            legend_line("#333333", "--", f"whole round ({overall:.0%})"),
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
    use_cjk(ax)
    return ax




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

    from ..result import POLICY_REASONS, REASONS

    unmet = result.unmet
    # The funnel always; reasons of staff policies only when they occur.
    present = set(unmet["reason"])
    codes = [c for c in REASONS if c not in POLICY_REASONS or c in present]
    code_of = {c: k for k, c in enumerate(codes)}
    k = np.array([code_of[str(r)] for r in unmet["reason"]], dtype=np.int64)
    n_needs = np.bincount(k, minlength=len(codes))
    n_units = np.bincount(
        k, weights=unmet["unmet"].to_numpy(np.int64), minlength=len(codes)
    ).astype(np.int64)
    setup_axes_text([title])
    from matplotlib.patches import Patch

    ax = new_axes(ax, (9.5, 4.8))
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
    use_cjk(ax)
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
    from ..model.scoring import COMPONENTS

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

    setup_axes_text([*rows, title])
    ax = new_axes(ax, (9.5, 1.4 + 0.42 * max(len(rows), 3)))
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
    use_cjk(ax)
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
    setup_axes_text([*labels, title])
    from matplotlib.lines import Line2D

    ax = new_axes(ax, (8.5, 6.0))
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
        percent_axis(ax.xaxis)
    if y in _PERCENT_COLUMNS:
        percent_axis(ax.yaxis)
    ax.margins(0.12)
    ax.grid(True, color="#eeeeee", zorder=0)
    if title is None:
        title = f"Trade-off over {len(frame)} weightings ({int(pareto.sum())} Pareto-optimal)"
    ax.set_title(title)
    use_cjk(ax, cbar.ax)
    return ax
