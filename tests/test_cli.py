"""The ``matchcore`` command, run in a subprocess exactly as users run it."""

import subprocess
import sys

import pandas as pd
import pytest

import matchcore as mc


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "matchcore", *map(str, args)],
        capture_output=True, text=True, encoding="utf-8", cwd=cwd, timeout=120,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("district")
    needs, resources = mc.synthetic.district("seed_street", n_needs=200)
    mc.write_table(needs, folder / "needs.csv")
    mc.write_table(resources, folder / "resources.csv")
    return folder


def test_version_and_help():
    out = run("--version")
    assert out.returncode == 0 and mc.__version__ in out.stdout
    for sub in ("demo", "match", "generate", "validate", "explain"):
        out = run(sub, "--help")
        assert out.returncode == 0 and "usage: matchcore" in out.stdout


def test_demo_outputs_add_up(tmp_path):
    out = run("--quiet", "demo", "-o", tmp_path / "demo")
    assert out.returncode == 0, out.stderr
    assert "coverage" in out.stdout and "unmet needs by reason" in out.stdout
    assert str((tmp_path / "demo").resolve()) in out.stdout
    assert "Traceback" not in out.stderr
    for name in ("projects.csv", "assignments.csv", "unmet.csv", "idle.csv"):
        assert (tmp_path / "demo" / name).read_bytes()[:3] == b"\xef\xbb\xbf"
    needs, _ = mc.synthetic.district("seed_street")
    assignments = pd.read_csv(tmp_path / "demo" / "assignments.csv", encoding="utf-8-sig")
    unmet = pd.read_csv(tmp_path / "demo" / "unmet.csv", encoding="utf-8-sig")
    projects = pd.read_csv(tmp_path / "demo" / "projects.csv", encoding="utf-8-sig")
    assert assignments["units"].sum() + unmet["unmet"].sum() == needs["demand"].sum()
    assert projects["assigned"].sum() == assignments["units"].sum()
    if "map skipped" not in out.stdout:
        assert (tmp_path / "demo" / "map.png").stat().st_size > 0


def test_match_and_explain(files, tmp_path):
    out = run("-q", "match", files / "needs.csv", files / "resources.csv", "-o", tmp_path,
              "--max-distance", 700, "--weights", "locality=0.5,type=0.5", "--solver", "highs")
    assert out.returncode == 0, out.stderr
    assert "highs" in out.stdout
    assert (tmp_path / "projects.csv").exists()
    out = run("explain", files / "needs.csv", files / "resources.csv", "N-0001",
              "--max-distance", 700)
    assert out.returncode == 0, out.stderr
    assert "need 'N-0001'" in out.stdout


def test_generate(tmp_path):
    out = run("-q", "generate", "seed_street", "-o", tmp_path, "--seed", 2)
    assert out.returncode == 0, out.stderr
    needs = mc.read_needs(tmp_path / "needs.csv")
    expected, _ = mc.synthetic.district("seed_street", seed=2)
    assert needs["need_id"].tolist() == expected["need_id"].tolist()
    assert "suggested --max-distance 700" in out.stdout


def test_validate_good_and_bad(files, tmp_path):
    out = run("validate", files / "resources.csv")
    assert out.returncode == 0 and "valid resources list" in out.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("need_id,category,demand,x,y\nN1,repair,-1,0,0\nN2,repair,two,0,0\n",
                   encoding="utf-8")
    out = run("validate", bad)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "`demand`" in out.stderr and "row 1" in out.stderr and "row 2" in out.stderr
    assert "line 3" in out.stderr


def test_validate_prints_every_problem(tmp_path):
    bad = tmp_path / "many.csv"
    rows = "".join(f"N{k},repair,-{k},0,0\n" for k in range(1, 31))
    bad.write_text("need_id,category,demand,x,y\n" + rows, encoding="utf-8")
    out = run("validate", bad)
    assert out.returncode == 2
    assert "30 problems" in out.stderr and "'N30'" in out.stderr and "line 31" in out.stderr


def test_bad_input_writes_nothing(files, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("need_id,category,x,y\nN1,,0,0\n", encoding="utf-8")
    out = run("match", bad, files / "resources.csv", "-o", tmp_path / "out")
    assert out.returncode == 2 and "`category`" in out.stderr
    assert not (tmp_path / "out").exists()
    out = run("match", files / "needs.csv", files / "resources.csv", "-o", tmp_path / "out",
              "--weights", "locality=lots")
    assert out.returncode == 2 and "--weights" in out.stderr
    out = run("validate", tmp_path / "missing.csv")
    assert out.returncode == 2 and "no such file" in out.stderr


def test_main_in_process(tmp_path):
    from matchcore.cli import main

    assert main(["validate", str(tmp_path / "none.csv")]) == 2


def test_compile_solver_notes_only_a_first_run_that_compiles(monkeypatch):
    import time

    from matchcore.cli.common import Progress, compile_solver
    from matchcore.solvers import network_simplex

    quiet = Progress(True)
    assert compile_solver("highs", quiet) is None
    assert compile_solver("no-such-solver", quiet) is None  # match reports it
    monkeypatch.setattr(network_simplex, "is_compiled", lambda: False)
    monkeypatch.setattr(network_simplex, "warm_up", lambda: time.sleep(1.05))
    assert "compiled the network simplex" in compile_solver("simplex", quiet)
    monkeypatch.setattr(network_simplex, "warm_up", lambda: None)  # from the disk cache
    assert compile_solver("simplex", quiet) is None


# ------------------------------------------------------------ checks before any work
@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "-o", "{tmp}/file"], "must be a folder; '{tmp}/file' is an existing file"),
        (["demo", "-o", "{tmp}/file/sub"], "is a file"),
        (["match", "{tmp}/file", "{tmp}/file", "-o", "{tmp}/file"], "must be a folder"),
        (["generate", "seed_street", "-o", "{tmp}/file"], "must be a folder"),
        (["demo", "-o", "{tmp}/out", "--weights", "distance=0.5"],
         "valid names: type, locality, priority, partner, distance_scale"),
        (["demo", "-o", "{tmp}/out", "--max-candidates", "0"], "max_candidates"),
    ],
)
def test_bad_arguments_exit_2_before_any_work(tmp_path, capsys, argv, message):
    from matchcore.cli import main

    (tmp_path / "file").write_text("x", encoding="utf-8")
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("matchcore: error: ") and message.format(tmp=tmp_path) in err
    assert "Traceback" not in err and "callable" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.parametrize("argv", [["generate", "seed_street", "--seed", "-1", "-o", "g"],
                                  ["demo", "--seed", "x"]])
def test_bad_seed_exits_2(argv, capsys):
    from matchcore.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "--seed" in capsys.readouterr().err


def test_unbounded_candidates_get_a_hint_with_a_suggested_reach():
    from matchcore.cli.common import unbounded_candidates_hint

    needs, resources = mc.synthetic.district("district_10k")
    hint = unbounded_candidates_hint(needs, resources, None)
    assert f"{len(needs) * len(resources):,} pairs" in hint and "--max-distance" in hint
    suggested = float(hint.rsplit("--max-distance ", 1)[1].split()[0])
    assert 100 <= suggested <= 10 * mc.synthetic.suggested_max_distance("district_10k")
    assert unbounded_candidates_hint(needs, resources, 700.0) == ""
    small_needs, small_resources = mc.synthetic.tiny()
    assert unbounded_candidates_hint(small_needs, small_resources, None) == ""


def test_chinese_headers(tmp_path):
    out = run("--quiet", "demo", "-o", tmp_path / "demo", "--chinese-headers")
    assert out.returncode == 0, out.stderr
    projects = pd.read_csv(tmp_path / "demo" / "projects.csv", encoding="utf-8-sig")
    assert {"项目编号", "需求编号", "社区", "状态"} <= set(projects.columns)


def test_sheets_dates_and_time_zone_options(tmp_path):
    pytest.importorskip("openpyxl")
    needs, resources = mc.synthetic.tiny()
    book = tmp_path / "lists.xlsx"
    with pd.ExcelWriter(book) as writer:
        needs.to_excel(writer, sheet_name="需求清单", index=False)
        resources.to_excel(writer, sheet_name="资源清单", index=False)
    out = run("validate", book, "--sheet", "资源清单")
    assert out.returncode == 0, out.stderr
    assert "a valid resources list of 4 rows" in out.stdout
    out = run("--quiet", "match", book, book, "-o", tmp_path / "out", "--max-distance", 2000)
    assert out.returncode == 0, out.stderr
    out = run("--quiet", "match", book, book, "-o", tmp_path / "out2", "--needs-sheet", "1")
    assert out.returncode == 2 and "`need_id` is a required column of needs" in out.stderr
    csv = tmp_path / "dated.csv"
    needs.assign(window_start="05/03/2025").to_csv(csv, index=False)
    assert run("validate", csv).returncode == 2
    assert run("validate", csv, "--dayfirst", "--timezone", "UTC").returncode == 0
    out = run("validate", csv, "--timezone", "Mars/Base")
    assert out.returncode == 2 and "`timezone` must be an IANA time zone name" in out.stderr
