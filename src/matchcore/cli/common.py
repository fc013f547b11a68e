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
    "MATCH_OPTIONS",
    "Progress",
    "add_match_options",
    "match_from_args",
    "options_from_args",
    "parse_weights",
    "summary",
    "write_result",
]

#: The command-line options that make a :class:`~matchcore.MatchOptions` (argparse dests).
MATCH_OPTIONS = ("max_distance", "weights", "objective", "solver", "scope", "taxonomy",
                 "max_candidates")


class Progress:
    """A small stderr progress bar; silent when ``quiet`` or stderr is not a terminal."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet or not sys.stderr.isatty()

    def __call__(self, step: str, done: float) -> None:
        if self.quiet:
            return
        width = 30
        fill = round(done * width)
        line = f"\r[{'#' * fill}{'.' * (width - fill)}] {done:4.0%} {step:<20}"
        sys.stderr.write(line)
        if done >= 1.0:
            sys.stderr.write("\n")
        sys.stderr.flush()


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
    try:
        return mc.Weights(**values)
    except TypeError as err:
        raise mc.InputError(f"--weights: {err}") from err


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
    """Match ``needs`` to ``resources`` with the command line's options."""
    import matchcore as mc

    options = options_from_args(args)
    note = compile_solver(options.solver, progress)
    if note and not args.quiet:
        print(note, file=sys.stderr)
    progress("matching", 0.1)
    result = mc.match(needs, resources, options)
    progress("matched", 1.0)
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


def write_result(result: Any, out: Path) -> list[Path]:
    """Write projects, assignments, unmet needs and idle resources as CSV (with BOM)."""
    import matchcore as mc

    tables = {"projects.csv": result.projects, "assignments.csv": result.assignments,
              "unmet.csv": result.unmet, "idle.csv": result.idle}
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


