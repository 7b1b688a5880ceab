"""hwsim.system.chip: the data model, make_chip, load_chip and every bad input of issue 6."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest

import hwsim
from hwsim.errors import HwsimError, SpecError
from hwsim.system import Budget, Chip, SubAccelerator, Task, evaluate_chip, load_chip, make_chip, with_dram
from hwsim.system.chip_yaml import chip_from_mapping
from hwsim.system.resources import accelerator_area_mm2, accelerator_noc_bw, accelerator_pes, accelerator_sram_bytes
from hwsim.workload import Network, conv2d, depthwise_conv2d

ROOT = Path(__file__).resolve().parents[2]
CHIPS = ROOT / "specs" / "chips"


def tiny(name="tiny", channels=16, size=8):
    return Network.sequential(name, [conv2d(f"{name}.c1", 3, channels, in_size=(size, size), kernel=3, padding=1),
                                     depthwise_conv2d(f"{name}.dw", channels, in_size=(size, size), padding=1),
                                     conv2d(f"{name}.c2", channels, channels, in_size=(size, size))])


def write(tmp_path, text: str, name="chip.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


BASE = """\
name: t
budget: {pes: 4096, noc_bw_bytes_per_cycle: 256}
dram: {bw_bytes_per_cycle: 64, policy: partitioned}
sub_accelerators:
  - {name: big, template: dla, pes: 3072, noc_bw_bytes_per_cycle: 192}
  - {name: small, template: shi, pes: 1024, noc_bw_bytes_per_cycle: 64}
tasks:
  - {network: resnet18, on: big}
"""


def one_line_spec_error(path, match: str) -> str:
    with pytest.raises(SpecError) as info:
        load_chip(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path)), message
    assert match in message, message
    return message


# -- loading the examples -----------------------------------------------------------

def test_issue_example_loads():
    chip = load_chip(CHIPS / "dla_shi.yaml")
    assert chip.name == "dla+shi"
    assert chip.dram_policy == "shared" and chip.dram_bw_bytes_per_cycle == 64
    assert chip.sub_names == ["big", "small"]
    big, small = chip.sub("big").accelerator, chip.sub("small").accelerator
    assert (big.name, big["pes"], big["noc_bw_bytes_per_cycle"]) == ("dla", 3072, 192)
    assert (small.name, small["pes"], small["noc_bw_bytes_per_cycle"]) == ("shi", 1024, 64)
    # shared: every sub-accelerator carries the whole interface
    assert big["dram_bw_bytes_per_cycle"] == small["dram_bw_bytes_per_cycle"] == 64
    assert [(t.name, t.on) for t in chip.tasks] == [("resnet50", "big"), ("mobilenet_v2", "small")]
    assert chip.tasks[1].network.layers[0].n == 4                   # batch: 4
    assert chip.clock_hz == big.clock_hz
    assert chip.budget == Budget(pes=4096, noc_bw_bytes_per_cycle=256, area_mm2=64)


def test_partitioned_example_shares():
    chip = load_chip(CHIPS / "three_way_partitioned.yaml")
    bw = {s.name: s.accelerator["dram_bw_bytes_per_cycle"] for s in chip.sub_accelerators}
    assert bw == {"dla": 32.0, "shi": 16.0, "rs": 16.0}            # share 0.5, explicit 16, the rest
    assert [t.on for t in chip.tasks] == ["dla", "shi", "rs", "rs"]
    assert chip.tasks[3].name == "alexnet_b2" and chip.tasks[3].network.layers[0].n == 2
    assert dict(chip.specs) == {"latency_cycles": 2.0e7, "area_mm2": 80}


def test_layer_mapped_example_has_an_auto_task():
    chip = load_chip(CHIPS / "layer_mapped.yaml")
    assert [t.on for t in chip.tasks] == ["big", "rowst", None]
    assert not chip.task_level


def test_equal_shares_by_default(tmp_path):
    chip = load_chip(write(tmp_path, BASE))
    assert [s.accelerator["dram_bw_bytes_per_cycle"] for s in chip.sub_accelerators] == [32.0, 32.0]


def test_on_key_is_not_read_as_a_boolean(tmp_path):
    # YAML 1.1 reads a bare `on` key as true; the chip loader takes it back
    chip = load_chip(write(tmp_path, BASE))
    assert chip.tasks[0].on == "big"


def test_specs_from_file_and_overrides(tmp_path):
    path = write(tmp_path, BASE + "specs: {latency_cycles: 1e7, energy_pj: 2.5e10}\n")
    chip = load_chip(path, latency_cycles=5e6)
    assert dict(chip.specs) == {"latency_cycles": 5e6, "energy_pj": 2.5e10}


def test_csv_network_and_template_path_relative_to_the_file(tmp_path):
    (tmp_path / "net.csv").write_text("layer,type,stride,K,C,R,S,Y,X,N\nl1,CONV,1,16,8,3,3,10,10,1\n")
    (tmp_path / "mine.yaml").write_text((ROOT / "templates" / "shi.yaml").read_text())
    chip = load_chip(write(tmp_path, BASE.replace("template: shi", "template: mine.yaml")
                           + "  - {network: net.csv, on: small}\n"))
    assert chip.tasks[1].network.layers[0].k == 16
    assert chip.sub("small").accelerator.source.endswith("mine.yaml")


# -- the Python API --------------------------------------------------------------------

def test_make_chip_and_the_data_model():
    dla, shi = hwsim.load_template("dla", pes=512), hwsim.load_template("shi")
    net = tiny()
    chip = make_chip("c", {"a": dla, "b": shi}, [(net, "a"), (net, "auto"), ("third", net, None)],
                     dram_bw_bytes_per_cycle=30, dram_shares={"a": 0.5})
    assert isinstance(chip, Chip) and all(isinstance(s, SubAccelerator) for s in chip.sub_accelerators)
    assert [s.accelerator["dram_bw_bytes_per_cycle"] for s in chip.sub_accelerators] == [15.0, 15.0]
    assert [(t.name, t.on) for t in chip.tasks] == [("tiny", "a"), ("tiny#2", None), ("third", None)]
    assert all(isinstance(t, Task) and t.network is net for t in chip.tasks)
    assert chip.sub("b").accelerator.name == "shi" and chip.sub_index("b") == 1
    assert chip.tasks_on("a") == [chip.tasks[0]]
    assert chip.dram_bw_bytes_per_s == 30e9
    with pytest.raises(SpecError, match="no sub-accelerator 'c'; valid: \\['a', 'b'\\]"):
        chip.sub("c")


def test_dram_shares_are_compared_in_bytes_per_second():
    """A sub-accelerator at half the chip clock gets twice the bytes per own cycle."""
    slow = hwsim.load_template("dla", clock_hz=5e8)
    chip = make_chip("c", {"fast": hwsim.load_template("dla"), "slow": slow}, [(tiny(), "fast")],
                     dram_bw_bytes_per_cycle=32)
    assert chip.clock_hz == 1e9
    assert chip.sub("fast").accelerator["dram_bw_bytes_per_cycle"] == 16
    assert chip.sub("slow").accelerator["dram_bw_bytes_per_cycle"] == 32      # 16 B per chip cycle


def test_with_dram_repartitions():
    chip = make_chip("c", {"a": hwsim.load_template("dla"), "b": hwsim.load_template("shi")}, [(tiny(), "a")],
                     dram_bw_bytes_per_cycle=64, dram_policy="shared")
    part = with_dram(chip, "partitioned", dram_shares={"a": 0.25})
    assert [s.accelerator["dram_bw_bytes_per_cycle"] for s in part.sub_accelerators] == [16.0, 48.0]
    back = with_dram(part, "shared")
    assert [s.accelerator["dram_bw_bytes_per_cycle"] for s in back.sub_accelerators] == [64.0, 64.0]


def test_direct_construction_is_validated():
    acc = hwsim.load_template("dla", dram_bw_bytes_per_cycle=40)
    with pytest.raises(SpecError, match="partitioned shares sum to 80 bytes/cycle \\(a 40 \\+ b 40\\)"):
        Chip("c", (SubAccelerator("a", acc), SubAccelerator("b", acc)), (Task("t", tiny(), "a"),),
             dram_bw_bytes_per_cycle=64, dram_policy="partitioned")
    with pytest.raises(SpecError, match="with dram policy 'shared' every sub-accelerator carries the whole"):
        Chip("c", (SubAccelerator("a", acc),), (Task("t", tiny(), "a"),), dram_bw_bytes_per_cycle=64,
             dram_policy="shared")
    ok = Chip("c", (SubAccelerator("a", acc),), (Task("t", tiny(), "a"),), dram_bw_bytes_per_cycle=40,
              dram_policy="shared")
    assert ok.clock_hz == 1e9


def test_budget_usage_of_a_sub_accelerator():
    dla = hwsim.load_template("dla", pes=1024)
    assert accelerator_pes(dla) == 1024
    assert accelerator_noc_bw(dla) == 64
    assert accelerator_sram_bytes(dla) == 1024 * 512 + 110592
    tpu = hwsim.load_template("tpu", rows=32, cols=16)
    assert accelerator_pes(tpu) == 512
    assert accelerator_sram_bytes(tpu) == sum(tpu[k] for k in ("ifmap_sram_bytes", "filter_sram_bytes",
                                                                "ofmap_sram_bytes"))
    assert accelerator_noc_bw(tpu) is None
    assert accelerator_area_mm2(dla) == pytest.approx(hwsim.evaluate(tiny(), dla).total.area_mm2)
    # area depends on the configuration only
    assert accelerator_area_mm2(dla) == pytest.approx(
        hwsim.evaluate(hwsim.zoo.get_network("alexnet"), dla).total.area_mm2)


# -- bad input (issue 6, Acceptance) ------------------------------------------------------

def test_over_budget_pes_names_field_limit_and_sum(tmp_path):
    path = write(tmp_path, BASE.replace("pes: 1024, noc", "pes: 2048, noc"))
    message = one_line_spec_error(path, "field 'budget.pes' = 4096")
    assert message == (f"{path}: field 'budget.pes' = 4096: the sub-accelerators use 5120 PEs "
                       "(big 3072 + small 2048)")


@pytest.mark.parametrize("budget, expected", [
    ("{noc_bw_bytes_per_cycle: 200}", "field 'budget.noc_bw_bytes_per_cycle' = 200: the sub-accelerators use 256 "
                                      "bytes/cycle of NoC bandwidth (big 192 + small 64)"),
    ("{sram_bytes: 1000000}", "field 'budget.sram_bytes' = 1000000: the sub-accelerators use 2011136 bytes of SRAM "
                              "(big 1683456 + small 327680)"),
    ("{area_mm2: 40}", "field 'budget.area_mm2' = 40: the sub-accelerators use 58.9 mm2 (big 48.7 + small 10.2)"),
])
def test_over_budget_other_fields(tmp_path, budget, expected):
    path = write(tmp_path, BASE.replace("{pes: 4096, noc_bw_bytes_per_cycle: 256}", budget))
    assert one_line_spec_error(path, expected).endswith(expected)


def test_issue_area_budget_of_40_is_over_budget(tmp_path):
    text = (CHIPS / "dla_shi.yaml").read_text().replace("area_mm2: 64", "area_mm2: 40")
    one_line_spec_error(write(tmp_path, text), "field 'budget.area_mm2' = 40: the sub-accelerators use 58.9 mm2")


def test_task_on_unknown_sub_accelerator(tmp_path):
    path = write(tmp_path, BASE.replace("on: big", "on: huge"))
    one_line_spec_error(path, "field 'tasks[0].on' = 'huge': unknown sub-accelerator; valid: ['big', 'small', 'auto']")
    with pytest.raises(SpecError, match="field 'tasks\\[0\\].on' = 'x': unknown sub-accelerator"):
        make_chip("c", {"a": hwsim.load_template("dla")}, [(tiny(), "x")], dram_bw_bytes_per_cycle=16)


@pytest.mark.parametrize("subs", ["sub_accelerators: []\n", ""])
def test_empty_chip(tmp_path, subs):
    text = BASE.split("sub_accelerators:")[0] + subs + "tasks:\n  - {network: resnet18, on: big}\n"
    one_line_spec_error(write(tmp_path, text), "an empty chip")
    with pytest.raises(SpecError, match="an empty chip"):
        make_chip("c", [], [(tiny(), "a")], dram_bw_bytes_per_cycle=16)


def test_chip_without_tasks(tmp_path):
    one_line_spec_error(write(tmp_path, BASE.split("tasks:")[0] + "tasks: []\n"), "field 'tasks' = []: the chip runs")


def test_network_that_maps_nowhere_is_reported_infeasible_not_raised(tmp_path):
    path = write(tmp_path, BASE.replace("noc_bw_bytes_per_cycle: 64}", "noc_bw_bytes_per_cycle: 64, l2_bytes: 1024}")
                 .replace("on: big", "on: small"))
    chip = load_chip(path)                       # loading is fine: nothing is wrong with the chip itself
    report = evaluate_chip(chip)
    assert not report.feasible and not report.meets_specs
    assert math.isinf(report.latency_s) and math.isnan(report.energy_pj)
    task = report.task("resnet18")
    assert not task.feasible
    assert "layer 'conv1'" in task.error and "field 'l2_bytes' = 1024: too small" in task.error
    assert report.error.startswith("task 'resnet18' (resnet18) on 'small': ")
    assert report.as_dict()["latency_s"] is None


def test_duplicate_keys(tmp_path):
    path = write(tmp_path, BASE.replace("{name: big, template: dla,", "{name: big, template: dla, pes: 1,"))
    one_line_spec_error(path, "duplicate key 'pes'")
    path = write(tmp_path, BASE + "name: again\n")
    one_line_spec_error(path, "duplicate key 'name'")


def test_unknown_template_parameter(tmp_path):
    path = write(tmp_path, BASE.replace("pes: 1024, noc", "pez: 1024, noc"))
    message = one_line_spec_error(path, "sub_accelerators[1] 'small': ")
    assert "field 'pez' = 1024: unknown parameter of template 'shi'" in message


def test_bad_template_parameter_value(tmp_path):
    path = write(tmp_path, BASE.replace("pes: 1024, noc", "pes: -4, noc"))
    one_line_spec_error(path, "sub_accelerators[1] 'small': ")


def test_unknown_template(tmp_path):
    one_line_spec_error(write(tmp_path, BASE.replace("template: shi", "template: nvdla")),
                        "field 'template' = 'nvdla': unknown template")


@pytest.mark.parametrize("change, match", [
    (("name: t\n", "name: t\ncolour: red\n"), "field 'colour' = 'red': unknown field"),
    (("policy: partitioned", "policy: fair"), "field 'dram.policy' = 'fair': valid: ['partitioned', 'shared']"),
    (("bw_bytes_per_cycle: 64", "bw_bytes_per_cycle: -1"), "field 'dram.bw_bytes_per_cycle' = -1"),
    (("dram: {bw_bytes_per_cycle: 64, policy: partitioned}", "dram: {policy: shared}"),
     "field 'dram.bw_bytes_per_cycle' is missing"),
    (("{pes: 4096, noc_bw_bytes_per_cycle: 256}", "{pes: 4096, dies: 2}"), "field 'budget.dies' = 2: unknown budget"),
    (("{pes: 4096, noc_bw_bytes_per_cycle: 256}", "{pes: 0}"), "field 'budget.pes' = 0: expected a finite number > 0"),
    (("noc_bw_bytes_per_cycle: 192}", "noc_bw_bytes_per_cycle: 192, dram_share: 1}"),
     "field 'sub_accelerators.small.dram_share': no DRAM bandwidth is left"),
    (("noc_bw_bytes_per_cycle: 192}", "noc_bw_bytes_per_cycle: 192, dram_share: 1.5}"),
     "field 'sub_accelerators.big.dram_share' = 1.5: expected 0 < value <= 1"),
    (("noc_bw_bytes_per_cycle: 192}", "noc_bw_bytes_per_cycle: 192, dram_bw_bytes_per_cycle: 80}"),
     "the sub-accelerators' shares sum to 80 bytes/cycle (big 80)"),
    (("noc_bw_bytes_per_cycle: 192}", "noc_bw_bytes_per_cycle: 192, dram_share: 0.5, dram_bw_bytes_per_cycle: 8}"),
     "give either dram_share or dram_bw_bytes_per_cycle"),
    (("{name: small,", "{name: big,"), "field 'sub_accelerators[1].name' = 'big': duplicate sub-accelerator name"),
    (("{name: small,", "{name: auto,"), "expected a non-empty name other than 'auto'"),
    (("{name: small, template: shi,", "{template: shi,"), "field 'sub_accelerators[1].name' is missing"),
    (("- {network: resnet18, on: big}", "- {network: resnet18}"), "field 'tasks[0].on' is missing"),
    (("- {network: resnet18, on: big}", "- {network: resnet18, on: big, cores: 2}"), "field 'tasks[0].cores'"),
    (("- {network: resnet18, on: big}", "- {network: resnet18, on: big, batch: 0}"),
     "field 'tasks[0].batch' = 0: expected an integer > 0"),
    (("- {network: resnet18, on: big}", "- {network: resnet99, on: big}"),
     "tasks[0]: field 'network' = 'resnet99': unknown network"),
    (("- {network: resnet18, on: big}", "- {network: resnet18, on: big}\n  - {name: resnet18, network: alexnet, "
                                        "on: small}"), "field 'tasks[1].name' = 'resnet18': duplicate task name"),
    (("name: t\n", "name: t\nspecs: {latency_cycles: -3}\n"), "field 'specs.latency_cycles' = -3"),
    (("name: t\n", "name: t\nspecs: {power_w: 3}\n"), "field 'specs.power_w' = 3: unknown spec"),
    (("tasks:", "tasks: 3\nx:"), "field 'x'"),
])
def test_bad_fields(tmp_path, change, match):
    old, new = change
    assert old in BASE
    one_line_spec_error(write(tmp_path, BASE.replace(old, new, 1)), match)


def test_shared_policy_rejects_a_share(tmp_path):
    text = BASE.replace("policy: partitioned", "policy: shared").replace(
        "noc_bw_bytes_per_cycle: 192}", "noc_bw_bytes_per_cycle: 192, dram_share: 0.5}")
    one_line_spec_error(write(tmp_path, text), "with dram policy 'shared' every sub-accelerator uses the whole")


def test_template_without_dram_interface(tmp_path):
    text = BASE.replace("{name: small, template: shi, pes: 1024, noc_bw_bytes_per_cycle: 64}",
                        "{name: gpu, template: a100}")
    one_line_spec_error(write(tmp_path, text), "template 'a100' has no dram_bw_bytes_per_cycle")


@pytest.mark.parametrize("text, match", [
    ("[1, 2]\n", "expected a mapping"),
    ("name: [unclosed\n", "not valid YAML"),
    ("!!python/object:os.system {}\n", "not valid YAML"),
])
def test_not_a_chip_file(tmp_path, text, match):
    one_line_spec_error(write(tmp_path, text), match)


def test_missing_file(tmp_path):
    with pytest.raises(SpecError, match="cannot read"):
        load_chip(tmp_path / "absent.yaml")


def test_binary_file(tmp_path):
    path = tmp_path / "chip.yaml"
    path.write_bytes(b"name: x\0\n")
    with pytest.raises(SpecError, match="not a text file"):
        load_chip(path)


def test_every_error_is_a_hwsim_error():
    with pytest.raises(HwsimError):
        chip_from_mapping({"name": "x", "dram": "fast"})


# -- DESIGN.md floor 3 ---------------------------------------------------------------------

def test_system_stays_on_floor_3():
    """hwsim.system imports hwsim's evaluate / workload / hardware / dataflow / errors /
    units, never the command line (or anything above it)."""
    allowed = {"evaluate", "workload", "hardware", "dataflow", "errors", "units", "system"}
    for path in sorted((ROOT / "hwsim" / "system").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level == 2:                         # from ..x import
                    assert (node.module or "").split(".")[0] in allowed, (path.name, node.module)
                elif node.level == 0 and node.module and node.module.startswith("hwsim"):
                    parts = node.module.split(".")
                    assert len(parts) > 1 and parts[1] in allowed, (path.name, node.module)
                assert "nasaic" not in (node.module or ""), path.name
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] != "nasaic", path.name
                    assert not alias.name.startswith("hwsim.cli"), path.name
