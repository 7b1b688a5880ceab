"""The two studies of the SN40L paper as functions returning JSON-ready dicts
(``hwsim rdu fusion`` and ``hwsim rdu coe`` print them).

* :func:`fusion_study`: one decoder phase unfused (software launches), fused with
  software launches and fused with hardware launches; the speedups between them.
* :func:`coe_study`: composition-of-experts serving on one system, simulated.
"""

from __future__ import annotations

from .execution import RduExecutor
from .fabric import RDU, load_rdu

__all__ = ["PLANS", "coe_study", "fusion_study"]

PLANS = {"unfused": ("unfused", "software"), "fused_software_launch": ("fused", "software"),
         "fused_hardware_launch": ("fused", "hardware")}


def fusion_study(model: str = "llama2-7b", phase: str = "decode", batch: int = 1, context: int = 4096,
                 sockets: int = 8, rdu: RDU | None = None) -> dict:
    """Latency of one phase under each plan of :data:`PLANS`, and the speedups."""
    rdu = load_rdu() if rdu is None else rdu
    costs = {name: RduExecutor(rdu, sockets, mode, launch).phase(model, phase, batch, context)
             for name, (mode, launch) in PLANS.items()}
    unfused, fused, hw = (costs[k].latency_s for k in PLANS)
    return {
        "model": costs["unfused"].model, "phase": phase, "batch": batch, "context": context, "sockets": sockets,
        "plans": {name: cost.to_dict() for name, cost in costs.items()},
        "fusion_speedup": unfused / fused,
        "hardware_launch_speedup": fused / hw,
        "kernel_call_ratio": costs["unfused"].kernels / costs["fused_software_launch"].kernels,
        "tokens_per_s_per_user": (1.0 / hw) if phase == "decode" else None,
    }


def coe_study(experts: int = 150, batch: int = 1, tokens: int = 20, system: str = "sn40l-node",
              requests: int = 100, prompt: int = 128, per_device_links: bool = False, routing: str = "uniform",
              seed: int = 0, expert: str = "llama2-7b", gpu_runtime: str = "serving") -> dict:
    """Serve ``requests`` requests over ``experts`` experts on ``system`` (simpy)."""
    from .coe import Workload, simulate
    from .systems import serving_system

    serving = serving_system(system, expert, batch=batch, context=prompt + tokens, per_device_links=per_device_links,
                             gpu_runtime=gpu_runtime)
    workload = Workload(experts=experts, requests=requests, batch=batch, prompt_tokens=prompt,
                        generated_tokens=tokens, routing=routing, seed=seed)
    result = simulate(serving, workload)
    return {"system": serving.name, "expert": expert, "batch": batch, "prompt_tokens": prompt,
            "generated_tokens": tokens, **result.summary()}


TABLE_V_CASES = {"overall_bs8_20tok": (8, 20, True), "overall_bs1_20tok": (1, 20, True),
                 "expert_only_bs1_20tok": (1, 20, False), "overall_bs8_200tok": (8, 200, True),
                 "overall_bs1_200tok": (1, 200, True), "expert_only_bs1_200tok": (1, 200, False)}


def _request_s(serving, batch: int, prompt: int, tokens: int, overall: bool) -> float:
    """One request whose expert is not in HBM: router + copy + execution (``overall``),
    or the expert's execution alone."""
    execute = serving.execute_s(batch, prompt, tokens)
    if not overall:
        return execute
    switch = serving.expert_bytes / (serving.copy_links * serving.copy_bw_bytes_per_s)
    return serving.router_s(batch, prompt) + switch + execute


def table_v(dgx: str = "dgx-a100", prompt: int = 128, gpu_runtime: str = "serving", expert: str = "llama2-7b",
            per_device_links: bool = False) -> dict:
    """SN40L-node speedups over ``dgx`` in the cases of the paper's Table V (closed
    form: each request misses HBM, as the paper's DGX estimate assumes)."""
    from .systems import serving_system

    out = {}
    for case, (batch, tokens, overall) in TABLE_V_CASES.items():
        systems = [serving_system(name, expert, batch=batch, context=prompt + tokens, gpu_runtime=gpu_runtime,
                                  per_device_links=per_device_links) for name in (dgx, "sn40l-node")]
        slow, fast = (_request_s(s, batch, prompt, tokens, overall) for s in systems)
        out[case] = slow / fast
    systems = [serving_system(name, expert, per_device_links=per_device_links) for name in (dgx, "sn40l-node")]
    slow, fast = (s.expert_bytes / (s.copy_links * s.copy_bw_bytes_per_s) for s in systems)
    out["model_switching"] = slow / fast
    return out
