"""Redraw ``docs/figures/public_map.png``: the street's public project map in headless Chromium.

Usage::

    python docs/make_public_map.py [--out docs/figures/public_map.png] [--seed 0]

A ledger of ``matchcore.synthetic.district("seed_street")`` is matched, a fixed share
of its projects moved to in progress and completed (``--seed``), its public map
written with :meth:`matchcore.ProjectLedger.public_map`, and the page screenshot
by Chromium (``apt-get install chromium``; a CJK font such as
``fonts-wqy-microhei`` for the Chinese labels).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import matchcore as mc

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "figures" / "public_map.png"


def build(folder: Path, seed: int) -> Path:
    """The street's map of a month's ledger, in ``folder``."""
    needs, resources = mc.synthetic.district("seed_street", seed=0)
    ledger = mc.ProjectLedger(folder / "street.db")
    ledger.add_round(mc.match(needs, resources, max_distance=700))
    rng = np.random.default_rng(seed)
    for pid in ledger.projects()["project_id"]:
        draw = rng.random()
        if draw < 0.55:
            ledger.set_status(pid, "in_progress")
        if draw < 0.3:
            ledger.set_status(pid, "completed")
    path = ledger.public_map(folder / "public-map.html", as_of="2026-03-31")
    ledger.close()
    return path


def screenshot(page: Path, out: Path, size: str = "1200,800") -> None:
    """Chromium's headless screenshot of ``page``."""
    browser = next((b for b in (shutil.which(n) for n in ("chromium", "chromium-browser",
                                                           "google-chrome")) if b), None)
    if browser is None:
        raise SystemExit("no Chromium found: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             "--hide-scrollbars", f"--window-size={size}", f"--screenshot={out}",
             page.resolve().as_uri()],
            check=True, capture_output=True, timeout=120,
        )


def main(argv: Sequence[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        page = build(Path(tmp), args.seed)
        print(f"{page.name}: {page.stat().st_size:,} bytes")
        screenshot(page, args.out)
    print(f"wrote {args.out}")
    return args.out


if __name__ == "__main__":
    main(sys.argv[1:])
