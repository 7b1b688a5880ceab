"""Helpers of the error-contract tests (tests/test_errors.py, tests/test_registry.py):
a toy template on disk, and checks that an error is one line with given words."""

from __future__ import annotations

from pathlib import Path

import pytest

import hwsim
from hwsim import cli

TOY_YAML = """\
name: toy
dataflow: {dataflow}
summary: test-only model
parameters:
  pes: {pes}
  buf_bw_bytes_per_cycle: 64
  dram_bw_bytes_per_cycle: 8
  clock_hz: 1.0e9
  technology: accelergy_45nm
"""
MAESTRO_HEADER = "layer,type,stride,K,C,R,S,Y,X,N\n"
SCALESIM_HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def toy_template(tmp_path, name="toy.yaml", pes="16", dataflow="toy", text=None) -> Path:
    path = tmp_path / name
    path.write_text(text if text is not None else TOY_YAML.format(pes=pes, dataflow=dataflow))
    return path


def toy(tmp_path):
    return hwsim.load_template(toy_template(tmp_path))


def cli_error(capsys, *argv) -> str:
    """Run the command; it must fail with status 2 and exactly one 'hwsim: error:' line."""
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1 and err.startswith("hwsim: error: "), err
    assert "Traceback" not in err
    return err


def raises(error, build, *words):
    """``build()`` raises ``error`` whose one-line message contains every word."""
    with pytest.raises(error) as info:
        build()
    message = str(info.value)
    assert "\n" not in message, message
    for word in words:
        assert word in message, (word, message)
    return message
