"""Comparisons, hand-rule baselines and weight sweeps of matching rounds.

:func:`compare` sets the headline metrics of several results side by side;
:func:`baseline` applies the rules offices use by hand (nearest first, first
come first served) to the same candidates as :func:`~matchcore.match`, so the
exact optimum can be measured against them; :func:`sweep` re-scores and
re-solves one district under several :class:`~matchcore.Weights` and marks the
Pareto-optimal ones (:func:`pareto_front`), the frame ``plot.frontier`` draws.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from .checks import check_choice, check_scalar
from .errors import InputError
from .io import PathLike
from .model.candidates import Scope
from .model.problem import Objective
from .model.scoring import COMPONENTS, Weights, score_edges
from .model.taxonomy import Taxonomy
from .options import MatchOptions
from .pipeline import PreparedRound, prepare_round, problem_of, score_round, solve_round
from .result import MatchResult
from .solvers import FlowSolver, Solution
from .solvers.greedy import fill_in_order

__all__ = ["RULES", "SWEEP_COLUMNS", "baseline", "compare", "pareto_front", "sweep"]

#: The hand rules of :func:`baseline`.
RULES: tuple[str, ...] = ("nearest", "fcfs")

#: Columns of the frame :func:`sweep` returns (a metric that
#: :func:`matchcore.metrics.summary` does not report is left out).
SWEEP_COLUMNS: tuple[str, ...] = (
    "label",
    "w_type",
    "w_locality",
    "w_priority",
    "w_partner",
    "unit_coverage",
    "priority_weighted_coverage",
    "need_coverage",
    "mean_distance",
    "community_fairness",
    "coverage_gini",
    "total_score",
    "pareto",
)

_METRICS = SWEEP_COLUMNS[5:-1]
#: Metrics of older summaries that may be missing.
_OPTIONAL = ("coverage_gini",)


# ---------------------------------------------------------------------------
# compare


def _same_needs(a: MatchResult, b: MatchResult) -> str | None:
    """What differs between the needs of two results (None when nothing does)."""
    da, db = a.district, b.district
    if da.n_needs != db.n_needs or not np.array_equal(da.need_ids, db.need_ids):
        return "need ids"
    if not np.array_equal(da.demand, db.demand):
        return "demand"
    if not np.array_equal(da.priority, db.priority):
        return "priority"
    return None


def _score_key(r: MatchResult) -> tuple[Weights, Taxonomy]:
    tax = r.options.taxonomy
    return r.weights, tax if tax is not None else Taxonomy.default()


def compare(results: Mapping[str, MatchResult], *, gaps: bool = True) -> pd.DataFrame:
    """The headline metrics of several results side by side.

    Parameters
    ----------
    results : mapping of str to MatchResult
        Labelled results, e.g. ``{"optimal": r, "nearest": baseline(...)}``.
        Columns follow its order.
    gaps : bool, default True
        Add the rows ``priority_weighted_coverage_gap`` and
        ``total_score_gap``: how far each result is below the best of them.

    Returns
    -------
    pandas.DataFrame
        One row per metric of :func:`matchcore.metrics.summary`, then
        ``solver``, ``is_exact``, ``objective`` (its name) and, with
        ``gaps``, the two gap rows; one column per label (object dtype).

    Raises
    ------
    InputError
        ``results`` is empty or holds something else than a MatchResult; or,
        with ``gaps``, the results do not share the same needs (ids, demand
        and priority), since a coverage gap between different needs lists
        means nothing (pass ``gaps=False`` to set different districts side
        by side).

    Notes
    -----
    Total scores are only comparable under the same weights and taxonomy:
    when these differ, ``total_score_gap`` is NaN (the metrics are still
    shown). Different resources lists are allowed: "what if we had more
    volunteers" is a fair comparison.

    Examples
    --------
    >>> import matchcore as mc
    >>> from matchcore.analysis import baseline, compare
    >>> needs, resources = mc.synthetic.tiny()
    >>> opt = mc.match(needs, resources, max_distance=2000)
    >>> near = baseline(needs, resources, "nearest", max_distance=2000)
    >>> table = compare({"optimal": opt, "nearest": near})
    >>> table.loc[["assigned_units", "is_exact", "priority_weighted_coverage_gap"]]
                                   optimal nearest
    metric
    assigned_units                       5       5
    is_exact                          True   False
    priority_weighted_coverage_gap     0.0     0.0
    """
    if not isinstance(results, Mapping) or len(results) == 0:
        raise InputError("results must be a non-empty mapping of label to MatchResult")
    labels = [str(k) for k in results]
    if len(set(labels)) != len(labels):
        raise InputError(f"results must have distinct labels; got {labels}")
    values = list(results.values())
    for label, r in zip(labels, values):
        if not isinstance(r, MatchResult):
            raise InputError(
                f"results[{label!r}] must be a MatchResult; got {type(r).__name__}"
            )
    first = values[0]
    if gaps:
        for label, r in zip(labels[1:], values[1:]):
            differ = _same_needs(first, r)
            if differ is not None:
                raise InputError(
                    f"results {labels[0]!r} and {label!r} have different needs ({differ} "
                    "differ), so their coverage gap means nothing; compare rounds of the "
                    "same needs list, or pass gaps=False"
                )
    frame = pd.concat([r.metrics for r in values], axis=1, keys=labels, sort=False)
    frame = frame.astype(object)
    extra = {
        "solver": [r.solver for r in values],
        "is_exact": [bool(r.is_exact) for r in values],
        "objective": [r.problem.objective for r in values],
    }
    if gaps:
        for name in ("priority_weighted_coverage", "total_score"):
            v = np.array([float(r.metrics[name]) for r in values])
            best = np.nanmax(v) if np.isfinite(v).any() else np.nan
            extra[f"{name}_gap"] = list(best - v)
        key = _score_key(first)
        if any(_score_key(r) != key for r in values[1:]):
            extra["total_score_gap"] = [math.nan] * len(values)
    rows = pd.DataFrame(extra, index=labels, dtype=object).T
    out = pd.concat([frame, rows], axis=0)
    out.index.name = "metric"
    return out


# ---------------------------------------------------------------------------
# baseline


def baseline(
    needs: pd.DataFrame | PathLike,
    resources: pd.DataFrame | PathLike,
    rule: Literal["nearest", "fcfs"] = "nearest",
    options: MatchOptions | None = None,
    *,
    weights: Weights | None = None,
    max_distance: float | None = None,
    scope: Scope | None = None,
    taxonomy: Taxonomy | None = None,
    max_candidates: int | None = None,
    objective: Objective | None = None,
) -> MatchResult:
    """The project list a hand rule gives, on the same candidates as :func:`~matchcore.match`.

    Parameters
    ----------
    needs, resources : DataFrame or path
        As for :func:`~matchcore.match` (validated the same way).
    rule : {"nearest", "fcfs"}, default "nearest"
        ``"nearest"``: needs in priority order (highest first, then by
        need_id), each takes units from its nearest candidates with spare
        capacity. ``"fcfs"`` (first come, first served): needs in the order
        of the needs list, each takes units from its nearest candidates.
    options : MatchOptions, optional
        As for :func:`~matchcore.match`; its ``solver`` and ``stickiness``
        are not used.
    weights, max_distance, scope, taxonomy, max_candidates, objective
        As for :func:`~matchcore.match` (each overrides ``options``): the
        same candidate edges (the same reach, scope, taxonomy and
        ``max_candidates`` pruning by score) and the same scores, so every
        table and metric compares one to one. ``objective`` only names the
        problem the result is measured against.

    Returns
    -------
    MatchResult
        Marked inexact (``is_exact`` False), solver ``"baseline:nearest"``
        or ``"baseline:fcfs"`` (the rule).

    Raises
    ------
    InputError
        Bad lists, an unknown rule or bad options.

    Notes
    -----
    The needs list has no submission-time column, so ``"fcfs"`` takes the
    rows in the order given (the file's line order): sort the list by
    submission time first. Distance ties go to the lower resource id. The
    rule is sequential by nature: one pass over the edges in rule order.

    Examples
    --------
    >>> import matchcore as mc
    >>> from matchcore.analysis import baseline
    >>> r = baseline(*mc.synthetic.tiny(), "nearest", max_distance=2000)
    >>> r.solver, r.is_exact
    ('baseline:nearest', False)
    >>> r.assignments[["need_id", "resource_id", "units"]]
      need_id resource_id  units
    0      N1          R1      2
    1      N2          R2      1
    2      N3          R3      2
    """
    check_choice(rule, "rule", RULES)
    opts = MatchOptions.from_arguments(
        options, weights=weights, max_distance=max_distance, scope=scope, taxonomy=taxonomy,
        max_candidates=max_candidates, objective=objective,
    )
    prepared = prepare_round(needs, resources, opts)
    timings = dict(prepared.timings)
    graph, score, components = score_round(prepared, opts, timings)
    d = prepared.district
    start = time.perf_counter()
    if rule == "nearest":
        rank = np.lexsort((np.arange(d.n_needs), -d.priority))
    else:
        rank = np.argsort(prepared.arrival, kind="stable")
    need_rank = np.empty(d.n_needs, dtype=np.int64)
    need_rank[rank] = np.arange(d.n_needs)
    order = np.lexsort((graph.resource, graph.distance, need_rank[graph.need]))
    units = fill_in_order(order, graph.need, graph.resource, d.demand, d.capacity)
    name = f"baseline:{rule}"
    solution = Solution(units, name, False, None, 0, time.perf_counter() - start)
    timings["solve"] = solution.seconds
    problem, _, _ = problem_of(d, graph, score, opts.objective)
    return MatchResult(d, graph, score, components, problem, solution, opts.replace(solver=name),
                       timings)


# ---------------------------------------------------------------------------
# sweep and Pareto front


def _labelled(weights: Sequence[Weights] | Mapping[str, Weights]) -> list[tuple[str, Weights]]:
    if isinstance(weights, Weights) or isinstance(weights, (str, bytes)):
        raise InputError(
            "weights must be a sequence or mapping of matchcore.Weights; got a single "
            f"{type(weights).__name__} (wrap it in a list)"
        )
    if isinstance(weights, Mapping):
        items = [(str(k), w) for k, w in weights.items()]
    elif isinstance(weights, Sequence):
        items = [(f"w{k}", w) for k, w in enumerate(weights)]
    else:
        raise InputError(
            f"weights must be a sequence or mapping of matchcore.Weights; got "
            f"{type(weights).__name__}"
        )
    if not items:
        raise InputError("weights must hold at least one matchcore.Weights")
    labels = [label for label, _ in items]
    if len(set(labels)) != len(labels):
        raise InputError(f"weights must have distinct labels; got {labels}")
    for label, w in items:
        if not isinstance(w, Weights):
            raise InputError(f"weights[{label!r}] must be a matchcore.Weights; got "
                             f"{type(w).__name__}")
    return items


def sweep(
    needs: pd.DataFrame | PathLike,
    resources: pd.DataFrame | PathLike,
    weights: Sequence[Weights] | Mapping[str, Weights],
    options: MatchOptions | None = None,
    *,
    max_distance: float | None = None,
    scope: Scope | None = None,
    taxonomy: Taxonomy | None = None,
    max_candidates: int | None = None,
    objective: Objective | None = None,
    solver: str | FlowSolver | None = None,
    certify: bool = True,
    client: Any = None,
    retries: int = 2,
    warm: bool = True,
) -> pd.DataFrame:
    """Match one district under several weightings and mark the Pareto-optimal ones.

    The lists are validated and the candidate graph built once; each
    weighting re-scores the edges and re-solves (exactly, like
    :func:`~matchcore.match`), warm from the previous weighting's optimal
    bases (``match(..., start=...)``): with ``objective="coverage"`` the
    coverage phase does not depend on the weights, so its old optimum is
    optimal at once, and the score phase resumes from the previous score
    optimum on the same arcs. With ``max_candidates`` the kept edges differ
    per weighting and are mapped by (need, resource); the rows are the cold
    ones either way. Dask tasks (``client``) start cold.

    Parameters
    ----------
    needs, resources : DataFrame or path
        As for :func:`~matchcore.match`.
    weights : sequence or mapping of Weights
        The weightings to try; a mapping's keys label the rows, a sequence's
        rows are labelled ``w0``, ``w1``, ...
    options : MatchOptions, optional
        As for :func:`~matchcore.match`, the same for every weighting (its
        ``weights`` are replaced by each of ``weights`` in turn).
    max_distance, scope, taxonomy, max_candidates, objective, solver, certify
        As for :func:`~matchcore.match` (each overrides ``options``).
    client : distributed.Client, optional
        Run each weighting as a task on this Dask client: the prepared round
        (validated lists and candidate graph) is scattered to the workers
        once and every task re-scores and re-solves it; the rows are
        gathered in one call. The frame equals the serial one.
    retries : int, default 2
        Dask's ``retries=`` of each task (with a ``client``).
    warm : bool, default True
        Start each weighting from the previous one's bases (serial runs);
        False solves each cold (the same rows, for timing comparisons).

    Returns
    -------
    pandas.DataFrame
        One row per weighting, in the given order, with the columns of
        :data:`SWEEP_COLUMNS`: label, w_type, w_locality, w_priority,
        w_partner, unit_coverage, priority_weighted_coverage, need_coverage,
        mean_distance, community_fairness, coverage_gini (Gini of coverage
        across communities, see :func:`matchcore.metrics.summary`),
        total_score and pareto (True when
        no other row has at least as high priority-weighted coverage, at most
        as short a mean distance and at least as high community fairness,
        and is better in one of them; see :func:`pareto_front`).

    Raises
    ------
    InputError
        Bad lists, weights or options.

    Examples
    --------
    >>> import matchcore as mc
    >>> from matchcore.analysis import sweep
    >>> frame = sweep(*mc.synthetic.tiny(), {"near": mc.Weights(locality=1.0),
    ...                                      "typed": mc.Weights(type=1.0, locality=0.0)},
    ...               max_distance=2000)
    >>> frame[["label", "w_locality", "unit_coverage", "pareto"]]
       label  w_locality  unit_coverage  pareto
    0   near         1.0       0.555556    True
    1  typed         0.0       0.555556    True
    """
    items = _labelled(weights)
    opts = MatchOptions.from_arguments(
        options, max_distance=max_distance, scope=scope, taxonomy=taxonomy,
        max_candidates=max_candidates, objective=objective, solver=solver,
    )
    prepared = prepare_round(needs, resources, opts)
    if client is None:
        # The base components once: each weighting's scores are their weighted sum
        # (the one formula of score_edges, bit for bit; weightings of another
        # distance scale score afresh).
        _, base = score_edges(prepared.district, prepared.graph, opts.weights)
        prepared = dataclasses.replace(prepared, components=base)
        rows = []
        previous = None
        for label, w in items:
            # Each weighting starts from the last one's optimal bases: the
            # coverage phase does not depend on the weights (its old optimum
            # is optimal at once) and the score phase resumes on the same arcs.
            row, result = _sweep_row(prepared, opts.replace(weights=w), label, certify,
                                     previous, keep_networks=warm)
            rows.append(row)
            previous = result if warm else None
            del result
        del previous
    else:
        retries = int(check_scalar(retries, "retries", "int", low=0))
        shared = client.scatter(prepared, broadcast=True, hash=False)  # sent once
        futures = [client.submit(_sweep_task, shared, opts.replace(weights=w), label, certify,
                                 retries=retries, pure=False) for label, w in items]
        rows = client.gather(futures)
    frame = pd.DataFrame(rows)
    frame["pareto"] = pareto_front(
        frame,
        maximize=["priority_weighted_coverage", "community_fairness"],
        minimize=["mean_distance"],
    )
    return frame


def _sweep_task(
    prepared: PreparedRound, options: MatchOptions, label: str, certify: bool
) -> dict[str, object]:
    """One row of :func:`sweep` as a Dask task (cold: tasks share no bases)."""
    return _sweep_row(prepared, options, label, certify)[0]


def _sweep_row(
    prepared: PreparedRound, options: MatchOptions, label: str, certify: bool,
    start: MatchResult | None = None, keep_networks: bool = False,
) -> tuple[dict[str, object], MatchResult]:
    """One row of :func:`sweep`, the round solved under ``options.weights`` (from ``start``).

    ``keep_networks``: the next row (the same graph) takes this row's networks.
    """
    result = solve_round(prepared, options, certify=certify, start=start,
                         keep_networks=keep_networks)
    m = result.metrics
    w = options.weights
    row: dict[str, object] = {"label": label}
    row.update({f"w_{c}": float(getattr(w, c)) for c in COMPONENTS})
    for name in _METRICS:
        if name in m.index or name not in _OPTIONAL:
            row[name] = float(m[name])
    return row, result


def _criteria(frame: pd.DataFrame, columns: Sequence[str], sign: float) -> list[np.ndarray]:
    out = []
    for c in columns:
        if c not in frame.columns:
            raise InputError(f"pareto_front: frame has no column {c!r}; got {list(frame.columns)}")
        col = frame[c]
        if col.dtype == bool or not pd.api.types.is_numeric_dtype(col):
            raise InputError(f"pareto_front: column {c!r} must be numeric; got {col.dtype}")
        v = sign * col.to_numpy(dtype=float)
        # Missing values (NaN) count as the worst possible.
        out.append(np.where(np.isnan(v), -np.inf, v))
    return out


def pareto_front(
    frame: pd.DataFrame,
    maximize: Sequence[str] = (),
    minimize: Sequence[str] = (),
    *,
    chunk: int = 1024,
) -> np.ndarray:
    """Which rows no other row dominates.

    Row ``a`` dominates row ``b`` when it is at least as good in every
    criterion and strictly better in one; rows equal in every criterion do
    not dominate each other (both stay on the front).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per alternative. Never modified.
    maximize, minimize : sequence of str
        Numeric columns to maximise and to minimise. NaN counts as the worst.
    chunk : int, default 1024
        Rows compared at once (memory is ``chunk * len(frame)`` per criterion).

    Returns
    -------
    ndarray of bool, shape (len(frame),)
        True for the rows on the Pareto front.

    Raises
    ------
    InputError
        No criteria, a column named twice, missing or not numeric.

    Examples
    --------
    >>> import pandas as pd
    >>> from matchcore.analysis import pareto_front
    >>> f = pd.DataFrame({"coverage": [0.9, 0.8, 0.9, 0.7], "distance": [300, 200, 250, 250]})
    >>> pareto_front(f, maximize=["coverage"], minimize=["distance"]).tolist()
    [False, True, True, False]
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"pareto_front: frame must be a DataFrame; got {type(frame).__name__}")
    maximize, minimize = list(maximize), list(minimize)
    if not maximize and not minimize:
        raise InputError("pareto_front: name at least one column to maximize or minimize")
    both = sorted(set(maximize) & set(minimize))
    if both or len(set(maximize)) != len(maximize) or len(set(minimize)) != len(minimize):
        raise InputError(f"pareto_front: each column may be named once; got maximize="
                         f"{maximize}, minimize={minimize}")
    chunk = check_scalar(chunk, "chunk", "int", low=1)
    values = np.column_stack(
        _criteria(frame, maximize, 1.0) + _criteria(frame, minimize, -1.0)
    ) if len(frame) else np.zeros((0, len(maximize) + len(minimize)))
    n = len(values)
    dominated = np.zeros(n, dtype=bool)
    for lo in range(0, n, int(chunk)):
        v = values[lo : lo + int(chunk)]  # (c, k): the rows tested
        ge = np.all(values[None, :, :] >= v[:, None, :], axis=2)  # (c, n): other >= row
        gt = np.any(values[None, :, :] > v[:, None, :], axis=2)
        dominated[lo : lo + len(v)] = np.any(ge & gt, axis=1)
    return ~dominated
