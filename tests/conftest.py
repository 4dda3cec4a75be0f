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


@pytest.fixture(autouse=True, scope="session")
def _station_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test, and every process a test starts, signs with the test station's key in a
    temporary folder (``INTERDICT_KEY``), and a central service with the test central key
    (``INTERDICT_CENTRAL_KEY``): never a key in the real home folder."""
    from tests.parcels.builders import CENTRAL_KEY, KEY

    folder = tmp_path_factory.mktemp("station-key")
    path = folder / "station.key"
    KEY.save(path)
    CENTRAL_KEY.save(folder / "central.key")
    env = {"INTERDICT_KEY": str(path), "INTERDICT_CENTRAL_KEY": str(folder / "central.key")}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield path
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


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


def _db_name(request: pytest.FixtureRequest) -> str:
    return "t_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:12] + \
        f"_{next(_DB_COUNTER)}"


@pytest.fixture
def pg_url(postgres: TempPostgres, request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a fresh, empty database on the session's server (dropped afterwards)."""
    name = _db_name(request)
    yield postgres.create_database(name)
    postgres.drop_database(name)


@pytest.fixture(scope="session")
def _pg_migrated(postgres: TempPostgres) -> str:
    """A database migrated to this code's schema once, copied by :func:`pg_store_url`."""
    from parcels.store.postgres import PostgresStore

    PostgresStore(postgres.create_database("interdict_template"), max_connections=1).close()
    return "interdict_template"


@pytest.fixture
def pg_store_url(postgres: TempPostgres, _pg_migrated: str,
                 request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a fresh database holding this code's (empty) schema: a copy of one
    migrated once, so a store test does not pay for the migration (dropped afterwards)."""
    name = _db_name(request)
    yield postgres.create_database(name, template=_pg_migrated)
    postgres.drop_database(name)


_DB_COUNTER = itertools.count()
