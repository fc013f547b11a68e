"""Opening a ledger file safely, its version stamp, and SQLite's errors as matchcore's.

:func:`open_connection` checks what a file is and creates or migrates its
schema under the write lock, so two processes opening a new ledger at once
cannot see it half made; a file that stays locked is busy
(:class:`~matchcore.LedgerBusy`), never called corrupt.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from ..errors import InputError, LedgerBusy, MatchcoreError
from .record import write_audit
from .schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, stamp, utc_now

__all__ = ["bump", "busy_error", "is_locked", "open_connection", "stamp"]


def is_locked(err: sqlite3.Error) -> bool:
    """Whether an SQLite error says the file is locked or busy."""
    text = str(err).lower()
    return isinstance(err, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def busy_error(path: Path, timeout: float, err: sqlite3.Error) -> LedgerBusy:
    """The :class:`LedgerBusy` for a lock that outlived ``timeout``."""
    return LedgerBusy(
        f"ledger {str(path)!r} is busy: another process held its lock longer than "
        f"timeout={timeout:g} s ({err}); nothing was written: retry, or open the "
        "ledger with a longer timeout"
    )


def bump(c: sqlite3.Connection) -> None:
    """Advance the version stamp (inside the caller's write transaction)."""
    c.execute(
        "INSERT INTO meta VALUES ('writes', '1') ON CONFLICT (key)"
        " DO UPDATE SET value = CAST(value AS INTEGER) + 1"
    )


def _check_file(path: Path) -> None:
    if not path.exists():
        return
    if not path.is_file():
        raise InputError(f"ledger path {str(path)!r} is not a file")
    if path.stat().st_size == 0:
        return
    with open(path, "rb") as fh:
        header = fh.read(16)
    if header != b"SQLite format 3\x00":
        raise InputError(
            f"{str(path)!r} is not a matchcore ledger: not an SQLite database "
            f"(first bytes {header[:16]!r})"
        )


def _identity(c: sqlite3.Connection) -> tuple[int, int, int]:
    """(application_id, user_version, number of tables), read in the caller's transaction."""
    return (
        c.execute("PRAGMA application_id").fetchone()[0],
        c.execute("PRAGMA user_version").fetchone()[0],
        c.execute("SELECT count(*) FROM sqlite_master").fetchone()[0],
    )


def _check_identity(path: Path, app_id: int, version: int, n_tables: int) -> None:
    if app_id != APPLICATION_ID and n_tables:
        raise InputError(
            f"{str(path)!r} is an SQLite database but not a matchcore ledger "
            f"(application_id {app_id}, expected {APPLICATION_ID}; "
            f"{n_tables} foreign table(s))"
        )
    if version > SCHEMA_VERSION:
        raise InputError(
            f"ledger {str(path)!r} has schema version {version}; this matchcore "
            f"reads up to {SCHEMA_VERSION} (upgrade matchcore)"
        )


def _create_or_migrate(c: sqlite3.Connection, path: Path) -> None:
    """Create or upgrade the schema under the write lock, re-checking what the file is."""
    c.execute("BEGIN IMMEDIATE")
    try:
        app_id, version, n_tables = _identity(c)
        # Another process may have created or migrated the file meanwhile.
        _check_identity(path, app_id, version, n_tables)
        for step in range(version + 1, SCHEMA_VERSION + 1):
            for sql in MIGRATIONS[step]:
                c.execute(sql)
            c.execute(f"PRAGMA user_version = {step}")
            c.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(step),))
        if version < SCHEMA_VERSION:
            write_audit(c, "migrate",
                        detail={"from_version": version, "to_version": SCHEMA_VERSION})
            bump(c)
        if version == 0:
            c.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            c.execute("INSERT OR REPLACE INTO meta VALUES ('application', 'matchcore-ledger')")
            c.execute("INSERT OR REPLACE INTO meta VALUES ('created_at', ?)", (utc_now(),))
    except BaseException:
        c.execute("ROLLBACK")
        raise
    c.execute("COMMIT")


def _set_wal(c: sqlite3.Connection, timeout: float) -> None:
    """WAL mode, waiting (up to ``timeout``) while another opener holds the file."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            c.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as err:
            if not is_locked(err) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def _prepare(c: sqlite3.Connection, path: Path, timeout: float) -> None:
    c.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    # One read transaction: the application id and the tables are seen together,
    # never a half-created file (its creator sets both in one transaction).
    c.execute("BEGIN")
    try:
        identity = _identity(c)
    finally:
        c.execute("COMMIT")
    _check_identity(path, *identity)
    if identity[1] < SCHEMA_VERSION:
        _create_or_migrate(c, path)
    check = c.execute("PRAGMA quick_check").fetchone()[0]
    if check != "ok":
        raise InputError(f"{str(path)!r} is a damaged matchcore ledger: {check}")
    _set_wal(c, timeout)
    c.execute("PRAGMA synchronous = FULL")
    # Deleted content is zeroed where SQLite writes the page anyway (b-tree pages), not
    # on pages that go to the freelist: builds that default to secure_delete = ON
    # (Debian's, Python's wheels) would otherwise write zeros over every replaced list
    # snapshot and warm state (~50 MB a round at city_100k) and then checkpoint them.
    c.execute("PRAGMA secure_delete = FAST")
    c.execute("PRAGMA foreign_keys = ON")


def open_connection(path: Path, timeout: float) -> sqlite3.Connection:
    """A connection to the ledger at ``path``, created or migrated when needed.

    Raises
    ------
    InputError
        ``path`` is a folder, not SQLite, another application's database, a
        damaged or truncated file, or a newer schema.
    LedgerBusy
        Another process kept the file locked longer than ``timeout`` seconds.
    """
    _check_file(path)
    try:
        c = sqlite3.connect(str(path), timeout=timeout, isolation_level=None,
                            check_same_thread=False)
    except sqlite3.Error as err:
        raise InputError(f"cannot open ledger {str(path)!r}: {err}") from err
    try:
        _prepare(c, path, timeout)
    except sqlite3.Error as err:
        c.close()
        if is_locked(err):
            raise busy_error(path, timeout, err) from err
        raise InputError(
            f"{str(path)!r} is not a readable matchcore ledger "
            f"(corrupt or truncated SQLite file: {err})"
        ) from err
    except MatchcoreError:
        c.close()
        raise
    return c
