"""Shared fixtures: where the real data written by others lives, and Hypothesis profiles."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("INTERDICT_SHARED_DATA", ROOT.parent / "shared" / "data"))

settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real files written by others); the test is skipped when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(autouse=True, scope="session")
def _station_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test, and every process a test starts, signs with the test station's key in a
    temporary folder (``INTERDICT_KEY``): never a key in the real home folder."""
    from tests.parcels.builders import KEY

    path = tmp_path_factory.mktemp("station-key") / "station.key"
    KEY.save(path)
    old = os.environ.get("INTERDICT_KEY")
    os.environ["INTERDICT_KEY"] = str(path)
    yield path
    if old is None:
        os.environ.pop("INTERDICT_KEY", None)
    else:
        os.environ["INTERDICT_KEY"] = old
