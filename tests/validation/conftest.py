"""Every validation test needs ../shared/reference (see tests/refdata.py). Session
scope, so the check runs before any module fixture reads a reference file."""

import pytest

from refdata import require_reference


@pytest.fixture(autouse=True, scope="session")
def _needs_reference():
    require_reference()
