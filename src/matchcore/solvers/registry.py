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
from typing import Protocol

import numpy as np

from ..errors import InputError
from ..problem import FlowNetwork

__all__ = ["AUTO_ORDER", "Backend", "FlowSolver", "available_solvers", "get_backend"]


class FlowSolver(Protocol):
    """The signature every exact back-end shares."""

    def __call__(self, network: FlowNetwork) -> np.ndarray:  # pragma: no cover - protocol
        ...


@dataclass(frozen=True)
class Backend:
    """A registered back-end.

    Attributes
    ----------
    name : str
    exact : bool
        Whether it returns optimal solutions (certified after every solve).
    requires : str or None
        The module it needs (its extra), checked by :meth:`is_available`.
    coverage_by_maxflow : bool, default False
        Capability: the coverage phase may be solved as a few max flows
        (:mod:`matchcore.solvers.maxflow`) instead of by the back-end.
    supports_warm_start : bool, default False
        Capability: the back-end returns its optimal basis and starts from
        one, so a batch's phases run as one warm sequence on one network
        (:mod:`matchcore.solvers.warm_phases`).
    extra : str, default "'matchcore[fast]'"
        What to ``pip install`` when ``requires`` is missing.
    probe : callable, optional
        Replaces the check that ``requires`` is installed (e.g. by one that
        it also loads).
    """

    name: str
    exact: bool
    requires: str | None
    loader: Callable[[], Callable[..., np.ndarray]]
    coverage_by_maxflow: bool = False
    supports_warm_start: bool = False
    extra: str = "'matchcore[fast]'"

    probe: Callable[[], bool] | None = None

    def is_available(self) -> bool:
        if self.probe is not None:
            return self.probe()
        return self.requires is None or importlib.util.find_spec(self.requires) is not None

    def load(self) -> Callable[..., np.ndarray]:
        return self.loader()


def _ortools() -> Callable[..., np.ndarray]:
    from .ortools_mcf import solve_ortools

    return solve_ortools


def _simplex() -> Callable[..., np.ndarray]:
    from .network_simplex import solve_network_simplex

    return solve_network_simplex


def _numba_loads() -> bool:
    # Installed is not enough: a numba that cannot load (say, beside a numpy it
    # does not support) makes the back-end unavailable, not broken.
    from .network_simplex import is_available

    return is_available()


def _highs() -> Callable[..., np.ndarray]:
    from .highs_lp import solve_highs

    return solve_highs


def _networkx() -> Callable[..., np.ndarray]:
    from .nx_simplex import solve_networkx

    return solve_networkx


def _greedy() -> Callable[..., np.ndarray]:
    from .greedy import solve_greedy

    return solve_greedy


BACKENDS: dict[str, Backend] = {
    "simplex": Backend("simplex", True, "numba", _simplex, supports_warm_start=True,
                       extra="numba", probe=_numba_loads),
    "ortools": Backend("ortools", True, "ortools", _ortools, coverage_by_maxflow=True),
    "highs": Backend("highs", True, None, _highs),
    "networkx": Backend("networkx", True, None, _networkx),
    "greedy": Backend("greedy", False, None, _greedy),
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


def get_backend(solver: str | Callable[..., np.ndarray]) -> Backend:
    """Resolve ``solver`` (a name, ``"auto"`` or a callable) to a :class:`Backend`.

    A callable must follow :class:`FlowSolver`; it is treated as exact and its
    solutions are certified.

    Raises
    ------
    InputError
        For an unknown name (listing the valid ones) or a back-end that is not installed.
    """
    if callable(solver):
        fn = solver
        return Backend(getattr(fn, "__name__", "custom"), True, None, lambda: fn)
    if solver == "auto":
        for name in AUTO_ORDER:
            if BACKENDS[name].is_available():
                return BACKENDS[name]
    backend = BACKENDS.get(solver) if isinstance(solver, str) else None
    if backend is None:
        raise InputError(
            f"unknown solver {solver!r}; valid: {['auto', *BACKENDS]} or a callable"
        )
    if not backend.is_available():
        raise InputError(
            f"solver {solver!r} needs the {backend.requires!r} package: "
            f"pip install {backend.extra}"
        )
    return backend
