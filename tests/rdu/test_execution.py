"""Decoder phases and generations on an RDU node and on DGX baselines: trends."""

import pytest

from hwsim.errors import HwsimError, SpecError, WorkloadError
from hwsim.rdu import execution
from hwsim.rdu.execution import RduExecutor, generation
from hwsim.rdu.fabric import load_rdu
from hwsim.rdu.gpu import GpuExecutor, serving_plan
from hwsim.workload.transformer import decoder

RDU = load_rdu("sn40l")


def rdu(sockets=8, mode="fused", launch="hardware", **params):
    return RduExecutor(load_rdu("sn40l", **params) if params else RDU, sockets, mode, launch)


def test_fusion_and_hardware_launch_never_slow_a_phase_down():
    for phase, batch, context in (("decode", 1, 4096), ("decode", 16, 1024), ("prefill", 1, 2048)):
        unfused, fused, hw = (rdu(8, m, ln).phase("llama2-7b", phase, batch, context).latency_s
                              for m, ln in (("unfused", "software"), ("fused", "software"), ("fused", "hardware")))
        assert unfused > fused >= hw


def test_more_sockets_split_the_weights_and_speed_decode_up():
    costs = [rdu(s).phase("llama3.1-8b", "decode", 1, 1024) for s in (2, 4, 8, 16)]
    assert all(a.latency_s > b.latency_s for a, b in zip(costs, costs[1:]))
    bytes_per_socket = [c.hbm_bytes_per_device for c in costs]
    assert bytes_per_socket[0] / bytes_per_socket[2] == pytest.approx(4, rel=0.1)     # weights dominate


def test_decode_is_bandwidth_bound_and_prefill_compute_bound():
    fast_hbm = rdu(hbm_bw_bytes_per_s=3.6e12).phase("llama2-7b", "decode", 1, 2048).busy_s
    base = rdu().phase("llama2-7b", "decode", 1, 2048).busy_s
    assert base / fast_hbm > 1.7
    slow_clock = rdu(clock_hz=0.8e9).phase("llama2-7b", "prefill", 4, 2048).busy_s
    assert slow_clock / rdu().phase("llama2-7b", "prefill", 4, 2048).busy_s > 1.7


def test_unfused_pays_one_launch_per_op_and_per_allreduce():
    cost = rdu(8, "unfused", "software").phase("llama2-7b", "decode", 1, 512)
    assert cost.kernels == 547 + 64
    assert cost.launch_s == pytest.approx(cost.kernels * RDU.launch_software_s)


def test_gpu_serving_plan_has_five_kernels_per_layer_and_beats_eager():
    net = decoder("llama2-7b", "decode", 1, 512, tp=8)
    plan = serving_plan(net)
    assert len(plan) == 32 * 5 + 2                          # + embed and the LM head
    assert ("l3.qk", "l3.softmax", "l3.av") in plan
    assert ("l3.gate", "l3.up", "l3.swiglu") in plan
    eager, serving = (GpuExecutor("a100_kernels", runtime=r).phase("llama2-7b", "decode", 1, 512)
                      for r in ("eager", "serving"))
    assert serving.latency_s < eager.latency_s and serving.kernels < eager.kernels


def test_gpu_decode_grows_with_context_by_its_kv_cache_traffic():
    gpu = GpuExecutor("h100_kernels", runtime="serving")
    short, long = (gpu.phase("llama3.1-8b", "decode", 8, c).latency_s for c in (2048, 6144))
    kv_bytes_per_gpu = 8 * 4096 * 2 * 32 * 1 * 128 * 2          # batch x tokens x K,V x layers x kv head x dim x B
    assert long - short == pytest.approx(kv_bytes_per_gpu / (3.35e12 * 0.88), rel=0.01)


def test_h100_is_faster_than_a100_and_both_slower_than_sn40l_in_decode():
    a100, h100 = (GpuExecutor(t, runtime="serving").phase("llama2-7b", "decode", 1, 1024).latency_s
                  for t in ("a100_kernels", "h100_kernels"))
    assert rdu().phase("llama2-7b", "decode", 1, 1024).latency_s < h100 < a100


def test_generation_interpolates_the_decode_steps(monkeypatch):
    ex = rdu()
    approx = generation(ex, "mistral-7b", 2, 512, 60)
    monkeypatch.setattr(execution, "STEP_SAMPLES", 10**6)
    exact = generation(ex, "mistral-7b", 2, 512, 60)
    assert approx.latency_s == pytest.approx(exact.latency_s, rel=1e-3)
    longer = generation(ex, "mistral-7b", 2, 512, 120)
    assert longer.decode_s > 1.9 * exact.decode_s and longer.prefill_s == exact.prefill_s


@pytest.mark.parametrize("make, error, match", [
    (lambda: RduExecutor(RDU, sockets=0), SpecError, "field 'sockets'"),
    (lambda: RduExecutor(RDU, mode="half"), SpecError, "field 'mode'"),
    (lambda: GpuExecutor(runtime="fast"), SpecError, "field 'runtime'"),
    (lambda: rdu(3).phase("llama2-7b", "decode", 1, 64), WorkloadError, "field 'tp'"),
    (lambda: rdu().phase("llama9", "decode", 1, 64), WorkloadError, "unknown decoder"),
    (lambda: generation(rdu(), "llama2-7b", 1, 64, 0), SpecError, "field 'tokens'"),
])
def test_bad_input_names_the_field(make, error, match):
    with pytest.raises(error, match=match):
        make()
    assert issubclass(error, HwsimError)
