"""Solving the flow problem: the phase/batch loop, the back-ends and the certificate.

:func:`solve` (in :mod:`.phases`) solves a
:class:`~matchcore.model.problem.TransportProblem` exactly, phase by phase, with
a back-end from the :mod:`.registry`; :func:`verify` certifies any solution
(:mod:`.certify`), whoever produced it.
"""

from __future__ import annotations

from .certify import Certificate
from .phases import Solution, solve, verify
from .registry import AUTO_ORDER, BACKENDS, Backend, FlowSolver, available_solvers, get_backend
from .warm_phases import BatchBasis, WarmStart

__all__ = [
    "AUTO_ORDER",
    "BACKENDS",
    "Backend",
    "BatchBasis",
    "Certificate",
    "FlowSolver",
    "Solution",
    "WarmStart",
    "available_solvers",
    "get_backend",
    "solve",
    "verify",
]
