from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"



@pytest.fixture
def toy_template():
    return DATA / "toy.yaml"
