"""The error contract (issue 5, item 9): every bad input is an HwsimError subclass with
one line naming the file (where there is one), the field and the value, and saying what
would be valid; the command line never prints a traceback.

Templates here use the toy model (tests/toymodels/toy.py), registered as an out-of-tree
model, so that these tests depend on no built-in model's state.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import yaml

import hwsim
from hwsim import cli
from hwsim.dataflow import registry
from hwsim.errors import HwsimError, TemplateError, UsageError, WorkloadError
from hwsim.hardware.accelerator import check_accelerator
from hwsim.hardware.params import CLOCK_HZ, INT_MAX, Param, bandwidth
from hwsim.hardware.yamlio import read_yaml_mapping
from hwsim.workload import Layer, Network, conv2d, load_maestro_layers, load_scalesim_topology, pool2d
from hwsim.workload.layer import MAX_COUNT, MAX_DIM
from hwsim.workload.loaders import load_network

from errorcases import BINARY, MAESTRO_HEADER, SCALESIM_HEADER, TOY_YAML, cli_error, raises, toy, toy_template


@pytest.fixture(autouse=True)
def toy_model():
    with registry.registered_model("toy", "toymodels.toy"):
        yield


# -- 1. command-line inputs that printed tracebacks ------------------------------------------

@pytest.mark.parametrize("pes, words", [
    (".nan", ["'parameters.pes' = nan", "expected a finite number"]),
    (".inf", ["'parameters.pes' = inf", "expected a finite number"]),
    ("-.inf", ["'parameters.pes' = -inf", "expected a finite number"]),
    ("1.0e+30", ["'parameters.pes' = 1e+30", "expected <= 1099511627776 (2**40)",
                 "valid range: 0 < value <= 1099511627776 (2**40)"]),
])
def test_template_number_out_of_range_cli(capsys, tmp_path, pes, words):
    path = toy_template(tmp_path, pes=pes)
    err = cli_error(capsys, "eval", "--template", str(path))
    for word in [str(path)] + words:
        assert word in err


@pytest.mark.parametrize("field, value, words", [
    ("pes", float("nan"), ["'parameters.pes' = nan", "finite"]),
    ("pes", float("inf"), ["'parameters.pes' = inf", "finite"]),
    ("pes", 1.0e30, ["'parameters.pes' = 1e+30", "valid range"]),
    ("dataflow", 5, ["'dataflow' = 5", "unknown dataflow model"]),
    ("dataflow", ".", ["'dataflow' = '.'", "unknown dataflow model"]),
])
def test_shipped_template_edited_badly_cli(capsys, tmp_path, field, value, words):
    """The issue's cases on the shipped dla template (a copy with one field changed)."""
    data = yaml.safe_load(hwsim.hardware.find_template("dla").read_text())
    if field == "dataflow":
        data["dataflow"] = value
    else:
        data["parameters"][field] = value
    path = tmp_path / "dla_edit.yaml"
    path.write_text(yaml.safe_dump(data))
    err = cli_error(capsys, "eval", "--template", str(path))
    for word in [str(path)] + words:
        assert word in err


@pytest.mark.parametrize("dataflow, shown", [("5", "5"), ('"."', "'.'"), ("this.x", "'this.x'"),
                                             ("[a, b]", "['a', 'b']"), ("os", "'os'")])
def test_template_dataflow_not_a_model_cli(capsys, tmp_path, dataflow, shown):
    before = set(sys.modules)
    path = toy_template(tmp_path, dataflow=dataflow)
    err = cli_error(capsys, "eval", "--template", str(path))
    for word in (str(path), f"field 'dataflow' = {shown}", "unknown dataflow model", "valid:", "'toy'",
                 "'weight_stationary'", "hwsim.dataflows"):
        assert word in err
    assert "this" not in set(sys.modules) - before      # nothing named by the file was imported


@pytest.mark.parametrize("content, words", [
    (BINARY, ["not a text file", "NUL byte at offset 8"]),
    (b"name: caf\xe9\n", ["not a text file", "byte 0xe9 at offset 9 is not UTF-8"]),
])
def test_binary_template_cli(capsys, tmp_path, content, words):
    path = tmp_path / "bin.yaml"
    path.write_bytes(content)
    err = cli_error(capsys, "eval", "--template", str(path))
    for word in [str(path)] + words:
        assert word in err


@pytest.mark.parametrize("content, words", [
    (BINARY, ["not a text file", "NUL byte"]),
    (MAESTRO_HEADER.encode() + b"L\xff,CONV,1,1,1,1,1,1,1,1\n", ["not a text file", "byte 0xff", "not UTF-8"]),
])
def test_binary_csv_cli(capsys, tmp_path, content, words):
    path = tmp_path / "bin.csv"
    path.write_bytes(content)
    err = cli_error(capsys, "eval", "--network", str(path), "--template", str(toy_template(tmp_path)))
    for word in [str(path)] + words:
        assert word in err


def test_maestro_sizes_near_1e8_rejected_by_the_documented_maximum(capsys, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text(MAESTRO_HEADER + "big,CONV,1,1,1,1,1,100000000,100000000,1\n")
    err = cli_error(capsys, "eval", "--network", str(path), "--template", str(toy_template(tmp_path)))
    for word in (str(path), "row 2", "field 'Y' = 100000000", f"1 <= value <= {MAX_DIM} (2**24)"):
        assert word in err


def test_layer_file_macs_beyond_int64_name_file_row_layer_and_count(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(MAESTRO_HEADER + "wide,CONV,1,1048576,1048576,1,1,4096,4096,1\n")   # 2**64 MACs
    raises(WorkloadError, lambda: load_maestro_layers(path), str(path), "row 2", "layer 'wide'",
           "field 'macs' = 18,446,744,073,709,551,616", "limit 2**62")


def test_scalesim_size_beyond_maximum(tmp_path):
    path = tmp_path / "big_topology.csv"
    path.write_text(SCALESIM_HEADER + "C1, 100000000, 8, 3, 3, 3, 8, 1,\n")
    raises(WorkloadError, lambda: load_scalesim_topology(path), str(path), "row 2",
           "field 'IFMAP Height' = 100000000", str(MAX_DIM))


def test_broken_template_on_search_path_warns_and_lists_the_others(capsys, tmp_path, monkeypatch):
    user = tmp_path / "user_templates"
    user.mkdir()
    toy_template(user, "mine.yaml")
    (user / "broken.yaml").write_text("name: [unclosed\n")
    (user / "binary.yaml").write_bytes(BINARY)
    toy_template(user, "wrongflow.yaml", dataflow="no_such_flow")
    monkeypatch.setenv("HWSIM_TEMPLATE_PATH", str(user))
    code = cli.main(["templates"])
    out, err = capsys.readouterr()
    assert code == 0, err
    warnings = err.strip().splitlines()
    assert len(warnings) == 3 and all(w.startswith("hwsim: warning: ") for w in warnings)
    for name, word in (("broken", "not valid YAML"), ("binary", "not a text file"),
                       ("wrongflow", "unknown dataflow model")):
        assert any(f"{name}.yaml" in w and word in w for w in warnings), (name, warnings)
    assert "toy  [dataflow: toy]" in out and "a100" in out          # the good ones are all listed
    assert hwsim.load_template("mine")["pes"] == 16                  # loading others is unaffected
    assert hwsim.load_template("a100").dataflow == "roofline"


def test_duplicate_yaml_key_names_file_key_and_line(capsys, tmp_path):
    text = TOY_YAML.format(pes=16, dataflow="toy") + "  pes: 32\n"
    path = toy_template(tmp_path, text=text)
    err = cli_error(capsys, "eval", "--template", str(path))
    for word in (str(path), "duplicate key 'pes'", "line 10", "first given on line 5"):
        assert word in err
    other = tmp_path / "table.yaml"                                   # any YAML hwsim reads
    other.write_text("a: 1\nb: 2\na: 3\n")
    raises(TemplateError, lambda: read_yaml_mapping(str(other), "of tables"), str(other), "duplicate key 'a'",
           "line 3")


def test_repeated_set_is_an_error(capsys, tmp_path):
    err = cli_error(capsys, "eval", "--template", str(toy_template(tmp_path)), "--set", "pes=4", "--set", "pes=8")
    for word in ("field '--set' = 'pes=8'", "parameter 'pes' is already set (pes=4)", "give each parameter once"):
        assert word in err
    with pytest.raises(UsageError):
        cli.parse_sets(["pes=1", " pes =2"])


@pytest.mark.parametrize("value, words", [
    ("nan", ["'pes' = 'nan'", "finite"]),
    ("1e30", ["'pes' = '1e30'", "2**40"]),
    ("0x10000000000000000", ["'pes' = '0x10000000000000000'", "2**40"]),
    ("-4", ["'pes' = '-4'", "expected > 0"]),
])
def test_set_values_are_checked_like_the_template(capsys, tmp_path, value, words):
    err = cli_error(capsys, "eval", "--template", str(toy_template(tmp_path)), "--set", f"pes={value}")
    for word in words:
        assert word in err


def test_internal_error_is_one_line_exit_3(capsys, monkeypatch):
    def broken(args):
        raise ValueError("boom\nsecond line")
    monkeypatch.setattr(cli, "cmd_networks", broken)
    code = cli.main(["networks"])
    _, err = capsys.readouterr()
    assert code == 3
    assert err.strip() == "hwsim: internal error (ValueError: boom second line), please report"


# -- 2. API calls that raised non-Hwsim exceptions -------------------------------------------

def test_empty_network():
    raises(WorkloadError, lambda: Network("x", []), "network 'x'", "field 'layers' = []", "at least one layer")


def test_network_of_non_layers():
    raises(WorkloadError, lambda: Network("x", [1, 2, 3]), "network 'x'", "field 'layers[0]' = 1",
           "expected an hwsim.Layer")
    layer = conv2d("a", 3, 8, (8, 8), 3)
    raises(WorkloadError, lambda: Network("x", layer), "field 'layers' = Layer", "list of hwsim.Layer")
    raises(WorkloadError, lambda: Network("x", [layer], [("a",)]), "field 'edge' = ('a',)", "pair")
    raises(WorkloadError, lambda: Network(None, [layer]), "field 'network' = None")


def test_pool_with_zero_stride():
    raises(WorkloadError, lambda: pool2d("p", 8, (8, 8), 2, stride=0), "layer 'p'", "field 'stride' = 0",
           "expected >= 1")
    raises(WorkloadError, lambda: pool2d("p", 8, (8, 8), 0), "layer 'p'", "field 'kernel' = 0")
    raises(WorkloadError, lambda: pool2d("p", "8", (8, 8), 2), "layer 'p'", "field 'channels' = '8'")


def test_load_template_of_none():
    raises(TemplateError, lambda: hwsim.load_template(None), "field 'template' = None",
           "expected a template name or a YAML path", "valid names:")
    raises(TemplateError, lambda: hwsim.load_template("../templates/dla"), "field 'template' = '../templates/dla'",
           "must end in .yaml")


def test_accelerator_argument_that_is_a_name():
    assert raises(TemplateError, lambda: check_accelerator("dla")) == \
        "field 'accelerator' = 'dla': expected an hwsim.Accelerator (use hwsim.load_template('dla'))"
    raises(TemplateError, lambda: check_accelerator(42, "evaluate"), "evaluate: field 'accelerator' = int")


@pytest.mark.parametrize("field, value, word", [
    ("pes", float("nan"), "= nan: expected a finite number"),
    ("pes", float("inf"), "= inf: expected a finite number"),
    ("clock_hz", float("nan"), "= nan: expected a finite number"),
    ("clock_hz", float("-inf"), "= -inf: expected a finite number"),
])
def test_with_params_non_finite(tmp_path, field, value, word):
    acc = toy(tmp_path)
    raises(TemplateError, lambda: acc.with_params(**{field: value}), f"field '{field}'", word)


def test_layer_macs_beyond_int64():
    raises(WorkloadError, lambda: conv2d("huge", 2**20, 2**20, in_size=(2**12, 2**12)), "layer 'huge'",
           "field 'macs' = 18,446,744,073,709,551,616", "limit 2**62")
    raises(WorkloadError, lambda: conv2d("tall", 1, 1, in_size=(2**25, 1)), "layer 'tall'", "'in_size' = 33554432",
           "2**24")
    raises(WorkloadError, lambda: Layer("v", "vector", 1, 1, 1, 1, 1, vector_ops=2**63), "layer 'v'",
           "'vector_ops'", str(MAX_COUNT))


# -- 3. silently wrong values: documented maxima ---------------------------------------------

@pytest.mark.parametrize("value", [2**63, 1e18, 2**40 + 1])
def test_integer_parameters_have_a_maximum(tmp_path, value):
    acc = toy(tmp_path)
    raises(TemplateError, lambda: acc.with_params(pes=value), str(tmp_path), "field 'pes'",
           "expected <= 1099511627776 (2**40)")
    assert acc.with_params(pes=2**40)["pes"] == INT_MAX


def test_float_ranges_are_stated():
    raises(TemplateError, lambda: CLOCK_HZ.check(2e11, "t.yaml", "clock_hz"), "t.yaml: field 'clock_hz' = 200000000000.0",
           "expected <= 1e+11; valid range: 0 < value <= 1e+11")
    bw = bandwidth("DRAM bandwidth, bytes/cycle")
    for value, bound in ((1e-9, ">= 1e-06"), (0.0, ">= 1e-06"), (2e9, "<= 1e+09")):
        raises(TemplateError, lambda: bw.check(value, "t.yaml", "dram_bw_bytes_per_cycle"),
               "'dram_bw_bytes_per_cycle'", f"expected {bound}", "valid range: 1e-06 <= value <= 1e+09")
    assert bw.check(1e-6, "t.yaml", "x") == 1e-6 and bw.check("1e9", "t.yaml", "x") == 1e9
    raises(TemplateError, lambda: Param(int, "x", maximum=2**20).check(2**20 + 1, "", "pes"),
           "field 'pes' = 1048577: expected <= 1048576 (2**20)")


def test_bandwidth_declared_in_a_template(tmp_path):
    acc = toy(tmp_path)
    raises(TemplateError, lambda: acc.with_params(dram_bw_bytes_per_cycle=1e-7), "'dram_bw_bytes_per_cycle' = 1e-07",
           "1e-06 <= value <= 1e+09")


def dsconv_file(tmp_path, k):
    path = tmp_path / "dw_layers.csv"
    path.write_text(MAESTRO_HEADER + f"DW1,DSCONV,1,{k},32,3,3,16,16,1\n")
    return path


def test_maestro_dsconv_k_must_be_1_or_c(tmp_path):
    raises(WorkloadError, lambda: load_maestro_layers(dsconv_file(tmp_path, 4)), "dw_layers.csv", "row 2",
           "field 'K' = 4", "expected K = 1 (MAESTRO's convention) or K = C (32)")
    one, same = (load_maestro_layers(dsconv_file(tmp_path, k))["DW1"] for k in (1, 32))
    assert one == same and (one.groups, one.k, one.c) == (32, 32, 32)


def test_shipped_maestro_files_load(reference):
    for path in sorted((reference / "maestro").glob("*_layers.csv")):
        assert len(load_maestro_layers(path)) > 0


# -- 4. valid files that were rejected -------------------------------------------------------

def test_csv_with_bom_and_spaces_after_commas(tmp_path):
    maestro = tmp_path / "bom_layers.csv"
    maestro.write_text("\ufefflayer, type, stride, K, C, R, S, Y, X, N\nL1, CONV, 1, 8, 3, 3, 3, 8, 8, 1\n",
                       encoding="utf-8")
    for net in (load_maestro_layers(maestro), load_network(str(maestro))):
        assert (net["L1"].k, net["L1"].p) == (8, 6)
    scalesim = tmp_path / "bom_topology.csv"
    scalesim.write_text("\ufeff" + SCALESIM_HEADER + "C1,  8,  8, 3, 3, 3, 8, 1,\n", encoding="utf-8")
    for net in (load_scalesim_topology(scalesim), load_network(str(scalesim))):
        assert (net["C1"].k, net["C1"].p) == (8, 6)


def test_scalesim_gemm_file_on_the_command_line(capsys, tmp_path):
    gemm = tmp_path / "mlp.csv"
    gemm.write_text("\ufeffLayer, M, N, K,\nfc1, 64, 128, 256,\nfc2, 64, 10, 128,\n", encoding="utf-8")
    net = load_network(str(gemm))
    assert [(l.op, l.macs) for l in net] == [("matmul", 64 * 128 * 256), ("matmul", 64 * 10 * 128)]
    code = cli.main(["eval", "--network", str(gemm), "--template", str(toy_template(tmp_path)), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert [row["layer"] for row in json.loads(out)["layers"]] == ["fc1", "fc2"]


def test_unknown_csv_header(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n1,2,3\n")
    raises(WorkloadError, lambda: load_network(str(path)), str(path), "field 'header' = 'a,b,c'", "MAESTRO",
           "Layer, M, N, K")


# -- 5. numpy scalars ------------------------------------------------------------------------

def test_numpy_scalars_are_plain_numbers(tmp_path):
    acc = toy(tmp_path)
    for value in (np.int64(512), np.int32(512), np.uint16(512), np.float64(512.0)):
        pes = acc.with_params(pes=value)["pes"]
        assert pes == 512 and type(pes) is int
    clock = acc.with_params(clock_hz=np.float64(1e9))["clock_hz"]
    assert clock == 1e9 and type(clock) is float
    assert type(acc.with_params(clock_hz=np.int64(10**9))["clock_hz"]) is float
    loaded = hwsim.load_template(toy_template(tmp_path), pes=np.int64(64), clock_hz=np.float32(2e9))
    assert loaded == acc.with_params(pes=64, clock_hz=2e9)
    sweep = [acc.with_params(pes=p) for p in np.arange(16, 80, 16)]
    assert [a["pes"] for a in sweep] == [16, 32, 48, 64]


def test_booleans_are_not_numbers(tmp_path):
    acc = toy(tmp_path)
    for value in (True, np.bool_(True)):
        raises(TemplateError, lambda: acc.with_params(pes=value), "field 'pes' = True", "not a boolean")


def test_every_error_is_an_hwsim_error():
    for error in (TemplateError, WorkloadError, UsageError):
        assert issubclass(error, HwsimError)
