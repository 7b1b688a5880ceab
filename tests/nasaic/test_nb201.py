"""NAS-Bench-201 networks: MACs against NATS-Bench's published range, internal consistency,
the whole table builds and costs (tolerances: MACs exact integers; costs rel 1e-9)."""

import time

import numpy as np
import pytest

import hwsim
from hwsim.errors import SpecError
from nasaic.space import nb201

ALL3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL1 = ALL3.replace("3x3", "1x1")
NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


def test_all_conv3x3_macs_by_hand():
    # 6 edges x C^2 x 9 x H x W per cell, 5 cells per stage, on top of the skeleton
    cells = 5 * 6 * 9 * (16 * 16 * 32 * 32 + 32 * 32 * 16 * 16 + 64 * 64 * 8 * 8)
    assert nb201.build(ALL3, "cifar10").macs == nb201.build(NONE, "cifar10").macs + cells == 220_119_680
    assert round(nb201.build(NONE, "cifar10").macs / 1e6, 2) == 7.78


# NATS-Bench's own FLOPs (millions; its counter adds the classifier bias, one per class):
# arch 0 from D-X-Y/NATS-Bench issue #24 (cifar10-valid, cifar100, ImageNet16-120), arch 1
# from D-X-Y/NATS-Bench issue #18 (api.query_info_str_by_arch(1)). Tolerance: exact at the
# published 5 decimals after adding the bias.
PUBLISHED = [
    ("|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
     {"cifar10": 15.64737, "cifar100": 15.65322, "imagenet16_120": 3.91948}),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
     {"cifar10": 113.95, "cifar100": 113.96, "imagenet16_120": 28.50}),
]


@pytest.mark.parametrize("arch,flops", PUBLISHED)
def test_macs_match_published_nats_bench_flops(arch, flops):
    for dataset, millions in flops.items():
        classes = nb201.DATASETS[dataset][1]
        ours = (nb201.build(arch, dataset).macs + classes) / 1e6
        decimals = len(str(millions).split(".")[1])
        assert round(ours, decimals) == millions, (dataset, ours, millions)


def test_none_network_is_skeleton_only():
    net = nb201.build(NONE, "cifar100")
    names = [l.name for l in net]
    assert names[0] == "stem" and names[-1] == "fc" and all(n.startswith(("red", "gap", "stem", "fc")) for n in names)
    stem = 3 * 16 * 9 * 32 * 32
    red = (16 * 32 * 9 + 32 * 32 * 9 + 16 * 32) * 16 * 16 + (32 * 64 * 9 + 64 * 64 * 9 + 32 * 64) * 8 * 8
    assert net.macs == stem + red + 64 * 100


def test_conv3x3_edges_cost_nine_times_conv1x1():
    base = nb201.build(NONE).macs
    assert nb201.build(ALL3).macs - base == 9 * (nb201.build(ALL1).macs - base)


def test_imagenet16_is_16x16_and_120_classes():
    net = nb201.build(ALL3, "ImageNet16-120")
    assert net["stem"].in_size == (16, 16) and net["fc"].k == 120
    assert net.macs - nb201.build(NONE, "imagenet16_120").macs == (nb201.build(ALL3).macs - nb201.build(NONE).macs) // 4


def test_zero_nodes_fold_and_skip_is_free():
    # node 1 is zero (none), so the conv on edge 1->2 is folded away unless fold_zeros=False
    arch = "|none~0|+|skip_connect~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
    folded, full = nb201.build(arch), nb201.build(arch, fold_zeros=False)
    assert folded.macs == nb201.build(NONE).macs
    assert full.macs - folded.macs == 5 * (16 * 16 * 9 * 32 * 32 + 32 * 32 * 9 * 16 * 16 + 64 * 64 * 9 * 8 * 8)
    # the cell's output node sums two skips of the input: one 2-input add per cell
    assert sum(1 for l in folded if l.op == "add") == 15 + 2


@pytest.mark.parametrize("bad", ["", "|nor_conv_3x3~0|", ALL3.replace("~2", "~1"), ALL3.replace("nor_conv_3x3", "conv", 1),
                                 ALL3[:-1], 7])
def test_bad_arch_strings(bad):
    with pytest.raises(SpecError, match="field 'arch'"):
        nb201.build(bad)


def test_bad_dataset():
    with pytest.raises(SpecError, match="field 'dataset' = 'mnist'"):
        nb201.build(ALL3, "mnist")


def test_table_is_the_whole_space(reference):
    archs = nb201.archs(reference)
    assert len(archs) == 15_625 == len(set(archs))
    assert set(archs) == set(nb201.all_archs())


def test_sample_is_seeded():
    assert nb201.sample(5, seed=3) == nb201.sample(5, seed=3) != nb201.sample(5, seed=4)


def test_whole_space_costs_fast_and_equal_to_evaluate(reference):
    acc = hwsim.load_template("dla", pes=256)
    start = time.perf_counter()
    table = nb201.cost_table([acc], "cifar10", reference_dir=reference)
    elapsed = time.perf_counter() - start
    assert len(table) == 15_625 and table["feasible"].all()
    assert elapsed < 30, elapsed
    archs = nb201.archs(reference)
    rng = np.random.default_rng(0)
    for i in rng.choice(len(archs), 12, replace=False):
        total = hwsim.evaluate(nb201.build(archs[i], "cifar10"), acc).total
        row = table.iloc[i]
        assert row["macs"] == total.macs
        assert row["latency_cycles"] == pytest.approx(total.latency_cycles, rel=1e-9)
        assert row["energy_pj"] == pytest.approx(total.energy_pj, rel=1e-9)


def test_cost_table_without_folding_matches_build():
    acc = hwsim.load_template("shi", pes=64)
    archs = ["|none~0|+|skip_connect~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|",
             "|avg_pool_3x3~0|+|none~0|none~1|+|none~0|nor_conv_1x1~1|none~2|",   # cell output zero
             NONE, ALL3]
    for fold in (True, False):
        table = nb201.cost_table([acc], "cifar100", arch_list=archs, fold_zeros=fold)
        for arch, row in zip(archs, table.itertuples()):
            total = hwsim.evaluate(nb201.build(arch, "cifar100", fold_zeros=fold), acc).total
            assert row.macs == total.macs
            assert row.latency_cycles == pytest.approx(total.latency_cycles, rel=1e-9)


def test_zero_cell_output_still_runs_the_skeleton():
    # node 2 is zero, so node 3 = conv1x1(zero) is zero: every cell outputs zero. Cell 1's
    # pool (node 1) is dead code but computed, as in the reference implementation; later
    # cells of a stage see a zero input and fold; the skeleton reads the last real tensor.
    arch = "|avg_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|nor_conv_1x1~2|"
    net = nb201.build(arch)
    assert net.macs == nb201.build(NONE).macs
    cell_layers = [l.name for l in net if l.name.startswith("s")]
    assert cell_layers == ["stem", "s1c1.e01.avgpool3x3", "s2c1.e01.avgpool3x3", "s3c1.e01.avgpool3x3"]
    assert [l.name for l in net.predecessors("red1.conv_a")] == ["stem"]
    assert [l.name for l in net.predecessors("gap")] == ["red2.add"]
    full = nb201.build(arch, fold_zeros=False)
    assert full.macs == net.macs + sum(l.macs for l in full if "conv1x1" in l.name)
    assert sum(1 for l in full if "conv1x1" in l.name) == 15
