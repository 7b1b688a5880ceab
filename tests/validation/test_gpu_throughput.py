"""The per-kernel GPU model against measured A100 throughput (issue 9 item 2).

Reference: ../shared/reference/nasbench/accel_nasbench_a100_throughput.csv, measured
ImageNet inference throughput of Accel-NASBench's 5,138 MnasNet-space networks on an
A100 (README of shared/reference). Networks: ``nasaic.space.mnasnet.build`` (through
``nasaic.costs.space_costs``, which costs each distinct layer once with
``hwsim.evaluate_many``). Assumed setting: batch 256, FP32 (TF32 convolutions), eager
epilogues (docs/gpu.md says why). One parameter set, ``templates/a100_kernels.yaml``.

Tolerances (the issue's targets): Spearman rho >= 0.95 and median |throughput error|
<= 20 %, on all networks and on held-out folds of a 5-fold split (calibrated on 4/5 by a
small grid around the shipped values, tested on 1/5). reports/gpu_calibration.md holds
the full calibration (shipped: rho 0.999, median error ~1 %).
"""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

import hwsim
from nasaic import costs
from nasaic.space import mnasnet, reference_dir

BATCH, BITS = 256, 32
RHO_MIN, MEDIAN_ERROR_MAX = 0.95, 0.20


@pytest.fixture(scope="module")
def data():
    table = mnasnet.table()
    thr = pd.read_csv(reference_dir() / "nasbench" / "accel_nasbench_a100_throughput.csv")
    joined = table.merge(thr, on="id", validate="one_to_one")
    genes = np.array([mnasnet.encode(k) for k in mnasnet.table_keys()])
    return genes, joined["a100_throughput_img_per_s"].to_numpy()


def throughput(accs, genes):
    latency, _, feasible = costs.space_costs("mnasnet", "imagenet", accs, batch=BATCH, bits=BITS,
                                             cache_dir=False).cost_all(genes)
    assert feasible.all()
    return BATCH / latency


def test_a100_throughput_ranks_and_prices_like_the_measurement(data):
    genes, measured = data
    predicted = throughput([hwsim.load_template("a100_kernels")], genes)[0]
    assert len(measured) == 5138
    assert spearmanr(predicted, measured)[0] >= RHO_MIN
    assert np.median(np.abs(predicted / measured - 1)) <= MEDIAN_ERROR_MAX


def test_catalog_costs_equal_building_the_network(data):
    """The fast path sums the same layers ``build`` makes: spot-check three networks."""
    genes, _ = data
    acc = hwsim.load_template("a100_kernels")
    fast = throughput([acc], genes[:3])[0]
    for g, value in zip(genes[:3], fast):
        net = mnasnet.build(mnasnet.decode(g), batch=BATCH, bits=BITS)
        assert BATCH / hwsim.evaluate(net, acc).total.latency_s == pytest.approx(value, rel=1e-9)


def test_five_fold_cross_validation_holds_out(data):
    """Calibrate launch cost, GEMM depth and depthwise efficiency on 4/5 of the networks
    (3 x 3 x 3 grid around the shipped values), test on the held-out 1/5."""
    genes, measured = data
    base = hwsim.load_template("a100_kernels")
    grid = list(itertools.product(*[[base[k] * f for f in (0.5, 1.0, 2.0)] for k in
                                    ("launch_overhead_s", "gemm_depth_full", "depthwise_efficiency")]))
    accs = [base.with_params(launch_overhead_s=a, gemm_depth_full=b, depthwise_efficiency=min(c, 1.0))
            for a, b, c in grid]
    predicted = throughput(accs, genes)
    order = np.random.default_rng(0).permutation(len(measured))
    for fold in range(5):
        test = order[fold::5]
        train = np.setdiff1d(order, test)
        best = np.argmin(np.mean(np.abs(np.log(predicted[:, train] / measured[train])), axis=1))
        held = predicted[best, test]
        assert spearmanr(held, measured[test])[0] >= RHO_MIN, fold
        assert np.median(np.abs(held / measured[test] - 1)) <= MEDIAN_ERROR_MAX, fold


def test_roofline_baseline_is_what_the_issue_says(data):
    """The old roofline template, same setting: optimistic by about 2x in FP32 (and the
    per-kernel model fixes exactly that): a regression guard on the comparison in docs/gpu.md."""
    genes, measured = data
    predicted = throughput([hwsim.load_template("a100")], genes)[0]
    assert 1.7 < np.median(predicted / measured) < 2.3


@pytest.mark.parametrize("name", ["h100_kernels", "h200_kernels"])
def test_h100_h200_large_gemm_and_decode_gemv(name):
    """The roofline templates' H100/H200 checks (test_gpu_roofline.py), on the per-kernel
    templates: a large BF16 GEMM is compute-bound near the measured ceiling; a decode
    GEMV (1 x 8192 x 8192) is memory-bound and H200 is faster by exactly 4800/3350 less
    the fixed launch cost."""
    acc = hwsim.load_template(name)
    gemm = hwsim.evaluate(hwsim.workload.matmul("gemm", 8192, 8192, 8192, bits=16), acc).layers.iloc[0]
    assert gemm["bound"] == "compute" and 0.96 * acc["gemm_efficiency"] < gemm["utilization"]
    gemv = hwsim.evaluate(hwsim.workload.matmul("gemv", 1, 8192, 8192, bits=16), acc).layers.iloc[0]
    assert gemv["bound"] == "dram" and gemv["utilization"] < 0.01
    h100 = hwsim.evaluate(hwsim.workload.matmul("gemv", 1, 8192, 8192, bits=16),
                          hwsim.load_template("h100_kernels")).layers.iloc[0]
    ratio = (h100["latency_s"] - acc["launch_overhead_s"]) / (gemv["latency_s"] - acc["launch_overhead_s"])
    assert ratio == pytest.approx(acc["mem_bw_bytes_per_s"] / 3350e9, rel=1e-9)
