"""nasaic.optimum: the decomposition equals exhaustive enumeration (objective and design, ties
included) on random small instances; infeasibility is reported with a reason; loosening a spec or
adding budget or slots never lowers the optimum; the reported costs are the closed form's, and
hwsim.system.evaluate_chips gives the same on a real CostTable."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import hwsim
from hwsim import zoo
from hwsim.errors import SpecError
from hwsim.system import Budget, CostTable, evaluate_chips
from nasaic import optimum
from nasaic.optimum import ConfigTable, TaskTable, brute_force_optimum, design_metrics, exact_optimum

N_INSTANCES = 250


def _instance(seed: int):
    """A small random instance; values on a coarse grid so that accuracy, latency and energy tie often."""
    rng = np.random.default_rng(seed)
    n_tasks, slots, n_cfg = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 6))
    tasks = []
    for _ in range(n_tasks):
        n_arch = int(rng.integers(1, 9))
        size, speed = rng.random(n_arch), rng.random(n_cfg) + 0.5
        latency = np.round(size[None] * speed[:, None] * 4, 1) + 0.1
        energy = np.round(size[None] * rng.random((n_cfg, 1)) * 4 + rng.random((n_cfg, n_arch)), 1)
        feasible = rng.random((n_cfg, n_arch)) > 0.2
        accuracy = np.round(size * 3 + rng.random(n_arch)) / 4          # correlated with size, many ties
        tasks.append(TaskTable(latency, energy, feasible, accuracy))
    configs = ConfigTable(area_mm2=np.round(rng.random(n_cfg) * 3, 1), pes=rng.integers(1, 5, n_cfg).astype(float),
                          noc_bw_bytes_per_cycle=rng.integers(1, 5, n_cfg).astype(float),
                          sram_bytes=rng.integers(1, 5, n_cfg).astype(float))
    budget = Budget(pes=int(rng.integers(2, 10)), sram_bytes=int(rng.integers(3, 12)) if rng.random() < 0.3 else None,
                    noc_bw_bytes_per_cycle=float(rng.integers(3, 12)) if rng.random() < 0.3 else None)
    budget = budget if rng.random() < 0.6 else None
    specs = {key: float(rng.random() * scale) for key, scale, p in
             (("latency_s", 5, 0.6), ("energy_pj", 8, 0.6), ("area_mm2", 5, 0.3)) if rng.random() < p}
    weights = rng.integers(1, 3, n_tasks).astype(float) if rng.random() < 0.5 else None
    return tasks, configs, dict(slots=slots, budget=budget, specs=specs, weights=weights)


def _design(r):
    return (r.status, r.objective, r.arch_index, r.slot_config, r.task_slot, r.latency_s, r.energy_pj, r.area_mm2)


def _objective(r) -> float:
    return r.objective if r.status == "optimal" else -math.inf


def test_equals_brute_force_on_random_instances():
    statuses = set()
    for seed in range(N_INSTANCES):
        tasks, configs, kw = _instance(seed)
        exact, brute = exact_optimum(tasks, configs, **kw), brute_force_optimum(tasks, configs, **kw)
        assert exact.status == brute.status, seed
        statuses.add(exact.status)
        if exact.status == "optimal":
            assert _design(exact) == _design(brute), seed
            assert exact.candidates_considered <= brute.candidates_considered
        else:
            assert exact.reason and math.isnan(exact.objective)
    assert statuses == {"optimal", "infeasible"}     # the instances exercise both


def test_chunked_expansion_gives_the_same_optimum(monkeypatch):
    """With a tiny memory bound (partial designs built a few at a time) the answer is unchanged."""
    monkeypatch.setattr(optimum, "CHUNK_ROWS", 3)
    for seed in range(60):
        tasks, configs, kw = _instance(seed)
        assert _design(exact_optimum(tasks, configs, **kw)) == _design(brute_force_optimum(tasks, configs, **kw))


def test_partitions_are_the_canonical_placements():
    # Bell numbers, truncated at the slot count: 4 tasks -> 1, 8, 14, 15 placements on 1..4 slots
    assert [len(optimum._partitions(4, s)) for s in (1, 2, 3, 4)] == [1, 8, 14, 15]
    assert optimum._partitions(3, 2) == [(0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 1)]


def test_reported_costs_are_the_closed_form_and_meet_every_constraint():
    checked = 0
    for seed in range(60):
        tasks, configs, kw = _instance(seed)
        r = exact_optimum(tasks, configs, **kw)
        if r.status != "optimal":
            continue
        checked += 1
        assert (r.latency_s, r.energy_pj, r.area_mm2) == design_metrics(tasks, configs, r.slot_config, r.task_slot,
                                                                        r.arch_index)
        weights = kw["weights"] if kw["weights"] is not None else np.ones(len(tasks))
        assert r.objective == pytest.approx(sum(w * t.accuracy[a] for w, t, a in zip(weights, tasks, r.arch_index)))
        used = [c for c in r.slot_config if c >= 0]
        assert sorted(set(r.task_slot)) == list(range(len(used)))   # canonical: no idle slot, slots in order
        assert all(t.feasible[r.slot_config[s], a] for t, s, a in zip(tasks, r.task_slot, r.arch_index))
        for key, value in kw["specs"].items():
            assert getattr(r, key) <= value
        budget = kw["budget"] or Budget()
        for key in ("pes", "noc_bw_bytes_per_cycle", "sram_bytes"):
            if getattr(budget, key) is not None:
                assert sum(getattr(configs, key)[used]) <= getattr(budget, key) * (1 + 1e-9)
    assert checked > 20


@pytest.mark.parametrize("seed", range(40))
def test_looser_specs_more_budget_more_slots_never_lower_the_optimum(seed):
    tasks, configs, kw = _instance(seed)
    base = _objective(exact_optimum(tasks, configs, **kw))
    for key in kw["specs"]:
        looser = dict(kw, specs={**kw["specs"], key: kw["specs"][key] * 1.5 + 0.5})
        assert _objective(exact_optimum(tasks, configs, **looser)) >= base
    if kw["budget"] is not None:
        more = dataclasses.replace(kw["budget"], pes=kw["budget"].pes + 3)
        assert _objective(exact_optimum(tasks, configs, **dict(kw, budget=more))) >= base
    if kw["slots"] < 4:
        assert _objective(exact_optimum(tasks, configs, **dict(kw, slots=kw["slots"] + 1))) >= base


def _two_equal_tasks(slots: int, **kw):
    """Two tasks of one network each, latency 1 and energy 1 on both configs."""
    task = TaskTable(np.ones((2, 1)), np.ones((2, 1)), np.ones((2, 1), dtype=bool), np.array([0.5]))
    configs = ConfigTable(area_mm2=np.array([1.0, 2.0]), pes=np.array([4.0, 8.0]),
                          noc_bw_bytes_per_cycle=np.array([1.0, 1.0]))
    return exact_optimum([task, task], configs, slots=slots, **kw)


def test_hand_checked_placement_and_tie_break():
    # one slot: both tasks in sequence (latency 2); two slots: in parallel on the cheaper config
    one = _two_equal_tasks(1)
    assert (one.slot_config, one.task_slot, one.latency_s, one.area_mm2) == ((0,), (0, 0), 2.0, 1.0)
    two = _two_equal_tasks(2)
    assert (two.slot_config, two.task_slot, two.latency_s, two.area_mm2) == ((0, 0), (0, 1), 1.0, 2.0)
    assert two.objective == 1.0 and two.energy_pj == 2.0
    # the area spec forbids two slots: back to one slot in sequence
    tight = _two_equal_tasks(2, specs={"area_mm2": 1.5})
    assert (tight.slot_config, tight.task_slot) == ((0, -1), (0, 0))


def test_infeasible_reports_the_constraint():
    joint = _two_equal_tasks(1, specs={"latency_s": 1.5})     # each task alone fits, not both in sequence
    assert joint.status == "infeasible" and "together" in joint.reason and math.isnan(joint.latency_s)
    assert _two_equal_tasks(2, specs={"latency_s": 1.5}).status == "optimal"
    energy = _two_equal_tasks(2, specs={"energy_pj": 0.5})
    assert energy.status == "infeasible" and "energy_pj" in energy.reason
    budget = _two_equal_tasks(2, budget=Budget(pes=3))
    assert budget.status == "infeasible" and "budget" in budget.reason
    tasks, configs, _ = _instance(3)
    dead = dataclasses.replace(tasks[0], feasible=np.zeros_like(tasks[0].feasible))
    r = exact_optimum([dead, *tasks[1:]], configs, slots=2)
    assert r.status == "infeasible" and "task 0" in r.reason and "maps" in r.reason


@pytest.mark.parametrize("change, field", [
    (dict(specs={"latency_cycles": 10.0}), "specs.latency_cycles"),
    (dict(slots=5), "slots"),
    (dict(slots=0), "slots"),
    (dict(weights=[1.0, 2.0, 3.0]), "weights"),
    (dict(budget=Budget(sram_bytes=10)), "budget.sram_bytes"),
])
def test_bad_input_is_a_spec_error(change, field):
    task = TaskTable(np.ones((2, 1)), np.ones((2, 1)), np.ones((2, 1), dtype=bool), np.array([0.5]))
    configs = ConfigTable(area_mm2=np.ones(2), pes=np.ones(2), noc_bw_bytes_per_cycle=np.ones(2))
    kw = dict(dict(slots=2), **change)
    with pytest.raises(SpecError, match=field.replace(".", r"\.")):
        exact_optimum([task, task], configs, **kw)


def test_bad_arrays_are_spec_errors():
    configs = ConfigTable(area_mm2=np.ones(2), pes=np.ones(2), noc_bw_bytes_per_cycle=np.ones(2))
    ok = np.ones((2, 3), dtype=bool)
    with pytest.raises(SpecError, match="latency_s"):
        exact_optimum([TaskTable(np.ones((3, 3)), np.ones((2, 3)), ok, np.ones(3))], configs, slots=1)
    with pytest.raises(SpecError, match="accuracy"):
        exact_optimum([TaskTable(np.ones((2, 3)), np.ones((2, 3)), ok, np.array([1, np.nan, 0]))], configs, slots=1)
    with pytest.raises(SpecError, match=r"energy_pj\[1, 2\]"):
        energy = np.ones((2, 3))
        energy[1, 2] = np.nan
        exact_optimum([TaskTable(np.ones((2, 3)), energy, ok, np.ones(3))], configs, slots=1)


# -- against hwsim's closed form on a real CostTable ----------------------------------

@pytest.fixture(scope="module")
def real():
    nets = [zoo.get_network("alexnet"), zoo.get_network("mobilenet_v2"), zoo.get_network("resnet18")]
    configs = [hwsim.load_template(t, pes=p, noc_bw_bytes_per_cycle=32, dram_bw_bytes_per_cycle=16)
               for t in ("dla", "shi") for p in (64, 256)]
    return CostTable.build(nets, configs)


def _task(table: CostTable, columns, accuracy) -> TaskTable:
    return TaskTable(table.latency_s[:, columns], table.energy_pj[:, columns], table.feasible[:, columns],
                     np.asarray(accuracy, dtype=float))


@pytest.mark.parametrize("slots, pes, latency_scale", [(1, 512, 3.0), (1, 512, 1.0), (2, 320, 1.0), (2, 512, 0.6),
                                                        (3, 768, 0.8)])
def test_optimum_matches_evaluate_chips_on_a_cost_table(real, slots, pes, latency_scale):
    columns = ([0, 1], [1, 2])                       # each task chooses between two zoo networks
    tasks = [_task(real, columns[0], [0.56, 0.71]), _task(real, columns[1], [0.69, 0.74])]
    configs = ConfigTable(area_mm2=real.area_mm2, pes=real.pes, noc_bw_bytes_per_cycle=real.noc_bw_bytes_per_cycle,
                          sram_bytes=real.sram_bytes)
    specs = {"latency_s": float(np.median(real.latency_s)) * latency_scale, "area_mm2": 8.0}
    budget = Budget(pes=pes, sram_bytes=600_000)
    r = exact_optimum(tasks, configs, slots=slots, budget=budget, specs=specs)
    assert _design(r) == _design(brute_force_optimum(tasks, configs, slots=slots, budget=budget, specs=specs))
    assert r.status == "optimal"
    network = [columns[t][a] for t, a in enumerate(r.arch_index)]
    chip = evaluate_chips(real, np.array([r.slot_config]), np.array(r.task_slot), np.array(network), specs=specs,
                          budget=budget)
    assert chip.feasible[0] and chip.meets_specs[0] and chip.within_budget[0]
    assert chip.latency_s[0] == pytest.approx(r.latency_s, rel=1e-12)
    assert chip.energy_pj[0] == pytest.approx(r.energy_pj, rel=1e-12)
    assert chip.area_mm2[0] == pytest.approx(r.area_mm2, rel=1e-12)
