"""hwsim.rdu against the SN40L paper (../shared/reference/sn40l.yaml).

Calibrated on one number only: the planner's ``gemm_min_pcus`` on the 11x fewer kernel
calls of Llama-2-7B 4k prefill (templates/rdu/sn40l.yaml). Everything below is a
prediction. Misses are strict xfails with the reason: the gap stays visible.
"""

import pytest
import yaml

from hwsim.rdu.capacity import capacity
from hwsim.rdu.execution import RduExecutor
from hwsim.rdu.fabric import load_rdu
from hwsim.workload.kernels import kernel_table
from hwsim.rdu.planner import plan
from hwsim.rdu.study import fusion_study, table_v
from hwsim.rdu.systems import serving_system
from hwsim.rdu.timing import kernel_times
from hwsim.workload.monarch import fft_conv

MODELS = ("llama2-7b", "llama3.1-8b", "mistral-7b")
TABLE_V_TOLERANCE = 0.20        # the issue's ±20 % on every Table V ratio
FOOTPRINT_TOLERANCE = 0.10      # the issue's ±10 % on experts per node and DGX nodes


@pytest.fixture(scope="module")
def paper(reference):
    return yaml.safe_load((reference / "sn40l.yaml").read_text())


def within(value, target, tolerance):
    return abs(value / target - 1) <= tolerance


@pytest.mark.parametrize("model", MODELS)
def test_prefill_fusion_speedup_in_the_papers_range(paper, model):
    low, high = paper["fusion"]["speedup_over_unfused"]["prefill_training_sparsegpt"]
    result = fusion_study(model, "prefill", 1, 4096)
    assert low <= result["fusion_speedup"] <= high
    assert result["hardware_launch_speedup"] <= paper["fusion"]["hardware_kernel_launch_extra_speedup"][
        "prefill_and_training_max"]


def test_decode_fusion_speedups_in_range_with_mistral_highest(paper):
    low, high = paper["fusion"]["speedup_over_unfused"]["decode"]
    hw_low, hw_high = paper["fusion"]["hardware_kernel_launch_extra_speedup"]["decode"]
    results = {m: fusion_study(m, "decode", 1, 4096) for m in MODELS}
    for r in results.values():
        assert low <= r["fusion_speedup"] <= high
        assert hw_low <= r["hardware_launch_speedup"] <= hw_high
    assert max(results, key=lambda m: results[m]["fusion_speedup"]) == "mistral-7b"


@pytest.mark.xfail(strict=True, reason=(
    "FlashFFTConv: the model gives 4.8x on one socket, the paper about 13x. The speedup is the ratio of the "
    "fused and unfused operational intensities over the ridge (376 FLOP/B): hwsim's unfused Monarch FFT "
    "moves 4x the fused traffic (96 vs 384 FLOP/B), Table I says 10x (39.5 vs 410.4); see the Monarch xfails"))
def test_flashfftconv_fusion_speedup_on_one_socket(paper):
    rdu, net = load_rdu("sn40l"), fft_conv()
    unfused, fused = (kernel_times(kernel_table(net, plan(net, rdu, m)), rdu, "software").latency_s.sum()
                      for m in ("unfused", "fused"))
    assert within(unfused / fused, paper["fusion"]["speedup_over_unfused"]["flashfftconv"], 0.2)


def test_llama31_8b_decode_on_16_sockets(paper):
    """Table IV: tokens/s per user, batch 1 (a 1,024-token context assumed), fused with
    hardware launches on 16 sockets (two nodes, one tensor-parallel group)."""
    target = paper["llama31_16_sockets_tokens_per_s_per_user"]["llama3.1-8b"]
    step = RduExecutor(load_rdu("sn40l"), 16, "fused", "hardware").phase("llama3.1-8b", "decode", 1, 1024)
    assert within(1 / step.latency_s, target, 0.20)


@pytest.fixture(scope="module")
def speedups():
    return {dgx: table_v(dgx) for dgx in ("dgx-a100", "dgx-h100")}


# The measured misses, with the mechanism (docs/rdu.md, "Table V"): the model's SN40L runs a
# 20-token request in ~26 ms where the paper's ratios imply ~130 ms, so its 0.42 s / 0.21 s
# DGX switch weighs more (bs1 20 tokens too high); and its serving-runtime DGX decodes ~1.7x
# slower than the SN40L where the paper's 200-token ratios imply ~3x (200 tokens too low).
TABLE_V_MISSES = {
    ("overall_bs8_20tok", "dgx_a100"), ("overall_bs1_20tok", "dgx_a100"), ("overall_bs8_200tok", "dgx_a100"),
    ("expert_only_bs1_200tok", "dgx_a100"), ("overall_bs1_20tok", "dgx_h100"), ("overall_bs8_200tok", "dgx_h100"),
    ("expert_only_bs1_200tok", "dgx_h100"),
}
TABLE_V = [pytest.param(case, dgx, marks=pytest.mark.xfail(strict=True, reason="Table V miss (see TABLE_V_MISSES)"))
           if (case, dgx) in TABLE_V_MISSES else (case, dgx)
           for case in ("overall_bs8_20tok", "overall_bs1_20tok", "expert_only_bs1_20tok", "overall_bs8_200tok",
                        "overall_bs1_200tok", "expert_only_bs1_200tok", "model_switching")
           for dgx in ("dgx_a100", "dgx_h100")]


@pytest.mark.parametrize("case, dgx", TABLE_V)
def test_table_v_speedup_over_dgx(paper, speedups, case, dgx):
    target = paper["coe"]["table_v_sn40l_speedup"][case][dgx]
    assert within(speedups[dgx.replace("_", "-")][case], target, TABLE_V_TOLERANCE)


@pytest.mark.xfail(strict=True, reason=(
    "12 TiB of DDR holds 979 Llama-2-7B experts (13.48 GB each), +15 % over the paper's 850; the paper's "
    "figure fits 11.5 TB of usable DDR, a reservation sn40l.yaml does not give"))
def test_experts_per_sn40l_node(paper):
    assert within(capacity()["experts_per_sn40l_node"], 850, FOOTPRINT_TOLERANCE)


def test_dgx_nodes_for_the_same_experts(paper):
    assert within(capacity()["dgx_nodes_for_same_experts"], 19, FOOTPRINT_TOLERANCE)


def test_dgx_hbm_knee_near_50_experts():
    """640 GB of DGX HBM over 13.5 GB experts: latency rises past about 50 experts."""
    for dgx in ("dgx-a100", "dgx-h100"):
        system = serving_system(dgx)
        assert 45 <= system.hbm_cache_bytes // system.expert_bytes <= 52
