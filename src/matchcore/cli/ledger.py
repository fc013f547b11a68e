"""``matchcore ledger``: keep the project list (项目清单) across rounds in a ledger file.

Actions: ``init``, ``add`` (match two lists and record the round), ``rematch``
(match again around the projects already in progress or done), ``status``
(change a project's status, show one project, or count projects by status and
community), ``export`` (the list as CSV, Excel, JSON or GeoJSON, per
community, and status maps) and ``report`` (the dispatch report: an Excel
workbook and an HTML page; with ``--maps``, the public maps). :func:`register`
adds them to the ``matchcore`` parser; they follow its conventions: exit code 0 ok, 2 bad input (the
:class:`~matchcore.InputError` message, no traceback), 1 other errors.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from ..ledger.plan import PREVIEW_FRAMES
from .common import (
    MATCH_OPTIONS,
    Progress,
    add_match_options,
    check_output_file,
    check_output_folder,
    match_from_args,
    options_from_args,
    summary,
)

__all__ = ["register"]

#: Options of ``matchcore match`` that ``rematch`` takes from the last round when not given.
_REUSED = MATCH_OPTIONS


def _open(path: str, *, create: bool = False) -> Any:
    from ..errors import InputError
    from ..ledger.store import ProjectLedger

    p = Path(path)
    if not create and not p.is_file():
        raise InputError(
            f"no ledger at {str(p)!r}; create it with `matchcore ledger init {path}`"
        )
    return ProjectLedger(p)


def _quiet(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "quiet", False))


# --------------------------------------------------------------------- actions
def cmd_init(args: argparse.Namespace) -> int:
    existed = Path(args.ledger).is_file() and Path(args.ledger).stat().st_size > 0
    with _open(args.ledger, create=True) as led:
        if existed:
            print(f"{args.ledger}: already a matchcore ledger ({led.n_rounds} rounds, "
                  f"{len(led.projects())} projects); left unchanged")
        else:
            print(f"created ledger {args.ledger}")
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    import matchcore as mc

    progress = Progress(_quiet(args))
    t = time.perf_counter()
    with _open(args.ledger) as led:
        options_from_args(args)  # every option checked before any work
        progress("reading", 0.0)
        needs, resources = mc.read_needs(args.needs), mc.read_resources(args.resources)
        result = match_from_args(args, needs, resources, progress)
        rnd = led.add_round(result, by=args.by)
        if not _quiet(args):
            print(summary(result, time.perf_counter() - t))
        print(f"round {rnd} recorded in {args.ledger}: {len(result.projects):,} projects")
    return 0


def cmd_rematch(args: argparse.Namespace) -> int:
    import matchcore as mc

    progress = Progress(_quiet(args))
    t = time.perf_counter()
    with _open(args.ledger) as led:
        # Options not given here are the last round's (ProjectLedger.rematch's rule).
        last = led.round_options()
        options = options_from_args(args, last)
        reused = [f"{name.replace('_', '-')} {getattr(last, name)}" for name in _REUSED
                  if getattr(args, name) is None and getattr(last, name) is not None]
        extra: dict[str, Any] = {}
        if args.stickiness is not None:
            extra["stickiness"] = args.stickiness
        if args.drop_resource:
            extra["dropped_resources"] = list(args.drop_resource)
        progress("reading", 0.0)
        needs = mc.read_needs(args.needs) if args.needs else None
        resources = mc.read_resources(args.resources) if args.resources else None
        progress("matching", 0.1)
        report = led.rematch(needs, resources, options, by=args.by, dry_run=args.dry_run,
                             **extra)
        progress("matched", 1.0)
        if not _quiet(args):
            if reused:
                last_round = led.n_rounds - (0 if args.dry_run else 1)
                print(f"options of round {last_round}: " + ", ".join(reused))
            print(summary(report.result, time.perf_counter() - t))
        done = (f"round {report.round} (dry run: nothing written to {args.ledger})"
                if args.dry_run else f"round {report.round} recorded in {args.ledger}")
        print(f"{done}: {report.n_new:,} new, "
              f"{report.n_changed:,} changed, {report.n_dropped:,} cancelled (no units left); "
              f"{report.n_affected:,} affected by dropped resources, "
              f"{report.n_reassigned:,} re-assigned, {report.n_to_backup:,} to a backup")
        if args.preview is not None and report.preview is not None:
            folder = Path(args.preview)
            folder.mkdir(parents=True, exist_ok=True)
            for name in PREVIEW_FRAMES:
                frame = getattr(report.preview, name)
                path = mc.write_table(frame, folder / f"{name}.csv")
                print(f"wrote {path} ({len(frame):,} rows)")
    return 0


def _status_table(led: Any) -> str:
    import pandas as pd

    from ..schema import STATUSES

    projects = led.projects()
    n = led.n_rounds
    head = f"{led.path}: {n} round{'' if n == 1 else 's'}, {len(projects):,} projects"
    if not len(projects):
        return head
    community = projects["community"].fillna("(none)")
    table = pd.crosstab(community, projects["status"]).reindex(
        columns=list(STATUSES), fill_value=0
    )
    table.loc["total"] = table.sum()
    table["total"] = table.sum(axis=1)
    table.columns = pd.Index([f"{k} {v}" for k, v in STATUSES.items()] + ["total"])
    table.index.name = "community"
    with pd.option_context("display.unicode.east_asian_width", True, "display.width", 160):
        return head + "\n" + table.to_string()


def cmd_status(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..errors import InputError
    from ..ledger.schema import parse_status
    from ..schema import STATUSES

    with _open(args.ledger) as led:
        if args.project_id is None:
            if args.by is not None or args.note is not None:
                raise InputError("--by and --note need PROJECT_ID and STATUS")
            print(_status_table(led))
            return 0
        if args.status is None:
            if args.by is not None or args.note is not None:
                raise InputError(f"--by and --note need a STATUS for {args.project_id!r}")
            row = led.projects().set_index("project_id")
            if args.project_id not in row.index:
                raise InputError(f"unknown project {args.project_id!r} in {args.ledger}")
            p = row.loc[args.project_id]
            print(f"{args.project_id}: {p['status']} ({STATUSES[p['status']]}), need "
                  f"{p['need_id']}, {p['community']}, {p['category']}, "
                  f"{int(p['assigned'])}/{int(p['demand'])} units from {p['resources']}")
            history = led.history(args.project_id).drop(columns=["id", "project_id"])
            history = history.astype(object).where(history.notna(), "")
            with pd.option_context("display.unicode.east_asian_width", True,
                                   "display.width", 160):
                print(history.to_string(index=False))
            return 0
        status = parse_status(args.status) or args.status.strip()
        before = led.projects().set_index("project_id")["status"].get(args.project_id)
        led.set_status(args.project_id, status, by=args.by, note=args.note)
        after = led.projects().set_index("project_id")["status"].get(args.project_id)
        if not _quiet(args):
            print(f"{args.project_id}: {before} -> {after} ({STATUSES.get(after, after)})")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ..errors import InputError

    if args.maps:
        try:
            import matplotlib

            matplotlib.use("Agg")
        except ImportError as err:
            raise InputError(
                f"--maps needs matplotlib: pip install 'matchcore[plot]' ({err})"
            ) from err
    if args.per_community and args.community is not None:
        raise InputError("give --community or --per-community, not both")
    if args.per_community:
        check_output_folder(args.out, "OUT")
    elif not args.out.endswith(("/", os.sep)):
        check_output_file(args.out, "OUT")
    if args.maps:
        check_output_folder(args.maps, "--maps")
    if args.out.endswith(("/", os.sep)) and not args.per_community:
        Path(args.out).mkdir(parents=True, exist_ok=True)  # "out/": a folder, projects.csv
    for_excel = args.chinese_headers or args.local_time
    if for_excel and (args.per_community or (args.format or "csv") not in ("csv", "xlsx")):
        raise InputError(
            "--chinese-headers and --local-time are for one CSV or Excel file "
            "(not with --per-community, GeoJSON, JSON or Parquet)"
        )
    with _open(args.ledger) as led:
        if args.per_community:
            written = led.export_all(args.out, format=args.format or "csv")
        elif for_excel:
            written = [_export_for_excel(led, args)]
        else:
            written = [led.export(args.out, community=args.community, format=args.format)]
        maps = list(led.status_maps(args.maps).values()) if args.maps else []
    if not _quiet(args):
        for path in [*written, *maps]:
            print(f"wrote {path}")
    return 0


def _export_for_excel(led: Any, args: argparse.Namespace) -> Path:
    """The project list as staff open it in Excel: local times, optionally Chinese headers."""
    import pandas as pd

    from ..errors import InputError
    from ..io import write_table
    from .common import CHINESE_HEADERS

    out = Path(args.out)
    suffix = f".{args.format or 'csv'}"
    if out.is_dir() or args.out.endswith(("/", os.sep)):
        out = out / f"projects{suffix}"
    elif out.suffix.lower() not in (".csv", ".xlsx"):
        raise InputError(f"OUT must end in .csv or .xlsx here; got {str(out)!r}")
    frame = led.projects(community=args.community)
    if args.community is not None and not len(frame):
        known = sorted({str(c) for c in led.projects()["community"].dropna()})
        raise InputError(f"`community` must be one of the ledger's communities "
                         f"({', '.join(known) or 'none yet'}); got {args.community!r}")
    if args.local_time:
        for col in ("created_at", "updated_at"):
            if col in frame.columns:
                stamps = pd.to_datetime(frame[col], utc=True, format="ISO8601")
                # Local wall-clock time without a zone: what Excel reads as a date and time.
                frame[col] = stamps.dt.tz_convert(_local_zone()).dt.strftime("%Y-%m-%d %H:%M:%S")
    if args.chinese_headers:
        frame = frame.rename(columns=CHINESE_HEADERS)
    return write_table(frame, out)


def _local_zone() -> Any:
    import datetime

    return datetime.datetime.now().astimezone().tzinfo


def cmd_report(args: argparse.Namespace) -> int:
    since: int | str | None = args.since
    if isinstance(since, str) and since.strip().isdigit():
        since = int(since)
    with _open(args.ledger) as led:
        files = led.report(args.out, since, as_of=args.as_of, by=args.by)
        maps = led.public_maps(args.maps, as_of=args.as_of) if args.maps else {}
    if not _quiet(args):
        for path in [*files.values(), *maps.values()]:
            print(f"wrote {path}")
    return 0


# ----------------------------------------------------------------------- parser
def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("ledger", metavar="LEDGER", help="the ledger file (SQLite)")
    # Also accepted after the action; the top-level -q still works.
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                   help="no progress bar and no summary")


def register(subparsers: Any) -> None:
    """Add ``matchcore ledger ...`` to the ``matchcore`` parser's subcommands.

    Parameters
    ----------
    subparsers : argparse subparsers action
        What ``ArgumentParser.add_subparsers`` returned.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="matchcore")
    >>> register(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["ledger", "status", "l.db", "P-N1", "in_progress"]).status
    'in_progress'
    """
    ledger = subparsers.add_parser(
        "ledger", help="keep the project list across rounds (init, add, rematch, status, export, "
             "report)",
        description="Keep the project list (项目清单) in a ledger file: record rounds, match "
                    "again around projects in progress, change statuses, export.",
        epilog="Exit codes: 0 ok, 2 bad input, 1 other errors.",
    )
    sub = ledger.add_subparsers(dest="ledger_command", metavar="ACTION")
    sub.required = True

    p = sub.add_parser("init", help="create an empty ledger",
                       description="Create LEDGER (an existing ledger is left unchanged).")
    _common(p)
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("add", help="match two lists and record the round",
                       description="Match NEEDS to RESOURCES and record the result as a new "
                                   "round; its projects start as not_started (尚未开工).")
    _common(p)
    p.add_argument("--needs", required=True, metavar="FILE", help="needs list")
    p.add_argument("--resources", required=True, metavar="FILE", help="resources list")
    p.add_argument("--by", help="who records it (audit log)")
    add_match_options(p)
    p.set_defaults(func=cmd_add)

    p = sub.add_parser(
        "rematch", help="match again, keeping projects in progress and done fixed",
        description="Match the last round's open needs (plus --needs) to the capacity left "
                    "(plus --resources); match options not given (weights and taxonomy "
                    "included) are the last round's.",
    )
    _common(p)
    p.add_argument("--needs", metavar="FILE", help="needs to add (an id given again replaces it)")
    p.add_argument("--resources", metavar="FILE", help="resources to add or replace")
    p.add_argument("--by", help="who runs it (audit log)")
    p.add_argument("--stickiness", type=float, default=None, metavar="S",
                   help="score bonus for keeping a not-started project's resources")
    p.add_argument("--drop-resource", action="extend", nargs="+", metavar="ID",
                   help="resources withdrawn since the last round")
    p.add_argument("--dry-run", action="store_true",
                   help="plan and match, but write nothing to the ledger (a preview)")
    p.add_argument("--preview", metavar="FOLDER",
                   help="write what the round does (or would do, with --dry-run) as CSV: "
                        + ", ".join(f"{name}.csv" for name in PREVIEW_FRAMES))
    add_match_options(p)
    p.set_defaults(func=cmd_rematch)

    p = sub.add_parser(
        "status", help="change a project's status, or count projects by status",
        description="With PROJECT_ID and STATUS: move the project (not_started -> in_progress "
                    "-> completed, or cancelled; Chinese words accepted). With PROJECT_ID "
                    "only: the project and its history. Alone: projects by community and "
                    "status.",
    )
    _common(p)
    p.add_argument("project_id", nargs="?", metavar="PROJECT_ID", help="the project")
    p.add_argument("status", nargs="?", metavar="STATUS",
                   help="not_started, in_progress, completed or cancelled")
    p.add_argument("--by", help="who made the change")
    p.add_argument("--note", help="why")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser(
        "export", help="write the project list (CSV, Excel, JSON, GeoJSON) and status maps",
        description="Write the project list to OUT (its suffix picks the format: .csv, "
                    ".xlsx, .json, .geojson; a folder gets projects.csv).",
    )
    _common(p)
    p.add_argument("out", metavar="OUT", help="output file, or folder")
    p.add_argument("--community", help="only this community's projects")
    p.add_argument("--format", choices=["csv", "xlsx", "json", "geojson", "parquet"],
                   help="the format, whatever OUT's suffix")
    p.add_argument("--per-community", action="store_true",
                   help="OUT is a folder: the whole list and one file per community")
    p.add_argument("--maps", metavar="DIR",
                   help="also draw status maps (whole street and per community) in DIR")
    p.add_argument("--chinese-headers", action="store_true",
                   help="Chinese column names (项目编号, 社区, 状态, ...), for CSV or Excel")
    p.add_argument("--local-time", action="store_true",
                   help="created_at / updated_at in this machine's local time, as Excel reads "
                        "them (they are stored in UTC)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "report", help="write the dispatch report (Excel and HTML) and the public maps",
        description="Write the dispatch report (项目调度会通报) to FOLDER: projects by "
                    "status per community, changes since the last report, overdue items "
                    "with owners, open problems, unmet needs by reason.",
    )
    _common(p)
    p.add_argument("-o", "--out", required=True, metavar="FOLDER",
                   help="output folder (or an .xlsx file)")
    p.add_argument("--since", metavar="ROUND|TIME",
                   help="report changes after this round or time (default: the last report)")
    p.add_argument("--as-of", metavar="DATE", help="the day deadlines are measured against")
    p.add_argument("--by", help="who makes the report (audit log)")
    p.add_argument("--maps", metavar="DIR",
                   help="also write the public maps (street and per community) in DIR")
    p.set_defaults(func=cmd_report)
