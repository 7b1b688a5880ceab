"""The ``nasaic`` command: ``search --json`` prints one JSON object with units in its keys and
equals best.json; the --controller / --episodes / --seed overrides take effect and are validated;
bad spec files, a folder holding an earlier search and ``--resume`` without a checkpoint are one
error line and exit status 2; ``optimum`` prints the ground truth (or one line saying no design
meets the specs); ``report`` rewrites report.md; and a search killed with SIGKILL mid-run and
resumed ends with the same designs.parquet and best.json as an uninterrupted run.

Most commands run in-process (``nasaic.cli.main``); the report's plots take seconds, so searches
whose report is not under test write a stub report instead (``stub_report``). The killed search is
a real subprocess (it inherits HWSIM_CACHE_DIR from tests/conftest.py).
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from nasaic import workflow
from nasaic.cli import main
from nasaic.workflow import DEMO_SPEC

UNIT_KEYS = ("latency_cycles", "energy_nj", "area_mm2", "objective_pct")


def small_spec(**search) -> dict:
    """DEMO_SPEC with two choices per hardware gene (8 configs) and a short search."""
    data = copy.deepcopy(DEMO_SPEC)
    data["hardware"].update(templates=["dla", "shi"], pes=[64, 128], noc_bw_bytes_per_cycle=[16, 32],
                            budget={"pes": 256, "noc_bw_bytes_per_cycle": 64})
    data["search"] = {"controller": "random", "episodes": 30, "checkpoint_every": 10, **search}
    return data


def write_spec(path: Path, data: dict) -> str:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


@pytest.fixture
def spec_file(tmp_path, reference) -> str:
    return write_spec(tmp_path / "small.yaml", small_spec())


@pytest.fixture
def infeasible_file(tmp_path, reference) -> str:
    data = small_spec(episodes=20)
    data["specs"]["latency_cycles"] = 10          # no chip runs two CIFAR networks in 10 cycles
    return write_spec(tmp_path / "infeasible.yaml", data)


def fake_write_report(out, problem, designs, **kwargs) -> Path:
    path = Path(out) / "report.md"
    path.write_text("stub report\n")
    return path


def skip_extras(patch) -> None:
    """Searches (through ``patch``, a MonkeyPatch) write a stub report and skip the exact optimum
    and the successive baseline, for tests about designs.parquet and best.json alone."""
    patch.setattr(workflow, "write_report", fake_write_report)
    patch.setattr(workflow, "solve", lambda problem: None)
    patch.setattr(workflow, "baseline_designs", lambda problem: pd.DataFrame())


@pytest.fixture
def stub_report(monkeypatch):
    """Searches write a one-line report.md instead of the real one (its plots take seconds)."""
    monkeypatch.setattr(workflow, "write_report", fake_write_report)


@pytest.fixture
def search_only(monkeypatch):
    skip_extras(monkeypatch)


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nasaic: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def best_without_report(folder: Path) -> dict:
    best = json.loads((folder / "best.json").read_text())
    best.pop("report", None)
    return best


# -- search --------------------------------------------------------------------------------------------------

def test_search_json_is_one_object_with_units_and_equals_best_json(capsys, tmp_path, spec_file, stub_report):
    out = tmp_path / "run"
    code, text, err = run(capsys, "search", "--spec", spec_file, "--out", out, "--json")
    assert code == 0, err
    lines = text.strip().splitlines()
    assert len(lines) == 1
    summary = json.loads(lines[0])
    for key in UNIT_KEYS:
        assert isinstance(summary[key], float) and summary[key] > 0, key
    assert summary["meets_specs"] is True
    assert summary["report"] == str(out / "report.md")
    assert best_without_report(out) == {k: v for k, v in summary.items() if k != "report"}
    for name in ("designs.parquet", "pareto.parquet", "baseline.parquet", "optimum.json", "spec.json"):
        assert (out / name).is_file(), name
    designs = pd.read_parquet(out / "designs.parquet")
    assert designs["episode"].nunique() == 30 and set(designs["controller"]) == {"random"}

    # the same folder again without --resume: refused, nothing overwritten
    before = (out / "designs.parquet").read_bytes()
    code, text, err = run(capsys, "search", "--spec", spec_file, "--out", out)
    assert code == 2 and text == ""
    assert_one_error_line(err, str(out), "--resume")
    assert (out / "designs.parquet").read_bytes() == before


def test_search_overrides_take_effect(capsys, tmp_path, spec_file, search_only):
    out = tmp_path / "run"
    code, text, err = run(capsys, "search", "--spec", spec_file, "--out", out, "--json",
                          "--controller", "evolution", "--episodes", "12", "--seed", "3")
    assert code == 0, err
    summary = json.loads(text)
    assert summary["controller"] == "evolution" and summary["seed"] == 3
    spec = json.loads((out / "spec.json").read_text())
    assert (spec["search"]["controller"], spec["search"]["episodes"], spec["seed"]) == ("evolution", 12, 3)
    designs = pd.read_parquet(out / "designs.parquet")
    assert sorted(designs["episode"].unique()) == list(range(12))
    assert set(designs["controller"]) == {"evolution"} and set(designs["seed"]) == {3}


@pytest.mark.parametrize("argv, needles", [
    (["--episodes", "0"], ["search.episodes", "0"]),
    (["--episodes", "-5"], ["search.episodes", "-5"]),
    (["--seed", "-1"], ["seed", "-1"]),
])
def test_bad_overrides_are_one_error_line(capsys, tmp_path, spec_file, argv, needles):
    out = tmp_path / "run"
    code, text, err = run(capsys, "search", "--spec", spec_file, "--out", out, *argv)
    assert code == 2 and text == ""
    assert_one_error_line(err, *needles)
    assert not out.exists()                     # validated before any work


def test_bad_override_error_names_the_spec_file(capsys, tmp_path, spec_file):
    code, _, err = run(capsys, "search", "--spec", spec_file, "--out", tmp_path / "run", "--episodes", "0")
    assert code == 2
    assert_one_error_line(err, spec_file, "search.episodes")
    assert "<dict>" not in err


def test_unknown_controller_is_refused_by_the_parser(capsys, tmp_path, spec_file):
    with pytest.raises(SystemExit) as exc:
        main(["search", "--spec", spec_file, "--out", str(tmp_path / "run"), "--controller", "annealing"])
    assert exc.value.code == 2
    assert "--controller" in capsys.readouterr().err


def test_bad_spec_files_are_one_error_line(capsys, tmp_path, reference):
    missing = tmp_path / "nope.yaml"
    code, _, err = run(capsys, "search", "--spec", missing, "--out", tmp_path / "a")
    assert code == 2
    assert_one_error_line(err, str(missing))
    data = small_spec()
    data["tasks"][1]["dataset"] = "mnist"
    bad = write_spec(tmp_path / "bad.yaml", data)
    for command in (["search", "--spec", bad, "--out", tmp_path / "b"], ["optimum", "--spec", bad]):
        code, text, err = run(capsys, *command)
        assert code == 2 and text == ""
        assert_one_error_line(err, bad, "tasks[1].dataset", "mnist")


def test_resume_without_a_checkpoint_is_an_error(capsys, tmp_path, spec_file):
    out = tmp_path / "empty"
    out.mkdir()
    code, text, err = run(capsys, "search", "--spec", spec_file, "--out", out, "--resume")
    assert code == 2 and text == ""
    assert_one_error_line(err, "no checkpoint")
    assert not (out / "designs.parquet").exists()


def test_failed_resume_leaves_no_folder_behind(capsys, tmp_path, spec_file):
    out = tmp_path / "never-run"
    code, _, err = run(capsys, "search", "--spec", spec_file, "--out", out, "--resume")
    assert code == 2
    assert_one_error_line(err, "no checkpoint")
    assert not out.exists()


# -- optimum -------------------------------------------------------------------------------------------------

def test_optimum_json(capsys, spec_file):
    code, text, err = run(capsys, "optimum", "--spec", spec_file, "--json")
    assert code == 0, err
    data = json.loads(text)
    assert data["status"] == "optimal" and data["meets_specs"] is True and data["whole_space"] is True
    for key in UNIT_KEYS:
        assert data[key] > 0, key
    spec = yaml.safe_load(Path(spec_file).read_text())
    for key, bound in spec["specs"].items():
        assert data[key] <= bound


def test_optimum_of_an_infeasible_spec_is_one_line(capsys, infeasible_file):
    code, text, err = run(capsys, "optimum", "--spec", infeasible_file)
    assert code == 0 and err == ""
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("no design meets the specs: ") and len(lines[0]) > 30


# -- an infeasible search and the report command -------------------------------------------------------------

def test_infeasible_search_then_report_rewrites_report_md(capsys, tmp_path, infeasible_file, monkeypatch):
    out = tmp_path / "run"
    with monkeypatch.context() as patch:          # the report command below is the real one
        skip_extras(patch)
        code, text, err = run(capsys, "search", "--spec", infeasible_file, "--out", out)
    assert code == 0, err
    assert "no design meets every spec; closest:" in text
    assert "misses: latency_cycles by" in text
    best = json.loads((out / "best.json").read_text())
    assert best["meets_specs"] is False and best["misses_by_pct"]["latency_cycles"] > 0
    assert (out / "report.md").read_text() == "stub report\n"

    code, text, err = run(capsys, "report", out, "--json")       # the real report this time
    assert code == 0, err
    assert json.loads(text) == {"report": str(out / "report.md")}
    report = (out / "report.md").read_text()
    assert report.startswith("# Co-search report")
    assert "No design meets every spec" in report and "latency_cycles" in report
    assert "No design of the whole joint space meets the specs" in report
    for line in report.splitlines():
        if line.startswith("!["):
            assert (out / line[line.index("(") + 1:-1]).is_file(), line


def test_report_of_a_folder_that_is_not_a_search(capsys, tmp_path):
    code, text, err = run(capsys, "report", tmp_path)
    assert code == 2 and text == ""
    assert_one_error_line(err, str(tmp_path), "spec.json")


# -- SIGKILL mid-run, then --resume ------------------------------------------------------------------------

def checkpoint_episode(folder: Path) -> int:
    path = folder / "checkpoint" / "state.json"
    try:
        return int(json.loads(path.read_text())["episode"])
    except (OSError, ValueError, KeyError):
        return -1


def start_and_kill(spec_file: str, out: Path, episodes: int, kill_at: int) -> int:
    """Start ``nasaic search`` as a subprocess, SIGKILL it once a checkpoint holds >= kill_at
    episodes; returns the checkpointed episode (or fails if the process ended by itself)."""
    proc = subprocess.Popen([sys.executable, "-m", "nasaic.cli", "search", "--spec", spec_file, "--out", str(out),
                             "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None and checkpoint_episode(out) < kill_at and time.monotonic() < deadline:
            time.sleep(0.01)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL, f"the search ended by itself ({proc.returncode}): {err.decode()}"
    return checkpoint_episode(out)


def test_sigkill_mid_run_then_resume_equals_an_uninterrupted_run(capsys, tmp_path, reference, search_only):
    for episodes in (200, 2000):                    # more episodes if the kill landed after the loop
        spec_file = write_spec(tmp_path / f"rl{episodes}.yaml",
                               small_spec(controller="rl", episodes=episodes, checkpoint_every=10))
        killed = tmp_path / f"killed{episodes}"
        at = start_and_kill(spec_file, killed, episodes, kill_at=30)
        if 0 < at < episodes:
            break
    else:
        pytest.fail(f"the kill never landed mid-run (last checkpoint at episode {at} of {episodes})")
    assert not (killed / "designs.parquet").exists()
    code, _, err = run(capsys, "search", "--spec", spec_file, "--out", killed, "--resume", "--json")
    assert code == 0, err
    whole = tmp_path / "whole"
    code, _, err = run(capsys, "search", "--spec", spec_file, "--out", whole, "--json")
    assert code == 0, err
    resumed = pd.read_parquet(killed / "designs.parquet")
    assert resumed["episode"].nunique() == episodes
    pd.testing.assert_frame_equal(resumed, pd.read_parquet(whole / "designs.parquet"))
    assert best_without_report(killed) == best_without_report(whole)
