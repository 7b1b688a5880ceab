"""The hwsim command: output, CSV, and one-line errors with a non-zero exit."""

import os
import shutil
import subprocess
import sys

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


def test_eval_json_is_one_strict_json_object(capsys, tmp_path):
    import json

    from hwsim.dataflow.registry import registered_model

    template = tmp_path / "toy.yaml"
    template.write_text("name: toy\ndataflow: toy\nparameters:\n  pes: 16\n  buf_bw_bytes_per_cycle: 64\n"
                        "  dram_bw_bytes_per_cycle: 8\n  clock_hz: 1.0e9\n  technology: accelergy_45nm\n")
    csv = tmp_path / "out.csv"
    with registered_model("toy", "toymodels.toy"):
        code, out, err = run(capsys, "eval", "--network", "alexnet", "--template", str(template), "--json",
                             "--csv", str(csv))
    assert code == 0, err
    report = json.loads(out)                                   # the whole of stdout is the object
    assert (report["network"], report["template"], report["parameters"]["pes"]) == ("alexnet", "toy", 16)
    totals = report["totals"]
    for key in ("latency_cycles", "latency_s", "energy_pj", "area_mm2", "macs", "utilization", "energy_mac_pj"):
        assert isinstance(totals[key], (int, float)), key
    assert len(report["layers"]) == len(pd.read_csv(csv)) and report["layers"][0]["layer"] == "CONV1"
    assert "written to" in err


def test_json_safe_turns_numpy_and_non_finite_into_json():
    import numpy as np

    from hwsim.cli import json_safe

    value = json_safe({"a": np.float64("inf"), "b": [np.int64(3), float("nan")], "c": np.bool_(True),
                       "d": np.arange(2)})
    assert value == {"a": None, "b": [3, None], "c": True, "d": [0, 1]}
    assert type(value["b"][0]) is int


def test_import_hwsim_is_light():
    """`import hwsim` loads no pandas, networkx or matplotlib (issue 5: a whole `hwsim`
    process must start fast); they are imported where they are needed."""
    code = ("import sys, hwsim; hwsim.zoo.resnet50(); hwsim.load_template('a100'); "
            "print(sorted(m for m in ('pandas', 'networkx', 'matplotlib', 'yaml') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "['yaml']"                    # yaml: the template was read
    proc = subprocess.run([sys.executable, "-c", "import sys, hwsim; print('pandas' in sys.modules, "
                           "'networkx' in sys.modules, 'importlib.metadata' in sys.modules)"],
                          capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False False False"
