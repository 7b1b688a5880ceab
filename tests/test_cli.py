"""The hwsim command: output, CSV, and one-line errors with a non-zero exit."""

import os
import shutil
import subprocess

import pandas as pd
import pytest

from hwsim.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_eval_prints_layers_and_totals(capsys, tmp_path):
    csv = tmp_path / "out.csv"
    code, out, err = run(capsys, "eval", "--network", "resnet50", "--template", "dla",
                         "--set", "pes=1024", "--set", "noc_bw_bytes_per_cycle=64", "--csv", str(csv))
    assert code == 0, err
    for word in ("latency", "cycles", "ms", "energy", "uJ", "area", "mm2", "pes=1024"):
        assert word in out
    frame = pd.read_csv(csv)
    assert len(frame) > 50 and {"layer", "latency_cycles", "energy_pj"} <= set(frame.columns)


def test_templates_and_networks(capsys):
    code, out, _ = run(capsys, "templates")
    assert code == 0
    for name in ("dla", "shi", "rs", "tpu", "eyeriss", "a100"):
        assert name in out
    assert "noc_bw_bytes_per_cycle" in out
    code, out, _ = run(capsys, "networks")
    assert code == 0
    for name in ("alexnet", "vgg16", "resnet18", "resnet50", "mobilenet_v2", "unet"):
        assert name in out


@pytest.mark.parametrize("argv, words", [
    (["eval", "--network", "resnet51"], ["network", "resnet51"]),
    (["eval", "--template", "dlaa"], ["template", "dlaa"]),
    (["eval", "--set", "pes=-4"], ["pes", "-4"]),
    (["eval", "--set", "pez=4"], ["pez"]),
    (["eval", "--set", "pes"], ["--set", "pes"]),
    (["eval", "--network", "missing_file.csv", "--template", "dla"], ["missing_file.csv"]),
])
def test_errors_are_one_line(capsys, argv, words):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("hwsim: error:")
    for word in words:
        assert word in err


def test_console_script_has_no_traceback():
    # Outside CI a checkout without `pip install` may lack the script: skip. In CI (CI set)
    # the package is installed, so a missing script is a packaging failure.
    if shutil.which("hwsim") is None:
        if os.environ.get("CI"):
            pytest.fail("console script 'hwsim' not installed (CI is set)")
        pytest.skip("console script not installed (CI not set)")
    proc = subprocess.run(["hwsim", "eval", "--set", "l2_bytes=0"], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "l2_bytes" in proc.stderr


@pytest.mark.parametrize("path, template, layers", [
    ("scalesim/alexnet_topology.csv", "tpu", 5),
    ("maestro/MobileNetV2_layers.csv", "shi", 56),
])
def test_eval_reads_layer_files(capsys, tmp_path, reference, path, template, layers):
    csv = tmp_path / "out.csv"
    code, out, err = run(capsys, "eval", "--network", str(reference / path), "--template", template, "--csv", str(csv))
    assert code == 0, err
    assert len(pd.read_csv(csv)) == layers


def test_eval_layer_file_rejects_batch(capsys, reference):
    code, _, err = run(capsys, "eval", "--network", str(reference / "maestro" / "vgg16_layers.csv"), "--batch", "2")
    assert code == 2 and "batch" in err
