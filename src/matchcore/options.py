"""The options of a round, as one frozen value, validated once where it enters.

:class:`MatchOptions` holds everything that decides *how* a round is matched
(weights, reach, scope, taxonomy, candidates kept, objective, solver,
stickiness). :func:`matchcore.match`, :mod:`matchcore.analysis`, the CLI and
the ledger all take and store this one value; ``result.options`` is it, whole,
and a ledger round keeps it as JSON so that a later ``rematch`` continues with
exactly the options of the round it continues.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .checks import check_choice, check_scalar
from .errors import InputError
from .model.candidates import SCOPES, Scope
from .model.policies import FAIRNESS, Fairness, check_min_coverage, check_unit_value
from .model.problem import OBJECTIVES, Objective
from .model.scoring import MAX_TOTAL, Weights
from .model.taxonomy import Taxonomy

__all__ = ["OPTION_NAMES", "MatchOptions"]

#: The version of the JSON form written by :meth:`MatchOptions.to_json`.
JSON_VERSION = 1


@dataclass(frozen=True)
class MatchOptions:
    """Every option of a round, checked once.

    Parameters
    ----------
    weights : Weights, default Weights()
        Score weights.
    max_distance : float or None, default None
        Global reach in metres (kept as the checked float); None is unlimited
        (each resource's own ``max_distance`` still applies).
    scope : {None, "grid", "community", "street"}
        Match only within the same grid or community (or street).
    taxonomy : Taxonomy or None, default None
        Category affinities; None is :meth:`Taxonomy.default`.
    max_candidates : int or None, default None
        Keep only the k best-scoring candidates per need.
    objective : {"coverage", "score"}, default "coverage"
        Coverage first (lexicographic), or the best total score.
    solver : str or FlowSolver, default "auto"
        A registered back-end name, ``"auto"``, or a callable following
        :class:`matchcore.solvers.FlowSolver`.
    stickiness : float, default 0.0
        Bonus in score units for incumbent pairs (see :func:`matchcore.match`);
        at most 1e290, like the weights' total (:data:`matchcore.model.scoring.MAX_TOTAL`).
    min_coverage : mapping or None, default None
        Fairness floors: ``{"community": 0.6}`` (every community), or
        ``{"community": {"东湖社区": 0.7}}`` (named ones), or by ``"grid"``;
        shares of each group's demand *units* (see :mod:`matchcore.model.policies`).
    fairness : {None, "maxmin"}, default None
        ``"maxmin"``: floors at the largest common share every group can get
        (grouped by ``min_coverage``'s key, ``"community"`` by default).
    unit_value : mapping or "per_need" or None, default None
        Units of a category that count as one comparable unit
        (``{"funding": 100}``: 100 yuan count like one visit), or
        ``"per_need"`` (each need counts one); used by the coverage weights
        and the metrics.
    continuity : float, default 0.0
        For recurring needs (a ``recurrence`` column): a bonus in score units
        for the provider who can serve the most occurrences of a series
        (see :func:`matchcore.model.recurrence.continuity_bonus`).

    Raises
    ------
    InputError
        Any option out of its domain, with the option's name and value.

    Examples
    --------
    >>> import matchcore as mc
    >>> opts = mc.MatchOptions(max_distance=2000, weights=mc.Weights(locality=0.7))
    >>> opts.max_distance
    2000.0
    >>> mc.MatchOptions.from_json(opts.to_json()) == opts
    True
    >>> opts.replace(objective="score").objective
    'score'
    """

    weights: Weights = field(default_factory=Weights)
    max_distance: float | None = None
    scope: Scope | None = None
    taxonomy: Taxonomy | None = None
    max_candidates: int | None = None
    objective: Objective = "coverage"
    solver: str | Callable[..., np.ndarray] = "auto"
    stickiness: float = 0.0
    min_coverage: Mapping[str, Any] | None = None
    fairness: Fairness | None = None
    unit_value: Mapping[str, float] | str | None = None
    continuity: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.weights, Weights):
            raise InputError(
                f"`weights` must be a matchcore.Weights; got {type(self.weights).__name__}"
            )
        set_ = object.__setattr__  # frozen: the checked values replace the given ones
        set_(self, "max_distance", check_scalar(self.max_distance, "max_distance", "float",
                                                low=0, unit="metres", allow_none=True))
        if self.scope is not None:
            check_choice(self.scope, "scope", SCOPES)
        if self.taxonomy is not None and not isinstance(self.taxonomy, Taxonomy):
            raise InputError(
                f"`taxonomy` must be a matchcore.Taxonomy or None; "
                f"got {type(self.taxonomy).__name__}"
            )
        set_(self, "max_candidates", check_scalar(self.max_candidates, "max_candidates", "int",
                                                  low=1, allow_none=True))
        check_choice(self.objective, "objective", OBJECTIVES)
        if not (isinstance(self.solver, str) or callable(self.solver)):
            raise InputError(
                "`solver` must be a back-end name (see matchcore.available_solvers()) or a "
                f"function following matchcore.solvers.FlowSolver; got {self.solver!r}"
            )
        set_(self, "stickiness", check_scalar(self.stickiness, "stickiness", "float", low=0,
                                              high=MAX_TOTAL, unit="score units"))
        set_(self, "min_coverage", check_min_coverage(self.min_coverage))
        if self.fairness is not None:
            check_choice(self.fairness, "fairness", FAIRNESS)
        set_(self, "unit_value", check_unit_value(self.unit_value))
        set_(self, "continuity", check_scalar(self.continuity, "continuity", "float", low=0,
                                              unit="score units"))

    # ----------------------------------------------------------------- building
    @classmethod
    def from_arguments(
        cls, options: MatchOptions | None = None, **overrides: Any
    ) -> MatchOptions:
        """``options`` (or the defaults) with every override that is not None applied.

        The rule of every public function that takes both an ``options``
        value and single keyword options: a keyword given explicitly wins.

        Examples
        --------
        >>> import matchcore as mc
        >>> base = mc.MatchOptions(max_distance=700)
        >>> mc.MatchOptions.from_arguments(base, objective="score", scope=None).max_distance
        700.0
        """
        if options is None:
            options = cls()
        elif not isinstance(options, MatchOptions):
            raise InputError(
                f"`options` must be a matchcore.MatchOptions; got {type(options).__name__}"
            )
        unknown = sorted(set(overrides) - set(OPTION_NAMES))
        if unknown:
            raise InputError(f"unknown option(s) {unknown}; valid: {list(OPTION_NAMES)}")
        given = {k: v for k, v in overrides.items() if v is not None}
        return dataclasses.replace(options, **given) if given else options

    def replace(self, **changes: Any) -> MatchOptions:
        """A copy with ``changes`` applied (and checked).

        Examples
        --------
        >>> import matchcore as mc
        >>> mc.MatchOptions().replace(max_distance=500).max_distance
        500.0
        """
        unknown = sorted(set(changes) - set(OPTION_NAMES))
        if unknown:
            raise InputError(f"unknown option(s) {unknown}; valid: {list(OPTION_NAMES)}")
        return dataclasses.replace(self, **changes)

    @property
    def solver_name(self) -> str:
        """The solver as a name: a callable's ``__name__`` (one name in a result)."""
        if isinstance(self.solver, str):
            return self.solver
        return str(getattr(self.solver, "__name__", "custom"))

    # ----------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (weights and taxonomy spelled out).

        A callable solver is kept by its name only (``solver_is_callable``
        says so); :meth:`from_dict` then needs the solver passed again.
        """
        out: dict[str, Any] = {
            "version": JSON_VERSION,
            "weights": self.weights.as_dict(),
            "max_distance": self.max_distance,
            "scope": self.scope,
            "taxonomy": None if self.taxonomy is None else _taxonomy_to_dict(self.taxonomy),
            "max_candidates": self.max_candidates,
            "objective": self.objective,
            "solver": self.solver_name,
            "stickiness": self.stickiness,
            "min_coverage": self.min_coverage,
            "fairness": self.fairness,
            "unit_value": self.unit_value,
            "continuity": self.continuity,
        }
        if not isinstance(self.solver, str):
            out["solver_is_callable"] = True
        return out

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, solver: str | Callable[..., np.ndarray] | None = None
    ) -> MatchOptions:
        """Rebuild from :meth:`to_dict`.

        Parameters
        ----------
        data : mapping
        solver : str or callable, optional
            Needed when the options were saved with a callable solver.

        Raises
        ------
        InputError
            Unknown keys, a newer version, or a callable solver not given again.
        """
        if not isinstance(data, Mapping):
            raise InputError(f"match options must be a mapping; got {type(data).__name__}")
        d = dict(data)
        version = d.pop("version", JSON_VERSION)
        if version != JSON_VERSION:
            raise InputError(
                f"match options of version {version!r}; this matchcore reads {JSON_VERSION}"
            )
        by_name = d.pop("solver_is_callable", False)
        unknown = sorted(set(d) - set(OPTION_NAMES))
        if unknown:
            raise InputError(f"unknown option(s) {unknown}; valid: {list(OPTION_NAMES)}")
        if "weights" in d:
            w = d["weights"]
            d["weights"] = Weights(**w) if isinstance(w, Mapping) else w
        if d.get("taxonomy") is not None and isinstance(d["taxonomy"], Mapping):
            d["taxonomy"] = _taxonomy_from_dict(d["taxonomy"])
        if solver is not None:
            d["solver"] = solver
        elif by_name:
            raise InputError(
                f"these options were saved with a custom solver function "
                f"{d.get('solver')!r}; pass solver=... to use it again"
            )
        return cls(**d)

    def to_json(self) -> str:
        """:meth:`to_dict` as a JSON string (UTF-8 text, keys sorted)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(
        cls, text: str, *, solver: str | Callable[..., np.ndarray] | None = None
    ) -> MatchOptions:
        """Rebuild from :meth:`to_json`."""
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as err:
            raise InputError(f"match options are not valid JSON: {err}") from err
        return cls.from_dict(data, solver=solver)


#: The option names, in order (the fields of :class:`MatchOptions`).
OPTION_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(MatchOptions))


def _taxonomy_to_dict(tax: Taxonomy) -> dict[str, Any]:
    # Generic over Taxonomy's fields: mappings keyed by tuples become lists of rows.
    out: dict[str, Any] = {}
    for f in dataclasses.fields(tax):
        value = getattr(tax, f.name)
        if isinstance(value, Mapping):
            if any(isinstance(k, tuple) for k in value):
                out[f.name] = sorted([*k, v] for k, v in value.items())
            else:
                out[f.name] = dict(sorted(value.items()))
        else:
            out[f.name] = value
    return out


def _taxonomy_from_dict(data: Mapping[str, Any]) -> Taxonomy:
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        if isinstance(value, list) and all(isinstance(r, list) for r in value):
            kwargs[name] = {tuple(r[:-1]): r[-1] for r in value}
        else:
            kwargs[name] = value
    try:
        return Taxonomy(**kwargs)
    except TypeError as err:
        raise InputError(f"cannot rebuild the taxonomy of these options: {err}") from err

