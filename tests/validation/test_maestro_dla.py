"""The dla model against MAESTRO's KC-P runs (shared/reference/maestro/*_kcp_ws_pe*.csv).

Settings of those runs: PEs from the CSV, Vector Width 9, NoC 1024 elements/cycle
(8-bit elements here, so 1024 bytes), L1/L2 large enough (the CSVs' L1/L2
columns are MAESTRO's requirements; MAESTRO has no DRAM, so DRAM is made free).

* ``step_timing: maestro2020`` reproduces MAESTRO 2020's per-step delay (compute +
  un-overlapped cluster ingress); the lead's criteria apply: total runtime within
  +-15 % and per-layer Spearman rank correlation >= 0.9.
* ``step_timing: pipelined`` (the default, a PE that overlaps operand delivery
  with compute) is a deliberate difference: per layer it is never slower than
  MAESTRO, ranks the layers the same way (Spearman >= 0.9), and its total is
  about half of MAESTRO's (1x1 steps take 1 cycle instead of MAESTRO's 2, 3x3
  steps 1 instead of 3; see /work/notes/dla_readme.md).
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
# pipelined / MAESTRO total: measured 0.516, 0.526, 0.504 (ResNet-50 256/1024 PEs, MobileNetV2).
# Expected ~0.5: MAESTRO spends 2 cycles per 1x1 step and 3 per 3x3 step where a pipelined
# 9-lane PE spends 1; the band allows the mix of layers, not a fit.
PIPELINED_RATIO = (0.45, 0.60)


def read_maestro(reference, csv_name):
    frame = pd.read_csv(reference / "maestro" / csv_name, skipinitialspace=True)
    frame.columns = [c.strip() for c in frame.columns]
    frame["Layer Number"] = frame["Layer Number"].str.strip()
    return frame


def dla_run(reference, csv_name, layers_name, step_timing):
    ref = read_maestro(reference, csv_name)
    net = load_maestro_layers(reference / "maestro" / layers_name)
    assert [l.name.split("#")[0] for l in net.layers] == list(ref["Layer Number"])  # duplicates get "#2"
    acc = hwsim.load_template(
        "dla", pes=int(ref["NumPEs"].iloc[0]), vector_width=int(ref["Vector Width"].iloc[0]),
        noc_bw_bytes_per_cycle=float(ref["NoC BW (Elements/cycle)"].iloc[0]), mac_bits=8,
        l1_bytes=int(ref["L1 SRAM Size (Bytes)"].max()) * 4, l2_bytes=1 << 26,
        dram_bw_bytes_per_cycle=1e9, step_timing=step_timing)
    ours = hwsim.evaluate(net, acc).layers["latency_cycles"].to_numpy()
    return ours, ref["Runtime (Cycles)"].to_numpy(dtype=float)


@pytest.mark.parametrize("csv_name,layers_name", RUNS)
def test_maestro2020_step_timing_matches_maestro(reference, csv_name, layers_name):
    ours, theirs = dla_run(reference, csv_name, layers_name, "maestro2020")
    assert abs(ours.sum() / theirs.sum() - 1) <= TOTAL_TOLERANCE
    assert spearmanr(ours, theirs).correlation >= SPEARMAN_MIN


@pytest.mark.parametrize("csv_name,layers_name", RUNS)
def test_pipelined_pe_ranks_layers_like_maestro(reference, csv_name, layers_name):
    ours, theirs = dla_run(reference, csv_name, layers_name, "pipelined")
    assert spearmanr(ours, theirs).correlation >= SPEARMAN_MIN
    # Overlapping the ingress can only help; allowance: our fill/drain (first weights and
    # inputs: at most 1024 PEs x 49 taps x 2 bytes / 1024 B/cycle = 98 cycles, + adder tree 7).
    assert np.all(ours <= theirs + 105)
    ratio = ours.sum() / theirs.sum()
    assert PIPELINED_RATIO[0] <= ratio <= PIPELINED_RATIO[1]


def test_conv1_steps_as_in_maestro(reference):
    """CONV1 (C=3, 7x7, stride 2): 16 K steps x 109*109 pixels x (ceil(49/9) + ceil(3*2*49/1024))
    = 16 x 11881 x 7 = 1,330,672 compute cycles; MAESTRO reports 1,330,673."""
    ours, theirs = dla_run(reference, *RUNS[0], "maestro2020")
    assert theirs[0] == 1330673
    assert abs(ours[0] / theirs[0] - 1) < 1e-4   # our fill/drain adds 26 cycles to MAESTRO's 1
