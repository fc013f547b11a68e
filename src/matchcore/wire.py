"""A compact, lossless pickled form for objects full of integer arrays.

A :class:`~matchcore.MatchResult` of a street of 10^4 needs holds a quarter of
a million candidate edges, and most of its arrays are int64 indices and units
with small values: the need of each edge (sorted, so its differences are 0 or
1), the resource of each edge (< 10^4), the units (mostly 0), the bases' arcs.
Pickled as they are, they made 28 MB of a result that Dask sends back from a
worker to the client, and the sending cost more than the match itself.

:func:`dumps` pickles with a pickler that stores each large integer array in
the narrowest integer dtype that holds its values exactly, or its first value
and differences when those are narrower (sorted indices); :func:`loads` gives
back arrays equal bit for bit, of the same dtype, shape and byte order. A
float array of few distinct values (a score component such as the category
affinity or the priority) is stored as one-byte codes into those values,
checked bit for bit; other float arrays are left as they are. Both cost a
pass over each array (a millisecond for 10^6 values), far less than sending
the bytes they save.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import numpy as np

__all__ = ["dumps", "float_codes", "loads", "narrowest", "restore_array", "restore_coded",
           "restore_rows"]

#: Arrays smaller than this are pickled as they are (the saving is not worth a pass).
MIN_SIZE = 4096
#: Float arrays whose _SAMPLE evenly spaced elements hold at most _MAX_CODES distinct values are
#: tried as codes into those values (score components: a category affinity, a priority).
_SAMPLE = 4096
_MAX_CODES = 255
#: A 2-D array of at most this many long rows (a frame's block of columns) is packed row by row.
_MAX_ROWS = 64
_NARROW = (np.int8, np.int16, np.int32)
_UNARROW = (np.uint8, np.uint16, np.uint32)


def narrowest(low: int, high: int) -> np.dtype | None:
    """The smallest integer dtype holding [low, high], or None when none is below 8 bytes.

    Examples
    --------
    >>> narrowest(0, 300), narrowest(-1, 1), narrowest(0, 2**40)
    (dtype('uint16'), dtype('int8'), None)
    """
    for kind in (_UNARROW if low >= 0 else _NARROW):
        info = np.iinfo(kind)
        if info.min <= low and high <= info.max:
            return np.dtype(kind)
    return None


def restore_array(
    dtype: str, shape: tuple[int, ...], first: int | None, stored: np.ndarray
) -> np.ndarray:
    """Rebuild an array packed by :func:`dumps` (called by the unpickler).

    ``stored`` holds the values in a narrower dtype, or, when ``first`` is
    not None, the differences of the flattened array after its first value.

    Examples
    --------
    >>> import numpy as np
    >>> from matchcore.wire import restore_array
    >>> restore_array("<i8", (3,), 5, np.array([1, 0], dtype=np.uint8))
    array([5, 6, 6])
    """
    kind = np.dtype(dtype)
    if first is None:
        flat = stored.astype(kind)
    else:
        flat = np.empty(stored.size + 1, dtype=kind)
        flat[0] = first
        # Integer sums are exact; wrap-around in the original dtype is undone the same way.
        np.cumsum(stored, dtype=kind, out=flat[1:])
        flat[1:] += kind.type(first)
    return flat.reshape(shape)


def restore_coded(dtype: str, shape: tuple[int, ...], values: np.ndarray,
                  codes: np.ndarray) -> np.ndarray:
    """Rebuild an array of few distinct values packed by :func:`dumps` (called by the unpickler).

    ``values`` holds the distinct values' bits (as unsigned integers of the
    dtype's width) and ``codes`` which of them each element is.

    Examples
    --------
    >>> import numpy as np
    >>> from matchcore.wire import restore_coded
    >>> bits = np.array([0.5, 1.0]).view(np.uint64)
    >>> restore_coded("<f8", (3,), bits, np.array([1, 0, 1], dtype=np.uint8))
    array([1. , 0.5, 1. ])
    """
    return values[codes].view(np.dtype(dtype)).reshape(shape)


def float_codes(array: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The distinct values of a float array that has few of them (as unsigned integers
    of the same bits) and uint8 codes into them, or None.

    The distinct values are guessed from evenly spaced elements and then checked
    bit for bit on all of them (so -0.0, NaN payloads and the like survive):
    ``values[codes]`` is ``array``'s bits, flattened.

    Examples
    --------
    >>> bits, codes = float_codes(np.array([0.5, -0.0, 0.5]))
    >>> bits.view(np.float64)[codes].tolist()
    [0.5, -0.0, 0.5]
    """
    bits = array.reshape(-1).view(np.dtype(f"u{array.dtype.itemsize}"))
    values = np.unique(bits[:: max(1, bits.size // _SAMPLE)])
    if values.size > _MAX_CODES:
        return None
    codes = np.searchsorted(values, bits)
    np.minimum(codes, values.size - 1, out=codes)
    if not np.array_equal(values[codes], bits):
        return None
    return values, codes.astype(np.uint8)


def _coded(array: np.ndarray) -> tuple[Any, ...] | None:
    """The reduce tuple of a float array as :func:`float_codes`, or None."""
    coded = float_codes(array)
    if coded is None:
        return None
    return (restore_coded, (array.dtype.str, array.shape, *coded))


def restore_rows(rows: list[np.ndarray]) -> np.ndarray:
    """Stack the rows of a 2-D array packed row by row by :func:`dumps` (called by the unpickler).

    Examples
    --------
    >>> import numpy as np
    >>> from matchcore.wire import restore_rows
    >>> restore_rows([np.array([1, 2]), np.array([3, 4])])
    array([[1, 2],
           [3, 4]])
    """
    return np.stack(rows)


def _packed(array: np.ndarray) -> tuple[Any, ...] | None:
    """The reduce tuple of a narrower form of ``array``, or None to pickle it as it is."""
    if (array.size < MIN_SIZE or array.dtype.itemsize < 8 or not array.flags.c_contiguous):
        return None
    if array.ndim == 2 and 1 < array.shape[0] <= _MAX_ROWS and array.shape[1] >= MIN_SIZE:
        # A frame's block of columns (pandas keeps them as rows): each column on its own.
        return (restore_rows, ([array[k] for k in range(array.shape[0])],))
    if array.dtype.kind == "f":
        return _coded(array)
    if array.dtype.kind not in "iu":
        return None
    flat = array.reshape(-1)
    direct = narrowest(int(flat.min()), int(flat.max()))
    if direct is not None and direct.itemsize == 1:
        return (restore_array, (array.dtype.str, array.shape, None, flat.astype(direct)))
    # Differences wrap around like the values do, so the cumulative sum restores them exactly.
    diff = np.diff(flat)
    by_diff = narrowest(int(diff.min()), int(diff.max()))
    if by_diff is not None and (direct is None or by_diff.itemsize < direct.itemsize):
        return (restore_array, (array.dtype.str, array.shape, int(flat[0]), diff.astype(by_diff)))
    if direct is not None:
        return (restore_array, (array.dtype.str, array.shape, None, flat.astype(direct)))
    return None


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is np.ndarray:
            packed = _packed(obj)
            if packed is not None:
                return packed
        return NotImplemented


def dumps(obj: Any) -> bytes:
    """Pickle ``obj`` with its large integer arrays in their narrowest exact form.

    Parameters
    ----------
    obj : object
        Anything :mod:`pickle` can pickle.

    Returns
    -------
    bytes
        A pickle (protocol 5) that :func:`loads` or :func:`pickle.loads` reads.

    Examples
    --------
    >>> import pickle
    >>> import numpy as np
    >>> from matchcore import wire
    >>> need = np.repeat(np.arange(10_000), 25)  # sorted edge indices, int64
    >>> len(wire.dumps(need)) < len(pickle.dumps(need)) // 7
    True
    >>> back = wire.loads(wire.dumps(need))
    >>> back.dtype == need.dtype and np.array_equal(back, need)
    True
    """
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=5).dump(obj)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    """Read a pickle written by :func:`dumps` (the same as :func:`pickle.loads`).

    Examples
    --------
    >>> from matchcore import wire
    >>> wire.loads(wire.dumps({"a": 1}))
    {'a': 1}
    """
    return pickle.loads(data)
