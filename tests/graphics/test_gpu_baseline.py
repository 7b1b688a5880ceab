"""The RTX 3090 baseline: trends of the per-query model across parameters."""

import pytest

from hwsim.errors import SpecError
from hwsim.graphics.apps import APPS
from hwsim.graphics.config import load_ngpc
from hwsim.graphics.gpu_baseline import gpu_frame, query_cost

UHD = (3840, 2160)


def test_a_bigger_l2_makes_the_hash_grid_encoding_faster():
    small, big = load_ngpc(), load_ngpc(l2_bytes=24 << 20)
    assert gpu_frame("nerf", "multires_hashgrid", *UHD, big).encoding_s < 0.8 * gpu_frame(
        "nerf", "multires_hashgrid", *UHD, small).encoding_s
    # the remaining kernels were measured on the real GPU: a what-if L2 does not change them
    assert gpu_frame("nerf", "multires_hashgrid", *UHD, big).rest_s == gpu_frame(
        "nerf", "multires_hashgrid", *UHD, small).rest_s


@pytest.mark.parametrize("app", ["nerf", "nsdf", "nvr"])
def test_the_hash_grid_costs_more_than_the_dense_grids(app):
    # 16 levels (11 hashed, scattered over 2 MiB tables) against 8 and 2 dense levels
    times = {e: gpu_frame(app, e, *UHD).encoding_s for e in ("multires_hashgrid", "multires_densegrid",
                                                              "lowres_densegrid")}
    assert times["multires_hashgrid"] > 1.5 * times["multires_densegrid"] > 1.5 * times["lowres_densegrid"]


def test_nerf_mlp_costs_more_than_the_single_network_apps():
    nerf, nsdf = query_cost("nerf", "multires_hashgrid"), query_cost("nsdf", "multires_hashgrid")
    assert 1.2 < nerf.mlp_s / nsdf.mlp_s < 2.5        # 10,240 vs 7,168 MACs, NeRF's extra small layers


def test_more_samples_per_pixel_take_longer():
    assert gpu_frame("nerf", "multires_hashgrid", *UHD, samples_per_pixel=64).frame_s > 1.9 * gpu_frame(
        "nerf", "multires_hashgrid", *UHD, samples_per_pixel=32).frame_s


@pytest.mark.parametrize("app", sorted(APPS))
def test_power_lies_between_static_and_tdp(app):
    frame = gpu_frame(app, "multires_hashgrid", *UHD)
    assert 30.0 < frame.power_w < 350.0 and frame.energy_j == pytest.approx(frame.power_w * frame.frame_s)


@pytest.mark.parametrize("call, field", [
    (lambda: gpu_frame("nerf", "multires_hashgrid", 0, 1080), "width"),
    (lambda: gpu_frame("nerf", "octree", 1920, 1080), "encoding"),
    (lambda: gpu_frame("mesh", "multires_hashgrid", 1920, 1080), "app"),
    (lambda: gpu_frame("nerf", "multires_hashgrid", 1920, 1080, samples_per_pixel=0), "samples_per_pixel"),
])
def test_bad_input_is_one_clear_error(call, field):
    with pytest.raises(SpecError, match=field):
        call()
