"""Neural-graphics apps and encodings against instant-ngp's settings (ngpc.yaml)."""

import numpy as np
import pytest
import yaml

from hwsim.errors import SpecError
from hwsim.graphics.apps import APPS, ENCODINGS, dense_grid, encoding, frame_workload, mlp_network
from hwsim.graphics.encoding import HashGridEncoding


@pytest.fixture(scope="module")
def ngp(reference):
    return yaml.safe_load((reference / "ngpc.yaml").read_text())["instant_ngp_settings"]


def test_hash_grid_lookups_and_mlp_macs_per_query(ngp):
    for app in APPS:
        enc = encoding("multires_hashgrid", app)
        expected = ngp["lookups_per_query"]["gia_2d" if app == "gia" else "3d"]
        assert enc.lookups_per_query == expected
        macs = ngp["mlp_macs_per_query"]["nerf" if app == "nerf" else "other"]
        assert mlp_network(app, "multires_hashgrid", 1).macs == macs


def test_encoding_settings(ngp):
    hg = encoding("multires_hashgrid", "nerf")
    assert (hg.n_levels, hg.n_features_per_level, hg.log2_hashmap_size, hg.base_resolution) == (
        ngp["hashgrid"]["levels"], ngp["hashgrid"]["features_per_level"], ngp["hashgrid"]["log2_table_size"],
        ngp["hashgrid"]["base_resolution"])
    assert encoding("multires_hashgrid", "gia").log2_hashmap_size == ngp["hashgrid"]["log2_table_size_gia"]
    dense = encoding("multires_densegrid", "nsdf")
    assert dense.resolutions[0] == 16 and dense.resolutions[-1] == ngp["multires_densegrid"]["finest_resolution"]
    low = encoding("lowres_densegrid", "nvr")
    assert list(low.resolutions) == [128, 128] and low.n_features_per_level == 8


def test_hash_tables_cap_the_fine_levels_and_dense_grids_store_every_vertex():
    hg = encoding("multires_hashgrid", "nerf")
    coarse = (hg.resolutions + 1.0) ** 3 <= 2**19
    assert coarse[0] and not coarse[-1]
    sizes = np.array(hg.table_sizes)
    assert (sizes[~coarse] == 2**19).all() and (sizes[coarse] < 2**19).all()
    dense = encoding("multires_densegrid", "nerf")
    assert dense.dense_levels.all() and dense.table_sizes[-1] == 174**3


def test_frame_work_scales_with_pixels_and_samples():
    base = frame_workload("nerf", "multires_hashgrid", 1920, 1080)
    uhd = frame_workload("nerf", "multires_hashgrid", 3840, 2160)
    assert uhd["queries"] == 4 * base["queries"] and uhd["mlp_macs"] == 4 * base["mlp_macs"]
    more = frame_workload("nerf", "multires_hashgrid", 1920, 1080, samples_per_pixel=64)
    assert more["lookups"] == 64 * 1920 * 1080 * 128
    for enc in ENCODINGS:        # coarser encodings read fewer bytes per query
        assert frame_workload("nsdf", enc, 64, 64)["encoding_bytes"] > 0
    assert (frame_workload("nsdf", "lowres_densegrid", 64, 64)["lookups"]
            < frame_workload("nsdf", "multires_densegrid", 64, 64)["lookups"]
            < frame_workload("nsdf", "multires_hashgrid", 64, 64)["lookups"])


@pytest.mark.parametrize("make, match", [
    (lambda: frame_workload("nerf", "multires_hashgrid", 0, 1080), "field 'width'"),
    (lambda: frame_workload("teapot", "multires_hashgrid", 64, 64), "unknown app"),
    (lambda: encoding("octree", "nerf"), "unknown encoding"),
    (lambda: HashGridEncoding(16, 2, 19.5, 16, 1.5), "field 'log2_hashmap_size'"),
    (lambda: dense_grid(8, 2, 0, 1.5, 3), "field 'base_resolution'"),
    (lambda: HashGridEncoding(16, 2, 19, 16, 0.5), "field 'per_level_scale'"),
    (lambda: frame_workload("nerf", "multires_hashgrid", 64, 64, samples_per_pixel=0), "samples_per_pixel"),
])
def test_bad_input(make, match):
    with pytest.raises(SpecError, match=match):
        make()


def test_a_dense_grid_is_a_hash_grid_without_hashing():
    """Every level of a dense grid is indexed densely, so encoding it is exact d-linear
    interpolation of its vertex table; only the table size (a power of two) is padded."""
    dense = dense_grid(3, 2, 4, 2.0, 3)
    assert dense.dense_levels.all() and dense.table_sizes == [125, 729, 17**3]
    assert dense.log2_hashmap_size == 13                     # 17^3 = 4913 <= 2^13
