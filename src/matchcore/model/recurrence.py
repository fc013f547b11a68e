"""Recurring needs and availability: a ``recurrence`` column in iCalendar RRULE form.

A need (or a resource) with ``recurrence = "FREQ=WEEKLY;BYDAY=TU;COUNT=8"`` and
a window (``window_start`` .. ``window_end``, the first occurrence) becomes one
row per occurrence, ``need_id#k`` (k = 1, 2, ...), each with its own window of
the same length; ``series_id`` keeps the original id and ``occurrence`` the
number k. The rule is parsed by :func:`dateutil.rrule.rrulestr` with the
window's start as DTSTART; a rule without COUNT or UNTIL is refused (it never
ends). Matching then sees ordinary rows: a weekly visit is matched to
resources available on each of its dates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from dateutil.rrule import rrule, rrulestr

from ..errors import InputError

__all__ = ["MAX_OCCURRENCES", "continuity_bonus", "expand_recurrence", "has_recurrence"]

#: Occurrences per row at most (a guard against a rule that runs for years by the day).
MAX_OCCURRENCES = 1000


def has_recurrence(frame: pd.DataFrame) -> bool:
    """True when the list has a ``recurrence`` column with at least one rule."""
    return "recurrence" in frame.columns and bool(
        frame["recurrence"].fillna("").astype(str).str.strip().ne("").any()
    )


def expand_recurrence(frame: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """One row per occurrence of every recurring row (validated lists in, new frame out).

    Parameters
    ----------
    frame : DataFrame
        A validated needs or resources list (``window_start``/``window_end``
        parsed as datetimes) with a ``recurrence`` column.
    id_column : {"need_id", "resource_id"}

    Returns
    -------
    DataFrame
        Rows without a rule unchanged (``series_id`` = their id, ``occurrence``
        0); a recurring row becomes ``id#1``, ``id#2``, ... with shifted
        windows. The caller's frame is not modified.

    Raises
    ------
    InputError
        A rule that does not parse, has no COUNT or UNTIL, has no
        ``window_start`` to start from, or yields more than
        :data:`MAX_OCCURRENCES` occurrences; every failing row is named.

    Examples
    --------
    >>> import pandas as pd
    >>> from matchcore.model.recurrence import expand_recurrence
    >>> f = pd.DataFrame({"need_id": ["N1"], "recurrence": ["FREQ=WEEKLY;COUNT=2"],
    ...                   "window_start": [pd.Timestamp("2026-12-01 09:00")],
    ...                   "window_end": [pd.Timestamp("2026-12-01 11:00")]})
    >>> expand_recurrence(f, "need_id")[["need_id", "window_start", "occurrence"]]
      need_id        window_start  occurrence
    0    N1#1 2026-12-01 09:00:00           1
    1    N1#2 2026-12-08 09:00:00           2
    """
    table = "needs" if id_column == "need_id" else "resources"
    rules = frame["recurrence"].fillna("").astype(str).str.strip()
    problems: list[str] = []
    parts: list[pd.DataFrame] = []
    for pos in range(len(frame)):
        row = frame.iloc[[pos]]
        rid = str(row[id_column].iat[0])
        rule = str(rules.iat[pos])
        if not rule:
            parts.append(row.assign(series_id=rid, occurrence=0))
            continue
        place = f"{table[:-1]} {rid!r} (row {pos + 1} of {table})"
        start = row["window_start"].iat[0] if "window_start" in row.columns else None
        if start is None or pd.isna(start):
            problems.append(f"`recurrence` needs a `window_start` (its first occurrence); "
                            f"got none for {place}")
            continue
        end = row["window_end"].iat[0] if "window_end" in row.columns else None
        length = (pd.Timestamp(end) - pd.Timestamp(start)) if end is not None and \
            not pd.isna(end) else None
        try:
            parsed = rrulestr(rule, dtstart=pd.Timestamp(start).to_pydatetime())
        except (ValueError, TypeError) as err:
            problems.append(f"`recurrence` must be an iCalendar RRULE such as "
                            f"'FREQ=WEEKLY;BYDAY=TU;COUNT=8'; got {rule!r} for {place} ({err})")
            continue
        # A rule ends by COUNT or UNTIL (read from its text: rrule keeps them private).
        keys = {part.split("=", 1)[0].strip().upper() for part in rule.split(";")}
        if not isinstance(parsed, rrule) or not keys & {"COUNT", "UNTIL"}:
            problems.append(f"`recurrence` must end (COUNT=... or UNTIL=...); got {rule!r} "
                            f"for {place}")
            continue
        dates = []
        for k, when in enumerate(parsed):
            if k >= MAX_OCCURRENCES:
                problems.append(f"`recurrence` yields more than {MAX_OCCURRENCES} occurrences; "
                                f"got {rule!r} for {place}")
                break
            dates.append(pd.Timestamp(when))
        if len(dates) > MAX_OCCURRENCES:
            continue
        rep = pd.concat([row] * len(dates), ignore_index=True) if dates else row.iloc[:0]
        rep[id_column] = [f"{rid}#{k + 1}" for k in range(len(dates))]
        rep["window_start"] = pd.to_datetime(dates) if dates else rep["window_start"]
        if length is not None and dates:
            rep["window_end"] = pd.to_datetime(dates) + length
        rep["series_id"] = rid
        rep["occurrence"] = np.arange(1, len(dates) + 1)
        parts.append(rep)
    if problems:
        raise InputError(f"{len(problems)} problem(s) in the recurrence of {table}:\n  - "
                         + "\n  - ".join(problems[:20]))
    out = pd.concat(parts, ignore_index=True) if parts else frame.assign(series_id=None,
                                                                           occurrence=0)
    for col in ("window_start", "window_end"):
        if col in frame.columns:
            out[col] = pd.to_datetime(out[col])
    return out


def continuity_bonus(
    need_series: np.ndarray, provider: np.ndarray, need: np.ndarray, resource: np.ndarray
) -> np.ndarray:
    """Per edge, how much of its need's series the edge's provider can serve.

    With N occurrences in need i's series and n of them with a candidate edge
    to the provider of resource j, edge (i, j) gets ``n / N`` less the best
    such share among i's edges: 0 for the provider who can come to the most
    occurrences, negative for the others. Added to the score (times
    ``options.continuity``), it prefers one provider across the series while
    the objective stays linear and exact. Needs that do not recur
    (``need_series`` None) get 0.
    """
    s_codes, _ = pd.factorize(pd.Series(need_series, dtype=object), use_na_sentinel=True)
    p_codes, _ = pd.factorize(pd.Series(provider, dtype=object))
    e_series, e_prov = s_codes[need], p_codes[resource]
    ok = e_series >= 0
    out = np.zeros(len(need), dtype=float)
    if not ok.any():
        return out
    pairs = pd.DataFrame({"s": e_series[ok], "p": e_prov[ok], "i": need[ok]})
    reach = pairs.drop_duplicates(["s", "p", "i"]).groupby(["s", "p"]).size()
    size = pd.Series(s_codes[s_codes >= 0]).value_counts()
    n = reach.reindex(pd.MultiIndex.from_arrays([e_series[ok], e_prov[ok]])).to_numpy(float)
    share = n / size.reindex(e_series[ok]).to_numpy(float)
    best = pd.Series(share).groupby(need[ok]).transform("max").to_numpy(float)
    out[ok] = share - best
    return out
