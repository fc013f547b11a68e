"""The outcome of a round: the project list, assignments, unmet needs, idle resources.

A :class:`MatchResult` holds the arrays of the round and builds its tables on
first use: ``projects`` (项目清单), ``assignments``, ``unmet`` (each with a reason),
``idle``, ``metrics``; ``explain(need_id)`` shows every candidate of a need and
why it was or was not chosen (and, for an unmet need, which needs took its
nearest alternative), and ``verify()`` certifies the solution.
"""

from __future__ import annotations

import html
import pickle
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .checks import check_scalar
from .errors import InputError
from .model.candidates import CandidateGraph
from .model.district import District
from .model.policies import FloorPlan, unit_values
from .model.problem import TransportProblem, exact_sum
from .model.scoring import COMPONENTS, Weights
from .options import MatchOptions
from .schema import PROJECT_COLUMNS
from .solvers import BatchBasis, Certificate, Solution, verify
from .wire import dumps as wire_dumps
from .wire import loads as wire_loads

if TYPE_CHECKING:  # pragma: no cover
    from .solvers.bundles import BundleSolution

__all__ = ["POLICY_REASONS", "REASONS", "Alternative", "Explanation", "MatchResult", "WarmState"]

#: Why a need is not (fully) served, in funnel order.
REASONS: dict[str, str] = {
    "no_compatible_resource": "no resource of a compatible category",
    "out_of_reach": "compatible resources exist, but none within reach",
    "no_time_overlap": "resources within reach, but none available at the needed time",
    "skills_missing": "resources available in time, but none with every required skill",
    "outbid": "candidates exist, but their capacity ran out or went where it served more",
    "forbidden": "every candidate pair was forbidden by staff",
    "bundle_unserved": "its team need (bundle) could not be served in full, so none of it is",
}
#: The reasons that come from staff policies (forbids, team needs), not the funnel.
POLICY_REASONS: tuple[str, ...] = ("forbidden", "bundle_unserved")


@dataclass
class Alternative:
    """The nearest candidate of a need that was not fully served, and who took it.

    Attributes
    ----------
    resource_id : str
        The nearest candidate resource whose capacity went (at least partly)
        to other needs; the nearest candidate when none did.
    distance : float
        Metres from the need to it.
    score : float
        The score this need would have had with it.
    capacity : int
        Its capacity.
    units : int
        Units it gave this need.
    spare : int
        Units of it left unused.
    takers : pandas.DataFrame
        The other needs holding its capacity, most urgent first: need_id,
        priority, units, score (their score with it), distance.
    """

    resource_id: str
    distance: float
    score: float
    capacity: int
    units: int
    spare: int
    takers: pd.DataFrame

    def sentence(self) -> str:
        """One line saying what blocked this resource."""
        head = f"nearest alternative: {self.resource_id} ({self.distance:.0f} m, score " \
            f"{self.score:.3f} for this need, capacity {self.capacity})"
        t = self.takers
        if len(t):
            shown = [
                f"{n} (priority {p}, {u} unit{'s' if u > 1 else ''}, score {s:.3f})"
                for n, p, u, s in zip(t["need_id"].head(3), t["priority"].head(3),
                                      t["units"].head(3), t["score"].head(3))
            ]
            more = f" and {len(t) - 3} more" if len(t) > 3 else ""
            taken = int(t["units"].sum())
            text = f"{head}: {taken} of its units went to " + ", ".join(shown) + more
            if self.units:
                text += f"; {self.units} to this need"
            return text
        if self.spare:
            return f"{head}: {self.spare} of its units were left unused"
        return f"{head}: all its capacity went to this need"


@dataclass
class Explanation:
    """Why a need was served the way it was.

    Attributes
    ----------
    need : pandas.Series
        The need's row.
    candidates : pandas.DataFrame
        Every candidate resource with its score components, units and why.
    reason : str or None
        The unmet reason, or None when fully served.
    text : str
        A readable summary.
    alternative : Alternative or None
        For a need not fully served although it has candidates (reason
        ``outbid``): its nearest candidate and the needs that took its
        capacity. None otherwise.
    """

    need: pd.Series
    candidates: pd.DataFrame
    reason: str | None
    text: str
    alternative: Alternative | None = None

    def __str__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        out = (
            f"<p>{html.escape(self.text).replace(chr(10), '<br>')}</p>"
            + self.candidates.to_html(index=False, float_format=lambda v: f"{v:.3f}")
        )
        if self.alternative is not None and len(self.alternative.takers):
            out += f"<p>Needs holding {html.escape(self.alternative.resource_id)}:</p>"
            out += self.alternative.takers.to_html(
                index=False, float_format=lambda v: f"{v:.3f}"
            )
        return out


@dataclass(eq=False)
class MatchResult:
    """The project list of one round, with everything needed to explain it.

    Build it with :func:`matchcore.match`; do not construct it directly.

    Attributes
    ----------
    solver : str
        The back-end that solved it (``"auto"`` names its choice here).
    is_exact : bool
        Whether the back-end is exact (the solution is certified).
    timings : dict
        Seconds per step (validate, candidates, score, solve, ...).
    """

    district: District
    graph: CandidateGraph
    score: np.ndarray
    components: pd.DataFrame
    problem: TransportProblem
    solution: Solution
    options: MatchOptions
    timings: dict[str, float] = field(default_factory=dict)
    #: Candidate edges that were incumbent pairs (None without an incumbent).
    n_incumbent_edges: int | None = None
    #: Units fixed by staff pins per candidate edge (None without pins).
    pinned: np.ndarray | None = None
    #: The pairs forbidden by staff: need_id, resource_id, was_candidate (or None).
    forbidden: pd.DataFrame | None = None
    #: The fairness floors of the round (None without ``min_coverage``/``fairness``).
    floors: FloorPlan | None = None
    #: What the floors cost against the same round without them (or None).
    price_of_fairness: dict[str, float] | None = None
    #: The integer program of the team needs' components (None without bundles).
    bundles: BundleSolution | None = None

    # ------------------------------------------------------------------ pickling
    def __reduce_ex__(self, protocol: Any) -> Any:
        """Pickle with the integer arrays in their narrowest exact form (see :mod:`matchcore.wire`).

        A street's result is a third of its plain pickle, which is what Dask
        sends from a worker; unpickled, every array is equal bit for bit, of
        the same dtype. Anything the plain pickler cannot pickle (a solver
        given as a lambda) falls back to the default, which Dask then hands
        to cloudpickle.
        """
        try:
            blob = wire_dumps(self.__dict__)
        except (pickle.PicklingError, TypeError, AttributeError):
            return super().__reduce_ex__(protocol)
        return (_restored, (type(self), blob))

    # ------------------------------------------------------------------ basics
    @property
    def solver(self) -> str:
        return self.solution.solver

    @property
    def is_exact(self) -> bool:
        return self.solution.exact

    @property
    def weights(self) -> Weights:
        """The score weights of the round (``options.weights``)."""
        return self.options.weights

    @cached_property
    def units(self) -> np.ndarray:
        """Units per candidate edge, shape ``(n_edges,)`` (pinned units included)."""
        units = self.solution.units
        if self.pinned is not None:
            units = units + self.pinned
        if self.bundles is not None:
            units = units + self.bundles.units
        return units

    @cached_property
    def series(self) -> pd.DataFrame | None:
        """Recurring needs grouped under one project each (None without recurrence).

        One row per series: series_id, n_occurrences, served (fully served
        occurrences), missed (the others), providers (distinct providers of
        the served units, ``;``-separated), n_providers.
        """
        d = self.district
        if "occurrence" not in d.needs.columns or not (d.needs["occurrence"] > 0).any():
            return None
        needs = d.needs
        rec = needs["occurrence"].to_numpy() > 0
        full = self.served >= d.demand
        a = self.assignments
        res = d.resources.set_index("resource_id")
        who = res["provider"] if "provider" in res.columns else pd.Series(
            res.index, index=res.index)
        a = a.assign(provider=who.reindex(a["resource_id"]).fillna("").astype(str).to_numpy(),
                     series_id=needs.set_index("need_id")["series_id"]
                     .reindex(a["need_id"]).to_numpy())
        frame = pd.DataFrame({"series_id": needs["series_id"].to_numpy(object)[rec],
                              "served": full[rec]})
        out = frame.groupby("series_id", sort=True).agg(
            n_occurrences=("served", "size"), served=("served", "sum")).reset_index()
        out["missed"] = out["n_occurrences"] - out["served"]
        prov = a.groupby("series_id")["provider"].agg(lambda v: ";".join(sorted(set(v))))
        out["providers"] = prov.reindex(out["series_id"]).fillna("").to_numpy()
        out["n_providers"] = [len(p.split(";")) if p else 0 for p in out["providers"]]
        return out

    @cached_property
    def bundle_table(self) -> pd.DataFrame | None:
        """One row per team need (bundle): bundle, n_needs, demand, assigned, served.

        ``attrs`` hold the integer program's ``status`` and ``gap`` (None
        without bundles).
        """
        if self.bundles is None:
            return None
        d = self.district
        labels = d.needs["bundle"]
        ok = labels.notna().to_numpy()
        frame = pd.DataFrame({"bundle": labels[ok].astype(str).to_numpy(),
                              "demand": d.demand[ok], "assigned": self.served[ok]})
        out = frame.groupby("bundle", sort=True).agg(
            n_needs=("demand", "size"), demand=("demand", "sum"), assigned=("assigned", "sum"))
        out = out.reset_index()
        out["served"] = self.bundles.served[: len(out)]
        out.attrs["status"] = self.bundles.status
        out.attrs["gap"] = self.bundles.gap
        return out

    @cached_property
    def unit_value(self) -> np.ndarray:
        """Units of each need that make one comparable unit (``options.unit_value``)."""
        d = self.district
        return unit_values(d.needs["category"].to_numpy(object), d.demand,
                           self.options.unit_value)

    @cached_property
    def fairness(self) -> pd.DataFrame | None:
        """The fairness floors and what each group got (None without floors).

        Columns: the group key (community or grid), demand (units), pinned,
        share (asked), asked and floor (units; floor < asked where it was
        lowered), reachable (the most the group can get alone, a max flow),
        achieved (units served), coverage, met (achieved >= floor), lowered,
        reason (why a floor was lowered).
        """
        if self.floors is None:
            return None
        t = self.floors.table
        labels = self.district.needs[self.floors.key].to_numpy(object) \
            if self.floors.key in self.district.needs.columns else None
        got = {}
        if labels is not None:
            s = pd.Series(self.served).groupby(pd.Series(labels, dtype=object).astype(str)).sum()
            got = s.to_dict()
        achieved = np.array([int(got.get(g, 0)) for g in t["group"]], dtype=np.int64)
        out = t.rename(columns={"group": self.floors.key}).copy()
        out.insert(out.columns.get_loc("floor") + 1, "achieved", achieved)
        out.insert(out.columns.get_loc("achieved") + 1, "coverage",
                   np.where(t["demand"] > 0, achieved / np.maximum(t["demand"], 1), np.nan))
        out.insert(out.columns.get_loc("coverage") + 1, "met", achieved >= t["floor"])
        return out

    @cached_property
    def served(self) -> np.ndarray:
        """Units each need receives, shape ``(n_needs,)``, in id order."""
        return np.bincount(
            self.graph.need, weights=self.units, minlength=self.graph.n_needs
        ).astype(np.int64)

    @cached_property
    def used(self) -> np.ndarray:
        """Units each resource gives, shape ``(n_resources,)``, in id order."""
        return np.bincount(
            self.graph.resource, weights=self.units, minlength=self.graph.n_resources
        ).astype(np.int64)

    @property
    def objective(self) -> dict[str, Any]:
        """The objective reached: its name, priority-weighted units, units and total score."""
        u = self.units
        return {
            "objective": self.problem.objective,
            "priority_weighted_units": exact_sum(self.district.priority[self.graph.need] * u),
            "units": exact_sum(u),
            "score": float((self.score * u).sum()),
        }

    def verify(self, *, raise_error: bool = False) -> Certificate:
        """Certify the solution: feasible, and optimal in every phase of the objective.

        Parameters
        ----------
        raise_error : bool, default False
            Raise :class:`~matchcore.SolverError` instead of returning a
            failed certificate.

        Returns
        -------
        Certificate
            ``bool(cert)`` is True when the solution is feasible and optimal.

        Examples
        --------
        >>> import matchcore as mc
        >>> r = mc.match(*mc.synthetic.tiny(), max_distance=2000)
        >>> bool(r.verify())
        True
        """
        cert = verify(self.problem, self.solution.units)
        if raise_error and not cert:
            from .errors import SolverError

            raise SolverError(f"the solution failed its certificate: {cert.problems}")
        return cert

    def to_geojson(self, path: Any = None, *, lines: bool = True) -> dict[str, Any]:
        """Needs, resources and assignment lines as GeoJSON; see :func:`matchcore.geo.to_geojson`.

        Examples
        --------
        >>> import matchcore as mc
        >>> r = mc.match(*mc.synthetic.tiny(), max_distance=2000)
        >>> r.to_geojson(lines=False)["properties"]["n_needs"]
        5
        """
        from .geo import to_geojson

        return to_geojson(self, path, lines=lines)

    # ------------------------------------------------------------------ tables
    @cached_property
    def assignments(self) -> pd.DataFrame:
        """One row per (need, resource) pair that carries units.

        Columns: project_id, need_id, resource_id, units, score, the score
        components (type, locality, priority, partner, and stickiness when
        the match had an incumbent) and distance (metres).
        """
        used = np.flatnonzero(self.units > 0)
        g = self.graph
        need_ids = g.need_ids[g.need[used]]
        frame = pd.DataFrame(
            {
                "project_id": ["P-" + str(i) for i in need_ids],
                "need_id": need_ids,
                "resource_id": g.resource_ids[g.resource[used]],
                "units": self.units[used],
                "score": self.score[used],
            }
        )
        # The weighted components, then the stickiness bonus when the match had one.
        extra = [c for c in self.components.columns if c not in COMPONENTS]
        for name in (*COMPONENTS, *extra):
            frame[name] = self.components[name].to_numpy()[used]
        frame["distance"] = g.distance[used]
        if self.pinned is not None:
            frame["pinned"] = self.pinned[used]
        return frame

    @cached_property
    def projects(self) -> pd.DataFrame:
        """The project list (项目清单): one row per need that receives units.

        Columns: project_id, need_id, community, grid, category, demand,
        assigned, resources (``;``-separated, most units first), score
        (Σ score·units) and status (``not_started``).
        """
        # Indices follow the id-sorted lists, so sorting indices sorts ids: per need,
        # most units first, then resource id; one row per need, built with whole arrays.
        g = self.graph
        used = np.flatnonzero(self.units > 0)
        i, j, u = g.need[used], g.resource[used], self.units[used]
        order = np.lexsort((j, -u, i))
        i, j, u, weighted = i[order], j[order], u[order], (self.score[used] * u)[order]
        first = np.ones(len(i), dtype=bool)
        first[1:] = i[1:] != i[:-1]
        starts = np.flatnonzero(first)
        need = i[starts]
        rid = g.resource_ids[j].astype(object)
        if len(starts):
            parts = np.where(first, rid, ";" + rid)
            resources = np.add.reduceat(parts, starts).astype(object)
            assigned = np.add.reduceat(u, starts).astype(np.int64)
        else:
            resources = np.zeros(0, dtype=object)
            assigned = np.zeros(0, dtype=np.int64)
        group = np.cumsum(first) - 1
        score = pd.Series(weighted).groupby(group).sum().to_numpy(dtype=float)
        need_ids = pd.Series(g.need_ids[need], dtype=object)
        needs = self.district.needs
        rows = pd.RangeIndex(len(need))
        # One constructor call; the needs' columns taken with their own dtypes.
        columns: dict[str, Any] = {"project_id": "P-" + need_ids.astype(str),
                                   "need_id": pd.Series(need_ids.to_numpy(), index=rows)}
        for c in ("community", "grid", "category", "demand"):
            columns[c] = (needs[c].take(need).set_axis(rows) if c in needs.columns
                          else pd.Series(None, index=rows, dtype=object))
        columns["assigned"] = assigned
        columns["resources"] = pd.Series(resources, index=rows)
        columns["score"] = score
        columns["status"] = "not_started"
        return pd.DataFrame(columns, index=rows)[list(PROJECT_COLUMNS)]

    @cached_property
    def reasons(self) -> np.ndarray:
        """The reason code of each need, shape ``(n_needs,)`` (meaningful where unmet).

        The first step of the candidate funnel that left the need with no
        candidate, else ``"outbid"``; see :data:`REASONS`.
        """
        f = self.graph.funnel
        reason = np.full(self.graph.n_needs, "outbid", dtype=object)
        if self.forbidden is not None and self.forbidden["was_candidate"].any():
            # Candidates before the staff's forbids, none after: forbidden.
            left = np.bincount(self.graph.need, minlength=self.graph.n_needs)
            hit = np.isin(self.graph.need_ids,
                          self.forbidden.loc[self.forbidden["was_candidate"], "need_id"])
            reason[hit & (left == 0)] = "forbidden"
        if self.bundles is not None:
            labels = self.district.needs["bundle"]
            in_bundle = labels.notna().to_numpy()
            code = np.zeros(len(labels), dtype=np.int64)
            code[in_bundle] = pd.factorize(labels[in_bundle].astype(str), sort=True)[0]
            reason[in_bundle & ~self.bundles.served[code]] = "bundle_unserved"
        for col, name in (
            ("skills", "skills_missing"),
            ("time_overlap", "no_time_overlap"),
            ("in_reach", "out_of_reach"),
            ("compatible", "no_compatible_resource"),
        ):
            reason[f[col].to_numpy() == 0] = name
        return reason

    @cached_property
    def unmet(self) -> pd.DataFrame:
        """Needs not fully served: demand, assigned, unmet units and a reason code.

        Reasons (:data:`REASONS`): ``no_compatible_resource``,
        ``out_of_reach``, ``no_time_overlap``, ``skills_missing``, ``outbid``;
        and from staff policies ``forbidden`` (every candidate pair forbidden)
        and ``bundle_unserved`` (its team need could not be served in full).
        """
        d = self.district
        short = np.flatnonzero(self.served < d.demand)
        n_cand = np.bincount(self.graph.need, minlength=self.graph.n_needs)
        frame = pd.DataFrame(
            {
                "need_id": d.need_ids[short],
                "community": _col(d.needs, "community")[short],
                "grid": _col(d.needs, "grid")[short],
                "category": d.needs["category"].to_numpy(dtype=object)[short],
                "priority": d.priority[short],
                "demand": d.demand[short],
                "assigned": self.served[short],
                "unmet": d.demand[short] - self.served[short],
                "reason": self.reasons[short],
                "n_candidates": n_cand[short],
            }
        )
        return frame

    @cached_property
    def idle(self) -> pd.DataFrame:
        """Resources with spare capacity, and why it is spare.

        ``no_candidate``: no need could use it; ``needs_met``: every need it
        could serve is fully served; ``not_chosen``: the objective preferred
        other resources.
        """
        d, g = self.district, self.graph
        spare = d.capacity - self.used
        idle = np.flatnonzero(spare > 0)
        n_edges = np.bincount(g.resource, minlength=g.n_resources)
        need_short = (self.served < d.demand)[g.need]
        open_edges = np.bincount(g.resource, weights=need_short, minlength=g.n_resources)
        reason = np.where(
            n_edges == 0, "no_candidate", np.where(open_edges == 0, "needs_met", "not_chosen")
        )
        return pd.DataFrame(
            {
                "resource_id": d.resource_ids[idle],
                "community": _col(d.resources, "community")[idle],
                "category": d.resources["category"].to_numpy(dtype=object)[idle],
                "provider_kind": _col(d.resources, "provider_kind")[idle],
                "capacity": d.capacity[idle],
                "used": self.used[idle],
                "spare": spare[idle],
                "reason": reason[idle],
            }
        )

    @cached_property
    def metrics(self) -> pd.Series:
        """Headline figures of the round (see :mod:`matchcore.metrics`)."""
        from .metrics import summary

        return summary(self)

    def backups(self, k: int = 3, *, needs: Collection[str] | None = None) -> pd.DataFrame:
        """The ``k`` best other candidate resources of each assignment that have spare units.

        For every assignment (need, resource), the need's other candidate
        resources that still have spare capacity after the round, best score
        first: the ones to call when the assigned resource drops out. Spare
        units are not reserved: two assignments may list the same backup.

        Parameters
        ----------
        k : int, default 3
            How many backups per assignment, at most.
        needs : collection of str, optional
            Only the assignments of these need ids (the same rows as
            filtering the whole frame, computed for those needs alone: a
            rematch writes backups for the few projects it changes).

        Returns
        -------
        pandas.DataFrame
            need_id, resource_id (the assignment), rank (1 = best),
            backup_resource_id, score (the need's score with the backup),
            distance (metres), spare_units (the backup's capacity left after
            the round); sorted by need_id, resource_id, rank. Assignments
            without a backup have no row.

        Raises
        ------
        InputError
            If ``k`` is not an integer >= 1.

        Examples
        --------
        >>> import matchcore as mc
        >>> r = mc.match(*mc.synthetic.tiny(), max_distance=2000)
        >>> r.backups(k=1)[["need_id", "resource_id", "backup_resource_id", "spare_units"]]
          need_id resource_id backup_resource_id  spare_units
        0      N1          R1                 R4            1
        >>> len(r.backups(k=1, needs={"N1"}))
        1
        """
        k = check_scalar(k, "k", "int", low=1)
        g, d = self.graph, self.district
        assigned = np.flatnonzero(self.units > 0)
        if needs is not None:
            if isinstance(needs, str):
                raise InputError(
                    f"`needs` must be a collection of need ids; got the text {needs!r}"
                )
            wanted = pd.Series(g.need_ids, dtype=object).isin(set(needs)).to_numpy()
            assigned = assigned[wanted[g.need[assigned]]]
        spare = d.capacity - self.used
        # Every (assignment, candidate edge of the same need) pair, without a loop:
        # edges are sorted by need, so a need's candidates are one CSR slice.
        indptr = np.searchsorted(g.need, np.arange(g.n_needs + 1))
        need = g.need[assigned]
        starts, counts = indptr[need], indptr[need + 1] - indptr[need]
        owner = np.repeat(np.arange(len(assigned)), counts)
        offsets = np.cumsum(counts) - counts
        edge = np.repeat(starts - offsets, counts) + np.arange(int(counts.sum()))
        res = g.resource[edge]
        keep = (res != g.resource[assigned][owner]) & (spare[res] > 0)
        owner, edge, res = owner[keep], edge[keep], res[keep]
        # Best first; ties by resource id (index order is id order), so row order is moot.
        order = np.lexsort((res, -self.score[edge], owner))
        owner, edge, res = owner[order], edge[order], res[order]
        first = np.searchsorted(owner, owner)
        rank = np.arange(len(owner)) - first + 1
        top = rank <= k
        owner, edge, res, rank = owner[top], edge[top], res[top], rank[top]
        a = assigned[owner]
        return pd.DataFrame(
            {
                "need_id": g.need_ids[g.need[a]],
                "resource_id": g.resource_ids[g.resource[a]],
                "rank": rank.astype(np.int64),
                "backup_resource_id": g.resource_ids[res],
                "score": self.score[edge].astype(float),
                "distance": g.distance[edge].astype(float),
                "spare_units": spare[res].astype(np.int64),
            }
        )

    # ------------------------------------------------------------------ explain
    def explain(self, need_id: str) -> Explanation:
        """Every candidate of a need, with its score components, and why it was (not) chosen.

        Parameters
        ----------
        need_id : str

        Returns
        -------
        Explanation
            For a need not fully served although it has candidates (reason
            ``outbid``), ``alternative`` names its nearest candidate held by
            other needs (the nearest candidate when none is) and those needs,
            with their priorities and scores; ``text`` says it in a sentence.

        Raises
        ------
        InputError
            If ``need_id`` is not in the needs list.

        Examples
        --------
        >>> import matchcore as mc
        >>> r = mc.match(*mc.synthetic.tiny(), max_distance=2000)
        >>> r.explain("N1").candidates["chosen"].any()
        np.True_
        >>> r.explain("N3").alternative.resource_id
        'R3'
        """
        d, g = self.district, self.graph
        pos = int(np.searchsorted(d.need_ids, str(need_id)))
        if pos >= d.n_needs or d.need_ids[pos] != str(need_id):
            raise InputError(f"no need with id {need_id!r} in this result")
        lo, hi = np.searchsorted(g.need, [pos, pos + 1])
        edges = np.arange(lo, hi)
        units = self.units[edges]
        res = g.resource[edges]
        spare = d.capacity[res] - self.used[res]
        full = self.served[pos] >= d.demand[pos]
        why = []
        pins = self.pinned[edges] if self.pinned is not None else np.zeros(len(edges), int)
        for u, j, s, p in zip(units, res, spare, pins):
            if p > 0:
                extra = f", {u - p} more chosen" if u > p else ""
                why.append(f"pinned by staff: {p} unit{'s' if p > 1 else ''}{extra}")
            elif u > 0:
                why.append(f"chosen: {u} unit{'s' if u > 1 else ''}")
            elif s <= 0:
                takers = self._takers(int(j), exclude=int(pos))
                why.append("resource full: its capacity went to " + takers)
            elif full:
                why.append("not needed: the need is already served by other candidates")
            else:
                why.append("not chosen: it would not improve the objective")
        columns: dict[str, Any] = {
            "resource_id": g.resource_ids[res],
            "category": d.resources["category"].to_numpy(dtype=object)[res],
            "distance": g.distance[edges],
            **{str(c): self.components[c].to_numpy()[edges] for c in self.components},
            "score": self.score[edges],
            "units": units,
            "chosen": units > 0,
        }
        if self.pinned is not None:
            columns["pinned"] = pins
        columns["spare_capacity"] = spare
        columns["why"] = why
        cand = (
            pd.DataFrame(columns)
            .sort_values(
                ["units", "score", "resource_id"], ascending=[False, False, True], kind="stable"
            )
            .reset_index(drop=True)
        )
        served = int(self.served[pos])
        demand = int(d.demand[pos])
        reason = None if served >= demand else str(self.reasons[pos])
        funnel = g.funnel.iloc[pos]
        lines = [
            f"need {d.need_ids[pos]!r} ({d.needs['category'].iat[pos]}, priority "
            f"{d.priority[pos]}): {served} of {demand} units served",
            f"candidates: {int(funnel['compatible'])} compatible, {int(funnel['in_reach'])} "
            f"in reach, {int(funnel['time_overlap'])} in time, {int(funnel['skills'])} "
            "with the skills",
        ]
        if len(g.pruned) and g.pruned[pos]:
            lines.append(f"{int(g.pruned[pos])} more candidates were cut by max_candidates")
        if self.forbidden is not None:
            banned = self.forbidden.loc[self.forbidden["need_id"] == d.need_ids[pos],
                                        "resource_id"].tolist()
            if banned:
                lines.append("forbidden by staff: " + ", ".join(map(str, banned)))
        alternative = None
        if reason is not None:
            lines.append(f"unmet: {reason} — {REASONS[reason]}")
            if reason == "outbid" and len(edges):
                alternative = self._alternative(pos, edges)
                lines.append(alternative.sentence())
        return Explanation(d.needs.iloc[pos], cand, reason, "\n".join(lines), alternative)

    def _alternative(self, pos: int, edges: np.ndarray) -> Alternative:
        """The nearest candidate of need ``pos`` held by other needs (else the nearest)."""
        d, g = self.district, self.graph
        res = g.resource[edges]
        held = np.flatnonzero((g.need != pos) & (self.units > 0))
        others = np.bincount(g.resource[held], weights=self.units[held],
                             minlength=g.n_resources)[res] > 0
        # Nearest first, ties by resource id; candidates held by others before the rest.
        k = int(np.lexsort((res, g.distance[edges], ~others))[0])
        e, j = int(edges[k]), int(res[k])
        mine = held[g.resource[held] == j]
        pr = d.priority[g.need[mine]]
        takers = pd.DataFrame(
            {
                "need_id": g.need_ids[g.need[mine]],
                "priority": pr,
                "units": self.units[mine],
                "score": self.score[mine],
                "distance": g.distance[mine],
            }
        )
        takers = takers.sort_values(
            ["priority", "score", "need_id"], ascending=[False, False, True], kind="stable"
        ).reset_index(drop=True)
        return Alternative(
            resource_id=str(g.resource_ids[j]),
            distance=float(g.distance[e]),
            score=float(self.score[e]),
            capacity=int(d.capacity[j]),
            units=int(self.units[e]),
            spare=int(d.capacity[j] - self.used[j]),
            takers=takers,
        )

    def _takers(self, j: int, exclude: int) -> str:
        g = self.graph
        mask = (g.resource == j) & (self.units > 0) & (g.need != exclude)
        e = np.flatnonzero(mask)
        if len(e) == 0:
            return "no one"
        parts = [f"{g.need_ids[g.need[k]]} (score {self.score[k]:.3f})" for k in e[:5]]
        more = f" and {len(e) - 5} more" if len(e) > 5 else ""
        return ", ".join(parts) + more

    # ------------------------------------------------------------------ display
    def summary(self) -> str:
        """A short plain-text summary."""
        m = self.metrics
        if self.options.unit_value is None:
            served = f"{int(m['assigned_units'])}/{int(m['demand_units'])} units served " \
                f"({m['unit_coverage']:.1%})"
        else:
            served = f"{m['comparable_assigned_units']:.4g}/{m['comparable_demand_units']:.4g} " \
                f"comparable units served ({m['comparable_coverage']:.1%})"
        return (
            f"MatchResult: {int(m['n_needs'])} needs, {int(m['n_resources'])} resources, "
            f"{int(m['n_edges'])} candidates; {served}, {len(self.projects)} projects, "
            f"{len(self.unmet)} needs not fully served; solver {self.solver!r}"
            + (" (certified exact)" if self.is_exact else " (inexact)")
            + f" in {self.solution.seconds:.3f}s"
        )

    def __repr__(self) -> str:
        return "<" + self.summary() + ">"

    def _repr_html_(self) -> str:
        m = self.metrics
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
            f"<td>{html.escape(_fmt(v))}</td></tr>"
            for k, v in m.items()
        )
        reasons = self.unmet["reason"].value_counts()
        reason_rows = "".join(f"<li>{html.escape(str(k))}: {v}</li>" for k, v in reasons.items())
        return (
            "<div><strong>matchcore.MatchResult</strong> — solver "
            f"<code>{html.escape(self.solver)}</code>"
            + (" (certified exact)" if self.is_exact else " (inexact)")
            + f"<table>{rows}</table>"
            + (f"<p>Unmet needs by reason:</p><ul>{reason_rows}</ul>" if reason_rows else "")
            + "<p>Projects (first 10):</p>"
            + self.projects.head(10).to_html(index=False)
            + "</div>"
        )


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{v:.4g}"
    return str(v)


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name in frame.columns:
        return frame[name].to_numpy(dtype=object)
    return np.full(len(frame), None, dtype=object)


def _restored(cls: type[MatchResult], blob: bytes) -> MatchResult:
    """A result unpickled from :meth:`MatchResult.__reduce_ex__`."""
    result = cls.__new__(cls)
    result.__dict__.update(wire_loads(blob))
    return result


@dataclass(frozen=True, eq=False)
class WarmState:
    """What a warm start reads from an earlier round: ``match(..., start=state)``.

    The part of a :class:`MatchResult` that ``start=`` uses, and nothing else:
    the district (for the rows that did not change), the whole candidate
    graph and its base score components (reused between unchanged rows), the
    options it was built with (reach, scope and taxonomy decide whether the
    graph can be reused) and the optimal bases per batch and phase (the
    solve resumes from them). A :class:`~matchcore.ProjectLedger` opened with
    ``keep_warm=True`` stores one for its last round
    (:mod:`matchcore.ledger.warm`), so that a fresh process rematches warm.
    A warm start gives the result of a cold start, exactly; the state only
    saves time.

    Attributes
    ----------
    district : District
        The earlier round's lists, id-sorted.
    graph : CandidateGraph
        Its candidate edges (those of its transport problem).
    components : pandas.DataFrame
        The :data:`~matchcore.model.scoring.COMPONENTS` of every edge.
    options : MatchOptions
        Its options.
    bases : list of BatchBasis
        Its optimal bases (``Solution.bases``).
    forbidden : pandas.DataFrame, optional
        Its staff-forbidden pairs (the graph is then not whole).
    round : int, optional
        The ledger round it belongs to, when read from a ledger.
    assigned : ndarray of int64, optional
        Its edges that got units (``np.flatnonzero(result.units > 0)``): a
        rematch whose incumbent is this assignment finds the incumbent edges
        by index, not by id. None when not known (a state stored before).

    Examples
    --------
    >>> import matchcore as mc
    >>> needs, resources = mc.synthetic.tiny()
    >>> first = mc.match(needs, resources, max_distance=2000)
    >>> state = WarmState.of(first)
    >>> again = mc.match(needs, resources, max_distance=2000, start=state)
    >>> again.assignments.equals(first.assignments)
    True
    """

    district: District
    graph: CandidateGraph
    components: pd.DataFrame
    options: MatchOptions
    bases: list[BatchBasis]
    forbidden: pd.DataFrame | None = None
    round: int | None = None
    assigned: np.ndarray | None = None

    @classmethod
    def of(cls, result: MatchResult) -> WarmState:
        """The warm state of a result (its arrays shared, not copied).

        Raises
        ------
        InputError
            ``result`` is not a :class:`MatchResult`.
        """
        if not isinstance(result, MatchResult):
            raise InputError(
                f"`result` must be a MatchResult; got {type(result).__name__}"
            )
        return cls(result.district, result.graph, result.components, result.options,
                   list(result.solution.bases or []), result.forbidden,
                   assigned=np.flatnonzero(result.units > 0))
