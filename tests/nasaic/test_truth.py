"""nasaic.truth: the exact optimum of a co-search problem, checked independently through
Problem.evaluate: its design meets the specs with the reported objective, no design of a
2,000-episode random search beats it, and no change of one task's network (over all 15,625
NAS-Bench-201 cells and every chip) improves it (a local-optimality certificate). Infeasible
specs are reported with a reason; ``whole_space`` says whether the optimum covers the whole
space the search samples."""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest

from hwsim.system import evaluate_chip
from nasaic.controllers import make_controller
from nasaic.oracle import SurrogateOracle, TableThenSurrogate, _Ridge
from nasaic.problem import Problem
from nasaic.spec import load_spec
from nasaic.truth import solve
from nasaic.workflow import DEMO_SPEC

TOL = 1e-9


#: every one binds on the tiny space: loosening any by 30 % raises the optimum (by 0.68, 0.07 and
#: 1.55 points), so a solver that mishandles any one of them fails the checks below
SPECS = {"latency_cycles": 5.0e5, "energy_nj": 5.0e5, "area_mm2": 3.0}


def tiny_spec(specs=None, tasks=None) -> dict:
    """DEMO_SPEC (two NB201 tasks, two slots, its budget) on a tiny hardware space: dla with 64
    or 256 PEs and 32 bytes/cycle of NoC (two 256-PE slots exceed the budget); ``SPECS``."""
    data = copy.deepcopy(DEMO_SPEC)
    data["hardware"].update(templates=["dla"], pes=[64, 256], noc_bw_bytes_per_cycle=[32])
    data["specs"] = dict(SPECS if specs is None else specs)
    if tasks is not None:
        data["tasks"] = tasks
    return data


@pytest.fixture(scope="module")
def problem(reference):
    return Problem(load_spec(tiny_spec()))


@pytest.fixture(scope="module")
def truth(problem):
    return solve(problem)


def _all_hardware(p: Problem) -> np.ndarray:
    """Every chip once, up to relabelling the slots (the slots are interchangeable: the same
    choice sets and DRAM share): the used slots come first (slot 0, or slots 0 and 1), each
    with every config; an unused slot's genes stay 0 (they change nothing,
    tests/nasaic/test_problem.py). Two tasks: both on slot 0, or task 0 on 0 and task 1 on 1."""
    assert p.slots == 2 and len(p.tasks) == 2
    per_slot = list(itertools.product(*[range(p.gene_options[p.hw_start + j]) for j in range(3)]))
    rows = [list(c) + [0, 0, 0] + [0, 0] for c in per_slot]
    rows += [list(a) + list(b) + [0, 1] for a, b in itertools.product(per_slot, repeat=2)]
    return np.array(rows, dtype=np.int64)


def test_the_optimum_meets_the_specs_with_the_reported_objective(problem, truth):
    p = problem
    assert truth.optimum.status == "optimal" and truth.whole_space
    ev = p.evaluate(truth.genes)                    # re-scored from the genes alone
    assert ev.meets_specs[0] and ev.within_budget[0] and ev.feasible[0]
    assert ev.objective_pct[0] == pytest.approx(truth.objective_pct, abs=TOL)
    assert truth.evaluated.objective_pct[0] == pytest.approx(truth.objective_pct, abs=TOL)
    report = evaluate_chip(p.chip(truth.genes[0] if truth.genes.ndim == 2 else truth.genes))
    assert report.feasible and all(report.meets.values())
    # the specs bind: the unconstrained best (each task's most accurate network) is better
    best = np.mean([t.enumerable_accuracy().max() for t in p.tasks])
    assert truth.objective_pct < best - 0.1


def test_no_random_search_design_beats_the_optimum(problem, truth):
    p = problem
    rnd = make_controller("random", p, p.spec.search, seed=7)
    genes = np.vstack([rnd.propose().genes for _ in range(2_000)])          # 2,000 episodes, every candidate
    ev = p.evaluate(genes)
    assert ev.meets_specs.sum() > 100
    assert ev.objective_pct[ev.meets_specs].max() <= truth.objective_pct + TOL


def test_no_single_task_change_improves_the_optimum(problem, truth):
    p = problem
    hardware = _all_hardware(p)
    assert len(hardware) == 6
    networks = np.array(list(itertools.product(range(5), repeat=6)), dtype=np.int64)    # all 15,625 cells
    for t, sl in enumerate(p.task_slices):
        genes = np.repeat(truth.genes[None, :], len(networks) * len(hardware), axis=0)
        genes[:, sl] = np.tile(networks, (len(hardware), 1))
        genes[:, p.hardware_genes] = np.repeat(hardware, len(networks), axis=0)
        ev = p.evaluate(genes)
        ok = ev.meets_specs
        assert ok.any() and not ok.all()
        assert ev.objective_pct[ok].max() == pytest.approx(truth.objective_pct, abs=TOL), p.tasks[t].name


def test_infeasible_specs_are_reported_with_a_reason(reference):
    p = Problem(load_spec(tiny_spec(specs={"latency_cycles": 1.0e3, "area_mm2": 3.0})))
    gt = solve(p)
    assert gt.optimum.status == "infeasible"
    assert gt.genes is None and gt.evaluated is None and math.isnan(gt.objective_pct)
    assert "latency" in gt.optimum.reason
    # indeed: no chip runs the smallest networks that fast
    ev = p.evaluate(np.column_stack([np.zeros((len(_all_hardware(p)), p.hw_start), dtype=np.int64),
                                     _all_hardware(p)]))
    assert not ev.meets_specs.any()


def test_whole_space_only_when_every_task_is_enumerable(reference, truth):
    assert truth.whole_space and truth.note == "over the whole joint space"          # NB201 tasks
    mnas = {"space": "mnasnet", "dataset": "imagenet"}
    tasks = [dict(mnas, name="inet_table", table_only=True), dict(mnas, name="inet_sur", table_only=False)]
    oracle = TableThenSurrogate(reference, surrogate=SurrogateOracle(reference, folds=2,
                                                                     candidates=[_Ridge("onehot", 10.0)]))
    p = Problem(load_spec(tiny_spec(specs={"area_mm2": 3.0}, tasks=tasks)), oracles={"inet_sur": oracle})
    assert p.tasks[0].enumerable_is_whole_space and not p.tasks[1].enumerable_is_whole_space
    gt = solve(p)
    assert gt.optimum.status == "optimal" and not gt.whole_space
    assert "inet_sur" in gt.note and "inet_table" not in gt.note                # only the surrogate task
    # only an area spec: both tasks take the most accurate tabulated network, scored by the table
    best = max(oracle.table(k).accuracy for k in oracle.table.keys())
    assert gt.objective_pct == pytest.approx(best, abs=TOL)
    assert all(src[0].startswith("table:") for src in gt.evaluated.accuracy_source)
