"""The project list over time (项目清单), kept in one SQLite file.

:mod:`.store` holds :class:`ProjectLedger` (rounds, statuses, rematch);
:mod:`.plan` plans a rematch from frames (pure), :mod:`.state` reads those
frames in one snapshot (the live rows from :mod:`.live`'s snapshot), :mod:`.record`
writes rounds and rematches, :mod:`.lists` stores each round's needs and resources
as what changed and reads them back whole,
:mod:`.connection` opens a file safely (create, migrate, busy vs corrupt),
:mod:`.export` makes exports and status maps, :mod:`.schema` holds the tables,
their migrations, the status words and the row encoding. The governance loop:
:mod:`.claims` (claims kept fixed by rematch, the claiming board, settings),
:mod:`.supervision` (owners, deadlines, the colour code, the problem ledger),
:mod:`.report` (the dispatch report) and :mod:`.public_map` (the de-identified
public maps).
"""

from __future__ import annotations

from .store import ProjectLedger, RematchReport

__all__ = ["ProjectLedger", "RematchReport"]
