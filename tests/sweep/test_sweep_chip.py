"""Chip sweeps (``chip:``): points equal hand-built chips' closed form, invalid values
are infeasible rows, bad specs fail before any work, resume and processes agree."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hwsim.errors import SpecError
from hwsim.sweep import read_results, run_sweep
from hwsim.sweep.spec import load_sweep_spec
from hwsim.system import evaluate_chip
from hwsim.system.chip import make_chip
from hwsim.system.chip_yaml import load_chip
from sweephelpers import Interrupted

ROOT = Path(__file__).resolve().parents[2]
CHIP_YAML = """
name: pair
budget: {pes: 2048}
dram: {bw_bytes_per_cycle: 32, policy: partitioned}
specs: {latency_s: 0.01}
sub_accelerators:
  - {name: big, template: dla, pes: 1024, noc_bw_bytes_per_cycle: 64}
  - {name: small, template: shi, pes: 256, noc_bw_bytes_per_cycle: 32}
tasks:
  - {network: alexnet, on: big}
  - {network: resnet18, on: small}
  - {network: alexnet, on: small, name: second}
"""


@pytest.fixture(scope="module")
def chip_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("chip") / "pair.yaml"
    path.write_text(CHIP_YAML)
    return path


def spec(chip_file, **extra):
    data = {"name": "pair_sweep", "chip": str(chip_file),
            "parameters": {"grid": {"big.pes": [512, 1024, 2048], "small.pes": [128, 256],
                                    "small.noc_bw_bytes_per_cycle": [16, 64]}}}
    data.update(extra)
    return data


def by_hand(chip, big, small):
    """The chip with its subs' parameters changed, built without the sweep."""
    subs = {"big": chip.sub("big").accelerator.with_params(**big),
            "small": chip.sub("small").accelerator.with_params(**small)}
    return make_chip(chip.name, subs, chip.tasks, dram_bw_bytes_per_cycle=chip.dram_bw_bytes_per_cycle,
                     dram_policy=chip.dram_policy, specs=chip.specs)


@pytest.fixture(scope="module")
def grid_frame(chip_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("grid") / "out"
    run_sweep(spec(chip_file, chunk_points=5), out, executor="serial", progress=False)
    return read_results(out)


def test_points_equal_hand_built_chips(chip_file, grid_frame):
    chip = load_chip(chip_file)
    assert len(grid_frame) == 12 and grid_frame["point"].tolist() == list(range(12))
    for row in grid_frame.itertuples(index=False):
        values = row._asdict()
        report = evaluate_chip(by_hand(chip, {"pes": int(row[1])},
                                       {"pes": int(row[2]), "noc_bw_bytes_per_cycle": row[3]}))
        assert values["feasible"] == report.feasible
        np.testing.assert_allclose([values["latency_s"], values["latency_cycles"], values["energy_pj"],
                                    values["area_mm2"], values["edp_pj_s"]],
                                   [report.latency_s, report.latency_cycles, report.energy_pj, report.area_mm2,
                                    report.edp_pj_s], rtol=1e-9)
        assert values["big_busy_s"] == pytest.approx(report.subs[0].busy_s, rel=1e-9)
        assert values["small_busy_s"] == pytest.approx(report.subs[1].busy_s, rel=1e-9)
        assert values["meets_latency_s"] == report.meets["latency_s"]
    # the budget of 2048 PEs: exactly the points with big + small PEs <= 2048
    used = grid_frame["big.pes"] + grid_frame["small.pes"]
    assert (grid_frame["within_budget"] == (used <= 2048)).all() and not grid_frame["within_budget"].all()
    # a faster small NoC never makes the chip slower here; more big PEs shorten big's busy time
    assert grid_frame.groupby("big.pes")["big_busy_s"].first().is_monotonic_decreasing


def test_invalid_derived_value_is_an_infeasible_row(chip_file, tmp_path):
    data = spec(chip_file, derived={"small.pes": "1024 - 16 * small__noc_bw_bytes_per_cycle"}, chunk_points=2)
    data["parameters"]["grid"].pop("small.pes")
    result = run_sweep(data, tmp_path / "out", executor="serial", progress=False)
    frame = read_results(tmp_path / "out")
    bad = frame["small.noc_bw_bytes_per_cycle"] == 64           # small.pes = 0: invalid
    assert result.points == 6 and bad.sum() == 3 and result.feasible == 3
    assert not frame.loc[bad, "feasible"].any() and frame.loc[~bad, "feasible"].all()
    assert frame.loc[bad, "small.pes"].isna().all() and np.isinf(frame.loc[bad, "latency_s"]).all()
    assert frame.loc[bad, "error"].str.contains("small").all() and (frame.loc[~bad, "error"] == "").all()
    chip = load_chip(chip_file)
    row = frame.loc[~bad].iloc[0]
    report = evaluate_chip(by_hand(chip, {"pes": int(row["big.pes"])}, {"pes": 768, "noc_bw_bytes_per_cycle": 16}))
    assert row["small.pes"] == 768 and row["energy_pj"] == pytest.approx(report.energy_pj, rel=1e-9)


@pytest.mark.parametrize("change, field", [
    ({"parameters": {"grid": {"huge.pes": [64]}}}, "parameters.grid.huge.pes"),
    ({"parameters": {"grid": {"big.bogus": [64]}}}, "parameters.grid.big.bogus"),
    ({"parameters": {"grid": {"pes": [64]}}}, "parameters.grid.pes"),
    ({"parameters": {"lhs": {"samples": 4, "ranges": {"tiny.pes": {"low": 64, "high": 128}}}}},
     "parameters.lhs.ranges.tiny.pes"),
    ({"derived": {"small.nope": "2 * big__pes"}}, "derived.small.nope"),
    ({"parameters": {"grid": {"big.pes": [0]}}}, "parameters.grid.big.pes[0]"),
    ({"network": "alexnet"}, "network"),
    ({"template": "dla"}, "template"),
    ({"output": "layers"}, "output"),
    ({"chip": "no/such/chip.yaml"}, "chip"),
])
def test_bad_specs_name_the_field(chip_file, change, field):
    with pytest.raises(SpecError, match=re.escape(f"field '{field}'")):
        load_sweep_spec(spec(chip_file, **change))


def test_auto_task_is_not_supported(tmp_path):
    path = tmp_path / "auto.yaml"
    path.write_text(CHIP_YAML.replace("{network: resnet18, on: small}", "{network: resnet18, on: auto}"))
    with pytest.raises(SpecError, match="field 'chip'.*on: auto.*not supported in sweeps"):
        load_sweep_spec(spec(path))


def test_spec_file_resolves_the_chip_beside_it():
    loaded = load_sweep_spec(ROOT / "specs" / "sweeps" / "chip_dla_shi.yaml")
    assert loaded.chip is not None and loaded.chip.sub_names == ["big", "small"]
    assert loaded.points == 18 and "big.noc_bw_bytes_per_cycle" in loaded.space.names
    first = loaded.space.take(0, 2)
    assert first["big.noc_bw_bytes_per_cycle"].tolist() == [64.0, 64.0]     # big__pes // 16




def test_resume_equals_uninterrupted(chip_file, grid_frame, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec(chip_file, chunk_points=5), out, executor=Interrupted(1), progress=False)
    assert json.loads((out / "_sweep.json").read_text())["done"] == [0]
    result = run_sweep(spec(chip_file, chunk_points=5), out, resume=True, executor="serial", progress=False)
    assert result.chunks_skipped == 1 and result.chunks_run == 2
    pd.testing.assert_frame_equal(read_results(out), grid_frame)


def test_two_processes_equal_serial(chip_file, grid_frame, tmp_path):
    result = run_sweep(spec(chip_file, chunk_points=5), tmp_path / "out", executor="processes", workers=2,
                       progress=False)
    assert result.executor == "processes" and result.rows == 12
    pd.testing.assert_frame_equal(read_results(tmp_path / "out"), grid_frame)


def test_lhs_chip_sweep_and_fingerprint(chip_file, tmp_path):
    data = spec(chip_file, parameters={"lhs": {"samples": 6, "seed": 3, "ranges": {
        "big.pes": {"low": 256, "high": 2048}, "small.l2_bytes": [65536, 262144]}}})
    result = run_sweep(data, tmp_path / "out", executor="serial", progress=False)
    frame = read_results(tmp_path / "out")
    assert result.points == 6 and frame["big.pes"].between(256, 2048).all()
    assert set(frame["small.l2_bytes"]) <= {65536, 262144} and frame["feasible"].all()
    # a chip file with other specs is another sweep: resuming into this folder is refused
    other = tmp_path / "other.yaml"
    other.write_text(CHIP_YAML.replace("latency_s: 0.01", "latency_s: 0.02"))
    assert load_sweep_spec(spec(other)).fingerprint() != load_sweep_spec(spec(chip_file)).fingerprint()
    with pytest.raises(SpecError, match="different sweep"):
        run_sweep({**data, "chip": str(other)}, tmp_path / "out", resume=True, progress=False)


def test_task_that_does_not_map_is_infeasible_with_its_error(chip_file, tmp_path):
    data = spec(chip_file, parameters={"grid": {"small.l2_bytes": [1024, 65536]}})
    run_sweep(data, tmp_path / "out", executor="serial", progress=False)
    frame = read_results(tmp_path / "out")
    report = evaluate_chip(by_hand(load_chip(chip_file), {}, {"l2_bytes": 1024}))
    assert frame["feasible"].tolist() == [False, True] and not report.feasible
    assert frame["error"][0].startswith("task 'resnet18'") and frame["error"][0] in report.error
    assert np.isnan(frame["energy_pj"][0]) and not frame["meets_specs"][0]
