"""Fixtures of the parcels tests: a fresh evidence store in a temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from parcels.store import SQLiteStore

from .builders import KEY


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "evidence.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(db_path, synchronous="NORMAL", signer=KEY) as s:
        yield s
