"""The fusion planner, kernel traffic and the three-tier roofline: trends and mechanisms."""

import numpy as np
import pytest

from hwsim.errors import SpecError
from hwsim.rdu.fabric import load_rdu
from hwsim.workload.kernels import kernel_table
from hwsim.rdu.planner import check_plan, plan
from hwsim.rdu.timing import allreduce_s, kernel_times
from hwsim.workload.monarch import fft_conv, monarch_fft
from hwsim.workload.footprint import footprint
from hwsim.workload.transformer import decoder

RDU = load_rdu("sn40l")
SMALL = {"name": "small", "layers": 4, "d_model": 1024, "heads": 16, "kv_heads": 4, "d_ff": 2816, "vocab": 8000}


def table(net, mode, rdu=RDU, t=0, keys=0):
    return kernel_table(net, plan(net, rdu, mode), t, keys)


def test_plans_partition_the_network_in_order():
    net = decoder("llama2-7b", "prefill", 1, 512, tp=8)
    unfused, fused = plan(net, RDU, "unfused"), plan(net, RDU, "fused")
    assert len(unfused) == len(net) == 547
    assert [n for k in fused for n in k] == [layer.name for layer in net]
    assert 1 < len(fused) < len(unfused) / 5
    assert check_plan(net, fused) == fused


def test_a_bigger_socket_fuses_more_and_bigger_ops_fuse_less():
    net = decoder(SMALL, "decode", 1, 256)
    counts = [len(plan(net, load_rdu(pcus=p), "fused")) for p in (520, 1040, 2080, 4160)]
    assert all(a >= b for a, b in zip(counts, counts[1:])) and counts[0] > counts[-1]
    by_gemm = [len(plan(net, load_rdu(gemm_min_pcus=g), "fused")) for g in (64, 170, 400)]
    assert by_gemm[0] < by_gemm[1] < by_gemm[2]


def test_fusion_keeps_intermediates_on_chip_but_not_the_work():
    """Prefill at 2k: the unfused plan writes and reads every score matrix through HBM."""
    net = decoder(SMALL, "prefill", 1, 2048)
    u, f = table(net, "unfused", t=2048, keys=2048), table(net, "fused", t=2048, keys=2048)
    assert u.flops.sum() == pytest.approx(f.flops.sum())
    assert u.weight_bytes.sum() >= f.weight_bytes.sum() > 0
    scores = 2048 * 2048 * SMALL["heads"] * 2 * SMALL["layers"]      # BF16 score matrices, one per layer
    assert u.hbm_bytes.sum() - f.hbm_bytes.sum() > 3 * scores          # QK^T writes, softmax reads+writes, AV reads
    assert u.sram_bytes.sum() == pytest.approx(f.sram_bytes.sum())   # every byte still passes the PMUs


def test_decode_reads_the_kv_cache_from_hbm_in_every_plan():
    """One more token of context costs its K and V in every layer, fused or not; unfused,
    also its score: QK^T writes it, softmax reads and writes it, AV reads it."""
    kv_per_token = footprint(SMALL, 1, 1)["kv_cache_bytes_per_token"]
    score_traffic = 4 * SMALL["heads"] * 2 * SMALL["layers"]
    for mode, expected in (("fused", kv_per_token), ("unfused", kv_per_token + score_traffic)):
        short, long = (table(decoder(SMALL, "decode", 1, c), mode, t=1, keys=c + 1).hbm_bytes.sum()
                       for c in (1000, 2000))
        assert (long - short) / 1000 == pytest.approx(expected, rel=0.01)


def test_the_planner_fuses_the_monarch_fft_and_fft_conv_into_one_kernel():
    """(Their per-plan traffic, 8 : 4 : 2 tensors, is tested in tests/workload/test_transformer.py.)"""
    assert len(plan(monarch_fft(), RDU, "fused")) == 1 and len(plan(fft_conv(), RDU, "fused")) == 1
    assert len(plan(fft_conv(), RDU, "unfused")) == 9


def test_roofline_trends_over_bandwidth_clock_and_launch():
    decode = decoder("llama2-7b", "decode", 1, 2048, tp=8)
    prefill = decoder("llama2-7b", "prefill", 4, 2048, tp=8)

    def total(net, rdu, launch="software", weights="hbm", t=1, keys=2049):
        return kernel_times(table(net, "fused", rdu, t, keys), rdu, launch, weights).latency_s.sum()

    bws = [total(decode, load_rdu(hbm_bw_bytes_per_s=b)) for b in (0.9e12, 1.8e12, 3.6e12)]
    assert bws[0] > bws[1] > bws[2]
    clocks = [total(prefill, load_rdu(clock_hz=c), t=2048, keys=2048) for c in (0.8e9, 1.6e9)]
    assert clocks[0] > 1.5 * clocks[1]                  # prefill is compute-bound
    assert total(decode, RDU, "hardware") < total(decode, RDU, "software")
    ddr, hbm = total(decode, RDU, "hardware", "ddr"), total(decode, RDU, "hardware")
    assert ddr > 5 * hbm                                 # 200 GB/s DDR against 1.53 TB/s achievable HBM


def test_allreduce_picks_ring_or_one_shot():
    small, big = 8e3, 64e6
    lat, bw = 1e-6, 100e9
    assert allreduce_s(small, 8, bw, lat) == pytest.approx(2 * lat + 7 * small / bw)
    assert allreduce_s(big, 8, bw, lat) == pytest.approx(14 * lat + 2 * 7 / 8 * big / bw)
    assert float(allreduce_s(big, 1, bw, lat)) == 0.0
    times = [allreduce_s(big, p, bw, lat) for p in (2, 4, 8, 16)]
    assert np.all(np.diff(times) > 0)


def test_bad_plans_and_choices():
    net = monarch_fft()
    with pytest.raises(SpecError, match="no such layer"):
        check_plan(net, [("gemm0", "nope")])
    with pytest.raises(SpecError, match="execution order"):
        check_plan(net, [("mul", "gemm0"), ("transpose", "gemm1")])
    with pytest.raises(SpecError, match="field 'mode'"):
        plan(net, RDU, "half")
    with pytest.raises(SpecError, match="field 'launch'"):
        kernel_times(table(net, "fused"), RDU, "magic")
    with pytest.raises(SpecError, match="needs 170 PCUs"):
        plan(net, load_rdu(pcus=100), "fused")
