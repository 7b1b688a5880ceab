"""The model registry (issue 5, item 9; DESIGN.md "Model registry") and the template
cache: templates name built-in or registered models only, nothing is imported by a
path taken from a file, and floor 1 never looks up floor 2 by name."""

from __future__ import annotations

import ast
import os
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import hwsim
from hwsim.dataflow import registry
from hwsim.errors import TemplateError
from errorcases import TOY_YAML, raises, toy, toy_template


@pytest.fixture(autouse=True)
def toy_model():
    with registry.registered_model("toy", "toymodels.toy"):
        yield


# -- 7. model registry -----------------------------------------------------------------------

def test_template_may_name_only_registered_models(tmp_path):
    path = toy_template(tmp_path, dataflow="toymodels.toy")     # a module path is no model name
    raises(TemplateError, lambda: hwsim.load_template(path), "field 'dataflow' = 'toymodels.toy'",
           "unknown dataflow model")
    with registry.registered_model("toy_alias", "toymodels.toy"):
        assert "toy_alias" in registry.model_names()
        assert hwsim.load_template(toy_template(tmp_path, dataflow="toy_alias")).dataflow == "toy_alias"
    assert "toy_alias" not in registry.model_names()


def test_entry_point_models(tmp_path, monkeypatch):
    points = {"ep_toy": EntryPoint("ep_toy", "toymodels.toy", registry.ENTRY_POINT_GROUP),
              "ep_missing": EntryPoint("ep_missing", "no_such_package.flow", registry.ENTRY_POINT_GROUP)}
    monkeypatch.setattr(registry, "_entry_point_models", lambda: points)
    assert {"ep_toy", "ep_missing"} <= set(registry.model_names())
    assert hwsim.load_template(toy_template(tmp_path, dataflow="ep_toy"))["pes"] == 16
    raises(TemplateError, lambda: hwsim.load_template(toy_template(tmp_path, dataflow="ep_missing")),
           "field 'dataflow' = 'ep_missing'", "entry point ep_missing = 'no_such_package.flow'",
           "failed to import (ModuleNotFoundError")


def test_registered_module_must_follow_the_contract(tmp_path):
    with registry.registered_model("not_a_model", "json"):
        raises(TemplateError, lambda: hwsim.load_template(toy_template(tmp_path, dataflow="not_a_model")),
               "field 'dataflow' = 'not_a_model'", "module json declares no PARAMETERS")
    raises(TemplateError, lambda: registry.register_model("systolic", "toymodels.toy"), "'systolic'", "built-in")


def test_builtin_models_are_named_not_imported_by_path():
    assert set(registry.BUILTIN_MODELS) >= {"weight_stationary", "output_stationary", "row_stationary",
                                            "systolic", "roofline", "maestro_kcp", "maestro_rs"}
    assert all(path == f"hwsim.dataflow.{name}" for name, path in registry.BUILTIN_MODELS.items())


def test_floor_1_never_looks_up_floor_2():
    """hwsim.hardware imports nothing of hwsim.dataflow at module level and imports no
    module by a computed name (load_template's compatibility wrapper defers inside)."""
    for path in (Path(hwsim.__file__).parent / "hardware").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                assert not any("dataflow" in n or n == "importlib" for n in names), (path.name, names)
        assert "import_module" not in path.read_text(), path.name


def test_accelerator_validates_without_lookup(tmp_path):
    acc = toy(tmp_path)
    assert set(acc.declared) == set(acc.params)
    with registry.registered_model("toy", "json"):          # even if the name now meant something else
        assert acc.with_params(pes=32)["pes"] == 32
    raises(TemplateError, lambda: acc.with_params(pez=4), "field 'pez' = 4", "unknown parameter", "valid:")


# -- 8. template cache -----------------------------------------------------------------------

def test_template_parsed_once_and_reread_when_changed(tmp_path, monkeypatch):
    path = toy_template(tmp_path)
    reads = []
    original = registry.read_template_file
    monkeypatch.setattr(registry, "read_template_file", lambda p: reads.append(p) or original(p))
    first = hwsim.load_template(path)
    assert hwsim.load_template(path) is first and hwsim.load_template(str(path), pes=32)["pes"] == 32
    assert len(reads) == 1
    path.write_text(TOY_YAML.format(pes=64, dataflow="toy"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert hwsim.load_template(path)["pes"] == 64 and len(reads) == 2
