"""The project list over time (项目清单), kept in one SQLite file.

:mod:`.store` holds :class:`ProjectLedger` (rounds, statuses, rematch),
:mod:`.export` its exports and status maps, :mod:`.schema` the tables, their
migrations and the row encoding. The governance loop: :mod:`.claims` (claims
kept fixed by rematch, the claiming board, settings), :mod:`.supervision`
(owners, deadlines, the colour code, the problem ledger), :mod:`.report` (the
dispatch report) and :mod:`.public_map` (the de-identified public maps).
"""

from __future__ import annotations

from .store import ProjectLedger, RematchReport

__all__ = ["ProjectLedger", "RematchReport"]
