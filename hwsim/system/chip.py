"""Heterogeneous chips: named sub-accelerators under one budget, one DRAM interface, tasks.

A :class:`Chip` is a tuple of :class:`SubAccelerator` (each a name and an
``hwsim.Accelerator`` with its own PEs, NoC bandwidth and buffers), the
:class:`Task` s it runs (a network, on one named sub-accelerator or ``on=None``
for layer-level mapping), a :class:`Budget` and one off-chip DRAM interface:

* ``dram_policy="partitioned"``: each sub-accelerator owns a fixed share of the
  DRAM bandwidth, which is its accelerator's ``dram_bw_bytes_per_cycle`` (in that
  sub-accelerator's own clock cycles); the shares sum to at most the chip's
  bandwidth (compared in bytes per second, so sub-accelerators of different
  clocks are compared fairly);
* ``dram_policy="shared"``: every sub-accelerator's accelerator carries the
  *whole* chip bandwidth (its uncontended cost); contention at run time is
  simulated (``hwsim.system.simulate``).

The chip's ``dram_bw_bytes_per_cycle`` is in cycles of the chip's ``clock_hz``
(default: the first sub-accelerator's clock). A Chip validates itself when it is
constructed (:meth:`Chip.__post_init__`): no sub-accelerator, no task, a task on
an unknown sub-accelerator, duplicate names, DRAM shares over the interface and
a chip over its budget are :class:`~hwsim.errors.SpecError` s of one line naming
the file (``source``), the field, its value and what is wrong. A network that
maps on no sub-accelerator is *not* an error here: evaluators report it
infeasible with the layer and the reason.

:func:`make_chip` builds a chip from Python objects and sets the sub-accelerators'
DRAM bandwidth from the policy (equal shares by default); ``chip_yaml.load_chip``
reads the YAML form (``specs/chips/*.yaml``); ``resources`` reads what a
sub-accelerator uses of the budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from ..errors import SpecError, TemplateError
from ..hardware.accelerator import Accelerator
from ..hardware.params import show_value
from ..workload.network import Network
from .dram import DRAM_POLICIES, REL_TOL, _num, dram_allocation
from .resources import accelerator_area_mm2, accelerator_noc_bw, accelerator_pes, accelerator_sram_bytes

BUDGET_FIELDS = ("pes", "noc_bw_bytes_per_cycle", "sram_bytes", "area_mm2")
SPEC_FIELDS = ("latency_cycles", "latency_s", "energy_pj", "area_mm2", "edp_pj_s")
AUTO = "auto"                      # YAML ``on: auto``: layer-level mapping (Task.on is None)


# -- the data model ----------------------------------------------------------------

@dataclass(frozen=True)
class SubAccelerator:
    """One named sub-accelerator of a chip."""

    name: str
    accelerator: Accelerator


@dataclass(frozen=True)
class Task:
    """A network to run: on the sub-accelerator named ``on``, or layer by layer on
    any of them (``on=None``, the greedy policy of ``hwsim.system.schedule``)."""

    name: str
    network: Network
    on: str | None


@dataclass(frozen=True)
class Budget:
    """Limits on the sums over sub-accelerators (None: no limit).

    ``pes``: PEs (``pes``, or ``rows x cols`` of a systolic array);
    ``noc_bw_bytes_per_cycle``: the sub-accelerators' ``noc_bw_bytes_per_cycle``;
    ``sram_bytes``: on-chip SRAM (``l1_bytes`` per PE x PEs + ``l2_bytes``, or a
    systolic array's ifmap + filter + ofmap SRAM); ``area_mm2``: the models' areas."""

    pes: int | None = None
    noc_bw_bytes_per_cycle: float | None = None
    sram_bytes: int | None = None
    area_mm2: float | None = None


@dataclass(frozen=True)
class Chip:
    """A heterogeneous chip; validated on construction (see the module doc).

    ``specs`` (optional) are the targets a report checks (``ChipReport.meets``):
    any of latency_cycles, latency_s, energy_pj, area_mm2, edp_pj_s (upper bounds).
    ``source`` is the file the chip came from (named in error messages)."""

    name: str
    sub_accelerators: tuple[SubAccelerator, ...]
    tasks: tuple[Task, ...]
    dram_bw_bytes_per_cycle: float
    dram_policy: str = "partitioned"
    budget: Budget = field(default_factory=Budget)
    clock_hz: float | None = None
    specs: Mapping[str, float] = field(default_factory=dict, hash=False, compare=False)
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sub_accelerators", tuple(self.sub_accelerators))
        object.__setattr__(self, "tasks", tuple(self.tasks))
        object.__setattr__(self, "budget", self.budget if self.budget is not None else Budget())
        object.__setattr__(self, "specs", MappingProxyType(dict(self.specs or {})))
        _validate(self)
        if self.clock_hz is None:
            object.__setattr__(self, "clock_hz", self.sub_accelerators[0].accelerator.clock_hz)

    def sub(self, name: str) -> SubAccelerator:
        """The sub-accelerator called ``name`` (SpecError naming the valid ones)."""
        for sub in self.sub_accelerators:
            if sub.name == name:
                return sub
        raise SpecError(f"{_where(self.source)}chip '{self.name}': no sub-accelerator {name!r}; "
                        f"valid: {self.sub_names}")

    def sub_index(self, name: str) -> int:
        return self.sub_names.index(self.sub(name).name)

    @property
    def sub_names(self) -> list[str]:
        return [s.name for s in self.sub_accelerators]

    @property
    def dram_bw_bytes_per_s(self) -> float:
        return float(self.dram_bw_bytes_per_cycle) * float(self.clock_hz)

    @property
    def task_level(self) -> bool:
        """True if every task is on a named sub-accelerator (the closed form applies)."""
        return all(t.on is not None for t in self.tasks)

    def tasks_on(self, name: str) -> list[Task]:
        """The tasks on sub-accelerator ``name``, in the order listed (their run order)."""
        return [t for t in self.tasks if t.on == name]


# -- validation -------------------------------------------------------------------------

def _where(source: str) -> str:
    return f"{source}: " if source else ""


def _validate(chip: Chip) -> None:
    where = _where(chip.source)
    if not isinstance(chip.name, str) or not chip.name.strip():
        raise SpecError(f"{where}field 'name' = {show_value(chip.name)}: expected a non-empty chip name")
    if not chip.sub_accelerators:
        raise SpecError(f"{where}field 'sub_accelerators' = []: an empty chip; give at least one sub-accelerator")
    names: list[str] = []
    for i, sub in enumerate(chip.sub_accelerators):
        if not isinstance(sub, SubAccelerator):
            raise SpecError(f"{where}field 'sub_accelerators[{i}]' = {type(sub).__name__}: expected a "
                            "hwsim.system.SubAccelerator")
        if not isinstance(sub.name, str) or not sub.name.strip() or sub.name == AUTO:
            raise SpecError(f"{where}field 'sub_accelerators[{i}].name' = {show_value(sub.name)}: expected a "
                            f"non-empty name other than {AUTO!r}")
        if sub.name in names:
            raise SpecError(f"{where}field 'sub_accelerators[{i}].name' = {sub.name!r}: duplicate sub-accelerator "
                            "name")
        if not isinstance(sub.accelerator, Accelerator):
            raise SpecError(f"{where}field 'sub_accelerators[{i}].accelerator' = "
                            f"{type(sub.accelerator).__name__}: expected an hwsim.Accelerator")
        if "dram_bw_bytes_per_cycle" not in sub.accelerator.params:
            raise SpecError(f"{where}field 'sub_accelerators[{i}].template' = {sub.accelerator.name!r}: template "
                            "has no dram_bw_bytes_per_cycle, so it cannot sit behind the chip's DRAM interface")
        names.append(sub.name)
    if not chip.tasks:
        raise SpecError(f"{where}field 'tasks' = []: the chip runs nothing; give at least one task")
    task_names: set[str] = set()
    for i, task in enumerate(chip.tasks):
        if not isinstance(task, Task):
            raise SpecError(f"{where}field 'tasks[{i}]' = {type(task).__name__}: expected a hwsim.system.Task")
        if not isinstance(task.network, Network):
            raise SpecError(f"{where}field 'tasks[{i}].network' = {type(task.network).__name__}: expected an "
                            "hwsim.Network")
        if task.name in task_names:
            raise SpecError(f"{where}field 'tasks[{i}].name' = {task.name!r}: duplicate task name")
        task_names.add(task.name)
        if task.on is not None and task.on not in names:
            raise SpecError(f"{where}field 'tasks[{i}].on' = {task.on!r}: unknown sub-accelerator; valid: "
                            f"{names + [AUTO]}")
    if chip.dram_policy not in DRAM_POLICIES:
        raise SpecError(f"{where}field 'dram.policy' = {show_value(chip.dram_policy)}: valid: {list(DRAM_POLICIES)}")
    bw = chip.dram_bw_bytes_per_cycle
    if isinstance(bw, bool) or not isinstance(bw, (int, float)) or not math.isfinite(bw) or bw <= 0:
        raise SpecError(f"{where}field 'dram.bw_bytes_per_cycle' = {show_value(bw)}: expected a finite number > 0")
    clock = chip.clock_hz if chip.clock_hz is not None else chip.sub_accelerators[0].accelerator.clock_hz
    if isinstance(clock, bool) or not isinstance(clock, (int, float)) or not math.isfinite(clock) or clock <= 0:
        raise SpecError(f"{where}field 'clock_hz' = {show_value(chip.clock_hz)}: expected a finite number > 0")
    _check_dram(chip, float(bw) * float(clock))
    if not isinstance(chip.budget, Budget):
        raise SpecError(f"{where}field 'budget' = {type(chip.budget).__name__}: expected a hwsim.system.Budget")
    _check_budget(chip)
    for key, value in chip.specs.items():
        if key not in SPEC_FIELDS:
            raise SpecError(f"{where}field 'specs.{key}' = {show_value(value)}: unknown spec; valid: "
                            f"{list(SPEC_FIELDS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or value <= 0:
            raise SpecError(f"{where}field 'specs.{key}' = {show_value(value)}: expected a number > 0")


def _check_dram(chip: Chip, chip_bytes_per_s: float) -> None:
    where = _where(chip.source)
    per_s = [s.accelerator["dram_bw_bytes_per_cycle"] * s.accelerator.clock_hz for s in chip.sub_accelerators]
    if chip.dram_policy == "partitioned":
        total = sum(per_s)
        if total > chip_bytes_per_s * (1 + REL_TOL):
            parts = " + ".join(f"{s.name} {_num(b / _first_clock(chip))}" for s, b in zip(chip.sub_accelerators, per_s))
            raise SpecError(f"{where}field 'dram.bw_bytes_per_cycle' = {_num(chip.dram_bw_bytes_per_cycle)}: the "
                            f"partitioned shares sum to {_num(total / _first_clock(chip))} bytes/cycle ({parts})")
    else:
        for s, b in zip(chip.sub_accelerators, per_s):
            if not math.isclose(b, chip_bytes_per_s, rel_tol=1e-6):
                raise SpecError(f"{where}field 'sub_accelerators.{s.name}.dram_bw_bytes_per_cycle' = "
                                f"{_num(s.accelerator['dram_bw_bytes_per_cycle'])}: with dram policy 'shared' every "
                                f"sub-accelerator carries the whole interface "
                                f"({_num(chip_bytes_per_s / s.accelerator.clock_hz)} bytes per own cycle); "
                                "build the chip with make_chip or load_chip")


def _first_clock(chip: Chip) -> float:
    return float(chip.clock_hz if chip.clock_hz is not None else chip.sub_accelerators[0].accelerator.clock_hz)


_BUDGET_WHAT = {"pes": ("PEs", accelerator_pes), "noc_bw_bytes_per_cycle": ("bytes/cycle of NoC bandwidth",
                                                                           accelerator_noc_bw),
                "sram_bytes": ("bytes of SRAM", accelerator_sram_bytes), "area_mm2": ("mm2", None)}


def _check_budget(chip: Chip) -> None:
    where = _where(chip.source)
    budget = chip.budget
    for key in BUDGET_FIELDS:
        limit = getattr(budget, key)
        if limit is None:
            continue
        if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not math.isfinite(limit) or limit <= 0:
            raise SpecError(f"{where}field 'budget.{key}' = {show_value(limit)}: expected a finite number > 0")
        what, usage = _BUDGET_WHAT[key]
        if usage is None:
            used = [accelerator_area_mm2(s.accelerator) for s in chip.sub_accelerators]
        else:
            used = []
            for s in chip.sub_accelerators:
                value = usage(s.accelerator)
                if value is None:
                    raise SpecError(f"{where}field 'budget.{key}' = {_num(limit)}: sub-accelerator {s.name!r} "
                                    f"(template {s.accelerator.name!r}) does not declare its {what.split(' of ')[-1]}")
                used.append(value)
        total = sum(used)
        if total > limit * (1 + REL_TOL):
            fmt = (lambda v: f"{v:.3g}") if key == "area_mm2" else _num
            parts = " + ".join(f"{s.name} {fmt(u)}" for s, u in zip(chip.sub_accelerators, used))
            raise SpecError(f"{where}field 'budget.{key}' = {_num(limit)}: the sub-accelerators use {fmt(total)} "
                            f"{what} ({parts})")


# -- building chips ----------------------------------------------------------------------

def make_chip(name: str, sub_accelerators, tasks, *, dram_bw_bytes_per_cycle: float,
              dram_policy: str = "partitioned", budget: Budget | Mapping | None = None,
              clock_hz: float | None = None, dram_shares: Mapping[str, float] | None = None,
              dram_bw: Mapping[str, float] | None = None, specs: Mapping[str, float] | None = None,
              source: str = "") -> Chip:
    """A validated :class:`Chip` whose sub-accelerators' DRAM bandwidth follows the policy.

    ``sub_accelerators``: SubAccelerators, ``(name, Accelerator)`` pairs or a mapping
    name -> Accelerator. ``tasks``: Tasks or ``(network, on)`` / ``(name, network, on)``
    tuples (``on`` a sub-accelerator name, or None / ``"auto"`` for layer-level mapping).
    ``partitioned``: sub-accelerator ``s`` gets ``dram_bw[s]`` bytes per chip cycle, or the
    fraction ``dram_shares[s]`` of the interface; the others split what is left equally
    (so by default every one gets 1/n). ``shared``: each gets the whole interface.

    >>> chip = make_chip("two", {"big": hwsim.load_template("dla", pes=1024), "small": hwsim.load_template("shi")},
    ...                  [(hwsim.zoo.get_network("resnet18"), "big")], dram_bw_bytes_per_cycle=32)
    """
    where = _where(source)
    subs = _as_subs(sub_accelerators, where)
    chip_clock = float(clock_hz) if clock_hz is not None else (subs[0].accelerator.clock_hz if subs else 1.0)
    bw = dram_bw_bytes_per_cycle
    if isinstance(bw, bool) or not isinstance(bw, (int, float)) or not math.isfinite(bw) or bw <= 0:
        raise SpecError(f"{where}field 'dram.bw_bytes_per_cycle' = {show_value(bw)}: expected a finite number > 0")
    if subs:
        per_chip_cycle = dram_allocation([sub.name for sub in subs], float(bw), dram_policy, dram_shares or {}, dram_bw or {}, where)
        subs = [_with_dram(s, b * chip_clock / s.accelerator.clock_hz, where) for s, b in zip(subs, per_chip_cycle)]
    if isinstance(budget, Mapping):
        budget = _budget_from(budget, where)
    return Chip(name=name, sub_accelerators=tuple(subs), tasks=tuple(_as_tasks(tasks, where)),
                dram_bw_bytes_per_cycle=float(bw), dram_policy=dram_policy, budget=budget or Budget(),
                clock_hz=clock_hz, specs=dict(specs or {}), source=source)


def with_dram(chip: Chip, policy: str, *, dram_shares: Mapping[str, float] | None = None,
              dram_bw: Mapping[str, float] | None = None, dram_bw_bytes_per_cycle: float | None = None) -> Chip:
    """``chip`` with another DRAM policy or partition (e.g. the static partitions a
    shared interface is compared with): the sub-accelerators' DRAM bandwidth is set
    again as :func:`make_chip` sets it; everything else is kept."""
    return make_chip(chip.name, chip.sub_accelerators, chip.tasks,
                     dram_bw_bytes_per_cycle=chip.dram_bw_bytes_per_cycle if dram_bw_bytes_per_cycle is None
                     else dram_bw_bytes_per_cycle, dram_policy=policy, budget=chip.budget,
                     clock_hz=chip.clock_hz, dram_shares=dram_shares, dram_bw=dram_bw, specs=chip.specs,
                     source=chip.source)


def _as_subs(items, where: str) -> list[SubAccelerator]:
    if isinstance(items, Mapping):
        items = list(items.items())
    subs = []
    for i, item in enumerate(items or ()):
        if isinstance(item, SubAccelerator):
            subs.append(item)
        elif isinstance(item, tuple) and len(item) == 2:
            subs.append(SubAccelerator(str(item[0]), item[1]))
        else:
            raise SpecError(f"{where}field 'sub_accelerators[{i}]' = {type(item).__name__}: expected a "
                            "SubAccelerator or a (name, Accelerator) pair")
    return subs


def _as_tasks(items, where: str) -> list[Task]:
    tasks: list[Task] = []
    used: set[str] = set()
    for i, item in enumerate(items or ()):
        if isinstance(item, Task):
            task = item
        elif isinstance(item, tuple) and len(item) in (2, 3):
            name, network, on = (None, *item) if len(item) == 2 else item
            if not isinstance(network, Network):
                raise SpecError(f"{where}field 'tasks[{i}].network' = {type(network).__name__}: expected an "
                                "hwsim.Network")
            task = Task(name if name is not None else _unique_name(network.name, used), network,
                        None if on in (None, AUTO) else on)
        else:
            raise SpecError(f"{where}field 'tasks[{i}]' = {type(item).__name__}: expected a Task or a "
                            "(network, on) pair")
        used.add(task.name)
        tasks.append(task)
    return tasks


def _unique_name(base: str, used: set[str]) -> str:
    if base not in used:
        return base
    n = 2
    while f"{base}#{n}" in used:
        n += 1
    return f"{base}#{n}"


def _with_dram(sub: SubAccelerator, bw_own_cycles: float, where: str) -> SubAccelerator:
    if "dram_bw_bytes_per_cycle" not in sub.accelerator.params:
        raise SpecError(f"{where}sub-accelerator {sub.name!r}: template {sub.accelerator.name!r} has no "
                        "dram_bw_bytes_per_cycle, so it cannot sit behind the chip's DRAM interface")
    try:
        return SubAccelerator(sub.name, sub.accelerator.with_params(dram_bw_bytes_per_cycle=bw_own_cycles))
    except TemplateError as exc:
        raise SpecError(f"{where}sub-accelerator {sub.name!r}: {exc}") from None


def _budget_from(data, where: str) -> Budget:
    if not isinstance(data, Mapping):
        raise SpecError(f"{where}field 'budget' = {show_value(data)}: expected a mapping with fields "
                        f"{list(BUDGET_FIELDS)}")
    unknown = sorted(set(map(str, data)) - set(BUDGET_FIELDS))
    if unknown:
        raise SpecError(f"{where}field 'budget.{unknown[0]}' = {show_value(data[unknown[0]])}: unknown budget "
                        f"field; valid: {list(BUDGET_FIELDS)}")
    return Budget(**{k: data[k] for k in BUDGET_FIELDS if k in data and data[k] is not None})


__all__ = ["AUTO", "BUDGET_FIELDS", "Budget", "Chip", "DRAM_POLICIES", "SPEC_FIELDS", "SubAccelerator", "Task",
           "accelerator_area_mm2", "accelerator_noc_bw", "accelerator_pes", "accelerator_sram_bytes", "make_chip",
           "with_dram"]
