"""Running a decoder on a system: one phase, and a whole generation.

Two executors share one interface, ``phase(model, phase, batch, context, generated)
-> PhaseCost``, so the serving simulation and the reports treat an RDU node and a
DGX alike:

* :class:`RduExecutor`: the decoder tensor-parallel over ``sockets`` RDU sockets
  (``decoder(..., tp=sockets)``), partitioned into kernels by the fusion planner,
  each kernel timed by the three-tier roofline (``timing``), plus the two
  all-reduces of every decoder layer (after ``o_proj`` and ``down``) on the
  socket links. Unfused, each all-reduce is a kernel of its own (one more launch);
  fused, it streams inside its section.
* :class:`hwsim.rdu.gpu.GpuExecutor`: the same per-device network on a GPU of the
  per-kernel model, plus the all-reduces on NVLink.

:func:`generation` is a request's execution: prefill of the prompt (which yields
the first token; the LM head on the last position only) and ``tokens - 1`` decode
steps, step ``g`` attending over ``prompt + g`` keys. Step costs are piecewise
linear in the keys, so they are evaluated at up to ``STEP_SAMPLES`` steps and
interpolated (exact when every step has the same bound).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from ..errors import SpecError
from ..workload.transformer import decoder, decoder_config
from .fabric import RDU
from ..workload.kernels import kernel_table
from .planner import MODES, plan
from .timing import allreduce_s, kernel_times

__all__ = ["Generation", "PhaseCost", "RduExecutor", "allreduces", "generation", "phase_cost"]

STEP_SAMPLES = 9
ALLREDUCES_PER_LAYER = 2         # Megatron-LM tensor parallelism: after attention and after the MLP


@dataclass(frozen=True)
class PhaseCost:
    """One prefill or decode step of one batch on a system (times in seconds)."""

    system: str
    model: str
    phase: str
    batch: int
    context: int
    generated: int
    devices: int
    kernels: int
    latency_s: float
    busy_s: float              # kernels' execution (the roofline max), without launches
    launch_s: float
    allreduce_s: float
    flops_per_device: float
    hbm_bytes_per_device: float

    def to_dict(self) -> dict:
        return asdict(self)


def allreduces(model: str, phase: str, batch: int, context: int, devices: int, bw: float, latency: float):
    cfg = decoder_config(model)
    tokens = batch * (context if phase == "prefill" else 1)
    message = tokens * cfg.d_model * 2                       # BF16 partial sums of the residual stream
    count = ALLREDUCES_PER_LAYER * cfg.layers if devices > 1 else 0
    return count, count * float(allreduce_s(message, devices, bw, latency))


def _check_devices(name: str, field: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(f"system '{name}': field '{field}' = {value!r}: expected an integer >= 1")


@lru_cache(maxsize=64)
def _plan_for(model, phase, batch, tp, rdu: RDU, mode: str):
    """The plan depends on the ops, not on the context: build it on a short one."""
    return plan(decoder(model, phase, batch, 8, tp=tp, all_logits=False), rdu, mode)


@dataclass(frozen=True)
class RduExecutor:
    rdu: RDU
    sockets: int = 8
    mode: str = "fused"
    launch: str = "hardware"
    weights_in: str = "hbm"
    name: str = "sn40l"

    def __post_init__(self):
        _check_devices(self.name, "sockets", self.sockets)
        if self.mode not in MODES:
            raise SpecError(f"system '{self.name}': field 'mode' = {self.mode!r}: expected one of {list(MODES)}")

    def phase(self, model, phase: str, batch: int, context: int, generated: int = 1) -> PhaseCost:
        net = decoder(model, phase, batch, context, generated, tp=self.sockets, all_logits=False)
        t = context if phase == "prefill" else 1
        keys = context if phase == "prefill" else context + generated
        kernels = _plan_for(model if isinstance(model, str) else decoder_config(model), phase, batch,
                            self.sockets, self.rdu, self.mode)
        table = kernel_table(net, kernels, t, keys)
        times = kernel_times(table, self.rdu, self.launch, self.weights_in)
        n_ar, ar_s = allreduces(model, phase, batch, context, self.sockets, self.rdu.link_bw_bytes_per_s,
                                 self.rdu.link_latency_s)
        busy = float((times.latency_s - times.launch_s).sum())
        launch = float(times.launch_s.sum())
        if self.mode == "unfused":              # each all-reduce a kernel of its own, after its producer
            launch += n_ar * float(times.launch_s[0])
            latency = busy + launch + ar_s
        else:                                   # streamed: its transfers overlap the sections' work
            latency = launch + max(busy, ar_s - n_ar * 2 * self.rdu.link_latency_s) + n_ar * 2 * self.rdu.link_latency_s
        return PhaseCost(self.name, decoder_config(model).name, phase, batch, context, generated, self.sockets,
                         len(kernels) + (n_ar if self.mode == "unfused" else 0), latency, busy, launch, ar_s,
                         float(table.flops.sum()), float(table.hbm_bytes.sum() + table.weight_bytes.sum()))


@dataclass(frozen=True)
class Generation:
    """A request's execution: prefill + decode steps (seconds)."""

    prefill_s: float
    decode_s: float
    tokens: int

    @property
    def latency_s(self) -> float:
        return self.prefill_s + self.decode_s

    @property
    def decode_tokens_per_s(self) -> float:
        """Tokens per second per sequence during decode."""
        return (self.tokens - 1) / self.decode_s if self.decode_s else float("inf")


@lru_cache(maxsize=4096)
def _cached_phase(executor, model: str, phase: str, batch: int, context: int, generated: int) -> PhaseCost:
    return executor.phase(model, phase, batch, context, generated)


def phase_cost(executor, model, phase: str, batch: int, context: int, generated: int = 1) -> PhaseCost:
    """``executor.phase(...)``, remembered for named models (executors are frozen)."""
    if isinstance(model, str):
        return _cached_phase(executor, model, phase, batch, context, generated)
    return executor.phase(model, phase, batch, context, generated)


def _decode_steps_s(executor, model, batch: int, prompt: int, tokens: int) -> float:
    steps = np.arange(2, tokens + 1)
    if steps.size == 0:
        return 0.0
    sampled = np.unique(np.linspace(steps[0], steps[-1], min(STEP_SAMPLES, steps.size)).round().astype(int))
    costs = [phase_cost(executor, model, "decode", batch, prompt, int(g)).latency_s for g in sampled]
    return float(np.interp(steps, sampled, costs).sum())


def generation(executor, model, batch: int, prompt: int, tokens: int) -> Generation:
    """Prefill of ``prompt`` tokens, then ``tokens - 1`` decode steps, per batch."""
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1:
        raise SpecError(f"field 'tokens' = {tokens!r}: expected an integer >= 1 (generated tokens)")
    prefill = phase_cost(executor, model, "prefill", batch, prompt).latency_s
    return Generation(prefill, _decode_steps_s(executor, model, batch, prompt, tokens), tokens)
