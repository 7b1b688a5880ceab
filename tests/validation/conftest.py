"""Every validation test needs ../shared/reference (see the ``reference`` fixture in
tests/conftest.py: skipped outside CI when absent, failed in CI)."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _needs_reference(reference):
    return reference
