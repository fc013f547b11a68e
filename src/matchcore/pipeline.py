"""The public entry points: :func:`match` (three lists in, project list out) and
:func:`solve_assignment` (explicit edges and scores, no geometry).

``match`` reads like :func:`scipy.optimize.milp`: validate → build candidates →
score → compile the problem → solve → certify → build the result, each a
function of its own.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .checks import check_choice
from .errors import InputError, SolverError
from .io import PathLike, read_needs, read_resources
from .memory import release
from .model.candidates import CandidateGraph, Scope, candidates_of, keep_best
from .model.district import District, id_order, to_district
from .model.policies import (
    Fairness,
    FloorPlan,
    check_pairs,
    coverage_weight,
    edge_index,
    plan_floors,
    unit_values,
    warn_dominant_units,
)
from .model.problem import OBJECTIVES, Objective, TransportProblem, check_units
from .model.recurrence import continuity_bonus, expand_recurrence, has_recurrence
from .model.reuse import KnownRows, reuse_candidates
from .model.scoring import COMPONENTS, Weights, score_edges, weighted_score
from .model.taxonomy import Taxonomy
from .options import MatchOptions
from .result import MatchResult, WarmState
from .schema import Revalidation, canonical_columns, revalidate, show_value, validate_id_table
from .solvers import BatchBasis, FlowSolver, WarmStart, solve, verify

if TYPE_CHECKING:  # pragma: no cover
    from .solvers.bundles import BundleSolution

__all__ = [
    "PreparedRound",
    "check_incumbent",
    "match",
    "prepare_round",
    "problem_of",
    "score_round",
    "solve_assignment",
    "solve_round",
    "warm_start_of",
]


def match(
    needs: pd.DataFrame | PathLike,
    resources: pd.DataFrame | PathLike,
    options: MatchOptions | None = None,
    *,
    weights: Weights | None = None,
    max_distance: float | None = None,
    scope: Scope | None = None,
    taxonomy: Taxonomy | None = None,
    max_candidates: int | None = None,
    objective: Objective | None = None,
    solver: str | FlowSolver | None = None,
    stickiness: float | None = None,
    certify: bool = True,
    incumbent: pd.DataFrame | None = None,
    min_coverage: Any = None,
    fairness: Fairness | None = None,
    unit_value: Any = None,
    continuity: float | None = None,
    pins: pd.DataFrame | None = None,
    forbid: pd.DataFrame | None = None,
    start: MatchResult | WarmState | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> MatchResult:
    """Match needs to resources: the best project list, exact and explained.

    Parameters
    ----------
    needs : DataFrame or path
        The needs list (需求清单); see :func:`read_needs`.
    resources : DataFrame or path
        The resources list (资源清单); see :func:`read_resources`.
    options : MatchOptions, optional
        Every option of the round as one value (``MatchOptions()`` when
        None). Each keyword option below that is given (not None) overrides
        the same field of ``options``; ``result.options`` is the outcome.
    weights : Weights, optional
        Score weights; ``Weights()`` by default.
    max_distance : float, optional
        Global reach in metres (each resource's own ``max_distance`` also
        applies); unlimited by default.
    scope : {None, "grid", "community", "street"}
        Restrict matches to the same grid or community.
    taxonomy : Taxonomy, optional
        Category affinities; ``Taxonomy.default()`` by default.
    max_candidates : int, optional
        Keep only the k best-scoring candidates per need.
    objective : {"coverage", "score"}, optional
        "coverage" (the default): first the most priority-weighted units
        served, then the best total score (lexicographic, exact). "score":
        the best total score.
    solver : str or FlowSolver, optional
        "auto" (the default: the fastest exact back-end installed), a name
        of :func:`available_solvers` ("greedy" is the inexact baseline), or
        a function following :class:`~matchcore.solvers.FlowSolver`.
    stickiness : float, optional
        A bonus, in score units (>= 0, default 0), added to the score of every
        incumbent candidate edge: a need moves away from its incumbent
        resource only when that gains more than ``stickiness`` per unit. It is
        kept as the ``stickiness`` column of ``result.components`` (so
        ``score`` is the weighted sum of the other components plus it). The
        result stays exact and certified for the bonus-adjusted score;
        coverage comes first as always, so stickiness never costs a unit of
        coverage.
    certify : bool, default True
        Check the solution's optimality certificate (exact solvers are
        certified while solving; this re-checks from scratch).
    incumbent : DataFrame, optional
        Columns need_id, resource_id: the current assignment (or any pairs
        to prefer). Their candidate edges get the ``stickiness`` bonus; pairs
        that are not candidates this round get nothing.
    min_coverage : mapping, optional
        Fairness floors, e.g. ``{"community": 0.6}`` or
        ``{"community": {"东湖社区": 0.7}}`` or ``{"grid": 0.5}``: each group
        gets at least that share of its demand units where feasible (exact:
        lower bounds on group arcs of the flow). Floors that cannot be met
        are lowered to what the group can get; ``result.fairness`` says which
        and why, ``result.price_of_fairness`` what they cost.
    fairness : {None, "maxmin"}, optional
        ``"maxmin"``: first the largest common share of demand that every
        group gets (exact), then the usual objective.
    unit_value : mapping or "per_need", optional
        ``{"funding": 100}``: 100 units (yuan) of a funding need count as one
        comparable unit, in the coverage weights and the metrics.
    continuity : float, optional
        Recurring needs (a ``recurrence`` column in RRULE form, expanded to
        ``need_id#k`` occurrences; resources may recur too): a bonus in score
        units for the provider who can serve the most occurrences of a
        series. ``result.series`` groups the occurrences and counts missed ones.
    pins : DataFrame, optional
        Columns need_id, resource_id, units: assignments fixed by staff.
        Each must be a candidate pair, within demand and capacity; its
        units are kept (``pinned`` in ``assignments`` and ``explain()``) and
        the rest is matched around them.
    forbid : DataFrame, optional
        Columns need_id, resource_id: pairs staff ruled out; they are never
        matched (``explain()`` says "forbidden by staff").
    start : MatchResult or WarmState, optional
        An earlier result (last week's round, another weighting), or its
        :class:`~matchcore.result.WarmState` (e.g. read back from a ledger:
        :meth:`ProjectLedger.warm_state`), to start from: the network simplex
        resumes from its optimal bases, its arcs found by need id, resource
        id and (need, resource) pair, so a round that changed a little
        solves in a fraction of a cold solve. Needs and resources that did
        not change keep their candidate edges and score components from
        ``start`` (same reach, scope, taxonomy and weights'
        ``distance_scale``; see
        :mod:`matchcore.model.reuse`); only new and changed rows get edges
        built; rows equal to ``start``'s validated ones are not parsed again
        (:func:`matchcore.schema.revalidate`: errors and warnings are a full
        validation's). Only the time changes:
        the result is the cold one, and certified as always. Back-ends that
        keep no basis start cold.
    progress : callable, optional
        Called as ``progress(step, done)`` while the solve runs, each time a
        phase of a batch is optimal (``done`` in [0, 1]); for progress bars.

    Returns
    -------
    MatchResult

    Raises
    ------
    InputError
        Bad lists (every problem listed) or options.
    SolverError
        A back-end failed or its solution failed the certificate.

    See Also
    --------
    MatchOptions : the options as one value.
    solve_assignment : the same optimisation on explicit edges.

    Examples
    --------
    >>> import matchcore as mc
    >>> needs, resources = mc.synthetic.tiny()
    >>> r = mc.match(needs, resources, max_distance=2000)
    >>> r.projects[["need_id", "assigned", "resources"]].head(2)
      need_id  assigned resources
    0      N1         2        R1
    1      N2         1        R2

    Keep the current assignment unless a move gains more than 0.2 per unit:

    >>> sticky = mc.match(needs, resources, r.options,
    ...                   incumbent=r.assignments, stickiness=0.2)
    >>> sticky.components["stickiness"].max(), sticky.options.stickiness
    (np.float64(0.2), 0.2)
    """
    opts = MatchOptions.from_arguments(
        options, weights=weights, max_distance=max_distance, scope=scope, taxonomy=taxonomy,
        max_candidates=max_candidates, objective=objective, solver=solver, stickiness=stickiness,
        min_coverage=min_coverage, fairness=fairness, unit_value=unit_value,
        continuity=continuity,
    )
    check_incumbent(incumbent, opts.stickiness)
    prepared = prepare_round(needs, resources, opts, start=start)
    d = prepared.district
    warn_dominant_units(d.needs["category"].to_numpy(object), d.demand,
                        unit_values(d.needs["category"].to_numpy(object), d.demand,
                                    opts.unit_value))
    return solve_round(prepared, opts, certify=certify, incumbent=incumbent, pins=pins,
                       forbid=forbid, start=start, progress=progress)


# ---------------------------------------------------------------------------
# The steps of match(), shared with matchcore.analysis (baselines, sweeps).


@dataclass(frozen=True, eq=False)
class PreparedRound:
    """Validated lists and their unscored candidate graph.

    What does not depend on the weights: :mod:`matchcore.analysis` prepares
    once and scores and solves many times. ``arrival[k]`` is the input row of
    the k-th need in id order (the order the needs list was given in).
    ``components``, when not None, holds the base score components of every
    edge (kept from an earlier round by :func:`prepare_round`'s ``start``),
    and ``edge_map`` the new index of each edge of that round, ``reused_from``.
    """

    district: District
    graph: CandidateGraph
    arrival: np.ndarray
    options: MatchOptions
    timings: dict[str, float]
    components: pd.DataFrame | None = None
    edge_map: np.ndarray | None = None
    reused_from: MatchResult | WarmState | None = None
    #: New index of each need / resource of ``reused_from`` by id (-1: gone).
    id_maps: tuple[np.ndarray, np.ndarray] | None = None


def prepare_round(
    needs: pd.DataFrame | PathLike,
    resources: pd.DataFrame | PathLike,
    options: MatchOptions,
    *,
    start: MatchResult | WarmState | None = None,
) -> PreparedRound:
    """Validate both lists and build their candidate graph (steps 1–2 of ``match``).

    Only ``options.max_distance``, ``scope`` and ``taxonomy`` are used here
    (and ``weights.distance_scale`` with ``start``).
    With ``start`` (an earlier round built with the same reach, scope,
    taxonomy and distance scale, whole: no ``max_candidates``, ``forbid`` or
    recurrence), the
    edges and score components between unchanged rows are taken from it and
    only the new and changed rows' edges are built
    (:func:`matchcore.model.reuse.reuse_candidates`); the graph is equal, array
    by array, to a cold build's. With ``start`` (same taxonomy), a list given as a
    frame is validated by :func:`matchcore.schema.revalidate`: rows equal to
    ``start``'s validated rows are not parsed again, the others are, and the
    result, errors and warnings are always a full validation's.
    """
    timings: dict[str, float] = {}
    t = time.perf_counter()
    # The taxonomy's words (养老服务 -> elderly_care) apply as the lists are validated;
    # rows equal to ``start``'s validated ones are not parsed again (schema.revalidate).
    old_needs, old_resources = _validated_lists(start, options)
    need_rows = (revalidate(needs, "needs", old_needs, taxonomy=options.taxonomy)
                 if old_needs is not None and isinstance(needs, pd.DataFrame)
                 else Revalidation(read_needs(needs, taxonomy=options.taxonomy)))
    resource_rows = (revalidate(resources, "resources", old_resources, taxonomy=options.taxonomy)
                     if old_resources is not None and isinstance(resources, pd.DataFrame)
                     else Revalidation(read_resources(resources, taxonomy=options.taxonomy)))
    needs_v, resources_v = need_rows.frame, resource_rows.frame
    # Recurring rows become one row per occurrence (need_id#k) before anything else
    # (rows that no longer pair with ``start``'s: the known rows are not used then).
    if has_recurrence(needs_v):
        needs_v = expand_recurrence(needs_v, "need_id")
    if has_recurrence(resources_v):
        resources_v = expand_recurrence(resources_v, "resource_id")
    # One stable sort by id per list: the district's order and the needs' arrival.
    orders = (id_order(needs_v, "need_id"), id_order(resources_v, "resource_id"))
    district = to_district(needs_v, resources_v, orders=orders)
    check_units(district.demand, district.capacity, district.need_ids, district.resource_ids)
    arrival = orders[0]
    timings["validate"] = time.perf_counter() - t

    t = time.perf_counter()
    reused = None
    if _is_reusable(start, district, options):
        assert isinstance(start, (MatchResult, WarmState))
        reused = reuse_candidates(start.district, start.graph, start.components, district,
                                  taxonomy=options.taxonomy,
                                  max_distance=options.max_distance, scope=options.scope,
                                  distance_scale=options.weights.distance_scale,
                                  known=_known_rows(need_rows, resource_rows, orders)
                                  if needs_v is need_rows.frame
                                  and resources_v is resource_rows.frame else None)
    if reused is not None:
        # A warm round keeps its freed memory for the next steps (see matchcore.memory).
        timings["candidates"] = time.perf_counter() - t
        return PreparedRound(district, reused.graph, arrival, options, timings,
                             reused.components, reused.edge_map, start,
                             (reused.need_map, reused.resource_map))
    graph = candidates_of(district, taxonomy=options.taxonomy,
                          max_distance=options.max_distance, scope=options.scope)
    release()  # the per-category temporaries (see matchcore.memory)
    timings["candidates"] = time.perf_counter() - t
    return PreparedRound(district, graph, arrival, options, timings)


def _known_rows(need_rows: Revalidation, resource_rows: Revalidation,
                orders: tuple[np.ndarray, np.ndarray]) -> KnownRows | None:
    """:func:`revalidate`'s row pairs in district (id) order, for :func:`reuse_candidates`.

    Rows were paired with the start's district frames, whose rows are its id
    tables' (sorted by id); ``orders`` sort this round's lists by id as
    :func:`to_district` did.
    """
    if (need_rows.same_as is None or need_rows.id_at is None or resource_rows.same_as is None
            or resource_rows.id_at is None):
        return None
    return (need_rows.same_as[orders[0]], resource_rows.same_as[orders[1]],
            need_rows.id_at[orders[0]], resource_rows.id_at[orders[1]])


def _validated_lists(start: Any, options: MatchOptions
                     ) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """``start``'s validated needs and resources, when validated as this round validates.

    A round's district holds its lists as validation returned them (sorted by
    id), with its options' taxonomy and the default date rules, as
    ``prepare_round`` reads them; another taxonomy validates differently.
    """
    if not isinstance(start, (MatchResult, WarmState)) or start.options.taxonomy != \
            options.taxonomy:
        return None, None
    return start.district.needs, start.district.resources


def _is_reusable(start: Any, district: District, options: MatchOptions) -> bool:
    """Whether ``start``'s candidate graph and components can seed this round's.

    Its graph must be whole (no edge cut by ``max_candidates`` or ``forbid``),
    built with the same reach (finite: an unlimited one may refuse a dense
    set), scope and taxonomy, with its base components scored with the same
    distance scale; and neither round may
    hold recurring rows (their occurrences and continuity bonus span rows).
    """
    if not isinstance(start, (MatchResult, WarmState)):
        return False
    old = start.options
    if (old.max_distance is None or old.max_distance != options.max_distance
            or old.scope != options.scope or old.taxonomy != options.taxonomy
            # The locality component depends on the distance scale.
            or old.weights.distance_scale != options.weights.distance_scale
            or old.max_candidates is not None or start.forbidden is not None
            or old.continuity or options.continuity):
        return False
    if len(start.components) != start.graph.n_edges or not set(COMPONENTS) <= set(
            start.components.columns) or start.graph.pruned.any():
        return False
    return not any("occurrence" in frame.columns or "series_id" in frame.columns
                   for frame in (district.needs, district.resources, start.district.needs,
                                 start.district.resources))


def score_round(
    prepared: PreparedRound,
    options: MatchOptions,
    timings: dict[str, float],
    *,
    incumbent: pd.DataFrame | None = None,
    start: MatchResult | WarmState | None = None,
) -> tuple[CandidateGraph, np.ndarray, pd.DataFrame]:
    """Score the candidate edges and keep the ``max_candidates`` best of each need (step 3).

    With an ``incumbent`` (checked by :func:`check_incumbent`), its edges get
    the ``options.stickiness`` bonus and ``components`` a ``stickiness`` column.
    ``start``, the round ``prepared`` was reused from (its ``edge_map`` maps
    that round's edges onto this graph): when the incumbent is its assignment,
    the incumbent edges are found by index (:func:`_incumbent_mask`).
    """
    t = time.perf_counter()
    graph = prepared.graph
    if (prepared.components is not None and len(prepared.components) == graph.n_edges
            and prepared.options.weights.distance_scale == options.weights.distance_scale):
        components = prepared.components
        score = weighted_score(components, options.weights)
    else:
        score, components = score_edges(prepared.district, graph, options.weights)
    if incumbent is not None:
        # Before keep_best: the k best are chosen on the bonus-adjusted score.
        score, components = _add_stickiness(graph, score, components, incumbent,
                                            options.stickiness,
                                            _reused_edges(prepared, start))
    needs = prepared.district.needs
    if options.continuity and "occurrence" in needs.columns:
        series = needs["series_id"].to_numpy(object).copy()
        series[needs["occurrence"].to_numpy() <= 0] = None  # one-off needs: no series
        bonus = options.continuity * continuity_bonus(
            series, _providers(prepared.district.resources), graph.need, graph.resource)
        score, components = score + bonus, components.assign(continuity=bonus)
    if options.max_candidates is not None:
        graph, kept = keep_best(graph, score, options.max_candidates)
        score = score[kept]
        components = components.iloc[kept].reset_index(drop=True)
    if start is None:  # a warm round keeps its freed memory (see matchcore.memory)
        release()
    timings["score"] = time.perf_counter() - t
    return graph, score, components


def _providers(resources: pd.DataFrame) -> np.ndarray:
    """Who provides each resource: ``provider``, else its series, else its id."""
    who = resources["resource_id"].astype(str)
    if "series_id" in resources.columns:
        who = resources["series_id"].fillna(who).astype(str)
    if "provider" in resources.columns:
        who = resources["provider"].where(resources["provider"].notna(), who).astype(str)
    return who.to_numpy(object)


def problem_of(
    district: District,
    graph: CandidateGraph,
    score: np.ndarray,
    objective: Objective,
    *,
    options: MatchOptions | None = None,
    pinned: np.ndarray | None = None,
) -> tuple[TransportProblem, FloorPlan | None, BundleSolution | None]:
    """The transportation problem of a scored candidate graph (step 4), its floors and bundles.

    ``pinned`` (units per edge) is taken off demand and capacity; the
    options' ``unit_value`` sets the coverage weights and ``min_coverage``
    / ``fairness`` the floors (:func:`matchcore.model.policies.plan_floors`).
    When needs share a ``bundle`` id, the components holding bundles are
    solved first as an integer program (:func:`~matchcore.solvers.bundles.solve_bundles`);
    their units are fixed and their needs and resources leave the flow
    problem (demand and capacity 0 there).
    """
    demand, capacity = district.demand, district.capacity
    fixed_need = np.zeros(district.n_needs, dtype=np.int64)
    if pinned is not None:
        fixed_need = np.bincount(graph.need, weights=pinned,
                                 minlength=graph.n_needs).astype(np.int64)
        demand = demand - fixed_need
        capacity = capacity - np.bincount(graph.resource, weights=pinned,
                                          minlength=graph.n_resources).astype(np.int64)
    weight = district.priority
    if options is not None and options.unit_value is not None:
        category = district.needs["category"].to_numpy(object)
        weight = coverage_weight(district.priority,
                                 unit_values(category, district.demand, options.unit_value))
    bundles = None
    code = _bundle_codes(district)
    if code is not None:
        pre = TransportProblem(graph.need, graph.resource, demand, capacity, score, weight,
                               objective)
        from .solvers.bundles import solve_bundles  # scipy's milp, only for bundles

        bundles = solve_bundles(pre, code, district.demand, fixed_need)
        fixed_need = fixed_need + np.bincount(graph.need, weights=bundles.units,
                                              minlength=graph.n_needs).astype(np.int64)
        demand = np.where(bundles.needs, 0, demand)
        capacity = np.where(bundles.resources, 0, capacity)
    plan = None
    if options is not None and (options.min_coverage is not None or options.fairness):
        spec = options.min_coverage or {"community": 0.0}
        ((key, shares),) = spec.items()
        labels = (district.needs[key].to_numpy(object) if key in district.needs.columns
                  else np.full(district.n_needs, None, dtype=object))
        plan = plan_floors(labels, key, shares, district.demand, fixed_need, graph.need,
                           graph.resource, demand, capacity, options.fairness)
    problem = TransportProblem(
        graph.need,
        graph.resource,
        demand,
        capacity,
        score,
        weight,
        objective,
        None if plan is None else plan.group,
        None if plan is None else plan.floor,
    )
    return problem, plan, bundles


def _bundle_codes(district: District) -> np.ndarray | None:
    """Bundle code of each need (-1: none), or None when no need names a bundle."""
    if "bundle" not in district.needs.columns:
        return None
    labels = district.needs["bundle"]
    ok = labels.notna().to_numpy()
    if not ok.any():
        return None
    code = np.full(district.n_needs, -1, dtype=np.int64)
    code[ok] = pd.factorize(labels[ok].astype(str), sort=True)[0]
    return code


def solve_round(
    prepared: PreparedRound,
    options: MatchOptions,
    *,
    certify: bool = True,
    incumbent: pd.DataFrame | None = None,
    pins: pd.DataFrame | None = None,
    forbid: pd.DataFrame | None = None,
    start: MatchResult | WarmState | None = None,
    progress: Callable[[str, float], None] | None = None,
    keep_networks: bool = False,
) -> MatchResult:
    """Score, solve and certify one round on prepared lists (steps 3–6 of ``match``).

    ``options`` must agree with ``prepared.options`` on reach, scope and
    taxonomy (the candidate graph was built with them); the rest may differ.
    ``pins``, ``forbid`` and ``start`` are as for :func:`match`. With
    ``keep_networks``, the result's problem keeps its batch networks for a
    next round of the very same graph, demands and capacities started from
    it (``start=``: a sweep's next weighting) to take instead of building
    them again (:meth:`~.model.problem.TransportProblem.reusing_networks`).
    """
    timings = dict(prepared.timings)
    d = prepared.district
    n_built = prepared.graph.n_edges
    # The earlier round's edges by index, while the graph is the one built from it.
    edge_map = (prepared.edge_map if start is not None and prepared.reused_from is start
                and forbid is None else None)
    id_maps = prepared.id_maps if start is not None and prepared.reused_from is start else None
    forbidden = None
    if forbid is not None:
        prepared, forbidden = _apply_forbid(prepared, forbid)
    graph, score, components = score_round(
        prepared, options, timings, incumbent=incumbent,
        start=start if isinstance(start, (MatchResult, WarmState)) and forbid is None
        else None)
    pinned = None if pins is None else _pinned_units(d, graph, pins)
    problem, plan, bundles = problem_of(d, graph, score, options.objective, options=options,
                                        pinned=pinned)
    if graph.n_edges != n_built:  # cut by max_candidates
        edge_map = None
    if isinstance(start, MatchResult):
        problem.adopt_components(start.problem)  # the same edges: the same components
    # The certificate walks the solve's networks again.
    with problem.reusing_networks(keep=keep_networks):
        solution = solve(problem, options.solver,
                         start=warm_start_of(start, d, edge_map=edge_map, id_maps=id_maps),
                         progress=progress)
        timings["solve"] = solution.seconds
        cert = None
        if certify and solution.exact:
            t = time.perf_counter()
            cert = verify(problem, solution.units, solution.duals)
            timings["certify"] = time.perf_counter() - t
    if plan is not None and problem.has_floors and not solution.exact:
        raise InputError(
            f"fairness floors need an exact solver; {solution.solver!r} is a heuristic that "
            "ignores them (use solver='auto')"
        )
    price = None
    if plan is not None:
        free = dataclasses.replace(problem, group=None, floor=None)
        price = _price_of_fairness(free, solve(free, options.solver).units, problem,
                                   solution.units, graph.distance)

    if cert is not None:
        if not cert:
            raise SolverError(f"solver {solution.solver!r} failed the certificate: {cert.problems}")
        solution.certificate = cert
    n_incumbent = None
    if incumbent is not None:
        if options.stickiness > 0 and "stickiness" in components.columns:
            # score_round marked them: the bonus is on exactly the incumbent edges.
            n_incumbent = int((components["stickiness"].to_numpy() > 0).sum())
        else:
            n_incumbent = int(_incumbent_mask(graph, incumbent).sum())
    return MatchResult(
        prepared.district, graph, score, components, problem, solution, options, timings,
        n_incumbent_edges=n_incumbent, pinned=pinned, forbidden=forbidden, floors=plan,
        price_of_fairness=price, bundles=bundles,
    )


def warm_start_of(
    previous: MatchResult | WarmState | None, district: District, *,
    edge_map: np.ndarray | None = None,
    id_maps: tuple[np.ndarray, np.ndarray] | None = None,
) -> WarmStart | None:
    """The bases of ``previous`` mapped onto ``district`` by need and resource id.

    None when there is nothing to start from (no previous result, or one
    solved by a back-end that keeps no basis). ``edge_map``, the new edge
    index of each of ``previous``'s edges (:class:`~.solvers.WarmStart`),
    maps edges by index instead of by key; ``id_maps``, the new index of each
    of its needs and resources by id (:class:`~.model.reuse.ReusedRound`'s
    ``need_map`` and ``resource_map``), spares looking the ids up again.

    Raises
    ------
    InputError
        ``previous`` is not a :class:`MatchResult` or :class:`WarmState`.
    """
    if previous is None:
        return None
    if not isinstance(previous, (MatchResult, WarmState)):
        raise InputError(
            f"`start` must be a MatchResult (an earlier round's result) or its WarmState; got "
            f"{type(previous).__name__}"
        )
    # A result's problem has the edges of its graph (after max_candidates and forbid).
    bases: list[BatchBasis] | None
    if isinstance(previous, WarmState):
        bases, edge_need, edge_resource = (previous.bases, previous.graph.need,
                                           previous.graph.resource)
    else:
        bases, edge_need, edge_resource = (previous.solution.bases, previous.problem.need,
                                           previous.problem.resource)
    if not bases:
        return None
    old = previous.district
    if old is district:
        need_map = np.arange(district.n_needs)
        resource_map = np.arange(district.n_resources)
    elif id_maps is not None and (len(id_maps[0]), len(id_maps[1])) == (old.n_needs,
                                                                        old.n_resources):
        need_map, resource_map = id_maps
    else:
        need_map = pd.Index(district.need_ids).get_indexer(old.need_ids)
        resource_map = pd.Index(district.resource_ids).get_indexer(old.resource_ids)
    if edge_map is not None and len(edge_map) != len(edge_need):
        edge_map = None
    return WarmStart(bases, edge_need, edge_resource, need_map,
                     resource_map, district.n_needs, district.n_resources, edge_map=edge_map)


def _apply_forbid(
    prepared: PreparedRound, forbid: pd.DataFrame
) -> tuple[PreparedRound, pd.DataFrame]:
    """The round without the forbidden candidate edges, and the forbidden pairs."""
    d, g = prepared.district, prepared.graph
    fi, fj, _ = check_pairs(forbid, "forbid", d.need_ids, d.resource_ids, units=False)
    at = edge_index(g.need, g.resource, g.n_resources, fi, fj)
    keep = np.ones(g.n_edges, dtype=bool)
    keep[at[at >= 0]] = False
    frame = pd.DataFrame({"need_id": d.need_ids[fi], "resource_id": d.resource_ids[fj],
                          "was_candidate": at >= 0})
    components = prepared.components
    if components is not None:
        components = components.iloc[keep].reset_index(drop=True)
    return dataclasses.replace(prepared, graph=g.subset(keep), components=components), frame


def _pinned_units(district: District, graph: CandidateGraph, pins: pd.DataFrame) -> np.ndarray:
    """Pinned units per candidate edge, shape ``(n_edges,)``; InputError naming bad rows."""
    pi, pj, pu = check_pairs(pins, "pins", district.need_ids, district.resource_ids, units=True)
    at = edge_index(graph.need, graph.resource, graph.n_resources, pi, pj)
    problems = [
        f"pair {district.need_ids[i]!r}-{district.resource_ids[j]!r} (row {k + 1} of pins) is "
        "not a candidate edge (incompatible, out of reach, no time overlap, skills missing, "
        "forbidden or cut by max_candidates)"
        for k, (i, j) in enumerate(zip(pi.tolist(), pj.tolist())) if at[k] < 0
    ]
    pinned = np.zeros(graph.n_edges, dtype=np.int64)
    pinned[at[at >= 0]] = pu[at >= 0]
    need_sum = np.bincount(graph.need, weights=pinned, minlength=graph.n_needs)
    res_sum = np.bincount(graph.resource, weights=pinned, minlength=graph.n_resources)
    for i in np.flatnonzero(need_sum > district.demand).tolist():
        problems.append(f"pins give need {district.need_ids[i]!r} {int(need_sum[i])} units; "
                        f"its demand is {int(district.demand[i])}")
    for j in np.flatnonzero(res_sum > district.capacity).tolist():
        problems.append(f"pins take {int(res_sum[j])} units of resource "
                        f"{district.resource_ids[j]!r}; its capacity is "
                        f"{int(district.capacity[j])}")
    if problems:
        raise InputError(f"{len(problems)} problem(s) in pins:\n  - "
                         + "\n  - ".join(problems[:20]))
    return pinned


def _price_of_fairness(
    free: TransportProblem, free_units: np.ndarray, floored: TransportProblem,
    units: np.ndarray, distance: np.ndarray,
) -> dict[str, float]:
    """What the floors cost: coverage weight, units, score and mean distance, with and without."""
    def figures(p: TransportProblem, u: np.ndarray) -> tuple[float, float, float, float]:
        total = float(u.sum())
        return (float((p.weight[p.need] * u).sum()), total, float((p.score * u).sum()),
                float((distance * u).sum() / total) if total else float("nan"))

    w0, u0, s0, m0 = figures(free, free_units)
    w1, u1, s1, m1 = figures(floored, units)
    return {"weighted_units_without": w0, "weighted_units_with": w1,
            "weighted_units_lost": w0 - w1, "units_without": u0, "units_with": u1,
            "score_without": s0, "score_with": s1, "score_lost": s0 - s1,
            "mean_distance_without": m0, "mean_distance_with": m1}


def check_incumbent(incumbent: Any, stickiness: float) -> None:
    """Check ``incumbent`` (a DataFrame with need_id, resource_id, or None).

    A positive ``stickiness`` needs an incumbent to stick to.
    """
    if incumbent is None:
        if stickiness:
            raise InputError(
                f"`stickiness` ({stickiness!r}) needs an `incumbent` assignment to stick to; "
                "pass incumbent=<DataFrame with need_id, resource_id>"
            )
        return
    if not isinstance(incumbent, pd.DataFrame):
        raise InputError(
            f"`incumbent` must be a DataFrame with columns need_id, resource_id; "
            f"got {type(incumbent).__name__}"
        )
    frame = incumbent.rename(columns=canonical_columns(incumbent.columns))
    missing = [c for c in ("need_id", "resource_id") if c not in frame.columns]
    if missing:
        raise InputError(
            f"incumbent lacks required column(s) {missing}; got {list(incumbent.columns)}"
        )
    for col in ("need_id", "resource_id"):
        bad = np.flatnonzero(frame[col].isna().to_numpy())
        if len(bad):
            raise InputError(
                f"`{col}` must be a non-empty id; got a missing value in row {bad[0] + 1} "
                f"of incumbent ({len(bad)} row(s) in all)"
            )


def _incumbent_mask(graph: CandidateGraph, incumbent: pd.DataFrame) -> np.ndarray:
    """Which candidate edges are incumbent pairs, shape ``(n_edges,)``.

    ``incumbent`` was checked by :func:`check_incumbent`; pairs
    that are not candidate edges are ignored.
    """
    frame = incumbent.rename(columns=canonical_columns(incumbent.columns))
    need_u, need_code = _edge_ids(frame["need_id"])
    res_u, res_code = _edge_ids(frame["resource_id"])
    i, ok_i = _lookup(graph.need_ids, need_u, need_code)
    j, ok_j = _lookup(graph.resource_ids, res_u, res_code)
    ok = ok_i & ok_j
    width = np.int64(graph.n_resources + 1)
    edge_key = graph.need.astype(np.int64) * width + graph.resource.astype(np.int64)
    wanted = np.unique(i[ok].astype(np.int64) * width + j[ok].astype(np.int64))
    if len(edge_key) < 2 or bool((edge_key[1:] > edge_key[:-1]).all()):
        # Edges are sorted by (need, resource): look the pairs up, no sort of the
        # edges (np.isin took 0.2 s at 2.5M edges, twice a round).
        mask = np.zeros(len(edge_key), dtype=bool)
        if len(edge_key):
            at = np.minimum(np.searchsorted(edge_key, wanted), len(edge_key) - 1)
            mask[at[edge_key[at] == wanted]] = True
        return mask
    return np.isin(edge_key, wanted)


def _reused_edges(prepared: PreparedRound, start: MatchResult | WarmState | None
                  ) -> tuple[MatchResult | WarmState, np.ndarray] | None:
    """``start`` and the new index of each of its edges, when ``prepared`` was built from it."""
    if (start is None or prepared.reused_from is not start or prepared.edge_map is None
            or len(prepared.edge_map) != start.graph.n_edges):
        return None
    return start, prepared.edge_map


def _assigned_by_index(graph: CandidateGraph, incumbent: pd.DataFrame,
                       reused: tuple[MatchResult | WarmState, np.ndarray]) -> np.ndarray | None:
    """:func:`_incumbent_mask` by index, when ``incumbent`` is the earlier round's assignment.

    ``reused`` is that round and the new index of each of its edges (-1: not a
    candidate now), as :func:`.reuse_candidates` maps them: every pair that is
    an edge in both rounds. The incumbent qualifies when it *is* that round's
    ``assignments`` or its (need_id, resource_id) columns equal them row by
    row; None otherwise (then pairs are looked up by id).
    """
    start, edge_map = reused
    if isinstance(start, WarmState):
        if start.assigned is None:  # a state stored before it kept them
            return None
        used = start.assigned
    else:
        used = np.flatnonzero(start.units > 0)
    if isinstance(start, WarmState) or incumbent is not start.__dict__.get("assignments"):
        frame = incumbent.rename(columns=canonical_columns(incumbent.columns))
        if len(frame) != len(used):
            return None
        g = start.graph
        for col, ids, ends in (("need_id", g.need_ids, g.need),
                               ("resource_id", g.resource_ids, g.resource)):
            given = frame[col].to_numpy(object)
            if not bool(np.asarray(given == ids[ends[used]], dtype=bool).all()):
                return None
    mask = np.zeros(graph.n_edges, dtype=bool)
    at = edge_map[used]
    mask[at[at >= 0]] = True
    return mask


def _add_stickiness(
    graph: CandidateGraph,
    score: np.ndarray,
    components: pd.DataFrame,
    incumbent: pd.DataFrame,
    bonus: float,
    reused: tuple[MatchResult | WarmState, np.ndarray] | None = None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Add ``bonus`` to the incumbent candidate edges; a ``stickiness`` component shows it.

    ``reused`` (see :func:`_reused_edges`) lets an incumbent that is the
    earlier round's assignment be found by index.
    """
    mask = None if reused is None else _assigned_by_index(graph, incumbent, reused)
    if mask is None:
        mask = _incumbent_mask(graph, incumbent)
    bonus_edge = np.where(mask, bonus, 0.0)
    return score + bonus_edge, components.assign(stickiness=bonus_edge)


def _edge_ids(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ids, ``str(v).strip()`` each, and the code of each row's id.

    Strips each distinct value once (ids repeat across edges), not each row.
    """
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    if isinstance(uniques.dtype, pd.StringDtype) and not pd.isna(uniques).any():
        stripped = np.asarray(pd.Series(uniques).str.strip().to_numpy(object))
    else:
        stripped = np.array([str(v).strip() for v in uniques], dtype=object)
    return stripped, codes


def _lookup(
    ids: np.ndarray, values: np.ndarray, codes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Index in the unique ``ids`` of each row's value, and whether it is there.

    Looks each distinct value up once (by hash: ``astype(str)`` of 10^5 ids
    and a sorted search among them took 0.1 s a list), then spreads the answer
    to the rows (``codes``); a value not found gets index 0.
    """
    if len(ids) == 0:
        return np.zeros(len(codes), np.int64), np.zeros(len(codes), bool)
    at = pd.Index(ids, dtype=object).get_indexer(pd.Index(values, dtype=object))
    return np.maximum(at, 0)[codes], (at >= 0)[codes]


def _is_bool(column: pd.Series) -> np.ndarray:
    """Which cells of ``column`` are booleans, shape ``(len(column),)``."""
    if pd.api.types.is_bool_dtype(column.dtype):
        return column.notna().to_numpy()
    if column.dtype != object:
        return np.zeros(len(column), dtype=bool)
    return np.fromiter((isinstance(v, (bool, np.bool_)) for v in column.to_numpy()),
                       dtype=bool, count=len(column))


def _validate_edges(
    edges: pd.DataFrame, need_ids: np.ndarray, res_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Edge end points (indices in the sorted id tables), scores, and the (need, resource) order.

    Raises InputError naming every failing row.
    """
    if not isinstance(edges, pd.DataFrame):
        raise InputError(f"edges must be a DataFrame; got {type(edges).__name__}")
    frame = edges.rename(columns=canonical_columns(edges.columns))
    missing = [c for c in ("need_id", "resource_id", "score") if c not in frame.columns]
    if missing:
        raise InputError(f"edges lacks required column(s) {missing}; got {list(edges.columns)}")
    problems: list[str] = []
    records: list[dict[str, Any]] = []
    need_u, need_code = _edge_ids(frame["need_id"])
    res_u, res_code = _edge_ids(frame["resource_id"])
    need, res = need_u[need_code], res_u[res_code]
    # A missing id (None, NaN, NA) is no id: str() would make it a need named "nan".
    no_need = frame["need_id"].isna().to_numpy()
    no_res = frame["resource_id"].isna().to_numpy()
    score = pd.to_numeric(frame["score"], errors="coerce").to_numpy(dtype=float, copy=True)
    # Booleans are not numbers: to_numeric would take True as 1.0.
    score[_is_bool(frame["score"])] = np.nan

    def fail(pos: int, column: str, rule: str, found: str) -> None:
        shown_need = None if no_need[pos] else need[pos]
        shown_res = None if no_res[pos] else res[pos]
        place = f"edge {shown_need!r}-{shown_res!r} (row {pos + 1} of edges)"
        problems.append(f"`{column}` must {rule}; got {found} for {place}")
        records.append({"table": "edges", "row": pos + 1, "line": None,
                        "id": f"{need[pos]}-{res[pos]}", "column": column.replace("`", ""),
                        "expected": rule, "found": found})

    i, ok_i = _lookup(need_ids, need_u, need_code)
    j, ok_j = _lookup(res_ids, res_u, res_code)
    ok_i &= ~no_need
    ok_j &= ~no_res
    # Visit only the failing rows: a Python loop over every edge dominated at 10^6 edges.
    finite = np.isfinite(score)
    for pos in np.flatnonzero(~(ok_i & ok_j & finite)).tolist():
        if no_need[pos]:
            fail(pos, "need_id", "be a non-empty id", "a missing value")
        elif not ok_i[pos]:
            fail(pos, "need_id", "name a need of the needs table", repr(need[pos]))
        if no_res[pos]:
            fail(pos, "resource_id", "be a non-empty id", "a missing value")
        elif not ok_j[pos]:
            fail(pos, "resource_id", "name a resource of the resources table", repr(res[pos]))
        if not finite[pos]:
            fail(pos, "score", "be a finite number", show_value(frame["score"].iat[pos]))
    order: np.ndarray | None = None
    if ok_i.all() and ok_j.all():
        # Every id found: equal (stripped) ids have equal indices, so the pair's
        # position in the sorted tables is its key; sorted keys show the repeats.
        key = i.astype(np.int64) * max(len(res_ids), 1) + j
        if len(key) < 2 or bool((key[1:] > key[:-1]).all()):
            order = np.arange(len(key))  # already sorted by (need, resource), no repeat
        else:
            order = np.argsort(key, kind="stable")
            ks = key[order]
            repeats = np.sort(order[1:][ks[1:] == ks[:-1]])  # later rows of a pair
            for dup in repeats.tolist():
                fail(dup, "need_id`/`resource_id", "be a unique pair", "a repeat")
    else:
        # Ids equal once stripped must count as one: key on the stripped values' codes.
        same_need = pd.factorize(need_u)[0][need_code]
        same_res = pd.factorize(res_u)[0][res_code]
        key = same_need.astype(np.int64) * (len(res_u) + 1) + same_res
        for dup in np.flatnonzero(pd.Series(key).duplicated().to_numpy()):
            fail(int(dup), "need_id`/`resource_id", "be a unique pair", "a repeat")
    if problems:
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise InputError(
            f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in edges:\n  - "
            + "\n  - ".join(problems[:20])
            + more,
            pd.DataFrame(records),
        )
    assert order is not None  # every lookup failed row raised above
    return i.astype(np.int64), j.astype(np.int64), score, order


def solve_assignment(
    edges: pd.DataFrame,
    needs: pd.DataFrame,
    resources: pd.DataFrame,
    *,
    objective: Objective = "coverage",
    solver: str | FlowSolver = "auto",
) -> pd.DataFrame:
    """Solve the assignment on explicit edges and scores (no geometry, no taxonomy).

    Parameters
    ----------
    edges : DataFrame
        Columns need_id, resource_id, score (finite; one row per pair).
    needs : DataFrame
        Columns need_id and demand (default 1).
    resources : DataFrame
        Columns resource_id and capacity (default 1).
    objective : {"coverage", "score"}, default "coverage"
        "coverage": the most units, then the best score. "score": the best score.
    solver : str or FlowSolver, default "auto"
        As for :func:`match`.

    Returns
    -------
    pandas.DataFrame
        need_id, resource_id, units, score for each edge with units > 0,
        sorted by ids. ``frame.attrs`` holds the solver used and the objective.

    Raises
    ------
    InputError
        Unknown ids, duplicate pairs, non-finite scores, bad demand/capacity.

    Examples
    --------
    >>> import pandas as pd, matchcore as mc
    >>> edges = pd.DataFrame({"need_id": ["a", "a", "b"], "resource_id": ["x", "y", "x"],
    ...                       "score": [0.9, 0.5, 0.8]})
    >>> mc.solve_assignment(edges, pd.DataFrame({"need_id": ["a", "b"]}),
    ...                     pd.DataFrame({"resource_id": ["x", "y"]}))
      need_id resource_id  units  score
    0       a           y      1    0.5
    1       b           x      1    0.8
    """
    check_choice(objective, "objective", OBJECTIVES)
    n = validate_id_table(needs, "needs", "need_id", "demand")
    r = validate_id_table(resources, "resources", "resource_id", "capacity")
    need_ids = n["need_id"].to_numpy(dtype=object)
    res_ids = r["resource_id"].to_numpy(dtype=object)
    check_units(n["demand"].to_numpy(np.int64), r["capacity"].to_numpy(np.int64), need_ids, res_ids)
    i, j, score, order = _validate_edges(edges, need_ids, res_ids)
    if (order != np.arange(len(order))).any():  # not already sorted by (need, resource)
        i, j, score = i[order], j[order], score[order]
    problem = TransportProblem(
        i,
        j,
        n["demand"].to_numpy(np.int64),
        r["capacity"].to_numpy(np.int64),
        score,
        np.ones(len(n), dtype=np.int64),
        objective,
    )
    solution = solve(problem, solver)
    used = solution.units > 0
    out = pd.DataFrame(
        {
            "need_id": need_ids[i[used]],
            "resource_id": res_ids[j[used]],
            "units": solution.units[used],
            "score": score[used],
        }
    )
    out.attrs["solver"] = solution.solver
    out.attrs["objective"] = objective
    out.attrs["exact"] = solution.exact
    return out
