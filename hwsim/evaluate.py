"""``evaluate(network_or_layer, accelerator) -> CostReport`` and ``evaluate_many``.

The one call everything else in hwsim stands on. It

1. reduces the network to its *unique* layer shapes (identical layers are costed once),
2. groups accelerators by dataflow model and string options (e.g. ``dataflow: os``),
3. runs each model once per group, vectorized over (configs x unique layers),
4. expands the results back to one row per (config, layer) in a pandas DataFrame.

Layers of a network run one after another, so network latency and energy are
sums over layers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .dataflow import get_model
from .dataflow.base import ConfigBatch, CostArrays, LayerBatch, check_costs
from .errors import HwsimError, MappingError
from .hardware.accelerator import Accelerator
from .hardware.technology import load_technology
from .units import cycles_to_s, pj_to_uj, s_to_ms
from .workload.layer import Layer
from .workload.network import Network


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
    """Per-layer costs (``layers``, a DataFrame) and totals (``total``)."""

    network: str
    accelerator: Accelerator
    layers: pd.DataFrame
    total: CostTotal

    def __repr__(self) -> str:
        t = self.total
        return (f"CostReport({self.network} on {self.accelerator.name}: {t.latency_cycles:,.0f} cycles "
                f"({t.latency_ms:.3f} ms), {t.energy_uj:.1f} uJ, {t.area_mm2:.2f} mm2)")


def as_network(workload: Network | Layer | Sequence[Layer]) -> Network:
    if isinstance(workload, Network):
        return workload
    if isinstance(workload, Layer):
        return Network(workload.name, [workload])
    layers = list(workload)
    if layers and all(isinstance(l, Layer) for l in layers):
        return Network.sequential("layers", layers, check_shapes=False)
    raise HwsimError(f"field 'workload' = {type(workload).__name__}: expected a Network, a Layer or a list of Layers")


def evaluate(workload: Network | Layer, accelerator: Accelerator) -> CostReport:
    """Cost of running ``workload`` (a network or one layer) on ``accelerator``."""
    network = as_network(workload)
    frame = evaluate_many(network, [accelerator])
    return CostReport(network.name, accelerator, frame.drop(columns=["config", "template"]),
                      _total(frame, accelerator))


def evaluate_many(workload: Network | Layer, accelerators: Iterable[Accelerator]) -> pd.DataFrame:
    """One DataFrame with a row per (config, layer); ``config`` indexes ``accelerators``.

    Each group of accelerators sharing a dataflow model and string options is
    costed in one vectorized call. The config's ``area_mm2`` is repeated on each
    of its rows.
    """
    network = as_network(workload)
    accelerators = list(accelerators)
    if not accelerators:
        raise HwsimError("field 'accelerators' = []: expected at least one accelerator")
    unique, inverse = _unique_layers(network.layers)
    batch = LayerBatch.from_layers(unique)
    frames = []
    for indices, configs in _group_configs(accelerators):
        costs = get_model(accelerators[indices[0]].dataflow).cost(batch, configs)
        check_costs(costs, accelerators[indices[0]].dataflow, batch.names)
        frames.append(_to_frame(network, batch, inverse, costs, indices, accelerators))
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    energy_cols = [c for c in frame.columns if c.startswith("energy_") and c.endswith("_pj")]
    access_cols = [c for c in frame.columns if c.endswith("_accesses")]
    frame[energy_cols + access_cols] = frame[energy_cols + access_cols].fillna(0.0)  # absent level: none
    return frame.sort_values(["config", "layer_index"], kind="stable").reset_index(drop=True)


# -- helpers -------------------------------------------------------------------

def _unique_layers(layers: Sequence[Layer]) -> tuple[list[Layer], np.ndarray]:
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


def _group_configs(accelerators: Sequence[Accelerator]):
    """Yield (indices, ConfigBatch) per (dataflow, string options) group."""
    groups: dict[tuple, list[int]] = {}
    for i, acc in enumerate(accelerators):
        options = tuple(sorted((k, v) for k, v in acc.params.items() if isinstance(v, str)))
        groups.setdefault((acc.dataflow, options), []).append(i)
    for (dataflow, options), indices in groups.items():
        numeric = [k for k, v in accelerators[indices[0]].params.items() if not isinstance(v, str)]
        params = {k: np.array([accelerators[i].params[k] for i in indices]).reshape(-1, 1) for k in numeric}
        opts = dict(options)
        technology = load_technology(opts["technology"]) if "technology" in opts else None
        yield indices, ConfigBatch(params=params, options=opts, technology=technology, size=len(indices))


def _to_frame(network: Network, batch: LayerBatch, inverse: np.ndarray, costs: CostArrays,
              indices: Sequence[int], accelerators: Sequence[Accelerator]) -> pd.DataFrame:
    n_cfg, n_layers = len(indices), len(inverse)

    def expand(array):  # (C, U) -> flat (C * L,), rows ordered config-major
        return np.broadcast_to(np.asarray(array, dtype=float), (n_cfg, len(batch)))[:, inverse].ravel()

    def per_config(array):
        return np.repeat(np.broadcast_to(np.asarray(array, dtype=float).reshape(-1), (n_cfg,)), n_layers)

    layers = network.layers
    energy = sum(np.broadcast_to(v, (n_cfg, len(batch))) for v in costs.energy_pj.values())
    clock = per_config(costs.clock_hz)
    data = {
        "config": np.repeat(np.asarray(indices), n_layers),
        "template": np.repeat([accelerators[i].name for i in indices], n_layers),
        "layer_index": np.tile(np.arange(n_layers), n_cfg),
        "layer": np.tile([l.name for l in layers], n_cfg),
        "op": np.tile([l.op for l in layers], n_cfg),
        "macs": np.tile(np.asarray([l.macs for l in layers], dtype=np.int64), n_cfg),
        "latency_cycles": expand(costs.latency_cycles),
        "compute_cycles": expand(costs.compute_cycles),
        "utilization": expand(costs.utilization),
        "energy_pj": expand(energy),
        "area_mm2": per_config(costs.area_mm2),
        "peak_macs_per_cycle": per_config(costs.peak_macs_per_cycle),
    }
    data["latency_s"] = cycles_to_s(data["latency_cycles"], clock)
    for name, value in costs.energy_pj.items():
        data[f"energy_{name}_pj"] = expand(value)
    for name in costs.level_names:
        data[f"{name}_accesses"] = expand(costs.accesses[name])
        data[f"{name}_bytes"] = expand(costs.traffic_bytes[name])
    bound_names = np.asarray(("compute",) + costs.level_names)
    data["bound"] = bound_names[np.broadcast_to(costs.bound, (n_cfg, len(batch)))[:, inverse].ravel()]
    for name, value in costs.extras.items():
        data[name] = expand(value)
    return pd.DataFrame(data)


def _total(frame: pd.DataFrame, accelerator: Accelerator) -> CostTotal:
    latency_cycles = float(frame["latency_cycles"].sum())
    macs = int(frame["macs"].sum())
    peak = float(frame["peak_macs_per_cycle"].iloc[0])
    breakdown = {c[len("energy_"):-len("_pj")]: float(frame[c].sum())
                 for c in frame.columns if c.startswith("energy_") and c.endswith("_pj") and c != "energy_pj"}
    if latency_cycles <= 0:
        raise MappingError(f"accelerator '{accelerator.name}': total latency is {latency_cycles}: nothing ran")
    return CostTotal(latency_cycles=latency_cycles, latency_s=float(frame["latency_s"].sum()),
                     energy_pj=float(frame["energy_pj"].sum()), area_mm2=float(frame["area_mm2"].iloc[0]),
                     macs=macs, utilization=macs / (peak * latency_cycles) if peak > 0 else 0.0,
                     energy_breakdown_pj=breakdown)
