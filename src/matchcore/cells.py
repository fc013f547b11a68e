"""The rules for the cells of a list: text, list cells, dates, numbers; the column parser.

:mod:`matchcore.schema` applies them to every column of the three lists (and
re-exports :class:`Column`, :class:`TableFailures`, :func:`show_value` and
:func:`parse_column`); they live here so that each rule is written once and
read in one place. Every rule refuses what it cannot read exactly rather than
guessing.
"""

from __future__ import annotations

import ast
import datetime as _dt
import inspect
import math
import numbers
import re
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import MAX_LISTED_FAILURES, InputError, MatchcoreWarning

__all__ = [
    "DEFAULT_TIMEZONE",
    "FLOAT_EXACT",
    "INVISIBLE",
    "LIST_SEPARATORS",
    "RELATIVE_WORDS",
    "Column",
    "ParseOptions",
    "TableFailures",
    "blank_rows",
    "clean_text",
    "ids_for_messages",
    "is_all_text",
    "is_missing",
    "parse_column",
    "parse_id",
    "parse_stamp",
    "show_header",
    "show_value",
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
    if text.isascii():  # no invisible character, and NFKC leaves ASCII as it is
        return text.strip(), False
    stripped = _INVISIBLE_RE.sub("", text)
    return unicodedata.normalize("NFKC", stripped).strip(), len(stripped) != len(text)


#: Whitespace (:meth:`str.strip`'s, ``str.isspace``) at either end of a value
#: of a ``"\x00"``-joined list.
_EDGE_SPACE = re.compile(r"(?:\A|\x00)\s|\s(?:\x00|\Z)")
_ANY_SPACE = re.compile(r"\s")


def _plain(values: list[Any]) -> bool:
    """Whether every value is a str that :func:`clean_text` and ``strip()`` leave as it is.

    True when none holds an invisible character or whitespace at either end
    and each is NFKC-normalised already: one check over the joined values
    instead of a call per value (10^5 distinct ids or names: 0.1-0.2 s a
    column). ``"\x00"`` joins them: a stable code point (nothing composes or
    reorders across it, nothing normalises to it), so the joined text is
    normalised exactly when every value is; a ``"\x00"`` inside a value can
    only make the answer False (the caller then cleans value by value).
    """
    try:
        joined = "\x00".join(values)
    except TypeError:  # not all str
        return False
    if not joined.isascii() and (_INVISIBLE_RE.search(joined) is not None
                                 or not unicodedata.is_normalized("NFKC", joined)):
        return False
    # Most id and name columns hold no whitespace at all: one class scan decides.
    return _ANY_SPACE.search(joined) is None or _EDGE_SPACE.search(joined) is None


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
    return "", ts.as_unit("ns").to_datetime64()


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
    >>> expected, stamp = parse_stamp("2025-05-03T09:00+00:00")
    >>> expected, str(stamp)
    ('', '2025-05-03T17:00:00.000000000')
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


# ---------------------------------------------------------------------------
# columns: their rules, the failures of a table, the parser of one column


#: File line of the first data row, or of every row (CSV cells may span lines).
LineOffset = int | Sequence[int] | None


Kind = Literal["id", "str", "int", "float", "datetime", "list"]


@dataclass(frozen=True)
class Column:
    """One column of a list: its parser and its constraints.

    ``clean`` columns (ids, categories, places, kinds, list items) are
    NFKC-normalised and stripped of invisible characters
    (:func:`matchcore.cells.clean_text`); free text (``description``,
    ``provider``) is kept as written, only trimmed.
    """

    name: str
    kind: Kind
    required: bool = False
    default: Any = None
    low: float | None = None
    high: float | None = None
    expected: str = ""
    clean: bool = False


_ENTITY = {"needs": "need", "resources": "resource", "edges": "edge"}


#: Largest magnitude read exactly from a number (float) cell; text and integer
#: cells are exact up to the int64 limit (2**63 - 1).
FLOAT_EXACT = 2**53


#: The time zone in which naive times are read, unless ``timezone=`` says otherwise.
DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class ParseOptions:
    """How the cells of a list are read (see :func:`validate_needs`).

    ``dayfirst``: how ``05/03/2025`` reads (None: such a date is an error
    unless a part above 12 tells); ``timezone``: where naive times are local
    times, and aware ones are converted to.
    """

    dayfirst: bool | None = None
    timezone: str = DEFAULT_TIMEZONE

    @classmethod
    def checked(cls, dayfirst: Any = None, timezone: Any = DEFAULT_TIMEZONE) -> ParseOptions:
        """The options, checked; an :class:`InputError` names a bad one."""
        if dayfirst is not None and not isinstance(dayfirst, (bool, np.bool_)):
            raise InputError(f"`dayfirst` must be True, False or None; got {dayfirst!r}")
        ok = isinstance(timezone, str) and bool(timezone.strip())
        if ok:
            try:
                pd.Timestamp("2000-01-01", tz=timezone)
            except Exception:  # pytz / zoneinfo raise their own classes
                ok = False
        if not ok:
            raise InputError(
                "`timezone` must be an IANA time zone name such as 'Asia/Shanghai' or 'UTC'; "
                f"got {timezone!r}"
            )
        return cls(None if dayfirst is None else bool(dayfirst), timezone)


def show_header(header: Any, canonical: str) -> str:
    """How a column is named in messages: the user's header, and the canonical name."""
    text = str(header).strip()
    return f"`{canonical}`" if text == canonical else f"`{text}` (`{canonical}`)"


class TableFailures:
    """Collects the problems of one table; raises them all at once.

    Parameters
    ----------
    table, ids, line_offset, source
        The table's name, the id of every row (for messages), the file line of
        the first row or of every row, and the file's name.
    headers : mapping, optional
        ``{canonical column: the user's header}``, so that messages and the
        ``header`` column of ``failures`` name the header as written.
    rows : sequence of int, optional
        The user's row number of every row (when empty rows were skipped).
    """

    def __init__(
        self,
        table: str,
        ids: list[str | None],
        line_offset: LineOffset,
        source: str,
        headers: Mapping[str, Any] | None = None,
        rows: Sequence[int] | np.ndarray | None = None,
    ):
        self.table = table
        self.ids = ids
        self.line_offset = line_offset
        self.source = source
        self.headers = dict(headers or {})
        self.row_numbers = rows
        self.rows: list[dict[str, Any]] = []
        self.texts: list[str | None] = []
        #: How many cells had invisible characters removed (reported once).
        self.cleaned = 0

    def add(
        self, pos: Any, column: str, expected: str, found: Any, *, header: Any = None,
        text: str | None = None,
    ) -> None:
        """Record one problem: ``pos`` is the row's position (None for the table)."""
        pos = None if pos is None else int(pos)
        if pos is None:
            row = None
        elif self.row_numbers is not None:
            row = int(self.row_numbers[pos])
        else:
            row = pos + 1
        if pos is None or self.line_offset is None:
            line = None
        elif isinstance(self.line_offset, (int, np.integer)):
            line = pos + int(self.line_offset)
        else:
            line = int(self.line_offset[pos])
        ident = None if pos is None else self.ids[pos]
        if header is None:
            header = self.headers.get(column)
        self.rows.append(
            {
                "table": self.table,
                "row": row,
                "line": line,
                "id": ident,
                "column": column,
                "expected": expected,
                "found": show_value(found),
                "header": None if header is None else str(header),
                "_text": text,
            }
        )

    def _place(self, rec: dict[str, Any]) -> str:
        if rec["row"] is None:
            return f"({self.table})"
        who = _ENTITY.get(self.table, "row")
        name = f"{who} {rec['id']!r} " if rec["id"] is not None else f"{who} without id "
        where = f"row {rec['row']} of {self.table}"
        if rec["line"] is not None:
            where += f", line {rec['line']} of {self.source}"
        return f"{name}({where})"

    def _name(self, rec: dict[str, Any]) -> str:
        header = rec["header"]
        return f"`{rec['column']}`" if header is None else show_header(header, rec["column"])

    def raise_if_any(self) -> None:
        if not self.rows:
            return
        lines = []
        for rec in self.rows[:MAX_LISTED_FAILURES]:
            if rec["_text"]:
                lines.append(f"  - {rec['_text']}")
            elif rec["found"] == "<missing column>":
                lines.append(
                    f"  - `{rec['column']}` is a required column of {self.table}; "
                    f"expected {rec['expected']}"
                )
            else:
                lines.append(
                    f"  - {self._name(rec)} must be {rec['expected']}; got {rec['found']} "
                    f"for {self._place(rec)}"
                )
        more = len(self.rows) - MAX_LISTED_FAILURES
        if more > 0:
            lines.append(f"  ... and {more} more (see the `failures` attribute)")
        head = f"{len(self.rows)} problem{'s' if len(self.rows) > 1 else ''} in {self.table}"
        if self.source != self.table:
            head += f" ({self.source})"
        frame = pd.DataFrame(self.rows).drop(columns="_text")
        raise InputError(head + ":\n" + "\n".join(lines), frame)


def show_value(value: Any) -> str:
    """How a found value is shown in a message: a repr, or "a missing value"."""
    if isinstance(value, str):
        return repr(value) if value != "<missing column>" else value
    if value is None or value is pd.NA or value is pd.NaT:
        return "a missing value"
    if isinstance(value, float) and math.isnan(value):
        return "a missing value"
    return repr(value.item() if isinstance(value, np.generic) else value)


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return True
    if isinstance(value, (list, tuple, np.ndarray)):
        return False
    return isinstance(value, str) and value.strip() == ""


def _parse_int(value: Any) -> tuple[bool, int]:
    if isinstance(value, (bool, np.bool_)):
        return False, 0
    if isinstance(value, numbers.Integral):
        return True, int(value)
    if isinstance(value, numbers.Real):
        f = float(value)
        # Beyond 2**53 a float no longer holds every integer: it was rounded already.
        if math.isfinite(f) and f.is_integer() and abs(f) <= FLOAT_EXACT:
            return True, int(f)
        return False, 0
    if isinstance(value, str):
        text = value.strip()
        try:
            return True, int(text)
        except ValueError:
            try:
                f = float(text)
            except ValueError:
                return False, 0
            if (math.isfinite(f) and f.is_integer() and "e" not in text.lower()
                    and abs(f) <= FLOAT_EXACT):
                return True, int(f)
    return False, 0


def _parse_float(value: Any) -> tuple[bool, float]:
    if isinstance(value, (bool, np.bool_)):
        return False, math.nan
    if isinstance(value, numbers.Real):
        f = float(value)
    elif isinstance(value, str):
        try:
            f = float(value.strip())
        except ValueError:
            return False, math.nan
    else:
        return False, math.nan
    return math.isfinite(f), f


def parse_id(value: Any) -> tuple[bool, str]:
    if isinstance(value, (bool, np.bool_)):
        return False, ""
    if isinstance(value, numbers.Integral):
        return True, str(int(value))
    if isinstance(value, numbers.Real):
        f = float(value)
        if math.isfinite(f) and f.is_integer() and abs(f) <= FLOAT_EXACT:
            return True, str(int(f))
        return False, ""
    text = clean_text(str(value))[0]
    return bool(text), text


def _list_text(value: Any) -> str:
    """A list cell in its validated form: the items of :func:`split_list` joined by ``;``."""
    return ";".join(split_list(value))


def _text_cell(value: str, col: Column) -> tuple[str, bool]:
    """A text cell of a str / id / list column as validated, and whether it was cleaned."""
    if col.kind == "list":
        had = any(ch in value for ch in INVISIBLE)
        return _list_text(value), had
    if col.clean:
        return clean_text(value)
    return value.strip(), False


def blank_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose every cell is missing or blank text (positions)."""
    n = len(frame)
    if n == 0 or frame.shape[1] == 0:
        return np.zeros(0, dtype=np.int64)
    candidate = np.ones(n, dtype=bool)
    for k in range(frame.shape[1]):
        idx = np.flatnonzero(candidate)
        if not len(idx):
            break
        col = frame.iloc[idx, k]
        miss = col.isna().to_numpy()
        if (col.dtype == object or pd.api.types.is_string_dtype(col.dtype)) and not miss.all():
            if is_all_text(col) is not None:
                # Whole-column strip (Python's whitespace, as is_missing): ids rarely repeat.
                miss = miss | col.str.strip().eq("").fillna(False).to_numpy(dtype=bool)
                candidate[idx[~miss]] = False
                continue
            codes, uniques = pd.factorize(col, use_na_sentinel=True)
            ublank = np.array([is_missing(u) for u in np.asarray(uniques, dtype=object).tolist()]
                              + [True], dtype=bool)
            miss = ublank[codes]
        candidate[idx[~miss]] = False
    return np.flatnonzero(candidate)


def ids_for_messages(series: pd.Series) -> list[str | None]:
    """Every row's id as messages name it (cleaned; None when missing)."""
    if is_all_text(series) is None:
        return [None if is_missing(v) else parse_id(v)[1] or None for v in series]
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    values = np.asarray(uniques, dtype=object).tolist()
    if _plain(values):  # each its own clean text
        shown = [v or None for v in values]
    else:
        shown = [clean_text(u)[0] or None for u in values]
    return [shown[c] if c >= 0 else None for c in codes.tolist()]


def _out_of_range(col: Column, vals: np.ndarray) -> np.ndarray:
    """Where ``vals`` lie outside the column's ``[low, high]``; NaN is never out of range."""
    out = np.zeros(len(vals), dtype=bool)
    with np.errstate(invalid="ignore"):
        if col.low is not None:
            out |= vals < col.low
        if col.high is not None:
            out |= vals > col.high
    return out


def parse_column(
    series: pd.Series,
    col: Column,
    failures: TableFailures,
    table: str,
    options: ParseOptions | None = None,
) -> pd.Series:
    """Parse one column by its rule; every failing cell goes to ``failures``.

    ``options`` (:class:`ParseOptions`) says how dates read; the defaults
    when None.
    """
    # Typed columns (from Parquet, Excel or a user's frame) and all-text columns (CSV
    # cells) take vectorised paths; mixed object columns are parsed cell by cell. No
    # path coerces silently: every cell that fails its rule is reported.
    options = options or ParseOptions()
    dtype = series.dtype
    if (
        col.kind == "int"
        and pd.api.types.is_integer_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
    ):
        # Integers stay integers: through float64, 2**53 + 1 would become 2**53.
        missing = series.isna().to_numpy()
        if pd.api.types.is_unsigned_integer_dtype(dtype):
            raw = series.to_numpy(dtype=np.uint64, na_value=0)
            bad = raw >= np.uint64(2**63)  # beyond int64
            ints = np.where(bad, np.uint64(0), raw).astype(np.int64)
        else:
            ints = series.to_numpy(dtype=np.int64, na_value=0).copy()
            bad = np.zeros(len(ints), dtype=bool)
        ints[missing] = col.default
        bad |= _out_of_range(col, ints)
        for pos in np.flatnonzero(bad).tolist():
            failures.add(int(pos), col.name, col.expected, series.iat[pos])
        ints[bad] = col.default
        return pd.Series(ints, index=series.index, name=col.name)
    if (
        col.kind == "int"
        and pd.api.types.is_float_dtype(dtype)
    ):
        vals = series.to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(vals)
        filled = np.where(missing, col.default, vals)
        # Beyond 2**53 a float has been rounded already; beyond int64 the cast would wrap.
        bad = ~np.isfinite(filled) | (filled != np.round(filled)) | (np.abs(filled) > FLOAT_EXACT)
        bad |= _out_of_range(col, filled)
        for pos in np.flatnonzero(bad).tolist():
            failures.add(int(pos), col.name, col.expected, series.iat[pos])
        ints = np.where(bad, col.default, filled).astype(np.int64)
        return pd.Series(ints, index=series.index, name=col.name)
    if (
        col.kind == "float"
        and pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
    ):
        vals = series.to_numpy(dtype=float, na_value=np.nan).copy()
        present = ~np.isnan(vals)
        bad = present & (~np.isfinite(vals) | _out_of_range(col, vals))
        for pos in np.flatnonzero(bad).tolist():
            failures.add(int(pos), col.name, col.expected, series.iat[pos])
        vals[bad] = np.nan
        return pd.Series(vals, index=series.index, name=col.name)
    if col.kind == "datetime" and pd.api.types.is_datetime64_any_dtype(dtype):
        out = series
        if getattr(dtype, "tz", None) is not None:
            out = out.dt.tz_convert(options.timezone).dt.tz_localize(None)
        # Beyond datetime64[ns] (9999-12-31 for "open-ended") the cast would wrap silently.
        far = (out.notna() & ((out < pd.Timestamp.min) | (out > pd.Timestamp.max))).to_numpy()
        for pos in np.flatnonzero(far).tolist():
            failures.add(pos, col.name, DATE_RANGE, series.iat[pos])
        out = out.where(~far)
        return pd.Series(out.to_numpy(dtype="datetime64[ns]"), index=series.index, name=col.name)
    if is_all_text(series) is not None:
        return _parse_text(series, col, failures, options)
    values = series.to_numpy(dtype=object)
    n = len(values)
    if col.kind in ("id", "str", "list"):
        parsed: list[Any] = [None] * n
        is_id = col.kind == "id"
        for pos, v in enumerate(values):
            if type(v) is str:
                text, had = _text_cell(v, col)
                failures.cleaned += had
                ok = bool(text)
            elif col.kind == "list" and isinstance(v, (list, tuple, np.ndarray)):
                text = _list_text(v)
                ok = bool(text)
            elif is_missing(v):
                ok, text = False, ""
            elif is_id:
                ok, text = parse_id(v)
            else:
                text = _text_cell(str(v), col)[0]
                ok = bool(text)
            if ok:
                parsed[pos] = text
            elif is_id or col.required:
                failures.add(pos, col.name, col.expected, v)
        return pd.Series(parsed, index=series.index, dtype=object, name=col.name)
    if col.kind == "int":
        ints = np.empty(n, dtype=np.int64)
        for pos, v in enumerate(values):
            if is_missing(v):
                ints[pos] = col.default
                continue
            ok, p = _parse_int(v)
            if ok and not -(2**63) <= p < 2**63:
                ok = False
            if ok and col.low is not None and p < col.low:
                ok = False
            if ok and col.high is not None and p > col.high:
                ok = False
            if not ok:
                failures.add(pos, col.name, col.expected, v)
                p = col.default
            ints[pos] = p
        return pd.Series(ints, index=series.index, name=col.name)
    if col.kind == "float":
        floats = np.full(n, np.nan)
        for pos, v in enumerate(values):
            if is_missing(v):
                continue
            ok, f = _parse_float(v)
            if ok and col.low is not None and f < col.low:
                ok = False
            if ok and col.high is not None and f > col.high:
                ok = False
            if not ok:
                failures.add(pos, col.name, col.expected, v)
                continue
            floats[pos] = f
        return pd.Series(floats, index=series.index, name=col.name)
    # datetime from objects
    stamps = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    for pos, v in enumerate(values):
        if is_missing(v):
            continue
        expected, stamp = _stamp(v, col, options)
        if expected:
            failures.add(pos, col.name, expected, v)
        else:
            stamps[pos] = stamp
    return pd.Series(stamps, index=series.index, name=col.name)


def _stamp(value: Any, col: Column, options: ParseOptions) -> tuple[str, np.datetime64]:
    """A present cell as a datetime64[ns]; the expectation it fails ("" when it parses)."""
    return parse_stamp(value, dayfirst=options.dayfirst, timezone=options.timezone,
                       expected=col.expected)


def is_all_text(series: pd.Series) -> pd.Series | None:
    """The column itself when every present cell is a str (CSV columns, string dtypes)."""
    if pd.api.types.infer_dtype(series, skipna=True) not in ("string", "empty"):
        return None
    return series


def _strip(series: pd.Series, col: Column | None = None) -> tuple[np.ndarray, int]:
    """Every present cell as validated (:func:`_text_cell`), ``""`` where missing.

    Treats each distinct value once: categories, communities and grids repeat.
    Also returns how many cells had invisible characters removed.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    spec = col or Column("", "str")
    values = np.asarray(uniques, dtype=object).tolist()
    if spec.kind in ("id", "str") and _plain(values):  # each value is as validated
        return np.array([*values, ""], dtype=object)[codes], 0
    done = [_text_cell(str(u), spec) for u in values]
    stripped = np.array([t for t, _ in done] + [""], dtype=object)
    had = np.array([h for _, h in done] + [False], dtype=bool)
    return stripped[codes], int(had[codes].sum())


def _per_distinct(cells: np.ndarray, parse: Any) -> tuple[np.ndarray, np.ndarray]:
    """``parse(cell) -> (ok, value)`` run once per distinct cell, spread to every cell."""
    codes, uniques = pd.factorize(cells)
    results = [parse(u) for u in uniques]
    ok = np.array([r[0] for r in results], dtype=bool)
    vals = np.array([r[1] for r in results], dtype=object)
    return ok[codes], vals[codes]


def _parse_text(
    series: pd.Series, col: Column, failures: TableFailures, options: ParseOptions
) -> pd.Series:
    """:func:`parse_column` of a column whose present cells are all str.

    The same rules as the cell-by-cell parsers (Python's ``str.strip``,
    ``int`` and ``float``), applied to the whole column, or once per distinct
    value; failures are reported row by row with the cell as given.
    """
    n = len(series)
    if col.kind in ("id", "str", "list"):
        stripped, cleaned = _strip(series, col)
        failures.cleaned += cleaned
    else:
        stripped, _ = _strip(series)
    blank = stripped == ""
    filled = np.flatnonzero(~blank)
    if col.kind in ("id", "str", "list"):
        if col.kind == "id" or col.required:
            for pos in np.flatnonzero(blank).tolist():
                failures.add(pos, col.name, col.expected, series.iat[pos])
        parsed = stripped.copy()
        parsed[blank] = None
        return pd.Series(parsed, index=series.index, dtype=object, name=col.name)
    bad = np.zeros(n, dtype=bool)
    if col.kind == "int":
        ints = np.full(n, col.default, dtype=np.int64)
        ok, vals = _per_distinct(stripped[filled], _parse_int)
        big = np.array([not -(2**63) <= v < 2**63 for v in vals[ok]], dtype=bool)
        ok[np.flatnonzero(ok)[big]] = False
        nums = np.where(ok, vals, 0).astype(np.int64)
        ok &= ~_out_of_range(col, nums)
        ints[filled[ok]] = nums[ok]
        bad[filled[~ok]] = True
        out: np.ndarray = ints
    elif col.kind == "float":
        floats = np.full(n, np.nan)
        try:
            nums = stripped[filled].astype(float)  # Python's float() on each cell
        except (ValueError, TypeError):
            okp, vals = _per_distinct(stripped[filled], _parse_float)
            nums = np.where(okp, vals, np.nan).astype(float)
        ok = np.isfinite(nums) & ~_out_of_range(col, nums)
        floats[filled[ok]] = nums[ok]
        bad[filled[~ok]] = True
        out = floats
    else:
        stamps = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        codes, uniques = pd.factorize(series.iloc[filled].to_numpy(dtype=object))
        results = [_stamp(u, col, options) for u in uniques]
        expected = np.array([r[0] for r in results], dtype=object)[codes]
        good = expected == ""
        if good.any():
            stamps[filled[good]] = np.array([r[1] for r in results], dtype="datetime64[ns]")[
                codes[good]
            ]
        for k in np.flatnonzero(~good).tolist():
            failures.add(int(filled[k]), col.name, expected[k], series.iat[int(filled[k])])
        return pd.Series(stamps, index=series.index, name=col.name)
    for pos in np.flatnonzero(bad).tolist():
        failures.add(pos, col.name, col.expected, series.iat[pos])
    return pd.Series(out, index=series.index, name=col.name)
