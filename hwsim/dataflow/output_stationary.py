"""Output-stationary model (ShiDianNao-like, template ``shi``).

The mechanism (Du et al., "ShiDianNao", ISCA 2015; MAESTRO's YX-P dataflow,
shared/reference/maestro/Resnet50_yxp_os.m). The model reports its activity to the
shared cost stage (``hwsim.dataflow.stage``), which turns it into bytes, latency,
energy and area; what is the model's own is below.

* **Spatial unrolling.** The PE array runs a ``rows x cols`` grid of output pixels:
  output rows (P) on the array rows, output columns (Q) on the array columns. Each
  PE owns one output and accumulates it in place over C x R x S (and over the
  output channels of a block of ``k1`` channels it keeps as ``k1`` partial sums).
  Matmul layers (``op == "matmul"``) have a 1-column output plane, so their output
  plane is M x N (rows x output channels), as ShiDianNao maps the output neurons of
  classifier layers across its PEs; depthwise layers are ``g`` independent
  single-channel convolutions mapped one after another.
* **Tiles.** The output plane is cut into ``ceil(Y/rows) x ceil(X/cols)`` spatial
  tiles, split as evenly as the tile count allows (a 10-row plane on 8 rows runs
  two tiles of 5 rows, not 8 + 2), run one after another.
* **Compute cycles** = ``n*g * tiles * K_t * C * R * S``: one MAC per PE per cycle
  (a layer wider than ``mac_bits`` takes several passes, applied by the stage). Few
  output pixels (ResNet-50's 7x7 CONV5 layers on 256 PEs: 49 busy PEs) means low
  utilization: the known weakness of output-stationary arrays for late layers.
* **Fill/drain** = ``rows_used + cols_used`` cycles per layer: shifting in the first
  window and draining the last outputs.
* **NoC (L2 -> PEs) and word-hops.** Weights are broadcast: one word per cycle
  reaches every active PE of the tile (fanout = the tile's PEs; matmul: one word per
  PE column, multicast down the column). Inputs enter at the array edge and shift
  between neighbouring PEs (FIFO-H/FIFO-V in ShiDianNao), so a spatial tile reads
  each element of its input window once per channel and per block of ``k1`` output
  channels (``win_y * win_x`` words, not ``rows*cols*R*S``); every other input a PE
  uses arrives from a neighbour, one hop. Each output is written once (unicast).
  Deliveries from L2 travel ``stage.multicast_hops(pes, fanout)`` pitches.
* **L1 (per PE, ``pes`` instances)** holds ``k1`` partial sums plus
  ``IN_FIFO_WORDS`` input words; ``k1`` is the largest that fits ``l1_bytes`` (at most
  K). Accesses: each MAC reads and writes its partial sum and reads its input
  operand (3 per MAC); each input word that arrives in a PE is written once and used
  for ``k1`` MACs.
* **L2 -> DRAM tiling** (``os_tiling``): L2 holds one tile (an input band, a block
  of filters, their outputs).

**The mapping is chosen by what it costs.** Latency is max(compute, each level's
bytes / bandwidth) + fill. The L2 tile changes only the DRAM traffic, so it is the
fitting tile with the fewest DRAM bytes (then words). The array shape changes
compute, the NoC traffic and the fill: among shapes with ``cols`` and ``rows`` powers
of two (``rows * cols <= pes``, so a layer may use fewer PEs than there are, e.g. to
shorten the fill of a DRAM-bound layer) and the full-height shapes ``rows = pes //
cols``, the one of least bounded latency (with that tile's DRAM bound), then fewest
NoC words, then the first. Every shape available with ``pes`` PEs is available with
``2 * pes``, and each candidate's latency is non-increasing in every buffer size and
bandwidth, so latency is non-increasing in ``pes`` (over powers of two), ``l1_bytes``,
``l2_bytes``, ``noc_bw_bytes_per_cycle`` and ``dram_bw_bytes_per_cycle``.

A layer that cannot map (L1 too small for one partial sum and the FIFO words; no L2
tile fits) is flagged ``stage.Unmappable``.

**Precision** is per tensor: inputs, weights and outputs (partial sums) are stored
and moved at their own widths (the stage prices each word at its tensor's width);
the MAC datapath is ``mac_bits`` wide.

**Area**: the stage's (MACs at ``mac_bits``, ``pes`` L1s, L2, NoC flip-flops); for
``area_model: maestro2020`` MAESTRO's closed form, with one MAC lane per PE
(``MAESTRO_VECTOR_WIDTH = 1``: a ShiDianNao PE has one multiplier and one adder) and
MAESTRO's NoC bandwidth, in elements, taken as ``noc_bw_bytes_per_cycle`` (1-byte
elements, as ``load_maestro_layers`` defaults to 8-bit layers).

Vector (non-MAC) layers follow the stage's policy: ``pes`` ALU lanes, operands
streamed through L2 and DRAM once.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..hardware.area import maestro2020_area_mm2
from ..hardware.memory import MemoryLevel, dram_level
from ..hardware.params import AREA_MODEL, CLOCK_HZ, TECHNOLOGY, Param
from ..units import ceil_div
from .base import ConfigBatch, LayerBatch, bounded_latency
from .common import solve_per_unique
from .os_tiling import dram_tiling, dram_traffic, window_sum
from .stage import Activity, Datapath, Unmappable, Words, cheapest, datapath_passes, multicast_hops

MAX_PES = 2**20
MAX_BYTES = 2**40
BANDWIDTH = dict(minimum=1e-6, inclusive=True, maximum=1e9)

PARAMETERS: dict[str, Param] = {
    "pes": Param(int, "number of processing elements (one MAC each)", maximum=MAX_PES),
    "noc_bw_bytes_per_cycle": Param(float, "L2 -> PE array bandwidth, bytes/cycle", **BANDWIDTH),
    "l1_bytes": Param(int, "per-PE storage (partial sums and input FIFO), bytes", maximum=MAX_BYTES),
    "l2_bytes": Param(int, "global buffer (inputs, weights, outputs), bytes", maximum=MAX_BYTES),
    "dram_bw_bytes_per_cycle": Param(float, "DRAM bandwidth, bytes/cycle", **BANDWIDTH),
    "mac_bits": Param(int, "MAC datapath width, bits: wider layers take several passes; MAC energy and area",
                      maximum=64),
    "clock_hz": CLOCK_HZ,
    "technology": TECHNOLOGY,
    "area_model": AREA_MODEL,
}

# Input words a PE keeps besides its partial sums: one in FIFO-H, one in FIFO-V
# (ShiDianNao's neighbour-to-neighbour input shifting). An hwsim assumption: the
# minimum storage for shifting in both directions.
IN_FIFO_WORDS = 2
# Bytes/cycle a PE can receive from its neighbours (two 32-bit ports); never the
# bound for <= 64-bit layers since a PE consumes at most one input word per MAC.
L1_PORT_BYTES_PER_CYCLE = 8.0
# The maestro2020 area model's MAC lanes per PE and NoC element width (see module docstring).
MAESTRO_VECTOR_WIDTH = 1
MAESTRO_NOC_ELEM_BITS = 8


# -- spatial mapping -----------------------------------------------------------

def output_plane(layers: LayerBatch):
    """(Y, X, K_temporal, is_matmul): the output plane unrolled on the array, the
    output channels iterated in time, and which layers are matmuls (their plane is
    M x N, with no temporal channel loop)."""
    is_mm = layers.is_matmul
    return layers.p, np.where(is_mm, layers.k, layers.q), np.where(is_mm, 1, layers.k), is_mm


def _powers(limit, extent):
    """2^0, 2^1, ... up to ``limit`` and to the first power >= ``extent`` (a larger one
    cuts the plane exactly as that one does)."""
    top = min(int(np.max(limit)).bit_length(), int(np.max(extent) - 1).bit_length() + 1)
    return np.int64(1) << np.arange(max(top, 1), dtype=np.int64)


def shape_candidates(pes, plane_y=None, plane_x=None):
    """Candidate logical shapes, each (S, C, 1): ``cols = 2^i`` with ``rows = 2^j`` or
    the full height ``rows = pes // cols``; ``valid`` marks the shapes with
    ``rows * cols <= pes``. The set for ``pes`` holds the set for ``pes / 2`` when
    ``pes`` is a power of two. Powers beyond the largest output plane (``plane_y``,
    ``plane_x``) are left out: they tile every plane as the first power above it does."""
    pes = np.asarray(pes, dtype=np.int64)
    col_powers = _powers(pes, pes if plane_x is None else plane_x)
    row_powers = _powers(pes, pes if plane_y is None else plane_y)
    cols = col_powers.reshape(-1, 1, 1, 1)                   # (I, 1, 1, 1)
    full = pes[None, None] // cols                           # (I, 1, C, 1)
    rows = np.concatenate([np.broadcast_to(row_powers.reshape(1, -1, 1, 1),
                                           (len(col_powers), len(row_powers)) + pes.shape), full], axis=1)
    cols = np.broadcast_to(cols, rows.shape)
    valid = (rows >= 1) & (cols * rows <= pes[None, None])
    flat = lambda a: a.reshape((-1,) + pes.shape)
    return flat(np.maximum(rows, 1)), flat(cols), flat(valid)


class Shape(NamedTuple):
    """One logical array shape per (candidate or config, layer), and its tiles."""
    rows: np.ndarray
    cols: np.ndarray
    ty: np.ndarray            # spatial tiles along the output rows / columns
    tx: np.ndarray
    rows_used: np.ndarray     # rows / cols of the largest tile (tiles split evenly)
    cols_used: np.ndarray


def tile_plane(plane_y, plane_x, rows, cols) -> Shape:
    """Cut the Y x X output plane into tiles of at most rows x cols, split evenly."""
    ty, tx = ceil_div(plane_y, rows), ceil_div(plane_x, cols)
    return Shape(rows, cols, ty, tx, ceil_div(plane_y, ty), ceil_div(plane_x, tx))


def psums_that_fit(layers: LayerBatch, l1_bytes):
    """The partial sums (at the output width) a PE's L1 holds besides its
    ``IN_FIFO_WORDS`` input words (< 1: the layer cannot map)."""
    return np.floor((l1_bytes - IN_FIFO_WORDS * layers.input_bytes_per_elem)
                    / layers.output_bytes_per_elem).astype(np.int64)


def psums_per_pe(layers: LayerBatch, l1_bytes):
    """``k1``: the partial sums a PE keeps, at most the temporal output channels."""
    _, _, k_t, _ = output_plane(layers)
    return np.clip(np.minimum(psums_that_fit(layers, l1_bytes), k_t), 1, None)


def _flag_small_l1(layers: LayerBatch, l1_bytes, unmappable: Unmappable):
    def need(_, col):
        bi, bo = layers.input_bits[0][col], layers.output_bits[0][col]
        return (f"too small; a PE needs one partial sum of {bo} bits and {IN_FIFO_WORDS} input FIFO words of "
                f"{bi} bits = {(bo + IN_FIFO_WORDS * bi) / 8:g} bytes")
    unmappable.add(layers.is_mac & (psums_that_fit(layers, l1_bytes) < 1), "l1_bytes", l1_bytes, need)


class ArrayWords(NamedTuple):
    """Words moved between L2 and the PE array, and inside it, for one shape."""
    l2: Words                 # L2 -> PE reads (inputs, weights) and PE -> L2 writes (outputs)
    arrivals: np.ndarray      # input words written into PEs (each used for k1 MACs)
    shifts: np.ndarray        # input words passed PE to PE instead of read from L2
    mac_cycles: np.ndarray    # compute cycles of one datapath pass


def array_words(layers: LayerBatch, shape: Shape, k1) -> ArrayWords:
    """NoC words and compute cycles, by the reuse inside the array: a tile reads its
    input window once per channel and per block of ``k1`` output channels (neighbours
    shift the rest in), weights are broadcast once per tile (matmul: once per PE
    column), each output is written once."""
    plane_y, plane_x, k_t, is_mm = output_plane(layers)
    padded_h, padded_w = layers.h + 2 * layers.pad_h, layers.w + 2 * layers.pad_w
    ng, c, rs = layers.n * layers.g, layers.c, layers.r * layers.s
    rows_read = window_sum(plane_y, shape.ty, layers.stride_h, layers.r, layers.dil_h, padded_h)
    cols_read = np.where(is_mm, shape.tx,
                         window_sum(plane_x, shape.tx, layers.stride_w, layers.s, layers.dil_w, padded_w))
    blocks = ceil_div(k_t, k1)
    inputs = ng * blocks * c * rows_read * cols_read
    tiles = shape.ty * shape.tx
    weights = np.where(is_mm, ng * shape.ty * c * plane_x, ng * tiles * k_t * c * rs)
    arrivals = ng * blocks * c * rs * plane_y * plane_x
    return ArrayWords(
        l2=Words(inputs.astype(float), weights.astype(float), layers.output_elems.astype(float)),
        arrivals=arrivals.astype(float),
        shifts=np.maximum(arrivals - inputs, 0).astype(float),
        mac_cycles=(tiles * ng * k_t * c * rs).astype(float),
    )


def word_hops(layers: LayerBatch, shape: Shape, words: ArrayWords, pes) -> Words:
    """NoC word-hops: L2 deliveries travel ``multicast_hops`` (weights to every PE of
    the tile, or of its column for a matmul; inputs to an edge PE; outputs back),
    and every shifted input one pitch."""
    plane_y, plane_x, _, is_mm = output_plane(layers)
    tiles = shape.ty * shape.tx
    fanout = np.where(is_mm, plane_y / shape.ty, plane_y * plane_x / tiles)      # mean PEs per delivery
    unicast = multicast_hops(pes, 1)
    return Words(input=words.l2.input * unicast + words.shifts,
                 weight=words.l2.weight * multicast_hops(pes, fanout),
                 output=words.l2.output * unicast)


# -- the mapping choice ------------------------------------------------------------

def memory_levels(pes, l1_bytes, l2_bytes, noc_bw_bytes_per_cycle, dram_bw_bytes_per_cycle) -> tuple[MemoryLevel, ...]:
    """L1 (per PE, ``pes`` instances, fed by the neighbour ports), L2 (fed to the
    array at the NoC bandwidth) and DRAM; each argument (C, 1)."""
    return (
        MemoryLevel("l1", l1_bytes, pes * L1_PORT_BYTES_PER_CYCLE, instances=pes),
        MemoryLevel("l2", l2_bytes, noc_bw_bytes_per_cycle),
        dram_level(dram_bw_bytes_per_cycle),
    )


def choose_shape(layers: LayerBatch, pes, k1, passes, levels, dram: Words) -> Shape:
    """The shape of least bounded latency (with the chosen tile's DRAM traffic), then
    fewest NoC words, then the first candidate (see the module docstring)."""
    plane_y, plane_x, _, _ = output_plane(layers)
    mac = layers.is_mac
    rows, cols, valid = shape_candidates(pes, np.where(mac, plane_y, 1), np.where(mac, plane_x, 1))  # (S, C, 1)
    cand = tile_plane(plane_y, plane_x, rows, cols)                         # (S, C, L)
    words = array_words(layers, cand, k1)
    traffic = {"l1": Words(input=words.arrivals).bytes(layers), "l2": words.l2.bytes(layers),
               "dram": dram.bytes(layers)}
    latency, _ = bounded_latency(words.mac_cycles * passes, traffic, levels, cand.rows_used + cand.cols_used)
    latency = np.where(valid, latency, np.inf)
    best = cheapest((latency, np.where(valid, words.l2.total, np.inf)))[None]
    pick = lambda a: np.take_along_axis(np.broadcast_to(a, latency.shape), best, axis=0)[0]
    return Shape(*(pick(a) for a in cand))


class Mapping(NamedTuple):
    """What the mapping of one (config, layer) settles: the array shape, the partial
    sums per PE, the DRAM words of the L2 tile and whether a tile fits."""
    shape: Shape
    k1: np.ndarray
    dram: Words
    fits: np.ndarray


def solve_mapping(layers: LayerBatch, pes, l1_bytes, l2_bytes, noc_bw_bytes_per_cycle, dram_bw_bytes_per_cycle,
                  mac_bits) -> Mapping:
    """The L2 tile (fewest DRAM bytes), then the array shape (least bounded latency
    with that tile's DRAM traffic) for configs given as (C, 1) columns."""
    levels = memory_levels(pes, l1_bytes, l2_bytes, noc_bw_bytes_per_cycle, dram_bw_bytes_per_cycle)
    k1 = psums_per_pe(layers, l1_bytes)
    dram, fits = dram_traffic(layers, l2_bytes)
    shape = choose_shape(layers, pes, k1, datapath_passes(layers, mac_bits), levels, dram)
    return Mapping(shape, np.broadcast_to(k1, fits.shape), dram, fits)


# -- the model -------------------------------------------------------------------

# The parameters the mapping depends on, and their types.
MAPPING_PARAMETERS = {"pes": "ints", "l1_bytes": "ints", "l2_bytes": "ints", "noc_bw_bytes_per_cycle": "floats",
                      "dram_bw_bytes_per_cycle": "floats", "mac_bits": "ints"}


def activity(layers: LayerBatch, configs: ConfigBatch) -> Activity:
    """Output-stationary activity of every layer on every config (see the module
    docstring): the mapping (L2 tile, partial sums per PE, array shape), solved once
    per distinct set of the parameters it depends on, then each level's words and the
    NoC word-hops."""
    columns = {name: getattr(configs, kind)(name) for name, kind in MAPPING_PARAMETERS.items()}
    m = solve_per_unique(columns, lambda **c: solve_mapping(layers, **c))
    unmappable = Unmappable("output_stationary")
    _flag_small_l1(layers, configs.ints("l1_bytes"), unmappable)
    unmappable.add(layers.is_mac & ~m.fits, "l2_bytes", configs.ints("l2_bytes"),
                   lambda _, col: f"too small; the smallest tile (one output row, one channel, one filter) "
                                  f"needs {int(dram_tiling(layers)[0][:, col].min())} bytes")
    pes = configs.ints("pes")
    words = array_words(layers, m.shape, m.k1)
    macs = layers.macs.astype(float)
    return Activity(
        levels=memory_levels(*(columns[name] for name in list(MAPPING_PARAMETERS)[:5])),
        accesses={"l1": Words(input=macs + words.arrivals, output=2.0 * macs),
                  "l2": words.l2 + m.dram, "dram": m.dram},
        traffic={"l1": Words(input=words.arrivals), "l2": words.l2},
        compute_cycles=words.mac_cycles,
        fill_drain_cycles=(m.shape.rows_used + m.shape.cols_used).astype(float),
        datapath=Datapath(pes=pes, mac_bits=configs.ints("mac_bits")),
        clock_hz=configs.floats("clock_hz"),
        noc_word_hops=word_hops(layers, m.shape, words, pes),
        noc_bw_bytes_per_cycle=configs.floats("noc_bw_bytes_per_cycle"),
        unmappable=unmappable,
        vector_levels=("l2", "l2"),
        area_mm2=_maestro_area_mm2(configs) if configs["area_model"] == "maestro2020" else None,
        extras=_extras(layers, m.shape, words, m.k1, pes),
    )


def _extras(layers: LayerBatch, shape: Shape, words: ArrayWords, k1, pes):
    """Per-layer report columns (zero for vector layers)."""
    mac = layers.is_mac
    mapping_eff = layers.macs / (pes * np.maximum(words.mac_cycles, 1.0))
    return {
        "array_rows": np.where(mac, shape.rows, 0),
        "array_cols": np.where(mac, shape.cols, 0),
        "active_pes": np.where(mac, shape.rows_used * shape.cols_used, 0),
        "mapping_efficiency": np.where(mac, mapping_eff, 0.0),
        "psums_per_pe": np.where(mac, k1, 0),
    }


def _maestro_area_mm2(configs: ConfigBatch) -> np.ndarray:
    """(C,) MAESTRO's 2020 closed form (one MAC lane per PE, 1-byte NoC elements)."""
    pes, l1, l2 = (np.asarray(configs[name]).reshape(-1) for name in ("pes", "l1_bytes", "l2_bytes"))
    noc = configs.floats("noc_bw_bytes_per_cycle").reshape(-1)
    return maestro2020_area_mm2(pes, MAESTRO_VECTOR_WIDTH, l1, l2, noc, elem_bits=MAESTRO_NOC_ELEM_BITS)
