"""The exact optimum of a co-search spec: the ground truth every search is measured against.

:func:`nasaic.optimum.exact_optimum` solves the joint problem (every enumerable network of
each task x every chip of the hardware space) by decomposition; this module feeds it the
problem's cached cost tables and tabulated accuracies and turns its answer back into a
design (genes) that :meth:`nasaic.problem.Problem.evaluate` re-scores, so the optimum is
checked by the same closed form as every searched design.

For NAS-Bench-201 (and a MnasNet task with ``table_only``) the enumerable networks are the
whole space, so the optimum is the true one. For a MnasNet task searched with the
surrogate (10^11 networks), the optimum is over its 5,125 tabulated networks, and
``GroundTruth.whole_space`` is False: a search may then beat it (negative regret), and
the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .optimum import ConfigTable, Optimum, TaskTable, exact_optimum
from .problem import Evaluated, Problem


@dataclass(frozen=True)
class GroundTruth:
    optimum: Optimum
    genes: np.ndarray | None        # the optimal design (None if infeasible)
    evaluated: Evaluated | None     # that design as the problem scores it
    whole_space: bool               # False: the optimum is over tabulated networks only

    @property
    def objective_pct(self) -> float:
        return float(self.optimum.objective) if self.optimum.status == "optimal" else float("nan")

    @property
    def note(self) -> str:
        if self.whole_space:
            return "over the whole joint space"
        tabulated = [t.name for t in self.problem_tasks if not t.enumerable_is_whole_space]
        return f"over the tabulated networks of {', '.join(tabulated)} (a search with the surrogate may exceed it)"

    problem_tasks: tuple = ()


def solve(problem: Problem) -> GroundTruth:
    """The exact optimum of ``problem`` (see the module doc)."""
    tables = []
    for task in problem.tasks:
        lat, energy, ok = task.costs.cost_all(task.enumerable_genes)
        tables.append(TaskTable(latency_s=lat, energy_pj=energy, feasible=ok, accuracy=task.enumerable_accuracy()))
    configs = ConfigTable(area_mm2=problem.config_area_mm2, pes=problem.config_pes,
                          noc_bw_bytes_per_cycle=problem.config_noc_bw, sram_bytes=problem.config_sram_bytes)
    specs = {}
    for key, bound in problem.limits.items():
        if key == "latency_cycles":
            specs["latency_s"] = bound / problem.spec.hardware.clock_hz
        elif key == "energy_nj":
            specs["energy_pj"] = bound * 1e3
        else:
            specs[key] = bound
    opt = exact_optimum(tables, configs, slots=problem.slots, budget=problem.spec.hardware.budget, specs=specs,
                        weights=problem.weights)
    whole = all(t.enumerable_is_whole_space for t in problem.tasks)
    if opt.status != "optimal":
        return GroundTruth(opt, None, None, whole, tuple(problem.tasks))
    genes = np.zeros(problem.n_genes, dtype=np.int64)
    for t, (task, sl) in enumerate(zip(problem.tasks, problem.task_slices)):
        genes[sl] = task.enumerable_genes[opt.arch_index[t]]
    hw = []
    for c in opt.slot_config:
        hw += list(problem.config_genes(c)) if c >= 0 else [0, 0, 0]
    genes[problem.hw_start:] = hw + list(opt.task_slot)
    return GroundTruth(opt, genes, problem.evaluate(genes), whole, tuple(problem.tasks))
