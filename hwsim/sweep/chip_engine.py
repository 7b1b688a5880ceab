"""Chip sweeps: a task-level chip's sub-accelerator parameters swept, closed form.

A chip sweep (``chip: specs/chips/dla_shi.yaml`` in a sweep spec) varies
parameters named ``<sub>.<param>`` (``big.pes``, ``small.noc_bw_bytes_per_cycle``);
the workload is the chip's own tasks. A point is the chip with each
sub-accelerator's swept parameters changed (``with_params``); everything else
is the chip file's: the tasks and their order, the DRAM policy and each
sub-accelerator's DRAM bandwidth (unless swept), the budget and the specs.

A chunk is costed as a search costs many chips:

1. per sub-accelerator, its parameter arrays are checked vectorized (the checks
   ``with_params`` makes; an invalid value makes its point an infeasible row with
   the message) and its *distinct* configs in the chunk are built once each;
2. one :class:`~hwsim.system.tables.CostTable` over all distinct configs x the
   chip's networks (one ``evaluate_many`` per network);
3. one :func:`~hwsim.system.closed_form.evaluate_chips` over all points at once
   (``config_index`` (n, S), the task slots fixed).

Only the closed form: every task must be ``on:`` a named sub-accelerator (no
simulation, so shared DRAM is the no-contention bound, as in ``hwsim chip``).
With partitioned DRAM, ``within_budget`` also requires the sub-accelerators'
DRAM bandwidths (swept ones included) to fit in the chip's interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from ..errors import HwsimError, SpecError
from ..hardware.params import show_value
from ..system.chip import Chip
from .engine import parameter_arrays


@dataclass(frozen=True)
class ChipParameters:
    """The chip's sub-accelerator parameters as one template-like namespace
    (``declared``, ``params``, ``name``, ``dataflow``), so the sweep's space parser,
    point generator and fingerprint work on ``<sub>.<param>`` names unchanged."""

    name: str
    declared: Mapping
    params: Mapping
    dataflow: str           # the chip's tasks, DRAM, clock, budget and specs (part of the fingerprint)


def chip_parameters(chip: Chip) -> ChipParameters:
    declared, params = {}, {}
    for sub in chip.sub_accelerators:
        for key, spec in sub.accelerator.declared.items():
            declared[f"{sub.name}.{key}"] = spec
        for key, value in sub.accelerator.params.items():
            params[f"{sub.name}.{key}"] = value
    mapping = ";".join(f"{t.name}@{t.on}" for t in chip.tasks)
    rest = f"dram={chip.dram_policy}:{chip.dram_bw_bytes_per_cycle};clock={chip.clock_hz};budget={chip.budget};" \
           f"specs={sorted(chip.specs.items())}"
    return ChipParameters(chip.name, declared, params, f"chip[{mapping};{rest}]")


def check_chip_names(chip: Chip, parameters, derived, where: str) -> None:
    """Every swept or derived name is ``<sub>.<param>`` with a known sub-accelerator
    and one of its template's parameters (before any work)."""
    fields = []
    if isinstance(parameters, Mapping):
        for key, block in parameters.items():
            if key == "grid" and isinstance(block, Mapping):
                fields += [(f"parameters.grid.{n}", n, v) for n, v in block.items()]
            elif key in ("random", "lhs") and isinstance(block, Mapping) and isinstance(block.get("ranges"), Mapping):
                fields += [(f"parameters.{key}.ranges.{n}", n, v) for n, v in block["ranges"].items()]
    if isinstance(derived, Mapping):
        fields += [(f"derived.{n}", n, v) for n, v in derived.items()]
    subs = {s.name: s.accelerator for s in chip.sub_accelerators}
    for field, name, value in fields:
        sub, dot, param = str(name).partition(".")
        if not dot or sub not in subs:
            raise SpecError(f"{where}field '{field}' = {show_value(value)}: "
                            + (f"no sub-accelerator {sub!r} in chip '{chip.name}'" if dot else
                               "a chip sweep names parameters '<sub_accelerator>.<param>'")
                            + f"; valid sub-accelerators: {sorted(subs)}")
        if param not in subs[sub].declared:
            raise SpecError(f"{where}field '{field}' = {show_value(value)}: unknown parameter '{param}' of "
                            f"sub-accelerator '{sub}' (template '{subs[sub].name}'); "
                            f"valid: {sorted(subs[sub].declared)}")


def check_task_level(chip: Chip, where: str) -> None:
    auto = [t.name for t in chip.tasks if t.on is None]
    if auto:
        raise SpecError(f"{where}field 'chip' = {chip.source!r}: task {auto[0]!r} is 'on: auto' (layer-level "
                        "mapping), which is not supported in sweeps; map every task to a sub-accelerator")


def _sub_configs(sub, values: Mapping[str, np.ndarray], size: int):
    """(configs, row of each point in ``configs`` (-1 if invalid), error per point,
    the checked parameter arrays, their invalid masks) for one sub-accelerator: its
    distinct configs in the chunk are built once each."""
    accelerator = sub.accelerator
    arrays, invalid, errors = parameter_arrays(accelerator, values, size)
    bad = np.logical_or.reduce(list(invalid.values())) if invalid else np.zeros(size, dtype=bool)
    if not values:
        return [accelerator], np.zeros(size, dtype=np.int64), errors, arrays, invalid
    codes = np.zeros(size, dtype=np.int64)
    for name in values:
        _, inverse = np.unique(arrays[name].astype(str) if arrays[name].dtype == object else arrays[name],
                               return_inverse=True)
        codes = codes * (int(inverse.max()) + 1) + inverse.reshape(-1)
    codes = np.where(bad, -1, codes)
    distinct, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    configs, rows = [], np.full(len(distinct), -1, dtype=np.int64)
    for k, (code, row) in enumerate(zip(distinct, first)):
        if code < 0:
            continue
        try:
            configs.append(accelerator.with_params(**{n: arrays[n][row].item() for n in values}))
            rows[k] = len(configs) - 1
        except HwsimError as exc:            # a check across parameters that the array checks do not make
            for point in np.flatnonzero(codes == code):
                errors[point] = str(exc)
    return configs, rows[inverse.reshape(-1)], errors, arrays, invalid


def evaluate_chip_chunk(chip: Chip, values: Mapping[str, np.ndarray], names: Sequence[str], first_point: int):
    """The chunk's rows as one Arrow table (one row per point): ``point``, the parameters (null where invalid),
    the closed-form costs, ``feasible``, ``within_budget``, ``meets_specs``, ``meets_<spec>``, ``error``
    and ``<sub>_busy_s`` per sub-accelerator."""
    import pyarrow as pa

    from ..system.tables import CostTable, unique_networks

    size = len(next(iter(values.values())))
    subs = chip.sub_accelerators
    per_sub = [_sub_configs(s, {k.split(".", 1)[1]: v for k, v in values.items() if k.split(".", 1)[0] == s.name},
                            size) for s in subs]
    errors = np.full(size, "", dtype=object)
    for s, (_, _, errs, _, _) in zip(subs, per_sub):
        for point in np.flatnonzero((errs != "") & (errors == "")):
            errors[point] = f"sub-accelerator {s.name!r}: {errs[point]}"
    bad = np.logical_or.reduce([result[1] < 0 for result in per_sub])
    out = _empty_columns(chip, size)
    if not bad.all():
        networks = unique_networks(t.network for t in chip.tasks)
        table = CostTable.build(networks, [c for result in per_sub for c in result[0]])
        cfg = np.stack([np.where(rows >= 0, table.config_indices(configs)[np.maximum(rows, 0)], 0)
                        if configs else np.zeros(size, dtype=np.int64) for configs, rows, *_ in per_sub], axis=1)
        good = np.flatnonzero(~bad)
        _fill(out, chip, table, cfg[good], good, errors)
    out["feasible"] &= ~bad
    head = {"point": pa.array(first_point + np.arange(size), type=pa.int64())}
    for name in names:
        sub, param = name.split(".", 1)
        arrays, invalid = per_sub[[x.name for x in subs].index(sub)][3:]
        head[name] = pa.array(arrays[param], mask=invalid.get(param))       # null where invalid, as for templates
    out["error"] = errors
    return pa.table({**head, **{k: pa.array(v) for k, v in out.items()}})


def _empty_columns(chip: Chip, size: int) -> dict:
    out = {"latency_cycles": np.full(size, np.inf), "latency_s": np.full(size, np.inf),
           "energy_pj": np.full(size, np.nan), "area_mm2": np.full(size, np.nan),
           "edp_pj_s": np.full(size, np.nan), "feasible": np.zeros(size, dtype=bool),
           "within_budget": np.zeros(size, dtype=bool), "meets_specs": np.zeros(size, dtype=bool)}
    out.update({f"meets_{k}": np.zeros(size, dtype=bool) for k in chip.specs})
    out.update({f"{s.name}_busy_s": np.full(size, np.nan) for s in chip.sub_accelerators})
    return out


def _fill(out: dict, chip: Chip, table, cfg: np.ndarray, rows: np.ndarray, errors: np.ndarray) -> None:
    """The closed form of the valid points ``rows`` (configs ``cfg``) into ``out``."""
    from ..system.closed_form import evaluate_chips

    slot = np.array([chip.sub_index(t.on) for t in chip.tasks])
    nets = np.array([table.network_index(t.network) for t in chip.tasks])
    first = chip.sub_accelerators[0].accelerator
    clock = None if chip.clock_hz == first.clock_hz else chip.clock_hz     # default: slot 0's (swept) clock
    dram = chip.dram_bw_bytes_per_s if chip.dram_policy == "partitioned" else None
    r = evaluate_chips(table, cfg, slot, nets, specs=dict(chip.specs), budget=chip.budget, clock_hz=clock,
                       dram_bw_bytes_per_s=dram)
    for key in ("latency_cycles", "latency_s", "energy_pj", "area_mm2", "edp_pj_s", "feasible", "within_budget",
                "meets_specs"):
        out[key][rows] = getattr(r, key)
    for key, met in r.meets.items():
        out[f"meets_{key}"][rows] = met
    for s, sub in enumerate(chip.sub_accelerators):
        out[f"{sub.name}_busy_s"][rows] = r.busy_s[:, s]
    task_cfg = cfg[:, slot]                                              # (n, T)
    for i in np.flatnonzero(~r.feasible):                                # only the infeasible points
        point = rows[i]
        j = int(np.flatnonzero(~r.task_feasible[i])[0])                  # the first task that does not map
        task = chip.tasks[j]
        errors[point] = f"task {task.name!r} ({task.network.name}) on {task.on!r}: " \
                        f"{table.error[task_cfg[i, j], nets[j]]}"


__all__ = ["ChipParameters", "check_chip_names", "check_task_level", "chip_parameters", "evaluate_chip_chunk"]
