"""The exact hardware for given networks: ``nasaic.allocate``'s MILP on the search's cached costs.

Given one network per task (a design's network genes), :func:`exact_hardware` builds a
:class:`hwsim.system.CostTable` of those networks on every config of the hardware space
from the cached per-space tables (no re-evaluation), and lets the pyomo + HiGHS MILP pick
each slot's config and the task mapping that minimises latency under the budget and the
specs. It returns the hardware genes of that chip (and the :class:`Allocation`), or None
when no chip meets the specs. Results are cached per network tuple, since a converging
controller proposes the same networks again and again.
"""

from __future__ import annotations

import numpy as np

from hwsim.system import CostTable

from .allocate import Allocation, allocate
from .problem import Problem


def cost_table(problem: Problem, genes_row: np.ndarray) -> CostTable:
    """The CostTable of one design's networks (one column per task) on every config."""
    genes_row = problem.snap(genes_row)[0]
    archs = [genes_row[sl] for sl in problem.task_slices]
    lat, energy, ok = zip(*(task.costs.cost_all(a[None, :]) for task, a in zip(problem.tasks, archs)))
    lat, energy, ok = (np.column_stack(x) for x in (lat, energy, ok))
    clock = problem.tasks[0].costs.clock_hz
    configs = problem.configs
    return CostTable(networks=tuple(t.network(a) for t, a in zip(problem.tasks, archs)), configs=configs,
                     latency_cycles=lat * clock[:, None], latency_s=lat, energy_pj=energy, energy_breakdown_pj={},
                     feasible=ok, error=np.full(lat.shape, "", dtype=object), area_mm2=problem.config_area_mm2,
                     clock_hz=clock, pes=problem.config_pes, noc_bw_bytes_per_cycle=problem.config_noc_bw,
                     sram_bytes=problem.config_sram_bytes,
                     dram_bw_bytes_per_s=np.array([a["dram_bw_bytes_per_cycle"] for a in configs]) * clock)


def exact_hardware(problem: Problem, genes_row, *, with_specs: bool = True,
                   objective: str = "latency") -> tuple[np.ndarray | None, Allocation]:
    """(hardware genes, allocation) of the best chip for ``genes_row``'s networks, or
    (None, allocation) if none meets the budget (and, ``with_specs``, the specs)."""
    cache = problem.__dict__.setdefault("_exact_hardware_cache", {})
    genes_row = problem.snap(genes_row)[0]
    key = (tuple(int(g) for g in genes_row[problem.network_genes]), with_specs, objective)
    if key not in cache:
        table = cost_table(problem, genes_row)
        alloc = allocate(list(table.networks), problem.configs, slots=problem.slots, objective=objective,
                         budget=problem.spec.hardware.budget, specs=problem.chip_specs() if with_specs else None,
                         table=table, clock_hz=problem.spec.hardware.clock_hz)
        cache[key] = (_hardware_genes(problem, alloc), alloc)
    return cache[key]


def _hardware_genes(problem: Problem, alloc: Allocation) -> np.ndarray | None:
    if alloc.status not in ("optimal", "time_limit"):
        return None
    rows = {acc: i for i, acc in enumerate(problem.configs)}
    slot_genes = []
    for acc in alloc.configs:
        slot_genes += list(problem.config_genes(rows[acc])) if acc is not None else [0, 0, 0]
    return np.array(slot_genes + list(alloc.task_slot), dtype=np.int64)
