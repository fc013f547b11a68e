"""``matchcore ledger``: init, add, rematch, status, export, through ``matchcore.cli.main``."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import matchcore as mc
from matchcore.cli import main


@pytest.fixture
def tiny_files(tmp_path):
    needs, resources = mc.synthetic.tiny()
    mc.write_table(needs, tmp_path / "needs.csv")
    mc.write_table(resources, tmp_path / "resources.csv")
    return tmp_path


@pytest.fixture(scope="module")
def street_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("street")
    needs, resources = mc.synthetic.district("seed_street", n_needs=200)
    mc.write_table(needs, folder / "needs.csv")
    mc.write_table(resources, folder / "resources.csv")
    return folder


def _add(folder, ledger, *extra):
    return main(["ledger", "add", str(ledger), "--needs", str(folder / "needs.csv"),
                 "--resources", str(folder / "resources.csv"), *map(str, extra)])


def test_init_add_status_export(tiny_files, capsys, tmp_path):
    led = tmp_path / "projects.db"
    assert main(["ledger", "init", str(led)]) == 0
    assert "created ledger" in capsys.readouterr().out
    assert main(["ledger", "init", str(led)]) == 0
    assert "left unchanged" in capsys.readouterr().out

    assert _add(tiny_files, led, "--max-distance", 2000, "--by", "王芳") == 0
    out = capsys.readouterr().out
    assert "coverage" in out and "round 1 recorded" in out and "3 projects" in out

    assert main(["ledger", "status", str(led)]) == 0
    out = capsys.readouterr().out
    assert "1 round, 3 projects" in out and "东湖社区" in out and "西山社区" in out
    assert "not_started 尚未开工" in out

    assert main(["ledger", "status", str(led), "P-N1", "正在实施", "--by", "王芳",
                 "--note", "开工"]) == 0
    assert "P-N1: not_started -> in_progress" in capsys.readouterr().out
    assert main(["-q", "ledger", "status", str(led), "P-N2", "cancelled"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["ledger", "status", str(led), "P-N1"]) == 0
    out = capsys.readouterr().out
    assert "P-N1: in_progress" in out and "开工" in out and "王芳" in out

    with mc.ProjectLedger(led) as ledger:
        statuses = ledger.projects().set_index("project_id")["status"].to_dict()
        assert ledger.history("P-N1")["by"].tolist() == ["王芳", "王芳"]
    assert statuses == {"P-N1": "in_progress", "P-N2": "cancelled", "P-N3": "not_started"}

    assert main(["ledger", "export", str(led), str(tmp_path / "p.geojson")]) == 0
    assert "wrote" in capsys.readouterr().out
    fc = json.loads((tmp_path / "p.geojson").read_text(encoding="utf-8"))
    assert {f["id"]: f["properties"]["status"] for f in fc["features"]} == {
        f"project:{k}": v for k, v in statuses.items()
    }
    assert main(["ledger", "export", str(led), str(tmp_path / "east.csv"),
                 "--community", "东湖社区"]) == 0
    assert capsys.readouterr().out == f"wrote {tmp_path / 'east.csv'}\n"
    east = pd.read_csv(tmp_path / "east.csv", encoding="utf-8-sig")
    assert east["project_id"].tolist() == ["P-N1", "P-N2"]
    assert main(["-q", "ledger", "export", str(led), str(tmp_path / "new") + "/"]) == 0
    assert capsys.readouterr().out == ""
    assert len(pd.read_csv(tmp_path / "new" / "projects.csv", encoding="utf-8-sig")) == 3


def test_export_per_community_and_maps(street_files, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    led = tmp_path / "l.db"
    assert main(["ledger", "init", str(led)]) == 0
    assert _add(street_files, led, "--max-distance", 700, "-q") == 0
    assert "coverage" not in capsys.readouterr().out
    assert main(["ledger", "export", str(led), str(tmp_path / "out"), "--per-community",
                 "--maps", str(tmp_path / "maps")]) == 0
    out = capsys.readouterr().out
    with mc.ProjectLedger(led) as ledger:
        projects = ledger.projects()
    communities = sorted(projects["community"].dropna().unique())
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == sorted(["projects.csv", *(f"projects-{c}.csv" for c in communities)])
    maps = sorted(p.name for p in (tmp_path / "maps").iterdir())
    assert maps == sorted(["status_map.png", *(f"status_map-{c}.png" for c in communities)])
    assert out.count("wrote") == len(names) + len(maps)
    whole = pd.read_csv(tmp_path / "out" / "projects.csv", encoding="utf-8-sig")
    assert len(whole) == len(projects)


def test_rematch_reuses_last_options(tiny_files, tmp_path, capsys):
    led = tmp_path / "l.db"
    main(["ledger", "init", str(led)])
    assert _add(tiny_files, led, "--max-distance", 2000) == 0
    main(["ledger", "status", str(led), "P-N1", "in_progress"])
    capsys.readouterr()
    assert main(["ledger", "rematch", str(led)]) == 0
    out = capsys.readouterr().out
    assert "max-distance 2000" in out and "round 2 recorded" in out
    extra = pd.DataFrame({"need_id": ["N6"], "category": ["repair"], "demand": [1],
                          "x": [450.0], "y": [10.0], "community": ["东湖社区"]})
    mc.write_table(extra, tmp_path / "more.csv")
    assert main(["ledger", "rematch", str(led), "--needs", str(tmp_path / "more.csv"), "-q",
                 "--solver", "highs"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("round 3 recorded") and "1 new" in out
    with mc.ProjectLedger(led) as ledger:
        rounds = ledger.rounds()
        assert [o["max_distance"] for o in rounds["options"]] == [2000, 2000, 2000]
        assert rounds["options"].iat[-1]["solver"] == "highs"
        projects = ledger.projects().set_index("project_id")
    assert projects.at["P-N1", "status"] == "in_progress"
    assert "P-N6" in projects.index


def test_rematch_stickiness_and_dropped_resources(tiny_files, tmp_path, capsys):
    led = tmp_path / "l.db"
    main(["ledger", "init", str(led)])
    assert _add(tiny_files, led, "--max-distance", 2000) == 0
    with mc.ProjectLedger(led) as ledger:
        used = ledger.assignments()["resource_id"].tolist()
    assert main(["ledger", "rematch", str(led), "--stickiness", "0.2", "--drop-resource",
                 used[0]]) == 0
    with mc.ProjectLedger(led) as ledger:
        assert used[0] not in ledger.assignments()["resource_id"].tolist()


def test_rematch_prints_dropped_resource_counts(tiny_files, tmp_path, capsys):
    led = tmp_path / "l.db"
    main(["ledger", "init", str(led)])
    assert _add(tiny_files, led, "--max-distance", 2000) == 0
    capsys.readouterr()
    assert main(["ledger", "rematch", str(led), "-q"]) == 0
    out = capsys.readouterr().out
    assert "0 affected by dropped resources, 0 re-assigned, 0 to a backup" in out
    with mc.ProjectLedger(led) as ledger:
        used = ledger.assignments()["resource_id"].tolist()
    assert main(["ledger", "rematch", str(led), "-q", "--drop-resource", used[0]]) == 0
    out = capsys.readouterr().out
    with mc.ProjectLedger(led) as ledger:
        audit = ledger.audit()
    detail = json.loads(audit[audit["action"] == "rematch_dropped"]["detail"].iat[-1])
    assert detail["n_affected"] >= 1
    assert (f"{detail['n_affected']} affected by dropped resources, "
            f"{detail['n_reassigned']} re-assigned, {detail['n_to_backup']} to a backup") in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["ledger", "status", "{tmp}/missing.db"], "no ledger at"),
        (["ledger", "status", "{tmp}/l.db", "P-N9", "in_progress"], "unknown project 'P-N9'"),
        (["ledger", "status", "{tmp}/l.db", "P-N1", "completed"],
         "cannot move project 'P-N1' from 'not_started' to 'completed'"),
        (["ledger", "status", "{tmp}/l.db", "P-N1", "--note", "x"], "--by and --note need"),
        (["ledger", "status", "{tmp}/l.db", "P-N9"], "unknown project 'P-N9'"),
        (["ledger", "export", "{tmp}/l.db", "{tmp}/out.docx"], "suffix"),
        (["ledger", "export", "{tmp}/l.db", "{tmp}/o", "--per-community", "--community", "a"],
         "not both"),
        (["ledger", "export", "{tmp}/l.db", "{tmp}/east.csv", "--community", "Atlantis"],
         "got 'Atlantis'"),
        (["ledger", "export", "{tmp}/l.db", "{tmp}/needs.csv/p.csv"], "is a file"),
        (["ledger", "export", "{tmp}/l.db", "{tmp}/o.csv", "--maps", "{tmp}/needs.csv"],
         "must be a folder"),
        (["ledger", "add", "{tmp}/l.db", "--needs", "{tmp}/nope.csv", "--resources",
          "{tmp}/nope.csv"], "no such file"),
        (["ledger", "add", "{tmp}/not-a-ledger.csv", "--needs", "{tmp}/needs.csv",
          "--resources", "{tmp}/resources.csv"], "not a matchcore ledger"),
    ],
)
def test_bad_input_exit_2(tiny_files, capsys, argv, message):
    led = tiny_files / "l.db"
    with mc.ProjectLedger(led) as ledger:
        ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
    (tiny_files / "not-a-ledger.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    before = sorted(p.name for p in tiny_files.iterdir())
    assert main([a.format(tmp=tiny_files) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("matchcore: error: ") and message in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tiny_files.iterdir()) == before


def test_help_and_missing_action(capsys):
    for action in ("init", "add", "rematch", "status", "export"):
        with pytest.raises(SystemExit) as exc:
            main(["ledger", action, "--help"])
        assert exc.value.code == 0
        assert "usage: matchcore ledger " + action in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["ledger"])
    assert exc.value.code == 2


def test_rematch_passes_stickiness_when_supported(tiny_files, tmp_path, monkeypatch, capsys):
    """With a rematch that names stickiness/dropped_resources, the flags reach it."""
    from matchcore import ProjectLedger

    seen = {}
    original = ProjectLedger.rematch

    def rematch(self, new_needs=None, new_resources=None, options=None, *, by=None,
                stickiness=0.0, dropped_resources=(), **overrides):
        seen.update(stickiness=stickiness, dropped_resources=list(dropped_resources))
        return original(self, new_needs, new_resources, options, by=by, **overrides)

    monkeypatch.setattr(ProjectLedger, "rematch", rematch)
    led = tmp_path / "l.db"
    main(["ledger", "init", str(led)])
    assert _add(tiny_files, led, "--max-distance", 2000) == 0
    assert main(["ledger", "rematch", str(led), "--stickiness", "0.25", "--drop-resource",
                 "R1", "R2", "--drop-resource", "R3", "-q"]) == 0
    assert seen == {"stickiness": 0.25, "dropped_resources": ["R1", "R2", "R3"]}
    assert main(["ledger", "rematch", str(led), "-q"]) == 0
    assert seen == {"stickiness": 0.0, "dropped_resources": []}


def test_export_for_excel_local_time_and_chinese_headers(tiny_files, tmp_path, capsys):
    import pandas as pd

    led = tmp_path / "l.db"
    with mc.ProjectLedger(led) as ledger:
        ledger.add_round(mc.match(*mc.synthetic.tiny(), max_distance=2000))
    out = tmp_path / "projects.csv"
    assert main(["ledger", "export", str(led), str(out), "--chinese-headers",
                 "--local-time", "--community", "东湖社区"]) == 0
    frame = pd.read_csv(out, encoding="utf-8-sig")
    assert {"项目编号", "社区", "状态", "创建时间"} <= set(frame.columns)
    assert set(frame["社区"]) == {"东湖社区"}
    # Local wall-clock time, no zone suffix: Excel reads it as a date and time.
    assert frame["创建时间"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()
    assert main(["ledger", "export", str(led), str(tmp_path / "p.geojson"),
                 "--chinese-headers"]) == 2
    assert main(["ledger", "export", str(led), str(out), "--local-time",
                 "--community", "Atlantis"]) == 2
    assert "got 'Atlantis'" in capsys.readouterr().err


def test_rematch_dry_run_writes_nothing_and_previews_as_csv(tiny_files, tmp_path, capsys):
    led = tmp_path / "l.db"
    main(["ledger", "init", str(led)])
    assert _add(tiny_files, led, "--max-distance", 2000) == 0
    main(["ledger", "status", str(led), "P-N1", "in_progress"])
    before = led.read_bytes()
    capsys.readouterr()
    assert main(["ledger", "rematch", str(led), "-q", "--drop-resource", "R1", "--dry-run",
                 "--preview", str(tmp_path / "preview")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("round 2 (dry run: nothing written to") and "1 affected" in out
    assert led.read_bytes() == before
    names = sorted(p.name for p in (tmp_path / "preview").iterdir())
    assert names == ["cancellations.csv", "extensions.csv", "moves.csv", "new_projects.csv"]
    extensions = pd.read_csv(tmp_path / "preview" / "extensions.csv", encoding="utf-8-sig")
    assert extensions["project_id"].tolist() == ["P-N1"]
    # The same round, recorded: the preview it writes is the dry run's.
    assert main(["ledger", "rematch", str(led), "-q", "--drop-resource", "R1",
                 "--preview", str(tmp_path / "recorded")]) == 0
    assert capsys.readouterr().out.startswith("round 2 recorded")
    for name in names:
        pd.testing.assert_frame_equal(
            pd.read_csv(tmp_path / "preview" / name, encoding="utf-8-sig"),
            pd.read_csv(tmp_path / "recorded" / name, encoding="utf-8-sig"))
