"""Hand-worked cases for the dla (weight-stationary, KC-P) model, through the shared
cost stage (``stage.run(weight_stationary, layers, configs)``)."""

import numpy as np
import pytest

import hwsim
from hwsim.dataflow import stage
from hwsim.dataflow import weight_stationary as ws
from hwsim.dataflow.base import LayerBatch
from hwsim.errors import MappingError, TemplateError
from hwsim.evaluate import _group_configs
from hwsim.workload import conv2d, depthwise_conv2d, pool2d

TINY = dict(pes=4, cluster_size=2, vector_width=1, l1_bytes=1024, l2_bytes=1 << 20,
            noc_bw_bytes_per_cycle=16, dram_bw_bytes_per_cycle=1e6, mac_bits=8)


def configs_of(accs):
    (_, configs), = list(_group_configs(accs))
    return configs


def run(layer, **params):
    configs = configs_of([hwsim.load_template("dla", **{**TINY, **params})])
    return stage.run(ws, LayerBatch.from_layers([layer]), configs)


def tiny_conv(bits=8):
    # C=4 -> K=4, 4x4 input, 3x3 filter, no padding: P = Q = 2 (1 byte per element at 8 bits)
    return conv2d("tiny", 4, 4, (4, 4), kernel=3, bits=bits)


def test_tiny_conv_cycles_and_accesses_by_hand():
    """4 PEs in 2 clusters of 2 (cluster_size=2):
    K steps = ceil(4 / 2 clusters) = 2, C steps = ceil(4 / 2 lanes) = 2, pixels = 2*2 = 4,
    step = 3*3 taps / 1 lane = 9 cycles  ->  compute = 2*2*4*9 = 144 = 576 MACs / 4 PEs.
    L1: reads 2 * 576 (weight + input per MAC) = 1152;
        input fills: per PE per output row 9 (first window) + 1 slide * 3 new = 12,
        x 2 rows x 4 PEs x 2 K steps x 2 C steps = 384;  weight fills: 144 weights once;
        total 1152 + 384 + 144 = 1680.
    NoC in: 384 / multicast 2 (both clusters share an input) = 192 + 144 weights
            + partial sums read back 16 (2 C steps: 16 outputs written twice, read once) = 352;
    NoC out: 32 partial-sum writes.  L2 = 352 + 32 + DRAM 224 = 608.
    DRAM: everything fits in L2: inputs 64 + weights 144 + outputs 16 = 224 bytes.
    Latency: NoC 352 / 16 = 22 < 144 -> compute bound; prologue = the first weight of the
    4 active PEs and the first inputs of a cluster's 2 lanes, ceil(6 / 16) = 1 cycle; drain =
    adder tree log2(2) = 1 + 1  ->  144 + 1 + 2 = 147.
    """
    c = run(tiny_conv())
    assert c.compute_cycles[0, 0] == 144
    assert c.accesses["l1"][0, 0] == 1680
    assert c.accesses["l2"][0, 0] == 608
    assert c.accesses["dram"][0, 0] == 224
    assert c.traffic_bytes["l2"][0, 0] == 352
    assert c.latency_cycles[0, 0] == 147
    assert c.bound[0, 0] == 0
    assert c.extras["mapping_efficiency"][0, 0] == 1.0
    assert c.extras["image_input"][0, 0] == 0


def test_tiny_conv_energy_and_word_hops_by_hand():
    """Energy is the stage's: MACs at mac_bits, each level's words at its per-access energy,
    NoC word-hops (inputs multicast to 2 clusters: sqrt(4)/2 + 1 = 2 pitches; weights and
    partial sums unicast: 1 pitch)."""
    layer = tiny_conv()
    c = run(layer)
    tech = configs_of([hwsim.load_template("dla")]).technology
    assert c.energy_pj["mac"][0, 0] == pytest.approx(576 * tech.mac_pj(8))
    assert c.energy_pj["dram"][0, 0] == pytest.approx(224 * tech.dram_pj_per_access(8))
    hops = 192 * 2.0 + 144 * 1.0 + (16 + 32) * 1.0
    assert c.energy_pj["noc"][0, 0] == pytest.approx(hops * tech.noc_pj_per_hop(8))


def test_depthwise_bypasses_the_adder_tree():
    """8 channels, 3x3 on 4x4: no reduction, so every PE takes a channel:
    ceil(8 / 4 PEs) = 2 steps x 4 pixels x 9 taps = 72 cycles = 288 MACs / 4 PEs.
    (Folding the window into the C-unroll would take ceil(8 / 2 clusters) x ceil(9 / 2)
    x 4 = 80 cycles, so the direct mapping is kept.)"""
    c = run(depthwise_conv2d("dw", 8, (4, 4), kernel=3, bits=8))
    assert c.compute_cycles[0, 0] == 72
    assert c.extras["image_input"][0, 0] == 0


def test_small_l1_splits_the_filter_window_into_rows():
    """l1_bytes = 21 holds (21 - 1) // 4 = 5 taps: one 3-tap filter row per chunk, 3 chunks.
    With one MAC lane per PE a pixel still takes 9 cycles (compute 144), but every chunk
    sends its partial sums to L2: 16 outputs x 2 C steps x 3 chunks = 96 writes (32 with
    the whole window in L1)."""
    c = run(tiny_conv(), l1_bytes=21)
    assert c.compute_cycles[0, 0] == 144
    whole = run(tiny_conv())
    assert c.accesses["l2"][0, 0] - whole.accesses["l2"][0, 0] == (96 - 32) + (80 - 16)


def test_l1_smaller_than_one_weight_is_flagged():
    c = run(tiny_conv(), l1_bytes=4)
    assert not c.feasible[0, 0] and np.isinf(c.latency_cycles[0, 0])
    with pytest.raises(MappingError, match=r"layer 'tiny'.*'l1_bytes' = 4"):
        hwsim.evaluate(tiny_conv(), hwsim.load_template("dla", **{**TINY, "l1_bytes": 4}))


def test_l2_too_small_is_flagged():
    with pytest.raises(MappingError, match=r"layer 'tiny'.*'l2_bytes' = 8"):
        hwsim.evaluate(tiny_conv(), hwsim.load_template("dla", **{**TINY, "l2_bytes": 8}))
    rows = hwsim.evaluate_many(tiny_conv(), [hwsim.load_template("dla", **{**TINY, "l2_bytes": s}) for s in (8, 4096)])
    assert rows["feasible"].tolist() == [False, True]
    assert "l2_bytes" in rows["error"].iloc[0]


def test_vector_width():
    """9 lanes work on the 9-tap window: one cycle per pixel, 2*2*4*1 = 16."""
    assert run(tiny_conv(), vector_width=9).compute_cycles[0, 0] == 16


def test_datapath_width_is_enforced():
    """mac_bits = 3 on a 32-bit layer: each operand in ceil(32 / 3) = 11 slices, 11 * 11 =
    121 passes of the datapath; MAC energy is the 3-bit MAC's, times the passes."""
    layer = tiny_conv(bits=32)
    wide, narrow = run(layer, mac_bits=32), run(layer, mac_bits=3)
    assert wide.compute_cycles[0, 0] == 144
    assert narrow.compute_cycles[0, 0] == 144 * 121
    tech = configs_of([hwsim.load_template("dla")]).technology
    assert narrow.energy_pj["mac"][0, 0] == pytest.approx(576 * 121 * tech.mac_pj(3))
    assert narrow.latency_cycles[0, 0] > 100 * wide.latency_cycles[0, 0]


def test_image_input_folds_the_window_into_the_c_unroll():
    """ResNet-50 conv1 (3 -> 64, 7x7 / 2 on 224x224) on the default dla (256 PEs, clusters
    of 64): direct, 3 of 64 lanes busy: 16 K steps x 1 C step x 12,544 pixels x 49 taps =
    9,834,496 cycles. Folded (image-input mode): 3*7*7 = 147 products over the 64 lanes,
    ceil(147 / 64) = 3 steps of one cycle: 16 x 3 x 12,544 = 602,112 cycles."""
    layer = conv2d("conv1", 3, 64, (224, 224), kernel=7, stride=2, padding=3, bits=8)
    rows = hwsim.evaluate_many(layer, [hwsim.load_template("dla")])
    assert rows["compute_cycles"].iloc[0] == 602_112
    assert rows["image_input"].iloc[0] == 1
    assert rows["active_pes"].iloc[0] == pytest.approx(118_013_952 / 602_112)
    # a layer with a full cluster's channels keeps the direct mapping
    full = conv2d("c64", 64, 64, (56, 56), kernel=3, padding=1, bits=8)
    assert hwsim.evaluate_many(full, [hwsim.load_template("dla")])["image_input"].iloc[0] == 0


def test_more_pes_never_increase_compute_cycles():
    """Compute cycles never rise with PEs; nor does latency once a cluster is full
    (below ``cluster_size`` PEs the cluster, and its adder tree, grow with the PEs: a
    deeper tree drains a cycle later)."""
    layers = [tiny_conv(), conv2d("c3", 3, 64, (32, 32), kernel=7, stride=2, bits=8),
              depthwise_conv2d("dw", 96, (14, 14), bits=8), conv2d("fc", 2048, 1000, (1, 1), bits=8)]
    configs = configs_of([hwsim.load_template("dla", pes=p)
                          for p in (1, 2, 3, 16, 48, 64, 100, 128, 256, 1000, 1024, 4096)])
    costs = stage.run(ws, LayerBatch.from_layers(layers), configs)
    assert np.all(np.diff(costs.compute_cycles, axis=0) <= 0)
    full = costs.latency_cycles[5:]                               # 64 PEs and more
    assert np.all(np.diff(full, axis=0) <= 1e-9 * full[1:])


def test_bounds_and_vector_layers():
    layers = [tiny_conv(), pool2d("pool", 16, (8, 8), 2, bits=8)]
    configs = configs_of([hwsim.load_template("dla")])
    batch = LayerBatch.from_layers(layers)
    c = stage.run(ws, batch, configs)
    assert c.compute_cycles[0, 1] == np.ceil(batch.vector_ops[0, 1] / 256)
    assert 0 < c.utilization[0, 0] <= 1 and c.utilization[0, 1] == 0       # MAC-based
    assert 0 < c.extras["busy_fraction"][0, 1] <= 1
    assert c.energy_pj["mac"][0, 1] == pytest.approx(batch.vector_ops[0, 1] * configs.technology.vector_op_pj(8))
    assert c.energy_pj["noc"][0, 1] == 0 and c.accesses["l1"][0, 1] == 0


def test_l2_tiling_refetches_when_l2_is_small():
    """With a large L2 the DRAM traffic is compulsory; a small L2 forces re-reads."""
    layer = conv2d("big", 64, 128, (28, 28), kernel=3, bits=8)
    big = run(layer, l2_bytes=1 << 22).traffic_bytes["dram"][0, 0]
    assert big == LayerBatch.from_layers([layer]).compulsory_bytes[0, 0]
    assert run(layer, l2_bytes=16384).traffic_bytes["dram"][0, 0] > big


def test_strided_1x1_counts_every_input_row_in_the_tiling():
    """A stride-2 1x1 layer touches every other input row, but the DMA moves whole row
    bands: the tiling counts every row, as the compulsory traffic does, so DRAM bytes are
    exactly compulsory when one tile holds the layer and never below it otherwise (the old
    tiling counted half the rows, preferred many row tiles for it, and was clamped)."""
    layer = conv2d("down", 256, 512, (56, 56), kernel=1, stride=2, bits=8)
    compulsory = LayerBatch.from_layers([layer]).compulsory_bytes[0, 0]
    accs = [hwsim.load_template("dla", l2_bytes=8192 * 2 ** i) for i in range(14)]
    rows = hwsim.evaluate_many(layer, accs)
    assert (rows["dram_bytes"] >= compulsory).all()
    assert rows["dram_bytes"].iloc[-1] == compulsory
    assert (np.diff(rows["latency_cycles"]) <= 0).all()


def test_bad_parameters():
    with pytest.raises(TemplateError, match="vector_width"):
        hwsim.load_template("dla", vector_width=0)
    with pytest.raises(TemplateError, match="step_timing"):      # MAESTRO timing is the maestro_kcp model
        hwsim.load_template("dla", step_timing="maestro2020")
    with pytest.raises(TemplateError, match="pes"):
        hwsim.load_template("dla", pes=2**21)
