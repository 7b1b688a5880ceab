"""``CostTable``: the totals of every network on every distinct sub-accelerator config.

The closed form (``hwsim.system.closed_form``) costs a chip from these numbers
alone, so that a search over many chips builds one table and then evaluates
each chip with a few array operations. A table holds, per (config, network),
the task totals ``hwsim.evaluate_many(network, configs, per_layer=False)``
gives: latency (cycles of that config's clock, and seconds), energy and its
split, whether the network maps (``feasible``) and, if not, the first layer
that cannot and why (``error``); and per config its area, clock, PEs, NoC
bandwidth, SRAM and DRAM bandwidth (for budget checks).

It is built with one ``evaluate_many`` per network, which runs each dataflow
model once per template group over all the distinct configs of that group
(vectorized over configs x unique layers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from ..errors import HwsimError, SpecError
from ..evaluate import evaluate_many
from ..hardware.accelerator import Accelerator, check_accelerator
from ..workload.network import Network
from .chip import Chip, accelerator_noc_bw, accelerator_pes, accelerator_sram_bytes


@dataclass(frozen=True, eq=False)
class CostTable:
    """Per (config, network) task totals and per-config resources; arrays indexed
    ``[config, network]`` or ``[config]`` (see the module doc)."""

    networks: tuple[Network, ...]
    configs: tuple[Accelerator, ...]
    latency_cycles: np.ndarray          # (C, N) cycles of the config's own clock; inf if infeasible
    latency_s: np.ndarray               # (C, N)
    energy_pj: np.ndarray               # (C, N); NaN if infeasible
    energy_breakdown_pj: Mapping[str, np.ndarray]   # name -> (C, N): mac, l1, l2, dram, noc, leakage, ...
    feasible: np.ndarray                # (C, N) bool
    error: np.ndarray                   # (C, N) object: "" or the first layer that cannot map and why
    area_mm2: np.ndarray                # (C,)
    clock_hz: np.ndarray                # (C,)
    pes: np.ndarray                     # (C,) float, NaN where the template declares no PEs
    noc_bw_bytes_per_cycle: np.ndarray  # (C,) float, NaN where undeclared
    sram_bytes: np.ndarray              # (C,) float, NaN where undeclared
    dram_bw_bytes_per_s: np.ndarray     # (C,) the config's DRAM bandwidth x its clock

    @classmethod
    def build(cls, networks: Iterable[Network] | Network, configs: Iterable[Accelerator]) -> "CostTable":
        """The table of ``networks`` x the *distinct* ``configs`` (duplicates are costed
        once; :meth:`config_index` finds a config's row)."""
        networks = (networks,) if isinstance(networks, Network) else tuple(networks)
        if not networks:
            raise HwsimError("field 'networks' = []: expected at least one network")
        for i, net in enumerate(networks):
            if not isinstance(net, Network):
                raise HwsimError(f"field 'networks[{i}]' = {type(net).__name__}: expected an hwsim.Network")
        configs = tuple(dict.fromkeys(check_accelerator(a, "CostTable") for a in configs))
        if not configs:
            raise HwsimError("field 'configs' = []: expected at least one accelerator")
        n_cfg, n_net = len(configs), len(networks)
        latency_cycles = np.empty((n_cfg, n_net))
        latency_s = np.empty((n_cfg, n_net))
        energy = np.empty((n_cfg, n_net))
        feasible = np.empty((n_cfg, n_net), dtype=bool)
        error = np.empty((n_cfg, n_net), dtype=object)
        breakdown: dict[str, np.ndarray] = {}
        area = None
        for j, net in enumerate(networks):
            frame = evaluate_many(net, configs, per_layer=False)     # sorted by config
            latency_cycles[:, j] = frame["latency_cycles"].to_numpy(dtype=float)
            latency_s[:, j] = frame["latency_s"].to_numpy(dtype=float)
            energy[:, j] = frame["energy_pj"].to_numpy(dtype=float)
            feasible[:, j] = frame["feasible"].to_numpy(dtype=bool)
            error[:, j] = frame["error"].to_numpy(dtype=object)
            for col in frame.columns:
                if col.startswith("energy_") and col.endswith("_pj") and col != "energy_pj":
                    key = col[len("energy_"):-len("_pj")]
                    if key not in breakdown:
                        breakdown[key] = np.zeros((n_cfg, n_net))
                    breakdown[key][:, j] = frame[col].to_numpy(dtype=float)
            if area is None:
                area = frame["area_mm2"].to_numpy(dtype=float)

        def resource(fn):
            return np.array([np.nan if (v := fn(a)) is None else float(v) for a in configs])

        clock = np.array([a.clock_hz for a in configs], dtype=float)
        dram = np.array([float(a.params.get("dram_bw_bytes_per_cycle", np.nan)) for a in configs]) * clock
        return cls(networks=networks, configs=configs, latency_cycles=latency_cycles, latency_s=latency_s,
                   energy_pj=energy, energy_breakdown_pj=breakdown, feasible=feasible, error=error,
                   area_mm2=area, clock_hz=clock, pes=resource(accelerator_pes),
                   noc_bw_bytes_per_cycle=resource(accelerator_noc_bw), sram_bytes=resource(accelerator_sram_bytes),
                   dram_bw_bytes_per_s=dram)

    @classmethod
    def for_chip(cls, chip: Chip) -> "CostTable":
        """The table of one chip: its tasks' networks x its sub-accelerators."""
        return cls.build(unique_networks(t.network for t in chip.tasks), [s.accelerator for s in chip.sub_accelerators])

    @property
    def shape(self) -> tuple[int, int]:
        """(configs, networks)."""
        return self.latency_s.shape

    def config_index(self, accelerator: Accelerator) -> int:
        """The row of ``accelerator`` (equal parameters, not identity)."""
        try:
            return self._config_rows()[accelerator]
        except KeyError:
            raise SpecError(f"accelerator {accelerator.name} ({accelerator.describe()}) is not in the cost table")\
                from None

    def config_indices(self, accelerators: Sequence[Accelerator]) -> np.ndarray:
        rows = self._config_rows()
        return np.array([rows[a] if a in rows else self.config_index(a) for a in accelerators], dtype=np.int64)

    def network_index(self, network: Network | str) -> int:
        """The column of ``network`` (the same object, or else the only one of that name)."""
        for j, net in enumerate(self.networks):
            if net is network:
                return j
        if isinstance(network, Network):
            network = network.name
        matches = [j for j, net in enumerate(self.networks) if net.name == network]
        if len(matches) != 1:
            raise SpecError(f"network {network!r}: " + ("not in the cost table" if not matches else
                                                        "more than one network of that name in the cost table"))
        return matches[0]

    def _config_rows(self) -> dict:
        rows = self.__dict__.get("_rows")
        if rows is None:
            rows = {a: i for i, a in enumerate(self.configs)}
            object.__setattr__(self, "_rows", rows)
        return rows


def unique_networks(networks: Iterable[Network]) -> list[Network]:
    """``networks`` without repeats of the same object, in order."""
    seen: dict[int, Network] = {}
    for net in networks:
        seen.setdefault(id(net), net)
    return list(seen.values())


__all__ = ["CostTable", "unique_networks"]
