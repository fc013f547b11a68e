"""Synthetic districts for the benchmark grid (fixed seeds, any size).

Uses :func:`matchcore.synthetic.district` presets when that module provides
them; otherwise a local generator of the same shape: needs and resources
clustered around community centres, categories drawn from the default
taxonomy, demand and capacity set by the scarcity of the cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CATEGORIES = (
    "elderly_care",
    "childcare",
    "repair",
    "cleaning",
    "legal_aid",
    "medical",
    "psychological_support",
    "education",
    "employment",
    "culture_sport",
    "environment",
    "safety_patrol",
    "venue",
    "funding",
    "disability_support",
    "community_service",
)
#: Supply / demand ratio of each scarcity level.
SCARCITY = {"scarce": 0.6, "ample": 1.5}
#: Residents per community; sets the number of community clusters.
NEEDS_PER_COMMUNITY = 400
#: Global reach used with these districts (metres).
MAX_DISTANCE = 800.0


def generate(
    n_needs: int, *, scarcity: str = "scarce", seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A district of ``n_needs`` needs and ``n_needs // 2`` resources.

    Communities are Gaussian clusters (sd 600 m) on a jittered lattice 3 km
    apart, grouped four to a grid; categories follow a skewed popularity.
    """
    rng = np.random.default_rng(seed)
    n_res = max(1, n_needs // 2)
    n_comm = max(1, n_needs // NEEDS_PER_COMMUNITY)
    side = int(np.ceil(np.sqrt(n_comm)))
    cx = (np.arange(n_comm) % side) * 3000.0 + rng.normal(0, 400, n_comm)
    cy = (np.arange(n_comm) // side) * 3000.0 + rng.normal(0, 400, n_comm)
    pop = 1.0 / np.arange(1, len(CATEGORIES) + 1) ** 0.8
    pop /= pop.sum()

    def place(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c = rng.integers(0, n_comm, n)
        return c, cx[c] + rng.normal(0, 600, n), cy[c] + rng.normal(0, 600, n)

    nc, nx_, ny = place(n_needs)
    demand = rng.integers(1, 4, n_needs)
    needs = pd.DataFrame(
        {
            "need_id": [f"N{k:07d}" for k in range(n_needs)],
            "category": np.asarray(CATEGORIES)[rng.choice(len(CATEGORIES), n_needs, p=pop)],
            "demand": demand,
            "x": nx_,
            "y": ny,
            "community": [f"C{c:05d}" for c in nc],
            "grid": [f"G{c // 4:05d}" for c in nc],
            "priority": rng.integers(1, 6, n_needs),
        }
    )
    rc, rx, ry = place(n_res)
    mean_cap = SCARCITY[scarcity] * demand.sum() / n_res
    capacity = 1 + rng.poisson(max(mean_cap - 1, 0), n_res)
    resources = pd.DataFrame(
        {
            "resource_id": [f"R{k:07d}" for k in range(n_res)],
            "category": np.asarray(CATEGORIES)[rng.choice(len(CATEGORIES), n_res, p=pop)],
            "capacity": capacity,
            "x": rx,
            "y": ry,
            "community": [f"C{c:05d}" for c in rc],
            "grid": [f"G{c // 4:05d}" for c in rc],
        }
    )
    return needs, resources
