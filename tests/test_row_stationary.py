"""Unit tests of the row-stationary model (hwsim/dataflow/row_stationary.py, rs_mapping.py, rs_blocks.py).

Trends across parameters (PEs, buffers, bandwidths) are in tests/test_rs_trends.py; the
Eyeriss silicon targets in tests/validation/test_eyeriss.py.
"""

import numpy as np
import pytest

import hwsim
from hwsim.dataflow import row_stationary, rs_blocks, stage
from hwsim.dataflow.base import LayerBatch
from hwsim.errors import MappingError, TemplateError
from hwsim.evaluate import _group_configs
from hwsim.workload import conv2d, depthwise_conv2d, eltwise, matmul, pool2d

LAYERS = [
    conv2d("alex1", 3, 96, 227, 11, 4, batch=2, bits=16),
    conv2d("alex2", 96, 256, 27, 5, 1, 2, groups=2, bits=16),
    conv2d("c3x3", 64, 64, 56, 3, 1, 1),
    conv2d("c1x1", 256, 64, 14, 1),
    conv2d("wide_s", 16, 32, 32, (3, 15), 1, (1, 7)),         # S > ifmap spad: filter row split
    depthwise_conv2d("dw", 32, 28, 3, 1, 1),
    matmul("fc", 4, 1000, 2048),
    pool2d("pool", 64, 56, 3, 2),
    eltwise("add", 64, 28),
]


def run(template, layers=LAYERS, **params):
    return hwsim.evaluate(layers, hwsim.load_template(template, **params)).layers


def activity(template, layers, **params):
    """The model's Activity (what it reports to the shared stage) for one config."""
    (_, configs), = list(_group_configs([hwsim.load_template(template, **params)]))
    return row_stationary.activity(LayerBatch.from_layers(layers), configs)


# -- the mapping's building blocks ------------------------------------------------------

def test_fold_and_replicate_reproduces_eyeriss_sets():
    # JSSC 2017: CONV1 11x55 -> 11x14 strips, CONV2 5x27 -> 14 + 13 stacked, CONV3 3x13 x 4 sets.
    fold = rs_blocks.fold_and_replicate(np.array([11, 5, 3]), np.array([55, 27, 13]), 12, 14)
    assert fold.active.tolist() == [154, 135, 156]
    assert fold.fold_w.tolist() == [4, 1, 1] and fold.sets.tolist() == [1, 1, 4] and fold.fold_h.tolist() == [1, 1, 1]
    assert fold.sets_v.tolist() == [1, 1, 4]                      # CONV3's four sets stacked in the 12 rows


def test_fold_height_when_filter_taller_than_array():
    fold = rs_blocks.fold_and_replicate(np.array([11]), np.array([5]), 4, 8)
    assert fold.fold_h.tolist() == [3] and fold.active.tolist() == [4 * 5]


def test_loop_time_counts_the_short_last_pass():
    steps, passes = rs_blocks.loop_time(np.array([96]), np.array([20]), np.array([1]))
    assert passes.tolist() == [5] and steps.tolist() == [96]
    steps, passes = rs_blocks.loop_time(np.array([10]), np.array([4]), np.array([2]))
    assert passes.tolist() == [2] and steps.tolist() == [4 + 1]


def test_loop_time_never_grows_with_sets():
    extent, per_pe, sets = np.arange(1, 300)[:, None, None], np.arange(1, 30)[None, :, None], np.arange(1, 200)
    steps, passes = rs_blocks.loop_time(extent, per_pe, sets)
    assert (np.diff(steps, axis=2) <= 0).all() and (np.diff(passes, axis=2) <= 0).all()


def test_filter_rows_wider_than_the_ifmap_spad_are_cut_into_equal_segments():
    batch = LayerBatch.from_layers([conv2d("s11", 3, 8, 32, 11)])
    s, n_s, q, p = rs_blocks.pe_block(batch, np.array([[224]]), np.array([[5]]), np.array([[24]]))
    assert (n_s.item(), s.item()) == (3, 4)                       # 11 taps: 4 + 4 + 3, not 5 + 5 + 1
    assert q.item() == 1 and p.item() == 8                        # 5 ifmap words: one channel; all K = 8 filters


# -- what the model reports to the shared stage ------------------------------------------

def test_levels_are_the_spads_as_one_level_the_glb_and_dram():
    a = activity("eyeriss", LAYERS[:2])
    l1, l2, dram = a.levels
    assert (l1.name, l2.name, dram.name, dram.kind) == ("l1", "l2", "dram", "dram")
    assert np.asarray(l1.instances).item() == 168 and np.asarray(l1.capacity_bytes).item() == 520
    # each tensor priced at its own scratchpad (16-bit words): filter 224, ifmap 12, psum 24 words
    assert [np.asarray(l1.capacity_for(t)).ravel()[0] for t in ("weight", "input", "output")] == [448, 24, 48]
    assert np.asarray(l2.bw_bytes_per_cycle).item() == 24.0
    assert a.datapath.mac_bits.item() == 16 and a.datapath.pes.item() == 168


def test_glb_traffic_is_the_array_side_and_accesses_add_the_dram_fills():
    a = activity("rs", LAYERS[:4])
    glb, dram = a.traffic["l2"], a.accesses["dram"]
    assert np.allclose(a.accesses["l2"].total, glb.total + dram.total)
    # every MAC reads a filter and an ifmap word and reads + writes a psum in the spads
    macs = np.array([l.macs for l in LAYERS[:4]], dtype=float)
    spad = a.accesses["l1"]
    assert (spad.weight >= macs).all() and (spad.input >= macs).all() and (spad.output >= 2 * macs).all()


def test_noc_hops_count_multicast_once_with_its_fanout():
    """An ifmap word is delivered once to its diagonal and the filter sets sharing it,
    and travels sqrt(pes)/2 + (fanout - 1) pitches; psums move 1 pitch per PE hop."""
    a = activity("eyeriss", [LAYERS[2]])
    glb, hops = a.traffic["l2"], a.noc_word_hops
    centre = np.sqrt(168) / 2
    assert (hops.input / glb.input > centre).all()               # multicast: more than a unicast
    assert (hops.weight / glb.weight > centre).all()             # a filter row goes along a PE row
    assert (hops.output >= glb.output * centre).all()            # psums unicast plus PE-to-PE hops


def test_energy_components_and_area_models():
    df = run("eyeriss")
    for level in ("mac", "l1", "l2", "noc", "dram", "leakage"):
        assert (df[f"energy_{level}_pj"] >= 0).all() and f"energy_{level}_pj" in df
    default = hwsim.evaluate(LAYERS[2], hwsim.load_template("rs")).total.area_mm2
    maestro = hwsim.evaluate(LAYERS[2], hwsim.load_template("rs", area_model="maestro2020")).total.area_mm2
    assert default > 0 and maestro > 0 and default != maestro


def test_maestro2020_area_is_maestros_closed_form_with_one_lane_per_pe():
    from hwsim.hardware.area import maestro2020_area_um2
    acc = hwsim.load_template("rs", area_model="maestro2020", pes=256, l1_bytes=520, l2_bytes=110592,
                              noc_bw_bytes_per_cycle=64.0, word_bits=8)
    area_um2 = hwsim.evaluate(LAYERS[2], acc).total.area_mm2 * 1e6
    assert area_um2 == pytest.approx(float(maestro2020_area_um2(256, 1, 520, 110592, 64.0)), rel=1e-12)


@pytest.mark.parametrize("template", ["rs", "eyeriss"])
def test_contract(template):
    df = run(template)
    assert df["feasible"].all() and np.isfinite(df.select_dtypes("number").to_numpy()).all()
    mac = df["macs"] > 0
    assert ((df.loc[mac, "utilization"] > 0) & (df.loc[mac, "utilization"] <= 1)).all()
    assert ((df.loc[~mac, "busy_fraction"] > 0) & (df.loc[~mac, "busy_fraction"] <= 1)).all()
    # DRAM traffic counts the same elements as the compulsory traffic: never below it
    compulsory = np.array([l.compulsory_bytes for l in LAYERS])
    assert (df["dram_bytes"].to_numpy() >= compulsory - 1e-6).all()
    assert (df.loc[mac, "active_pes"] <= np.minimum(df.loc[mac, "peak_macs_per_cycle"], df.loc[mac, "macs"])).all()
    assert (df.loc[~mac, "active_pes"] == 0).all()
    assert df.equals(run(template))                                     # deterministic


def test_rs_uses_columns_of_r_pes_and_eyeriss_its_12_rows():
    row = run("rs", pes=256).set_index("layer")
    assert row.loc["c1x1", "array_rows"] == 1 and row.loc["c3x3", "array_rows"] == 3
    assert row.loc["alex1", "array_rows"] == 11 and row.loc["c3x3", "array_cols"] == 256 // 3
    assert (run("eyeriss")["array_rows"][:7] == 12).all()


def test_vector_layers_run_on_the_vector_lanes():
    df = run("rs", pes=64).set_index("layer")
    assert df.loc["add", "compute_cycles"] == np.ceil(LAYERS[-1].vector_ops / 64)
    assert df.loc["add", "active_pes"] == 0 and df.loc["add", "energy_l1_pj"] == 0


def test_vector_layers_alone_map():
    df = run("rs", LAYERS[-2:])
    assert df["feasible"].all() and (df["active_pes"] == 0).all() and (df["latency_cycles"] > 0).all()


def test_datapath_width_is_enforced():
    """A 16-bit layer on an 8-bit datapath runs 2 x 2 passes (the filter fills once:
    a little under 4x); an 8-bit layer on a 16-bit one gains nothing on the MAC
    (one pass, the MAC energy of the 16-bit datapath)."""
    layer = conv2d("c", 64, 64, 28, 3, 1, 1, bits=16)
    wide = hwsim.evaluate(layer, hwsim.load_template("eyeriss")).layers.iloc[0]
    narrow = hwsim.evaluate(layer, hwsim.load_template("eyeriss", word_bits=8)).layers.iloc[0]
    assert 3.8 * wide["compute_cycles"] <= narrow["compute_cycles"] <= 4.0 * wide["compute_cycles"]
    small = hwsim.evaluate(conv2d("c", 64, 64, 28, 3, 1, 1, bits=8), hwsim.load_template("eyeriss")).layers.iloc[0]
    assert small["energy_mac_pj"] == pytest.approx(wide["energy_mac_pj"])


def test_spad_words_from_l1_bytes():
    # 520 B at 16 bits = 260 words, split 224:12:24
    derived = hwsim.load_template("eyeriss", filter_spad_words=0, ifmap_spad_words=0, psum_spad_words=0)
    explicit = hwsim.load_template("eyeriss")
    sixteen = LAYERS[:2]                                                # words are of the layer's bits
    a = run("eyeriss", sixteen, filter_spad_words=0, ifmap_spad_words=0, psum_spad_words=0)
    b = run("eyeriss", sixteen)
    assert derived != explicit and a.equals(b)
    # half the scratchpad: smaller blocks of filters and channels per PE, never faster
    half = run("eyeriss", sixteen, filter_spad_words=0, ifmap_spad_words=0, psum_spad_words=0, l1_bytes=260)
    assert (half["latency_cycles"] >= b["latency_cycles"]).all()
    assert (half["latency_cycles"] > b["latency_cycles"]).any()


def test_ifmap_is_tiled_in_row_strips_not_reread_per_filter_block():
    """A 3x3 layer whose ifmap (all channels: 64 x 56 x 56 B = 196 KiB) is twice the
    GLB but whose row strips fit: when DRAM bandwidth matters, the ifmap crosses
    DRAM about once (the strips' halo rows twice) -- with an all-or-nothing GLB it
    was re-read once per filter block (4 blocks of 18 filters: 2.5x compulsory)."""
    layer = conv2d("c", 64, 64, 56, 3, 1, 1)
    acc = hwsim.load_template("rs", l2_bytes=98304, dram_bw_bytes_per_cycle=1.0)
    row = hwsim.evaluate(layer, acc).layers.iloc[0]
    assert row["dram_bytes"] <= 1.15 * layer.compulsory_bytes
    assert row["glb_tiles"] > 1 and row["bound"] == "compute"


def test_too_small_l1_is_unmappable():
    with pytest.raises(MappingError, match="field 'ifmap_spad_words' = 0.*raise l1_bytes"):
        run("rs", l1_bytes=8)
    df = hwsim.evaluate_many(LAYERS, [hwsim.load_template("rs", l1_bytes=8), hwsim.load_template("rs")])
    assert not df.loc[(df["config"] == 0) & (df["macs"] > 0), "feasible"].any()
    assert df.loc[df["config"] == 1, "feasible"].all()               # the other config still maps


def test_fewer_pes_than_rows_is_unmappable():
    with pytest.raises(MappingError, match="field 'pes' = 8: fewer PEs than pe_rows = 12"):
        run("eyeriss", pes=8)


@pytest.mark.parametrize("field, value", [("pe_rows", -1), ("pes", 2**20 + 1), ("l2_bytes", 2**40 + 1),
                                          ("noc_bw_bytes_per_cycle", 1e-7), ("dram_bw_bytes_per_cycle", 2e9),
                                          ("word_bits", 65)])
def test_parameters_out_of_range_are_template_errors(field, value):
    with pytest.raises(TemplateError, match=field):
        hwsim.load_template("eyeriss", **{field: value})


@pytest.mark.parametrize("field", ["step_timing", "maestro_vector_width"])
def test_maestro_timing_is_not_a_switch_of_the_physical_model(field):
    """MAESTRO 2020's RS accounting is its own model (template maestro_rs)."""
    assert field not in row_stationary.PARAMETERS
    with pytest.raises(TemplateError, match=field):
        hwsim.load_template("rs", **{field: "maestro2020" if field == "step_timing" else 9})


def test_the_model_reports_activity_to_the_shared_stage():
    assert hasattr(row_stationary, "activity") and not hasattr(row_stationary, "cost")
    costs = stage.run(row_stationary, LayerBatch.from_layers(LAYERS),
                      list(_group_configs([hwsim.load_template("rs")]))[0][1])
    assert costs.feasible.all() and set(costs.level_names) == {"l1", "l2", "dram"}
