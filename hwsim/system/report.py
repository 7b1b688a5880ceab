"""``ChipReport``: what an evaluator (closed form or simulation) says about a chip.

Both evaluators fill the same frozen dataclass: per sub-accelerator busy time,
utilization (busy / makespan) and energy split; per task its start, finish,
sub-accelerator(s), feasibility and error; the chip's makespan (seconds and
chip cycles), energy, area, EDP, whether it meets the chip's specs, and the
schedule as rows ``(sub, task, layer, start_s, finish_s)``: the simulation gives
one row per layer, the closed form one task-level bar per task (``layer=None``).

Units are in every name; :meth:`ChipReport.as_dict` is JSON-ready (inf / NaN
become None).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Mapping, NamedTuple


class ScheduleRow(NamedTuple):
    """One bar of a schedule: ``layer`` is None for a whole task (closed form)."""

    sub: str
    task: str
    layer: str | None
    start_s: float
    finish_s: float


@dataclass(frozen=True)
class SubReport:
    """One sub-accelerator: busy time, utilization, energy (total and split), area, its tasks."""

    name: str
    template: str
    busy_s: float
    utilization: float              # busy_s / the chip's makespan (0 if the makespan is 0 or undefined)
    energy_pj: float
    energy_breakdown_pj: Mapping[str, float]   # mac, each memory level, noc, leakage, ...
    area_mm2: float
    tasks: tuple[str, ...]          # tasks (or tasks with layers) that ran on it


@dataclass(frozen=True)
class TaskReport:
    """One task: where it ran, when, and whether it could."""

    name: str
    network: str
    subs: tuple[str, ...]           # the sub-accelerator(s) its layers ran on
    start_s: float
    finish_s: float
    energy_pj: float
    feasible: bool
    error: str = ""

    @property
    def latency_s(self) -> float:
        return self.finish_s - self.start_s


@dataclass(frozen=True)
class ChipReport:
    """The cost of a chip (see the module doc). ``method`` is ``"closed_form"`` or
    ``"simulate"``; ``notes`` say what the numbers assume (e.g. that a closed form
    with shared DRAM gives every sub-accelerator the whole bandwidth)."""

    chip: str
    method: str
    dram_policy: str
    feasible: bool
    latency_s: float                # makespan
    latency_cycles: float           # makespan x the chip's clock_hz
    energy_pj: float
    area_mm2: float
    edp_pj_s: float                 # energy_pj x latency_s
    clock_hz: float
    subs: tuple[SubReport, ...]
    tasks: tuple[TaskReport, ...]
    meets: Mapping[str, bool] = field(default_factory=dict)    # spec -> met (specs are upper bounds)
    specs: Mapping[str, float] = field(default_factory=dict)
    schedule: tuple[ScheduleRow, ...] = ()
    error: str = ""                 # why the chip is infeasible ("" if it is feasible)
    notes: tuple[str, ...] = ()

    @property
    def meets_specs(self) -> bool:
        """True if the chip is feasible and meets every spec (True if there are none)."""
        return self.feasible and all(self.meets.values())

    def sub(self, name: str) -> SubReport:
        for s in self.subs:
            if s.name == name:
                return s
        raise KeyError(name)

    def task(self, name: str) -> TaskReport:
        for t in self.tasks:
            if t.name == name:
                return t
        raise KeyError(name)

    def as_dict(self) -> dict:
        """One JSON-ready object (units in keys; inf / NaN -> None)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("subs", "tasks", "schedule")}
        out["meets_specs"] = self.meets_specs
        out["sub_accelerators"] = [
            {"name": s.name, "template": s.template, "busy_s": s.busy_s, "utilization": s.utilization,
             "energy_pj": s.energy_pj, **{f"energy_{k}_pj": v for k, v in s.energy_breakdown_pj.items()},
             "area_mm2": s.area_mm2, "tasks": list(s.tasks)} for s in self.subs]
        out["tasks"] = [{"name": t.name, "network": t.network, "sub_accelerators": list(t.subs),
                         "start_s": t.start_s, "finish_s": t.finish_s, "latency_s": t.latency_s,
                         "energy_pj": t.energy_pj, "feasible": t.feasible, "error": t.error} for t in self.tasks]
        out["schedule"] = [row._asdict() for row in self.schedule]
        return json_ready(out)

    def summary(self) -> str:
        """A few lines for a terminal."""
        head = (f"chip {self.chip} ({self.method}, DRAM {self.dram_policy}): "
                + (f"makespan {self.latency_cycles:,.0f} cycles ({self.latency_s * 1e3:.3f} ms), "
                   f"{self.energy_pj / 1e6:.1f} uJ, {self.area_mm2:.2f} mm2, EDP {self.edp_pj_s:.4g} pJ*s"
                   if self.feasible else f"INFEASIBLE: {self.error}"))
        lines = [head]
        if self.meets:
            lines.append("specs: " + ", ".join(f"{k} <= {self.specs.get(k):g}: {'met' if v else 'MISSED'}"
                                               for k, v in self.meets.items()))
        lines.append(f"  {'sub-accelerator':<16} {'template':<10} {'busy ms':>10} {'util':>6} {'energy uJ':>11} "
                     f"{'area mm2':>9}  tasks")
        for s in self.subs:
            lines.append(f"  {s.name:<16} {s.template:<10} {s.busy_s * 1e3:>10.3f} {s.utilization:>6.1%} "
                         f"{s.energy_pj / 1e6:>11.1f} {s.area_mm2:>9.2f}  {', '.join(s.tasks)}")
        lines.append(f"  {'task':<22} {'on':<16} {'start ms':>10} {'finish ms':>10}")
        for t in self.tasks:
            state = "" if t.feasible else f"  infeasible: {t.error}"
            lines.append(f"  {t.name:<22} {'+'.join(t.subs):<16} {t.start_s * 1e3:>10.3f} {t.finish_s * 1e3:>10.3f}"
                         f"{state}")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


def check_specs(specs: Mapping[str, float], **values: float) -> dict[str, bool]:
    """``{spec: value <= limit}`` for every spec given (NaN / inf values miss)."""
    out = {}
    for key, limit in specs.items():
        value = values.get(key)
        out[key] = value is not None and math.isfinite(value) and value <= limit
    return out


def json_ready(value):
    """``value`` with numpy scalars / arrays as Python values and inf / NaN as None."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return json_ready(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


__all__ = ["ChipReport", "ScheduleRow", "SubReport", "TaskReport", "check_specs", "json_ready"]
