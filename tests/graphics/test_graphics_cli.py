import json

from hwsim.cli import main


def test_graphics_prints_the_frame_and_the_speedup(capsys):
    assert main(["graphics", "--app", "nerf", "--encoding", "hashgrid", "--scaling-factor", "64",
                 "--resolution", "3840x2160"]) == 0
    out = capsys.readouterr().out
    assert "speedup" in out and "bottleneck" in out and "3840x2160" in out


def test_graphics_json_is_one_object_with_units(capsys):
    assert main(["graphics", "--app", "gia", "--resolution", "8k", "--set", "l2_bytes=12582912", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ngpc"]["scaling_factor"] == 64 and data["gpu"]["width_px"] == 7680
    assert data["ngpc"]["frame_s"] < data["gpu"]["frame_s"]


def test_graphics_errors_are_one_line(capsys):
    for argv in (["--app", "mesh"], ["--scaling-factor", "0"], ["--set", "clock_hz=fast"], ["--set", "warp=1"]):
        assert main(["graphics", *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "Traceback" not in err
