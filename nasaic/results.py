"""The rows a search records, the best design and the Pareto set, and ``best.json``.

``designs.parquet`` has one row per evaluated design (every hardware candidate of every
episode; ``chosen`` marks the one the loop kept). Columns, units in their names:
``controller``, ``seed``, ``episode``, ``attempt``, ``chosen``, ``reward``,
``objective_pct`` (weighted mean accuracy), per task ``<task>_arch``,
``<task>_accuracy_pct``, ``<task>_accuracy_source`` (the oracle that produced it),
``<task>_slot``, ``<task>_latency_s``, ``<task>_energy_nj``; per slot
``slot<s>_template`` ('' if the slot is unused), ``slot<s>_pes``,
``slot<s>_noc_bw_bytes_per_cycle``; ``chip`` (one line), ``latency_cycles``,
``latency_s``, ``energy_nj``, ``area_mm2``, ``pes``, ``noc_bw_bytes_per_cycle``,
``feasible``, ``within_budget``, ``meets_<spec>``, ``meets_specs``, ``violation`` (the
largest relative excess over a spec or the budget; 0 if met) and ``genes`` (the design's
genes, comma-separated, to rebuild it).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from hwsim.report import pareto_mask
from hwsim.report.json_data import json_safe

from .problem import Evaluated, Problem

#: the Pareto set's objectives
PARETO = {"objective_pct": "max", "latency_cycles": "min", "energy_nj": "min", "area_mm2": "min"}


def design_rows(problem: Problem, ev: Evaluated, *, episode: int, chosen: int, reward: float,
                controller: str, seed: int) -> list[dict]:
    """One row (a dict) per candidate of one episode."""
    hw = problem.spec.hardware
    rows = []
    for i in range(len(ev)):
        row = {"controller": controller, "seed": int(seed), "episode": int(episode), "attempt": i,
               "chosen": i == chosen, "reward": float(reward) if i == chosen else math.nan,
               "objective_pct": float(ev.objective_pct[i])}
        archs = [ev.genes[i, sl] for sl in problem.task_slices]
        subs = []
        for t, task in enumerate(problem.tasks):
            row[f"{task.name}_arch"] = task.arch_label(archs[t])
            row[f"{task.name}_accuracy_pct"] = float(ev.accuracy_pct[i, t])
            row[f"{task.name}_accuracy_source"] = ev.accuracy_source[t][i]
            row[f"{task.name}_slot"] = int(ev.task_slot[i, t])
            row[f"{task.name}_latency_s"] = float(ev.task_latency_s[i, t])
            row[f"{task.name}_energy_nj"] = float(ev.task_energy_pj[i, t] / 1e3)
        for s in range(problem.slots):
            c = int(ev.slot_config[i, s])
            if c < 0:
                row.update({f"slot{s}_template": "", f"slot{s}_pes": 0, f"slot{s}_noc_bw_bytes_per_cycle": 0.0})
                continue
            template_i, pes_i, bw_i = problem.config_genes(c)
            row.update({f"slot{s}_template": hw.templates[template_i], f"slot{s}_pes": int(hw.pes[pes_i]),
                        f"slot{s}_noc_bw_bytes_per_cycle": float(hw.noc_bw_bytes_per_cycle[bw_i])})
            names = ",".join(t.name for t, slot in zip(problem.tasks, ev.task_slot[i]) if slot == s)
            subs.append(f"sub{s}={hw.templates[template_i]}/{hw.pes[pes_i]}pe/"
                        f"{hw.noc_bw_bytes_per_cycle[bw_i]:g}Bpc[{names}]")
        row["chip"] = " ".join(subs)
        row.update({"latency_cycles": float(ev.latency_cycles[i]), "latency_s": float(ev.latency_s[i]),
                    "energy_nj": float(ev.energy_nj[i]), "area_mm2": float(ev.area_mm2[i]),
                    "pes": float(ev.pes[i]), "noc_bw_bytes_per_cycle": float(ev.noc_bw_bytes_per_cycle[i]),
                    "feasible": bool(ev.feasible[i]), "within_budget": bool(ev.within_budget[i])})
        for key, met in ev.meets.items():
            row[f"meets_{key}"] = bool(met[i])
        row["meets_specs"] = bool(ev.meets_specs[i])
        row["violation"] = float(ev.violation[i])
        row["genes"] = ",".join(str(int(g)) for g in ev.genes[i])
        rows.append(row)
    return rows


def best_row(designs: pd.DataFrame) -> tuple[pd.Series | None, bool]:
    """(the best design meeting every spec, True), or (the closest design, False) if none
    does: the smallest violation, then the highest accuracy. Ties: lower latency, energy,
    area, then the earliest. (None, False) if there are no designs."""
    if designs.empty:
        return None, False
    ok = designs[designs["meets_specs"]]
    if len(ok):
        order = ok.sort_values(["objective_pct", "latency_cycles", "energy_nj", "area_mm2", "episode", "attempt"],
                               ascending=[False, True, True, True, True, True], kind="mergesort")
        return order.iloc[0], True
    order = designs.sort_values(["violation", "objective_pct", "episode", "attempt"],
                                ascending=[True, False, True, True], kind="mergesort")
    return order.iloc[0], False


def pareto_designs(designs: pd.DataFrame) -> pd.DataFrame:
    """The mappable, within-budget designs no other one beats on accuracy, latency, energy and
    area at once (duplicates of one design kept once)."""
    pool = designs[designs["feasible"] & designs["within_budget"]].drop_duplicates("genes")
    if pool.empty:
        return pool
    values = np.column_stack([pool[k].to_numpy(float) * (-1.0 if d == "max" else 1.0) for k, d in PARETO.items()])
    return pool[pareto_mask(values)].sort_values("objective_pct", ascending=False).reset_index(drop=True)


def genes_of(row: pd.Series) -> np.ndarray:
    return np.array([int(g) for g in str(row["genes"]).split(",")], dtype=np.int64)


def best_json(problem: Problem, row: pd.Series | None, meets: bool) -> dict:
    """``best.json``: per task its architecture and accuracy, per sub-accelerator its template,
    PEs, bandwidth and tasks, the chip's latency_cycles, energy_nj, area_mm2, meets_specs;
    if no design meets the specs, the closest one and by how much it misses each spec."""
    spec = problem.spec
    if row is None:
        return {"spec": spec.name, "meets_specs": False, "reason": "no design was evaluated"}
    genes = genes_of(row)
    out = {"spec": spec.name, "controller": row["controller"], "seed": int(row["seed"]),
           "episode": int(row["episode"]), "meets_specs": bool(meets), "objective_pct": float(row["objective_pct"]),
           "tasks": [], "sub_accelerators": []}
    for t, task in enumerate(problem.tasks):
        out["tasks"].append({"name": task.name, "space": task.spec.space, "dataset": task.spec.dataset,
                             "arch": task.arch(genes[problem.task_slices[t]]),
                             "accuracy_pct": float(row[f"{task.name}_accuracy_pct"]),
                             "accuracy_source": row[f"{task.name}_accuracy_source"],
                             "sub_accelerator": f"sub{int(row[f'{task.name}_slot'])}"})
    for name, acc, task_ids in problem.sub_accelerators(genes):
        out["sub_accelerators"].append({"name": name, "template": acc.name, "pes": int(acc["pes"]),
                                        "noc_bw_bytes_per_cycle": float(acc["noc_bw_bytes_per_cycle"]),
                                        "dram_bw_bytes_per_cycle": float(acc["dram_bw_bytes_per_cycle"]),
                                        "tasks": [problem.tasks[t].name for t in task_ids]})
    out.update({"latency_cycles": float(row["latency_cycles"]), "latency_s": float(row["latency_s"]),
                "energy_nj": float(row["energy_nj"]), "area_mm2": float(row["area_mm2"]),
                "specs": dict(problem.limits), "genes": [int(g) for g in genes]})
    if not meets:
        values = {"latency_cycles": row["latency_cycles"], "energy_nj": row["energy_nj"], "area_mm2": row["area_mm2"]}
        out["misses_by_pct"] = {k: float(100 * (values[k] / b - 1)) for k, b in problem.limits.items()
                                if values[k] > b}
        out["within_budget"] = bool(row["within_budget"])
    return out


def write_json(path: Path, data: dict) -> None:
    """JSON with numpy values as Python ones and inf/NaN as null."""
    Path(path).write_text(json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n")
