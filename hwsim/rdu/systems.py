"""The serving systems of the CoE study: an SN40L node and the DGX baselines.

Each system is a node of 8 devices running every model tensor-parallel over all 8
(the paper's setting), with:

* a fast tier per device (HBM) that holds the router and the KV cache always and
  caches experts in the rest;
* a slow tier (SN40L: DDR, 1.5 TiB per socket; DGX: host memory) holding every
  expert, and a copy path from it to HBM. The paper gives the whole DGX one
  host-to-GPU path of 32 GB/s (A100) or 64 GB/s (H100) against over 1 TB/s DDR-to-HBM
  on the SN40L node. ``per_device_links=True`` gives each device its own link
  instead (a DGX has one PCIe x16 per GPU: 32 GB/s PCIe 4.0 on A100, 64 GB/s
  PCIe 5.0 on H100; an SN40L socket its own DDR at 200 GB/s), so the 8 shards of an
  expert copy in parallel: 8x faster switching.

Numbers come from ``../shared/reference/gpus.yaml`` and ``sn40l.yaml``; the
executors from :mod:`hwsim.rdu.execution`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..errors import SpecError
from ..workload.footprint import footprint
from ..workload.transformer import decoder_config
from .coe import ServingSystem
from .execution import RduExecutor, generation, phase_cost
from .fabric import load_rdu
from .gpu import GPU_RUNTIMES, GpuExecutor

__all__ = ["NODES", "NodeSpec", "node", "serving_system"]

GIB, TIB = 2**30, 2**40


@dataclass(frozen=True)
class NodeSpec:
    """A node of ``devices`` accelerators and its two memory tiers."""

    name: str
    devices: int
    hbm_bytes_per_device: float
    slow_tier_bytes: float
    node_copy_bw_bytes_per_s: float      # the paper's single node-wide path
    device_copy_bw_bytes_per_s: float    # one device's own link (per_device_links=True)

    def executor(self, gpu_runtime: str = "serving"):
        return _executor(self.name, gpu_runtime)


NODES = {
    # SN40L: 8 x 64 GiB HBM, 8 x 1.5 TiB DDR, DDR->HBM "over 1 TB/s" per node, 200 GB/s DDR per socket.
    "sn40l-node": NodeSpec("sn40l-node", 8, 64 * GIB, 8 * 1.5 * TIB, 1.0e12, 200e9),
    # DGX A100: 8 x A100 80 GB, 1 TiB host memory, 32 GB/s host-to-GPU (paper) / PCIe 4.0 x16 per GPU.
    "dgx-a100": NodeSpec("dgx-a100", 8, 80 * GIB, 1 * TIB, 32e9, 32e9),
    # DGX H100: 8 x H100 80 GB, 2 TiB host memory, 64 GB/s host-to-GPU (paper) / PCIe 5.0 x16 per GPU.
    "dgx-h100": NodeSpec("dgx-h100", 8, 80 * GIB, 2 * TIB, 64e9, 64e9),
}

# NVLink per GPU per direction (gpus.yaml nvlink_gbps is bidirectional: 600 and 900 GB/s) and a
# one-transfer latency of 2.5 us (assumption: NCCL's small-message all-reduce on a DGX takes
# about 5-10 us; the one-shot exchange here is two transfers).
GPU_LINKS = {"dgx-a100": ("a100_kernels", 300e9), "dgx-h100": ("h100_kernels", 450e9)}
GPU_LINK_LATENCY_S = 2.5e-6


@lru_cache(maxsize=8)
def _executor(name: str, gpu_runtime: str = "serving"):
    """SN40L: fused kernels, hardware-scheduled launches (the shipped configuration);
    DGX: ``gpu_runtime`` (``hwsim.rdu.gpu``)."""
    if name == "sn40l-node":
        return RduExecutor(load_rdu("sn40l"), sockets=8, mode="fused", launch="hardware", name=name)
    if gpu_runtime not in GPU_RUNTIMES:
        raise SpecError(f"field 'gpu_runtime' = {gpu_runtime!r}: expected one of {list(GPU_RUNTIMES)}")
    template, bw = GPU_LINKS[name]
    return GpuExecutor(template, 8, bw, GPU_LINK_LATENCY_S, name, gpu_runtime)


def node(name: str) -> NodeSpec:
    if name not in NODES:
        raise SpecError(f"field 'system' = {name!r}: unknown system; valid: {sorted(NODES)}")
    return NODES[name]


def reserved_hbm_bytes(router: str, expert: str, batch: int, context: int) -> float:
    """HBM kept for the router (weights + KV) and the running expert's KV cache."""
    r, e = footprint(router, batch, context), footprint(expert, batch, context)
    return r["weights_bytes"] + r["kv_cache_bytes"] + e["kv_cache_bytes"]


def serving_system(name: str, expert: str = "llama2-7b", router: str = "llama2-7b", *, batch: int = 1,
                   context: int = 4096, per_device_links: bool = False,
                   gpu_runtime: str = "serving") -> ServingSystem:
    """The :class:`~hwsim.rdu.coe.ServingSystem` of node ``name`` serving experts of
    architecture ``expert`` (BF16), routed by ``router``; the KV reservation holds
    ``batch`` sequences of ``context`` tokens. The router is assumed to be the
    expert's architecture (Samba-CoE's router is not specified in sn40l.yaml)."""
    spec = node(name)
    expert_bytes = decoder_config(expert).params * 2.0
    cache = spec.devices * spec.hbm_bytes_per_device - reserved_hbm_bytes(router, expert, batch, context)
    links = spec.devices if per_device_links else 1
    bw = spec.device_copy_bw_bytes_per_s if per_device_links else spec.node_copy_bw_bytes_per_s
    ex = spec.executor(gpu_runtime)

    @lru_cache(maxsize=256)
    def execute_s(b: int, prompt: int, tokens: int) -> float:
        return generation(ex, expert, b, prompt, tokens).latency_s

    @lru_cache(maxsize=256)
    def router_s(b: int, prompt: int) -> float:
        return phase_cost(ex, router, "prefill", b, prompt).latency_s

    return ServingSystem(name=name + ("-per-device-links" if per_device_links else ""), expert_bytes=expert_bytes,
                         hbm_cache_bytes=max(cache, 0.0), slow_tier_bytes=spec.slow_tier_bytes,
                         copy_bw_bytes_per_s=bw, copy_links=links, router_s=router_s, execute_s=execute_s)
