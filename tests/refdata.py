"""Where the published reference data lives: ../shared/reference beside the repository."""

from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
