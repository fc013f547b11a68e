"""What every ``matchcore`` subcommand shares: the match options, progress, the summary.

:func:`add_match_options` declares the options of a round once;
:func:`options_from_args` turns them into one :class:`~matchcore.MatchOptions`;
:func:`match_from_args` runs the match; :func:`summary` prints what staff read
first.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

__all__ = [
    "CHINESE_HEADERS",
    "MATCH_OPTIONS",
    "Progress",
    "add_match_options",
    "add_reading_options",
    "check_output_file",
    "check_output_folder",
    "match_from_args",
    "non_negative_int",
    "options_from_args",
    "parse_weights",
    "reading_from_args",
    "sheet_arg",
    "suggest_max_distance",
    "summary",
    "unbounded_candidates_hint",
    "write_result",
]

#: Above this many need-resource pairs an unbounded candidate search gets a hint.
UNBOUNDED_PAIRS = 10**6

#: Chinese headers of the output tables (``--chinese-headers``): the input aliases
#: of :data:`matchcore.schema.ALIASES` reversed, plus the output-only columns.
CHINESE_HEADERS: dict[str, str] = {
    "project_id": "项目编号",
    "need_id": "需求编号",
    "resource_id": "资源编号",
    "category": "类别",
    "community": "社区",
    "grid": "网格",
    "demand": "需求数量",
    "capacity": "可供数量",
    "assigned": "已分配数量",
    "units": "分配数量",
    "resources": "服务资源",
    "score": "得分",
    "status": "状态",
    "distance": "距离(米)",
    "reason": "未满足原因",
    "priority": "优先级",
    "spare": "剩余数量",
    "provider": "提供方",
    "provider_kind": "提供方类型",
    "created_at": "创建时间",
    "updated_at": "更新时间",
}

#: The command-line options that make a :class:`~matchcore.MatchOptions` (argparse dests).
MATCH_OPTIONS = ("max_distance", "weights", "objective", "solver", "scope", "taxonomy",
                 "max_candidates")


class Progress:
    """A small stderr progress bar; silent when ``quiet`` or stderr is not a terminal.

    :meth:`note` prints a line (a hint or a warning) on stderr unless ``quiet``,
    terminal or not.
    """

    def __init__(self, quiet: bool) -> None:
        self.silent = quiet
        self.quiet = quiet or not sys.stderr.isatty()
        self.drawn = False

    def note(self, text: str) -> None:
        if self.silent:
            return
        if self.drawn:
            sys.stderr.write("\n")
            self.drawn = False
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def __call__(self, step: str, done: float) -> None:
        if self.quiet:
            return
        width = 30
        fill = round(done * width)
        line = f"\r[{'#' * fill}{'.' * (width - fill)}] {done:4.0%} {step:<40}"
        sys.stderr.write(line)
        self.drawn = done < 1.0
        if done >= 1.0:
            sys.stderr.write("\n")
        sys.stderr.flush()


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0 (a bad value exits 2 with argparse's message)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0; got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0; got {value}")
    return value


def check_output_folder(path: str | Path, option: str = "-o/--output") -> Path:
    """Check, before any work, that ``path`` is or can become a writable folder."""
    from ..errors import InputError

    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError(f"{option} must be a folder; {str(p)!r} is an existing file")
    _check_writable(p if p.exists() else p.parent, option, p)
    return p


def check_output_file(path: str | Path, option: str = "OUT") -> Path:
    """Check, before any work, that ``path`` can be written (a file, or an existing folder)."""
    from ..errors import InputError

    p = Path(path)
    if p.is_dir():
        _check_writable(p, option, p)
        return p
    if p.parent.exists() and not p.parent.is_dir():
        raise InputError(f"{option}: {str(p.parent)!r} is a file, not a folder")
    _check_writable(p.parent, option, p)
    return p


def _check_writable(folder: Path, option: str, wanted: Path) -> None:
    import os

    from ..errors import InputError

    # The nearest folder that exists is the one that must let us write.
    here = folder if str(folder) else Path(".")
    while not here.exists() and here != here.parent:
        here = here.parent
    if not here.is_dir():
        raise InputError(f"{option}: cannot create {str(wanted)!r}: {str(here)!r} is a file")
    if not os.access(here, os.W_OK | os.X_OK):
        raise InputError(
            f"{option}: cannot write {str(wanted)!r}: the folder {str(here)!r} is not writable"
        )


def parse_weights(text: str | None) -> Any:
    """``--weights 'locality=0.5,type=0.3'`` as a :class:`~matchcore.Weights` (None if empty)."""
    import matchcore as mc

    if not text:
        return None
    values: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            values[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise mc.InputError(
                f"--weights must look like 'locality=0.5,type=0.3'; got {text!r}"
            )
    from dataclasses import fields

    valid = [f.name for f in fields(mc.Weights)]
    unknown = [name for name in values if name not in valid]
    if unknown:
        raise mc.InputError(
            f"--weights: unknown weight name(s) {', '.join(unknown)}; "
            f"valid names: {', '.join(valid)}"
        )
    return mc.Weights(**values)


def options_from_args(args: argparse.Namespace, base: Any = None) -> Any:
    """The :class:`~matchcore.MatchOptions` of the command line.

    Options not given on the command line (None) come from ``base`` (a
    ledger round's options, say), else from the defaults.
    """
    import matchcore as mc

    taxonomy = mc.Taxonomy.from_file(args.taxonomy) if args.taxonomy else None
    return mc.MatchOptions.from_arguments(
        base, weights=parse_weights(args.weights), max_distance=args.max_distance,
        objective=args.objective, solver=args.solver, scope=args.scope, taxonomy=taxonomy,
        max_candidates=args.max_candidates,
    )


def match_from_args(
    args: argparse.Namespace, needs: Any, resources: Any, progress: Progress
) -> Any:
    """Match ``needs`` to ``resources`` with the command line's options, step by step.

    The steps of :func:`matchcore.match` are run one by one so that the
    progress bar moves between them.
    """
    from ..pipeline import prepare_round, solve_round

    options = options_from_args(args)
    hint = unbounded_candidates_hint(needs, resources, options.max_distance)
    if hint:
        progress.note(hint)
    note = compile_solver(options.solver, progress)
    if note:
        progress.note(note)
    progress("validating, finding candidates", 0.1)
    prepared = prepare_round(needs, resources, options)
    progress(f"scoring, solving {prepared.graph.n_edges:,} candidates", 0.45)
    # The bar moves through the solve too: once per phase of each batch.
    result = solve_round(prepared, options,
                         progress=lambda step, done: progress(f"solving: {step}",
                                                              0.45 + 0.5 * done))
    progress("done", 1.0)
    return result


def compile_solver(solver: Any, progress: Progress) -> str | None:
    """Load the network simplex before a match that uses it; a note when that compiled.

    The first run on a machine compiles it (several seconds, then cached on
    disk); saying so keeps a slow first demo from looking like a slow solver.
    """
    import matchcore as mc
    from matchcore.solvers import get_backend
    from matchcore.solvers.network_simplex import is_compiled, warm_up

    try:
        name = get_backend(solver).name
    except mc.InputError:
        return None  # match reports it with its own message
    if name != "simplex" or is_compiled():
        return None
    progress("loading the solver", 0.05)
    t = time.perf_counter()
    warm_up()
    seconds = time.perf_counter() - t
    if seconds < 1.0:  # loaded from numba's disk cache
        return None
    return (f"note: compiled the network simplex in {seconds:.1f} s (first run on this "
            "machine only; cached on disk)")


def suggest_max_distance(needs: Any, resources: Any, per_need: int = 30) -> float | None:
    """A reach in metres that gives about ``per_need`` resources per need, or None.

    From the area the two lists cover (their bounding box) and the number of
    resources, assuming they are spread evenly; rounded to a round number.
    """
    import numpy as np
    import pandas as pd

    def xy(frame: pd.DataFrame) -> np.ndarray | None:
        if {"x", "y"} <= set(frame.columns):
            return frame[["x", "y"]].to_numpy(float)
        if {"lat", "lon"} <= set(frame.columns):
            lat = frame["lat"].to_numpy(float)
            lon = frame["lon"].to_numpy(float)
            k = np.cos(np.radians(np.nanmean(lat))) if len(lat) else 1.0
            return np.column_stack([lon * 111_320.0 * k, lat * 110_574.0])
        return None

    a, b = xy(needs), xy(resources)
    if a is None or b is None or not len(b):
        return None
    both = np.vstack([a, b])
    span = np.nanmax(both, axis=0) - np.nanmin(both, axis=0)
    area = float(np.prod(np.maximum(span, 1.0)))
    radius = float(np.sqrt(per_need * area / (np.pi * len(b))))
    magnitude = 10.0 ** np.floor(np.log10(radius))
    return float(np.ceil(radius / magnitude) * magnitude)


def unbounded_candidates_hint(needs: Any, resources: Any, max_distance: float | None) -> str:
    """A hint when no reach bounds the candidates of a large district ('' otherwise)."""
    if max_distance is not None:
        return ""
    if "max_distance" in resources.columns and resources["max_distance"].notna().all():
        return ""
    pairs = len(needs) * len(resources)
    if pairs <= UNBOUNDED_PAIRS:
        return ""
    suggestion = suggest_max_distance(needs, resources)
    tip = (f"try --max-distance {suggestion:g} (about 30 resources per need)"
           if suggestion else "give --max-distance in metres")
    return (f"note: no --max-distance and not every resource has its own max_distance, so "
            f"each need may be matched to any resource: up to {pairs:,} pairs, slow and "
            f"memory-hungry; {tip}")


def write_result(result: Any, out: Path, *, chinese_headers: bool = False) -> list[Path]:
    """Write projects, assignments, unmet needs and idle resources as CSV (with BOM).

    With ``chinese_headers`` the columns of :data:`CHINESE_HEADERS` get their
    Chinese names (the names staff read in Excel; ``read_needs`` accepts them back).
    """
    import matchcore as mc

    tables = {"projects.csv": result.projects, "assignments.csv": result.assignments,
              "unmet.csv": result.unmet, "idle.csv": result.idle}
    if chinese_headers:
        tables = {name: frame.rename(columns=CHINESE_HEADERS) for name, frame in tables.items()}
    return [mc.write_table(frame, out / name) for name, frame in tables.items()]


def summary(result: Any, seconds: float) -> str:
    """The text staff read first: coverage overall and per community, unmet by reason."""
    from matchcore import metrics

    m = result.metrics
    lines = [
        f"needs      {int(m['n_needs']):>8,}   demand   {int(m['demand_units']):>8,} units",
        f"resources  {int(m['n_resources']):>8,}   capacity {int(m['capacity_units']):>8,} units",
        f"candidates {int(m['n_edges']):>8,}",
        f"coverage   {int(m['assigned_units']):,} of {int(m['demand_units']):,} units "
        f"({m['unit_coverage']:.1%}); priority-weighted {m['priority_weighted_coverage']:.1%}; "
        f"{int(m['needs_fully_served']):,} needs fully served",
        "per community:",
    ]
    per = metrics.by_community(result)
    for name, got, want, share in zip(per["community"], per["assigned_units"].to_numpy(),
                                      per["demand_units"].to_numpy(), per["unit_coverage"]):
        lines.append(f"  {name:<12} {int(got):>6,} / {int(want):<6,} {share:6.1%}")
    reasons = result.unmet["reason"].value_counts()
    lines.append("unmet needs by reason:" + ("" if len(reasons) else " none"))
    for reason, count in reasons.items():
        lines.append(f"  {reason:<24} {count:>6,}")
    kind = "certified exact" if result.is_exact else "inexact"
    lines.append(f"solver     {result.solver} ({kind}), solve {result.solution.seconds:.3f} s, "
                 f"total {seconds:.2f} s")
    return "\n".join(lines)


def add_reading_options(p: argparse.ArgumentParser, *, sheets: tuple[str, ...] = ("sheet",)
                        ) -> None:
    """Declare how the lists are read: their Excel sheets, dates, time zone and encoding."""
    for name in sheets:
        which = name.removesuffix("sheet").rstrip("-") or "the list"
        p.add_argument(f"--{name}", default=None, metavar="SHEET",
                       help=f"Excel sheet of {which}: a name, or a position from 0 (default: the "
                            "sheet named like 需求清单 / 资源清单, else the only one)")
    p.add_argument("--dayfirst", action=argparse.BooleanOptionalAction, default=None,
                   help="read 05/03/2025 as 5 March (--no-dayfirst: May 3); by default such "
                        "dates are errors")
    p.add_argument("--timezone", default="Asia/Shanghai", metavar="TZ",
                   help="naive times are local times here; aware ones are converted "
                        "(default Asia/Shanghai)")
    p.add_argument("--encoding", default=None,
                   help="encoding of CSV files (default: UTF-8, GB18030 or Big5, detected)")


def reading_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of ``read_needs`` / ``read_resources`` from the command line."""
    return {"dayfirst": args.dayfirst, "timezone": args.timezone, "encoding": args.encoding}


def sheet_arg(value: str | None) -> str | int | None:
    """A sheet given on the command line: a position when it is digits, else a name."""
    return int(value) if value is not None and value.isdigit() else value


def add_match_options(p: argparse.ArgumentParser, max_distance: float | None = None) -> None:
    """Declare the options of :data:`MATCH_OPTIONS` on a subcommand's parser."""
    p.add_argument("--max-distance", type=float, default=max_distance, metavar="M",
                   help="global reach in metres (default: unlimited, or the preset's suggestion)")
    p.add_argument("--weights", metavar="W",
                   help="score weights, e.g. 'locality=0.5,type=0.3,priority=0.2,partner=0'")
    p.add_argument("--objective", choices=["coverage", "score"], default=None,
                   help="coverage first (default), or the best total score")
    p.add_argument("--solver", default=None,
                   help="auto, simplex, ortools, highs, networkx or greedy (default auto)")
    p.add_argument("--scope", choices=["grid", "community", "street"], default=None,
                   help="match only within the same grid or community")
    p.add_argument("--taxonomy", metavar="FILE",
                   help="category affinities (CSV/Excel/JSON), see matchcore.Taxonomy")
    p.add_argument("--max-candidates", type=int, default=None, metavar="K",
                   help="keep the K best candidates per need")


