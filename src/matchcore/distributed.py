"""Many independent rounds at once: streets of a city, scenarios of a study, on Dask or serially.

:func:`match_many` matches each round (a street's needs and resources) on its
own, in this process or as ``dask.distributed`` tasks, with results identical
to the serial run; :func:`split_by` cuts one city's lists into such rounds and
:func:`concat_results` sets their tables side by side with city-wide metrics;
:func:`scenario_grid` runs presets x seeds x scarcity x weights for
benchmarks. Dask is imported inside the functions that need it (the
``distributed`` extra); ``import matchcore`` never imports it.
"""

from __future__ import annotations

import itertools
import math
import pickle
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .analysis import sweep
from .checks import check_scalar
from .errors import MAX_LISTED_FAILURES, InputError, RoundsFailed
from .io import PathLike
from .metrics import union_summary
from .model.scoring import Weights
from .options import MatchOptions
from .pipeline import match
from .result import MatchResult
from .schema import canonical_columns
from .synthetic import district, suggested_max_distance

__all__ = [
    "PACK_NEEDS",
    "RoundTables",
    "concat_results",
    "match_many",
    "plan_tasks",
    "scenario_grid",
    "split_by",
]

#: The two lists of a round: frames or paths.
Lists = tuple[pd.DataFrame | PathLike, pd.DataFrame | PathLike]
#: A round: its lists, or a function of no argument returning them where it runs.
Round = Lists | Callable[[], Lists]

#: The packing rule's default: small rounds share a task until it holds at
#: least this many needs (about a second of work), so that a task is worth
#: its scheduling and transfer overhead (Dask's advice: tasks of real size).
PACK_NEEDS = 5_000


@dataclass(frozen=True)
class _Pack:
    """The rounds of one task: (name, (needs, resources) or a function giving them)."""

    rounds: list[tuple[str, Any]]


# ---------------------------------------------------------------------------
# match_many


def match_many(
    rounds: Mapping[str, Round] | Iterable[tuple[str, Round]],
    options: MatchOptions | None = None,
    *,
    client: Any = None,
    pack_needs: int = PACK_NEEDS,
    retries: int = 2,
    certify: bool = True,
    **overrides: Any,
) -> dict[str, MatchResult]:
    """Match many independent rounds (streets, scenarios), serially or on a Dask cluster.

    Parameters
    ----------
    rounds : mapping of str to (needs, resources), or iterable of (name, (needs, resources))
        The rounds, by name. The lists are frames or paths (a path is read
        where the round runs), or the pair is replaced by a function of no
        argument returning it (e.g. ``functools.partial(synthetic.street,
        k)``), called where the round runs: then no process but the worker
        ever holds the round. An iterable (e.g.
        :func:`matchcore.synthetic.province_rounds`) is consumed as the
        rounds are submitted.
    options : MatchOptions, optional
        The options of every round; keyword ``overrides`` (any field of
        :class:`~matchcore.MatchOptions`) win, as in :func:`~matchcore.match`.
    client : distributed.Client, optional
        Without one, the rounds run one after another in this process. With
        one, each pack of rounds (see ``pack_needs``) is one task, which
        carries its rounds' lists (each list is used by one task only, so it
        travels once); each task's results are fetched as soon as it ends,
        while the other tasks run.
    pack_needs : int, default PACK_NEEDS (5_000)
        The packing rule: rounds are taken in the order given, and a task
        takes rounds until it holds at least ``pack_needs`` needs; a round
        that large is a task of its own. A round given as paths or as a
        function counts as ``pack_needs`` needs (its size is not known here).
        ``pack_needs=1`` gives one task per round.
    retries : int, default 2
        Dask's ``retries=`` for each task: a task that fails as a whole runs
        again. A task whose worker dies is rescheduled by Dask (up to its
        ``distributed.scheduler.allowed-failures``). A round's own exception
        is not retried but reported (matching is deterministic, so a re-run
        would fail the same way). A re-run gives the same result.
    certify : bool, default True
        As for :func:`~matchcore.match`.
    **overrides
        Single options, as for :func:`~matchcore.match`.

    Returns
    -------
    dict of str to MatchResult
        In the order the rounds were given; each equal (tables and
        objective, bit for bit) to ``match(needs, resources, options)`` in
        this process.

    Raises
    ------
    RoundsFailed
        After every round has run, when any failed: ``err.results`` holds the
        rounds that finished, ``err.errors`` maps each failed round's name to
        its exception (a round whose worker died more often than Dask allows
        gives ``KilledWorker``). One bad round never loses the others.
    InputError
        Bad options, a round that is not a (needs, resources) pair, a
        repeated or non-string name, or a solver function that cannot be
        sent to the workers (not picklable).

    See Also
    --------
    split_by : cut one city's lists into rounds.
    concat_results : the city-wide tables and metrics of the rounds.

    Notes
    -----
    Rounds are independent: a resource of one round never serves a need of
    another. One very large round stays one exact solve on one worker.

    The lists travel inside their task rather than being scattered first:
    the scheduler keeps a task's recipe and can run it again when its worker
    dies, while scattered data held by a dead worker is lost for good
    (Dask then cancels the tasks that needed it). The price is that the
    scheduler holds the lists of tasks not yet run: for data larger than a
    machine, give rounds as paths or functions.

    Start the workers without Dask's ``MALLOC_TRIM_THRESHOLD_=65536``
    (``dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_":
    None})`` before the cluster starts): with it, a match on a worker took 25%
    longer than in a plain process (``docs/scale.md``).

    Examples
    --------
    >>> import matchcore as mc
    >>> needs, resources = mc.synthetic.tiny()
    >>> out = mc.match_many({"east": (needs, resources), "west": (needs, resources)},
    ...                     max_distance=2000)
    >>> list(out), out["east"].objective == out["west"].objective
    (['east', 'west'], True)

    On a cluster (``pip install matchcore[distributed]``)::

        from distributed import Client, LocalCluster
        with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as c:
            out = mc.match_many(rounds, max_distance=300, client=c)
    """
    opts = MatchOptions.from_arguments(options, **overrides)
    pack_needs = int(check_scalar(pack_needs, "pack_needs", "int", low=1))
    retries = int(check_scalar(retries, "retries", "int", low=0))
    items = _checked_rounds(rounds)
    if client is None:
        names: list[str] = []
        outcomes: dict[str, MatchResult | BaseException] = {}
        for name, value in items:
            names.append(name)
            outcomes.update(_match_pack(_Pack([(name, value)]), opts, certify))
    else:
        _check_picklable(opts)
        names, outcomes = _run_on(client, items, opts, certify, pack_needs, retries)
    return _collect(names, outcomes)


def _checked_rounds(
    rounds: Mapping[str, Round] | Iterable[tuple[str, Round]],
) -> Iterator[tuple[str, Any]]:
    """(name, round) of each round, checked as it is taken."""
    if isinstance(rounds, (str, bytes, pd.DataFrame)) or not isinstance(
        rounds, (Mapping, Iterable)
    ):
        raise InputError(
            "rounds must be a mapping of name to (needs, resources) or an iterable of "
            f"(name, (needs, resources)); got {type(rounds).__name__}"
        )
    pairs = rounds.items() if isinstance(rounds, Mapping) else rounds
    seen: set[str] = set()
    for k, item in enumerate(pairs):
        if not (isinstance(item, tuple) and len(item) == 2):
            raise InputError(f"round {k} must be a (name, (needs, resources)) pair; got "
                             f"{type(item).__name__}")
        name, value = item
        if not isinstance(name, str):
            raise InputError(f"round names must be strings; got {name!r} for round {k}")
        if name in seen:
            raise InputError(f"round names must be unique; got {name!r} twice")
        seen.add(name)
        if not (callable(value) or (isinstance(value, (tuple, list)) and len(value) == 2)):
            raise InputError(f"round {name!r} must be a (needs, resources) pair or a function "
                             f"returning one; got {type(value).__name__}")
        yield name, value


def _check_picklable(opts: MatchOptions) -> None:
    """A solver function goes to the workers with the options: refuse one that cannot."""
    if isinstance(opts.solver, str):
        return
    try:
        import cloudpickle  # distributed's serializer of functions

        cloudpickle.dumps(opts.solver)
    except Exception as err:
        raise InputError(
            f"solver function {opts.solver_name!r} cannot be sent to Dask workers "
            f"(not picklable: {type(err).__name__}: {err}); define it at module level "
            "in an importable module, or pass a back-end name"
        ) from err


def _needs_of(value: Any, pack_needs: int) -> int:
    if isinstance(value, (tuple, list)) and isinstance(value[0], pd.DataFrame):
        return len(value[0])
    return pack_needs


def plan_tasks(
    rounds: Mapping[str, Round] | Iterable[tuple[str, Round]], pack_needs: int = PACK_NEEDS
) -> list[list[str]]:
    """The names of the rounds each task of :func:`match_many` would hold (the packing rule).

    Examples
    --------
    >>> import matchcore as mc
    >>> needs, resources = mc.synthetic.tiny()  # 5 needs each
    >>> rounds = {name: (needs, resources) for name in "abcde"}
    >>> mc.distributed.plan_tasks(rounds, pack_needs=10)
    [['a', 'b'], ['c', 'd'], ['e']]
    """
    pack_needs = int(check_scalar(pack_needs, "pack_needs", "int", low=1))
    return [[name for name, _ in pack.rounds]
            for pack in _packs(_checked_rounds(rounds), pack_needs)]


def _packs(items: Iterable[tuple[str, Any]], pack_needs: int) -> Iterator[_Pack]:
    """The packing rule: rounds in order, a pack closed once it holds >= pack_needs needs."""
    current: list[tuple[str, Any]] = []
    held = 0
    for name, value in items:
        current.append((name, value))
        held += _needs_of(value, pack_needs)
        if held >= pack_needs:
            yield _Pack(current)
            current, held = [], 0
    if current:
        yield _Pack(current)


def _match_pack(
    pack: _Pack, options: MatchOptions, certify: bool
) -> dict[str, MatchResult | BaseException]:
    """Match each round of a pack; a failing round gives its exception, not the pack's."""
    out: dict[str, MatchResult | BaseException] = {}
    for name, value in pack.rounds:
        try:
            needs, resources = value() if callable(value) else value
            out[name] = match(needs, resources, options, certify=certify)
        except Exception as err:
            out[name] = _portable(err)
    return out


def _portable(err: BaseException) -> BaseException:
    """The exception itself if it pickles (it travels back from a worker), else its text."""
    try:
        pickle.loads(pickle.dumps(err))
    except Exception:
        return RuntimeError(f"{type(err).__name__}: {err}")
    return err


def _run_on(
    client: Any,
    items: Iterable[tuple[str, Any]],
    opts: MatchOptions,
    certify: bool,
    pack_needs: int,
    retries: int,
) -> tuple[list[str], dict[str, MatchResult | BaseException]]:
    from distributed import as_completed

    names: list[str] = []
    futures = []
    members: dict[Any, list[str]] = {}
    for pack in _packs(items, pack_needs):
        pack_names = [name for name, _ in pack.rounds]
        names.extend(pack_names)
        # Not scattered: a task's own arguments survive its worker's death (see Notes).
        future = client.submit(_match_pack, pack, opts, certify, retries=retries, pure=False)
        futures.append(future)
        members[future.key] = pack_names
        del pack
    outcomes: dict[str, MatchResult | BaseException] = {}
    # Each result is fetched as soon as its task ends, while the others still run, so
    # that sending results back overlaps the matching instead of following it.
    for future, part in as_completed(futures, with_results=True, raise_errors=False):
        if future.status == "finished":
            outcomes.update(part)
        else:
            err = _failure_of(future)
            for name in members[future.key]:
                outcomes[name] = err
        future.release()  # the worker may free the result now
    return names, outcomes


def _failure_of(future: Any) -> BaseException:
    """Why a task did not finish: its exception, or the cancellation itself."""
    try:
        err = future.exception()
    except Exception as cancelled:  # a cancelled future has no exception to give
        return cancelled
    return err if isinstance(err, BaseException) else RuntimeError(f"task {future.status}")


def _collect(
    names: list[str], outcomes: Mapping[str, MatchResult | BaseException]
) -> dict[str, MatchResult]:
    results = {n: r for n in names if isinstance(r := outcomes[n], MatchResult)}
    errors = {n: e for n in names if isinstance(e := outcomes[n], BaseException)}
    if errors:
        raise RoundsFailed(_failure_message(errors, len(names)), results, errors)
    return results


def _failure_message(errors: Mapping[str, BaseException], total: int) -> str:
    lines = [
        f"{name!r}: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        for name, err in errors.items()
    ]
    more = (f"\n  ... and {len(lines) - MAX_LISTED_FAILURES} more"
            if len(lines) > MAX_LISTED_FAILURES else "")
    return (f"{len(errors)} of {total} rounds failed (the others finished: err.results):\n  - "
            + "\n  - ".join(lines[:MAX_LISTED_FAILURES]) + more)


# ---------------------------------------------------------------------------
# one city, split by street or community, and put back together


def split_by(
    needs: pd.DataFrame, resources: pd.DataFrame, column: str = "street"
) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Cut a city's two lists into rounds, one per value of ``column``.

    Parameters
    ----------
    needs, resources : DataFrame
        The city's lists (never modified; a Chinese header such as 社区 is
        accepted for its canonical name).
    column : str, default "street"
        The column to split on, in both lists: ``"street"`` (the synthetic
        lists' extra column) or ``"community"`` (or ``"grid"``, any column
        both have).

    Returns
    -------
    dict of str to (needs, resources)
        One round per value found in either list, sorted by value (as str); a
        value found in one list only gives a round whose other list is empty,
        so that nothing is silently dropped. Rows keep their columns and
        index.

    Raises
    ------
    InputError
        A list lacks the column, or a row has no value in it.

    Notes
    -----
    The rounds are the rounds a city office runs, street by street. They
    equal one city-wide match when no candidate edge crosses two of them:
    always with ``scope="community"`` for a split by community (or
    ``scope="grid"``), and for a split by street when no resource reaches
    into another street.

    Examples
    --------
    >>> import matchcore as mc
    >>> needs, resources = mc.synthetic.tiny()
    >>> rounds = mc.distributed.split_by(needs, resources, "community")
    >>> {name: (len(n), len(r)) for name, (n, r) in rounds.items()}
    {'东湖社区': (2, 3), '南苑社区': (1, 0), '西山社区': (2, 1)}
    """
    keys = []
    for frame, table in ((needs, "needs"), (resources, "resources")):
        if not isinstance(frame, pd.DataFrame):
            raise InputError(f"{table} must be a DataFrame; got {type(frame).__name__}")
        names = canonical_columns(frame.columns)
        found = [c for c in frame.columns if names.get(c, c) == column]
        if not found:
            raise InputError(f"{table} has no column {column!r} to split on; got "
                             f"{list(frame.columns)}")
        col = frame[found[0]]
        missing = col.isna().to_numpy()
        if missing.any():
            rows = [int(k) + 1 for k in missing.nonzero()[0][:5]]
            raise InputError(f"`{column}` must be given on every row to split on it; missing "
                             f"in row(s) {rows} of {table} ({int(missing.sum())} in all)")
        keys.append(col.astype(str).to_numpy())
    need_key, res_key = keys
    out = {}
    for value in sorted(set(need_key) | set(res_key)):
        out[value] = (needs[need_key == value], resources[res_key == value])
    return out


@dataclass(frozen=True)
class RoundTables:
    """The tables of many rounds as one city: each with a leading ``round`` column.

    Attributes
    ----------
    projects, assignments, unmet, idle : pandas.DataFrame
        The rounds' tables (see :class:`~matchcore.MatchResult`), stacked in
        the order of the rounds, ``round`` naming each row's round.
    metrics : pandas.Series
        City-wide figures: the metrics of the union
        (:func:`matchcore.metrics.union_summary`), not averages of rounds.
    by_round : pandas.DataFrame
        Each round's own :attr:`~matchcore.MatchResult.metrics`, one row per round.
    """

    projects: pd.DataFrame
    assignments: pd.DataFrame
    unmet: pd.DataFrame
    idle: pd.DataFrame
    metrics: pd.Series
    by_round: pd.DataFrame


def concat_results(results: Mapping[str, MatchResult]) -> RoundTables:
    """Stack the tables of many rounds and compute city-wide metrics.

    Parameters
    ----------
    results : mapping of str to MatchResult
        E.g. the output of :func:`match_many`.

    Returns
    -------
    RoundTables

    Raises
    ------
    InputError
        ``results`` is empty or holds something else than a MatchResult.

    Examples
    --------
    >>> import matchcore as mc
    >>> rounds = mc.distributed.split_by(*mc.synthetic.tiny(), "community")
    >>> city = mc.distributed.concat_results(mc.match_many(rounds, max_distance=2000))
    >>> city.projects[["round", "need_id", "assigned"]]
      round need_id  assigned
    0  东湖社区      N1         2
    1  东湖社区      N2         1
    2  西山社区      N3         2
    >>> int(city.metrics["assigned_units"]), int(city.metrics["demand_units"])
    (5, 9)
    """
    if not isinstance(results, Mapping) or not results:
        raise InputError("results must be a non-empty mapping of round name to MatchResult")
    for name, r in results.items():
        if not isinstance(r, MatchResult):
            raise InputError(f"results[{name!r}] must be a MatchResult; got {type(r).__name__}")

    def stacked(table: str) -> pd.DataFrame:
        frames = [getattr(r, table).assign(round=name) for name, r in results.items()]
        frame = pd.concat(frames, ignore_index=True)
        return frame[["round", *[c for c in frame.columns if c != "round"]]]

    by_round = pd.DataFrame({name: r.metrics for name, r in results.items()}).T
    by_round.index.name = "round"
    return RoundTables(
        projects=stacked("projects"),
        assignments=stacked("assignments"),
        unmet=stacked("unmet"),
        idle=stacked("idle"),
        metrics=union_summary(results),
        by_round=by_round,
    )


# ---------------------------------------------------------------------------
# scenario grids


def scenario_grid(
    presets: Sequence[str] = ("seed_street",),
    seeds: Sequence[int] = (0,),
    weights: Mapping[str, Weights] | Sequence[Weights] | None = None,
    scarcity: Sequence[float | None] = (None,),
    options: MatchOptions | None = None,
    *,
    spec: Mapping[str, Any] | None = None,
    client: Any = None,
    retries: int = 2,
    certify: bool = True,
    **overrides: Any,
) -> pd.DataFrame:
    """Metrics of every scenario preset x seed x scarcity x weights, serially or on Dask.

    Each (preset, seed, scarcity) is one task: the district is generated
    where the task runs (nothing large travels), validated and its candidate
    graph built once, then every weighting re-scored and re-solved on it
    (:func:`matchcore.analysis.sweep`).

    Parameters
    ----------
    presets : sequence of str, default ("seed_street",)
        Names of :data:`matchcore.synthetic.PRESETS`.
    seeds : sequence of int, default (0,)
    weights : mapping or sequence of Weights, optional
        As for :func:`~matchcore.analysis.sweep`; ``{"default": Weights()}``
        when None.
    scarcity : sequence of float or None, default (None,)
        Supply / demand ratios (:class:`~matchcore.synthetic.Spec`); None keeps
        the preset's.
    options : MatchOptions, optional
        The options of every round (its ``weights`` are replaced); when its
        ``max_distance`` is None each preset's
        :func:`~matchcore.synthetic.suggested_max_distance` is used.
    spec : mapping, optional
        Fields of :class:`~matchcore.synthetic.Spec` for every district
        (e.g. ``{"n_needs": 2000}``).
    client : distributed.Client, optional
        Run the scenarios as tasks on it (one task each, ``retries=``).
    retries : int, default 2
    certify : bool, default True
    **overrides
        Single options, as for :func:`~matchcore.match`.

    Returns
    -------
    pandas.DataFrame
        One row per scenario and weighting, scenarios in the order of
        ``itertools.product(presets, seeds, scarcity)``: preset, seed,
        scarcity, then the columns of :data:`~matchcore.analysis.SWEEP_COLUMNS`
        (``pareto`` within the scenario), n_needs and seconds (the
        scenario's wall time, shared by its rows).

    Raises
    ------
    RoundsFailed
        Some scenarios failed (``err.results`` maps the name
        ``"preset/seed=s/scarcity=x"`` of each finished scenario to its rows).
    InputError
        Bad presets, weights or options.

    Examples
    --------
    >>> import matchcore as mc
    >>> grid = mc.distributed.scenario_grid(["seed_street"], seeds=[0, 1], scarcity=[0.5],
    ...                                     spec={"n_needs": 200})
    >>> grid[["preset", "seed", "scarcity", "label", "n_needs"]]
            preset  seed  scarcity    label  n_needs
    0  seed_street     0       0.5  default      200
    1  seed_street     1       0.5  default      200
    """
    if weights is None:
        weights = {"default": Weights()}
    opts = MatchOptions.from_arguments(options, **overrides)
    spec_overrides = dict(spec or {})
    retries = int(check_scalar(retries, "retries", "int", low=0))
    scenarios = list(itertools.product(presets, seeds, scarcity))
    for preset, _, _ in scenarios:
        suggested_max_distance(preset)  # an unknown preset fails here, not on a worker
    names = [f"{p}/seed={s}/scarcity={x}" for p, s, x in scenarios]
    outcomes: dict[str, pd.DataFrame | BaseException] = {}
    if client is None:
        for name, (p, s, x) in zip(names, scenarios):
            outcomes[name] = _scenario(p, s, x, weights, opts, spec_overrides, certify)
    else:
        _check_picklable(opts)
        futures = [client.submit(_scenario, p, s, x, weights, opts, spec_overrides, certify,
                                 retries=retries, pure=False) for p, s, x in scenarios]
        from distributed import wait

        wait(futures)
        done = [k for k, f in enumerate(futures) if f.status == "finished"]
        for k, frame in zip(done, client.gather([futures[k] for k in done])):
            outcomes[names[k]] = frame
        for k, f in enumerate(futures):
            if f.status != "finished":
                outcomes[names[k]] = _failure_of(f)
    frames = {n: o for n, o in outcomes.items() if isinstance(o, pd.DataFrame)}
    errors = {n: o for n, o in outcomes.items() if isinstance(o, BaseException)}
    if errors:
        raise RoundsFailed(_failure_message(errors, len(names)),
                           {n: frames[n] for n in names if n in frames}, errors)
    return pd.concat([frames[n] for n in names], ignore_index=True)


def _scenario(
    preset: str,
    seed: int,
    scarcity: float | None,
    weights: Mapping[str, Weights] | Sequence[Weights],
    options: MatchOptions,
    spec_overrides: Mapping[str, Any],
    certify: bool,
) -> pd.DataFrame | BaseException:
    """One scenario's rows (or its exception, so that one scenario never sinks a batch)."""
    start = time.perf_counter()
    try:
        extra = dict(spec_overrides)
        if scarcity is not None:
            extra["scarcity"] = float(scarcity)
        needs, resources = district(preset, seed=int(seed), **extra)
        opts = options
        if opts.max_distance is None:
            opts = opts.replace(max_distance=suggested_max_distance(preset))
        rows = sweep(needs, resources, weights, opts, certify=certify)
    except Exception as err:
        return _portable(err)
    rows.insert(0, "scarcity", math.nan if scarcity is None else float(scarcity))
    rows.insert(0, "seed", int(seed))
    rows.insert(0, "preset", preset)
    rows["n_needs"] = len(needs)
    rows["seconds"] = time.perf_counter() - start
    return rows
