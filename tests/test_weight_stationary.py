"""Hand-worked cases for the dla (weight-stationary, KC-P) model."""

import numpy as np
import pytest

import hwsim
from hwsim.dataflow import weight_stationary as ws
from hwsim.dataflow.base import LayerBatch
from hwsim.errors import MappingError, TemplateError
from hwsim.evaluate import _group_configs
from hwsim.workload import conv2d, depthwise_conv2d, pool2d

TINY = dict(pes=4, cluster_size=2, vector_width=1, l1_bytes=1024, l2_bytes=1 << 20,
            noc_bw_bytes_per_cycle=16, dram_bw_bytes_per_cycle=1e6, mac_bits=8)


def run(layer, **params):
    accs = [hwsim.load_template("dla", **{**TINY, **params})]
    (_, configs), = list(_group_configs(accs))
    batch = LayerBatch.from_layers([layer])
    return ws.cost(batch, configs)


def tiny_conv():
    # C=4 -> K=4, 4x4 input, 3x3 filter, no padding: P = Q = 2, 8-bit (1 byte per element)
    return conv2d("tiny", 4, 4, (4, 4), kernel=3, bits=8)


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
    Latency: NoC 352 / 16 = 22 < 144 -> compute bound; fill/drain = first weights and
    inputs ceil(2 * 36 / 16) = 5 + adder tree log2(2) = 1 + 1 = 7  ->  151.
    """
    c = run(tiny_conv())
    assert c.compute_cycles[0, 0] == 144
    assert c.accesses["l1"][0, 0] == 1680
    assert c.accesses["l2"][0, 0] == 608
    assert c.accesses["dram"][0, 0] == 224
    assert c.traffic_bytes["l2"][0, 0] == 352
    assert c.latency_cycles[0, 0] == 151
    assert c.bound[0, 0] == 0
    assert c.extras["mapping_efficiency"][0, 0] == 1.0


def test_depthwise_bypasses_the_adder_tree():
    """8 channels, 3x3 on 4x4: no reduction, so every PE takes a channel:
    ceil(8 / 4 PEs) = 2 steps x 4 pixels x 9 taps = 72 cycles = 288 MACs / 4 PEs."""
    c = run(depthwise_conv2d("dw", 8, (4, 4), kernel=3, bits=8))
    assert c.compute_cycles[0, 0] == 72


def test_small_l1_splits_the_filter_window():
    """l1_bytes = 21 holds (21 - 1) // 4 = 5 taps: the 9-tap window runs as 2 chunks of 5,
    step = 2 * 5 = 10 cycles -> 2*2*4*10 = 160."""
    assert run(tiny_conv(), l1_bytes=21).compute_cycles[0, 0] == 160


def test_l1_smaller_than_one_weight_is_a_mapping_error():
    with pytest.raises(MappingError, match=r"layer 'tiny'.*'l1_bytes' = 4"):
        run(tiny_conv(), l1_bytes=4)


def test_l2_too_small_is_a_mapping_error():
    with pytest.raises(MappingError, match=r"layer 'tiny'.*'l2_bytes' = 8"):
        run(tiny_conv(), l2_bytes=8)


def test_vector_width_and_maestro_step_timing():
    """9 lanes: one step per pixel. maestro2020 adds the un-overlapped cluster ingress:
    2 active lanes x 2 (input + weight) x 9 taps = 36 bytes / 16 B/cycle -> 3 cycles,
    so step = 1 + 3 = 4 -> 2*2*4*4 = 64 (pipelined: 2*2*4*1 = 16)."""
    assert run(tiny_conv(), vector_width=9).compute_cycles[0, 0] == 16
    assert run(tiny_conv(), vector_width=9, step_timing="maestro2020").compute_cycles[0, 0] == 64


def test_more_pes_never_increase_compute_cycles():
    layers = [tiny_conv(), conv2d("c3", 3, 64, (32, 32), kernel=7, stride=2, bits=8),
              depthwise_conv2d("dw", 96, (14, 14), bits=8), conv2d("fc", 2048, 1000, (1, 1), bits=8)]
    accs = [hwsim.load_template("dla", pes=p) for p in (1, 2, 3, 16, 48, 64, 100, 128, 256, 1000, 1024, 4096)]
    (_, configs), = list(_group_configs(accs))
    cycles = ws.cost(LayerBatch.from_layers(layers), configs).compute_cycles
    assert np.all(np.diff(cycles, axis=0) <= 0)


def test_bounds_and_vector_layers():
    layers = [tiny_conv(), pool2d("pool", 16, (8, 8), 2, bits=8)]
    acc = hwsim.load_template("dla")
    (_, configs), = list(_group_configs([acc]))
    batch = LayerBatch.from_layers(layers)
    c = ws.cost(batch, configs)
    assert c.compute_cycles[0, 1] == np.ceil(batch.vector_ops[0, 1] / 256)
    for level in c.levels:
        assert np.all(c.latency_cycles >= c.traffic_bytes[level.name] / level.bw_bytes_per_cycle)
    assert np.all(c.traffic_bytes["dram"] >= batch.compulsory_bytes)
    assert np.all((c.utilization > 0) & (c.utilization <= 1))
    # one policy for vector layers in every model: each op costs the adder's share of a MAC
    assert c.energy_pj["mac"][0, 1] == pytest.approx(batch.vector_ops[0, 1] * configs.technology.vector_op_pj(8))
    assert c.energy_pj["noc"][0, 1] == 0


def test_l2_tiling_refetches_when_l2_is_small():
    """With a large L2 the DRAM traffic is compulsory; a small L2 forces re-reads."""
    layer = conv2d("big", 64, 128, (28, 28), kernel=3, bits=8)
    big = run(layer, l2_bytes=1 << 22).accesses["dram"][0, 0]
    assert big == LayerBatch.from_layers([layer]).compulsory_bytes[0, 0]
    assert run(layer, l2_bytes=16384).accesses["dram"][0, 0] > big


def test_bad_parameters():
    with pytest.raises(TemplateError, match="vector_width"):
        hwsim.load_template("dla", vector_width=0)
    with pytest.raises(TemplateError, match="step_timing"):
        hwsim.load_template("dla", step_timing="fast")
