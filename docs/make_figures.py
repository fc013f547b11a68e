"""Regenerate the documentation figures: one PNG per plotting function of matchcore.plot.

Usage::

    python docs/make_figures.py [--out docs/figures] [--seed 0] [--dpi 110]

Every figure is drawn from ``matchcore.synthetic.district("seed_street", seed=...)``
matched within its suggested ``max_distance``. The trade-off figure matches the
same district under eight weightings with the ``score`` objective (under the
default ``coverage`` objective the weights only break ties, so coverage would not
move) and joins the weightings that no other beats on both mean distance and
priority-weighted coverage. The matchcore of this repository (``src/``) is used,
whether or not another one is installed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "docs" / "figures"
PRESET = "seed_street"

#: The weightings of the trade-off figure: label -> (type, locality, priority, partner).
WEIGHTINGS: dict[str, tuple[float, float, float, float]] = {
    "default": (0.3, 0.4, 0.2, 0.1),
    "balanced": (0.25, 0.25, 0.25, 0.25),
    "type only": (1.0, 0.0, 0.0, 0.0),
    "locality only": (0.0, 1.0, 0.0, 0.0),
    "priority only": (0.0, 0.0, 1.0, 0.0),
    "near and urgent": (0.0, 0.5, 0.5, 0.0),
    "type and locality": (0.5, 0.5, 0.0, 0.0),
    "partners first": (0.2, 0.3, 0.1, 0.4),
}


def _matchcore() -> Any:
    src = ROOT / "src"
    if src.is_dir() and str(src) not in sys.path:
        sys.path.insert(0, str(src))
    import matchcore

    return matchcore


def weight_frame(mc: Any, needs: Any, resources: Any, max_distance: float) -> Any:
    """One row per weighting of :data:`WEIGHTINGS`, from :func:`matchcore.analysis.sweep`.

    Objective "score": under "coverage" every weighting serves the same units,
    so the frontier would be flat.
    """
    family = {
        label: mc.Weights(type=t, locality=loc, priority=p, partner=q)
        for label, (t, loc, p, q) in WEIGHTINGS.items()
    }
    return mc.analysis.sweep(needs, resources, family, max_distance=max_distance, objective="score")


def project_statuses(mc: Any, result: Any, needs: Any, seed: int) -> Any:
    """The round's project list with the needs' positions and made-up statuses."""
    import numpy as np

    projects = result.projects.merge(needs[["need_id", "lat", "lon"]], on="need_id", how="left")
    rng = np.random.default_rng(seed)
    statuses = np.array(list(mc.schema.STATUSES), dtype=object)
    projects["status"] = rng.choice(statuses, size=len(projects), p=[0.3, 0.4, 0.25, 0.05])
    return projects


def save_png(fig: Any, path: Path, dpi: int) -> None:
    """Save ``fig`` as a 256-colour PNG: a third of the size, no visible loss on charts."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    buffer.seek(0)
    with Image.open(buffer) as image:
        small = image.convert("RGB").quantize(colors=256, dither=Image.Dither.NONE)
        small.save(path, format="PNG", optimize=True)


def figures(seed: int) -> Iterator[tuple[str, Any]]:
    """Yield ``(name, figure)`` for every plotting function of matchcore.plot, one at a time."""
    import matplotlib.pyplot as plt

    mc = _matchcore()
    plot = mc.plot
    needs, resources = mc.synthetic.district(PRESET, seed=seed)
    max_distance = mc.synthetic.suggested_max_distance(PRESET)
    result = mc.match(needs, resources, max_distance=max_distance)

    # The street is wider than tall: wide figures leave no blank bands on the maps.
    _, ax = plt.subplots(figsize=(11.0, 6.2), layout="constrained")
    yield "district_map", plot.district_map(result, ax=ax).figure
    _, ax = plt.subplots(figsize=(11.0, 6.2), layout="constrained")
    yield "district_map_by_category", plot.district_map(result, ax=ax, by="category").figure
    # What `matchcore demo` writes as map.png: the same call, the default figure.
    yield "demo_map", plot.district_map(result).figure
    yield "community_maps", plot.community_maps(result)[0].figure
    _, ax = plt.subplots(figsize=(9.5, 5.0), layout="constrained")
    projects = project_statuses(mc, result, needs, seed)
    yield "status_map", plot.status_map(projects, ax=ax).figure
    yield "coverage_by_community", plot.coverage_by_community(result).figure
    yield "unmet_by_reason", plot.unmet_by_reason(result).figure
    yield "score_components", plot.score_components(result).figure
    frame = weight_frame(mc, needs, resources, max_distance)
    yield "frontier", plot.frontier(frame).figure


def main(argv: Sequence[str] | None = None) -> list[Path]:
    """Draw every figure into ``--out``; return the paths written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=FIGURES, help="folder of the PNGs")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic district")
    parser.add_argument("--dpi", type=int, default=110)
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fig in figures(args.seed):
        path = args.out / f"{name}.png"
        save_png(fig, path, args.dpi)
        plt.close(fig)
        written.append(path)
        print(f"{path} ({path.stat().st_size / 1000:.0f} kB)")
    return written


if __name__ == "__main__":
    main()
