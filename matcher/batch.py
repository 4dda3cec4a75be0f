"""Identification of many spectra: one :class:`Identifier` per library part, built once and
reused (:class:`Identifiers`), and many files on every core (:func:`identify_files`).

An identification is mostly work on the spectrum alone: reading the file, the quality
checks on the raw signal, the preprocessing pipeline onto the library axis. Only the search,
the mixture fit and the verdict need the library. :func:`identify_files` does the first part
in worker processes, which need only each part's pipeline and axis (a few kB), and the rest
here, where the library is held once; results come in the order of the files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

import spectra
from spectra import Progress, SpectraError, Spectrum, Technique
from spectra.parallel import ordered_map

from . import defaults
from .errors import MatcherInputError
from .identify import Identifier
from .learned import MatcherKind
from .library import Library, LibraryError, LibrarySet, Routes, fill_unstated
from .quality import QualityConfig, QualityReport, assess
from .results import Identification
from .verdict import Thresholds

FILES_PER_TASK = 8
"""Files a worker reads and prepares per task."""


class Identifiers:
    """The identifiers of a library set, one per part, each built when first needed and
    kept: an :class:`Identifier` transforms (and on large parts indexes) its whole library
    once, which a station pays once per opened library, not once per scan or file.

    Parameters
    ----------
    libraries
        The opened (verified) library set, or one library.
    thresholds
        The verdict rules of a technique (a station's configuration); default
        :func:`matcher.defaults.thresholds`.
    matcher
        How hits are ordered, for every part (:class:`matcher.learned.MatcherKind`; default
        :func:`matcher.defaults.matcher`).
    """

    def __init__(self, libraries: LibrarySet | Library,
                 thresholds: Callable[[Technique], Thresholds] | None = None, *,
                 matcher: MatcherKind | str | None = None) -> None:
        self.libraries = (libraries if isinstance(libraries, LibrarySet)
                          else LibrarySet([libraries]))
        self._thresholds = thresholds or defaults.thresholds
        self.matcher = MatcherKind(matcher if matcher is not None else defaults.matcher())
        self._built: dict[str, Identifier] = {}
        self._plans: dict[tuple[Technique | None, str | None], Plan] = {}

    def get(self, part: str | None = None) -> Identifier:
        """The identifier of the part called ``part`` (may be omitted for one part).

        Raises
        ------
        LibraryError
            No such part.
        """
        lib = self.libraries.get(part)
        found = self._built.get(lib.id)
        if found is None:
            found = Identifier(lib, thresholds=self._thresholds(lib.technique),
                               matcher=self.matcher)
            self._built[lib.id] = found
        return found

    def plan(self, *, technique: str | Technique | None = None, part: str | None = None
             ) -> Plan:
        """What worker processes need to route and prepare spectra for these libraries
        (made once per ``technique`` and ``part``, then kept).

        Raises
        ------
        LibraryError
            ``part`` names no part.
        """
        tech = None if technique is None else Technique(technique)
        found = self._plans.get((tech, part))
        if found is None:
            parts = self.libraries.parts
            if part is not None:
                self.libraries.get(part)  # an unknown part is refused before any file
            found = Plan(
                ids=tuple(p.id for p in parts), routes=self.libraries.routes(),
                preparers=tuple(p.preparer() for p in parts),
                quality=tuple(self._thresholds(p.technique).quality for p in parts),
                technique=tech, part=part)
            self._plans[(tech, part)] = found
        return found

    def identify(self, spectrum: Spectrum, *, technique: str | Technique | None = None,
                 part: str | None = None, k: int = 10) -> Identification:
        """Identify one raw spectrum with the part it belongs to (see :meth:`Plan.route`).

        Raises
        ------
        ValueError, LibraryError, spectra.SpectraError
            As :meth:`Plan.route` and :meth:`Identifier.identify`.
        """
        plan = self.plan(technique=technique, part=part)
        s, i = plan.route(spectrum)
        return self.get(plan.ids[i]).identify(s, k=k)


@dataclass(frozen=True)
class Plan:
    """How spectra are routed to a part of a library set and prepared for it, without the
    libraries' rows (picklable, a few kB a part). See :meth:`Identifiers.plan`."""

    ids: tuple[str, ...]
    routes: Routes
    preparers: tuple[Library, ...]
    quality: tuple[QualityConfig, ...]
    technique: Technique | None = None
    """For spectra whose file does not say what was measured."""
    part: str | None = None
    """The part every spectrum goes to; None: chosen by technique (and excitation)."""

    def route(self, spectrum: Spectrum) -> tuple[Spectrum, int]:
        """The spectrum with what its file did not say filled in, and its part's index.

        A spectrum without a technique takes :attr:`technique`, else the only part's; one
        without an x unit takes its part's.

        Raises
        ------
        ValueError
            No technique known for the spectrum.
        LibraryError
            No part of its technique.
        """
        s = spectrum
        if s.technique is Technique.OTHER:
            if self.technique is not None:
                s = fill_unstated(s, technique=self.technique)
            elif len(self.ids) == 1:
                s = fill_unstated(s, technique=self.preparers[0].technique)
            else:
                raise MatcherInputError(
                    "the file does not say what was measured; give --technique")
        i = (self.ids.index(self.part) if self.part is not None
             else self.routes.select(s.technique, s.excitation_nm))
        return fill_unstated(s, x_unit=self.preparers[i].x_unit), i

    def prepare(self, spectrum: Spectrum) -> tuple[int, QualityReport, NDArray[np.float32] | None]:
        """Route a raw spectrum; its quality report and, when it passed, the prepared
        vector: everything :meth:`Identifier.identify_prepared` needs of it."""
        s, i = self.route(spectrum)
        quality = assess(s, self.quality[i])
        return i, quality, self.preparers[i].prepare(s) if quality.ok else None


@dataclass(frozen=True)
class FileResult:
    """One spectrum of one file identified, or why it could not be."""

    path: str
    index: int
    """0-based place of the spectrum in its file."""
    count: int
    """Spectra the file holds (0 when it could not be read)."""
    title: str
    result: Identification | None
    error: str | None
    """Why the file or this spectrum could not be identified (None when ``result`` is)."""
    error_type: type[Exception] | None = None
    """The class of the error (a caller's advice may depend on it: a file that is not a
    spectrum, a library that has no part for it)."""


# why a spectrum or file failed: the message and the error's class (classes cross processes
# by name; an exception's own pickling depends on its constructor)
_Why = tuple[str, type[Exception]]
# one spectrum as a worker leaves it: index, count, title, then (part, quality, vector) or why
_Prepared = tuple[int, int, str, "tuple[int, QualityReport, NDArray[np.float32] | None] | _Why"]

_READ_ERRORS = (SpectraError, OSError, ValueError)
_PREPARE_ERRORS = (SpectraError, LibraryError, ValueError)


def _prepare_files(task: tuple[Plan, list[str]]) -> list[tuple[str, list[_Prepared]]]:
    """Read, route, check and prepare a task's files (runs in a worker process)."""
    plan, paths = task
    out: list[tuple[str, list[_Prepared]]] = []
    for path in paths:
        try:
            found = spectra.read(path)
        except _READ_ERRORS as exc:
            out.append((path, [(0, 0, "", (str(exc), type(exc)))]))
            continue
        rows: list[_Prepared] = []
        for i, raw in enumerate(found):
            try:
                rows.append((i, len(found), raw.title, plan.prepare(raw)))
            except _PREPARE_ERRORS as exc:
                rows.append((i, len(found), raw.title, (str(exc), type(exc))))
        out.append((path, rows))
    return out


def identify_files(
    paths: Sequence[str | Path],
    identifiers: Identifiers,
    *,
    technique: str | Technique | None = None,
    part: str | None = None,
    k: int = 10,
    workers: int = 1,
    progress: Progress | None = None,
) -> Iterator[FileResult]:
    """Identify every spectrum of every file, files read and prepared on ``workers`` cores.

    Parameters
    ----------
    paths
        Spectrum files (any format :func:`spectra.read` takes).
    identifiers
        The libraries' identifiers (kept between calls: built once per part).
    technique
        For files that do not say what was measured.
    part
        The library part to use for every spectrum; default: by technique.
    k
        Hits per result.
    workers
        Processes reading and preparing files; 1 does everything here. The results are the
        same, in the same order, for any number.
    progress
        Called as ``progress(files_done, files_total)`` as files are done.

    Returns
    -------
    iterator of FileResult
        One per spectrum (one per unreadable file), in the order of ``paths``; produced as
        files are done, so memory does not grow with their number.

    Raises
    ------
    LibraryError
        ``part`` names no part (before any file is read).
    ValueError
        ``workers`` below 1.
    """
    plan = identifiers.plan(technique=technique, part=part)
    files = [str(p) for p in paths]
    total = len(files)
    tasks = ((plan, files[s : s + FILES_PER_TASK]) for s in range(0, total, FILES_PER_TASK))
    done = 0
    with closing(ordered_map(_prepare_files, tasks,
                             workers=min(workers, max(1, -(-total // FILES_PER_TASK))))
                 ) as prepared:
        for outcomes in prepared:
            for path, rows in outcomes:
                done += 1
                for index, count, title, got in rows:
                    if isinstance(got[0], str):
                        yield FileResult(path, index, count, title, None, *got)
                        continue
                    i, quality, vector = got
                    try:
                        res = identifiers.get(plan.ids[i]).identify_prepared(
                            quality, vector, k=k)
                    except _PREPARE_ERRORS as exc:
                        yield FileResult(path, index, count, title, None, str(exc), type(exc))
                        continue
                    yield FileResult(path, index, count, title, res, None)
                if progress is not None:
                    progress(done, total)


__all__ = ["FILES_PER_TASK", "FileResult", "Identifiers", "Plan", "identify_files"]
