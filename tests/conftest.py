"""Shared test configuration: hypothesis profiles, the objective tolerance, small districts.

Profiles (``HYPOTHESIS_PROFILE`` picks one; ``CI`` set selects ``ci``):

- ``dev``, the default: deterministic (``derandomize=True``), so a test that
  passes in one clone passes in every clone and on every rerun; a test asking for
  more examples than the profile's 25 gets 25 (:func:`examples`);
- ``ci``: random exploration with more examples; ``.ci/run`` passes a fresh
  ``--hypothesis-seed`` per run and prints it, so any failure can be rerun
  exactly with ``CI=1 pytest --run-slow --hypothesis-seed=N``;
- ``thorough``: long random bug hunts by hand.

No profile keeps an example database (``database=None``): a failure saved in
``.hypothesis/`` would otherwise make every later run of that clone fail.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, settings

import matchcore as mc

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile(
    "dev",
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=_QUIET,
)
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=False,
    database=None,
    suppress_health_check=_QUIET,
    print_blob=True,
)
settings.register_profile(
    "thorough",
    max_examples=1000,
    deadline=None,
    derandomize=False,
    database=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
#: The hypothesis profile of this run (``HYPOTHESIS_PROFILE``, else ``ci`` when ``CI`` is set).
PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
settings.load_profile(PROFILE)


def examples(n: int) -> int:
    """The ``max_examples`` of a test that asks for ``n``: all ``n`` in the ``ci`` and
    ``thorough`` profiles, at most the ``dev`` profile's own count in a plain ``pytest``
    (its examples are the same in every clone, so more of them find nothing new there;
    CI explores all ``n`` from a fresh seed per code state)."""
    return n if PROFILE != "dev" else min(n, settings.get_profile("dev").max_examples)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run the tests marked slow (.ci/run does)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the ``slow`` tests unless ``--run-slow`` is given or ``-m`` selects by marker
    (``pytest -m slow`` runs just them): a plain ``pytest`` stays within a few minutes on two
    cores, and CI runs everything."""
    if config.getoption("--run-slow") or config.getoption("-m"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow (CI does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def objective_slack(problem, *values: float) -> float:
    """How far two float objectives of optimal solutions of ``problem`` may differ.

    The documented bound (README, :attr:`TransportProblem.tolerance`): an
    optimum of the rounded integer scores is within ``problem.tolerance`` of
    the float optimum, so two such optima differ by at most that; plus the
    rounding of the float sums themselves (a few ulps per term).
    """
    terms = max(int(getattr(problem, "n_edges", 1)), 1)
    size = max([1.0, *(abs(v) for v in values)])
    return float(problem.tolerance) + 4 * terms * np.finfo(float).eps * size


DATA = Path(__file__).parent / "data"

#: The exact back-ends installed here (ortools is an extra; simplex needs numba to load).
EXACT_SOLVERS = [s for s in ("simplex", "ortools", "highs", "networkx")
                 if s in mc.available_solvers()]


@pytest.fixture
def data_dir() -> Path:
    """The folder of regression cases."""
    return DATA


@pytest.fixture
def tiny() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The fixed 5-need / 4-resource district of :func:`matchcore.synthetic.tiny`."""
    return mc.synthetic.tiny()


@pytest.fixture
def contested() -> tuple[pd.DataFrame, pd.DataFrame]:
    """One resource wanted by an urgent far need and a mild near one.

    Maximising the score alone gives the unit to the near need (B, priority 1);
    the coverage objective gives it to the urgent one (A, priority 5).
    """
    needs = pd.DataFrame({
        "need_id": ["A", "B"],
        "category": ["repair", "repair"],
        "x": [900.0, 10.0],
        "y": [0.0, 0.0],
        "priority": [5, 1],
    })
    resources = pd.DataFrame({
        "resource_id": ["X"], "category": ["repair"], "x": [0.0], "y": [0.0],
    })
    return needs, resources


@pytest.fixture
def reasons_district() -> tuple[pd.DataFrame, pd.DataFrame]:
    """One need per unmet reason, plus a served one.

    ``compat``: no resource offers legal aid; ``far``: the only venue is
    5 km away; ``late``: the fund is available a day too early; ``skill``:
    the nurse lacks the driving skill; ``lost``: loses the single childcare
    unit to ``won`` (priority 5 against 1).
    """
    needs = pd.DataFrame({
        "need_id": ["compat", "far", "late", "skill", "won", "lost"],
        "category": ["legal_aid", "venue", "funding", "elderly_care", "childcare", "childcare"],
        "x": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        "y": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        "priority": [3, 3, 3, 3, 5, 1],
        "skills": [None, None, None, "护理；驾驶", None, None],
        "window_start": [None, None, "2024-05-02 09:00", None, None, None],
        "window_end": [None, None, "2024-05-02 12:00", None, None, None],
    })
    resources = pd.DataFrame({
        "resource_id": ["R-venue", "R-fund", "R-nurse", "R-child"],
        "category": ["venue", "funding", "elderly_care", "childcare"],
        "x": [5000.0, 10.0, 10.0, 10.0],
        "y": [0.0, 0.0, 0.0, 0.0],
        "skills": [None, None, "护理;陪诊", None],
        "window_start": [None, "2024-05-01 09:00", None, None],
        "window_end": [None, "2024-05-01 17:00", None, None],
    })
    return needs, resources


@pytest.fixture
def load_benchmark():
    """Load a script of ``benchmarks/`` as a module (the folder is not a package)."""
    folder = Path(__file__).resolve().parent.parent / "benchmarks"

    def load(name: str):
        spec = importlib.util.spec_from_file_location(
            f"matchcore_benchmarks_{name}", folder / f"{name}.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
