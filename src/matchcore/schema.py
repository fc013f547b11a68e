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

import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import MAX_LISTED_FAILURES, InputError

__all__ = [
    "ALIASES",
    "NEED_COLUMNS",
    "PROJECT_COLUMNS",
    "RESOURCE_COLUMNS",
    "STATUSES",
    "Column",
    "TableFailures",
    "canonical_columns",
    "parse_column",
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
    """One column of a list: its parser and its constraints."""

    name: str
    kind: Kind
    required: bool = False
    default: Any = None
    low: float | None = None
    high: float | None = None
    expected: str = ""


def _int_col(name: str, default: int, low: int, high: int | None = None) -> Column:
    if high is None:
        expected = f"an integer >= {low}"
    else:
        expected = f"an integer from {low} to {high}"
    return Column(name, "int", default=default, low=low, high=high, expected=expected)


_COMMON = (
    Column("category", "str", required=True, expected="a non-empty category"),
    Column("x", "float", expected="a finite number (metres)"),
    Column("y", "float", expected="a finite number (metres)"),
    Column("lat", "float", low=-90.0, high=90.0, expected="a latitude from -90 to 90"),
    Column("lon", "float", low=-180.0, high=180.0, expected="a longitude from -180 to 180"),
    Column("community", "str"),
    Column("grid", "str"),
    Column("skills", "list"),
    Column("window_start", "datetime", expected="a date and time"),
    Column("window_end", "datetime", expected="a date and time"),
    Column("description", "str"),
)

NEED_COLUMNS: tuple[Column, ...] = (
    Column("need_id", "id", required=True, expected="a unique, non-empty id"),
    *_COMMON[:1],
    _int_col("demand", 1, 1),
    *_COMMON[1:],
    _int_col("priority", 3, 1, 5),
    Column("requester_kind", "str"),
    # Needs sharing a bundle id are served all together or not at all (team needs).
    Column("bundle", "str"),
)

RESOURCE_COLUMNS: tuple[Column, ...] = (
    Column("resource_id", "id", required=True, expected="a unique, non-empty id"),
    *_COMMON[:1],
    _int_col("capacity", 1, 1),
    *_COMMON[1:],
    Column("provider", "str"),
    Column("provider_kind", "str"),
    Column("max_distance", "float", low=0.0, expected="a finite distance >= 0 (metres)"),
    Column("partner_communities", "list"),
)

_ID_COLUMN = {"needs": "need_id", "resources": "resource_id"}
_ENTITY = {"needs": "need", "resources": "resource", "edges": "edge"}


def canonical_columns(columns: Iterable[Any]) -> dict[Any, str]:
    """Map raw headers to canonical names (Chinese aliases, stray spaces, BOM).

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
    >>> canonical_columns(["需求编号", " category "])
    {'需求编号': 'need_id', ' category ': 'category'}
    """
    mapping = {}
    for col in columns:
        name = str(col).strip().lstrip("\ufeff").strip()
        mapping[col] = ALIASES.get(name, name)
    return mapping


def split_list(value: Any) -> tuple[str, ...]:
    """Split a ``;``-separated cell (full-width ``；`` too) into stripped items.

    Examples
    --------
    >>> split_list("护理; 陪诊；")
    ('护理', '陪诊')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ()
    text = str(value).replace("；", ";")
    return tuple(item.strip() for item in text.split(";") if item.strip())


# ---------------------------------------------------------------------------
# failures


class TableFailures:
    """Collects the problems of one table; raises them all at once."""

    def __init__(self, table: str, ids: list[str | None], line_offset: LineOffset, source: str):
        self.table = table
        self.ids = ids
        self.line_offset = line_offset
        self.source = source
        self.rows: list[dict[str, Any]] = []

    def add(self, pos: Any, column: str, expected: str, found: Any) -> None:
        pos = None if pos is None else int(pos)
        row = None if pos is None else pos + 1
        if pos is None or self.line_offset is None:
            line = None
        elif isinstance(self.line_offset, (int, np.integer)):
            line = pos + int(self.line_offset)
        else:
            line = int(self.line_offset[pos])
        ident = None if pos is None else self.ids[pos]
        self.rows.append(
            {
                "table": self.table,
                "row": row,
                "line": line,
                "id": ident,
                "column": column,
                "expected": expected,
                "found": show_value(found),
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

    def raise_if_any(self) -> None:
        if not self.rows:
            return
        lines = []
        for rec in self.rows[:MAX_LISTED_FAILURES]:
            if rec["found"] == "<missing column>":
                lines.append(
                    f"  - `{rec['column']}` is a required column of {self.table}; "
                    f"expected {rec['expected']}"
                )
            else:
                lines.append(
                    f"  - `{rec['column']}` must be {rec['expected']}; got {rec['found']} "
                    f"for {self._place(rec)}"
                )
        more = len(self.rows) - MAX_LISTED_FAILURES
        if more > 0:
            lines.append(f"  ... and {more} more (see the `failures` attribute)")
        head = f"{len(self.rows)} problem{'s' if len(self.rows) > 1 else ''} in {self.table}"
        if self.source != self.table:
            head += f" ({self.source})"
        raise InputError(head + ":\n" + "\n".join(lines), pd.DataFrame(self.rows))


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
        if math.isfinite(f) and f.is_integer():
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
            if math.isfinite(f) and f.is_integer() and "e" not in text.lower():
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
        if math.isfinite(f) and f.is_integer():
            return True, str(int(f))
        return False, ""
    text = str(value).strip()
    return bool(text), text


# ---------------------------------------------------------------------------
# validation


def validate_needs(
    frame: pd.DataFrame, *, source: str | None = None, line_offset: LineOffset = None
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

    Returns
    -------
    pandas.DataFrame
        Canonical column names, parsed values and defaults filled in
        (``demand`` 1, ``priority`` 3); rows in the given order; other columns
        untouched.

    Raises
    ------
    InputError
        Listing every problem of the table at once, with a ``failures`` frame.

    Examples
    --------
    >>> import pandas as pd
    >>> validate_needs(pd.DataFrame({"need_id": ["N1"], "category": ["repair"],
    ...                              "x": [0.0], "y": [0.0]}))[["need_id", "demand", "priority"]]
      need_id  demand  priority
    0      N1       1         3
    """
    return _validate(frame, "needs", NEED_COLUMNS, source, line_offset)


def validate_resources(
    frame: pd.DataFrame, *, source: str | None = None, line_offset: LineOffset = None
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
    return _validate(frame, "resources", RESOURCE_COLUMNS, source, line_offset)


def _validate(
    frame: pd.DataFrame,
    table: str,
    columns: tuple[Column, ...],
    source: str | None,
    line_offset: LineOffset,
) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise InputError(
            f"{table} must be a pandas DataFrame or a path to a file; got {type(frame).__name__}"
        )
    source = source or table
    mapping = canonical_columns(frame.columns)
    # One name per column, repeated headers included (a dict of them would drop one).
    renamed = [mapping[c] for c in frame.columns]
    id_col = _ID_COLUMN[table]
    n = len(frame)
    raw_ids: list[str | None] = [None] * n
    if id_col in renamed:
        series = frame.iloc[:, renamed.index(id_col)]
        if _all_text(series) is not None:
            stripped = _strip(series)
            stripped[stripped == ""] = None
            raw_ids = stripped.tolist()
        else:
            raw_ids = [None if _is_missing(v) else _parse_id(v)[1] or None for v in series]
    failures = TableFailures(table, raw_ids, line_offset, source)

    seen: dict[str, Any] = {}
    for raw, name in zip(frame.columns, renamed):
        if name in seen:
            failures.add(
                None, name, "one column per name", f"two columns {seen[name]!r} and {raw!r}"
            )
        seen[name] = raw
    failures.raise_if_any()

    out = frame.rename(columns=mapping).copy(deep=True)
    out.columns = pd.Index(renamed)
    known = {c.name: c for c in columns}

    for col in columns:
        if col.required and col.name not in out.columns:
            failures.add(None, col.name, col.expected, "<missing column>")
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
            "a position: columns x and y, or lat and lon",
            "<missing column>",
        )
    failures.raise_if_any()

    for name in out.columns:
        spec = known.get(name)
        if spec is None:
            continue
        out[name] = parse_column(out[name], spec, failures, table)
    # Optional integer columns (demand, capacity, priority) are always present downstream.
    for col in columns:
        if col.kind == "int" and col.name not in out.columns:
            out[col.name] = np.full(n, col.default, dtype=np.int64)

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
                failures.add(
                    int(pos), id_col, f"a unique id (already on row {first[ident] + 1})", ident
                )
            else:
                first[ident] = int(pos)
    failures.rows.sort(key=lambda r: (r["row"] is not None, r["row"] or 0))
    failures.raise_if_any()
    return out


def _already(failures: TableFailures, pos: int, column: str) -> bool:
    return (pos + 1, column) in {(r["row"], r["column"]) for r in failures.rows}


_DATE_RANGE = "a date and time from 1677-09-22 to 2262-04-11 (leave the cell empty when open)"


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
    series: pd.Series, col: Column, failures: TableFailures, table: str
) -> pd.Series:
    """Parse one column by its rule; every failing cell goes to ``failures``."""
    # Typed columns (from Parquet, Excel or a user's frame) and all-text columns (CSV
    # cells) take vectorised paths; mixed object columns are parsed cell by cell. No
    # path coerces silently: every cell that fails its rule is reported.
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
        # Beyond int64 the cast would wrap around silently.
        bad = ~np.isfinite(filled) | (filled != np.round(filled)) | (np.abs(filled) >= 2.0**63)
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
            out = out.dt.tz_convert("UTC").dt.tz_localize(None)
        # Beyond datetime64[ns] (9999-12-31 for "open-ended") the cast would wrap silently.
        far = (out.notna() & ((out < pd.Timestamp.min) | (out > pd.Timestamp.max))).to_numpy()
        for pos in np.flatnonzero(far).tolist():
            failures.add(pos, col.name, _DATE_RANGE, series.iat[pos])
        out = out.where(~far)
        return pd.Series(out.to_numpy(dtype="datetime64[ns]"), index=series.index, name=col.name)
    if _all_text(series) is not None:
        return _parse_text(series, col, failures)
    values = series.to_numpy(dtype=object)
    n = len(values)
    if col.kind in ("id", "str", "list"):
        parsed: list[Any] = [None] * n
        is_id = col.kind == "id"
        for pos, v in enumerate(values):
            if type(v) is str:
                text = v.strip()
                ok = bool(text)
            elif _is_missing(v):
                ok, text = False, ""
            elif is_id:
                ok, text = _parse_id(v)
            else:
                ok, text = True, str(v).strip()
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
        expected, stamp = _parse_stamp(v, col)
        if expected:
            failures.add(pos, col.name, expected, v)
        else:
            stamps[pos] = stamp
    return pd.Series(stamps, index=series.index, name=col.name)


def _parse_stamp(value: Any, col: Column) -> tuple[str, np.datetime64]:
    """A present cell as a datetime64[ns]; the expectation it fails ("" when it parses)."""
    nat = np.datetime64("NaT", "ns")
    if isinstance(value, (bool, np.bool_, numbers.Real)):
        return col.expected, nat
    try:
        ts = pd.Timestamp(value.strip() if isinstance(value, str) else value)
    except (ValueError, TypeError, OverflowError):
        return col.expected, nat
    if ts is pd.NaT:
        return col.expected, nat
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    if not pd.Timestamp.min <= ts <= pd.Timestamp.max:
        return _DATE_RANGE, nat
    return "", ts.to_datetime64()


# ---------------------------------------------------------------------------
# text columns (CSV cells, string dtypes): whole-column operations, same rules


def _all_text(series: pd.Series) -> pd.Series | None:
    """The column itself when every present cell is a str (CSV columns, string dtypes)."""
    if pd.api.types.infer_dtype(series, skipna=True) not in ("string", "empty"):
        return None
    return series


def _strip(series: pd.Series) -> np.ndarray:
    """``str.strip()`` of every present cell, ``""`` where missing (Python's whitespace).

    Strips each distinct value once: categories, communities and grids repeat.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    stripped = np.array(
        [str(u).strip() for u in np.asarray(uniques, dtype=object).tolist()] + [""], dtype=object
    )
    return stripped[codes]


def _per_distinct(cells: np.ndarray, parse: Any) -> tuple[np.ndarray, np.ndarray]:
    """``parse(cell) -> (ok, value)`` run once per distinct cell, spread to every cell."""
    codes, uniques = pd.factorize(cells)
    results = [parse(u) for u in uniques]
    ok = np.array([r[0] for r in results], dtype=bool)
    vals = np.array([r[1] for r in results], dtype=object)
    return ok[codes], vals[codes]


def _parse_text(series: pd.Series, col: Column, failures: TableFailures) -> pd.Series:
    """:func:`parse_column` of a column whose present cells are all str.

    The same rules as the cell-by-cell parsers (Python's ``str.strip``,
    ``int`` and ``float``), applied to the whole column, or once per distinct
    value; failures are reported row by row with the cell as given.
    """
    n = len(series)
    stripped = _strip(series)
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
        results = [_parse_stamp(u, col) for u in uniques]
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
