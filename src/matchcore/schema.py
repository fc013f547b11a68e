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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .categories import DEFAULT_CATEGORIES, Vocabulary, category_key, default_category_map
from .cells import (
    DEFAULT_TIMEZONE,
    Column,
    LineOffset,
    ParseOptions,
    TableFailures,
    blank_rows,
    clean_text,
    ids_for_messages,
    parse_column,
    show_header,
    show_value,
    split_list,
    warn,
)
from .errors import InputError
from .headers import header_key, header_parts, is_near

__all__ = [
    "ALIASES",
    "NEED_COLUMNS",
    "PROJECT_COLUMNS",
    "RESOURCE_COLUMNS",
    "STATUSES",
    "Column",
    "ParseOptions",
    "Revalidation",
    "TableFailures",
    "canonical_columns",
    "known_headers",
    "parse_column",
    "resolve_headers",
    "revalidate",
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
    "捆绑编号": "bundle",
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
    # Needs sharing a bundle id are served all together or not at all (team needs).
    Column("bundle", "str", clean=True),
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
_TABLE_COLUMNS = {"needs": NEED_COLUMNS, "resources": RESOURCE_COLUMNS}


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


# ---------------------------------------------------------------------------
# cell parsers: return (ok, parsed)


# ---------------------------------------------------------------------------
# validation

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
        ``Z``) are converted to it. Windows come out as naive local times.

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
    >>> out = validate_needs(pd.DataFrame({"need_id": ["N1"], "category": ["养老服务"],
    ...                                    "x": [0.0], "y": [0.0]}))
    >>> out[["need_id", "category", "demand", "priority"]]
      need_id      category  demand  priority
    0      N1  elderly_care       1         3
    >>> out.attrs["defaults"]
    {'demand': 1, 'priority': 3}
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
        ``Z``) are converted to it. Windows come out as naive local times.

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
    >>> validate_resources(pd.DataFrame({"resource_id": ["R1"], "category": ["repair"],
    ...                                  "x": [0.0], "y": [0.0]}))["capacity"].tolist()
    [1]
    """
    return _validate(frame, "resources", RESOURCE_COLUMNS, source, line_offset, columns,
                     taxonomy, ParseOptions.checked(dayfirst, timezone))


class _WouldWarn(Exception):
    """Raised instead of a warning by a strict validation (:func:`revalidate`)."""


def _refuse_warning(message: str) -> None:
    raise _WouldWarn(message)


@dataclass(frozen=True, eq=False)
class Revalidation:
    """A list validated by :func:`revalidate`, and which of its rows were validated before.

    Attributes
    ----------
    frame : pandas.DataFrame
        Equal to ``validate_needs(frame, taxonomy=taxonomy)`` (or
        ``validate_resources``): values, dtypes, index, columns and attrs.
    same_as : ndarray of int64 or None
        For each row, the row of ``validated`` it equals, every cell (-1: a new
        or changed row, validated here); None when the list was validated in full.
    id_at : ndarray of int64 or None
        For each row, the row of ``validated`` with its id, changed or not (-1:
        a new id); None when the list was validated in full.
    """

    frame: pd.DataFrame
    same_as: np.ndarray | None = None
    id_at: np.ndarray | None = None


def revalidate(
    frame: pd.DataFrame,
    table: Literal["needs", "resources"],
    validated: pd.DataFrame | None,
    *,
    taxonomy: Vocabulary | None = None,
) -> Revalidation:
    """:func:`validate_needs` / :func:`validate_resources` of ``frame``, parsing only new rows.

    ``validated`` is a frame that the same validation returned for this
    ``table`` and ``taxonomy`` (default ``dayfirst`` and ``timezone``), or a
    subset or reordering of its rows: an earlier round's list
    (``MatchResult.district.needs``). A row of ``frame`` equal to a row of
    ``validated`` with the same id (same columns in the same order, same
    dtypes, every cell equal: numbers and times bit for bit, text as text,
    missing as the same kind of missing) is taken as validated: validation
    leaves a validated row as it is (idempotent: ``tests/test_revalidate.py``),
    and it depends on no other row except through the table-wide checks,
    which are made here on the whole list (unique ids, known categories,
    swapped latitude and longitude). Only the other rows are parsed. Whenever
    the shortcut cannot show that its result is the full validation's (other
    columns or dtypes, a new row that fails or would warn, a repeated id, a
    category not of the taxonomy, ...), ``frame`` is validated in full, so the
    result, errors and warnings are always exactly a full validation's.

    Parameters
    ----------
    frame : pandas.DataFrame
        The list to validate (never modified).
    table : {"needs", "resources"}
    validated : pandas.DataFrame or None
        Rows known to be validated (None: validate in full).
    taxonomy : Taxonomy, optional
        As for :func:`validate_needs`; ``validated`` must have been validated
        with it.

    Returns
    -------
    Revalidation

    Raises
    ------
    InputError
        As the full validation does (every problem at once).

    Examples
    --------
    >>> import pandas as pd
    >>> old = validate_needs(pd.DataFrame({"need_id": ["N1", "N2"], "category": "repair",
    ...                                    "x": [0.0, 1.0], "y": 0.0}))
    >>> new = pd.concat([old.iloc[1:], validate_needs(pd.DataFrame(
    ...     {"need_id": ["N3"], "category": "repair", "demand": 2, "priority": 3,
    ...      "x": [2.0], "y": 0.0}))], ignore_index=True)
    >>> r = revalidate(new, "needs", old)
    >>> r.frame[["need_id", "demand"]].values.tolist(), r.same_as.tolist()
    ([['N2', 1], ['N3', 2]], [1, -1])
    >>> r.frame.equals(validate_needs(new))
    True
    """
    if table not in _TABLE_COLUMNS:
        raise InputError(f"`table` must be 'needs' or 'resources'; got {table!r}")
    full = validate_needs if table == "needs" else validate_resources
    fast = None
    if validated is not None:
        fast = _validate_new_rows(frame, table, validated, taxonomy)
    return fast if fast is not None else Revalidation(full(frame, taxonomy=taxonomy))


def _validate_new_rows(frame: Any, table: str, validated: pd.DataFrame,
                       taxonomy: Vocabulary | None) -> Revalidation | None:
    """:func:`revalidate`'s shortcut; None when it cannot prove its result."""
    if not isinstance(frame, pd.DataFrame) or not isinstance(validated, pd.DataFrame):
        return None
    if taxonomy is not None and not callable(getattr(taxonomy, "category_map", None)):
        return None
    cols = list(frame.columns)
    id_col = _ID_COLUMN[table]
    if (not len(frame) or not len(validated) or cols != list(validated.columns)
            or not all(isinstance(c, str) for c in cols)
            or len(set(cols)) != len(cols) or id_col not in cols or "category" not in cols
            # All four: the x/y columns' drop depends on every row (see _validate).
            or {"x", "y", "lat", "lon"} <= set(cols)
            or not all(a == b for a, b in zip(frame.dtypes, validated.dtypes))):
        return None
    renamed, problems = resolve_headers(cols, table)
    if problems or renamed != cols:
        return None
    old_ids = validated[id_col].to_numpy(dtype=object)
    ids = frame[id_col].to_numpy(dtype=object)
    # The same ids in the same order (an unchanged list): rows pair by position.
    aligned = len(ids) == len(old_ids) and bool(np.asarray(ids == old_ids, dtype=bool).all())
    by_id = pd.Index(old_ids, dtype=object)  # one hash table, looked up twice at most
    if aligned:
        at = np.arange(len(ids), dtype=np.int64)
    else:
        try:
            at = by_id.get_indexer(pd.Index(ids, dtype=object)).astype(np.int64)
        except (TypeError, ValueError, pd.errors.InvalidIndexError):
            return None
    same = at >= 0
    for c in cols:
        rows = np.flatnonzero(same)
        if not len(rows):
            break
        whole = aligned and len(rows) == len(ids)
        eq = _same_cells(frame[c], validated[c], None if whole else (rows, at[rows]))
        if eq is None:
            return None
        same[rows] = eq
    kept, fresh = np.flatnonzero(same), np.flatnonzero(~same)
    kept_old = at[kept]
    id_at = at.copy()
    if len(kept_old) and np.bincount(kept_old).max() > 1:
        return None  # an id twice: the full validation says where
    part = validated if aligned and len(kept) == len(ids) else validated.iloc[kept_old]
    if len(fresh):
        options = ParseOptions.checked(None, DEFAULT_TIMEZONE)
        try:
            checked = _validate(frame.iloc[fresh], table, _TABLE_COLUMNS[table], None, None,
                                None, taxonomy, options, strict=True)
        except (InputError, _WouldWarn):
            return None
        if list(checked.columns) != cols or not all(
                a == b for a, b in zip(checked.dtypes, validated.dtypes)):
            return None
        # A new row's id must not be a kept row's (a replaced row's id is free again).
        try:
            hit = by_id.get_indexer(pd.Index(checked[id_col].to_numpy(dtype=object),
                                             dtype=object))
        except (TypeError, ValueError, pd.errors.InvalidIndexError):
            return None
        if np.isin(hit[hit >= 0], kept_old).any():
            return None
        id_at[fresh] = hit
        part = pd.concat([part, checked], ignore_index=True)
        where = np.empty(len(frame), dtype=np.int64)
        where[kept] = np.arange(len(kept))
        where[fresh] = len(kept) + np.arange(len(fresh))
        out = part.take(where)
    else:
        out = part.copy()
    out.index = frame.index.copy()
    if not _categories_stay(out["category"], taxonomy):
        return None
    if "lat" in cols and "lon" in cols:
        if _swapped_degrees(out["lat"].to_numpy(dtype=float),
                            out["lon"].to_numpy(dtype=float)):
            return None  # looks swapped: the full validation says so
    defaults = {c.name: c.default for c in _TABLE_COLUMNS[table]
                if c.kind == "int" and c.name not in cols}
    out.attrs = {**frame.attrs, "defaults": defaults}
    return Revalidation(out, np.where(same, at, -1), id_at)


def _same_cells(a: pd.Series, b: pd.Series,
                rows: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray | None:
    """Which cells of ``a`` (a list's) and ``b`` (validated), of one dtype, are the same value.

    ``rows``: compare ``a``'s cells at ``rows[0]`` with ``b``'s at ``rows[1]``
    (gathered from the arrays, not through pandas' indexing); all, in order,
    when None. Numbers and times bit for bit (0.0 is not -0.0; NaN is NaN),
    text by ``==`` and missing cells by their kind (None is not NaN). None
    (cannot tell) when ``b`` is an object column holding anything but text
    and missing values.
    """
    dtype = a.dtype

    def pick(values: Any, k: int) -> Any:
        return values if rows is None else values[rows[k]]

    if isinstance(dtype, np.dtype) and dtype.kind in "biufmM":
        x, y = pick(a.to_numpy(), 0), pick(b.to_numpy(), 1)
        if dtype.kind in "fmM":
            if x.itemsize not in (2, 4, 8):
                return None
            x, y = x.view(f"i{x.itemsize}"), y.view(f"i{y.itemsize}")
        return np.asarray(x == y, dtype=bool)
    try:
        if isinstance(dtype, np.dtype) and dtype.kind == "O":
            x = pick(a.to_numpy(dtype=object), 0)
            y = pick(b.to_numpy(dtype=object), 1)
            # The validated side text (or missing): a cell equal to text is that text
            # (1 == True == 1.0 are not text, and text equals no number).
            if pd.api.types.infer_dtype(y, skipna=True) not in ("string", "empty"):
                return None
            out = np.asarray(x == y, dtype=bool)  # None == None; NaN != NaN
            odd = np.flatnonzero(~out)
            if len(odd):
                # Both missing and of one kind (NaN and NaN, NaT and NaT): the same.
                out[odd] = [pd.isna(u) and pd.isna(v) and type(u) is type(v)
                            for u, v in zip(x[odd].tolist(), y[odd].tolist())]
            return out
        # Extension dtypes (string, nullable integers): one missing value per dtype.
        x_arr = a.array if rows is None else a.array.take(rows[0])
        y_arr = b.array if rows is None else b.array.take(rows[1])
        na_x, na_y = np.asarray(x_arr.isna()), np.asarray(y_arr.isna())
        eq = np.asarray(pd.array(x_arr == y_arr).fillna(False), dtype=bool) if len(x_arr) \
            else np.zeros(0, dtype=bool)
        return (eq & ~na_x & ~na_y) | (na_x & na_y)
    except (TypeError, ValueError):
        return None


def _vocabulary(taxonomy: Vocabulary | None) -> tuple[dict[str, str], bool]:
    """The words validation maps categories by (``category_key(word)`` -> category), and
    whether the taxonomy is closed (a category outside it is warned about)."""
    if taxonomy is None:
        return default_category_map(), True
    return dict(taxonomy.category_map()), bool(getattr(taxonomy, "is_closed", True))


def _categories_stay(categories: pd.Series, taxonomy: Vocabulary | None) -> bool:
    """Whether the full validation leaves every category as it is, without a warning."""
    vocab, closed = _vocabulary(taxonomy)
    if not vocab:
        return True
    values = pd.unique(categories.to_numpy(dtype=object))
    for v in values.tolist():
        if not isinstance(v, str):
            return False
        m = vocab.get(category_key(v))
        if m != v and not (m is None and not closed):
            return False
    return True


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
    strict: bool = False,
) -> pd.DataFrame:
    """Validate ``frame`` as ``table``; ``strict``: raise _WouldWarn instead of warning."""
    say = _refuse_warning if strict else warn
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
    blank = blank_rows(frame)
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
        say(f"{where} {'are' if len(blank) > 1 else 'is'} empty and "
              f"{'were' if len(blank) > 1 else 'was'} skipped")
        # A file's rows are counted without its empty ones (its lines are exact); a
        # frame's rows keep their positions, which are all a frame has.
        row_numbers = keep + 1 if lines is None else None
        frame = frame.iloc[keep]
    n = len(frame)
    raw_ids: list[str | None] = [None] * n
    if id_col in renamed:
        series = frame.iloc[:, renamed.index(id_col)]
        raw_ids = ids_for_messages(series)
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
            text=f"{show_header(user_header['lat'], 'lat')} and "
                 f"{show_header(user_header['lon'], 'lon')} look swapped: every latitude is "
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
        say(f"{failures.cleaned} cell{'s' if failures.cleaned > 1 else ''} of {source} had "
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
        out = _canonical_categories(out, table, taxonomy, failures, say)
    failures.rows.sort(key=lambda r: (r["row"] is not None, r["row"] or 0))
    failures.raise_if_any()
    out.attrs = {**out.attrs, "defaults": defaults}
    return out


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

    return _swapped_degrees(floats(lat), floats(lon))


def _swapped_degrees(lat: np.ndarray, lon: np.ndarray) -> bool:
    """:func:`_looks_swapped` of parsed degrees (NaN: a missing cell, left out)."""
    a, b = lat[~np.isnan(lat)], lon[~np.isnan(lon)]
    if not len(a) or not len(b):
        return False
    return bool(((a >= 73) & (a <= 135)).all() and ((b >= 18) & (b <= 54)).all())


def _canonical_categories(
    out: pd.DataFrame, table: str, taxonomy: Vocabulary | None, failures: TableFailures,
    say: Any = warn,
) -> pd.DataFrame:
    """Rewrite every category cell to its taxonomy's category; report unknown ones."""
    vocab, closed = _vocabulary(taxonomy)
    if not vocab:
        return out
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
        say(f"{table}: {len(unknown)} categor{'ies are' if len(unknown) > 1 else 'y is'} not "
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


# ---------------------------------------------------------------------------
# text columns (CSV cells, string dtypes): whole-column operations, same rules


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
