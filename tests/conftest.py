"""Shared test configuration: hypothesis profiles and small fixed districts.

Profiles: ``dev`` (the default, quick), ``ci`` (more examples, still well
under two minutes) and ``thorough`` (bug hunts by hand); ``ci`` is selected
when the ``CI`` environment variable is set, and ``HYPOTHESIS_PROFILE``
overrides both.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, settings

import matchcore as mc

settings.register_profile(
    "dev",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
# For bug hunts by hand: HYPOTHESIS_PROFILE=thorough pytest tests/test_properties.py
settings.register_profile(
    "thorough",
    max_examples=1000,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)

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
