"""Exceptions and warnings raised by matchcore.

Every error derives from :class:`MatchcoreError`; bad data or arguments raise
:class:`InputError` (also a :class:`ValueError`), a failing back-end raises
:class:`SolverError` (also a :class:`RuntimeError`); a project ledger that stays
locked raises :class:`LedgerBusy`, one used after ``close()`` :class:`LedgerClosed`,
and a dry run that can no longer be committed as previewed :class:`LedgerChanged`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "InputError",
    "LedgerBusy",
    "LedgerChanged",
    "LedgerClosed",
    "MatchcoreError",
    "MatchcoreWarning",
    "RoundsFailed",
    "SolverError",
]

#: How many individual failures an error message lists before summarising the rest.
MAX_LISTED_FAILURES = 20


class MatchcoreError(Exception):
    """Base class of every exception raised by matchcore."""


class InputError(MatchcoreError, ValueError):
    """Bad input data or arguments.

    Parameters
    ----------
    message : str
        The full message; for tables it lists every failure (the first
        ``MAX_LISTED_FAILURES``, then a count of the rest).
    failures : pandas.DataFrame, optional
        One row per problem with columns ``table``, ``row``, ``line``, ``id``,
        ``column``, ``expected`` and ``found``.

    Examples
    --------
    >>> import matchcore as mc
    >>> try:
    ...     mc.read_needs(mc.synthetic.tiny()[0].assign(demand=-1))
    ... except mc.InputError as err:
    ...     print(len(err.failures) > 0)
    True
    """

    def __init__(self, message: str, failures: pd.DataFrame | None = None) -> None:
        super().__init__(message)
        self.failures = failures


class SolverError(MatchcoreError, RuntimeError):
    """A solver back-end failed or returned a solution that is not valid."""


class RoundsFailed(MatchcoreError):
    """Some rounds of a batch failed; the others finished and are kept.

    Raised by :func:`matchcore.match_many` (and the scenario grid of
    :mod:`matchcore.distributed`) after every round has run, never at the
    first failure.

    Parameters
    ----------
    message : str
        Names every failed round (the first ``MAX_LISTED_FAILURES``) and its error.
    results : mapping
        The rounds that finished, name -> result, in the order given.
    errors : mapping of str to BaseException
        The rounds that failed, name -> the exception each raised (a worker
        that died for good gives Dask's ``KilledWorker``).

    Examples
    --------
    >>> import matchcore as mc
    >>> needs, resources = mc.synthetic.tiny()
    >>> rounds = {"good": (needs, resources), "bad": (needs.assign(demand=-1), resources)}
    >>> try:
    ...     mc.match_many(rounds, max_distance=2000)
    ... except mc.RoundsFailed as err:
    ...     print(list(err.results), list(err.errors))
    ['good'] ['bad']
    """

    def __init__(
        self, message: str, results: Mapping[str, Any], errors: Mapping[str, BaseException]
    ) -> None:
        super().__init__(message)
        self.results = dict(results)
        self.errors = dict(errors)

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle as cls(*args); ours takes three arguments.
        return (type(self), (str(self), self.results, self.errors))


class LedgerBusy(MatchcoreError):
    """A ledger stayed locked by another process, or changed under a rematch, too long.

    Nothing was written; the call can be retried (or the ledger opened with a
    longer ``timeout``).
    """


class LedgerChanged(MatchcoreError):
    """A dry run's round cannot be committed: the ledger changed since it was planned.

    Raised by :meth:`~matchcore.ProjectLedger.commit` when another write (a status
    change, a claim, another process's round, or this report's own earlier
    commit) came between the dry run and the commit. Nothing was written; run
    the dry run again to see the round the ledger would record now.
    """


class LedgerClosed(MatchcoreError):
    """A :class:`~matchcore.ProjectLedger` was used after :meth:`~ProjectLedger.close`."""


class MatchcoreWarning(UserWarning):
    """Warnings issued by matchcore (e.g. a lossy score rescaling)."""
