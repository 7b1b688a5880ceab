"""The NGPC cluster: trends across processors, SRAM, L2, MLP array and fusion."""

import numpy as np
import pytest

from hwsim.errors import SpecError, TemplateError
from hwsim.graphics.apps import mlp_network
from hwsim.graphics.config import load_ngpc
from hwsim.graphics.ngpc import ngpc_frame, ngpc_frames, processor_rates
from hwsim.graphics.study import grid, parse_resolution, saturation_point

HD = (1920, 1080)


def test_more_processors_speed_up_an_engine_bound_frame_and_never_slow_it():
    frames = ngpc_frames("nerf", "multires_hashgrid", *HD, [1, 2, 4, 8, 16, 32, 64, 128])
    assert np.all(np.diff(frames["frame_s"]) <= 0)
    engine_bound = np.isin(frames["bottleneck"], ["encoding engines", "MLP engine"])
    assert engine_bound[:4].all() and not engine_bound[-1]
    assert frames["speedup"][3] == pytest.approx(8 * frames["speedup"][0], rel=1e-9)   # linear while engine-bound


def test_a_level_table_that_does_not_fit_the_engine_goes_to_the_l2_and_dram():
    half, full = load_ngpc(sram_bytes_per_engine=1 << 20), load_ngpc(sram_bytes_per_engine=2 << 20)
    assert processor_rates("nerf", "multires_hashgrid", half).table_hit_rate < processor_rates(
        "nerf", "multires_hashgrid", full).table_hit_rate
    small = ngpc_frame("nerf", "multires_hashgrid", *HD, 64, half)
    assert small.bottleneck in ("GPU DRAM", "GPU L2 port")
    assert ngpc_frame("nerf", "multires_hashgrid", *HD, 64, full).speedup > 2 * small.speedup


def test_a_bigger_gpu_l2_helps_the_gigapixel_grid_that_misses_the_engines():
    big = load_ngpc(l2_bytes=48 << 20)
    assert ngpc_frame("gia", "multires_hashgrid", *HD, 64, big).speedup > 1.1 * ngpc_frame(
        "gia", "multires_hashgrid", *HD, 64).speedup


def test_the_mlp_engine_binds_at_sf8_a_faster_clock_helps_a_bigger_array_does_not():
    base = ngpc_frame("nerf", "multires_hashgrid", *HD, 8)
    assert base.bottleneck == "MLP engine"
    fast = ngpc_frame("nerf", "multires_hashgrid", *HD, 8, load_ngpc(clock_hz=2e9))
    assert fast.speedup == pytest.approx(2 * base.speedup, rel=0.02)
    # a weight-stationary array streams one query per layer per cycle: 64-wide layers gain nothing
    big = ngpc_frame("nerf", "multires_hashgrid", *HD, 8, load_ngpc(mlp_rows=128, mlp_cols=128))
    assert big.speedup < 1.05 * base.speedup


def test_fusing_the_remaining_kernels_better_raises_the_ceiling():
    sf64 = ngpc_frame("nsdf", "multires_hashgrid", *HD, 64)
    assert sf64.bottleneck == "fused remaining kernels"
    assert ngpc_frame("nsdf", "multires_hashgrid", *HD, 64, load_ngpc(fused_rest_speedup=20.0)).speedup > 1.3 * sf64.speedup


def test_the_mlp_engine_is_costed_by_the_dataflow_model_not_the_mac_count():
    rates = processor_rates("nsdf", "multires_hashgrid")
    ideal_qps = 64 * 64 * 1e9 / mlp_network("nsdf", "multires_hashgrid", 1).macs
    # 32-wide input and 16-wide output layers leave parts of the 64 x 64 array idle
    assert 0.4 * ideal_qps < rates.mlp_queries_per_s < 0.8 * ideal_qps


def test_saturation_names_the_resource():
    sf, where = saturation_point("gia", "multires_hashgrid")
    assert sf is not None and where in ("GPU DRAM", "GPU L2 port", "fused remaining kernels")


def test_the_grid_has_units_in_its_columns():
    df = grid(apps=("nerf",), encodings=("multires_hashgrid",), resolutions=("4k",))
    assert len(df) == 4 and {"gpu_frame_s", "frame_s", "ngpc_area_mm2", "ngpc_power_w", "width_px"} <= set(df)


@pytest.mark.parametrize("bad", [0, -8, True, 8.0])
def test_a_bad_scaling_factor_is_an_error(bad):
    with pytest.raises(SpecError, match="scaling_factor"):
        ngpc_frame("nerf", "multires_hashgrid", *HD, bad)


def test_bad_resolution():
    with pytest.raises(SpecError, match="resolution"):
        parse_resolution("4kx")


@pytest.mark.parametrize("edit, match", [
    (lambda t: t.replace("  clock_hz: 1.0e+9\n", ""), "missing parameter"),
    (lambda t: t.replace("  sector_bytes: 32\n", "  sector_bytes: 32\n  warp: 32\n"), "gpu.warp"),
    (lambda t: t.replace("encoding_plus_mlp_share: 0.7237", "encoding_plus_mlp_share: 1.0"), "encoding_plus_mlp_share"),
    (lambda t: t.replace("lookups_per_cycle: 8", "lookups_per_cycle: 2.5"), "lookups_per_cycle"),
    (lambda t: t.replace("l2_bw_bytes_per_s: 2.0e+12", "l2_bw_bytes_per_s: .nan"), "l2_bw_bytes_per_s"),
])
def test_a_malformed_cluster_file_is_one_clear_error(tmp_path, edit, match):
    source = load_ngpc().source
    path = tmp_path / "bad.yaml"
    path.write_text(edit(open(source).read()))
    with pytest.raises(TemplateError, match=match):
        load_ngpc(str(path))


def test_unknown_cluster_and_parameter():
    with pytest.raises(TemplateError, match="unknown NGPC"):
        load_ngpc("ngpc9")
    with pytest.raises(TemplateError, match="unknown NGPC parameter"):
        load_ngpc(warps=3)
