"""Regenerate ``ledger_v4.db`` and the frames the version-4 code reads back from it.

Run it with the code that wrote schema version 4 (matchcore before the delta
storage of schema version 5), for example from a checkout of that commit::

    git worktree add --detach /tmp/v4 2a18400   # the last commit writing version 4
    PYTHONPATH=/tmp/v4/src python tests/data/make_ledger_v4.py
    git worktree remove /tmp/v4

It writes ``tests/data/ledger_v4.db`` (a few rounds: rematches with new and
changed needs, a new and a dropped resource, claims, a cancelled project, an
owner and a problem) and ``tests/data/ledger_v4/<read>.parquet``: every public
read of :class:`matchcore.ProjectLedger` and each round's needs and resources
lists as version 4 stored them. ``tests/test_ledger_migration.py`` opens a
copy of the file with the current code (which migrates it) and expects the
same frames.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pandas as pd

import matchcore as mc
from matchcore.ledger.claims import round_rows

HERE = Path(__file__).parent
DB = HERE / "ledger_v4.db"
FRAMES = HERE / "ledger_v4"
AS_OF = "2026-03-15"


def write_ledger(path: Path) -> None:
    """The rounds, statuses and claims of the fixture (deterministic but for timestamps)."""
    needs, resources = mc.synthetic.tiny()
    more = pd.DataFrame({
        "need_id": ["N6", "N7", "N8"], "category": ["repair", "elderly_care", "medical"],
        "demand": [1, 2, 1], "x": [450.0, 120.0, 50.0], "y": [50.0, 20.0, 80.0],
        "community": ["东湖社区"] * 3, "grid": ["G1"] * 3, "priority": [4, 5, 2],
        "requester_kind": "resident", "description": ["门锁", "助浴", None],
    })
    with mc.ProjectLedger(path) as led:
        led.add_round(mc.match(needs, resources, max_distance=2000), by="街道")
        led.set_status("P-N1", "in_progress", by="王芳")
        led.assign("P-N1", owner="王芳", due="2026-03-10", as_of="2026-03-01")
        # round 2: two new needs, one changed need (N2 asks for more)
        changed = needs[needs["need_id"] == "N2"].assign(demand=2)
        led.rematch(new_needs=pd.concat([more.iloc[:2], changed], ignore_index=True),
                    by="街道", as_of="2026-03-02")
        led.claim("N6", "R2", units=1, by="党员 李明", as_of="2026-03-03")
        # round 3: a new resource, one more need
        extra = pd.DataFrame({
            "resource_id": ["R5"], "category": ["repair"], "capacity": [2],
            "x": [480.0], "y": [40.0], "community": ["东湖社区"], "grid": ["G1"],
            "provider": ["维修志愿队"], "provider_kind": ["volunteer_team"],
            "partner_communities": [None],
        })
        led.rematch(new_needs=more.iloc[2:], new_resources=extra, as_of="2026-03-04")
        led.set_status("P-N3", "cancelled", by="西山社区", note="resident moved")
        # round 4: a resource drops out
        led.rematch(dropped_resources=["R4"], as_of="2026-03-05")
        led.claim("N7", "R1", units=1, by="东湖志愿服务队", as_of="2026-03-06")
        led.open_problem("P-N1", text="服务时间未公示", due="2026-03-20", by="督查组",
                         as_of="2026-03-07")
        # round 5: nothing new (the claims stay fixed)
        led.rematch(as_of="2026-03-08")
        led.set_status("P-N6", "in_progress")


def read_frames(path: Path) -> dict[str, pd.DataFrame]:
    """Every public read of the ledger, plus each round's lists as stored."""
    with mc.ProjectLedger(path) as led:
        frames = {
            "projects": led.projects(),
            "assignments": led.assignments(),
            "history": led.history(),
            "audit": led.audit(),
            "rounds": led.rounds().assign(options=lambda f: f["options"].map(json.dumps)),
            "claims": led.claims(),
            "owners": led.owners(),
            "problems": led.problems(open=None),
            "project_points": led.project_points(),
            "supervision": led.supervision(as_of=AS_OF),
        }
        for rnd in range(1, led.n_rounds + 1):
            frames[f"needs_{rnd}"] = round_rows(led._conn, "needs", "need_id", rnd)
            frames[f"resources_{rnd}"] = round_rows(led._conn, "resources", "resource_id", rnd)
        frames["open_for_claims"] = led.open_for_claims(as_of=AS_OF)
    return frames


def main() -> None:
    from matchcore.ledger.schema import SCHEMA_VERSION

    if SCHEMA_VERSION != 4:
        raise SystemExit(f"run this with the code that writes schema 4, not {SCHEMA_VERSION}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "l.db"
        write_ledger(path)
        with mc.ProjectLedger(path) as led:  # one file, no WAL beside it
            led._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            led._conn.execute("VACUUM")
        shutil.copyfile(path, DB)
    # Read a copy, so the saved file stays as written.
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "l.db"
        shutil.copyfile(DB, copy)
        frames = read_frames(copy)
    FRAMES.mkdir(exist_ok=True)
    dtypes = {}
    for name, frame in frames.items():
        frame.to_parquet(FRAMES / f"{name}.parquet")
        dtypes[name] = {"columns": str(frame.columns.dtype),
                        "dtypes": {str(k): str(v) for k, v in frame.dtypes.items()}}
    (FRAMES / "dtypes.json").write_text(json.dumps(dtypes, indent=1, ensure_ascii=False),
                                        encoding="utf-8")
    for name, frame in load_frames().items():
        pd.testing.assert_frame_equal(frame, frames[name])  # dtypes kept
    print(f"{DB.name}: {DB.stat().st_size / 1e3:.0f} KB; {len(frames)} frames")


def load_frames(folder: Path = FRAMES) -> dict[str, pd.DataFrame]:
    """The saved frames with the dtypes they had (parquet reads text as ``str``)."""
    dtypes = json.loads((folder / "dtypes.json").read_text(encoding="utf-8"))
    frames = {}
    for name, kinds in dtypes.items():
        frame = pd.read_parquet(folder / f"{name}.parquet")
        for col, kind in kinds["dtypes"].items():
            if kind == "object":
                values = frame[col].astype(object)
                frame[col] = values.where(frame[col].notna(), None)
        frame.columns = pd.Index(list(frame.columns), dtype=kinds["columns"])
        frames[name] = frame
    return frames


if __name__ == "__main__":
    main()
