"""Shared fixtures.

Tests that read published data use the ``reference`` fixture (see refdata.py).
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

from hwsim.dataflow.registry import register_model
from refdata import require_reference

# The toy model (tests/toymodels/toy.py) is out-of-tree: registered by name, as a
# plug-in declares itself under the 'hwsim.dataflows' entry-point group.
register_model("toy", "toymodels.toy")

# Property tests are deterministic by default (same examples every run, as CI needs);
# HYPOTHESIS_PROFILE=explore searches with fresh random examples.
settings.register_profile("default", derandomize=True, deadline=None)
settings.register_profile("explore", derandomize=False, deadline=None, max_examples=300)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# Cached co-search cost tables (nasaic.costs) go to a fresh folder per test session, never to
# the user's ~/.cache; subprocesses (the nasaic CLI tests) inherit it.
if "HWSIM_CACHE_DIR" not in os.environ:
    os.environ["HWSIM_CACHE_DIR"] = tempfile.mkdtemp(prefix="hwsim-test-cache-")
    atexit.register(shutil.rmtree, os.environ["HWSIM_CACHE_DIR"], ignore_errors=True)

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def reference() -> Path:
    return require_reference()


@pytest.fixture
def toy_template():
    return DATA / "toy.yaml"
