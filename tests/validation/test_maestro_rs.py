"""The rs template against MAESTRO's row-stationary run of ResNet-50 on 256 PEs.

Reference: shared/reference/maestro/Resnet50_rs_pe256.csv (MAESTRO output; mapping in
Resnet50_rs.m; layers Resnet50_layers.csv, MAESTRO's no-padding convention). MAESTRO is a
peer model, not ground truth.

Known disagreement (see /work/notes/rs_readme.md): MAESTRO reports 3888 MACs/cycle for the
3x3 layers of 56x56 on 256 PEs, above the 256 MACs/cycle any mapping of 256 single-MAC PEs can
reach (and above 256 x vector width 9 = 2304), while its 1x1 layers use about one PE per output
row (4 x P MACs/cycle). hwsim's RS model keeps every layer at <= 1 MAC/PE/cycle and replicates
PE sets onto idle PEs, so its per-layer ranking differs. The runtime targets of the brief
(total +-15 %, Spearman >= 0.9) are kept as strict xfails: they record the gap, and fail
loudly if a change ever makes them pass.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hwsim
from hwsim.hardware.area import maestro2020_area_um2, maestro2020_power
from hwsim.workload import load_maestro_layers

MAESTRO = Path(__file__).resolve().parents[3] / "shared" / "reference" / "maestro"
TOTAL_TOL = 0.15          # brief: total runtime within +-15 % of MAESTRO
MIN_SPEARMAN = 0.9        # brief: per-layer rank correlation
AREA_RTOL = 5e-4          # "to 4 significant digits"


@pytest.fixture(scope="module")
def maestro():
    frame = pd.read_csv(MAESTRO / "Resnet50_rs_pe256.csv", skipinitialspace=True)
    frame.columns = [c.strip() for c in frame.columns]
    return frame


@pytest.fixture(scope="module")
def ours(maestro):
    net = load_maestro_layers(MAESTRO / "Resnet50_layers.csv")      # 8-bit elements
    # MAESTRO's settings: 256 PEs, NoC 1024 elements/cycle (1 B each); MAESTRO's runtime has no
    # off-chip bound, so DRAM gets the same bandwidth as the NoC.
    acc = hwsim.load_template("rs", pes=int(maestro["NumPEs"].iloc[0]),
                              noc_bw_bytes_per_cycle=float(maestro["NoC BW (Elements/cycle)"].iloc[0]),
                              dram_bw_bytes_per_cycle=float(maestro["NoC BW (Elements/cycle)"].iloc[0]))
    return hwsim.evaluate(net, acc).layers


def test_same_layers_and_macs(maestro, ours):
    assert len(ours) == len(maestro)
    # MAESTRO counts CONV1 (224x224, 7x7, stride 2) as 108.5^2 output pixels (110,750,976 MACs)
    # where floor((224 - 7) / 2) + 1 = 109 gives 111,776,448: equal elsewhere, within 1 % there.
    assert ours["macs"].iloc[1:].tolist() == maestro["Num MACs"].iloc[1:].tolist()
    assert ours["macs"].iloc[0] == pytest.approx(maestro["Num MACs"].iloc[0], rel=0.01)


def test_maestro_exceeds_single_mac_peak_on_3x3_layers(maestro):
    """Why the runtimes cannot agree: MAESTRO's 3x3 layers beat the 256-PE peak."""
    layers = pd.read_csv(MAESTRO / "Resnet50_layers.csv")
    three = (layers["R"] == 3).to_numpy()
    throughput = maestro["Num MACs"] / maestro["Runtime (Cycles)"]
    assert (throughput[three] > maestro["NumPEs"][three]).all()


def test_ours_never_beats_peak(ours):
    assert (ours["macs"] <= ours["latency_cycles"] * 256 + 1e-6).all()


@pytest.mark.xfail(strict=True, reason="MAESTRO RS runtimes exceed the 256-PE peak on 3x3 layers; "
                                       "see module docstring")
def test_total_runtime(maestro, ours):
    assert ours["latency_cycles"].sum() == pytest.approx(maestro["Runtime (Cycles)"].sum(), rel=TOTAL_TOL)


@pytest.mark.xfail(strict=True, reason="MAESTRO ranks 3x3 layers fastest (above peak) and 1x1 layers "
                                       "with few output rows slowest; see module docstring")
def test_per_layer_rank_correlation(maestro, ours):
    from scipy.stats import spearmanr
    rho = spearmanr(ours["latency_cycles"], maestro["Runtime (Cycles)"]).statistic
    assert rho >= MIN_SPEARMAN


def test_maestro2020_area_and_power_columns(maestro):
    args = (maestro["NumPEs"].to_numpy(), maestro["Vector Width"].to_numpy(),
            maestro["L1 SRAM Size (Bytes)"].to_numpy(), maestro["L2 SRAM Size (Bytes)"].to_numpy(),
            maestro["NoC BW (Elements/cycle)"].to_numpy())
    np.testing.assert_allclose(maestro2020_area_um2(*args), maestro["Area"], rtol=AREA_RTOL)
    np.testing.assert_allclose(maestro2020_power(*args), maestro["Power"], rtol=AREA_RTOL)


def test_rs_template_maestro2020_area_uses_the_closed_form():
    acc = hwsim.load_template("rs", pes=256, l1_bytes=180, l2_bytes=4248, noc_bw_bytes_per_cycle=2048.0,
                              area_model="maestro2020")
    report = hwsim.evaluate(hwsim.workload.conv2d("c", 8, 8, 8, 3), acc)
    # word_bits 16 -> 1024 elements/cycle; vector width 1 (one MAC per PE)
    expected = maestro2020_area_um2(256, 1, 180, 4248, 1024) / 1e6
    assert report.total.area_mm2 == pytest.approx(float(expected), rel=1e-12)
