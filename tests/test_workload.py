"""Layers, networks and the MAESTRO loader: shapes, op/byte counts, and bad inputs.

Sources: the conv output size is PyTorch's (torch.nn.Conv2d docs, "Shape" section):
``H_out = floor((H_in + 2*padding - dilation*(kernel - 1) - 1) / stride + 1)``. MAESTRO's
layer files and outputs are maestro-project/maestro (MIT), copied to
../shared/reference/maestro/.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwsim import Network, WorkloadError, zoo
from hwsim.workload import (Layer, conv2d, conv_output_size, depthwise_conv2d, eltwise, global_avgpool,
                            load_maestro_layers, matmul, pool2d, tensor_bits)
from refdata import REFERENCE

MAESTRO = REFERENCE / "maestro"


# -- conv shapes ----------------------------------------------------------------------

@pytest.mark.parametrize("size,kernel,stride,padding,dilation,expected", [
    (224, 7, 2, 3, 1, 112),     # ResNet conv1
    (227, 11, 4, 0, 1, 55),     # AlexNet CONV1
    (56, 3, 1, 1, 1, 56),       # same-padded 3x3
    (56, 3, 2, 1, 1, 28),       # strided 3x3
    (56, 3, 1, 2, 2, 56),       # dilated 3x3, padding = dilation keeps the size
    (10, 3, 2, 0, 1, 4),        # floor((10 - 3) / 2) + 1 = 4 (floor drops the last row)
    (7, 3, 3, 0, 2, 1),         # effective kernel 5 on 7, stride 3
    (5, 5, 1, 0, 1, 1),         # kernel = input
])
def test_conv_output_size_pytorch_cases(size, kernel, stride, padding, dilation, expected):
    assert conv_output_size(size, kernel, stride, padding, dilation) == expected
    layer = conv2d("c", 4, 8, (size, size), kernel, stride, padding, dilation=dilation)
    assert (layer.p, layer.q) == (expected, expected)


def test_conv_rectangular_dimensions():
    layer = conv2d("c", 3, 16, in_size=(20, 31), kernel=(3, 5), stride=(1, 2), padding=(1, 0),
                   dilation=(2, 1))
    # rows: (20 + 2 - 2*2 - 1) // 1 + 1 = 18; cols: (31 - 4 - 1) // 2 + 1 = 14
    assert (layer.p, layer.q, layer.r, layer.s) == (18, 14, 3, 5)
    assert layer.macs == 16 * 3 * 18 * 14 * 3 * 5


@st.composite
def conv_shapes(draw):
    g = draw(st.integers(1, 4))
    c = g * draw(st.integers(1, 8))
    k = g * draw(st.integers(1, 8))
    n = draw(st.integers(1, 4))
    h, w = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    # the largest kernel whose dilated extent d*(r-1)+1 fits the padded input
    r = draw(st.integers(1, max(1, (h + 2 * ph - 1) // dh + 1)))
    s = draw(st.integers(1, max(1, (w + 2 * pw - 1) // dw + 1)))
    return dict(n=n, g=g, c=c, k=k, h=h, w=w, r=r, s=s, sh=sh, sw=sw, ph=ph, pw=pw, dh=dh, dw=dw)


@settings(max_examples=200, deadline=None)
@given(conv_shapes())
def test_conv2d_size_and_macs_property(d):
    layer = conv2d("c", d["c"], d["k"], (d["h"], d["w"]), (d["r"], d["s"]), (d["sh"], d["sw"]),
                   (d["ph"], d["pw"]), d["g"], batch=d["n"], dilation=(d["dh"], d["dw"]))
    # PyTorch's formula, written with true division and floor
    p = math.floor((d["h"] + 2 * d["ph"] - d["dh"] * (d["r"] - 1) - 1) / d["sh"] + 1)
    q = math.floor((d["w"] + 2 * d["pw"] - d["dw"] * (d["s"] - 1) - 1) / d["sw"] + 1)
    assert (layer.p, layer.q) == (p, q)
    assert p >= 1 and q >= 1
    assert layer.macs == d["n"] * d["k"] * (d["c"] // d["g"]) * p * q * d["r"] * d["s"]
    assert layer.weight_elems == d["k"] * (d["c"] // d["g"]) * d["r"] * d["s"]


# -- grouped, depthwise, matmul, pool, eltwise --------------------------------------------

def test_grouped_conv_macs_and_weights():
    # AlexNet CONV2 (two towers): 256 filters over 48 of the 96 channels each
    layer = conv2d("conv2", 96, 256, (27, 27), 5, padding=2, groups=2, batch=4)
    assert (layer.c_per_group, layer.k_per_group) == (48, 128)
    assert layer.macs == 4 * 256 * 48 * 27 * 27 * 25 == 895_795_200
    assert layer.weight_elems == 256 * 48 * 25


def test_depthwise_conv():
    layer = depthwise_conv2d("dw", 32, (112, 112), 3, stride=2, padding=1, batch=2)
    assert (layer.groups, layer.c, layer.k, layer.c_per_group) == (32, 32, 32, 1)
    assert (layer.p, layer.q) == (56, 56)
    assert layer.macs == 2 * 32 * 56 * 56 * 9
    assert layer.weight_elems == 32 * 9
    assert layer.op == "depthwise_conv2d" and layer.is_mac


def test_matmul_mapping():
    layer = matmul("fc", m=3, n=5, k=7, batch=2, bits=16)
    assert (layer.p, layer.q, layer.c, layer.k, layer.r, layer.s, layer.n) == (3, 1, 7, 5, 1, 1, 2)
    assert layer.macs == 2 * 3 * 7 * 5
    assert (layer.input_elems, layer.weight_elems, layer.output_elems) == (2 * 3 * 7, 7 * 5, 2 * 3 * 5)
    assert layer.compulsory_bytes == (42 + 35 + 30) * 2


def test_pool_counts():
    layer = pool2d("pool", 3, (4, 4), 2, batch=2, bits=16)        # stride defaults to the kernel
    assert (layer.p, layer.q, layer.stride) == (2, 2, (2, 2))
    assert layer.op == "maxpool" and not layer.is_mac and layer.macs == 0 and layer.weight_elems == 0
    assert layer.vector_ops == 2 * 3 * 2 * 2 * 4                  # one compare per window element
    assert (layer.read_bytes, layer.write_bytes) == (2 * 3 * 16 * 2, 2 * 3 * 4 * 2)
    assert layer.compulsory_bytes == 192 + 48
    avg = pool2d("avg", 8, (13, 13), 3, stride=2, kind="avg")
    assert (avg.op, avg.p) == ("avgpool", 6)
    gap = global_avgpool("gap", 2048, (7, 7))
    assert (gap.p, gap.q, gap.vector_ops, gap.read_bytes, gap.write_bytes) == (1, 1, 2048 * 49, 2048 * 49, 2048)


def test_eltwise_counts():
    add = eltwise("add", 64, (56, 56), batch=2, bits=8)
    elems = 2 * 64 * 56 * 56
    assert (add.op, add.vector_ops, add.read_bytes, add.write_bytes) == ("add", elems, 2 * elems, elems)
    three = eltwise("sum3", 4, 5, op="mul", inputs=3, bits=32)
    assert (three.op, three.vector_ops, three.read_bytes, three.write_bytes) == ("mul", 2 * 100, 3 * 100 * 4, 400)
    assert three.macs == 0 and not three.is_mac


# -- precision per tensor ----------------------------------------------------------------------

MIXED = {"input": 8, "weight": 4, "output": 16}


def test_int_bits_set_every_tensor():
    layer = conv2d("c", 3, 8, (5, 5), 3, bits=16)
    assert (layer.input_bits, layer.weight_bits, layer.output_bits, layer.bits) == (16, 16, 16, 16)
    assert tensor_bits(8, "here") == {"input_bits": 8, "weight_bits": 8, "output_bits": 8}


@pytest.mark.parametrize("build", [
    lambda bits: conv2d("c", 3, 8, (5, 5), 3, bits=bits),
    lambda bits: depthwise_conv2d("dw", 8, (5, 5), bits=bits),
    lambda bits: matmul("mm", 3, 5, 7, bits=bits),
    lambda bits: pool2d("p", 8, (4, 4), 2, bits=bits),
    lambda bits: global_avgpool("g", 8, (4, 4), bits=bits),
    lambda bits: eltwise("e", 8, (4, 4), bits=bits),
])
def test_constructors_take_a_bits_mapping(build):
    layer = build(MIXED)
    assert (layer.input_bits, layer.weight_bits, layer.output_bits) == (8, 4, 16)
    assert layer.bits == 8                                   # MAC operands: max(input, weight)
    assert layer.shape_key() != build(8).shape_key()          # all three widths are in the key
    assert build({"input": 8, "weight": 8, "output": 8}) == build(8)


def test_mac_precision_is_the_wider_operand():
    assert matmul("mm", 3, 5, 7, bits={"input": 4, "weight": 16, "output": 8}).bits == 16
    assert matmul("mm", 3, 5, 7, bits={"input": 16, "weight": 4, "output": 32}).bits == 16


def test_mixed_compulsory_bytes_by_hand():
    # inputs 2*3*7 = 42 at 1 B, weights 7*5 = 35 at 0.5 B, outputs 2*3*5 = 30 at 2 B
    layer = matmul("fc", m=3, n=5, k=7, batch=2, bits=MIXED)
    assert (layer.input_bytes_per_elem, layer.weight_bytes_per_elem, layer.output_bytes_per_elem) == (1, 0.5, 2)
    assert layer.compulsory_bytes == 42 + 17.5 + 60
    conv = conv2d("c", 2, 4, (5, 5), 3, bits={"input": 16, "weight": 8, "output": 32})
    # inputs 2*5*5 = 50 at 2 B, weights 4*2*3*3 = 72 at 1 B, outputs 4*3*3 = 36 at 4 B
    assert conv.compulsory_bytes == 100 + 72 + 144


def test_vector_layers_read_at_input_and_write_at_output_width():
    pool = pool2d("pool", 3, (4, 4), 2, batch=2, bits={"input": 16, "weight": 8, "output": 8})
    assert (pool.read_bytes, pool.write_bytes) == (2 * 3 * 16 * 2, 2 * 3 * 4 * 1)
    add = eltwise("add", 4, 5, inputs=3, bits={"input": 8, "weight": 8, "output": 32})
    assert (add.read_bytes, add.write_bytes) == (3 * 100, 100 * 4)
    assert add.compulsory_bytes == 300 + 400                # vector layers: their stated bytes


def test_zoo_takes_a_bits_mapping():
    net = zoo.resnet18(bits=MIXED)
    assert {(l.input_bits, l.weight_bits, l.output_bits) for l in net.layers} == {(8, 4, 16)}
    assert net.macs == zoo.resnet18().macs
    with pytest.raises(WorkloadError, match=r"network 'resnet18'.*'bits'.*unknown key 'psum'"):
        zoo.resnet18(bits={**MIXED, "psum": 32})


@pytest.mark.parametrize("bits,pattern", [
    ({"input": 8, "weight": 4, "output": 16, "psum": 32},
     r"'bits' = .*unknown key 'psum'.*'input', 'weight', 'output'"),
    ({"input": 8, "weight": 4}, r"'bits' = .*missing key 'output'"),
    ({"input": 8, "weight": 0, "output": 8}, r"'bits' = .*key 'weight' = 0: expected an integer >= 1"),
    ({"input": 8, "weight": 4.5, "output": 8}, r"'bits' = .*key 'weight' = 4.5"),
    ({"input": True, "weight": 8, "output": 8}, r"'bits' = .*key 'input' = True"),
    ("8", r"'bits' = '8': expected an integer >= 1 or a mapping"),
    (-8, r"'bits' = -8"),
])
def test_bad_bits_raise_workload_error(bits, pattern):
    for build in (lambda: conv2d("c", 3, 8, (5, 5), 3, bits=bits), lambda: matmul("c", 3, 5, 7, bits=bits),
                  lambda: pool2d("c", 8, (4, 4), 2, bits=bits), lambda: eltwise("c", 8, (4, 4), bits=bits)):
        with pytest.raises(WorkloadError, match=r"layer 'c': field " + pattern):
            build()


@pytest.mark.parametrize("field", ["input_bits", "weight_bits", "output_bits"])
def test_bad_tensor_width_names_its_field(field):
    with pytest.raises(WorkloadError, match=rf"'u'.*'{field}' = 0: expected an integer >= 1"):
        Layer("u", "matmul", 1, 1, 1, 1, 1, **{field: 0})


# -- bad layers -------------------------------------------------------------------------------

@pytest.mark.parametrize("build,pattern", [
    (lambda: conv2d("big", 3, 8, (5, 5), 7), r"'big'.*'kernel' = \(7, 7\).*padded input \(5, 5\)"),
    (lambda: conv2d("dil", 3, 8, (5, 5), 3, dilation=3), r"'dil'.*'kernel' = \(3, 3\)"),
    (lambda: conv2d("grp", 6, 8, (5, 5), 3, groups=4), r"'grp'.*'groups' = 4.*\(6\).*\(8\)"),
    (lambda: conv2d("zero", 3, 8, (0, 5), 3), r"'zero'.*'in_size' = 0"),
    (lambda: conv2d("neg", 3, 8, (5, 5), 3, padding=-1), r"'neg'.*'padding' = -1"),
    (lambda: conv2d("str", 3, 8, (5, 5), 3, stride=0), r"'str'.*'stride' = 0"),
    (lambda: conv2d("ker", 3, 8, (5, 5), 0), r"'ker'.*'kernel' = 0"),
    (lambda: conv2d("och", 3, 0, (5, 5), 3), r"'och'.*'k' = 0"),
    (lambda: conv2d("ich", -3, 8, (5, 5), 3), r"'ich'.*'c' = -3"),
    (lambda: conv2d("bat", 3, 8, (5, 5), 3, batch=0), r"'bat'.*'n' = 0"),
    (lambda: conv2d("bit", 3, 8, (5, 5), 3, bits=0), r"'bit'.*'bits' = 0"),
    (lambda: conv2d("pair", 3, 8, (5, 5, 5), 3), r"'pair'.*'in_size' = \(5, 5, 5\)"),
    (lambda: conv2d("op", 3, 8, (5, 5), 3, op="conv3d"), r"'op'.*'op' = 'conv3d'.*valid"),
    (lambda: Layer("u", "gelu", 1, 1, 1, 1, 1), r"'u'.*'op' = 'gelu'.*unknown op"),
    (lambda: matmul("mm", 0, 4, 4), r"'mm'.*'m' = 0"),
    (lambda: matmul("mm", 4, 4, -2), r"'mm'.*'k' = -2"),
    (lambda: pool2d("p", 8, (2, 2), 3), r"'p'.*'kernel' = \(3, 3\)"),
    (lambda: pool2d("p", 8, (4, 4), 2, kind="median"), r"'p'.*'kind' = 'median'"),
    (lambda: depthwise_conv2d("dw", 0, (8, 8)), r"'dw'.*= 0"),
    (lambda: Layer("", "add", 1, 1, 1, 1, 1), r"layer name ''"),
])
def test_bad_layers_raise_workload_error(build, pattern):
    with pytest.raises(WorkloadError, match=pattern):
        build()


# -- bad networks -------------------------------------------------------------------------------

def _chain():
    a = conv2d("a", 3, 8, (8, 8), 3, padding=1)
    b = conv2d("b", 8, 8, (8, 8), 3, padding=1)
    return a, b


def test_duplicate_layer_names():
    a, b = _chain()
    with pytest.raises(WorkloadError, match=r"'layer.name' = 'a'.*duplicate"):
        Network("net", [a, b.renamed("a")])


def test_cycle():
    a, b = _chain()
    with pytest.raises(WorkloadError, match=r"'net'.*'edges'.*cycle"):
        Network("net", [a, b], [("a", "b"), ("b", "a")])


def test_edge_to_unknown_layer():
    a, b = _chain()
    with pytest.raises(WorkloadError, match=r"'edge' = \('a', 'zz'\).*no layer named 'zz'"):
        Network("net", [a, b], [("a", "zz")])


def test_shape_mismatch_channels():
    a = conv2d("a", 3, 8, (8, 8), 3, padding=1)
    b = conv2d("b", 16, 8, (8, 8), 3, padding=1)
    with pytest.raises(WorkloadError, match=r"layer 'b' field 'in_channels' = 16.*\['a'\] give 8"):
        Network.sequential("net", [a, b])
    Network.sequential("net", [a, b], check_shapes=False)       # the check can be switched off


def test_shape_mismatch_size():
    a = conv2d("a", 3, 8, (8, 8), 3, stride=2, padding=1)       # -> 4x4
    b = conv2d("b", 8, 8, (8, 8), 3, padding=1)
    with pytest.raises(WorkloadError, match=r"layer 'b' field 'in_size' = \(8, 8\).*\[\(4, 4\)\]"):
        Network.sequential("net", [a, b])


def test_concat_adds_channels_and_eltwise_needs_equal_channels():
    a, b = _chain()
    cat = conv2d("cat", 16, 4, (8, 8), 1)
    Network("ok", [a, b, cat], [("a", "b"), ("a", "cat"), ("b", "cat")])   # 8 + 8 = 16 channels
    bad = eltwise("add", 16, (8, 8))
    with pytest.raises(WorkloadError, match=r"layer 'add' field 'channels' = 16.*give \[8\]"):
        Network("bad", [a, b, bad], [("a", "b"), ("a", "add"), ("b", "add")])


def test_matmul_element_count_along_edge():
    a = conv2d("a", 3, 8, (8, 8), 3, stride=2, padding=1)       # 8 x 4 x 4 = 128 elements
    Network.sequential("ok", [a, matmul("fc", 1, 10, 128)])
    with pytest.raises(WorkloadError, match=r"layer 'fc' field 'input elements' = 100.*give 128"):
        Network.sequential("bad", [a, matmul("fc", 1, 10, 100)])


def test_unknown_zoo_name():
    with pytest.raises(WorkloadError, match=r"'network' = 'nope'"):
        zoo.get_network("nope")


# -- MAESTRO layer files -------------------------------------------------------------------------

def _maestro_output_macs(path: Path) -> list[int]:
    with path.open() as f:
        rows = list(csv.reader(f))
    column = [h.strip() for h in rows[0]].index("Num MACs")
    return [int(row[column]) for row in rows[1:]]


def test_maestro_resnet50_shapes(reference):
    net = load_maestro_layers(MAESTRO / "Resnet50_layers.csv")
    assert net.name == "Resnet50"
    assert len(net) == 66                                      # 66 data rows in the file
    assert len({l.name for l in net.layers}) == 66             # names made unique (see below)
    conv1 = net["CONV1"]
    # MAESTRO never pads: (224 - 7) // 2 + 1 = 109, not PyTorch's 112
    assert (conv1.p, conv1.q, conv1.padding) == (109, 109, (0, 0))
    assert (net["CONV2_1_2"].in_size, net["CONV2_1_2"].p) == ((56, 56), 54)
    res = net["CONV2_1_Residual"]                              # a residual add written as DSCONV
    assert (res.op, res.groups, res.c, res.k, res.r) == ("depthwise_conv2d", 256, 256, 256, 1)
    assert (net["FC1000"].r, net["FC1000"].p) == (7, 1)


def test_maestro_resnet50_macs_equal_maestro_output(reference):
    net = load_maestro_layers(MAESTRO / "Resnet50_layers.csv")
    reported = _maestro_output_macs(MAESTRO / "Resnet50_kcp_ws_pe256.csv")
    assert sum(reported) == 3_076_901_568
    assert [l.macs for l in net.layers] == reported            # exact, layer by layer
    assert net.macs == 3_076_901_568


def test_maestro_mobilenet_v2(reference):
    net = load_maestro_layers(MAESTRO / "MobileNetV2_layers.csv")
    assert len(net) == 56 and len({l.name for l in net.layers}) == 56
    dw = net["Bottleneck1_1_2"]                                # DSCONV row: K = 1 per channel
    assert (dw.op, dw.groups, dw.c, dw.k, dw.c_per_group, dw.p) == ("depthwise_conv2d", 32, 32, 32, 1, 110)
    assert dw.macs == 32 * 110 * 110 * 9
    assert (net["CONV1"].p, net["CONV1"].r) == (112, 1)        # MAESTRO's file: 1x1 stride-2 CONV1
    reported = _maestro_output_macs(MAESTRO / "MobileNetV2_kcp_ws_pe256.csv")
    assert [l.macs for l in net.layers] == reported
    assert net.macs == sum(reported) == 443_407_792


def test_maestro_vgg16(reference):
    net = load_maestro_layers(MAESTRO / "vgg16_layers.csv")
    assert len(net) == 13 and net["CONV1"].p == 222           # (224 - 3) + 1, unpadded


HEADER = "layer,type,stride,K,C,R,S,Y,X,N\n"


@pytest.mark.parametrize("row,pattern", [
    ("L1,FC,1,8,3,3,3,8,8,1", r"row 2: field 'type' = 'FC': expected CONV or DSCONV"),
    ("L1,CONV,1,abc,3,3,3,8,8,1", r"row 2: field 'K' = 'abc': expected an integer"),
    ("L1,CONV,1,8,3,3,3,8,8.5,1", r"row 2: field 'X' = '8.5': expected an integer"),
    ("L1,CONV,0,8,3,3,3,8,8,1", r"row 2: field 'stride' = 0: expected an integer >= 1"),
    ("L1,CONV,1,8,3,3,3,8,8", r"row 2: field 'N' = '': expected an integer"),
    ("L1,CONV,1,8,3,9,9,8,8,1", r"'L1'.*'kernel' = \(9, 9\)"),
])
def test_malformed_maestro_csv(tmp_path, row, pattern):
    path = tmp_path / "bad_layers.csv"
    path.write_text(HEADER + row + "\n")
    with pytest.raises(WorkloadError, match=pattern):
        load_maestro_layers(path)


def test_maestro_missing_column_and_empty_file(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("layer,type,stride,K,C,R,S,Y,X\nL1,CONV,1,8,3,3,3,8,8\n")
    with pytest.raises(WorkloadError, match=r"\['N'\] missing"):
        load_maestro_layers(path)
    path.write_text(HEADER)
    with pytest.raises(WorkloadError, match=r"no layers"):
        load_maestro_layers(path)
    with pytest.raises(WorkloadError, match=r"cannot read"):
        load_maestro_layers(tmp_path / "missing.csv")
