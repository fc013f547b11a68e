"""The default category vocabulary: canonical names, Chinese names and synonyms.

It sits below :mod:`matchcore.schema` (which canonicalises the ``category``
cells of both lists) and :mod:`matchcore.taxonomy` (whose default taxonomy uses
it), so that validation never imports the model layer. A vocabulary is any
object with a ``category_map()`` method (:class:`Vocabulary`);
:class:`matchcore.Taxonomy` is one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Protocol

__all__ = [
    "CATEGORY_ALIASES",
    "DEFAULT_CATEGORIES",
    "Vocabulary",
    "category_key",
    "default_category_map",
]

#: The default categories of the three lists, with their Chinese names.
DEFAULT_CATEGORIES: dict[str, str] = {
    "elderly_care": "养老服务",
    "childcare": "托育服务",
    "repair": "维修服务",
    "cleaning": "保洁服务",
    "legal_aid": "法律援助",
    "medical": "医疗健康",
    "psychological_support": "心理支持",
    "education": "教育辅导",
    "employment": "就业服务",
    "culture_sport": "文体活动",
    "environment": "环境整治",
    "safety_patrol": "治安巡逻",
    "venue": "场地空间",
    "funding": "资金支持",
    "disability_support": "助残服务",
    "community_service": "综合服务",
}

#: Other words district staff write for the default categories (besides the
#: canonical value and its Chinese name of :data:`DEFAULT_CATEGORIES`). No word
#: names two categories; words that are skills rather than categories (陪诊,
#: 助餐, 护理) are deliberately not here.
CATEGORY_ALIASES: dict[str, tuple[str, ...]] = {
    "elderly_care": ("养老", "助老", "助老服务", "为老服务", "居家养老", "养老照护", "老年服务",
                     "敬老", "elderly", "eldercare", "elder_care"),
    "childcare": ("托育", "托幼", "育儿", "托管", "儿童照护", "幼儿看护", "child_care"),
    "repair": ("维修", "修理", "家电维修", "水电维修", "repairs"),
    "cleaning": ("保洁", "清洁", "家政", "家政服务", "clean"),
    "legal_aid": ("法律", "法援", "法律服务", "法律咨询", "legal", "legal_advice"),
    "medical": ("医疗", "健康", "医疗服务", "健康服务", "医疗卫生", "卫生健康", "义诊", "health",
                "healthcare", "medicine"),
    "psychological_support": ("心理", "心理咨询", "心理疏导", "心理健康", "心理服务",
                              "psychological", "mental_health", "counselling"),
    "education": ("教育", "辅导", "课业辅导", "学业辅导", "课后辅导", "tutoring"),
    "employment": ("就业", "就业创业", "职业介绍", "职业培训", "技能培训", "招聘", "jobs"),
    "culture_sport": ("文体", "文化", "体育", "文化活动", "体育健身", "文娱", "文体服务",
                      "culture", "sport", "sports"),
    "environment": ("环境", "环保", "环境卫生", "垃圾分类", "绿化", "人居环境"),
    "safety_patrol": ("治安", "巡逻", "平安巡逻", "安全巡查", "治安巡防", "safety", "patrol"),
    "venue": ("场地", "空间", "活动场地", "场所", "阵地", "space"),
    "funding": ("资金", "经费", "资助", "资金资助", "fund", "funds"),
    "disability_support": ("助残", "扶残", "残疾人服务", "为残服务", "disability"),
    "community_service": ("综合", "社区服务", "便民服务", "综合服务类", "community"),
}

_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_SEPARATORS = re.compile(r"[\s\-]+")


def category_key(text: str) -> str:
    """The form in which categories are compared: NFKC, no invisibles, case-folded.

    Spaces and hyphens count as underscores, so ``"Elderly Care"`` and
    ``"elderly-care"`` are ``elderly_care``.

    Examples
    --------
    >>> category_key(" Elderly Care\\u200b")
    'elderly_care'
    """
    text = unicodedata.normalize("NFKC", _INVISIBLE.sub("", text)).strip().casefold()
    return _SEPARATORS.sub("_", text)


class Vocabulary(Protocol):
    """What validation needs of a taxonomy: its categories under every name."""

    def category_map(self) -> Mapping[str, str]:
        """``{category_key(name): category}`` for every known name; empty when open."""
        ...


def default_category_map(categories: Iterable[str] | None = None) -> dict[str, str]:
    """The default vocabulary as ``{category_key(word): category}``.

    Parameters
    ----------
    categories : iterable of str, optional
        Keep only the words of these categories (a custom taxonomy's own);
        all default categories when None.

    Examples
    --------
    >>> default_category_map()["养老"]
    'elderly_care'
    >>> sorted(set(default_category_map(["repair"]).values()))
    ['repair']
    """
    wanted = set(DEFAULT_CATEGORIES) if categories is None else set(categories)
    out: dict[str, str] = {}
    for cat, chinese in DEFAULT_CATEGORIES.items():
        if cat not in wanted:
            continue
        for word in (cat, chinese, *CATEGORY_ALIASES.get(cat, ())):
            out[category_key(word)] = cat
    return out
