"""Costing one chunk of design points: parameter arrays in, an Arrow table out.

``evaluate_many`` takes a list of Accelerator objects; a sweep chunk of 20,000
points would spend more time building and regrouping those (about 35 us a
point: ``with_params`` plus reading every parameter back) than the model spends
costing them (about 20 us a point for ResNet-50 on dla; reports/bench_sweep.md).
So the chunk is costed the way ``evaluate_many`` costs one group, straight from
arrays:

1. every template parameter becomes one array over the chunk (swept and derived
   values, template defaults elsewhere), checked against the template's
   declarations *vectorized* -- the checks ``with_params`` makes; a point that
   fails is a row with ``feasible = False`` and the same message, not an abort;
2. points are grouped by their string parameters (a model's options), each group
   cut into batches of :data:`BATCH_CONFIGS` and run through the model and the
   shared cost stage, exactly as ``evaluate_many`` runs a group;
3. the rows are built by ``evaluate_many``'s own frame builders, so the columns
   and values are the same (tests/sweep checks row for row).

The private evaluate helpers are imported here and nowhere else in hwsim.sweep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from ..dataflow import get_model
from ..dataflow.base import ConfigBatch, LayerBatch, check_costs
from ..errors import TemplateError
from ..evaluate import _concat, _layer_columns, _run, _totals_frame, _unique_layers
from ..hardware.accelerator import Accelerator
from ..hardware.params import Param
from ..hardware.technology import load_technology
from ..workload.network import Network

# Configs per model call: small enough for the (configs x layers x candidates) arrays
# of the tiling searches to stay in cache, large enough that per-call overhead vanishes
# (ResNet-50 on dla: 4,096-8,192 is the fastest, measured for reports/bench_sweep.md).
BATCH_CONFIGS = 8192


@dataclass(frozen=True)
class Workload:
    """A network prepared once per sweep: its distinct layer shapes as a batch and
    each layer's index among them (what ``evaluate_many`` computes per call)."""

    network: Network
    batch: LayerBatch
    inverse: np.ndarray


def prepare(network: Network) -> Workload:
    unique, inverse = _unique_layers(network.layers)
    return Workload(network, LayerBatch.from_layers(unique), inverse)


def check_values(spec: Param, values: np.ndarray, default) -> tuple[np.ndarray, np.ndarray]:
    """``values`` converted to the parameter's type and a mask of the invalid ones
    (which hold ``default``): ``Param.check`` over an array, for numbers."""
    values = np.asarray(values)
    if spec.kind is str:
        return values, np.zeros(len(values), dtype=bool)
    as_float = values.astype(float)
    ok = np.isfinite(as_float)
    if spec.kind is int:
        ok &= np.floor(as_float) == as_float
    if spec.minimum is not None:
        ok &= as_float >= spec.minimum if spec.inclusive else as_float > spec.minimum
    if spec.upper is not None:
        ok &= as_float <= spec.upper
    dtype = np.int64 if spec.kind is int else float
    converted = np.where(ok, as_float, default).astype(dtype) if spec.kind is float or not ok.all() \
        else values.astype(np.int64)
    return converted, ~ok


def parameter_arrays(template: Accelerator, values: Mapping[str, np.ndarray], size: int):
    """Every template parameter over the chunk, the invalid values of each swept
    parameter (a mask per name), and each invalid point's message (the
    TemplateError ``with_params`` would raise for its first invalid parameter)."""
    arrays, invalid, errors = {}, {}, np.full(size, "", dtype=object)
    bad = np.zeros(size, dtype=bool)
    for name, default in template.params.items():
        if name not in values:
            arrays[name] = default
            continue
        spec = template.declared[name]
        arrays[name], invalid[name] = check_values(spec, values[name], default)
        for row in np.flatnonzero(invalid[name] & ~bad):
            errors[row] = _message(spec, values[name][row], template, name)
        bad |= invalid[name]
    return arrays, invalid, errors


def _message(spec: Param, value, template: Accelerator, name: str) -> str:
    value = value.item() if isinstance(value, np.generic) else value
    try:
        spec.check(value, template.name, name)
    except TemplateError as exc:
        return str(exc)
    return f"{template.name}: field '{name}' = {value!r}: invalid"


def groups(template: Accelerator, arrays: Mapping, size: int):
    """(rows, options) per combination of string parameters present in the chunk."""
    strings = [k for k, v in template.params.items() if isinstance(v, str)]
    varying = [k for k in strings if isinstance(arrays[k], np.ndarray)]
    if not varying:
        yield np.arange(size), {k: arrays[k] for k in strings}
        return
    codes = np.zeros(size, dtype=np.int64)
    for name in varying:
        _, inverse = np.unique(arrays[name].astype(str), return_inverse=True)
        codes = codes * (inverse.max() + 1) + inverse
    for code in np.unique(codes):
        rows = np.flatnonzero(codes == code)
        yield rows, {k: (str(arrays[k][rows[0]]) if k in varying else arrays[k]) for k in strings}


def cost_frame(template: Accelerator, workload: Workload, arrays: Mapping, size: int, per_layer: bool):
    """``evaluate_many``'s frame (``config`` = position in the chunk) for the chunk's
    parameter ``arrays``, grouped by options and cut into model batches."""
    import pandas as pd

    model = get_model(template.dataflow)
    same = [template] * size           # ``accelerators[i]`` for the frame builders (they read .name)
    frames = []
    for rows, options in groups(template, arrays, size):
        technology = load_technology(options["technology"]) if "technology" in options else None
        for start in range(0, len(rows), BATCH_CONFIGS):
            part = rows[start:start + BATCH_CONFIGS]
            params = {k: (v[part] if isinstance(v, np.ndarray) else np.full(len(part), v)).reshape(-1, 1)
                      for k, v in arrays.items() if k not in options}
            configs = ConfigBatch(params=params, options=options, technology=technology, size=len(part))
            costs = _run(model, workload.batch, configs)
            check_costs(costs, template.dataflow, workload.batch.names)
            args = (workload.network, workload.batch, workload.inverse, costs, part, same)
            frames.append(pd.DataFrame(_layer_columns(*args)) if per_layer else _totals_frame(*args))
    frame = _concat(frames) if len(frames) > 1 else frames[0]
    if len(frames) > 1:
        keys = ["config", "layer_index"] if per_layer else ["config"]
        frame = frame.sort_values(keys, kind="stable").reset_index(drop=True)
    return frame


def mark_invalid(frame, rows: np.ndarray, errors: np.ndarray) -> None:
    """Rows of points whose parameters are invalid: infeasible, with the message."""
    if not rows.any():
        return
    for column in frame.columns:
        if column == "bound":
            frame.loc[rows, column] = "infeasible"
        elif column == "latency_cycles" or column == "latency_s":
            frame.loc[rows, column] = np.inf
        elif column == "utilization":
            frame.loc[rows, column] = 0.0
        elif column.endswith(("_pj", "_mm2", "_cycles", "_accesses", "_bytes", "_s")):
            frame.loc[rows, column] = np.nan
    frame.loc[rows, "feasible"] = False
    frame.loc[rows, "error"] = errors[rows]


def _renamed(columns, template: Accelerator) -> dict[str, str]:
    """Per-layer cost columns named like a template parameter, renamed so the two
    can sit in one row: a level's traffic ``l2_bytes`` is ``l2_traffic_bytes``
    (``l2_bytes`` is the capacity parameter), anything else gets ``layer_``."""
    levels = {c[:-len("_accesses")] for c in columns if c.endswith("_accesses")}
    out = {f"{level}_bytes": f"{level}_traffic_bytes" for level in levels}
    out.update({c: f"layer_{c}" for c in columns if c in template.params and c not in out})
    return out


def evaluate_chunk(template: Accelerator, workloads: Sequence[Workload], values: Mapping[str, np.ndarray],
                   names: Sequence[str], first_point: int, per_layer: bool):
    """The chunk's rows as one Arrow table: ``point``, ``network``, the parameters
    ``names`` (null where invalid), then the cost columns with ``edp_pj_s``."""
    import pyarrow as pa

    size = len(next(iter(values.values())))
    arrays, invalid, errors = parameter_arrays(template, values, size)
    bad = np.logical_or.reduce(list(invalid.values())) if invalid else np.zeros(size, dtype=bool)
    tables = []
    for workload in workloads:
        frame = cost_frame(template, workload, arrays, size, per_layer)
        config = frame["config"].to_numpy()
        mark_invalid(frame, bad[config], errors[config])
        frame["edp_pj_s"] = frame["energy_pj"] * frame["latency_s"]
        if per_layer:
            frame = frame.rename(columns=_renamed(frame.columns, template))
        table = pa.Table.from_pandas(frame.drop(columns=["config", "template"]), preserve_index=False)
        head = {"point": pa.array(first_point + config, type=pa.int64()),
                "network": pa.array(np.full(len(config), workload.network.name, dtype=object), type=pa.string())}
        for name in names:
            column = arrays[name] if isinstance(arrays[name], np.ndarray) else np.full(size, arrays[name])
            head[name] = pa.array(column[config], mask=invalid[name][config] if name in invalid else None)
        tables.append(pa.Table.from_arrays(list(head.values()) + table.columns, names=list(head) + table.column_names))
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


__all__ = ["BATCH_CONFIGS", "Workload", "check_values", "evaluate_chunk", "parameter_arrays", "prepare"]
