"""nasaic.search: a stopped and resumed search equals an uninterrupted one for every controller;
best.json's numbers are what hwsim gives for that chip and those networks re-evaluated from scratch,
and its accuracies what a fresh oracle answers; an infeasible spec ends with the closest design and
by how much it misses; the successive baseline violates the shipped specs while the exact optimum
meets them; loosening the specs never lowers the optimum nor a fixed-seed random search's best, and
tightening the energy bound never raises them.

Small specs (two templates, two PE and two NoC choices) keep the file fast; the costs come from the
session's cache (tests/conftest.py sets HWSIM_CACHE_DIR).
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hwsim
from hwsim.errors import SpecError
from hwsim.system import evaluate_chip
from nasaic import oracle as oracle_mod
from nasaic.oracle import TabularOracle, make_oracle
from nasaic.problem import Problem
from nasaic.results import best_json, best_row
from nasaic.search import run_search
from nasaic.space import mnasnet, nb201
from nasaic.spec import load_spec
from nasaic.truth import solve
from nasaic.workflow import DEMO_SPEC, baseline_designs

RTOL = 1e-9
REPO = Path(__file__).resolve().parents[2]


def small_spec(**search) -> dict:
    """DEMO_SPEC with two choices per hardware gene (8 configs) and a short search."""
    data = copy.deepcopy(DEMO_SPEC)
    data["hardware"].update(templates=["dla", "shi"], pes=[64, 128], noc_bw_bytes_per_cycle=[16, 32],
                            budget={"pes": 256, "noc_bw_bytes_per_cycle": 64})
    data["search"] = {"controller": "random", "episodes": 60, "checkpoint_every": 10, **search}
    return data


def with_search(problem: Problem, **search):
    """The problem's spec with other search settings (the Problem does not depend on them)."""
    return problem.spec.replace_search(**search)


def shared_problem(spec_data: dict, like: Problem) -> Problem:
    """A Problem of ``spec_data`` reusing ``like``'s oracles (same tasks), to skip re-reading tables."""
    return Problem(load_spec(spec_data), oracles={t.name: t.oracle for t in like.tasks})


@pytest.fixture(scope="module")
def small(reference) -> Problem:
    return Problem(load_spec(small_spec()))


def best_of(problem: Problem, designs: pd.DataFrame) -> dict:
    return best_json(problem, *best_row(designs))


# -- 1. resume equals an uninterrupted run ------------------------------------------------------------------

RESUME_CASES = {          # controller: (episodes, checkpoint_every, stop_after)
    "rl": (60, 10, 25),               # 25: the stop lands between checkpoints (a partial part is written)
    "evolution": (60, 10, 30),        # past evolution's 20 random warm-up episodes
    "random": (60, 10, 25),
    "hybrid": (6, 2, 3),               # the MILP per episode: few episodes
    "successive": (5, 2, 1),          # one episode, then nothing more to propose
}


@pytest.mark.parametrize("controller", list(RESUME_CASES))
def test_resume_equals_uninterrupted_run(small, tmp_path, controller):
    episodes, every, stop = RESUME_CASES[controller]
    spec = with_search(small, controller=controller, episodes=episodes, checkpoint_every=every)
    whole = run_search(spec, tmp_path / "whole", progress=False, problem=small)
    first = run_search(spec, tmp_path / "cut", progress=False, problem=small, stop_after=stop)
    assert first.episodes_run == stop
    assert sorted(first.designs["episode"].unique()) == list(range(stop))
    rest = run_search(spec, tmp_path / "cut", resume=True, progress=False, problem=small)
    ran = whole.designs["episode"].nunique()
    assert rest.episodes_run == ran - stop
    assert ran == (1 if controller == "successive" else episodes)
    pd.testing.assert_frame_equal(rest.designs, whole.designs)
    assert best_of(small, rest.designs) == best_of(small, whole.designs)


def test_resume_refuses_another_spec_and_a_missing_checkpoint(small, tmp_path):
    spec = with_search(small, episodes=20, checkpoint_every=10)
    run_search(spec, tmp_path, progress=False, problem=small, stop_after=10)
    other = load_spec({**small_spec(episodes=20), "seed": 1})
    with pytest.raises(SpecError, match="fingerprint"):
        run_search(other, tmp_path, resume=True, progress=False, problem=small)
    with pytest.raises(SpecError, match="no checkpoint"):
        run_search(spec, tmp_path / "empty", resume=True, progress=False, problem=small)


# -- 3. best.json re-evaluated from scratch ---------------------------------------------------------------------

def fresh_network(task: dict, spec):
    """The network of a best.json task entry, built from its arch alone."""
    t = next(t for t in spec.tasks if t.name == task["name"])
    if t.space == "nb201":
        return nb201.build(task["arch"], t.dataset, t.batch, t.bits)
    return mnasnet.build(task["arch"], t.batch, t.bits)


def fresh_accelerator(sub: dict, spec) -> hwsim.Accelerator:
    hw = spec.hardware
    return hwsim.load_template(sub["template"], **dict(hw.params.get(sub["template"], {})), pes=sub["pes"],
                               noc_bw_bytes_per_cycle=sub["noc_bw_bytes_per_cycle"],
                               dram_bw_bytes_per_cycle=sub["dram_bw_bytes_per_cycle"], clock_hz=hw.clock_hz)


def check_best_from_scratch(problem: Problem, best: dict, oracles: dict) -> None:
    """best.json's chip numbers equal hwsim.system's closed form of problem.chip(genes) and the
    combination of fresh hwsim.evaluate runs of the networks; its accuracies a fresh oracle's."""
    spec = problem.spec
    report = evaluate_chip(problem.chip(best["genes"]))
    assert report.feasible
    assert report.latency_cycles == pytest.approx(best["latency_cycles"], rel=RTOL)
    assert report.energy_pj / 1e3 == pytest.approx(best["energy_nj"], rel=RTOL)
    assert report.area_mm2 == pytest.approx(best["area_mm2"], rel=RTOL)
    if best["meets_specs"]:
        assert report.meets_specs
    # from nothing but best.json: per sub-accelerator its tasks in sequence; the chip's latency is the
    # busiest one, energy the sum over tasks, area the sum over the sub-accelerators
    tasks = {t["name"]: t for t in best["tasks"]}
    busy, energy_pj, area = [], 0.0, 0.0
    for sub in best["sub_accelerators"]:
        acc = fresh_accelerator(sub, spec)
        totals = [hwsim.evaluate(fresh_network(tasks[name], spec), acc).total for name in sub["tasks"]]
        busy.append(sum(t.latency_s for t in totals))
        energy_pj += sum(t.energy_pj for t in totals)
        area += totals[0].area_mm2
        for name in sub["tasks"]:
            assert tasks[name]["sub_accelerator"] == sub["name"]
    assert max(busy) * spec.hardware.clock_hz == pytest.approx(best["latency_cycles"], rel=RTOL)
    assert energy_pj / 1e3 == pytest.approx(best["energy_nj"], rel=RTOL)
    assert area == pytest.approx(best["area_mm2"], rel=RTOL)
    for t in spec.tasks:
        answer = oracles[t.name](tasks[t.name]["arch"])
        assert tasks[t.name]["accuracy_pct"] == answer.accuracy
        assert tasks[t.name]["accuracy_source"] == answer.source
    assert best["objective_pct"] == pytest.approx(np.mean([tasks[t.name]["accuracy_pct"] for t in spec.tasks]),
                                                  rel=RTOL)


def test_best_json_nb201_is_hwsim_from_scratch(small):
    run = run_search(with_search(small, episodes=60), None, progress=False, problem=small)
    best = best_of(small, run.designs)
    assert best["meets_specs"]
    fresh = {t.name: make_oracle(t.space, t.dataset) for t in small.spec.tasks}
    check_best_from_scratch(small, best, fresh)


#: the surrogate with one cheap candidate model (the full candidate set takes seconds to cross-validate)
SURROGATE = dict(candidates=oracle_mod.CANDIDATES[:1], folds=2)


@pytest.mark.parametrize("table_only", [True, False])
def test_best_json_mnasnet_is_hwsim_from_scratch(small, table_only):
    data = small_spec(episodes=30)
    data["tasks"][1] = {"name": "imagenet", "space": "mnasnet", "dataset": "imagenet", "table_only": table_only}
    data["specs"] = {"latency_cycles": 1e9, "energy_nj": 1e9, "area_mm2": 100.0}      # ImageNet-sized bounds
    oracles = {"cifar10": small.tasks[0].oracle}
    if not table_only:
        oracles["imagenet"] = make_oracle("mnasnet", "imagenet", table_only=False, **SURROGATE)
    problem = Problem(load_spec(data), oracles=oracles)
    run = run_search(problem.spec, None, progress=False, problem=problem)
    best = best_of(problem, run.designs)
    assert best["meets_specs"]
    fresh = {"cifar10": make_oracle("nb201", "cifar10"),
             "imagenet": make_oracle("mnasnet", "imagenet", table_only=table_only,
                                     **({} if table_only else SURROGATE))}
    check_best_from_scratch(problem, best, fresh)
    imagenet = next(t for t in best["tasks"] if t["name"] == "imagenet")
    assert (mnasnet.canonical(imagenet["arch"]) in TabularOracle("mnasnet", "imagenet")) == table_only
    assert ("surrogate" in imagenet["accuracy_source"]) != table_only


# -- 4. an infeasible spec -----------------------------------------------------------------------------------

def test_infeasible_spec_reports_the_closest_design_and_its_misses(small):
    data = small_spec(episodes=30)
    data["specs"] = {"latency_cycles": 10, "energy_nj": 6.0e5, "area_mm2": 3.0}
    problem = shared_problem(data, small)
    run = run_search(problem.spec, None, progress=False, problem=problem)
    designs = run.designs
    assert len(designs) and not designs["meets_specs"].any()
    best = best_of(problem, designs)
    assert best["meets_specs"] is False
    assert best["latency_cycles"] > 10
    row = designs.loc[designs["genes"] == ",".join(map(str, best["genes"]))].iloc[0]
    assert row["violation"] == designs["violation"].min()
    assert best["objective_pct"] == designs.loc[designs["violation"] == row["violation"], "objective_pct"].max()
    missed = {k for k, bound in problem.limits.items() if best[k] > bound}
    assert "latency_cycles" in missed and set(best["misses_by_pct"]) == missed
    for key, pct in best["misses_by_pct"].items():
        assert pct > 0
        assert pct == pytest.approx(100 * (best[key] / problem.limits[key] - 1), rel=RTOL)
    truth = solve(problem)
    assert truth.optimum.status != "optimal" and truth.evaluated is None and math.isnan(truth.objective_pct)


# -- 5. the successive baseline violates the shipped specs; the exact optimum meets them ------------------------

def baseline_violates_optimum_meets(problem: Problem) -> None:
    base, base_meets = best_row(baseline_designs(problem))
    assert not base_meets
    assert not all(base[f"meets_{k}"] for k in problem.limits), "the baseline violates at least one spec"
    truth = solve(problem)
    assert truth.optimum.status == "optimal" and bool(truth.evaluated.meets_specs[0])
    assert truth.objective_pct <= base["objective_pct"]         # the baseline's networks are the most accurate


@pytest.mark.slow            # the shipped specs' own cost tables and exact optima: seconds each
@pytest.mark.parametrize("spec", ["specs/w2.yaml", "demo"])
def test_successive_violates_nb201_specs_while_the_optimum_meets_them(reference, spec):
    source = DEMO_SPEC if spec == "demo" else REPO / spec
    baseline_violates_optimum_meets(Problem(load_spec(source)))


@pytest.mark.slow
def test_successive_violates_w1_while_the_optimum_meets_it(reference):
    """w1's MnasNet task searches with the surrogate, but the baseline and the optimum only score
    tabulated networks (enumerable_accuracy), so the table oracle alone gives them the same answers."""
    spec = load_spec(REPO / "specs" / "w1.yaml")
    problem = Problem(spec, oracles={"imagenet": TabularOracle("mnasnet", "imagenet")})
    assert not problem.tasks[1].enumerable_is_whole_space
    baseline_violates_optimum_meets(problem)


# -- 6. monotone in the specs ---------------------------------------------------------------------------------

def scaled(data: dict, factor: float, keys) -> dict:
    out = copy.deepcopy(data)
    out["specs"] = {k: v * (factor if k in keys else 1.0) for k, v in out["specs"].items()}
    return out


def loop_outputs(problem: Problem) -> tuple[float, float, pd.DataFrame]:
    """(exact optimum, best of a fixed-seed random search (-inf if none meets), its designs)."""
    truth = solve(problem)
    opt = truth.objective_pct if truth.optimum.status == "optimal" else -math.inf
    designs = run_search(problem.spec, None, progress=False, problem=problem).designs
    row, meets = best_row(designs)
    return opt, float(row["objective_pct"]) if meets else -math.inf, designs


def test_loosening_specs_never_lowers_and_tightening_energy_never_raises(small):
    base = small_spec(episodes=80)
    keys = tuple(base["specs"])
    variants = {"base": base, "loose": scaled(base, 10.0, keys), "tight": scaled(base, 0.6, ("energy_nj",))}
    out = {name: loop_outputs(shared_problem(data, small)) for name, data in variants.items()}
    # same seed, and random proposals do not depend on outcomes: the same designs, scored differently
    for name in ("loose", "tight"):
        assert out[name][2]["genes"].tolist() == out["base"][2]["genes"].tolist()
    met = {name: set(o[2].loc[o[2]["meets_specs"], "genes"]) for name, o in out.items()}
    assert met["tight"] < met["base"] < met["loose"], "the variants must change which designs meet the specs"
    for i in (0, 1):            # 0: the exact optimum, 1: the random search's best
        assert out["loose"][i] >= out["base"][i] >= out["tight"][i]
    assert out["loose"][0] > out["tight"][0]
