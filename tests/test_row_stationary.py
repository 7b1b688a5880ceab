"""Unit tests of the row-stationary model (hwsim/dataflow/row_stationary.py)."""

import numpy as np
import pytest

import hwsim
from hwsim.dataflow import maestro_rs, rs_mapping
from hwsim.errors import MappingError, TemplateError
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


def test_fold_and_replicate_reproduces_eyeriss_sets():
    # JSSC 2017: CONV1 11x55 -> 11x14 strips, CONV2 5x27 -> 14 + 13 stacked, CONV3 3x13 x 4 sets.
    fold_h, fold_w, sets, active = rs_mapping.fold_and_replicate(np.array([11, 5, 3]), np.array([55, 27, 13]), 12, 14)
    assert active.tolist() == [154, 135, 156]
    assert fold_w.tolist() == [4, 1, 1] and sets.tolist() == [1, 1, 4] and fold_h.tolist() == [1, 1, 1]


def test_fold_height_when_filter_taller_than_array():
    fold_h, _, _, active = rs_mapping.fold_and_replicate(np.array([11]), np.array([5]), 4, 8)
    assert fold_h.tolist() == [3] and active.tolist() == [4 * 5]


def test_loop_time_counts_the_short_last_pass():
    steps, passes = rs_mapping.loop_time(np.array([96]), np.array([20]), np.array([1]))
    assert passes.tolist() == [5] and steps.tolist() == [96]
    steps, passes = rs_mapping.loop_time(np.array([10]), np.array([4]), np.array([2]))
    assert passes.tolist() == [2] and steps.tolist() == [4 + 1]


@pytest.mark.parametrize("template", ["rs", "eyeriss"])
def test_contract_properties(template):
    df = run(template)
    acc = hwsim.load_template(template)
    assert np.isfinite(df.select_dtypes("number").to_numpy()).all()
    assert ((df["utilization"] > 0) & (df["utilization"] <= 1)).all()
    assert (df["latency_cycles"] >= df["compute_cycles"]).all()
    assert (df["latency_cycles"] >= df["dram_bytes"] / acc["dram_bw_bytes_per_cycle"] - 1e-6).all()
    assert (df["latency_cycles"] >= df["l2_bytes"] / acc["noc_bw_bytes_per_cycle"] - 1e-6).all()
    compulsory = [l.compulsory_bytes for l in LAYERS]
    assert (df["dram_bytes"].to_numpy() >= np.asarray(compulsory) - 1e-6).all()
    tech = acc.technology
    mac_pj = np.array([tech.mac_pj(l.bits) * l.macs for l in LAYERS])
    assert (df["energy_pj"].to_numpy() >= mac_pj).all()
    assert df.equals(run(template))                                     # deterministic


@pytest.mark.parametrize("template", ["rs", "eyeriss"])
def test_more_pes_never_add_compute_cycles(template):
    base = hwsim.load_template(template)
    accs = [base.with_params(pes=n) for n in range(12, 400, 7)]
    df = hwsim.evaluate_many(LAYERS, accs)
    cycles = df.pivot(index="config", columns="layer_index", values="compute_cycles").to_numpy()
    assert (np.diff(cycles, axis=0) <= 1e-9).all()


def test_rs_uses_columns_of_r_pes_and_eyeriss_its_12_rows():
    df = run("rs", pes=256)
    row = df.set_index("layer")
    assert row.loc["c1x1", "array_rows"] in (1, 2, 4, 8)
    assert row.loc["c3x3", "array_rows"] % 3 == 0
    assert (run("eyeriss")["array_rows"][:7] == 12).all()


def test_vector_layers_use_vector_cycles():
    df = run("rs", pes=64).set_index("layer")
    assert df.loc["add", "compute_cycles"] == np.ceil(LAYERS[-1].vector_ops / 64)
    assert df.loc["add", "active_pes"] == 0


def test_spad_words_from_l1_bytes():
    # 520 B at 16 bits = 260 words, split 224:12:24
    derived = hwsim.load_template("eyeriss", filter_spad_words=0, ifmap_spad_words=0, psum_spad_words=0)
    explicit = hwsim.load_template("eyeriss")
    sixteen = LAYERS[:2]                                                # words are of the layer's bits
    a = run("eyeriss", sixteen, filter_spad_words=0, ifmap_spad_words=0, psum_spad_words=0)
    b = run("eyeriss", sixteen)
    assert derived != explicit and a.equals(b)
    # half the scratchpad -> smaller blocks of filters per PE: never faster
    assert (run("eyeriss", sixteen, filter_spad_words=0, ifmap_spad_words=0, psum_spad_words=0, l1_bytes=260)
            ["compute_cycles"] >= b["compute_cycles"]).all()


def test_too_small_l1_is_a_mapping_error():
    with pytest.raises(MappingError, match="l1_bytes|spad"):
        run("rs", l1_bytes=8)


def test_fewer_pes_than_rows_is_a_mapping_error():
    with pytest.raises(MappingError, match="'pes'"):
        run("eyeriss", pes=8)


def test_bad_parameter_is_a_template_error():
    with pytest.raises(TemplateError, match="pe_rows"):
        hwsim.load_template("eyeriss", pe_rows=-1)


def test_energy_levels_and_area_models():
    df = run("eyeriss")
    for level in ("mac", "l1", "l2", "noc", "dram", "leakage"):
        assert f"energy_{level}_pj" in df
    default = hwsim.evaluate(LAYERS[2], hwsim.load_template("rs")).total.area_mm2
    maestro = hwsim.evaluate(LAYERS[2], hwsim.load_template("rs", area_model="maestro2020")).total.area_mm2
    assert default > 0 and maestro > 0 and default != maestro


# -- step_timing: maestro2020 (MAESTRO 2020's RS accounting) --------------------------------

def maestro_run(layers, pes=12, lanes=9, **params):
    return run("rs", layers, pes=pes, noc_bw_bytes_per_cycle=1024.0, step_timing="maestro2020",
               maestro_vector_width=lanes, **params)


def test_default_step_timing_is_pipelined():
    assert hwsim.load_template("rs")["step_timing"] == "pipelined"
    assert hwsim.load_template("eyeriss")["step_timing"] == "pipelined"
    assert "maestro_steps" not in run("rs")


def test_maestro_cluster_runtime_rules():
    """Hand-derived from MAESTRO's source (see maestro_cluster_runtime): 1x1 -> compute 1 +
    init ingress 1; 3x3 on Cluster(3) -> 0 (output width 2 - S < 0, step skipped);
    7x7 with C = 3 on Cluster(3) -> edge fold, ceil(7/3) x ceil(2*3*7*7*7/9) = 687;
    7x7 on Cluster(9) -> 0."""
    from hwsim.dataflow.base import LayerBatch
    layers = LayerBatch.from_layers([conv2d("a", 64, 64, 56, 1), conv2d("b", 64, 64, 56, 3),
                                     conv2d("c", 3, 64, 224, 7, 2), conv2d("d", 2048, 1000, 7, 7)])
    k_t = np.array([[2, 2, 2, 2]])
    c_t = np.array([[4, 4, 3, 4]])
    cluster = np.array([[3, 3, 3, 9]])
    got = maestro_rs.maestro_cluster_runtime(layers, k_t, c_t, cluster, 9, 1024.0)
    assert got.tolist() == [[2, 0, 687, 0]]
    assert maestro_rs.maestro_cluster_pes(layers).tolist() == [[3, 3, 3, 9]]


def test_maestro_runtime_by_hand():
    # 3x3, C = 8, K = 6, 10x10 -> 8x8 on 12 PEs = 4 clusters of 3: steps = 3 K-tiles x 2 C-tiles
    # x 8 columns x 2 row folds = 96, each 1 cycle (inner compute skipped, NoC 1 cycle); first
    # step's ingress 2*4*9 + 4*4*9 = 216 elements = 1 cycle -> 96.
    three = maestro_run([conv2d("c", 8, 6, 10, 3)]).iloc[0]
    assert three["maestro_steps"] == 96 and three["compute_cycles"] == 96
    # 1x1, C = 6 (tiles 4 + 2), K = 4, 5x5 on 4 clusters: 2 x 2 x 5 x 2 = 40 steps. With 1 lane
    # the inner cluster takes 2*4 + 1 = 9 (full C tile) or 2*2 + 1 = 5 cycles (edge tile):
    # 2 x 10 x 9 + 2 x 10 x 5 = 280, plus 1 for the first step's ingress -> 281. With 9 lanes
    # every step is 1 + 1 = 2: 80 + 1 = 81.
    assert maestro_run([conv2d("p", 6, 4, 5, 1)], lanes=1).iloc[0]["compute_cycles"] == 281
    assert maestro_run([conv2d("p", 6, 4, 5, 1)], lanes=9).iloc[0]["compute_cycles"] == 81


def test_maestro_timing_keeps_the_contract():
    df = maestro_run(LAYERS, pes=256)
    assert np.isfinite(df.select_dtypes("number").to_numpy()).all()
    assert ((df["utilization"] > 0) & (df["utilization"] <= 1)).all()
    assert (df["latency_cycles"] >= df["compute_cycles"]).all()
    pipelined = run("rs", LAYERS, pes=256).set_index("layer")
    df = df.set_index("layer")
    for vector in ("pool", "add"):                                     # vector layers unchanged
        assert df.loc[vector, "compute_cycles"] == pipelined.loc[vector, "compute_cycles"]
    assert df.equals(maestro_run(LAYERS, pes=256).set_index("layer"))  # deterministic


def test_maestro_timing_needs_a_whole_cluster():
    with pytest.raises(MappingError, match="'pes' = 2.*Cluster\\(3,P\\)"):
        maestro_run([conv2d("c", 8, 6, 10, 3)], pes=2, pe_rows=0)
