"""Many rounds at once (matchcore.distributed): serial and on a real two-process Dask cluster.

One module-scoped ``LocalCluster(n_workers=2, processes=True, threads_per_worker=1)``;
every cluster result is compared with the serial one, table for table.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import matchcore as mc
from matchcore import synthetic
from matchcore.distributed import concat_results, plan_tasks, scenario_grid, split_by

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

# The crash-once solver below is defined here, in a module the workers cannot import.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

REACH = 300.0


@pytest.fixture(scope="module")
def client():
    # Worker processes import matchcore from the same tree as the tests.
    src = str(Path(mc.__file__).resolve().parent.parent)
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = src + (os.pathsep + old if old else "")
    try:
        with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster) as c:
            yield c
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


@pytest.fixture(scope="module")
def streets():
    return dict(synthetic.province_rounds(4, 800, seed=3))


@pytest.fixture(scope="module")
def serial(streets):
    return mc.match_many(streets, max_distance=REACH)


def assert_same(a: mc.MatchResult, b: mc.MatchResult) -> None:
    pd.testing.assert_frame_equal(a.projects, b.projects)
    pd.testing.assert_frame_equal(a.assignments, b.assignments)
    pd.testing.assert_frame_equal(a.unmet, b.unmet)
    pd.testing.assert_frame_equal(a.idle, b.idle)
    assert a.objective == b.objective
    np.testing.assert_array_equal(a.units, b.units)


# ----------------------------------------------------------------- without Dask


def test_import_matchcore_does_not_import_dask():
    code = ("import sys, matchcore; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ})
    assert out.stdout.strip() == "[]"


def test_serial_rounds_equal_match_in_the_given_order(streets, serial):
    assert list(serial) == list(streets)
    name = "S00002"
    assert_same(serial[name], mc.match(*streets[name], max_distance=REACH))


def test_match_result_and_rounds_failed_pickle(serial):
    r = serial["S00000"]
    back = pickle.loads(pickle.dumps(r))
    assert_same(r, back)
    err = mc.RoundsFailed("1 of 2 rounds failed", {"a": r}, {"b": mc.InputError("bad")})
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and list(again.results) == ["a"]
    assert isinstance(again.errors["b"], mc.InputError)


def test_packing_rule_fills_tasks_to_pack_needs(streets):
    assert plan_tasks(streets, pack_needs=1) == [[n] for n in streets]
    assert plan_tasks(streets, pack_needs=1_600) == [["S00000", "S00001"],
                                                     ["S00002", "S00003"]]
    assert plan_tasks(streets, pack_needs=10**6) == [list(streets)]


def test_bad_rounds_are_refused_with_their_name():
    needs, resources = synthetic.tiny()
    with pytest.raises(mc.InputError, match="round 'x' must be a"):
        mc.match_many({"x": needs})
    with pytest.raises(mc.InputError, match="unique; got 'a' twice"):
        mc.match_many([("a", (needs, resources)), ("a", (needs, resources))])


def test_street_seeds_are_spawned_children_and_streets_reproducible():
    child = np.random.SeedSequence(11).spawn(6)[5]
    assert (synthetic.street_seed(11, 5).generate_state(4) == child.generate_state(4)).all()
    a, _ = synthetic.street(5, 300, seed=11)
    b, _ = synthetic.street(5, 300, seed=11)
    pd.testing.assert_frame_equal(a, b)
    (_, lazy), = [(n, v) for n, v in synthetic.province_recipes(6, 300, seed=11) if n == "S00005"]
    pd.testing.assert_frame_equal(lazy()[0], a)
    ids = pd.concat([n["need_id"] for _, (n, _) in synthetic.province_rounds(3, 300)])
    assert ids.is_unique


def test_split_by_street_and_concat_give_city_tables(streets, serial):
    city_needs = pd.concat([n for n, _ in streets.values()], ignore_index=True)
    city_res = pd.concat([r for _, r in streets.values()], ignore_index=True)
    rounds = split_by(city_needs, city_res, "street")
    assert list(rounds) == list(streets)
    for name, (n, r) in rounds.items():
        pd.testing.assert_frame_equal(n.reset_index(drop=True), streets[name][0])
        pd.testing.assert_frame_equal(r.reset_index(drop=True), streets[name][1])
    city = concat_results(serial)
    assert city.projects["round"].tolist() == [
        name for name, r in serial.items() for _ in range(len(r.projects))]
    assert len(city.assignments) == sum(len(r.assignments) for r in serial.values())
    m = city.metrics
    assert m["assigned_units"] == sum(r.metrics["assigned_units"] for r in serial.values())
    assert m["unit_coverage"] == pytest.approx(m["assigned_units"] / m["demand_units"])
    assert list(m.index) == list(serial["S00000"].metrics.index)
    assert list(city.by_round.index) == list(serial)


def test_union_metrics_equal_one_city_wide_match_when_rounds_are_independent():
    needs, resources = synthetic.district("seed_street", seed=2, n_needs=600)
    whole = mc.match(needs, resources, max_distance=700, scope="community")
    parts = mc.match_many(split_by(needs, resources, "community"), max_distance=700,
                          scope="community")
    union = concat_results(parts).metrics
    for name in ("n_needs", "n_resources", "n_edges", "demand_units", "capacity_units"):
        assert union[name] == whole.metrics[name]
    # The optimum's value is unique (a solution need not be): coverage first, then score,
    # the score exact up to each problem's rounding of scores to integers (its tolerance).
    assert union["priority_weighted_coverage"] == pytest.approx(
        whole.metrics["priority_weighted_coverage"], abs=1e-12)
    slack = whole.problem.tolerance + sum(p.problem.tolerance for p in parts.values())
    assert union["total_score"] == pytest.approx(whole.metrics["total_score"], abs=slack)


def test_split_by_names_a_missing_column_or_value():
    needs, resources = synthetic.tiny()
    with pytest.raises(mc.InputError, match="needs has no column 'street'"):
        split_by(needs, resources)
    with pytest.raises(mc.InputError, match="missing in row"):
        split_by(needs.assign(community=[None, *needs["community"][1:]]), resources,
                 "community")


# ----------------------------------------------------------------- on the cluster


def test_cluster_results_equal_serial_bit_for_bit(client, streets, serial):
    for pack_needs in (1, 1_600):
        out = mc.match_many(streets, max_distance=REACH, client=client, pack_needs=pack_needs)
        assert list(out) == list(streets)
        for name in streets:
            assert_same(out[name], serial[name])


def test_rounds_given_as_recipes_are_built_on_the_workers(client, serial):
    out = mc.match_many(synthetic.province_recipes(2, 800, seed=3), max_distance=REACH,
                        client=client)
    for name in out:
        assert_same(out[name], serial[name])


def test_a_failing_round_is_named_and_the_others_finish(client, streets, serial):
    needs, resources = streets["S00001"]
    rounds = dict(streets)
    rounds["S00001"] = (needs.assign(demand=-1), resources)
    with pytest.raises(mc.RoundsFailed, match=r"1 of 4 rounds failed[\s\S]*'S00001': InputError"
                       ) as info:
        mc.match_many(rounds, max_distance=REACH, client=client, pack_needs=1_600)
    err = info.value
    assert list(err.errors) == ["S00001"] and isinstance(err.errors["S00001"], mc.InputError)
    # Its pack-mate S00000 finished too.
    assert list(err.results) == ["S00000", "S00002", "S00003"]
    for name, r in err.results.items():
        assert_same(r, serial[name])


class CrashOnce:
    """A flow solver that kills its worker process the first time it runs (a flag file)."""

    __name__ = "crash_once"

    def __init__(self, flag: str) -> None:
        self.flag = flag

    def __call__(self, network):
        if not os.path.exists(self.flag):
            Path(self.flag).touch()
            os._exit(13)  # the worker dies mid-task, as an out-of-memory kill would
        return mc.solvers.get_backend("highs").load()(network)


@pytest.mark.slow
def test_a_killed_worker_is_recovered_with_the_same_results(client, streets, tmp_path):
    solver = CrashOnce(str(tmp_path / "crashed"))
    rounds = {k: streets[k] for k in ("S00000", "S00001")}
    out = mc.match_many(rounds, max_distance=REACH, solver=solver, client=client,
                        pack_needs=1, retries=2)
    assert (tmp_path / "crashed").exists()  # a worker did die
    again = mc.match_many(rounds, max_distance=REACH, solver=solver)  # serial, flag set
    assert list(out) == list(rounds)
    for name in rounds:
        assert_same(out[name], again[name])
        assert out[name].solver == "crash_once"


class _Locked:
    __name__ = "locked"

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def __call__(self, network):  # pragma: no cover - never runs
        raise AssertionError


def test_an_unpicklable_solver_is_refused_before_anything_runs(client, streets):
    with pytest.raises(mc.InputError, match="'locked' cannot be sent to Dask workers"):
        mc.match_many(streets, solver=_Locked(), client=client)


def test_sweep_on_the_cluster_equals_serial(client, streets):
    needs, resources = streets["S00003"]
    weights = {"near": mc.Weights(locality=1.0), "typed": mc.Weights(type=1.0, locality=0.0),
               "default": mc.Weights()}
    here = mc.analysis.sweep(needs, resources, weights, max_distance=REACH)
    there = mc.analysis.sweep(needs, resources, weights, max_distance=REACH, client=client)
    pd.testing.assert_frame_equal(here, there)


def test_scenario_grid_on_the_cluster_equals_serial(client):
    kwargs = dict(presets=["seed_street"], seeds=[0, 1], scarcity=[0.6, 1.2],
                  weights={"default": mc.Weights(), "near": mc.Weights(locality=1.0)},
                  spec={"n_needs": 300})
    here = scenario_grid(**kwargs)
    there = scenario_grid(**kwargs, client=client)
    assert len(here) == 8 and here["scarcity"].tolist() == [0.6, 0.6, 1.2, 1.2] * 2
    pd.testing.assert_frame_equal(here.drop(columns="seconds"), there.drop(columns="seconds"))
    with pytest.raises(mc.RoundsFailed) as info:
        scenario_grid(presets=["seed_street"], seeds=[0, -1], spec={"n_needs": 300},
                      client=client)
    assert list(info.value.errors) == ["seed_street/seed=-1/scarcity=None"]
    assert list(info.value.results) == ["seed_street/seed=0/scarcity=None"]
