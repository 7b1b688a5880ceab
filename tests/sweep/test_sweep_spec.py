"""Bad sweep specs: one SpecError naming the field and the value, before any work."""

from pathlib import Path

import pytest

from hwsim.errors import SpecError
from hwsim.sweep import load_sweep_spec, run_sweep

BASE = {"name": "t", "network": "alexnet", "template": "dla", "parameters": {"grid": {"pes": [64, 128]}}}


def spec(**changes):
    data = {**BASE, **changes}
    return {k: v for k, v in data.items() if v is not None}


def grid(**values):
    return spec(parameters={"grid": values})


def sample(kind="random", **fields):
    return spec(parameters={kind: {"samples": 4, "seed": 0, **fields}})


CASES = [
    (grid(pez=[1, 2]), "field 'parameters.grid.pez' = [1, 2]", "unknown parameter 'pez'"),
    (spec(parameters={"grid": {}}), "field 'parameters.grid' = {}", "non-empty"),
    (grid(pes=[]), "field 'parameters.grid.pes' = []", "non-empty list"),
    (grid(pes=64), "field 'parameters.grid.pes' = 64", "list"),
    (grid(pes=[64, "many"]), "field 'parameters.grid.pes[1]' = 'many'", "integer"),
    (grid(pes=[64, -1]), "field 'parameters.grid.pes[1]' = -1", "> 0"),
    (grid(technology=["accelergy_45nm", "tsmc_1nm"]), "field 'parameters.grid.technology[1]' = 'tsmc_1nm'",
     "unknown technology"),
    (spec(parameters={}), "field 'parameters' = {}", "grid"),
    (spec(parameters={"grid": {"pes": [64]}, "sobol": {}}), "field 'parameters.sobol'", "unknown field"),
    (spec(parameters={"random": {"samples": 2, "ranges": {"pes": [64]}},
                      "lhs": {"samples": 2, "ranges": {"pes": [64]}}}), "field 'parameters'", "not both"),
    (sample(ranges={"pes": [64]}, samples=0), "field 'parameters.random.samples' = 0", ">= 1"),
    (sample(ranges={"pes": [64]}, seed=-3), "field 'parameters.random.seed' = -3", ">= 0"),
    (sample(ranges={}), "field 'parameters.random.ranges' = {}", "non-empty"),
    (sample(ranges={"pes": {"low": 512, "high": 64}}), "field 'parameters.random.ranges.pes.high' = 64",
     "expected > low"),
    (sample(ranges={"pes": {"low": 64}}), "field 'parameters.random.ranges.pes.high' is missing", ""),
    (sample(ranges={"pes": {"low": 64, "high": 128, "integer": False}}),
     "field 'parameters.random.ranges.pes.integer' = False", "integer parameter"),
    (sample(ranges={"pes": {"low": 64, "high": 128, "step": 2}}), "field 'parameters.random.ranges.pes.step' = 2",
     "unknown field"),
    (sample("lhs", ranges={"technology": {"low": 1, "high": 2}}), "field 'parameters.lhs.ranges.technology'",
     "list of choices"),
    (spec(parameters={"grid": {"pes": [64]}, "random": {"samples": 2, "ranges": {"pes": [128]}}}),
     "field 'parameters.random.ranges.pes'", "also in the grid"),
    (spec(derived={"l2_bytes": "pes / 3"}), "field 'derived.l2_bytes' = 'pes / 3'",
     "first point (pes=64) it is 21.33"),
    (spec(derived={"l2_bytes": "log2(pes - 64)"}), "field 'derived.l2_bytes' = 'log2(pes - 64)'", "finite"),
    (spec(derived={"l2_bytes": "1024 * pes", "l9_bytes": "1"}), "field 'derived.l9_bytes' = '1'",
     "unknown parameter 'l9_bytes'"),
    (spec(derived={"pes": "64"}), "field 'derived.pes' = '64'", "swept"),
    (spec(derived={"l2_bytes": "__import__('os').getcwd()"}), "field 'derived.l2_bytes' = \"__import__('os')",
     "not allowed"),
    (spec(derived=["l2_bytes"]), "field 'derived' = ['l2_bytes']", "mapping"),
    (spec(color="red"), "field 'color' = 'red'", "unknown field"),
    (spec(output="rows"), "field 'output' = 'rows'", "totals"),
    (spec(chunk_points=0), "field 'chunk_points' = 0", "1..1,000,000"),
    (spec(objectives={"latency_cycles": "smallest"}), "field 'objectives.latency_cycles' = 'smallest'", "min or max"),
    (spec(objectives=[]), "field 'objectives' = []", "non-empty"),
    (spec(template="tpu9"), "field 'template' = 'tpu9'", "unknown template"),
    (spec(template=None), "field 'template' is missing", ""),
    (spec(network="resnet5"), "field 'network[0]'", "resnet5"),
    (spec(network=["alexnet", "alexnet"]), "field 'network' = ['alexnet', 'alexnet']", "share a name"),
    (spec(batch=0), "field 'batch' = 0", "> 0"),
    (spec(chip="specs/chips/dla_shi.yaml"), "field 'template' = 'dla'", "not allowed with 'chip'"),
]


@pytest.mark.parametrize("data, head, reason", CASES, ids=[c[1][7:40] for c in CASES])
def test_bad_spec_names_field_and_value(data, head, reason):
    with pytest.raises(SpecError) as info:
        load_sweep_spec(data)
    message = str(info.value)
    assert head in message and reason in message
    assert "\n" not in message


def test_file_errors_name_the_file(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: a\nname: b\n")
    with pytest.raises(SpecError, match=r"s\.yaml: not valid YAML: .*duplicate key 'name'"):
        load_sweep_spec(path)
    path.write_text("network: alexnet\ntemplate: dla\nparameters: {grid: {pes: [64, 0]}}\n")
    with pytest.raises(SpecError, match=r"s\.yaml: field 'parameters.grid.pes\[1\]' = 0"):
        load_sweep_spec(path)


def test_unknown_objective_column_fails_before_the_output_folder_exists(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(SpecError, match=r"field 'objectives' = 'speed': not a column of the results; valid: .*"
                                        r"latency_cycles"):
        run_sweep(spec(objectives=["latency_cycles", "speed"]), out, progress=False)
    assert not out.exists()


def test_relative_paths_are_taken_beside_the_spec(tmp_path):
    template = tmp_path / "my_dla.yaml"
    dla = (Path(__file__).parents[2] / "templates" / "dla.yaml").read_text()
    template.write_text(dla.replace("name: dla", "name: my_dla"))
    path = tmp_path / "s.yaml"
    path.write_text("network: alexnet\ntemplate: my_dla.yaml\nparameters: {grid: {pes: [64]}}\n")
    loaded = load_sweep_spec(path)
    assert loaded.template.name == "my_dla" and loaded.name == "s" and loaded.points == 1
