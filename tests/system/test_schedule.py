"""Layer-level mapping (hwsim.system.schedule, the greedy earliest-finish policy) and
its simulation: dependencies, feasibility, the one-task guarantee, unmappable
networks, and tasks with ``on`` set keeping the closed form's order."""

from __future__ import annotations

import math

import numpy as np
import pytest

import hwsim
from hwsim.system import evaluate_chip, make_chip
from hwsim.system.schedule import LayerTable, greedy, layer_costs
from hwsim.system.simulate import simulate
from hwsim.system.tables import CostTable
from hwsim.workload import conv2d, depthwise_conv2d, matmul


# -- random DAG networks ------------------------------------------------------------

def random_dag(rng, name: str) -> hwsim.Network:
    """3-8 conv layers at one spatial size, each reading 1-2 earlier layers (the
    concatenation of their channels, as U-Net's skips), then a matmul."""
    size = int(rng.choice([8, 16]))
    layers, edges = [conv2d("l0", int(rng.choice([3, 16])), int(rng.choice([8, 32])), in_size=(size, size),
                            kernel=3, padding=1)], []
    for i in range(1, int(rng.integers(3, 9))):
        producers = sorted(set(int(p) for p in rng.integers(0, i, size=int(rng.integers(1, 3)))))
        c = sum(layers[p].k for p in producers)
        kernel = int(rng.choice([1, 3]))
        layers.append(conv2d(f"l{i}", c, int(rng.choice([8, 16, 64])), in_size=(size, size), kernel=kernel,
                             padding=kernel // 2))
        edges += [(f"l{p}", f"l{i}") for p in producers]
    last = layers[-1]
    layers.append(matmul("fc", 1, 10, last.k * size * size))
    edges.append((last.name, "fc"))
    return hwsim.Network(name, layers, edges)


def random_chain(rng, name: str) -> hwsim.Network:
    c, size, layers = 16, int(rng.choice([8, 16, 32])), []
    for i in range(int(rng.integers(2, 7))):
        k, kernel = int(rng.choice([8, 32, 128])), int(rng.choice([1, 3]))
        layers.append(conv2d(f"c{i}", c, k, in_size=(size, size), kernel=kernel, padding=kernel // 2))
        c = k
    layers.append(matmul("fc", 1, 10, c * size * size))
    return hwsim.Network.sequential(name, layers)


SUBS = [lambda: hwsim.load_template("dla", pes=1024), lambda: hwsim.load_template("dla", pes=64),
        lambda: hwsim.load_template("shi", pes=256), lambda: hwsim.load_template("rs", pes=256),
        lambda: hwsim.load_template("tpu", rows=16, cols=16),
        lambda: hwsim.load_template("dla", pes=256, l2_bytes=64)]      # cannot map the matmuls


def random_subs(rng, n: int) -> dict:
    return {f"s{i}": SUBS[int(k)]() for i, k in enumerate(rng.choice(len(SUBS), size=n, replace=False))}


def check_schedule(chip, report, table=None):
    """Every row after its producers' rows, on a sub-accelerator where the layer maps;
    no two rows overlap on one sub-accelerator; every layer of every feasible task once."""
    costs = layer_costs(chip, table)
    rows = {(r.task, r.layer): r for r in report.schedule}
    tasks = {t.name: (j, t) for j, t in enumerate(chip.tasks)}
    expected = sum(len(t.network.layers) for t, r in zip(chip.tasks, report.tasks) if r.feasible)
    assert len(rows) == len(report.schedule) == expected
    tol = 1e-9 * max(report.latency_s, 1e-12) if math.isfinite(report.latency_s) else 1e-15
    for (task, layer), row in rows.items():
        j, t = tasks[task]
        for producer in t.network.predecessors(layer):
            assert row.start_s >= rows[(task, producer.name)].finish_s - tol, (task, layer, producer.name)
        i = [l.name for l in t.network.layers].index(layer)
        assert costs[(j, chip.sub_index(row.sub))].feasible[i], (task, layer, row.sub)
    for sub in chip.sub_names:
        mine = sorted((r for r in report.schedule if r.sub == sub), key=lambda r: r.start_s)
        for a, b in zip(mine, mine[1:]):
            assert b.start_s >= a.finish_s - tol


# -- (4) greedy layer-level mapping ---------------------------------------------------

@pytest.fixture(scope="module")
def pool():
    """Seeded random DAGs and chains, and one LayerTable the random chips share
    (each (network, config) is costed once)."""
    rng = np.random.default_rng(2024)
    return [random_dag(rng, f"dag{j}") for j in range(10)], [random_chain(rng, f"chain{j}") for j in range(6)], \
        LayerTable()


@pytest.mark.parametrize("policy", ["partitioned", "shared"])
def test_greedy_honours_dependencies_and_feasibility_on_random_chips(policy, pool):
    """60 seeded chips of 2-3 sub-accelerators (one of them often a dla whose L2 cannot
    hold the matmuls) running 1-3 random DAG networks layer by layer, sometimes beside
    a task on a named sub-accelerator: no layer starts before its producers finish,
    none runs where it cannot map, a sub-accelerator runs one layer at a time."""
    dags, chains, table = pool
    rng = np.random.default_rng(11 if policy == "partitioned" else 12)
    used_both = infeasible = 0
    for k in range(60):
        subs = random_subs(rng, int(rng.integers(2, 4)))
        names = list(subs)
        tasks = [(f"t{j}", dags[int(rng.integers(len(dags)))], None) for j in range(int(rng.integers(1, 4)))]
        if rng.random() < 0.3:
            tasks.append(("fixed", chains[int(rng.integers(len(chains)))], names[0]))
        chip = make_chip(f"c{k}", subs, tasks, dram_bw_bytes_per_cycle=16.0, dram_policy=policy)
        report = simulate(chip, table=table)
        check_schedule(chip, report, table)
        if report.feasible:
            used_both += any(len(t.subs) > 1 for t in report.tasks)
        else:          # the fixed chain on the tiny-L2 dla, which cannot map some of its layers
            infeasible += 1
            assert "task 'fixed'" in report.error and "field 'l2_bytes' = 64" in report.error
    assert used_both >= 20


def test_one_task_is_never_slower_than_its_best_single_sub_accelerator(pool):
    """The documented guarantee (schedule.py): a chip running one task, mapped layer by
    layer, finishes no later than the task on any single sub-accelerator where it maps
    whole -- for the plan, and for the simulation with partitioned DRAM, which replays
    the plan exactly. On chains it is the sum of the per-layer minima. 80 seeded chips
    (DAGs and chains, 2-3 sub-accelerators)."""
    dags, chains, table = pool
    rng = np.random.default_rng(5)
    cases = []
    for k in range(80):
        subs = random_subs(rng, int(rng.integers(2, 4)))
        net = chains[int(rng.integers(len(chains)))] if k % 2 == 0 else dags[int(rng.integers(len(dags)))]
        chip = make_chip(f"one{k}", subs, [("t", net, None)], dram_bw_bytes_per_cycle=16.0)
        singles = [make_chip("single", subs, [("t", net, s)], dram_bw_bytes_per_cycle=16.0) for s in subs]
        cases.append((k % 2 == 0, chip, singles))
    closed_table = CostTable.build(dags + chains, [s.accelerator for _, c, _ in cases for s in c.sub_accelerators])
    better = 0
    for chain, chip, singles in cases:
        costs = layer_costs(chip, table)
        plan = greedy(chip, costs)
        report = simulate(chip, table=table)
        assert report.feasible          # every layer maps on every template but the tiny-L2 dla
        per_sub = [c.latency_cycles for (t, s), c in sorted(costs.items())]
        whole = [float(lat.sum()) for lat in per_sub if np.isfinite(lat).all()]
        makespan = report.latency_cycles
        assert makespan == pytest.approx(plan.makespan_cycles, rel=1e-12)
        assert makespan <= min(whole) * (1 + 1e-12)
        better += makespan < min(whole) * (1 - 1e-6)
        if chain:
            assert makespan == pytest.approx(float(np.min(per_sub, axis=0).sum()), rel=1e-12)
        # the closed form of the whole task on its best single sub-accelerator is the same bound
        best_single = min(evaluate_chip(single, closed_table).latency_cycles for single in singles)
        assert best_single == pytest.approx(min(whole), rel=1e-9)
    assert better >= 20          # layer-level mapping strictly helps on many of them


def test_shared_dram_chain_runs_one_layer_at_a_time():
    """A chain mapped layer by layer under shared DRAM never has two layers in flight,
    so the simulation sees no contention: makespan = the plan = sum of per-layer minima."""
    rng = np.random.default_rng(3)
    net = random_chain(rng, "chain")
    subs = {"big": hwsim.load_template("dla", pes=1024), "small": hwsim.load_template("shi", pes=256)}
    chip = make_chip("chain", subs, [("t", net, None)], dram_bw_bytes_per_cycle=8.0, dram_policy="shared")
    costs = layer_costs(chip)
    minima = np.minimum(costs[(0, 0)].latency_cycles, costs[(0, 1)].latency_cycles).sum()
    assert simulate(chip).latency_cycles == pytest.approx(minima, rel=1e-12)


def test_heterogeneous_layers_go_where_they_are_fastest():
    """A chain of an RGB stem and a depthwise layer at 112x112 (shi, which unrolls
    output pixels, is faster: 27,538 vs 50,187 and 50,218 vs 56,460 cycles on 512
    PEs) and a 256-channel 3x3 conv at 14x14 (dla, which unrolls K x C, is faster:
    225,808 vs 589,852) is faster mapped layer by layer than on either one alone."""
    net = hwsim.Network.sequential("mix", [
        conv2d("rgb", 3, 32, in_size=(112, 112), kernel=3, padding=1),
        depthwise_conv2d("dw", 32, in_size=(112, 112), kernel=3, padding=1),
        conv2d("down", 32, 256, in_size=(112, 112), kernel=1, stride=8),
        conv2d("wide", 256, 256, in_size=(14, 14), kernel=3, padding=1)])
    subs = {"dla": hwsim.load_template("dla", pes=512), "shi": hwsim.load_template("shi", pes=512)}
    layer_level = simulate(make_chip("mix", subs, [("t", net, None)], dram_bw_bytes_per_cycle=32.0))
    singles = [evaluate_chip(make_chip("mix", subs, [("t", net, s)], dram_bw_bytes_per_cycle=32.0)).latency_cycles
               for s in subs]
    assert layer_level.latency_cycles < 0.95 * min(singles)
    placed = {r.layer: r.sub for r in layer_level.schedule}
    assert placed["rgb"] == placed["dw"] == "shi" and placed["wide"] == "dla"
    assert layer_level.task("t").subs == ("dla", "shi")


def test_unmappable_network_is_an_infeasible_report_naming_the_layer():
    """A matmul whose L2 tile fits on neither sub-accelerator: no exception; the
    report is infeasible and names the task, the layer and each sub-accelerator's reason."""
    net = hwsim.Network.sequential("n", [conv2d("a", 16, 16, in_size=(8, 8), kernel=3, padding=1),
                                         matmul("fc", 1, 10, 16 * 64)])
    tiny = hwsim.load_template("dla", l2_bytes=64)
    chip = make_chip("nowhere", {"x": tiny, "y": tiny.with_params(pes=64)}, [("t", net, None)],
                     dram_bw_bytes_per_cycle=16.0)
    report = simulate(chip)
    assert not report.feasible and math.isinf(report.latency_cycles) and math.isnan(report.energy_pj)
    assert "task 't'" in report.error and "layer 'fc' maps on no sub-accelerator" in report.error
    assert "x: model 'weight_stationary': layer 'fc': field 'l2_bytes' = 64" in report.error
    assert "y: " in report.error
    assert not report.task("t").feasible and report.task("t").error == report.error
    assert report.schedule == ()
    assert report.meets_specs is False


def test_layer_that_maps_somewhere_avoids_the_sub_accelerator_it_cannot_use():
    net = hwsim.Network.sequential("n", [conv2d("a", 16, 16, in_size=(8, 8), kernel=3, padding=1),
                                         matmul("fc", 1, 10, 16 * 64)])
    chip = make_chip("some", {"tiny": hwsim.load_template("dla", pes=1024, l2_bytes=64),
                              "ok": hwsim.load_template("shi", pes=16)}, [("t", net, None)],
                     dram_bw_bytes_per_cycle=16.0)
    report = simulate(chip)
    assert report.feasible
    assert {r.layer: r.sub for r in report.schedule}["fc"] == "ok"


def test_tasks_on_one_sub_accelerator_run_in_the_order_listed():
    """Named tasks keep the closed form's order even beside a layer-level task that
    uses the same sub-accelerator in between."""
    rng = np.random.default_rng(9)
    first, second, auto = random_chain(rng, "first"), random_chain(rng, "second"), random_dag(rng, "auto")
    subs = {"a": hwsim.load_template("dla", pes=256), "b": hwsim.load_template("shi", pes=256)}
    chip = make_chip("order", subs, [("first", first, "a"), ("auto", auto, None), ("second", second, "a")],
                     dram_bw_bytes_per_cycle=16.0)
    report = simulate(chip)
    check_schedule(chip, report)
    assert report.task("first").finish_s <= report.task("second").start_s
    assert report.task("first").subs == report.task("second").subs == ("a",)
    # without the layer-level task it is the closed form exactly
    plain = make_chip("order", subs, [("first", first, "a"), ("second", second, "a")], dram_bw_bytes_per_cycle=16.0)
    sim, closed = simulate(plain), evaluate_chip(plain)
    times = lambda report: [x for t in report.tasks for x in (t.start_s, t.finish_s)]
    assert times(sim) == pytest.approx(times(closed), rel=1e-12)


def test_zoo_networks_layer_level_on_two_sub_accelerators():
    """ResNet-50 + MobileNetV2, both mapped layer by layer on dla + shi with shared DRAM
    (the benchmark case): dependencies and feasibility hold on real DAGs."""
    subs = {"big": hwsim.load_template("dla", pes=1024), "small": hwsim.load_template("shi", pes=1024)}
    chip = make_chip("zoo", subs, [("r50", hwsim.zoo.get_network("resnet50"), None),
                                   ("mbv2", hwsim.zoo.get_network("mobilenet_v2"), None)],
                     dram_bw_bytes_per_cycle=32.0, dram_policy="shared")
    report = simulate(chip)
    assert report.feasible
    check_schedule(chip, report)
    assert len(report.schedule) == len(chip.tasks[0].network.layers) + len(chip.tasks[1].network.layers)
