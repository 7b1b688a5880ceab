"""NAS-Bench-201 (Dong & Yang, ICLR 2020, arXiv 2001.00326; NATS-Bench topology space
"tss", Dong et al., TPAMI 2021) as :class:`hwsim.Network` DAGs.

The macro skeleton is NAS-Bench-201's ``TinyNetwork`` (D-X-Y/AutoDL-Projects,
``xautodl/models/cell_infers/tiny_network.py`` and ``cells.py::InferCell``,
``cell_operations.py::ResNetBasicblock``; the paper's Fig. 1):

* stem: 3x3 conv 3 -> 16 (padding 1) + BN;
* stage 1: 5 cells at 16 channels; a residual reduction block 16 -> 32; stage 2: 5 cells
  at 32; a reduction block 32 -> 64; stage 3: 5 cells at 64;
* the reduction block is ResNet's basic block with stride 2: ``conv_a`` ReLU-Conv3x3/2-BN,
  ``conv_b`` ReLU-Conv3x3-BN, shortcut AvgPool 2x2/2 then Conv1x1 (no BN), summed;
* BN + ReLU, global average pool, classifier FC 64 -> 10 / 100 / 120 classes;
* input 32x32 (CIFAR-10, CIFAR-100) or 16x16 (ImageNet16-120).

A cell is a DAG of 4 nodes; node ``j`` sums ops applied to every earlier node ``i``
(arch string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``, group ``j`` lists the edges into
node ``j``); the cell's output is node 3. Ops: ``nor_conv_1x1`` / ``nor_conv_3x3``
(ReLU-Conv-BN, padding 0 / 1), ``avg_pool_3x3`` (stride 1, padding 1), ``skip_connect``
(identity: free, no layer) and ``none`` (the zero op: contributes nothing).

hwsim's view: BN and ReLU are fused into the conv (no layer of their own, as in
``hwsim.workload.zoo``); a node summing ``n >= 2`` real inputs is one ``eltwise`` add
with ``inputs=n``; a node with one input is that tensor (no layer). A node with no
(nonzero) input is the zero tensor; with ``fold_zeros=True`` (the default) an op whose
input is known to be zero is folded away (its output is known statically), so it costs
nothing. The fixed skeleton (stem, reduction blocks, pool, classifier) is always built,
so the all-``none`` network costs exactly stem + 2 reduction blocks + classifier.
An op whose output never reaches the cell output (dead code) is still built, as the
reference implementation computes it. ``fold_zeros=False`` builds every op on every
non-``none`` edge, as NATS-Bench's FLOP counter counts them. MAC check (tests): NATS-Bench's published FLOPs of arch 0 (15.64737 /
15.65322 / 3.91948 M on CIFAR-10 / CIFAR-100 / ImageNet16-120, D-X-Y/NATS-Bench issue #24)
and arch 1 (113.95 / 113.96 / 28.50 M, issue #18) are ours plus the classifier bias (one
per class) exactly: its "FLOPs" are multiply-accumulates. The space spans 7.78 M (all
``none``) to 220.12 M (all ``nor_conv_3x3``) MACs on CIFAR-10.
"""

from __future__ import annotations

import copy
import functools
from collections import Counter
from pathlib import Path

import numpy as np

from hwsim.errors import SpecError
from hwsim.workload import Network, conv2d, eltwise, global_avgpool, matmul, pool2d, tensor_bits

from hwsim.workload.graph import GraphBuilder, NetworkInput

from . import reference_dir as _reference_dir

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: dataset -> (input size, classes); names as the CSV's column prefixes
DATASETS = {"cifar10": (32, 10), "cifar100": (32, 100), "imagenet16_120": (16, 120)}
ALIASES = {"cifar-10": "cifar10", "cifar-100": "cifar100", "imagenet16-120": "imagenet16_120",
           "imagenet16": "imagenet16_120", "imagenet-16-120": "imagenet16_120"}
STEM_CHANNELS = 16
STAGE_CHANNELS = (16, 32, 64)
CELLS_PER_STAGE = 5
CSV = "nasbench/nb201_accuracy.csv"


def dataset_name(dataset) -> str:
    """The canonical dataset name (``cifar10``, ``cifar100``, ``imagenet16_120``)."""
    key = str(dataset).strip().lower() if isinstance(dataset, str) else dataset
    key = ALIASES.get(key, key)
    if key not in DATASETS:
        raise SpecError(f"field 'dataset' = {dataset!r}: unknown NAS-Bench-201 dataset; valid: "
                        + ", ".join(DATASETS))
    return key


@functools.lru_cache(maxsize=None)
def parse(arch_str: str) -> tuple[tuple[str, ...], ...]:
    """``((op_1<-0,), (op_2<-0, op_2<-1), (op_3<-0, op_3<-1, op_3<-2))`` of an arch string;
    SpecError naming the string if it is malformed."""
    def bad(why):
        return SpecError(f"field 'arch' = {arch_str!r}: {why}; expected "
                         "'|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' with ops " + ", ".join(OPS))
    if not isinstance(arch_str, str):
        raise bad("not a string")
    groups = arch_str.strip().split("+")
    if len(groups) != 3:
        raise bad(f"{len(groups)} node groups, expected 3")
    nodes = []
    for j, group in enumerate(groups, start=1):
        if not (group.startswith("|") and group.endswith("|")) or len(group) < 2:
            raise bad(f"node group {j} = {group!r} is not enclosed in '|'")
        edges = group[1:-1].split("|")
        if len(edges) != j:
            raise bad(f"node {j} has {len(edges)} input edges, expected {j}")
        ops = []
        for i, edge in enumerate(edges):
            op, sep, src = edge.partition("~")
            if not sep or src != str(i):
                raise bad(f"edge {edge!r} into node {j}: expected '<op>~{i}'")
            if op not in OPS:
                raise bad(f"unknown op {op!r}")
            ops.append(op)
        nodes.append(tuple(ops))
    return tuple(nodes)


def arch_string(nodes) -> str:
    """The arch string of ``parse``'s nested tuple (its inverse)."""
    return "+".join("|" + "|".join(f"{op}~{i}" for i, op in enumerate(ops)) + "|" for ops in nodes)


# -- the cell plan: one walk of the cell DAG, shared by build() and the cost table ----------------

@functools.lru_cache(maxsize=None)
def _cell_plan(arch_str: str, fold_zeros: bool, input_is_zero: bool) -> tuple[tuple, object]:
    """Steps of one cell and its output reference.

    References: ``"in"`` (the cell input), ``("e", i, j)`` (op output on edge i -> j),
    ``("n", j)`` (node j's add), ``"zero_in"`` (the zero tensor, for ops built on it when
    ``fold_zeros`` is False) or None (zero). Steps: ``(op, i, j, source_ref)`` and
    ``("add", j, (refs...))``.
    """
    nodes = parse(arch_str)
    value = [None if input_is_zero else "in"]
    steps = []
    for j, ops in enumerate(nodes, start=1):
        contributions = []
        for i, op in enumerate(ops):
            source = value[i]
            if op == "none" or (source is None and (fold_zeros or op == "skip_connect")):
                continue
            if op == "skip_connect":
                contributions.append(source)
                continue
            steps.append((op, i, j, "zero_in" if source is None else source))
            contributions.append(("e", i, j))
        if not contributions:
            value.append(None)
        elif len(contributions) == 1:
            value.append(contributions[0])
        else:
            steps.append(("add", j, tuple(contributions)))
            value.append(("n", j))
    return tuple(steps), value[3]


def _check_int(field, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise SpecError(f"field '{field}' = {value!r}: expected an integer >= 1")


def build(arch_str: str, dataset: str = "cifar10", batch: int = 1, bits=8, fold_zeros: bool = True) -> Network:
    """The NAS-Bench-201 network of ``arch_str`` for ``dataset`` (see the module docstring)."""
    nodes = parse(arch_str)
    dataset = dataset_name(dataset)
    _check_int("batch", batch)
    tensor_bits(bits, "network 'nb201'")
    bits_key = tuple(sorted(bits.items())) if isinstance(bits, dict) else bits
    size, classes = DATASETS[dataset]
    g = GraphBuilder(f"nb201:{dataset}:{arch_string(nodes)}")
    kw = dict(batch=batch, bits=bits)
    fixed = _FIXED.setdefault((dataset, batch, bits_key), {})     # skeleton layers, validated once

    def once(name, make):
        if name not in fixed:
            fixed[name] = make()
        return fixed[name]

    x = g.add(once("stem", lambda: conv2d("stem", 3, STEM_CHANNELS, (size, size), 3, 1, 1, **kw)),
              NetworkInput(3, size, size))
    value, anchor = x, x          # anchor: the last real layer, of the current tensor's shape
    channels = STEM_CHANNELS
    for stage, width in enumerate(STAGE_CHANNELS, start=1):
        if stage > 1:
            value = anchor = _reduction(g, f"red{stage - 1}", value or anchor, channels, width, size, kw, once)
            channels, size = width, size // 2
        for cell in range(1, CELLS_PER_STAGE + 1):
            out = _cell(g, f"s{stage}c{cell}", arch_str, value, anchor, channels, size, fold_zeros, kw)
            value = out
            anchor = out or anchor
    x = g.add(once("gap", lambda: global_avgpool("gap", channels, (size, size), **kw)), value or anchor)
    g.add(once("fc", lambda: matmul("fc", 1, classes, channels, **kw)), x)
    return g.network()


_FIXED: dict = {}


@functools.lru_cache(maxsize=4096)
def _template(kind: str, channels: int, size: int, batch: int, bits_key):
    """One validated layer per (kind, shape): the space has few distinct shapes, so build()
    copies these under new names instead of re-validating every layer."""
    bits = dict(bits_key) if isinstance(bits_key, tuple) else bits_key
    kw = dict(batch=batch, bits=bits)
    hw = (size, size)
    if kind == "nor_conv_1x1":
        return conv2d("t", channels, channels, hw, 1, 1, 0, **kw)
    if kind == "nor_conv_3x3":
        return conv2d("t", channels, channels, hw, 3, 1, 1, **kw)
    if kind == "avg_pool_3x3":
        return pool2d("t", channels, hw, 3, 1, 1, kind="avg", **kw)
    return eltwise("t", channels, hw, "add", int(kind[3:]), **kw)      # "add<n>"


def _named(template, name: str):
    layer = copy.copy(template)                 # a frozen dataclass: copy, then set the name
    object.__setattr__(layer, "name", name)
    return layer


def _cell(g, name, arch_str, value, anchor, channels, size, fold_zeros, kw):
    steps, out = _cell_plan(arch_str, fold_zeros, value is None)
    made = {"in": value, "zero_in": anchor}
    bits = kw["bits"]
    bits_key = tuple(sorted(bits.items())) if isinstance(bits, dict) else bits
    suffix = {"nor_conv_1x1": "conv1x1", "nor_conv_3x3": "conv3x3", "avg_pool_3x3": "avgpool3x3"}
    for step in steps:
        if step[0] == "add":
            _, j, refs = step
            sources = [made[r] for r in refs]
            template = _template(f"add{len(refs)}", channels, size, kw["batch"], bits_key)
            made[("n", j)] = g.add(_named(template, f"{name}.n{j}.add"), *sources)
            continue
        op, i, j, ref = step
        template = _template(op, channels, size, kw["batch"], bits_key)
        made[("e", i, j)] = g.add(_named(template, f"{name}.e{i}{j}.{suffix[op]}"), made[ref])
    return None if out is None else made[out]


def _reduction(g, name, source, c_in, c_out, size, kw, once):
    hw, half = (size, size), (size // 2, size // 2)
    a = g.add(once(f"{name}.conv_a", lambda: conv2d(f"{name}.conv_a", c_in, c_out, hw, 3, 2, 1, **kw)), source)
    b = g.add(once(f"{name}.conv_b", lambda: conv2d(f"{name}.conv_b", c_out, c_out, half, 3, 1, 1, **kw)), a)
    p = g.add(once(f"{name}.pool", lambda: pool2d(f"{name}.pool", c_in, hw, 2, 2, 0, kind="avg", **kw)), source)
    s = g.add(once(f"{name}.shortcut", lambda: conv2d(f"{name}.shortcut", c_in, c_out, half, 1, 1, 0, **kw)), p)
    return g.add(once(f"{name}.add", lambda: eltwise(f"{name}.add", c_out, half, "add", 2, **kw)), b, s)


# -- the table -------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4)
def _table(path: Path):
    import pandas as pd

    if not path.is_file():
        raise SpecError(f"field 'reference_dir' = '{path.parent.parent}': {CSV} is missing")
    frame = pd.read_csv(path)
    return frame


def table(reference_dir=None):
    """NATS-Bench accuracies: ``arch_index, arch_str, cifar10_test_acc, cifar100_test_acc,
    imagenet16_120_test_acc`` (percent, mean over seeds, 200 epochs), one row per arch."""
    return _table(_reference_dir(reference_dir) / CSV).copy()


def archs(reference_dir=None) -> list[str]:
    """All 15,625 arch strings, in ``arch_index`` order."""
    return _table(_reference_dir(reference_dir) / CSV)["arch_str"].tolist()


def all_archs() -> list[str]:
    """The 5^6 = 15,625 arch strings enumerated without the table (same set as ``archs``)."""
    import itertools

    out = []
    for ops in itertools.product(OPS, repeat=6):
        out.append(arch_string((ops[0:1], ops[1:3], ops[3:6])))
    return out


def sample(n: int, seed: int) -> list[str]:
    """``n`` arch strings drawn uniformly (with replacement) from the 15,625, seeded."""
    _check_int("n", n)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(OPS), size=(n, 6))
    return [arch_string(((OPS[a],), (OPS[b], OPS[c]), (OPS[d], OPS[e], OPS[f]))) for a, b, c, d, e, f in picks]


# -- costs of the whole space from its few distinct layer shapes ---------------------------------------

@functools.lru_cache(maxsize=None)
def _cell_counts(arch_str: str, fold_zeros: bool, input_is_zero: bool) -> tuple[tuple[str, int], ...]:
    """(kind, count) of the layers of one cell, and whether its output is the zero tensor
    (cached: the 15,625 archs x 15 cells repeat few (arch, input) pairs)."""
    steps, cell_out = _cell_plan(arch_str, fold_zeros, input_is_zero)
    counts = Counter(s[0] if s[0] != "add" else f"add{len(s[2])}" for s in steps)
    return tuple(sorted(counts.items())), cell_out is None


KINDS = ("nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "add2", "add3")


def layer_counts(arch_list, fold_zeros: bool = True) -> np.ndarray:
    """(len(arch_list), 3 * len(KINDS)) counts of each searchable layer kind per stage
    (stage-major); the fixed skeleton is not included."""
    counts = np.zeros((len(arch_list), len(STAGE_CHANNELS) * len(KINDS)), dtype=np.int64)
    col = {k: i for i, k in enumerate(KINDS)}
    for row, arch in enumerate(arch_list):
        for stage in range(len(STAGE_CHANNELS)):
            # cell 1 of stage 1 reads the stem; later ones read a zero tensor if a cell outputs zero
            zero_in = False
            for cell in range(CELLS_PER_STAGE):
                kinds, zero_in = _cell_counts(arch, fold_zeros, zero_in)
                for kind, n in kinds:
                    counts[row, stage * len(KINDS) + col[kind]] += n
    return counts


def _catalog(dataset: str, batch: int, bits) -> tuple[Network, list[str]]:
    """One layer of every distinct shape of the space (the fixed skeleton as built for the
    all-none arch plus one layer per (stage, kind)), as an edge-less network."""
    size, classes = DATASETS[dataset]
    kw = dict(batch=batch, bits=bits)
    skeleton = build("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", dataset, batch, bits)
    layers = list(skeleton.layers)
    for stage, width in enumerate(STAGE_CHANNELS):
        hw = (size >> stage, size >> stage)
        layers += [conv2d(f"k{stage}.conv1x1", width, width, hw, 1, 1, 0, **kw),
                   conv2d(f"k{stage}.conv3x3", width, width, hw, 3, 1, 1, **kw),
                   pool2d(f"k{stage}.avgpool3x3", width, hw, 3, 1, 1, kind="avg", **kw),
                   eltwise(f"k{stage}.add2", width, hw, "add", 2, **kw),
                   eltwise(f"k{stage}.add3", width, hw, "add", 3, **kw)]
    return Network(f"nb201-catalog:{dataset}", layers, check_shapes=False), [l.name for l in skeleton.layers]


def cost_table(accelerators, dataset: str = "cifar10", arch_list=None, batch: int = 1, bits=8,
               fold_zeros: bool = True, reference_dir=None):
    """Latency, energy and MACs of every arch (default: all 15,625 of the table) on every
    accelerator, from one ``hwsim.evaluate_many`` call over the space's 24 distinct layer
    shapes: a network's cost is the sum over its layers (as ``evaluate_many``'s totals), so
    cost = skeleton + counts @ per-kind cost. Equal to ``evaluate(build(arch), acc)`` (tests).

    Returns a DataFrame, one row per (config, arch): ``config``, ``arch_index`` (position in
    ``arch_list``), ``arch_str``, ``latency_cycles``, ``energy_pj``, ``macs``, ``feasible``,
    ``area_mm2``.
    """
    import pandas as pd

    from hwsim import evaluate_many

    dataset = dataset_name(dataset)
    arch_list = archs(reference_dir) if arch_list is None else list(arch_list)
    for arch in arch_list:
        parse(arch)
    accelerators = list(accelerators)
    catalog, skeleton_names = _catalog(dataset, batch, bits)
    per_layer = evaluate_many(catalog, accelerators, per_layer=True)
    n_layers = len(catalog)
    counts = layer_counts(arch_list, fold_zeros).astype(float)
    n_skel = len(skeleton_names)
    frames = []
    for config, rows in per_layer.groupby("config", sort=True):
        rows = rows.sort_values("layer_index")
        if len(rows) != n_layers:
            raise SpecError(f"field 'accelerators' = config {config}: expected {n_layers} layer rows")
        lat = rows["latency_cycles"].to_numpy(float)
        energy = rows["energy_pj"].to_numpy(float)
        macs = rows["macs"].to_numpy(float)
        ok = rows["feasible"].to_numpy(bool)
        kind_ok = ok[n_skel:]
        frame = pd.DataFrame({
            "config": config,
            "arch_index": np.arange(len(arch_list)),
            "arch_str": arch_list,
            "latency_cycles": lat[:n_skel].sum() + counts @ np.where(kind_ok, lat[n_skel:], 0.0),
            "energy_pj": energy[:n_skel].sum() + counts @ np.where(kind_ok, energy[n_skel:], 0.0),
            "macs": (macs[:n_skel].sum() + counts @ macs[n_skel:]).astype(np.int64),
            "feasible": bool(ok[:n_skel].all()) & (counts @ (~kind_ok).astype(float) == 0),
            "area_mm2": float(rows["area_mm2"].iloc[0]),
        })
        frame.loc[~frame["feasible"], ["latency_cycles", "energy_pj"]] = np.nan
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


# -- genes: the space as six categorical choices (what a controller samples) ---------------------------

#: options per gene: the op on each of the cell's six edges, in arch-string order, as indices into OPS
GENE_OPTIONS = (len(OPS),) * 6


def decode(genes) -> str:
    """The arch string of six op indices (edge order of the arch string)."""
    ops = [OPS[int(g)] for g in genes]
    return arch_string((tuple(ops[0:1]), tuple(ops[1:3]), tuple(ops[3:6])))


def encode(arch_str: str) -> tuple[int, ...]:
    """The six op indices of an arch string (inverse of :func:`decode`)."""
    return tuple(OPS.index(op) for node in parse(arch_str) for op in node)


def gene_index(genes) -> np.ndarray:
    """Row of each gene vector ((n, 6) ints) in :func:`all_archs` order (base-5, first edge most
    significant), so per-arch arrays in that order are indexed without building strings."""
    genes = np.asarray(genes, dtype=np.int64)
    return genes @ (len(OPS) ** np.arange(5, -1, -1))
