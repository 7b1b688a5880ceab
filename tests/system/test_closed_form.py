"""hwsim.system closed form: hand-checked cases, vectorized == one by one, trends, budget checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

import hwsim
from hwsim.errors import SpecError
from hwsim.system import (Budget, ChipReport, CostTable, evaluate_chip, evaluate_chips, make_chip, with_dram,
                          within_budget)
from hwsim.system.closed_form import budget_usage
from hwsim.workload import Network, conv2d, depthwise_conv2d, matmul


def net_a():
    return Network.sequential("a", [conv2d("a.c1", 3, 16, in_size=(16, 16), kernel=3, padding=1),
                                    conv2d("a.c2", 16, 32, in_size=(16, 16), kernel=3, padding=1, stride=2),
                                    conv2d("a.c3", 32, 32, in_size=(8, 8))])


def net_b():
    return Network.sequential("b", [conv2d("b.c1", 8, 24, in_size=(12, 12), kernel=1),
                                    depthwise_conv2d("b.dw", 24, in_size=(12, 12), padding=1),
                                    conv2d("b.c2", 24, 8, in_size=(12, 12))])


def net_c():
    return Network.sequential("c", [matmul("c.fc1", 16, 64, 128), matmul("c.fc2", 16, 32, 64)], check_shapes=False)


NETS = (net_a(), net_b(), net_c())
TEMPLATES = ("dla", "shi", "rs")


def total(net, acc):
    return hwsim.evaluate(net, acc).total


# -- hand-checked ---------------------------------------------------------------------------

def test_two_subs_hand_checked():
    big = hwsim.load_template("dla", pes=512)
    small = hwsim.load_template("shi", pes=64)
    a, b, c = NETS
    chip = make_chip("hand", {"big": big, "small": small}, [(a, "big"), (b, "small"), (c, "big")],
                     dram_bw_bytes_per_cycle=32)
    big, small = chip.sub("big").accelerator, chip.sub("small").accelerator      # 16 B/cycle each
    assert big["dram_bw_bytes_per_cycle"] == small["dram_bw_bytes_per_cycle"] == 16
    ta, tb, tc = total(a, big), total(b, small), total(c, big)
    report = evaluate_chip(chip)
    assert isinstance(report, ChipReport) and report.method == "closed_form" and report.feasible
    busy_big, busy_small = ta.latency_s + tc.latency_s, tb.latency_s
    assert report.sub("big").busy_s == pytest.approx(busy_big, rel=1e-12)
    assert report.sub("small").busy_s == pytest.approx(busy_small, rel=1e-12)
    makespan = max(busy_big, busy_small)
    assert report.latency_s == pytest.approx(makespan, rel=1e-12)
    assert report.latency_cycles == pytest.approx(makespan * 1e9, rel=1e-12)
    energy = ta.energy_pj + tb.energy_pj + tc.energy_pj
    assert report.energy_pj == pytest.approx(energy, rel=1e-12)
    assert report.area_mm2 == pytest.approx(ta.area_mm2 + tb.area_mm2, rel=1e-12)
    assert report.edp_pj_s == pytest.approx(energy * makespan, rel=1e-12)
    # tasks on one sub-accelerator run in the order listed
    assert report.task("a").start_s == 0 and report.task("c").start_s == pytest.approx(ta.latency_s)
    assert report.task("c").finish_s == pytest.approx(busy_big)
    assert report.task("b").subs == ("small",)
    assert report.sub("big").tasks == ("a", "c")
    assert report.sub("big").utilization == pytest.approx(busy_big / makespan)
    assert max(s.utilization for s in report.subs) == pytest.approx(1.0)
    split = report.sub("big").energy_breakdown_pj
    assert split["mac"] == pytest.approx(ta.energy_breakdown_pj["mac"] + tc.energy_breakdown_pj["mac"])
    assert sum(split.values()) == pytest.approx(report.sub("big").energy_pj, rel=1e-9)
    assert [(r.sub, r.task, r.layer) for r in report.schedule] == [("big", "a", None), ("small", "b", None),
                                                                  ("big", "c", None)]
    d = report.as_dict()
    assert d["latency_cycles"] == pytest.approx(report.latency_cycles)
    assert d["sub_accelerators"][0]["energy_mac_pj"] == pytest.approx(split["mac"])
    assert d["tasks"][2]["start_s"] == pytest.approx(ta.latency_s)


def test_arrays_hand_checked():
    """Two chips over one table of three configs: the array form by hand."""
    accs = [hwsim.load_template("dla", pes=256), hwsim.load_template("shi"), hwsim.load_template("rs")]
    table = CostTable.build(NETS, accs)
    lat, en = table.latency_s, table.energy_pj
    cfg = np.array([[0, 1], [2, -1]])
    slot = np.array([[0, 1, 0], [0, 0, 0]])
    r = evaluate_chips(table, cfg, slot)
    m0 = max(lat[0, 0] + lat[0, 2], lat[1, 1])
    m1 = lat[2].sum()
    np.testing.assert_allclose(r.latency_s, [m0, m1], rtol=1e-12)
    np.testing.assert_allclose(r.energy_pj, [en[0, 0] + en[1, 1] + en[0, 2], en[2].sum()], rtol=1e-12)
    np.testing.assert_allclose(r.area_mm2, [table.area_mm2[0] + table.area_mm2[1], table.area_mm2[2]], rtol=1e-12)
    np.testing.assert_allclose(r.task_start_s[1], [0, lat[2, 0], lat[2, 0] + lat[2, 1]], rtol=1e-12)
    np.testing.assert_allclose(r.busy_s[1], [m1, 0.0], rtol=1e-12)
    np.testing.assert_allclose(r.latency_cycles, r.latency_s * np.array([1e9, 1e9]))
    np.testing.assert_allclose(r.edp_pj_s, r.energy_pj * r.latency_s)
    assert r.feasible.all() and r.within_budget.all() and len(r) == 2
    # specs, vectorized
    r = evaluate_chips(table, cfg, slot, specs={"latency_s": (m0 + m1) / 2})
    assert list(r.meets["latency_s"]) == [m0 <= (m0 + m1) / 2, m1 <= (m0 + m1) / 2]
    assert list(r.meets_specs) == list(r.meets["latency_s"])


def test_chip_clock_sets_latency_cycles():
    slow = hwsim.load_template("dla", clock_hz=5e8)
    fast = hwsim.load_template("dla")
    chip = make_chip("clk", {"slow": slow, "fast": fast}, [(NETS[0], "slow"), (NETS[1], "fast")],
                     dram_bw_bytes_per_cycle=16, clock_hz=2e9)
    report = evaluate_chip(chip)
    t_slow = total(NETS[0], chip.sub("slow").accelerator)
    t_fast = total(NETS[1], chip.sub("fast").accelerator)
    makespan = max(t_slow.latency_cycles / 5e8, t_fast.latency_cycles / 1e9)
    assert report.latency_s == pytest.approx(makespan, rel=1e-12)
    assert report.latency_cycles == pytest.approx(makespan * 2e9, rel=1e-12)
    assert report.clock_hz == 2e9


def test_unused_sub_accelerator_counts_in_area_only():
    accs = {"a": hwsim.load_template("dla"), "b": hwsim.load_template("shi")}
    one = evaluate_chip(make_chip("1", {"a": accs["a"]}, [(NETS[0], "a")], dram_bw_bytes_per_cycle=16))
    two = evaluate_chip(make_chip("2", accs, [(NETS[0], "a")], dram_bw_bytes_per_cycle=32))
    assert two.latency_s == pytest.approx(one.latency_s) and two.energy_pj == pytest.approx(one.energy_pj)
    assert two.area_mm2 == pytest.approx(one.area_mm2 + two.sub("b").area_mm2)
    assert two.sub("b").busy_s == 0 and two.sub("b").utilization == 0 and two.sub("b").tasks == ()


def test_infeasible_task_makes_the_chip_infeasible():
    bad = hwsim.load_template("shi", l2_bytes=64)
    chip = make_chip("bad", {"ok": hwsim.load_template("dla"), "bad": bad},
                     [(NETS[0], "bad"), (NETS[1], "bad"), (NETS[2], "ok")], dram_bw_bytes_per_cycle=32,
                     specs={"latency_s": 1.0})
    report = evaluate_chip(chip)
    assert not report.feasible and math.isinf(report.latency_s) and math.isnan(report.energy_pj)
    assert report.meets == {"latency_s": False} and not report.meets_specs
    a, b, c = report.tasks
    assert not a.feasible and "layer 'a.c1'" in a.error and "l2_bytes" in a.error
    assert math.isinf(a.finish_s) and math.isinf(b.start_s)       # the blocked slot
    assert c.feasible and c.error == "" and math.isfinite(c.finish_s)
    assert report.error.startswith("task 'a' (a) on 'bad': ")
    assert "INFEASIBLE" in report.summary()


def test_shared_policy_closed_form_is_the_no_contention_bound():
    chip = make_chip("s", {"a": hwsim.load_template("dla"), "b": hwsim.load_template("rs")},
                     [(NETS[0], "a"), (NETS[1], "b")], dram_bw_bytes_per_cycle=32, dram_policy="shared")
    shared = evaluate_chip(chip)
    part = evaluate_chip(with_dram(chip, "partitioned"))
    assert shared.latency_s <= part.latency_s
    assert any("no contention" in n for n in shared.notes)


def test_layer_level_tasks_need_the_simulation():
    chip = make_chip("auto", {"a": hwsim.load_template("dla")}, [(NETS[0], None)], dram_bw_bytes_per_cycle=16)
    with pytest.raises(SpecError, match="task 'a' is mapped layer by layer .* use hwsim.system.simulate"):
        evaluate_chip(chip)


@pytest.mark.parametrize("kwargs, match", [
    (dict(config_index=[[0, 5]], task_slot=[0]), "config_index"),
    (dict(config_index=[[0, -1]], task_slot=[1]), "slot 1, which is empty"),
    (dict(config_index=[[0, 1]], task_slot=[2]), "task_slot"),
    (dict(config_index=[[0, 1]], task_slot=[0], task_network=[7]), "task_network"),
    (dict(config_index=[[0.5, 1]], task_slot=[0]), "expected an integer array"),
    (dict(config_index=[[0, 1]], task_slot=[0], specs={"power_w": 1}), "unknown spec"),
])
def test_bad_arrays(kwargs, match):
    table = CostTable.build(NETS[:1], [hwsim.load_template("dla"), hwsim.load_template("shi")])
    with pytest.raises(SpecError, match=match):
        evaluate_chips(table, **kwargs)


def test_table_dedupes_and_finds_configs():
    dla = hwsim.load_template("dla")
    table = CostTable.build(NETS, [dla, hwsim.load_template("shi"), hwsim.load_template("dla")])
    assert table.shape == (2, 3)
    assert table.config_index(hwsim.load_template("dla")) == 0
    assert table.network_index(NETS[1]) == 1 and table.network_index("c") == 2
    assert table.feasible.all() and (table.error == "").all()
    assert table.pes[0] == 256 and table.dram_bw_bytes_per_s[0] == 16e9
    np.testing.assert_allclose(table.latency_s[0], [total(n, dla).latency_s for n in NETS], rtol=1e-12)
    with pytest.raises(SpecError, match="not in the cost table"):
        table.config_index(hwsim.load_template("rs"))


# -- random chips: vectorized == one by one ---------------------------------------------------

def random_chips(rng, n):
    bases = {t: hwsim.load_template(t) for t in TEMPLATES}
    chips = []
    for i in range(n):
        n_subs = int(rng.integers(1, 4))
        subs = {}
        for s in range(n_subs):
            template = TEMPLATES[int(rng.integers(3))]
            subs[f"s{s}"] = bases[template].with_params(pes=int(rng.choice([64, 128, 256, 512])),
                                                        noc_bw_bytes_per_cycle=float(rng.choice([16, 32, 64])))
        n_tasks = int(rng.integers(1, 5))
        tasks = [(f"t{j}", NETS[int(rng.integers(3))], f"s{int(rng.integers(n_subs))}") for j in range(n_tasks)]
        shares = rng.dirichlet(np.ones(n_subs)) * 0.999
        chips.append(make_chip(f"r{i}", subs, tasks, dram_bw_bytes_per_cycle=float(rng.choice([16, 32, 64])),
                               dram_shares={f"s{s}": float(shares[s]) for s in range(n_subs)}))
    return chips


def as_arrays(chips, table):
    n_slots = max(len(c.sub_accelerators) for c in chips)
    n_tasks = max(len(c.tasks) for c in chips)
    assert all(len(c.tasks) == n_tasks for c in chips)
    cfg = np.full((len(chips), n_slots), -1)
    slot = np.zeros((len(chips), n_tasks), dtype=int)
    nets = np.zeros((len(chips), n_tasks), dtype=int)
    for i, c in enumerate(chips):
        cfg[i, :len(c.sub_accelerators)] = table.config_indices([s.accelerator for s in c.sub_accelerators])
        slot[i] = [c.sub_index(t.on) for t in c.tasks]
        nets[i] = [table.network_index(t.network) for t in c.tasks]
    return cfg, slot, nets


def test_vectorized_equals_one_by_one_on_random_chips():
    rng = np.random.default_rng(6)
    chips = random_chips(rng, 60)
    table = CostTable.build(NETS, [s.accelerator for c in chips for s in c.sub_accelerators])
    by_tasks: dict[int, list] = {}
    for c in chips:
        by_tasks.setdefault(len(c.tasks), []).append(c)
    for group in by_tasks.values():
        cfg, slot, nets = as_arrays(group, table)
        r = evaluate_chips(table, cfg, slot, nets)
        for i, chip in enumerate(group):
            one = evaluate_chip(chip)
            assert one.latency_s == pytest.approx(r.latency_s[i], rel=1e-12), chip.name
            assert one.latency_cycles == pytest.approx(r.latency_cycles[i], rel=1e-12)
            assert one.energy_pj == pytest.approx(r.energy_pj[i], rel=1e-12)
            assert one.area_mm2 == pytest.approx(r.area_mm2[i], rel=1e-12)
            assert one.edp_pj_s == pytest.approx(r.edp_pj_s[i], rel=1e-12)
            assert one.feasible == r.feasible[i]
            # and against evaluate() itself: the busy time of each sub-accelerator
            for s, sub in enumerate(chip.sub_accelerators):
                expect = sum(total(t.network, sub.accelerator).latency_s for t in chip.tasks_on(sub.name))
                assert one.sub(sub.name).busy_s == pytest.approx(expect, rel=1e-12)


# -- trends -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trend_setup():
    rng = np.random.default_rng(60)
    accs = [hwsim.load_template(t, pes=p, dram_bw_bytes_per_cycle=d) for t in TEMPLATES for p in (64, 256, 1024)
            for d in (4, 16)]
    table = CostTable.build(NETS, accs)
    n, slots, tasks = 400, 3, 5
    cfg = rng.integers(0, len(accs), size=(n, slots))
    slot = rng.integers(0, slots, size=(n, tasks))
    nets = rng.integers(0, len(NETS), size=(n, tasks))
    return rng, table, cfg, slot, nets, accs


def test_bounds_on_the_makespan(trend_setup):
    _, table, cfg, slot, nets, _ = trend_setup
    r = evaluate_chips(table, cfg, slot, nets)
    assert (r.latency_s >= r.task_latency_s.max(axis=1) * (1 - 1e-12)).all()
    assert (r.latency_s >= r.task_latency_s.sum(axis=1) / cfg.shape[1] * (1 - 1e-12)).all()
    assert (r.latency_s <= r.task_latency_s.sum(axis=1) * (1 + 1e-12)).all()
    np.testing.assert_allclose(r.busy_s.sum(axis=1), r.task_latency_s.sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(r.task_finish_s.max(axis=1), r.latency_s, rtol=1e-12)


def test_moving_a_task_to_an_idle_sub_no_slower_never_increases_makespan(trend_setup):
    """Partitioned DRAM: a task moved to an idle sub-accelerator where it runs no slower
    than where it was never increases the makespan (its old slot only gets shorter, and it
    now finishes at its own latency, no later than it did). Energy changes by the task's
    energy difference only."""
    _, table, cfg, slot, nets, _ = trend_setup
    r = evaluate_chips(table, cfg, slot, nets)
    moved = 0
    for i in range(len(cfg)):
        idle = [s for s in range(cfg.shape[1]) if s not in slot[i]]
        for j in range(slot.shape[1]):
            for s in idle:
                if table.latency_s[cfg[i, s], nets[i, j]] <= table.latency_s[cfg[i, slot[i, j]], nets[i, j]]:
                    new = slot[i].copy()
                    new[j] = s
                    after = evaluate_chips(table, cfg[i:i + 1], new, nets[i])
                    assert after.latency_s[0] <= r.latency_s[i] * (1 + 1e-12)
                    de = table.energy_pj[cfg[i, s], nets[i, j]] - table.energy_pj[cfg[i, slot[i, j]], nets[i, j]]
                    assert after.energy_pj[0] == pytest.approx(r.energy_pj[i] + de, rel=1e-9)
                    moved += 1
    assert moved > 20


def test_removing_a_task_never_increases_makespan_or_energy(trend_setup):
    _, table, cfg, slot, nets, _ = trend_setup
    full = evaluate_chips(table, cfg, slot, nets)
    fewer = evaluate_chips(table, cfg, slot[:, 1:], nets[:, 1:])
    assert (fewer.latency_s <= full.latency_s).all() and (fewer.energy_pj <= full.energy_pj).all()
    np.testing.assert_array_equal(fewer.area_mm2, full.area_mm2)


def test_task_order_on_a_slot_changes_starts_not_makespan(trend_setup):
    _, table, cfg, slot, nets, _ = trend_setup
    r = evaluate_chips(table, cfg, slot, nets)
    rev = evaluate_chips(table, cfg, slot[:, ::-1], nets[:, ::-1])
    np.testing.assert_allclose(rev.latency_s, r.latency_s, rtol=1e-12)
    np.testing.assert_allclose(rev.energy_pj, r.energy_pj, rtol=1e-12)


def test_more_dram_share_never_slows_a_partitioned_chip():
    accs = {"a": hwsim.load_template("dla", pes=1024), "b": hwsim.load_template("shi", pes=256)}
    tasks = [(NETS[0], "a"), (NETS[1], "b"), (NETS[2], "a")]
    latencies = [evaluate_chip(make_chip("p", accs, tasks, dram_bw_bytes_per_cycle=bw)).latency_s
                 for bw in (2, 4, 8, 16, 32, 64)]
    assert all(later <= earlier * (1 + 1e-12) for earlier, later in zip(latencies, latencies[1:]))
    busy_a = [evaluate_chip(make_chip("p", accs, tasks, dram_bw_bytes_per_cycle=16,
                                      dram_shares={"a": f})).sub("a").busy_s for f in (0.125, 0.25, 0.5, 0.75)]
    assert all(later <= earlier * (1 + 1e-12) for earlier, later in zip(busy_a, busy_a[1:]))


def test_more_pes_add_area(trend_setup):
    _, table, *_ = trend_setup
    area = table.area_mm2.reshape(3, 3, 2)      # template x pes x dram
    assert (np.diff(area, axis=1) > 0).all()


# -- budgets over many chips --------------------------------------------------------------------

def test_vectorized_budget_agrees_with_chip_construction(trend_setup):
    rng, table, cfg, slot, nets, accs = trend_setup
    budget = Budget(pes=1500, noc_bw_bytes_per_cycle=192, sram_bytes=1_200_000, area_mm2=20)
    ok = within_budget(table, cfg[:80], budget)
    assert 0 < ok.sum() < 80
    usage = budget_usage(table, cfg[:80])
    for i in range(80):
        subs = {f"s{s}": table.configs[cfg[i, s]] for s in range(cfg.shape[1])}
        try:
            chip = make_chip("b", subs, [(NETS[0], "s0")], dram_bw_bytes_per_cycle=1e6, budget=budget)
        except SpecError as exc:
            assert not ok[i], exc
            assert "field 'budget." in str(exc)
        else:
            assert ok[i]
            assert usage["pes"][i] == sum(s.accelerator["pes"] for s in chip.sub_accelerators)
    r = evaluate_chips(table, cfg[:80], slot[:80], nets[:80], budget=budget)
    np.testing.assert_array_equal(r.within_budget, ok)


def test_vectorized_dram_partition_check():
    accs = [hwsim.load_template("dla", dram_bw_bytes_per_cycle=d) for d in (16, 48)]
    table = CostTable.build(NETS[:1], accs)
    cfg = np.array([[0, 0], [0, 1], [1, 1]])
    assert list(within_budget(table, cfg, Budget(), dram_bw_bytes_per_s=64e9)) == [True, True, False]
    r = evaluate_chips(table, cfg, [0], dram_bw_bytes_per_s=64e9)
    assert list(r.within_budget) == [True, True, False]
    np.testing.assert_allclose(budget_usage(table, cfg)["dram_bw_bytes_per_s"], [32e9, 64e9, 96e9])


def test_budget_ignores_empty_slots():
    table = CostTable.build(NETS[:1], [hwsim.load_template("dla", pes=1024)])
    ok = within_budget(table, np.array([[0, -1], [0, 0]]), Budget(pes=1024))
    assert list(ok) == [True, False]
