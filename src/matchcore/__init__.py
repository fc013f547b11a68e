"""matchcore: match a district's community needs to its resources, exactly and explained.

The engine behind the three lists (资源清单 resources, 需求清单 needs, 项目清单
projects): validated tables in, a certified optimal project list out.

Examples
--------
>>> import matchcore as mc
>>> result = mc.match(*mc.synthetic.tiny(), max_distance=2000)
>>> bool(result.verify())
True
"""

from . import analysis, distributed, geo, metrics, model, synthetic
from .distributed import match_many
from .errors import (
    InputError,
    LedgerBusy,
    LedgerChanged,
    LedgerClosed,
    MatchcoreError,
    MatchcoreWarning,
    RoundsFailed,
    SolverError,
)
from .io import read_needs, read_resources, write_table
from .ledger.store import ProjectLedger
from .model.candidates import CandidateGraph, build_candidates
from .model.scoring import Weights
from .model.taxonomy import Taxonomy
from .options import MatchOptions
from .pipeline import match, solve_assignment
from .result import Alternative, Explanation, MatchResult
from .solvers import Certificate, available_solvers

__version__ = "0.1.0"

__all__ = [
    "Alternative",
    "CandidateGraph",
    "Certificate",
    "Explanation",
    "InputError",
    "LedgerBusy",
    "LedgerChanged",
    "LedgerClosed",
    "MatchOptions",
    "MatchResult",
    "MatchcoreError",
    "MatchcoreWarning",
    "ProjectLedger",
    "RoundsFailed",
    "SolverError",
    "Taxonomy",
    "Weights",
    "__version__",
    "analysis",
    "available_solvers",
    "build_candidates",
    "distributed",
    "geo",
    "match",
    "match_many",
    "metrics",
    "model",
    "plot",
    "read_needs",
    "read_resources",
    "solve_assignment",
    "synthetic",
    "write_table",
]


def __getattr__(name: str) -> object:
    # `matchcore.plot` imports matplotlib, so it is loaded on first use, not at import.
    if name == "plot":
        import importlib

        return importlib.import_module(".plot", __name__)
    raise AttributeError(f"module 'matchcore' has no attribute {name!r}")
