"""``Problem``: a spec made concrete — the hardware configs, the tasks, the gene layout of a
design, and the vectorized evaluation of many designs at once.

A design is one integer vector of genes (what every controller proposes):

* per task, that task's architecture genes (:class:`nasaic.tasks.TaskSpace`);
* per sub-accelerator slot, three hardware genes: template, PEs and NoC bandwidth, each an
  index into the spec's choice lists;
* per task, the slot it runs on. A slot no task runs on is left out of the chip (it would
  only add area and budget), so a 2-slot space also holds every 1-sub-accelerator chip.

Costs follow ``hwsim.system``'s closed form of task-level chips
(:func:`hwsim.system.closed_form.combine_tasks`): a slot runs its tasks in sequence, the
chip's latency is the largest busy time, energy the sum over tasks, area the sum over the
used slots. DRAM: ``partitioned`` gives every slot ``1 / sub_accelerators`` of the
interface (the config is costed with that share, so the closed form is exact and equals
the simpy simulation); ``shared`` costs every slot with the whole interface (then the
closed form is the no-contention bound). :meth:`Problem.chip` builds the
``hwsim.system.Chip`` of a design, so ``hwsim.system.evaluate_chip`` re-evaluates it from
scratch.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Mapping

import numpy as np

import hwsim
from hwsim.errors import SpecError
from hwsim.system import Budget, make_chip
from hwsim.system.chip import accelerator_noc_bw, accelerator_pes, accelerator_sram_bytes
from hwsim.system.closed_form import combine_tasks

from .spec import Spec
from .tasks import TaskSpace

HW_GENES = ("template", "pes", "noc_bw")


@dataclass(frozen=True, eq=False)
class Evaluated:
    """The closed-form numbers of n designs (arrays over designs, and over tasks)."""

    genes: np.ndarray               # (n, D) as scored (table_only genes snapped)
    accuracy_pct: np.ndarray        # (n, T)
    accuracy_source: list[list[str]]  # [T][n]
    objective_pct: np.ndarray       # (n,) weighted mean accuracy
    task_latency_s: np.ndarray      # (n, T)
    task_energy_pj: np.ndarray      # (n, T)
    task_slot: np.ndarray           # (n, T)
    slot_config: np.ndarray         # (n, S) config index, -1 for an unused slot
    latency_s: np.ndarray
    latency_cycles: np.ndarray
    energy_pj: np.ndarray
    area_mm2: np.ndarray
    pes: np.ndarray
    noc_bw_bytes_per_cycle: np.ndarray
    feasible: np.ndarray            # every task maps on its sub-accelerator
    within_budget: np.ndarray
    meets: Mapping[str, np.ndarray]  # spec key -> (n,) bool
    meets_specs: np.ndarray         # feasible, within budget and every spec met
    slack: np.ndarray               # mean over specs of (1 - value / bound), < 0 where violated
    violation: np.ndarray           # max over specs and budget of (value / bound - 1), 0 if met

    def __len__(self) -> int:
        return len(self.objective_pct)

    @property
    def energy_nj(self) -> np.ndarray:
        return self.energy_pj / 1e3


class Problem:
    """A co-search instance built from a :class:`~nasaic.spec.Spec` (see the module doc)."""

    def __init__(self, spec: Spec, *, reference_dir=None, cache_dir=None, oracles=None):
        self.spec = spec
        hw = spec.hardware
        self.slots = hw.sub_accelerators
        self.configs = _configs(spec)
        self.config_pes = np.array([accelerator_pes(a) for a in self.configs], dtype=float)
        self.config_noc_bw = np.array([accelerator_noc_bw(a) for a in self.configs], dtype=float)
        self.config_sram_bytes = np.array([accelerator_sram_bytes(a) or np.nan for a in self.configs], dtype=float)
        oracles = dict(oracles or {})
        self.tasks = tuple(TaskSpace(t, self.configs, reference_dir=reference_dir, cache_dir=cache_dir,
                                     oracle=oracles.get(t.name)) for t in spec.tasks)
        self.config_area_mm2 = self.tasks[0].costs.area_mm2
        weights = np.array([t.weight for t in spec.tasks], dtype=float)
        self.weights = weights / weights.sum()
        self.limits = _limits(spec)
        # gene layout: [task 0 arch | task 1 arch | ... | slot 0 hw | slot 1 hw | ... | task slots]
        sizes = [len(t.gene_options) for t in self.tasks]
        self.task_slices = [slice(a, b) for a, b in zip(np.cumsum([0] + sizes[:-1]), np.cumsum(sizes))]
        self.hw_start = int(sum(sizes))
        hw_options = (len(hw.templates), len(hw.pes), len(hw.noc_bw_bytes_per_cycle)) * self.slots
        self.gene_options = tuple(o for t in self.tasks for o in t.gene_options) + hw_options \
            + (self.slots,) * len(self.tasks)
        self.gene_names = tuple(f"{t.name}.{i}" for t in self.tasks for i in range(len(t.gene_options))) \
            + tuple(f"slot{s}.{g}" for s in range(self.slots) for g in HW_GENES) \
            + tuple(f"{t.name}.slot" for t in self.tasks)

    # -- the gene layout ----------------------------------------------------------------------
    @property
    def n_genes(self) -> int:
        return len(self.gene_options)

    @property
    def hardware_genes(self) -> slice:
        """The hardware part of a design (slot genes and task slots): what RL re-samples."""
        return slice(self.hw_start, self.n_genes)

    @property
    def network_genes(self) -> slice:
        return slice(0, self.hw_start)

    def config_index(self, template_i, pes_i, bw_i):
        hw = self.spec.hardware
        return (np.asarray(template_i) * len(hw.pes) + np.asarray(pes_i)) * len(hw.noc_bw_bytes_per_cycle) \
            + np.asarray(bw_i)

    def config_genes(self, config_index: int) -> tuple[int, int, int]:
        hw = self.spec.hardware
        rest, bw_i = divmod(int(config_index), len(hw.noc_bw_bytes_per_cycle))
        template_i, pes_i = divmod(rest, len(hw.pes))
        return template_i, pes_i, bw_i

    def split(self, genes):
        """(per-task arch genes list, slot configs (n, S), task slots (n, T)) of designs (n, D)."""
        genes = _as_genes(genes)
        if genes.ndim == 1:
            genes = genes[None, :]
        if genes.ndim != 2 or genes.shape[1] != self.n_genes:
            raise SpecError(f"field 'genes': shape {genes.shape}: expected (n, {self.n_genes})")
        bad = (genes < 0) | (genes >= np.array(self.gene_options))
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise SpecError(f"field 'genes[{i}].{self.gene_names[j]}' = {genes[i, j]}: expected "
                            f"0..{self.gene_options[j] - 1}")
        archs = [genes[:, s] for s in self.task_slices]
        hw = genes[:, self.hw_start:self.hw_start + 3 * self.slots].reshape(len(genes), self.slots, 3)
        cfg = self.config_index(hw[..., 0], hw[..., 1], hw[..., 2])
        task_slot = genes[:, self.hw_start + 3 * self.slots:]
        used = (task_slot[:, :, None] == np.arange(self.slots)).any(axis=1)
        return archs, np.where(used, cfg, -1), task_slot

    def snap(self, genes) -> np.ndarray:
        """Designs with each table_only task's genes snapped to its nearest tabulated network."""
        genes = np.array(_as_genes(genes), ndmin=2)
        for task, sl in zip(self.tasks, self.task_slices):
            if task.table_only:
                genes[:, sl] = task.snap(genes[:, sl])
        return genes

    # -- evaluation -----------------------------------------------------------------------------
    def evaluate(self, genes) -> Evaluated:
        """The closed form of every design in ``genes`` (n, D), vectorized over designs."""
        genes = self.snap(genes)
        archs, slot_config, task_slot = self.split(genes)
        n, T = len(genes), len(self.tasks)
        lat, energy, ok = np.empty((n, T)), np.empty((n, T)), np.empty((n, T), dtype=bool)
        acc, sources = np.empty((n, T)), []
        for t, task in enumerate(self.tasks):
            cfg_t = np.take_along_axis(slot_config, task_slot[:, t:t + 1], axis=1)[:, 0]
            lat[:, t], energy[:, t], ok[:, t] = task.costs.cost(cfg_t, archs[t])
            acc[:, t], src = task.accuracy(archs[t])
            sources.append(src)
        _, _, makespan, total_energy, feasible = combine_tasks(lat, energy, ok, task_slot, self.slots)
        used = slot_config >= 0
        safe = np.maximum(slot_config, 0)
        area = np.where(used, self.config_area_mm2[safe], 0.0).sum(axis=1)
        pes = np.where(used, self.config_pes[safe], 0.0).sum(axis=1)
        bw = np.where(used, self.config_noc_bw[safe], 0.0).sum(axis=1)
        sram = np.where(used, self.config_sram_bytes[safe], 0.0).sum(axis=1)
        values = {"latency_cycles": makespan * self.spec.hardware.clock_hz, "energy_nj": total_energy / 1e3,
                  "area_mm2": area}
        budget_values = {"pes": pes, "noc_bw_bytes_per_cycle": bw, "sram_bytes": sram, "area_mm2": area}
        ratios, meets = [], {}
        with np.errstate(invalid="ignore", divide="ignore"):
            for key, bound in self.limits.items():
                ratio = np.where(feasible, values[key] / bound, np.inf)
                meets[key] = ratio <= 1.0
                ratios.append(ratio)
            in_budget = np.ones(n, dtype=bool)
            for key in ("pes", "noc_bw_bytes_per_cycle", "sram_bytes", "area_mm2"):
                limit = getattr(self.spec.hardware.budget, key)
                if limit is not None:
                    ratio = budget_values[key] / float(limit)
                    in_budget &= ratio <= 1.0
                    ratios.append(ratio)
        ratio_all = np.column_stack(ratios) if ratios else np.zeros((n, 1))
        spec_ratios = ratio_all[:, :len(self.limits)] if self.limits else np.zeros((n, 1))
        meets_all = feasible & in_budget & np.all(ratio_all <= 1.0, axis=1)
        return Evaluated(genes=genes, accuracy_pct=acc, accuracy_source=sources, objective_pct=acc @ self.weights,
                         task_latency_s=lat, task_energy_pj=energy, task_slot=task_slot, slot_config=slot_config,
                         latency_s=makespan, latency_cycles=values["latency_cycles"], energy_pj=total_energy,
                         area_mm2=area, pes=pes, noc_bw_bytes_per_cycle=bw, feasible=feasible,
                         within_budget=in_budget, meets=meets, meets_specs=meets_all,
                         slack=np.mean(1.0 - np.minimum(spec_ratios, 2.0), axis=1),
                         violation=np.maximum(np.max(ratio_all, axis=1) - 1.0, 0.0))

    # -- one design as hardware and networks ------------------------------------------------------
    def sub_accelerators(self, genes_row) -> list[tuple[str, hwsim.Accelerator, list[int]]]:
        """(name, accelerator, task indices) of every used slot of one design."""
        _, slot_config, task_slot = self.split(genes_row)
        out = []
        for s in range(self.slots):
            if slot_config[0, s] >= 0:
                tasks = [t for t in range(len(self.tasks)) if task_slot[0, t] == s]
                out.append((f"sub{s}", self.configs[slot_config[0, s]], tasks))
        return out

    def chip(self, genes_row, name: str | None = None):
        """The ``hwsim.system.Chip`` of one design, with its tasks' real networks."""
        genes_row = self.snap(genes_row)[0]
        subs = self.sub_accelerators(genes_row)
        hw = self.spec.hardware
        tasks = []
        for sub_name, _, task_ids in subs:
            for t in task_ids:
                tasks.append((self.tasks[t].name, self.tasks[t].network(genes_row[self.task_slices[t]]), sub_name))
        tasks.sort(key=lambda item: [t.name for t in self.tasks].index(item[0]))
        share = {s: acc["dram_bw_bytes_per_cycle"] for s, acc, _ in subs} if hw.dram_policy == "partitioned" else None
        return make_chip(name or self.spec.name, {s: acc for s, acc, _ in subs}, tasks,
                         dram_bw_bytes_per_cycle=hw.dram_bw_bytes_per_cycle, dram_policy=hw.dram_policy,
                         dram_bw=share, budget=hw.budget, clock_hz=hw.clock_hz,
                         specs=self.chip_specs(), source=self.spec.source)

    def chip_specs(self) -> dict[str, float]:
        """The specs in ``hwsim.system`` units (energy_nj -> energy_pj)."""
        out = {}
        for key, bound in self.limits.items():
            out["energy_pj" if key == "energy_nj" else key] = bound * (1e3 if key == "energy_nj" else 1.0)
        return out

    def random_genes(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` designs drawn uniformly, gene by gene."""
        return np.column_stack([rng.integers(0, k, size=n) for k in self.gene_options])


def _as_genes(genes) -> np.ndarray:
    """Genes as int64; integral floats are accepted, anything else (2.5, strings) is a SpecError."""
    arr = np.asarray(genes)
    if arr.dtype.kind in "iu" or arr.dtype.kind == "f" and np.isfinite(arr).all() and (arr == np.round(arr)).all():
        return arr.astype(np.int64)
    bad = arr[~(np.isfinite(arr) & (arr == np.round(arr)))][0] if arr.dtype.kind == "f" else arr.ravel()[0]
    raise SpecError(f"field 'genes' = {bad!r} (dtype {arr.dtype}): expected integer option indices")


def _limits(spec: Spec) -> dict[str, float]:
    return {k: float(v) for k, v in spec.specs.items()}


def _configs(spec: Spec) -> tuple[hwsim.Accelerator, ...]:
    """Every (template, PEs, NoC bandwidth) config, in gene order, at the chip clock and with
    the DRAM share of the policy."""
    hw = spec.hardware
    share = hw.dram_bw_bytes_per_cycle / hw.sub_accelerators if hw.dram_policy == "partitioned" \
        else hw.dram_bw_bytes_per_cycle
    out = []
    for template, pes, bw in itertools.product(hw.templates, hw.pes, hw.noc_bw_bytes_per_cycle):
        params = dict(hw.params.get(template, {}))
        params.update(pes=pes, noc_bw_bytes_per_cycle=bw, dram_bw_bytes_per_cycle=share, clock_hz=hw.clock_hz)
        try:
            out.append(hwsim.load_template(template, **params))
        except hwsim.errors.HwsimError as exc:
            raise SpecError(f"{spec.source}: field 'hardware' = template {template!r} with pes={pes}, "
                            f"noc_bw_bytes_per_cycle={bw}: {exc}") from None
    return tuple(out)


__all__ = ["Budget", "Evaluated", "Problem"]
