"""Reading and writing the three lists: CSV, Excel, JSON and Parquet.

Text files are read as UTF-8 (with or without a BOM), GB18030 (what Excel on a
Chinese Windows machine writes) or Big5, by one rule (:func:`decode_text`);
every CSV cell is read as text and parsed by :mod:`matchcore.schema`, so
nothing is guessed. Rows must have one cell per header; a title row above the
header row is skipped. Excel sheets are read with openpyxl: formulas need
their saved values, merged cells are filled down (with a warning). CSV is
written with a BOM so that Excel opens Chinese text correctly.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .categories import Vocabulary
from .cells import warn
from .errors import InputError
from .headers import header_key, header_parts
from .schema import (
    DEFAULT_TIMEZONE,
    TableFailures,
    known_headers,
    validate_needs,
    validate_resources,
)

__all__ = ["ENCODINGS", "decode_text", "read_needs", "read_resources", "read_table",
           "write_table"]

PathLike = str | os.PathLike
Format = Literal["csv", "excel", "xls", "json", "parquet"]

_SUFFIX: dict[str, Format] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "xls",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
}
#: The encodings a text file is tried in, in this order (see :func:`decode_text`).
ENCODINGS = ("utf-8", "gb18030", "big5")

#: How many rows from the top a header row is looked for in (below a title).
HEADER_SEARCH_ROWS = 20

#: Sheet names read_needs / read_resources recognise (compared by header_key, as parts).
SHEET_WORDS = {"needs": ("需求", "needs", "need"), "resources": ("资源", "資源", "resources")}


def _format_of(path: Path) -> Format:
    fmt = _SUFFIX.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"cannot tell the format of {str(path)!r} from its suffix; "
            f"expected one of {sorted(_SUFFIX)}"
        )
    return fmt


_PUNCTUATION = set("，。、；：？！“”‘’（）《》【】…—·「」『』　")


def _oddities(text: str) -> int:
    """How many characters of a decoded text look like a wrong decoding.

    A character is fine when it is ASCII, common CJK punctuation or a
    full-width form, or a CJK ideograph that GB2312 or Big5 (the common
    simplified and traditional sets) can write; private-use characters,
    replacement characters, kana, Greek, box drawing and rare ideographs --
    what Big5 bytes turn into when read as GB18030 -- are not.
    """
    odd = 0
    for ch in set(text):
        if ch.isascii() or ch in _PUNCTUATION or "\uff01" <= ch <= "\uff5e":
            continue
        common = "\u4e00" <= ch <= "\u9fff"
        if common:
            for enc in ("gb2312", "big5"):
                try:
                    ch.encode(enc)
                    break
                except UnicodeEncodeError:
                    continue
            else:
                common = False
        if not common:
            odd += text.count(ch)
    return odd


def decode_text(data: bytes, name: str = "<bytes>", encoding: str | None = None) -> str:
    """Decode a text file: the given encoding, or the one rule below.

    The rule: a byte-order mark decides (UTF-8, UTF-16); else strict UTF-8;
    else every one of GB18030 and Big5 that decodes strictly, the one whose
    text has the fewest characters that look like a wrong decoding
    (private-use, replacement, kana, Greek, rare ideographs; see
    ``_oddities``), GB18030 on a tie. Nothing decodes: an error naming the
    encodings tried.

    Parameters
    ----------
    data : bytes
    name : str
        Named in messages.
    encoding : str, optional
        Decode with this codec only (strictly).

    Examples
    --------
    >>> decode_text("社区".encode("gb18030"))
    '社区'
    >>> decode_text("社區服務".encode("big5"))
    '社區服務'
    """
    if encoding is not None:
        try:
            return data.decode(encoding)
        except LookupError as err:
            raise InputError(f"`encoding` must be a text encoding; got {encoding!r}") from err
        except UnicodeDecodeError as err:
            raise InputError(f"{name} is not {encoding} text: {err}") from err
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict") if _utf8(data[3:]) else _fail(name)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return _fail(name)
    if _utf8(data):
        return data.decode("utf-8")
    decoded: list[tuple[int, int, str]] = []
    for enc in ENCODINGS[1:]:
        try:
            decoded.append((_oddities(text := data.decode(enc)), len(decoded), text))
        except UnicodeDecodeError:
            continue
    if not decoded:
        return _fail(name)
    return min(decoded)[2]


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _fail(name: str) -> str:
    raise InputError(
        f"cannot tell the text encoding of {name}: it is none of UTF-8 (with or without BOM), "
        "UTF-16 with BOM, GB18030 (GBK, GB2312) or Big5; save it as UTF-8, or pass "
        "encoding= (e.g. encoding='gb18030')"
    )


def _header_row(rows: Sequence[Sequence[Any]], table: str | None, source: str,
                lines: Sequence[int]) -> int:
    """Which of the first rows is the header row (0 unless a title sits above it).

    The rule: the row with the most cells that are known headers (at least
    two) among the first :data:`HEADER_SEARCH_ROWS`; the first row when it
    has that many. Two rows with as many: an error naming them.
    """
    forms = known_headers(table)
    scores = []
    for row in rows[:HEADER_SEARCH_ROWS]:
        score = 0
        for cell in row:
            if cell is None or (isinstance(cell, str) and not cell.strip()):
                continue
            if any(p in forms for p in header_parts(cell)):
                score += 1
        scores.append(score)
    if not scores or max(scores) < 2 or scores[0] == max(scores):
        return 0
    best = max(scores)
    tops = [k for k, v in enumerate(scores) if v == best]
    if len(tops) > 1:
        raise InputError(
            f"cannot tell the header row of {source}: lines "
            f"{', '.join(str(lines[k]) for k in tops)} all look like headers "
            f"({best} known headers each); remove the rows above the header row"
        )
    return tops[0]


def _to_frame(header: Sequence[Any], rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """A frame of object columns (repeated headers kept), empty text cells missing."""
    width = len(header)
    cols = list(zip(*rows)) if rows else [()] * width
    data = {}
    for k in range(width):
        col = np.array(cols[k], dtype=object) if rows else np.array([], dtype=object)
        if len(col):
            col[col == ""] = None
        data[k] = col
    frame = pd.DataFrame(data, columns=range(width))
    frame.columns = pd.Index([str(h).strip() if h is not None else f"column {k + 1}"
                              for k, h in enumerate(header)], dtype=object)
    return frame


def _read_csv(text: str, suffix: str, source: str, table: str | None
              ) -> tuple[pd.DataFrame, list[int]]:
    first = text.split("\n", 1)[0]
    sep = "\t" if suffix == ".tsv" or ("\t" in first and "," not in first) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    records: list[list[str]] = []
    starts: list[int] = []
    line = 1
    try:
        if '"' not in text:
            # No quoted cell, so no cell spans lines: record k starts on line k + 1.
            records = list(reader)
            starts = list(range(1, len(records) + 1))
        else:
            for record in reader:
                records.append(record)
                starts.append(line)
                line = reader.line_num + 1
    except csv.Error as err:
        raise InputError(
            f"cannot read line {line} of {source}: {err} (a quoted cell that is not closed: is "
            "the file cut short?)"
        ) from err
    while records and not any(c.strip() for c in records[-1]):
        records.pop()  # blank lines at the end of a file are no rows
        starts.pop()
    if not records:
        return pd.DataFrame(), []
    h = _header_row(records, table, source, starts)
    header = records[h]
    while header and not header[-1].strip() and len(header) > 1:
        header = header[:-1]  # trailing separators after the last header
    width = len(header)
    rows, lines = [], []
    failures = TableFailures(table or "table", [], None, source)
    bad_lines = []
    cut = not text.endswith(("\n", "\r"))
    for k in range(h + 1, len(records)):
        rec = records[k]
        if len(rec) == width:  # the common case; blank cells are validation's to see
            rows.append(rec)
            lines.append(starts[k])
            continue
        if not any(c.strip() for c in rec):
            rec = [""] * width  # an empty row: validation skips and reports it
        elif len(rec) > width and not any(c.strip() for c in rec[width:]):
            rec = rec[:width]
        if len(rec) != width:
            last = k == len(records) - 1
            hint = (" (the last row: is the file cut short?)" if last and cut and len(rec) < width
                    else " (a short row: every row needs all its separators, even for empty "
                         "cells)" if len(rec) < width else " (more cells than headers)")
            bad_lines.append(starts[k])
            failures.add(None, "<row>", f"{width} cells, one per header", f"{len(rec)} cells",
                         text=f"line {starts[k]} of {source} has {len(rec)} cells but the header "
                              f"has {width}{hint}")
            failures.rows[-1]["line"] = starts[k]
            continue
        rows.append(rec)
        lines.append(starts[k])
    failures.raise_if_any()
    return _to_frame(header, rows), lines


def _sheet_name(names: list[str], sheet: str | int | None, table: str | None, source: str,
                nonempty: list[str]) -> str:
    """The sheet to read: ``sheet``, a sheet named for the table, or the only one with cells."""
    if sheet is None:
        if table is not None:
            words = SHEET_WORDS[table]
            named = [n for n in names if any(w in header_key(n) for w in words)]
            if len(named) == 1:
                return named[0]
        else:
            named = []
        if len(nonempty) == 1:
            return nonempty[0]
        if len(names) == 1:
            return names[0]
        kind = {"needs": "需求清单", "resources": "资源清单"}.get(table or "", "the list")
        raise InputError(
            f"{source} has {len(names)} sheets {names}"
            + (f", {len(named)} named like {kind}" if named else f" and none is named like {kind}")
            + "; pass sheet= (a name, or a position from 0)"
        )
    if isinstance(sheet, bool) or not isinstance(sheet, (str, int, np.integer)):
        raise InputError(f"`sheet` must be a sheet name or a position from 0; got {sheet!r}")
    if isinstance(sheet, str):
        if sheet in names:
            return sheet
        near = [n for n in names if header_key(n) == header_key(sheet)]
        if len(near) == 1:
            return near[0]
        raise InputError(f"`sheet` must be one of the sheets of {source} {names}; got {sheet!r}")
    if not 0 <= int(sheet) < len(names):
        raise InputError(f"`sheet` must be a position from 0 to {len(names) - 1} "
                         f"(the sheets of {source} are {names}); got {sheet!r}")
    return names[int(sheet)]


def _read_xlsx(p: Path, sheet: str | int | None, table: str | None
               ) -> tuple[pd.DataFrame, list[int]]:
    import openpyxl

    source = p.name
    wb = openpyxl.load_workbook(p, data_only=True)
    names = list(wb.sheetnames)
    nonempty = [n for n in names if wb[n].max_row > 1 or wb[n].max_column > 1
                or wb[n].cell(1, 1).value is not None]
    name = _sheet_name(names, sheet, table, source, nonempty)
    ws = wb[name]
    grid = [list(r) for r in ws.iter_rows(min_row=1, min_col=1, values_only=True)]
    while grid and all(v is None or (isinstance(v, str) and not v.strip()) for v in grid[-1]):
        grid.pop()
    if not grid:
        return pd.DataFrame(), []
    h = _header_row(grid, table, source, list(range(1, len(grid) + 1)))
    # Formulas: openpyxl reads the value Excel cached when it last saved; a file
    # written by a program (or never recalculated) has none, and the cell would
    # read as empty.
    formulas = openpyxl.load_workbook(p, data_only=False)[name]
    uncached = [
        c.coordinate
        for row in formulas.iter_rows(min_row=h + 2, max_row=len(grid))
        for c in row
        if c.data_type == "f" and grid[c.row - 1][c.column - 1] is None
    ]
    if uncached:
        raise InputError(
            f"{len(uncached)} cell{'s' if len(uncached) > 1 else ''} of sheet {name!r} of "
            f"{source} hold a formula without a saved value: {', '.join(uncached[:20])}"
            + (f" and {len(uncached) - 20} more" if len(uncached) > 20 else "")
            + "; open the file in Excel or WPS and save it (that stores the values), or "
              "replace the formulas by their values"
        )
    # Merged cells: only the top-left cell holds the value; the rule is to fill
    # it into every cell of the range (a community merged down its rows), said once.
    merged = []
    for rng in ws.merged_cells.ranges:
        if rng.min_row <= h + 1:
            continue
        value = grid[rng.min_row - 1][rng.min_col - 1]
        for r in range(rng.min_row, min(rng.max_row, len(grid)) + 1):
            for c in range(rng.min_col, rng.max_col + 1):
                if c - 1 < len(grid[r - 1]):
                    grid[r - 1][c - 1] = value
        merged.append(str(rng.coord))
    if merged:
        warn(f"sheet {name!r} of {source} has merged cells ({', '.join(sorted(merged)[:10])}"
              f"{' ...' if len(merged) > 10 else ''}); the value of each was filled into "
              "every row of the range")
    header = list(grid[h])
    while len(header) > 1 and header[-1] is None:
        header.pop()
    width = len(header)
    rows = [list(r[:width]) + [None] * (width - len(r)) for r in grid[h + 1:]]
    extra = [
        f"{openpyxl.utils.get_column_letter(c + 1)}{k + h + 2}"
        for k, r in enumerate(grid[h + 1:]) for c in range(width, len(r)) if r[c] is not None
    ]
    if extra:
        raise InputError(
            f"sheet {name!r} of {source} has values in columns without a header: "
            f"{', '.join(extra[:20])}; give the column a header or clear the cells"
        )
    return _to_frame(header, rows), list(range(h + 2, h + 2 + len(rows)))


def _read_xls(p: Path, sheet: str | int | None, table: str | None
              ) -> tuple[pd.DataFrame, list[int]]:
    book = pd.read_excel(p, sheet_name=None, header=None, dtype=object, engine="xlrd")
    names = list(book)
    nonempty = [n for n in names if not book[n].empty]
    name = _sheet_name(names, sheet, table, p.name, nonempty)
    raw = book[name].astype(object).where(book[name].notna(), None)
    grid = raw.values.tolist()
    if not grid:
        return pd.DataFrame(), []
    h = _header_row(grid, table, p.name, list(range(1, len(grid) + 1)))
    return _to_frame(grid[h], grid[h + 1:]), list(range(h + 2, len(grid) + 1))


def read_table(
    path: PathLike,
    *,
    sheet: str | int | None = None,
    table: str | None = None,
    encoding: str | None = None,
) -> tuple[pd.DataFrame, int | list[int] | None]:
    """Read a file into a frame of raw cells, without validation.

    Parameters
    ----------
    path : str or path-like
        A ``.csv``/``.tsv``/``.txt``, ``.xlsx``/``.xlsm``, ``.xls`` (needs
        ``xlrd``), ``.json`` or ``.parquet`` file.
    sheet : str or int, optional
        The Excel sheet, by name or position from 0. None: the sheet named
        for ``table`` (需求清单 / 资源清单: a name containing 需求 or 资源),
        else the only sheet with cells; several and none recognisable: an
        error listing them.
    table : {"needs", "resources"}, optional
        Which list it is: picks the sheet, and the known headers by which
        the header row is found under a title.
    encoding : str, optional
        The encoding of a text file; by default the rule of :func:`decode_text`.

    Returns
    -------
    frame : pandas.DataFrame
        CSV and JSON cells as text (empty cells missing); Excel and Parquet
        cells with their stored types. Repeated headers are kept.
    line_offset : list of int or None
        The file line (Excel: the row number Excel shows) of every row, for
        error messages; None for JSON and Parquet.

    Raises
    ------
    InputError
        If the file is missing, of an unknown format or encoding, has short
        or cut rows, formulas without values, or an unclear sheet or header row.
    """
    p = Path(path)
    fmt = _format_of(p)
    if not p.is_file():
        raise InputError(f"no such file: {str(p)!r}")
    try:
        if fmt == "csv":
            text = decode_text(p.read_bytes(), p.name, encoding)
            return _read_csv(text, p.suffix.lower(), p.name, table)
        if fmt == "excel":
            return _read_xlsx(p, sheet, table)
        if fmt == "xls":
            return _read_xls(p, sheet, table)
        if fmt == "json":
            text = decode_text(p.read_bytes(), p.name, encoding)
            # json + DataFrame rather than read_json: no type or date guessing at all.
            data = json.loads(text)
            if not isinstance(data, (list, dict)):
                raise InputError(f"{str(p)!r} must hold a list of records or a dict of columns")
            return pd.DataFrame(data), None
        return pd.read_parquet(p), None
    except InputError:
        raise
    except ImportError as err:
        extra = {"excel": "excel", "xls": "xls"}.get(fmt, "parquet")
        raise InputError(
            f"reading {p.suffix} files needs an optional dependency: "
            f"pip install 'matchcore[{extra}]' ({err})"
        ) from err
    except (ValueError, KeyError, OSError, json.JSONDecodeError) as err:
        raise InputError(f"cannot read {str(p)!r} as {fmt}: {err}") from err


def _read(
    data: pd.DataFrame | PathLike, table: str, sheet: str | int | None,
    encoding: str | None, **options: Any,
) -> pd.DataFrame:
    validate = validate_needs if table == "needs" else validate_resources
    if isinstance(data, pd.DataFrame):
        return validate(data, **options)
    if not isinstance(data, (str, os.PathLike)):
        raise InputError(
            f"expected a DataFrame or a path to a file; got {type(data).__name__}"
        )
    frame, offset = read_table(data, sheet=sheet, table=table, encoding=encoding)
    return validate(frame, source=Path(data).name, line_offset=offset, **options)


def read_needs(
    data: pd.DataFrame | PathLike,
    *,
    sheet: str | int | None = None,
    columns: Mapping[Any, str | None] | None = None,
    taxonomy: Vocabulary | None = None,
    dayfirst: bool | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read and validate a needs list (需求清单).

    Parameters
    ----------
    data : DataFrame or path
        A frame, or a CSV / Excel / JSON / Parquet file. Chinese headers
        (需求编号, 类别, 需求数量, ...) are accepted; a title row above the
        header row is skipped.
    sheet : str or int, optional
        The Excel sheet, by name or position from 0; by default the sheet
        named like 需求清单 (a name containing 需求), else the only sheet
        with cells (several and none recognisable: an error listing them).
    columns : mapping, optional
        ``{your header: column}`` for headers matchcore does not know
        (see :func:`matchcore.schema.validate_needs`).
    taxonomy : Taxonomy, optional
        Whose categories the cells are (default ``Taxonomy.default()``): its
        Chinese names and synonyms become its categories.
    dayfirst : bool, optional
        How ``05/03/2025`` reads; None (default) makes such dates errors.
    timezone : str, default "Asia/Shanghai"
        Naive times are local times there; aware ones are converted to it.
    encoding : str, optional
        The encoding of a CSV / JSON file; by default UTF-8, GB18030 or Big5
        by the rule of :func:`matchcore.io.decode_text`.

    Returns
    -------
    pandas.DataFrame
        The validated needs: canonical columns, parsed values, defaults.

    Raises
    ------
    InputError
        Naming every bad row (by id, row and file line), column and value.

    See Also
    --------
    read_resources, matchcore.schema.validate_needs

    Examples
    --------
    >>> import matchcore as mc
    >>> needs, _ = mc.synthetic.tiny()
    >>> mc.read_needs(needs)["demand"].sum()
    np.int64(9)
    """
    return _read(data, "needs", sheet, encoding, columns=columns, taxonomy=taxonomy,
                 dayfirst=dayfirst, timezone=timezone)


def read_resources(
    data: pd.DataFrame | PathLike,
    *,
    sheet: str | int | None = None,
    columns: Mapping[Any, str | None] | None = None,
    taxonomy: Vocabulary | None = None,
    dayfirst: bool | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read and validate a resources list (资源清单).

    Parameters
    ----------
    data : DataFrame or path
        A frame, or a CSV / Excel / JSON / Parquet file. Chinese headers
        (资源编号, 类别, 可供数量, ...) are accepted.
    sheet : str or int, optional
        The Excel sheet, by name or position from 0; by default the sheet
        named like 资源清单 (a name containing 资源), else the only sheet
        with cells (several and none recognisable: an error listing them).
    columns : mapping, optional
        ``{your header: column}`` for headers matchcore does not know
        (see :func:`matchcore.schema.validate_needs`).
    taxonomy : Taxonomy, optional
        Whose categories the cells are (default ``Taxonomy.default()``): its
        Chinese names and synonyms become its categories.
    dayfirst : bool, optional
        How ``05/03/2025`` reads; None (default) makes such dates errors.
    timezone : str, default "Asia/Shanghai"
        Naive times are local times there; aware ones are converted to it.
    encoding : str, optional
        The encoding of a CSV / JSON file; by default UTF-8, GB18030 or Big5
        by the rule of :func:`matchcore.io.decode_text`.

    Returns
    -------
    pandas.DataFrame
        The validated resources.

    Raises
    ------
    InputError
        Naming every bad row (by id, row and file line), column and value.

    See Also
    --------
    read_needs

    Examples
    --------
    >>> import matchcore as mc
    >>> _, resources = mc.synthetic.tiny()
    >>> len(mc.read_resources(resources))
    4
    """
    return _read(data, "resources", sheet, encoding, columns=columns, taxonomy=taxonomy,
                 dayfirst=dayfirst, timezone=timezone)



def write_table(frame: pd.DataFrame, path: PathLike) -> Path:
    """Write a frame atomically as CSV (UTF-8 with BOM), Excel, JSON or Parquet.

    The format follows the suffix. The file is written to a temporary file in
    the same folder and then renamed, so a reader never sees half a file.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table to write.
    path : str or path-like
        Destination; its suffix picks the format.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "projects.csv"
    >>> _ = write_table(pd.DataFrame({"社区": ["东湖"]}), out)
    >>> out.read_bytes()[:3] == b"\\xef\\xbb\\xbf"
    True
    """
    p = Path(path)
    fmt = _format_of(p)
    try:
        with atomic_file(p) as tmp:
            if fmt == "csv":
                sep = "\t" if p.suffix.lower() == ".tsv" else ","
                frame.to_csv(tmp, index=False, encoding="utf-8-sig", sep=sep)
            elif fmt == "excel":
                frame.to_excel(tmp, index=False)
            elif fmt == "json":
                frame.to_json(tmp, orient="records", force_ascii=False, date_format="iso",
                              indent=1)
            else:
                frame.to_parquet(tmp, index=False)
    except ImportError as err:
        extra = "excel" if fmt == "excel" else "parquet"
        raise InputError(
            f"writing {fmt} files needs an optional dependency: "
            f"pip install 'matchcore[{extra}]' ({err})"
        ) from err
    return p


@contextmanager
def atomic_file(path: Path, suffix: str | None = None) -> Iterator[str]:
    """A temporary file beside ``path`` that replaces it when the block succeeds.

    Readers never see a half-written file: on any error the temporary file is
    removed and ``path`` is left as it was. The file gets the permissions a
    plain ``open()`` would give (mkstemp alone makes it private, 0600).
    Internal: every writer of the package (tables, GeoJSON, PNG) goes through it.

    Parameters
    ----------
    path : pathlib.Path
        The file to write; its folder is created when missing.
    suffix : str, optional
        Suffix of the temporary file; ``path``'s own by default (some writers
        pick the format from it).

    Yields
    ------
    str
        The temporary file's path, to write to.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
    >>> with atomic_file(out) as tmp:
    ...     _ = pathlib.Path(tmp).write_text("ok")
    >>> out.read_text()
    'ok'
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=path.suffix if suffix is None else suffix, dir=path.parent
    )
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
