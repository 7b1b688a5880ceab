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
DRAM bandwidth from the policy (equal shares by default); :func:`load_chip` reads
the YAML form (``specs/chips/*.yaml``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Sequence

from ..errors import HwsimError, SpecError, TemplateError
from ..hardware.accelerator import Accelerator
from ..hardware.params import show_value
from ..workload.network import Network

DRAM_POLICIES = ("partitioned", "shared")
BUDGET_FIELDS = ("pes", "noc_bw_bytes_per_cycle", "sram_bytes", "area_mm2")
SPEC_FIELDS = ("latency_cycles", "latency_s", "energy_pj", "area_mm2", "edp_pj_s")
AUTO = "auto"                      # YAML ``on: auto``: layer-level mapping (Task.on is None)
REL_TOL = 1e-9                     # sums compared to limits with this relative slack (float rounding)


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


# -- what a sub-accelerator uses of the budget ----------------------------------------

def accelerator_pes(acc: Accelerator) -> int | None:
    """PEs of ``acc``: ``pes``, or ``rows x cols``; None if its template has neither."""
    p = acc.params
    if "pes" in p:
        return int(p["pes"])
    if "rows" in p and "cols" in p:
        return int(p["rows"]) * int(p["cols"])
    return None


def accelerator_noc_bw(acc: Accelerator) -> float | None:
    """``noc_bw_bytes_per_cycle`` of ``acc`` (None if its template has none)."""
    value = acc.params.get("noc_bw_bytes_per_cycle")
    return None if value is None else float(value)


def accelerator_sram_bytes(acc: Accelerator) -> int | None:
    """On-chip SRAM of ``acc``, bytes: ``l1_bytes`` (per PE) x PEs + ``l2_bytes``, or a
    systolic array's ifmap + filter + ofmap SRAM; None if the template has none."""
    p = acc.params
    if "l2_bytes" in p:
        l1 = int(p.get("l1_bytes", 0)) * (accelerator_pes(acc) or 0)
        return l1 + int(p["l2_bytes"])
    keys = ("ifmap_sram_bytes", "filter_sram_bytes", "ofmap_sram_bytes")
    if all(k in p for k in keys):
        return sum(int(p[k]) for k in keys)
    return None


@lru_cache(maxsize=4096)
def accelerator_area_mm2(acc: Accelerator) -> float:
    """The area the model gives ``acc`` (it depends on the configuration only), from
    a one-layer probe through ``hwsim.evaluate_many``; cached per accelerator."""
    return float(accelerator_areas_mm2((acc,))[0])


def accelerator_areas_mm2(accelerators: Sequence[Accelerator]):
    """Areas (mm2) of many accelerators: one ``evaluate_many`` of a probe layer per
    template group (area is a function of the configuration alone)."""
    from ..evaluate import evaluate_many

    frame = evaluate_many(_probe_layer(), list(accelerators), per_layer=False)
    return frame["area_mm2"].to_numpy(dtype=float)


@lru_cache(maxsize=1)
def _probe_layer():
    from ..workload.layer import conv2d

    return conv2d("area_probe", 8, 8, in_size=(4, 4), kernel=(1, 1))


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


def _num(value) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:g}"


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
        per_chip_cycle = _dram_allocation(subs, float(bw), dram_policy, dram_shares or {}, dram_bw or {}, where)
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


def _dram_allocation(subs: list[SubAccelerator], bw: float, policy: str, shares: Mapping[str, float],
                     explicit: Mapping[str, float], where: str) -> list[float]:
    """Bytes per chip cycle of each sub-accelerator under ``policy``."""
    if policy not in DRAM_POLICIES:
        raise SpecError(f"{where}field 'dram.policy' = {show_value(policy)}: valid: {list(DRAM_POLICIES)}")
    names = [s.name for s in subs]
    for label, given in (("dram_share", shares), ("dram_bw_bytes_per_cycle", explicit)):
        for key, value in given.items():
            if key not in names:
                raise SpecError(f"{where}field 'sub_accelerators.{key}.{label}': unknown sub-accelerator; valid: "
                                f"{names}")
            if policy == "shared":
                raise SpecError(f"{where}field 'sub_accelerators.{key}.{label}' = {show_value(value)}: with dram "
                                "policy 'shared' every sub-accelerator uses the whole interface; drop it or use "
                                "policy 'partitioned'")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value <= 0 or (label == "dram_share" and value > 1):
                valid = "0 < value <= 1" if label == "dram_share" else "a finite number > 0"
                raise SpecError(f"{where}field 'sub_accelerators.{key}.{label}' = {show_value(value)}: expected "
                                f"{valid}")
            if key in shares and key in explicit:
                raise SpecError(f"{where}field 'sub_accelerators.{key}.dram_share' = {show_value(shares[key])}: "
                                "give either dram_share or dram_bw_bytes_per_cycle, not both")
    if policy == "shared":
        return [bw] * len(subs)
    fixed = {n: float(explicit[n]) if n in explicit else float(shares[n]) * bw
             for n in names if n in explicit or n in shares}
    used = sum(fixed.values())
    if used > bw * (1 + REL_TOL):
        parts = " + ".join(f"{n} {_num(v)}" for n, v in fixed.items())
        raise SpecError(f"{where}field 'dram.bw_bytes_per_cycle' = {_num(bw)}: the sub-accelerators' shares sum "
                        f"to {_num(used)} bytes/cycle ({parts})")
    rest = [n for n in names if n not in fixed]
    if rest:
        left = bw - used
        if left <= bw * 1e-12:
            raise SpecError(f"{where}field 'sub_accelerators.{rest[0]}.dram_share': no DRAM bandwidth is left for "
                            f"it (the others take {_num(used)} of {_num(bw)} bytes/cycle)")
        fixed.update({n: left / len(rest) for n in rest})
    return [fixed[n] for n in names]


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


# -- YAML ------------------------------------------------------------------------------

CHIP_KEYS = ("name", "budget", "dram", "sub_accelerators", "tasks", "clock_hz", "specs", "notes")
DRAM_KEYS = ("bw_bytes_per_cycle", "policy")
SUB_KEYS = ("name", "template", "dram_share", "dram_bw_bytes_per_cycle")   # + template parameters
TASK_KEYS = ("name", "network", "on", "batch", "bits")


def load_chip(path, **specs) -> Chip:
    """The chip in YAML file ``path`` (safe loader, duplicate keys rejected), validated.

    ``specs`` (latency_cycles=..., energy_pj=...) add to or override the file's
    ``specs`` mapping. Every error is a one-line SpecError naming the file and the field.
    """
    from ..hardware.yamlio import read_yaml_mapping

    source = str(path)
    try:
        data = read_yaml_mapping(source, f"with fields {list(CHIP_KEYS)}")
    except TemplateError as exc:            # the YAML reader's errors are about the file
        raise SpecError(str(exc)) from None
    return chip_from_mapping(data, source, Path(source).parent, **specs)


def chip_from_mapping(data: Mapping[str, Any], source: str = "", base_dir: Path | None = None,
                      **extra_specs) -> Chip:
    """A chip from the YAML form already parsed into ``data`` (see :func:`load_chip`)."""
    where = _where(source)
    _known(data, CHIP_KEYS, "", where)
    name = data.get("name", Path(source).stem if source else None)
    if not isinstance(name, str) or not name.strip():
        raise SpecError(f"{where}field 'name' = {show_value(name)}: expected a non-empty chip name")
    dram = data.get("dram")
    if not isinstance(dram, Mapping):
        raise SpecError(f"{where}field 'dram' = {show_value(dram)}: expected a mapping with fields "
                        f"{list(DRAM_KEYS)}")
    _known(dram, DRAM_KEYS, "dram.", where)
    dram = _numbers(dram, ("bw_bytes_per_cycle",))
    if "bw_bytes_per_cycle" not in dram:
        raise SpecError(f"{where}field 'dram.bw_bytes_per_cycle' is missing")
    policy = dram.get("policy", "partitioned")
    subs_data = data.get("sub_accelerators")
    if subs_data is None or subs_data == []:
        raise SpecError(f"{where}field 'sub_accelerators' = {show_value(subs_data)}: an empty chip; give at least "
                        "one sub-accelerator")
    if not isinstance(subs_data, list):
        raise SpecError(f"{where}field 'sub_accelerators' = {show_value(subs_data)}: expected a list")
    subs, shares, explicit = [], {}, {}
    for i, entry in enumerate(subs_data):
        sub, share, bw = _sub_from(entry, i, where, base_dir)
        subs.append(sub)
        if share is not None:
            shares[sub.name] = share
        if bw is not None:
            explicit[sub.name] = bw
    tasks_data = data.get("tasks")
    if tasks_data is None or tasks_data == []:
        raise SpecError(f"{where}field 'tasks' = {show_value(tasks_data)}: the chip runs nothing; give at least "
                        "one task")
    if not isinstance(tasks_data, list):
        raise SpecError(f"{where}field 'tasks' = {show_value(tasks_data)}: expected a list")
    names = [s.name for s in subs]
    tasks: list[Task] = []
    for i, entry in enumerate(tasks_data):
        tasks.append(_task_from(entry, i, where, base_dir, names, {t.name for t in tasks}))
    specs = data.get("specs") or {}
    if not isinstance(specs, Mapping):
        raise SpecError(f"{where}field 'specs' = {show_value(specs)}: expected a mapping with fields "
                        f"{list(SPEC_FIELDS)}")
    specs = {**_numbers(specs, SPEC_FIELDS), **{k: v for k, v in extra_specs.items() if v is not None}}
    budget_data = data.get("budget") or {}
    budget = _budget_from(_numbers(budget_data, BUDGET_FIELDS) if isinstance(budget_data, Mapping) else budget_data,
                          where)
    clock = _yaml_number(data.get("clock_hz"))
    if clock is not None and (isinstance(clock, bool) or not isinstance(clock, (int, float))):
        raise SpecError(f"{where}field 'clock_hz' = {show_value(clock)}: expected a number > 0")
    return make_chip(name, subs, tasks, dram_bw_bytes_per_cycle=dram["bw_bytes_per_cycle"], dram_policy=policy,
                     budget=budget, clock_hz=clock, dram_shares=shares, dram_bw=explicit, specs=specs,
                     source=source)


def _yaml_number(value):
    """A YAML number: PyYAML (YAML 1.1) reads ``1e7`` or ``2.0e7`` as a string, so a
    string that is a finite number is taken as that number (as template values are)."""
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return value
        return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    return value


def _numbers(data, keys) -> dict:
    return {k: (_yaml_number(v) if k in keys else v) for k, v in data.items()}


def _known(data: Mapping, valid: Sequence[str], prefix: str, where: str) -> None:
    unknown = sorted((k for k in data if str(k) not in valid), key=str)
    if unknown:
        raise SpecError(f"{where}field '{prefix}{unknown[0]}' = {show_value(data[unknown[0]])}: unknown field; "
                        f"valid: {list(valid)}")


def _sub_from(entry, i: int, where: str, base_dir: Path | None):
    from ..dataflow.registry import load_template

    head = f"sub_accelerators[{i}]"
    if not isinstance(entry, Mapping):
        raise SpecError(f"{where}field '{head}' = {show_value(entry)}: expected a mapping with name, template and "
                        "template parameters")
    for key in ("name", "template"):
        if key not in entry:
            raise SpecError(f"{where}field '{head}.{key}' is missing")
    name = entry["name"]
    if not isinstance(name, str) or not name.strip():
        raise SpecError(f"{where}field '{head}.name' = {show_value(name)}: expected a non-empty name")
    template = entry["template"]
    if isinstance(template, str) and template.lower().endswith((".yaml", ".yml")) and base_dir is not None \
            and not Path(template).is_absolute() and (base_dir / template).is_file():
        template = str(base_dir / template)
    overrides = {str(k): v for k, v in entry.items() if k not in SUB_KEYS}
    try:
        accelerator = load_template(template, **overrides)
    except TemplateError as exc:
        raise SpecError(f"{where}{head} {name!r}: {exc}") from None
    share, bw = _yaml_number(entry.get("dram_share")), _yaml_number(entry.get("dram_bw_bytes_per_cycle"))
    return SubAccelerator(name, accelerator), share, bw


def _task_from(entry, i: int, where: str, base_dir: Path | None, names: list[str], used: set[str]) -> Task:
    from ..workload.loaders import load_network

    head = f"tasks[{i}]"
    if not isinstance(entry, Mapping):
        raise SpecError(f"{where}field '{head}' = {show_value(entry)}: expected a mapping with network and on")
    if True in entry and "on" not in entry:     # YAML 1.1 reads the bare key `on` as the boolean true
        entry = {("on" if key is True else key): value for key, value in entry.items()}
    _known(entry, TASK_KEYS, f"{head}.", where)
    if "network" not in entry:
        raise SpecError(f"{where}field '{head}.network' is missing")
    if "on" not in entry:
        raise SpecError(f"{where}field '{head}.on' is missing: give a sub-accelerator ({names}) or {AUTO!r} "
                        "(layer-level mapping)")
    on = entry["on"]
    if on != AUTO and on not in names:
        raise SpecError(f"{where}field '{head}.on' = {show_value(on)}: unknown sub-accelerator; valid: "
                        f"{names + [AUTO]}")
    network_name = entry["network"]
    for key in ("batch", "bits"):
        value = entry.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise SpecError(f"{where}field '{head}.{key}' = {show_value(value)}: expected an integer > 0")
    if isinstance(network_name, str) and network_name.lower().endswith(".csv") and base_dir is not None \
            and not Path(network_name).is_absolute() and (base_dir / network_name).is_file():
        network_name = str(base_dir / network_name)
    try:
        network = load_network(network_name, batch=entry.get("batch"), bits=entry.get("bits"))
    except HwsimError as exc:
        raise SpecError(f"{where}{head}: {exc}") from None
    name = entry.get("name")
    if name is None:
        name = _unique_name(network.name, used)
    elif not isinstance(name, str) or not name.strip():
        raise SpecError(f"{where}field '{head}.name' = {show_value(name)}: expected a non-empty name")
    elif name in used:
        raise SpecError(f"{where}field '{head}.name' = {name!r}: duplicate task name")
    return Task(name, network, None if on == AUTO else on)


__all__ = ["AUTO", "BUDGET_FIELDS", "Budget", "Chip", "DRAM_POLICIES", "SPEC_FIELDS", "SubAccelerator", "Task",
           "accelerator_area_mm2", "accelerator_areas_mm2", "accelerator_noc_bw", "accelerator_pes",
           "accelerator_sram_bytes", "chip_from_mapping", "load_chip", "make_chip", "with_dram"]
