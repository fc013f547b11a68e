"""Pictures of a round: maps (:mod:`.maps`), charts (:mod:`.charts`), a shared base (:mod:`.base`).

Every function draws on a :class:`matplotlib.axes.Axes` (a new figure when
``ax`` is None) and returns it, so figures compose and can be restyled.
matplotlib is imported here only, when a plot is drawn; ``import matchcore``
never imports it.

Chinese names (communities, providers) need a CJK font. The ``plot`` extra
installs one with pip (Noto Sans CJK, SIL OFL, from ``manimgx-fonts-cjk``); the
first plot registers it with matplotlib, or finds an installed one (Source Han
Sans, WenQuanYi, SimHei, Microsoft YaHei, PingFang, ...), and every plot appends
it to the font families of the texts it draws, as a *fallback*: Latin text keeps its font and
only the missing glyphs come from the CJK font. matplotlib's global
``rcParams`` are left untouched. Without a CJK font, a
:class:`~matchcore.MatchcoreWarning` says so, once per process, and the names
show as boxes.
"""

from __future__ import annotations

from .base import find_cjk_font
from .charts import coverage_by_community, frontier, score_components, unmet_by_reason
from .maps import community_maps, district_map, status_map

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
