"""Latency, energy and feasibility of every network of a search space on every sub-accelerator
config, from one ``hwsim.evaluate_many`` over the space's few distinct layer shapes.

The model is hwsim's own: layers of a network run one after another, so a network's latency
and energy on a config are sums over its layers, and it maps iff every layer maps. A space
has few distinct layers, so each is costed once (one per-layer ``evaluate_many`` over an
edge-less *catalog* network) and a network's cost is a weighted sum of catalog rows:

* **NB201**: catalog = the fixed skeleton + one layer per (stage, kind) (``nb201._catalog``);
  a network = skeleton + ``nb201.layer_counts`` @ kinds. All 15,625 networks are held as
  ``(C, 15625)`` arrays in ``nb201.all_archs`` / ``nb201.gene_index`` order (*parts* = whole
  networks), so ``cost`` is a gather.
* **MnasNet**: a network = skeleton (stem, head, pool, fc) + per block ``b`` its first
  MBConv layer (the block's stride and input channels) + ``(l - 1)`` x its repeat layer
  (stride 1, c_in = c_out, with the residual add). A unit's layers depend only on
  (b, first-or-repeat, e, k, se): 7 x 2 x 3 x 2 x 2 = 168 units. They are taken from real
  ``mnasnet.build`` networks (every block set to one (e, k, se) with l = 2), so the catalog
  is exactly what ``build`` makes. *Parts* = [skeleton, unit 0, ..., unit 167]; ``cost`` is
  a gather of 15 parts and a weighted sum.

Results are cached in memory (same arguments -> same object) and on disk (npz, keyed by a
sha256 of the arguments, the configs and the bytes of hwsim's model sources, so that a model
change misses).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import tempfile
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from hwsim.errors import HwsimError, SpecError
from hwsim.evaluate import evaluate_many
from hwsim.hardware.accelerator import Accelerator, check_accelerator, template_dirs
from hwsim.workload import Network, tensor_bits

from .space import mnasnet, nb201

SPACES = ("nb201", "mnasnet")
FORMAT = 1                      # bump when the stored arrays change meaning
MEMORY_ENTRIES = 64
_CHUNK = 4096                   # networks per dense block in cost_all
_ARRAYS = ("latency_s", "energy_pj", "feasible", "area_mm2", "clock_hz")

# MnasNet unit layout: unit = ((((b * 2 + rep) * NE + e) * NK + k) * NS + se), option indices
_NE, _NK, _NS = (len(mnasnet.CHOICES[0][f]) for f in ("e", "k", "se"))
assert all(len(c["e"]) == _NE and len(c["k"]) == _NK and len(c["se"]) == _NS for c in mnasnet.CHOICES)
_UNITS = mnasnet.BLOCKS * 2 * _NE * _NK * _NS
_MAX_L = max(len(c["l"]) for c in mnasnet.CHOICES)
_L_VALUES = np.array([list(c["l"]) + [0] * (_MAX_L - len(c["l"])) for c in mnasnet.CHOICES])   # (7, 4)
_BLOCK = np.arange(mnasnet.BLOCKS)
_REPEAT_OFFSET = _NE * _NK * _NS     # unit(b, 1, ...) - unit(b, 0, ...)
_NB201_GENES = tuple(f"edge {i}->{j}" for j in (1, 2, 3) for i in range(j))


@dataclass(frozen=True, eq=False)
class SpaceCosts:
    """Latency, energy and feasibility of every network of one space on every config."""
    space: str            # "nb201" | "mnasnet"
    dataset: str          # canonical (nb201.dataset_name)
    batch: int
    bits: int
    configs: tuple[Accelerator, ...]
    area_mm2: np.ndarray  # (C,) from the evaluation (area does not depend on the network)
    clock_hz: np.ndarray  # (C,)
    latency_s: np.ndarray  # (C, P) per part (see the module doc); inf where it cannot map
    energy_pj: np.ndarray  # (C, P); NaN where it cannot map
    feasible: np.ndarray   # (C, P) bool
    key: str               # the sha256 the disk cache is keyed on

    def __repr__(self) -> str:
        return (f"SpaceCosts({self.space}/{self.dataset}, batch {self.batch}, {self.bits} bits, "
                f"{len(self.configs)} configs x {self.latency_s.shape[1]} parts)")

    @property
    def gene_options(self) -> tuple[int, ...]:
        return nb201.GENE_OPTIONS if self.space == "nb201" else mnasnet.GENE_OPTIONS

    def cost(self, config_index, genes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(latency_s, energy_pj, feasible), each (n,), of network genes[i] ((n, G) ints: option
        indices, the space's GENE_OPTIONS) on configs[config_index[i]] ((n,) ints). Infeasible:
        latency inf, energy nan. Fully vectorized (no Python loop over n)."""
        genes = self._check_genes(genes)
        rows = self._check_config_index(config_index, len(genes))
        if self.space == "nb201":
            col = nb201.gene_index(genes)
            return self.latency_s[rows, col], self.energy_pj[rows, col], self.feasible[rows, col]
        parts, weight = _mnasnet_parts(genes)
        lat, en, bad = (a[rows[:, None], parts] for a in self._zeroed())
        return _finish(np.sum(lat * weight, 1), np.sum(en * weight, 1), np.sum(bad * weight, 1))

    def cost_all(self, genes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Same, (C, n) arrays: every config for each of the n networks."""
        genes = self._check_genes(genes)
        if self.space == "nb201":
            col = nb201.gene_index(genes)
            return self.latency_s[:, col], self.energy_pj[:, col], self.feasible[:, col]
        parts, weight = _mnasnet_parts(genes)
        out = [np.empty((len(self.configs), len(genes))) for _ in range(3)]
        for start in range(0, len(genes), _CHUNK):      # dense (chunk, P) weights: bounded memory
            rows = slice(start, start + _CHUNK)
            dense = np.zeros((len(parts[rows]), self.latency_s.shape[1]))
            dense[np.arange(len(dense))[:, None], parts[rows]] = weight[rows]
            for target, array in zip(out, self._zeroed()):
                target[:, rows] = array @ dense.T
        return _finish(*out)

    def _zeroed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-part latency and energy with 0 where a part cannot map, and 1.0 there (so that
        weighted sums never meet inf * 0); computed once."""
        zeroed = self.__dict__.get("_zeroed_arrays")
        if zeroed is None:
            zeroed = (np.where(self.feasible, self.latency_s, 0.0), np.where(self.feasible, self.energy_pj, 0.0),
                      (~self.feasible).astype(float))
            object.__setattr__(self, "_zeroed_arrays", zeroed)
        return zeroed

    def errors(self, config_index: int, genes) -> str:
        """The first layer of network ``genes`` ((G,) ints) that cannot map on
        ``configs[config_index]`` and why ("" if it maps). Rebuilds that one network and
        evaluates it, so the message names the network's own layer."""
        genes = np.asarray(genes)
        if genes.ndim != 1:
            raise SpecError(f"field 'genes' = array of shape {genes.shape}: expected ({len(self.gene_options)},) "
                            f"option indices of one {self.space} network")
        row = int(self._check_config_index(np.asarray([config_index]), 1)[0])
        if self.cost(np.array([row]), genes[None, :])[2][0]:
            return ""
        frame = evaluate_many(self.network(genes), [self.configs[row]], per_layer=False)
        return str(frame["error"].iloc[0])

    def network(self, genes) -> Network:
        """The hwsim.Network of one gene vector ((G,) ints), as the space's ``build`` makes it."""
        genes = self._check_genes(np.asarray(genes)[None, :])[0]
        if self.space == "nb201":
            return nb201.build(nb201.decode(genes), self.dataset, self.batch, self.bits)
        return mnasnet.build(mnasnet.decode(genes), self.batch, self.bits)

    def _check_genes(self, genes) -> np.ndarray:
        options = np.asarray(self.gene_options)
        arr = np.asarray(genes)
        if arr.ndim != 2 or arr.shape[1] != len(options):
            raise SpecError(f"field 'genes' = array of shape {arr.shape}: expected (n, {len(options)}) option "
                            f"indices of the {self.space} space")
        if arr.size and (arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer)):
            raise SpecError(f"field 'genes' = array of dtype {arr.dtype}: expected integer option indices")
        arr = arr.astype(np.int64, copy=False)
        bad = (arr < 0) | (arr >= options)
        if bad.any():
            i, j = (int(v) for v in np.argwhere(bad)[0])
            names = _NB201_GENES if self.space == "nb201" else mnasnet.KEYS
            raise SpecError(f"field 'genes[{i}, {j}]' ({names[j]}) = {arr[i, j]}: expected an option index in "
                            f"0..{options[j] - 1}")
        return arr

    def _check_config_index(self, config_index, n: int) -> np.ndarray:
        arr = np.asarray(config_index)
        if arr.size and (arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer)):
            raise SpecError(f"field 'config_index' = array of dtype {arr.dtype}: expected integer config rows")
        if arr.shape != (n,):
            raise SpecError(f"field 'config_index' = array of shape {arr.shape}: expected ({n},), one config "
                            "row per network")
        arr = arr.astype(np.int64, copy=False)
        bad = (arr < 0) | (arr >= len(self.configs))
        if bad.any():
            i = int(np.argmax(bad))
            raise SpecError(f"field 'config_index[{i}]' = {arr[i]}: expected 0..{len(self.configs) - 1} "
                            f"({len(self.configs)} configs)")
        return arr


def _finish(latency, energy, bad_parts):
    """A network maps iff none of the parts it uses (weight > 0) cannot map."""
    feasible = bad_parts == 0
    return np.where(feasible, latency, np.inf), np.where(feasible, energy, np.nan), feasible


def _unit(block, rep, e, k, se):
    return (((block * 2 + rep) * _NE + e) * _NK + k) * _NS + se


def _mnasnet_parts(genes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 15) part indices [skeleton, 7 first units, 7 repeat units] and their weights
    [1, 1 x 7, (l - 1) x 7] of valid (n, 28) option indices."""
    n = len(genes)
    by_block = genes.reshape(n, mnasnet.BLOCKS, len(mnasnet.FIELDS))
    e, k, li, se = (by_block[:, :, f] for f in range(4))
    first = _unit(_BLOCK, 0, e, k, se)
    parts = np.concatenate([np.zeros((n, 1), np.int64), 1 + first, 1 + first + _REPEAT_OFFSET], 1)
    weight = np.concatenate([np.ones((n, 1 + mnasnet.BLOCKS)), _L_VALUES[_BLOCK, li] - 1.0], 1)
    return parts, weight


# -- catalogs: the distinct layers, and each part's count of every catalog layer ----------------

@lru_cache(maxsize=1)
def _nb201_counts() -> np.ndarray:
    """(15625, 15) searchable-layer counts of all_archs() (dataset independent, ~2 s)."""
    return nb201.layer_counts(nb201.all_archs())


def _nb201_catalog(dataset, batch, bits) -> tuple[Network, np.ndarray]:
    catalog, skeleton = nb201._catalog(dataset, batch, bits)
    counts = _nb201_counts()
    weights = np.concatenate([np.ones((len(counts), len(skeleton))), counts], axis=1)
    return catalog, weights


_UNIT_NAME = re.compile(r"^b(\d+)l(\d+)\.")


def _mnasnet_catalog(batch, bits) -> tuple[Network, np.ndarray]:
    """Layers of every unit, taken from build() of networks with every block at one
    (e, k, se) and l = 2 (layer 0 = first, layer 1 = repeat), renamed ``u<unit>:<name>``."""
    layers, part = [], []
    two = [c["l"].index(2) for c in mnasnet.CHOICES]
    for e, k, se in itertools.product(range(_NE), range(_NK), range(_NS)):
        genes = [g for b in range(mnasnet.BLOCKS) for g in (e, k, two[b], se)]
        net = mnasnet.build(mnasnet.decode(genes), batch, bits)
        for layer in net.layers:
            match = _UNIT_NAME.match(layer.name)
            if match is None:
                if (e, k, se) == (0, 0, 0):             # the skeleton, from the first network only
                    layers.append(layer)
                    part.append(0)
                continue
            u = _unit(int(match[1]), int(match[2]), e, k, se)
            layers.append(_renamed(layer, f"u{u}:{layer.name}"))
            part.append(1 + u)
    weights = np.zeros((1 + _UNITS, len(layers)))
    weights[part, np.arange(len(layers))] = 1.0
    return Network("mnasnet-catalog", layers, check_shapes=False), weights


def _renamed(layer, name):
    import copy

    out = copy.copy(layer)                      # a frozen dataclass: copy, then set the name
    object.__setattr__(out, "name", name)
    return out


def _compute(space, dataset, batch, bits, configs) -> dict[str, np.ndarray]:
    """The stored arrays: one per-layer evaluate_many over the catalog, then parts = counts
    (P, L) @ per-layer costs, summed where they map."""
    catalog, weights = _nb201_catalog(dataset, batch, bits) if space == "nb201" else _mnasnet_catalog(batch, bits)
    frame = evaluate_many(catalog, configs, per_layer=True)       # sorted by (config, layer_index)
    n_cfg, n_layers = len(configs), len(catalog)
    if len(frame) != n_cfg * n_layers or list(frame["layer"].iloc[:n_layers]) != [l.name for l in catalog]:
        raise HwsimError(f"evaluate_many gave {len(frame)} catalog rows, expected {n_cfg} x {n_layers} in order")

    def grid(column, dtype=float):
        return frame[column].to_numpy(dtype=dtype).reshape(n_cfg, n_layers)

    ok = grid("feasible", bool)
    clock = np.array([a.clock_hz for a in configs], dtype=float)
    feasible = ((~ok).astype(float) @ weights.T) == 0
    cycles = np.where(ok, grid("latency_cycles"), 0.0) @ weights.T
    energy = np.where(ok, grid("energy_pj"), 0.0) @ weights.T
    return {"latency_s": np.where(feasible, cycles / clock[:, None], np.inf),
            "energy_pj": np.where(feasible, energy, np.nan), "feasible": feasible,
            "area_mm2": grid("area_mm2")[:, 0].copy(), "clock_hz": clock}


# -- caching --------------------------------------------------------------------------------------

_MEMORY: OrderedDict[tuple, SpaceCosts] = OrderedDict()


def clear_memory_cache() -> None:
    """Forget the in-memory SpaceCosts (the disk cache is left alone)."""
    _MEMORY.clear()


@lru_cache(maxsize=1)
def model_fingerprint() -> str:
    """sha256 over the relative paths and bytes of hwsim's model sources (dataflow, hardware,
    workload, evaluate.py, the technology and template YAMLs) and of the spaces' builders."""
    import hwsim

    root = Path(hwsim.__file__).resolve().parent
    here = Path(__file__).resolve().parent
    labelled = [(f"hwsim/{p.relative_to(root)}", p) for sub in ("dataflow", "hardware", "workload")
                for p in (root / sub).rglob("*.py")]
    model = [root / "evaluate.py", *(root / "hardware").glob("*.yaml")]
    labelled += [(f"hwsim/{p.relative_to(root)}", p) for p in model]
    labelled += [(f"nasaic/{p.relative_to(here)}", p) for p in [*(here / "space").glob("*.py"), here / "costs.py"]]
    labelled += [(f"templates/{p.name}", p) for d in template_dirs() for p in d.glob("*.yaml")]
    digest = hashlib.sha256()
    for label, path in sorted(set(labelled)):
        digest.update(label.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_key(space, dataset, batch, bits, configs) -> str:
    """sha256 of everything the arrays depend on."""
    described = [[a.name, a.dataflow, [[k, repr(v)] for k, v in sorted(a.params.items())]] for a in configs]
    text = json.dumps([FORMAT, space, dataset, batch, bits, described, model_fingerprint()])
    return hashlib.sha256(text.encode()).hexdigest()


def cache_folder(cache_dir=None) -> Path | None:
    """Where cached tables go: ``cache_dir``, else $HWSIM_CACHE_DIR, else ~/.cache/hwsim/costs; False: nowhere."""
    if cache_dir is False:
        return None
    if cache_dir is None:
        env = os.environ.get("HWSIM_CACHE_DIR", "")
        return Path(env) if env else Path.home() / ".cache" / "hwsim" / "costs"
    return Path(cache_dir)


def _load(path: Path, key: str, shape: tuple[int, int]) -> dict | None:
    """The arrays of a cache file, or None if it is missing, of another key, or corrupt."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["key"]) != key:
                return None
            arrays = {name: z[name] for name in _ARRAYS}
    except Exception:           # noqa: BLE001 -- any unreadable file is a miss, never a crash
        return None
    if any(arrays[n].shape != shape for n in ("latency_s", "energy_pj", "feasible")) \
            or arrays["feasible"].dtype != bool or any(arrays[n].shape != shape[:1] for n in ("area_mm2", "clock_hz")):
        return None
    return arrays


def _save(path: Path, key: str, arrays: dict) -> None:
    """Atomic write (tmp file + os.replace); a cache that cannot be written is only a warning."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name, suffix=".tmp", delete=False) as f:
            tmp = f.name
            np.savez(f, key=np.array(key), **arrays)
        os.replace(tmp, path)
    except OSError as err:
        warnings.warn(f"nasaic.costs: cannot write cache file {path}: {err}", stacklevel=3)
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def _check_args(space, dataset, batch, bits, configs):
    if space not in SPACES:
        raise SpecError(f"field 'space' = {space!r}: unknown space; valid: {', '.join(SPACES)}")
    if space == "nb201":
        dataset = nb201.dataset_name(dataset)
    elif not isinstance(dataset, str) or dataset.strip().lower() not in mnasnet.DATASETS:
        raise SpecError(f"field 'dataset' = {dataset!r}: unknown dataset of the mnasnet space; valid: "
                        + ", ".join(mnasnet.DATASETS))
    else:
        dataset = dataset.strip().lower()
    for field, value in (("batch", batch), ("bits", bits)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise SpecError(f"field '{field}' = {value!r}: expected an integer >= 1")
    tensor_bits(int(bits), "space_costs")
    configs = tuple(check_accelerator(a, "space_costs") for a in configs)
    if not configs:
        raise SpecError("field 'configs' = []: expected at least one accelerator")
    return dataset, int(batch), int(bits), configs


def space_costs(space: str, dataset: str, configs, *, batch: int = 1, bits: int = 8,
                cache_dir=None) -> SpaceCosts:
    """Cached: in memory (same arguments -> same object) and on disk (npz, allow_pickle=False)
    under cache_dir (None: $HWSIM_CACHE_DIR, else ~/.cache/hwsim/costs; False: no disk cache)."""
    dataset, batch, bits, configs = _check_args(space, dataset, batch, bits, configs)
    memory_key = (space, dataset, batch, bits, configs)
    if memory_key in _MEMORY:
        _MEMORY.move_to_end(memory_key)
        return _MEMORY[memory_key]
    key = cache_key(space, dataset, batch, bits, configs)
    folder = cache_folder(cache_dir)
    path = None if folder is None else folder / f"costs-{space}-{dataset}-{key[:24]}.npz"
    parts = int(np.prod(nb201.GENE_OPTIONS)) if space == "nb201" else 1 + _UNITS
    arrays = None if path is None else _load(path, key, (len(configs), parts))
    if arrays is None:
        arrays = _compute(space, dataset, batch, bits, configs)
        if path is not None:
            _save(path, key, arrays)
    result = SpaceCosts(space=space, dataset=dataset, batch=batch, bits=bits, configs=configs, key=key, **arrays)
    _MEMORY[memory_key] = result
    while len(_MEMORY) > MEMORY_ENTRIES:
        _MEMORY.popitem(last=False)
    return result


__all__ = ["SPACES", "SpaceCosts", "cache_key", "clear_memory_cache", "model_fingerprint", "space_costs"]
