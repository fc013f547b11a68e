"""The policies study: the price of fairness floors, and a coverage–distance frontier
against nearest-first, on ``synthetic.district("seed_street", seed=s)``.

Usage::

    python docs/policies_study.py [--seeds 0 1 2] [--out docs]

Writes ``docs/figures/price_of_fairness.png``, ``docs/figures/policies_frontier.png``
and the numbers behind them to ``docs/policies.json`` (the how-to page
``docs/how-to/policies.md`` quotes them). The matchcore of this repository
(``src/``) is used, whether or not another one is installed.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import matchcore as mc  # noqa: E402
from matchcore import analysis  # noqa: E402

REACH = 700.0
FLOORS = (0.0, 0.7, 0.75, 0.8, 0.85, 0.9)
#: The frontier's scan: reach (m) x objective x distance scale of a locality-only score.
REACHES = (400.0, 450.0, 500.0, 540.0, 550.0, 600.0, 650.0, 700.0, 750.0, 800.0, 850.0, 900.0)
SCALES = (200.0, 300.0, 400.0, 1000.0)
GAIN = 0.05  # points of unit coverage over nearest-first


def price_of_fairness(seed: int) -> list[dict[str, Any]]:
    """Objective and mean distance lost per common community floor (700 m)."""
    needs, resources = mc.synthetic.district("seed_street", seed=seed)
    rows = []
    for share in FLOORS:
        kw: dict[str, Any] = {} if share == 0 else {"min_coverage": {"community": share}}
        r = mc.match(needs, resources, max_distance=REACH, **kw)
        assert r.verify()
        m = r.metrics
        row = {"seed": seed, "floor": share,
               "unit_coverage": float(m["unit_coverage"]),
               "priority_weighted_coverage": float(m["priority_weighted_coverage"]),
               "mean_distance": float(m["mean_distance"]),
               "min_community_coverage": float(
                   mc.metrics.by_community(r)["unit_coverage"].min()),
               "lowered": 0 if r.fairness is None else int(r.fairness["lowered"].sum())}
        if r.price_of_fairness is not None:
            p = r.price_of_fairness
            row.update(weighted_units_lost=p["weighted_units_lost"], score_lost=p["score_lost"],
                       distance_added=p["mean_distance_with"] - p["mean_distance_without"])
        else:
            row.update(weighted_units_lost=0.0, score_lost=0.0, distance_added=0.0)
        rows.append(row)
    mm = mc.match(needs, resources, max_distance=REACH, fairness="maxmin")
    p = mm.price_of_fairness or {}
    rows.append({"seed": seed, "floor": "maxmin", "t": mm.floors.t if mm.floors else None,
                 "unit_coverage": float(mm.metrics["unit_coverage"]),
                 "priority_weighted_coverage": float(mm.metrics["priority_weighted_coverage"]),
                 "mean_distance": float(mm.metrics["mean_distance"]),
                 "min_community_coverage": float(
                     mc.metrics.by_community(mm)["unit_coverage"].min()),
                 "weighted_units_lost": p.get("weighted_units_lost", 0.0),
                 "score_lost": p.get("score_lost", 0.0),
                 "distance_added": p.get("mean_distance_with", 0) - p.get(
                     "mean_distance_without", 0)})
    return rows


def frontier(seed: int) -> dict[str, Any]:
    """Scan reach x objective x locality; the settings that beat nearest-first."""
    needs, resources = mc.synthetic.district("seed_street", seed=seed)
    near = analysis.baseline(needs, resources, "nearest", max_distance=REACH)
    nm = near.metrics
    base = {"unit_coverage": float(nm["unit_coverage"]),
            "mean_distance": float(nm["mean_distance"])}
    points = []
    for objective in ("coverage", "score"):
        for reach in REACHES:
            weights = {f"scale={s:.0f}": _weights_of(s) for s in SCALES}
            frame = analysis.sweep(needs, resources, weights, max_distance=reach,
                                   objective=objective)  # type: ignore[arg-type]
            for row in frame.itertuples():
                points.append({"objective": objective, "max_distance": reach,
                               "weights": row.label, "unit_coverage": row.unit_coverage,
                               "mean_distance": row.mean_distance})
    wins = [p for p in points if p["unit_coverage"] >= base["unit_coverage"] + GAIN
            and p["mean_distance"] <= base["mean_distance"]]
    # The win with the most coverage; without one, the most coverage within the distance.
    within = [p for p in points if p["mean_distance"] <= base["mean_distance"]]
    best = max(wins or within, key=lambda p: p["unit_coverage"], default=None)
    per_community = floored = None
    if best is not None:
        setting = {"max_distance": best["max_distance"], "objective": best["objective"],
                   "weights": _weights_of(float(best["weights"].split("=")[1]))}
        r = mc.match(needs, resources, **setting)
        assert r.verify()
        cols = ["community", "unit_coverage", "mean_distance"]
        b = mc.metrics.by_community(near)[cols]
        per_community = mc.metrics.by_community(r)[cols].merge(
            b, on="community", suffixes=("", "_nearest")).to_dict("records")
        # The same setting with a floor per community at nearest-first's coverage there:
        # no community is served less than under nearest-first.
        floors = {c: float(v) for c, v in zip(b["community"], b["unit_coverage"])
                  if c != "(none)" and v == v}
        f = mc.match(needs, resources, **setting, min_coverage={"community": floors})
        assert f.verify()
        floored = {"unit_coverage": float(f.metrics["unit_coverage"]),
                   "mean_distance": float(f.metrics["mean_distance"]),
                   "lowered": int(f.fairness["lowered"].sum()),
                   "per_community": mc.metrics.by_community(f)[cols].merge(
                       b, on="community", suffixes=("", "_nearest")).to_dict("records")}
    return {"seed": seed, "nearest": base, "points": points, "wins": wins, "best": best,
            "per_community": per_community, "with_floors": floored}


def _weights_of(scale: float) -> mc.Weights:
    """A score of nearness alone (with its same-grid / same-community bonus)."""
    return mc.Weights(type=0.0, locality=1.0, priority=0.0, partner=0.0, distance_scale=scale)


def plot(price: list[dict[str, Any]], fronts: list[dict[str, Any]], figures: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for seed in sorted({r["seed"] for r in price}):
        rows = [r for r in price if r["seed"] == seed and r["floor"] != "maxmin"]
        axes[0].plot([r["floor"] for r in rows], [r["weighted_units_lost"] for r in rows],
                     marker="o", label=f"seed {seed}")
        axes[1].plot([r["floor"] for r in rows], [r["distance_added"] for r in rows],
                     marker="o", label=f"seed {seed}")
    axes[0].set_xlabel("community floor (share of demand units)")
    axes[0].set_ylabel("priority-weighted units lost")
    axes[1].set_xlabel("community floor (share of demand units)")
    axes[1].set_ylabel("mean distance added (m)")
    axes[0].legend()
    fig.suptitle(f"The price of fairness floors, seed_street, {REACH:.0f} m")
    fig.tight_layout()
    fig.savefig(figures / "price_of_fairness.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, len(fronts), figsize=(5 * len(fronts), 4.2), squeeze=False)
    for ax, f in zip(axes[0], fronts):
        for objective, marker in (("coverage", "o"), ("score", "s")):
            pts = [p for p in f["points"] if p["objective"] == objective]
            ax.scatter([p["mean_distance"] for p in pts], [p["unit_coverage"] for p in pts],
                       marker=marker, s=18, alpha=0.7, label=f"matchcore, {objective}")
        n = f["nearest"]
        ax.scatter([n["mean_distance"]], [n["unit_coverage"]], marker="*", s=160, c="k",
                   label="nearest-first (700 m)")
        ax.axhline(n["unit_coverage"] + GAIN, color="grey", lw=0.6, ls="--")
        ax.axvline(n["mean_distance"], color="grey", lw=0.6, ls="--")
        if f["best"] is not None:
            b = f["best"]
            ax.scatter([b["mean_distance"]], [b["unit_coverage"]], s=120, facecolors="none",
                       edgecolors="red", label="best win")
        if f["with_floors"] is not None:
            w = f["with_floors"]
            ax.scatter([w["mean_distance"]], [w["unit_coverage"]], marker="D", s=50,
                       c="red", label="best win + community floors")
        ax.set_title(f"seed {f['seed']}")
        ax.set_xlabel("mean distance (m)")
        ax.set_ylabel("unit coverage")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(figures / "policies_frontier.png", dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", mc.MatchcoreWarning)
    price = [row for s in args.seeds for row in price_of_fairness(s)]
    fronts = [frontier(s) for s in args.seeds]
    figures = args.out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    plot(price, fronts, figures)
    out = {"price_of_fairness": price,
           "frontier": [{k: v for k, v in f.items() if k != "points"} for f in fronts]}
    (args.out / "policies.json").write_text(json.dumps(out, indent=1, ensure_ascii=False))
    for f in fronts:
        print(f["seed"], f["nearest"], f["best"], len(f["wins"]),
              f["with_floors"] and {k: v for k, v in f["with_floors"].items()
                                    if k != "per_community"})


if __name__ == "__main__":
    main()
