"""Station test helpers: the demo library, a store with the sample AED batch, spectra."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

import spectra
from station.workflows.library import (
    DEFAULT_LIBRARY_DIR,
    FIXTURES,
    SYNTHETIC_LIBRARY_DIR,
    build_library_set,
)
from tests.parcels.builders import KEY

AED_BATCH = FIXTURES / "aed" / "sample_batch.jsonl"
FENTANYL_PARCEL = "CP118543022IN"


@pytest.fixture(scope="session")
def demo_library_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo library set (Raman + SYNTHETIC fentanyl, FTIR), built once, on disk."""
    path = tmp_path_factory.mktemp("lib") / "demo.ilib"
    build_library_set(synthetic=True, library_id="interdict-demo").save(path)
    return path


def reference(name: str) -> spectra.Spectrum:
    """A fixture reference spectrum by file stem (either folder)."""
    for folder in (DEFAULT_LIBRARY_DIR, SYNTHETIC_LIBRARY_DIR):
        p = folder / f"{name}.csv"
        if p.is_file():
            return spectra.read(p)[0]
    raise KeyError(name)


def measured_mixture(parts: dict[str, float], *, seed: int = 0) -> spectra.Spectrum:
    """A raw-looking Raman measurement of a mixture of fixture references.

    Each reference is min-max scaled, weighted, summed on a 1 cm⁻¹ detector axis, put on a
    broad background and given shot-like noise.
    """
    rng = np.random.default_rng(seed)
    x = np.arange(180.0, 2000.0, 1.0)
    y = np.zeros_like(x)
    for name, frac in parts.items():
        r = reference(name)
        ry = np.interp(x, r.x, r.y, left=0.0, right=0.0)
        ry = ry - ry.min()
        y += frac * ry / ry.max()
    y = 2000.0 * y + 300.0 + 0.2 * (x - 180.0)
    y = y + rng.normal(0.0, 1.0, x.size) * np.sqrt(y)
    return spectra.Spectrum(
        x, y, technique="raman", y_unit="counts", excitation_nm=785.0,
        acquisition=spectra.Acquisition(instrument_model="TEST-R785", instrument_serial="T1",
                                        acquired_at=datetime(2026, 11, 6, 10, 0, tzinfo=UTC)))


def import_batch(store: object) -> list[str]:
    """Import the sample AED batch into a store; returns the item ids."""
    from parcels.records import Parcel

    rows = [(i, Parcel.model_validate(json.loads(line)))
            for i, line in enumerate(AED_BATCH.read_text(encoding="utf-8").splitlines(), 1)
            if line.strip()]
    store.import_parcels(rows, actor="test", source=AED_BATCH.name)  # type: ignore[attr-defined]
    return [p.item_id for _, p in rows]


@pytest.fixture
def store_path(tmp_path: Path) -> Iterator[Path]:
    """A fresh evidence database with the sample batch imported."""
    from parcels.store import open_store

    db = tmp_path / "evidence.sqlite"
    with open_store(db, signer=KEY) as store:
        import_batch(store)
    yield db
