"""Trends of the row-stationary model (``rs``, ``eyeriss``) that a design search relies on.

More PEs, a bigger buffer or more bandwidth never make a network or a layer slower;
``active_pes`` never exceeds the PEs or the layer's MACs; and the cases of issue 5 that
broke these (more PEs moving 3x the DRAM bytes, 74 of 576 PE-doubling steps slower,
4-bit weights moving 8x the DRAM bytes) are pinned here. Networks at batch 1; totals
through ``evaluate_many(per_layer=False)``, per-layer checks on layers big enough to
tile (each > 10 M MACs).
"""

import numpy as np
import pytest

import hwsim
from hwsim.errors import TemplateError

NETWORKS = ["alexnet", "vgg16", "resnet18", "resnet50", "mobilenet_v2", "unet"]
TEMPLATES = ["rs", "eyeriss"]
PES = [64 * 2**k for k in range(9)]                     # 64 .. 16,384, doubling
# Layers that tile (GLB strips, filter sets, folds) differently as the hardware grows.
BIG_LAYERS = {"resnet50": ["conv1", "layer1.0.conv1", "layer1.0.conv2", "layer2.0.downsample", "layer3.0.conv2",
                           "layer4.0.conv1"],
              "vgg16": ["conv1_2", "conv4_2", "conv5_1", "fc6"],
              "mobilenet_v2": ["conv1", "block2.expand", "block3.expand"],
              "unet": ["enc1.conv2", "up1.upconv", "dec4.conv1"]}
RTOL = 1e-9


@pytest.fixture(scope="module")
def networks():
    return {name: hwsim.zoo.get_network(name) for name in NETWORKS}


@pytest.fixture(scope="module")
def big_layers(networks):
    layers = [l.renamed(f"{net}.{l.name}") for net, names in BIG_LAYERS.items() for l in networks[net].layers
              if l.name in names]
    assert len(layers) == sum(len(v) for v in BIG_LAYERS.values()) and all(l.macs > 10**7 for l in layers)
    return layers


def rises(values):
    """Indices i where values[i + 1] exceeds values[i] (beyond float rounding)."""
    values = np.asarray(values, dtype=float)
    return np.flatnonzero(values[1:] > values[:-1] * (1 + RTOL))


def sweep_totals(network, template, field, values, **fixed):
    base = hwsim.load_template(template, **fixed)
    frame = hwsim.evaluate_many(network, [base.with_params(**{field: v}) for v in values], per_layer=False)
    assert frame["feasible"].all(), frame.loc[~frame["feasible"], "error"].iloc[0]
    return frame["latency_cycles"].to_numpy()


def sweep_layers(layers, template, field, values, **fixed):
    """(configs, layers) latency, and the per-layer frame."""
    base = hwsim.load_template(template, **fixed)
    frame = hwsim.evaluate_many(layers, [base.with_params(**{field: v}) for v in values])
    assert frame["feasible"].all(), frame.loc[~frame["feasible"], "error"].iloc[0]
    return frame.pivot(index="config", columns="layer_index", values="latency_cycles").to_numpy(), frame


def assert_non_increasing(latency, values, what):
    latency = np.atleast_2d(np.asarray(latency).T).T if np.ndim(latency) == 1 else np.asarray(latency)
    bad = [(values[i], values[i + 1], j, latency[i + 1, j] / latency[i, j] - 1)
           for j in range(latency.shape[1]) for i in rises(latency[:, j])]
    assert not bad, f"{what}: latency rises at (from, to, layer index, +fraction) {bad[:5]}"


# -- PEs -------------------------------------------------------------------------------

@pytest.mark.parametrize("template", TEMPLATES)
def test_network_latency_never_rises_with_pes(networks, template):
    """Every PE doubling 64 -> 16,384 on six zoo networks (issue 5: 74 of 576 steps
    rose, e.g. eyeriss ResNet-50 100 -> 128 PEs +7.3 %, rs 8192 -> 16384 +23.9 %)."""
    for name, net in networks.items():
        assert_non_increasing(sweep_totals(net, template, "pes", PES), PES, f"{template} {name}")


def test_eyeriss_latency_never_rises_with_pes_off_the_doubling_grid(networks):
    """12 fixed rows: 100 -> 128 PEs is 8 -> 10 columns (issue 5: +7.3 % on ResNet-50)."""
    pes = [12, 24, 50, 100, 128, 168, 200, 256, 300, 512, 1000, 4096]
    for name in ("resnet50", "vgg16", "mobilenet_v2"):
        assert_non_increasing(sweep_totals(networks[name], "eyeriss", "pes", pes), pes, name)


@pytest.mark.parametrize("template", TEMPLATES)
def test_layer_latency_never_rises_with_pes(big_layers, template):
    pes = sorted(set(range(12, 700, 11)) | {2**k for k in range(4, 21)})
    latency, frame = sweep_layers(big_layers, template, "pes", pes)
    assert_non_increasing(latency, pes, template)
    first = frame[frame["config"] == 0].sort_values("layer_index")["bound"].to_numpy()
    assert (latency[-1] < latency[0])[first == "compute"].all()      # compute-bound layers do speed up


@pytest.mark.parametrize("template", TEMPLATES)
def test_active_pes_never_exceed_the_pes_or_the_macs(big_layers, template):
    tiny = [hwsim.workload.conv2d("tiny", 1, 2, 3, 1), hwsim.workload.matmul("gemv", 1, 16, 16),
            hwsim.workload.depthwise_conv2d("dw", 8, 4, 3, 1, 1)]
    _, frame = sweep_layers(big_layers + tiny, template, "pes", [12, 168, 4096, 2**20])
    mac = frame["macs"] > 0
    assert (frame.loc[mac, "active_pes"] >= 1).all()
    assert (frame["active_pes"] <= frame["peak_macs_per_cycle"]).all()
    assert (frame["active_pes"] <= frame["macs"]).all()


def test_pes_have_a_documented_maximum():
    """2**20 PEs keep every count exact; 2**40 (issue 5: active_pes above the MACs) is rejected."""
    assert hwsim.load_template("rs", pes=2**20)["pes"] == 2**20
    with pytest.raises(TemplateError, match="'pes' = 1099511627776.*<= 1048576"):
        hwsim.load_template("rs", pes=2**40)


def test_issue_resnet50_layer1_conv1_more_pes_no_more_dram_or_time(networks):
    """Issue 5: rs 2048 -> 4096 PEs moved 405,504 -> 1,208,320 DRAM bytes and took
    27,393 -> 79,617 cycles (the fastest-compute mapping spread the layer over every PE
    and its psums then overflowed the GLB)."""
    layer = [l for l in networks["resnet50"].layers if l.name == "layer1.0.conv1"]
    rows = hwsim.evaluate_many(layer, [hwsim.load_template("rs", pes=p) for p in (2048, 4096)])
    dram, latency = rows["dram_bytes"].to_numpy(), rows["latency_cycles"].to_numpy()
    assert dram[1] <= dram[0] <= 405504 and latency[1] <= latency[0] <= 27393


@pytest.mark.parametrize("template, small, large", [("eyeriss", 100, 128), ("rs", 8192, 16384)])
def test_issue_resnet50_pe_steps(networks, template, small, large):
    latency = sweep_totals(networks["resnet50"], template, "pes", [small, large])
    assert latency[1] <= latency[0]


# -- buffers ---------------------------------------------------------------------------

L2_BYTES = [8192 * 2**k for k in range(14)]             # 8 KiB .. 64 MiB
L1_BYTES = [64 * 2**k for k in range(9)]                # 64 B .. 16 KiB per PE


@pytest.mark.parametrize("template", TEMPLATES)
def test_latency_never_rises_with_the_glb(networks, big_layers, template):
    for name, net in networks.items():
        assert_non_increasing(sweep_totals(net, template, "l2_bytes", L2_BYTES), L2_BYTES, f"{template} {name}")
    latency, _ = sweep_layers(big_layers, template, "l2_bytes", L2_BYTES)
    assert_non_increasing(latency, L2_BYTES, template)


@pytest.mark.parametrize("template", TEMPLATES)
def test_latency_never_rises_with_the_scratchpads(networks, big_layers, template):
    """``l1_bytes`` per PE, split 224:12:24 into the three spads (eyeriss: derived
    spads instead of its fixed 224/12/24 words)."""
    derived = dict(filter_spad_words=0, ifmap_spad_words=0, psum_spad_words=0)
    for name, net in networks.items():
        latency = sweep_totals(net, template, "l1_bytes", L1_BYTES, **derived)
        assert_non_increasing(latency, L1_BYTES, f"{template} {name}")
    latency, _ = sweep_layers(big_layers, template, "l1_bytes", L1_BYTES, **derived)
    assert_non_increasing(latency, L1_BYTES, template)


# -- bandwidths ------------------------------------------------------------------------

BANDWIDTHS = [0.5 * 2**k for k in range(12)]            # 0.5 .. 1024 B/cycle


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("field", ["noc_bw_bytes_per_cycle", "dram_bw_bytes_per_cycle"])
def test_latency_never_rises_with_bandwidth(networks, big_layers, template, field):
    for name, net in networks.items():
        latency = sweep_totals(net, template, field, BANDWIDTHS)
        assert_non_increasing(latency, BANDWIDTHS, f"{template} {field} {name}")
        assert latency[-1] < latency[0]
    latency, _ = sweep_layers(big_layers, template, field, BANDWIDTHS)
    assert_non_increasing(latency, BANDWIDTHS, f"{template} {field}")


# -- precision -------------------------------------------------------------------------

@pytest.mark.parametrize("template", TEMPLATES)
def test_narrower_weights_never_cost_time_and_trade_traffic_only_for_time(template):
    """Issue 5: VGG-16 conv4_2 with 4-bit weights moved 8x the DRAM bytes of 8-bit
    weights (the fastest-compute mapping let its psums overflow the GLB for 0.7 % fewer
    cycles). Halving the weights (8 -> 4 -> 2 bits) never adds time to a VGG-16 layer;
    a layer moves more DRAM bytes only where that buys time (the choice is latency
    first), and the network moves fewer."""
    frames = [hwsim.evaluate_many(hwsim.zoo.get_network("vgg16", bits={"input": 8, "weight": w, "output": 8}),
                                  [hwsim.load_template(template)]) for w in (8, 4, 2)]
    dram, latency = (np.stack([f[c].to_numpy() for f in frames]) for c in ("dram_bytes", "latency_cycles"))
    assert (latency[1:] <= latency[:-1] * (1 + RTOL)).all()
    more_dram = dram[1:] > dram[:-1] * (1 + RTOL)
    assert (latency[1:][more_dram] < latency[:-1][more_dram]).all()
    assert (np.diff(dram.sum(axis=1)) < 0).all()
    conv4_2 = [f.set_index("layer").loc["conv4_2", "dram_bytes"] for f in frames]
    assert conv4_2[2] <= conv4_2[1] <= conv4_2[0]
