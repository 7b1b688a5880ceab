"""Trends of the shi (output-stationary) and tpu (systolic) templates on whole zoo
networks: the mapping of every layer is chosen by bounded latency, so latency must
not rise when hardware is added (PEs, buffer bytes, bandwidth), area must not fall,
no layer keeps more PEs busy than exist or than it has MACs, and every zoo network
maps at batch 1-256.

Before the mappings were chosen by their cost, these failed: shi's network latency
rose with PEs on every zoo network (the shape was picked by compute cycles alone, and
its fill grew), and tpu's rose with ``cols`` (a wider array's filter or partial-sum
column block stopped fitting its SRAM, so the block was re-read from DRAM).

Documented exception: under ``fill_drain: array`` (SCALE-Sim's, the tpu default) every
fold skews over the whole physical array, so a bigger array is slower on small layers;
rows/cols trends are checked with ``fill_drain: mapped``.
"""

import numpy as np
import pytest

import hwsim

NETWORKS = hwsim.zoo.network_names()
DOUBLING = lambda start, n: [start * 2**i for i in range(n)]
BUFFER_BYTES = DOUBLING(8192, 14)                      # 8 KiB .. 64 MiB
BANDWIDTHS = [2.0**i for i in range(-2, 12)]           # 0.25 .. 2048 bytes/cycle
SMALL_SRAM = {name: 16384 for name in ("ifmap_sram_bytes", "filter_sram_bytes", "ofmap_sram_bytes")}


def sweep(template, key, values, **fixed):
    base = hwsim.load_template(template, **fixed)
    kind = type(base.params[key])
    return [base.with_params(**{key: kind(v)}) for v in values]


def assert_non_increasing(accs, networks=NETWORKS, rel=1e-9, matters=True):
    """Per layer and per network, latency never rises along ``accs``, every point maps,
    and on at least one network the sweep matters (the last point is faster)."""
    gains = []
    for name in networks:
        net = hwsim.zoo.get_network(name)
        frame = hwsim.evaluate_many(net, accs)
        assert frame["feasible"].all(), frame.loc[~frame["feasible"], "error"].iloc[0]
        per_layer = frame.pivot(index="config", columns="layer_index", values="latency_cycles").to_numpy()
        rises = np.argwhere(per_layer[1:] > per_layer[:-1] * (1 + rel))
        assert not len(rises), [(name, net.layers[j].name, int(i) + 1, per_layer[i, j], per_layer[i + 1, j])
                                for i, j in rises[:5]]
        totals = per_layer.sum(axis=1)
        assert (totals[1:] <= totals[:-1] * (1 + rel)).all(), (name, totals)
        gains.append(totals[-1] < totals[0])
    assert any(gains) or not matters, "the sweep never changes latency"


# -- shi -----------------------------------------------------------------------------

@pytest.mark.parametrize("key,values", [
    ("pes", DOUBLING(64, 9)),                          # 64 .. 16384
    ("l2_bytes", BUFFER_BYTES),
    ("noc_bw_bytes_per_cycle", BANDWIDTHS),
    ("dram_bw_bytes_per_cycle", BANDWIDTHS),
])
def test_shi_latency_non_increasing(key, values):
    assert_non_increasing(sweep("shi", key, values))


def test_shi_latency_non_increasing_in_l1():
    # 16 B (14 partial sums of 8 bits) .. 64 MiB per PE. L1 sets how many output channels
    # share one input read, i.e. the NoC traffic: on a NoC-bound array (1024 PEs fed by
    # 4 B/cycle) it decides latency.
    assert_non_increasing(sweep("shi", "l1_bytes", DOUBLING(16, 23), pes=1024, noc_bw_bytes_per_cycle=4.0))


def test_shi_pes_with_fast_memory():
    # With DRAM and NoC out of the way the array shape alone decides: more PEs must
    # still never be slower (the fill of a taller array included).
    assert_non_increasing(sweep("shi", "pes", DOUBLING(64, 9), dram_bw_bytes_per_cycle=1e6,
                                noc_bw_bytes_per_cycle=1e6, l2_bytes=2**30))


# -- tpu -----------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["ifmap_sram_bytes", "filter_sram_bytes", "ofmap_sram_bytes"])
@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_tpu_latency_non_increasing_in_each_sram(key, dataflow):
    # os writes each output once and ws reads each weight once whatever their SRAM holds.
    constant = (dataflow, key) in {("os", "ofmap_sram_bytes"), ("ws", "filter_sram_bytes")}
    assert_non_increasing(sweep("tpu", key, BUFFER_BYTES, dataflow=dataflow),
                          networks=("resnet50", "vgg16", "mobilenet_v2"), matters=not constant)


def test_tpu_latency_non_increasing_in_dram_bandwidth():
    assert_non_increasing(sweep("tpu", "dram_bw_bytes_per_cycle", BANDWIDTHS))


@pytest.mark.parametrize("key", ["rows", "cols"])
@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
@pytest.mark.parametrize("srams", [{}, SMALL_SRAM], ids=["default_srams", "16KiB_srams"])
def test_tpu_latency_non_increasing_in_rows_and_cols_when_mapped(key, dataflow, srams):
    assert_non_increasing(sweep("tpu", key, DOUBLING(4, 10), fill_drain="mapped", dataflow=dataflow, **srams),
                          networks=("resnet50", "vgg16", "unet"))


def test_tpu_whole_array_skew_is_the_documented_exception():
    # A 3x3 conv on 14x14 outputs: one fold on 256 x 256 and on 512 x 512, but the bigger
    # array's skew is longer: slower under fill_drain: array, equal under mapped.
    layer = hwsim.workload.conv2d("small", 64, 64, (14, 14), 3, padding=1)
    lat = {mode: hwsim.evaluate_many(layer, sweep("tpu", "rows", [256, 512], fill_drain=mode, cols=256))
           ["latency_cycles"].to_numpy() for mode in ("array", "mapped")}
    assert lat["array"][1] > lat["array"][0]
    assert lat["mapped"][1] == lat["mapped"][0]


# -- both ----------------------------------------------------------------------------

AREA_CASES = [("shi", k, v) for k, v in (("pes", DOUBLING(64, 9)), ("l1_bytes", DOUBLING(16, 12)),
                                         ("l2_bytes", BUFFER_BYTES), ("noc_bw_bytes_per_cycle", BANDWIDTHS))]
AREA_CASES += [("tpu", k, DOUBLING(4, 10)) for k in ("rows", "cols")]
AREA_CASES += [("tpu", k, BUFFER_BYTES) for k in ("ifmap_sram_bytes", "filter_sram_bytes", "ofmap_sram_bytes")]
AREA_CASES += [("tpu", "mac_bits", [4, 8, 16, 32])]


@pytest.mark.parametrize("template,key,values", AREA_CASES, ids=[f"{t}-{k}" for t, k, _ in AREA_CASES])
def test_area_non_decreasing_in_size(template, key, values):
    layer = hwsim.workload.conv2d("c", 64, 64, (56, 56), kernel=3, padding=1)
    area = hwsim.evaluate_many(layer, sweep(template, key, values))["area_mm2"].to_numpy()
    assert (np.diff(area) >= 0).all() and area[-1] > area[0], area


@pytest.mark.parametrize("template,big", [("shi", {"pes": 2**20}), ("tpu", {"rows": 2048, "cols": 2048})])
def test_active_pes_within_pes_and_macs(template, big):
    acc = hwsim.load_template(template)
    for name in ("resnet50", "mobilenet_v2", "unet"):
        rows = hwsim.evaluate_many(hwsim.zoo.get_network(name), [acc, acc.with_params(**big)])
        mac = rows["macs"] > 0
        assert (rows["active_pes"] <= rows["peak_macs_per_cycle"]).all()
        assert (rows.loc[mac, "active_pes"] <= rows.loc[mac, "macs"]).all()
        assert (rows.loc[mac, "active_pes"] >= 1).all()


@pytest.mark.parametrize("template", ["shi", "tpu"])
def test_every_zoo_network_maps_at_every_batch(template):
    acc = hwsim.load_template(template)
    for name in NETWORKS:
        for batch in (1, 32, 256):
            row = hwsim.evaluate_many(hwsim.zoo.get_network(name, batch=batch), [acc], per_layer=False).iloc[0]
            assert row["feasible"], (name, batch, row["error"])
            assert np.isfinite(row["latency_cycles"]) and row["energy_pj"] > 0
    mlp = hwsim.workload.matmul("mlp", 2**24, 64, 32)
    row = hwsim.evaluate_many(mlp, [acc], per_layer=False).iloc[0]
    assert row["feasible"], row["error"]
