"""DGX baselines: a decoder tensor-parallel over the GPUs of a node.

Each GPU runs ``decoder(..., tp=gpus)`` on a template of the per-kernel GPU model
(``a100_kernels``, ``h100_kernels``); the two all-reduces of every decoder layer
run on NVLink (``timing.allreduce_s``), each one collective kernel. Two runtimes:

* ``eager``: one kernel per op, as ``hwsim.evaluate`` prices it with the template
  (a framework dispatching op by op; its launch cost is the one calibrated on
  eager PyTorch, 8 us);
* ``serving``: the kernels an LLM-serving runtime (TensorRT-LLM, as NeMo
  inference uses) launches -- :func:`serving_plan` -- from a C++ runtime at
  ``SERVING_LAUNCH_S`` each. A fused kernel's time is its launch plus the larger of
  its ops' compute (the per-kernel model's compute roofs) and its HBM traffic (the
  streaming rule of :mod:`hwsim.workload.kernels`) at the achievable bandwidth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SpecError
from ..workload.network import Network
from ..workload.transformer import decoder, decoder_config
from .execution import PhaseCost, allreduces
from ..workload.kernels import kernel_table

__all__ = ["GPU_RUNTIMES", "GpuExecutor", "serving_plan"]

GPU_RUNTIMES = ("eager", "serving")
# Back-to-back kernel launches into a stream without host synchronisation: 3.8 us per
# kernel measured by NVIDIA (A. Gray, "Getting Started with CUDA Graphs", NVIDIA Technical
# Blog, 2019); a serving runtime launches from C++ without per-op framework dispatch.
SERVING_LAUNCH_S = 3.8e-6


def _is_attention(net: Network, name: str) -> bool:
    return net[name].is_mac and len(net.predecessors(name)) > 1


def _first_input(net: Network, name: str):
    producers = net.predecessors(name)
    return producers[0].name if producers else None


def _joins(net: Network, layer, kernel: list[str]) -> bool:
    """Whether ``layer`` fuses into the open ``kernel`` (see :func:`serving_plan`)."""
    if not layer.is_mac:                                  # an epilogue of a producer in the kernel
        return any(p.name in kernel for p in net.predecessors(layer.name))
    if _is_attention(net, layer.name):                    # QK^T -> softmax -> AV: one attention kernel
        return any(_is_attention(net, k) for k in kernel)
    head = kernel[0]                                      # GEMMs reading one input: QKV, gate/up
    return (net[head].is_mac and not _is_attention(net, head)
            and _first_input(net, head) == _first_input(net, layer.name))


def serving_plan(network: Network) -> list[tuple[str, ...]]:
    """The kernels of a serving runtime, in execution order: GEMMs that read the same
    input fuse (Q/K/V, gate/up), element-wise ops and norms fuse as epilogues into
    the kernel of a producer (rotary into QKV, residual add + the next norm into the
    projection, SwiGLU into gate/up), and QK^T, softmax and AV are one attention
    kernel (FlashAttention / flash-decoding) -- five kernels per Llama layer."""
    kernels: list[list[str]] = []
    for layer in network:
        if kernels and _joins(network, layer, kernels[-1]):
            kernels[-1].append(layer.name)
        else:
            kernels.append([layer.name])
    return [tuple(k) for k in kernels]


@dataclass(frozen=True)
class GpuExecutor:
    template: str = "a100_kernels"
    gpus: int = 8
    link_bw_bytes_per_s: float = 300e9
    link_latency_s: float = 2.5e-6
    name: str = "dgx-a100"
    runtime: str = "serving"

    def __post_init__(self):
        if isinstance(self.gpus, bool) or not isinstance(self.gpus, int) or self.gpus < 1:
            raise SpecError(f"system '{self.name}': field 'gpus' = {self.gpus!r}: expected an integer >= 1")
        if self.runtime not in GPU_RUNTIMES:
            raise SpecError(f"system '{self.name}': field 'runtime' = {self.runtime!r}: expected one of "
                            f"{list(GPU_RUNTIMES)}")

    def accelerator(self):
        from ..hardware import load_template
        return load_template(self.template)

    def phase(self, model, phase: str, batch: int, context: int, generated: int = 1) -> PhaseCost:
        from ..evaluate import evaluate
        acc = self.accelerator()
        net = decoder(model, phase, batch, context, generated, tp=self.gpus, all_logits=False)
        columns = evaluate(net, acc).columns
        n_ar, ar_s = allreduces(model, phase, batch, context, self.gpus, self.link_bw_bytes_per_s,
                                self.link_latency_s)
        if self.runtime == "eager":
            launch_each = float(acc.params["launch_overhead_s"])
            kernels = int(np.sum(columns["kernels"]))
            total = float(np.sum(columns["latency_s"]))
            busy, hbm = total - launch_each * kernels, float(np.sum(columns["dram_bytes"]))
        else:
            launch_each = SERVING_LAUNCH_S
            busy, hbm, kernels = self._serving(net, columns, acc, phase, context, generated)
        launch = launch_each * (kernels + n_ar)
        return PhaseCost(self.name, decoder_config(model).name, phase, batch, context, generated, self.gpus,
                         kernels + n_ar, busy + launch + ar_s, busy, launch, ar_s,
                         2.0 * float(np.sum(columns["macs"])), hbm)

    def _serving(self, net, columns, acc, phase, context, generated):
        t, keys = (context, context) if phase == "prefill" else (1, context + generated)
        kernels = serving_plan(net)
        table = kernel_table(net, kernels, t, keys)
        compute_s = dict(zip(columns["layer"], np.asarray(columns["compute_cycles"]) / acc.clock_hz))
        compute = np.array([sum(compute_s[name] for name in k) for k in kernels])
        bw = float(acc.params["mem_bw_bytes_per_s"]) * float(acc.params["bw_fraction"])
        moved = table.hbm_bytes + table.weight_bytes
        return float(np.maximum(compute, moved / bw).sum()), float(moved.sum()), len(kernels)
