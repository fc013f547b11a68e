"""The ``matchcore`` command: demo, match, generate, validate, explain.

Every subcommand is dispatched as ``args.func(args)`` and returns an exit code:
0 ok, 2 bad input (the :class:`~matchcore.InputError` message, no traceback),
1 any other error. Outputs are written atomically with
:func:`matchcore.write_table`; nothing is written until the work succeeded.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from .common import (
    Progress,
    add_match_options,
    add_reading_options,
    check_output_folder,
    match_from_args,
    non_negative_int,
    options_from_args,
    reading_from_args,
    sheet_arg,
    summary,
    write_result,
)
from .ledger import register

__all__ = ["build_parser", "main"]


def _map(result: Any, path: Path) -> str:
    from ..plot import district_map
    from ..plot.base import save_png

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:
        return f"map skipped: plotting is not available ({err}); pip install 'matchcore[plot]'"
    fig: Any = district_map(result).figure
    try:
        save_png(fig, path, 120)
    finally:
        plt.close(fig)
    return f"map        {path}"


# --------------------------------------------------------------------- commands
def cmd_demo(args: argparse.Namespace) -> int:
    from matchcore import synthetic

    out = check_output_folder(args.output)
    if args.max_distance is None:
        args.max_distance = synthetic.suggested_max_distance("seed_street")
    options_from_args(args)  # every option checked before any work
    progress = Progress(args.quiet)
    t = time.perf_counter()
    progress("generating", 0.0)
    needs, resources = synthetic.district("seed_street", seed=args.seed)
    result = match_from_args(args, needs, resources, progress)
    seconds = time.perf_counter() - t
    print(f"matchcore demo: the synthetic street 'seed_street' (seed {args.seed}), "
               f"max_distance {args.max_distance:g} m")
    print(summary(result, seconds))
    written = write_result(result, out, chinese_headers=args.chinese_headers)
    print(_map(result, out / "map.png"))
    print(f"wrote {', '.join(p.name for p in written)} to {out.resolve()}")
    return 0


def _read_lists(args: argparse.Namespace) -> tuple[Any, Any]:
    """Both lists, read as the command line says (sheets, dates, the taxonomy's words)."""
    import matchcore as mc

    taxonomy = options_from_args(args).taxonomy
    kw = reading_from_args(args)
    needs = mc.read_needs(args.needs, sheet=sheet_arg(args.needs_sheet), taxonomy=taxonomy, **kw)
    resources = mc.read_resources(args.resources, sheet=sheet_arg(args.resources_sheet),
                                  taxonomy=taxonomy, **kw)
    return needs, resources


def cmd_match(args: argparse.Namespace) -> int:
    out = check_output_folder(args.output)
    options_from_args(args)  # every option checked before any work
    progress = Progress(args.quiet)
    t = time.perf_counter()
    progress("reading", 0.0)
    needs, resources = _read_lists(args)
    result = match_from_args(args, needs, resources, progress)
    print(summary(result, time.perf_counter() - t))
    written = write_result(result, out, chinese_headers=args.chinese_headers)
    if args.map:
        print(_map(result, out / "map.png"))
    print(f"wrote {', '.join(p.name for p in written)} to {Path(args.output).resolve()}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    import matchcore as mc
    from matchcore import synthetic

    out = check_output_folder(args.output)
    needs, resources = synthetic.district(args.preset, seed=args.seed,
                                          progress=Progress(args.quiet))
    ext = args.format
    paths = [mc.write_table(needs, out / f"needs.{ext}"),
             mc.write_table(resources, out / f"resources.{ext}")]
    print(f"{args.preset} (seed {args.seed}): {len(needs):,} needs, {len(resources):,} "
               f"resources; suggested --max-distance "
               f"{synthetic.suggested_max_distance(args.preset):g}")
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    import pandas as pd

    import matchcore as mc
    from matchcore.errors import MAX_LISTED_FAILURES

    kind = args.kind
    if kind == "auto":
        from matchcore.io import read_table
        from matchcore.schema import canonical_columns

        frame, _ = read_table(args.file, sheet=sheet_arg(args.sheet), encoding=args.encoding)
        names = set(canonical_columns(frame.columns).values())
        kind = "resources" if "resource_id" in names and "need_id" not in names else "needs"
    reader = mc.read_needs if kind == "needs" else mc.read_resources
    try:
        table = reader(args.file, sheet=sheet_arg(args.sheet), **reading_from_args(args))
    except mc.InputError as err:
        failures = err.failures
        if failures is None or len(failures) <= MAX_LISTED_FAILURES:
            raise
        # The message lists the first problems only; validate prints them all.
        print(f"matchcore: error: {len(failures)} problems in {args.file}:", file=sys.stderr)
        for rec in failures.to_dict("records"):
            line: Any = rec["line"]
            where = f"row {rec['row']}" + ("" if pd.isna(line) else f", line {int(line)}")
            print(f"  - `{rec['column']}` must be {rec['expected']}; got {rec['found']} for "
                  f"{kind[:-1]} {rec['id']!r} ({where})", file=sys.stderr)
        return 2
    print(f"{args.file}: a valid {kind} list of {len(table):,} rows")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:

    needs, resources = _read_lists(args)
    result = match_from_args(args, needs, resources, Progress(True))
    explanation = result.explain(args.need_id)
    print(explanation.text)
    import pandas as pd

    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(explanation.candidates.to_string(index=False, float_format="{:.3f}".format))
    return 0


# ----------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``matchcore`` command."""
    from matchcore import __version__
    from matchcore.synthetic import PRESETS

    parser = argparse.ArgumentParser(
        prog="matchcore",
        description="Match a district's needs (需求清单) to its resources (资源清单) and "
                    "write the project list (项目清单).",
        epilog="Exit codes: 0 ok, 2 bad input, 1 other errors.",
    )
    parser.add_argument("--version", action="version", version=f"matchcore {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("demo", help="run the whole pipeline on the synthetic street",
                       description="Generate 'seed_street', match it, print a summary and "
                                   "write CSVs and a map.")
    p.add_argument("-o", "--output", default="matchcore-demo", help="output folder")
    p.add_argument("--seed", type=non_negative_int, default=0,
                   help="seed of the synthetic street (an integer >= 0)")
    p.add_argument("--chinese-headers", action="store_true",
                   help="write the CSV files with Chinese column names (项目编号, 社区, ...)")
    add_match_options(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("match", help="match a needs list to a resources list",
                       description="Match NEEDS to RESOURCES and write projects, assignments, "
                                   "unmet needs and idle resources as CSV (with BOM).")
    p.add_argument("needs", help="needs list: CSV, Excel, JSON or Parquet")
    p.add_argument("resources", help="resources list: CSV, Excel, JSON or Parquet")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--map", action="store_true", help="also draw map.png")
    p.add_argument("--chinese-headers", action="store_true",
                   help="write the CSV files with Chinese column names (项目编号, 社区, ...)")
    add_match_options(p)
    add_reading_options(p, sheets=("needs-sheet", "resources-sheet"))
    p.set_defaults(func=cmd_match)

    p = sub.add_parser("generate", help="write a synthetic district",
                       description="Write needs and resources of a synthetic preset.")
    p.add_argument("preset", choices=list(PRESETS), help="the preset")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--seed", type=non_negative_int, default=0,
                   help="random seed, an integer >= 0 (default 0)")
    p.add_argument("--format", choices=["csv", "parquet", "json", "xlsx"], default="csv",
                   help="file format (default csv, with BOM)")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("validate", help="check a needs or resources file",
                       description="Print every problem of a list; exit 2 if there is any.")
    p.add_argument("file", help="the list to check")
    p.add_argument("--kind", choices=["auto", "needs", "resources"], default="auto",
                   help="which list it is (default: from its id column)")
    add_reading_options(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("explain", help="why a need was served the way it was",
                       description="Match, then show every candidate of NEED_ID and why.")
    p.add_argument("needs", help="needs list")
    p.add_argument("resources", help="resources list")
    p.add_argument("need_id", metavar="NEED_ID", help="the need to explain")
    add_match_options(p)
    add_reading_options(p, sheets=("needs-sheet", "resources-sheet"))
    p.set_defaults(func=cmd_explain)

    register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``matchcore`` command; returns the exit code.

    Examples
    --------
    >>> main(["validate", "no-such-file.csv"])
    2
    """
    from matchcore.errors import InputError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except InputError as err:
        print(f"matchcore: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("matchcore: interrupted", file=sys.stderr)
        return 1
    except Exception as err:
        print(f"matchcore: {type(err).__name__}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
