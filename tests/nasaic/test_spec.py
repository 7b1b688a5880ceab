"""Co-search specs: a full spec loads with every field as written (aliases canonicalised), round-trips
through spec_to_dict (as a dict and as YAML), takes its defaults, and every bad input is one
SpecError line naming the source, the dotted field and the value."""

import copy
import math
from dataclasses import replace

import pytest
import yaml

from hwsim.errors import SpecError
from hwsim.system import Budget
from nasaic.spec import SearchSpec, TaskSpec, load_spec, spec_to_dict

FULL = {
    "name": "full",
    "seed": 7,
    "objective": "weighted",
    "tasks": [
        {"name": "c100", "space": "nb201", "dataset": "CIFAR-100", "weight": 2.0, "batch": 4, "bits": 16},
        {"name": "in", "space": "mnasnet", "dataset": "imagenet", "table_only": True, "weight": 0.5},
        {"name": "i16", "space": "nb201", "dataset": "imagenet16-120", "table_only": True},
    ],
    "hardware": {
        "sub_accelerators": 3,
        "templates": ["dla", "rs"],
        "pes": [64, 256],
        "noc_bw_bytes_per_cycle": [16, 32.5],
        "dram": {"bw_bytes_per_cycle": 48, "policy": "shared"},
        "clock_hz": 5.0e8,
        "budget": {"pes": 512, "noc_bw_bytes_per_cycle": 96, "sram_bytes": 1 << 22, "area_mm2": 20.0},
        "params": {"dla": {"l2_bytes": 65536}},
    },
    "specs": {"latency_cycles": 1.0e6, "energy_nj": 2.0e5, "area_mm2": 4.0},
    "search": {"controller": "evolution", "episodes": 40, "checkpoint_every": 10, "hardware_retries": 0,
               "slack_weight": 0.0},
}

MINIMAL = {"name": "m", "tasks": [{"name": "c10", "space": "nb201", "dataset": "cifar10"}],
           "hardware": {"sub_accelerators": 1, "templates": ["shi"], "pes": [128],
                        "noc_bw_bytes_per_cycle": [32], "dram": {"bw_bytes_per_cycle": 16}}}


def test_full_spec_loads_every_field():
    spec = load_spec(FULL)
    assert (spec.name, spec.seed, spec.objective, spec.source) == ("full", 7, "weighted", "<dict>")
    assert spec.tasks == (TaskSpec("c100", "nb201", "cifar100", False, 2.0, 4, 16),
                          TaskSpec("in", "mnasnet", "imagenet", True, 0.5, 1, 8),
                          TaskSpec("i16", "nb201", "imagenet16_120", True, 1.0, 1, 8))
    hw = spec.hardware
    assert (hw.sub_accelerators, hw.templates, hw.pes, hw.noc_bw_bytes_per_cycle) == (3, ("dla", "rs"), (64, 256),
                                                                                      (16.0, 32.5))
    assert (hw.dram_bw_bytes_per_cycle, hw.dram_policy, hw.clock_hz) == (48.0, "shared", 5.0e8)
    assert hw.budget == Budget(pes=512, noc_bw_bytes_per_cycle=96.0, sram_bytes=1 << 22, area_mm2=20.0)
    assert hw.params == {"dla": {"l2_bytes": 65536}}
    assert spec.specs == {"latency_cycles": 1.0e6, "energy_nj": 2.0e5, "area_mm2": 4.0}
    assert spec.search == SearchSpec("evolution", 40, 10, 0, 0.0)
    assert spec.replace_search(episodes=3).search.episodes == 3


def test_round_trip_dict_and_yaml(tmp_path):
    spec = load_spec(FULL)
    data = spec_to_dict(spec)
    assert load_spec(data) == spec
    path = tmp_path / "full.yaml"
    path.write_text(yaml.safe_dump(data))
    from_file = load_spec(path)
    assert from_file.source == str(path) and replace(from_file, source="<dict>") == spec
    assert spec_to_dict(load_spec(MINIMAL)) == spec_to_dict(load_spec(spec_to_dict(load_spec(MINIMAL))))


def test_defaults():
    spec = load_spec(MINIMAL)
    assert (spec.seed, spec.objective, spec.specs, spec.search) == (0, "mean_accuracy", {}, SearchSpec())
    assert spec.tasks == (TaskSpec("c10", "nb201", "cifar10"),)
    hw = spec.hardware
    assert (hw.dram_policy, hw.clock_hz, hw.budget, hw.params) == ("partitioned", 1.0e9, Budget(), {})
    empty = copy.deepcopy(MINIMAL) | {"specs": None, "search": {}}     # YAML `specs:` with nothing under it
    assert load_spec(empty) == spec


def test_yaml_file_numbers_and_source(tmp_path):
    # PyYAML reads 1.0e9 and 2e5 (no exponent sign) as strings; they are numbers here, as in chip YAML
    path = tmp_path / "w.yaml"
    path.write_text("name: w\ntasks: [{name: a, space: mnasnet, dataset: ImageNet}]\n"
                    "hardware: {sub_accelerators: 2, templates: [eyeriss], pes: [64], noc_bw_bytes_per_cycle: [16],\n"
                    "           dram: {bw_bytes_per_cycle: 32}, clock_hz: 1.0e9}\n"
                    "specs: {energy_nj: 2e5}\n")
    spec = load_spec(str(path))
    assert spec.source == str(path) and spec.hardware.clock_hz == 1.0e9 and spec.specs == {"energy_nj": 2.0e5}
    assert spec.tasks[0].dataset == "imagenet"


def _set(data, dotted, value):
    """``data`` with the field at ``dotted`` (``hardware.pes.1``) set to ``value`` (``DELETE``: removed)."""
    data = copy.deepcopy(data)
    *parents, last = [int(p) if p.isdigit() else p for p in dotted.split(".")]
    node = data
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return data


DELETE = object()
NAN, INF = math.nan, math.inf

# (field to set, value, text the message must hold besides the source: field and value)
BAD = [
    # top level
    ("name", DELETE, ["'name' is missing"]),
    ("name", 3, ["'name' = 3", "non-empty name"]),
    ("tasks", [], ["'tasks' = []", "non-empty list"]),
    ("tasks", "c10", ["'tasks' = 'c10'"]),
    ("hardware", DELETE, ["'hardware' is missing"]),
    ("hardware", [1, 2], ["'hardware' = [1, 2]", "mapping"]),
    ("seeds", 1, ["'seeds' = 1", "unknown field", "'seed'"]),
    ("seed", -1, ["'seed' = -1", ">= 0"]),
    ("seed", True, ["'seed' = True"]),
    ("seed", "zero", ["'seed' = 'zero'"]),
    ("seed", 1.5, ["'seed' = 1.5", "integer"]),
    ("objective", "max", ["'objective' = 'max'", "'weighted'"]),
    # tasks
    ("tasks.0", "c10", ["'tasks[0]' = 'c10'", "mapping"]),
    ("tasks.0.space", DELETE, ["'tasks[0].space' is missing"]),
    ("tasks.0.epochs", 3, ["'tasks[0].epochs' = 3", "unknown field", "'batch'"]),
    ("tasks.1.name", "c100", ["'tasks[1].name' = 'c100'", "duplicate"]),
    ("tasks.0.name", "", ["'tasks[0].name' = ''"]),
    ("tasks.0.space", "darts", ["'tasks[0].space' = 'darts'", "'nb201'"]),
    ("tasks.0.dataset", "cifar11", ["'tasks[0].dataset' = 'cifar11'", "'cifar100'"]),
    ("tasks.0.dataset", 10, ["'tasks[0].dataset' = 10"]),
    ("tasks.1.dataset", "cifar10", ["'tasks[1].dataset' = 'cifar10'", "'imagenet'"]),
    ("tasks.1.table_only", "yes", ["'tasks[1].table_only' = 'yes'", "true or false"]),
    ("tasks.0.weight", 0, ["'tasks[0].weight' = 0", "> 0"]),
    ("tasks.0.weight", -1.0, ["'tasks[0].weight' = -1.0"]),
    ("tasks.0.weight", "heavy", ["'tasks[0].weight' = 'heavy'"]),
    ("tasks.0.batch", 0, ["'tasks[0].batch' = 0", ">= 1"]),
    ("tasks.0.batch", 2.5, ["'tasks[0].batch' = 2.5"]),
    ("tasks.0.batch", True, ["'tasks[0].batch' = True"]),
    ("tasks.0.bits", 7, ["'tasks[0].bits' = 7", "[4, 8, 16, 32]"]),
    ("tasks.0.bits", "8bit", ["'tasks[0].bits' = '8bit'"]),
    ("objective", "mean_accuracy", ["'tasks[0].weight' = 2.0", "objective: weighted"]),
    # hardware
    ("hardware.cores", 2, ["'hardware.cores' = 2", "unknown field", "'sub_accelerators'"]),
    ("hardware.sub_accelerators", 0, ["'hardware.sub_accelerators' = 0", "<= 8"]),
    ("hardware.sub_accelerators", 9, ["'hardware.sub_accelerators' = 9"]),
    ("hardware.sub_accelerators", "two", ["'hardware.sub_accelerators' = 'two'"]),
    ("hardware.templates", [], ["'hardware.templates' = []"]),
    ("hardware.templates", ["dla", "dla"], ["'hardware.templates[1]' = 'dla'", "duplicate"]),
    ("hardware.templates", ["dla", "nope"], ["'hardware.templates[1]' = 'nope'", "unknown template", "'shi'"]),
    ("hardware.templates", ["tpu"], ["'hardware.templates[0]' = 'tpu'", "no parameter 'pes'", "'rs'"]),
    ("hardware.templates", ["maestro_kcp"], ["'hardware.templates[0]' = 'maestro_kcp'",
                                             "no parameter 'noc_bw_bytes_per_cycle'"]),
    ("hardware.pes", 64, ["'hardware.pes' = 64", "list"]),
    ("hardware.pes", [64, 64], ["'hardware.pes[1]' = 64", "duplicate"]),
    ("hardware.pes", [64, 0], ["'hardware.pes[1]' = 0"]),
    ("hardware.pes", ["many"], ["'hardware.pes[0]' = 'many'"]),
    ("hardware.pes", [64, 2 ** 21], ["'hardware.pes[1]' = 2097152", "template 'dla' rejects"]),
    ("hardware.noc_bw_bytes_per_cycle", [16, NAN], ["'hardware.noc_bw_bytes_per_cycle[1]' = nan"]),
    ("hardware.noc_bw_bytes_per_cycle", [-16], ["'hardware.noc_bw_bytes_per_cycle[0]' = -16"]),
    ("hardware.noc_bw_bytes_per_cycle", [16, 16.0], ["'hardware.noc_bw_bytes_per_cycle[1]' = 16.0", "duplicate"]),
    ("hardware.dram", DELETE, ["'hardware.dram' is missing"]),
    ("hardware.dram", [32], ["'hardware.dram' = [32]", "mapping"]),
    ("hardware.dram.bw_bytes_per_cycle", -1, ["'hardware.dram.bw_bytes_per_cycle' = -1"]),
    ("hardware.dram.bw_bytes_per_cycle", 1e10, ["'hardware.dram.bw_bytes_per_cycle' = 10000000000.0", "rejects"]),
    ("hardware.dram.policy", "fair", ["'hardware.dram.policy' = 'fair'", "'shared'"]),
    ("hardware.dram.banks", 4, ["'hardware.dram.banks' = 4", "unknown field"]),
    ("hardware.clock_hz", 0, ["'hardware.clock_hz' = 0"]),
    ("hardware.clock_hz", 1e12, ["'hardware.clock_hz' = 1000000000000.0", "template 'dla' rejects"]),
    ("hardware.budget", 512, ["'hardware.budget' = 512", "mapping"]),
    ("hardware.budget.dsp", 4, ["'hardware.budget.dsp' = 4", "unknown field", "'sram_bytes'"]),
    ("hardware.budget.pes", -5, ["'hardware.budget.pes' = -5"]),
    ("hardware.budget.pes", 32, ["'hardware.budget.pes' = 32", "too small for any design", "needs pes = 64"]),
    ("hardware.budget.noc_bw_bytes_per_cycle", 8, ["'hardware.budget.noc_bw_bytes_per_cycle' = 8.0",
                                                   "needs noc_bw_bytes_per_cycle = 16"]),
    ("hardware.budget.sram_bytes", 1024, ["'hardware.budget.sram_bytes' = 1024", "too small for any design"]),
    ("hardware.budget.area_mm2", 0.01, ["'hardware.budget.area_mm2' = 0.01", "too small for any design"]),
    ("hardware.params", {"shi": {}}, ["'hardware.params.shi'", "unknown field", "'rs'"]),
    ("hardware.params.dla", 5, ["'hardware.params.dla' = 5", "mapping"]),
    ("hardware.params.dla.l2_bytes", -1, ["'hardware.params.dla.l2_bytes' = -1", "template 'dla'"]),
    ("hardware.params.dla.colour", 1, ["'hardware.params.dla.colour' = 1", "unknown field", "'l1_bytes'"]),
    ("hardware.params.dla.pes", 64, ["'hardware.params.dla.pes' = 64", "set by hardware.pes"]),
    # specs
    ("specs", [1.0], ["'specs' = [1.0]", "mapping"]),
    ("specs.power_w", 5.0, ["'specs.power_w' = 5.0", "unknown field", "'energy_nj'"]),
    ("specs.energy_nj", -1.0, ["'specs.energy_nj' = -1.0", "> 0"]),
    ("specs.energy_nj", 0, ["'specs.energy_nj' = 0"]),
    ("specs.energy_nj", NAN, ["'specs.energy_nj' = nan"]),
    ("specs.latency_cycles", INF, ["'specs.latency_cycles' = inf"]),
    ("specs.area_mm2", True, ["'specs.area_mm2' = True"]),
    ("specs.area_mm2", "small", ["'specs.area_mm2' = 'small'"]),
    # search
    ("search", "rl", ["'search' = 'rl'", "mapping"]),
    ("search.budget", 5, ["'search.budget' = 5", "unknown field", "'episodes'"]),
    ("search.controller", "bo", ["'search.controller' = 'bo'", "'hybrid'"]),
    ("search.episodes", 0, ["'search.episodes' = 0", ">= 1"]),
    ("search.episodes", 2.5, ["'search.episodes' = 2.5"]),
    ("search.checkpoint_every", 0, ["'search.checkpoint_every' = 0"]),
    ("search.hardware_retries", 101, ["'search.hardware_retries' = 101", "<= 100"]),
    ("search.hardware_retries", -1, ["'search.hardware_retries' = -1"]),
    ("search.slack_weight", -0.1, ["'search.slack_weight' = -0.1", ">= 0"]),
]


@pytest.mark.parametrize("as_file", [False, True], ids=["dict", "yaml"])
@pytest.mark.parametrize("dotted, value, expected", BAD, ids=[f"{d}={v!r}"[:60] for d, v, _ in BAD])
def test_bad_input_names_source_field_and_value(tmp_path, as_file, dotted, value, expected):
    data = _set(FULL, dotted, value)
    if as_file:
        source = tmp_path / "bad.yaml"
        source.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError) as info:
        load_spec(source if as_file else data)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{source}: " if as_file else "<dict>: ")
    for text in expected:
        assert text in msg, msg


def test_fixing_the_bad_field_makes_the_spec_load():
    # the cases above fail because of the one field they change, not by accident
    assert load_spec(_set(FULL, "tasks.0.dataset", "cifar10")).tasks[0].dataset == "cifar10"
    assert load_spec(_set(FULL, "hardware.budget.pes", 64)).hardware.budget.pes == 64
    assert load_spec(_set(FULL, "hardware.budget.area_mm2", 1.21)).hardware.budget.area_mm2 == 1.21


@pytest.mark.parametrize("text, expected", [
    ("name: [unclosed\n", "not valid YAML"),
    ("name: a\nname: b\n", "duplicate key 'name'"),
    ("- a\n- b\n", "expected a mapping"),
    ("", "expected a mapping"),
], ids=["syntax", "duplicate-key", "list", "empty"])
def test_bad_yaml_files(tmp_path, text, expected):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value).startswith(f"{path}: ") and expected in str(info.value)


def test_unreadable_sources(tmp_path):
    missing = tmp_path / "none.yaml"
    with pytest.raises(SpecError, match="cannot read") as info:
        load_spec(missing)
    assert str(missing) in str(info.value)
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"name: \0\xff")
    with pytest.raises(SpecError, match="not a text file"):
        load_spec(binary)
    with pytest.raises(SpecError, match="expected the path of a YAML spec or a mapping"):
        load_spec(42)
