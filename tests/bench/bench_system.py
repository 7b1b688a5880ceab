"""Benchmark of hwsim.system (run on demand, not by pytest):

    python tests/bench/bench_system.py            # writes reports/bench_system.md

Targets (issue 6), measured in one process on one core:

* given the cost tables, 100,000 task-level chips in closed form (``evaluate_chips``)
  <= 1 s (3 sub-accelerator slots, 3 tasks, specs and a budget checked);
* building the cost tables (``CostTable.build``) for 2 networks (ResNet-50,
  MobileNetV2) x 1,000 sub-accelerator configs (dla, shi and rs) <= 1 s;
* one simpy run (``hwsim.system.simulate``) of ResNet-50 + MobileNetV2 at layer
  granularity (every layer a process) <= 0.5 s, if the simulation is installed.

Times are the best of several runs after one warm-up (the first call also pays for
imports and the models' one-time caches; that cold time is reported beside it).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, as the targets say

import importlib.util
import platform
import time
from pathlib import Path

import numpy as np

import hwsim
from hwsim.system import Budget, CostTable, evaluate_chips, make_chip

REPORT = Path(__file__).resolve().parents[2] / "reports" / "bench_system.md"
TARGET_CHIPS_S = 1.0
TARGET_TABLES_S = 1.0
TARGET_SIMULATE_S = 0.5


def timed(fn, repeats: int) -> tuple[float, float, object]:
    """(cold time, best warm time, last result) of ``fn()``."""
    start = time.perf_counter()
    result = fn()
    cold = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return cold, best, result


def sub_configs(n: int) -> list:
    """``n`` configs, a third each of dla, shi and rs: PEs 64-4096 x NoC 16-256 B/cycle x
    DRAM 4-64 B/cycle (a partitioned share)."""
    per = -(-n // 3)
    pes = np.unique(np.geomspace(64, 4096, 13).round().astype(int))
    noc = (16.0, 32.0, 64.0, 128.0, 256.0)
    dram = (4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
    configs = []
    for template in ("dla", "shi", "rs"):
        base = hwsim.load_template(template)
        grid = [(int(p), b, d) for p in pes for b in noc for d in dram][:per]
        configs += [base.with_params(pes=p, noc_bw_bytes_per_cycle=b, dram_bw_bytes_per_cycle=d) for p, b, d in grid]
    return configs[:n]


def bench_tables(networks, configs) -> dict:
    cold, best, table = timed(lambda: CostTable.build(networks, configs), repeats=3)
    fresh = float("inf")            # configs never costed before in this process (nothing memoized)
    for factor in (2, 3, 4):
        other = [a.with_params(l2_bytes=a["l2_bytes"] * factor) for a in configs]
        start = time.perf_counter()
        CostTable.build(networks, other)
        fresh = min(fresh, time.perf_counter() - start)
    per_template = {}
    for template in ("dla", "shi", "rs"):
        group = [a for a in configs if a.name == template]
        per_template[template] = (len(group), timed(lambda: CostTable.build(networks, group), repeats=2)[1])
    return {"cold_s": cold, "best_s": best, "fresh_s": fresh, "table": table, "per_template": per_template}


def bench_chips(table, n_chips: int) -> dict:
    rng = np.random.default_rng(0)
    n_cfg, n_net = table.shape
    cfg = rng.integers(0, n_cfg, size=(n_chips, 3))
    slot = rng.integers(0, 3, size=(n_chips, 3))
    nets = np.array([0, 1, 1])                          # ResNet-50, MobileNetV2, MobileNetV2
    budget = Budget(pes=4096, noc_bw_bytes_per_cycle=256, area_mm2=80)
    specs = {"latency_cycles": 2e7, "energy_pj": 1e11}

    def run():
        return evaluate_chips(table, cfg, slot, nets, specs=specs, budget=budget)

    cold, best, r = timed(run, repeats=5)
    return {"cold_s": cold, "best_s": best, "feasible": int(r.feasible.sum()),
            "in_budget": int(r.within_budget.sum()), "meet": int((r.meets_specs & r.within_budget).sum())}


def bench_simulate(resnet, mobilenet) -> dict | None:
    if importlib.util.find_spec("hwsim.system.simulate") is None:
        return None
    from hwsim.system.simulate import simulate

    subs = {"big": hwsim.load_template("dla", pes=3072, noc_bw_bytes_per_cycle=192),
            "small": hwsim.load_template("shi", pes=1024, noc_bw_bytes_per_cycle=64)}
    out = {}
    cases = {
        "task-level, shared DRAM": [(resnet, "big"), (mobilenet, "small")],
        "layer-level (greedy), shared DRAM": [(resnet, None), (mobilenet, None)],
    }
    for label, tasks in cases.items():
        chip = make_chip("bench", subs, tasks, dram_bw_bytes_per_cycle=64, dram_policy="shared")
        cold, best, report = timed(lambda: simulate(chip), repeats=3)
        table = None
        try:
            from hwsim.system.schedule import LayerTable
            table = LayerTable.build([resnet, mobilenet], [s.accelerator for s in chip.sub_accelerators])
        except (ImportError, AttributeError, TypeError):
            pass
        sim_only = timed(lambda: simulate(chip, table=table), repeats=3)[1] if table is not None else None
        out[label] = {"cold_s": cold, "best_s": best, "sim_only_s": sim_only, "rows": len(report.schedule),
                      "latency_cycles": report.latency_cycles}
    return out


def main() -> None:
    resnet, mobilenet = hwsim.zoo.get_network("resnet50"), hwsim.zoo.get_network("mobilenet_v2")
    configs = sub_configs(1000)
    tables = bench_tables([resnet, mobilenet], configs)
    chips = bench_chips(tables["table"], 100_000)
    sim = bench_simulate(resnet, mobilenet)

    def verdict(t, target):
        return "meets" if t <= target else "MISSES"

    lines = [
        "# hwsim.system benchmark",
        "",
        "Regenerate with `python tests/bench/bench_system.py` (one core; best of several runs after a "
        "warm-up; the cold first call, which also pays for imports and one-time caches, beside it).",
        f"Machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}.",
        "",
        "| what | target | best | cold | verdict |",
        "|---|---|---|---|---|",
        f"| `CostTable.build`: 2 networks (ResNet-50, MobileNetV2) x {len(configs)} configs (dla, shi, rs) "
        f"| <= {TARGET_TABLES_S:g} s | {tables['best_s']:.3f} s | {tables['cold_s']:.3f} s "
        f"| {verdict(tables['best_s'], TARGET_TABLES_S)} |",
        f"| the same with configs not costed before in the process (L2 x 2, x 3, x 4) "
        f"| <= {TARGET_TABLES_S:g} s | {tables['fresh_s']:.3f} s | | {verdict(tables['fresh_s'], TARGET_TABLES_S)} |",
        f"| `evaluate_chips`: 100,000 task-level chips (3 slots, 3 tasks, specs + budget) given the table "
        f"| <= {TARGET_CHIPS_S:g} s | {chips['best_s']:.3f} s | {chips['cold_s']:.3f} s "
        f"| {verdict(chips['best_s'], TARGET_CHIPS_S)} |",
    ]
    if sim is not None:
        for label, s in sim.items():
            only = f"; {s['sim_only_s'] * 1e3:.0f} ms given the per-layer table" if s["sim_only_s"] is not None else ""
            lines.append(f"| `simulate`: ResNet-50 + MobileNetV2, every layer a process, {label} ({s['rows']} layer "
                         f"rows{only}) | <= {TARGET_SIMULATE_S:g} s | {s['best_s']:.3f} s | {s['cold_s']:.3f} s "
                         f"| {verdict(s['best_s'], TARGET_SIMULATE_S)} |")
    else:
        lines.append("| `simulate` | <= 0.5 s | not run: hwsim.system.simulate is not installed | | |")
    lines += [
        "",
        f"The cold first table build ({tables['cold_s'] - tables['best_s']:.2f} s more) is one-time work of the "
        "process (importing pandas, the dataflow models' first calls); it does not recur for configs not "
        "costed before (the second row).",
        "",
        "Table build by template (best of 2; the dataflow models differ in cost per config):",
        "",
        "| template | configs | time |",
        "|---|---|---|",
    ]
    lines += [f"| {t} | {n} | {s:.3f} s |" for t, (n, s) in tables["per_template"].items()]
    lines += [
        "",
        f"Of the 100,000 random chips, {chips['feasible']:,} map every task, {chips['in_budget']:,} are within the "
        f"budget (4096 PEs, 256 B/cycle NoC, 80 mm2) and {chips['meet']:,} also meet the specs "
        "(2e7 cycles, 1e11 pJ).",
        "",
    ]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
