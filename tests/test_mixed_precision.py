"""Precision per tensor (input, weight, output bits) through every dataflow model.

The models convert each tensor's words to bytes and energy at that tensor's width
(accesses stay counted in words) and charge MACs at ``bits`` = max(input, weight).
Equal widths must reproduce the single-``bits`` costs exactly.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import hwsim
from hwsim.dataflow import LayerBatch
from hwsim.workload import conv2d, depthwise_conv2d, eltwise, matmul, pool2d

MIXED = {"input": 8, "weight": 4, "output": 16}
# Every physical template (peer emulations, maestro_*, cost MAESTRO's layer tables only:
# tests/validation/test_maestro_*.py).
PHYSICAL = [n for n in hwsim.template_names() if not hwsim.load_template(n).dataflow.startswith("maestro")]
CONFIGS = [(name, {}) for name in PHYSICAL] + [("tpu", {"dataflow": "ws"}), ("tpu", {"dataflow": "is"})]
IDS = [name + "".join(f"-{v}" for v in over.values()) for name, over in CONFIGS]


def layers(bits):
    """Small layers of every kind: 3x3, 1x1, 7x7/2 and depthwise convs, an FC, two vector layers."""
    return [conv2d("c3", 64, 64, (56, 56), 3, padding=1, bits=bits),
            conv2d("c1", 256, 64, (56, 56), 1, bits=bits),
            conv2d("c7", 3, 64, (224, 224), 7, 2, 3, bits=bits),
            depthwise_conv2d("dw", 32, (28, 28), 3, padding=1, bits=bits),
            matmul("fc", 1, 1000, 2048, bits=bits),
            pool2d("pool", 64, (56, 56), 2, bits=bits),
            eltwise("add", 64, (28, 28), bits=bits)]


def frame(layer_list, name, overrides):
    net = hwsim.Network("t", layer_list, [])
    return hwsim.evaluate_many(net, [hwsim.load_template(name, **overrides)])


def cost_columns(df):
    """Every traffic (``*_bytes``) and energy column."""
    return [c for c in df.columns if (c.endswith("_bytes") or c.startswith("energy")) and df[c].dtype.kind == "f"]


# -- LayerBatch ------------------------------------------------------------------------------

def test_layer_batch_carries_each_width():
    batch = LayerBatch.from_layers(layers(MIXED) + layers(16)[:1])
    assert batch.input_bits.tolist() == [[8] * 7 + [16]]
    assert batch.weight_bits.tolist() == [[4] * 7 + [16]]
    assert batch.output_bits.tolist() == [[16] * 7 + [16]]
    assert batch.bits.tolist() == [[8] * 7 + [16]]           # MAC precision = max(input, weight)
    expected = [l.compulsory_bytes for l in layers(MIXED) + layers(16)[:1]]
    assert batch.compulsory_bytes[0].tolist() == expected


def test_mac_words_scale_each_tensor_by_its_width():
    batch = LayerBatch.from_layers([matmul("mm", 3, 5, 7, bits=MIXED)])    # MAC words are 8 bits
    assert batch.mac_words(inputs=10.0, weights=10.0, outputs=10.0)[0, 0] == 10 + 5 + 20
    assert batch.tensor_bytes(inputs=10.0, weights=10.0, outputs=10.0)[0, 0] == 10 + 5 + 20
    pool = LayerBatch.from_layers([pool2d("p", 3, (4, 4), 2, bits={"input": 16, "weight": 16, "output": 8})])
    assert pool.vector_words[0, 0] == 96 / 2 + 12 / 1                       # read 96 B at 2 B, write 12 B at 1 B


# -- equal widths: the single-bits path, exactly -----------------------------------------------

@pytest.mark.parametrize("name,overrides", CONFIGS, ids=IDS)
def test_equal_widths_are_the_single_bits_path(name, overrides):
    for bits in (8, 16):
        mapping = {"input": bits, "weight": bits, "output": bits}
        pd.testing.assert_frame_equal(frame(layers(mapping), name, overrides), frame(layers(bits), name, overrides),
                                      check_exact=True)


# -- narrower weights -------------------------------------------------------------------------

@pytest.mark.parametrize("name,overrides", CONFIGS, ids=IDS)
def test_4_bit_weights_move_fewer_dram_bytes(name, overrides):
    base = frame(layers(8), name, overrides)
    narrow = frame(layers({"input": 8, "weight": 4, "output": 8}), name, overrides)
    mac = base["op"].isin(["conv2d", "depthwise_conv2d", "matmul"]).to_numpy()
    assert (narrow["dram_bytes"][mac] < base["dram_bytes"][mac]).all()
    assert (narrow["dram_bytes"][~mac] == base["dram_bytes"][~mac]).all()     # vector layers: no weights
    for column in cost_columns(base):
        assert (narrow[column] <= base[column] * (1 + 1e-12)).all(), column
    assert (narrow["energy_mac_pj"] == base["energy_mac_pj"]).all()          # MACs stay 8 x 8 bits


# Halving the weight width never increases latency on any template, over every MAC layer
# of ResNet-50 and MobileNetV2: the smaller weights fit at least as well everywhere. Nor,
# on the templates in MONOTONE, any level's traffic or energy. It does not hold for them on
# the models that choose their mapping by bounded latency first (dla; rs and eyeriss): a
# narrower weight can make a slightly faster tile or mapping feasible that moves more of
# some tensor (e.g. rs: more filters in flight need more psum space in the GLB); their
# DRAM floor and MAC energy are tested below instead.
LATENCY_FIRST = ("dla", "rs", "eyeriss")
MONOTONE = [c for c in CONFIGS if c[0] not in LATENCY_FIRST]


@pytest.fixture(scope="module")
def zoo_layers():
    seen, out = set(), []
    for net in (hwsim.zoo.resnet50(), hwsim.zoo.mobilenet_v2()):
        for layer in net.layers:
            if layer.is_mac and layer.shape_key() not in seen:
                seen.add(layer.shape_key())
                out.append(layer.renamed(f"{net.name}.{layer.name}"))
    return out


def _at_widths(zoo_layers, wide, weight_bits):
    return [replace(l, input_bits=wide[0], weight_bits=weight_bits, output_bits=wide[2]) for l in zoo_layers]


WIDTHS = (((8, 8, 8), 4), ((16, 16, 16), 8), ((16, 16, 32), 8))


@pytest.mark.parametrize("name,overrides", CONFIGS, ids=IDS)
def test_halving_weight_width_never_increases_latency(name, overrides, zoo_layers):
    for wide, narrow_bits in WIDTHS:
        base = frame(_at_widths(zoo_layers, wide, wide[1]), name, overrides)
        narrow = frame(_at_widths(zoo_layers, wide, narrow_bits), name, overrides)
        assert (narrow["latency_cycles"] <= base["latency_cycles"] * (1 + 1e-12)).all(), wide


@pytest.mark.parametrize("name,overrides", MONOTONE, ids=[IDS[CONFIGS.index(c)] for c in MONOTONE])
def test_halving_weight_width_never_increases_costs(name, overrides, zoo_layers):
    for wide, narrow_bits in WIDTHS:
        base = frame(_at_widths(zoo_layers, wide, wide[1]), name, overrides)
        narrow = frame(_at_widths(zoo_layers, wide, narrow_bits), name, overrides)
        for column in cost_columns(base):
            assert (narrow[column] <= base[column] * (1 + 1e-12)).all(), (wide, column)


@pytest.mark.parametrize("overrides", [{}])
def test_dla_dram_traffic_never_increases_with_narrower_weights(overrides, zoo_layers):
    base = frame(zoo_layers, "dla", overrides)
    narrow = frame([replace(l, weight_bits=4) for l in zoo_layers], "dla", overrides)
    for column in ("dram_bytes", "energy_dram_pj", "energy_mac_pj"):
        assert (narrow[column] <= base[column]).all(), column


@pytest.mark.parametrize("overrides", [{}])
def test_rs_narrower_weights_keep_mac_energy_and_lower_the_dram_floor(overrides, zoo_layers):
    """rs is left out of the monotonicity test above (its mapping policy may trade DRAM bytes
    for cycles); what does hold: MACs are charged at max(input, weight) bits, unchanged here,
    so MAC energy is identical; the compulsory DRAM traffic (each tensor once at its width)
    drops by exactly the weight bytes saved, and the model never moves less than it."""
    for wide, narrow_bits in (((8, 8, 8), 4), ((16, 16, 16), 8), ((16, 16, 32), 8)):
        at = lambda w: [replace(l, input_bits=wide[0], weight_bits=w, output_bits=wide[2]) for l in zoo_layers]
        base_layers, narrow_layers = at(wide[1]), at(narrow_bits)
        base, narrow = frame(base_layers, "rs", overrides), frame(narrow_layers, "rs", overrides)
        np.testing.assert_array_equal(narrow["energy_mac_pj"], base["energy_mac_pj"])
        floor_base = np.array([l.compulsory_bytes for l in base_layers])
        floor_narrow = np.array([l.compulsory_bytes for l in narrow_layers])
        saved = np.array([l.weight_elems * (wide[1] - narrow_bits) / 8 for l in base_layers])
        np.testing.assert_array_equal(floor_base - floor_narrow, saved)
        assert (narrow["dram_bytes"].to_numpy() >= floor_narrow * (1 - 1e-12)).all(), wide
        assert (base["dram_bytes"].to_numpy() >= floor_base * (1 - 1e-12)).all(), wide


# -- per-tensor widths where the model keeps tensors apart ---------------------------------------

def test_systolic_srams_hold_words_of_their_operand():
    # c3 on the TPU: every operand fits its SRAM at 8 and at 4 bits, so the words moved are
    # the same and the filter SRAM moves half the bytes; ifmap and ofmap are untouched.
    layer = layers(8)[0]
    base = frame([layer], "tpu", {})
    narrow = frame([replace(layer, weight_bits=4)], "tpu", {})
    for level in ("ifmap_sram", "filter_sram", "ofmap_sram", "dram"):
        assert (narrow[f"{level}_accesses"] == base[f"{level}_accesses"]).all()
    assert (narrow["filter_sram_bytes"] == base["filter_sram_bytes"] / 2).all()
    assert (narrow["energy_filter_sram_pj"] == base["energy_filter_sram_pj"] / 2).all()
    for level in ("ifmap_sram", "ofmap_sram"):
        assert (narrow[f"{level}_bytes"] == base[f"{level}_bytes"]).all()
    weights = layer.weight_elems
    assert (base["dram_bytes"] - narrow["dram_bytes"] == weights / 2).all()


@pytest.mark.parametrize("name", ["a100", "h100"])
def test_roofline_moves_compulsory_bytes_per_tensor_and_picks_precision_from_operands(name):
    mm = matmul("mm", 4096, 4096, 4096, bits={"input": 8, "weight": 16, "output": 16})
    row = frame([mm], name, {}).iloc[0]
    assert row["dram_bytes"] == mm.input_elems * 1 + mm.weight_elems * 2 + mm.output_elems * 2
    assert row["dram_accesses"] == mm.input_elems + mm.weight_elems + mm.output_elems
    acc = hwsim.load_template(name)
    assert row["peak_flops_per_s"] == acc["peak_fp16_flops_per_s"]            # bits = max(8, 16)
    int8 = frame([replace(mm, weight_bits=4, output_bits=32)], name, {}).iloc[0]
    assert int8["peak_flops_per_s"] == acc["peak_int8_ops_per_s"]            # bits = max(8, 4)


def test_wider_outputs_never_speed_a_layer_up():
    """Wider outputs (partial sums) are more bytes at every level: no layer gets
    faster, and each still moves at least its compulsory traffic. (A model that picks
    its tile by latency may move *fewer* DRAM bytes at a wider width, trading them for
    cycles, so DRAM bytes themselves need not grow.)"""
    base = layers(8)[:5]
    wide = [replace(l, output_bits=32) for l in base]
    floor = np.array([l.compulsory_bytes for l in wide])
    for name, overrides in CONFIGS:
        a, b = frame(base, name, overrides), frame(wide, name, overrides)
        assert (b["latency_cycles"] >= a["latency_cycles"] * (1 - 1e-12)).all(), name
        assert (b["dram_bytes"].to_numpy() >= floor * (1 - 1e-12)).all(), name
        assert np.allclose(b["macs"], a["macs"])
