"""The closed form of task-level chips, vectorized over many chips.

A chip is given as integer arrays over one :class:`~hwsim.system.tables.CostTable`:

* ``config_index`` (n_chips, n_slots): the table row (config) of each sub-accelerator
  slot, -1 for an empty slot (so chips of different sizes share one array);
* ``task_slot`` (n_chips, n_tasks) or (n_tasks,): the slot each task runs on;
* ``task_network`` (n_tasks,) or (n_chips, n_tasks): the table column of each task
  (default: task j is network j).

The model (the closed form of issue 6):

* a task's latency is the sum of its layers on its sub-accelerator (the table's
  ``latency_s``, each config in its own clock);
* a sub-accelerator runs its tasks in sequence, in the order listed: its busy time
  is their sum, a task starts when the previous one on its slot finishes;
* the chip's latency (makespan) is the maximum busy time; ``latency_cycles`` is
  that in cycles of the chip's clock (default: slot 0's config's clock);
* energy is the sum over tasks (leakage is charged while a sub-accelerator runs a
  layer, as ``evaluate`` charges it; an idle sub-accelerator is taken to be power
  gated, so waiting for the makespan costs nothing);
* area is the sum of the sub-accelerators' areas (every non-empty slot, used or
  not); no shared part (DRAM PHY, chip-level interconnect) is modelled;
* EDP = energy_pj x latency_s (pJ*s).

A task that does not map on its sub-accelerator is infeasible, and so is its
chip: its latency is inf and its energy NaN (as in ``evaluate_many``).

DRAM: with ``partitioned`` DRAM each config already carries its share (the table
costs it with that bandwidth), so the closed form is exact and the simulation
(``hwsim.system.simulate``) agrees with it to the cycle. With ``shared`` DRAM every
sub-accelerator's config carries the whole interface, so the closed form is the
no-contention bound (a lower bound on the simulated makespan).

:func:`evaluate_chip` costs one :class:`~hwsim.system.chip.Chip` through the same
:func:`evaluate_chips` and returns a :class:`~hwsim.system.report.ChipReport`;
:func:`within_budget` checks a budget over many chips at once (a search's filter;
a single Chip is checked when it is constructed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from ..errors import SpecError
from .chip import BUDGET_FIELDS, SPEC_FIELDS, Budget, Chip
from .report import ChipReport, ScheduleRow, SubReport, TaskReport, check_specs
from .tables import CostTable


@dataclass(frozen=True)
class ChipArrays:
    """The closed form of n chips: one entry per chip (and per slot / task)."""

    latency_s: np.ndarray           # (n,) makespan
    latency_cycles: np.ndarray      # (n,) makespan in cycles of the chip clock
    energy_pj: np.ndarray           # (n,)
    area_mm2: np.ndarray            # (n,)
    edp_pj_s: np.ndarray            # (n,)
    feasible: np.ndarray            # (n,) bool: every task maps on its sub-accelerator
    meets_specs: np.ndarray         # (n,) bool: feasible and every spec met
    meets: Mapping[str, np.ndarray]  # spec -> (n,) bool
    within_budget: np.ndarray       # (n,) bool (all True if no budget was given)
    busy_s: np.ndarray              # (n, S) per slot (0 for an empty slot)
    task_start_s: np.ndarray        # (n, T)
    task_finish_s: np.ndarray       # (n, T)
    task_latency_s: np.ndarray      # (n, T)
    task_energy_pj: np.ndarray      # (n, T)
    task_feasible: np.ndarray       # (n, T) bool
    clock_hz: np.ndarray            # (n,)

    def __len__(self) -> int:
        return len(self.latency_s)


def evaluate_chips(table: CostTable, config_index, task_slot, task_network=None, *,
                   specs: Mapping[str, float] | None = None, budget: Budget | None = None,
                   clock_hz=None, dram_bw_bytes_per_s: float | None = None) -> ChipArrays:
    """The closed form of many task-level chips (see the module doc), with array
    operations only: no Python loop over chips (one short loop over slots).

    ``specs``: upper bounds on latency_cycles, latency_s, energy_pj, area_mm2 and
    edp_pj_s. ``budget``: also report ``within_budget``. ``clock_hz`` (scalar or (n,)):
    the chip clock for ``latency_cycles`` (default: the clock of slot 0's config).
    ``dram_bw_bytes_per_s``: the DRAM interface of a partitioned search; ``within_budget``
    then also requires the slots' DRAM shares to fit in it.
    """
    cfg = _int_array(config_index, "config_index")
    if cfg.ndim == 1:
        cfg = cfg[None, :]
    if cfg.ndim != 2 or cfg.shape[1] == 0:
        raise SpecError(f"field 'config_index': shape {cfg.shape}: expected (n_chips, n_slots) with n_slots >= 1")
    n, n_slots = cfg.shape
    n_cfg, n_net = table.shape
    if cfg.size and (cfg.min() < -1 or cfg.max() >= n_cfg):
        raise SpecError(f"field 'config_index': values in [{cfg.min()}, {cfg.max()}]: expected -1 (empty slot) "
                        f"or a config row 0..{n_cfg - 1}")
    slot = _int_array(task_slot, "task_slot")
    slot = np.broadcast_to(slot, (n, slot.shape[-1])) if slot.ndim == 1 else slot
    if slot.ndim != 2 or slot.shape[0] != n or slot.shape[1] == 0 and n:
        raise SpecError(f"field 'task_slot': shape {slot.shape}: expected (n_tasks,) or ({n}, n_tasks), n_tasks >= 1")
    n_tasks = slot.shape[1]
    if slot.size and (slot.min() < 0 or slot.max() >= n_slots):
        raise SpecError(f"field 'task_slot': values in [{slot.min()}, {slot.max()}]: expected a slot 0..{n_slots - 1}")
    net = np.arange(n_tasks) if task_network is None else _int_array(task_network, "task_network")
    net = np.broadcast_to(net, (n, n_tasks)) if net.ndim == 1 else net
    if net.shape != (n, n_tasks):
        raise SpecError(f"field 'task_network': shape {net.shape}: expected ({n_tasks},) or ({n}, {n_tasks})")
    if net.size and (net.min() < 0 or net.max() >= n_net):
        raise SpecError(f"field 'task_network': values in [{net.min()}, {net.max()}]: expected a network column "
                        f"0..{n_net - 1}")
    task_cfg = np.take_along_axis(cfg, slot, axis=1)                       # (n, T)
    if (task_cfg < 0).any():
        chip, task = np.argwhere(task_cfg < 0)[0]
        raise SpecError(f"field 'task_slot': chip {chip}, task {task} is on slot {slot[chip, task]}, which is empty")

    ok = table.feasible[task_cfg, net]
    lat = table.latency_s[task_cfg, net]                                    # inf where infeasible
    energy_t = table.energy_pj[task_cfg, net]
    busy, start, makespan, energy, feasible = combine_tasks(lat, energy_t, ok, slot, n_slots)
    finish = start + lat
    area = np.where(cfg >= 0, table.area_mm2[np.maximum(cfg, 0)], 0.0).sum(axis=1)
    clock = table.clock_hz[np.maximum(cfg[:, 0], 0)] if clock_hz is None else \
        np.broadcast_to(np.asarray(clock_hz, dtype=float), (n,))
    cycles = makespan * clock
    with np.errstate(invalid="ignore"):
        edp = energy * makespan
    values = {"latency_cycles": cycles, "latency_s": makespan, "energy_pj": energy, "area_mm2": area,
              "edp_pj_s": edp}
    meets = {}
    for key, limit in (specs or {}).items():
        if key not in SPEC_FIELDS:
            raise SpecError(f"field 'specs.{key}' = {limit!r}: unknown spec; valid: {list(SPEC_FIELDS)}")
        with np.errstate(invalid="ignore"):
            meets[key] = feasible & (values[key] <= float(limit))
    meets_all = feasible.copy()
    for m in meets.values():
        meets_all &= m
    in_budget = within_budget(table, cfg, budget or Budget(), dram_bw_bytes_per_s=dram_bw_bytes_per_s)
    return ChipArrays(latency_s=makespan, latency_cycles=cycles, energy_pj=energy, area_mm2=area, edp_pj_s=edp,
                      feasible=feasible, meets_specs=meets_all, meets=meets, within_budget=in_budget, busy_s=busy,
                      task_start_s=start, task_finish_s=finish, task_latency_s=lat, task_energy_pj=energy_t,
                      task_feasible=ok, clock_hz=np.asarray(clock, dtype=float))


def combine_tasks(latency_s, energy_pj, feasible, task_slot, n_slots: int):
    """The chip-level closed form from per-task numbers, each (n, T): a slot runs its
    tasks in the order listed (busy = their sum; a task starts when the previous one
    on its slot ends; an infeasible task blocks its slot), the makespan is the largest
    busy time and the energy the sum over tasks (NaN for an infeasible chip).

    Returns ``(busy_s (n, S), task_start_s (n, T), makespan_s (n,), energy_pj (n,),
    feasible (n,))``. Shared by :func:`evaluate_chips` and the co-search (``nasaic``),
    whose per-task costs come from its own cached tables."""
    lat, ok, slot = np.asarray(latency_s, dtype=float), np.asarray(feasible, dtype=bool), np.asarray(task_slot)
    n, n_tasks = lat.shape
    busy = np.zeros((n, n_slots))
    start = np.zeros((n, n_tasks))
    for s in range(n_slots):                                                # few slots: not a loop over chips
        on = slot == s
        mine = np.where(on, lat, 0.0)
        stuck = np.isinf(mine)                                              # an infeasible task blocks its slot
        finite = np.where(stuck, 0.0, mine)
        before = np.cumsum(finite, axis=1) - finite                         # exclusive prefix sum
        before = np.where(np.cumsum(stuck, axis=1) - stuck > 0, np.inf, before)
        start = np.where(on, before, start)
        busy[:, s] = mine.sum(axis=1)
    chip_ok = ok.all(axis=1)
    energy = np.where(chip_ok, np.where(ok, energy_pj, 0.0).sum(axis=1), np.nan)
    return busy, start, busy.max(axis=1), energy, chip_ok


def budget_usage(table: CostTable, config_index) -> dict[str, np.ndarray]:
    """Per chip, the sums over its non-empty slots of PEs, NoC bandwidth, SRAM, area and
    DRAM bandwidth in bytes/s ((n,) each; NaN where a config's template does not declare
    that resource)."""
    cfg = _int_array(config_index, "config_index")
    cfg = cfg[None, :] if cfg.ndim == 1 else cfg
    used = cfg >= 0
    rows = np.maximum(cfg, 0)
    return {key: np.where(used, getattr(table, key)[rows], 0.0).sum(axis=1)
            for key in BUDGET_FIELDS + ("dram_bw_bytes_per_s",)}


def within_budget(table: CostTable, config_index, budget: Budget, *,
                  dram_bw_bytes_per_s: float | None = None) -> np.ndarray:
    """(n,) bool: chips whose sums stay within every limit of ``budget`` (vectorized;
    a resource a template does not declare fails a limit on it) and, if
    ``dram_bw_bytes_per_s`` is given, whose partitioned DRAM shares (each config's
    ``dram_bw_bytes_per_cycle`` x its clock) sum to at most that interface."""
    usage = budget_usage(table, config_index)
    ok = np.ones(len(next(iter(usage.values()))), dtype=bool)
    if dram_bw_bytes_per_s is not None:
        ok &= usage["dram_bw_bytes_per_s"] <= float(dram_bw_bytes_per_s) * (1 + 1e-9)
    for key in BUDGET_FIELDS:
        limit = getattr(budget, key)
        if limit is not None:
            with np.errstate(invalid="ignore"):
                ok &= usage[key] <= float(limit) * (1 + 1e-9)
    return ok


def evaluate_chip(chip: Chip, table: CostTable | None = None) -> ChipReport:
    """The closed form of ``chip`` (every task on a named sub-accelerator) as a
    :class:`ChipReport`, through :func:`evaluate_chips` on the chip's own cost table
    (or ``table``, if it holds the chip's configs and networks)."""
    auto = [t.name for t in chip.tasks if t.on is None]
    if auto:
        raise SpecError(f"{chip.source + ': ' if chip.source else ''}task {auto[0]!r} is mapped layer by layer "
                        "(on: auto), which the closed form does not cost: use hwsim.system.simulate "
                        "(hwsim chip --simulate)")
    table = table if table is not None else CostTable.for_chip(chip)
    cfg = table.config_indices([s.accelerator for s in chip.sub_accelerators])[None, :]
    slot = np.array([chip.sub_index(t.on) for t in chip.tasks])
    nets = np.array([table.network_index(t.network) for t in chip.tasks])
    r = evaluate_chips(table, cfg, slot, nets, specs=dict(chip.specs), clock_hz=chip.clock_hz)
    return _report(chip, table, cfg[0], slot, nets, r)


def _report(chip: Chip, table: CostTable, cfg, slot, nets, r: ChipArrays) -> ChipReport:
    makespan = float(r.latency_s[0])
    feasible = bool(r.feasible[0])
    tasks, rows = [], []
    errors = []
    for j, task in enumerate(chip.tasks):
        ok = bool(r.task_feasible[0, j])
        err = "" if ok else str(table.error[cfg[slot[j]], nets[j]])
        if err:
            errors.append(f"task {task.name!r} ({task.network.name}) on {task.on!r}: {err}")
        start, finish = float(r.task_start_s[0, j]), float(r.task_finish_s[0, j])
        tasks.append(TaskReport(name=task.name, network=task.network.name, subs=(task.on,), start_s=start,
                                finish_s=finish, energy_pj=float(r.task_energy_pj[0, j]), feasible=ok, error=err))
        rows.append(ScheduleRow(task.on, task.name, None, start, finish))
    subs = []
    for s, sub in enumerate(chip.sub_accelerators):
        mine = [j for j in range(len(chip.tasks)) if slot[j] == s]
        split = {key: float(sum(values[cfg[s], nets[j]] for j in mine)) for key, values in
                 table.energy_breakdown_pj.items()}
        busy = float(r.busy_s[0, s])
        energy = float(sum(r.task_energy_pj[0, j] for j in mine))
        subs.append(SubReport(name=sub.name, template=sub.accelerator.name, busy_s=busy,
                              utilization=busy / makespan if np.isfinite(makespan) and makespan > 0 else 0.0,
                              energy_pj=energy, energy_breakdown_pj=split, area_mm2=float(table.area_mm2[cfg[s]]),
                              tasks=tuple(chip.tasks[j].name for j in mine)))
    notes = ["closed form: tasks on one sub-accelerator run in the order listed; energy = sum over tasks "
             "(an idle sub-accelerator leaks nothing); area = sum of the sub-accelerators' areas (no shared parts)"]
    if chip.dram_policy == "shared":
        notes.append("shared DRAM in closed form: every sub-accelerator is costed with the whole bandwidth "
                     "(no contention), a lower bound on the makespan; simulate for contention")
    values = dict(latency_cycles=float(r.latency_cycles[0]), latency_s=makespan, energy_pj=float(r.energy_pj[0]),
                  area_mm2=float(r.area_mm2[0]), edp_pj_s=float(r.edp_pj_s[0]))
    return ChipReport(chip=chip.name, method="closed_form", dram_policy=chip.dram_policy, feasible=feasible,
                      **values, clock_hz=float(chip.clock_hz), subs=tuple(subs), tasks=tuple(tasks),
                      meets=check_specs(chip.specs, **values) if feasible else {k: False for k in chip.specs},
                      specs=dict(chip.specs), schedule=tuple(rows), error="; ".join(errors), notes=tuple(notes))


def _int_array(value, name: str) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "iu":
        if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
            return array.astype(np.int64)
        raise SpecError(f"field '{name}': dtype {array.dtype}: expected an integer array")
    return array.astype(np.int64, copy=False)


__all__ = ["ChipArrays", "budget_usage", "evaluate_chip", "evaluate_chips", "within_budget"]
