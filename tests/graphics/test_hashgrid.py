"""The NumPy hash-grid encoder: counts, indexing, interpolation, bad input."""

import numpy as np
import pytest

from hwsim.errors import SpecError
from hwsim.graphics.apps import encoding
from hwsim.graphics.hashgrid import PRIMES, HashGridEncoding

SMALL = HashGridEncoding(n_levels=4, n_features_per_level=2, log2_hashmap_size=10, base_resolution=4,
                         per_level_scale=2.0)


def test_levels_resolutions_and_dense_selection():
    assert list(SMALL.resolutions) == [4, 8, 16, 32]
    assert list(SMALL.dense_levels) == [True, True, False, False]       # 5^3, 9^3 <= 1024 < 17^3
    assert list(SMALL.table_sizes) == [125, 729, 1024, 1024]
    nerf = HashGridEncoding(16, 2, 19, 16, 1.382)
    assert nerf.resolutions[-1] == encoding("multires_hashgrid", "nerf").resolutions[-1]
    assert nerf.lookups_per_query == encoding("multires_hashgrid", "nerf").lookups_per_query == 128


@pytest.mark.parametrize("enc", [SMALL, HashGridEncoding(6, 4, 12, 8, 1.5, dims=2),
                                 HashGridEncoding(3, 1, 8, 2, 3.0, dims=3)])
def test_encoder_counts_equal_the_analytical_counts(enc):
    points = np.random.default_rng(0).random((777, enc.dims))
    for dtype in (np.float32, np.float16):
        out, counts = enc.encode(points, enc.init_tables(1, dtype), return_counts=True)
        expected = enc.analytical_counts(777, np.dtype(dtype).itemsize)
        assert out.shape == (777, enc.output_dims)
        np.testing.assert_array_equal(counts.lookups, expected.lookups)
        np.testing.assert_array_equal(counts.bytes_read, expected.bytes_read)


def one_hot_tables(enc, level, index):
    tables = [np.zeros((int(s), enc.n_features_per_level), np.float32) for s in enc.table_sizes]
    tables[level][index] = [1.0, 2.0]
    return tables


def test_a_point_on_a_vertex_returns_that_vertex_and_an_edge_midpoint_averages():
    # level 0, N = 4: vertex (1, 2, 3) -> dense index 1 + 2*5 + 3*25 = 86
    tables = one_hot_tables(SMALL, 0, 86)
    on_vertex = SMALL.encode(np.array([[1 / 4, 2 / 4, 3 / 4]]), tables)
    np.testing.assert_allclose(on_vertex[0, :2], [1.0, 2.0])
    midpoint = SMALL.encode(np.array([[1.5 / 4, 2 / 4, 3 / 4]]), tables)     # between (1,2,3) and (2,2,3)
    np.testing.assert_allclose(midpoint[0, :2], [0.5, 1.0])


def test_hashed_level_uses_the_spatial_hash():
    corner = (5, 7, 11)             # level 2 (N = 16) is hashed
    expected = ((corner[0] * PRIMES[0]) ^ (corner[1] * PRIMES[1]) ^ (corner[2] * PRIMES[2])) % 2**32 % 1024
    tables = one_hot_tables(SMALL, 2, expected)
    out = SMALL.encode(np.array([[5 / 16, 7 / 16, 11 / 16]]), tables)
    np.testing.assert_allclose(out[0, 4:6], [1.0, 2.0])          # level-major: level 2 is columns 4-5


def test_constant_and_linear_tables_are_reproduced():
    points = np.random.default_rng(2).random((500, 3))
    const = [np.full((int(s), 2), 0.25, np.float32) for s in SMALL.table_sizes]
    np.testing.assert_allclose(SMALL.encode(points, const), 0.25, rtol=1e-6)
    # level 1 is dense: a table linear in the vertex coordinates interpolates exactly
    n = int(SMALL.resolutions[1]) + 1
    i, j, k = np.meshgrid(np.arange(n), np.arange(n), np.arange(n), indexing="ij")
    linear = (i + 2 * j - 3 * k).transpose(2, 1, 0).reshape(-1).astype(np.float32)   # index i + j n + k n^2
    tables = SMALL.init_tables(0)
    tables[1] = np.stack([linear, -linear], axis=1)
    out = SMALL.encode(points, tables)
    scaled = points * SMALL.resolutions[1]
    np.testing.assert_allclose(out[:, 2], scaled @ [1, 2, -3], atol=1e-4)


def test_points_at_the_upper_edge_are_in_the_last_cell():
    out = SMALL.encode(np.ones((1, 3)), SMALL.init_tables(0))
    assert np.isfinite(out).all()


def test_init_tables_is_seeded():
    a, b, c = SMALL.init_tables(3), SMALL.init_tables(3), SMALL.init_tables(4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b)) and not np.array_equal(a[0], c[0])
    assert max(np.abs(t).max() for t in a) <= 1e-4


@pytest.mark.parametrize("make, match", [
    (lambda: HashGridEncoding(16, 2, 19, 0, 1.5), "field 'base_resolution'"),
    (lambda: HashGridEncoding(16, 2, 19, 16, 0.9), "field 'per_level_scale'"),
    (lambda: HashGridEncoding(16, 2, 0, 16, 1.5), "field 'log2_hashmap_size'"),
    (lambda: HashGridEncoding(16, 2, 19.5, 16, 1.5), "field 'log2_hashmap_size'"),
    (lambda: HashGridEncoding(16, 2, 19, 16, 1.5, dims=5), "field 'dims'"),
    (lambda: HashGridEncoding.from_config({"otype": "HashGrid", "n_levels": 16, "levels": 2}), "unknown key"),
    (lambda: SMALL.encode(np.array([[0.5, 0.5, 1.5]]), SMALL.init_tables(0)), "field 'points'"),
    (lambda: SMALL.encode(np.array([[0.5, np.nan, 0.5]]), SMALL.init_tables(0)), "field 'points'"),
    (lambda: SMALL.encode(np.zeros((2, 3)), SMALL.init_tables(0)[:3]), "field 'tables'"),
    (lambda: SMALL.encode(np.zeros((2, 3)), [np.zeros((5, 2))] * 4), r"tables\[0\]"),
])
def test_bad_input(make, match):
    with pytest.raises(SpecError, match=match):
        make()


def test_from_config_reads_tiny_cuda_nns_keys():
    cfg = {"otype": "HashGrid", "n_levels": 16, "n_features_per_level": 2, "log2_hashmap_size": 19,
           "base_resolution": 16, "per_level_scale": 1.382}
    assert HashGridEncoding.from_config(cfg) == HashGridEncoding(16, 2, 19, 16, 1.382)
