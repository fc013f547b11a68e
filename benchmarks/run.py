"""Benchmark matchcore against its peers on a grid of synthetic districts.

One command regenerates ``docs/benchmarks.md`` and ``docs/benchmarks.json``::

    python benchmarks/run.py              # 10^3, 10^4, 10^5 (a few minutes)
    python benchmarks/run.py --million    # adds city_1m (10^6 needs)
    python benchmarks/run.py --quick      # tiny grid, no files written unless --out

Every peer runs in this process on the same candidate edges and the same
integer scores as matchcore, objective "score". Wall time is the median of
several runs; peak memory is the largest resident-set growth seen by a
sampling thread during the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import matchcore as mc
import peers
from matchcore import synthetic
from matchcore.model.candidates import candidates_of
from matchcore.model.district import to_district
from matchcore.model.problem import TransportProblem
from matchcore.model.scoring import score_edges
from matchcore.schema import validate_needs, validate_resources
from matchcore.solvers import solve

DISTRIBUTIONS = {
    # continuous scores: distance decay, place bonus, priority, partners
    "mixed": mc.Weights(),
    # a few score levels only (affinity): many ties, many optimal solutions
    "ties": mc.Weights(type=1.0, locality=0.0, priority=0.0, partner=0.0),
}
EXACT = (
    "matchcore_match",
    "matchcore_solve",
    "matchcore_simplex",
    "matchcore_ortools",
    "solve_assignment",
    "ortools_script",
    "pylmcf",
    "highs_lp",
    "networkx",
)
#: The exact solvers a user could reach for instead of matchcore.
PEERS_EXACT = ("ortools_script", "pylmcf", "highs_lp", "networkx")
ROOT = Path(__file__).resolve().parent.parent
#: Supply / demand ratio of capacity units per category (``district(scarcity=...)``).
SCARCITY = {"scarce": 0.6, "ample": 1.5}
#: The library's presets at their own size; other sizes scale ``district_10k``.
PRESET_OF_SIZE = {10_000: "district_10k", 100_000: "city_100k", 1_000_000: "city_1m"}
#: Needs per community when a size has no preset of its own (district_10k's density).
NEEDS_PER_COMMUNITY = 250


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakMemory:
    """Largest RSS growth (bytes) over the start, sampled every 5 ms by a thread."""

    def __enter__(self) -> PeakMemory:
        self.base = self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def growth(self) -> int:
        return self.peak - self.base


def district(n: int, scarcity: str, seed: int):
    """Needs, resources, preset name and reach of a grid cell, from :mod:`matchcore.synthetic`.

    Sizes with a preset use it as is (only ``scarcity`` overridden); other
    sizes (10^3, the smoke test's) scale ``district_10k`` down, one community
    per ``NEEDS_PER_COMMUNITY`` needs and its share of volunteer teams.
    """
    preset = PRESET_OF_SIZE.get(n, "district_10k")
    overrides: dict = {"scarcity": SCARCITY[scarcity]}
    if n not in PRESET_OF_SIZE:
        comm = max(1, round(n / NEEDS_PER_COMMUNITY))
        overrides |= {"n_needs": n, "n_communities": comm, "team_members": comm * 420}
    needs, resources = synthetic.district(preset, seed=seed, **overrides)
    label = preset if n in PRESET_OF_SIZE else f"{preset}(n_needs={n:,})"
    return needs, resources, label, synthetic.suggested_max_distance(preset)


def instance(n: int, dist: str, scarcity: str, seed: int):
    needs, resources, label, reach = district(n, scarcity, seed)
    d = to_district(validate_needs(needs), validate_resources(resources))
    graph = candidates_of(d, max_distance=reach)
    score, _ = score_edges(d, graph, DISTRIBUTIONS[dist])
    problem = TransportProblem(
        graph.need, graph.resource, d.demand, d.capacity, score, d.priority, "score"
    )
    return needs, resources, d, problem, label, reach


def runners(needs, resources, d, problem, dist, reach):
    arrays = (problem.need, problem.resource, problem.score_int, problem.demand, problem.capacity)
    edges = None
    steps: dict[str, float] = {}

    def match():
        r = mc.match(
            needs,
            resources,
            weights=DISTRIBUTIONS[dist],
            max_distance=reach,
            objective="score",
        )
        t = time.perf_counter()
        _ = r.projects  # end to end: the project list is part of the work
        steps.clear()
        steps.update(r.timings, projects=time.perf_counter() - t)
        return r.solution.units

    def engine():
        return solve(problem, "auto").units

    def engine_with(solver):
        return lambda: solve(problem, solver).units

    def public():
        nonlocal edges
        if edges is None:
            edges = _edges_frame(d, problem)
        out = mc.solve_assignment(*edges, objective="score")
        return _units_from_frame(out, d, problem)

    out = {"matchcore_match": match, "matchcore_solve": engine, "solve_assignment": public,
           "matchcore_simplex": engine_with("simplex"), "matchcore_ortools": engine_with("ortools")}
    for name, fn in peers.PEERS.items():
        out[name] = lambda fn=fn: fn(*arrays)
    out["matchcore_greedy"] = lambda: solve(problem, "greedy").units
    return out, steps


def _edges_frame(d, problem):
    import pandas as pd

    edges = pd.DataFrame(
        {
            "need_id": d.need_ids[problem.need],
            "resource_id": d.resource_ids[problem.resource],
            "score": problem.score,
        }
    )
    needs = pd.DataFrame({"need_id": d.need_ids, "demand": d.demand})
    resources = pd.DataFrame({"resource_id": d.resource_ids, "capacity": d.capacity})
    return edges, needs, resources


def _units_from_frame(out, d, problem):
    i = np.searchsorted(d.need_ids, out["need_id"].to_numpy(object))
    j = np.searchsorted(d.resource_ids, out["resource_id"].to_numpy(object))
    key = problem.need * problem.n_resources + problem.resource
    pos = np.searchsorted(key, i * problem.n_resources + j)
    units = np.zeros(problem.n_edges, dtype=np.int64)
    units[pos] = out["units"].to_numpy(np.int64)
    return units


def plan(n: int, dist: str, scarcity: str, full: bool) -> list[str]:
    """Which runners a cell times (slow peers only where they finish in reasonable time)."""
    base = dist == "mixed" and scarcity == "scarce"
    names = [
        "floor",
        "matchcore_match",
        "matchcore_solve",
        "matchcore_simplex",
        "matchcore_ortools",
        "solve_assignment",
        "ortools_script",
        "pylmcf",
        "greedy",
        "matchcore_greedy",
    ]
    if n <= 100_000 and (full or base or n <= 10_000):
        names.append("highs_lp")
    if n <= 1_000 or (n <= 10_000 and (full or base)):
        names.append("networkx")
    if n > 100_000:
        names.remove("solve_assignment")
    return names


def time_cell(n, dist, scarcity, seed, repeats, full, log):
    t = time.perf_counter()
    needs, resources, d, problem, label, reach = instance(n, dist, scarcity, seed)
    setup = time.perf_counter() - t
    nl, _ = problem.components()
    sizes = np.bincount(nl[np.unique(problem.need)]) if problem.n_edges else np.zeros(1)
    cell = {
        "n_needs": n,
        "n_resources": len(problem.capacity),
        "preset": label,
        "max_distance": reach,
        "distribution": dist,
        "scarcity": scarcity,
        "seed": seed,
        "n_edges": problem.n_edges,
        "n_components": int((sizes > 0).sum()),
        "largest_component_share": float(sizes.max() / max(problem.n_needs, 1)),
        "setup_seconds": setup,
        "runs": {},
    }
    run, steps = runners(needs, resources, d, problem, dist, reach)
    score = problem.score_int
    for name in plan(n, dist, scarcity, full):
        reps = 1 if name == "networkx" else repeats
        times, cpu, units = [], [], None
        with PeakMemory() as mem:
            for _ in range(reps):
                c, t = time.process_time(), time.perf_counter()
                units = run[name]()
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
        rec = {
            "seconds": statistics.median(times),
            "cpu_seconds": statistics.median(cpu),
            "all_seconds": times,
            "peak_mb": mem.growth / 2**20,
        }
        if units is not None:
            rec["objective"] = int(np.dot(score, units))
        cell["runs"][name] = rec
        log(
            f"  {name:18s} {rec['seconds']:9.3f} s  {rec['peak_mb']:8.1f} MB  "
            f"obj {rec.get('objective', '-')}"
        )
    cell["match_timings"] = dict(steps)
    objs = {k: v["objective"] for k, v in cell["runs"].items() if k in EXACT}
    best = max(objs.values()) if objs else None
    cell["exact_objectives_equal"] = len(set(objs.values())) <= 1
    for rec in cell["runs"].values():
        if "objective" in rec and best:
            rec["gap"] = (best - rec["objective"]) / abs(best)
    cert = mc.solvers.verify(problem, run["matchcore_solve"]())
    cell["certified"] = bool(cert)
    return cell


def exponents(cells: list[dict]) -> dict[str, float]:
    """Slope of log(time) on log(n_edges) over the sizes of the base cell, per runner."""
    base = [c for c in cells if c["distribution"] == "mixed" and c["scarcity"] == "scarce"]
    out = {}
    names = {k for c in base for k in c["runs"]}
    for name in sorted(names):
        pts = [
            (c["n_edges"], c["runs"][name]["seconds"])
            for c in base
            if name in c["runs"] and c["runs"][name]["seconds"] > 0
        ]
        if len(pts) >= 2:
            x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
            out[name] = float(np.polyfit(x, y, 1)[0])
    return out


def machine() -> dict:
    import numba
    import ortools
    import pylmcf
    import scipy

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem, 1),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "ortools": ortools.__version__,
        "numba": numba.__version__,
        "pylmcf": getattr(pylmcf, "__version__", "?"),
        "matchcore": getattr(mc, "__version__", "?"),
        "platform": platform.platform(),
    }


def command_line(script: str, argv: list[str] | None) -> str:
    """The command that made a report: ``python benchmarks/<script>`` and its arguments."""
    return " ".join([f"python benchmarks/{script}", *(sys.argv[1:] if argv is None else argv)])


def write_report(out: Path | None, stem: str, result: dict, markdown: str) -> None:
    """Write ``<stem>.json`` (the numbers) and ``<stem>.md`` (the report) into ``out``.

    Nothing is written when ``out`` is None (a ``--quick`` run without ``--out``).
    """
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(result, indent=1))
    (out / f"{stem}.md").write_text(markdown, encoding="utf-8")


def district_parser(description: str, stem: str) -> argparse.ArgumentParser:
    """The options of a benchmark on one synthetic district (its own are added after).

    ``--quick`` (seed_street, for smoke tests), ``--preset`` (default
    city_100k), ``--seed``, ``--repeats`` and ``--out`` (the folder for
    ``<stem>.md`` and ``<stem>.json``); see :func:`district_options`.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true",
                        help="a small district (seed_street), for smoke tests")
    parser.add_argument("--preset", default=None, help="synthetic preset (default city_100k)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--out", default=None,
                        help=f"folder for {stem}.md/json (default docs/, none with --quick)")
    return parser


def district_options(args: argparse.Namespace) -> tuple[str, int, Path | None]:
    """The preset, repeats and output folder :func:`district_parser`'s options give."""
    preset = args.preset or ("seed_street" if args.quick else "city_100k")
    repeats = args.repeats or (1 if args.quick else 3)
    out = Path(args.out) if args.out else (None if args.quick else ROOT / "docs")
    return preset, repeats, out


def report_head(script: str, argv: list[str] | None, machine_line: dict,
                args: argparse.Namespace, preset: str, repeats: int) -> dict:
    """The first fields of a district benchmark's result: what ran, when, where, on what."""
    return {
        "command": command_line(script, argv),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine_line,
        "preset": preset,
        "seed": args.seed,
        "repeats": repeats,
    }


COLUMNS = [
    *EXACT,
    "greedy",
    "matchcore_greedy",
    "floor",
]


def fastest_peer(cell: dict) -> str | None:
    """The exact peer with the smallest median time in a cell."""
    timed = {n: cell["runs"][n]["seconds"] for n in PEERS_EXACT if n in cell["runs"]}
    return min(timed, key=lambda n: timed[n]) if timed else None


def _count(names) -> dict:
    out: dict = {}
    for n in names:
        out[n] = out.get(n, 0) + 1
    return out


def report(result: dict) -> str:
    cells, m = result["cells"], result["machine"]
    lines = [
        "# Benchmarks: matchcore against its peers",
        "",
        f"Generated by `{result['command']}` on {result['date']} "
        f"({result['total_seconds']:.0f} s in all). Do not edit by hand.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; Python {m['python']}, "
        f"numpy {m['numpy']}, scipy {m['scipy']}, OR-Tools {m['ortools']}, "
        f"numba {m.get('numba', '?')}, pylmcf {m.get('pylmcf', '?')}."
        + (
            " The machine is shared: load average (1, 5, 15 min) "
            + ", then ".join(
                "(" + ", ".join(f"{x:.1f}" for x in la) + ")" for la in result["load_average"]
            )
            + " at the start and end of each run; the JSON has CPU seconds too."
            if result.get("load_average")
            else ""
        ),
        "",
        "Every runner works on the same candidate edges and integer scores, objective "
        '"score" (maximise Σ score·units), in one process. `matchcore_match` is the whole '
        "pipeline from the two DataFrames (validation, candidates, scores, solve with tie-break, "
        "certificate, result); `matchcore_solve` is the engine on the compiled problem (both "
        "phases and their certificates) with `solver=\"auto\"`, and `matchcore_simplex` / "
        "`matchcore_ortools` the same with the network simplex / OR-Tools back-end named; "
        "`solve_assignment` is the public call on an edge "
        "DataFrame; `ortools_script` is a hand-written SimpleMinCostFlow (arrays in one call); "
        "`pylmcf` is LEMON's network simplex (pylmcf) on the non-negative form (needs supply "
        "their demand, an unserved arc to the sink); "
        "`highs_lp` is scipy's linprog (HiGHS) on the transportation LP; `networkx` is "
        "network_simplex; `greedy` is a best-edge-first loop; `floor` only builds a CSR "
        "matrix of the edges. Times are medians of "
        f"{result['repeats']} runs up to 10^4 needs (above, and networkx: 1 run); "
        "memory is peak RSS growth during the runs.",
        "",
        "## Seconds, and ratio to the fastest exact peer",
        "",
        "The reference of each row (1x) is the fastest of the exact peers "
        f"({', '.join(f'`{n}`' for n in PEERS_EXACT)}) in that cell: "
        + ", ".join(
            f"`{n}` in {k} cells" for n, k in _count(fastest_peer(c) for c in cells).items()
        )
        + ".",
        "",
        "| needs | scores | scarcity | edges | components (largest) | "
        + " | ".join(COLUMNS)
        + " | exact equal | certified | greedy gap |",
        "|" + "---|" * (len(COLUMNS) + 8),
    ]
    for c in cells:
        ref = c["runs"].get(fastest_peer(c) or "", {}).get("seconds")
        row = [
            f"{c['n_needs']:,} ({c.get('preset', '?')})",
            c["distribution"],
            c["scarcity"],
            f"{c['n_edges']:,}",
            f"{c['n_components']} ({c['largest_component_share']:.0%})",
        ]
        for name in COLUMNS:
            r = c["runs"].get(name)
            if r is None:
                row.append("–")
            elif ref:
                row.append(f"{r['seconds']:.3g} ({r['seconds'] / ref:.2g}x)")
            else:
                row.append(f"{r['seconds']:.3g}")
        gap = c["runs"].get("greedy", {}).get("gap")
        row += [
            "yes" if c["exact_objectives_equal"] else "**no**",
            "yes" if c["certified"] else "**no**",
            f"{gap:.2%}" if gap is not None else "–",
        ]
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "## Peak memory (MB of RSS growth)",
        "",
        "| needs | scores | scarcity | " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * (len(COLUMNS) + 3),
    ]
    for c in cells:
        row = [f"{c['n_needs']:,}", c["distribution"], c["scarcity"]]
        row += [f"{c['runs'][n]['peak_mb']:.0f}" if n in c["runs"] else "–" for n in COLUMNS]
        lines.append("| " + " | ".join(row) + " |")
    steps = ["validate", "candidates", "score", "solve", "certify", "projects"]
    lines += [
        "",
        "## Where `match` spends its time (seconds, last run)",
        "",
        "| needs | scores | scarcity | " + " | ".join(steps) + " |",
        "|" + "---|" * (len(steps) + 3),
    ]
    for c in cells:
        t = c.get("match_timings") or {}
        row = [f"{c['n_needs']:,}", c["distribution"], c["scarcity"]]
        row += [f"{t[k]:.3g}" if k in t else "–" for k in steps]
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "## Scaling: time ∝ edges^k (base cell: mixed scores, scarce)",
        "",
        "| runner | k |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v:.2f} |" for k, v in result["exponents"].items()]
    lines += ["", "## Targets", ""]
    lines += [f"- {t}" for t in result["targets"]]
    lines += ["", "## Reading the numbers", "", *notes(cells), ""]
    return "\n".join(lines)


def notes(cells: list[dict]) -> list[str]:
    share = [c["largest_component_share"] for c in cells]
    geometry = (
        f"the largest connected component holds {min(share):.0%}–{max(share):.0%} of the needs"
        if share
        else "no cells"
    )
    return [
        "- The districts are `matchcore.synthetic.district` presets (`district_10k`, "
        "`city_100k`, `city_1m`; 10^3 and smaller sizes scale `district_10k` down, one "
        f"community per {NEEDS_PER_COMMUNITY} needs), fixed seed, reach "
        "`suggested_max_distance(preset)`; scarcity overrides the preset's supply/demand ratio "
        f"({', '.join(f'{k} {v}' for k, v in SCARCITY.items())}); \"mixed\" scores are "
        "`Weights()`, \"ties\" only the taxonomy's affinity (few levels, many optima). Here "
        + geometry
        + ": component decomposition and a per-batch process pool cannot split it, so "
        "matchcore's first phase is one solve of about the size of the hand-written script's.",
        "- `matchcore_match` builds the project list too (`result.projects`); its per-step "
        "times are in the JSON (`match_timings`).",
        "- `matchcore_solve` does more than the script: it compiles the network, solves the score "
        "phase, computes and keeps its dual potentials (the certificate), restricts to the "
        "optimal face and solves the tie-break phase that makes every exact back-end return "
        "the same assignment.",
        "- `highs_lp` and `networkx` run only where they finish in reasonable time "
        "(`--full` runs them everywhere).",
    ]


def targets(cells: list[dict]) -> list[str]:
    out = []

    def get(n, name):
        for c in cells:
            if c["n_needs"] == n and c["distribution"] == "mixed" and c["scarcity"] == "scarce":
                return c["runs"].get(name, {}).get("seconds")
        return None

    def check(text, value, limit, lower_is_better=True):
        if value is None:
            return
        ok = value <= limit if lower_is_better else value >= limit
        out.append(
            f"{'met' if ok else '**not met**'}: {text} = {value:.2f} "
            f"(target {'<=' if lower_is_better else '>='} {limit})"
        )

    for n in (100_000, 10_000):
        ort = get(n, "ortools_script")
        if ort:
            for name, limit in (("matchcore_solve", 0.33), ("solve_assignment", 1.0)):
                s = get(n, name)
                if s:
                    check(f"{name} / ortools_script at {n:,}", s / ort, limit)
            m = get(n, "matchcore_match")
            if m:
                check(f"matchcore_match / ortools_script at {n:,}", m / ort, 2.0)
        lemon, s = get(n, "pylmcf"), get(n, "matchcore_solve")
        if lemon and s:
            check(f"matchcore_solve / pylmcf at {n:,}", s / lemon, 1.5)
    m = get(10_000, "matchcore_match")
    for peer, factor in (("networkx", 100), ("highs_lp", 10)):
        p = get(10_000, peer)
        if m and p:
            check(f"{peer} / matchcore_match at 10,000", p / m, factor, lower_is_better=False)
    for c in cells:
        if c["n_needs"] >= 1_000_000:
            r = c["runs"].get("matchcore_match")
            if r:
                check("matchcore_match seconds at 1,000,000", r["seconds"], 180)
                check("matchcore_match peak GB at 1,000,000", r["peak_mb"] / 1024, 8)
    bad = [c for c in cells if not (c["exact_objectives_equal"] and c["certified"])]
    out.append(
        ("met" if not bad else "**not met**")
        + ": every exact objective equal across back-ends and certified"
        + (f" (fails in {len(bad)} cells)" if bad else "")
    )
    return out


def _merge(old: dict, new: dict) -> dict:
    """The old run's cells with the new run's added (a new cell replaces its twin)."""
    def key(c):
        return c["n_needs"], list(DISTRIBUTIONS).index(c["distribution"]), c["scarcity"]

    cells = {key(c): c for c in old["cells"]} | {key(c): c for c in new["cells"]}
    out = dict(old)
    out["cells"] = [cells[k] for k in sorted(cells)]
    out["command"] = f"{old['command'].strip()}; {new['command'].strip()}"
    out["total_seconds"] = old["total_seconds"] + new["total_seconds"]
    out["load_average"] = [*old.get("load_average", []), *new["load_average"]]
    out["exponents"] = exponents(out["cells"])
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--million", action="store_true", help="add the 10^6 cell (city_1m)")
    p.add_argument("--full", action="store_true", help="run the slow peers in every cell")
    p.add_argument("--quick", action="store_true", help="a tiny grid (smoke test)")
    p.add_argument("--sizes", type=int, nargs="*", help="override the sizes")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--merge", action="store_true",
                   help="add this run's cells to the JSON already in the output directory")
    p.add_argument("--from-json", type=Path, default=None,
                   help="only re-render benchmarks.md beside a benchmarks.json")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="directory for benchmarks.md/.json (default docs/, none with --quick)",
    )
    args = p.parse_args(argv)
    if args.from_json is not None:
        result = json.loads(args.from_json.read_text())
        result["exponents"] = exponents(result["cells"])
        result["targets"] = targets(result["cells"])
        args.from_json.with_suffix(".md").write_text(report(result), encoding="utf-8")
        return result
    sizes = args.sizes or ([200, 400] if args.quick else [1_000, 10_000, 100_000])
    if args.million:
        sizes = [*sizes, 1_000_000]
    out_dir = args.out if args.out is not None else (None if args.quick else ROOT / "docs")
    start = time.perf_counter()
    load = os.getloadavg()
    cells = []
    for n in sizes:
        for dist in DISTRIBUTIONS:
            for scarcity in SCARCITY:
                if n >= 1_000_000 and not (dist == "mixed" and scarcity == "scarce"):
                    continue
                print(f"{n:,} needs, {dist} scores, {scarcity}", flush=True)
                reps = args.repeats if n <= 10_000 else 1
                cells.append(
                    time_cell(
                        n,
                        dist,
                        scarcity,
                        args.seed,
                        reps,
                        args.full,
                        lambda s: print(s, flush=True),
                    )
                )
    result = {
        "command": "python benchmarks/run.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "repeats": args.repeats,
        "cells": cells,
        "exponents": exponents(cells),
        "total_seconds": time.perf_counter() - start,
    }
    result["load_average"] = [load, os.getloadavg()]
    if args.merge and out_dir is not None and (out_dir / "benchmarks.json").exists():
        result = _merge(json.loads((out_dir / "benchmarks.json").read_text()), result)
    result["targets"] = targets(result["cells"])
    write_report(out_dir, "benchmarks", result, report(result))
    return result


if __name__ == "__main__":
    main()
