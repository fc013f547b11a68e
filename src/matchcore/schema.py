"""The three lists' columns, their Chinese aliases, and validation.

Validation happens once, where a table enters the library (``read_needs``,
``read_resources``, ``match``, ``solve_assignment``). It parses every column of
DESIGN.md, collects *every* problem of a table, and raises one
:class:`~matchcore.errors.InputError` that lists them. Nothing is coerced
silently: ``"3"`` read from a CSV cell is the integer 3, but ``"three"``, ``2.5``
or ``-1`` are errors, never rounded or dropped. The caller's frame is never
modified; extra columns pass through untouched.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .categories import DEFAULT_CATEGORIES, Vocabulary, category_key, default_category_map
from .cells import DATE_RANGE, INVISIBLE, clean_text, parse_stamp, split_list, warn
from .errors import MAX_LISTED_FAILURES, InputError
from .headers import header_key, header_parts, is_near

__all__ = [
    "ALIASES",
    "NEED_COLUMNS",
    "PROJECT_COLUMNS",
    "RESOURCE_COLUMNS",
    "STATUSES",
    "Column",
    "ParseOptions",
    "TableFailures",
    "canonical_columns",
    "known_headers",
    "parse_column",
    "resolve_headers",
    "show_value",
    "split_list",
    "validate_id_table",
    "validate_needs",
    "validate_resources",
]

TableName = Literal["needs", "resources", "edges"]

#: Chinese headers written by district staff, and their canonical names.
ALIASES: dict[str, str] = {
    "需求编号": "need_id",
    "资源编号": "resource_id",
    "类别": "category",
    "需求数量": "demand",
    "可供数量": "capacity",
    "社区": "community",
    "网格": "grid",
    "优先级": "priority",
    "技能": "skills",
    "开始时间": "window_start",
    "结束时间": "window_end",
    "纬度": "lat",
    "经度": "lon",
    "提供方": "provider",
    "提供方类型": "provider_kind",
    "需求方类型": "requester_kind",
    "服务半径": "max_distance",
    "共建社区": "partner_communities",
    "描述": "description",
    "需求类别": "category",
    "资源类别": "category",
    "服务类别": "category",
    "所属社区": "community",
    "所属网格": "grid",
    "x坐标": "x",
    "y坐标": "y",
    "latitude": "lat",
    "longitude": "lon",
    "lng": "lon",
    # Traditional characters (Big5 files from Taiwan / Hong Kong systems).
    "需求編號": "need_id",
    "資源編號": "resource_id",
    "類別": "category",
    "需求數量": "demand",
    "社區": "community",
    "網格": "grid",
    "優先級": "priority",
    "開始時間": "window_start",
    "結束時間": "window_end",
    "緯度": "lat",
    "經度": "lon",
    "提供方類型": "provider_kind",
    "需求方類型": "requester_kind",
    "服務半徑": "max_distance",
    "共建社區": "partner_communities",
    "分数": "score",
    "项目编号": "project_id",
    "状态": "status",
}

#: Columns of the project list (项目清单), in order.
PROJECT_COLUMNS: tuple[str, ...] = (
    "project_id",
    "need_id",
    "community",
    "grid",
    "category",
    "demand",
    "assigned",
    "resources",
    "score",
    "status",
)

#: Project statuses, with the words used on the street's project map.
STATUSES: dict[str, str] = {
    "not_started": "尚未开工",
    "in_progress": "正在实施",
    "completed": "已经完成",
    "cancelled": "已取消",
}

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


def _int_col(name: str, default: int, low: int, high: int | None = None) -> Column:
    if high is None:
        expected = f"an integer >= {low}"
    else:
        expected = f"an integer from {low} to {high}"
    return Column(name, "int", default=default, low=low, high=high, expected=expected)


_COMMON = (
    Column("category", "str", required=True, expected="a non-empty category", clean=True),
    Column("x", "float", expected="a finite number (metres)"),
    Column("y", "float", expected="a finite number (metres)"),
    Column("lat", "float", low=-90.0, high=90.0, expected="a latitude from -90 to 90"),
    Column("lon", "float", low=-180.0, high=180.0, expected="a longitude from -180 to 180"),
    Column("community", "str", clean=True),
    Column("grid", "str", clean=True),
    Column("skills", "list", clean=True),
    Column("window_start", "datetime", expected="a date and time"),
    Column("window_end", "datetime", expected="a date and time"),
    Column("description", "str"),
)

NEED_COLUMNS: tuple[Column, ...] = (
    Column("need_id", "id", required=True, expected="a unique, non-empty id", clean=True),
    *_COMMON[:1],
    _int_col("demand", 1, 1),
    *_COMMON[1:],
    _int_col("priority", 3, 1, 5),
    Column("requester_kind", "str", clean=True),
)

RESOURCE_COLUMNS: tuple[Column, ...] = (
    Column("resource_id", "id", required=True, expected="a unique, non-empty id", clean=True),
    *_COMMON[:1],
    _int_col("capacity", 1, 1),
    *_COMMON[1:],
    Column("provider", "str"),
    Column("provider_kind", "str", clean=True),
    Column("max_distance", "float", low=0.0, expected="a finite distance >= 0 (metres)"),
    Column("partner_communities", "list", clean=True),
)

_ID_COLUMN = {"needs": "need_id", "resources": "resource_id"}
_ENTITY = {"needs": "need", "resources": "resource", "edges": "edge"}
_TABLE_COLUMNS = {"needs": NEED_COLUMNS, "resources": RESOURCE_COLUMNS}

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


def _known_forms(table: str) -> dict[str, str]:
    """``{header_key(form): canonical}`` of every header the table's columns are known by."""
    names = {c.name for c in _TABLE_COLUMNS[table]} if table in _TABLE_COLUMNS else set()
    out = {header_key(alias): name for alias, name in ALIASES.items() if name in names}
    out.update({header_key(name): name for name in names})
    return out


def known_headers(table: str | None = None) -> dict[str, str]:
    """``{header_key(header): canonical}`` of every known header (of one table, or all).

    Examples
    --------
    >>> known_headers("needs")["需求编号"], known_headers()["资源编号"]
    ('need_id', 'resource_id')
    """
    if table is not None:
        return _known_forms(table)
    out = {header_key(alias): name for alias, name in ALIASES.items()}
    for cols in _TABLE_COLUMNS.values():
        out.update({header_key(c.name): c.name for c in cols})
    return out


def _lookup(header: Any, forms: Mapping[str, str]) -> str | None:
    """The canonical name a header is known by (its bracketed parts included), or None."""
    parts = header_parts(header)
    if parts[0] in forms:
        return forms[parts[0]]
    hits = {forms[p] for p in parts[1:] if p in forms}
    return hits.pop() if len(hits) == 1 else None


def canonical_columns(columns: Iterable[Any]) -> dict[Any, str]:
    """Map raw headers to canonical names (Chinese aliases, case, spaces, BOM, brackets).

    Headers are compared by :func:`~matchcore.headers.header_key` (NFKC,
    no zero-width characters or BOM, case-folded, without spaces, ``_`` or
    ``-``); ``"纬度 (lat)"`` is known by either part.

    Parameters
    ----------
    columns : iterable
        The headers as read.

    Returns
    -------
    dict
        ``{raw header: canonical name}`` for every header; headers that are not
        known keep their (stripped) name and pass through.

    Examples
    --------
    >>> canonical_columns(["需求编号", " category ", "纬度 (lat)"])
    {'需求编号': 'need_id', ' category ': 'category', '纬度 (lat)': 'lat'}
    """
    forms = known_headers()
    mapping = {}
    for col in columns:
        name = _lookup(col, forms)
        mapping[col] = name if name is not None else clean_text(str(col))[0]
    return mapping


def _show_header(header: Any, canonical: str) -> str:
    """How a column is named in messages: the user's header, and the canonical name."""
    text = str(header).strip()
    return f"`{canonical}`" if text == canonical else f"`{text}` (`{canonical}`)"


def _forms_of(canonical: str) -> list[str]:
    return [a for a, n in ALIASES.items() if n == canonical] + [canonical]


def resolve_headers(
    headers: Sequence[Any], table: str, columns: Mapping[Any, str | None] | None = None
) -> tuple[list[str], list[dict[str, Any]]]:
    """The canonical name of every header, and the header problems of the table.

    Parameters
    ----------
    headers : sequence
        The headers as read (repeated ones included).
    table : {"needs", "resources"}
    columns : mapping, optional
        ``{header: column}``: the user's own names. A value is a canonical
        column or a known alias of one; None keeps the header as an extra
        (pass-through) column.

    Returns
    -------
    names : list of str
        One per header.
    problems : list of dict
        ``{"column", "header", "expected", "found", "text"}`` per problem:
        unknown ``columns`` keys or values, a header known twice, and unknown
        headers that are near misses of a known column the table lacks.
    """
    forms = _known_forms(table)
    problems: list[dict[str, Any]] = []
    user = dict(columns or {})
    by_key = {header_key(h): h for h in headers}
    explicit: dict[Any, str | None] = {}
    for key, target in user.items():
        hk = header_key(key)
        if hk not in by_key:
            problems.append({"column": str(target), "header": str(key),
                             "expected": "a header of the table", "found": "<missing column>",
                             "text": f"`columns` names the header {str(key)!r}, which {table} "
                                     f"does not have; its headers are {[str(h) for h in headers]}"})
            continue
        if target is None:
            explicit[by_key[hk]] = None
            continue
        name = forms.get(header_key(target))
        if name is None:
            problems.append({"column": str(target), "header": str(key),
                             "expected": "a column of " + table, "found": str(target),
                             "text": f"`columns` maps {str(key)!r} to {str(target)!r}, which is "
                                     f"not a column of {table}; expected one of "
                                     f"{[c.name for c in _TABLE_COLUMNS[table]]}"})
            continue
        explicit[by_key[hk]] = name
    allforms = known_headers()
    names: list[str] = []
    unknown: list[int] = []
    for pos, h in enumerate(headers):
        if h in explicit:
            target = explicit[h]
            names.append(clean_text(str(h))[0] if target is None else target)
            continue
        name = _lookup(h, forms)
        if name is None:
            name = _lookup(h, allforms)  # an alias of another list (分数 -> score) passes through
            if name is None:
                unknown.append(pos)
                name = clean_text(str(h))[0]
        names.append(name)
    present = set(names)
    for pos in unknown:
        h = headers[pos]
        parts = header_parts(h)
        near = []
        for col in _TABLE_COLUMNS[table]:
            if col.name in present:
                continue
            for form in _forms_of(col.name):
                fk = header_key(form)
                words = tuple(header_key(w) for w in col.name.split("_") if len(w) >= 2)
                if any(is_near(p, fk, words) for p in parts):
                    near.append((col.name, form))
                    break
        if not near:
            continue
        shown = ", ".join(f"`{form}` ({name})" if form != name else f"`{name}`"
                          for name, form in near)
        target = near[0][0]
        zh = _forms_of(target)[0]
        problems.append({
            "column": target, "header": str(h), "expected": "a known header",
            "found": str(h),
            "text": f"`{str(h).strip()}` is not a header of {table}, but it looks like {shown}; "
                    f"rename the header to {zh} (or {target}), or pass "
                    f"columns={{{str(h).strip()!r}: {target!r}}} to map it "
                    f"(columns={{{str(h).strip()!r}: None}} keeps it as an extra column)"})
    seen: dict[str, Any] = {}
    for h, name in zip(headers, names):
        if name in seen:
            problems.append({"column": name, "header": str(h), "expected": "one column per name",
                             "found": f"two columns {seen[name]!r} and {h!r}", "text": None})
        else:
            seen[name] = h
    return names, problems


# ---------------------------------------------------------------------------
# failures


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
        return f"`{rec['column']}`" if header is None else _show_header(header, rec["column"])

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


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return True
    if isinstance(value, (list, tuple, np.ndarray)):
        return False
    return isinstance(value, str) and value.strip() == ""


# ---------------------------------------------------------------------------
# cell parsers: return (ok, parsed)


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


def _parse_id(value: Any) -> tuple[bool, str]:
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


# ---------------------------------------------------------------------------
# validation

_COMMON_PARAMS = """\
    columns : mapping, optional
        ``{your header: column}`` for headers that are not known (a canonical
        column or a known Chinese alias; None keeps the header as an extra
        column). An unknown header that looks like a known one the table
        lacks (``优先极``, ``数量``) is an error until it is renamed or mapped.
    taxonomy : Taxonomy, optional
        Whose categories the ``category`` cells are (default
        ``Taxonomy.default()``): a cell that is one of its words (养老服务,
        养老, elderly_care ...) becomes the category; an unknown category is a
        :class:`~matchcore.MatchcoreWarning` naming the closest known ones,
        and a list none of whose categories is known is an error. When a
        cell was rewritten, the column ``category_text`` keeps it as written.
    dayfirst : bool, optional
        How ``05/03/2025`` reads: True 5 March, False May 3. None (default):
        such a date is an error unless a part above 12 tells the order.
    timezone : str, default "Asia/Shanghai"
        Naive times are local times in this zone; aware ones (``+08:00``,
        ``Z``) are converted to it. Windows come out as naive local times."""


def validate_needs(
    frame: pd.DataFrame,
    *,
    source: str | None = None,
    line_offset: LineOffset = None,
    columns: Mapping[Any, str | None] | None = None,
    taxonomy: Vocabulary | None = None,
    dayfirst: bool | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> pd.DataFrame:
    """Validate a needs list (需求清单) and return a new, parsed frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per need, with the columns of DESIGN.md (English names or the
        Chinese aliases of :data:`ALIASES`). Never modified.
    source : str, optional
        The file it came from, named in error messages.
    line_offset : int or sequence of int, optional
        File line of the first data row (2 for a CSV with one header line),
        or the line of every row; when given, messages name the line as well
        as the row.
    {common}

    Returns
    -------
    pandas.DataFrame
        Canonical column names, parsed values and defaults filled in
        (``demand`` 1, ``priority`` 3); rows in the given order, entirely
        empty rows skipped (a warning names them); other columns untouched.
        ``attrs["defaults"]`` names the optional columns that were absent and
        took their default in every row.

    Raises
    ------
    InputError
        Listing every problem of the table at once, with a ``failures`` frame.

    Examples
    --------
    >>> import pandas as pd
    >>> out = validate_needs(pd.DataFrame({{"need_id": ["N1"], "category": ["养老服务"],
    ...                                    "x": [0.0], "y": [0.0]}}))
    >>> out[["need_id", "category", "demand", "priority"]]
      need_id      category  demand  priority
    0      N1  elderly_care       1         3
    >>> out.attrs["defaults"]
    {{'demand': 1, 'priority': 3}}
    """
    return _validate(frame, "needs", NEED_COLUMNS, source, line_offset, columns, taxonomy,
                     ParseOptions.checked(dayfirst, timezone))


def validate_resources(
    frame: pd.DataFrame,
    *,
    source: str | None = None,
    line_offset: LineOffset = None,
    columns: Mapping[Any, str | None] | None = None,
    taxonomy: Vocabulary | None = None,
    dayfirst: bool | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> pd.DataFrame:
    """Validate a resources list (资源清单) and return a new, parsed frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per resource (English names or Chinese aliases). Never modified.
    source : str, optional
        The file it came from, named in error messages.
    line_offset : int or sequence of int, optional
        File line of the first data row (or of every row), named in messages.
    {common}

    Returns
    -------
    pandas.DataFrame
        Canonical columns, parsed values, ``capacity`` defaulting to 1.

    Raises
    ------
    InputError
        Listing every problem of the table at once, with a ``failures`` frame.

    Examples
    --------
    >>> import pandas as pd
    >>> validate_resources(pd.DataFrame({{"resource_id": ["R1"], "category": ["repair"],
    ...                                  "x": [0.0], "y": [0.0]}}))["capacity"].tolist()
    [1]
    """
    return _validate(frame, "resources", RESOURCE_COLUMNS, source, line_offset, columns,
                     taxonomy, ParseOptions.checked(dayfirst, timezone))


validate_needs.__doc__ = (validate_needs.__doc__ or "").format(common=_COMMON_PARAMS.strip())
validate_resources.__doc__ = (validate_resources.__doc__ or "").format(
    common=_COMMON_PARAMS.strip())


def _blank_rows(frame: pd.DataFrame) -> np.ndarray:
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
            codes, uniques = pd.factorize(col, use_na_sentinel=True)
            ublank = np.array([_is_missing(u) for u in np.asarray(uniques, dtype=object).tolist()]
                              + [True], dtype=bool)
            miss = ublank[codes]
        candidate[idx[~miss]] = False
    return np.flatnonzero(candidate)


def _lines_of(line_offset: LineOffset, n: int) -> list[int] | None:
    if line_offset is None:
        return None
    if isinstance(line_offset, (int, np.integer)):
        return list(range(int(line_offset), int(line_offset) + n))
    return [int(v) for v in line_offset]


def _validate(
    frame: pd.DataFrame,
    table: str,
    columns: tuple[Column, ...],
    source: str | None,
    line_offset: LineOffset,
    column_map: Mapping[Any, str | None] | None = None,
    taxonomy: Vocabulary | None = None,
    options: ParseOptions | None = None,
) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise InputError(
            f"{table} must be a pandas DataFrame or a path to a file; got {type(frame).__name__}"
        )
    if column_map is not None and not isinstance(column_map, Mapping):
        raise InputError(f"`columns` must be a mapping {{header: column}}; got {column_map!r}")
    if taxonomy is not None and not callable(getattr(taxonomy, "category_map", None)):
        raise InputError(f"taxonomy must be a matchcore.Taxonomy; got {type(taxonomy).__name__}")
    options = options or ParseOptions()
    source = source or table
    renamed, header_problems = resolve_headers(list(frame.columns), table, column_map)
    user_header: dict[str, Any] = {}
    for raw, name in zip(frame.columns, renamed):
        user_header.setdefault(name, raw)
    id_col = _ID_COLUMN[table]

    # Entirely empty rows are skipped (Excel sheets and CSVs have them), said once.
    blank = _blank_rows(frame)
    row_numbers: np.ndarray | None = None
    if len(blank):
        keep = np.setdiff1d(np.arange(len(frame)), blank)
        lines = _lines_of(line_offset, len(frame))
        if lines is not None:
            where = "line" + ("s " if len(blank) > 1 else " ")
            where += _few([lines[p] for p in blank.tolist()]) + f" of {source}"
            line_offset = [lines[p] for p in keep.tolist()]
        else:
            where = "row" + ("s " if len(blank) > 1 else " ") + _few(
                (blank + 1).tolist()) + f" of {table}"
        warn(f"{where} {'are' if len(blank) > 1 else 'is'} empty and "
              f"{'were' if len(blank) > 1 else 'was'} skipped")
        # A file's rows are counted without its empty ones (its lines are exact); a
        # frame's rows keep their positions, which are all a frame has.
        row_numbers = keep + 1 if lines is None else None
        frame = frame.iloc[keep]
    n = len(frame)
    raw_ids: list[str | None] = [None] * n
    if id_col in renamed:
        series = frame.iloc[:, renamed.index(id_col)]
        raw_ids = _ids_for_messages(series)
    failures = TableFailures(table, raw_ids, line_offset, source, user_header, row_numbers)

    for p in header_problems:
        failures.add(None, p["column"], p["expected"], p["found"], header=p["header"],
                     text=p["text"])
    failures.raise_if_any()

    out = frame.copy(deep=True)
    out.columns = pd.Index(renamed)
    known = {c.name: c for c in columns}

    headers_found = [str(h) for h in frame.columns]
    for col in columns:
        if col.required and col.name not in out.columns:
            forms = " or ".join(dict.fromkeys((_forms_of(col.name)[0], col.name)))
            failures.add(None, col.name, f"{col.expected} (a header {forms}; the headers are "
                         f"{headers_found})", "<missing column>")
    has_xy = "x" in out.columns or "y" in out.columns
    has_ll = "lat" in out.columns or "lon" in out.columns
    for a, b in (("x", "y"), ("lat", "lon")):
        if (a in out.columns) != (b in out.columns):
            missing = b if a in out.columns else a
            failures.add(None, missing, f"`{a}` and `{b}` together", "<missing column>")
    if not has_xy and not has_ll:
        failures.add(
            None,
            "x/y or lat/lon",
            "a position: columns x and y, or lat and lon (纬度 and 经度); the headers are "
            f"{headers_found}",
            "<missing column>",
        )
    failures.raise_if_any()

    swapped = "lat" in out.columns and "lon" in out.columns and _looks_swapped(
        out["lat"], out["lon"])
    if swapped:
        failures.add(
            None, "lat", "latitudes", "longitudes",
            text=f"{_show_header(user_header['lat'], 'lat')} and "
                 f"{_show_header(user_header['lon'], 'lon')} look swapped: every latitude is "
                 "from 73 to 135 and every longitude from 18 to 54, as China's longitudes and "
                 "latitudes are; swap the two headers, or pass columns="
                 f"{{{str(user_header['lat']).strip()!r}: 'lon', "
                 f"{str(user_header['lon']).strip()!r}: 'lat'}}")
    for name in out.columns:
        spec = known.get(name)
        if spec is None or (swapped and name in ("lat", "lon")):
            continue
        out[name] = parse_column(out[name], spec, failures, table, options)
    if swapped:
        failures.raise_if_any()
    # Optional integer columns (demand, capacity, priority) are always present downstream.
    defaults: dict[str, Any] = {}
    for col in columns:
        if col.kind == "int" and col.name not in out.columns:
            out[col.name] = np.full(n, col.default, dtype=np.int64)
            defaults[col.name] = col.default
    if failures.cleaned:
        warn(f"{failures.cleaned} cell{'s' if failures.cleaned > 1 else ''} of {source} had "
              "invisible characters (zero-width spaces or joiners, byte-order marks); "
              "they were removed")

    # One coordinate system per table: x/y when the table has them, otherwise lat/lon.
    # An all-columns template with x/y left empty and lat/lon filled uses lat/lon: the
    # empty columns carry nothing, so leaving them out loses nothing.
    if (
        {"x", "y", "lat", "lon"} <= set(out.columns)
        and out[["x", "y"]].isna().all(axis=None)
        and not out[["lat", "lon"]].isna().all(axis=None)
    ):
        out = out.drop(columns=["x", "y"])
    a, b = ("x", "y") if "x" in out.columns else ("lat", "lon")
    if a in out.columns:
        for c in (a, b):
            for pos in np.flatnonzero(np.isnan(out[c].to_numpy())).tolist():
                if not _already(failures, int(pos), c):
                    failures.add(int(pos), c, known[c].expected, frame.iloc[pos, renamed.index(c)])

    if "window_start" in out.columns and "window_end" in out.columns:
        start, end = out["window_start"], out["window_end"]
        bad_window = (start.notna() & end.notna() & (end < start)).to_numpy()
        for pos in np.flatnonzero(bad_window).tolist():
            failures.add(
                int(pos),
                "window_end",
                f"not before window_start ({start.iat[pos]})",
                str(end.iat[pos]),
            )

    if id_col in out.columns:
        ids = out[id_col]
        dup = ids.duplicated(keep=False) & ids.notna()
        first: dict[str, int] = {}
        for pos in np.flatnonzero(dup.to_numpy()).tolist():
            ident = ids.iat[pos]
            if ident in first:
                seen_row = (first[ident] + 1 if row_numbers is None
                            else int(row_numbers[first[ident]]))
                failures.add(int(pos), id_col, f"a unique id (already on row {seen_row})", ident)
            else:
                first[ident] = int(pos)
    if "category" in out.columns and not _already_column(failures, "category"):
        out = _canonical_categories(out, table, taxonomy, failures)
    failures.rows.sort(key=lambda r: (r["row"] is not None, r["row"] or 0))
    failures.raise_if_any()
    out.attrs = {**out.attrs, "defaults": defaults}
    return out


def _ids_for_messages(series: pd.Series) -> list[str | None]:
    """Every row's id as messages name it (cleaned; None when missing)."""
    if _all_text(series) is None:
        return [None if _is_missing(v) else _parse_id(v)[1] or None for v in series]
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    shown = [None if _is_missing(u) else _parse_id(u)[1] or None
             for u in np.asarray(uniques, dtype=object).tolist()]
    return [shown[c] if c >= 0 else None for c in codes.tolist()]


def _few(values: Sequence[Any], limit: int = 10) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _already(failures: TableFailures, pos: int, column: str) -> bool:
    row = int(failures.row_numbers[pos]) if failures.row_numbers is not None else pos + 1
    return (row, column) in {(r["row"], r["column"]) for r in failures.rows}


def _already_column(failures: TableFailures, column: str) -> bool:
    return any(r["column"] == column for r in failures.rows)


def _looks_swapped(lat: pd.Series, lon: pd.Series) -> bool:
    """Whether every latitude looks like a longitude in China and every longitude a latitude."""
    def floats(s: pd.Series) -> np.ndarray:
        spec = Column("v", "float")
        scratch = TableFailures("", [None] * len(s), None, "")
        return parse_column(s, spec, scratch, "").to_numpy(dtype=float)

    a, b = floats(lat), floats(lon)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if not len(a) or not len(b):
        return False
    return bool(((a >= 73) & (a <= 135)).all() and ((b >= 18) & (b <= 54)).all())


def _canonical_categories(
    out: pd.DataFrame, table: str, taxonomy: Vocabulary | None, failures: TableFailures
) -> pd.DataFrame:
    """Rewrite every category cell to its taxonomy's category; report unknown ones."""
    vocab = dict(taxonomy.category_map()) if taxonomy is not None else default_category_map()
    if not vocab:
        return out
    closed = bool(getattr(taxonomy, "is_closed", True)) if taxonomy is not None else True
    cats = out["category"]
    codes, uniques = pd.factorize(cats, use_na_sentinel=True)
    texts = [str(u) for u in np.asarray(uniques, dtype=object).tolist()]
    mapped = [vocab.get(category_key(t)) for t in texts]
    unknown = [t for t, m in zip(texts, mapped) if m is None]
    if texts and len(unknown) == len(texts) and closed:
        names = getattr(taxonomy, "names", None) if taxonomy is not None else DEFAULT_CATEGORIES
        shown = ", ".join(f"{c} ({z})" if z else c for c, z in
                          sorted((c, (names or {}).get(c, "")) for c in set(vocab.values())))
        failures.add(
            None, "category", "categories of the taxonomy", _few([repr(t) for t in unknown]),
            text=f"no category of {table} is a category of the taxonomy (found "
                 f"{_few([repr(t) for t in unknown])}): is it the right taxonomy? Its "
                 f"categories are {shown}; pass taxonomy= to read and match with your own")
        return out
    if unknown and closed:
        keys = list(vocab)
        parts = []
        for t in unknown[:10]:
            near = []
            for k in difflib.get_close_matches(category_key(t), keys, n=6, cutoff=0.4):
                if vocab[k] not in near:
                    near.append(vocab[k])
            hint = f" (closest: {', '.join(near[:3])})" if near else ""
            parts.append(f"{t!r}{hint}")
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        warn(f"{table}: {len(unknown)} categor{'ies are' if len(unknown) > 1 else 'y is'} not "
              f"in the taxonomy and match only the very same category: {', '.join(parts)}{more}")
    final = np.array([m if m is not None else t for t, m in zip(texts, mapped)] + [None],
                     dtype=object)
    new = final[codes]
    changed = [t for t, m in zip(texts, mapped) if m is not None and m != t]
    if changed:
        if "category_text" not in out.columns:
            out = out.assign(category_text=cats.to_numpy(dtype=object))
        out["category"] = pd.Series(new, index=out.index, dtype=object)
    return out


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
        and not pd.api.types.is_bool_dtype(dtype)
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
    if _all_text(series) is not None:
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
            elif _is_missing(v):
                ok, text = False, ""
            elif is_id:
                ok, text = _parse_id(v)
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
            if _is_missing(v):
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
            if _is_missing(v):
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
        if _is_missing(v):
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


# ---------------------------------------------------------------------------
# text columns (CSV cells, string dtypes): whole-column operations, same rules


def _all_text(series: pd.Series) -> pd.Series | None:
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
    done = [_text_cell(str(u), spec) for u in np.asarray(uniques, dtype=object).tolist()]
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


def validate_id_table(frame: pd.DataFrame, table: str, id_col: str, qty: str) -> pd.DataFrame:
    """Validate the id and quantity columns of a bare needs/resources table, sorted by id.

    The tables of :func:`matchcore.solve_assignment`: an id column and an
    optional quantity (``demand`` or ``capacity``, default 1); other columns
    are ignored. Returns a new frame of those two columns, sorted by id.

    Raises
    ------
    InputError
        Every bad or repeated id and bad quantity of the table at once.
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{table} must be a DataFrame; got {type(frame).__name__}")
    f = frame.rename(columns=canonical_columns(frame.columns))
    if id_col not in f.columns:
        raise InputError(f"`{id_col}` is a required column of {table}; got {list(frame.columns)}")
    ids_raw = f[id_col]
    failures = TableFailures(table, [None if pd.isna(v) else str(v) for v in ids_raw], None, table)
    ids = parse_column(
        ids_raw, Column(id_col, "id", True, expected="a unique, non-empty id"), failures, table
    )
    if qty in f.columns:
        q = parse_column(
            f[qty],
            Column(qty, "int", default=1, low=1, expected="an integer >= 1"),
            failures,
            table,
        )
    else:
        q = pd.Series(np.ones(len(f), dtype=np.int64))
    dups = np.flatnonzero(ids.duplicated(keep="first").to_numpy() & ids.notna().to_numpy())
    for pos in dups.tolist():
        failures.add(pos, id_col, "a unique id", ids.iat[pos])
    failures.raise_if_any()
    out = pd.DataFrame({id_col: ids.to_numpy(dtype=object), qty: q.to_numpy(np.int64)})
    return out.sort_values(id_col, kind="stable").reset_index(drop=True)
