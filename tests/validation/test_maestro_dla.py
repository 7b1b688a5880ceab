"""The dla model against MAESTRO's KC-P runs (shared/reference/maestro/*_kcp_ws_pe*.csv).

Settings of those runs: PEs from the CSV, Vector Width 9, NoC 1024 elements/cycle
(8-bit elements here, so 1024 bytes), L1/L2 large enough (the CSVs' L1/L2
columns are MAESTRO's requirements; MAESTRO has no DRAM, so DRAM is made free).

* ``step_timing: maestro2020`` reproduces MAESTRO 2020's per-step delay (compute +
  un-overlapped cluster ingress); the lead's criteria apply: total runtime within
  +-15 % and per-layer Spearman rank correlation >= 0.9.
* ``step_timing: pipelined`` (the default, a PE that overlaps operand delivery
  with compute) is a deliberate difference: the same steps, each taking the PE's
  compute time only (1x1 steps 1 cycle instead of MAESTRO's 2, 3x3 steps 1 instead
  of 3; see /work/notes/dla_readme.md). It ranks the layers the same way (Spearman
  >= 0.9), and its runtime is bounded per layer by MAESTRO's, rescaled by the
  per-step delays (test_pipelined_pe_is_maestros_steps_without_ingress).
"""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

import hwsim
from hwsim.workload import load_maestro_layers

RUNS = [("Resnet50_kcp_ws_pe256.csv", "Resnet50_layers.csv"),
        ("Resnet50_kcp_ws_pe1024.csv", "Resnet50_layers.csv"),
        ("MobileNetV2_kcp_ws_pe256.csv", "MobileNetV2_layers.csv")]

TOTAL_TOLERANCE = 0.15        # lead's brief: MAESTRO total runtime within +-15 %
SPEARMAN_MIN = 0.9            # lead's brief: per-layer rank correlation
# Pipelined fill/drain: first weights and inputs over the NoC, at most 1024 PEs x 49 taps x
# 2 bytes / 1024 B/cycle = 98 cycles, + adder tree depth log2(64) + 1 = 7.
FILL_DRAIN_ALLOWANCE = 105


def read_maestro(reference, csv_name):
    frame = pd.read_csv(reference / "maestro" / csv_name, skipinitialspace=True)
    frame.columns = [c.strip() for c in frame.columns]
    frame["Layer Number"] = frame["Layer Number"].str.strip()
    return frame


def dla_run(reference, csv_name, layers_name, step_timing, frame=False):
    ref = read_maestro(reference, csv_name)
    net = load_maestro_layers(reference / "maestro" / layers_name)
    assert [l.name.split("#")[0] for l in net.layers] == list(ref["Layer Number"])  # duplicates get "#2"
    acc = hwsim.load_template(
        "dla", pes=int(ref["NumPEs"].iloc[0]), vector_width=int(ref["Vector Width"].iloc[0]),
        noc_bw_bytes_per_cycle=float(ref["NoC BW (Elements/cycle)"].iloc[0]), mac_bits=8,
        l1_bytes=int(ref["L1 SRAM Size (Bytes)"].max()) * 4, l2_bytes=1 << 26,
        dram_bw_bytes_per_cycle=1e9, step_timing=step_timing)
    ours = hwsim.evaluate(net, acc).layers
    return (ours if frame else ours["latency_cycles"].to_numpy()), ref["Runtime (Cycles)"].to_numpy(dtype=float)


@pytest.mark.parametrize("csv_name,layers_name", RUNS)
def test_maestro2020_step_timing_matches_maestro(reference, csv_name, layers_name):
    ours, theirs = dla_run(reference, csv_name, layers_name, "maestro2020")
    assert abs(ours.sum() / theirs.sum() - 1) <= TOTAL_TOLERANCE
    assert spearmanr(ours, theirs).correlation >= SPEARMAN_MIN


@pytest.mark.parametrize("csv_name,layers_name", RUNS)
def test_pipelined_pe_ranks_layers_like_maestro(reference, csv_name, layers_name):
    ours, theirs = dla_run(reference, csv_name, layers_name, "pipelined")
    assert spearmanr(ours, theirs).correlation >= SPEARMAN_MIN


def maestro_step_delay(layers):
    """MAESTRO 2020's per-step delay for the KC-P mapping at 9 lanes and 1024 elements/cycle:
    ceil(RS / 9) compute + ceil(2 * min(C, 64) * RS / 1024) un-overlapped cluster ingress
    (the input and weight windows of the up to 64 active PEs of a cluster, 8-bit elements);
    DSCONV layers (no reduction over C, SpatialMap(1,1) C over all PEs) have no cluster
    ingress term. See hwsim.dataflow.weight_stationary.maestro_step_overhead."""
    taps = (layers["R"] * layers["S"]).to_numpy()
    compute = np.ceil(taps / 9)
    reduce = (layers["type"].str.strip() != "DSCONV").to_numpy() & (layers["C"].to_numpy() > 1)
    ingress = np.ceil(2 * np.minimum(layers["C"].to_numpy(), 64) * taps / 1024)
    return compute, compute + np.where(reduce, ingress, 0)


@pytest.mark.parametrize("csv_name,layers_name", RUNS)
def test_pipelined_pe_is_maestros_steps_without_ingress(reference, csv_name, layers_name):
    """Bounds derived from the mechanism, not from measured totals.

    Both models walk the same steps (same KC-P mapping). MAESTRO charges each step
    d_M = ceil(RS/9) + ceil(2*min(C,64)*RS/1024) cycles (the CSV's Compute Delay column);
    the pipelined PE overlaps the ingress and charges d_P = ceil(RS/9). So, per layer:

    * upper: pipelined <= max(MAESTRO * d_P / d_M, NoC traffic / NoC bandwidth) + fill/drain.
      MAESTRO's runtime is at least steps x d_M, so steps x d_P <= MAESTRO * d_P / d_M; a
      pipelined PE is limited by compute or by operand delivery over the NoC, whichever is
      slower (only FC1000, 100 MB of weights over 1024 B/cycle, is NoC-bound);
    * upper, coarser: pipelined <= MAESTRO + fill/drain (overlapping can only help);
    * lower, on the total: pipelined >= MAESTRO / max(d_M / d_P) (3 for ResNet-50's 3x3 layers,
      2 for MobileNetV2). Per layer MAESTRO's runtime can exceed steps x d_M (1024 PEs,
      CONV5_x_2: 20964 cycles for 32 x 8 x 25 steps x 3 = 19200), so the per-layer ratio
      is only bounded from one side.
    """
    ref = read_maestro(reference, csv_name)
    layers = pd.read_csv(reference / "maestro" / layers_name, skipinitialspace=True)
    d_pipelined, d_maestro = maestro_step_delay(layers)
    np.testing.assert_array_equal(d_maestro, ref["Compute Delay (Avg)"])        # MAESTRO's own per-step delay
    ours, theirs = dla_run(reference, csv_name, layers_name, "pipelined", frame=True)
    noc = float(ref["NoC BW (Elements/cycle)"].iloc[0])
    latency = ours["latency_cycles"].to_numpy()
    bound = np.maximum(theirs * d_pipelined / d_maestro, ours["l2_bytes"].to_numpy() / noc) + FILL_DRAIN_ALLOWANCE
    assert np.all(latency <= bound), list(ref["Layer Number"][latency > bound])
    assert np.all(latency <= theirs + FILL_DRAIN_ALLOWANCE)
    assert latency.sum() >= theirs.sum() / (d_maestro / d_pipelined).max()


def test_conv1_steps_as_in_maestro(reference):
    """CONV1 (C=3, 7x7, stride 2): 16 K steps x 109*109 pixels x (ceil(49/9) + ceil(3*2*49/1024))
    = 16 x 11881 x 7 = 1,330,672 compute cycles; MAESTRO reports 1,330,673."""
    ours, theirs = dla_run(reference, *RUNS[0], "maestro2020")
    assert theirs[0] == 1330673
    assert abs(ours[0] / theirs[0] - 1) < 1e-4   # our fill/drain adds 26 cycles to MAESTRO's 1
