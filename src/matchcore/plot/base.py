"""Shared parts of :mod:`matchcore.plot`: the CJK font fallback, palettes and axes helpers."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import MatchcoreWarning

__all__ = [
    "CJK_FONTS",
    "LINE_COLOUR",
    "NEED_STYLES",
    "PACKAGED_CJK_FONT",
    "REASON_COLOURS",
    "RESOURCE_STYLE",
    "STATUS_COLOURS",
    "WEAK_COLOUR",
    "as_strings",
    "capped_sizes",
    "find_cjk_font",
    "legend_line",
    "map_handles",
    "new_axes",
    "none_to",
    "palette",
    "percent_axis",
    "save_png",
    "setup_axes_text",
    "status_handles",
    "use_cjk",
    "xy_labels",
]

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ..result import MatchResult


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
#: The pip-installable CJK font of the ``plot`` extra: Noto Sans CJK (SIL OFL 1.1),
#: shipped by the ``manimgx-fonts-cjk`` package as one collection file.
PACKAGED_CJK_FONT = "manimgx_fonts_cjk"


def _packaged_font_files() -> list[str]:
    """The font files of the packaged CJK font, if that package is installed."""
    import importlib.util

    spec = importlib.util.find_spec(PACKAGED_CJK_FONT)
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(next(iter(spec.submodule_search_locations)))
    return sorted(str(f) for f in folder.iterdir() if f.suffix.lower() in {".ttc", ".otf", ".ttf"})


def _registered(names: set[str]) -> str | None:
    return next((name for name in CJK_FONTS if name in names), None)


def _add_packaged_font(font_manager: Any, path: str) -> None:
    """Register the packaged font file, as a normal and a bold face.

    The file is a variable font whose default instance matplotlib reports as
    weight 100; without these entries every normal or bold text would log
    "findfont: Failed to find font weight ..." (the glyphs drawn are the same).
    """
    from dataclasses import replace

    font_manager.fontManager.addfont(path)
    entries = [f for f in font_manager.fontManager.ttflist if f.fname == path]
    font_manager.fontManager.ttflist = [
        f for f in font_manager.fontManager.ttflist if f.fname != path
    ] + [replace(f, weight=w) for f in entries for w in (400, 700)]
    # addfont has just emptied matplotlib's font-lookup cache, and nothing was looked up since.


def find_cjk_font() -> str | None:
    """The family name of a CJK font that matplotlib can use, or None.

    Looks in matplotlib's font list first, then among the system's font files
    (which finds a font installed after matplotlib built its cache), then
    registers the font of the ``plot`` extra (Noto Sans CJK from the
    ``manimgx-fonts-cjk`` package, so a fresh machine needs no system font).

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

    found = _registered({f.name for f in font_manager.fontManager.ttflist})
    if found is not None:
        return found
    for path in font_manager.findSystemFonts():
        if not _CJK_FILES.search(path):
            continue
        try:
            font_manager.fontManager.addfont(path)
        except Exception:  # an unreadable font file is simply skipped
            continue
    found = _registered({f.name for f in font_manager.fontManager.ttflist})
    if found is not None:
        return found
    for path in _packaged_font_files():
        try:
            _add_packaged_font(font_manager, path)
        except Exception:  # an unreadable font file is simply skipped
            continue
    return _registered({f.name for f in font_manager.fontManager.ttflist})


def _user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside matchcore."""
    import inspect

    package = str(Path(__file__).resolve().parent.parent)
    here = inspect.currentframe()
    frame = here.f_back if here is not None else None
    level = 1
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(package):
        frame = frame.f_back
        level += 1
    return level


def setup_axes_text(texts: Iterable[Any] = ()) -> Any:
    """Import pyplot, look for a CJK font once, warn once if Chinese text will lack one."""
    import matplotlib.pyplot as plt

    if "font" not in _STATE:
        _STATE["font"] = find_cjk_font()
    if (
        _STATE["font"] is None
        and not _STATE.get("warned")
        and any(isinstance(t, str) and _CJK_TEXT.search(t) for t in texts)
    ):
        _STATE["warned"] = True
        warnings.warn(
            "no CJK font found, so Chinese names will show as empty boxes; "
            "`pip install 'matchcore[plot]'` installs one (Noto Sans CJK), "
            "then restart Python",
            MatchcoreWarning,
            stacklevel=_user_stacklevel(),
        )
    return plt


def use_cjk(*artists: Any) -> None:
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


def new_axes(ax: Axes | None, size: tuple[float, float] = (8.0, 6.5)) -> Axes:
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def palette(labels: Sequence[str]) -> dict[str, Any]:
    import matplotlib as mpl

    cmap = mpl.colormaps["tab10" if len(labels) <= 10 else "tab20"]
    return {lab: cmap(k % cmap.N) for k, lab in enumerate(labels)}


def as_strings(values: Iterable[Any]) -> list[str]:
    return [str(v) for v in values if v is not None and not (isinstance(v, float) and np.isnan(v))]


# --------------------------------------------------------------------------- maps
def xy_labels(result: MatchResult) -> tuple[str, str]:
    if result.district.origin is not None:
        lat0, lon0 = result.district.origin
        return (f"east of {lon0:.4f}°E (m)", f"north of {lat0:.4f}°N (m)")
    return ("x (m)", "y (m)")


#: How a need is drawn on a map by its service: served, partly served, unmet.
#: Unmet needs are the largest, brightest and drawn on top: what a dispatcher looks for.
NEED_STYLES: dict[str, dict[str, Any]] = {
    "served": {"color": "#7fb77e", "edgecolor": "#3d7a3c", "size": 14.0, "zorder": 3,
               "label": "need, served"},
    "partly": {"color": "#f5a623", "edgecolor": "#9a5f00", "size": 30.0, "zorder": 4,
               "label": "need, partly served"},
    "unmet": {"color": "#d7191c", "edgecolor": "#67000d", "size": 46.0, "zorder": 5,
              "label": "need, unmet"},
}
#: Resources on the status map: small neutral squares.
RESOURCE_STYLE: dict[str, Any] = {"color": "#d9d9d9", "edgecolor": "#525252"}
#: Assignment lines on the status map.
LINE_COLOUR = "#9e9e9e"
#: The community with the lowest coverage.
WEAK_COLOUR = "#b2182b"


def capped_sizes(values: Any, base: float, top: float) -> Any:
    """Marker areas that grow with the square root of ``values``, at most ``top``.

    A fund of 5,000 units must not dwarf a volunteer's single hour.
    """
    v = np.sqrt(np.maximum(np.asarray(values, dtype=float), 1.0))
    return np.minimum(base * v, top)


def _marker(label: str, *, size: float, **style: Any) -> Any:
    from matplotlib.lines import Line2D

    return Line2D([], [], ls="", markersize=float(np.sqrt(size)), label=label, **style)


def status_handles() -> list[Any]:
    """Legend entries of a map by service, drawn exactly like the map's markers."""
    from matplotlib.lines import Line2D

    handles = [
        _marker(st["label"], size=st["size"], marker="o", markerfacecolor=st["color"],
                markeredgecolor=st["edgecolor"], markeredgewidth=0.6)
        for st in NEED_STYLES.values()
    ]
    handles.append(_marker("resource", size=16.0, marker="s",
                           markerfacecolor=RESOURCE_STYLE["color"],
                           markeredgecolor=RESOURCE_STYLE["edgecolor"], markeredgewidth=0.6))
    handles.append(Line2D([], [], color=LINE_COLOUR, lw=1.0, alpha=0.6, label="assignment"))
    return handles


def map_handles(
    shown: Sequence[str], colours: dict[str, Any]
) -> tuple[list[Any], list[Any], list[str]]:
    """Legend entries of a map by category: one per category shown, one per kind of symbol.

    Returns the category handles, the symbol handles and the symbols' labels
    (the unmet symbol is a tuple, a hollow circle under a cross, as drawn).
    """
    from matplotlib.lines import Line2D

    cat_handles = [
        Line2D([], [], marker="o", ls="", color=colours[c], markeredgecolor="black", label=c)
        for c in shown
    ]
    grey = "#888888"
    unmet = (
        Line2D([], [], marker="o", ls="", markerfacecolor="white", markeredgecolor=grey,
               markeredgewidth=1.4, markersize=7),
        Line2D([], [], marker="x", ls="", color=grey, markersize=5),
    )
    kind_handles = [
        Line2D([], [], marker="o", ls="", color=grey, markeredgecolor="black",
               label="need, fully served"),
        Line2D([], [], marker="o", ls="", color=grey, alpha=0.45, markeredgecolor="black",
               label="need, partly served"),
        unmet,
        Line2D([], [], marker="s", ls="", color=grey, markeredgecolor="black",
               label="resource (size: capacity, capped)"),
        Line2D([], [], color=grey, lw=2, label="assignment (width: units)"),
    ]
    labels = ["need, fully served", "need, partly served", "need, unmet",
              "resource (size: capacity, capped)", "assignment (width: units)"]
    return cat_handles, kind_handles, labels


def none_to(col: pd.Series | None, n: int) -> list[Any]:
    if col is None:
        return [None] * n
    return [None if pd.isna(v) else str(v) for v in col.to_numpy(dtype=object)]




def percent_axis(axis: Any) -> None:
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(1.0, decimals=0))



def legend_line(colour: str, style: str, label: str) -> Any:
    from matplotlib.lines import Line2D

    return Line2D([], [], color=colour, ls=style, lw=1.2, label=label)


def save_png(fig: Any, path: Path, dpi: int) -> None:
    """Save a figure as PNG atomically (see :func:`matchcore.io.atomic_file`)."""
    from ..io import atomic_file

    with warnings.catch_warnings():
        # Without a CJK font, matplotlib warns once per missing glyph.
        warnings.filterwarnings("ignore", message="Glyph .* missing")
        with atomic_file(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
