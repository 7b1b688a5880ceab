"""The eyeriss template against Eyeriss v1 silicon: AlexNet CONV1-5 at batch 4 and VGG-16's
conv layers at batch 3, 200 MHz.

Reference: shared/reference/eyeriss.yaml (Chen et al., ISSCC 2016 / JSSC 52(1) 2017, Table V;
the abstract's VGG-16 figures). One parameter set (templates/eyeriss.yaml), nothing fitted to
these numbers (see hwsim/dataflow/row_stationary.py). Targets the model does not meet are
strict xfails whose reason says which mechanism is missing.
"""

from pathlib import Path

import pytest
import yaml

import hwsim
from hwsim.workload import conv2d

from digits import half_unit_of_last_digit

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "eyeriss.yaml"

# eyeriss.yaml prints CONV2's MACs truncated, not rounded: 4 x 27^2 x 256 x 48 x 25 =
# 895,795,200 is printed 895.79 (rounded: 895.80); the other layers are rounded (598,081,536
# -> 598.1). For CONV2 the printed value is therefore a floor: printed <= ours < printed + 1 unit.
TRUNCATED_MACS = {"CONV2"}

# Tolerances (deliberate; issue 5): JSSC 2017 Table V processing latency per layer +-15 %,
# total +-10 % (one mapping policy, no per-layer tuning); chip energy 10.8 pJ/MAC (eyeriss.yaml
# notes: sum(P*t) / MACs, DRAM excluded) +-15 %, and +-25 % as before (the regression bound of
# the dense model); per-layer chip power +-25 %; DRAM accesses per MAC within 1.5x of measured;
# VGG-16 frame time +-25 %.
LAYER_TOL, TOTAL_TOL = 0.15, 0.10
ENERGY_TOL, ENERGY_REGRESSION_TOL, POWER_TOL = 0.15, 0.25, 0.25
DRAM_FACTOR, FRAME_TOL = 1.5, 0.25
MEASURED_PJ_PER_MAC = 10.8
VGG16_BATCH = 3

# Why the targets below are not met (the mechanisms the model lacks).
NO_CLOCK_POWER = (
    "no clock network or control/pipeline energy: the shared stage prices MACs, scratchpad, GLB, NoC and "
    "DRAM accesses and leakage only. CONV1's input is the image (no ReLU zeros for the chip's zero gating), "
    "so its measured 332 mW x 16.5 ms / 421.7 M MACs = 13.0 pJ/MAC is dense energy; the model gives ~8 pJ/MAC "
    "there. The missing ~5 pJ/MAC is per-cycle energy the technology tables do not have (not calibrated in: "
    "that would be fitting); zero gating, which the dense model also leaves out ('45 % energy reduction' in "
    "the PEs, Sze, IEEE SSC Magazine, Fall 2017), acts the other way on CONV2-5.")
NO_RLC = (
    "Eyeriss run-length-compresses the ifmaps and ofmaps it moves to and from DRAM (JSSC 2017 Sec. V) and "
    "most ReLU outputs are zero; the model is dense. Lossless compression cuts off-chip transfers 'by around "
    "2x' (Sze, IEEE SSC Magazine, Fall 2017). Not modelled: the ratio is a property of the data (CONV1's "
    "input, an image, hardly compresses), so one ratio for every layer would be a fitted number. The "
    "latency-first mapping choice adds the rest: the least-energy mappings of the same candidates move "
    "0.0047 (AlexNet) and 0.0070 (VGG-16) accesses/MAC, the chosen ones 0.0058 and 0.0078 -- both still "
    "1.6-2x the measured, the factor RLC is said to save.")
VGG_TOO_FAST = (
    "the model is compute-bound at 87-91 % mapping efficiency on 12 of VGG-16's 13 conv layers (conv1_1 is "
    "DRAM-bound): 1.96 frames/s. The "
    "chip's 0.7 frames/s means ~32 % PE utilisation, where AlexNet (which the model matches) runs at 76 %. "
    "The mechanism is not identified: a 64-bit psum bus carrying both psum reads and writes would bind VGG-16 "
    "(one logical set with 4 channels per PE sends ~9 psum words/cycle; estimated ~0.8 frames/s), but the same "
    "bus would put AlexNet CONV2 ~28 % over its measured latency. Per-layer VGG-16 measurements (JSSC 2017 "
    "Table VI) are not in eyeriss.yaml to tell.")


@pytest.fixture(scope="module")
def reference():
    return yaml.safe_load(REFERENCE.read_text())


@pytest.fixture(scope="module")
def alexnet_layers(reference):
    return [conv2d(l["name"], l["C"] * l["groups"], l["K"], l["H"], l["R"], l["stride"], l["pad"],
                   groups=l["groups"], batch=4, bits=reference["chip"]["word_bits"])
            for l in reference["alexnet_batch4"]["layers"]]


@pytest.fixture(scope="module")
def report(alexnet_layers):
    return hwsim.evaluate(alexnet_layers, hwsim.load_template("eyeriss"))


@pytest.fixture(scope="module")
def vgg16_layers(reference):
    """VGG-16's 13 conv layers at batch 3 (the measurement's batch), 16-bit."""
    net = hwsim.zoo.get_network("vgg16", batch=VGG16_BATCH, bits=reference["chip"]["word_bits"])
    convs = [l for l in net.layers if l.op == "conv2d"]
    assert len(convs) == 13
    return convs


@pytest.fixture(scope="module")
def vgg16(vgg16_layers):
    return hwsim.evaluate(vgg16_layers, hwsim.load_template("eyeriss")).layers


def chip_pj(layers):
    """Chip energy per layer: everything but DRAM (eyeriss.yaml notes)."""
    return layers["energy_pj"] - layers["energy_dram_pj"]


def test_macs_match_reference(reference, report):
    """To the digits eyeriss.yaml prints: within half a unit of the last printed digit
    (421.66 -> 0.005 M), except CONV2's truncated value (TRUNCATED_MACS)."""
    printed = yaml.load(REFERENCE.read_text(), Loader=yaml.BaseLoader)["alexnet_batch4"]["macs_millions"]
    names = [l["name"] for l in reference["alexnet_batch4"]["layers"]]
    assert len(printed) == len(names) == len(report.layers)
    for name, text, macs in zip(names, printed, report.layers["macs"]):
        ours, half = macs / 1e6, half_unit_of_last_digit(text)
        if name in TRUNCATED_MACS:
            assert float(text) <= ours < float(text) + 2 * half, (name, ours, text)
        else:
            assert abs(ours - float(text)) <= half, (name, ours, text)


def test_active_pes_per_layer(reference, report):
    expected = [l["active_pes"] for l in reference["alexnet_batch4"]["layers"]]
    assert report.layers["active_pes"].tolist() == expected


def test_latency_per_layer(reference, report):
    for (_, row), ref in zip(report.layers.iterrows(), reference["alexnet_batch4"]["layers"]):
        ours_ms = row["latency_s"] * 1e3
        assert ours_ms == pytest.approx(ref["latency_ms"], rel=LAYER_TOL), ref["name"]


def test_total_latency(reference, report):
    total_ms = report.layers["latency_s"].sum() * 1e3
    assert total_ms == pytest.approx(reference["alexnet_batch4"]["total_processing_latency_ms"], rel=TOTAL_TOL)


def test_chip_energy_per_mac_within_the_dense_models_bound(report):
    """The bound this dense model has held since it was validated (+-25 %)."""
    layers = report.layers
    assert chip_pj(layers).sum() / layers["macs"].sum() == pytest.approx(MEASURED_PJ_PER_MAC,
                                                                         rel=ENERGY_REGRESSION_TOL)


@pytest.mark.xfail(strict=True, reason=NO_CLOCK_POWER)
def test_chip_energy_per_mac(report):
    layers = report.layers
    assert chip_pj(layers).sum() / layers["macs"].sum() == pytest.approx(MEASURED_PJ_PER_MAC, rel=ENERGY_TOL)


@pytest.mark.parametrize("index", [
    pytest.param(0, marks=pytest.mark.xfail(strict=True, reason=NO_CLOCK_POWER), id="CONV1"),
    pytest.param(1, marks=pytest.mark.xfail(strict=True, reason=NO_CLOCK_POWER), id="CONV2"),
    pytest.param(2, id="CONV3"), pytest.param(3, id="CONV4"), pytest.param(4, id="CONV5")])
def test_chip_power_per_layer(reference, report, index):
    """Chip power (DRAM excluded) = chip energy / processing latency, JSSC 2017 Table V."""
    row = report.layers.iloc[index]
    ours_mw = (row["energy_pj"] - row["energy_dram_pj"]) * 1e-12 / row["latency_s"] * 1e3
    assert ours_mw == pytest.approx(reference["alexnet_batch4"]["layers"][index]["power_mw"], rel=POWER_TOL)


def within_factor(ours, measured, factor):
    return measured / factor <= ours <= measured * factor


@pytest.mark.xfail(strict=True, reason=NO_RLC)
def test_alexnet_dram_accesses_per_mac(reference, report):
    """DRAM accesses (16-bit words) per MAC, batch 4: 0.0029 measured."""
    layers = report.layers
    ours = layers["dram_accesses"].sum() / layers["macs"].sum()
    assert within_factor(ours, reference["alexnet_batch4"]["dram_accesses_per_mac"], DRAM_FACTOR), ours


@pytest.mark.xfail(strict=True, reason=NO_RLC)
def test_vgg16_dram_accesses_per_mac(reference, vgg16):
    """DRAM accesses (16-bit words) per MAC, VGG-16 conv layers, batch 3: 0.0035 measured."""
    ours = vgg16["dram_accesses"].sum() / vgg16["macs"].sum()
    assert within_factor(ours, reference["vgg16_conv_batch3"]["dram_accesses_per_mac"], DRAM_FACTOR), ours


@pytest.mark.xfail(strict=True, reason=VGG_TOO_FAST)
def test_vgg16_frame_time(reference, vgg16):
    """Frame time of VGG-16's conv layers at batch 3: 1 / 0.7 frames/s measured."""
    frame_s = vgg16["latency_s"].sum() / VGG16_BATCH
    assert frame_s == pytest.approx(1.0 / reference["vgg16_conv_batch3"]["reported_fps"], rel=FRAME_TOL)


def test_dram_traffic_between_compulsory_and_the_old_all_or_nothing_glb(alexnet_layers, report, vgg16_layers,
                                                                      vgg16):
    """What the dense model is held to while RLC is not modelled: each tensor crosses
    DRAM at least once, and with the ifmap tiled into GLB row strips AlexNet moves at
    most 3x and VGG-16 at most 6x the compulsory traffic (the all-or-nothing GLB this
    replaced: 3.1x and 22x)."""
    for layers, frame, bound in ((alexnet_layers, report.layers, 3.0), (vgg16_layers, vgg16, 6.0)):
        compulsory = [l.compulsory_bytes for l in layers]
        assert (frame["dram_bytes"].to_numpy() >= compulsory).all()
        assert frame["dram_bytes"].sum() <= bound * sum(compulsory)
