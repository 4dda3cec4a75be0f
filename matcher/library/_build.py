"""A library built from spectrum files on every core: read, checked and prepared in worker
processes, assembled here in the order of the files.

:func:`build_from_files` gives the same library as :meth:`Library.build` of the same files
read one by one, byte for byte, whatever the number of workers. A file that cannot be read
or used (a README, a metadata table, an archive, a spectrum of another technique) is refused
with an error naming it, or, when asked, skipped and listed with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

import spectra
from spectra import Pipeline, Progress, SpectraError, Spectrum, Technique, XUnit
from spectra.parallel import ordered_map

from ._entry import EntryMeta, LibraryEntry, slug
from ._errors import InvalidEntryError, LibraryError
from ._library import DEFAULT_MIN_COVERAGE, Library, _frozen, check_axis, fill_unstated

FILES_PER_TASK = 16
"""Files a worker reads per task: enough to make the hand-over cheap (a RRUFF file takes
about 8 ms), few enough that the last tasks keep both cores busy."""

Source = str | os.PathLike[str] | tuple[str | os.PathLike[str], EntryMeta]
"""A spectrum file, or a file with its metadata (an ``index.csv`` row)."""


class UnreadableReferenceError(InvalidEntryError):
    """A file given to :func:`build_from_files` cannot be read, or what it holds cannot be a
    reference of the library; names the file and why.

    Attributes
    ----------
    path
        The file.
    reason
        Why (the reader's or the library's message).
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"{_located(path, reason)}; it cannot be a reference of this library (remove it, "
            "or build with skip_unreadable: interdict library build --skip-unreadable)")


def _located(path: str, reason: str) -> str:
    """``path: reason``, unless the reason (a reader's message) already starts with it."""
    return reason if reason.startswith(path) else f"{path}: {reason}"


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file :func:`build_from_files` skipped, and why."""

    path: str
    reason: str
    """The reader's or the library's message (which may itself begin with the path)."""

    def __str__(self) -> str:
        return _located(self.path, self.reason)


@dataclass(frozen=True, slots=True)
class LibraryBuild:
    """What :func:`build_from_files` made: the library and the files it skipped."""

    library: Library
    skipped: tuple[SkippedFile, ...]


@dataclass(frozen=True, slots=True)
class _Spec:
    """How to prepare references: everything a worker needs, picklable."""

    pipeline: Pipeline
    axis: NDArray[np.float64]
    technique: Technique
    x_unit: XUnit | None
    min_coverage: float

    def shell(self) -> Library:
        return Library(library_id="build", entries=(),
                       axis=self.axis, matrix=np.zeros((0, self.axis.size), np.float32),
                       pipeline=self.pipeline, technique=self.technique, x_unit=self.x_unit,
                       min_coverage=self.min_coverage, references=())


# one file's outcome: its entries, rows and raw blobs, or why it was not usable
_Done = tuple[list[LibraryEntry], NDArray[np.float32], list[bytes]]
_FileOutcome = tuple[str, "_Done | str"]


def _references(path: Path, meta: EntryMeta | None, technique: Technique
                ) -> list[tuple[EntryMeta, Spectrum]]:
    """The references a file gives: with ``meta`` its first spectrum under that metadata
    (an index row), else every spectrum, named after the file's stem. What the file does
    not say (technique, x unit) is the metadata's or the library's."""
    found = spectra.read(path)
    if meta is not None:
        pairs = [(meta, found[0].replace(title=meta.name))]
    else:
        pairs = []
        for k, s in enumerate(found):
            stem = path.stem if len(found) == 1 else f"{path.stem}-{k + 1}"
            pairs.append((EntryMeta(name=stem, id=slug(stem), source=str(path)), s))
    out = []
    for m, s in pairs:
        filled = fill_unstated(s, technique=m.technique or technique)
        out.append((m, filled.replace(source=str(path))))
    return out


def _prepare_files(task: tuple[_Spec, list[tuple[str, EntryMeta | None]]]
                   ) -> list[_FileOutcome]:
    """Read and prepare a task's files (runs in a worker process)."""
    spec, files = task
    shell = spec.shell()
    out: list[_FileOutcome] = []
    for path, meta in files:
        try:
            refs = _references(Path(path), meta, spec.technique)
            entries, rows, blobs = [], [], []
            for m, s in refs:
                entry, row, blob = shell._reference(m, s)
                entries.append(entry)
                rows.append(row)
                blobs.append(blob)
        except (OSError, SpectraError, LibraryError) as exc:
            out.append((path, _reason(exc)))
            continue
        out.append((path, (entries, np.vstack(rows), blobs)))
    return out


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot be read: {exc.strerror}"
    return str(exc)


def build_from_files(
    sources: Sequence[Source],
    *,
    pipeline: Pipeline,
    axis: ArrayLike,
    technique: Technique | str,
    library_id: str,
    x_unit: XUnit | str | None = None,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
    workers: int = 1,
    skip_unreadable: bool = False,
    progress: Progress | None = None,
) -> LibraryBuild:
    """Build a library from spectrum files, reading and preparing them on ``workers`` cores.

    Parameters
    ----------
    sources
        Spectrum files (every spectrum in a file becomes an entry named after the file's
        stem, ``stem-2`` ... when it holds several), or ``(file, EntryMeta)`` pairs (the
        file's first spectrum under that metadata, as an ``index.csv`` row gives it). A
        spectrum whose file does not say its technique or x unit takes the metadata's
        technique, else the library's, and that technique's x unit.
    pipeline, axis, technique, library_id, x_unit, min_coverage
        As for :meth:`Library.build`.
    workers
        Processes reading and preparing files (:func:`spectra.parallel.usable_cores` for
        all); 1 does everything here. The library is the same, byte for byte, for any
        number: entries are in the order of ``sources``.
    skip_unreadable
        Skip a file that cannot be read as a spectrum or cannot be a reference of this
        library (wrong technique, too short a range), and list it with the reason in
        :attr:`LibraryBuild.skipped`; without it such a file stops the build with
        :class:`UnreadableReferenceError`.
    progress
        Called as ``progress(files_done, files_total)`` as files are done.

    Returns
    -------
    LibraryBuild
        The library, and the files skipped (in the order of ``sources``).

    Raises
    ------
    UnreadableReferenceError
        A file cannot be used and ``skip_unreadable`` is False (the first such file in the
        order of ``sources``).
    InvalidEntryError
        Two references have the same entry id (whatever ``skip_unreadable``).
    ValueError
        ``workers`` below 1.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    axis_a = check_axis(axis)
    tech = Technique(technique)
    spec = _Spec(pipeline=pipeline, axis=axis_a, technique=tech,
                 x_unit=XUnit(x_unit) if x_unit is not None else None,
                 min_coverage=float(min_coverage))
    spec.shell()  # refuses a bad axis, pipeline or coverage before any worker starts
    files: list[tuple[str, EntryMeta | None]] = []
    for src in sources:
        path, meta = src if isinstance(src, tuple) else (src, None)
        files.append((str(path), meta))
    total = len(files)

    def tasks() -> Iterator[tuple[_Spec, list[tuple[str, EntryMeta | None]]]]:
        for k in range(0, total, FILES_PER_TASK):
            yield spec, files[k:k + FILES_PER_TASK]

    entries: list[LibraryEntry] = []
    rows: list[NDArray[np.float32]] = []
    blobs: list[bytes] = []
    skipped: list[SkippedFile] = []
    seen: dict[str, str] = {}
    done = 0
    with closing(ordered_map(_prepare_files, tasks(), workers=min(workers, max(1, total)))
                 ) as results:  # closing: the workers stop at once when the build stops early
        for outcomes in results:
            for path, outcome in outcomes:
                done += 1
                if isinstance(outcome, str):
                    if not skip_unreadable:
                        raise UnreadableReferenceError(path, outcome)
                    skipped.append(SkippedFile(path, outcome))
                    continue
                file_entries, file_rows, file_blobs = outcome
                for entry in file_entries:
                    if entry.id in seen:
                        raise InvalidEntryError(
                            f"duplicate entry id {entry.id!r} (from {seen[entry.id]!r} and "
                            f"{path!r}); give each reference a unique id")
                    seen[entry.id] = path
                entries.extend(file_entries)
                rows.append(file_rows)
                blobs.extend(file_blobs)
            if progress is not None:
                progress(done, total)
    matrix = _frozen(np.vstack(rows) if rows else np.zeros((0, axis_a.size), np.float32))
    rows.clear()
    library = Library(library_id=library_id, entries=tuple(entries), axis=axis_a,
                      matrix=matrix, pipeline=pipeline, technique=tech, x_unit=spec.x_unit,
                      min_coverage=min_coverage, references=tuple(blobs))
    return LibraryBuild(library=library, skipped=tuple(skipped))


__all__ = ["FILES_PER_TASK", "LibraryBuild", "SkippedFile", "UnreadableReferenceError",
           "build_from_files"]
