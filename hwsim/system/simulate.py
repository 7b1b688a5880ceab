"""``simulate(chip) -> ChipReport``: a discrete-event (simpy) model of a chip.

The mapping and the run order come from :mod:`hwsim.system.schedule` (tasks on a
named sub-accelerator in the order listed; tasks with ``on=None`` layer by layer by
the greedy policy). Then every layer is a simpy process that

1. waits for its producers in the network's DAG to finish, and for the layer
   before it in its sub-accelerator's run order (so a sub-accelerator runs its
   queue in the planned order, whatever the contention does to the timing);
2. holds its sub-accelerator (a ``simpy.Resource`` of capacity 1) while it runs;
3. draws its DRAM traffic from the chip's interface:

   * ``partitioned``: at its sub-accelerator's fixed share, so it takes exactly
     its uncontended ``latency_cycles`` (the per-layer frame of
     ``hwsim.evaluate_many``); with task-level mapping the simulated schedule is
     then the closed form's, to the cycle;
   * ``shared``: a fluid model. A running layer has ``dram_bytes`` to move and
     ``core_cycles`` of on-chip work (compute and every non-DRAM level, see
     :mod:`hwsim.system.schedule`), overlapped by double buffering: given ``b``
     bytes per cycle it progresses at ``min(b, dram_bytes / core_cycles) /
     dram_bytes`` of its work per cycle, i.e. it takes ``max(core_cycles,
     dram_bytes / b)`` at a constant ``b``. The interface's bandwidth is split
     max-min fairly (water-filling) among the layers transferring at that moment,
     each capped at what it can use (``dram_bytes / core_cycles``; a core-bound
     layer leaves the rest to the others), and re-split at every start and finish
     of a transfer, when every layer's remaining work is brought up to date and
     the next completion is rescheduled (a central manager, :class:`SharedDram`).
     Then the layer's fill/drain cycles run without DRAM traffic, at their
     uncontended value (a model that hides part of its prologue under a longer
     DRAM bound, as ``dla`` does, would hide a little more under contention, so
     this errs slightly on the slow side). A layer running alone gets the whole
     interface and takes its uncontended ``latency_cycles``.

Bounds with shared DRAM (task-level mapping, n sub-accelerators, interface B):
the simulated makespan is at least the closed form with every sub-accelerator
given the whole B (a layer never gets more), and at most the makespan of the same
per-layer mappings each run at B / n (at most n layers transfer at once, and
max-min fairness gives each at least min(what it can use, B / n)). That is the
closed form at B / n whenever the models choose the same mapping at B and at B / n;
but a model may tile differently for less bandwidth (``dla`` does), and a layer
mapped for B then squeezed to B / n can be slower than one mapped for B / n, so
the simulation can exceed the closed form at B / n (by 2 % on the example in
``tests/system/test_simulate.py``). ``shared_mapping="fair_share"`` costs every
layer with the mapping chosen for B / n (a conservative compile): then the
makespan is at most the closed form at B / n always (and at least those mappings'
no-contention time, which can be a few fill/drain cycles below the closed form
at B, since a mapping costed at B / n hides more of its prologue).

Energy: each layer costs its uncontended energy (the per-layer frame) except
leakage, which grows with time: the frame's ``energy_leakage_pj`` is scaled by
simulated / uncontended duration of the layer (1 with partitioned DRAM). An idle
sub-accelerator leaks nothing (power gated), as in the closed form; area is the
sum of the sub-accelerators' areas.

The report (:class:`~hwsim.system.report.ChipReport`, ``method="simulate"``) has
one schedule row per layer ``(sub, task, layer, start_s, finish_s)``. A task that
cannot run (a layer that maps nowhere it may go) makes the chip infeasible
(latency inf, energy NaN, ``error`` naming the layer and the reason); the other
tasks are still simulated, so their rows and times are in the report.

Time runs in cycles of the chip's clock (``chip.clock_hz``); seconds are cycles /
``chip.clock_hz``.
"""

from __future__ import annotations

import math

import numpy as np

from .chip import Chip, accelerator_area_mm2
from .report import ChipReport, ScheduleRow, SubReport, TaskReport, check_specs
from .schedule import LayerCosts, LayerTable, Plan, layer_costs, make_plan

# A transfer whose remaining time is within this many chip cycles of the next
# completion finishes together with it (float rounding of the fluid updates).
_SAME_TIME_CYCLES = 1e-9


def water_fill(total: float, caps: list[float]) -> list[float]:
    """Max-min fair split of ``total`` among claimants capped at ``caps``: each gets
    ``min(cap, level)`` with the level chosen so that the shares sum to ``total``
    (or every claimant gets its cap if they sum to less)."""
    shares = [0.0] * len(caps)
    left, todo = float(total), sorted(range(len(caps)), key=caps.__getitem__)
    for k, i in enumerate(todo):
        fair = left / (len(todo) - k)
        share = min(caps[i], fair)
        shares[i] = share
        left -= share
    return shares


class _Flow:
    __slots__ = ("dram_bytes", "cap", "remaining", "rate", "done")

    def __init__(self, dram_bytes: float, core_cycles: float, done):
        self.dram_bytes = dram_bytes
        self.cap = dram_bytes / core_cycles if core_cycles > 0 else math.inf   # bytes/cycle it can use
        self.remaining = 1.0            # fraction of the layer's overlapped work left
        self.rate = 0.0                 # fraction per cycle at the current allocation
        self.done = done


class SharedDram:
    """The chip's shared DRAM interface: a fluid, max-min fair bandwidth manager.

    :meth:`transfer` returns an event that fires when a layer's overlapped DRAM +
    core work is done; at every start and finish every active transfer's remaining
    work is updated, the bandwidth re-split and the next completion scheduled (a
    stale completion alarm is ignored by its generation number)."""

    def __init__(self, env, bw_bytes_per_cycle: float):
        self.env = env
        self.bw = float(bw_bytes_per_cycle)
        self.flows: list[_Flow] = []
        self.last = 0.0
        self.generation = 0
        self.reallocations = 0

    def transfer(self, dram_bytes: float, core_cycles: float):
        done = self.env.event()
        self._advance()
        self.flows.append(_Flow(dram_bytes, core_cycles, done))
        self._reallocate()
        return done

    def _advance(self) -> None:
        now = self.env.now
        dt = now - self.last
        if dt > 0:
            for f in self.flows:
                f.remaining -= f.rate * dt
        self.last = now

    def _reallocate(self) -> None:
        self.reallocations += 1
        self.generation += 1
        if not self.flows:
            return
        shares = water_fill(self.bw, [f.cap for f in self.flows])
        for f, b in zip(self.flows, shares):
            f.rate = min(b, f.cap) / f.dram_bytes
        delay = min(max(f.remaining, 0.0) / f.rate for f in self.flows)
        generation = self.generation
        self.env.timeout(delay).callbacks.append(lambda _event: self._alarm(generation))

    def _alarm(self, generation: int) -> None:
        if generation != self.generation:
            return
        self._advance()
        left = [max(f.remaining, 0.0) / f.rate for f in self.flows]
        first = min(left)
        finished = [f for f, t in zip(self.flows, left) if t <= first + _SAME_TIME_CYCLES]
        self.flows = [f for f, t in zip(self.flows, left) if t > first + _SAME_TIME_CYCLES]
        self._reallocate()
        for f in finished:
            f.done.succeed()


def simulate(chip: Chip, *, policy: str = "greedy", table: LayerTable | None = None,
             shared_mapping: str = "whole") -> ChipReport:
    """The simulated schedule and cost of ``chip`` (see the module doc).

    ``policy`` maps the tasks with ``on=None`` layer by layer (``"greedy"``);
    ``table`` (a :class:`~hwsim.system.schedule.LayerTable`) supplies the per-layer
    costs, so that simulating many chips over the same networks and configs costs
    each (network, config) once; without it the chip's own are computed.
    ``shared_mapping`` (shared DRAM only): the bandwidth each layer's mapping is
    chosen for, ``"whole"`` (the interface, as the chip's accelerators carry it) or
    ``"fair_share"`` (interface / number of sub-accelerators; see the module doc)."""
    costs = layer_costs(chip, table, shared_mapping)
    plan = make_plan(chip, policy, costs)
    start, finish = run(chip, plan, costs)
    return _report(chip, plan, costs, start, finish, policy)


def run(chip: Chip, plan: Plan, costs) -> tuple[np.ndarray, np.ndarray]:
    """Simulate ``plan``; the start and finish (chip cycles) of every placement."""
    import simpy

    env = simpy.Environment()
    resources = [simpy.Resource(env, capacity=1) for _ in chip.sub_accelerators]
    dram = SharedDram(env, chip.dram_bw_bytes_per_cycle) if chip.dram_policy == "shared" else None
    n = len(plan.placements)
    start = np.full(n, np.nan)
    finish = np.full(n, np.nan)
    done = [env.event() for _ in range(n)]
    where = {(p.task, p.layer): k for k, p in enumerate(plan.placements)}
    previous_on_sub = [None] * n
    for order in plan.sub_order:
        for a, b in zip(order, order[1:]):
            previous_on_sub[b] = a

    def layer(k: int):
        p = plan.placements[k]
        waits = [done[where[(p.task, q)]] for q in plan.predecessors[p.task][p.layer]]
        if previous_on_sub[k] is not None:
            waits.append(done[previous_on_sub[k]])
        pending = [w for w in waits if not w.processed]
        if pending:
            yield env.all_of(pending)
        c: LayerCosts = costs[(p.task, p.sub)]
        with resources[p.sub].request() as request:
            yield request
            start[k] = env.now
            if dram is None:
                yield env.timeout(c.latency_cycles[p.layer])
            else:
                dram_bytes = c.dram_bytes[p.layer]
                if dram_bytes > 0:
                    yield dram.transfer(dram_bytes, c.core_cycles[p.layer])
                else:
                    yield env.timeout(c.core_cycles[p.layer])
                if c.fill_cycles[p.layer] > 0:
                    yield env.timeout(c.fill_cycles[p.layer])
            finish[k] = env.now
        done[k].succeed()

    for k in range(n):
        env.process(layer(k))
    env.run()
    return start, finish


def _report(chip: Chip, plan: Plan, costs, start, finish, policy: str) -> ChipReport:
    clock = float(chip.clock_hz)
    n_subs = len(chip.sub_accelerators)
    sub_busy = np.zeros(n_subs)
    sub_energy: list[dict[str, float]] = [{} for _ in range(n_subs)]
    sub_tasks: list[list[str]] = [[] for _ in range(n_subs)]
    task_energy = np.zeros(len(chip.tasks))
    task_subs: list[list[int]] = [[] for _ in chip.tasks]
    task_start = np.full(len(chip.tasks), np.nan)
    task_finish = np.full(len(chip.tasks), np.nan)
    rows = []
    for k, p in enumerate(plan.placements):
        c = costs[(p.task, p.sub)]
        took = finish[k] - start[k]
        uncontended = c.latency_cycles[p.layer]
        scale = took / uncontended if uncontended > 0 else 1.0
        energy = 0.0
        split = sub_energy[p.sub]
        for key, values in c.energy_pj.items():
            e = float(values[p.layer]) * (scale if key == "leakage" else 1.0)
            split[key] = split.get(key, 0.0) + e
            energy += e
        task_energy[p.task] += energy
        sub_busy[p.sub] += took
        name = chip.tasks[p.task].name
        if name not in sub_tasks[p.sub]:
            sub_tasks[p.sub].append(name)
        if p.sub not in task_subs[p.task]:
            task_subs[p.task].append(p.sub)
        task_start[p.task] = np.fmin(task_start[p.task], start[k])
        task_finish[p.task] = np.fmax(task_finish[p.task], finish[k])
        rows.append(ScheduleRow(chip.sub_accelerators[p.sub].name, name, chip.tasks[p.task].network.layers[p.layer].name,
                                start[k] / clock, finish[k] / clock))
    rows.sort(key=lambda r: (r.start_s, r.sub))
    feasible = plan.feasible
    makespan_cycles = float(np.nanmax(finish)) if len(finish) else 0.0
    if not feasible:
        makespan_cycles = math.inf
    makespan_s = makespan_cycles / clock
    energy_total = float(task_energy.sum()) if feasible else math.nan
    areas = []
    for s, sub in enumerate(chip.sub_accelerators):
        known = [c.area_mm2 for (t, s2), c in costs.items() if s2 == s]
        areas.append(known[0] if known else accelerator_area_mm2(sub.accelerator))
    area = float(sum(areas))
    edp = energy_total * makespan_s if feasible else math.nan
    subs = tuple(
        SubReport(name=sub.name, template=sub.accelerator.name, busy_s=float(sub_busy[s] / clock),
                  utilization=float(sub_busy[s] / makespan_cycles) if math.isfinite(makespan_cycles)
                  and makespan_cycles > 0 else 0.0,
                  energy_pj=float(sum(sub_energy[s].values())), energy_breakdown_pj=dict(sub_energy[s]),
                  area_mm2=float(areas[s]), tasks=tuple(sub_tasks[s]))
        for s, sub in enumerate(chip.sub_accelerators))
    tasks = []
    for t, task in enumerate(chip.tasks):
        ok = not plan.errors[t]
        subs_of = tuple(chip.sub_accelerators[s].name for s in sorted(task_subs[t]))
        tasks.append(TaskReport(name=task.name, network=task.network.name,
                                subs=subs_of if subs_of or task.on is None else (task.on,),
                                start_s=float(task_start[t] / clock) if ok else math.nan,
                                finish_s=float(task_finish[t] / clock) if ok else math.nan,
                                energy_pj=float(task_energy[t]) if ok else math.nan, feasible=ok,
                                error=plan.errors[t]))
    values = dict(latency_cycles=makespan_cycles, latency_s=makespan_s, energy_pj=energy_total, area_mm2=area,
                  edp_pj_s=edp)
    notes = [f"simulate (simpy): layers in the order of the {policy!r} plan; DRAM {chip.dram_policy}"
             + (" (max-min fair fluid sharing, re-split at every start and finish)" if chip.dram_policy == "shared"
                else " (each sub-accelerator at its fixed share)"),
             "energy: per-layer uncontended energy, leakage scaled by simulated / uncontended time; an idle "
             "sub-accelerator leaks nothing; area = sum of the sub-accelerators' areas (no shared parts)"]
    if any(t.on is None for t in chip.tasks):
        notes.append("layer-level mapping: activations are handed off through DRAM, already in every layer's "
                     "traffic (no extra bytes); a consumer waits for its producers")
    return ChipReport(chip=chip.name, method="simulate", dram_policy=chip.dram_policy, feasible=feasible, **values,
                      clock_hz=clock, subs=subs, tasks=tuple(tasks),
                      meets=check_specs(chip.specs, **values) if feasible else {k: False for k in chip.specs},
                      specs=dict(chip.specs), schedule=tuple(rows), error="; ".join(e for e in plan.errors if e),
                      notes=tuple(notes))


__all__ = ["SharedDram", "run", "simulate", "water_fill"]
