"""The model zoo: graph structure, shapes, and MAC / weight counts against published totals.

Published totals and their sources (a tolerance sits next to each use):

* torchvision model tables (pytorch.org/vision/stable/models, per-model pages, "GFLOPS" and
  "num_params"; torchvision's GFLOPS column counts one multiply-add as one op, so it is a MAC
  count): resnet50 4.09 / 25,557,032; resnet18 1.81 / 11,689,512; vgg16 15.47 / 138,357,544;
  mobilenet_v2 0.30 / 3,504,872. ``num_params`` includes biases and the two batch-norm
  parameters (gamma, beta) per conv output channel, which ``weight_elems`` does not count, so
  the tests add them back explicitly.
* Sze, Chen, Yang, Emer, "Efficient Processing of Deep Neural Networks: A Tutorial and
  Survey", Proc. IEEE 105(12), 2017, Table IV: AlexNet 666 M CONV MACs + 58.6 M FC MACs =
  724 M, 2.3 M + 58.6 M = 61 M weights; VGG-16 15.3 G CONV MACs, 15.5 G total, 138 M weights;
  ResNet-50 25.5 M weights.
* Sandler et al., "MobileNetV2", CVPR 2018, Table 4: 300 M multiply-adds, 3.4 M parameters.
* Caffe's bvlc_alexnet (the two-tower network Eyeriss runs) has 60,965,224 parameters incl. biases.
* Ronneberger, Fischer, Brox, "U-Net", MICCAI 2015, Fig. 1: feature map sizes and channels.
* ../shared/reference/eyeriss.yaml: Eyeriss AlexNet CONV1-5 dims and MACs at batch 4.
"""

from __future__ import annotations


import pytest
import yaml

import hwsim
from hwsim import WorkloadError, zoo
from digits import half_unit_of_last_digit
from refdata import REFERENCE

ALL = ["alexnet", "mobilenet_v2", "resnet18", "resnet50", "unet", "vgg16"]


def macs_of(net, ops=None):
    return sum(l.macs for l in net.layers if ops is None or l.op in ops)


def conv_channels(net):
    """Output channels summed over conv layers = the number of batch-norm channels
    (every conv in torchvision's ResNets and MobileNetV2 is followed by a BN)."""
    return sum(l.k for l in net.layers if l.op in ("conv2d", "depthwise_conv2d"))


# -- registry ---------------------------------------------------------------------

def test_registry_lists_every_network_and_builds_it():
    assert zoo.network_names() == ALL
    for name in ALL:
        net = zoo.get_network(name)
        assert isinstance(net, hwsim.Network)
        assert net.name == name
        assert net.macs > 0
        assert getattr(zoo, name)().macs == net.macs   # one public function per network


def test_hwsim_zoo_is_the_workload_zoo():
    import hwsim.workload.zoo
    assert hwsim.zoo is hwsim.workload.zoo      # one module, not a copy


def test_unknown_network_names_field_and_value():
    with pytest.raises(WorkloadError, match=r"'network' = 'nope'.*resnet50"):
        zoo.get_network("nope")


def test_unknown_option_names_field_and_value():
    with pytest.raises(WorkloadError, match=r"'in_size' = 300.*unknown option"):
        zoo.get_network("resnet50", in_size=300)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("field,value", [("batch", 0), ("bits", -8), ("batch", 1.5)])
def test_bad_batch_or_bits(name, field, value):
    with pytest.raises(WorkloadError, match=rf"'{name}'.*'{field}' = {value!r}"):
        zoo.get_network(name, **{field: value})


@pytest.mark.parametrize("name", ALL)
def test_batch_scales_macs_and_bits_reach_every_layer(name):
    one, four = zoo.get_network(name), zoo.get_network(name, batch=4, bits=16)
    assert four.macs == 4 * one.macs
    assert four.weight_elems == one.weight_elems          # weights are shared across a batch
    assert {l.n for l in four.layers} == {4}
    assert {l.bits for l in four.layers} == {16}


@pytest.mark.parametrize("name", ALL)
def test_graph_is_connected_single_input_single_output(name):
    net = zoo.get_network(name)
    graph = net.graph
    assert len([n for n in graph if graph.in_degree(n) == 0]) == 1
    assert len([n for n in graph if graph.out_degree(n) == 0]) == 1
    assert net.layers[0].name == next(n for n in graph if graph.in_degree(n) == 0)


@pytest.mark.parametrize("name", ALL)
def test_every_add_has_two_producers_of_its_shape(name):
    net = zoo.get_network(name)
    for layer in net.layers:
        if layer.op == "add":
            producers = net.predecessors(layer.name)
            assert len(producers) == 2, layer.name
            assert {(p.k, p.p, p.q) for p in producers} == {(layer.c, layer.p, layer.q)}


# -- AlexNet (Eyeriss) --------------------------------------------------------------

def test_alexnet_conv_layers_match_eyeriss_yaml(reference):
    text = (REFERENCE / "eyeriss.yaml").read_text()
    ref = yaml.safe_load(text)["alexnet_batch4"]
    printed = yaml.load(text, Loader=yaml.BaseLoader)["alexnet_batch4"]["macs_millions"]   # as printed
    net = zoo.alexnet(batch=4)
    assert len(printed) == len(ref["layers"]) == 5
    for row, ref_macs in zip(ref["layers"], printed):
        layer = net[row["name"]]
        assert (layer.c_per_group, layer.k, layer.in_size, layer.r, layer.s) == \
               (row["C"], row["K"], (row["H"], row["H"]), row["R"], row["R"])
        assert (layer.stride, layer.padding, layer.groups) == \
               ((row["stride"],) * 2, (row["pad"],) * 2, row["groups"])
        # eyeriss.yaml's MACs to the digits it prints: half a unit of the last digit (421.66 ->
        # 0.005 M). CONV2 is printed truncated (895,795,200 -> 895.79): a floor, less than a unit below.
        ours, half = layer.macs / 1e6, half_unit_of_last_digit(ref_macs)
        if row["name"] == "CONV2":
            assert float(ref_macs) <= ours < float(ref_macs) + 2 * half, (row["name"], ours, ref_macs)
        else:
            assert abs(ours - float(ref_macs)) <= half, (row["name"], ours, ref_macs)


def test_alexnet_totals_sze_2017():
    net = zoo.alexnet()
    conv = macs_of(net, {"conv2d"})
    fc = macs_of(net, {"matmul"})
    # Sze et al. 2017 Table IV rounds to 3 significant digits: half a unit of the last digit
    assert abs(conv / 1e6 - 666) <= 0.5
    assert abs(fc / 1e6 - 58.6) <= 0.05
    assert abs(net.macs / 1e6 - 724) <= 0.5
    conv_w = sum(l.weight_elems for l in net.layers if l.op == "conv2d")
    assert abs(conv_w / 1e6 - 2.3) <= 0.05
    assert abs(net.weight_elems / 1e6 - 61) <= 0.5
    # Caffe bvlc_alexnet: 60,965,224 parameters = weights + one bias per output channel (exact)
    biases = sum(l.k for l in net.layers if l.is_mac)
    assert net.weight_elems + biases == 60_965_224


def test_alexnet_pools_and_fc_shapes():
    net = zoo.alexnet()
    assert (net["CONV1"].p, net["POOL1"].p, net["POOL2"].p, net["POOL5"].p) == (55, 27, 13, 6)
    assert (net["FC6"].c, net["FC6"].k, net["FC8"].k) == (9216, 4096, 1000)


# -- VGG-16 -----------------------------------------------------------------------------

def test_vgg16_macs_and_weights():
    net = zoo.vgg16()
    # torchvision: 15.47 GFLOPS (3 significant decimals): half a unit of the last digit
    assert abs(net.macs / 1e9 - 15.47) <= 0.005
    # Sze et al. 2017 Table IV: 15.3 G CONV MACs (3 significant digits)
    assert abs(macs_of(net, {"conv2d"}) / 1e9 - 15.3) <= 0.05
    # Sze et al. 2017 / Simonyan & Zisserman: 138 M weights (3 significant digits)
    assert abs(net.weight_elems / 1e6 - 138) <= 0.5
    # torchvision num_params = weights + one bias per output channel (no BN in VGG-16): exact
    biases = sum(l.k for l in net.layers if l.is_mac)
    assert net.weight_elems + biases == 138_357_544
    assert len([l for l in net.layers if l.op == "conv2d"]) == 13
    assert net["pool5"].p == 7 and net["fc6"].c == 25088


# -- ResNets ------------------------------------------------------------------------------

def test_resnet50_macs_and_weights():
    net = zoo.resnet50()
    # torchvision: 4.09 GFLOPS (v1.5 bottleneck; 3 significant digits): half a unit of the last digit
    assert abs(net.macs / 1e9 - 4.09) <= 0.005
    # Sze et al. 2017: 25.5 M weights incl. the FC (3 significant digits)
    assert abs(net.weight_elems / 1e6 - 25.5) <= 0.05
    # torchvision num_params = weights + 2 BN params per conv channel + 1000 FC biases: exact
    assert net.weight_elems + 2 * conv_channels(net) + 1000 == 25_557_032


def test_resnet18_macs_and_weights():
    net = zoo.resnet18()
    # torchvision: 1.81 GFLOPS (3 significant digits): half a unit of the last digit
    assert abs(net.macs / 1e9 - 1.81) <= 0.005
    # torchvision num_params (BN and FC bias added back as for ResNet-50): exact
    assert net.weight_elems + 2 * conv_channels(net) + 1000 == 11_689_512


def test_resnet50_residual_structure():
    net = zoo.resnet50()
    adds = [l for l in net.layers if l.op == "add"]
    assert len(adds) == 3 + 4 + 6 + 3                       # one add per bottleneck block
    # first block of a stage: conv3 + projection shortcut; later blocks: conv3 + previous add
    assert {p.name for p in net.predecessors("layer2.0.add")} == {"layer2.0.conv3", "layer2.0.downsample"}
    assert {p.name for p in net.predecessors("layer2.1.add")} == {"layer2.1.conv3", "layer2.0.add"}
    assert {p.name for p in net.predecessors("layer1.0.downsample")} == {"maxpool"}
    # v1.5: the stride sits on the 3x3 conv, and on the projection
    assert net["layer3.0.conv1"].stride == (1, 1) and net["layer3.0.conv2"].stride == (2, 2)
    assert net["layer3.0.downsample"].stride == (2, 2)
    assert (net["layer4.2.add"].c, net["layer4.2.add"].p) == (2048, 7)
    assert len([l for l in net.layers if l.op == "conv2d"]) == 49 + 4     # 49 + 4 projections
    assert net.layers[-1].name == "fc" and net["fc"].c == 2048


def test_resnet18_residual_structure():
    net = zoo.resnet18()
    assert len([l for l in net.layers if l.op == "add"]) == 8
    assert [l.name for l in net.layers if l.name.endswith("downsample")] == \
           ["layer2.0.downsample", "layer3.0.downsample", "layer4.0.downsample"]
    assert {p.name for p in net.predecessors("layer1.0.add")} == {"layer1.0.conv2", "maxpool"}


# -- MobileNetV2 -----------------------------------------------------------------------------

def test_mobilenet_v2_macs_and_weights():
    net = zoo.mobilenet_v2()
    # Sandler et al. 2018 Table 4: 300 M multiply-adds. The paper does not say whether the
    # 1.3 M-MAC classifier is included and rounds to 2-3 digits: 1 % tolerance
    assert net.macs / 1e6 == pytest.approx(300, rel=0.01)
    # torchvision: 0.30 GFLOPS (2 decimals): half a unit of the last digit
    assert abs(net.macs / 1e9 - 0.30) <= 0.005
    # Sandler et al.: 3.4 M parameters, 2 significant digits (torchvision's exact count below
    # shows the paper truncates: 3.50 M incl. BN) -> 0.1 M
    assert abs(net.weight_elems / 1e6 - 3.4) <= 0.1
    # torchvision num_params = weights + 2 BN params per conv channel + 1000 FC biases: exact
    assert net.weight_elems + 2 * conv_channels(net) + 1000 == 3_504_872


def test_mobilenet_v2_blocks():
    net = zoo.mobilenet_v2()
    dws = [l for l in net.layers if l.op == "depthwise_conv2d"]
    assert len(dws) == 17
    assert all(l.groups == l.c == l.k for l in dws)
    assert "block1.expand" not in net.graph                 # t = 1: no expansion conv
    assert net["block2.expand"].k == 6 * 16 and net["block2.dw"].stride == (2, 2)
    # residual adds exactly where stride is 1 and channels are kept (torchvision: 10 of 17)
    adds = {l.name for l in net.layers if l.op == "add"}
    assert adds == {f"block{i}.add" for i in (3, 5, 6, 8, 9, 10, 12, 13, 15, 16)}
    assert {p.name for p in net.predecessors("block3.add")} == {"block3.project", "block2.project"}
    assert (net["conv_last"].k, net["conv_last"].p, net["fc"].c) == (1280, 7, 1280)


# -- U-Net -------------------------------------------------------------------------------------

# Ronneberger et al. 2015 Fig. 1: (layer, output channels, output size) of the original network
UNET_FIG1 = [
    ("enc1.conv1", 64, 570), ("enc1.conv2", 64, 568), ("enc1.pool", 64, 284),
    ("enc2.conv1", 128, 282), ("enc2.conv2", 128, 280), ("enc2.pool", 128, 140),
    ("enc3.conv1", 256, 138), ("enc3.conv2", 256, 136), ("enc3.pool", 256, 68),
    ("enc4.conv1", 512, 66), ("enc4.conv2", 512, 64), ("enc4.pool", 512, 32),
    ("bottom.conv1", 1024, 30), ("bottom.conv2", 1024, 28),
    ("up4.upconv", 512, 56), ("dec4.conv1", 512, 54), ("dec4.conv2", 512, 52),
    ("up3.upconv", 256, 104), ("dec3.conv1", 256, 102), ("dec3.conv2", 256, 100),
    ("up2.upconv", 128, 200), ("dec2.conv1", 128, 198), ("dec2.conv2", 128, 196),
    ("up1.upconv", 64, 392), ("dec1.conv1", 64, 390), ("dec1.conv2", 64, 388),
    ("head", 2, 388),
]


def test_unet_matches_fig1_shapes():
    net = zoo.unet()
    for name, channels, size in UNET_FIG1:
        assert (net[name].k, net[name].p, net[name].q) == (channels, size, size), name
    # skip concatenation: the crop of the encoder map and the up-conv, channels add up
    producers = net.predecessors("dec4.conv1")
    assert {p.name for p in producers} == {"up4.crop", "up4.upconv"}
    assert net["dec4.conv1"].c == sum(p.k for p in producers) == 1024
    assert net["up4.crop"].in_size == (64, 64)
    assert net.predecessors("up4.crop")[0].name == "enc4.conv2"


def test_unet_macs_hand_count():
    """Independent count from Fig. 1: 3x3 valid convs (K*C*9*out^2), the up-convs as
    transposed 2x2 stride-2 convs (K*C*4 taps per *input* pixel) and the 1x1 head."""
    convs3 = [(1, 64, 570), (64, 64, 568), (64, 128, 282), (128, 128, 280), (128, 256, 138),
              (256, 256, 136), (256, 512, 66), (512, 512, 64), (512, 1024, 30), (1024, 1024, 28),
              (1024, 512, 54), (512, 512, 52), (512, 256, 102), (256, 256, 100),
              (256, 128, 198), (128, 128, 196), (128, 64, 390), (64, 64, 388)]
    upconvs = [(1024, 512, 28), (512, 256, 52), (256, 128, 100), (128, 64, 196)]  # (C, K, input size)
    expected = (sum(c * k * 9 * o * o for c, k, o in convs3)
                + sum(c * k * 4 * i * i for c, k, i in upconvs) + 64 * 2 * 388 * 388)
    assert zoo.unet().macs == expected                       # exact: same layers, counted by hand


def test_unet_weights():
    net = zoo.unet()
    upconv_w = sum(net[f"up{i}.upconv"].weight_elems for i in range(1, 5))
    # the up-conv is modelled as a 1x1 conv: 1/4 of the 2x2 transposed conv's weights
    paper_weights = net.weight_elems + 3 * upconv_w
    # U-Net is widely reported at about 31.0 M parameters (e.g. UNeXt, Valanarasu & Patel,
    # MICCAI 2022, Table 1: 31.13 M for a 3-channel, batch-norm variant): 2 significant
    # digits plus variant differences (~0.1 M) -> 1 %
    assert paper_weights / 1e6 == pytest.approx(31.0, rel=0.01)


def test_unet_same_padding_variant():
    net = zoo.unet(in_size=256, in_channels=3, same_padding=True)
    assert (net["head"].p, net["head"].q) == (256, 256)
    assert not [l for l in net.layers if l.name.endswith(".crop")]
    assert net["dec1.conv1"].c == 128 and net["bottom.conv2"].p == 16
    # the padded network's 3x3 convs each produce a full-size map: its MACs at 256 equal
    # the hand count with every conv at its level's size
    sizes = [256, 128, 64, 32, 16]
    chans = [64, 128, 256, 512, 1024]
    enc = sum((cin * co + co * co) * 9 * s * s for cin, co, s in zip([3] + chans[:-1], chans, sizes))
    dec = sum((2 * co * co + co * co) * 9 * s * s for co, s in zip(chans[:-1], sizes[:-1]))
    up = sum(chans[i + 1] * chans[i] * sizes[i] ** 2 for i in range(4))
    assert net.macs == enc + dec + up + 64 * 2 * 256 * 256


@pytest.mark.parametrize("kwargs,pattern", [
    (dict(in_size=570), r"'in_size' = 570.*188 \+ 16"),
    (dict(in_size=172), r"'in_size' = 172.*188 \+ 16"),
    (dict(in_size=250, same_padding=True), r"'in_size' = 250.*multiple of 16"),
    (dict(classes=0), r"'classes' = 0"),
])
def test_unet_bad_sizes(kwargs, pattern):
    with pytest.raises(WorkloadError, match=pattern):
        zoo.unet(**kwargs)


def test_unet_valid_sizes_build():
    for size in (188, 204, 572):
        assert zoo.unet(in_size=size)["head"].p == size - 184   # 572 -> 388 (Fig. 1)
