"""nasaic.allocate: the MILP equals exhaustive enumeration on random small instances,
and its numbers are what hwsim.system.evaluate_chip gives for the chip it builds."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pytest

import hwsim
from hwsim import zoo
from hwsim.errors import SpecError
from hwsim.system import Budget, CostTable, evaluate_chip
from hwsim.workload.layer import conv2d
from hwsim.workload.network import Network
from nasaic.allocate import allocate, enumerate_best

OBJECTIVES = ("latency", "energy", "area", "weighted", "edp")
N_INSTANCES = 36


def _tiny() -> Network:
    layers = [conv2d("c1", 3, 16, in_size=(16, 16), kernel=(3, 3), padding=1),
              conv2d("c2", 16, 32, in_size=(16, 16), kernel=(3, 3), stride=2, padding=1),
              conv2d("c3", 32, 10, in_size=(8, 8), kernel=(1, 1))]
    return Network("tiny", layers, [("c1", "c2"), ("c2", "c3")])


@pytest.fixture(scope="module")
def pool():
    """One CostTable over every candidate config and network, reused by all instances."""
    nets = [zoo.get_network("resnet18"), zoo.get_network("mobilenet_v2"), _tiny()]
    configs = [hwsim.load_template(t, pes=p, noc_bw_bytes_per_cycle=b, dram_bw_bytes_per_cycle=d)
               for t in ("dla", "shi", "rs") for p in (64, 256) for b in (32, 64) for d in (8, 16)]
    return nets, configs, CostTable.build(nets, configs)


def _with_holes(table: CostTable, rng) -> CostTable:
    """The table with a few (config, network) pairs made infeasible (the feasibility path)."""
    holes = rng.random(table.shape) < 0.15
    lat, lat_c, energy = table.latency_s.copy(), table.latency_cycles.copy(), table.energy_pj.copy()
    lat[holes], lat_c[holes], energy[holes] = np.inf, np.inf, np.nan
    error = table.error.copy()
    error[holes] = "synthetic: does not map"
    return dataclasses.replace(table, latency_s=lat, latency_cycles=lat_c, energy_pj=energy,
                               feasible=table.feasible & ~holes, error=error)


def _instance(seed: int, nets, configs, table):
    rng = np.random.default_rng(seed)
    n_tasks = int(rng.integers(2, 4))
    tasks = [nets[i] for i in rng.choice(len(nets), size=n_tasks, replace=False)]
    cands = [configs[i] for i in rng.choice(len(configs), size=int(rng.integers(4, 9)), replace=False)]
    slots = int(rng.integers(1, 4))
    tab = _with_holes(table, rng) if seed % 3 == 0 else table
    rows = tab.config_indices(cands)
    kw = dict(slots=slots, table=tab)
    pes = tab.pes[rows]
    if rng.random() < 0.6:
        kw["budget"] = Budget(pes=int(rng.choice([pes.min(), pes.min() * 2, pes.max(), pes.max() * 2 + 64])),
                              area_mm2=float(rng.choice([tab.area_mm2[rows].max() * 1.5, 100.0])))
    if rng.random() < 0.5:
        kw["dram_bw_bytes_per_s"] = float(rng.choice([16e9, 24e9, 32e9]))
    lat = tab.latency_s[np.ix_(rows, [tab.network_index(n) for n in tasks])]
    finite = lat[np.isfinite(lat)]
    specs = {}
    if finite.size and rng.random() < 0.5:
        specs["latency_s"] = float(rng.uniform(0.5, 2.0) * finite.max())
    if finite.size and rng.random() < 0.3:
        specs["latency_cycles"] = float(rng.uniform(0.5, 3.0) * np.median(finite) * 1e9)
    if rng.random() < 0.3:
        specs["area_mm2"] = float(rng.uniform(1.0, 8.0))
    if rng.random() < 0.3:
        e = tab.energy_pj[np.ix_(rows, [tab.network_index(n) for n in tasks])]
        if np.isfinite(e).any():
            specs["energy_pj"] = float(np.nanmin(e) * n_tasks * rng.uniform(0.9, 1.5))
    kw["specs"] = specs
    return tasks, cands, kw


def _weights(seed):
    rng = np.random.default_rng(seed + 1000)
    return {"latency_s": float(rng.uniform(0, 1) / 1e-2), "energy_pj": float(rng.uniform(0, 1) / 1e9),
            "area_mm2": float(rng.uniform(0, 1))}


def test_milp_equals_enumeration(pool):
    nets, configs, table = pool
    n_infeasible, n_checked, times = 0, 0, []
    for seed in range(N_INSTANCES):
        tasks, cands, kw = _instance(seed, nets, configs, table)
        for objective in OBJECTIVES:
            weights = _weights(seed) if objective == "weighted" else None
            t0 = time.perf_counter()
            got = allocate(tasks, cands, objective=objective, weights=weights, **kw)
            times.append(time.perf_counter() - t0)
            ref = enumerate_best(tasks, cands, objective=objective, weights=weights, **kw)
            where = f"seed {seed}, objective {objective}, {kw['slots']} slots, {len(tasks)} tasks, " \
                    f"{len(cands)} candidates, specs {kw['specs']}"
            assert got.status == ("infeasible" if ref.status == "infeasible" else "optimal"), \
                f"{where}: MILP {got.status} ({got.reason}), enumeration {ref.status}"
            n_checked += 1
            if ref.status == "infeasible":
                n_infeasible += 1
                assert got.reason, where
                continue
            assert math.isclose(got.objective_value, ref.objective_value, rel_tol=1e-6), \
                f"{where}: MILP {got.objective_value} vs enumeration {ref.objective_value}"
            _check_chip(got, kw)
    assert n_checked == N_INSTANCES * len(OBJECTIVES)
    assert 0 < n_infeasible < n_checked              # both kinds of instance are exercised
    print(f"\n{N_INSTANCES} instances x {len(OBJECTIVES)} objectives, {n_infeasible} infeasible; MILP solve "
          f"mean {np.mean(times) * 1e3:.1f} ms, max {np.max(times) * 1e3:.1f} ms")


def _check_chip(got, kw):
    """The allocation's chip, re-evaluated by hwsim.system.evaluate_chip, gives the same numbers
    and meets the budget and specs."""
    chip = got.chip(budget=kw.get("budget"))
    report = evaluate_chip(chip, kw["table"])
    for key in ("latency_s", "energy_pj", "area_mm2"):
        assert math.isclose(getattr(report, key), getattr(got, key), rel_tol=1e-9), key
    assert report.feasible
    for key, limit in kw["specs"].items():
        value = got.latency_cycles if key == "latency_cycles" else getattr(got, key)
        assert value <= limit * (1 + 1e-9), (key, value, limit)
    if kw.get("dram_bw_bytes_per_s"):
        assert chip.dram_bw_bytes_per_s <= kw["dram_bw_bytes_per_s"] * (1 + 1e-9)
        used = sum(s.accelerator["dram_bw_bytes_per_cycle"] * s.accelerator.clock_hz for s in chip.sub_accelerators)
        assert used <= kw["dram_bw_bytes_per_s"] * (1 + 1e-9)


def test_chip_from_scratch_matches(pool):
    """evaluate_chip with a fresh cost table (networks and chip rebuilt) gives the MILP's numbers."""
    nets, configs, table = pool
    got = allocate(nets[:2], configs[:8], slots=2, objective="latency", table=table,
                   budget=Budget(pes=512), dram_bw_bytes_per_s=32e9)
    assert got.status == "optimal"
    assert sum(c is not None for c in got.configs) == 2         # the makespan wants both slots
    report = evaluate_chip(got.chip())
    assert math.isclose(report.latency_s, got.latency_s, rel_tol=1e-9)
    assert math.isclose(report.latency_cycles, got.latency_cycles, rel_tol=1e-9)
    assert math.isclose(report.energy_pj, got.energy_pj, rel_tol=1e-9)
    assert math.isclose(report.area_mm2, got.area_mm2, rel_tol=1e-9)


def test_infeasible_reason_names_the_constraint(pool):
    nets, configs, table = pool
    got = allocate(nets[:2], configs[:8], slots=3, table=table, budget=Budget(pes=32))
    assert got.status == "infeasible" and got.reason.startswith("budget.pes = 32 cannot be met"), got.reason
    got = allocate(nets[:2], configs[:8], slots=3, table=table, specs={"latency_s": 1e-6})
    assert got.status == "infeasible" and "specs.latency_s" in got.reason, got.reason
    with pytest.raises(SpecError):
        got.chip()


def test_bad_arguments(pool):
    nets, configs, table = pool
    with pytest.raises(SpecError, match="objective"):
        allocate(nets[:1], configs[:2], slots=1, objective="speed", table=table)
    with pytest.raises(SpecError, match="weights"):
        allocate(nets[:1], configs[:2], slots=1, objective="weighted", table=table)
    with pytest.raises(SpecError, match="slots"):
        allocate(nets[:1], configs[:2], slots=0, table=table)
    with pytest.raises(SpecError, match="edp_pj_s"):
        allocate(nets[:1], configs[:2], slots=1, table=table, specs={"edp_pj_s": 1.0})
