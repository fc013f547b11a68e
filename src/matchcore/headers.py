"""How a header is compared with the known ones: its key, its bracketed part, near misses.

Used by :mod:`matchcore.schema` (which headers name which column) and
:mod:`matchcore.io` (which row of a sheet is the header row). Pure text
functions; the known headers themselves are :data:`matchcore.schema.ALIASES`
and the columns of the lists.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from .cells import INVISIBLE

__all__ = ["edit_distance", "header_key", "header_parts", "is_near"]

_INVISIBLE_RE = re.compile(f"[{INVISIBLE}]")
_GAPS_RE = re.compile(r"[\s_\-]+")
_BRACKET_RE = re.compile(r"^(.*?)\s*[(（\[【](.*?)[)）\]】]\s*$", re.S)


def header_key(header: Any) -> str:
    """A header as compared: NFKC, no invisibles, case-folded, without spaces, ``_`` or ``-``.

    Examples
    --------
    >>> header_key(" Need_ID\\ufeff")
    'needid'
    >>> header_key("需求 编号")
    '需求编号'
    """
    text = unicodedata.normalize("NFKC", _INVISIBLE_RE.sub("", str(header)))
    return _GAPS_RE.sub("", text.strip().casefold())


def header_parts(header: Any) -> tuple[str, ...]:
    """The keys a header may be known by: itself, and its two parts when it ends in brackets.

    ``"纬度 (lat)"`` may be known as ``纬度`` or as ``lat``; ``"服务半径（米）"`` as
    ``服务半径``.

    Examples
    --------
    >>> header_parts("纬度 (lat)")
    ('纬度(lat)', '纬度', 'lat')
    """
    text = unicodedata.normalize("NFKC", _INVISIBLE_RE.sub("", str(header))).strip()
    whole = header_key(text)
    m = _BRACKET_RE.match(text)
    if not m:
        return (whole,)
    return tuple(k for k in (whole, header_key(m[1]), header_key(m[2])) if k)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions).

    Examples
    --------
    >>> edit_distance("优先极", "优先级")
    1
    """
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def is_near(key: str, form: str, words: tuple[str, ...] = ()) -> bool:
    """Whether an unknown header's key is a near miss of a known header's key.

    The rule: one is part of the other (``数量`` of ``需求数量``, ``lat`` of
    ``latitude``; at least two characters), or the unknown is one ``words``
    of the known (``id`` of ``need_id``), or they are one edit apart (two for
    Latin words of seven letters or more; at least two characters, three for
    Latin).

    Examples
    --------
    >>> is_near("需求编码", "需求编号"), is_near("数量", "需求数量"), is_near("备注", "描述")
    (True, True, False)
    """
    if not key or not form or key == form:
        return key == form and bool(key)
    latin = key.isascii() and form.isascii()
    shortest = min(len(key), len(form))
    if key in words:
        return True
    if shortest >= (3 if latin else 2) and (key in form or form in key):
        return True
    if shortest < (3 if latin else 2):
        return False
    limit = 2 if latin and shortest >= 7 else 1
    return abs(len(key) - len(form)) <= limit and edit_distance(key, form) <= limit
