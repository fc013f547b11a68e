"""Time ``ProjectLedger.rematch`` against a full ``match`` after a 1% change.

One command regenerates ``docs/rematch.md`` and ``docs/rematch.json``::

    python benchmarks/bench_rematch.py            # city_100k: 10^5 needs (several minutes)
    python benchmarks/bench_rematch.py --quick    # a small district, no files unless --out

A round is matched and recorded in a ledger; then 1% of the needs change
(half are new, half replace an existing need's row: moved 200 m, priority
raised). ``rematch`` (stickiness 0.1, on a fresh copy of the ledger each run)
and a full ``match`` of the same changed lists run in this process; wall time
is the median of ``--repeats`` runs. With no project in progress, both solve
the same lists, so the ratio is the price of the ledger: reading the last
round, the stickiness bonus, recording the new round (projects, assignments,
backups, audit) in one transaction.

The same is done with ``scope="community"``. For both scopes the report also
gives the connected components of the candidate graph and the share of needs
and edges in components the change touches: the most that re-solving only
those components could save.
"""

from __future__ import annotations

import functools
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import matchcore as mc
import run  # the benchmark report's machine description
from matchcore import ProjectLedger
from matchcore.analysis import sweep

SCOPES: tuple[str | None, ...] = (None, "community")


def _machine() -> dict[str, Any]:
    """The machine line of run.py's report, plus the versions the ledger depends on."""
    return {**run.machine(), "pandas": pd.__version__, "sqlite": sqlite3.sqlite_version}


def change(needs: pd.DataFrame, share: float, seed: int) -> pd.DataFrame:
    """The changed rows: ``share`` of the needs, half new and half replaced."""
    rng = np.random.default_rng(seed)
    n = max(2, round(len(needs) * share))
    rows = needs.iloc[rng.choice(len(needs), size=n, replace=False)].reset_index(drop=True)
    half = n // 2
    new = rows.iloc[:half].assign(need_id=lambda f: "NEW-" + f["need_id"].astype(str))
    replaced = rows.iloc[half:].copy()
    for col in ("x", "y"):
        if col in replaced.columns:
            replaced[col] = replaced[col] + 200.0 * rng.choice([-1.0, 1.0], len(replaced))
    if "lat" in replaced.columns:  # move by about 200 m north or south
        replaced["lat"] = replaced["lat"] + rng.choice([-1.0, 1.0], len(replaced)) * 0.0018
    if "priority" in replaced.columns:
        replaced["priority"] = np.minimum(replaced["priority"].astype(int) + 1, 5)
    return pd.concat([new, replaced], ignore_index=True)


def apply(needs: pd.DataFrame, changed: pd.DataFrame) -> pd.DataFrame:
    """The needs list after the change (the lists a full ``match`` would be given)."""
    kept = needs[~needs["need_id"].isin(changed["need_id"])]
    return pd.concat([kept, changed], ignore_index=True)


def components(result: mc.MatchResult, touched_needs: set[str]) -> dict[str, Any]:
    """Components of the candidate graph, and how much of it the change touches."""
    need_label, _ = result.problem.components()
    g = result.graph
    has_edge = np.bincount(g.need, minlength=g.n_needs) > 0
    labels, sizes = np.unique(need_label[has_edge], return_counts=True)
    hit = np.isin(g.need_ids, list(touched_needs))
    touched = np.unique(need_label[hit & has_edge])
    in_touched = np.isin(need_label, touched) & has_edge
    edge_touched = in_touched[g.need]
    # Needs within one and two exchanges (need -> resource -> need) of a changed
    # need: how far a re-solve confined to a neighbourhood would have to reach.
    near, reach = hit.copy(), []
    for _ in range(2):
        res = np.bincount(g.resource[near[g.need]], minlength=g.n_resources) > 0
        near |= np.bincount(g.need[res[g.resource]], minlength=g.n_needs) > 0
        reach.append(float(near[has_edge].mean()) if has_edge.any() else 0.0)
    return {
        "needs_within_1_exchange": reach[0],
        "needs_within_2_exchanges": reach[1],
        "n_components": len(labels),
        "largest_component_needs": int(sizes.max()) if len(sizes) else 0,
        "largest_component_share": float(sizes.max() / has_edge.sum()) if len(sizes) else 0.0,
        "touched_components": len(touched),
        "touched_need_share": float(in_touched.sum() / max(has_edge.sum(), 1)),
        "touched_edge_share": float(edge_touched.mean()) if g.n_edges else 0.0,
    }


def run_scope(
    needs: pd.DataFrame,
    resources: pd.DataFrame,
    changed: pd.DataFrame,
    scope: str | None,
    reach: float,
    repeats: int,
    work: Path,
) -> dict[str, Any]:
    options: dict[str, Any] = {"max_distance": reach, "scope": scope}
    tag = scope or "street"
    base = work / f"base-{tag}.db"
    t = time.perf_counter()
    first = mc.match(needs, resources, **options)
    first_s = time.perf_counter() - t
    # No warm state in the file: these cells time the ledger's cold rematch.
    with ProjectLedger(base, keep_warm=False) as led:
        t = time.perf_counter()
        led.add_round(first)
        record_s = time.perf_counter() - t
    after = apply(needs, changed)
    full_times, rematch_times = [], []
    report = full = None
    for k in range(repeats):
        t = time.perf_counter()
        full = mc.match(after, resources, **options)
        full_times.append(time.perf_counter() - t)
        copy = work / f"copy-{tag}-{k}.db"
        _copy(base, copy)
        with ProjectLedger(copy, keep_warm=False) as led:
            t = time.perf_counter()
            report = led.rematch(changed, stickiness=0.1, **options)
            rematch_times.append(time.perf_counter() - t)
        copy.unlink()
    assert report is not None and full is not None
    cert = bool(report.result.verify())
    match_steps = sum(report.result.timings.values())
    touched = set(changed["need_id"].astype(str))
    return {
        "scope": tag,
        "n_needs": len(after),
        "n_changed": len(changed),
        "n_edges": int(full.graph.n_edges),
        "first_match_s": first_s,
        "add_round_s": record_s,
        "full_match_s": statistics.median(full_times),
        "rematch_s": statistics.median(rematch_times),
        "ratio": statistics.median(rematch_times) / statistics.median(full_times),
        "full_match_runs": full_times,
        "rematch_runs": rematch_times,
        "rematch_steps_s": {k: float(v) for k, v in report.result.timings.items()},
        "rematch_ledger_s": statistics.median(rematch_times) - match_steps,
        "projects_changed": report.n_changed,
        "projects_new": report.n_new,
        "projects_cancelled": report.n_dropped,
        "certified": cert,
        "same_coverage": report.result.objective["priority_weighted_units"]
        == full.objective["priority_weighted_units"],
        **components(full, touched),
    }


#: The five weightings of the warm sweep.
SWEEP_WEIGHTS = {
    "default": mc.Weights(),
    "near": mc.Weights(type=0.2, locality=0.7, priority=0.1),
    "typed": mc.Weights(type=0.7, locality=0.2, priority=0.1),
    "urgent": mc.Weights(type=0.3, locality=0.3, priority=0.4),
    "partners": mc.Weights(type=0.3, locality=0.3, priority=0.1, partner=0.3),
}


def _copy(source: Path, target: Path) -> None:
    """Copy a ledger file and flush the copy to disk before anything is timed.

    A fresh copy's dirty pages (240 MB at city_100k) would otherwise be written
    back during the timed rematch, by its commit's fsync (``synchronous=FULL``)
    or by the kernel's writeback: a cost of the benchmark's copying, not of a
    rematch on a ledger that lives on disk.
    """
    shutil.copyfile(source, target)
    with open(target, "rb+") as f:
        os.fsync(f.fileno())


def _timed(fn: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def _same(a: mc.MatchResult, b: mc.MatchResult) -> bool:
    """Same objective and the same assignment (the tie-break makes it unique)."""
    cols = ["need_id", "resource_id", "units"]
    x = a.assignments[cols].sort_values(cols[:2]).reset_index(drop=True)
    y = b.assignments[cols].sort_values(cols[:2]).reset_index(drop=True)
    return a.objective == b.objective and x.equals(y)


def run_warm(needs: pd.DataFrame, resources: pd.DataFrame, reach: float, seed: int,
             shares: tuple[float, ...], work: Path) -> dict[str, Any]:
    """Warm re-plans (street scope) against a full match of the same lists, in one run.

    Each warm run starts from the first round's result in memory
    (``rematch(..., start=first)``, ``match(..., start=first)``,
    ``sweep``), the last row from the warm state stored in the ledger file
    (a ledger reopened, no ``start``); each is checked against the cold
    result of the same problem. Warm rematches run on ledgers with the
    default ``keep_warm=True``, so they pay for writing the next round's
    warm state as a user's rematch does; the cold ones on ledgers that keep
    no state (``keep_warm=False``), so that they are cold.
    """
    options: dict[str, Any] = {"max_distance": reach}
    first = mc.match(needs, resources, **options)  # also loads the compiled simplex
    # The full match is timed before the warm rows and again after them; the
    # faster of the two is the ratios' denominator (the larger ratios).
    full, full_s = _timed(lambda: mc.match(needs, resources, **options))
    base = work / "warm-base.db"
    with ProjectLedger(base, keep_warm=False) as led:
        _, add_plain_s = _timed(lambda: led.add_round(first))
    base_warm = work / "warm-base-kept.db"
    with ProjectLedger(base_warm, keep_warm=True) as led:
        _, add_warm_s = _timed(lambda: led.add_round(first))
        state_bytes, state_write_s = led.last_warm_write
    rows: list[dict[str, Any]] = []
    cold_first: list[mc.MatchResult] = []  # the cold result of the first row's change

    def ledger_rematch(name: str, fresh: bool = False, after: tuple[Path, Path, mc.MatchResult]
                       | None = None, **kw: Any) -> mc.MatchResult:
        # ``after``: the (cold, warm) ledgers and the result of the round to continue from
        # (default: the first round, recorded by ``add_round``).
        cold_base, warm_base, begin = after or (base, base_warm, first)
        copy = work / f"warm-{name}.db"
        _copy(warm_base, copy)
        extra: dict[str, Any] = {}
        if fresh:
            # A ledger opened anew: nothing in memory, the warm state is read from the file.
            with ProjectLedger(copy) as led:
                _, extra["state_read_s"] = _timed(led.warm_state)
        with ProjectLedger(copy) as led:  # the default: keep_warm=True
            start = None if fresh else begin
            report, secs = _timed(lambda: led.rematch(stickiness=0.1, start=start, **kw,
                                                      **options))
            extra["state_write_s"] = led.last_warm_write[1]
        copy.unlink()
        assert report.started_from == ("ledger" if fresh else "memory"), report.started_from
        cold_report = None
        copy2 = work / f"cold-{name}.db"
        _copy(cold_base, copy2)
        with ProjectLedger(copy2, keep_warm=False) as led:
            cold_report, cold_secs = _timed(lambda: led.rematch(stickiness=0.1, **kw,
                                                                **options))
        copy2.unlink()
        assert cold_report.started_from == "cold"
        r = report.result
        rows.append({**extra,
            "case": name, "warm_s": secs, "cold_s": cold_secs, "ratio": secs / full_s,
            "cold_ratio": cold_secs / full_s,
            "solve_s": float(r.timings.get("solve", 0.0)),
            "cold_solve_s": float(cold_report.result.timings.get("solve", 0.0)),
            "steps_s": {k: float(v) for k, v in r.timings.items()},
            "ledger_s": secs - sum(r.timings.values()),
            "same_as_cold": _same(r, cold_report.result),
            "certified": bool(r.verify()),
        })
        print(f"{name}: warm {secs:.2f}s cold {cold_secs:.2f}s full {full_s:.2f}s",
              file=sys.stderr)
        if not cold_first:
            cold_first.append(cold_report.result)
        return r

    for share in shares:
        ledger_rematch(f"rematch {share:.1%} changed", new_needs=change(needs, share, seed))
    # Staff look first, then commit what they saw: the dry run matches, the commit only
    # writes (``ProjectLedger.commit``). Same change as the first row, from the same round.
    copy = work / "warm-dry-run.db"
    _copy(base_warm, copy)
    with ProjectLedger(copy) as led:
        dry, dry_s = _timed(lambda: led.rematch(
            stickiness=0.1, start=first, dry_run=True,
            new_needs=change(needs, shares[0], seed), **options))
        done, commit_s = _timed(lambda: led.commit(dry))
    copy.unlink()
    committed = {"share": shares[0], "dry_run_s": dry_s, "commit_s": commit_s,
                 "rematch_s": rows[0]["warm_s"], "round": done.round,
                 "same_as_rematch": _same(done.result, cold_first[0]),
                 "certified": bool(done.result.verify())}
    print(f"dry run {dry_s:.2f}s, commit {commit_s:.2f}s", file=sys.stderr)
    # The resource with the most assigned units drops out; its needs go to their backups.
    a = first.assignments
    dropped = str(a.groupby("resource_id")["units"].sum().idxmax())
    ledger_rematch(f"resource {dropped} dropped", dropped_resources=[dropped])

    frames = {}
    for how in ("warm", "cold"):
        frames[how], secs = _timed(functools.partial(sweep, needs, resources, SWEEP_WEIGHTS,
                                                     warm=how == "warm", **options))
        rows.append({"case": f"sweep of {len(SWEEP_WEIGHTS)} weightings ({how})",
                     "warm_s" if how == "warm" else "cold_s": secs,
                     "ratio": secs / full_s})
        print(f"sweep {how}: {secs:.2f}s", file=sys.stderr)
    cold_row = rows.pop()
    rows[-1].update(cold_s=cold_row["cold_s"], cold_ratio=cold_row["ratio"],
                    same_as_cold=bool(frames["warm"].equals(frames["cold"])), certified=True)
    # Last, so that the rows above keep their order (and their targets in the report).
    share = shares[0]
    ledger_rematch(f"rematch {share:.1%} changed, fresh process (warm state from the ledger)",
                   fresh=True, new_needs=change(needs, share, seed))
    # The week after: a second rematch, on ledgers whose last round is itself a rematch of
    # the first (with the stickiness bonus, as every later week's is). The first rematch
    # after ``add_round`` adds the bonus to every edge of the first round's assignment
    # (~78k at city_100k), which that round's basis priced without it; a later one
    # changes it only where last week's assignment moved.
    week1 = change(needs, share, seed)
    bases = []
    for path, keep in ((base, False), (base_warm, True)):
        target = work / f"week1-{'warm' if keep else 'cold'}.db"
        _copy(path, target)
        with ProjectLedger(target, keep_warm=keep) as led:
            week1_report = led.rematch(new_needs=week1, stickiness=0.1,
                                       start=first if keep else None, **options)
        bases.append(target)
    ledger_rematch(f"rematch {share:.1%} changed, the week after (a second rematch)",
                   after=(bases[0], bases[1], week1_report.result),
                   new_needs=change(apply(needs, week1), share, seed + 1))
    # The floor of a warm match: the same lists again from their own result (nothing
    # changed, so no pivot moves anything), without a ledger. What remains are the
    # passes over every edge and arc that each round makes.
    unchanged, unchanged_s = _timed(lambda: mc.match(needs, resources, start=first,
                                                     **options))
    floor = {"seconds": unchanged_s, "steps_s": {k: float(v)
                                                 for k, v in unchanged.timings.items()},
             "phase_s": {k: float(v) for k, v in unchanged.solution.phase_seconds.items()},
             "same_as_cold": _same(unchanged, first),
             "certified": bool(unchanged.verify())}
    del unchanged
    full_again, again_s = _timed(lambda: mc.match(needs, resources, **options))
    full_runs = [full_s, again_s]
    if again_s < full_s:
        full, full_s = full_again, again_s
    for r in rows:
        r["ratio"] = r["warm_s"] / full_s
        r["cold_ratio"] = r["cold_s"] / full_s
    committed.update(dry_run_ratio=committed["dry_run_s"] / full_s,
                     commit_ratio=committed["commit_s"] / full_s,
                     rematch_ratio=committed["rematch_s"] / full_s)
    floor["ratio"] = floor["seconds"] / full_s
    return {"full_match_s": full_s, "commit": committed, "full_match_runs": full_runs,
            "unchanged": floor,
            "n_needs": len(needs),
            "n_edges": int(first.graph.n_edges),
            "full_steps_s": {k: float(v) for k, v in full.timings.items()}, "rows": rows,
            "warm_state": {"bytes": int(state_bytes), "write_s": float(state_write_s),
                           "add_round_s": add_warm_s, "add_round_without_s": add_plain_s}}


def _warm_md(result: dict[str, Any]) -> list[str]:
    """The warm re-plans section of the report (issue 13)."""
    w = result.get("warm")
    lines: list[str] = []
    if w:
        lines += [
            "",
            "## Warm re-plans (issue 13)",
            "",
            f"Street scope, {w['n_needs']:,} needs, {w['n_edges']:,} edges. One full match of "
            f"the lists took {w['full_match_s']:.2f} s, the faster of two runs (before and "
            f"after the warm rows: {', '.join(f'{v:.2f}' for v in w.get('full_match_runs', []))}"
            " s) "
            f"({', '.join(f'{k} {v:.2f}' for k, v in w['full_steps_s'].items())}); every "
            "ratio below is to it, in the same run. Warm runs start from that round's result "
            "in memory (`rematch(..., start=result)`; the sweep chains each weighting from the "
            "previous one); each is compared with the cold run of the same problem (same "
            "objective and assignment) and certified.",
            "",
            "| case | warm (s) | ratio to a full match | cold (s) | cold ratio | warm solve (s) "
            "| cold solve (s) | same as cold | certified |",
            "|---|---:|---:|---:|---:|---:|---:|---|---|",
        ]
        for r in w["rows"]:
            lines.append(
                f"| {r['case']} | {r['warm_s']:.2f} | {r['ratio']:.3f} | {r['cold_s']:.2f} | "
                f"{r['cold_ratio']:.3f} | {r.get('solve_s', float('nan')):.2f} | "
                f"{r.get('cold_solve_s', float('nan')):.2f} | "
                f"{'yes' if r['same_as_cold'] else 'NO'} | {'yes' if r['certified'] else 'NO'} |"
            )
        lines += ["", "Against the targets of issue 13:", ""]
        for r, target in zip(w["rows"], (0.2, 0.1, 0.05, 2.0)):
            met = "met" if r["ratio"] <= target else "not met"
            line = f"- {r['case']}: {r['ratio']:.3f}× a full match (target ≤ {target}×): {met}."
            if "steps_s" in r:
                steps = r["steps_s"]
                prep = sum(steps.get(k, 0.0) for k in ("validate", "candidates", "score"))
                line += (
                    f" The ledger's read, plan and write take {r['ledger_s']:.1f} s "
                    f"({r['ledger_s'] / r['warm_s']:.0%} of it); validation, candidates and "
                    f"scores of the whole lists {prep:.1f} s; the warm solve "
                    f"{r['solve_s']:.2f} s against {r['cold_solve_s']:.2f} s cold; the match "
                    f"alone (no ledger) {sum(steps.values()):.2f} s, "
                    f"{sum(steps.values()) / w['full_match_s']:.2f}× a full match."
                )
            lines.append(line)
        ws = w.get("warm_state")
        fresh = [r for r in w["rows"] if "state_read_s" in r]
        later = [r for r in w["rows"] if "the week after" in r["case"]]
        if later:
            r = later[0]
            lines.append(
                f"- {r['case']}: {r['ratio']:.3f}× a full match (the 1% target: ≤ 0.2×). "
                "The rows above continue from the round `add_round` recorded, whose basis "
                "was optimal without the stickiness bonus, so their score phase re-prices "
                "every edge of that round's assignment (the bonus lowers their costs); this "
                "one continues from a rematch, as every week after the first does."
            )
        if ws and fresh:
            r = fresh[0]
            lines.append(
                f"- {r['case']}: {r['ratio']:.3f}× a full match (the in-memory target of the "
                f"1% case: ≤ 0.2×). The stored warm state is {ws['bytes'] / 1e6:.1f} MB; "
                f"decoding it took {r['state_read_s']:.2f} s (`warm_state()`; a rematch "
                f"decodes it in a background thread while it plans), and the next round's "
                f"transaction spent {r['state_write_s']:.2f} s on storing its own (encoded "
                f"in a background thread while the rows are written). `add_round` took "
                f"{ws['add_round_s']:.2f} s keeping it (of which the transaction spent "
                f"{ws['write_s']:.2f} s on the state) and "
                f"{ws['add_round_without_s']:.2f} s without (`keep_warm=False`)."
            )
        c = w.get("commit")
        if c:
            lines.append(
                f"- dry run, then commit ({c['share']:.1%} changed, `rematch(..., "
                f"dry_run=True)` then `ProjectLedger.commit`): the dry run took "
                f"{c['dry_run_s']:.2f} s ({c['dry_run_ratio']:.3f}× a full match), committing "
                f"it {c['commit_s']:.2f} s ({c['commit_ratio']:.3f}×: the ledger's write "
                f"alone, no second match), against {c['rematch_s']:.2f} s "
                f"({c['rematch_ratio']:.3f}×) for the rematch in one call; the committed "
                f"round is the cold rematch's ({'same' if c['same_as_rematch'] else 'NOT the same'}"
                f" assignment) and {'is' if c['certified'] else 'is NOT'} certified."
            )
        u = w.get("unchanged")
        if u:
            steps = ", ".join(f"{k} {v:.2f}" for k, v in u["steps_s"].items())
            phases = ", ".join(f"{k} {v:.2f}" for k, v in u["phase_s"].items())
            lines.append(
                f"- the floor: the same lists matched again from their own result (nothing "
                f"changed, no ledger) took {u['seconds']:.2f} s ({u['ratio']:.3f}× a full "
                f"match; {steps}; the solve's phases {phases}), "
                f"{'the same' if u['same_as_cold'] else 'NOT the same'} assignment, "
                f"{'certified' if u['certified'] else 'NOT certified'}. No pivot changes "
                "anything there: what it measures are the passes over every list row, "
                "candidate edge and network arc that each warm round makes before and after "
                "its pivots, which the targets of 0.2×, 0.1× and 0.05× would have to fit in "
                "with the ledger's transaction."
            )
        lines += ["", "Steps of each warm rematch (s):", ""]
        for r in w["rows"]:
            if "steps_s" in r:
                steps = ", ".join(f"{k} {v:.2f}" for k, v in r["steps_s"].items())
                state = (f" (of which waiting for and storing the warm state "
                         f"{r['state_write_s']:.2f})"
                         if "state_write_s" in r else "")
                lines.append(f"- {r['case']}: {steps}; ledger read and write "
                             f"{r['ledger_s']:.2f}{state}")
    return lines


def report_md(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        "# Re-matching: `ProjectLedger.rematch` against a full `match`",
        "",
        f"Generated by `{result['command']}` on {result['date']} "
        f"({result['total_seconds']:.0f} s in all). Do not edit by hand.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}, numpy {m['numpy']}, "
        f"pandas {m['pandas']}, scipy {m['scipy']}, SQLite {m['sqlite']}.",
        "",
        f"District `{result['preset']}` (seed {result['seed']}), {result['share']:.0%} of the "
        "needs changed (half new, half replaced: moved 200 m, priority raised). A round is "
        "recorded in a ledger with every project not started; `rematch` (stickiness 0.1, "
        "a fresh copy of the ledger each run) and a full `match` of the same changed lists run "
        f"in one process; wall time is the median of {result['repeats']} runs.",
    ]
    if not result["cells"]:
        lines += ["", "(The cold table of both scopes was skipped: `--no-cold-cells`; the warm "
                  "section below has the cold rematch of each case beside the warm one.)"]
        return "\n".join([*lines, *_warm_md(result), ""])
    lines += [
        "",
        "| scope | needs | edges | full match (s) | rematch (s) | ratio | ledger part of "
        "rematch (s) | projects moved | certified |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for c in result["cells"]:
        lines.append(
            f"| {c['scope']} | {c['n_needs']:,} | {c['n_edges']:,} | {c['full_match_s']:.2f} | "
            f"{c['rematch_s']:.2f} | {c['ratio']:.2f} | {c['rematch_ledger_s']:.2f} | "
            f"{c['projects_changed']:,} | {'yes' if c['certified'] else 'NO'} |"
        )
    lines += [
        "",
        "Components of the candidate graph after the change, and the part of it that the "
        "change touches (an upper bound on what re-solving only the touched components "
        "could save; rematch re-solves everything today):",
        "",
        "| scope | components | largest (share of needs) | touched components | "
        "needs touched | edges touched |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for c in result["cells"]:
        lines.append(
            f"| {c['scope']} | {c['n_components']:,} | {c['largest_component_needs']:,} "
            f"({c['largest_component_share']:.0%}) | {c['touched_components']:,} | "
            f"{c['touched_need_share']:.0%} | {c['touched_edge_share']:.0%} |"
        )
    lines += ["", "Reading the numbers:", ""]
    for c in result["cells"]:
        lines.append(
            f"- {c['scope']}: rematch takes {c['ratio']:.2f}× a full match. Its match solves "
            "the same lists (plus the stickiness bonus); the rest, "
            f"{c['rematch_ledger_s']:.1f} s, is the ledger: reading the last round's rows and "
            "writing the new round (projects, assignments, backups, audit) in one transaction. "
            f"The change touches components holding {c['touched_need_share']:.0%} of the needs, "
            f"so re-solving only those could save at most {1 - c['touched_edge_share']:.0%} of "
            "the edges' solve work (not implemented). A re-solve confined to a neighbourhood of "
            "the change fares no better: "
            f"{c.get('needs_within_1_exchange', float('nan')):.0%} of the needs share a "
            "candidate resource with a changed need, and "
            f"{c.get('needs_within_2_exchanges', float('nan')):.0%} are within two such "
            "exchanges."
        )
    lines += [
        "",
        "The machine is shared (other jobs ran on its cores), so absolute times are noisy; "
        "each ratio compares runs interleaved in one process.",
    ]
    lines += _warm_md(result)
    lines += ["", "Steps of the last rematch's match (s):", ""]
    for c in result["cells"]:
        steps = ", ".join(f"{k} {v:.2f}" for k, v in c["rematch_steps_s"].items())
        lines.append(f"- {c['scope']}: {steps}; ledger read and write "
                     f"{c['rematch_ledger_s']:.2f}")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = run.district_parser(__doc__.split("\n\n")[0], "rematch")
    parser.add_argument("--share", type=float, default=0.01, help="share of needs changed")
    parser.add_argument("--no-cold-cells", action="store_true",
                        help="skip the cold rematch table (street and community scopes)")
    args = parser.parse_args(argv)
    preset, repeats, out = run.district_options(args)
    start = time.perf_counter()
    needs, resources = mc.synthetic.district(preset, seed=args.seed)
    reach = mc.synthetic.suggested_max_distance(preset)
    changed = change(needs, args.share, args.seed)
    cells = []
    with tempfile.TemporaryDirectory(prefix="bench_rematch-") as tmp:
        warm = run_warm(needs, resources, reach, args.seed, (args.share, args.share / 10),
                        Path(tmp))
        for scope in () if args.no_cold_cells else SCOPES:
            cell = run_scope(needs, resources, changed, scope, reach, repeats, Path(tmp))
            print(f"{cell['scope']}: full match {cell['full_match_s']:.2f}s, rematch "
                  f"{cell['rematch_s']:.2f}s, ratio {cell['ratio']:.2f}", file=sys.stderr)
            cells.append(cell)
    result = {
        **run.report_head("bench_rematch.py", argv, _machine(), args, preset, repeats),
        "share": args.share,
        "cells": cells,
        "warm": warm,
        "total_seconds": time.perf_counter() - start,
    }
    run.write_report(out, "rematch", result, report_md(result))
    return result


if __name__ == "__main__":
    main()
