"""``hwsim sweep`` and ``hwsim report``: JSON output, one-line errors, the report wiring."""

import json
import sys
import types

import pytest

from hwsim.cli import main

SPEC = """\
name: cli
network: alexnet
template: dla
parameters:
  grid: {pes: [64, 256], noc_bw_bytes_per_cycle: [16, 64]}
derived: {l2_bytes: "432 * pes"}
objectives: {latency_cycles: min, utilization: max}
"""


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_sweep_json(capsys, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC)
    code, out, err = run(capsys, "sweep", spec, "--out", tmp_path / "out", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["points"] == 4 and data["feasible"] == 4 and data["out"] == str(tmp_path / "out")
    assert data["seconds"] > 0 and data["points_per_s"] > 0 and data["executor"] == "serial"
    best = {b["objective"]: b for b in data["best"]}
    assert best["latency_cycles"]["parameters"]["pes"] == 256 and best["utilization"]["sense"] == "max"
    code, out, err = run(capsys, "sweep", spec, "--out", tmp_path / "out")
    assert code == 2 and out == "" and err.count("\n") == 1 and "--resume" in err
    code, out, _ = run(capsys, "sweep", spec, "--out", tmp_path / "out", "--resume")
    assert code == 0 and "1 chunk(s) resumed" in out and "best latency_cycles" in out


@pytest.mark.parametrize("text, words", [
    ("network: alexnet\ntemplate: dla\nparameters: {grid: {pes: [64, 'x']}}\n", ["parameters.grid.pes[1]", "'x'"]),
    ("network: alexnet\ntemplate: dla\nparameters: {grid: {pes: [64]}}\nderived: {l2_bytes: 'exec(1)'}\n",
     ["derived.l2_bytes", "exec"]),
    ("network: [alexnet\n", ["not valid YAML"]),
])
def test_sweep_errors_are_one_line_exit_2(capsys, tmp_path, text, words):
    spec = tmp_path / "s.yaml"
    spec.write_text(text)
    code, out, err = run(capsys, "sweep", spec, "--out", tmp_path / "out")
    assert code == 2 and out == "" and err.startswith("hwsim: error: ") and err.count("\n") == 1
    assert all(w in err for w in words) and not (tmp_path / "out").exists()


def test_scheduler_needs_the_dask_extra(capsys, tmp_path, monkeypatch):
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC)
    monkeypatch.setitem(sys.modules, "dask", None)          # as if the extra were not installed
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    code, _, err = run(capsys, "sweep", spec, "--out", tmp_path / "out", "--scheduler", "tcp://127.0.0.1:1")
    assert code == 2 and "pip install 'hwsim[dask]'" in err


def test_report_calls_write_sweep_report(capsys, tmp_path, monkeypatch):
    calls = []

    def write_sweep_report(source, out_dir, *, objectives=None, title=None):
        calls.append((source, out_dir, objectives, title))
        return {"markdown": f"{out_dir}/report.md", "html": f"{out_dir}/report.html", "pngs": [f"{out_dir}/a.png"]}

    fake = types.ModuleType("hwsim.report.sweep_report")
    fake.write_sweep_report = write_sweep_report
    monkeypatch.setitem(sys.modules, "hwsim.report.sweep_report", fake)
    code, out, err = run(capsys, "report", tmp_path / "res", "--out", tmp_path / "rep", "--json",
                         "--objectives", "latency_cycles,energy_pj", "--title", "T")
    assert code == 0, err
    assert calls == [(str(tmp_path / "res"), str(tmp_path / "rep"), ["latency_cycles", "energy_pj"], "T")]
    assert json.loads(out)["markdown"].endswith("report.md")
