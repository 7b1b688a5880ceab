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
  differs (MAESTRO's 3x3 layers are its fastest). The brief's criteria are NOT met on this
  timing (measured total ratio 0.46, Spearman 0.33) and cannot be while MAESTRO charges
  its 3x3 steps no compute: the mechanism is asserted
  (test_pipelined_differs_from_maestro_by_mechanism) and the criteria are kept as a strict
  xfail (test_pipelined_meets_brief_criteria), visible in every run, that flips to a
  failure if the gap ever closes.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

import hwsim
from hwsim.hardware.area import maestro2020_area_um2, maestro2020_power
from hwsim.workload import load_maestro_layers

from digits import agree_to_4_digits

TOTAL_TOL = 0.15          # brief: total runtime within +-15 % of MAESTRO
MIN_SPEARMAN = 0.9        # brief: per-layer rank correlation
# MAESTRO's "Avg number of utilized PEs" for the stride-2 1x1 layers (CONV3_1_1, CONV4_1_1,
# CONV5_1_1) is one cluster more than their output rows (29 for 28 rows): an edge cluster of
# MAESTRO's stride handling that runs no step of its own; we report the output rows.
EDGE_CLUSTER_LAYERS = ("CONV3_1_1", "CONV4_1_1", "CONV5_1_1")


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


def test_maestro_exceeds_peak_on_3x3_layers(reference, maestro, ours_maestro):
    """Reference-data check, then hwsim on the same layers.

    The reference: MAESTRO's 3x3 layers beat the 256-PE single-MAC peak, and every one
    beats its own utilized PEs x 9 lanes (3888 MACs/cycle on 54 PEs); CONV2_x_2 beat even
    256 x 9 = 2304: its accounting, not a machine. hwsim in maestro2020 mode reproduces
    those cycle counts but never reports a utilization above 1: it is clipped at 1 exactly
    where MAESTRO beats 256 x 9 (CONV2_x_2), and below 1 on the other 3x3 layers."""
    layers = pd.read_csv(reference / "maestro" / "Resnet50_layers.csv")
    three = (layers["R"] == 3).to_numpy()
    throughput = (maestro["Num MACs"] / maestro["Runtime (Cycles)"])[three]
    lanes = maestro["Vector Width"][three]
    assert (throughput > maestro["NumPEs"][three]).all()
    assert (throughput > maestro["Avg number of utilized PEs"][three] * lanes).all()
    conv2 = layers["layer"][three].str.startswith("CONV2")
    beyond_array = (throughput > maestro["NumPEs"][three] * lanes).to_numpy()
    np.testing.assert_array_equal(beyond_array, conv2.to_numpy())
    # hwsim, maestro2020 mode, the same layers: same cycles, utilization in (0, 1]
    util = ours_maestro["utilization"].to_numpy()[three]
    np.testing.assert_array_equal(ours_maestro["latency_cycles"].to_numpy()[three],
                                  maestro["Runtime (Cycles)"].to_numpy()[three])
    assert ((util > 0) & (util <= 1)).all()
    assert (util[beyond_array] == 1).all() and (util[~beyond_array] < 1).all()


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
    edge = ours_maestro["layer"].isin(EDGE_CLUSTER_LAYERS).to_numpy()
    assert edge.sum() == len(EDGE_CLUSTER_LAYERS)
    expected = maestro["Avg number of utilized PEs"].to_numpy() - edge        # MAESTRO's edge cluster: -1
    np.testing.assert_array_equal(ours_maestro["active_pes"], expected)


def test_maestro2020_3x3_steps_are_one_cycle(maestro, ours_maestro):
    """CONV2_1_2 (3x3, K = C = 64, 56 -> 54): 32 K-tiles x 16 C-tiles x 54 columns steps of
    one cycle, plus one for the first step's unoverlapped ingress (2016 elements)."""
    row = ours_maestro.set_index("layer").loc["CONV2_1_2"]
    assert row["maestro_steps"] == 32 * 16 * 54
    assert row["latency_cycles"] == 32 * 16 * 54 + 1
    assert row["utilization"] == 1.0          # clipped: 3888 MACs/cycle > 256 x 9


def test_pipelined_differs_from_maestro_by_mechanism(reference, maestro, ours):
    """Why the default timing misses the brief's criteria, asserted layer by layer.

    * 3x3 layers: MAESTRO never charges their compute, so its MACs/cycle exceed 256 PEs x
      1 MAC on every one; ours never exceeds that peak, so ours is slower on every 3x3 layer.
    * 1x1 layers: MAESTRO maps one PE per output row (utilized PEs = output rows, + MAESTRO's
      edge cluster on the stride-2 ones) at 4 MACs/cycle per PE; ours replicates onto the idle
      PEs. With at most 28 output rows (MAESTRO <= 4 x 28 = 112 MACs/cycle, under half the
      256-PE peak) ours is faster on every such layer; at 56 rows ours fills 4 x 56 = 224 PEs,
      the same 224 MACs/cycle peak as MAESTRO's, and is not faster.
    """
    layers = pd.read_csv(reference / "maestro" / "Resnet50_layers.csv")
    pes = maestro["NumPEs"].to_numpy()
    theirs_cycles = maestro["Runtime (Cycles)"].to_numpy()
    ours_cycles = ours["latency_cycles"].to_numpy()
    theirs_rate = maestro["Num MACs"].to_numpy() / theirs_cycles
    ours_rate = ours["macs"].to_numpy() / ours_cycles

    three = (layers["R"] == 3).to_numpy()
    assert three.sum() == 16
    assert (theirs_rate[three] > pes[three]).all()
    assert (ours_rate[three] <= pes[three]).all()
    assert (ours_cycles[three] > theirs_cycles[three]).all()

    one = ((layers["R"] == 1) & (layers["S"] == 1)).to_numpy()
    rows = ((layers["Y"] - layers["R"]) // layers["stride"] + 1).to_numpy()
    edge = layers["layer"].isin(EDGE_CLUSTER_LAYERS).to_numpy()
    utilized = maestro["Avg number of utilized PEs"].to_numpy()
    np.testing.assert_array_equal(utilized[one], rows[one] + edge[one])          # one PE per output row
    np.testing.assert_array_equal(theirs_rate[one] <= 4 * rows[one], True)     # 4 MACs/cycle per PE
    assert (ours["active_pes"].to_numpy()[one] >= 4 * utilized[one]).all()      # ours fills the idle PEs
    few = one & (rows <= 28)
    assert few.sum() == 39                   # every 1x1 layer of stages 3-5 (incl. residual and stride-2 ones)
    assert (theirs_rate[few] < pes[few] / 2).all()
    assert (ours_cycles[few] < theirs_cycles[few]).all()
    many = one & (rows == 56)
    assert many.sum() == 9 and not (one & ~few & ~many).any()
    # 56 rows: ours replicates onto 4 x 56 = 224 PEs at 1 MAC each, MAESTRO's 4 MACs/cycle per
    # row PE is the same 224 MACs/cycle peak, so ours cannot be faster there
    np.testing.assert_array_equal(ours["active_pes"].to_numpy()[many], 4 * rows[many])
    assert (ours_cycles[many] >= theirs_cycles[many]).all()


@pytest.mark.xfail(strict=True, reason="brief's criteria on the default (pipelined) timing are not met: "
                   "total ratio 0.46, Spearman 0.33; MAESTRO charges its 3x3 steps no compute "
                   "(see test_pipelined_differs_from_maestro_by_mechanism)")
def test_pipelined_meets_brief_criteria(maestro, ours):
    total = ours["latency_cycles"].sum()
    rho = spearmanr(ours["latency_cycles"], maestro["Runtime (Cycles)"]).statistic
    assert total == pytest.approx(maestro["Runtime (Cycles)"].sum(), rel=TOTAL_TOL)
    assert rho >= MIN_SPEARMAN


def test_maestro2020_area_and_power_columns(maestro):
    args = (maestro["NumPEs"].to_numpy(), maestro["Vector Width"].to_numpy(),
            maestro["L1 SRAM Size (Bytes)"].to_numpy(), maestro["L2 SRAM Size (Bytes)"].to_numpy(),
            maestro["NoC BW (Elements/cycle)"].to_numpy())
    area_ok = agree_to_4_digits(maestro2020_area_um2(*args), maestro["Area"])
    power_ok = agree_to_4_digits(maestro2020_power(*args), maestro["Power"])
    assert area_ok.all(), maestro.loc[~area_ok, "Layer Number"].tolist()
    assert power_ok.all(), maestro.loc[~power_ok, "Layer Number"].tolist()


def test_rs_template_maestro2020_area_is_the_csvs(maestro):
    """The rs template with area_model=maestro2020 and each distinct (L1, L2) of the run
    gives MAESTRO's Area column (4 significant digits). 8-bit words: the NoC's 1024
    bytes/cycle are its 1024 elements/cycle."""
    rows = maestro.drop_duplicates(["L1 SRAM Size (Bytes)", "L2 SRAM Size (Bytes)"])
    assert len(rows) >= 5
    layer = hwsim.workload.conv2d("probe", 1, 1, (1, 1), bits=8)
    for _, row in rows.iterrows():
        acc = hwsim.load_template(
            "rs", area_model="maestro2020", pes=int(row["NumPEs"]), word_bits=8,
            maestro_vector_width=int(row["Vector Width"]), l1_bytes=int(row["L1 SRAM Size (Bytes)"]),
            l2_bytes=int(row["L2 SRAM Size (Bytes)"]), noc_bw_bytes_per_cycle=float(row["NoC BW (Elements/cycle)"]))
        area_um2 = hwsim.evaluate(layer, acc).total.area_mm2 * 1e6
        assert agree_to_4_digits(area_um2, row["Area"]), (row["Layer Number"], area_um2, row["Area"])
