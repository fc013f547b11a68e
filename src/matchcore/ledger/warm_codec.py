"""A round's warm state as bytes that load without running code (no pickle).

:class:`~matchcore.result.WarmState` is what ``match(..., start=...)`` reads
from an earlier round. :func:`encode_warm_state` turns it into one ``.npz``
archive (``numpy.savez``: plain arrays, no object arrays) and
:func:`decode_warm_state` reads it back with ``numpy.load(allow_pickle=False)``,
so a ledger file shared between staff can be opened safely: loading it never
unpickles anything. The lists are Arrow IPC snapshots
(:func:`~matchcore.ledger.lists.frame_to_ipc`, bit for bit), the rest plain
numbers in their narrowest exact type:

* the lists (needs, resources; forbidden pairs when there were some) whole,
  as validation returned them, so that the next round's validation takes the
  rows it repeats as validated (:func:`matchcore.schema.revalidate` pairs
  rows only of lists with the same columns), as it does from a result in
  memory; a list Arrow cannot hold exactly keeps only the columns a warm
  start reads (:data:`KEPT_COLUMNS`, or :data:`COMPARED_COLUMNS` when the
  district's arrays hold the rest). And the district's
  arrays (integers narrowed), so that loading does not run
  :func:`~matchcore.model.to_district` again (0.3 s at city_100k; a district
  with a field of a kind not foreseen here is rebuilt from the lists);
* the candidate graph: edges per need (the edges are sorted by need), the
  resource of each edge, affinities (a code into the few distinct values),
  the funnel and ``max_candidates``' cuts. The distances are not stored
  (format 2): they are recomputed on load from the district's coordinates
  (:func:`~matchcore.model.candidates.edge_distances`, the k-d tree's
  arithmetic), which the encoder checks bit for bit; the few it does not
  reproduce (or all, when most: a reach-unlimited graph) are stored, and the
  SHA-256 of the exact distances lets the loader refuse a recomputation that
  differs (:class:`WarmStateError`: the ledger then rematches cold);
* per batch its needs, resources and edges (left out when they are exactly
  the edges of its needs) and per phase the basis: the arc states packed
  four to a byte, the hung flags eight to a byte.

Every array of 4 kB or more is compressed (zstd level 1, the codec of the
Arrow library the snapshots already use: about half the bytes for 0.1-0.2 s
at city_100k). The base score components are not stored: they are a
function of the district and the graph, recomputed on load
(:func:`~matchcore.model.scoring.score_edges`, 0.2 s at city_100k) and equal
to the stored round's bit for bit; stored they were 20 MB more to write in
every round. The options are the round's JSON (:meth:`MatchOptions.to_json`).
At city_100k (10^5 needs, 2.49M edges) the archive is 18.2 MB: 12.6 MB of
them without the lists' other columns (descriptions, providers, streets), as
format 2 stored them until the state was encoded and decoded in a background
thread (:mod:`matchcore.ledger.warm`), which hides the 0.15 s and 0.2 s they
add, while the whole lists save the next round about 0.5 s of validation and
candidates in a fresh process. Format 1 (34.4 MB: it stored the distances) and
states of format 2 with fewer columns are still read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import zipfile
from typing import Any

import numpy as np
import pandas as pd

from ..errors import MatchcoreError
from ..model.candidates import CandidateGraph, edge_distances
from ..model.district import District, to_district
from ..model.reuse import NEED_COLUMNS, RESOURCE_COLUMNS
from ..model.scoring import COMPONENTS, Weights, score_edges
from ..options import MatchOptions
from ..result import WarmState
from ..solvers import BatchBasis
from ..solvers.network_simplex import Basis
from ..wire import float_codes, narrowest
from .lists import frame_from_ipc, frame_to_ipc

__all__ = ["FORMAT", "WarmStateError", "decode_warm_state", "encode_warm_state"]

#: Version of the archive's layout (``meta["format"]``): 2 recomputes the distances.
FORMAT = 2
#: The layouts this module reads: 1 stored every distance (the same layout otherwise).
READS = (1, 2)

#: The columns of the lists a warm start reads: what :func:`~matchcore.model.to_district`
#: turns into arrays and what :mod:`matchcore.model.reuse` compares (descriptions,
#: providers and other text are left out: they are a third of a list's bytes and no
#: warm start reads them). Recurrence columns are kept: a round with them is not reused.
KEPT_COLUMNS = frozenset({
    "need_id", "resource_id", "category", "community", "grid", "skills", "demand",
    "capacity", "priority", "x", "y", "lat", "lon", "window_start", "window_end",
    "max_distance", "partner_communities", "occurrence", "series_id",
})
#: Of those, the ones kept when the district's arrays are stored and a list whose other
#: columns Arrow cannot hold exactly has columns besides: the ids, the recurrence markers
#: and what :mod:`matchcore.model.reuse` compares. Positions, windows, demand and capacity
#: are then in the arrays, and the frame can never be a round's validated list again
#: (:func:`matchcore.schema.revalidate` pairs rows only of lists with the same columns).
COMPARED_COLUMNS = frozenset({"need_id", "resource_id", "occurrence", "series_id",
                              *NEED_COLUMNS, *RESOURCE_COLUMNS})


class WarmStateError(MatchcoreError):
    """A stored warm state cannot be read (a corrupt or foreign blob)."""


def _narrow(values: np.ndarray) -> np.ndarray:
    """Integers in the narrowest type that holds them exactly (:func:`.wire.narrowest`)."""
    values = np.asarray(values)
    if values.size == 0:
        return values.astype(np.int64)
    return values.astype(narrowest(int(values.min()), int(values.max())) or np.int64)


def _pack_states(state: np.ndarray) -> np.ndarray | None:
    """Arc states (0..3) four to a byte, or None when one is out of range."""
    if len(state) and (int(state.min()) < 0 or int(state.max()) > 3):
        return None
    padded = np.zeros(-(-len(state) // 4) * 4, dtype=np.uint8)
    padded[: len(state)] = state
    q = padded.reshape(-1, 4)
    packed: np.ndarray = q[:, 0] | (q[:, 1] << 2) | (q[:, 2] << 4) | (q[:, 3] << 6)
    return packed


def _unpack_states(packed: np.ndarray, n: int) -> np.ndarray:
    out = np.empty((len(packed), 4), dtype=np.int8)
    for k in range(4):
        out[:, k] = (packed >> (2 * k)) & 3
    return out.reshape(-1)[:n]


def _kept(frame: pd.DataFrame, arrays_stored: bool) -> pd.DataFrame:
    """The columns of ``frame`` a warm start reads (:data:`KEPT_COLUMNS`, or
    :data:`COMPARED_COLUMNS` when the district's arrays are stored and
    ``frame`` has columns outside :data:`KEPT_COLUMNS`)."""
    keep = KEPT_COLUMNS
    if arrays_stored and not set(frame.columns) <= KEPT_COLUMNS:
        keep = COMPARED_COLUMNS
    return frame[[c for c in frame.columns if c in keep]]


def _list_bytes(frame: pd.DataFrame, arrays_stored: bool) -> bytes | None:
    """A list's Arrow bytes: the whole validated list, or only the columns a warm
    start reads (:func:`_kept`) when Arrow cannot hold the others exactly; None
    when it cannot hold those either."""
    whole = frame_to_ipc(frame)
    return whole if whole is not None else frame_to_ipc(_kept(frame, arrays_stored))


def _put_floats(arrays: dict[str, np.ndarray], name: str, values: np.ndarray) -> None:
    """float64 values as a code into their few distinct values when that is exact
    (bit for bit, :func:`.wire.float_codes`), else as they are."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    coded = float_codes(values)
    if coded is None:
        arrays[name] = values
        return
    arrays[f"{name}_values"] = coded[0].view(np.float64)
    arrays[f"{name}_codes"] = coded[1]


def _get_floats(arrays: dict[str, np.ndarray], name: str) -> np.ndarray:
    if name in arrays:
        return np.asarray(arrays[name], dtype=np.float64)
    out: np.ndarray = arrays[f"{name}_values"][arrays[f"{name}_codes"]]
    return out


def _bytes_array(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.uint8)


def _digest(values: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(values, dtype=np.float64).data).hexdigest()


def _put_distances(arrays: dict[str, np.ndarray], d: District,
                   g: CandidateGraph) -> dict[str, Any] | None:
    """The distances as what :func:`~matchcore.model.candidates.edge_distances`
    does not give bit for bit (usually nothing), or all of them when that is most.

    Recomputed from the district's coordinates they are 19 MB less to write at
    city_100k (more than half the archive) for 0.05 s on load. Returns how to
    check them: the SHA-256 of their bytes, which the loader's recomputation
    must reproduce; None when they are stored whole, as in format 1.
    """
    values = np.ascontiguousarray(g.distance, dtype=np.float64)
    again = edge_distances(d.need_xy, d.resource_xy, g.need, g.resource)
    # Bits compared, not values: -0.0 is not 0.0 here, and a NaN not lost.
    off = np.flatnonzero(again.view(np.uint64) != values.view(np.uint64))
    if 2 * len(off) >= len(values):  # e.g. a reach-unlimited graph (numpy.hypot's roundings)
        arrays["distance"] = values
        return None
    if len(off):
        arrays["distance_at"] = _narrow(off)
        arrays["distance_off"] = values[off]
    return {"sha256": _digest(values)}


def _get_distances(arrays: dict[str, np.ndarray], spec: dict[str, Any] | None,
                   district: District, need: np.ndarray, resource: np.ndarray) -> np.ndarray:
    if spec is None:
        return np.asarray(arrays["distance"], dtype=np.float64)
    values = edge_distances(district.need_xy, district.resource_xy, need, resource)
    if "distance_at" in arrays:
        values[_int(arrays["distance_at"])] = arrays["distance_off"]
    if _digest(values) != spec["sha256"]:
        # Another machine's arithmetic, or altered coordinates: never other distances.
        raise WarmStateError("the candidate distances recomputed from the district's "
                             "coordinates are not the stored round's (their SHA-256 differs)")
    return values


def encode_warm_state(state: WarmState) -> bytes | None:
    """The archive of ``state``, or None when it cannot be kept exactly.

    None when there are no bases (a back-end that keeps none), the options
    cannot be written as JSON (a solver given as a function), Arrow cannot
    hold a list exactly, or the graph's edges are not sorted by need.

    Examples
    --------
    >>> import matchcore as mc
    >>> result = mc.match(*mc.synthetic.tiny(), max_distance=2000)
    >>> data = encode_warm_state(WarmState.of(result))
    >>> back = decode_warm_state(data)
    >>> back.graph.n_edges == result.graph.n_edges, len(back.bases)
    (True, 1)
    """
    if not state.bases:
        return None
    try:
        import pyarrow  # noqa: F401  (the lists' Arrow snapshots and the compression)
    except ImportError:
        return None
    try:
        options = state.options.to_json()
    except (TypeError, ValueError, MatchcoreError):
        return None
    g, d = state.graph, state.district
    if g.n_edges and bool((np.diff(g.need) < 0).any()):
        return None
    arrays: dict[str, np.ndarray] = {}
    district_spec = _put_district(arrays, d)
    stored = district_spec is not None
    lists = {"needs": _list_bytes(d.needs, stored),
             "resources": _list_bytes(d.resources, stored)}
    if state.forbidden is not None:
        lists["forbidden"] = frame_to_ipc(state.forbidden)
    for name, data in lists.items():
        if data is None:
            return None
        arrays[f"{name}_ipc"] = _bytes_array(data)
    arrays["edges_per_need"] = _narrow(np.bincount(g.need, minlength=g.n_needs))
    arrays["resource"] = _narrow(g.resource)
    distances = _put_distances(arrays, d, g)
    _put_floats(arrays, "affinity", g.affinity)
    arrays["funnel"] = _narrow(g.funnel.to_numpy(np.int64))
    if len(g.pruned):  # max_candidates cut edges (the graph is then never reused)
        arrays["pruned"] = _narrow(g.pruned)
    if state.assigned is not None:  # the edges with units (the next incumbent, by index)
        arrays["assigned"] = _narrow(np.diff(state.assigned, prepend=0))
    batches: list[dict[str, Any]] = []
    by_need = g.need
    for k, b in enumerate(state.bases):
        arrays[f"b{k}_needs"] = _narrow(b.needs)
        arrays[f"b{k}_resources"] = _narrow(b.resources)
        mask = np.zeros(g.n_needs, dtype=bool)
        mask[b.needs] = True
        implicit = np.array_equal(b.edges, np.flatnonzero(mask[by_need]))
        if not implicit:
            arrays[f"b{k}_edges"] = _narrow(b.edges)
        phases = []
        for p, basis in enumerate(b.bases):
            packed = _pack_states(basis.state)
            if packed is None:
                arrays[f"b{k}_p{p}_state"] = basis.state.astype(np.int8)
            else:
                arrays[f"b{k}_p{p}_packed"] = packed
            arrays[f"b{k}_p{p}_hung"] = np.packbits(basis.hung.astype(bool))
            phases.append({"n_arcs": basis.n_arcs, "n_nodes": basis.n_nodes})
        batches.append({"phases": list(b.phases), "edges_of_needs": bool(implicit),
                        "bases": phases})
    meta = {
        "format": FORMAT, "options": options, "round": state.round,
        "n_needs": g.n_needs, "n_resources": g.n_resources, "n_edges": g.n_edges,
        "funnel_columns": [str(c) for c in g.funnel.columns], "batches": batches,
        "district": district_spec, "distances": distances,
    }
    meta["compressed"] = _compress(arrays)
    arrays["meta"] = _bytes_array(json.dumps(meta, sort_keys=True).encode())
    out = io.BytesIO()
    np.savez(out, **arrays)  # type: ignore[arg-type]
    return out.getvalue()


#: Arrays at least this big are compressed.
COMPRESS_FROM = 4096
#: Kinds of arrays the archive holds: unsigned, signed, float, bool.
_KINDS = frozenset("uifb")


def _compress(arrays: dict[str, np.ndarray]) -> dict[str, list[Any]]:
    """Compress the big arrays in place (zstd); their dtype, shape and size, by name."""
    import pyarrow as pa

    codec = pa.Codec("zstd", compression_level=1)
    done: dict[str, list[Any]] = {}
    for name, values in arrays.items():
        values = np.ascontiguousarray(values)
        if values.nbytes < COMPRESS_FROM:
            continue
        packed = codec.compress(values.tobytes(), asbytes=True)
        arrays[name] = _bytes_array(packed)
        done[name] = [values.dtype.str, list(values.shape), int(values.nbytes)]
    return done


def _decompress(arrays: dict[str, np.ndarray], spec: dict[str, list[Any]]) -> None:
    import pyarrow as pa

    codec = pa.Codec("zstd")
    for name, (dtype_text, shape, nbytes) in spec.items():
        dtype = np.dtype(str(dtype_text))
        if dtype.kind not in _KINDS:
            raise WarmStateError(f"the warm state's array {name!r} has dtype {dtype_text!r}")
        raw = codec.decompress(arrays[name].tobytes(), decompressed_size=int(nbytes),
                               asbytes=True)
        arrays[name] = np.frombuffer(raw, dtype=dtype).reshape([int(n) for n in shape])


def _put_district(arrays: dict[str, np.ndarray], d: District) -> dict[str, Any] | None:
    """The district's arrays (integers narrowed), so that loading skips
    :func:`~matchcore.model.to_district` (0.3 s at city_100k); how to read each back.

    None when a field is of a kind not foreseen here: the loader then rebuilds
    the district from the lists, which gives the same arrays, only slower.
    """
    spec: dict[str, Any] = {}
    staged: dict[str, np.ndarray] = {}
    for f in dataclasses.fields(d):
        value = getattr(d, f.name)
        if f.name in ("needs", "resources"):
            continue
        if f.name in ("need_ids", "resource_ids"):
            frame, key = (d.needs, "need_id") if f.name == "need_ids" else (
                d.resources, "resource_id")
            if not np.array_equal(value, frame[key].to_numpy(dtype=object)):
                return None
            spec[f.name] = ["ids", key]
        elif isinstance(value, np.ndarray) and value.dtype.kind in "uifb":
            kept = _narrow(value) if value.dtype.kind in "ui" else value
            staged[f"d_{f.name}"] = kept
            spec[f.name] = ["array", value.dtype.str]
        elif isinstance(value, np.ndarray) and value.dtype == object and all(
                isinstance(v, str) for v in value.tolist()) and value.ndim == 1:
            spec[f.name] = ["texts", value.tolist()]
        elif isinstance(value, (bool, int, float, str)) or value is None:
            spec[f.name] = ["value", value]
        elif (isinstance(value, tuple) and len(value) == 2
              and all(isinstance(v, float) for v in value)):
            spec[f.name] = ["pair", list(value)]
        else:
            return None
    arrays.update(staged)
    return spec


def _district(arrays: dict[str, np.ndarray], spec: dict[str, Any] | None,
              needs: pd.DataFrame, resources: pd.DataFrame) -> District:
    if spec is None:
        return to_district(needs, resources)
    fields: dict[str, Any] = {"needs": needs, "resources": resources}
    for name, (kind, value) in spec.items():
        if kind == "ids":
            frame = needs if value == "need_id" else resources
            fields[name] = frame[value].to_numpy(dtype=object)
        elif kind == "array":
            fields[name] = np.asarray(arrays[f"d_{name}"], dtype=np.dtype(str(value)))
        elif kind == "texts":
            fields[name] = np.asarray(value, dtype=object)
        elif kind == "pair":
            fields[name] = (float(value[0]), float(value[1]))
        else:
            fields[name] = value
    return District(**fields)


def _int(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.int64)


def decode_warm_state(data: bytes, options: MatchOptions | None = None) -> WarmState:
    """The :class:`~matchcore.result.WarmState` of :func:`encode_warm_state`'s bytes.

    Only plain arrays are read (``numpy.load(allow_pickle=False)``) and Arrow
    IPC frames: nothing in the bytes can run code. ``options`` replaces the
    stored options (the ledger passes the round's own, checked equal).

    Raises
    ------
    WarmStateError
        The bytes are not a warm state of this format, or their parts do not
        fit together (a truncated or corrupt blob).

    See :func:`encode_warm_state` for an example.
    """
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode())
        if not isinstance(meta, dict) or meta.get("format") not in READS:
            raise WarmStateError(
                f"the warm state is of format {meta.get('format')!r}; this matchcore reads "
                f"formats {', '.join(map(str, READS))}"
            )
        _decompress(arrays, meta["compressed"])
        return _rebuild(arrays, meta, options)
    except WarmStateError:
        raise
    except (OSError, ValueError, KeyError, TypeError, IndexError, EOFError,
            zipfile.BadZipFile, MatchcoreError) as err:
        raise WarmStateError(
            f"the warm state cannot be read ({type(err).__name__}: {err})"
        ) from err
    except Exception as err:  # pyarrow's errors on corrupt IPC bytes, among others
        raise WarmStateError(
            f"the warm state cannot be read ({type(err).__name__}: {err})"
        ) from err


def _rebuild(arrays: dict[str, np.ndarray], meta: dict[str, Any],
             options: MatchOptions | None) -> WarmState:
    opts = MatchOptions.from_json(meta["options"]) if options is None else options
    needs = frame_from_ipc(arrays["needs_ipc"].tobytes())
    resources = frame_from_ipc(arrays["resources_ipc"].tobytes())
    forbidden = (frame_from_ipc(arrays["forbidden_ipc"].tobytes())
                 if "forbidden_ipc" in arrays else None)
    district = _district(arrays, meta.get("district"), needs, resources)
    n_needs, n_res, n_edges = int(meta["n_needs"]), int(meta["n_resources"]), int(meta["n_edges"])
    per_need = _int(arrays["edges_per_need"])
    resource = _int(arrays["resource"])
    if (district.n_needs != n_needs or district.n_resources != n_res
            or len(per_need) != n_needs or int(per_need.sum()) != n_edges
            or len(resource) != n_edges
            or (n_edges and (int(resource.min()) < 0 or int(resource.max()) >= n_res))):
        raise WarmStateError("the warm state's graph does not fit its lists")
    need = np.repeat(np.arange(n_needs, dtype=np.int64), per_need)
    distance = _get_distances(arrays, meta.get("distances"), district, need, resource)
    if len(distance) != n_edges:
        raise WarmStateError("the warm state's distances do not fit its graph")
    affinity = _get_floats(arrays, "affinity")
    funnel = pd.DataFrame(_int(arrays["funnel"]), columns=list(meta["funnel_columns"]),
                          index=pd.Index(district.need_ids, name="need_id"))
    pruned = _int(arrays["pruned"]) if "pruned" in arrays else np.zeros(0, dtype=np.int64)
    graph = CandidateGraph(district.need_ids, district.resource_ids, need, resource,
                           distance, affinity, funnel, pruned)
    _, components = score_edges(district, graph, Weights())
    if list(components.columns) != list(COMPONENTS):  # (a copy of 2.5M rows: only if needed)
        components = components[list(COMPONENTS)]
    bases: list[BatchBasis] = []
    for k, spec in enumerate(meta["batches"]):
        b_needs, b_res = _int(arrays[f"b{k}_needs"]), _int(arrays[f"b{k}_resources"])
        if spec["edges_of_needs"]:
            mask = np.zeros(n_needs, dtype=bool)
            mask[b_needs] = True
            b_edges = np.flatnonzero(mask[need]).astype(np.int64)
        else:
            b_edges = _int(arrays[f"b{k}_edges"])
        phase_bases = []
        for p, shape in enumerate(spec["bases"]):
            n_arcs, n_nodes = int(shape["n_arcs"]), int(shape["n_nodes"])
            if f"b{k}_p{p}_packed" in arrays:
                state = _unpack_states(arrays[f"b{k}_p{p}_packed"], n_arcs)
            else:
                state = np.asarray(arrays[f"b{k}_p{p}_state"], dtype=np.int8)
            hung = np.unpackbits(arrays[f"b{k}_p{p}_hung"], count=n_nodes).astype(bool)
            if len(state) != n_arcs or len(hung) != n_nodes:
                raise WarmStateError(f"the warm state's basis {k}/{p} is truncated")
            phase_bases.append(Basis(state, hung))
        bases.append(BatchBasis(b_needs, b_res, b_edges, tuple(spec["phases"]),
                                tuple(phase_bases)))
    rnd = meta.get("round")
    assigned = None
    if "assigned" in arrays:
        assigned = np.cumsum(_int(arrays["assigned"]))
        if len(assigned) and (int(assigned[0]) < 0 or int(assigned[-1]) >= n_edges
                              or bool((np.diff(assigned) <= 0).any())):
            raise WarmStateError("the warm state's assigned edges do not fit its graph")
    return WarmState(district, graph, components, opts, bases, forbidden,
                     None if rnd is None else int(rnd), assigned)
