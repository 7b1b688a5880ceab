"""The rs template against MAESTRO's row-stationary run of ResNet-50 on 256 PEs.

Reference: shared/reference/maestro/Resnet50_rs_pe256.csv (MAESTRO output; mapping in
Resnet50_rs.m; layers Resnet50_layers.csv, MAESTRO's no-padding convention). MAESTRO is a
peer model, not ground truth. Settings of the run (CSV columns): 256 PEs, Vector Width 9,
NoC 1024 elements/cycle (8-bit elements here, so 1024 bytes); MAESTRO's runtime has no
off-chip bound, so DRAM gets the NoC's bandwidth.

* ``step_timing: maestro2020`` reproduces MAESTRO 2020's runtime accounting of the RS
  mapping (maestro_rs.maestro_rs_runtime): temporal steps x per-step delay, with the
  inner cluster's compute delay as MAESTRO's source computes it. The brief's criteria
  apply (total +-15 %, Spearman >= 0.9); it in fact matches all 66 layers exactly.
  That includes MAESTRO's 3x3 layers at 3888 MACs/cycle on 54 utilized PEs (CONV2_x_2) --
  above even 256 PEs x 9 lanes: MAESTRO never charges their MACs (a negative output width skips the step's
  compute), so this is MAESTRO's accounting, not a buildable machine.
* ``step_timing: pipelined`` (the default, the Eyeriss model validated on silicon in
  test_eyeriss.py) keeps every layer at <= 1 MAC/PE/cycle and replicates PE sets onto idle
  PEs: its total is about half MAESTRO's (CONV1 and the 1x1 layers with few output rows
  are much faster: MAESTRO uses one PE per output row there) and its per-layer ranking
  differs (MAESTRO's 3x3 layers are its fastest). Recorded as a bounded range below.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

import hwsim
from hwsim.hardware.area import maestro2020_area_um2, maestro2020_power
from hwsim.workload import load_maestro_layers

TOTAL_TOL = 0.15          # brief: total runtime within +-15 % of MAESTRO
MIN_SPEARMAN = 0.9        # brief: per-layer rank correlation
AREA_RTOL = 5e-4          # "to 4 significant digits"
# pipelined / MAESTRO: measured total ratio 0.461 and Spearman 0.334 (see module docstring and
# /work/notes/rs_readme.md). The bands record the known disagreement; they fail if a change
# moves the pipelined model far from it in either direction.
PIPELINED_RATIO = (0.40, 0.55)
PIPELINED_SPEARMAN = (0.20, 0.50)
# MAESTRO's "Avg number of utilized PEs" for the stride-2 1x1 layers (CONV3_1_1, CONV4_1_1,
# CONV5_1_1) is one cluster more than their output rows (29 for 28 rows): an edge cluster of
# MAESTRO's stride handling that runs no step of its own; we report the output rows.
UTILIZED_PES_ABS = 1.0


@pytest.fixture(scope="module")
def maestro(reference):
    frame = pd.read_csv(reference / "maestro" / "Resnet50_rs_pe256.csv", skipinitialspace=True)
    frame.columns = [c.strip() for c in frame.columns]
    return frame


def run(reference, maestro, step_timing):
    net = load_maestro_layers(reference / "maestro" / "Resnet50_layers.csv")      # 8-bit elements
    noc = float(maestro["NoC BW (Elements/cycle)"].iloc[0])
    acc = hwsim.load_template("rs", pes=int(maestro["NumPEs"].iloc[0]), noc_bw_bytes_per_cycle=noc,
                              dram_bw_bytes_per_cycle=noc, step_timing=step_timing,
                              maestro_vector_width=int(maestro["Vector Width"].iloc[0]))
    return hwsim.evaluate(net, acc).layers


@pytest.fixture(scope="module")
def ours(reference, maestro):
    return run(reference, maestro, "pipelined")


@pytest.fixture(scope="module")
def ours_maestro(reference, maestro):
    return run(reference, maestro, "maestro2020")


def test_same_layers_and_macs(maestro, ours):
    assert len(ours) == len(maestro)
    # MAESTRO counts CONV1 (224x224, 7x7, stride 2) as 108.5^2 output pixels (110,750,976 MACs)
    # where floor((224 - 7) / 2) + 1 = 109 gives 111,776,448: equal elsewhere, within 1 % there.
    assert ours["macs"].iloc[1:].tolist() == maestro["Num MACs"].iloc[1:].tolist()
    assert ours["macs"].iloc[0] == pytest.approx(maestro["Num MACs"].iloc[0], rel=0.01)


def test_maestro_exceeds_peak_on_3x3_layers(reference, maestro):
    """MAESTRO's 3x3 layers beat the 256-PE single-MAC peak, and every one beats its own
    utilized PEs x 9 lanes (3888 MACs/cycle on 54 PEs); CONV2_x_2 beat even 256 x 9 = 2304:
    its accounting, not a machine."""
    layers = pd.read_csv(reference / "maestro" / "Resnet50_layers.csv")
    three = (layers["R"] == 3).to_numpy()
    throughput = (maestro["Num MACs"] / maestro["Runtime (Cycles)"])[three]
    lanes = maestro["Vector Width"][three]
    assert (throughput > maestro["NumPEs"][three]).all()
    assert (throughput > maestro["Avg number of utilized PEs"][three] * lanes).all()
    conv2 = layers["layer"][three].str.startswith("CONV2")
    assert (throughput[conv2] > (maestro["NumPEs"][three] * lanes)[conv2]).all()


def test_pipelined_never_beats_peak(ours):
    assert (ours["macs"] <= ours["latency_cycles"] * 256 + 1e-6).all()


def test_maestro2020_total_runtime(maestro, ours_maestro):
    assert ours_maestro["latency_cycles"].sum() == pytest.approx(maestro["Runtime (Cycles)"].sum(), rel=TOTAL_TOL)


def test_maestro2020_per_layer_rank_correlation(maestro, ours_maestro):
    rho = spearmanr(ours_maestro["latency_cycles"], maestro["Runtime (Cycles)"]).statistic
    assert rho >= MIN_SPEARMAN


def test_maestro2020_reproduces_every_layer(maestro, ours_maestro):
    """Stronger than the brief: the mechanism gives MAESTRO's runtime, step compute delay and
    utilized PEs per layer (exact: all are integers from the same closed form)."""
    np.testing.assert_array_equal(ours_maestro["latency_cycles"], maestro["Runtime (Cycles)"])
    np.testing.assert_array_equal(ours_maestro["maestro_compute_delay"], maestro["Compute Delay (Avg)"])
    np.testing.assert_allclose(ours_maestro["active_pes"], maestro["Avg number of utilized PEs"],
                               atol=UTILIZED_PES_ABS)


def test_maestro2020_3x3_steps_are_one_cycle(maestro, ours_maestro):
    """CONV2_1_2 (3x3, K = C = 64, 56 -> 54): 32 K-tiles x 16 C-tiles x 54 columns steps of
    one cycle, plus one for the first step's unoverlapped ingress (2016 elements)."""
    row = ours_maestro.set_index("layer").loc["CONV2_1_2"]
    assert row["maestro_steps"] == 32 * 16 * 54
    assert row["latency_cycles"] == 32 * 16 * 54 + 1
    assert row["utilization"] == 1.0          # clipped: 3888 MACs/cycle > 256 x 9


def test_pipelined_disagreement_is_bounded(maestro, ours):
    ratio = ours["latency_cycles"].sum() / maestro["Runtime (Cycles)"].sum()
    rho = spearmanr(ours["latency_cycles"], maestro["Runtime (Cycles)"]).statistic
    assert PIPELINED_RATIO[0] <= ratio <= PIPELINED_RATIO[1]
    assert PIPELINED_SPEARMAN[0] <= rho <= PIPELINED_SPEARMAN[1]


def test_maestro2020_area_and_power_columns(maestro):
    args = (maestro["NumPEs"].to_numpy(), maestro["Vector Width"].to_numpy(),
            maestro["L1 SRAM Size (Bytes)"].to_numpy(), maestro["L2 SRAM Size (Bytes)"].to_numpy(),
            maestro["NoC BW (Elements/cycle)"].to_numpy())
    np.testing.assert_allclose(maestro2020_area_um2(*args), maestro["Area"], rtol=AREA_RTOL)
    np.testing.assert_allclose(maestro2020_power(*args), maestro["Power"], rtol=AREA_RTOL)


@pytest.mark.parametrize("lanes", [1, 9])
def test_rs_template_maestro2020_area_uses_the_closed_form(lanes):
    acc = hwsim.load_template("rs", pes=256, l1_bytes=180, l2_bytes=4248, noc_bw_bytes_per_cycle=2048.0,
                              area_model="maestro2020", maestro_vector_width=lanes)
    report = hwsim.evaluate(hwsim.workload.conv2d("c", 8, 8, 8, 3), acc)
    # word_bits 16 -> 1024 elements/cycle
    expected = maestro2020_area_um2(256, lanes, 180, 4248, 1024) / 1e6
    assert report.total.area_mm2 == pytest.approx(float(expected), rel=1e-12)
