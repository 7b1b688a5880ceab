"""``evaluate(network_or_layer, accelerator) -> CostReport`` and ``evaluate_many``.

The one call everything else in hwsim stands on. It

1. reduces the network to its *unique* layer shapes (identical layers are costed once),
2. groups accelerators by dataflow model and string options (e.g. ``dataflow: os``),
3. runs each model once per group, vectorized over (configs x unique layers),
   through the shared cost stage (``hwsim.dataflow.stage``),
4. expands the results to one row per (config, layer) in a pandas DataFrame, or
   (``per_layer=False``) sums them to one row per config without ever building
   the per-layer rows -- the path sweeps and searches take.

Layers of a network run one after another, so network latency and energy are
sums over layers. A (config, layer) that cannot map is a row with
``feasible = False``, ``latency_cycles = inf``, NaN energy and an ``error``
naming the layer, field and value; a config with any infeasible layer is
infeasible in its totals. Only ``evaluate`` of one config raises (MappingError).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import numpy as np

from .dataflow import get_model
from .dataflow.base import ConfigBatch, CostArrays, LayerBatch, check_costs
from .dataflow.stage import run as run_model
from .errors import HwsimError, MappingError
from .hardware.accelerator import Accelerator, check_accelerator
from .hardware.technology import load_technology
from .units import cycles_to_s, pj_to_uj, s_to_ms
from .workload.layer import Layer
from .workload.network import Network

# The totals path costs at most this many configs at once, so that its peak memory
# stays bounded (about 0.3 GiB for ResNet-50 on dla) however many configs a sweep has.
TOTALS_CHUNK_CONFIGS = 16384

if TYPE_CHECKING:   # pandas is imported where frames are built, not by ``import hwsim``
    import pandas as pd


@dataclass(frozen=True)
class CostTotal:
    """Whole-network totals on one accelerator."""

    latency_cycles: float
    latency_s: float
    energy_pj: float
    area_mm2: float
    macs: int
    utilization: float
    energy_breakdown_pj: dict = field(default_factory=dict)

    @property
    def latency_ms(self) -> float:
        return float(s_to_ms(self.latency_s))

    @property
    def energy_uj(self) -> float:
        return float(pj_to_uj(self.energy_pj))

    def as_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("latency_cycles", "latency_s", "energy_pj", "area_mm2",
                                             "macs", "utilization")}
        out.update({f"energy_{k}_pj": v for k, v in self.energy_breakdown_pj.items()})
        return out


@dataclass(frozen=True)
class CostReport:
    """Per-layer costs and totals (``total``) of one network on one accelerator.

    ``columns`` holds the per-layer table as numpy arrays, one per column;
    ``layers`` is the same table as a pandas DataFrame, built on first use (so a
    script or the command line that only needs the totals never imports pandas)."""

    network: str
    accelerator: Accelerator
    columns: Mapping[str, np.ndarray]
    total: CostTotal

    @cached_property
    def layers(self) -> "pd.DataFrame":
        import pandas as pd
        return pd.DataFrame(dict(self.columns))

    def __repr__(self) -> str:
        t = self.total
        return (f"CostReport({self.network} on {self.accelerator.name}: {t.latency_cycles:,.0f} cycles "
                f"({t.latency_ms:.3f} ms), {t.energy_uj:.1f} uJ, {t.area_mm2:.2f} mm2)")


def as_network(workload: Network | Layer | Sequence[Layer]) -> Network:
    if isinstance(workload, Network):
        return workload
    if isinstance(workload, Layer):
        return Network(workload.name, [workload])
    if isinstance(workload, (list, tuple)) and workload and all(isinstance(l, Layer) for l in workload):
        return Network.sequential("layers", list(workload), check_shapes=False)
    raise HwsimError(f"field 'workload' = {type(workload).__name__}: expected a Network, a Layer or a list of Layers")


def evaluate(workload: Network | Layer, accelerator: Accelerator) -> CostReport:
    """Cost of running ``workload`` (a network or one layer) on ``accelerator``.
    Raises MappingError if a layer cannot map."""
    network = as_network(workload)
    accelerator = check_accelerator(accelerator, "evaluate")
    unique, inverse = _unique_layers(network.layers)
    batch = LayerBatch.from_layers(unique)
    (indices, configs), = _group_configs([accelerator])
    costs = _run(get_model(accelerator.dataflow), batch, configs)
    check_costs(costs, accelerator.dataflow, batch.names)
    columns = _layer_columns(network, batch, inverse, costs, indices, [accelerator])
    if not columns["feasible"].all():
        raise MappingError(columns["error"][np.argmin(columns["feasible"])])
    columns = {k: v for k, v in columns.items() if k not in ("config", "template")}
    return CostReport(network.name, accelerator, columns, _total(columns, accelerator))


def evaluate_many(workload: Network | Layer, accelerators: Iterable[Accelerator],
                  per_layer: bool = True) -> "pd.DataFrame":
    """Costs of ``workload`` on every accelerator; never raises for a point that
    cannot map (its rows are ``feasible = False`` with the reason in ``error``).

    ``per_layer=True``: one row per (config, layer), ``config`` indexing
    ``accelerators``; the config's ``area_mm2`` is repeated on its rows.
    ``per_layer=False``: one row per config with the network's totals
    (``latency_cycles``, ``latency_s``, ``energy_pj`` and its split, ``area_mm2``,
    ``macs``, ``utilization``, ``feasible``, ``error``).
    """
    import pandas as pd

    network = as_network(workload)
    accelerators = [check_accelerator(a, "evaluate_many") for a in accelerators]
    if not accelerators:
        raise HwsimError("field 'accelerators' = []: expected at least one accelerator")
    unique, inverse = _unique_layers(network.layers)
    batch = LayerBatch.from_layers(unique)
    build = (lambda *a: pd.DataFrame(_layer_columns(*a))) if per_layer else _totals_frame
    frames = []
    for indices, configs in _group_configs(accelerators, chunk=None if per_layer else TOTALS_CHUNK_CONFIGS):
        dataflow = accelerators[indices[0]].dataflow
        costs = _run(get_model(dataflow), batch, configs)
        check_costs(costs, dataflow, batch.names)
        frames.append(build(network, batch, inverse, costs, indices, accelerators))
    frame = _concat(frames) if len(frames) > 1 else frames[0]
    keys = ["config", "layer_index"] if per_layer else ["config"]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def _run(model, batch: LayerBatch, configs: ConfigBatch) -> CostArrays:
    """A model's activity, costed by the shared stage."""
    return run_model(model, batch, configs)


def _concat(frames):
    """Frames of different templates in one: a column one template lacks (a memory
    level it does not have, a model-specific column) is 0 in its rows, never NaN."""
    import pandas as pd

    columns = list(dict.fromkeys(c for f in frames for c in f.columns))
    filled = []
    for f in frames:
        missing = [c for c in columns if c not in f.columns]
        extra = {c: (0.0 if c != "error" else "") for c in missing}
        filled.append(f.assign(**extra)[columns] if missing else f)
    return pd.concat(filled, ignore_index=True)


# -- helpers -------------------------------------------------------------------

def _unique_layers(layers: Sequence[Layer]) -> tuple[list[Layer], np.ndarray]:
    """The distinct layer shapes, in order of first appearance, and each layer's index among them."""
    index_of: dict[tuple, int] = {}
    unique: list[Layer] = []
    inverse = np.empty(len(layers), dtype=np.int64)
    for i, layer in enumerate(layers):
        key = layer.shape_key()
        if key not in index_of:
            index_of[key] = len(unique)
            unique.append(layer)
        inverse[i] = index_of[key]
    return unique, inverse


def _group_configs(accelerators: Sequence[Accelerator], chunk: int | None = None):
    """Yield (indices, ConfigBatch) per (dataflow, string options) group, in
    batches of at most ``chunk`` configs (all of a group if None)."""
    groups: dict[tuple, list[int]] = {}
    for i, acc in enumerate(accelerators):
        options = tuple(sorted((k, v) for k, v in acc.params.items() if isinstance(v, str)))
        groups.setdefault((acc.dataflow, options), []).append(i)
    for (dataflow, options), members in groups.items():
        step = chunk or len(members)
        for start in range(0, len(members), step):
            yield _config_batch(accelerators, members[start:start + step], dict(options))


def _config_batch(accelerators: Sequence[Accelerator], indices: list[int], opts: dict):
    """(indices, ConfigBatch) of accelerators sharing a model and string options."""
    numeric = [k for k, v in accelerators[indices[0]].params.items() if not isinstance(v, str)]
    params = {k: np.array([accelerators[i].params[k] for i in indices]).reshape(-1, 1) for k in numeric}
    technology = load_technology(opts["technology"]) if "technology" in opts else None
    return indices, ConfigBatch(params=params, options=opts, technology=technology, size=len(indices))


def _feasible(costs: CostArrays, shape) -> np.ndarray:
    return np.ones(shape, dtype=bool) if costs.feasible is None else np.broadcast_to(costs.feasible, shape)


def _errors(costs: CostArrays, batch: LayerBatch, feasible: np.ndarray) -> np.ndarray:
    """(C, U) object array: the reason of each infeasible point, "" elsewhere."""
    errors = np.full(feasible.shape, "", dtype=object)
    for row, col in np.argwhere(~feasible):
        errors[row, col] = costs.error(batch, row, col)
    return errors


def _layer_columns(network: Network, batch: LayerBatch, inverse: np.ndarray, costs: CostArrays,
                   indices: Sequence[int], accelerators: Sequence[Accelerator]) -> dict[str, np.ndarray]:
    """The per-layer table of one group of configs, one numpy array per column,
    rows ordered config-major."""
    n_cfg, n_layers = len(indices), len(inverse)
    shape = (n_cfg, len(batch))

    def expand(array, dtype=float):  # (C, U) -> flat (C * L,), rows ordered config-major
        return np.broadcast_to(np.asarray(array, dtype=dtype), shape)[:, inverse].ravel()

    def per_config(array):
        return np.repeat(np.broadcast_to(np.asarray(array, dtype=float).reshape(-1), (n_cfg,)), n_layers)

    layers = network.layers
    feasible = _feasible(costs, shape)
    energy = sum(np.broadcast_to(v, shape) for v in costs.energy_pj.values())
    data = {
        "config": np.repeat(np.asarray(indices), n_layers),
        "template": np.repeat([accelerators[i].name for i in indices], n_layers),
        "layer_index": np.tile(np.arange(n_layers), n_cfg),
        "layer": np.tile([l.name for l in layers], n_cfg),
        "op": np.tile([l.op for l in layers], n_cfg),
        "macs": np.tile(np.asarray([l.macs for l in layers], dtype=np.int64), n_cfg),
        "feasible": expand(feasible, bool),
        "latency_cycles": expand(costs.latency_cycles),
        "compute_cycles": expand(costs.compute_cycles),
        "utilization": expand(costs.utilization),
        "energy_pj": expand(energy),
        "area_mm2": per_config(costs.area_mm2),
        "peak_macs_per_cycle": per_config(costs.peak_macs_per_cycle),
    }
    data["latency_s"] = cycles_to_s(data["latency_cycles"], per_config(costs.clock_hz))
    for name, value in costs.energy_pj.items():
        data[f"energy_{name}_pj"] = expand(value)
    for level in costs.levels:
        data[f"{level.name}_accesses"] = expand(costs.accesses[level.name])
        data[f"{level.name}_bytes"] = expand(costs.traffic_bytes[level.name])
        data[f"{level.name}_bw_bytes_per_cycle"] = expand(level.bw_bytes_per_cycle)
    bound_names = np.asarray(("compute",) + costs.level_names)
    data["bound"] = np.where(data["feasible"], bound_names[expand(costs.bound, np.int64)], "infeasible")
    for name, value in costs.extras.items():
        data[name] = expand(value)
    data["error"] = expand(_errors(costs, batch, feasible), object)
    return data


def _totals_frame(network: Network, batch: LayerBatch, inverse: np.ndarray, costs: CostArrays,
                  indices: Sequence[int], accelerators: Sequence[Accelerator]) -> "pd.DataFrame":
    """One row per config: sums over the network's layers (each unique layer
    weighted by how often it occurs), computed on the (C, U) arrays."""
    import pandas as pd

    n_cfg = len(indices)
    shape = (n_cfg, len(batch))
    counts = np.bincount(inverse, minlength=len(batch)).astype(float)

    def total(array):   # (C, U) or (1, U) -> (C,): the network's sum
        array = np.asarray(array, dtype=float)
        if array.ndim < 2 or array.shape[0] == 1:
            return np.broadcast_to(np.broadcast_to(array, (1, len(batch))) @ counts, (n_cfg,))
        return np.broadcast_to(array, shape) @ counts
    feasible = _feasible(costs, shape)
    ok = feasible.all(axis=1)
    latency = np.where(ok, total(costs.latency_cycles), np.inf)
    macs = float(sum(l.macs for l in network.layers))
    peak = np.broadcast_to(np.asarray(costs.peak_macs_per_cycle, dtype=float).reshape(-1), (n_cfg,))
    data = {
        "config": np.asarray(indices),
        "template": [accelerators[i].name for i in indices],
        "feasible": ok,
        "latency_cycles": latency,
        "latency_s": latency / np.broadcast_to(costs.clock_hz, (n_cfg,)),
        "energy_pj": np.where(ok, sum(total(v) for v in costs.energy_pj.values()), np.nan),
        "area_mm2": np.broadcast_to(costs.area_mm2, (n_cfg,)).astype(float),
        "macs": np.full(n_cfg, int(macs), dtype=np.int64),
        "utilization": np.where(ok & (peak > 0), macs / (peak * latency), 0.0),
    }
    for name, value in costs.energy_pj.items():
        data[f"energy_{name}_pj"] = np.where(ok, total(value), np.nan)
    first_bad = np.argmax(~feasible, axis=1)     # unique layers are in order of first appearance
    data["error"] = [("" if ok[c] else costs.error(batch, c, int(first_bad[c]))) for c in range(n_cfg)]
    return pd.DataFrame(data)


def _total(columns: Mapping[str, np.ndarray], accelerator: Accelerator) -> CostTotal:
    latency_cycles = float(np.sum(columns["latency_cycles"]))
    macs = int(np.sum(columns["macs"]))
    peak = float(columns["peak_macs_per_cycle"][0])
    breakdown = {c[len("energy_"):-len("_pj")]: float(np.sum(columns[c]))
                 for c in columns if c.startswith("energy_") and c.endswith("_pj") and c != "energy_pj"}
    if latency_cycles <= 0:
        raise MappingError(f"accelerator '{accelerator.name}': total latency is {latency_cycles}: nothing ran")
    return CostTotal(latency_cycles=latency_cycles, latency_s=float(np.sum(columns["latency_s"])),
                     energy_pj=float(np.sum(columns["energy_pj"])), area_mm2=float(columns["area_mm2"][0]),
                     macs=macs, utilization=macs / (peak * latency_cycles) if peak > 0 else 0.0,
                     energy_breakdown_pj=breakdown)
