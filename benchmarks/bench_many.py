"""Many streets at once: ``match_many`` serially and on a two-worker Dask cluster.

One command regenerates ``docs/scale.md`` and ``docs/scale.json``::

    python benchmarks/bench_many.py            # 16 streets of 10^4 needs (about 3 minutes)
    python benchmarks/bench_many.py --quick    # 4 streets of 500 needs, no files unless --out
    python benchmarks/bench_many.py --from-json docs/scale.json   # only rewrite scale.md

The streets are ``synthetic.street(k, needs)``: ``district_10k``-like districts,
each with its own seed spawned from (seed, k). The same rounds are matched
serially in this process, then on a ``LocalCluster(n_workers=2,
threads_per_worker=1, processes=True)`` (one task per street, results gathered
to this process); the results are checked equal. Workers are warmed up first
(imports, OR-Tools loaded) so that start-up is not counted. Peak memory per
worker is each worker's own ``getrusage(RUSAGE_SELF).ru_maxrss``. A scaling
exponent ``b`` (seconds ~ needs^b for one street) is fitted on single streets of
several sizes, and with the measured seconds per street and parallel
efficiency it gives the workers a 10^8-need province needs to finish in an hour.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import matchcore as mc
import run  # the machine description
from matchcore import synthetic

ROOT = Path(__file__).resolve().parent.parent
REACH = 300.0  # district_10k's suggested max_distance
PROVINCE_NEEDS = 10**8
TARGET_SPEEDUP = 1.7


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True
                              ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _same(a: dict[str, mc.MatchResult], b: dict[str, mc.MatchResult]) -> bool:
    return list(a) == list(b) and all(
        a[k].objective == b[k].objective and np.array_equal(a[k].units, b[k].units) for k in a
    )


def scaling(sizes: list[int], seed: int) -> dict[str, Any]:
    """Serial seconds of one street per size (best of two: the machine is shared), and
    the fitted exponent b of seconds ~ needs^b."""
    seconds = []
    for n in sizes:
        needs, resources = synthetic.street(0, n, seed)
        best = math.inf
        for _ in range(2):
            t = time.perf_counter()
            mc.match(needs, resources, max_distance=REACH)
            best = min(best, time.perf_counter() - t)
        seconds.append(best)
    b = float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0]) if len(sizes) > 1 else 1.0
    return {"sizes": sizes, "seconds": seconds, "exponent": b}


#: Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which makes glibc hand
#: every freed block over 64 kB back to the system at once: a match allocates and frees many
#: arrays of that size, and paid page faults for each (matching 25% slower on a worker).
TRIM_CONFIG = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"


def cluster(workers: int) -> Any:
    """A LocalCluster of ``workers`` one-thread processes."""
    from distributed import LocalCluster

    # Worker processes must import the matchcore of this tree.
    src = str(ROOT / "src")
    os.environ["PYTHONPATH"] = src + (os.pathsep + os.environ["PYTHONPATH"]
                                      if os.environ.get("PYTHONPATH") else "")
    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                        dashboard_address=None)


def run_cluster(rounds: dict[str, Any], workers: int, repeats: int, lifted: bool,
                serial: dict[str, Any] | None = None) -> dict[str, Any]:
    """The best of ``repeats`` runs of ``match_many`` on a cluster; with ``serial``, a serial
    run of the same rounds before each (interleaved, so both see the same machine)."""
    import dask
    from distributed import Client

    with (dask.config.set({TRIM_CONFIG: None} if lifted else {}), cluster(workers) as local,
          Client(local) as client):
        warm = synthetic.province_rounds(workers, 200, seed=99)
        mc.match_many(warm, max_distance=REACH, client=client, pack_needs=1)
        base = client.run(resource.getrusage, resource.RUSAGE_SELF)
        times: list[float] = []
        client_cpu: list[float] = []  # this process: the client and the scheduler's threads
        for _ in range(repeats):
            if serial is not None:
                cpu0, t = time.process_time(), time.perf_counter()
                serial["results"] = mc.match_many(rounds, max_distance=REACH)
                serial["times"].append(time.perf_counter() - t)
                serial["cpu_times"].append(time.process_time() - cpu0)
            t, c0 = time.perf_counter(), time.process_time()
            out = mc.match_many(rounds, max_distance=REACH, client=client, pack_needs=1)
            times.append(time.perf_counter() - t)
            client_cpu.append(time.process_time() - c0)
            print(f"dask x{workers} ({'lifted' if lifted else 'Dask default'}): "
                  f"{times[-1]:.1f} s" + (f", serial {serial['times'][-1]:.1f} s"
                                           if serial is not None else ""), flush=True)
        usage = client.run(resource.getrusage, resource.RUSAGE_SELF)
        trim = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
    rss = {w: u.ru_maxrss * 1024 / 1e9 for w, u in usage.items()}  # Linux reports kB
    cpu = sum(u.ru_utime + u.ru_stime - (base[w].ru_utime + base[w].ru_stime)
              for w, u in usage.items()) / repeats
    return {"results": out, "seconds": min(times), "times": times,
            "worker_peak_rss_gb": sorted(rss.values()), "worker_cpu_seconds": cpu,
            "client_cpu_seconds": sum(client_cpu) / repeats,
            "malloc_trim_threshold": sorted({str(v) for v in trim.values()})}


#: One plain process's share (run with ``python -c``): build its streets, then time matching them.
PLAIN_SHARE = """
import json, sys, time
import matchcore as mc
from matchcore import synthetic
ks, needs, seed, reach = json.loads(sys.argv[1])
rounds = [synthetic.street(k, needs, seed) for k in ks]
mc.match(*synthetic.tiny(), max_distance=2000)  # load the compiled simplex first
print("ready", flush=True)
sys.stdin.readline()  # every process starts matching at once
t = time.perf_counter()
for n, r in rounds:
    mc.match(n, r, max_distance=reach)
print(time.perf_counter() - t)
"""


def plain_processes(n_streets: int, needs: int, workers: int, repeats: int) -> dict[str, Any]:
    """The machine's own ceiling: the streets split over ``workers`` plain processes.

    Each process builds its share of the streets itself, then matches them
    one after another, timing only the matching; the processes start
    matching together (once all are ready), and the slowest one's seconds are
    the run's. No Dask, no
    transfer: what matches running side by side cost on this machine's cores
    (shared caches and memory bandwidth).
    """
    shares = [list(range(w, n_streets, workers)) for w in range(workers)]
    runs = []
    for _ in range(repeats):
        procs = [subprocess.Popen([sys.executable, "-c", PLAIN_SHARE,
                                   json.dumps([ks, needs, 0, REACH])],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                 for ks in shares]
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        runs.append([float(p.communicate()[0].strip().splitlines()[-1]) for p in procs])
    best = min(runs, key=max)
    return {"seconds": max(best), "process_seconds": best}


def province_model(per_street: float, needs: int, exponent: float, efficiency: float,
                   rss_gb: float) -> list[dict[str, Any]]:
    """Workers for a 10^8-need province in an hour, for streets of several sizes.

    ``per_street`` seconds measured at ``needs``, scaled as (size / needs)^exponent;
    worker-seconds divided by the measured parallel ``efficiency``.
    """
    rows = []
    for size in (needs, 10 * needs):
        t = per_street * (size / needs) ** exponent
        streets = PROVINCE_NEEDS // size
        worker_seconds = streets * t / max(efficiency, 1e-9)
        rows.append({"street_needs": size, "streets": streets, "seconds_per_street": t,
                     "worker_hours": worker_seconds / 3600,
                     "workers_for_1h": math.ceil(worker_seconds / 3600),
                     "memory_per_worker_gb": rss_gb if size == needs else None})
    return rows


def report(result: dict[str, Any]) -> str:
    m, s, c = result["machine"], result["serial"], result["cluster"]
    d = result["cluster_default"]
    speed = result["speedup"]
    serial_share = s["cpu_seconds"] / s["seconds"]
    dask_share = c["worker_cpu_seconds"] / c["seconds"]
    verdict = ("met" if speed >= TARGET_SPEEDUP else
               f"**not met**: the serial process got {serial_share:.2f} of a core and the "
               f"{result['workers']} workers together {dask_share:.2f} of a core (CPU seconds "
               f"/ wall seconds); on CPU time the workers needed "
               f"{c['worker_cpu_seconds'] / s['cpu_seconds']:.2f}x the serial CPU seconds "
               "(two matches at once on two cores each run slower than one alone, and each "
               "result is serialised), and this process, the client and the scheduler, used "
               f"{c['client_cpu_seconds']:.1f} CPU seconds of the same two cores (sending the "
               "lists out and receiving the results)")
    workers = result["workers"]
    lines = [
        "# Many streets at once: `match_many` serial and on Dask",
        "",
        f"Generated by `python benchmarks/bench_many.py {result['args']}` on {result['date']} "
        f"({result['seconds']:.0f} s in all). Do not edit by hand.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; Python {m['python']}, "
        f"numpy {m['numpy']}, OR-Tools {m['ortools']}, dask/distributed "
        f"{result['distributed']}.",
        "",
        "`uptime` at the start and at the end (the machine is shared):",
        "",
        f"    {result['uptime'][0]}",
        f"    {result['uptime'][1]}",
        "",
        f"{result['n_streets']} streets of {result['needs']:,} needs "
        f"(`synthetic.street(k, {result['needs']})`, district_10k-like, seeds spawned from "
        f"(0, k)), `max_distance={REACH:.0f}`, default options (objective \"coverage\", "
        "certified). Serial: one process, one street after another. Dask: "
        f"`LocalCluster(n_workers={workers}, threads_per_worker=1, processes=True)`, "
        "one task per street, workers warmed up first, every MatchResult sent back to the "
        "client as its task ends. Each run is the best of "
        f"{result['repeats']} (serial and Dask interleaved, so that both see the same "
        "machine). Results equal to the serial ones: "
        f"{'yes' if result['equal'] else '**no**'}.",
        "",
        "Two worker environments: **lifted**, where the workers start without the "
        "`MALLOC_TRIM_THRESHOLD_=65536` that Dask's nanny sets by default "
        f"(`dask.config.set({{\"{TRIM_CONFIG}\": None}})` before the cluster starts; "
        "glibc then keeps its own adaptive threshold, as in the serial process), and "
        "**Dask's default**. With the default, glibc returns every freed block of more "
        "than 64 kB to the system at once, and a match, which allocates and frees many "
        "arrays of that size, pays page faults for each.",
        "",
        "| run | wall (s) | rounds / s | speedup | CPU seconds | peak RSS (GB) |",
        "|---|---:|---:|---:|---:|---|",
        f"| serial | {s['seconds']:.1f} | {s['rounds_per_second']:.2f} | 1.00 "
        f"| {s['cpu_seconds']:.1f} (this process) | {s['peak_rss_gb']:.2f} (this process) |",
        f"| Dask, {workers} workers, lifted | {c['seconds']:.1f} "
        f"| {c['rounds_per_second']:.2f} | {speed:.2f} "
        f"| {c['worker_cpu_seconds']:.1f} (workers) "
        f"| {', '.join(f'{x:.2f}' for x in c['worker_peak_rss_gb'])} (each worker) |",
        f"| {workers} plain processes (no Dask: the machine's ceiling) "
        f"| {result['plain_processes']['seconds']:.1f} "
        f"| {result['n_streets'] / result['plain_processes']['seconds']:.2f} "
        f"| {result['plain_speedup']:.2f} | | |",
        f"| Dask, {workers} workers, Dask's default | {d['seconds']:.1f} "
        f"| {result['n_streets'] / d['seconds']:.2f} | {result['default_speedup']:.2f} "
        f"| {d['worker_cpu_seconds']:.1f} (workers) "
        f"| {', '.join(f'{x:.2f}' for x in d['worker_peak_rss_gb'])} (each worker) |",
        "",
        f"The plain-process row is what this machine allows: the same streets split over "
        f"{workers} plain processes that build their own streets and match them, started "
        "together, no Dask and nothing sent; it is below "
        f"{workers}x because two matches at once on these cores each run slower than one "
        "alone (shared caches and memory bandwidth of a virtual machine).",
        "",
        f"Target: at least {TARGET_SPEEDUP}x on {workers} workers: {verdict}. "
        f"Parallel efficiency {result['efficiency']:.2f} (speedup / workers). One "
        f"MatchResult of {result['needs']:,} needs pickles to {result['result_mb']:.1f} MB "
        f"(its integer arrays narrowed, `matchcore.wire`; {result['plain_result_mb']:.1f} MB "
        "with the default pickle).",
        "",
        "## How many workers a 10^8-need province needs for an hour",
        "",
        f"Measured: {s['seconds'] / result['n_streets']:.2f} s per street of "
        f"{result['needs']:,} needs (serial mean); one street's seconds (best of two) at "
        + ", ".join(f"{n:,} needs: {t:.2f} s" for n, t in
                    zip(result['scaling']['sizes'], result['scaling']['seconds']))
        + f", so seconds ~ needs^{result['scaling']['exponent']:.2f} (least squares on logs).",
        "",
        "| street size | streets | s per street | worker-hours | workers for 1 h "
        "| memory per worker (GB) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["province"]:
        mem = r["memory_per_worker_gb"]
        lines.append(
            f"| {r['street_needs']:,} | {r['streets']:,} | {r['seconds_per_street']:.2f} "
            f"| {r['worker_hours']:.1f} | {r['workers_for_1h']:,} "
            f"| {'not measured' if mem is None else f'{mem:.2f} (measured)'} |"
        )
    cpu_street = c["worker_cpu_seconds"] / result["n_streets"]
    cpu_rows = province_model(cpu_street, result["needs"], result["scaling"]["exponent"],
                              1.0, max(c["worker_peak_rss_gb"]))
    lines += [
        "",
        "The same model on dedicated cores: the workers' own CPU seconds per street "
        f"({cpu_street:.2f} s, matching and serialising the result included; the serial "
        f"process needed {s['cpu_seconds'] / result['n_streets']:.2f} CPU s per street) "
        "taken as each street's time on a core of its own, efficiency 1. This is the "
        "estimate for a cluster that is not shared:",
        "",
        "| street size | streets | CPU s per street | worker-hours | workers for 1 h |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in cpu_rows:
        lines.append(
            f"| {r['street_needs']:,} | {r['streets']:,} | {r['seconds_per_street']:.2f} "
            f"| {r['worker_hours']:.1f} | {r['workers_for_1h']:,} |"
        )
    lines += [
        "",
        "Assumptions: streets are independent rounds (no resource serves another street), "
        "so the work is linear in the number of streets; a street's time grows as "
        "needs^b with the b measured above (fitted on single streets, extrapolated to the "
        "10x larger street); each worker is one core running one task at a time at the "
        "parallel efficiency measured here (scheduling, transfer and the shared machine "
        "included); the scheduler's overhead (milliseconds per task) is negligible "
        "against seconds per task; memory per worker is the measured peak of a worker "
        "that matched several streets one after another (not measured for the 10x "
        "street). Under a load average far above the core count, as here, the measured "
        "seconds per street and efficiency are pessimistic. At province scale the rounds "
        "should be given as recipes or paths (built or read on the workers) and the "
        "results reduced where they are made (written out, metrics returned) rather than "
        "every MatchResult gathered to one client: "
        f"{PROVINCE_NEEDS // result['needs']:,} results of {result['result_mb']:.0f} MB "
        "would not fit in one process.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="4 streets of 500 needs (smoke test)")
    p.add_argument("--streets", type=int, default=None)
    p.add_argument("--needs", type=int, default=None)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeats", type=int, default=None,
                   help="runs of each, best taken (default 3; 1 with --quick)")
    p.add_argument("--out", type=Path, default=None,
                   help="directory for scale.md / scale.json (default docs/, none with --quick)")
    p.add_argument("--from-json", type=Path, default=None,
                   help="only rewrite scale.md from a scale.json written earlier")
    args = p.parse_args(argv)
    if args.from_json is not None:
        result = json.loads(args.from_json.read_text())
        (args.from_json.parent / "scale.md").write_text(report(result))
        return result
    import distributed

    args.repeats = args.repeats or (1 if args.quick else 3)
    n_streets = args.streets or (4 if args.quick else 16)
    needs = args.needs or (500 if args.quick else 10_000)
    sizes = [needs // 4, needs // 2, needs]
    start = time.perf_counter()
    up0 = uptime()
    rounds = dict(synthetic.province_rounds(n_streets, needs, seed=0))
    mc.match(*synthetic.tiny(), max_distance=2000)  # warm up this process too

    serial_runs: dict[str, Any] = {"times": [], "cpu_times": []}
    cluster_run = run_cluster(rounds, args.workers, args.repeats, lifted=True,
                              serial=serial_runs)
    serial = serial_runs["results"]
    serial_seconds = min(serial_runs["times"])
    serial_cpu = min(serial_runs["cpu_times"])
    first = next(iter(serial.values()))
    result_mb = len(pickle.dumps(first)) / 1e6
    plain_mb = len(pickle.dumps(first.__dict__)) / 1e6
    default_run = run_cluster(rounds, args.workers, args.repeats, lifted=False)
    plain = plain_processes(n_streets, needs, args.workers, args.repeats)
    print(f"plain processes x{args.workers}: {plain['seconds']:.1f} s", flush=True)
    default_equal = _same(serial, default_run.pop("results"))
    cluster = cluster_run
    equal = _same(serial, cluster.pop("results")) and default_equal
    scale = scaling(sizes, seed=0)
    speedup = serial_seconds / cluster["seconds"]
    efficiency = speedup / args.workers
    cluster["rounds_per_second"] = n_streets / cluster["seconds"]
    result = {
        "args": " ".join(a for a in (argv if argv is not None else sys.argv[1:])),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": run.machine(),
        "distributed": distributed.__version__,
        "uptime": [up0, uptime()],
        "n_streets": n_streets,
        "needs": needs,
        "workers": args.workers,
        "equal": equal,
        "repeats": args.repeats,
        "serial": {"seconds": serial_seconds, "times": serial_runs["times"],
                   "rounds_per_second": n_streets / serial_seconds,
                   "cpu_seconds": serial_cpu,
                   "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                   * 1024 / 1e9},
        "cluster": cluster,
        "cluster_default": default_run,
        "plain_processes": plain,
        "plain_speedup": serial_seconds / plain["seconds"],
        "default_speedup": serial_seconds / default_run["seconds"],
        "plain_result_mb": plain_mb,
        "speedup": speedup,
        "efficiency": efficiency,
        "result_mb": result_mb,
        "scaling": scale,
        "province": province_model(serial_seconds / n_streets, needs, scale["exponent"],
                                   efficiency, max(cluster["worker_peak_rss_gb"])),
    }
    result["seconds"] = time.perf_counter() - start
    out = args.out if args.out is not None else (None if args.quick else ROOT / "docs")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "scale.json").write_text(json.dumps(result, indent=2) + "\n")
        (out / "scale.md").write_text(report(result))
    return result


if __name__ == "__main__":
    main()
