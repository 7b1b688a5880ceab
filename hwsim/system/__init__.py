"""Heterogeneous multi-accelerator chips (DESIGN.md floor 3).

    from hwsim.system import load_chip, evaluate_chip, simulate
    chip = load_chip("specs/chips/dla_shi.yaml")
    report = evaluate_chip(chip)           # closed form (task-level mapping)
    report = simulate(chip)                # simpy: shared-DRAM contention, layer-level mapping

Floor 3: this package stands on hwsim.evaluate, hwsim.workload, hwsim.hardware
and hwsim.dataflow (never on the command line); nothing below imports it.
``write_gantt`` (matplotlib) is imported on first use.
"""

from .chip import AUTO, Budget, Chip, SubAccelerator, Task, make_chip, with_dram
from .chip_yaml import load_chip
from .closed_form import ChipArrays, budget_usage, evaluate_chip, evaluate_chips, within_budget
from .report import ChipReport, ScheduleRow, SubReport, TaskReport
from .schedule import LayerTable
from .simulate import simulate  # the function shadows its submodule's name here
from .tables import CostTable

__all__ = ["AUTO", "Budget", "Chip", "ChipArrays", "ChipReport", "CostTable", "LayerTable", "ScheduleRow",
           "SubAccelerator", "SubReport", "Task", "TaskReport", "budget_usage", "evaluate_chip", "evaluate_chips", "load_chip",
           "make_chip", "simulate", "with_dram", "within_budget", "write_gantt"]


def __getattr__(name):
    if name == "write_gantt":   # matplotlib likewise
        from .gantt import write_gantt

        globals()["write_gantt"] = write_gantt
        return write_gantt
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
