"""``nasaic.optimum``: the exact optimum of a co-search over the whole joint space (issue 7, item 4).

Every network of each task x every task-level chip, by decomposition (not brute
force); pure numpy on arrays the caller builds (no hwsim evaluation here).

The model (the closed form of ``hwsim.system.closed_form`` with partitioned DRAM):
a chip has up to ``slots`` sub-accelerator slots, each with a config c (a row of
the config arrays) or empty; task t runs network a_t (a column of its
:class:`TaskTable`) on one slot; a slot runs its tasks one after the other, so
busy(s) = sum of ``latency_s[c_s, a_t]`` over its tasks (in task order); the chip's
latency is the largest busy time; energy = sum over tasks of ``energy_pj[c, a_t]``;
area = sum of ``area_mm2[c]`` over the slots that run a task (an idle slot would
only add area and budget, so it is left out). The :class:`hwsim.system.Budget`
limits the sums over used slots of pes, noc_bw_bytes_per_cycle, area_mm2 and
sram_bytes (with the 1e-9 relative slack of ``within_budget``; a config whose
resource is NaN fails a limit on it). A network infeasible on a config cannot run
there. Specs are upper bounds on latency_s, energy_pj and area_mm2.

Objective: maximise sum_t weight_t x accuracy_t[a_t]; ties go to lower latency, then
energy, then area, then the smallest (slot_config, arch_index, task_slot) tuple.
Designs are canonical: the tasks form at most ``slots`` groups (a set partition),
group g is slot g, groups numbered by their first task (slots are interchangeable);
empty slots are -1 at the end of ``slot_config``.

:func:`exact_optimum` decomposes: (1) per (task, config) it keeps the networks that
are feasible and meet the latency and energy specs alone, and of those the Pareto
set in (latency min, energy min, weighted accuracy max), a network being dropped
only for one no worse in all three that is better in accuracy or energy or has a
smaller index (exact, including ties: the swap never breaks a constraint, never
lowers the objective and never loses a tie); (2) it enumerates the chips (a
partition and a config per group, vectorized) within budget and the area spec and
bounds each by the sum of its tasks' best accuracies; (3) in order of that bound
it combines the tasks' Pareto sets under the coupled constraints (per-slot latency
sums, total energy) with array operations, expanding only the networks that can
still reach the best objective found, and stops when the bound falls below it.
:func:`brute_force_optimum` evaluates every canonical design (the tests' reference).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from hwsim.errors import SpecError
from hwsim.system import Budget

SPECS = ("latency_s", "energy_pj", "area_mm2")
RESOURCES = ("pes", "noc_bw_bytes_per_cycle", "area_mm2", "sram_bytes")
BUDGET_SLACK = 1 + 1e-9             # as hwsim.system.within_budget
MAX_TASKS = MAX_SLOTS = 4
CHUNK_ROWS = 1 << 22                # partial designs built at once (bounds memory)
_EARLIER = np.triu(np.ones((512, 512), dtype=bool), k=1)   # [i, j]: i before j in a Pareto block


@dataclass(frozen=True)
class TaskTable:
    """One task's networks on every config: arrays ``[config, network]``; accuracy per network."""

    latency_s: np.ndarray    # (C, A_t)
    energy_pj: np.ndarray    # (C, A_t)
    feasible: np.ndarray     # (C, A_t) bool
    accuracy: np.ndarray     # (A_t,)


@dataclass(frozen=True)
class ConfigTable:
    """Per config: area and the budgeted resources (``sram_bytes`` optional)."""

    area_mm2: np.ndarray
    pes: np.ndarray
    noc_bw_bytes_per_cycle: np.ndarray
    sram_bytes: np.ndarray | None = None


@dataclass(frozen=True)
class Optimum:
    """The best design (see the module doc) and what the search looked at."""

    status: str                  # "optimal" | "infeasible"
    objective: float             # weighted accuracy (nan if infeasible)
    arch_index: tuple[int, ...]  # per task: column in its TaskTable
    slot_config: tuple[int, ...]  # per slot: config index or -1 (empty)
    task_slot: tuple[int, ...]   # per task: its slot
    latency_s: float
    energy_pj: float
    area_mm2: float
    chips_considered: int        # chips (partition x configs) kept by the budget/spec filters (brute: all)
    candidates_considered: int   # (partial) designs built
    seconds: float
    reason: str = ""             # if infeasible: which constraint no design meets


@dataclass(frozen=True)
class _Problem:
    tasks: tuple[TaskTable, ...]
    configs: ConfigTable
    slots: int
    weights: np.ndarray
    limits: Mapping[str, float]   # budget resource -> limit
    specs: Mapping[str, float]

    def spec(self, key: str) -> float:
        return float(self.specs.get(key, math.inf))


def exact_optimum(tasks: Sequence[TaskTable], configs: ConfigTable, *, slots: int, budget: Budget | None = None,
                  specs: Mapping[str, float] | None = None, weights: Sequence[float] | None = None) -> Optimum:
    """The exact optimum by decomposition (see the module doc)."""
    start = time.perf_counter()
    p = _prepare(tasks, configs, slots, budget, specs, weights)
    cands = [[_pareto(p, t, c) for c in range(len(configs.area_mm2))] for t in range(len(p.tasks))]
    best_acc = np.array([[c[2][0] if len(c[2]) else -np.inf for c in row] for row in cands])    # (T, C)
    min_lat = np.array([[c[0].min() if len(c[0]) else np.inf for c in row] for row in cands])
    min_en = np.array([[c[1].min() if len(c[1]) else np.inf for c in row] for row in cands])
    best_key, best_obj, n_chips, n_cand = None, -np.inf, 0, 0
    for part in _partitions(len(p.tasks), p.slots):
        chips, bound = _chips(p, part, best_acc, min_lat, min_en)
        n_chips += len(chips)
        for i in np.argsort(-bound, kind="stable"):
            if bound[i] < best_obj:
                break
            found, n = _best_on_chip(p, cands, part, chips[i], best_obj)
            n_cand += n
            if found is not None and (best_key is None or found < best_key):
                best_key, best_obj = found, -found[0]
    return _result(p, best_key, n_chips, n_cand, start)


def brute_force_optimum(tasks: Sequence[TaskTable], configs: ConfigTable, *, slots: int, budget: Budget | None = None,
                        specs: Mapping[str, float] | None = None, weights: Sequence[float] | None = None) -> Optimum:
    """Every canonical design evaluated (small instances only: the test reference)."""
    start = time.perf_counter()
    p = _prepare(tasks, configs, slots, budget, specs, weights)
    n_tasks = len(p.tasks)
    grid = np.stack(np.meshgrid(*[np.arange(len(t.accuracy)) for t in p.tasks], indexing="ij"),
                    axis=-1).reshape(-1, n_tasks)
    best_key, n_chips, n_cand = None, 0, 0
    for part in _partitions(n_tasks, p.slots):
        n_groups = max(part) + 1
        for cfg in itertools.product(range(len(configs.area_mm2)), repeat=n_groups):
            n_chips, n_cand = n_chips + 1, n_cand + len(grid)
            if not _budget_ok(p, np.array([cfg]))[0]:
                continue
            busy = np.zeros((len(grid), n_groups))
            energy, obj = np.zeros(len(grid)), np.zeros(len(grid))
            for t, task in enumerate(p.tasks):      # inf where infeasible (_check_task): fails the checks below
                c, a = cfg[part[t]], grid[:, t]
                busy[:, part[t]] += task.latency_s[c, a]
                energy += task.energy_pj[c, a]
                obj += p.weights[t] * task.accuracy[a]
            lat = busy.max(axis=1)
            ok = np.isfinite(lat) & (lat <= p.spec("latency_s")) & (energy <= p.spec("energy_pj"))
            found = _pick(obj[ok], lat[ok], energy[ok], grid[ok], p, part, cfg)
            if found is not None and (best_key is None or found < best_key):
                best_key = found
    return _result(p, best_key, n_chips, n_cand, start)


def design_metrics(tasks: Sequence[TaskTable], configs: ConfigTable, slot_config: Sequence[int],
                   task_slot: Sequence[int], arch_index: Sequence[int]) -> tuple[float, float, float]:
    """(latency_s, energy_pj, area_mm2) of one design by the closed form (inf/NaN if a task does not map)."""
    busy = np.zeros(len(slot_config))
    energy = 0.0
    for task, s, a in zip(tasks, task_slot, arch_index):
        c = slot_config[s]
        if not task.feasible[c, a]:
            return math.inf, math.nan, math.nan
        busy[s] += task.latency_s[c, a]
        energy += float(task.energy_pj[c, a])
    area = sum(float(configs.area_mm2[slot_config[s]]) for s in sorted(set(task_slot)))   # used slots, in order
    return float(busy.max()), energy, float(area)


# -- the decomposition ---------------------------------------------------------------

def _pareto(p: _Problem, t: int, c: int):
    """(latency, energy, weighted accuracy, network) of task t's undominated networks on config c
    that meet the latency and energy specs alone, by weighted accuracy descending."""
    task = p.tasks[t]
    idx = np.flatnonzero(task.feasible[c] & (task.latency_s[c] <= p.spec("latency_s"))
                         & (task.energy_pj[c] <= p.spec("energy_pj")))
    lat, en, acc = task.latency_s[c, idx], task.energy_pj[c, idx], p.weights[t] * task.accuracy[idx]
    order = np.lexsort((idx, en, -acc))          # every dominator of a point comes before it
    lat, en, acc, idx = lat[order], en[order], acc[order], idx[order]
    keep = np.zeros(len(idx), dtype=bool)
    front_lat, front_en = np.empty(0), np.empty(0)
    block = len(_EARLIER)
    for lo in range(0, len(idx), block):
        bl, be = lat[lo:lo + block], en[lo:lo + block]
        dom = ((front_lat[:, None] <= bl) & (front_en[:, None] <= be)).any(axis=0)
        n = len(bl)
        dom |= ((bl[:, None] <= bl) & (be[:, None] <= be) & _EARLIER[:n, :n]).any(axis=0)   # [earlier, later]
        keep[lo:lo + block] = ~dom
        front_lat, front_en = np.concatenate([front_lat, bl[~dom]]), np.concatenate([front_en, be[~dom]])
    return lat[keep], en[keep], acc[keep], idx[keep]


def _partitions(n_tasks: int, slots: int) -> list[tuple[int, ...]]:
    """Set partitions of the tasks into at most ``slots`` groups, as restricted growth strings
    (task t in group part[t]; groups numbered by their first task)."""
    out = []

    def grow(prefix: tuple[int, ...], groups: int) -> None:
        if len(prefix) == n_tasks:
            out.append(prefix)
            return
        for g in range(min(groups + 1, slots)):
            grow(prefix + (g,), max(groups, g + 1))

    grow((), 0)
    return out


def _chips(p: _Problem, part, best_acc, min_lat, min_en):
    """The config tuples (one per group) within budget and the area spec on which every task has a
    candidate and simple lower bounds meet the specs, with their accuracy bounds."""
    n_groups, n_cfg = max(part) + 1, len(p.configs.area_mm2)
    chips = np.indices((n_cfg,) * n_groups).reshape(n_groups, -1).T
    ok = _budget_ok(p, chips)
    bound, energy = np.zeros(len(chips)), np.zeros(len(chips))
    busy = np.zeros((len(chips), n_groups))
    for t, g in enumerate(part):
        bound += best_acc[t, chips[:, g]]
        energy += min_en[t, chips[:, g]]
        busy[:, g] += min_lat[t, chips[:, g]]
    ok &= np.isfinite(bound) & (energy <= p.spec("energy_pj")) & (busy.max(axis=1) <= p.spec("latency_s"))
    return chips[ok], bound[ok]


def _budget_ok(p: _Problem, chips: np.ndarray) -> np.ndarray:
    area = np.zeros(len(chips))
    for g in range(chips.shape[1]):
        area += p.configs.area_mm2[chips[:, g]]
    ok = area <= p.spec("area_mm2")
    for key, limit in p.limits.items():
        use = getattr(p.configs, key)[chips].sum(axis=1)
        with np.errstate(invalid="ignore"):
            ok &= use <= limit * BUDGET_SLACK
    return ok


def _best_on_chip(p: _Problem, cands, part, cfg, best_obj: float):
    """The best design on one chip as a sort key (None if none), and how many partial designs were built.

    Task by task, each partial design is extended only by the networks that can still reach the
    best objective (the Pareto sets are sorted by accuracy: a prefix), and is dropped once it, plus
    the least the later tasks add, breaks the latency spec (per slot) or the energy spec; at most
    ``CHUNK_ROWS`` partial designs are built at once."""
    n_tasks, n_groups = len(part), max(part) + 1
    sets = [cands[t][cfg[g]] for t, g in enumerate(part)]
    later = np.zeros((n_tasks, 2 + n_groups))       # after task t: the most accuracy, least energy, per-slot latency
    for t in range(n_tasks - 2, -1, -1):
        lat, en, acc, _ = sets[t + 1]
        later[t] = later[t + 1]
        later[t, :2] += acc[0], en.min()
        later[t, 2 + part[t + 1]] += lat.min()
    ctx = {"obj": best_obj, "key": None, "built": 0}
    _extend(p, sets, part, cfg, later, 0, np.zeros(1), np.zeros(1), np.zeros((1, n_groups)),
            np.zeros((1, 0), dtype=np.int64), ctx)
    return ctx["key"], ctx["built"]


def _extend(p: _Problem, sets, part, cfg, later, t, obj, energy, busy, arch, ctx) -> None:
    lat_t, en_t, acc_t, idx_t = sets[t]
    g, max_lat, max_en = part[t], p.spec("latency_s"), p.spec("energy_pj")
    if np.isfinite(ctx["obj"]):                      # keep ties: the tie-break needs them
        need = ctx["obj"] - 1e-9 * max(1.0, abs(ctx["obj"])) - later[t, 0] - obj
        count = np.searchsorted(-acc_t, -need, side="right")
    else:
        count = np.full(len(obj), len(acc_t))
    ends, lo = np.cumsum(count), 0
    while lo < len(obj):
        hi = max(lo + 1, int(np.searchsorted(ends, (ends[lo - 1] if lo else 0) + CHUNK_ROWS, side="right")))
        c = count[lo:hi]
        rows = lo + np.repeat(np.arange(hi - lo), c)
        cols = np.arange(len(rows)) - np.repeat(np.cumsum(c) - c, c)
        ctx["built"] += len(rows)
        o, e, b = obj[rows] + acc_t[cols], energy[rows] + en_t[cols], busy[rows]
        b[:, g] += lat_t[cols]
        # the look-ahead only prunes, with slack for rounding; the final sums are checked exactly
        keep = (e <= max_en) & (b[:, g] <= max_lat) & (e + later[t, 1] <= max_en + 1e-9 * abs(max_en)) \
            & (b + later[t, 2:] <= max_lat + 1e-9 * abs(max_lat)).all(axis=1)
        o, e, b, a = o[keep], e[keep], b[keep], np.column_stack([arch[rows[keep]], idx_t[cols[keep]]])
        if len(o) and t + 1 < len(sets):
            _extend(p, sets, part, cfg, later, t + 1, o, e, b, a, ctx)
        elif len(o):
            key = _pick(o, b.max(axis=1), e, a, p, part, cfg)
            if ctx["key"] is None or key < ctx["key"]:
                ctx["key"], ctx["obj"] = key, max(ctx["obj"], -key[0])
        lo = hi


def _pick(obj, lat, energy, arch, p: _Problem, part, cfg):
    """The sort key of the best of these designs on one chip (None if there are none)."""
    if not len(obj):
        return None
    i = np.lexsort(tuple(arch[:, t] for t in reversed(range(arch.shape[1]))) + (energy, lat, -obj))[0]
    slot_config = tuple(int(c) for c in cfg) + (-1,) * (p.slots - len(cfg))
    area = float(sum(float(p.configs.area_mm2[c]) for c in cfg))
    return (-float(obj[i]), float(lat[i]), float(energy[i]), area, slot_config,
            tuple(int(a) for a in arch[i]), tuple(part))


# -- input and output ----------------------------------------------------------------

def _prepare(tasks, configs, slots, budget, specs, weights) -> _Problem:
    tasks = tuple(tasks)
    if not 1 <= len(tasks) <= MAX_TASKS or not all(isinstance(t, TaskTable) for t in tasks):
        raise SpecError(f"field 'tasks': {len(tasks)} items: expected 1..{MAX_TASKS} TaskTable")
    if not isinstance(slots, (int, np.integer)) or not 1 <= slots <= MAX_SLOTS:
        raise SpecError(f"field 'slots' = {slots!r}: expected an integer 1..{MAX_SLOTS}")
    n_cfg = _config_count(configs)
    tasks = tuple(_check_task(t, i, n_cfg) for i, t in enumerate(tasks))
    w = np.ones(len(tasks)) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (len(tasks),) or not np.all(np.isfinite(w)):
        raise SpecError(f"field 'weights' = {weights!r}: expected {len(tasks)} finite numbers")
    specs = dict(specs or {})
    for key, value in specs.items():
        if key not in SPECS or not isinstance(value, (int, float, np.number)) or math.isnan(value):
            raise SpecError(f"field 'specs.{key}' = {value!r}: expected a number for one of {list(SPECS)} "
                            "(convert latency_cycles to latency_s first)")
    limits = {}
    for key in RESOURCES:
        limit = getattr(budget or Budget(), key)
        if limit is not None:
            if getattr(configs, key) is None:
                raise SpecError(f"field 'budget.{key}' = {limit!r}: the ConfigTable has no {key} array")
            limits[key] = float(limit)
    return _Problem(tasks=tasks, configs=configs, slots=int(slots), weights=w, limits=limits, specs=specs)


def _config_count(configs) -> int:
    if not isinstance(configs, ConfigTable):
        raise SpecError(f"field 'configs' = {type(configs).__name__}: expected a ConfigTable")
    n = np.asarray(configs.area_mm2).shape
    for key in RESOURCES:
        value = getattr(configs, key)
        if value is not None and (np.shape(value) != n or len(n) != 1 or n[0] == 0):
            raise SpecError(f"field 'configs.{key}': shape {np.shape(value)}: expected ({n[0] if n else 'C'},), C >= 1")
    if not np.all(np.isfinite(configs.area_mm2)) or np.any(np.asarray(configs.area_mm2) < 0):
        raise SpecError("field 'configs.area_mm2': expected finite areas >= 0")
    return n[0]


def _check_task(task: TaskTable, i: int, n_cfg: int) -> TaskTable:
    acc = np.asarray(task.accuracy, dtype=float)
    shape = (n_cfg, len(acc))
    if acc.ndim != 1 or not len(acc) or not np.all(np.isfinite(acc)):
        raise SpecError(f"field 'tasks[{i}].accuracy': shape {acc.shape}: expected (A,) finite numbers, A >= 1")
    feasible = np.asarray(task.feasible)
    arrays = {}
    for key in ("latency_s", "energy_pj"):
        value = np.asarray(getattr(task, key), dtype=float)
        if value.shape != shape or feasible.shape != shape:
            raise SpecError(f"field 'tasks[{i}].{key}': shape {value.shape} (feasible {feasible.shape}): "
                            f"expected {shape} (configs x networks)")
        bad = feasible & ~(np.isfinite(value) & (value >= 0))
        if bad.any():
            c, a = np.argwhere(bad)[0]
            raise SpecError(f"field 'tasks[{i}].{key}[{c}, {a}]' = {value[c, a]}: expected a finite value >= 0 "
                            "where feasible")
        arrays[key] = np.where(feasible, value, np.inf)
    return TaskTable(latency_s=arrays["latency_s"], energy_pj=arrays["energy_pj"], feasible=feasible.astype(bool),
                     accuracy=acc)


def _result(p: _Problem, key, n_chips: int, n_cand: int, start: float) -> Optimum:
    if key is None:
        return Optimum(status="infeasible", objective=math.nan, arch_index=(), slot_config=(), task_slot=(),
                       latency_s=math.nan, energy_pj=math.nan, area_mm2=math.nan, chips_considered=n_chips,
                       candidates_considered=n_cand, seconds=time.perf_counter() - start, reason=_reason(p))
    neg_obj, lat, energy, area, slot_config, arch, task_slot = key
    return Optimum(status="optimal", objective=-neg_obj, arch_index=arch, slot_config=slot_config,
                   task_slot=task_slot, latency_s=lat, energy_pj=energy, area_mm2=area, chips_considered=n_chips,
                   candidates_considered=n_cand, seconds=time.perf_counter() - start)


def _reason(p: _Problem) -> str:
    """Which constraint no design meets: the first that fails alone, or else their combination."""
    for t, task in enumerate(p.tasks):
        if not task.feasible.any():
            return f"task {t}: no network maps on any config"
        for key, values in (("latency_s", task.latency_s), ("energy_pj", task.energy_pj)):
            if not (values <= p.spec(key)).any():
                return f"task {t}: no network meets {key} <= {p.spec(key):g} on any config"
    single = np.arange(len(p.configs.area_mm2))[:, None]
    if not _budget_ok(p, single).any():
        what = ", ".join(f"{k} <= {v:g}" for k, v in p.limits.items())
        return f"budget/area: no single config fits ({what}; area_mm2 spec {p.spec('area_mm2'):g})"
    return (f"no design meets the budget and the specs together (specs {p.specs or 'none'}; "
            f"budget {p.limits or 'none'})")


__all__ = ["ConfigTable", "Optimum", "TaskTable", "brute_force_optimum", "design_metrics", "exact_optimum"]
