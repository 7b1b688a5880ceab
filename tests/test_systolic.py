"""Tests of the systolic-array model (hwsim/dataflow/systolic.py), the tpu template and
the SCALE-Sim topology loader (hwsim/workload/scalesim.py)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from hwsim.dataflow import stage, systolic
from hwsim.dataflow.base import ConfigBatch, LayerBatch
from hwsim.errors import MappingError, WorkloadError
from hwsim.evaluate import evaluate
from hwsim.hardware.accelerator import load_template
from hwsim.hardware.technology import load_technology
from hwsim.workload.layer import conv2d, eltwise, matmul, pool2d
from hwsim.workload.scalesim import load_scalesim_topology

TECH = load_technology("accelergy_45nm")
BIG = 1 << 24      # SRAM large enough for every test layer


def run(layers, dataflow="os", fill_drain="array", rows=4, cols=4, sram=BIG, dram_bw=1e9, **over):
    """Cost ``layers`` on one or more configs (array-valued keyword arguments give several)."""
    values = dict(rows=rows, cols=cols, ifmap_sram_bytes=sram, filter_sram_bytes=sram,
                  ofmap_sram_bytes=sram, dram_bw_bytes_per_cycle=dram_bw, mac_bits=8, clock_hz=7e8)
    values.update(over)
    size = max(np.size(v) for v in values.values())
    params = {k: np.broadcast_to(np.asarray(v), (size,)).reshape(-1, 1).copy() for k, v in values.items()}
    configs = ConfigBatch(params=params, options={"dataflow": dataflow, "fill_drain": fill_drain,
                                                  "technology": "accelergy_45nm"},
                          technology=TECH, size=size)
    return stage.run(systolic, LayerBatch.from_layers(layers), configs)


def col(costs, name):
    return costs.extras[name][:, 0] if name in costs.extras else getattr(costs, name)[:, 0]


# -- hand-computed small cases (4 x 4 array) -------------------------------------------

# GEMM (6 x 3) @ (3 x 5): M = 6 output pixels, N = 5 filters, K = 3 window elements.
GEMM = matmul("g", m=6, n=5, k=3)


def test_os_hand_case():
    # OS: Sr = M = 6 on rows, Sc = N = 5 on cols, T = K = 3.
    # Folds: ceil(6/4) x ceil(5/4) = 2 x 2 = 4. Each fold streams T = 3 operand vectors
    # skewed over the full 4 x 4 array: 3 + (4 - 1) + (4 - 1) + 1 = 9 cycles -> 36.
    # SRAM: ifmap read once per column fold: 2 * 6 * 3 = 36; filters once per row fold:
    # 2 * 3 * 5 = 30; each of the 6 * 5 = 30 outputs written once.
    c = run([GEMM], "os")
    assert col(c, "compute_cycles")[0] == 36
    assert (col(c, "row_folds")[0], col(c, "col_folds")[0]) == (2, 2)
    assert col(c, "sram_ifmap_reads")[0] == 36
    assert col(c, "sram_filter_reads")[0] == 30
    assert col(c, "sram_ofmap_writes")[0] == 30
    # mapping efficiency: used PEs 4*4 + 2*4 + 4*1 + 2*1 = 30 of 4 * 16 = 64
    assert col(c, "mapping_efficiency")[0] == pytest.approx(30 / 64)
    # mapped: folds use (rows, cols) = (4,4), (2,4), (4,1), (2,1):
    # (3+4+4-2) + (3+2+4-2) + (3+4+1-2) + (3+2+1-2) = 9 + 7 + 6 + 4 = 26
    assert col(run([GEMM], "os", "mapped"), "compute_cycles")[0] == 26


def test_os_neighbour_forwarding_hand_case():
    # The GEMM above on 4 x 4, os: every ifmap word passes the fold's cols and every filter
    # word its rows, one hop per PE reached: 1 hop per MAC each, 6*5*3 = 90 + 90. Outputs
    # shift out down their column, the one at depth i passing i PEs: row folds of 4 and 2
    # rows -> (1+2+3+4) + (1+2) = 13 per column, 5 columns -> 65. 245 hops of 8-bit words.
    c = run([GEMM], "os")
    assert c.energy_pj["noc"][0, 0] == pytest.approx(245 * TECH.noc_pj_per_hop(8))


def test_subarray_chosen_when_the_full_width_block_does_not_fit():
    # (8 x 16) @ (16 x 8), os on 4 x 4: Sr = M = 8, Sc = N = 8, T = K = 16. Filter SRAM 64 B:
    # its active half holds 32 words. The full array's filter column block K x 4 = 64 words
    # does not fit -> weights re-read per row fold: DRAM 128 + 2 * 128 + 64 = 448 B; at
    # 1 B/cycle, 448 cycles (compute 4 folds * (16 + 4 + 4 - 2) = 88). Two columns: block
    # 16 x 2 = 32 words fits, DRAM 128 + 128 + 64 = 320 B, compute 8 folds * 22 = 176 ->
    # 320 cycles, the least (2 x 2: 16 folds = 352 cycles).
    c = run([matmul("g", m=8, n=8, k=16)], "os", ifmap_sram_bytes=BIG, filter_sram_bytes=64,
            ofmap_sram_bytes=BIG, dram_bw=1.0)
    assert (col(c, "array_rows_used")[0], col(c, "array_cols_used")[0]) == (4, 2)
    assert (col(c, "row_folds")[0], col(c, "col_folds")[0]) == (2, 4)
    assert col(c, "dram_filter_reads")[0] == 128
    assert c.traffic_bytes["dram"][0, 0] == 320 and c.latency_cycles[0, 0] == 320
    assert col(c, "compute_cycles")[0] == 176


def test_layers_wider_than_the_datapath_take_passes():
    # mac_bits = 8: a 16-bit layer takes (16/8)^2 = 4 passes of the folds (skew included),
    # each MAC charged 4 MACs at 8 bits.
    c8 = run([conv2d("c", 8, 16, in_size=(8, 8), kernel=3)], "os")
    c16 = run([conv2d("c", 8, 16, in_size=(8, 8), kernel=3, bits=16)], "os")
    assert c16.compute_cycles[0, 0] == 4 * c8.compute_cycles[0, 0]
    assert c16.energy_pj["mac"][0, 0] == pytest.approx(4 * c8.energy_pj["mac"][0, 0])


def test_ws_hand_case():
    # WS: Sr = K = 3 on rows, Sc = N = 5 on cols, T = M = 6: folds 1 x 2.
    # Per fold: preload the 4-row weight tile (4 cycles), stream 6 ifmap vectors, skew
    # 3 + 3, drain 1: 4 + 6 + 4 + 4 - 2 = 16 cycles -> 32.
    # ifmap read per column fold: 2 * 6 * 3 = 36; each weight once: 15; outputs: 1 row
    # fold -> 6 * 5 = 30 writes, no partial-sum read-back.
    c = run([GEMM], "ws")
    assert col(c, "compute_cycles")[0] == 32
    assert col(c, "sram_ifmap_reads")[0] == 36
    assert col(c, "sram_filter_reads")[0] == 15
    assert col(c, "sram_ofmap_writes")[0] == 30
    assert col(c, "sram_ofmap_reads")[0] == 0
    # mapped: fold cols used 4 and 1, rows 3: (6 + 2*3 + 4 - 2) + (6 + 2*3 + 1 - 2) = 14 + 11
    assert col(run([GEMM], "ws", "mapped"), "compute_cycles")[0] == 25


def test_is_hand_case():
    # IS: Sr = K = 3 on rows, Sc = M = 6 on cols, T = N = 5: folds 1 x 2.
    # Per fold: 4 (preload) + 5 + 4 + 4 - 2 = 15 -> 30. Each im2col ifmap element read
    # once (18); filters once per column fold 2 * 3 * 5 = 30; 5 * 6 = 30 outputs.
    c = run([GEMM], "is")
    assert col(c, "compute_cycles")[0] == 30
    assert col(c, "sram_ifmap_reads")[0] == 18
    assert col(c, "sram_filter_reads")[0] == 30
    assert col(c, "sram_ofmap_writes")[0] == 30


def test_ws_partial_sums_hand_case():
    # (2 x 6) @ (6 x 3) on 4 x 4, WS: Sr = K = 6 -> 2 row folds, Sc = 3, T = M = 2.
    # Per fold 4 + 2 + 4 + 4 - 2 = 12 -> 24 cycles. Each row fold writes 2 * 3 partial
    # sums (12 writes); the second fold reads the first fold's 6 back to accumulate.
    c = run([matmul("g", m=2, n=3, k=6)], "ws")
    assert col(c, "compute_cycles")[0] == 24
    assert col(c, "sram_ofmap_writes")[0] == 12
    assert col(c, "sram_ofmap_reads")[0] == 6


def test_conv_lowering_and_groups():
    # 3x3 conv, 8 -> 16 channels, 6x6 output, groups 2 (per group c = 4, k = 8):
    # OS GEMM per group: M = 36, N = 8, K = 4 * 9 = 36. 8 x 8 array: 5 x 1 folds of
    # 36 + 8 + 8 - 2 = 50 cycles = 250 per group, 2 groups -> 500.
    layer = conv2d("c", 8, 16, in_size=(8, 8), kernel=3, groups=2)
    c = run([layer], "os", rows=8, cols=8)
    assert col(c, "compute_cycles")[0] == 500


def _mapped_by_enumeration(sr, sc, t, rows, cols, stationary):
    """Sum of per-fold cycles, enumerating the folds one by one."""
    total = 0
    for c0 in range(0, sc, cols):
        for r0 in range(0, sr, rows):
            r_used, c_used = min(rows, sr - r0), min(cols, sc - c0)
            total += t + (2 if stationary else 1) * r_used + c_used - 2
    return total


@pytest.mark.parametrize("dataflow", systolic.DATAFLOWS)
def test_mapped_closed_form_matches_fold_enumeration(dataflow):
    rng = np.random.default_rng(1)
    for _ in range(30):
        m, n, k = (int(x) for x in rng.integers(1, 40, 3))
        rows, cols = (int(x) for x in rng.integers(1, 12, 2))
        layer = matmul("g", m=m, n=n, k=k)
        sr, sc, t = {"os": (m, n, k), "ws": (k, n, m), "is": (k, m, n)}[dataflow]
        got = col(run([layer], dataflow, "mapped", rows=rows, cols=cols), "compute_cycles")[0]
        assert got == _mapped_by_enumeration(sr, sc, t, rows, cols, dataflow != "os")


# -- properties ----------------------------------------------------------------------------

LAYERS = [conv2d("c1", 3, 32, in_size=(32, 32), kernel=3, padding=1),
          conv2d("c2", 32, 64, in_size=(16, 16), kernel=3, stride=2, padding=1),
          conv2d("dw", 64, 64, in_size=(8, 8), kernel=3, padding=1, groups=64, op="depthwise_conv2d"),
          conv2d("pw", 64, 10, in_size=(8, 8), kernel=1),
          matmul("fc", m=1, n=100, k=640)]


@pytest.mark.parametrize("dataflow", systolic.DATAFLOWS)
def test_mapped_is_monotone_in_rows_and_cols(dataflow):
    sizes = np.array([1, 2, 3, 4, 7, 8, 16, 31, 64, 128])
    by_rows = run(LAYERS, dataflow, "mapped", rows=sizes, cols=8).compute_cycles
    by_cols = run(LAYERS, dataflow, "mapped", rows=8, cols=sizes).compute_cycles
    assert (np.diff(by_rows, axis=0) <= 0).all()
    assert (np.diff(by_cols, axis=0) <= 0).all()


@pytest.mark.parametrize("dataflow", systolic.DATAFLOWS)
def test_array_fill_drain_bounds(dataflow):
    # SCALE-Sim's full-array skew is never faster than the mapped lower bound, and equal
    # to it when every fold fills the array (all GEMM dims multiples of 4 on 4 x 4).
    sizes = np.array([2, 4, 8, 16, 64])
    full = run(LAYERS, dataflow, "array", rows=sizes, cols=sizes).compute_cycles
    mapped = run(LAYERS, dataflow, "mapped", rows=sizes, cols=sizes).compute_cycles
    assert (full >= mapped).all()
    exact = matmul("g", m=8, n=12, k=16)
    assert (run([exact], dataflow, "array").compute_cycles == run([exact], dataflow, "mapped").compute_cycles).all()
    # more PEs never reduce the number of folds
    folds = run(LAYERS, dataflow, "array", rows=sizes, cols=sizes)
    assert (np.diff(folds.extras["row_folds"] * folds.extras["col_folds"], axis=0) <= 0).all()


@pytest.mark.parametrize("dataflow", systolic.DATAFLOWS)
@pytest.mark.parametrize("sram", [64, 4096, BIG])
def test_contract_properties(dataflow, sram):
    layers = LAYERS + [pool2d("pool", 32, (16, 16), 2), eltwise("add", 64, (8, 8))]
    c = run(layers, dataflow, sram=sram, rows=np.array([4, 16]), cols=np.array([8, 16]), dram_bw=8.0)
    batch = LayerBatch.from_layers(layers)
    assert (c.traffic_bytes["dram"] >= batch.compulsory_bytes - 1e-9).all()
    # MAC utilization counts the fold skew and the memory bounds: in (0, 1]; a vector
    # layer has none, its lanes' busy fraction instead.
    mac = np.broadcast_to(batch.is_mac, c.utilization.shape)
    assert ((c.utilization[mac] > 0) & (c.utilization[mac] <= 1 + 1e-12)).all()
    busy = c.extras["busy_fraction"]
    assert (c.utilization[~mac] == 0).all() and ((busy[~mac] > 0) & (busy[~mac] <= 1)).all()
    # the SRAMs see the array's words and the DRAM fills/drains, never fewer than DRAM's
    sram_words = sum(c.accesses[name] for name in systolic.SRAM_LEVELS)
    assert (sram_words >= c.accesses["dram"]).all()
    energy = sum(c.energy_pj.values())
    for array in [c.compute_cycles, c.latency_cycles, energy, *c.accesses.values()]:
        assert np.isfinite(array).all() and (array >= 0).all()
    again = run(layers, dataflow, sram=sram, rows=np.array([4, 16]), cols=np.array([8, 16]), dram_bw=8.0)
    assert np.array_equal(c.latency_cycles, again.latency_cycles)
    assert c.area_mm2.shape == (2,) and c.peak_macs_per_cycle.tolist() == [32, 256]


@pytest.mark.parametrize("dataflow", systolic.DATAFLOWS)
def test_dram_is_compulsory_when_everything_fits_and_grows_when_not(dataflow):
    batch = LayerBatch.from_layers(LAYERS)
    fits = run(LAYERS, dataflow, sram=BIG)
    assert np.allclose(fits.traffic_bytes["dram"][0], batch.compulsory_bytes[0])
    small = run(LAYERS, dataflow, sram=64)
    assert (small.traffic_bytes["dram"] >= fits.traffic_bytes["dram"]).all()
    assert (small.traffic_bytes["dram"] > fits.traffic_bytes["dram"]).any()


def test_latency_is_dram_bound_with_slow_dram():
    c = run(LAYERS[:1], "os", dram_bw=0.01)
    assert c.bound[0, 0] == c.level_names.index("dram") + 1
    assert c.latency_cycles[0, 0] == pytest.approx(c.traffic_bytes["dram"][0, 0] / 0.01)


def test_vector_layer_runs_on_cols_lanes():
    pool = pool2d("pool", 16, (8, 8), 2)      # 16 * 4 * 4 * 4 = 1024 compares
    c = run([pool], "os", rows=4, cols=32)
    assert col(c, "compute_cycles")[0] == 1024 / 32
    assert c.energy_pj["filter_sram"][0, 0] == 0


def test_tiny_sram_is_flagged_naming_layer_and_field():
    # 1 byte of ifmap SRAM: its active half (0.5 B) holds no 8-bit word, not even for a
    # one-lane sub-array. The point is infeasible (inf latency, NaN energy), not an abort;
    # evaluate() of that config raises.
    layers = LAYERS[:2]
    c = run(layers, "os", rows=16, ifmap_sram_bytes=np.array([1, 2]))
    assert c.feasible.tolist() == [[False, False], [True, True]]
    assert np.isinf(c.latency_cycles[0]).all() and np.isnan(c.energy_pj["mac"][0]).all()
    assert re.search(r"layer 'c1'.*field 'ifmap_sram_bytes' = 1: .*need >= 2 bytes", c.error(LayerBatch.from_layers(layers), 0, 0))
    acc = load_template("tpu", rows=16, cols=4, ifmap_sram_bytes=1)
    with pytest.raises(MappingError, match=r"layer 'c1'.*ifmap_sram_bytes.*= 1"):
        evaluate(layers, acc)


def test_template_loads_and_evaluates():
    acc = load_template("tpu")
    assert (acc["rows"], acc["cols"], acc["dataflow"], acc["clock_hz"]) == (256, 256, "os", 7e8)
    rep = evaluate(LAYERS, acc.with_params(dataflow="ws", rows=32, cols=32))
    assert (rep.layers["compute_cycles"] > 0).all()
    assert {"ifmap_sram_accesses", "dram_accesses", "mapping_efficiency"} <= set(rep.layers.columns)


def test_1000_configs_20_layers_batched_equals_one_by_one():
    # Speed is benchmarked in tests/bench, not asserted here; this checks that the batched
    # path gives each config exactly what costing it alone gives.
    layers = [conv2d(f"c{i}", 8 * (i + 1), 16 * (i % 5 + 1), in_size=(40 - i, 40 - i), kernel=3, padding=1)
              for i in range(20)]
    sizes = np.random.default_rng(0).integers(4, 300, 1000)
    batched = run(layers, "os", rows=sizes, cols=sizes[::-1])
    assert batched.latency_cycles.shape == (1000, 20)
    for i in (0, 1, 499, 998, 999):
        alone = run(layers, "os", rows=int(sizes[i]), cols=int(sizes[::-1][i]))
        np.testing.assert_array_equal(batched.latency_cycles[i], alone.latency_cycles[0])
        np.testing.assert_array_equal(batched.compute_cycles[i], alone.compute_cycles[0])


# -- SCALE-Sim topology loader ----------------------------------------------------------------

def write(tmp_path, text, name="net.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_loader_conv_format_and_implicit_padding(tmp_path):
    path = write(tmp_path, "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
                           "Conv1     ,224 ,224 ,11 ,11 ,3 ,96 ,4 ,\n"
                           "\n"
                           "\tConv2, 27, 27, 5, 5, 96, 256, 1\n"          # no trailing comma
                           "Conv3_dw, 13, 13, 3, 3, 1, 1, 2,#dw\n")        # a comment
    net = load_scalesim_topology(path)
    c1, c2, c3 = net.layers
    # SCALE-Sim: ceil((224 - 11 + 4) / 4) = 55; symmetric padding 2 reproduces it.
    assert (c1.p, c1.q, c1.padding, c1.k, c1.c) == (55, 55, (2, 2), 96, 3)
    assert c1.output_elems == 290400 and c1.input_elems == 224 * 224 * 3
    assert (c2.p, c2.padding) == (23, (0, 0))
    assert (c3.p, c3.stride) == (6, (2, 2))        # ceil((13 - 3 + 2) / 2) = 6
    assert net.name == "net"


def test_loader_two_strides_depthwise_and_duplicates(tmp_path):
    path = write(tmp_path, "Layer name, IFMAP height, IFMAP width, Filter height, Filter width, Channels, Num filter, Stride height, Stride width,\n"
                           "DP1, 10, 12, 3, 3, 8, 1, 1, 2,\n"
                           "L, 10, 10, 1, 1, 4, 4, 1, 1,\n"
                           "L, 10, 10, 1, 1, 4, 4, 1, 1,\n")
    dp, l1, l2 = load_scalesim_topology(path, bits=16, name="x").layers
    assert (dp.groups, dp.k, dp.op, dp.p, dp.q, dp.bits) == (8, 8, "depthwise_conv2d", 8, 6, 16)   # ceil((12 - 3 + 2) / 2) = 6
    assert (l1.name, l2.name) == ("L", "L_2")


def test_loader_gemm_format(tmp_path):
    path = write(tmp_path, "Layer Name, M, N, K,\nTest 1, 256, 128, 64,\n")
    (layer,) = load_scalesim_topology(path).layers
    assert (layer.op, layer.p, layer.k, layer.c, layer.macs) == ("matmul", 256, 128, 64, 256 * 128 * 64)


@pytest.mark.parametrize("row, message", [
    ("C, 10, 10, 3, x, 4, 4, 1,", r"row 2: field 'Filter Width' = 'x'"),
    ("C, 10, 10, 3, 3, 0, 4, 1,", r"row 2: field 'Channels' = 0"),
    ("C, 10, 10, 11, 3, 4, 4, 1,", r"row 2: field 'Filter Height' = 11"),
    ("C, 10, 10, 3,", r"row 2: field 'columns' = 4"),
])
def test_loader_errors_name_file_row_field_value(tmp_path, row, message):
    header = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
    path = write(tmp_path, header + row + "\n")
    with pytest.raises(WorkloadError, match=message) as info:
        load_scalesim_topology(path)
    assert str(path) in str(info.value)


def test_loader_bad_header_and_missing_file(tmp_path):
    with pytest.raises(WorkloadError, match="header"):
        load_scalesim_topology(write(tmp_path, "a,b,c\n1,2,3\n"))
    with pytest.raises(WorkloadError, match="cannot read"):
        load_scalesim_topology(tmp_path / "missing.csv")
