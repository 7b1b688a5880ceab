"""Mapping a chip's tasks onto its sub-accelerators, layer by layer: the plan the
simulation (``hwsim.system.simulate``) runs.

Per-layer costs
---------------
:func:`layer_costs` costs every task's network on the sub-accelerators it may use
(its own, or all of them for a task with ``on=None``) with one
``hwsim.evaluate_many`` per network, or takes them from a :class:`LayerTable`
built once for many chips; the per-layer frame is split for contention
as the shared cost stage builds latency (``max(compute, each level's bytes / its
bandwidth) + fill/drain``)::

    core_cycles = max(compute_cycles, every non-DRAM level's bytes / its bandwidth)
    fill_cycles = latency_cycles - max(core_cycles, dram_bytes / dram_bw_bytes_per_cycle)

so that under a DRAM allocation of ``b`` bytes per cycle the layer takes
``max(core_cycles, dram_bytes / b) + fill_cycles`` (exactly ``latency_cycles``
with ``b`` its sub-accelerator's own bandwidth). Everything is converted to
cycles of the chip's clock (``chip.clock_hz``): a layer of ``n`` cycles on a
sub-accelerator clocked at ``f`` takes ``n * chip.clock_hz / f`` chip cycles.

The greedy policy (:func:`greedy`)
----------------------------------
A list scheduler over the uncontended per-layer latencies. Every task offers one
candidate at a time: its next layer in the network's topological order
(``network.layers``). A task with ``on`` set may only use that sub-accelerator,
and the tasks on one sub-accelerator are taken in the order listed (the next one
offers its first layer only when the previous one is fully placed), as the closed
form runs them. A task with ``on=None`` (layer-level mapping, Herald-style) may
put each layer on any sub-accelerator where it is feasible. For every candidate
layer and allowed sub-accelerator::

    ready  = max(finish of the layer's producers in the network's DAG, sub-accelerator free)
    finish = ready + latency of the layer there

and the (layer, sub-accelerator) pair that *finishes earliest* is placed (ties: the
task listed first, then the sub-accelerator listed first); the layer is appended
to that sub-accelerator's queue, which is then free at ``finish``. Nothing is
inserted into an earlier idle gap (no backfilling), so each sub-accelerator runs
its queue in the order placed.

* **Dependencies:** no layer is placed to start before all its producers finish.
* **Feasibility:** a layer is never put on a sub-accelerator where it cannot map;
  a layer that maps nowhere makes its task infeasible (the error names the layer
  and each sub-accelerator's reason), as does a layer of a task with ``on`` set
  that cannot map there. Infeasible tasks are left out of the plan.
* **Activation hand-off:** every layer's cost already reads its inputs from DRAM
  and writes its outputs to DRAM (the models' compulsory traffic), so a producer
  and a consumer on different sub-accelerators exchange the tensor through DRAM at
  no extra bytes: the consumer only waits for the producer to finish.
* **Guarantee (one task):** on a chip that runs a single task, the planned makespan
  is at most the task's latency on its best single sub-accelerator (on every
  sub-accelerator where it maps whole, in fact). Proof: let ``T_i`` be the sum of
  the first ``i`` layers' latencies on sub-accelerator ``s``. By induction every
  placed layer ``j < i`` finishes by ``T_j <= T_{i-1}``, so layer ``i`` could start
  on ``s`` by ``T_{i-1}`` (its producers and ``s``'s last layer are among them) and
  finish by ``T_i``; the greedy choice finishes no later. For a chain (each layer
  reads the one before) every sub-accelerator is free when a layer is ready, so
  each layer simply goes where it is fastest and the makespan is the sum of the
  per-layer minima. With several tasks no such bound holds in general (one task's
  greedy choice can delay another's). The simulation replays the plan's order;
  with partitioned DRAM (fixed per-layer durations) it reproduces the planned
  times exactly, so the bound holds for the simulated makespan too.

With every task on a named sub-accelerator the plan is the closed form's schedule:
each sub-accelerator runs its tasks back to back in the order listed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Mapping, Sequence

import numpy as np

from ..errors import SpecError
from ..hardware.accelerator import Accelerator
from ..workload.network import Network
from .chip import Chip

POLICIES = ("greedy",)


@dataclass(frozen=True, eq=False)
class LayerCosts:
    """Uncontended per-layer costs of one network on one accelerator, layers in the
    network's topological order. Times are in cycles of ``clock_hz``: the
    accelerator's own clock in a :class:`LayerTable`, the chip's clock after
    :meth:`in_clock` (as :func:`layer_costs` returns them)."""

    latency_cycles: np.ndarray          # (L,) inf where the layer cannot map
    core_cycles: np.ndarray             # (L,) max(compute, every non-DRAM level's bytes / bw); inf if infeasible
    fill_cycles: np.ndarray             # (L,) fill/drain: latency - max(core, dram bytes / dram bw)
    dram_bytes: np.ndarray              # (L,)
    dram_bw_bytes_per_cycle: float      # the accelerator's DRAM bandwidth, bytes per cycle of clock_hz
    feasible: np.ndarray                # (L,) bool
    error: np.ndarray                   # (L,) object: "" or why the layer cannot map
    energy_pj: Mapping[str, np.ndarray]  # component (mac, l1, l2, dram, noc, leakage, ...) -> (L,)
    area_mm2: float
    clock_hz: float

    def in_clock(self, clock_hz: float) -> "LayerCosts":
        """The same costs with times in cycles of ``clock_hz`` (e.g. the chip's)."""
        if clock_hz == self.clock_hz:
            return self
        ratio = float(clock_hz) / self.clock_hz
        return replace(self, latency_cycles=self.latency_cycles * ratio, core_cycles=self.core_cycles * ratio,
                       fill_cycles=self.fill_cycles * ratio,
                       dram_bw_bytes_per_cycle=self.dram_bw_bytes_per_cycle / ratio, clock_hz=float(clock_hz))


class LayerTable:
    """Per-layer costs of networks on accelerators, computed once and reused: the
    per-layer counterpart of the closed form's ``CostTable``, for simulating many
    chips that share networks and sub-accelerator configs.

    :meth:`build` costs ``networks x configs`` with one ``evaluate_many`` per
    network; :meth:`get` returns a pair's :class:`LayerCosts`, costing a missing
    pair on demand (so a table is also an explicit cache). Networks are keyed by
    identity, accelerators by their parameters."""

    def __init__(self):
        self._costs: dict[tuple[int, Accelerator], LayerCosts] = {}
        self._networks: dict[int, Network] = {}        # keeps keyed networks alive

    @classmethod
    def build(cls, networks: Iterable[Network] | Network, configs: Iterable[Accelerator]) -> "LayerTable":
        table = cls()
        networks = (networks,) if isinstance(networks, Network) else tuple(networks)
        configs = list(dict.fromkeys(configs))
        for network in dict.fromkeys(networks):
            table.add(network, configs)
        return table

    def add(self, network: Network, configs: Sequence[Accelerator]) -> None:
        """Cost ``network`` on those of ``configs`` not in the table yet (one ``evaluate_many``)."""
        from ..evaluate import evaluate_many

        missing = [a for a in dict.fromkeys(configs) if (id(network), a) not in self._costs]
        if not missing:
            return
        self._networks[id(network)] = network
        frame = evaluate_many(network, missing)
        n_layers = len(network.layers)
        columns = {name: frame[name].to_numpy() for name in frame.columns}   # one conversion, then slices
        for row, acc in enumerate(missing):
            rows = slice(row * n_layers, (row + 1) * n_layers)
            self._costs[(id(network), acc)] = _split({k: v[rows] for k, v in columns.items()}, acc)

    def get(self, network: Network, accelerator: Accelerator) -> LayerCosts:
        key = (id(network), accelerator)
        if key not in self._costs or self._networks.get(id(network)) is not network:
            self._costs.pop(key, None)
            self.add(network, [accelerator])
        return self._costs[key]

    def __len__(self) -> int:
        return len(self._costs)


SHARED_MAPPINGS = ("whole", "fair_share")


def costed_accelerators(chip: Chip, shared_mapping: str = "whole") -> list[Accelerator]:
    """The accelerator each sub-accelerator's layers are costed (mapped) with: its
    own; with shared DRAM and ``shared_mapping="fair_share"``, the same with the
    DRAM bandwidth divided by the number of sub-accelerators (the mapping a
    compiler would choose for the worst-case fair share)."""
    if shared_mapping not in SHARED_MAPPINGS:
        raise SpecError(f"field 'shared_mapping' = {shared_mapping!r}: valid: {list(SHARED_MAPPINGS)}")
    accs = [s.accelerator for s in chip.sub_accelerators]
    if chip.dram_policy != "shared" or shared_mapping == "whole" or len(accs) == 1:
        return accs
    n = len(accs)
    return [a.with_params(dram_bw_bytes_per_cycle=float(a["dram_bw_bytes_per_cycle"]) / n) for a in accs]


def layer_costs(chip: Chip, table: LayerTable | None = None,
                shared_mapping: str = "whole") -> dict[tuple[int, int], LayerCosts]:
    """``{(task index, sub index): LayerCosts}`` in cycles of the chip's clock, for
    every task on every sub-accelerator it may use: its own, or all of them if
    ``on`` is None. Taken from ``table`` (missing pairs costed into it), else one
    ``evaluate_many`` per distinct network over the sub-accelerators its tasks may use.
    ``shared_mapping``: see :func:`costed_accelerators`."""
    table = LayerTable() if table is None else table
    accs = costed_accelerators(chip, shared_mapping)
    allowed = {t: (range(len(chip.sub_accelerators)) if task.on is None else (chip.sub_index(task.on),))
               for t, task in enumerate(chip.tasks)}
    wanted: dict[int, tuple[Network, dict]] = {}
    for t, task in enumerate(chip.tasks):
        wanted.setdefault(id(task.network), (task.network, {}))[1].update(dict.fromkeys(accs[s] for s in allowed[t]))
    for network, needed in wanted.values():
        table.add(network, list(needed))
    return {(t, s): table.get(task.network, accs[s]).in_clock(float(chip.clock_hz))
            for t, task in enumerate(chip.tasks) for s in allowed[t]}


def _split(columns: Mapping[str, np.ndarray], acc: Accelerator) -> LayerCosts:
    """One accelerator's rows of a per-layer frame (as numpy columns) as :class:`LayerCosts`."""
    col = lambda name: np.asarray(columns[name], dtype=float)
    feasible = np.asarray(columns["feasible"], dtype=bool)
    latency = col("latency_cycles")
    core = col("compute_cycles")
    levels = [c[:-len("_bw_bytes_per_cycle")] for c in columns if c.endswith("_bw_bytes_per_cycle")]
    with np.errstate(divide="ignore", invalid="ignore"):
        for level in levels:
            if level == "dram":
                continue
            bw = col(f"{level}_bw_bytes_per_cycle")
            core = np.maximum(core, np.where(bw > 0, col(f"{level}_bytes") / bw, 0.0))
        dram = col("dram_bytes") if "dram_bytes" in columns else np.zeros(len(latency))
        dram_bw = float(acc["dram_bw_bytes_per_cycle"])
        fill = latency - np.maximum(core, dram / dram_bw)
    # a frame mixing templates has a 0 column for a level a template lacks (bandwidth 0): not one of its parts
    absent = {level for level in levels if not np.any(col(f"{level}_bw_bytes_per_cycle"))}
    energy = {c[len("energy_"):-len("_pj")]: np.where(feasible, col(c), np.nan) for c in columns
              if c.startswith("energy_") and c.endswith("_pj") and c != "energy_pj"
              and c[len("energy_"):-len("_pj")] not in absent}
    return LayerCosts(latency_cycles=np.where(feasible, latency, np.inf), core_cycles=np.where(feasible, core, np.inf),
                      fill_cycles=np.where(feasible, np.maximum(fill, 0.0), 0.0),
                      dram_bytes=np.where(feasible, dram, 0.0), dram_bw_bytes_per_cycle=dram_bw,
                      feasible=feasible, error=np.asarray(columns["error"], dtype=object), energy_pj=energy,
                      area_mm2=float(col("area_mm2")[0]), clock_hz=float(acc.clock_hz))


@dataclass(frozen=True)
class Placement:
    """One layer of one task placed on one sub-accelerator, with its planned
    (uncontended) start and finish in chip cycles."""

    task: int                           # index in chip.tasks
    layer: int                          # index in the task's network.layers
    sub: int                            # index in chip.sub_accelerators
    start_cycles: float
    finish_cycles: float


@dataclass(frozen=True)
class Plan:
    """The mapping and run order of a chip's layers (see the module doc).

    ``placements`` are in the order placed; ``sub_order[s]`` lists the indices into
    ``placements`` of sub-accelerator ``s``'s layers in the order it runs them;
    ``errors[t]`` is "" for a task in the plan and the reason for an infeasible one
    (left out of the plan)."""

    placements: tuple[Placement, ...]
    sub_order: tuple[tuple[int, ...], ...]
    errors: tuple[str, ...]
    predecessors: tuple[tuple[tuple[int, ...], ...], ...]    # [task][layer] -> producer layer indices

    @property
    def feasible(self) -> bool:
        return not any(self.errors)

    @property
    def makespan_cycles(self) -> float:
        return max((p.finish_cycles for p in self.placements), default=0.0)


def predecessors(network) -> tuple[tuple[int, ...], ...]:
    """For each layer of ``network`` (topological order), its producers' indices."""
    index = {layer.name: i for i, layer in enumerate(network.layers)}
    return tuple(tuple(index[p.name] for p in network.predecessors(layer.name)) for layer in network.layers)


def task_errors(chip: Chip, costs: Mapping[tuple[int, int], LayerCosts]) -> list[str]:
    """Per task "" or why it cannot run: a layer that cannot map on the task's
    sub-accelerator, or (``on=None``) on any sub-accelerator."""
    errors = []
    for t, task in enumerate(chip.tasks):
        head = f"task {task.name!r} ({task.network.name})"
        if task.on is not None:
            c = costs[(t, chip.sub_index(task.on))]
            bad = np.flatnonzero(~c.feasible)
            errors.append(f"{head} on {task.on!r}: {c.error[bad[0]]}" if len(bad) else "")
            continue
        options = [costs[(t, s)] for s in range(len(chip.sub_accelerators))]
        nowhere = ~np.logical_or.reduce([c.feasible for c in options])
        bad = np.flatnonzero(nowhere)
        if len(bad):
            i = bad[0]
            reasons = "; ".join(f"{chip.sub_accelerators[s].name}: {c.error[i]}" for s, c in enumerate(options))
            errors.append(f"{head}, layer-level mapping: layer {task.network.layers[i].name!r} maps on no "
                          f"sub-accelerator ({reasons})")
        else:
            errors.append("")
    return errors


def greedy(chip: Chip, costs: Mapping[tuple[int, int], LayerCosts] | None = None) -> Plan:
    """The greedy earliest-finish plan of ``chip`` (see the module doc)."""
    costs = layer_costs(chip) if costs is None else costs
    n_subs = len(chip.sub_accelerators)
    errors = task_errors(chip, costs)
    preds = tuple(predecessors(task.network) for task in chip.tasks)
    runnable = [t for t in range(len(chip.tasks)) if not errors[t]]
    # per task: the sub-accelerators it may use and the latency of each layer there
    options: dict[int, list[tuple[int, np.ndarray]]] = {}
    for t in runnable:
        task = chip.tasks[t]
        subs = range(n_subs) if task.on is None else (chip.sub_index(task.on),)
        options[t] = [(s, costs[(t, s)].latency_cycles.tolist()) for s in subs]
    # tasks with ``on`` set wait for the previous task listed on their sub-accelerator
    fixed_queue: dict[int, list[int]] = {s: [] for s in range(n_subs)}
    for t in runnable:
        if chip.tasks[t].on is not None:
            fixed_queue[chip.sub_index(chip.tasks[t].on)].append(t)
    active = [t for t in runnable if chip.tasks[t].on is None] + [q[0] for q in fixed_queue.values() if q]
    active.sort()
    next_layer = {t: 0 for t in runnable}
    finish = {t: [0.0] * len(chip.tasks[t].network.layers) for t in runnable}
    sub_free = [0.0] * n_subs
    placements: list[Placement] = []
    sub_order: list[list[int]] = [[] for _ in range(n_subs)]
    while active:
        best = None
        for t in active:
            i = next_layer[t]
            ready = max((finish[t][p] for p in preds[t][i]), default=0.0)
            for s, latency in options[t]:
                cycles = latency[i]
                if cycles == np.inf:
                    continue
                start = max(ready, sub_free[s])
                end = start + cycles
                if best is None or end < best[0]:
                    best = (end, start, t, i, s)
        end, start, t, i, s = best
        finish[t][i] = end
        sub_free[s] = end
        sub_order[s].append(len(placements))
        placements.append(Placement(task=t, layer=i, sub=s, start_cycles=start, finish_cycles=end))
        next_layer[t] = i + 1
        if next_layer[t] == len(finish[t]):
            active.remove(t)
            on = chip.tasks[t].on
            if on is not None:
                queue = fixed_queue[chip.sub_index(on)]
                queue.pop(0)
                if queue:
                    active.append(queue[0])
                    active.sort()
    return Plan(placements=tuple(placements), sub_order=tuple(tuple(o) for o in sub_order), errors=tuple(errors),
                predecessors=preds)


def make_plan(chip: Chip, policy: str = "greedy",
              costs: Mapping[tuple[int, int], LayerCosts] | None = None) -> Plan:
    """The plan of ``chip`` under ``policy`` (only ``"greedy"`` so far)."""
    if policy not in POLICIES:
        raise SpecError(f"field 'policy' = {policy!r}: unknown layer-mapping policy; valid: {list(POLICIES)}")
    return greedy(chip, costs)


__all__ = ["LayerCosts", "LayerTable", "POLICIES", "SHARED_MAPPINGS", "costed_accelerators", "Placement", "Plan", "greedy", "layer_costs", "make_plan", "predecessors",
           "task_errors"]
