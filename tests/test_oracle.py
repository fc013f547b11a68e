"""Every exact back-end's objective equals an independent networkx min-cost flow
and brute force on random instances; every exact solution passes ``verify()``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

import matchcore as mc
from conftest import EXACT_SOLVERS, objective_slack
from matchcore.solvers import solve, verify
from oracle import brute_force, lex_objective, networkx_oracle
from strategies import instances, random_district, random_instance

OBJECTIVES = ("coverage", "score")


def check(problem, solvers=EXACT_SOLVERS, brute=True):
    want, oracle_units = networkx_oracle(problem)
    assert verify(problem, oracle_units)  # the oracle's optimum is certified too
    if brute:
        exhaustive = brute_force(problem)
        if exhaustive is not None:
            assert exhaustive == want
    first = None
    for name in solvers:
        sol = solve(problem, name)
        assert sol.exact and sol.solver == name
        assert lex_objective(problem, sol.units) == want, name
        cert = verify(problem, sol.units)
        assert cert, (name, cert)
        if first is None:
            first = sol.units
        else:  # one assignment whichever exact back-end
            np.testing.assert_array_equal(sol.units, first, err_msg=name)


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_seeded_sweep(objective):
    """A few hundred random instances (ties, zero scores, empty lists, isolated nodes)."""
    rng = np.random.default_rng(20240501 + len(objective))
    for _ in range(150):
        inst = random_instance(rng)
        check(inst.problem(objective))


@given(instances(priorities=True, negative=True))
def test_hypothesis_coverage(inst):
    check(inst.problem("coverage"))


@given(instances(negative=True))
def test_hypothesis_score(inst):
    check(inst.problem("score"))


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_match_on_random_districts(objective):
    rng = np.random.default_rng(11)
    for _ in range(4):
        needs, resources = random_district(rng, 30, 20)
        r = mc.match(needs, resources, max_distance=1200, objective=objective)
        assert r.verify()
        want, _ = networkx_oracle(r.problem)
        assert lex_objective(r.problem, r.units) == want


@pytest.mark.slow
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_large_seeded_sweep(objective):
    rng = np.random.default_rng(99 + len(objective))
    for _ in range(400):
        inst = random_instance(rng, max_needs=10, max_resources=10, max_units=6)
        check(inst.problem(objective), brute=False)


def float_optimum(problem) -> float:
    """Best Σ score·units for the *float* scores, by an LP (the matrix is totally unimodular)."""
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    m = problem.n_edges
    if m == 0:
        return 0.0
    rows = np.concatenate([problem.need, problem.n_needs + problem.resource])
    a = coo_matrix((np.ones(2 * m), (rows, np.tile(np.arange(m), 2))),
                   shape=(problem.n_needs + problem.n_resources, m))
    b = np.concatenate([problem.demand, problem.capacity]).astype(float)
    res = linprog(-problem.score, A_ub=a, b_ub=b, bounds=(0, None), method="highs")
    assert res.status == 0
    return -res.fun


@given(instances(negative=True, max_units=6))
def test_float_objective_is_within_the_stated_tolerance(inst):
    """README: the float objective is within ``problem.tolerance`` of the true optimum."""
    p = inst.problem("score")
    units = solve(p).units
    got = float(p.score @ units)
    best = float_optimum(p)
    # The LP's own answer is exact only to its feasibility tolerance (~1e-9 relative).
    lp_slack = 1e-9 * max(1.0, abs(best))
    assert got <= best + lp_slack
    assert got >= best - objective_slack(p, got, best) - lp_slack
