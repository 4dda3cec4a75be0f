"""Build the embedded default library from ``fixtures/`` (and, for the demo, the SYNTHETIC set).

A folder holds spectrum files and an ``index.csv`` (``file, id, name, cas, category,
technique, schedule, synthetic, source, licence, excitation_nm[, notes]``; see
``fixtures/README.md``). Columns the library entry does not know (``notes``) are read and
ignored; every other problem names the index file, its line and the column.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import spectra

if TYPE_CHECKING:
    from matcher.library import EntryMeta, Library

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
DEFAULT_LIBRARY_DIR = FIXTURES / "library"
SYNTHETIC_LIBRARY_DIR = FIXTURES / "library-synthetic"
RAMAN_AXIS = (200.0, 1800.0, 2.0)
"""Default Raman library axis: start, stop (inclusive), step in cm⁻¹."""

_META_COLUMNS = ("id", "name", "cas", "category", "technique", "schedule", "synthetic",
                 "source", "licence", "excitation_nm")


class IndexError_(ValueError):  # noqa: N801 - not the builtin IndexError
    """An ``index.csv`` row is not valid; the message names file, line and column."""


def _truthy(text: str, where: str) -> bool:
    t = text.strip().lower()
    if t in ("true", "yes", "1"):
        return True
    if t in ("false", "no", "0", ""):
        return False
    raise IndexError_(f"{where}: synthetic: expected true/false, got {text!r}")


def read_index(folder: str | os.PathLike[str]) -> Iterator[tuple[EntryMeta, spectra.Spectrum]]:
    """Each entry of a reference folder: its metadata and its spectrum.

    Raises
    ------
    IndexError_
        Missing index, missing column, bad value (file, line and column named).
    spectra.FormatError
        A spectrum file cannot be read.
    """
    from pydantic import ValidationError

    from matcher.library import EntryMeta

    base = Path(folder)
    index = base / "index.csv"
    try:
        fh = index.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise IndexError_(f"{index}: cannot open: {exc.strerror}") from exc
    with fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("file", "name") if c not in (reader.fieldnames or [])]
        if missing:
            raise IndexError_(f"{index}:1: missing column(s) {', '.join(missing)}")
        for lineno, row in enumerate(reader, start=2):
            where = f"{index}:{lineno}"
            values: dict[str, Any] = {k: (row.get(k) or "").strip() for k in _META_COLUMNS}
            values["synthetic"] = _truthy(values["synthetic"], where)
            for key in ("id", "cas", "schedule", "technique", "excitation_nm"):
                if not values[key]:
                    values[key] = None
            values = {k: v for k, v in values.items() if v is not None}
            try:
                meta = EntryMeta(**values)
            except ValidationError as exc:
                err = exc.errors()[0]
                raise IndexError_(f"{where}: {'.'.join(map(str, err['loc']))}: {err['msg']}"
                                  ) from exc
            spectrum = spectra.read(base / row["file"])[0]
            yield meta, spectrum.replace(title=meta.name, source=str(base / row["file"]))


def build_library(folders: Sequence[str | os.PathLike[str]], *, library_id: str,
                  axis: tuple[float, float, float] = RAMAN_AXIS) -> Library:
    """Build a Raman library from reference folders with the default Raman pipeline.

    Parameters
    ----------
    folders
        Folders with an ``index.csv``; their entries are concatenated (ids must be unique).
    library_id
        The library's name (recorded in every result).
    axis
        ``(start, stop, step)`` of the common axis in cm⁻¹.
    """
    from matcher.library import Library
    from spectra.preprocess import default_raman

    refs = [pair for f in folders for pair in read_index(f)]
    start, stop, step = axis
    grid = np.arange(start, stop + step / 2, step)
    return Library.build(refs, pipeline=default_raman(), axis=grid, technique="raman",
                         library_id=library_id)


__all__ = ["DEFAULT_LIBRARY_DIR", "FIXTURES", "RAMAN_AXIS", "SYNTHETIC_LIBRARY_DIR",
           "IndexError_", "build_library", "read_index"]
