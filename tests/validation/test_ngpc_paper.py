"""NGPC against the paper (Mubarik et al., ISCA 2023; ../shared/reference/ngpc.yaml).

ONE calibration: the hash-grid encoding + MLP share (72.37 %) sets every app's
remaining-kernel time (hwsim.graphics.gpu_baseline). Everything else below is a
prediction; where the mechanism does not reach the paper's figure the gap is a
strict xfail whose reason says why (reports/neural_graphics.md has the numbers).
"""

import math
import os

import numpy as np
import pytest

from hwsim.graphics.apps import APPS, ENCODINGS
from hwsim.graphics.config import load_ngpc
from hwsim.graphics.gpu_baseline import gpu_frame
from hwsim.graphics.ngpc import ngpc_frame, ngpc_frames
from hwsim.graphics.study import RESOLUTIONS, average_speedup, saturation_point
from hwsim.hardware.yamlio import read_yaml_mapping
from refdata import REFERENCE

if not (REFERENCE / "ngpc.yaml").is_file():
    if os.environ.get("CI"):
        raise RuntimeError(f"reference data not found at {REFERENCE}")
    pytest.skip(f"reference data not found at {REFERENCE}", allow_module_level=True)
PAPER = read_yaml_mapping(str(REFERENCE / "ngpc.yaml"), "the NGPC paper's figures")
ABSTRACT, UNCONFIRMED = PAPER["abstract"], PAPER["unconfirmed"]
UHD, FUHD, HD = RESOLUTIONS["4k"], RESOLUTIONS["8k"], RESOLUTIONS["1080p"]


def _mean_share(encoding):
    return np.mean([gpu_frame(a, encoding, *UHD).encoding_plus_mlp_share for a in APPS])


@pytest.mark.parametrize("encoding", ["multires_densegrid", "lowres_densegrid"])
def test_the_dense_grid_shares_are_predicted_within_10_percent(encoding):
    assert _mean_share(encoding) == pytest.approx(ABSTRACT["encoding_plus_mlp_share_of_time"][encoding], rel=0.10)


def test_nerf_1080p_frame_on_the_gpu_within_15_percent():
    assert gpu_frame("nerf", "multires_hashgrid", *HD).frame_s * 1e3 == pytest.approx(
        UNCONFIRMED["nerf_1080p_frame_ms_gpu"], rel=0.15)


def _gaps():
    return [gpu_frame(a, e, *UHD).gap_to_60fps for a in APPS for e in ENCODINGS]


def test_the_largest_gap_to_4k_60fps_within_15_percent():
    assert max(_gaps()) == pytest.approx(ABSTRACT["gap_to_4k_60fps"][1], rel=0.15)


@pytest.mark.xfail(strict=True, reason="the lightest case (GIA, 1 query per pixel) already reaches 4k at 60 FPS "
                   "in hwsim (gap 0.74-0.97x vs the paper's 1.51x): its GPU kernels are modelled as bandwidth-bound "
                   "without the occupancy and scheduling losses of small kernels")
def test_the_smallest_gap_to_4k_60fps_within_15_percent():
    assert min(_gaps()) == pytest.approx(ABSTRACT["gap_to_4k_60fps"][0], rel=0.15)


def test_the_arvr_power_gap_is_2_to_4_orders_of_magnitude():
    budget = load_ngpc().arvr_power_budget_w
    oom = [math.log10(f.energy_j * 60 / budget) for f in (gpu_frame(a, e, *UHD) for a in APPS for e in ENCODINGS)]
    assert [round(min(oom)), round(max(oom))] == ABSTRACT["arvr_power_gap_orders_of_magnitude"]


SF = sorted(ABSTRACT["hashgrid_avg_speedup_by_scaling_factor"])
_AVG_REASON = ("hwsim's 64 x 64 weight-stationary MLP engine streams one query per layer per cycle (5 cycles per "
               "NeRF query, 3 for the others: the 32-wide input and 16-wide output layers leave it part idle); the "
               "paper's figures imply about twice that rate; and one measured share for every app caps each 3-D app "
               "at 9.94 / (1 - 0.7237) = 36x")


@pytest.mark.parametrize("sf", [pytest.param(s, marks=pytest.mark.xfail(strict=True, reason=_AVG_REASON)) for s in SF])
def test_hash_grid_average_speedup_within_15_percent(sf):
    got = average_speedup(scaling_factors=[sf])[0]
    assert got == pytest.approx(ABSTRACT["hashgrid_avg_speedup_by_scaling_factor"][sf], rel=0.15)


@pytest.mark.xfail(strict=True, reason="with one encoding + MLP share for every app, no app's remaining kernels are "
                   "lighter than 27.6 % of its GPU time: the pipelined ceiling is 9.94 / 0.2763 = 36x; 58x needs an "
                   "app whose share is >= 83 %, which needs the paper's per-app shares (not in ngpc.yaml)")
def test_maximum_speedup_within_15_percent():
    best = max(ngpc_frames(a, e, *HD, SF).get("speedup").max() for a in APPS for e in ENCODINGS)
    assert best == pytest.approx(ABSTRACT["end_to_end_speedup_max"], rel=0.15)


def test_nerf_reaches_4k_at_30_fps_with_64_processors():
    assert ngpc_frame("nerf", "multires_hashgrid", *UHD, 64).fps >= 30


@pytest.mark.parametrize("app", [
    pytest.param("nsdf", marks=pytest.mark.xfail(strict=True, reason="at 16 samples per pixel (an assumption) "
                 "NSDF's GPU frame is 1.7 s at 8k; with the 36x ceiling that is 21 FPS. 120 FPS needs <= ~3 queries "
                 "per pixel or a higher ceiling")),
    pytest.param("nvr", marks=pytest.mark.xfail(strict=True, reason="at 32 samples per pixel (an assumption) NVR's "
                 "GPU frame is 3.4 s at 8k: 11 FPS at the 36x ceiling")),
    "gia"])
def test_the_other_apps_reach_8k_at_120_fps_with_64_processors(app):
    assert ngpc_frame(app, "multires_hashgrid", *FUHD, 64).fps >= 120


@pytest.mark.parametrize("app, sf", [
    ("nerf", 64),
    pytest.param("nsdf", 32, marks=pytest.mark.xfail(strict=True, reason="NSDF and NVR share the MLP and the encoding "
                 "and, with one share, the same remaining-kernel weight: both saturate where the fused remaining "
                 "kernels start to bind (SF 64 here); the paper's 32 / 16 need per-app remaining-kernel times")),
    pytest.param("nvr", 16, marks=pytest.mark.xfail(strict=True, reason="as NSDF: same engines, same share")),
])
def test_saturation_follows_from_the_model(app, sf):
    assert saturation_point(app, "multires_hashgrid")[0] == sf

