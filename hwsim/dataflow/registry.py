"""The model registry: which dataflow models a template may name, and loading
templates against them.

A template's ``dataflow:`` field is data, so it is only ever a *key*: nothing
imports a module path taken from a file. The valid keys are

* the built-in models (:data:`BUILTIN_MODELS`, modules of ``hwsim.dataflow``);
* models of other packages, registered through the ``hwsim.dataflows``
  entry-point group in their ``pyproject.toml``::

      [project.entry-points."hwsim.dataflows"]
      my_flow = "mypkg.my_flow"

* models registered from Python with :func:`register_model` (tests, scripts:
  that is code, not data).

A built-in name cannot be taken over by a registration or an entry point.

This module is on floor 2 (DESIGN.md): it looks models up by name and checks a
template against the model's ``PARAMETERS``; the Accelerator it returns carries
those declarations, so ``with_params`` (floor 1) needs no lookup.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from contextlib import contextmanager
from functools import lru_cache
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING, Iterator, Mapping

from ..errors import HwsimError, TemplateError
from ..hardware.accelerator import (Accelerator, TemplateFile, locate_template, make_accelerator,
                                    read_template_file, template_names)
from ..hardware.params import Param

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

ENTRY_POINT_GROUP = "hwsim.dataflows"

BUILTIN_MODELS: Mapping[str, str] = MappingProxyType({
    "weight_stationary": "hwsim.dataflow.weight_stationary",
    "output_stationary": "hwsim.dataflow.output_stationary",
    "row_stationary": "hwsim.dataflow.row_stationary",
    "systolic": "hwsim.dataflow.systolic",
    "roofline": "hwsim.dataflow.roofline",
    "gpu_kernels": "hwsim.dataflow.gpu_kernels",
    "maestro_kcp": "hwsim.dataflow.maestro_kcp",
    "maestro_rs": "hwsim.dataflow.maestro_rs",
})

_registered: dict[str, ModuleType | str] = {}     # register_model(): name -> module or its import path
_modules: dict[str, ModuleType] = {}              # name -> checked model module, once loaded
_templates: dict[tuple, Accelerator] = {}         # (path, inode, mtime, size) -> template defaults


# -- which names exist -------------------------------------------------------------

@lru_cache(maxsize=1)
def _entry_point_models() -> Mapping[str, "EntryPoint"]:
    """Models other installed packages declare (read once, on the first lookup:
    importing importlib.metadata and scanning the installed distributions costs
    milliseconds that ``import hwsim`` should not pay)."""
    from importlib.metadata import entry_points

    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return MappingProxyType({name: ep for name, ep in found.items() if name not in BUILTIN_MODELS})


def model_names() -> list[str]:
    """Every name a template's ``dataflow:`` may take: the built-in models this
    installation has, registered models and entry points."""
    return sorted(set(_available_builtins()) | set(_registered) | set(_entry_point_models()))


def register_model(name: str, module: ModuleType | str) -> None:
    """Make ``name`` a valid ``dataflow:`` for templates, naming ``module`` (a module
    object, or the import path of one, imported on first use). For tests and
    scripts; packages declare an entry point instead (see the module docstring)."""
    if not isinstance(name, str) or not name.strip():
        raise TemplateError(f"field 'name' = {name!r}: expected a non-empty model name")
    if name in BUILTIN_MODELS:
        raise TemplateError(f"field 'name' = {name!r}: a built-in model; choose another name")
    if not isinstance(module, (ModuleType, str)):
        raise TemplateError(f"model '{name}': field 'module' = {type(module).__name__}: expected a module or "
                            "its import path")
    _registered[name] = module
    _forget(name)


def unregister_model(name: str) -> None:
    """Undo :func:`register_model` (tests); unknown names are ignored."""
    _registered.pop(name, None)
    _forget(name)


@contextmanager
def registered_model(name: str, module: ModuleType | str) -> Iterator[None]:
    """``register_model(name, module)`` for the duration of a ``with`` block, then
    whatever ``name`` was before (tests: no registration leaks into other tests)."""
    previous = _registered.get(name)
    register_model(name, module)
    try:
        yield
    finally:
        if previous is None:
            unregister_model(name)
        else:
            register_model(name, previous)


def clear_caches() -> None:
    """Forget loaded models, entry points and parsed templates (after installing a
    plug-in in a running process, or in tests)."""
    _entry_point_models.cache_clear()
    _available_builtins.cache_clear()
    _modules.clear()
    _templates.clear()


def _forget(name: str) -> None:
    _modules.pop(name, None)
    _templates.clear()      # a cached template may have been checked against the old model


# -- looking a model up ------------------------------------------------------------

def get_model(name, where: str = "") -> ModuleType:
    """The dataflow model module a template's ``dataflow: name`` stands for, checked
    to follow the model contract; ``where`` (a file) starts the error message."""
    module = _modules.get(name) if isinstance(name, str) else None
    if module is not None:                      # the common case: evaluate() of a known model
        return module
    head = f"{where + ': ' if where else ''}field 'dataflow' = {name!r}"
    if not isinstance(name, str) or name not in model_names():
        raise TemplateError(f"{head}: unknown dataflow model; valid: {model_names()} (models outside hwsim "
                            f"register through the '{ENTRY_POINT_GROUP}' entry-point group)")
    module = _check_contract(_import(name, head), head)
    _modules[name] = module
    return module


def model_parameters(name, where: str = "") -> Mapping[str, Param]:
    """The ``PARAMETERS`` model ``name`` declares."""
    return get_model(name, where).PARAMETERS


def _import(name: str, head: str) -> ModuleType:
    """Import the module behind a registered name. A missing or broken plug-in is a
    TemplateError naming it; a broken built-in model is a bug and propagates."""
    if name in BUILTIN_MODELS:
        path = BUILTIN_MODELS[name]
        try:
            return importlib.import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name is None or not (path == exc.name or path.startswith(exc.name + ".")):
                raise                       # the model imports something missing: a bug, not the template's
            raise TemplateError(f"{head}: built-in model module {path} is not part of this hwsim "
                                f"installation; valid: {model_names()}") from None
    target = _registered.get(name)
    if isinstance(target, ModuleType):
        return target
    source = f"registered module {target!r}" if target is not None else \
        f"entry point {name} = {_entry_point_models()[name].value!r} (group '{ENTRY_POINT_GROUP}')"
    try:
        loaded = importlib.import_module(target) if target is not None else _entry_point_models()[name].load()
    except Exception as exc:            # noqa: BLE001 - any failure of a plug-in's import is reported as such
        raise TemplateError(f"{head}: {source} failed to import ({type(exc).__name__}: {exc})") from None
    if not isinstance(loaded, ModuleType):
        raise TemplateError(f"{head}: {source} is a {type(loaded).__name__}, expected a module")
    return loaded


@lru_cache(maxsize=1)
def _available_builtins() -> tuple[str, ...]:
    """The built-in names whose module exists (another model may still be in the
    making: naming it is then an unknown model, not an ImportError)."""
    return tuple(sorted(name for name, path in BUILTIN_MODELS.items() if importlib.util.find_spec(path) is not None))


def _check_contract(module: ModuleType, head: str) -> ModuleType:
    """A model declares ``PARAMETERS`` (a dict of Param) and ``activity(layers,
    configs) -> Activity`` (hwsim/dataflow/stage.py); anything else is no model."""
    declared = getattr(module, "PARAMETERS", None)
    if not isinstance(declared, Mapping) or not all(isinstance(p, Param) for p in declared.values()):
        raise TemplateError(f"{head}: module {module.__name__} declares no PARAMETERS dict of hwsim Param")
    if not callable(getattr(module, "activity", None)):
        raise TemplateError(f"{head}: module {module.__name__} has no activity(layers, configs) "
                            "(the model contract, hwsim/dataflow/stage.py)")
    return module


# -- templates ----------------------------------------------------------------------

def load_template(name_or_path, **overrides) -> Accelerator:
    """Load a template by name (``"dla"``) or path, with parameter overrides.

    >>> acc = load_template("dla", pes=1024, noc_bw_bytes_per_cycle=64)

    The checked template is cached per file (path, inode, modification time, size:
    an edited file is read again), so repeated calls cost a file lookup plus
    ``with_params``.
    """
    path, stat = locate_template(name_or_path)
    accelerator = _template_defaults(path, stat)
    return accelerator.with_params(**overrides) if overrides else accelerator


def _template_defaults(path: str, stat: os.stat_result) -> Accelerator:
    key = (path, stat.st_ino, stat.st_mtime_ns, stat.st_size)
    accelerator = _templates.get(key)
    if accelerator is None:
        accelerator = check_template(read_template_file(path))
        _templates[key] = accelerator
    return accelerator


def check_template(template: TemplateFile) -> Accelerator:
    """The Accelerator of a template file's defaults, checked against its model: no
    unknown parameter, none missing, every value valid."""
    path = template.source
    declared = model_parameters(template.dataflow, path)
    given = template.parameters
    unknown = sorted(str(k) for k in set(given) - set(declared))
    if unknown:
        raise TemplateError(f"{path}: field 'parameters.{unknown[0]}': unknown parameter of dataflow "
                            f"'{template.dataflow}'; valid: {sorted(declared)}")
    missing = sorted(set(declared) - set(given))
    if missing:
        raise TemplateError(f"{path}: field 'parameters.{missing[0]}' is missing: a template gives every "
                            "parameter a default")
    params = {key: spec.check(given[key], path, f"parameters.{key}") for key, spec in declared.items()}
    return make_accelerator(template.name, template.dataflow, params, template.summary, path, declared)


def load_all_templates() -> tuple[list[Accelerator], list[str]]:
    """Every template on the search path that loads, and one error line for each
    that does not: a broken file in a user's template directory must not hide the
    others (``hwsim templates`` lists the good ones and warns about the rest)."""
    good, errors = [], []
    for name in template_names():
        try:
            good.append(load_template(name))
        except HwsimError as exc:
            errors.append(str(exc))
    return good, errors


__all__ = ["BUILTIN_MODELS", "ENTRY_POINT_GROUP", "check_template", "clear_caches", "get_model",
           "load_all_templates", "load_template", "model_names", "model_parameters", "register_model",
           "registered_model", "unregister_model"]
