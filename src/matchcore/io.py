"""Reading and writing the three lists: CSV, Excel, JSON and Parquet.

Text files are read as UTF-8, UTF-8 with a BOM, or GB18030 (what Excel on a
Chinese Windows machine writes); every cell is read as text and parsed by
:mod:`matchcore.schema`, so nothing is guessed. CSV is written with a BOM so
that Excel opens Chinese text correctly.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from .errors import InputError
from .schema import validate_needs, validate_resources

__all__ = ["read_needs", "read_resources", "read_table", "write_table"]

PathLike = str | os.PathLike
Format = Literal["csv", "excel", "json", "parquet"]

_SUFFIX: dict[str, Format] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
}
ENCODINGS = ("utf-8-sig", "gb18030")


def _format_of(path: Path) -> Format:
    fmt = _SUFFIX.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"cannot tell the format of {str(path)!r} from its suffix; "
            f"expected one of {sorted(_SUFFIX)}"
        )
    return fmt


def decode_text(data: bytes, name: str = "<bytes>") -> str:
    """Decode bytes as UTF-8 (with or without BOM), falling back to GB18030.

    Examples
    --------
    >>> decode_text("社区".encode("gb18030"))
    '社区'
    """
    for enc in ENCODINGS:
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise InputError(f"{name} is neither UTF-8 nor GB18030 text")


def _row_lines(text: str, sep: str, n_rows: int) -> list[int] | int:
    """The file line on which each data row of a CSV text starts (blank lines skipped)."""
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    starts: list[int] = []
    header = False
    line = 1
    for record in reader:
        if record and header:
            starts.append(line)
        header = header or bool(record)
        line = reader.line_num + 1
    return starts if len(starts) == n_rows else 2


def read_table(
    path: PathLike, *, sheet: str | int = 0
) -> tuple[pd.DataFrame, int | list[int] | None]:
    """Read a file into a frame of raw cells, without validation.

    Parameters
    ----------
    path : str or path-like
        A ``.csv``/``.tsv``/``.txt``, ``.xlsx``, ``.json`` or ``.parquet`` file.
    sheet : str or int, default 0
        The Excel sheet.

    Returns
    -------
    frame : pandas.DataFrame
        CSV and JSON cells as text (empty cells missing); Excel and Parquet
        cells with their stored types.
    line_offset : int, list of int or None
        The file line of the first data row, for error messages (CSV: 2;
        Excel: 2, the row number Excel shows), or None; for a CSV whose
        quoted cells span lines (or with blank lines), the line of every row.

    Raises
    ------
    InputError
        If the file is missing, of an unknown format, or not readable text.
    """
    p = Path(path)
    fmt = _format_of(p)
    if not p.is_file():
        raise InputError(f"no such file: {str(p)!r}")
    try:
        if fmt == "csv":
            text = decode_text(p.read_bytes(), str(p))
            sep = "\t" if p.suffix.lower() == ".tsv" else ","
            frame = pd.read_csv(
                io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                na_values=[""], skipinitialspace=False,
            )
            if text.count("\n") > len(frame) + 1:
                # Quoted cells spanning lines, or blank lines: row k is not line k + 2.
                return frame, _row_lines(text, sep, len(frame))
            return frame, 2
        if fmt == "excel":
            frame = pd.read_excel(p, sheet_name=sheet, dtype=object)
            return frame, 2
        if fmt == "json":
            text = decode_text(p.read_bytes(), str(p))
            # json + DataFrame rather than read_json: no type or date guessing at all.
            data = json.loads(text)
            if not isinstance(data, (list, dict)):
                raise InputError(f"{str(p)!r} must hold a list of records or a dict of columns")
            return pd.DataFrame(data), None
        return pd.read_parquet(p), None
    except InputError:
        raise
    except ImportError as err:
        extra = "excel" if fmt == "excel" else "parquet"
        raise InputError(
            f"reading {fmt} files needs an optional dependency: "
            f"pip install 'matchcore[{extra}]' ({err})"
        ) from err
    except (ValueError, pd.errors.ParserError, json.JSONDecodeError) as err:
        raise InputError(f"cannot read {str(p)!r} as {fmt}: {err}") from err


def _read(data: pd.DataFrame | PathLike, validate: Any, sheet: str | int) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return validate(data)
    if not isinstance(data, (str, os.PathLike)):
        raise InputError(
            f"expected a DataFrame or a path to a file; got {type(data).__name__}"
        )
    frame, offset = read_table(data, sheet=sheet)
    return validate(frame, source=Path(data).name, line_offset=offset)


def read_needs(data: pd.DataFrame | PathLike, *, sheet: str | int = 0) -> pd.DataFrame:
    """Read and validate a needs list (需求清单).

    Parameters
    ----------
    data : DataFrame or path
        A frame, or a CSV / Excel / JSON / Parquet file. Chinese headers
        (需求编号, 类别, 需求数量, ...) are accepted.
    sheet : str or int, default 0
        The Excel sheet to read.

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
    return _read(data, validate_needs, sheet)


def read_resources(data: pd.DataFrame | PathLike, *, sheet: str | int = 0) -> pd.DataFrame:
    """Read and validate a resources list (资源清单).

    Parameters
    ----------
    data : DataFrame or path
        A frame, or a CSV / Excel / JSON / Parquet file. Chinese headers
        (资源编号, 类别, 可供数量, ...) are accepted.
    sheet : str or int, default 0
        The Excel sheet to read.

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
    return _read(data, validate_resources, sheet)


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
