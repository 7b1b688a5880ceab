"""``nasaic.allocate``: the exact allocation of sub-accelerators and tasks (issue 7, item 3).

Given the chosen networks (one per task), :func:`allocate` picks, for each of up
to ``slots`` sub-accelerator slots, one hardware config out of a candidate set
(each candidate an ``hwsim.Accelerator``: template x PEs x NoC bandwidth x DRAM
share; a slot may also stay empty) and the task mapping (each task on exactly one
used slot) that minimises latency (makespan), energy, area, a weighted sum of
them, or EDP, under a :class:`hwsim.system.Budget`, a DRAM interface and upper
bounds (specs) on latency_cycles / latency_s / energy_pj / area_mm2.

The costs come from one :class:`hwsim.system.CostTable` (``latency_s``,
``energy_pj``, ``feasible`` per (config, network); ``area_mm2``, ``pes``,
``noc_bw_bytes_per_cycle``, ``sram_bytes``, ``dram_bw_bytes_per_s`` per config),
and the model is the closed form of task-level chips with partitioned DRAM
(``hwsim.system.closed_form``): a task's latency and energy on a config are
the table's; a slot runs its tasks one after the other (busy = their sum); the
chip's latency is the largest busy time; energy is the sum over tasks; area the
sum over non-empty slots. With partitioned DRAM each config already carries its
DRAM share, so a task's cost does not depend on what runs on the other slots.

The MILP (pyomo, solved by HiGHS through ``SolverFactory('appsi_highs')``),
over slots s, tasks t and the candidate configs c a task may use:

* candidates no other one dominates (no slower and no more energy on every task,
  feasible wherever it is, no more area or limited resource or DRAM share) are kept,
  the others dropped (exact: swapping in the dominator never hurts);
* ``y[s, c]`` binary: slot s has config c; ``sum_c y[s, c] <= 1`` (0: empty slot);
* ``x[t, s, c]`` binary: task t runs on slot s with config c; it exists only
  where t is feasible on c; ``sum_{s,c} x[t, s, c] = 1``; ``x[t, s, c] <= y[s, c]``;
  ``y[s, c] <= sum_t x[t, s, c]`` (no idle non-empty slot: it would only add area
  and budget, so dropping such chips loses no optimum);
* ``T >= sum_{t,c} latency_s[c, t] x[t, s, c]`` for every slot s (makespan);
  ``E = sum energy_pj[c, t] x[t, s, c]``; ``A = sum area_mm2[c] y[s, c]``;
* budget: ``sum_{s,c} r[c] y[s, c] <= limit`` for r in pes, noc_bw_bytes_per_cycle,
  sram_bytes, area_mm2 (a config that does not declare a limited resource is
  excluded) and the DRAM shares ``sum dram_bw_bytes_per_s[c] y[s, c] <= interface``;
* specs: ``T <= latency_s``, ``T <= latency_cycles / clock_hz``, ``E <= energy_pj``,
  ``A <= area_mm2``;
* symmetry breaking (the slots are interchangeable): slot s is used only if slot
  s - 1 is, and the used slots' config indices are non-decreasing;
* objective: T, E, A, or ``sum_k w_k metric_k`` (each scaled to O(1) inside the
  model); EDP (E x T, not linear) is minimised exactly by walking the (T, E)
  Pareto front with epsilon constraints (min E under T <= cap, then min T under
  that E, then cap just below that T, ...) and taking the best E x T.

It is exact for that closed form: every term (makespan as the max of per-slot
sums, energy and area as sums, budget and DRAM as sums of per-config constants)
is linear in x and y, so the MILP's feasible set is exactly the set of
task-level chips (up to slot permutation and idle slots, neither of which changes
any metric for the better) and its optimum is the chip's optimum. HiGHS is run
with a relative gap of 1e-9; the reported numbers are recomputed from the chosen
chip with :func:`hwsim.system.evaluate_chips`, and :meth:`Allocation.chip` builds
the ``hwsim.system.Chip`` so :func:`hwsim.system.evaluate_chip` re-evaluates it.

:func:`enumerate_best` is the exhaustive reference: every (config per slot,
task mapping) through one vectorized :func:`hwsim.system.evaluate_chips`.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from hwsim.errors import SpecError
from hwsim.hardware.accelerator import Accelerator
from hwsim.system import Budget, CostTable, evaluate_chips, make_chip
from hwsim.system.chip import BUDGET_FIELDS, Chip
from hwsim.workload.network import Network

from .milp import OBJECTIVES, _Model, _prepare, _Problem

EDP_MAX_POINTS = 10_000        # Pareto points walked for EDP before giving up


@dataclass(frozen=True)
class Allocation:
    """The chosen chip: per slot its config (None: empty), each task's slot, and the
    closed-form numbers of that chip. ``status`` is 'optimal', 'infeasible' (then
    ``reason`` names the constraint that cannot be met, and the numbers are NaN) or
    'time_limit' (``time_limit_s`` ran out: the best chip found, not proven optimal)."""

    configs: tuple[Accelerator | None, ...]
    task_slot: tuple[int, ...]
    networks: tuple[Network, ...]
    objective: str
    objective_value: float
    latency_s: float
    latency_cycles: float
    energy_pj: float
    area_mm2: float
    status: str
    reason: str = ""
    clock_hz: float | None = None
    weights: Mapping[str, float] = field(default_factory=dict, compare=False)
    dram_bw_bytes_per_s: float | None = None
    solve_s: float = field(default=0.0, compare=False)

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"

    @property
    def edp_pj_s(self) -> float:
        return self.energy_pj * self.latency_s

    @property
    def slot_names(self) -> tuple[str | None, ...]:
        return tuple(None if c is None else f"sub{s}" for s, c in enumerate(self.configs))

    def chip(self, dram_bw_bytes_per_cycle: float | None = None, dram_policy: str = "partitioned", *,
             name: str = "allocation", budget: Budget | None = None,
             specs: Mapping[str, float] | None = None) -> Chip:
        """The ``hwsim.system.Chip`` of this allocation (empty slots dropped; task j is
        ``networks[j]`` on sub-accelerator ``sub{slot}``). ``partitioned``: every
        sub-accelerator keeps its config's DRAM share, and the interface is
        ``dram_bw_bytes_per_cycle`` (chip clock cycles; default: the interface given to
        :func:`allocate`, else the sum of the shares). ``shared``: each carries the
        whole interface (then the closed form is the no-contention bound)."""
        if self.status not in ("optimal", "time_limit"):
            raise SpecError(f"field 'allocation.status' = {self.status!r}: no chip ({self.reason})")
        used = [(f"sub{s}", c) for s, c in enumerate(self.configs) if c is not None]
        clock = float(self.clock_hz if self.clock_hz is not None else used[0][1].clock_hz)
        shares = {n: c["dram_bw_bytes_per_cycle"] * c.clock_hz / clock for n, c in used}
        if dram_bw_bytes_per_cycle is None:
            dram_bw_bytes_per_cycle = (self.dram_bw_bytes_per_s / clock if self.dram_bw_bytes_per_s is not None
                                       else sum(shares.values()))
        tasks = [(net, f"sub{s}") for net, s in zip(self.networks, self.task_slot)]
        return make_chip(name, used, tasks, dram_bw_bytes_per_cycle=float(dram_bw_bytes_per_cycle),
                         dram_policy=dram_policy, budget=budget,
                         clock_hz=self.clock_hz, specs=specs,
                         dram_bw=shares if dram_policy == "partitioned" else None)


# -- evaluation of chosen chips ----------------------------------------------------------------

def _metrics(p: _Problem, cand_idx, task_slot) -> dict:
    """Closed-form numbers of chips given as candidate indices per slot (-1 empty)."""
    cand_idx = np.atleast_2d(np.asarray(cand_idx, dtype=np.int64))
    rows = np.where(cand_idx >= 0, p.rows[np.maximum(cand_idx, 0)], -1)
    r = evaluate_chips(p.table, rows, np.atleast_2d(np.asarray(task_slot, dtype=np.int64)), p.net_cols,
                       specs=p.specs or None, budget=p.budget, clock_hz=p.clock_hz,
                       dram_bw_bytes_per_s=p.dram_bw_bytes_per_s)
    return r


def _objective_values(p: _Problem, r) -> np.ndarray:
    if p.objective == "latency":
        return r.latency_s
    if p.objective == "energy":
        return r.energy_pj
    if p.objective == "area":
        return r.area_mm2
    if p.objective == "edp":
        return r.edp_pj_s
    w = p.weights
    return w.get("latency_s", 0.0) * r.latency_s + w.get("energy_pj", 0.0) * r.energy_pj + \
        w.get("area_mm2", 0.0) * r.area_mm2


def _result(p: _Problem, cand_idx, task_slot, status="optimal", reason="", solve_s=0.0) -> Allocation:
    r = _metrics(p, cand_idx, task_slot)
    return Allocation(configs=tuple(None if c < 0 else p.candidates[c] for c in cand_idx),
                      task_slot=tuple(int(s) for s in task_slot), networks=p.networks, objective=p.objective,
                      objective_value=float(_objective_values(p, r)[0]), latency_s=float(r.latency_s[0]),
                      latency_cycles=float(r.latency_cycles[0]), energy_pj=float(r.energy_pj[0]),
                      area_mm2=float(r.area_mm2[0]), status=status, reason=reason, clock_hz=p.clock_hz,
                      weights=dict(p.weights), dram_bw_bytes_per_s=p.dram_bw_bytes_per_s, solve_s=solve_s)


def _infeasible(p: _Problem, reason: str, solve_s=0.0) -> Allocation:
    nan = float("nan")
    return Allocation(configs=(None,) * p.slots, task_slot=(-1,) * len(p.networks), networks=p.networks,
                      objective=p.objective, objective_value=nan, latency_s=nan, latency_cycles=nan, energy_pj=nan,
                      area_mm2=nan, status="infeasible", reason=reason, clock_hz=p.clock_hz,
                      weights=dict(p.weights), dram_bw_bytes_per_s=p.dram_bw_bytes_per_s, solve_s=solve_s)


def _unmappable(p: _Problem) -> str:
    """A reason if some task cannot run at all (no candidate maps it, or none allowed)."""
    for t, net in enumerate(p.networks):
        if not p.ok[:, t].any():
            errs = [str(p.table.error[p.rows[c], p.net_cols[t]]) for c in range(len(p.rows))]
            first = next((e for e in errs if e), "infeasible on every candidate")
            return f"task {t} ({net.name}) maps on no candidate config: {first}"
        if not (p.ok[:, t] & p.allowed).any():
            missing = [k for k in BUDGET_FIELDS if getattr(p.budget, k) is not None]
            return (f"task {t} ({net.name}) maps only on candidates whose template does not declare a resource "
                    f"the budget limits ({', '.join('budget.' + k for k in missing)})")
    return ""


def _explain(model: _Model) -> str:
    """Name the constraint that cannot be met: alone (with its best achievable value),
    or together with the ones before it."""
    p = model.p
    reason = _unmappable(p)
    if reason:
        return reason
    names = list(model.limits)
    for k in names:
        status, sol = model.solve(None, active=[k])
        if status == "infeasible":
            # the best value of that quantity with nothing else imposed
            best_status, best = model.solve(_quantity_objective(k), active=[])
            if best_status != "infeasible" and best is not None:
                value = _quantity(p, k, *best)
                return f"{k} = {_fmt(model.limits[k])} cannot be met: the best chip needs {_fmt(value)}"
            return f"{k} = {_fmt(model.limits[k])} cannot be met"
    kept: list[str] = []
    for k in names:
        status, _ = model.solve(None, active=kept + [k])
        if status == "infeasible":
            return f"{k} = {_fmt(model.limits[k])} cannot be met together with " + \
                ", ".join(f"{j} = {_fmt(model.limits[j])}" for j in kept)
        kept.append(k)
    return "no chip meets every constraint"


def _quantity_objective(k: str):
    return {"specs.latency_s": "latency", "specs.latency_cycles": "latency", "specs.energy_pj": "energy",
            "specs.area_mm2": "area", "budget.area_mm2": "area"}.get(k, ("quantity", k))


def _quantity(p: _Problem, k: str, cfg, slot) -> float:
    r = _metrics(p, cfg, slot)
    if k == "specs.latency_cycles":
        return float(r.latency_cycles[0])
    if k in ("specs.latency_s",):
        return float(r.latency_s[0])
    if k == "specs.energy_pj":
        return float(r.energy_pj[0])
    if k in ("specs.area_mm2", "budget.area_mm2"):
        return float(r.area_mm2[0])
    key = k.split(".", 1)[-1]
    values = getattr(p.table, key)[p.rows]
    return float(sum(values[c] for c in cfg if c >= 0))


def _fmt(v: float) -> str:
    return f"{v:.6g}"


# -- the API -------------------------------------------------------------------------------------

def allocate(networks: Sequence[Network], candidates: Sequence[Accelerator | None], *, slots: int,
             objective: str = "latency", weights: Mapping[str, float] | None = None,
             budget: Budget | None = None, dram_bw_bytes_per_s: float | None = None,
             specs: Mapping[str, float] | None = None, table: CostTable | None = None,
             time_limit_s: float | None = None, clock_hz: float | None = None) -> Allocation:
    """The exact best allocation (see the module doc for the MILP).

    ``networks``: one per task (task j runs ``networks[j]``). ``candidates``: the
    configs a slot may take (None / 'empty' entries are ignored: a slot may always
    be empty). ``slots``: the most sub-accelerators. ``objective``: 'latency'
    (makespan, s), 'energy' (pJ), 'area' (mm2), 'weighted' (``weights`` over
    latency_s, energy_pj, area_mm2: sum of weight x metric) or 'edp' (pJ*s, exact by
    a Pareto walk). ``budget``: limits on the slots' sums of PEs, NoC bandwidth,
    SRAM, area; ``dram_bw_bytes_per_s``: the DRAM interface the slots' partitioned
    shares must fit in. ``specs``: upper bounds on latency_cycles (in cycles of
    ``clock_hz``, default the candidates' common clock), latency_s, energy_pj,
    area_mm2. ``table``: a CostTable holding the networks and candidates (built if
    None; reuse one across calls). ``time_limit_s``: HiGHS time limit per solve (then
    status may be 'time_limit': the best chip found, not proven optimal).
    """
    start = time.perf_counter()
    p = _prepare(networks, candidates, slots, objective, weights, budget, dram_bw_bytes_per_s, specs, table,
                 clock_hz)
    reason = _unmappable(p)
    if reason:
        return _infeasible(p, reason, time.perf_counter() - start)
    model = _Model(p)
    model.time_limit_s = time_limit_s
    if objective == "edp":
        status, sol = _edp(model)
    else:
        status, sol = model.solve(objective, p.weights)
    if status == "infeasible":
        return _infeasible(p, _explain(model), time.perf_counter() - start)
    cfg, slot = sol
    return _result(p, cfg, slot, status=status, solve_s=time.perf_counter() - start)


def _edp(model: _Model):
    """Walk the (makespan, energy) Pareto front: the EDP optimum is on it."""
    m = model.m
    best, best_value, status_all = None, math.inf, "optimal"
    cap = None
    try:
        for _ in range(EDP_MAX_POINTS):
            m.e_cap_c.deactivate()
            if cap is not None:
                m.t_cap.set_value(cap)
                m.t_cap_c.activate()
            status, sol = model.solve("energy")
            if status == "infeasible":
                break
            if status != "optimal":
                status_all = status
            e_opt = _metrics(model.p, *sol).energy_pj[0] / model.e_scale
            m.e_cap.set_value(e_opt * (1 + 1e-9))
            m.e_cap_c.activate()
            status, sol2 = model.solve("latency")
            if status in ("optimal", "time_limit") and sol2 is not None:
                sol = sol2
                if status != "optimal":
                    status_all = status
            r = _metrics(model.p, *sol)
            value = float(r.edp_pj_s[0])
            if value < best_value * (1 - 1e-12):
                best, best_value = sol, value
            new_cap = float(r.latency_s[0]) / model.t_scale * (1 - 1e-6)
            cap = new_cap if cap is None else min(new_cap, cap * (1 - 1e-6))     # strictly decreasing
        else:
            status_all = "time_limit"
    finally:
        m.t_cap_c.deactivate()
        m.e_cap_c.deactivate()
    if best is None:
        return "infeasible", None
    return status_all, best


def enumerate_best(networks: Sequence[Network], candidates: Sequence[Accelerator | None], *, slots: int,
                   objective: str = "latency", weights: Mapping[str, float] | None = None,
                   budget: Budget | None = None, dram_bw_bytes_per_s: float | None = None,
                   specs: Mapping[str, float] | None = None, table: CostTable | None = None,
                   clock_hz: float | None = None, max_chips: int = 5_000_000) -> Allocation:
    """The exhaustive reference of :func:`allocate`: every (config or empty per slot,
    task mapping onto non-empty slots) costed by one :func:`hwsim.system.evaluate_chips`;
    the best feasible chip within the budget and specs (ties: the first listed)."""
    start = time.perf_counter()
    p = _prepare(networks, candidates, slots, objective, weights, budget, dram_bw_bytes_per_s, specs, table,
                 clock_hz)
    C, n_tasks, S = len(p.candidates), len(p.networks), p.slots
    n = (C + 1) ** S * S ** n_tasks
    if n > max_chips:
        raise SpecError(f"field 'slots' = {S}: {n} chips to enumerate, more than max_chips = {max_chips}")
    cfg = np.array(list(itertools.product(range(-1, C), repeat=S)), dtype=np.int64)          # (K, S)
    maps = np.array(list(itertools.product(range(S), repeat=n_tasks)), dtype=np.int64)       # (M, T)
    cfg_all = np.repeat(cfg, len(maps), axis=0)
    map_all = np.tile(maps, (len(cfg), 1))
    valid = (np.take_along_axis(cfg_all, map_all, axis=1) >= 0).all(axis=1)
    cfg_all, map_all = cfg_all[valid], map_all[valid]
    r = _metrics(p, cfg_all, map_all)
    good = r.feasible & r.meets_specs & r.within_budget
    if not good.any():
        return _infeasible(p, "no enumerated chip meets every constraint", time.perf_counter() - start)
    values = np.where(good, _objective_values(p, r), np.inf)
    k = int(np.argmin(values))
    return _result(p, cfg_all[k], map_all[k], solve_s=time.perf_counter() - start)


__all__ = ["Allocation", "OBJECTIVES", "allocate", "enumerate_best"]
