"""Unit tests of the GPU roofline model (hwsim/dataflow/roofline.py)."""

import numpy as np
import pytest

import hwsim
from hwsim.workload import eltwise, matmul

BIG = dict(m=8192, n=8192, k=8192)   # compute-bound at every precision on every template


def layer_row(acc, layer):
    return hwsim.evaluate(layer, acc).layers.iloc[0]


@pytest.mark.parametrize("bits,peak", [(4, "peak_int8_ops_per_s"), (8, "peak_int8_ops_per_s"),
                                       (16, "peak_fp16_flops_per_s"), (32, "peak_fp32_flops_per_s")])
def test_precision_rule_picks_the_peak_from_bits(bits, peak):
    acc = hwsim.load_template("a100")
    row = layer_row(acc, matmul("mm", bits=bits, **BIG))
    flops = 2.0 * 8192**3
    expected = flops / (acc[peak] * acc["compute_fraction"]) + acc["launch_overhead_s"]
    assert row["bound"] == "compute"
    assert row["latency_s"] == pytest.approx(expected, rel=1e-12)


def test_vector_layer_streams_its_bytes_on_the_fp32_lanes():
    acc = hwsim.load_template("h100")
    layer = eltwise("add", 1024, (64, 64), inputs=2, bits=16)
    row = layer_row(acc, layer)
    nbytes = layer.read_bytes + layer.write_bytes
    assert row["bound"] == "dram"
    assert row["dram_bytes"] == nbytes
    assert row["latency_s"] == pytest.approx(nbytes / (acc["mem_bw_bytes_per_s"] * acc["bw_fraction"])
                                             + acc["launch_overhead_s"], rel=1e-12)
    # FP32 peak counts an FMA as 2 FLOPs per lane: one add per lane is half of it. Utilization
    # is MAC-based (0 for a vector layer); the lanes' busy fraction is reported instead.
    lanes_per_cycle = acc["peak_fp32_flops_per_s"] / 2 / acc["clock_hz"]
    assert row["busy_fraction"] == pytest.approx(layer.vector_ops / (lanes_per_cycle * row["latency_cycles"]))
    assert row["utilization"] == 0


def test_energy_is_tdp_times_time_split_by_bound():
    acc = hwsim.load_template("rtx3090")
    for layer in (matmul("gemm", bits=16, **BIG), matmul("gemv", 1, 8192, 8192, bits=16)):
        row = layer_row(acc, layer)
        assert row["energy_pj"] == pytest.approx(acc["tdp_w"] * row["latency_s"] * 1e12, rel=1e-12)
        assert row["energy_leakage_pj"] == pytest.approx(acc["tdp_w"] * acc["launch_overhead_s"] * 1e12)
        # A compute-bound kernel spends no extra time waiting on DRAM, a memory-bound one does.
        assert (row["energy_dram_pj"] == 0) == (row["bound"] == "compute")


def test_launch_overhead_dominates_tiny_layers():
    acc = hwsim.load_template("a100")
    row = layer_row(acc, matmul("tiny", 8, 8, 8, bits=16))
    assert row["latency_s"] == pytest.approx(acc["launch_overhead_s"], rel=1e-3)
    assert row["utilization"] < 1e-4


def test_peak_and_total_utilization_of_a_mixed_precision_network():
    acc = hwsim.load_template("a100")
    layers = [matmul("fp16", bits=16, **BIG), matmul("int8", bits=8, **BIG)]
    rep = hwsim.evaluate(layers, acc)
    # Peak is the fastest precision present (INT8 here), so the total stays <= 1.
    assert rep.layers["peak_macs_per_cycle"].iloc[0] == pytest.approx(acc["peak_int8_ops_per_s"] / 2 / acc["clock_hz"])
    assert 0 < rep.total.utilization <= 1
    only16 = hwsim.evaluate(layers[:1], acc)
    assert only16.layers["peak_macs_per_cycle"].iloc[0] == pytest.approx(acc["peak_fp16_flops_per_s"] / 2 / acc["clock_hz"])
    assert rep.total.area_mm2 == acc["die_mm2"]


def test_batched_configs_match_single_evaluations():
    base = hwsim.load_template("h100")
    accs = [base, base.with_params(mem_bw_bytes_per_s=4.8e12), base.with_params(compute_fraction=0.5)]
    layers = [matmul("gemv", 1, 8192, 8192, bits=16), matmul("gemm", bits=16, **BIG)]
    frame = hwsim.evaluate_many(layers, accs)
    for i, acc in enumerate(accs):
        single = hwsim.evaluate(layers, acc).layers
        np.testing.assert_array_equal(frame[frame["config"] == i]["latency_cycles"].to_numpy(),
                                      single["latency_cycles"].to_numpy())


@pytest.mark.parametrize("field", ["compute_fraction", "bw_fraction"])
def test_fraction_above_one_rejected_at_load(field):
    with pytest.raises(hwsim.TemplateError, match=f"field '{field}' = 1.5: expected <= 1"):
        hwsim.load_template("a100", **{field: 1.5})


def test_negative_fraction_rejected_at_load():
    with pytest.raises(hwsim.TemplateError, match="compute_fraction"):
        hwsim.load_template("a100", compute_fraction=-0.1)


def test_layers_wider_than_fp32_are_unmappable():
    # The templates carry no FP64 peak: a 64-bit layer is an infeasible row, not a guess.
    acc = hwsim.load_template("a100")
    frame = hwsim.evaluate_many([matmul("fp64", 64, 64, 64, bits=64), matmul("fp32", 64, 64, 64, bits=32)], [acc])
    assert frame["feasible"].tolist() == [False, True]
    assert "field 'bits' = 64: wider than 32 bits" in frame["error"][0]
    assert np.isinf(frame["latency_cycles"][0])
    with pytest.raises(hwsim.MappingError, match="fp64"):
        hwsim.evaluate(matmul("fp64", 64, 64, 64, bits=64), acc)
