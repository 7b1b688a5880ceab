"""The NumPy hash encoder (hwsim.graphics.encoding): layout, interpolation, hash, counts, errors."""

import numpy as np
import pytest

from hwsim.errors import SpecError
from hwsim.graphics.encoding import HashGridEncoding

CONFIGS = [HashGridEncoding(4, 2, 10, 4, 1.5), HashGridEncoding(16, 2, 12, 16, 1.382, dims=2),
           HashGridEncoding(3, 4, 8, 2, 2.0, dims=3), HashGridEncoding(2, 1, 6, 3, 1.0, dims=1)]


def _points(enc, n=50, seed=1):
    return np.random.default_rng(seed).random((n, enc.dims))


@pytest.mark.parametrize("enc", CONFIGS)
def test_analytical_counts_equal_encoder_counts(enc):
    tables = enc.init_tables(seed=0)
    _, counts = enc.encode(_points(enc), tables, return_counts=True)
    assert counts == enc.analytical_counts(50, bytes_per_feature=2)
    assert counts.total_lookups == 50 * enc.lookups_per_query
    assert counts.total_bytes_read == 50 * enc.bytes_per_query(2)
    assert counts.total_flops == 50 * enc.flops_per_query()
    _, c32 = enc.encode(_points(enc), enc.init_tables(dtype=np.float32), return_counts=True)
    assert c32.total_bytes_read == 2 * counts.total_bytes_read


@pytest.mark.parametrize("enc", CONFIGS)
def test_dense_levels_are_those_whose_vertices_fit(enc):
    vertices = [(int(n) + 1) ** enc.dims for n in enc.resolutions]
    assert list(enc.dense_levels) == [v <= enc.table_size for v in vertices]
    assert enc.table_sizes == [min(v, enc.table_size) for v in vertices]


def test_nerf_settings():
    enc = HashGridEncoding(16, 2, 19, 16, 1.382)
    assert enc.resolutions[0] == 16 and 2000 < enc.resolutions[-1] < 2100
    assert enc.dense_levels.sum() == 5 and enc.output_dims == 32 and enc.lookups_per_query == 128


def test_vertex_edge_midpoint_and_constant():
    enc = HashGridEncoding(1, 2, 10, 4, 1.0, dims=2)          # one dense 5x5 level
    table = np.random.default_rng(0).random((25, 2)).astype(np.float32)
    at = lambda i, j: table[i + 5 * j]
    out = enc.encode([[0.25, 0.5], [1.0, 1.0], [0.375, 0.5]], [table])
    np.testing.assert_allclose(out[0], at(1, 2), rtol=1e-6)
    np.testing.assert_allclose(out[1], at(4, 4), rtol=1e-6)
    np.testing.assert_allclose(out[2], (at(1, 2) + at(2, 2)) / 2, rtol=1e-6)
    const = HashGridEncoding(5, 3, 8, 3, 1.7)
    tables = [np.full((s, 3), 0.75, np.float32) for s in const.table_sizes]
    np.testing.assert_allclose(const.encode(_points(const), tables), 0.75, rtol=1e-6)


def test_dense_level_reproduces_a_linear_function():
    enc = HashGridEncoding(1, 2, 12, 7, 1.0)
    n1 = 8
    c = np.stack(np.meshgrid(*[np.arange(n1)] * 3, indexing="ij"), -1).reshape(-1, 3)
    order = np.argsort(c[:, 0] + n1 * c[:, 1] + n1 * n1 * c[:, 2])
    c = c[order] / 7.0
    table = np.stack([c @ [1.0, -2.0, 0.5] + 3, c @ [0.25, 0.0, 4.0]], 1).astype(np.float32)
    x = _points(enc, 200)
    expected = np.stack([x @ [1.0, -2.0, 0.5] + 3, x @ [0.25, 0.0, 4.0]], 1)
    np.testing.assert_allclose(enc.encode(x, [table]), expected, atol=1e-5)


def test_hash_of_a_hand_computed_corner():
    enc = HashGridEncoding(1, 1, 8, 100, 1.0)                  # 101^3 > 256: hashed
    assert not enc.dense_levels[0]
    table = np.arange(256, dtype=np.float32)[:, None]
    corner = (37, 81, 90)
    expected = ((corner[0] * 1) ^ (corner[1] * 2654435761) ^ (corner[2] * 805459861)) % 2 ** 32 % 256
    out = enc.encode([[c / 100 for c in corner]], [table])
    assert out[0, 0] == pytest.approx(expected, abs=1e-3)


def test_output_is_level_major():
    enc = HashGridEncoding(3, 2, 10, 2, 2.0)
    tables = [np.tile(np.array([10 * l, 10 * l + 1], np.float32), (s, 1)) for l, s in enumerate(enc.table_sizes)]
    out = enc.encode(_points(enc, 5), tables)
    np.testing.assert_allclose(out[0], [0, 1, 10, 11, 20, 21], atol=1e-5)
    single = enc.encode(_points(enc, 5), enc.init_tables(3))
    tables = enc.init_tables(3)
    tables[1] = np.zeros_like(tables[1])
    zeroed = enc.encode(_points(enc, 5), tables)
    assert np.all(zeroed[:, 2:4] == 0) and np.array_equal(zeroed[:, :2], single[:, :2])


def test_init_tables_deterministic():
    enc = CONFIGS[0]
    a, b, c = enc.init_tables(7), enc.init_tables(7), enc.init_tables(8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    assert all(t.dtype == np.float16 and np.abs(t.astype(float)).max() <= 1e-4 for t in a)


def test_from_config():
    enc = HashGridEncoding.from_config({"otype": "HashGrid", "n_levels": 16, "n_features_per_level": 2,
                                        "log2_hashmap_size": 19, "base_resolution": 16, "per_level_scale": 1.382})
    assert enc == HashGridEncoding(16, 2, 19, 16, 1.382)


@pytest.mark.parametrize("kwargs, field", [
    (dict(base_resolution=0), "base_resolution"), (dict(per_level_scale=0.9), "per_level_scale"),
    (dict(log2_hashmap_size=0), "log2_hashmap_size"), (dict(dims=5), "dims"),
    (dict(per_level_scale=float("nan")), "per_level_scale"), (dict(n_levels=0), "n_levels")])
def test_bad_constructor_arguments(kwargs, field):
    args = dict(n_levels=2, n_features_per_level=2, log2_hashmap_size=8, base_resolution=4, per_level_scale=1.5)
    with pytest.raises(SpecError, match=field):
        HashGridEncoding(**{**args, **kwargs})


def test_bad_config_tables_and_points():
    with pytest.raises(SpecError, match="n_level"):
        HashGridEncoding.from_config({"otype": "HashGrid", "n_level": 4})
    with pytest.raises(SpecError, match="log2_hashmap_size"):
        HashGridEncoding.from_config({"log2_hashmap_size": 19.0})
    enc = CONFIGS[0]
    tables = enc.init_tables()
    tables[2] = tables[2][:-1]
    with pytest.raises(SpecError, match=r"tables\[2\].*expected"):
        enc.encode(_points(enc), tables)
    for bad, value in ((1.5, "1.5"), (-0.1, "-0.1"), (np.nan, "nan")):
        x = _points(enc)
        x[3, 1] = bad
        with pytest.raises(SpecError, match=rf"points\[3, 1\] = {value}"):
            enc.encode(x, enc.init_tables())


def test_too_fine_a_grid_is_rejected():
    with pytest.raises(SpecError, match="finest resolution"):
        HashGridEncoding(40, 2, 19, 16, 2.0)


def _reference(enc, x, tables):
    """Per point, per level, per corner in Python ints: the spec written out."""
    from hwsim.graphics.encoding import PRIMES
    out = []
    for res, dense, table in zip(enc.resolutions.tolist(), enc.dense_levels, tables):
        p = [xi * res for xi in x]
        cell = [min(int(np.floor(pi)), res - 1) for pi in p]
        acc = np.zeros(enc.n_features_per_level)
        for corner in range(2 ** enc.dims):
            bits = [(corner >> i) & 1 for i in range(enc.dims)]
            c = [ci + bi for ci, bi in zip(cell, bits)]
            w = np.prod([(p[i] - cell[i]) if bits[i] else 1 - (p[i] - cell[i]) for i in range(enc.dims)])
            if dense:
                idx = sum(ci * (res + 1) ** i for i, ci in enumerate(c))
            else:
                h = 0
                for i, ci in enumerate(c):
                    h ^= (ci * PRIMES[i]) % 2 ** 32
                idx = h % enc.table_size
            acc += w * table[idx].astype(float)
        out.extend(acc)
    return np.array(out)


@pytest.mark.parametrize("enc", [HashGridEncoding(6, 2, 9, 4, 1.8), HashGridEncoding(4, 3, 7, 3, 2.0, dims=2),
                                 HashGridEncoding(3, 2, 10, 5, 1.5, dims=4)])
def test_matches_a_per_point_reference(enc):
    tables = [np.random.default_rng(l).random(t.shape).astype(np.float32) for l, t in enumerate(enc.init_tables())]
    assert not enc.dense_levels.all()
    x = _points(enc, 8, seed=5)
    x[0] = 1.0
    got = enc.encode(x, tables)
    for i in range(len(x)):
        np.testing.assert_allclose(got[i], _reference(enc, x[i], tables), rtol=1e-5, atol=1e-5)
