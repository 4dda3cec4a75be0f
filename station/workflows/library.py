"""Build the embedded default library from the embedded fixtures (and, for the demo, the
SYNTHETIC set).

The fixtures are the package data ``station.fixtures`` (``fixtures/`` in a source tree,
``station/fixtures/`` in an installed wheel), found through :mod:`importlib.resources`.

A folder holds spectrum files and an ``index.csv`` (``file, id, name, cas, category,
technique, schedule, synthetic, source, licence, excitation_nm[, notes]``; see
``fixtures/README.md``). Columns the library entry does not know (``notes``) are read and
ignored; every other problem names the index file, its line and the column.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

import spectra
from station.errors import ReferenceIndexError

if TYPE_CHECKING:
    from matcher.library import EntryMeta, Library, LibrarySet
    from spectra import Pipeline
    from station.config import StationConfig



def _fixtures() -> Path:
    root = resources.files("station.fixtures")
    if not isinstance(root, Path):  # a zipped install: the simulator needs real files
        raise RuntimeError(f"the embedded fixtures are inside an archive ({root}); install "
                           "Interdict unpacked (as pip does)")
    return root


FIXTURES = _fixtures()
"""The embedded defaults (package data ``station.fixtures``)."""
DEFAULT_LIBRARY_DIR = FIXTURES / "library"
SYNTHETIC_LIBRARY_DIR = FIXTURES / "library-synthetic"
FTIR_LIBRARY_DIR = FIXTURES / "library-ftir"

_META_COLUMNS = ("id", "name", "synonyms", "cas", "category", "schedule", "technique",
                 "excitation_nm", "source", "licence", "synthetic")


def read_index(folder: str | os.PathLike[str]) -> Iterator[tuple[EntryMeta, spectra.Spectrum]]:
    """Each entry of a reference folder's ``index.csv``: its metadata and its spectrum.

    Columns ``file`` and ``name`` are required; any of ``id, synonyms (;-separated), cas,
    category, schedule, technique, excitation_nm, source, licence, synthetic`` may follow.
    Empty cells take the defaults; unknown columns (notes) are ignored. A spectrum whose
    file does not say what was measured takes the technique (and so its x unit) from the
    index.

    Raises
    ------
    ReferenceIndexError
        Missing index, missing column, bad value (file, line and column named).
    spectra.FormatError
        A spectrum file cannot be read.
    """
    for path, meta in index_rows(folder):
        spectrum = spectra.read(path)[0]
        changes: dict[str, Any] = {"title": meta.name, "source": str(path)}
        if spectrum.technique is spectra.Technique.OTHER and meta.technique is not None:
            changes["technique"] = meta.technique
        tech = spectra.Technique(changes.get("technique", spectrum.technique))
        if spectrum.x_unit is spectra.XUnit.OTHER and tech is spectra.Technique.RAMAN:
            changes["x_unit"] = spectra.XUnit.RAMAN_SHIFT
        elif spectrum.x_unit is spectra.XUnit.OTHER and tech.is_infrared:
            changes["x_unit"] = spectra.XUnit.WAVENUMBER
        yield meta, spectrum.replace(**changes)


def index_rows(folder: str | os.PathLike[str]) -> Iterator[tuple[Path, EntryMeta]]:
    """Each row of a reference folder's ``index.csv``: the spectrum file and its metadata,
    without reading the file (see :func:`read_index` for the columns).

    Raises
    ------
    ReferenceIndexError
        Missing index, missing column, bad value (file, line and column named).
    """
    from pydantic import ValidationError

    from matcher.library import EntryMeta

    base = Path(folder)
    index = base / "index.csv"
    try:
        fh = index.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ReferenceIndexError(f"{index}: cannot open: {exc.strerror}") from exc
    with fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("file", "name") if c not in (reader.fieldnames or [])]
        if missing:
            raise ReferenceIndexError(f"{index}:1: missing column(s) {', '.join(missing)}")
        for lineno, row in enumerate(reader, start=2):
            where = f"{index}:{lineno}"
            values: dict[str, Any] = {}
            for col in _META_COLUMNS:
                cell = (row.get(col) or "").strip()
                if cell:
                    values[col] = cell
            if "synonyms" in values:
                values["synonyms"] = tuple(v.strip() for v in values["synonyms"].split(";"))
            if "synthetic" in values:
                flag = values["synthetic"].lower()
                if flag not in ("true", "false", "yes", "no", "1", "0"):
                    raise ReferenceIndexError(
                        f"{where}: synthetic: expected true/false, got {flag!r}"
                    )
                values["synthetic"] = flag in ("true", "yes", "1")
            try:
                meta = EntryMeta(**values)
            except ValidationError as exc:
                err = exc.errors()[0]
                col = ".".join(map(str, err["loc"]))
                raise ReferenceIndexError(f"{where}: {col}: {err['msg']}") from exc
            file = (row.get("file") or "").strip()
            if not file:
                raise ReferenceIndexError(f"{where}: file: empty")
            yield base / file, meta


HANDHELD_ATR_RANGE: tuple[float, float, float] = (650.0, 1800.0, 2.0)
"""Axis of the embedded FTIR library: start, stop, step (cm⁻¹). A diamond-ATR handheld
measures 4000-650 cm⁻¹ (so does the simulator's ``ftir-atr`` profile); the matcher's default
FTIR axis starts at 450 cm⁻¹ for the RRUFF minerals. A library reaching below what the
device sees scores a region the query can only fill with its edge value: the PET reference,
whose largest values lie below 650 cm⁻¹, scored HQI 67 against its own ≥ 650 cm⁻¹ part
on the 450-1800 axis, and 100 on this one."""


def _pipeline_and_axis(technique: str) -> tuple[Pipeline, NDArray[np.float64]]:
    """The matcher's default pipeline and axis; for FTIR restricted to the handheld range."""
    from matcher import defaults

    pipeline, axis = defaults.pipeline_for(technique), defaults.axis_for(technique)
    if not spectra.Technique(technique).is_infrared:
        return pipeline, axis
    start, stop, step = HANDHELD_ATR_RANGE
    steps = [(st.name, {**st.params, "start": start, "stop": stop, "step": step}
              if st.name == "resample" else dict(st.params)) for st in pipeline.steps]
    return spectra.Pipeline.of(*steps), spectra.grid(start, stop, step)


def build_library(folders: Sequence[str | os.PathLike[str]], *, library_id: str,
                  technique: str = "raman") -> Library:
    """Build a library from reference folders with the matcher's default pipeline.

    Parameters
    ----------
    folders
        Folders with an ``index.csv``; their entries are concatenated (ids must be unique).
    library_id
        The library's name (recorded in every result).
    technique
        ``"raman"`` or ``"ftir-atr"``: every entry must be of this technique.

    The axis and pipeline are :mod:`matcher.defaults` (what the matcher was tuned with),
    the FTIR axis restricted to what a handheld ATR measures (:data:`HANDHELD_ATR_RANGE`).
    """
    from matcher.library import Library

    refs = [pair for f in folders for pair in read_index(f)]
    pipeline, axis = _pipeline_and_axis(technique)
    return Library.build(refs, pipeline=pipeline, axis=axis, technique=technique,
                         library_id=library_id)


def build_library_set(*, synthetic: bool, library_id: str) -> LibrarySet:
    """The embedded libraries as one set: a Raman part and an FTIR part.

    Parameters
    ----------
    synthetic
        Merge the SYNTHETIC references into the Raman part (the demo; never casework).
    library_id
        Base id; the parts are ``<id>-raman`` and ``<id>-ftir``.
    """
    from matcher.library import LibrarySet

    raman_dirs = [DEFAULT_LIBRARY_DIR] + ([SYNTHETIC_LIBRARY_DIR] if synthetic else [])
    return LibrarySet([
        build_library(raman_dirs, library_id=f"{library_id}-raman", technique="raman"),
        build_library([FTIR_LIBRARY_DIR], library_id=f"{library_id}-ftir",
                      technique="ftir-atr"),
    ])




def default_library_path(data_dir: Path) -> Path:
    """Where the embedded default library is built on first use.

    The name carries a digest of the fixture files, so a changed fixture set builds anew
    instead of silently reusing a stale file.
    """
    import hashlib

    h = hashlib.sha256()
    for folder in (DEFAULT_LIBRARY_DIR, FTIR_LIBRARY_DIR):
        for f in sorted(folder.iterdir()):
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return data_dir / f"default-library-{h.hexdigest()[:12]}.ilib"


def load_libraries(cfg: StationConfig) -> LibrarySet:
    """The configured library (or the embedded default, built next to the database)."""
    return open_libraries(cfg.library, cfg.data_folder)


def open_libraries(library: Path | None, data_dir: Path) -> LibrarySet:
    """The configured library file, or the embedded default (built on first use).

    The embedded default is ``fixtures/library`` (Raman) and ``fixtures/library-ftir``:
    measured references only, no SYNTHETIC entry (those are for the demo, never casework).

    Either is read into memory and verified against its content hash before it is returned:
    the libraries returned are the bytes that were verified, and a process keeps them even
    if the file is replaced or cut afterwards.

    Raises
    ------
    matcher.library.LibraryError
        The file cannot be opened, is damaged, or its content does not give its recorded
        hash (:class:`matcher.library.LibraryIntegrityError`: altered after it was written).
    ReferenceIndexError, spectra.SpectraError
        The embedded default cannot be built (a broken installation).
    """
    from matcher.library import LibrarySet

    if library is not None:
        return LibrarySet.load(library)
    path = default_library_path(data_dir)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        build_library_set(synthetic=False, library_id="interdict-default").save(path)
    return LibrarySet.load(path)


__all__ = ["DEFAULT_LIBRARY_DIR", "FIXTURES", "FTIR_LIBRARY_DIR", "SYNTHETIC_LIBRARY_DIR",
           "ReferenceIndexError", "build_library", "build_library_set", "default_library_path",
           "index_rows", "load_libraries", "open_libraries", "read_index"]
