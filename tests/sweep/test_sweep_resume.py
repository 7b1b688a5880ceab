"""Resuming: a sweep interrupted (or SIGKILLed) and resumed equals an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml

from hwsim.errors import SpecError
from hwsim.sweep import read_results, run_sweep
from hwsim.sweep.store import MANIFEST
from sweephelpers import Interrupted

SPEC = {"name": "resume", "network": "alexnet", "template": "dla", "chunk_points": 20,
        "parameters": {"grid": {"pes": [64, 256, 1024, 2048]},
                       "lhs": {"samples": 200, "seed": 9,
                               "ranges": {"noc_bw_bytes_per_cycle": {"low": 8, "high": 128},
                                          "l2_bytes": [32768, 131072, 524288]}}}}




def manifest(out):
    return json.loads((out / MANIFEST).read_text())


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole") / "out"
    run_sweep(SPEC, out, progress=False)
    return read_results(out)


def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, uninterrupted):
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(SPEC, out, executor=Interrupted(3), progress=False)
    assert manifest(out)["done"] == [0, 1, 2] and not manifest(out)["complete"]
    with pytest.raises(SpecError, match="pass --resume"):
        run_sweep(SPEC, out, progress=False)
    result = run_sweep(SPEC, out, resume=True, progress=False)
    assert result.chunks_skipped == 3 and result.chunks_run == 37 and manifest(out)["complete"]
    pd.testing.assert_frame_equal(read_results(out), uninterrupted)
    again = run_sweep(SPEC, out, resume=True, progress=False)
    assert again.chunks_run == 0 and again.points_run == 0


def test_resume_refuses_a_different_spec(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(SPEC, out, executor=Interrupted(1), progress=False)
    other = {**SPEC, "parameters": {**SPEC["parameters"], "grid": {"pes": [64, 128]}}}
    with pytest.raises(SpecError, match="holds a different sweep"):
        run_sweep(other, out, resume=True, progress=False)


def test_sigkill_mid_run_then_resume_equals_uninterrupted(tmp_path, uninterrupted):
    spec_path, out = tmp_path / "spec.yaml", tmp_path / "out"
    spec_path.write_text(yaml.safe_dump(SPEC, sort_keys=False))   # key order is the LHS dimensions
    argv = [sys.executable, "-m", "hwsim.cli", "sweep", str(spec_path), "--out", str(out), "--executor", "serial"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if len(manifest(out)["done"]) >= 2:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.002)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done = manifest(out)["done"]
    assert process.returncode == -signal.SIGKILL and 2 <= len(done) < 40
    result = run_sweep(spec_path, out, resume=True, progress=False)
    assert result.chunks_skipped == len(done)
    pd.testing.assert_frame_equal(read_results(out), uninterrupted)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]     # no temporary file left visible
