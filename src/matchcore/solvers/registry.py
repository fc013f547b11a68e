"""The back-end registry: names to min-cost-flow solvers sharing one signature.

A back-end is a callable ``solve(network: FlowNetwork) -> flow`` returning
an int64 array of shape ``(n_arcs,)``; exact back-ends return an optimal flow
(every one is checked by the certificate). ``"greedy"`` is the exception: an
inexact baseline that works on the transportation problem itself.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..errors import InputError, SolverError
from ..model.problem import FlowNetwork, TransportProblem

__all__ = [
    "AUTO_ORDER",
    "BACKENDS",
    "Backend",
    "FlowSolver",
    "Heuristic",
    "available_solvers",
    "get_backend",
]


class FlowSolver(Protocol):
    """The signature every exact back-end shares: a min-cost flow of a network.

    Returns an int64 array of shape ``(n_arcs,)``, an optimal flow (every
    one is checked by the certificate).
    """

    def __call__(self, network: FlowNetwork) -> np.ndarray:  # pragma: no cover - protocol
        ...


class Heuristic(Protocol):
    """An inexact rule on the transportation problem itself (units per edge)."""

    def __call__(self, problem: TransportProblem) -> np.ndarray:  # pragma: no cover
        ...


@dataclass(frozen=True)
class Backend:
    """A registered back-end, and what it can do.

    Attributes
    ----------
    name : str
        Its name, as ``solver=`` takes it and as a result reports it.
    requires : str or None
        The module it needs (its extra), checked by :meth:`is_available`.
    loader : callable, optional
        Returns the :class:`FlowSolver` (exact network back-ends).
    heuristic : callable, optional
        Returns the :class:`Heuristic` (inexact back-ends work on the
        problem, not on its network).
    coverage_by_maxflow : bool, default False
        Capability: the coverage phase may be solved as a few max flows
        (:mod:`matchcore.solvers.maxflow`, which needs OR-Tools).
    warm_loader : callable, optional
        Returns the back-end's warm solver, ``(network, basis=None) ->``
        a result with ``flow``, ``potentials`` and ``basis``
        (:func:`~matchcore.solvers.network_simplex.network_simplex`); with
        it, a batch's phases run as one warm sequence on one network
        (:mod:`matchcore.solvers.warm_phases`): :attr:`supports_warm_start`.
    extra : str or None
        The pip extra that installs ``requires`` (None: ``requires`` is a
        core dependency, installed by name).
    probe : callable, optional
        Replaces the check that ``requires`` is installed (e.g. by one that
        it also loads).
    """

    name: str
    requires: str | None = None
    loader: Callable[[], FlowSolver] | None = None
    heuristic: Callable[[], Heuristic] | None = None
    coverage_by_maxflow: bool = False
    warm_loader: Callable[[], Callable[..., Any]] | None = None
    extra: str | None = None
    probe: Callable[[], bool] | None = None

    @property
    def exact(self) -> bool:
        """Whether it returns optimal solutions (certified after every solve)."""
        return self.heuristic is None

    @property
    def supports_warm_start(self) -> bool:
        """Capability: it returns its optimal basis and starts from one."""
        return self.warm_loader is not None

    def is_available(self) -> bool:
        if self.probe is not None:
            return self.probe()
        return self.requires is None or importlib.util.find_spec(self.requires) is not None

    def load(self) -> FlowSolver:
        """The exact back-end's solver function."""
        if self.loader is None:
            raise SolverError(f"back-end {self.name!r} is a heuristic, not a flow solver")
        return self.loader()


def _ortools() -> FlowSolver:
    from .ortools_mcf import solve_ortools

    return solve_ortools


def _simplex() -> FlowSolver:
    from .network_simplex import solve_network_simplex

    return solve_network_simplex


def _simplex_warm() -> Callable[..., Any]:
    from .network_simplex import network_simplex

    return network_simplex


def _numba_loads() -> bool:
    # Installed is not enough: a numba that cannot load (say, beside a numpy it
    # does not support) makes the back-end unavailable, not broken.
    from .network_simplex import is_available

    return is_available()


def _highs() -> FlowSolver:
    from .highs_lp import solve_highs

    return solve_highs


def _networkx() -> FlowSolver:
    from .nx_simplex import solve_networkx

    return solve_networkx


def _greedy() -> Heuristic:
    from .greedy import solve_greedy

    return solve_greedy


BACKENDS: dict[str, Backend] = {
    "simplex": Backend("simplex", "numba", _simplex, warm_loader=_simplex_warm,
                       probe=_numba_loads),
    "ortools": Backend("ortools", "ortools", _ortools, coverage_by_maxflow=True, extra="fast"),
    "highs": Backend("highs", None, _highs),
    "networkx": Backend("networkx", None, _networkx),
    "greedy": Backend("greedy", None, heuristic=_greedy),
}

#: ``solver="auto"`` takes the first installed of these (fastest first, as measured).
AUTO_ORDER: tuple[str, ...] = ("simplex", "ortools", "highs")


def available_solvers() -> list[str]:
    """Names of the back-ends installed here, fastest exact first.

    Examples
    --------
    >>> import matchcore as mc
    >>> "highs" in mc.available_solvers()
    True
    """
    names = [n for n in AUTO_ORDER if BACKENDS[n].is_available()]
    names += [n for n, b in BACKENDS.items() if n not in names and b.is_available()]
    return names


def get_backend(solver: str | FlowSolver) -> Backend:
    """Resolve ``solver`` (a name, ``"auto"`` or a function) to a :class:`Backend`.

    A function must follow :class:`FlowSolver`; it is treated as exact, its
    solutions are certified, and its ``__name__`` names it in results.

    Raises
    ------
    InputError
        For an unknown name (listing the valid ones) or a back-end that is not installed.
    """
    if callable(solver):
        fn = solver
        return Backend(str(getattr(fn, "__name__", "custom")), None, lambda: fn)
    if solver == "auto":
        for name in AUTO_ORDER:
            if BACKENDS[name].is_available():
                return BACKENDS[name]
    backend = BACKENDS.get(solver) if isinstance(solver, str) else None
    if backend is None:
        raise InputError(
            f"unknown solver {solver!r}; valid: {['auto', *BACKENDS]} (or, from Python, "
            "a function following matchcore.solvers.FlowSolver)"
        )
    if not backend.is_available():
        raise InputError(
            f"solver {solver!r} needs the {backend.requires!r} package: "
            + (f"pip install 'matchcore[{backend.extra}]'" if backend.extra
               else f"pip install {backend.requires}")
        )
    return backend
