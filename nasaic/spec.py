"""A co-search spec: the tasks, the hardware space, the design specs, the objective and the search.

A spec is YAML data (``specs/w1.yaml``) read with a safe loader, or a dict::

    name: w2
    seed: 0
    tasks:                               # one network per task, run in parallel on the chip
      - {name: c10, space: nb201, dataset: cifar10}
      - {name: c100, space: nb201, dataset: cifar100, weight: 1.0}
      # mnasnet tasks: dataset imagenet; table_only: true restricts to the 5,138 tabulated networks
    hardware:
      sub_accelerators: 2                # slots; a slot no task runs on is left out of the chip
      templates: [dla, shi, rs]          # any registered template with pes / noc_bw / dram_bw parameters
      pes: [64, 128, 256, 512]           # choices per sub-accelerator
      noc_bw_bytes_per_cycle: [16, 32, 64]
      clock_hz: 1.0e9                    # every sub-accelerator runs at the chip clock
      budget: {pes: 1024, noc_bw_bytes_per_cycle: 128}     # sums over the sub-accelerators
      dram: {bw_bytes_per_cycle: 32, policy: partitioned}   # partitioned: 1/sub_accelerators each
    specs: {latency_cycles: 1.0e6, energy_nj: 2.0e5, area_mm2: 4.0}   # upper bounds, any may be omitted
    objective: mean_accuracy             # or weighted (the tasks' weights)
    search: {controller: rl, episodes: 500, checkpoint_every: 50}

:func:`load_spec` validates everything before any work starts and raises one
:class:`~hwsim.errors.SpecError` naming the file, the field and the value.

Numbers follow hwsim's YAML rules (``hwsim.hardware.params``): PyYAML reads ``1.0e6`` as a string,
so a string that is a finite number counts as that number; booleans are never numbers, and an
integer field takes an integral float (``1e3``) but not ``2.5``.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from typing import Mapping, NoReturn

from hwsim.errors import SpecError, TemplateError
from hwsim.hardware.params import _number, show_value
from hwsim.system import Budget
from hwsim.system.chip import BUDGET_FIELDS, _where
from hwsim.system.chip_yaml import _known

SPACES = ("nb201", "mnasnet")
CONTROLLERS = ("rl", "evolution", "random", "hybrid", "successive")
OBJECTIVES = ("mean_accuracy", "weighted")
DRAM_POLICIES = ("partitioned", "shared")
#: the design specs a co-search bounds, and their units
SPEC_KEYS = ("latency_cycles", "energy_nj", "area_mm2")


@dataclass(frozen=True)
class TaskSpec:
    """One task: a network drawn from ``space`` and scored on ``dataset``."""

    name: str
    space: str                  # "nb201" | "mnasnet"
    dataset: str                # canonical: nb201 cifar10 | cifar100 | imagenet16_120; mnasnet imagenet
    table_only: bool = False    # mnasnet only: restrict to the tabulated networks (nb201 is all tabulated)
    weight: float = 1.0         # objective weight (objective 'weighted'); normalised by the loop
    batch: int = 1
    bits: int = 8


@dataclass(frozen=True)
class HardwareSpec:
    """The hardware space: per slot a template, PEs and NoC bandwidth out of the choice sets."""

    sub_accelerators: int
    templates: tuple[str, ...]
    pes: tuple[int, ...]
    noc_bw_bytes_per_cycle: tuple[float, ...]
    dram_bw_bytes_per_cycle: float
    dram_policy: str = "partitioned"
    budget: Budget = field(default_factory=Budget)
    clock_hz: float = 1.0e9
    #: fixed parameter overrides per template name, e.g. {"dla": {"l2_bytes": 65536}}
    params: Mapping[str, Mapping[str, object]] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchSpec:
    """How to search: the controller, the episode budget and checkpointing."""

    controller: str = "rl"
    episodes: int = 500             # network tuples proposed (each one accuracy query, as one training)
    checkpoint_every: int = 50      # episodes between checkpoints
    hardware_retries: int = 10      # RL: hardware re-samples when a design violates a spec (NASAIC)
    slack_weight: float = 0.1       # reward = accuracy + slack_weight * mean relative slack to the specs


@dataclass(frozen=True)
class Spec:
    name: str
    seed: int
    tasks: tuple[TaskSpec, ...]
    hardware: HardwareSpec
    specs: Mapping[str, float]      # subset of SPEC_KEYS -> upper bound
    objective: str = "mean_accuracy"
    search: SearchSpec = field(default_factory=SearchSpec)
    source: str = "<dict>"          # the file it came from (named in errors)

    def replace_search(self, **changes) -> "Spec":
        """This spec with some search settings changed (the CLI's --controller / --episodes)."""
        from dataclasses import replace
        return replace(self, search=replace(self.search, **changes))


TOP_KEYS = ("name", "seed", "tasks", "hardware", "specs", "objective", "search")
TASK_KEYS = ("name", "space", "dataset", "table_only", "weight", "batch", "bits")
HARDWARE_KEYS = ("sub_accelerators", "templates", "pes", "noc_bw_bytes_per_cycle", "dram", "clock_hz", "budget",
                 "params")
DRAM_KEYS = ("bw_bytes_per_cycle", "policy")
SEARCH_KEYS = tuple(f.name for f in fields(SearchSpec))
BITS = (4, 8, 16, 32)
MAX_SUB_ACCELERATORS = 8
#: template parameters the search sets on every sub-accelerator (so a template must declare them)
SEARCHED_PARAMS = ("pes", "noc_bw_bytes_per_cycle", "dram_bw_bytes_per_cycle")
#: ... and those a spec fixes elsewhere, so ``hardware.params`` may not override them
SET_BY_SPEC = {"pes": "hardware.pes", "noc_bw_bytes_per_cycle": "hardware.noc_bw_bytes_per_cycle",
               "dram_bw_bytes_per_cycle": "hardware.dram.bw_bytes_per_cycle", "clock_hz": "hardware.clock_hz"}


def load_spec(source, *, origin: str | None = None) -> Spec:
    """The validated :class:`Spec` of YAML file ``source`` (a path) or of a mapping.

    Every problem is one :class:`~hwsim.errors.SpecError` line naming the file (``<dict>``
    for a mapping), the dotted field (``tasks[1].dataset``), its value and what is valid;
    the templates are loaded and every choice of PEs, NoC and DRAM bandwidth is checked
    against each of them, so no search starts on a spec that fails later.
    """
    if isinstance(source, Mapping):
        return _Reader(origin or "<dict>").spec(source)
    if isinstance(source, (str, os.PathLike)):
        from hwsim.hardware.yamlio import read_yaml_mapping

        path = str(source)
        try:
            data = read_yaml_mapping(path, f"with fields {list(TOP_KEYS)}")
        except TemplateError as exc:        # the YAML reader's errors are about the file
            raise SpecError(str(exc)) from None
        return _Reader(path).spec(data)
    raise SpecError(f"<spec>: {type(source).__name__} {show_value(source)}: expected the path of a YAML spec "
                    "or a mapping")


def spec_to_dict(spec: Spec) -> dict:
    """``spec`` as plain YAML/JSON data (lists, dicts, numbers, strings) in the form
    :func:`load_spec` reads: ``load_spec(spec_to_dict(s))`` equals ``s`` but for ``source``."""
    hw = spec.hardware
    hardware = {"sub_accelerators": hw.sub_accelerators, "templates": list(hw.templates), "pes": list(hw.pes),
                "noc_bw_bytes_per_cycle": list(hw.noc_bw_bytes_per_cycle),
                "dram": {"bw_bytes_per_cycle": hw.dram_bw_bytes_per_cycle, "policy": hw.dram_policy},
                "clock_hz": hw.clock_hz,
                "budget": {k: v for k, v in asdict(hw.budget).items() if v is not None},
                "params": {name: dict(fixed) for name, fixed in hw.params.items()}}
    return {"name": spec.name, "seed": spec.seed, "tasks": [asdict(t) for t in spec.tasks], "hardware": hardware,
            "specs": dict(spec.specs), "objective": spec.objective, "search": asdict(spec.search)}


class _Reader:
    """Reads the parts of one spec, naming ``source`` and the dotted field in every error."""

    def __init__(self, source: str):
        self.source, self.where = source, _where(source)

    def fail(self, path: str, value, expected: str) -> NoReturn:
        raise SpecError(f"{self.where}field '{path}' = {show_value(value)}: {expected}")

    # -- generic fields --------------------------------------------------------------------------------

    def mapping(self, value, path: str, keys, required=()) -> Mapping:
        """``value`` as a mapping with only ``keys``; an omitted or empty optional one is ``{}``."""
        if value is None and not required:
            return {}
        if not isinstance(value, Mapping):
            self.fail(path, value, f"expected a mapping with fields {list(keys)}")
        prefix = f"{path}." if path else ""
        _known(value, keys, prefix, self.where)
        for key in required:
            if key not in value:
                raise SpecError(f"{self.where}field '{prefix}{key}' is missing (required: {list(required)})")
        return value

    def number(self, value, path: str, kind: type = float, low=0, inclusive=False, high=None):
        """``value`` as a finite ``kind`` in the range (hwsim's number rules: no booleans)."""
        number = _number(value, kind)
        if isinstance(number, str) or not (number >= low if inclusive else number > low) \
                or (high is not None and number > high):
            bound = f"{'>=' if inclusive else '>'} {low}" + (f" and <= {high}" if high is not None else "")
            self.fail(path, value, f"expected {'an integer' if kind is int else 'a finite number'} {bound}")
        return number

    def choice(self, value, path: str, options):
        if not isinstance(value, str) or value not in options:
            self.fail(path, value, f"valid: {list(options)}")
        return value

    def name(self, value, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, value, "expected a non-empty name")
        return value

    def items(self, value, path: str, what: str) -> list:
        """The non-empty list ``value`` (a tuple is taken as a list)."""
        if not isinstance(value, (list, tuple)) or not value:
            self.fail(path, value, f"expected a non-empty list of {what}")
        return list(value)

    def unique(self, values, path: str) -> tuple:
        seen: dict = {}
        for i, value in enumerate(values):
            if value in seen:
                self.fail(f"{path}[{i}]", value, f"duplicate of {path}[{seen[value]}]; give each choice once")
            seen[value] = i
        return tuple(values)

    def choices(self, value, path: str, kind: type, what: str) -> tuple:
        """A choice set: a non-empty list of unique numbers > 0."""
        items = self.items(value, path, what)
        return self.unique([self.number(v, f"{path}[{i}]", kind) for i, v in enumerate(items)], path)

    # -- the parts of a spec ---------------------------------------------------------------------------

    def spec(self, data) -> Spec:
        data = self.mapping(data, "", TOP_KEYS, required=("name", "tasks", "hardware"))
        name = self.name(data["name"], "name")
        seed = self.number(data.get("seed", 0), "seed", int, 0, inclusive=True)
        objective = self.choice(data.get("objective", "mean_accuracy"), "objective", OBJECTIVES)
        tasks = self.tasks(data["tasks"], objective)
        hardware = self.hardware(data["hardware"])
        specs = {key: self.number(value, f"specs.{key}")
                 for key, value in self.mapping(data.get("specs"), "specs", SPEC_KEYS).items()}
        return Spec(name, seed, tasks, hardware, specs, objective, self.search(data.get("search")), self.source)

    def tasks(self, value, objective: str) -> tuple[TaskSpec, ...]:
        tasks: list[TaskSpec] = []
        for i, entry in enumerate(self.items(value, "tasks", "task mappings")):
            head = f"tasks[{i}]"
            entry = self.mapping(entry, head, TASK_KEYS, required=("name", "space", "dataset"))
            name = self.name(entry["name"], f"{head}.name")
            if name in (t.name for t in tasks):
                self.fail(f"{head}.name", name, "duplicate task name; every task needs its own")
            space = self.choice(entry["space"], f"{head}.space", SPACES)
            dataset = self.dataset(entry["dataset"], space, f"{head}.dataset")
            table_only = entry.get("table_only", False)
            if not isinstance(table_only, bool):
                self.fail(f"{head}.table_only", table_only, "expected true or false")
            weight = self.number(entry.get("weight", 1.0), f"{head}.weight")
            if objective == "mean_accuracy" and weight != 1:
                self.fail(f"{head}.weight", entry["weight"], "objective 'mean_accuracy' weighs every task 1; "
                          "to weigh tasks set objective: weighted")
            batch = self.number(entry.get("batch", 1), f"{head}.batch", int, 1, inclusive=True)
            bits = _number(entry.get("bits", 8), int)
            if bits not in BITS:
                self.fail(f"{head}.bits", entry["bits"], f"valid: {list(BITS)}")
            tasks.append(TaskSpec(name, space, dataset, table_only, weight, batch, bits))
        return tuple(tasks)

    def dataset(self, value, space: str, path: str) -> str:
        from nasaic.space import mnasnet, nb201

        if space == "nb201":
            if isinstance(value, str):
                try:
                    return nb201.dataset_name(value)
                except SpecError:
                    pass                    # reworded below with the field's path
            self.fail(path, value, f"unknown NAS-Bench-201 dataset; valid: {list(nb201.DATASETS)} "
                      f"(or an alias: {sorted(nb201.ALIASES)})")
        key = value.strip().lower() if isinstance(value, str) else None
        if key not in mnasnet.DATASETS:
            self.fail(path, value, f"unknown MnasNet dataset; valid: {list(mnasnet.DATASETS)}")
        return key

    def hardware(self, value) -> HardwareSpec:
        data = self.mapping(value, "hardware", HARDWARE_KEYS,
                            required=("sub_accelerators", "templates", "pes", "noc_bw_bytes_per_cycle", "dram"))
        slots = self.number(data["sub_accelerators"], "hardware.sub_accelerators", int, 1, True, MAX_SUB_ACCELERATORS)
        templates = self.templates(data["templates"])
        pes = self.choices(data["pes"], "hardware.pes", int, "PE counts")
        noc = self.choices(data["noc_bw_bytes_per_cycle"], "hardware.noc_bw_bytes_per_cycle", float, "bandwidths")
        dram = self.mapping(data["dram"], "hardware.dram", DRAM_KEYS, required=("bw_bytes_per_cycle",))
        dram_bw = self.number(dram["bw_bytes_per_cycle"], "hardware.dram.bw_bytes_per_cycle")
        policy = self.choice(dram.get("policy", "partitioned"), "hardware.dram.policy", DRAM_POLICIES)
        clock = self.number(data.get("clock_hz", 1.0e9), "hardware.clock_hz")
        budget = self.budget(data.get("budget"))
        params = self.params(data.get("params"), templates)
        hardware = HardwareSpec(slots, templates, pes, noc, dram_bw, policy, budget, clock, params)
        self.designs(hardware)
        return hardware

    def templates(self, value) -> tuple[str, ...]:
        import hwsim
        from hwsim.hardware import template_names

        names = self.items(value, "hardware.templates", "template names")
        for i, name in enumerate(names):
            path = f"hardware.templates[{i}]"
            if not isinstance(name, str) or name not in template_names():
                self.fail(path, name, f"unknown template; valid: {_searchable_templates()}")
            try:
                accelerator = hwsim.load_template(name)
            except TemplateError as exc:
                self.fail(path, name, f"the template does not load ({exc})")
            missing = [p for p in SEARCHED_PARAMS if p not in accelerator.params]
            if missing:
                self.fail(path, name, f"template has no parameter '{missing[0]}' (the search sets "
                          f"{list(SEARCHED_PARAMS)}); valid: {_searchable_templates()}")
        return self.unique(names, "hardware.templates")

    def params(self, value, templates: tuple[str, ...]) -> dict:
        """Fixed parameter overrides per template, checked by the template's declarations."""
        import hwsim

        fixed = {}
        for name, overrides in self.mapping(value, "hardware.params", templates).items():
            path = f"hardware.params.{name}"
            accelerator = hwsim.load_template(name)
            valid = sorted(set(accelerator.declared) - set(SET_BY_SPEC))
            for key in SET_BY_SPEC:         # before the unknown-field check: say why these are not valid here
                if isinstance(overrides, Mapping) and key in overrides:
                    self.fail(f"{path}.{key}", overrides[key], f"set by {SET_BY_SPEC[key]}, not per template; "
                              f"valid: {valid}")
            for key, given in self.mapping(overrides, path, valid).items():
                try:
                    accelerator = accelerator.with_params(**{key: given})
                except TemplateError as exc:
                    self.fail(f"{path}.{key}", given, f"rejected by template '{name}' ({exc})")
            fixed[name] = {key: accelerator.params[key] for key in overrides}
        return fixed

    def budget(self, value) -> Budget:
        data = self.mapping(value, "hardware.budget", BUDGET_FIELDS)
        kinds = {"pes": int, "sram_bytes": int}
        return Budget(**{key: self.number(limit, f"hardware.budget.{key}", kinds.get(key, float))
                         for key, limit in data.items() if limit is not None})

    def designs(self, hw: HardwareSpec) -> None:
        """Every template takes every choice, and the budget admits the smallest design
        (one sub-accelerator; the others may stay empty)."""
        import hwsim
        from hwsim.system.chip import accelerator_area_mm2, accelerator_sram_bytes

        share = hw.dram_bw_bytes_per_cycle / (hw.sub_accelerators if hw.dram_policy == "partitioned" else 1)
        dram = ("dram_bw_bytes_per_cycle", "hardware.dram.bw_bytes_per_cycle", hw.dram_bw_bytes_per_cycle, share)
        checks = [("clock_hz", "hardware.clock_hz", hw.clock_hz, hw.clock_hz), dram]
        checks += [("pes", f"hardware.pes[{i}]", p, p) for i, p in enumerate(hw.pes)]
        checks += [("noc_bw_bytes_per_cycle", f"hardware.noc_bw_bytes_per_cycle[{i}]", b, b)
                   for i, b in enumerate(hw.noc_bw_bytes_per_cycle)]
        need = {"pes": min(hw.pes), "noc_bw_bytes_per_cycle": min(hw.noc_bw_bytes_per_cycle)}
        for name in hw.templates:
            base = hwsim.load_template(name, **hw.params.get(name, {}))
            for key, path, shown, value in checks:
                try:
                    base = base.with_params(**{key: value})
                except TemplateError as exc:
                    what = f"the per-sub-accelerator share {value:g}" if value != shown else "it"
                    self.fail(path, shown, f"template '{name}' rejects {what} ({exc})")
            smallest = base.with_params(pes=need["pes"], noc_bw_bytes_per_cycle=need["noc_bw_bytes_per_cycle"])
            for key, used in (("sram_bytes", accelerator_sram_bytes(smallest)),
                              ("area_mm2", accelerator_area_mm2(smallest))):
                if used is not None:
                    need[key] = min(need.get(key, used), used)
        for key, used in need.items():
            limit = getattr(hw.budget, key)
            if limit is not None and limit < used:
                self.fail(f"hardware.budget.{key}", limit, f"too small for any design: the smallest (one "
                          f"sub-accelerator, PEs {min(hw.pes)}, NoC {min(hw.noc_bw_bytes_per_cycle):g} "
                          f"bytes/cycle) needs {key} = {used:g}")

    def search(self, value) -> SearchSpec:
        data, default = self.mapping(value, "search", SEARCH_KEYS), SearchSpec()

        def get(key, kind, low, high=None):
            return self.number(data.get(key, getattr(default, key)), f"search.{key}", kind, low, True, high)

        return SearchSpec(self.choice(data.get("controller", default.controller), "search.controller", CONTROLLERS),
                          get("episodes", int, 1), get("checkpoint_every", int, 1),
                          get("hardware_retries", int, 0, 100), get("slack_weight", float, 0))


def _searchable_templates() -> list[str]:
    """The registered templates that declare every parameter the search sets (for messages)."""
    from hwsim.dataflow.registry import load_all_templates

    return sorted(a.name for a in load_all_templates()[0] if all(p in a.params for p in SEARCHED_PARAMS))


__all__ = ["CONTROLLERS", "DRAM_POLICIES", "HardwareSpec", "OBJECTIVES", "SPACES", "SPEC_KEYS", "SearchSpec", "Spec",
           "TaskSpec", "load_spec", "spec_to_dict"]
