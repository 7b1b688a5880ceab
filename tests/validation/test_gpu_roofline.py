"""GPU roofline against the datasheet numbers in shared/reference/gpus.yaml.

The expected latencies are computed here, independently of hwsim's model, from
the datasheet peaks and bandwidths in gpus.yaml and the achievable fractions and
launch overhead of each template (which cite their measurements):

    latency_s = max(2*MACs / (peak * compute_fraction), bytes / (bw * bw_fraction)) + launch_overhead_s
    bytes     = (m*k + k*n + m*n) * bits/8       (compulsory bytes, each tensor once)
"""

from pathlib import Path

import numpy as np
import pytest
import yaml

import hwsim
from hwsim.workload import matmul

GPUS_YAML = Path(__file__).resolve().parents[3] / "shared" / "reference" / "gpus.yaml"
# template -> (gpus.yaml key, 16-bit tensor peak field, DRAM bandwidth field)
DATASHEET = {
    "rtx3090": ("rtx3090", "fp16_tensor_fp32acc_tflops", "dram_gbps"),
    "a100": ("a100_sxm4_80gb", "bf16_tflops", "hbm_gbps"),
    "h100": ("h100_sxm5_80gb", "bf16_tflops", "hbm_gbps"),
    "h200": ("h200_sxm", "bf16_tflops", "hbm_gbps"),
}
# The formula is closed form, so only float rounding separates model and test.
REL_TOL = 1e-9


@pytest.fixture(scope="module")
def gpus():
    return yaml.safe_load(GPUS_YAML.read_text())


def datasheet(gpus, template):
    key, peak_field, bw_field = DATASHEET[template]
    entry = gpus[key]
    return entry[peak_field] * 1e12, entry[bw_field] * 1e9, entry


def expected_latency_s(gpus, template, m, n, k, batch=1, bits=16):
    peak, bw, _ = datasheet(gpus, template)
    acc = hwsim.load_template(template)
    flops = 2.0 * batch * m * n * k
    nbytes = (batch * m * k + k * n + batch * m * n) * bits / 8
    return max(flops / (peak * acc["compute_fraction"]), nbytes / (bw * acc["bw_fraction"])) + acc["launch_overhead_s"]


def run(template, layer):
    return hwsim.evaluate(layer, hwsim.load_template(template)).layers.iloc[0]


@pytest.mark.parametrize("template", sorted(DATASHEET))
def test_templates_carry_the_datasheet_numbers(gpus, template):
    peak, bw, entry = datasheet(gpus, template)
    acc = hwsim.load_template(template)
    assert acc["peak_fp16_flops_per_s"] == pytest.approx(peak, rel=REL_TOL)
    assert acc["mem_bw_bytes_per_s"] == pytest.approx(bw, rel=REL_TOL)
    assert acc["peak_fp32_flops_per_s"] == pytest.approx(entry["fp32_tflops"] * 1e12, rel=REL_TOL)
    assert acc["tdp_w"] == entry["tdp_w"]
    if "boost_clock_ghz" in entry:
        assert acc["clock_hz"] == pytest.approx(entry["boost_clock_ghz"] * 1e9, rel=REL_TOL)
    if "die_mm2" in entry:
        assert acc["die_mm2"] == entry["die_mm2"]


@pytest.mark.parametrize("template", sorted(DATASHEET))
@pytest.mark.parametrize("shape", [(8192, 8192, 8192), (4096, 4096, 1024), (1, 8192, 8192),
                                   (1, 4096, 11008), (128, 128, 128)], ids=str)
def test_latency_is_the_roofline_formula(gpus, template, shape):
    m, n, k = shape
    row = run(template, matmul("mm", m, n, k, bits=16))
    assert row["latency_s"] == pytest.approx(expected_latency_s(gpus, template, m, n, k), rel=REL_TOL)


def test_large_bf16_gemm_on_a100_is_compute_bound():
    row = run("a100", matmul("gemm", 8192, 8192, 8192, bits=16))
    assert row["bound"] == "compute"
    # Compute-bound: utilization is the measured compute fraction diluted only by the launch.
    acc = hwsim.load_template("a100")
    assert acc["compute_fraction"] * 0.99 < row["utilization"] <= acc["compute_fraction"]


def test_gemv_on_a100_is_memory_bound():
    row = run("a100", matmul("gemv", 1, 8192, 8192, bits=16))
    assert row["bound"] == "dram"
    assert row["utilization"] < 0.01   # ~1 FLOP/byte against a ridge of ~150 FLOP/byte


def test_h200_vs_h100(gpus):
    # Memory-bound GEMV large enough that the 5 us launch is < 1 % of it.
    gemv = matmul("gemv", 1, 16384, 16384, bits=16)
    h100, h200 = run("h100", gemv), run("h200", gemv)
    launch = hwsim.load_template("h100")["launch_overhead_s"]
    ratio = gpus["h200_sxm"]["hbm_gbps"] / gpus["h100_sxm5_80gb"]["hbm_gbps"]    # 4800 / 3350
    assert (h100["latency_s"] - launch) / (h200["latency_s"] - launch) == pytest.approx(ratio, rel=REL_TOL)
    gemm = matmul("gemm", 8192, 8192, 8192, bits=16)
    assert run("h200", gemm)["latency_s"] == pytest.approx(run("h100", gemm)["latency_s"], rel=REL_TOL)


@pytest.mark.parametrize("template", sorted(DATASHEET))
def test_batch_sweep_crosses_the_ridge_point(gpus, template):
    peak, bw, _ = datasheet(gpus, template)
    acc = hwsim.load_template(template)
    # The achievable ridge: the datasheet ridge peak/bw scaled by the two fractions.
    ridge = (peak * acc["compute_fraction"]) / (bw * acc["bw_fraction"])
    n = k = 8192
    batches = 2 ** np.arange(0, 14)
    layers = [matmul(f"b{b}", 1, n, k, batch=int(b), bits=16) for b in batches]
    frame = hwsim.evaluate(layers, acc).layers
    intensity = 2.0 * batches * n * k / ((batches * k + k * n + batches * n) * 2.0)
    expected = np.where(intensity > ridge, "compute", "dram")
    assert list(frame["bound"]) == list(expected)
    assert expected[0] == "dram" and expected[-1] == "compute"    # the sweep does cross the ridge
    # Below the ridge latency grows slower than the work; above it, linearly with it.
    lat = frame["latency_s"].to_numpy() - acc["launch_overhead_s"]
    assert lat[1] / lat[0] < 1.01
    assert lat[-1] / lat[-2] == pytest.approx(2.0, rel=1e-6)
