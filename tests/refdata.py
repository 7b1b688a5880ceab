"""Where the published reference data lives: ../shared/reference beside the repository.

Outside CI a checkout without it skips the tests that need it; in CI (CI=true) a
missing folder fails them, so validation can never pass by not running.
"""

import os
from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"


def require_reference() -> Path:
    """The reference folder, or skip (outside CI) / fail (in CI) the calling test."""
    if not REFERENCE.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"reference data not found at {REFERENCE}")
        pytest.skip(f"reference data not found at {REFERENCE}")
    return REFERENCE
