"""ONNX import (hwsim[onnx]): models built here with onnx.helper, checked against the zoo.

The ResNet / MobileNetV2 graphs are written as torchvision exports them (Conv, BN, Relu or
Clip, Add, MaxPool, GlobalAveragePool, Flatten, Gemm), independently of the zoo's code,
with the zoo's layer names; importing them must give the zoo's networks layer for layer.
Weights are initializers with dimensions only (the importer reads shapes, never values).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

import hwsim  # noqa: E402
from hwsim.errors import WorkloadError  # noqa: E402
from hwsim.workload import zoo  # noqa: E402
from hwsim.workload.loaders import load_network  # noqa: E402
from hwsim.workload.onnx_import import UnsupportedOpWarning  # noqa: E402

FLOAT = TensorProto.FLOAT


class Model:
    """Emits ONNX nodes the way a PyTorch export does; tracks each tensor's channels."""

    def __init__(self, in_shape=(3, 224, 224), batch="N"):
        self.nodes, self.inits = [], []
        self.channels = {"input": in_shape[0]}
        self.input = helper.make_tensor_value_info("input", FLOAT, [batch, *in_shape])

    def const(self, name, dims, values=None):
        if values is None:
            self.inits.append(TensorProto(name=name, data_type=FLOAT, dims=list(dims)))
        else:
            self.inits.append(helper.make_tensor(name, FLOAT, list(dims), values))
        return name

    def node(self, op, inputs, name, channels=None, **attrs):
        out = f"{name}:out"
        self.nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        self.channels[out] = self.channels[inputs[0]] if channels is None else channels
        return out

    def conv(self, name, x, out, k, stride=1, pad=0, groups=1, bn=True, act="relu", **attrs):
        w = self.const(f"{name}.weight", (out, self.channels[x] // groups, k, k))
        if "auto_pad" not in attrs:
            attrs["pads"] = [pad] * 4
        y = self.node("Conv", [x, w], name, out, kernel_shape=[k, k], strides=[stride] * 2, group=groups, **attrs)
        if bn:
            params = [self.const(f"{name}.bn.{p}", (out,), [1.0] * out) for p in ("scale", "bias", "mean", "var")]
            y = self.node("BatchNormalization", [y, *params], f"{name}.bn")
        return self.activation(f"{name}.act", y, act)

    def activation(self, name, x, act):
        if act == "relu":
            return self.node("Relu", [x], name)
        if act == "relu6":
            lo, hi = self.const(f"{name}.min", (), [0.0]), self.const(f"{name}.max", (), [6.0])
            return self.node("Clip", [x, lo, hi], name)
        return x

    def maxpool(self, name, x, k, stride, pad=0, **attrs):
        return self.node("MaxPool", [x], name, kernel_shape=[k, k], strides=[stride] * 2, pads=[pad] * 4, **attrs)

    def add(self, name, a, b, act=None):
        return self.activation(f"{name}.act", self.node("Add", [a, b], name), act)

    def fc(self, name, x, out, trans_b=1):
        flat = self.node("Flatten", [x], f"{name}.flatten", axis=1)
        dims = (out, self.channels[x]) if trans_b else (self.channels[x], out)
        return self.node("Gemm", [flat, self.const(f"{name}.weight", dims)], name, out, transB=trans_b)

    def save(self, path, output, initializers_as_inputs=False):
        weights = [helper.make_tensor_value_info(t.name, FLOAT, list(t.dims)) for t in self.inits]
        graph = helper.make_graph(self.nodes, path.stem, [self.input, *(weights if initializers_as_inputs else [])],
                                  [helper.make_tensor_value_info(output, FLOAT, None)], initializer=self.inits)
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
        return path


def resnet(path, blocks, bottleneck):
    m = Model()
    x = m.maxpool("maxpool", m.conv("conv1", "input", 64, 7, stride=2, pad=3), 3, 2, pad=1)
    for stage, count in enumerate(blocks, start=1):
        width = 64 * 2 ** (stage - 1)
        out = 4 * width if bottleneck else width
        for i in range(count):
            stride, name = (2 if stage > 1 and i == 0 else 1), f"layer{stage}.{i}"
            if bottleneck:
                y = m.conv(f"{name}.conv1", x, width, 1)
                y = m.conv(f"{name}.conv2", y, width, 3, stride, 1)
                y = m.conv(f"{name}.conv3", y, out, 1, act=None)
            else:
                y = m.conv(f"{name}.conv1", x, width, 3, stride, 1)
                y = m.conv(f"{name}.conv2", y, width, 3, 1, 1, act=None)
            if stride != 1 or m.channels[x] != out:
                x = m.conv(f"{name}.downsample", x, out, 1, stride, act=None)
            x = m.add(f"{name}.add", y, x, act="relu")
    x = m.node("GlobalAveragePool", [x], "avgpool")
    return m.save(path, m.fc("fc", x, 1000))


def mobilenet_v2(path):
    m = Model()
    x = m.conv("conv1", "input", 32, 3, stride=2, pad=1, act="relu6")
    table = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
    index = 0
    for t, out, repeats, first_stride in table:
        for i in range(repeats):
            index += 1
            name, stride, cin = f"block{index}", (first_stride if i == 0 else 1), m.channels[x]
            y = m.conv(f"{name}.expand", x, t * cin, 1, act="relu6") if t != 1 else x
            y = m.conv(f"{name}.dw", y, t * cin, 3, stride, 1, groups=t * cin, act="relu6")
            y = m.conv(f"{name}.project", y, out, 1, act=None)
            x = m.add(f"{name}.add", y, x) if stride == 1 and cin == out else y
    x = m.node("GlobalAveragePool", [m.conv("conv_last", x, 1280, 1, act="relu6")], "avgpool")
    return m.save(path, m.fc("fc", x, 1000))


BUILDERS = {"resnet18": lambda p: resnet(p, (2, 2, 2, 2), False),
            "resnet50": lambda p: resnet(p, (3, 4, 6, 3), True),
            "mobilenet_v2": mobilenet_v2}


def shape_fields(layer):
    return (layer.k, layer.c, layer.r, layer.s, layer.p, layer.q, layer.stride, layer.groups)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_zoo_networks_import_layer_for_layer(tmp_path, name):
    net = load_network(BUILDERS[name](tmp_path / f"{name}.onnx"))
    ref = zoo.get_network(name)
    assert net.name == name and net.macs == ref.macs
    macs = [(l.name, shape_fields(l)) for l in net if l.is_mac]
    assert macs == [(l.name, shape_fields(l)) for l in ref if l.is_mac]
    assert net.layers == ref.layers                      # every field, vector layers too, same order
    for layer in ref:
        assert [p.name for p in net.predecessors(layer.name)] == [p.name for p in ref.predecessors(layer.name)]


def test_batch_and_bits_follow_the_loader(tmp_path):
    path = BUILDERS["resnet18"](tmp_path / "r18.onnx")
    net = load_network(path, batch=4, bits=4)
    assert net.layers == zoo.get_network("resnet18", batch=4, bits=4).layers
    assert net.macs == 4 * load_network(path).macs


def test_fixed_batch_is_kept_and_cannot_be_overridden(tmp_path):
    m = Model((3, 16, 16), batch=2)
    path = m.save(tmp_path / "fixed.onnx", m.conv("c", "input", 8, 3, pad=1))
    assert load_network(path)["c"].n == 2
    with pytest.raises(WorkloadError, match=r"fixes the batch at 2"):
        load_network(path, batch=3)


def test_evaluate_end_to_end_equals_the_zoo(tmp_path):
    dla = hwsim.load_template("dla")
    got = hwsim.evaluate(load_network(BUILDERS["resnet18"](tmp_path / "resnet18.onnx")), dla).total
    want = hwsim.evaluate(zoo.get_network("resnet18"), dla).total
    assert got.latency_cycles == pytest.approx(want.latency_cycles, rel=1e-9)
    assert got.energy_pj == pytest.approx(want.energy_pj, rel=1e-9)
    assert got.macs == want.macs


def single_conv(tmp_path, in_hw, k, stride=1, groups=1, channels=(8, 16), **attrs):
    m = Model((channels[0], *in_hw))
    path = m.save(tmp_path / "conv.onnx", m.conv("c", "input", channels[1], k, stride, groups=groups, bn=False,
                                                 act=None, **attrs))
    return load_network(path)["c"]


@pytest.mark.parametrize("auto_pad, pq", [("SAME_UPPER", (8, 10)), ("SAME_LOWER", (8, 10)), ("VALID", (7, 9))])
def test_auto_pad_gives_onnx_output_size(tmp_path, auto_pad, pq):
    layer = single_conv(tmp_path, (15, 20), 3, stride=2, auto_pad=auto_pad)
    assert (layer.p, layer.q) == pq
    assert layer.macs == 16 * 8 * 9 * pq[0] * pq[1]


@pytest.mark.parametrize("size, pq, padding", [(224, 112, 1),    # TF-style SAME: PyTorch's pad 1
                                                (7, 3, 0)])         # here pad 1 would give 4, pad 0 gives 3
def test_asymmetric_pads_become_the_symmetric_pad_of_the_same_output(tmp_path, size, pq, padding):
    m = Model((8, size, size))
    w = m.const("w", (16, 8, 3, 3))
    m.nodes.append(helper.make_node("Conv", ["input", w], ["y"], name="c", strides=[2, 2], pads=[0, 0, 1, 1]))
    layer = load_network(m.save(tmp_path / "asym.onnx", "y"))["c"]
    assert (layer.p, layer.q, layer.padding) == (pq, pq, (padding, padding))


def test_even_kernel_same_padding_keeps_onnx_output_size(tmp_path):
    even = single_conv(tmp_path, (5, 7), 2, auto_pad="SAME_UPPER")  # total pad 1: no symmetric pad fits
    assert (even.p, even.q) == (5, 7) and even.macs == 16 * 8 * 4 * 35


def test_ceil_mode_pooling_and_average_pool(tmp_path):
    m = Model((8, 112, 112))
    x = m.maxpool("mp", "input", 3, 2, ceil_mode=1)                           # ceil(109 / 2) + 1 = 56
    x = m.node("AveragePool", [x], "ap", kernel_shape=[2, 2], strides=[2, 2])
    net = load_network(m.save(tmp_path / "pool.onnx", x))
    assert (net["mp"].p, net["mp"].q, net["mp"].vector_ops) == (56, 56, 8 * 56 * 56 * 9)
    assert net["mp"].padding == (1, 1)                         # ceil mode as one symmetric pad row
    assert (net["ap"].op, net["ap"].p, net["ap"].vector_ops) == ("avgpool", 28, 8 * 28 * 28 * 4)


def test_unnamed_and_duplicate_nodes_get_unique_names_and_old_style_weight_inputs(tmp_path):
    m = Model((8, 8, 8))
    x = "input"
    for name in ("c1", "c2", "c3"):
        x = m.conv(name, x, 8, 3, pad=1, bn=False)
    convs = [node for node in m.nodes if node.op_type == "Conv"]
    convs[0].name, convs[1].name, convs[2].name = "c", "c", ""   # a duplicate name and no name
    net = load_network(m.save(tmp_path / "names.onnx", x, initializers_as_inputs=True))
    assert [l.name for l in net] == ["c", "c_2", "Conv_4"]
    assert net.macs == 3 * 8 * 8 * 9 * 64                        # initializers are weights, not inputs
    assert [p.name for p in net.predecessors("Conv_4")] == ["c_2"]


def test_core_install_does_not_import_onnx():
    code = "import sys; from hwsim.workload.loaders import load_network; load_network('resnet18'); " \
           "print('onnx' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_dilation(tmp_path):
    same = single_conv(tmp_path, (32, 32), 3, pad=2, dilations=[2, 2])
    valid = single_conv(tmp_path, (32, 32), 3, dilations=[2, 2])
    assert same.dilation == (2, 2) and (same.p, same.q) == (32, 32)
    assert (valid.p, valid.q) == (28, 28) and valid.macs == 16 * 8 * 9 * 28 * 28


def test_groups_and_depthwise(tmp_path):
    grouped = single_conv(tmp_path, (8, 8), 3, pad=1, groups=4, channels=(32, 64))
    assert (grouped.op, grouped.groups, grouped.macs) == ("conv2d", 4, 64 * 8 * 9 * 64)
    dw = single_conv(tmp_path, (8, 8), 3, pad=1, groups=32, channels=(32, 32))
    assert (dw.op, dw.groups, dw.macs) == ("depthwise_conv2d", 32, 32 * 9 * 64)


@pytest.mark.parametrize("trans_b", [0, 1])
def test_gemm_either_weight_layout(tmp_path, trans_b):
    m = Model((512, 1, 1))
    path = m.save(tmp_path / "fc.onnx", m.fc("fc", "input", 1000, trans_b=trans_b))
    layer = load_network(path, batch=3)["fc"]
    assert layer == zoo.get_network("resnet18", batch=3)["fc"]


def test_batched_matmul(tmp_path):
    m = Model((16, 64))
    m.node("MatMul", ["input", m.const("w", (64, 32))], "mm", 32)
    layer = load_network(m.save(tmp_path / "mm.onnx", "mm:out"), batch=2)["mm"]
    assert (layer.n, layer.p, layer.c, layer.k, layer.macs) == (2, 16, 64, 32, 2 * 16 * 64 * 32)


def lstm_model(tmp_path):
    m = Model((8, 16, 16))
    x = m.conv("c1", "input", 8, 3, pad=1)
    m.inits.append(helper.make_tensor("shape", TensorProto.INT64, [3], [16, 1, 128]))
    seq = m.node("Reshape", [x, "shape"], "to_seq")
    w, r = m.const("lstm.W", (1, 128, 128)), m.const("lstm.R", (1, 128, 32))
    m.nodes.append(helper.make_node("LSTM", [seq, w, r], ["h"], name="lstm1", hidden_size=32))
    return m.save(tmp_path / "lstm.onnx", "h")


def test_unsupported_op_raises_naming_op_and_node(tmp_path):
    with pytest.raises(WorkloadError, match=r"lstm\.onnx: unsupported ONNX op\(s\): LSTM 'lstm1'"):
        load_network(lstm_model(tmp_path))


def test_skip_unsupported_warns_and_costs_zero(tmp_path):
    with pytest.warns(UnsupportedOpWarning, match=r"LSTM 'lstm1'"):
        net = load_network(lstm_model(tmp_path), skip_unsupported=True)
    assert [l.name for l in net] == ["c1"]


def test_skipped_custom_op_passes_its_input_shape_on(tmp_path):
    m = Model((8, 16, 16))
    x = m.conv("c1", "input", 8, 3, pad=1)
    m.nodes.append(helper.make_node("Mystery", [x], ["z"], name="odd", domain="my.ops"))
    m.channels["z"] = 8
    m.conv("c2", "z", 4, 3, pad=1, bn=False)
    graph_path = tmp_path / "custom.onnx"
    graph = helper.make_graph(m.nodes, "custom", [m.input], [helper.make_tensor_value_info("c2.act:out", FLOAT, None)],
                              initializer=m.inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("my.ops", 1)]),
              str(graph_path))
    with pytest.raises(WorkloadError, match=r"my\.ops\.Mystery 'odd'"):
        load_network(graph_path)
    with pytest.warns(UnsupportedOpWarning, match="Mystery"):
        net = load_network(graph_path, skip_unsupported=True)
    assert (net["c2"].c, net["c2"].p) == (8, 16)
    assert [p.name for p in net.predecessors("c2")] == ["c1"]


def test_batchnorm_folds_only_where_onnx_runtime_would(tmp_path):
    m = Model((8, 16, 16))
    a = m.conv("a", "input", 8, 3, pad=1)                      # Conv -> BN: folded
    b = m.conv("b", a, 8, 3, pad=1, bn=False, act=None)
    bn_b = m.node("BatchNormalization", [b, *[m.const(f"bnb{i}", (8,), [1.0] * 8) for i in range(4)]], "b.bn")
    s = m.add("sum", bn_b, b)                                  # b's output has two users: no fold
    params = [m.const(f"bns{i}", (8,), [1.0] * 8) for i in range(4)]
    out = m.node("BatchNormalization", [s, *params], "sum.bn")  # BN after Add: no fold
    net = load_network(m.save(tmp_path / "bn.onnx", out))
    assert [l.name for l in net] == ["a", "b", "b.bn", "sum", "sum.bn"]
    elems = 8 * 16 * 16
    for name in ("b.bn", "sum.bn"):
        assert (net[name].op, net[name].vector_ops, net[name].read_bytes) == ("vector", 2 * elems, elems)
    assert net["a"] == single_conv(tmp_path, (16, 16), 3, pad=1, channels=(8, 8)).renamed("a")


def test_softmax_broadcast_mul_and_free_data_movement(tmp_path):
    m = Model((8, 4, 4))
    x = m.conv("c", "input", 8, 3, pad=1)
    g = m.node("GlobalAveragePool", [x], "gap")
    x = m.node("Mul", [x, m.node("Sigmoid", [g], "gate")], "scale")         # squeeze-excite style
    x = m.node("Transpose", [x], "t", perm=[0, 2, 3, 1])
    x = m.node("Softmax", [x], "softmax", axis=-1)
    net = load_network(m.save(tmp_path / "se.onnx", x))
    assert [l.name for l in net] == ["c", "gap", "scale", "softmax"]
    assert (net["scale"].vector_ops, net["scale"].read_bytes) == (128, 128 + 8)
    assert [p.name for p in net.predecessors("scale")] == ["c", "gap"]
    assert (net["softmax"].op, net["softmax"].vector_ops, net["softmax"].write_bytes) == ("softmax", 5 * 128, 128)


def test_dynamic_flatten_of_old_exports_is_constant_folded(tmp_path):
    m = Model((512, 1, 1))                 # Shape -> Gather -> Unsqueeze -> Concat -> Reshape, as torch < 1.2 exported
    ints = [helper.make_tensor(n, TensorProto.INT64, d, v) for n, d, v in
            (("zero", [], [0]), ("axes", [1], [0]), ("minus1", [1], [-1]))]
    m.inits += ints
    shape = m.node("Shape", ["input"], "shape")
    batch = m.node("Unsqueeze", [m.node("Gather", [shape, "zero"], "gather", axis=0), "axes"], "unsqueeze")
    flat = m.node("Reshape", ["input", m.node("Concat", [batch, "minus1"], "cat", axis=0)], "reshape")
    out = m.node("Gemm", [flat, m.const("fc.weight", (1000, 512))], "fc", transB=1)
    net = load_network(m.save(tmp_path / "flatten.onnx", out), batch=2)
    assert net.layers == (zoo.get_network("resnet18", batch=2)["fc"],)


def test_concat_feeds_a_conv_reading_both(tmp_path):
    m = Model((8, 8, 8))
    a, b = m.conv("a", "input", 8, 1), m.conv("b", "input", 24, 1)
    cat = m.node("Concat", [a, b], "cat", 32, axis=1)
    net = load_network(m.save(tmp_path / "cat.onnx", m.conv("d", cat, 4, 3, pad=1)))
    assert net["d"].c == 32 and [p.name for p in net.predecessors("d")] == ["a", "b"]


@pytest.mark.parametrize("content", [b"", b"this is not a model", bytes(np.arange(256, dtype=np.uint8))])
def test_malformed_file_is_one_line_error_naming_it(tmp_path, content):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(WorkloadError, match=r"bad\.onnx: not a valid ONNX model") as info:
        load_network(path)
    assert "\n" not in str(info.value)


def test_missing_file_and_missing_onnx_package(tmp_path, monkeypatch):
    with pytest.raises(WorkloadError, match=r"nope\.onnx: network file not found"):
        load_network(tmp_path / "nope.onnx")
    monkeypatch.setitem(sys.modules, "onnx", None)             # as if onnx were not installed
    with pytest.raises(WorkloadError, match=r"pip install 'hwsim\[onnx\]'"):
        load_network(tmp_path / "any.onnx")
