"""The MnasNet-like space of Accel-NASBench (Ahmad et al., "Accel-NASBench: Sustainable
Benchmarking for Accelerator-Aware NAS", 2024; afzalxo/Accel-NASBench, Apache-2.0) as
:class:`hwsim.Network` DAGs.

Skeleton (``configurationspaces/searchspaces.py::CustomSearchable`` and
``../shared/reference/README.md``): EfficientNet-B0 (Tan & Le, ICML 2019). Stem 3x3/2 conv
3 -> 32 at 224x224; seven MBConv blocks with strides 1,2,2,2,1,2,1, input channels
32,16,24,40,80,112,192 and output channels 16,24,40,80,112,192,320; block ``i`` has
``block{i}_l`` layers (the first takes the block's stride and input channels), each an
MBConv with expansion ``block{i}_e`` (1x1 expand to e x C_in, left out when e == 1),
depthwise ``k x k`` (``block{i}_k``, padding k // 2), optional squeeze-excite
(``block{i}_se``), 1x1 linear projection, and a residual add where stride is 1 and the
channels match. Head: 1x1 conv 320 -> 1280, global average pool, FC 1280 -> 1000.

Choice sets (Accel-NASBench ``anb_eval/configspace/configspace.json``, and the CSV):
e in {1, 4, 6}, k in {3, 5}, l in {1, 2, 3} ({1, 2, 3, 4} for block 5), se in {False,
True}: 36^6 x 48 ~ 1.0e11 networks, of which the table holds 5,138.

Squeeze-excite as in EfficientNet (Tan & Le 2019, whose reference implementation
reduces to ``max(1, int(C_in * se_ratio))`` with ``se_ratio = 0.25`` of the MBConv layer's
*input* channels, not the expanded ones); the table's MAC column confirms this ratio (it
is reproduced exactly only with it, see :func:`table_convention_macs`): global pool of the
e x C_in depthwise output,
1x1 conv (FC) reduce to ``max(1, C_in // 4)``, 1x1 conv expand back, and a channel-wise
scale (an element-wise ``mul`` of the depthwise output by the gate; a ``vector`` layer
here, since the gate is 1x1 and ``eltwise`` needs equal shapes). BN and swish are fused.

MACs versus the table's ``macs_millions`` (tests/nasaic/test_mnasnet.py): see
docs/nasaic_spaces.md.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping

import numpy as np

from hwsim.errors import SpecError
from hwsim.workload import (Layer, Network, conv2d, depthwise_conv2d, eltwise, global_avgpool,
                            matmul, tensor_bits)

from hwsim.workload.graph import GraphBuilder, NetworkInput

from . import reference_dir as _reference_dir

BLOCKS = 7
STRIDES = (1, 2, 2, 2, 1, 2, 1)
IN_CHANNELS = (32, 16, 24, 40, 80, 112, 192)
OUT_CHANNELS = (16, 24, 40, 80, 112, 192, 320)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
CLASSES = 1000
INPUT_SIZE = 224
SE_RATIO = 0.25
FIELDS = ("e", "k", "l", "se")
#: per block: the allowed values of each choice
CHOICES = tuple({"e": (1, 4, 6), "k": (3, 5), "l": (1, 2, 3, 4) if b == 5 else (1, 2, 3), "se": (False, True)}
                for b in range(BLOCKS))
KEYS = tuple(f"block{b}_{f}" for b in range(BLOCKS) for f in FIELDS)
CSV = "nasbench/accel_nasbench_mnas.csv"
DATASETS = ("imagenet",)


def space_size() -> int:
    return int(np.prod([len(c[f]) for c in CHOICES for f in FIELDS], dtype=object))


def canonical(choices) -> tuple:
    """The 28-tuple (block0_e, block0_k, block0_l, block0_se, block1_e, ...) of a choice
    mapping (a dict, a pandas row) or of such a tuple; SpecError naming the field and value."""
    if isinstance(choices, tuple) and len(choices) == len(KEYS) and not isinstance(choices, Mapping):
        values = dict(zip(KEYS, choices))
    elif isinstance(choices, Mapping) or hasattr(choices, "keys"):
        values = choices
    else:
        raise SpecError(f"field 'choices' = {choices!r}: expected a mapping of {KEYS[0]}, {KEYS[1]}, ...")
    out = []
    for b in range(BLOCKS):
        for f in FIELDS:
            key = f"block{b}_{f}"
            if key not in values:
                raise SpecError(f"field '{key}' is missing from the block choices")
            value = values[key]
            if f == "se":
                if isinstance(value, (bool, np.bool_)):
                    value = bool(value)
                elif isinstance(value, str) and value.strip().lower() in ("true", "false"):
                    value = value.strip().lower() == "true"
                else:
                    raise SpecError(f"field '{key}' = {value!r}: expected true or false")
            else:
                if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                    raise SpecError(f"field '{key}' = {value!r}: expected one of {list(CHOICES[b][f])}")
                value = int(value)
            if value not in CHOICES[b][f]:
                raise SpecError(f"field '{key}' = {value!r}: expected one of {list(CHOICES[b][f])}")
            out.append(value)
    extra = [k for k in values.keys() if isinstance(k, str) and k.startswith("block") and k not in KEYS]
    if extra:
        raise SpecError(f"field '{extra[0]}' = {values[extra[0]]!r}: unknown block choice; valid: block0..6 "
                        "with _e, _k, _l, _se")
    return tuple(out)


def as_dict(key: tuple) -> dict:
    return dict(zip(KEYS, key))


def _layers(key):
    """(block, layer, c_in, c_out, stride, e, k, se) of every MBConv layer."""
    for b in range(BLOCKS):
        e, k, l, se = key[4 * b: 4 * b + 4]
        for i in range(l):
            yield b, i, IN_CHANNELS[b] if i == 0 else OUT_CHANNELS[b], OUT_CHANNELS[b], \
                STRIDES[b] if i == 0 else 1, e, k, se


def se_channels(c_in: int) -> int:
    return max(1, int(c_in * SE_RATIO))


def build(choices, batch: int = 1, bits=8) -> Network:
    """The network of ``choices`` (``{"block0_e": 6, "block0_k": 3, ...}``, all 28 keys)."""
    key = canonical(choices)
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise SpecError(f"field 'batch' = {batch!r}: expected an integer >= 1")
    precision = tensor_bits(bits, "network 'mnasnet'")
    kw = dict(batch=batch, bits=bits)
    name = "mnasnet:" + "-".join(f"e{e}k{k}l{l}{'s' if se else 'n'}" for e, k, l, se in
                                 zip(*[iter(key)] * 4))
    g = GraphBuilder(name)
    x = g.add(conv2d("stem", 3, STEM_CHANNELS, (INPUT_SIZE, INPUT_SIZE), 3, 2, 1, **kw),
              NetworkInput(3, INPUT_SIZE, INPUT_SIZE))
    for b, i, c_in, c_out, stride, e, k, se in _layers(key):
        label = f"b{b}l{i}"
        y = x
        if e != 1:
            y = g.add(conv2d(f"{label}.expand", c_in, e * c_in, (x.p, x.q), 1, **kw), x)
        y = g.add(depthwise_conv2d(f"{label}.dw", y.k, (y.p, y.q), k, stride, k // 2, **kw), y)
        if se:
            pooled = g.add(global_avgpool(f"{label}.se.pool", y.k, (y.p, y.q), **kw), y)
            r = se_channels(c_in)
            red = g.add(conv2d(f"{label}.se.reduce", y.k, r, (1, 1), 1, **kw), pooled)
            gate = g.add(conv2d(f"{label}.se.expand", r, y.k, (1, 1), 1, **kw), red)
            elems = batch * y.k * y.p * y.q
            inb, outb = precision["input_bits"] / 8, precision["output_bits"] / 8
            scale = Layer(name=f"{label}.se.scale", op="vector", n=batch, k=y.k, c=y.k, p=y.p, q=y.q,
                          groups=y.k, in_size=(y.p, y.q), **precision, vector_ops=elems,
                          read_bytes=int((elems + batch * y.k) * inb), write_bytes=int(elems * outb))
            y = g.add(scale, y, gate)
        y = g.add(conv2d(f"{label}.project", y.k, c_out, (y.p, y.q), 1, **kw), y)
        if stride == 1 and c_in == c_out:
            y = g.add(eltwise(f"{label}.add", c_out, (y.p, y.q), "add", 2, **kw), y, x)
        x = y
    x = g.add(conv2d("head", x.k, HEAD_CHANNELS, (x.p, x.q), 1, **kw), x)
    x = g.add(global_avgpool("gap", x.k, (x.p, x.q), **kw), x)
    g.add(matmul("fc", 1, CLASSES, x.k, **kw), x)
    return g.network()


@functools.lru_cache(maxsize=65536)
def macs(choices_key: tuple, se_fc: bool = True, classifier: bool = True) -> int:
    """MACs of a canonical choice tuple without building the network (equals
    ``build(...).macs`` with the defaults; tests); ``se_fc`` / ``classifier`` False leave the
    SE 1x1 convs / the final FC out, for comparing with counters that skip them."""
    size = INPUT_SIZE // 2
    total = 3 * STEM_CHANNELS * 9 * size * size
    for b, i, c_in, c_out, stride, e, k, se in _layers(choices_key):
        mid = e * c_in
        if e != 1:
            total += c_in * mid * size * size
        size = (size + 2 * (k // 2) - k) // stride + 1
        total += mid * k * k * size * size
        if se and se_fc:
            total += 2 * mid * se_channels(c_in)
        total += mid * c_out * size * size
    total += OUT_CHANNELS[-1] * HEAD_CHANNELS * size * size
    if classifier:
        total += HEAD_CHANNELS * CLASSES
    return total


def table_convention_macs(choices_key: tuple) -> int:
    """The table's ``macs_millions`` convention, reverse-engineered by least squares over the
    5,138 rows and then matched exactly (every row, tests): :func:`macs` (conv, SE FC and
    classifier MACs) plus 4 ops per output element of every conv (stem, expand, depthwise,
    project, head -- the BN and activation the authors' profiler counts), 1 op per element
    of the SE channel scale and 1 per SE gate element (its sigmoid, or equally the expand
    FC's bias: the data cannot tell), and the final global pool (1 op per input element
    plus 1 per output). Residual adds and the SE pools are not counted."""
    size = INPUT_SIZE // 2
    extra = 4 * STEM_CHANNELS * size * size
    for b, i, c_in, c_out, stride, e, k, se in _layers(choices_key):
        mid = e * c_in
        if e != 1:
            extra += 4 * mid * size * size
        size = (size + 2 * (k // 2) - k) // stride + 1
        extra += 4 * mid * size * size + 4 * c_out * size * size
        if se:
            extra += mid * size * size + mid
    extra += 4 * HEAD_CHANNELS * size * size + HEAD_CHANNELS * (size * size + 1)
    return macs(choices_key) + extra


# -- the table and sampling ------------------------------------------------------------------------

@functools.lru_cache(maxsize=4)
def _table(path):
    import pandas as pd

    if not path.is_file():
        raise SpecError(f"field 'reference_dir' = '{path.parent.parent}': {CSV} is missing")
    frame = pd.read_csv(path)
    for key in KEYS:
        if key.endswith("_se") and frame[key].dtype != bool:
            frame[key] = frame[key].astype(str).str.lower().eq("true")
    return frame


def table(reference_dir=None):
    """Accel-NASBench's 5,138 networks: ``id``, the 28 block choices, ``val_top1``,
    ``val_top5`` (percent, ImageNet, proxy training), ``macs_millions``, ``params_millions``."""
    return _table(_reference_dir(reference_dir) / CSV).copy()


def table_keys(reference_dir=None) -> list[tuple]:
    """The canonical choice tuples of the table's rows, in row order."""
    frame = _table(_reference_dir(reference_dir) / CSV)
    columns = [frame[k].tolist() for k in KEYS]
    return [tuple(int(v) if not isinstance(v, (bool, np.bool_)) else bool(v) for v in row) for row in zip(*columns)]


def sample(n: int, seed: int, table_only: bool = False, reference_dir=None) -> list[dict]:
    """``n`` choice dicts, seeded: uniform over the whole space (each choice independently),
    or with ``table_only`` uniform over the table's rows (with replacement)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise SpecError(f"field 'n' = {n!r}: expected an integer >= 1")
    rng = np.random.default_rng(seed)
    if table_only:
        keys = table_keys(reference_dir)
        return [as_dict(keys[i]) for i in rng.integers(0, len(keys), size=n)]
    out = []
    for _ in range(n):
        key = []
        for b in range(BLOCKS):
            for f in FIELDS:
                options = CHOICES[b][f]
                key.append(options[int(rng.integers(0, len(options)))])
        out.append(as_dict(tuple(key)))
    return out


def efficientnet_b0() -> dict:
    """EfficientNet-B0's own choices (Accel-NASBench ``EfficientNetSS.efficientnet_b0``; its
    block 5 has 4 layers)."""
    e, k, l = (1, 6, 6, 6, 6, 6, 6), (3, 3, 5, 3, 5, 5, 3), (1, 2, 2, 3, 3, 4, 1)
    return as_dict(tuple(itertools.chain.from_iterable(zip(e, k, l, [True] * BLOCKS))))


# -- genes: the space as 28 categorical choices (what a controller samples) ----------------------------

#: options per gene, in KEYS order (block0_e, block0_k, block0_l, block0_se, block1_e, ...)
GENE_OPTIONS = tuple(len(CHOICES[b][f]) for b in range(BLOCKS) for f in FIELDS)


def decode(genes) -> tuple:
    """The canonical choice tuple of 28 option indices (index into ``CHOICES[b][f]``)."""
    return tuple(CHOICES[i // 4][FIELDS[i % 4]][int(g)] for i, g in enumerate(genes))


def encode(choices) -> tuple[int, ...]:
    """The 28 option indices of a choice mapping or canonical tuple (inverse of :func:`decode`)."""
    key = canonical(choices)
    return tuple(CHOICES[i // 4][FIELDS[i % 4]].index(v) for i, v in enumerate(key))
