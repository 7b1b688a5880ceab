"""Unit tests of the per-kernel GPU model (hwsim/dataflow/gpu_kernels.py): the op-class
efficiencies, launch costs and activity power each do what docs/gpu.md says."""

import numpy as np
import pytest

import hwsim
from hwsim.dataflow import gpu_kernels
from hwsim.dataflow.base import ConfigBatch, LayerBatch
from hwsim.workload import conv2d, depthwise_conv2d, eltwise, matmul

TEMPLATES = ["a100_kernels", "h100_kernels", "h200_kernels", "rtx3090_kernels"]
BIG = dict(m=8192, n=8192, k=8192)


def row(acc, layer):
    return hwsim.evaluate(layer, acc).layers.iloc[0]


def rows(acc, layers):
    return hwsim.evaluate_many(layers, [acc])


def config_batch(acc):
    params = {k: np.array([[v]]) for k, v in acc.params.items() if not isinstance(v, str)}
    return ConfigBatch(params=params, options={}, technology=None, size=1)


@pytest.mark.parametrize("name", TEMPLATES)
def test_large_gemm_is_compute_bound_near_the_measured_ceiling_and_draws_near_tdp(name):
    acc = hwsim.load_template(name)
    r = row(acc, matmul("gemm", bits=16, **BIG))
    assert r["bound"] == "compute"
    # 8192^3 is deep enough for full tile speed; only wave quantization (4096 tiles on
    # 108 / 132 / 82 SMs: <= 3 %) separates it from the measured ceiling
    assert 0.96 * acc["gemm_efficiency"] < r["utilization"] <= acc["gemm_efficiency"]
    power_w = r["energy_pj"] / r["latency_s"] * 1e-12
    # The per-FLOP energies are derived so that the GEMM alone draws TDP; its own DRAM power
    # (< 1 % of TDP) comes on top, its epilogue kernels draw less.
    assert 0.9 * acc["tdp_w"] < power_w <= 1.01 * acc["tdp_w"]


@pytest.mark.parametrize("name", TEMPLATES)
def test_launch_bound_kernel_draws_static_power_not_tdp(name):
    acc = hwsim.load_template(name)
    r = row(acc, conv2d("tiny", 8, 8, (4, 4), 1, bits=16))
    kernels = 1 + acc["epilogue_passes"]             # the conv and its BN and activation kernels
    assert r["kernels"] == kernels
    # one 128-row tile on one SM, too shallow to fill it: 1.5 (A100) ... 5 us (RTX 3090) of
    # compute beside 3 x 8 us of fixed costs
    assert kernels * acc["launch_overhead_s"] < r["latency_s"] < 1.25 * kernels * acc["launch_overhead_s"]
    power_w = r["energy_pj"] / r["latency_s"] * 1e-12
    assert power_w == pytest.approx(acc["static_power_w"], rel=0.01)
    assert power_w < 0.2 * acc["tdp_w"]


def test_energy_is_static_plus_flops_plus_bytes():
    acc = hwsim.load_template("a100_kernels")
    layer = conv2d("c", 64, 128, (56, 56), 3, padding=1, batch=32, bits=16)
    r = row(acc, layer)
    assert r["energy_leakage_pj"] == pytest.approx(acc["static_power_w"] * r["latency_s"] * 1e12, rel=1e-9)
    assert r["energy_mac_pj"] == pytest.approx(2 * layer.macs * acc["energy_pj_per_fp16_flop"], rel=1e-12)
    moved = r["dram_bytes"] + r["epilogue_dram_bytes"]
    assert r["energy_dram_pj"] == pytest.approx(moved * acc["energy_pj_per_dram_byte"], rel=1e-9)


def test_tile_quantization_penalizes_filter_counts_just_past_a_tile():
    # 129 filters need a second 128-wide tile (or five 32-wide ones) for one column:
    # per-filter throughput drops against 128 filters.
    acc = hwsim.load_template("a100_kernels")
    cfg = config_batch(acc)
    layers = [conv2d(f"k{k}", 256, k, (56, 56), 1, batch=64, bits=16) for k in (128, 129, 160)]
    eff = gpu_kernels.gemm_shape_efficiency(LayerBatch.from_layers(layers), cfg)[0]
    assert eff[1] < eff[0] and eff[1] < eff[2]


def test_wave_quantization_one_tile_past_a_full_wave():
    acc = hwsim.load_template("a100_kernels")
    cfg = config_batch(acc)
    sms = acc["sms"]
    # M = sms (then sms + 1) tiles of 128 rows, one 128-wide column tile each, deep reduction
    layers = [matmul(f"t{t}", 128 * t, 128, 4096, bits=16) for t in (sms, sms + 1)]
    eff = gpu_kernels.gemm_shape_efficiency(LayerBatch.from_layers(layers), cfg)[0]
    assert eff[0] == pytest.approx(1.0, rel=1e-12)                        # one full wave
    # sms + 1 tiles of 128 x 128 would need a second, nearly idle wave: (sms + 1) / (2 sms);
    # 32-wide tiles (4 (sms + 1) = 436 of them, 5 waves of 108) waste less, and are chosen
    assert (sms + 1) / (2 * sms) < eff[1] == pytest.approx(4 * (sms + 1) / (5 * sms), rel=1e-12)


def test_shallow_reductions_run_far_from_the_gemm_ceiling():
    acc = hwsim.load_template("a100_kernels")
    deep, shallow = (row(acc, conv2d(f"c{c}", c, 256, (56, 56), 1, batch=256, bits=16)) for c in (1024, 16))
    # M = 802,816 pixels = 6272 row tiles; 256 filters fill 2, 4 or 8 column tiles exactly, so
    # only the last wave is short: the best of 12,544 / 25,088 / 50,176 tiles on 108 SMs
    wave = max(t / (np.ceil(t / 108) * 108) for t in (6272 * 2, 6272 * 4, 6272 * 8))
    assert deep["gemm_shape_efficiency"] == pytest.approx(wave, rel=1e-12)                  # full depth
    assert shallow["gemm_shape_efficiency"] == pytest.approx(wave * 16 / acc["gemm_depth_full"], rel=1e-12)


def test_measured_best_a100_gemm_shape_reaches_the_measured_fraction():
    # Bekman's best A100 BF16 shape 6912 x 16384 x 2048: 54 x 128 = 6912 tiles = 64 full waves
    # of 108 SMs, 2048 deep: the model gives back the measured 85.9 % it was given, no less.
    acc = hwsim.load_template("a100_kernels")
    r = row(acc, matmul("best", 6912, 16384, 2048, bits=16))
    assert r["gemm_shape_efficiency"] == pytest.approx(1.0)
    kernel_s = 2 * 6912 * 16384 * 2048 / (acc["peak_fp16_flops_per_s"] * acc["gemm_efficiency"])
    assert r["latency_s"] == pytest.approx(kernel_s + acc["launch_overhead_s"], rel=1e-9)   # + one launch


def test_depthwise_runs_on_cuda_cores_at_its_efficiency():
    acc = hwsim.load_template("a100_kernels")
    layer = depthwise_conv2d("dw", 512, (56, 56), 5, padding=2, batch=256, bits=16)
    r = row(acc, layer)
    expected = 2 * layer.macs / (acc["peak_fp32_flops_per_s"] * acc["depthwise_efficiency"])
    assert r["peak_flops_per_s"] == acc["peak_fp32_flops_per_s"]
    assert r["compute_cycles"] / acc["clock_hz"] == pytest.approx(expected, rel=1e-9)
    faster = row(acc.with_params(depthwise_efficiency=1.0), layer)
    assert faster["latency_s"] < r["latency_s"]


def test_eltwise_streams_at_the_achievable_bandwidth_plus_one_launch():
    acc = hwsim.load_template("h100_kernels")
    layer = eltwise("add", 1024, (64, 64), inputs=2, batch=8, bits=16)
    r = row(acc, layer)
    nbytes = layer.read_bytes + layer.write_bytes
    assert r["bound"] == "dram" and r["dram_bytes"] == nbytes
    assert r["latency_s"] == pytest.approx(nbytes / (acc["mem_bw_bytes_per_s"] * acc["bw_fraction"])
                                           + acc["launch_overhead_s"], rel=1e-9)


def test_epilogue_passes_add_output_traffic_and_kernels():
    acc = hwsim.load_template("a100_kernels")
    layer = conv2d("c", 32, 32, (112, 112), 1, batch=64, bits=32)
    fused, eager = (row(acc.with_params(epilogue_passes=p), layer) for p in (0.0, 2.0))
    assert eager["epilogue_dram_bytes"] == 4 * layer.output_elems * 4 and fused["epilogue_dram_bytes"] == 0
    assert eager["dram_accesses"] - fused["dram_accesses"] == 4 * layer.output_elems
    assert eager["dram_bytes"] == fused["dram_bytes"] == layer.compulsory_bytes      # the conv kernel's own
    assert eager["kernels"] == 3 and fused["kernels"] == 1
    # the epilogue kernels run after the conv: their streaming time and launches add
    bw = acc["mem_bw_bytes_per_s"] * acc["bw_fraction"]
    added = eager["epilogue_dram_bytes"] / bw + 2 * acc["launch_overhead_s"]
    assert eager["latency_s"] - fused["latency_s"] == pytest.approx(added, rel=1e-9)


PEAKS = ("peak_int8_ops_per_s", "peak_fp16_flops_per_s", "peak_fp32_gemm_flops_per_s", "peak_fp32_flops_per_s")


@pytest.mark.parametrize("change", [{"peak_fp16_flops_per_s": 2}, {"mem_bw_bytes_per_s": 2},
                                    {"gemm_efficiency": 1 / 0.859}, {"depthwise_efficiency": 2},
                                    {"bw_fraction": 1 / 0.88}, {"sms": 2, **{p: 2 for p in PEAKS}}], ids=str)
def test_more_hardware_never_slows_a_layer(change):
    """Each faster roof, and a GPU twice as wide (twice the SMs at the same per-SM rate: a
    wave holds twice the tiles), never slows any layer. (More SMs at the *same* total peak
    can: a layer of few tiles then runs on slower SMs.)"""
    acc = hwsim.load_template("a100_kernels")
    bigger = acc.with_params(**{k: type(acc[k])(acc[k] * f) for k, f in change.items()})
    net = hwsim.zoo.get_network("mobilenet_v2", batch=16, bits=16)
    frame = hwsim.evaluate_many(net, [acc, bigger])
    lat = frame.pivot(index="config", columns="layer_index", values="latency_s").to_numpy()
    assert (lat[1] <= lat[0] * (1 + 1e-12)).all()
    assert lat[1].sum() < lat[0].sum()


def test_h200_differs_from_h100_only_where_memory_bound():
    gemv = matmul("gemv", 1, 16384, 16384, bits=16)
    gemm = matmul("gemm", bits=16, **BIG)
    h100, h200 = hwsim.load_template("h100_kernels"), hwsim.load_template("h200_kernels")
    fixed = h100["launch_overhead_s"]                 # one kernel: a matmul has no epilogue kernels
    ratio = (row(h100, gemv)["latency_s"] - fixed) / (row(h200, gemv)["latency_s"] - fixed)
    assert ratio == pytest.approx(4800 / 3350, rel=1e-9)
    assert row(h200, gemm)["latency_s"] == pytest.approx(row(h100, gemm)["latency_s"], rel=1e-12)


def test_precision_rule_and_unmappable_fp64():
    acc = hwsim.load_template("a100_kernels")
    layers = [matmul(f"b{b}", 64, 64, 64, bits=b) for b in (8, 16, 32, 64)]
    frame = rows(acc, layers)
    peaks = frame["peak_flops_per_s"].tolist()
    assert peaks[:3] == [acc["peak_int8_ops_per_s"], acc["peak_fp16_flops_per_s"], acc["peak_fp32_gemm_flops_per_s"]]
    assert frame["feasible"].tolist() == [True, True, True, False]
    assert "field 'bits' = 64: wider than 32 bits" in frame["error"][3]


@pytest.mark.parametrize("field,value", [("bw_fraction", 1.5), ("depthwise_efficiency", 0.0), ("sms", 0),
                                         ("epilogue_passes", -1.0)])
def test_bad_parameters_are_rejected_at_load(field, value):
    with pytest.raises(hwsim.TemplateError, match=f"field '{field}' = "):
        hwsim.load_template("a100_kernels", **{field: value})


def test_decode_gemv_is_bound_by_its_weight_bytes():
    """One row per sequence: split-K and a 16-row tile make a decode GEMM stream its
    weights at the achievable bandwidth, as a measured GEMV does -- not pay for 128 rows."""
    acc = hwsim.load_template("a100_kernels")
    gemv = matmul("gemv", 1, 4096, 4096, bits=16)
    r = row(acc, gemv)
    assert r["bound"] == "dram"
    bw = acc["mem_bw_bytes_per_s"] * acc["bw_fraction"]
    assert r["latency_s"] == pytest.approx(r["dram_bytes"] / bw + acc["launch_overhead_s"], rel=1e-9)
    # more sequences in the batch cost almost nothing until the GEMM turns compute-bound
    batch8 = row(acc, matmul("gemv8", 8, 4096, 4096, bits=16))
    assert batch8["latency_s"] < 1.05 * r["latency_s"]


def test_split_k_fills_the_sms_of_a_few_tile_gemm():
    acc = hwsim.load_template("a100_kernels")
    cfg = config_batch(acc)
    # 16 x 512 outputs: 4 tiles of 16 x 128; an 8192-deep reduction splits 27 ways (108 CTAs)
    eff = gpu_kernels.gemm_shape_efficiency(LayerBatch.from_layers([matmul("s", 16, 512, 8192, bits=16)]), cfg)[0]
    assert eff[0] == pytest.approx(1.0)
