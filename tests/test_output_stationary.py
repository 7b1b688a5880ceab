"""Output-stationary (ShiDianNao-like) model: hand-worked cases and mechanisms.

No reference run of an output-stationary simulator exists in shared/reference, so
the numbers below are worked out by hand in the comments, from the mechanism in
hwsim/dataflow/output_stationary.py's docstring.
"""


import numpy as np
import pytest

import hwsim
from hwsim.dataflow.os_tiling import band_rows
from hwsim.hardware.technology import load_technology
from hwsim.workload import conv2d, depthwise_conv2d, eltwise, load_maestro_layers, matmul
from refdata import REFERENCE

MAESTRO_RESNET50 = REFERENCE / "maestro" / "Resnet50_layers.csv"
BIG_L2 = 1 << 30


def shi(**overrides):
    return hwsim.load_template("shi", **overrides)


def row(acc, layer):
    return hwsim.evaluate(layer, acc).layers.iloc[0]


def test_tiny_conv_by_hand():
    # 4x4 input, 3x3 filter, C = K = 1, no padding -> 2x2 outputs, 36 MACs, 16-bit words.
    # pes = 4: cols 1 (rows 4): ceil(2/4)*ceil(2/1) = 2 tiles; cols 2 (rows 2): 1 tile;
    # cols 4 (rows 1): 2 tiles -> a 2x2 array, compute = 1 tile * C*R*S = 9 cycles.
    # L1 = 64 B = 32 words -> 30 partial sums, k1 = min(30, K=1) = 1.
    # NoC words: inputs = window 4x4 = 16 (each input read once, then shifted between PEs),
    #   weights = 9 (each broadcast once), outputs = 4 -> 29 words = 58 B.
    # DRAM: the whole layer fits L2 -> compulsory 16 + 9 + 4 words = 58 B.
    # Bounds: compute 9; l1 = 36 arrivals * 2 B / (4 PEs * 8 B) = 2.25; l2 = 58/64; dram = 58/16
    #   = 3.625 -> 9, plus fill/drain rows + cols = 4 -> latency 13 cycles.
    # L1 accesses: 3 per MAC (psum read+write, input read) + 36 arrivals = 144.
    # Inter-PE shifts: 36 arrivals - 16 words read from L2 = 20.
    # NoC word-hops (a delivery from L2 travels sqrt(pes)/2 = 1 pitch, plus one per extra
    # multicast receiver): inputs 16 * 1 + 20 shifts * 1, weights broadcast to the 4 PEs
    # 9 * (1 + 3), outputs 4 * 1 -> 76 hops of 16-bit words.
    acc = shi(pes=4, l1_bytes=64, l2_bytes=BIG_L2, noc_bw_bytes_per_cycle=64, dram_bw_bytes_per_cycle=16)
    layer = conv2d("tiny", 1, 1, (4, 4), 3, bits=16)
    r = row(acc, layer)
    assert (r["array_rows"], r["array_cols"], r["active_pes"]) == (2, 2, 4)
    assert r["compute_cycles"] == 9
    assert r["l2_bytes"] == 58
    assert r["dram_bytes"] == 58 == layer.compulsory_bytes
    assert r["latency_cycles"] == 13
    assert r["l1_accesses"] == 144
    assert r["l2_accesses"] == 29 + 29          # 29 to/from the array + 29 filled/drained from DRAM
    assert r["utilization"] == pytest.approx(36 / (4 * 13))
    tech = load_technology("accelergy_45nm")
    assert r["energy_noc_pj"] == pytest.approx(76 * tech.noc_pj_per_hop(16))
    assert r["energy_mac_pj"] == pytest.approx(36 * tech.mac_pj(16))


def test_1x1_conv_reuses_inputs_across_the_psums_a_pe_holds():
    # 1x1 conv, C = 4, K = 2, 8x8 -> 8x8 outputs, 64 PEs: one 8x8 tile (cols 8, rows 8).
    # l1_bytes = 64 at 16 bits -> k1 = min(30, 2) = 2 partial sums per PE.
    # compute = 1 tile * K*C = 8 cycles (2 * 4 * 64 MACs / 64 PEs: full use).
    # inputs: 1 tile * ceil(K/k1) = 1 * C = 4 * window 8x8 = 256 words; weights 1 * 2 * 4 = 8;
    # outputs 2 * 64 = 128 -> 392 words = 784 B over the NoC.
    # (Memories fast: the layer is compute-bound and the full 8 x 8 array is the fastest shape,
    # 8 + fill 16 = 24 cycles; see the next test for a DRAM-bound one.)
    fast = dict(l2_bytes=BIG_L2, noc_bw_bytes_per_cycle=1e6, dram_bw_bytes_per_cycle=1e6)
    acc = shi(pes=64, l1_bytes=64, **fast)
    r = row(acc, conv2d("pw", 4, 2, (8, 8), 1, bits=16))
    assert (r["compute_cycles"], r["psums_per_pe"], r["active_pes"]) == (8, 2, 64)
    assert r["l2_bytes"] == 392 * 2
    assert r["latency_cycles"] == 24
    # With room for a single partial sum (l1 = 3 words) the inputs are read once per filter: 512 + 8 + 128.
    r1 = row(shi(pes=64, l1_bytes=6, **fast), conv2d("pw", 4, 2, (8, 8), 1, bits=16))
    assert r1["psums_per_pe"] == 1 and r1["l2_bytes"] == (512 + 8 + 128) * 2


def test_dram_bound_layer_may_run_on_part_of_the_array():
    # The same layer with DRAM at 16 B/cycle: 784 compulsory bytes take 49 cycles whatever the
    # shape, so the array shape only decides compute (hidden below 49 cycles) and the fill:
    # 8 x 8: 8 cycles, max(8, 49) + 16 = 65; 4 x 4: 4 tiles of 4 x 4, 32 cycles, 49 + 8 = 57;
    # 2 x 8 / 8 x 2: 4 tiles, 49 + 10 = 59; 2 x 4 and smaller: >= 64 cycles of compute.
    # The least latency uses 16 of the 64 PEs.
    acc = shi(pes=64, l1_bytes=64, l2_bytes=BIG_L2, noc_bw_bytes_per_cycle=1e6, dram_bw_bytes_per_cycle=16)
    r = row(acc, conv2d("pw", 4, 2, (8, 8), 1, bits=16))
    assert (r["array_rows"], r["array_cols"], r["active_pes"]) == (4, 4, 16)
    assert (r["compute_cycles"], r["latency_cycles"], r["bound"]) == (32, 57, "dram")


def test_dram_tiling_by_hand():
    # conv C = 2, K = 2, 4x4 input, 3x3 filter -> 2x2 outputs, 8-bit (1 B words).
    # Compulsory: inputs 32 + weights 36 + outputs 8 = 76 B.
    # Tile = cb*hb*4 (inputs) + kb*cb*9 (weights) + kb*yb*2 (outputs); hb = 4 (yb = 2), 3 (yb = 1).
    # l2 = 60 B: (yb 2, kb 1, cb 2) = 32 + 18 + 4 = 54 fits; bands outer (one band), filters inner,
    #   channels whole -> the input band stays resident, weights read once: 76 B (= compulsory).
    # l2 = 40 B: largest fitting tiles: (yb 2, kb 1, cb 1) = 16 + 9 + 4 = 29 -> channels split, so
    #   the band is re-read per filter block (or weights per band, one band): 64 + 36 + 8 = 108 B;
    #   (yb 1, kb 2, cb 1) = 12 + 18 + 4 = 34 -> 2 bands of 3 rows: inputs 6*4*2 = 48, weights
    #   re-read per band 72, outputs 8 = 128 B; (yb 1, kb 1, cb 1) = 23 -> 96 + 72 + 8 = 176 B.
    #   Best: 108 B.
    # l2 = 20 B: the smallest tile needs 23 B -> MappingError naming l2_bytes.
    layer = conv2d("t", 2, 2, (4, 4), 3, bits=8)
    assert layer.compulsory_bytes == 76
    assert row(shi(l2_bytes=60), layer)["dram_bytes"] == 76
    assert row(shi(l2_bytes=40), layer)["dram_bytes"] == 108
    with pytest.raises(hwsim.MappingError, match=r"layer 't': field 'l2_bytes' = 20.*23 bytes"):
        row(shi(l2_bytes=20), layer)


def test_edge_bands_do_not_read_padding_from_dram():
    # Zero padding is generated on chip: only the real input rows of a band come from DRAM.
    # conv C = K = 1, 4x4 input, 3x3, pad 1, 8-bit (1 B words) -> 4x4 outputs (padded input 6 rows).
    # Compulsory: inputs 16 + weights 9 + outputs 16 = 41 B. Tile = 4*hb + 9 + 4*yb bytes.
    # yb 4 (one band, hb 4): 16 + 9 + 16 = 41 -> l2 = 41 reads the compulsory 41 B.
    # yb 2 (hb 4, 33 B): band 0 = padded rows 0..3, row 0 padding -> 3 real rows; band 1 = rows
    #   2..5, row 5 padding -> 3 -> 6 rows * 4 = 24 + weights 9 (resident) + outputs 16 = 49 B
    #   (57 B if the two padding rows were read).
    # yb 1 (hb 3, 25 B): windows 0..2, 1..3, 2..4, 3..5 -> 2 + 3 + 3 + 2 = 10 rows = 40 + 9 + 16 = 65 B.
    layer = conv2d("p", 1, 1, (4, 4), 3, 1, 1, bits=8)
    assert [row(shi(l2_bytes=l2), layer)["dram_bytes"] for l2 in (41, 40, 30)] == [41, 49, 65]
    # The band count itself, ResNet-50 conv1-like rows: h = 8, 7 taps, stride 2, pad 3 -> 4 output
    # rows over 14 padded rows (padding 0..2 and 11..13). One output row per band: windows
    # 0..6, 2..8, 4..10, 6..12 hold 3, 1, 0, 2 padding rows -> 4 + 6 + 7 + 5 = 22 rows (not 4 * 7).
    # Two per band: windows 0..8 and 4..12 -> 9 - 3 + 9 - 2 = 13. A 1x1 stride-2 conv, pad 1, h = 4
    # reads padded rows 0, 2, 4, of which row 0 is padding -> 2 rows, in one band or three.
    a = lambda v: np.array([[v]])
    assert band_rows(a(1), a(4), a(2), a(7), a(1), a(3), a(8)).item() == 22
    assert band_rows(a(2), a(2), a(2), a(7), a(1), a(3), a(8)).item() == 13
    assert band_rows(a(1), a(3), a(2), a(1), a(1), a(1), a(4)).item() == 2
    assert band_rows(a(3), a(1), a(2), a(1), a(1), a(1), a(4)).item() == 2


def test_last_band_reads_only_the_rows_it_needs():
    # conv C = K = 1, 7x4 input, 3x3, no padding -> 5x2 outputs, 8-bit. Compulsory 28 + 9 + 10 = 47 B.
    # l2 = 40 B: the whole layer (47 B) does not fit; a band of 3 output rows does (5 rows * 4 +
    # 9 + 3*2 = 35 B): bands [0, 3) read rows 0..4 (5), the last band [3, 5) only rows 3..6 (4,
    # not a full 5-row window) -> 9 rows * 4 = 36 + weights 9 (resident) + outputs 10 = 55 B.
    # (2-row bands: 4 + 4 + 3 rows = 44 + 19 = 63 B; 1-row: 15 rows = 79 B.)
    layer = conv2d("b", 1, 1, (7, 4), 3, bits=8)
    assert layer.compulsory_bytes == 47
    assert [row(shi(l2_bytes=l2), layer)["dram_bytes"] for l2 in (47, 40, 30)] == [47, 55, 63]


def test_datapath_width_is_enforced():
    # mac_bits = 16 (ShiDianNao's multiplier): a 32-bit layer takes (32/16)^2 = 4 passes, each
    # MAC charged 4 MACs at 16 bits; on a 32-bit datapath it takes one pass at 32 bits (the same
    # MAC energy, bits^2 scaling) and a bigger MAC area. A 16-bit layer gains nothing from the
    # narrower datapath but its bytes; on the 32-bit datapath its MACs cost the 32-bit energy.
    fast = dict(dram_bw_bytes_per_cycle=1e6, noc_bw_bytes_per_cycle=1e6)
    wide, narrow = (conv2d("w", 16, 16, (16, 16), 3, padding=1, bits=b) for b in (32, 16))
    tech = load_technology("accelergy_45nm")
    r16, r32 = row(shi(mac_bits=16, **fast), wide), row(shi(mac_bits=32, **fast), wide)
    assert r16["compute_cycles"] == 4 * r32["compute_cycles"] == 4 * 9216
    assert r16["energy_mac_pj"] == pytest.approx(4 * wide.macs * tech.mac_pj(16))
    assert r32["energy_mac_pj"] == pytest.approx(wide.macs * tech.mac_pj(32))
    assert r32["area_mm2"] > r16["area_mm2"]
    n16, n32 = row(shi(mac_bits=16, **fast), narrow), row(shi(mac_bits=32, **fast), narrow)
    assert n16["compute_cycles"] == n32["compute_cycles"] == 9216
    assert n32["energy_mac_pj"] == pytest.approx(4 * n16["energy_mac_pj"])


def test_unmappable_points_are_rows_not_aborts():
    layer = conv2d("b", 1, 1, (7, 4), 3, bits=8)
    frame = hwsim.evaluate_many(layer, [shi(l2_bytes=20), shi(l2_bytes=47), shi(l1_bytes=2)])
    assert frame["feasible"].tolist() == [False, True, False]
    assert np.isinf(frame["latency_cycles"][0]) and np.isnan(frame["energy_pj"][0])
    assert "field 'l2_bytes' = 20: too small" in frame["error"][0] and "23 bytes" in frame["error"][0]
    assert "field 'l1_bytes' = 2: too small" in frame["error"][2]


def test_l1_too_small_is_a_mapping_error():
    # 16-bit: one partial sum + two FIFO words = 6 B.
    with pytest.raises(hwsim.MappingError, match=r"layer 'c': field 'l1_bytes' = 4.*6 bytes"):
        row(shi(l1_bytes=4), conv2d("c", 4, 4, (8, 8), 3, bits=16))


def test_few_output_pixels_leave_the_array_idle(reference):
    # ResNet-50 CONV5: 1x1 convs on 7x7 outputs. On 256 PEs the best shape (cols 8, rows 32:
    # 1 tile) keeps 49 PEs busy: utilization <= 49/256 = 0.19. A 56x56 layer on the same array:
    # cols 4 / rows 64 -> ceil(56/64) * ceil(56/4) = 14 tiles, 3136 / (14 * 256) = 0.875.
    acc = shi(pes=256, l2_bytes=BIG_L2, dram_bw_bytes_per_cycle=1e6, noc_bw_bytes_per_cycle=1e6)
    late = row(acc, conv2d("conv5", 2048, 512, (7, 7), 1, bits=16))
    early = row(acc, conv2d("conv2", 64, 256, (56, 56), 1, bits=16))
    assert late["active_pes"] == 49
    assert late["mapping_efficiency"] == pytest.approx(49 / 256)
    assert late["utilization"] <= 49 / 256
    assert early["mapping_efficiency"] == pytest.approx(3136 / (14 * 256))
    # The same mechanism on MAESTRO's ResNet-50 layer table: CONV5 1x1 layers average < 0.2.
    net = load_maestro_layers(MAESTRO_RESNET50, bits=16)
    frame = hwsim.evaluate(net, shi(pes=256)).layers
    conv5_1x1 = frame[frame["layer"].str.match(r"CONV5_\d_[13]$")]
    conv2_1x1 = frame[frame["layer"].str.match(r"CONV2_\d_[13]$")]
    assert len(conv5_1x1) == 6 and conv5_1x1["mapping_efficiency"].max() <= 49 / 256 + 1e-12
    assert conv2_1x1["mapping_efficiency"].min() > 0.8


def test_depthwise_by_hand():
    # 32 channels, 112x112, 3x3, pad 1 -> 112x112 per channel, one filter each (c = k = 1, g = 32).
    # 64 PEs: cols 8 / rows 8 -> 14*14 = 196 tiles (cols 4 or 16 tie; cols 1, 2, 32, 64 give 224).
    # compute = g * tiles * R*S = 32 * 196 * 9 = 56448 cycles (full use: 112 = 14 * 8).
    r = row(shi(), depthwise_conv2d("dw", 32, (112, 112), 3, 1, 1, bits=16))
    assert r["compute_cycles"] == 32 * 196 * 9
    assert r["mapping_efficiency"] == pytest.approx(1.0)


def test_matmul_maps_the_output_matrix():
    # (16 x 32) @ (32 x 16): plane M x N = 16 x 16 on 64 PEs. 4 tiles either as 8 x 8 (2 x 2
    # tiles) or 16 x 4 (1 x 4): compute = 4 tiles * 32 = 128 cycles = 16*16*32 / 64 both.
    # NoC words: an input row (C = 32 words) enters once per column tile and shifts along the
    # row; a weight column once per row tile, multicast down the PE column; outputs once.
    #   8 x 8: inputs 32 * 16 * 2 = 1024, weights 2 * 32 * 16 = 1024, outputs 256 -> 4608 B, 72 cycles
    #   16 x 4: inputs 32 * 16 * 4 = 2048, weights 1 * 32 * 16 = 512 -> 5632 B, 88 cycles
    # Latency: 128 + fill 16 = 144 (8 x 8) vs 128 + 20 = 148 (16 x 4) -> 8 x 8.
    acc = shi(l2_bytes=BIG_L2, dram_bw_bytes_per_cycle=1e6)
    r = row(acc, matmul("mm", 16, 16, 32, bits=16))
    assert r["compute_cycles"] == 128 and r["latency_cycles"] == 144
    assert (r["array_rows"], r["array_cols"]) == (8, 8)
    assert r["l2_bytes"] == (1024 + 1024 + 256) * 2
    # Word-hops, 64 PEs (a delivery from L2: sqrt(64)/2 = 4 pitches, + 1 per extra receiver):
    # inputs 1024 * 4 + shifts (8192 used - 1024 read) * 1; weights to 8 PEs each 1024 * (4 + 7);
    # outputs 256 * 4.
    hops = 1024 * 4 + (8192 - 1024) + 1024 * 11 + 256 * 4
    assert r["energy_noc_pj"] == pytest.approx(hops * load_technology("accelergy_45nm").noc_pj_per_hop(16))
    # A GEMV (M = 1) uses one row of 64 PEs over the N = 1000 outputs: ceil(1000/64) = 16 tiles.
    fc = row(acc, matmul("fc", 1, 1000, 2048, bits=16))
    assert fc["compute_cycles"] == 16 * 2048


def test_vector_layer_runs_on_pe_lanes():
    layer = eltwise("add", 64, (56, 56), bits=16)
    r = row(shi(pes=64), layer)
    assert r["compute_cycles"] == np.ceil(layer.vector_ops / 64)
    assert r["dram_bytes"] == layer.read_bytes + layer.write_bytes
    # the stage's vector policy: one cycle of fill; utilization is MAC-based (0), the lanes'
    # busy fraction is reported instead
    assert r["latency_cycles"] == max(r["compute_cycles"], r["dram_bytes"] / 16) + 1
    assert r["utilization"] == 0 and 0 < r["busy_fraction"] <= 1


LAYERS = [conv2d("c1", 3, 64, (224, 224), 7, 2, 3, bits=16), conv2d("c3", 64, 64, (56, 56), 3, 1, 1),
          conv2d("c5", 2048, 512, (7, 7), 1), depthwise_conv2d("dw", 96, (28, 28), 3, 2, 1),
          matmul("mm", 100, 300, 70), conv2d("odd", 5, 7, (13, 11), (3, 2), (2, 1), (1, 0)),
          eltwise("add", 8, (9, 9))]


def test_more_pes_never_increase_latency():
    # Over powers of two the shapes of pes are among those of 2 * pes (tests/test_shi_tpu_trends.py
    # checks whole networks); here 1 .. 2^20 PEs on odd layers, memories slow and fast.
    for memory in (1.0, 16.0, 1e6):
        accs = [shi(pes=2**i, dram_bw_bytes_per_cycle=memory, noc_bw_bytes_per_cycle=memory) for i in range(21)]
        frame = hwsim.evaluate_many(LAYERS, accs)
        latency = frame.pivot(index="config", columns="layer", values="latency_cycles")
        assert (np.diff(latency.to_numpy(), axis=0) <= 0).all(), memory
        mac = latency[[l.name for l in LAYERS if l.is_mac]].to_numpy()
        assert (mac[-1] < mac[0]).all()


def test_contract_properties():
    accs = [shi(pes=p, l2_bytes=l2) for p in (16, 64, 256) for l2 in (32768, 262144)]
    frame = hwsim.evaluate_many(LAYERS, accs)
    again = hwsim.evaluate_many(LAYERS, accs)
    assert frame.equals(again)
    compulsory = np.tile([l.compulsory_bytes for l in LAYERS], len(accs))
    assert (frame["dram_bytes"] >= compulsory).all()
    mac = frame["macs"] > 0
    assert ((frame.loc[mac, "utilization"] > 0) & (frame.loc[mac, "utilization"] <= 1)).all()
    assert (frame.loc[mac, "active_pes"] <= np.minimum(frame.loc[mac, "peak_macs_per_cycle"], frame.loc[mac, "macs"])).all()
    # L2 serves the array and takes DRAM's fills and drains: never fewer words than DRAM's
    assert (frame["l2_accesses"] >= frame["dram_accesses"]).all()
    assert (frame["latency_cycles"] >= frame["compute_cycles"]).all()
    for i, acc in enumerate(accs):   # batched configs equal one-at-a-time evaluation
        single = hwsim.evaluate(LAYERS, acc).layers
        np.testing.assert_allclose(frame[frame["config"] == i]["latency_cycles"], single["latency_cycles"])


def test_area_models():
    # maestro2020 by hand with vector width 1, pes 64, l1 64 B, l2 256 KiB, noc 64 elements:
    #   PEs 64 * (4470.9014 + 4505.1889 * 1) + L2 4161.536 * 8
    #   + bus 101.7938 * (14.662*64 + 28.895) * 64 + arbiter 395.473 * (1.2886*64^2 + 5.5814*64 - 23.711)
    pe = 64 * (4470.9014 + 4505.1889)
    l2 = 4161.536 * 8
    bus = 101.7938 * (14.662 * 64 + 28.895) * 64
    arbiter = 395.473 * (1.2886 * 64**2 + 5.5814 * 64 - 23.711)
    r = hwsim.evaluate(LAYERS[1], shi(area_model="maestro2020"))
    assert r.total.area_mm2 == pytest.approx((pe + l2 + bus + arbiter) / 1e6)
    default = hwsim.evaluate(LAYERS[1], shi()).total.area_mm2
    # default: 64 PEs * (16-bit MAC + 64 B of SRAM) + 256 KiB of SRAM + (64 + 1) ports * 64 B * 8
    # flip-flops (accelergy_45nm: 5857 um2, 0.692 um2/bit, 4.522 um2 when this was written).
    t = load_technology("accelergy_45nm")
    bit = t.sram_area_um2_per_bit
    expected = (64 * (t.mac_area_um2_16b + 64 * 8 * bit) + 262144 * 8 * bit
                + 65 * 64 * 8 * t.flipflop_area_um2) / 1e6
    assert default == pytest.approx(expected)
