"""Sweeps end to end: rows equal evaluate_many's, chunking, infeasible points,
executors, the Pareto front."""

import numpy as np
import pandas as pd
import pytest

import hwsim
from hwsim.report import dominates
from hwsim.sweep import ProcessExecutor, SerialExecutor, load_sweep_spec, pareto_front, read_results, run_sweep

SPEC = {"name": "small", "network": "resnet18", "template": "dla",
        "parameters": {"grid": {"pes": [64, 256, 1024], "noc_bw_bytes_per_cycle": [16, 64]},
                       "random": {"samples": 5, "seed": 3,
                                  "ranges": {"dram_bw_bytes_per_cycle": {"low": 4, "high": 64, "log": True},
                                             "l2_bytes": [16384, 65536, 262144]}}},
        "derived": {"l1_bytes": "max(64, 131072 // pes)"}}


def run(tmp_path, spec=SPEC, name="out", **options):
    result = run_sweep(spec, tmp_path / name, progress=False, **options)
    return result, read_results(result.out)


def test_rows_equal_evaluate_many_on_the_same_configs(tmp_path):
    result, frame = run(tmp_path)
    assert result.points == len(frame) == 30 and list(frame["point"]) == list(range(30))
    names = ["pes", "noc_bw_bytes_per_cycle", "dram_bw_bytes_per_cycle", "l2_bytes", "l1_bytes"]
    base = hwsim.load_template("dla")
    configs = [base.with_params(**{n: row[n] for n in names}) for _, row in frame.iterrows()]
    expected = hwsim.evaluate_many(hwsim.zoo.get_network("resnet18"), configs, per_layer=False)
    for column in expected.columns.drop(["config", "template"]):
        np.testing.assert_array_equal(frame[column].to_numpy(), expected[column].to_numpy(), err_msg=column)
    np.testing.assert_allclose(frame["edp_pj_s"], expected["energy_pj"] * expected["latency_s"])
    assert frame["l1_bytes"].tolist() == [max(64, 131072 // p) for p in frame["pes"]]


def test_chunked_equals_unchunked(tmp_path):
    _, whole = run(tmp_path, name="whole")
    result, chunked = run(tmp_path, {**SPEC, "chunk_points": 7}, name="chunked")
    assert result.chunks_run == 5 and len(list(result.out.glob("part-*.parquet"))) == 5
    pd.testing.assert_frame_equal(whole, chunked)


def test_an_unmappable_or_invalid_point_is_an_infeasible_row(tmp_path):
    spec = {"network": "resnet18", "template": "dla", "parameters": {"grid": {"pes": [64, 96, 256]}},
            "derived": {"l2_bytes": "max(256, 512 * (pes - 64))",     # 64 PEs: 256 bytes of L2, too few
                        "l1_bytes": "16384 / pes"}}                        # 96 PEs: 170.67 bytes of L1
    result, frame = run(tmp_path, spec)
    assert result.points == 3 and frame["feasible"].tolist() == [False, False, True]
    assert "field 'l2_bytes' = 256" in frame["error"][0] and "no L2 tile fits" in frame["error"][0]
    assert frame["error"][1] == "dla: field 'l1_bytes' = 170.66666666666666: expected an integer"
    assert pd.isna(frame["l1_bytes"][1]) and frame["l1_bytes"][2] == 64 and frame["pes"][1] == 96
    assert np.isinf(frame["latency_cycles"][:2]).all() and frame["energy_pj"][:2].isna().all()
    assert frame["error"][2] == "" and result.feasible == 1


def test_layers_mode_has_one_row_per_point_and_layer(tmp_path):
    spec = {**SPEC, "output": "layers", "network": ["alexnet", "resnet18"]}
    result, frame = run(tmp_path, spec)
    net = hwsim.zoo.get_network("alexnet")
    alex = frame[frame["network"] == "alexnet"]
    assert len(alex) == 30 * len(net.layers) and (alex.groupby("point").size() == len(net.layers)).all()
    _, totals = run(tmp_path, {**SPEC, "network": ["alexnet", "resnet18"]}, name="totals")
    summed = frame.groupby(["point", "network"])["energy_pj"].sum().to_numpy()
    np.testing.assert_allclose(summed, totals.set_index(["point", "network"])["energy_pj"].to_numpy(), rtol=1e-9)
    assert result.best == []


def test_executors_give_identical_results(tmp_path):
    spec = {**SPEC, "chunk_points": 4}
    _, serial = run(tmp_path, spec, name="serial", executor=SerialExecutor())
    result, processes = run(tmp_path, spec, name="processes", executor=ProcessExecutor(2))
    assert result.executor == "processes" and result.workers == 2
    pd.testing.assert_frame_equal(serial, processes)


def test_dask_executor_gives_identical_results(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    spec = {**SPEC, "chunk_points": 10}
    _, serial = run(tmp_path, spec, name="serial")
    # an in-process cluster reached through its address: the --scheduler path, without
    # the seconds a LocalCluster of worker processes takes to start
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        result, dask = run(tmp_path, spec, name="dask", scheduler=cluster.scheduler_address)
    assert result.executor == "dask"
    pd.testing.assert_frame_equal(serial, dask)


def test_pareto_front_equals_brute_force_dominance(tmp_path):
    _, frame = run(tmp_path)
    objectives = [("latency_cycles", "min"), ("energy_pj", "min"), ("utilization", "max")]
    front = pareto_front(frame, objectives)
    values = frame[[c for c, _ in objectives]].to_numpy(float) * [1, 1, -1]
    ok = frame["feasible"].to_numpy()
    brute = [i for i in range(len(frame))
             if ok[i] and not any(ok[j] and dominates(values[j], values[i]) for j in range(len(frame)))]
    assert front.index.tolist() == brute and 0 < len(brute) < ok.sum()


def test_best_points_are_the_extremes(tmp_path):
    result, frame = run(tmp_path)
    feasible = frame[frame["feasible"]]
    best = {b["objective"]: b for b in result.best}
    assert set(best) == {"latency_cycles", "energy_pj", "area_mm2"}
    for column, record in best.items():
        assert record["value"] == feasible[column].min()
        row = frame[frame["point"] == record["point"]].iloc[0]
        assert record["parameters"] == {p: row[p] for p in load_sweep_spec(SPEC).space.names}


def test_string_parameters_are_grouped_and_equal_evaluate_many(tmp_path):
    spec = {"network": "alexnet", "template": "dla", "parameters": {"grid": {
        "technology": ["accelergy_45nm", "eyeriss_65nm"], "pes": [64, 256], "area_model": ["default", "maestro2020"]}}}
    _, frame = run(tmp_path, spec)
    base = hwsim.load_template("dla")
    configs = [base.with_params(technology=t, pes=int(p), area_model=a)
               for t, p, a in zip(frame["technology"], frame["pes"], frame["area_model"])]
    expected = hwsim.evaluate_many(hwsim.zoo.get_network("alexnet"), configs, per_layer=False)
    for column in ("latency_cycles", "energy_pj", "area_mm2", "utilization"):
        np.testing.assert_array_equal(frame[column].to_numpy(), expected[column].to_numpy(), err_msg=column)
    # energy by technology x pes; area also by area model
    assert frame["energy_pj"].nunique() == 4 and frame["area_mm2"].nunique() > 4


def test_executor_choice(monkeypatch):
    from hwsim.errors import HwsimError
    from hwsim.sweep import DaskExecutor, make_executor
    import hwsim.sweep.executors as executors

    monkeypatch.setattr(executors, "available_cores", lambda: 4)
    assert make_executor(1_000).name == "serial"
    assert make_executor(1_000_000).name == "processes" and make_executor(1_000_000).workers == 4
    assert make_executor(1_000_000, workers=1).name == "serial"
    assert make_executor(10, workers=3).workers == 3
    assert isinstance(make_executor(10, scheduler="tcp://h:8786"), DaskExecutor)
    assert make_executor(10, kind="dask", workers=2).workers == 2
    monkeypatch.setattr(executors, "available_cores", lambda: 1)
    assert make_executor(1_000_000).name == "serial"
    with pytest.raises(HwsimError, match="field '--executor' = 'gpu'"):
        make_executor(10, kind="gpu")
    with pytest.raises(HwsimError, match="field '--workers' = 0"):
        make_executor(10, kind="processes", workers=0)
