"""``hwsim chip``: text and JSON reports, specs, one-line errors (exit 2)."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

from hwsim.cli import EXIT_ERROR, main
from hwsim.system import evaluate_chip, load_chip

CHIPS = Path(__file__).resolve().parents[2] / "specs" / "chips"
SMALL = """\
name: small chip
budget: {pes: 1024}
dram: {bw_bytes_per_cycle: 32, policy: partitioned}
sub_accelerators:
  - {name: a, template: dla, pes: 512}
  - {name: b, template: rs, pes: 256}
tasks:
  - {network: alexnet, on: a}
  - {network: resnet18, on: b}
"""


def has(module: str) -> bool:
    return importlib.util.find_spec(f"hwsim.system.{module}") is not None


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def test_text_report(capsys, small):
    code, out, err = run(capsys, "chip", small)
    assert code == 0 and err == ""
    assert out.startswith("chip small chip (closed_form, DRAM partitioned): makespan ")
    assert "resnet18" in out and "alexnet" in out and " mm2" in out


def test_json_report_matches_the_api(capsys, small):
    code, out, _ = run(capsys, "chip", small, "--json")
    assert code == 0
    data = json.loads(out)
    report = evaluate_chip(load_chip(small))
    assert data["chip"] == "small chip" and data["method"] == "closed_form" and data["feasible"] is True
    for key in ("latency_s", "latency_cycles", "energy_pj", "area_mm2", "edp_pj_s"):
        assert data[key] == pytest.approx(getattr(report, key), rel=1e-12), key
    assert [s["name"] for s in data["sub_accelerators"]] == ["a", "b"]
    assert {"busy_s", "utilization", "energy_pj", "energy_mac_pj", "area_mm2", "tasks"} <= set(
        data["sub_accelerators"][0])
    assert [(t["name"], t["sub_accelerators"]) for t in data["tasks"]] == [("alexnet", ["a"]), ("resnet18", ["b"])]
    assert {"start_s", "finish_s", "feasible", "error"} <= set(data["tasks"][0])
    assert data["schedule"][0] == {"sub": "a", "task": "alexnet", "layer": None, "start_s": 0.0,
                                   "finish_s": pytest.approx(data["tasks"][0]["finish_s"])}


def test_specs_from_the_command_line(capsys, small):
    latency = evaluate_chip(load_chip(small)).latency_cycles
    code, out, _ = run(capsys, "chip", small, "--json", "--spec-latency-cycles", latency * 2,
                       "--spec-area-mm2", "0.001")
    data = json.loads(out)
    assert code == 0
    assert data["meets"] == {"latency_cycles": True, "area_mm2": False} and data["meets_specs"] is False
    assert data["specs"] == {"latency_cycles": latency * 2, "area_mm2": 0.001}
    code, out, _ = run(capsys, "chip", small, "--spec-energy-pj", "1e30")
    assert "specs: energy_pj <= 1e+30: met" in out


def test_issue_example(capsys):
    code, out, _ = run(capsys, "chip", CHIPS / "dla_shi.yaml", "--json")
    data = json.loads(out)
    assert code == 0 and data["chip"] == "dla+shi" and data["dram_policy"] == "shared"
    assert any("no contention" in n for n in data["notes"])


def test_infeasible_chip_is_a_report_not_an_error(capsys, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(SMALL.replace("template: rs, pes: 256}", "template: shi, pes: 256, l2_bytes: 64}"))
    code, out, _ = run(capsys, "chip", path, "--json")
    data = json.loads(out)
    assert code == 0 and data["feasible"] is False and data["latency_s"] is None
    assert "layer " in data["tasks"][1]["error"] and "l2_bytes" in data["tasks"][1]["error"]


@pytest.mark.parametrize("change, match", [
    (("budget: {pes: 1024}", "budget: {pes: 512}"),
     "field 'budget.pes' = 512: the sub-accelerators use 768 PEs (a 512 + b 256)"),
    (("on: b", "on: c"), "field 'tasks[1].on' = 'c': unknown sub-accelerator"),
    (("pes: 256}", "pes: 256, colour: 3}"), "sub_accelerators[1] 'b': "),
])
def test_errors_are_one_line_exit_2(capsys, tmp_path, change, match):
    path = tmp_path / "c.yaml"
    path.write_text(SMALL.replace(*change))
    code, out, err = run(capsys, "chip", path)
    assert code == EXIT_ERROR and out == ""
    assert err.count("\n") == 1 and err.startswith(f"hwsim: error: {path}: ") and match in err, err


def test_missing_file(capsys, tmp_path):
    code, _, err = run(capsys, "chip", tmp_path / "none.yaml")
    assert code == EXIT_ERROR and "cannot read" in err


def test_layer_level_task_without_simulate(capsys):
    code, _, err = run(capsys, "chip", CHIPS / "layer_mapped.yaml")
    assert code == EXIT_ERROR and "--simulate" in err and err.count("\n") == 1


@pytest.mark.skipif(not has("simulate"), reason="hwsim.system.simulate not written yet")
def test_simulate(capsys, small):
    code, out, _ = run(capsys, "chip", small, "--simulate", "--json")
    data = json.loads(out)
    assert code == 0 and data["method"] == "simulate"
    closed = evaluate_chip(load_chip(small))
    # partitioned DRAM, task-level mapping: the simulation agrees with the closed form to the cycle
    assert abs(data["latency_cycles"] - closed.latency_cycles) < 1
    assert len(data["schedule"]) == sum(len(t.network) for t in load_chip(small).tasks)


@pytest.mark.skipif(not (has("simulate") and has("gantt")), reason="simulate / gantt not written yet")
def test_gantt(capsys, small, tmp_path):
    png = tmp_path / "g.png"
    code, out, _ = run(capsys, "chip", small, "--gantt", png)
    assert code == 0 and "(simulate, DRAM partitioned)" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_json_is_strict(capsys, small):
    _, out, _ = run(capsys, "chip", small, "--json")
    json.loads(out, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert not any(isinstance(v, float) and not math.isfinite(v) for v in json.loads(out).values())
