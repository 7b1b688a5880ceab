"""Templates, parameters and technology tables: loading, validation and errors."""

import numpy as np
import pytest
import yaml

import hwsim
from hwsim.dataflow.registry import registered_model
from hwsim.errors import TemplateError
from hwsim.hardware import load_technology, load_template

TOY = {
    "name": "toy",
    "dataflow": "toy",
    "parameters": {"pes": 16, "buf_bw_bytes_per_cycle": 64, "dram_bw_bytes_per_cycle": 8,
                   "clock_hz": 1.0e9, "technology": "accelergy_45nm"},
}


@pytest.fixture(autouse=True)
def toy_model():
    """The toy model is out-of-tree: registered by name, as a plug-in would be."""
    with registered_model("toy", "toymodels.toy"):
        yield


def write(tmp_path, data, name="t.yaml"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def with_param(key, value):
    data = {**TOY, "parameters": {**TOY["parameters"], key: value}}
    return data


def test_load_and_override(tmp_path):
    acc = load_template(write(tmp_path, TOY), pes=64)
    assert acc["pes"] == 64 and acc.name == "toy"
    assert acc.with_params(pes="128")["pes"] == 128           # CLI strings are converted
    assert acc.with_params(clock_hz="2e9").clock_hz == 2e9
    assert acc == load_template(write(tmp_path, TOY), pes=64)
    assert hash(acc) == hash(load_template(write(tmp_path, TOY), pes=64))


@pytest.mark.parametrize("data, field, value", [
    ({**TOY, "colour": "red"}, "colour", None),
    (with_param("pe_count", 4), "pe_count", None),
    (with_param("pes", 0), "pes", "0"),
    (with_param("pes", -8), "pes", "-8"),
    (with_param("pes", 2.5), "pes", "2.5"),
    (with_param("pes", "many"), "pes", "many"),
    (with_param("pes", True), "pes", "True"),
    (with_param("buf_bw_bytes_per_cycle", -1.0), "buf_bw_bytes_per_cycle", "-1.0"),
    (with_param("technology", "7nm_magic"), "technology", "7nm_magic"),
    ({**TOY, "dataflow": "no_such_model"}, "dataflow", "no_such_model"),
])
def test_malformed_template_names_file_field_and_value(tmp_path, data, field, value):
    path = write(tmp_path, data)
    with pytest.raises(TemplateError) as err:
        load_template(path)
    message = str(err.value)
    assert str(path) in message and field in message
    if value is not None:
        assert value in message


def test_missing_parameter(tmp_path):
    data = {**TOY, "parameters": {k: v for k, v in TOY["parameters"].items() if k != "pes"}}
    with pytest.raises(TemplateError, match="pes.*missing"):
        load_template(write(tmp_path, data))


def test_not_yaml_and_unsafe_tags(tmp_path):
    with pytest.raises(TemplateError, match="not valid YAML"):
        load_template(write(tmp_path, "name: [unclosed"))
    with pytest.raises(TemplateError, match="not valid YAML"):
        load_template(write(tmp_path, "name: !!python/object/apply:os.system ['true']"))


def test_unknown_template_and_override(tmp_path):
    with pytest.raises(TemplateError, match="unknown template"):
        load_template("no_such_template")
    acc = load_template(write(tmp_path, TOY))
    with pytest.raises(TemplateError, match="'pez'.*valid"):
        acc.with_params(pez=4)


def test_every_shipped_template_loads():
    names = hwsim.template_names()
    assert names, "no templates found"
    for name in names:
        acc = load_template(name)
        assert acc.params and acc.dataflow


def test_technology_tables():
    tech = load_technology("accelergy_45nm")
    assert tech.mac_pj(16) == pytest.approx(2.20)
    assert tech.mac_pj(8) == pytest.approx(2.20 / 4)             # bits^2 scaling
    # the anchors are reproduced exactly (Accelergy eyeriss_like stats)
    assert tech.sram_pj_per_access(131072, 16) == pytest.approx(18.8)
    assert tech.sram_pj_per_access(384, 16) == pytest.approx(1.59)
    caps = np.geomspace(16, 64 * 2**20, 50)
    energy = tech.sram_pj_per_access(caps, 16)
    assert np.all(np.diff(energy) >= 0)                           # bigger SRAM, costlier access
    # above the largest anchor the SRAM is banked: tested in tests/test_technology.py
    assert tech.dram_pj_per_access(16) == pytest.approx(128.0)
    with pytest.raises(TemplateError, match="technology"):
        load_technology("nope")
