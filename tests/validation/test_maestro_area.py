"""MAESTRO 2020 area/power closed form (hwsim.hardware.area) against the Area and
Power columns of MAESTRO's KC-P and row-stationary CSVs, every row; and the dla template with
area_model=maestro2020 giving MAESTRO's area for the same settings.

Tolerance: 4 significant digits (the CSVs print 6), i.e. |ours - csv| <= half a unit
in the 4th significant digit of the CSV value (digits.agree_to_4_digits).
"""

import pandas as pd
import pytest

import hwsim
from hwsim.hardware.area import maestro2020_area_um2, maestro2020_power

from digits import agree_to_4_digits

CSVS = ["Resnet50_kcp_ws_pe256.csv", "Resnet50_kcp_ws_pe1024.csv", "MobileNetV2_kcp_ws_pe256.csv",
        "Resnet50_rs_pe256.csv"]


def read(reference, name):
    frame = pd.read_csv(reference / "maestro" / name, skipinitialspace=True)
    frame.columns = [c.strip() for c in frame.columns]
    return frame


def inputs(frame):
    return (frame["NumPEs"].to_numpy(), frame["Vector Width"].to_numpy(), frame["L1 SRAM Size (Bytes)"].to_numpy(),
            frame["L2 SRAM Size (Bytes)"].to_numpy(), frame["NoC BW (Elements/cycle)"].to_numpy())


@pytest.mark.parametrize("name", CSVS)
def test_area_every_row(reference, name):
    frame = read(reference, name)
    ok = agree_to_4_digits(maestro2020_area_um2(*inputs(frame)), frame["Area"])
    assert ok.all(), frame.loc[~ok, "Layer Number"].tolist()


@pytest.mark.parametrize("name", CSVS)
def test_power_every_row(reference, name):
    frame = read(reference, name)
    ok = agree_to_4_digits(maestro2020_power(*inputs(frame)), frame["Power"])
    assert ok.all(), frame.loc[~ok, "Layer Number"].tolist()


@pytest.mark.parametrize("name", CSVS)
def test_dla_template_area_is_maestros(reference, name):
    frame = read(reference, name).drop_duplicates(["NumPEs", "L1 SRAM Size (Bytes)", "L2 SRAM Size (Bytes)"])
    layer = hwsim.workload.conv2d("probe", 1, 1, (1, 1), bits=8)   # fits MAESTRO's smallest L1 (6 B) and L2 (38 B)
    for _, row in frame.iterrows():
        acc = hwsim.load_template(
            "dla", area_model="maestro2020", pes=int(row["NumPEs"]), vector_width=int(row["Vector Width"]),
            l1_bytes=int(row["L1 SRAM Size (Bytes)"]), l2_bytes=int(row["L2 SRAM Size (Bytes)"]),
            noc_bw_bytes_per_cycle=float(row["NoC BW (Elements/cycle)"]), mac_bits=8)
        area_um2 = hwsim.evaluate(layer, acc).total.area_mm2 * 1e6
        assert agree_to_4_digits(area_um2, row["Area"]), (row["Layer Number"], area_um2, row["Area"])
