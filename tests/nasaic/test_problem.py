"""nasaic.problem: Problem.evaluate is hwsim.system's closed form of the chip it describes
(re-evaluated from scratch through Problem.chip), the gene layout behaves (unused slots are
free, the budget is a sum over the used slots, spec flags follow the values, bad genes name
the gene), table_only snapping goes to the nearest tabulated network, and MnasNet accuracy
says which oracle produced it."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from hwsim.errors import SpecError
from hwsim.system import evaluate_chip
from hwsim.system.chip import accelerator_noc_bw, accelerator_pes
from nasaic.oracle import SurrogateOracle, TableThenSurrogate, _Ridge
from nasaic.problem import Problem
from nasaic.space import mnasnet
from nasaic.spec import load_spec
from nasaic.workflow import DEMO_SPEC

RTOL = 1e-9


def small_spec(**hardware) -> dict:
    """DEMO_SPEC with a smaller hardware space (2 templates x 3 PEs x 2 NoC bandwidths)."""
    data = copy.deepcopy(DEMO_SPEC)
    data["hardware"].update({"templates": ["dla", "shi"], "pes": [64, 128, 256], "noc_bw_bytes_per_cycle": [16, 64]},
                            **hardware)
    return data


@pytest.fixture(scope="module")
def problem(reference):
    return Problem(load_spec(small_spec()))


@pytest.fixture(scope="module")
def mnas_problem(reference):
    """One NB201 task, one MnasNet task restricted to the table, one MnasNet task with a
    (cheap, 2-fold, single-candidate) table-then-surrogate oracle; a 2-config hardware space."""
    data = small_spec(templates=["dla"], pes=[64, 256], noc_bw_bytes_per_cycle=[64])
    data["tasks"] = [data["tasks"][0], {"name": "inet_table", "space": "mnasnet", "dataset": "imagenet",
                                        "table_only": True},
                     {"name": "inet_sur", "space": "mnasnet", "dataset": "imagenet", "table_only": False}]
    oracle = TableThenSurrogate(reference, surrogate=SurrogateOracle(reference, folds=2,
                                                                     candidates=[_Ridge("onehot", 10.0)]))
    return Problem(load_spec(data), oracles={"inet_sur": oracle})


def _genes(p: Problem, seed: int, n: int, *, one_slot: bool = False) -> np.ndarray:
    g = p.random_genes(np.random.default_rng(seed), n)
    if one_slot:                                  # every task on one slot: the other slot is unused
        g[:, p.hw_start + 3 * p.slots:] = g[:, [p.hw_start + 3 * p.slots]]
    return g


def _used_slots(p: Problem, row) -> set[int]:
    return {int(s) for s in row[p.hw_start + 3 * p.slots:]}


def _slot_config(p: Problem, row, s: int):
    t, pe, bw = row[p.hw_start + 3 * s:p.hw_start + 3 * s + 3]
    hw = p.spec.hardware
    return hw.templates[t], hw.pes[pe], hw.noc_bw_bytes_per_cycle[bw]


def test_evaluate_equals_evaluate_chip_of_the_built_chip(problem):
    p = problem
    genes = np.vstack([_genes(p, 0, 30), _genes(p, 1, 10, one_slot=True)])
    ev = p.evaluate(genes)
    assert ev.within_budget.sum() >= 20 and (~ev.within_budget).any()
    assert (ev.task_slot[:, 0] == ev.task_slot[:, 1]).sum() >= 10 and (ev.task_slot[:, 0] != ev.task_slot[:, 1]).any()
    for i, row in enumerate(genes):
        if not ev.within_budget[i]:
            # the chip of an over-budget design is refused by hwsim.system, naming the budget
            with pytest.raises(SpecError, match="budget"):
                p.chip(row)
            continue
        chip = p.chip(row)
        assert len(chip.sub_accelerators) == len(_used_slots(p, row))
        r = evaluate_chip(chip)
        assert r.feasible == ev.feasible[i]
        np.testing.assert_allclose(r.latency_cycles, ev.latency_cycles[i], rtol=RTOL)
        np.testing.assert_allclose(r.energy_pj, ev.energy_pj[i], rtol=RTOL)
        np.testing.assert_allclose(r.area_mm2, ev.area_mm2[i], rtol=RTOL)
        assert r.meets == {"latency_cycles": ev.meets["latency_cycles"][i], "energy_pj": ev.meets["energy_nj"][i],
                           "area_mm2": ev.meets["area_mm2"][i]}


def test_unused_slot_genes_change_nothing(problem):
    p = problem
    base = _genes(p, 2, 50, one_slot=True)
    other = base.copy()
    unused = 1 - base[:, p.hw_start + 3 * p.slots]          # the slot no task runs on
    rng = np.random.default_rng(3)
    for i, s in enumerate(unused):
        for j in range(3):
            d = p.hw_start + 3 * s + j
            other[i, d] = rng.integers(0, p.gene_options[d])
    assert (other != base).any()
    a, b = p.evaluate(base), p.evaluate(other)
    for name in ("latency_cycles", "energy_pj", "area_mm2", "pes", "noc_bw_bytes_per_cycle", "objective_pct",
                 "slack", "violation", "task_latency_s", "task_energy_pj", "slot_config"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in ("feasible", "within_budget", "meets_specs"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert (a.slot_config[np.arange(len(base)), unused] == -1).all()


def test_budget_is_the_sum_over_used_slots(problem):
    p = problem
    genes = np.vstack([_genes(p, 4, 200), _genes(p, 5, 50, one_slot=True)])
    ev = p.evaluate(genes)
    budget = p.spec.hardware.budget
    for i, row in enumerate(genes):
        accs = [p.configs[p.config_index(*row[p.hw_start + 3 * s:p.hw_start + 3 * s + 3])] for s in _used_slots(p, row)]
        pes = sum(accelerator_pes(a) for a in accs)
        bw = sum(accelerator_noc_bw(a) for a in accs)
        assert ev.pes[i] == pes and ev.noc_bw_bytes_per_cycle[i] == bw
        assert ev.within_budget[i] == (pes <= budget.pes and bw <= budget.noc_bw_bytes_per_cycle)
        # the accelerator in the chip is the one the genes name
        for s in _used_slots(p, row):
            template, pe, noc = _slot_config(p, row, s)
            acc = p.configs[p.config_index(*row[p.hw_start + 3 * s:p.hw_start + 3 * s + 3])]
            assert (acc.name, accelerator_pes(acc), accelerator_noc_bw(acc)) == (template, pe, noc)
    assert ev.within_budget.any() and (~ev.within_budget).any()


def test_meets_follow_the_values(problem):
    p = problem
    ev = p.evaluate(_genes(p, 6, 500))
    specs = p.spec.specs
    values = {"latency_cycles": ev.latency_cycles, "energy_nj": ev.energy_nj, "area_mm2": ev.area_mm2}
    assert set(ev.meets) == set(specs)
    every = ev.feasible & ev.within_budget
    for key, bound in specs.items():
        np.testing.assert_array_equal(ev.meets[key], ev.feasible & (values[key] <= bound), err_msg=key)
        every = every & ev.meets[key]
        assert ev.meets[key].any() and (~ev.meets[key]).any(), key        # the sample exercises both sides
    np.testing.assert_array_equal(ev.meets_specs, every)
    assert ev.meets_specs.any()
    np.testing.assert_array_equal(ev.violation == 0, ev.meets_specs)


def test_more_pes_never_slow_a_dla_task(problem):
    p = problem
    hw = p.spec.hardware
    assert list(hw.pes) == sorted(hw.pes)
    base = _genes(p, 7, 40)
    base[:, p.hw_start] = base[:, p.hw_start + 3] = hw.templates.index("dla")
    lat = []
    for pe in range(len(hw.pes)):
        g = base.copy()
        g[:, p.hw_start + 1] = pe                      # slot 0's PEs; all else fixed
        lat.append(p.evaluate(g).task_latency_s)
    lat = np.stack(lat)                                # (PE choice, design, task)
    on_slot0 = base[:, p.hw_start + 3 * p.slots:] == 0
    assert on_slot0.any()
    rising = np.diff(lat, axis=0) > lat[:-1] * 1e-12
    assert not (rising & on_slot0[None]).any()
    assert (np.diff(lat, axis=0)[:, on_slot0] < 0).any()       # and PEs do matter
    np.testing.assert_array_equal(np.diff(lat, axis=0)[:, ~on_slot0], 0.0)   # other slot's tasks untouched


def test_bad_genes_name_the_gene(problem):
    p = problem
    good = _genes(p, 8, 1)
    with pytest.raises(SpecError, match="genes"):
        p.evaluate(good[:, :-1])
    with pytest.raises(SpecError, match="genes"):
        p.evaluate(np.zeros((2, 3, p.n_genes), dtype=int))
    for name, value in (("slot1.pes", 3), ("cifar100.slot", 2), ("cifar10.4", 5), ("slot0.template", -1)):
        g = good.copy()
        g[0, p.gene_names.index(name)] = value
        with pytest.raises(SpecError, match=rf"{name}' = {value}"):
            p.evaluate(g)


def test_non_integer_genes_are_a_spec_error(problem):
    p = problem
    good = _genes(p, 8, 1)
    for bad in (good + 0.5, good.astype(str)):
        with pytest.raises(SpecError, match="genes"):
            p.evaluate(bad)
    np.testing.assert_array_equal(p.evaluate(good.astype(float)).genes, good)   # integral floats are fine


def test_bad_table_only_genes_name_the_task(mnas_problem):
    p = mnas_problem
    g = _genes(p, 11, 1)
    g[0, p.task_slices[1].start + 2] = 7
    with pytest.raises(SpecError, match="inet_table.*7"):
        p.evaluate(g)


def test_table_only_snaps_to_the_nearest_tabulated_network(mnas_problem, reference):
    p = mnas_problem
    task, sl = p.tasks[1], p.task_slices[1]
    assert task.table_only and not p.tasks[2].table_only
    table = np.array([mnasnet.encode(k) for k in mnasnet.table_keys(reference)])
    tabulated = {tuple(r) for r in table}
    genes = _genes(p, 9, 12)
    genes[:4, sl] = table[[0, 17, 2000, len(table) - 1]]
    untab = [i for i in range(4, 12) if tuple(genes[i, sl]) not in tabulated]
    assert len(untab) >= 6
    ev = p.evaluate(genes)
    snapped = ev.genes[:, sl]
    np.testing.assert_array_equal(snapped[:4], genes[:4, sl])          # tabulated: itself
    for i in untab:
        dist = [(genes[i, sl] != row).sum() for row in table]          # brute force, row by row
        assert tuple(snapped[i]) in tabulated
        assert (snapped[i] != genes[i, sl]).sum() == min(dist) > 0
    # only table_only tasks snap
    np.testing.assert_array_equal(ev.genes[:, p.task_slices[2]], genes[:, p.task_slices[2]])
    np.testing.assert_array_equal(ev.genes[:, p.network_genes.stop:], genes[:, p.network_genes.stop:])
    assert all(s.startswith("table:") for s in ev.accuracy_source[1])


def test_mnasnet_accuracy_source(mnas_problem, reference):
    p = mnas_problem
    sl = p.task_slices[2]
    keys = mnasnet.table_keys(reference)
    accuracy = mnasnet.table(reference)["val_top1"].to_numpy(float)
    genes = _genes(p, 10, 4)
    genes[0, sl] = mnasnet.encode(keys[5])
    tabulated = {tuple(mnasnet.encode(k)) for k in keys}
    assert all(tuple(genes[i, sl]) not in tabulated for i in (1, 2, 3))
    ev = p.evaluate(genes)
    src = ev.accuracy_source[2]
    assert src[0].startswith("table:mnasnet") and all(s.startswith("surrogate:") for s in src[1:])
    same = [j for j, k in enumerate(keys) if k == keys[5]]
    assert ev.accuracy_pct[0, 2] == pytest.approx(accuracy[same].mean())
    assert np.isfinite(ev.accuracy_pct[1:, 2]).all() and (ev.accuracy_pct[1:, 2] > 0).all()
    assert all(s == "table:nb201/cifar10" for s in ev.accuracy_source[0])
