"""One check for every scalar argument, with one message form.

Like scikit-learn's ``check_scalar``: every public parameter that is a single
number (a radius, a count, a weight, a bonus) is checked here, where it
enters, and the body trusts the returned value. Booleans are never numbers,
NaN is never a number, and the message always reads
``"`name` must be <what>; got <value>"``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Literal, overload

import numpy as np

from .errors import InputError

__all__ = ["check_choice", "check_scalar"]


@overload
def check_scalar(
    value: Any,
    name: str,
    kind: Literal["int"],
    *,
    low: float | None = ...,
    high: float | None = ...,
    low_open: bool = ...,
    allow_none: Literal[False] = ...,
    unit: str = ...,
) -> int: ...


@overload
def check_scalar(
    value: Any,
    name: str,
    kind: Literal["float"],
    *,
    low: float | None = ...,
    high: float | None = ...,
    low_open: bool = ...,
    allow_none: Literal[False] = ...,
    unit: str = ...,
) -> float: ...


@overload
def check_scalar(
    value: Any,
    name: str,
    kind: Literal["int"],
    *,
    low: float | None = ...,
    high: float | None = ...,
    low_open: bool = ...,
    allow_none: Literal[True],
    unit: str = ...,
) -> int | None: ...


@overload
def check_scalar(
    value: Any,
    name: str,
    kind: Literal["float"],
    *,
    low: float | None = ...,
    high: float | None = ...,
    low_open: bool = ...,
    allow_none: Literal[True],
    unit: str = ...,
) -> float | None: ...


def check_scalar(
    value: Any,
    name: str,
    kind: Literal["int", "float"],
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    allow_none: bool = False,
    unit: str = "",
) -> int | float | None:
    """Check one scalar argument and return it as a plain ``int`` or ``float``.

    Parameters
    ----------
    value : object
        What the caller passed.
    name : str
        The parameter's public name, as the user wrote it.
    kind : {"int", "float"}
        ``"int"``: an integer (Python or numpy; not a bool, not a float
        such as ``2.0``). ``"float"``: any finite real number (not a bool).
    low, high : float, optional
        Bounds; ``low`` is inclusive unless ``low_open``, ``high`` is inclusive.
    low_open : bool, default False
        Whether ``low`` itself is excluded (``> low`` instead of ``>= low``).
    allow_none : bool, default False
        Whether ``None`` is accepted (and returned).
    unit : str, default ""
        Shown after the rule, e.g. ``"metres"``.

    Returns
    -------
    int or float or None

    Raises
    ------
    InputError
        ``"`name` must be <rule>; got <value>"``.

    Examples
    --------
    >>> from matchcore.checks import check_scalar
    >>> check_scalar(2000, "max_distance", "float", low=0, unit="metres")
    2000.0
    >>> check_scalar(True, "max_candidates", "int", low=1)
    Traceback (most recent call last):
    ...
    matchcore.errors.InputError: `max_candidates` must be an integer >= 1; got True
    """
    if value is None and allow_none:
        return None
    noun = "an integer" if kind == "int" else "a finite number"
    rule = noun
    if low is not None:
        rule += f" {'>' if low_open else '>='} {_num(low)}"
    if high is not None:
        rule += f" and <= {_num(high)}" if low is not None else f" <= {_num(high)}"
    if unit:
        rule += f" ({unit})"
    if allow_none:
        rule += " or None"
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if ok and kind == "int":
        ok = isinstance(value, numbers.Integral)
    if ok and kind == "float":
        ok = math.isfinite(float(value))
    if ok:
        out: int | float = int(value) if kind == "int" else float(value)
        if low is not None and (out <= low if low_open else out < low):
            ok = False
        elif high is not None and out > high:
            ok = False
        if ok:
            return out
    raise InputError(f"`{name}` must be {rule}; got {value!r}")


def check_choice(value: Any, name: str, choices: tuple[Any, ...] | list[Any]) -> Any:
    """Check that ``value`` is one of ``choices`` and return it.

    Examples
    --------
    >>> from matchcore.checks import check_choice
    >>> check_choice("score", "objective", ("coverage", "score"))
    'score'
    """
    if isinstance(value, bool) or value not in choices:
        raise InputError(f"`{name}` must be one of {list(choices)}; got {value!r}")
    return value


def _num(x: float) -> str:
    if isinstance(x, int):
        return str(x)
    # Whole floats print as integers while exact (2000.0 -> 2000); 1e290 stays 1e+290.
    return str(int(x)) if float(x).is_integer() and abs(x) <= 2**53 else str(x)
