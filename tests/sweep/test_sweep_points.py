"""Point generation: grid decoding, seeded random samples, Latin hypercubes."""

import numpy as np
import pytest

from hwsim.sweep.points import RANDOM_BLOCK, Grid, PointSpace, Range, Samples, lhs_unit
from hwsim.sweep.spec import load_sweep_spec


def grid_space():
    return Grid(("a", "b", "c"), (np.array([1, 2, 3]), np.array([10.0, 20.0]), np.array(["x", "y"], dtype=object)))


def test_grid_enumerates_every_combination_once_last_fastest():
    grid = grid_space()
    assert grid.size == 12
    values = grid.take(np.arange(12))
    combos = list(zip(values["a"], values["b"], values["c"]))
    assert len(set(combos)) == 12
    assert combos[:3] == [(1, 10.0, "x"), (1, 10.0, "y"), (1, 20.0, "x")]


def test_any_index_range_matches_the_whole():
    space = PointSpace(grid=grid_space(), sampler=Samples("random", 7, 3, ("d",), (Range(0.0, 1.0),)))
    whole = space.take(0, space.size)
    for start, stop in ((0, 5), (5, 40), (40, 84), (83, 84)):
        part = space.take(start, stop)
        for name in whole:
            np.testing.assert_array_equal(part[name], whole[name][start:stop])


def test_random_samples_are_seeded_and_chunk_independent():
    sampler = Samples("random", 3 * RANDOM_BLOCK + 5, 11, ("u", "v"), (Range(0.0, 1.0), Range(0.0, 1.0)))
    index = np.arange(sampler.samples)
    all_at_once = sampler.unit(index)
    pieces = np.concatenate([sampler.unit(index[s:s + 999]) for s in range(0, len(index), 999)])
    np.testing.assert_array_equal(all_at_once, pieces)
    other = Samples("random", sampler.samples, 12, sampler.names, sampler.ranges).unit(index)
    assert not np.allclose(all_at_once, other)
    assert 0.45 < all_at_once.mean() < 0.55 and all_at_once.min() >= 0 and all_at_once.max() < 1


def test_lhs_hits_every_stratum_once_per_dimension():
    n, d = 500, 4
    unit = lhs_unit(n, d, 5)
    for j in range(d):
        strata = np.floor(unit[:, j] * n).astype(int)
        assert sorted(strata) == list(range(n))
    np.testing.assert_array_equal(unit, lhs_unit(n, d, 5))
    assert not np.array_equal(unit, lhs_unit(n, d, 6))


def test_lhs_strata_survive_the_mapping_to_a_range():
    spec = load_sweep_spec({"network": "alexnet", "template": "dla", "parameters": {"lhs": {
        "samples": 64, "seed": 2, "ranges": {"noc_bw_bytes_per_cycle": {"low": 8, "high": 136},
                                             "dram_bw_bytes_per_cycle": {"low": 1, "high": 256, "log": True}}}}})
    values = spec.space.take(0, 64)
    linear = np.floor((values["noc_bw_bytes_per_cycle"] - 8) / 128 * 64).astype(int)
    logged = np.floor(np.log(values["dram_bw_bytes_per_cycle"]) / np.log(256) * 64).astype(int)
    assert sorted(linear) == list(range(64)) and sorted(logged) == list(range(64))


def test_integer_log_range_and_choices():
    u = np.linspace(0, 1, 10_000, endpoint=False)
    ints = Range(16, 4096, log=True, integer=True).map(u)
    assert ints.dtype == np.int64 and ints.min() == 16 and 4090 <= ints.max() <= 4096
    # log-uniform: as many values in [16, 256) as in [256, 4096)
    assert abs((ints < 256).mean() - 0.5) < 0.01
    picks = Range(choices=("a", "b", "c")).map(u)
    assert {p: (picks == p).sum() for p in "abc"} == {"a": 3334, "b": 3333, "c": 3333}


def test_grid_crossed_with_samples():
    spec = load_sweep_spec({"network": "alexnet", "template": "dla", "parameters": {
        "grid": {"pes": [64, 128, 256]},
        "random": {"samples": 10, "seed": 0, "ranges": {"l2_bytes": {"low": 65536, "high": 262144}}}}})
    assert spec.points == 30
    values = spec.space.take(0, 30)
    np.testing.assert_array_equal(values["pes"], np.repeat([64, 128, 256], 10))
    np.testing.assert_array_equal(values["l2_bytes"][:10], values["l2_bytes"][10:20])   # same samples per grid point
    assert values["l2_bytes"].dtype == np.int64


@pytest.mark.parametrize("samples", [1, 2, 7])
def test_sample_counts(samples):
    spec = load_sweep_spec({"network": "alexnet", "template": "dla", "parameters": {
        "lhs": {"samples": samples, "seed": 1, "ranges": {"pes": {"low": 16, "high": 1024}}}}})
    assert spec.points == samples and len(spec.space.take(0, samples)["pes"]) == samples
