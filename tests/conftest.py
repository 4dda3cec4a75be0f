"""Shared fixtures: where the real data written by others lives, and Hypothesis profiles."""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

if TYPE_CHECKING:
    from central.devdb import TempPostgres

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


# --------------------------------------------------------------------------------------
# A real PostgreSQL for the store contract, the central service and the sync tests.
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres() -> Iterator[TempPostgres]:
    """A private PostgreSQL server for the whole session (``central.devdb``), removed after.

    Never skipped: without server binaries the tests using it fail and say how to get them
    (``make test`` installs Debian's ``postgresql`` as root)."""
    from central.devdb import TempPostgres

    with TempPostgres() as pg:
        yield pg


@pytest.fixture
def pg_url(postgres: TempPostgres, request: pytest.FixtureRequest) -> str:
    """The URL of a fresh, empty database on the session's server."""
    name = "t_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:12] + \
        f"_{next(_DB_COUNTER)}"
    return postgres.create_database(name)


_DB_COUNTER = itertools.count()
