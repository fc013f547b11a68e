"""The rules for one cell of a list: text hygiene, list cells and dates.

:mod:`matchcore.schema` applies them to every column of the three lists; they
live here so that each rule is written once and read in one place. Every rule
refuses what it cannot read exactly rather than guessing.
"""

from __future__ import annotations

import ast
import datetime as _dt
import inspect
import math
import re
import unicodedata
import warnings
from typing import Any

import numpy as np
import pandas as pd

from .errors import MatchcoreWarning

__all__ = [
    "INVISIBLE",
    "LIST_SEPARATORS",
    "RELATIVE_WORDS",
    "clean_text",
    "parse_stamp",
    "split_list",
    "warn",
]

#: Characters removed from ids, categories and list items: zero-width space,
#: non-joiner and joiner, word joiner, byte-order mark.
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
_INVISIBLE_RE = re.compile(f"[{INVISIBLE}]")

#: What separates the items of a list cell (skills, partner communities).
#: Spaces do not: a skill may be two words.
LIST_SEPARATORS = (";", "；", "、", "，", ",", "|", "/", "\n", "\r")
_SPLIT_RE = re.compile(r"[;；、，,|/\r\n\u2028\u2029]")

#: Words that name a date relative to today; a list never means them.
RELATIVE_WORDS = (
    "now", "today", "tonight", "tomorrow", "yesterday",
    "现在", "今天", "今日", "今晚", "明天", "明日", "后天", "昨天", "昨日", "前天",
    "本周", "下周", "上周", "本月", "下月",
)
_RELATIVE_RE = re.compile("|".join(RELATIVE_WORDS), re.IGNORECASE)


def clean_text(text: str) -> tuple[str, bool]:
    """NFKC-normalise and strip a cell; drop invisible characters.

    Returns
    -------
    text : str
        The clean cell.
    had_invisible : bool
        Whether a character of :data:`INVISIBLE` was removed.

    Examples
    --------
    >>> clean_text("\\ufeffN2\\u200b ")
    ('N2', True)
    >>> clean_text("Ｎ１")
    ('N1', False)
    """
    stripped = _INVISIBLE_RE.sub("", text)
    return unicodedata.normalize("NFKC", stripped).strip(), len(stripped) != len(text)


def _is_blank(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def split_list(value: Any) -> tuple[str, ...]:
    """The items of a list cell (skills, partner communities), in order.

    One rule everywhere a list cell is read: a text cell is split on any of
    :data:`LIST_SEPARATORS` (``;`` ``；`` ``、`` ``，`` ``,`` ``|`` ``/`` and line
    breaks), every item is cleaned (:func:`clean_text`) and empty items are
    dropped. A list, tuple or numpy array (in a DataFrame) is a list of
    items, each split by the same rule; so is a cell that reads as a Python
    list (``"['护理', '陪诊']"``, a list written to CSV). A missing cell is
    the empty list.

    Examples
    --------
    >>> split_list("护理、陪诊；助餐")
    ('护理', '陪诊', '助餐')
    >>> split_list(["护理", "陪诊 "])
    ('护理', '陪诊')
    >>> split_list("['护理', '陪诊']")
    ('护理', '陪诊')
    >>> split_list(None)
    ()
    """
    if isinstance(value, (list, tuple, np.ndarray)):
        items = np.asarray(value, dtype=object).ravel().tolist() if isinstance(
            value, np.ndarray) else list(value)
        return tuple(w for item in items for w in split_list(item))
    if _is_blank(value):
        return ()
    text = value if isinstance(value, str) else str(value)
    if text.lstrip().startswith("[") and text.rstrip().endswith("]"):
        try:
            literal = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            literal = None
        if isinstance(literal, (list, tuple)):
            return split_list(literal)
    out = []
    for part in _SPLIT_RE.split(text):
        item = clean_text(part)[0]
        if item:
            out.append(item)
    return tuple(out)


# ---------------------------------------------------------------------------
# dates

_TIME_ONLY_RE = re.compile(r"^\d{1,2}\s*[:：]\s*\d{2}(\s*[:：]\s*\d{2})?(\s*[ap]\.?m\.?)?$", re.I)
_DMY_RE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(?!\d)(.*)$", re.S)
_YMD_RE = re.compile(r"^(\d{4})\s*[/.\-年]\s*(\d{1,2})\s*[/.\-月]\s*(\d{1,2})\s*[日号]?(?!\d)(.*)$",
                     re.S)
_COMPACT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})(?!\d)(.*)$", re.S)
_REST_RE = re.compile(r"^(?:[T\s]+\d{1,2}(?::\d{2}){0,2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?$")

DATE_FORMS = ("2025-05-03 09:00, 2025/5/3, 2025.05.03, 2025年5月3日, 20250503, "
              "2025-05-03T09:00+08:00")
_EXPECTED_FORM = f"a date and time written year first ({DATE_FORMS.split(', ')[0]}, ...)"
_RELATIVE = "an absolute date (relative words such as 'today', 'now', 明天 are not read)"
_TIME_ONLY = "a date as well as a time (a time alone has no date)"
_AMBIGUOUS = ("a date that reads one way: day/month/year or month/day/year? write it year "
              "first (2025-03-05) or pass dayfirst=True or dayfirst=False")
DATE_RANGE = "a date and time from 1677-09-22 to 2262-04-11 (leave the cell empty when open)"


def _local(ts: pd.Timestamp, timezone: str) -> tuple[str, np.datetime64]:
    if ts.tzinfo is not None:
        ts = ts.tz_convert(timezone).tz_localize(None)
    if not pd.Timestamp.min <= ts <= pd.Timestamp.max:
        return DATE_RANGE, np.datetime64("NaT", "ns")
    return "", ts.to_datetime64()


def parse_stamp(
    value: Any, *, dayfirst: bool | None = None, timezone: str = "Asia/Shanghai",
    expected: str = "a date and time",
) -> tuple[str, np.datetime64]:
    """A present cell as a naive local ``datetime64[ns]``, or why it is not one.

    The rule: a text cell is a date written year first (``2025-05-03 09:00``,
    ``2025/5/3``, ``2025.05.03``, ``2025年5月3日``, ``20250503``, ISO 8601 with
    ``T`` and an offset), or day/month/year when the order is plain (a part
    above 12) or ``dayfirst`` says it. Times alone, relative words (today,
    now, 明天, ...), two-digit years and any other form are refused. An
    aware time (``+08:00``, ``Z``, an aware Timestamp) is converted to
    ``timezone``; a naive one already is a local time there. The result is
    the naive local time, so every window of a round compares directly.

    Returns
    -------
    expected : str
        ``""`` when the cell parses, else what it should have been.
    stamp : numpy.datetime64
        The parsed time (NaT on failure).

    Examples
    --------
    >>> parse_stamp("2025-05-03T09:00+00:00")
    ('', numpy.datetime64('2025-05-03T17:00:00.000000000'))
    >>> parse_stamp("9:00")[0]
    'a date as well as a time (a time alone has no date)'
    """
    nat = np.datetime64("NaT", "ns")
    if isinstance(value, (bool, np.bool_, int, float, np.number)):
        return expected, nat
    if isinstance(value, _dt.time):
        return _TIME_ONLY, nat
    if not isinstance(value, str):
        try:
            ts = pd.Timestamp(value)
        except (ValueError, TypeError, OverflowError):
            return expected, nat
        if ts is pd.NaT:
            return expected, nat
        return _local(ts, timezone)
    text = value.strip()
    if _RELATIVE_RE.search(text):
        return _RELATIVE, nat
    if _TIME_ONLY_RE.match(text):
        return _TIME_ONLY, nat
    m = _DMY_RE.match(text)
    if m:
        a, b, year, rest = int(m[1]), int(m[2]), m[3], m[4]
        if dayfirst is None:
            if a <= 12 and b <= 12 and a != b:
                return _AMBIGUOUS, nat
            day_first = a > 12
        else:
            day_first = dayfirst
        day, month = (a, b) if day_first else (b, a)
        ymd: tuple[str, int, int, str] | None = (year, month, day, rest)
    else:
        m = _YMD_RE.match(text) or _COMPACT_RE.match(text)
        ymd = (m[1], int(m[2]), int(m[3]), m[4]) if m else None
    if ymd is None or not _REST_RE.match(ymd[3]):
        return (_EXPECTED_FORM if expected == "a date and time" else expected), nat
    year, month, day, rest = ymd
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return _EXPECTED_FORM, nat
    try:
        ts = pd.Timestamp(f"{year}-{month:02d}-{day:02d}{rest}")
    except (ValueError, TypeError, OverflowError):
        return DATE_RANGE if year < "1678" or year > "2261" else _EXPECTED_FORM, nat
    if ts is pd.NaT:
        return _EXPECTED_FORM, nat
    return _local(ts, timezone)


def warn(message: str) -> None:
    """A :class:`~matchcore.MatchcoreWarning` pointing at the caller's first line outside matchcore.

    Like ``stacklevel=2`` of a public function, however deep inside the
    package the warning is raised.
    """
    here = inspect.currentframe()
    level, frame = 2, here.f_back if here is not None else None
    package = __name__.rpartition(".")[0] + "."
    while frame is not None and frame.f_globals.get("__name__", "").startswith(package):
        level += 1
        frame = frame.f_back
    warnings.warn(message, MatchcoreWarning, stacklevel=level)
