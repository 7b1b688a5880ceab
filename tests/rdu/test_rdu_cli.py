"""``hwsim rdu``: JSON with units in keys, OOM as a result, one-line errors."""

import json

import pytest

from hwsim.cli import main


def run(capsys, *argv):
    code = main(["rdu", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_fusion_json_has_every_plan_and_the_speedups(capsys):
    code, out, err = run(capsys, "fusion", "--model", "mistral-7b", "--phase", "decode", "--context", "1024", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert set(result["plans"]) == {"unfused", "fused_software_launch", "fused_hardware_launch"}
    assert all("latency_s" in p and "allreduce_s" in p for p in result["plans"].values())
    assert result["fusion_speedup"] > 1 and result["tokens_per_s_per_user"] > 0


def test_fusion_text_and_overrides(capsys):
    code, out, _ = run(capsys, "fusion", "--phase", "prefill", "--context", "512")
    assert code == 0 and "fusion speedup" in out
    slow = json.loads(run(capsys, "fusion", "--set", "hbm_bw_bytes_per_s=0.9e12", "--json")[1])
    fast = json.loads(run(capsys, "fusion", "--json")[1])
    assert slow["plans"]["fused_hardware_launch"]["latency_s"] > fast["plans"]["fused_hardware_launch"]["latency_s"]


def test_coe_json_and_out_of_memory_is_a_result(capsys):
    code, out, err = run(capsys, "coe", "--experts", "20", "--batch", "2", "--tokens", "8", "--requests", "30",
                         "--system", "dgx-h100", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["requests"] == 30 and 0 <= result["hbm_hit_rate"] <= 1 and result["mean_execute_s"] > 0
    code, out, _ = run(capsys, "coe", "--experts", "150", "--system", "dgx-a100")
    assert code == 0 and "out of memory" in out and "host memory" in out


def test_capacity_json(capsys):
    code, out, _ = run(capsys, "capacity", "--json")
    result = json.loads(out)
    assert code == 0 and result["experts_per_sn40l_node"] > result["experts_per_dgx_node"] > 0


@pytest.mark.parametrize("argv, match", [
    (["fusion", "--model", "llama9"], "unknown decoder"),
    (["fusion", "--set", "link_bw_bytes_per_s=0"], "field 'link_bw_bytes_per_s'"),
    (["fusion", "--set", "wings=2"], "unknown RDU parameter"),
    (["fusion", "--batch", "0"], "field 'batch'"),
    (["coe", "--experts", "0"], "field 'experts'"),
])
def test_bad_input_is_one_line(capsys, argv, match):
    code, out, err = run(capsys, *argv)
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1
