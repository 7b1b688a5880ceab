"""The YAML form of a chip (``specs/chips/*.yaml``): :func:`load_chip`.

Read through the safe loader (duplicate keys rejected); every error is one
line naming the file and the field. Any key of a ``sub_accelerators`` entry
other than ``name``, ``template``, ``dram_share`` and ``dram_bw_bytes_per_cycle``
overrides a template parameter; paths are relative to the chip file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import HwsimError, SpecError, TemplateError
from ..hardware.params import show_value
from .chip import AUTO, BUDGET_FIELDS, SPEC_FIELDS, Chip, SubAccelerator, Task, _budget_from, _unique_name, _where, make_chip


CHIP_KEYS = ("name", "budget", "dram", "sub_accelerators", "tasks", "clock_hz", "specs", "notes")
DRAM_KEYS = ("bw_bytes_per_cycle", "policy")
SUB_KEYS = ("name", "template", "dram_share", "dram_bw_bytes_per_cycle")   # + template parameters
TASK_KEYS = ("name", "network", "on", "batch", "bits")


def load_chip(path, **specs) -> Chip:
    """The chip in YAML file ``path`` (safe loader, duplicate keys rejected), validated.

    ``specs`` (latency_cycles=..., energy_pj=...) add to or override the file's
    ``specs`` mapping. Every error is a one-line SpecError naming the file and the field.
    """
    from ..hardware.yamlio import read_yaml_mapping

    source = str(path)
    try:
        data = read_yaml_mapping(source, f"with fields {list(CHIP_KEYS)}")
    except TemplateError as exc:            # the YAML reader's errors are about the file
        raise SpecError(str(exc)) from None
    return chip_from_mapping(data, source, Path(source).parent, **specs)


def chip_from_mapping(data: Mapping[str, Any], source: str = "", base_dir: Path | None = None,
                      **extra_specs) -> Chip:
    """A chip from the YAML form already parsed into ``data`` (see :func:`load_chip`)."""
    where = _where(source)
    _known(data, CHIP_KEYS, "", where)
    name = data.get("name", Path(source).stem if source else None)
    if not isinstance(name, str) or not name.strip():
        raise SpecError(f"{where}field 'name' = {show_value(name)}: expected a non-empty chip name")
    dram = data.get("dram")
    if not isinstance(dram, Mapping):
        raise SpecError(f"{where}field 'dram' = {show_value(dram)}: expected a mapping with fields "
                        f"{list(DRAM_KEYS)}")
    _known(dram, DRAM_KEYS, "dram.", where)
    dram = _numbers(dram, ("bw_bytes_per_cycle",))
    if "bw_bytes_per_cycle" not in dram:
        raise SpecError(f"{where}field 'dram.bw_bytes_per_cycle' is missing")
    policy = dram.get("policy", "partitioned")
    subs_data = _entries(data, "sub_accelerators", "an empty chip; give at least one sub-accelerator", where)
    subs, shares, explicit = [], {}, {}
    for i, entry in enumerate(subs_data):
        sub, share, bw = _sub_from(entry, i, where, base_dir)
        subs.append(sub)
        if share is not None:
            shares[sub.name] = share
        if bw is not None:
            explicit[sub.name] = bw
    tasks_data = _entries(data, "tasks", "the chip runs nothing; give at least one task", where)
    names = [s.name for s in subs]
    tasks: list[Task] = []
    for i, entry in enumerate(tasks_data):
        tasks.append(_task_from(entry, i, where, base_dir, names, {t.name for t in tasks}))
    specs = data.get("specs") or {}
    if not isinstance(specs, Mapping):
        raise SpecError(f"{where}field 'specs' = {show_value(specs)}: expected a mapping with fields "
                        f"{list(SPEC_FIELDS)}")
    specs = {**_numbers(specs, SPEC_FIELDS), **{k: v for k, v in extra_specs.items() if v is not None}}
    budget_data = data.get("budget") or {}
    budget = _budget_from(_numbers(budget_data, BUDGET_FIELDS) if isinstance(budget_data, Mapping) else budget_data,
                          where)
    clock = _yaml_number(data.get("clock_hz"))
    if clock is not None and (isinstance(clock, bool) or not isinstance(clock, (int, float))):
        raise SpecError(f"{where}field 'clock_hz' = {show_value(clock)}: expected a number > 0")
    return make_chip(name, subs, tasks, dram_bw_bytes_per_cycle=dram["bw_bytes_per_cycle"], dram_policy=policy,
                     budget=budget, clock_hz=clock, dram_shares=shares, dram_bw=explicit, specs=specs,
                     source=source)


def _entries(data: Mapping, field: str, when_empty: str, where: str) -> list:
    """The non-empty list ``data[field]``, or a SpecError saying what is wrong."""
    value = data.get(field)
    if value is None or value == []:
        raise SpecError(f"{where}field '{field}' = {show_value(value)}: {when_empty}")
    if not isinstance(value, list):
        raise SpecError(f"{where}field '{field}' = {show_value(value)}: expected a list")
    return value


def _yaml_number(value):
    """A YAML number: PyYAML (YAML 1.1) reads ``1e7`` or ``2.0e7`` as a string, so a
    string that is a finite number is taken as that number (as template values are)."""
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return value
        return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    return value


def _numbers(data, keys) -> dict:
    return {k: (_yaml_number(v) if k in keys else v) for k, v in data.items()}


def _known(data: Mapping, valid: Sequence[str], prefix: str, where: str) -> None:
    unknown = sorted((k for k in data if str(k) not in valid), key=str)
    if unknown:
        raise SpecError(f"{where}field '{prefix}{unknown[0]}' = {show_value(data[unknown[0]])}: unknown field; "
                        f"valid: {list(valid)}")


def _sub_from(entry, i: int, where: str, base_dir: Path | None):
    from ..dataflow.registry import load_template

    head = f"sub_accelerators[{i}]"
    if not isinstance(entry, Mapping):
        raise SpecError(f"{where}field '{head}' = {show_value(entry)}: expected a mapping with name, template and "
                        "template parameters")
    for key in ("name", "template"):
        if key not in entry:
            raise SpecError(f"{where}field '{head}.{key}' is missing")
    name = entry["name"]
    if not isinstance(name, str) or not name.strip():
        raise SpecError(f"{where}field '{head}.name' = {show_value(name)}: expected a non-empty name")
    template = entry["template"]
    if isinstance(template, str) and template.lower().endswith((".yaml", ".yml")) and base_dir is not None \
            and not Path(template).is_absolute() and (base_dir / template).is_file():
        template = str(base_dir / template)
    overrides = {str(k): v for k, v in entry.items() if k not in SUB_KEYS}
    try:
        accelerator = load_template(template, **overrides)
    except TemplateError as exc:
        raise SpecError(f"{where}{head} {name!r}: {exc}") from None
    share, bw = _yaml_number(entry.get("dram_share")), _yaml_number(entry.get("dram_bw_bytes_per_cycle"))
    return SubAccelerator(name, accelerator), share, bw


def _task_from(entry, i: int, where: str, base_dir: Path | None, names: list[str], used: set[str]) -> Task:
    from ..workload.loaders import load_network

    head = f"tasks[{i}]"
    if not isinstance(entry, Mapping):
        raise SpecError(f"{where}field '{head}' = {show_value(entry)}: expected a mapping with network and on")
    if True in entry and "on" not in entry:     # YAML 1.1 reads the bare key `on` as the boolean true
        entry = {("on" if key is True else key): value for key, value in entry.items()}
    _known(entry, TASK_KEYS, f"{head}.", where)
    if "network" not in entry:
        raise SpecError(f"{where}field '{head}.network' is missing")
    if "on" not in entry:
        raise SpecError(f"{where}field '{head}.on' is missing: give a sub-accelerator ({names}) or {AUTO!r} "
                        "(layer-level mapping)")
    on = entry["on"]
    if on != AUTO and on not in names:
        raise SpecError(f"{where}field '{head}.on' = {show_value(on)}: unknown sub-accelerator; valid: "
                        f"{names + [AUTO]}")
    network_name = entry["network"]
    for key in ("batch", "bits"):
        value = entry.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise SpecError(f"{where}field '{head}.{key}' = {show_value(value)}: expected an integer > 0")
    if isinstance(network_name, str) and network_name.lower().endswith(".csv") and base_dir is not None \
            and not Path(network_name).is_absolute() and (base_dir / network_name).is_file():
        network_name = str(base_dir / network_name)
    try:
        network = load_network(network_name, batch=entry.get("batch"), bits=entry.get("bits"))
    except HwsimError as exc:
        raise SpecError(f"{where}{head}: {exc}") from None
    name = entry.get("name")
    if name is None:
        name = _unique_name(network.name, used)
    elif not isinstance(name, str) or not name.strip():
        raise SpecError(f"{where}field '{head}.name' = {show_value(name)}: expected a non-empty name")
    elif name in used:
        raise SpecError(f"{where}field '{head}.name' = {name!r}: duplicate task name")
    return Task(name, network, None if on == AUTO else on)


__all__ = ["chip_from_mapping", "load_chip"]
