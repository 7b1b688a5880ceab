"""The SN40L fabric description: published numbers, the geometry constraint, bad input."""

import pytest
import yaml

from hwsim.errors import TemplateError
from hwsim.rdu.fabric import load_rdu, rdu_names


def sn40l(reference) -> dict:
    return yaml.safe_load((reference / "sn40l.yaml").read_text())


def test_sn40l_matches_the_published_socket(reference):
    ref = sn40l(reference)["socket"]
    rdu = load_rdu("sn40l")
    assert rdu.pcus == ref["pcus"] and rdu.pmus == ref["pmus"]
    assert rdu.sram_bytes == pytest.approx(ref["sram_mib"] * 2**20)
    assert rdu.hbm_bytes == ref["hbm_gib"] * 2**30 and rdu.hbm_bw_bytes_per_s == ref["hbm_tbps"] * 1e12
    assert rdu.ddr_bytes == ref["ddr_tib"] * 2**40 and rdu.ddr_bw_bytes_per_s == ref["ddr_gbps"] * 1e9


def test_unpublished_geometry_is_constrained_by_the_published_peak(reference):
    """N_PCU x MACs/cycle x 2 x clock = 638 TFLOPS, at a clock under 2 GHz."""
    ref = sn40l(reference)["socket"]
    rdu = load_rdu("sn40l")
    assert rdu.peak_flops_per_s == pytest.approx(ref["bf16_tflops"] * 1e12, rel=0.005)
    assert rdu.clock_hz < ref["clock_ghz_max"] * 1e9
    node = sn40l(reference)["node_8_socket"]
    assert rdu.sockets * rdu.peak_flops_per_s == pytest.approx(node["pflops"] * 1e15, rel=0.01)


def test_overrides_and_derived_values_follow():
    base = load_rdu("sn40l")
    faster = load_rdu("sn40l", clock_hz=1.8e9)
    assert faster.peak_flops_per_s / base.peak_flops_per_s == pytest.approx(1.8 / 1.6)
    assert faster.ridge_flops_per_byte > base.ridge_flops_per_byte
    assert "sn40l" in rdu_names()


@pytest.mark.parametrize("field, value", [("hbm_bw_bytes_per_s", 0), ("pcus", 0), ("pcus", 10.5),
                                          ("hbm_utilization", 1.5), ("clock_hz", "fast"), ("sockets", True),
                                          ("link_latency_s", float("nan"))])
def test_bad_parameters_name_field_and_value(field, value):
    with pytest.raises(TemplateError, match=f"field '{field}'"):
        load_rdu("sn40l", **{field: value})


def test_unknown_names_and_malformed_files(tmp_path):
    with pytest.raises(TemplateError, match="unknown RDU"):
        load_rdu("sn99")
    with pytest.raises(TemplateError, match="unknown RDU parameter"):
        load_rdu("sn40l", pes=4)
    bad = tmp_path / "x.yaml"
    bad.write_text("name: x\nsocket: {pcus: 4}\nplanner: {}\nnode: {}\n")
    with pytest.raises(TemplateError, match="missing parameter"):
        load_rdu(bad)
    bad.write_text("name: x\nsocket: {pcus: 4, wings: 2}\nplanner: {}\nnode: {}\n")
    with pytest.raises(TemplateError, match="socket.wings"):
        load_rdu(bad)
