"""MAESTRO's row-stationary run of ResNet-50 on 256 PEs against the ``maestro_rs`` emulation and
the physical ``rs`` template.

Reference: shared/reference/maestro/Resnet50_rs_pe256.csv (MAESTRO output; mapping in
Resnet50_rs.m; layers Resnet50_layers.csv, MAESTRO's no-padding convention). MAESTRO is a
peer model, not ground truth. Settings of the run (CSV columns): 256 PEs, Vector Width 9,
NoC 1024 elements/cycle; L1/L2 the run's largest requirements.

* ``maestro_rs`` reproduces MAESTRO 2020's runtime accounting of the RS mapping
  (maestro_rs.maestro_rs_runtime): temporal steps x per-step delay, with the inner cluster's
  compute delay as MAESTRO's source computes it. The brief's criteria apply (total +-15 %,
  Spearman >= 0.9); it in fact matches all 66 layers exactly, and its buffer accesses, MAC
  count and L2 requirement are the CSV's columns exactly. That includes MAESTRO's 3x3 layers at
  3888 MACs/cycle on 54 utilized PEs (CONV2_x_2) -- above even 256 PEs x 9 lanes: MAESTRO never
  charges their MACs (a negative output width skips the step's compute), so this is MAESTRO's
  accounting, not a buildable machine; the emulation reports it as it is (utilization above 1).
* ``rs`` (the physical Eyeriss model validated on silicon in test_eyeriss.py) keeps every layer
  at <= 1 MAC/PE/cycle and replicates PE sets onto idle PEs: its total is about half MAESTRO's
  (CONV1 and the 1x1 layers with few output rows are much faster: MAESTRO uses one PE per
  output row there) and its per-layer ranking differs (MAESTRO's 3x3 layers are its fastest).
  The brief's criteria are NOT met on it (measured: total ratio 0.43, Spearman 0.41; 0.46 / 0.33
  at HEAD)
  and cannot be while MAESTRO charges its 3x3 steps no compute: the mechanism is asserted
  (test_rs_differs_from_maestro_by_mechanism) and the criteria are kept as a strict xfail
  (test_rs_meets_brief_criteria), visible in every run, that flips to a failure if the gap
  ever closes.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

import hwsim
from hwsim.workload import load_maestro_layers

from test_maestro_dla import ACCESS_COLUMNS, TENSORS, agree_to_printed_digits

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


@pytest.fixture(scope="module")
def layers(reference):
    return pd.read_csv(reference / "maestro" / "Resnet50_layers.csv")


def network(reference):
    return load_maestro_layers(reference / "maestro" / "Resnet50_layers.csv")      # 8-bit elements


@pytest.fixture(scope="module")
def ours_maestro(reference, maestro):
    acc = hwsim.load_template("maestro_rs", pes=int(maestro["NumPEs"].iloc[0]),
                              vector_width=int(maestro["Vector Width"].iloc[0]),
                              noc_bw_elements_per_cycle=float(maestro["NoC BW (Elements/cycle)"].iloc[0]),
                              l1_bytes=int(maestro["L1 SRAM Size (Bytes)"].max()),
                              l2_bytes=int(maestro["L2 SRAM Size (Bytes)"].max()))
    return hwsim.evaluate(network(reference), acc).layers


@pytest.fixture(scope="module")
def ours(reference, maestro):
    """The physical rs template; MAESTRO's runtime has no off-chip bound, so DRAM gets the NoC's bandwidth."""
    noc = float(maestro["NoC BW (Elements/cycle)"].iloc[0])
    acc = hwsim.load_template("rs", pes=int(maestro["NumPEs"].iloc[0]), noc_bw_bytes_per_cycle=noc,
                              dram_bw_bytes_per_cycle=noc)
    return hwsim.evaluate(network(reference), acc).layers


# -- the reference itself ---------------------------------------------------------------------

def test_maestro_exceeds_peak_on_3x3_layers(maestro, layers):
    """A property of the reference data: MAESTRO's 3x3 layers beat the 256-PE single-MAC peak, and
    every one beats its own utilized PEs x 9 lanes (3888 MACs/cycle on 54 PEs); CONV2_x_2 beat even
    256 x 9 = 2304: MAESTRO's accounting, not a machine."""
    three = (layers["R"] == 3).to_numpy()
    assert three.sum() == 16
    throughput = (maestro["Num MACs"] / maestro["Runtime (Cycles)"])[three]
    lanes = maestro["Vector Width"][three]
    assert (throughput > maestro["NumPEs"][three]).all()
    assert (throughput > maestro["Avg number of utilized PEs"][three] * lanes).all()
    conv2 = layers["layer"][three].str.startswith("CONV2")
    beyond_array = (throughput > maestro["NumPEs"][three] * lanes).to_numpy()
    np.testing.assert_array_equal(beyond_array, conv2.to_numpy())


# -- maestro_rs ---------------------------------------------------------------------------------

def test_same_layers_and_macs(maestro, ours_maestro):
    """MAESTRO counts CONV1 (224x224, 7x7, stride 2) as 109 x 108 output pixels (110,750,976 MACs)
    where floor((224 - 7) / 2) + 1 = 109 rows give 111,776,448: the emulation's MAC count is
    MAESTRO's (its edge row of 6 input rows, whose output row has no partial sums at the spatial
    edge), hwsim's layer keeps the true count; equal elsewhere."""
    assert len(ours_maestro) == len(maestro)
    np.testing.assert_array_equal(ours_maestro["maestro_macs"], maestro["Num MACs"])
    assert ours_maestro["macs"].iloc[1:].tolist() == maestro["Num MACs"].iloc[1:].tolist()
    assert maestro["Num MACs"].iloc[0] == 9408 * 109 * 108 and ours_maestro["macs"].iloc[0] == 9408 * 109 * 109


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


def test_maestro2020_3x3_steps_are_one_cycle(ours_maestro):
    """CONV2_1_2 (3x3, K = C = 64, 56 -> 54): 32 K-tiles x 16 C-tiles x 54 columns steps of
    one cycle, plus one for the first step's unoverlapped ingress (2016 elements)."""
    row = ours_maestro.set_index("layer").loc["CONV2_1_2"]
    assert row["maestro_steps"] == 32 * 16 * 54
    assert row["latency_cycles"] == 32 * 16 * 54 + 1


def test_emulation_reports_maestros_throughput_as_it_is(maestro, layers, ours_maestro):
    """No clipping: utilization (MACs / (256 PEs x 9 lanes x cycles)) is MAESTRO's own throughput
    over that peak -- above 1 exactly on the layers where MAESTRO beats 256 x 9 (CONV2_x_2) and
    in (0, 1) on every other layer."""
    three = (layers["R"] == 3).to_numpy()
    peak = maestro["NumPEs"] * maestro["Vector Width"]
    theirs = (maestro["Num MACs"] / maestro["Runtime (Cycles)"] / peak).to_numpy()
    util = ours_maestro["utilization"].to_numpy()
    np.testing.assert_allclose(util[three], theirs[three], rtol=1e-12)
    beyond = util > 1
    np.testing.assert_array_equal(beyond, three & layers["layer"].str.startswith("CONV2").to_numpy())
    assert ((util[~beyond] > 0) & (util[~beyond] < 1)).all()


def test_buffer_accesses_are_maestros(maestro, ours_maestro):
    """Every L1/L2 read and write of every tensor, exact on all 66 rows (the port of MAESTRO's
    top-cluster reuse analysis: e.g. the output's L2 writes, one partial sum per 4-channel tile;
    the input rows re-read by every filter tile)."""
    for column in ACCESS_COLUMNS:
        np.testing.assert_array_equal(ours_maestro["maestro_" + column.replace(" ", "_")], maestro[column],
                                      err_msg=column)
    for level in ("l1", "l2"):
        total = sum(maestro[f"{t} {level} {rw}"] for t in TENSORS for rw in ("read", "write"))
        np.testing.assert_array_equal(ours_maestro[f"{level}_accesses"], total)


def test_energy_is_maestros(maestro, ours_maestro):
    """The CSV energy column, to its 6 printed digits, once MAESTRO's stale L1 counts are applied
    (every RS layer is a two-level mapping, so MAESTRO adds the previous layer's L1 counts; CONV1's
    L1 term is 0; see test_maestro_dla.test_energy_is_maestros)."""
    theirs = maestro["Activity count-based Energy (nJ)"].to_numpy(dtype=float)
    l1_nj, l2_nj = ours_maestro["energy_l1_pj"].to_numpy() / 1e3, ours_maestro["energy_l2_pj"].to_numpy() / 1e3
    assert agree_to_printed_digits(l2_nj + np.r_[0.0, l1_nj[:-1]], theirs).all()


def test_buffer_requirements_are_maestros(maestro, ours_maestro):
    """The L2 SRAM Size column exactly; the L1 one on 65 of 66 rows. CONV1's 4228 is MAESTRO
    re-adding the input and filter windows for each inner-cluster case it skips before the first
    it keeps (UpdateBufferSizeReq runs while case_id is 0, and a skipped case does not advance it):
    5 x 2 x (28 + 392) + 2 x 14 -- the inner cluster's case order, which the emulation (a top-level
    port) does not walk; it reports the single-case 2 x (28 + 392 + 14) = 868."""
    np.testing.assert_array_equal(ours_maestro["maestro_l2_bytes"], maestro["L2 SRAM Size (Bytes)"])
    l1, theirs = ours_maestro["maestro_l1_bytes"].to_numpy(), maestro["L1 SRAM Size (Bytes)"].to_numpy()
    np.testing.assert_array_equal(l1[1:], theirs[1:])
    assert theirs[0] == 5 * 2 * (28 + 392) + 2 * 14 and l1[0] == 2 * (28 + 392 + 14)


# -- the physical rs template against MAESTRO -----------------------------------------------------

def test_rs_macs_are_the_layers(maestro, ours):
    assert len(ours) == len(maestro)
    assert ours["macs"].iloc[1:].tolist() == maestro["Num MACs"].iloc[1:].tolist()
    assert ours["macs"].iloc[0] == pytest.approx(maestro["Num MACs"].iloc[0], rel=0.01)


def test_rs_never_beats_peak(ours):
    assert (ours["macs"] <= ours["latency_cycles"] * 256 + 1e-6).all()


def test_rs_differs_from_maestro_by_mechanism(maestro, layers, ours):
    """Why the physical rs misses the brief's criteria, asserted layer by layer.

    * 3x3 layers: MAESTRO never charges their compute, so its MACs/cycle exceed 256 PEs x
      1 MAC on every one; ours never exceeds that peak, so ours is slower on every 3x3 layer.
    * 1x1 layers: MAESTRO maps one PE per output row (utilized PEs = output rows, + MAESTRO's
      edge cluster on the stride-2 ones) at 4 MACs/cycle per PE; ours replicates onto the idle
      PEs. With at most 28 output rows (MAESTRO <= 4 x 28 = 112 MACs/cycle, under half the
      256-PE peak) ours is faster on every such layer; at 56 rows MAESTRO's mapping peaks at
      4 x 56 = 224 MACs/cycle and ours fills at least those 224 PEs.

    Changed with issue 5 (stated, not silent): at HEAD the rs mapping filled exactly 4 x 56 = 224
    PEs on the 56-row layers, so it could not beat MAESTRO there, and the test asserted both. The
    latency-chosen mapping now fills all 256 PEs on them and is 0.88-0.94x MAESTRO's cycles; that
    sub-claim was a property of the old mapping, not of MAESTRO, and is no longer asserted.
    """
    pes = maestro["NumPEs"].to_numpy()
    theirs_cycles = maestro["Runtime (Cycles)"].to_numpy()
    ours_cycles = ours["latency_cycles"].to_numpy()
    theirs_rate = maestro["Num MACs"].to_numpy() / theirs_cycles
    ours_rate = ours["macs"].to_numpy() / ours_cycles

    three = (layers["R"] == 3).to_numpy()
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
    # 56 rows: MAESTRO's 4 MACs/cycle per row PE peaks at 224 MACs/cycle; ours fills at least as many PEs
    np.testing.assert_array_equal(theirs_rate[many] <= 4 * rows[many], True)
    assert (ours["active_pes"].to_numpy()[many] >= 4 * rows[many]).all()


@pytest.mark.xfail(strict=True, reason="brief's criteria on the physical rs are not met: total ratio 0.43, "
                   "Spearman 0.41 (0.46 / 0.33 at HEAD); MAESTRO charges its 3x3 steps no compute "
                   "(see test_rs_differs_from_maestro_by_mechanism)")
def test_rs_meets_brief_criteria(maestro, ours):
    total = ours["latency_cycles"].sum()
    rho = spearmanr(ours["latency_cycles"], maestro["Runtime (Cycles)"]).statistic
    assert total == pytest.approx(maestro["Runtime (Cycles)"].sum(), rel=TOTAL_TOL)
    assert rho >= MIN_SPEARMAN
