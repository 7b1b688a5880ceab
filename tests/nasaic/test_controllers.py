"""nasaic.controllers: every controller is deterministic given its seed and resumes exactly
from its JSON state; RL keeps to its hardware re-samples and learns; evolution mutates 1-2
genes of a bounded population; the hybrid controller's and the successive baseline's
hardware is the exhaustive best chip for their networks."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json

import numpy as np
import pandas as pd
import pytest

from nasaic.controllers import CONTROLLERS, make_controller
from nasaic.controllers.base import Outcome, choose, reward
from nasaic.controllers.evolution import POPULATION
from nasaic.controllers.hybrid import _with_exact_hardware
from nasaic.oracle import CallableOracle
from nasaic.problem import Problem
from nasaic.search import run_search
from nasaic.space import nb201
from nasaic.spec import load_spec
from nasaic.workflow import DEMO_SPEC

RTOL = 1e-9
EPISODES = {"rl": 40, "evolution": 40, "random": 40, "hybrid": 3, "successive": 3}


def small_spec(specs=None, search=None, **hardware) -> dict:
    """DEMO_SPEC with a smaller hardware space (2 templates x 2 PEs x 2 NoC bandwidths)."""
    data = copy.deepcopy(DEMO_SPEC)
    data["hardware"].update({"templates": ["dla", "shi"], "pes": [64, 256], "noc_bw_bytes_per_cycle": [16, 64]},
                            **hardware)
    if specs is not None:
        data["specs"] = specs
    data["search"].update(search or {})
    return data


@pytest.fixture(scope="module")
def problem(reference):
    return Problem(load_spec(small_spec()))


def _spec(problem, controller, seed=0, **search):
    spec = problem.spec.replace_search(controller=controller, episodes=EPISODES[controller], **search)
    return dataclasses.replace(spec, seed=seed)


def _step(problem, controller):
    """One episode as nasaic.search runs it; None when the controller is done."""
    proposal = controller.propose()
    if proposal is None:
        return None
    ev = problem.evaluate(proposal.genes)
    kept = choose(ev)
    controller.tell(proposal, Outcome(ev, kept, reward(ev, kept, controller.settings.slack_weight)))
    return proposal, ev, kept


def _all_hardware(problem) -> np.ndarray:
    """Every hardware gene vector: each slot's (template, PEs, bandwidth) x every task mapping."""
    options = problem.gene_options[problem.hardware_genes]
    return np.array(list(itertools.product(*[range(o) for o in options])), dtype=np.int64)


def _enumerate(problem, network_row):
    genes = np.repeat(network_row[None, :], 1, axis=0)
    hw = _all_hardware(problem)
    genes = np.repeat(genes, len(hw), axis=0)
    genes[:, problem.hardware_genes] = hw
    return problem.evaluate(genes)


def _best_latency(ev, mask) -> float:
    return float(np.min(np.where(mask, ev.latency_cycles, np.inf)))


@pytest.mark.parametrize("name", list(CONTROLLERS))
def test_deterministic_given_the_seed(problem, name):
    seeds = (0, 0) if name == "successive" else (0, 0, 1)     # successive has no randomness
    runs = [run_search(_spec(problem, name, seed), None, progress=False, problem=problem).designs
            for seed in seeds]
    assert set(runs[0]["episode"]) == set(range(1 if name == "successive" else EPISODES[name]))
    pd.testing.assert_frame_equal(runs[0], runs[1])
    if name != "successive":
        arch = [c for c in runs[0].columns if c.endswith("_arch") or c == "chip"]
        assert not runs[0][arch].equals(runs[2][arch])


@pytest.mark.parametrize("name", list(CONTROLLERS))
def test_state_round_trip_reproduces_the_next_proposals(problem, name):
    settings = _spec(problem, name).search
    a = make_controller(name, problem, settings, seed=0)
    for _ in range({"hybrid": 3, "successive": 1}.get(name, 25)):
        _step(problem, a)
    b = make_controller(name, problem, settings, seed=12345)        # another generator until loaded
    b.load_state(json.loads(json.dumps(a.state())))
    for _ in range(3 if name == "hybrid" else 8):
        pa, pb = a.propose(), b.propose()
        if pa is None:
            assert pb is None and name == "successive"
            break
        np.testing.assert_array_equal(pa.genes, pb.genes)
        ev = problem.evaluate(pa.genes)
        kept = choose(ev)
        out = Outcome(ev, kept, reward(ev, kept, settings.slack_weight))
        a.tell(pa, out)
        b.tell(pb, out)
    assert json.dumps(a.state()) == json.dumps(b.state())


@pytest.mark.parametrize("retries", [0, 3, 10])
def test_rl_hardware_retries_and_shared_networks(problem, retries):
    settings = _spec(problem, "rl", hardware_retries=retries).search
    rl = make_controller("rl", problem, settings, seed=1)
    for _ in range(30):
        proposal, _, _ = _step(problem, rl)
        g = proposal.genes
        assert 1 <= len(g) <= 1 + retries
        np.testing.assert_array_equal(g[:, problem.network_genes], g[:1, problem.network_genes].repeat(len(g), 0))


def _learning_problem(reference):
    """One slot, one config, no specs: only the networks matter; a callable oracle makes one
    network tuple clearly best (accuracy falls 15 points per gene away from the target)."""
    targets = {"cifar10": (3, 2, 3, 1, 0, 3), "cifar100": (2, 3, 3, 4, 1, 2)}

    def oracle(name):
        return CallableOracle("nb201", lambda arch: 90.0 - 15.0 * sum(
            a != b for a, b in zip(nb201.encode(arch), targets[name])), name=f"toy-{name}")

    data = small_spec(specs={}, search={"hardware_retries": 0}, sub_accelerators=1, templates=["dla"], pes=[256],
                      noc_bw_bytes_per_cycle=[64], budget={})
    return Problem(load_spec(data), oracles={n: oracle(n) for n in targets}), targets


def test_rl_policy_learns_the_best_networks(reference):
    p, targets = _learning_problem(reference)
    target = np.concatenate([targets[t.name] for t in p.tasks])
    checkpoints = (0, 75, 150, 300)
    probs = np.zeros((2, len(checkpoints)))
    for seed in range(2):
        rl = make_controller("rl", p, p.spec.search, seed=seed)
        for episode in range(checkpoints[-1] + 1):
            if episode in checkpoints:
                probs[seed, checkpoints.index(episode)] = np.mean(
                    [np.exp(l[g] - l.max()) / np.exp(l - l.max()).sum() for l, g in zip(rl.logits, target)])
            _step(p, rl)
    mean = probs.mean(axis=0)
    assert mean[0] == pytest.approx(1 / 5)                       # uniform to start
    assert (np.diff(mean) > 0).all(), mean                       # rises over the episodes
    assert mean[-1] > mean[0] + 0.15, mean


def test_evolution_population_and_mutations(problem):
    settings = _spec(problem, "evolution").search
    evo = make_controller("evolution", problem, settings, seed=2)
    net, hw = problem.network_genes, problem.hardware_genes
    checked = 0
    for episode in range(60):
        population = [np.array(g) for g, _ in evo.population]
        proposal, _, _ = _step(problem, evo)
        assert len(evo.population) == min(episode + 1, POPULATION)
        if episode < POPULATION:
            continue
        child = proposal.genes[0]
        diffs = [((child[net] != m[net]).sum(), (child[hw] != m[hw]).sum()) for m in population]
        assert any(dn == 1 and dh <= 1 for dn, dh in diffs), diffs      # 1-2 genes from a parent
        for other in proposal.genes[1:]:                                 # hardware re-mutations of the child
            np.testing.assert_array_equal(other[net], child[net])
            assert (other[hw] != child[hw]).sum() <= 1
        checked += 1
    assert checked == 60 - POPULATION


def _check_exact_hardware(p, genes_row, proposal_genes):
    """The proposal's hardware is the min-latency chip meeting specs, else within the budget."""
    ev = _enumerate(p, genes_row)
    got = p.evaluate(proposal_genes)
    assert len(got) == 1
    np.testing.assert_array_equal(got.genes[0, p.network_genes], genes_row[p.network_genes])
    if ev.meets_specs.any():
        assert got.meets_specs[0]
        np.testing.assert_allclose(got.latency_cycles[0], _best_latency(ev, ev.meets_specs), rtol=RTOL)
        return True
    ok = ev.within_budget & ev.feasible
    assert got.within_budget[0] and not got.meets_specs[0]
    np.testing.assert_allclose(got.latency_cycles[0], _best_latency(ev, ok), rtol=RTOL)
    return False


def test_hybrid_hardware_is_the_exhaustive_best(problem):
    p = problem
    hyb = make_controller("hybrid", p, _spec(p, "hybrid").search, seed=3)
    rows = [hyb.propose().genes[0] for _ in range(6)]              # uniform policy: random network tuples
    met = [_check_exact_hardware(p, row, row[None, :]) for row in rows]
    small = np.zeros(p.n_genes, dtype=np.int64)
    small[p.network_genes] = nb201.encode("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|"
                                          "skip_connect~0|skip_connect~1|skip_connect~2|") * 2
    met.append(_check_exact_hardware(p, small, _with_exact_hardware(hyb, small).genes))
    assert any(met) and not all(met), met                          # both branches exercised


@pytest.mark.parametrize("specs, meets", [
    ({"latency_cycles": 1e9, "energy_nj": 1e9, "area_mm2": 100.0}, True),
    ({"latency_cycles": 1e3}, False)])
def test_successive_is_the_top_networks_on_their_best_chip(reference, specs, meets):
    p = Problem(load_spec(small_spec(specs=specs, search={"controller": "successive"})))
    table = nb201.table(reference)
    succ = make_controller("successive", p, p.spec.search, seed=0)
    proposal, ev, _ = _step(p, succ)
    assert succ.propose() is None                                  # one episode
    assert len(ev) == 1
    for i, t in enumerate(p.tasks):
        assert ev.accuracy_pct[0, i] == pytest.approx(table[f"{t.spec.dataset}_test_acc"].max())
    assert _check_exact_hardware(p, proposal.genes[0], proposal.genes) == meets
