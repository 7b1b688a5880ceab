"""``report.md`` of a co-search, with its PNGs (plots from :mod:`hwsim.report`).

What it holds: the spec; the best design meeting every spec (per task its network,
accuracy and the oracle that produced it; per sub-accelerator its template, PEs and NoC
bandwidth) or, if none does, the closest design and by how much it misses; the successive
baseline (NAS by accuracy, then hardware) and the co-search's latency / energy / area
reductions and accuracy loss against it, beside NASAIC's published ones; the exact optimum
and the search's regret to it; and plots: accuracy against latency, energy and area with
the spec lines, the Pareto front, the best chip's per-layer energy by sub-accelerator, and
the best-so-far curve with the optimum as a line.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from hwsim.report import best_so_far, pareto_projections, scatter_vs_metric, stacked_bars

from .problem import Problem
from .results import PARETO, best_row, genes_of

#: NASAIC (Yang et al., DAC 2020, abstract): co-search vs successive NAS-then-ASIC
NASAIC_CLAIMS = {"latency_reduction_pct": 17.77, "energy_ratio": 2.49, "area_ratio": 2.32, "accuracy_loss_pct": 0.76}
METRICS = (("latency_cycles", "latency_cycles"), ("energy_nj", "energy_nj"), ("area_mm2", "area_mm2"))


def best_so_far_curve(designs: pd.DataFrame, episodes: int) -> np.ndarray:
    """Per episode, the best objective among the kept designs meeting every spec so far
    (NaN before the first)."""
    curve = np.full(episodes, np.nan)
    kept = designs[designs["chosen"] & designs["meets_specs"]]
    if len(kept):
        values = kept.groupby("episode")["objective_pct"].max()
        idx = values.index.to_numpy(int)
        curve[idx[idx < episodes]] = values.to_numpy(float)[idx < episodes]
    return np.fmax.accumulate(curve)


def comparison(co: pd.Series | None, baseline: pd.Series | None) -> dict:
    """The co-search's reductions against the baseline, as NASAIC reports them."""
    if co is None or baseline is None:
        return {}
    return {"latency_reduction_pct": 100 * (1 - co["latency_cycles"] / baseline["latency_cycles"]),
            "energy_ratio": baseline["energy_nj"] / co["energy_nj"],
            "area_ratio": baseline["area_mm2"] / co["area_mm2"],
            "accuracy_loss_pct": baseline["objective_pct"] - co["objective_pct"]}


def write_report(out: Path, problem: Problem, designs: pd.DataFrame, *, truth=None,
                 baseline: pd.DataFrame | None = None) -> Path:
    """Write ``out/report.md`` and its PNGs; returns the report's path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    spec = problem.spec
    best, meets = best_row(designs)
    base, base_meets = best_row(baseline) if baseline is not None and len(baseline) else (None, False)
    highlight = {}
    if best is not None:
        highlight["co-search best"] = best
    if base is not None:
        highlight["successive"] = base
    if truth is not None and truth.evaluated is not None:
        ev = truth.evaluated
        highlight["optimum"] = {"latency_cycles": ev.latency_cycles[0], "energy_nj": ev.energy_nj[0],
                                "area_mm2": ev.area_mm2[0], "objective_pct": ev.objective_pct[0]}
    lines = [f"# Co-search report: {spec.name}", "", _spec_text(problem), ""]
    lines += _best_text(problem, best, meets)
    lines += _baseline_text(best if meets else None, base, base_meets)
    lines += _truth_text(truth, best if meets else None)
    lines += _plots(out, problem, designs, best, highlight, truth)
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _spec_text(problem: Problem) -> str:
    spec, hw = problem.spec, problem.spec.hardware
    tasks = "; ".join(f"{t.name}: {t.spec.space}/{t.spec.dataset} ({t.oracle_source})" for t in problem.tasks)
    bounds = ", ".join(f"{k} <= {v:g}" for k, v in problem.limits.items()) or "none"
    budget = ", ".join(f"{k} <= {getattr(hw.budget, k):g}" for k in ("pes", "noc_bw_bytes_per_cycle",
                                                                       "sram_bytes", "area_mm2")
                       if getattr(hw.budget, k) is not None) or "none"
    return (f"Tasks: {tasks}.  \nHardware: up to {hw.sub_accelerators} sub-accelerators of "
            f"{', '.join(hw.templates)}; PEs {list(hw.pes)}; NoC {list(hw.noc_bw_bytes_per_cycle)} B/cycle; "
            f"DRAM {hw.dram_bw_bytes_per_cycle:g} B/cycle {hw.dram_policy}; budget {budget}.  \n"
            f"Specs: {bounds}.  \nSearch: {spec.search.controller}, {spec.search.episodes} episodes, seed {spec.seed}.")


def _design_table(problem: Problem, row: pd.Series) -> list[str]:
    lines = ["| task | network | accuracy (%) | oracle | sub-accelerator |", "|---|---|---:|---|---|"]
    for t in problem.tasks:
        lines.append(f"| {t.name} | `{row[f'{t.name}_arch']}` | {row[f'{t.name}_accuracy_pct']:.2f} | "
                     f"{row[f'{t.name}_accuracy_source']} | sub{int(row[f'{t.name}_slot'])} |")
    lines += ["", f"Chip: `{row['chip']}`", "",
              "| latency_cycles | energy_nj | area_mm2 | PEs | NoC B/cycle | objective (%) |",
              "|---:|---:|---:|---:|---:|---:|",
              f"| {row['latency_cycles']:.4g} | {row['energy_nj']:.4g} | {row['area_mm2']:.4g} | {row['pes']:.0f} | "
              f"{row['noc_bw_bytes_per_cycle']:.0f} | {row['objective_pct']:.3f} |", ""]
    return lines


def _misses(problem: Problem, row: pd.Series) -> str:
    parts = [f"{k} {row[k]:.4g} > {b:g} (+{100 * (row[k] / b - 1):.1f} %)" for k, b in problem.limits.items()
             if not row[k] <= b]
    if not row["within_budget"]:
        parts.append("over the budget")
    if not row["feasible"]:
        parts.append("a network does not map")
    return "; ".join(parts) or "none"


def _best_text(problem: Problem, best, meets: bool) -> list[str]:
    if best is None:
        return ["No design was evaluated.", ""]
    if meets:
        head = "## Best design meeting every spec"
    else:
        head = (f"## No design meets every spec: the closest one\n\nIt misses by: {_misses(problem, best)}. "
                "The spec is infeasible for this search; see the exact optimum below for whether any design meets it.")
    return [head, ""] + _design_table(problem, best)


def _baseline_text(co, base, base_meets: bool) -> list[str]:
    if base is None:
        return []
    lines = ["## Successive baseline (NAS by accuracy alone, then the best hardware)", "",
             f"Networks: {base['objective_pct']:.3f} % objective accuracy; chip `{base['chip']}`: "
             f"latency_cycles {base['latency_cycles']:.4g}, energy_nj {base['energy_nj']:.4g}, "
             f"area_mm2 {base['area_mm2']:.4g}; "
             + ("meets every spec." if base_meets else "**violates the specs** (closest chip shown)."), ""]
    cmp = comparison(co, base)
    if cmp:
        lines += ["| | latency reduction (%) | energy (baseline / co-search) | area (baseline / co-search) | "
                  "accuracy loss (pp) |", "|---|---:|---:|---:|---:|",
                  f"| this search | {cmp['latency_reduction_pct']:.2f} | {cmp['energy_ratio']:.2f}x | "
                  f"{cmp['area_ratio']:.2f}x | {cmp['accuracy_loss_pct']:.2f} |",
                  f"| NASAIC (DAC 2020) | {NASAIC_CLAIMS['latency_reduction_pct']:.2f} | "
                  f"{NASAIC_CLAIMS['energy_ratio']:.2f}x | {NASAIC_CLAIMS['area_ratio']:.2f}x | "
                  f"{NASAIC_CLAIMS['accuracy_loss_pct']:.2f} |", ""]
    return lines


def _truth_text(truth, co) -> list[str]:
    if truth is None:
        return []
    if truth.evaluated is None:
        return ["## Exact optimum", "", f"No design of the whole joint space meets the specs ({truth.optimum.reason}).",
                ""]
    ev = truth.evaluated
    regret = truth.objective_pct - co["objective_pct"] if co is not None else math.nan
    return ["## Exact optimum", "",
            f"{truth.objective_pct:.3f} % objective accuracy ({truth.note}; {truth.optimum.chips_considered:,} "
            f"chips, {truth.optimum.seconds:.1f} s): latency_cycles {ev.latency_cycles[0]:.4g}, "
            f"energy_nj {ev.energy_nj[0]:.4g}, area_mm2 {ev.area_mm2[0]:.4g}.  ",
            f"Regret of this search: {regret:.3f} percentage points." if co is not None else
            "This search found no design meeting the specs.", ""]


def _plots(out: Path, problem: Problem, designs: pd.DataFrame, best, highlight, truth) -> list[str]:
    lines = ["## Plots", ""]
    kept = designs[designs["feasible"]]
    for metric, _ in METRICS:
        if kept.empty:
            break
        marks = {k: (float(v[metric]), float(v["objective_pct"])) for k, v in highlight.items()}
        png = scatter_vs_metric(kept, metric, "objective_pct", out / f"accuracy_vs_{metric}.png",
                                spec=problem.limits.get(metric), feasible_col="meets_specs", highlight=marks,
                                label_y="objective accuracy [%]", log_x=True,
                                title=f"{problem.spec.name}: accuracy vs {metric}")
        lines.append(f"![accuracy vs {metric}]({png.name})")
    ok = kept[kept["within_budget"]].drop_duplicates("genes")
    if len(ok) >= 2:
        png = pareto_projections(ok, PARETO, out / "pareto.png", title=f"{problem.spec.name}: Pareto front")
        lines.append(f"![Pareto front]({png.name})")
    if best is not None and best["feasible"]:
        png = stacked_bars(_layer_breakdown(problem, best), "block", "part", "energy_nj",
                           out / "best_chip_layers.png", top=40, label_value="energy [nJ]",
                           title="best chip: energy per block of each task, on its sub-accelerator")
        lines.append(f"![per-layer energy]({png.name})")
    curve = best_so_far_curve(designs, problem.spec.search.episodes)
    if np.isfinite(curve).any():
        png = best_so_far({problem.spec.search.controller: curve[None, :]}, out / "best_so_far.png",
                          optimum=truth.objective_pct if truth is not None and truth.evaluated is not None else None,
                          title=f"{problem.spec.name}: best accuracy meeting the specs")
        lines.append(f"![best so far]({png.name})")
    return lines + [""]


def _layer_breakdown(problem: Problem, row: pd.Series) -> pd.DataFrame:
    """Per block (a cell, a reduction block, an MBConv layer, the stem...) of each task on its
    sub-accelerator, the energy of each part (MACs, each memory level, NoC, leakage), from a
    fresh ``hwsim.evaluate`` of the real networks."""
    import hwsim
    genes = genes_of(row)
    frames = []
    for name, acc, task_ids in problem.sub_accelerators(genes):
        for t in task_ids:
            task = problem.tasks[t]
            layers = hwsim.evaluate(task.network(genes[problem.task_slices[t]]), acc).layers
            block = layers["layer"].astype(str).str.split(".").str[0]
            parts = [c for c in layers.columns if c.startswith("energy_") and c.endswith("_pj") and c != "energy_pj"]
            long = layers[parts].assign(block=f"{name}/{acc.name}:{task.name}:" + block).melt(
                id_vars="block", value_vars=parts, var_name="part", value_name="part_pj")
            long["part"] = long["part"].str[len("energy_"):-len("_pj")]
            frames.append(long)
    frame = pd.concat(frames, ignore_index=True)
    frame = frame.groupby(["block", "part"], sort=False, as_index=False)["part_pj"].sum()
    return frame.assign(energy_nj=frame["part_pj"] / 1e3)
