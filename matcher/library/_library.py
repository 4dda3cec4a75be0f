"""The substance library: entries, preprocessed reference vectors on one axis, raw references."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import ValidationError

from spectra import Pipeline, SpectraError, Spectrum, Technique, XUnit

from ._entry import EntryMeta, LibraryEntry, entry_line, slug
from ._errors import (
    InvalidEntryError,
    LibraryError,
    LibraryFileError,
    QueryMismatchError,
    ReferenceUnavailableError,
)
from ._format import StoredPart, read_parts, write_parts
from ._hash import HASH_SCHEME, content_hash, hash_meta, matrix_bytes
from ._refs import LazySeq, concat, decode_reference, encode_reference, subset

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

DEFAULT_MIN_COVERAGE = 0.9
"""Share of the library axis a query must cover after preprocessing."""

MetaLike = LibraryEntry | EntryMeta | Mapping[str, Any]


def default_x_unit(technique: Technique) -> XUnit:
    """The x unit a library of ``technique`` lives on."""
    if technique is Technique.RAMAN:
        return XUnit.RAMAN_SHIFT
    if technique.is_infrared or technique is Technique.NIR:
        return XUnit.WAVENUMBER
    raise LibraryError(f"no default x unit for technique {technique.value}; pass x_unit=")


def fill_unstated(
    spectrum: Spectrum, *, technique: Technique | str | None = None,
    x_unit: XUnit | str | None = None,
) -> Spectrum:
    """The spectrum with what its file did not say filled in (and nothing it did say changed).

    Technique: ``technique`` when the spectrum's is ``other``. X unit, when the spectrum's
    is ``other``: ``x_unit``, else the default of the (filled-in) technique
    (:func:`default_x_unit`), else left ``other``. Used wherever a reference or a query
    comes from a file: library build and add, the embedded library's index, identify.

    >>> import spectra
    >>> s = spectra.Spectrum([1.0, 2.0], [3.0, 4.0], x_unit="other")
    >>> filled = fill_unstated(s, technique="raman")
    >>> filled.technique.value, filled.x_unit.value
    ('raman', 'raman-shift-cm-1')
    """
    changes: dict[str, Any] = {}
    if spectrum.technique is Technique.OTHER and technique is not None:
        changes["technique"] = Technique(technique)
    if spectrum.x_unit is XUnit.OTHER:
        tech = Technique(changes.get("technique", spectrum.technique))
        if x_unit is not None:
            changes["x_unit"] = XUnit(x_unit)
        elif tech is Technique.RAMAN or tech.is_infrared or tech is Technique.NIR:
            changes["x_unit"] = default_x_unit(tech)
    return spectrum.replace(**changes) if changes else spectrum


def techniques_compatible(library: Technique, query: Technique) -> bool:
    """Whether a ``query`` spectrum may be searched in a ``library`` of another technique.

    Equal techniques are; mid-infrared techniques (ATR, transmission, unstated) are with
    each other. ``other`` is never: the caller must say what was measured.
    """
    if query is Technique.OTHER or library is Technique.OTHER:
        return False
    return query is library or (query.is_infrared and library.is_infrared)


def check_axis(axis: ArrayLike) -> F64:
    """The library axis as a read-only float64 array: 1-D, finite, strictly increasing.

    Raises
    ------
    LibraryError
        Otherwise.
    """
    a = np.array(axis, dtype=np.float64, copy=True)
    if a.ndim != 1 or a.size < 2:
        raise LibraryError(f"axis must be 1-D with at least 2 points, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise LibraryError("axis has non-finite values")
    if not np.all(np.diff(a) > 0):
        raise LibraryError("axis must be strictly increasing")
    a.flags.writeable = False
    return a


def _to_meta(meta: MetaLike) -> EntryMeta | LibraryEntry:
    if isinstance(meta, EntryMeta | LibraryEntry):
        return meta
    try:
        return EntryMeta.model_validate(dict(meta))
    except ValidationError as exc:
        raise InvalidEntryError(f"invalid entry metadata {dict(meta)!r}: {exc}") from exc


class Library:
    """A searchable substance library of one technique on one axis.

    Build one with :meth:`build` (from raw spectra through a :class:`spectra.Pipeline`),
    :meth:`from_vectors` (already preprocessed vectors, no raw references), or open a file
    with :meth:`load` (read into private memory and verified against its content hash;
    entries are decoded when first used, raw references read when asked for).

    Attributes
    ----------
    id : str
        The library's name.
    entries : Sequence[LibraryEntry]
        One per row of :attr:`matrix` (decoded on demand for a loaded file).
    axis : numpy.ndarray
        ``(D,)`` float64, strictly increasing, in :attr:`x_unit`.
    matrix : numpy.ndarray
        ``(N, D)`` float32, read-only: each reference through :attr:`pipeline`, then
        linearly interpolated onto :attr:`axis` (0 outside the reference's own range).
    pipeline : spectra.Pipeline
        Applied identically to references and queries.
    technique : spectra.Technique
    x_unit : spectra.XUnit
    min_coverage : float
        Share of the axis span a spectrum must cover to be prepared.
    hash_scheme : str
        The definition :attr:`hash` follows (:data:`HASH_SCHEME`, or the older one of the
        file it was opened from).
    """

    def __init__(
        self,
        *,
        library_id: str,
        entries: Sequence[LibraryEntry],
        axis: ArrayLike,
        matrix: ArrayLike,
        pipeline: Pipeline,
        technique: Technique | str,
        x_unit: XUnit | str | None = None,
        min_coverage: float = DEFAULT_MIN_COVERAGE,
        references: Sequence[bytes] | None = None,
        content_hash: str | None = None,
        hash_scheme: str = HASH_SCHEME,
    ) -> None:
        if not library_id or not isinstance(library_id, str):
            raise LibraryError("library_id must be a non-empty string")
        self.id = library_id
        self.technique = Technique(technique)
        self.x_unit = XUnit(x_unit) if x_unit is not None else default_x_unit(self.technique)
        self.axis = check_axis(axis)
        m = np.asarray(matrix)
        if m.dtype != np.float32:
            m = m.astype(np.float32)
        if m.ndim != 2 or m.shape[1] != self.axis.size:
            raise LibraryError(
                f"matrix must be (N, {self.axis.size}) to match the axis, got {m.shape}"
            )
        if m.flags.writeable:
            # never freeze (or later see changes to) the caller's array: keep a private copy
            m = np.array(m, dtype=np.float32, order="C", copy=True)
            m.flags.writeable = False
        self.matrix: F32 = m
        if len(entries) != m.shape[0]:
            raise LibraryError(f"{len(entries)} entries for {m.shape[0]} matrix rows")
        if references is not None and len(references) != len(entries):
            raise LibraryError(f"{len(references)} raw references for {len(entries)} entries")
        if not 0.0 < min_coverage <= 1.0:
            raise LibraryError(f"min_coverage must be in (0, 1], got {min_coverage}")
        self.entries: Sequence[LibraryEntry] = entries
        self.pipeline = pipeline
        self.min_coverage = float(min_coverage)
        self._refs = references
        self._hash = content_hash
        self.hash_scheme = hash_scheme
        self._ids: dict[str, int] | None = None
        self._cache: dict[Any, Any] = {}
        """Per-instance cache of search indexes (see :class:`matcher.search.Searcher`)."""

    # -- construction --------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        references: Iterable[tuple[MetaLike, Spectrum]],
        *,
        pipeline: Pipeline,
        axis: ArrayLike,
        technique: Technique | str,
        library_id: str,
        x_unit: XUnit | str | None = None,
        min_coverage: float = DEFAULT_MIN_COVERAGE,
    ) -> Library:
        """Build a library from raw reference spectra.

        Parameters
        ----------
        references
            ``(metadata, spectrum)`` pairs. Metadata is an :class:`EntryMeta`, a mapping of
            its fields, or a :class:`LibraryEntry` (whose ``spectrum_hash`` must then be the
            spectrum's). A spectrum whose technique is ``other`` takes the metadata's.
        pipeline
            Preprocessing applied to every reference (and later to every query).
        axis
            The common axis, strictly increasing, ``(D,)``.
        technique
            The library's technique; every reference must be compatible with it.
        library_id
            The library's name.
        x_unit
            Axis unit (default: Raman shift for Raman, wavenumber for infrared).
        min_coverage
            Share of the axis span every reference (and query) must cover.

        Returns
        -------
        Library

        Raises
        ------
        InvalidEntryError
            A reference is invalid, duplicated, of the wrong technique, or cannot be prepared;
            the message names the entry and its source.
        """
        axis_a = check_axis(axis)
        tech = Technique(technique)
        shell = cls(
            library_id=library_id, entries=(), axis=axis_a,
            matrix=np.zeros((0, axis_a.size), np.float32), pipeline=pipeline, technique=tech,
            x_unit=x_unit, min_coverage=min_coverage, references=(),
        )
        entries: list[LibraryEntry] = []
        rows: list[F32] = []
        blobs: list[bytes] = []
        seen: dict[str, str] = {}
        for meta_like, spectrum in references:
            entry, row, blob = shell._reference(meta_like, spectrum)
            if entry.id in seen:
                raise InvalidEntryError(
                    f"duplicate entry id {entry.id!r} (from {seen[entry.id]!r} and "
                    f"{spectrum.source or entry.name!r}); give each reference a unique id"
                )
            seen[entry.id] = spectrum.source or entry.name
            rows.append(row)
            entries.append(entry)
            blobs.append(blob)
        matrix = _frozen(
            np.vstack(rows) if rows else np.zeros((0, axis_a.size), dtype=np.float32)
        )
        return cls(
            library_id=library_id, entries=tuple(entries), axis=axis_a, matrix=matrix,
            pipeline=pipeline, technique=tech, x_unit=shell.x_unit,
            min_coverage=min_coverage, references=tuple(blobs),
        )

    @classmethod
    def from_vectors(
        cls,
        entries: Sequence[LibraryEntry],
        matrix: ArrayLike,
        *,
        axis: ArrayLike,
        pipeline: Pipeline,
        technique: Technique | str,
        library_id: str,
        x_unit: XUnit | str | None = None,
        min_coverage: float = DEFAULT_MIN_COVERAGE,
    ) -> Library:
        """A library from vectors already preprocessed onto ``axis`` (no raw references).

        For converted libraries and benchmarks: :meth:`reference` raises
        :class:`ReferenceUnavailableError` for every entry of such a library.

        Raises
        ------
        LibraryError
            Shapes disagree, ids repeat, or a row is not finite.
        """
        m = np.ascontiguousarray(matrix, dtype=np.float32)
        if m.ndim == 2 and not np.all(np.isfinite(m)):
            raise LibraryError("matrix has non-finite values")
        ids = [e.id for e in entries]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise InvalidEntryError(f"duplicate entry id {dup!r}")
        return cls(
            library_id=library_id, entries=tuple(entries), axis=axis, matrix=m,
            pipeline=pipeline, technique=technique, x_unit=x_unit, min_coverage=min_coverage,
            references=None,
        )

    def _entry_for(self, meta_like: MetaLike, spectrum: Spectrum) -> tuple[LibraryEntry, Spectrum]:
        meta = _to_meta(meta_like)
        where = spectrum.source or meta.name
        if not isinstance(spectrum, Spectrum):
            raise InvalidEntryError(f"{where}: expected a spectra.Spectrum, got {type(spectrum)}")
        tech = meta.technique
        raw = spectrum
        if tech is None:
            tech = spectrum.technique
        elif spectrum.technique is Technique.OTHER:
            raw = spectrum.replace(technique=tech)
        elif not techniques_compatible(tech, spectrum.technique):
            raise InvalidEntryError(
                f"{where}: metadata says {tech.value} but the spectrum is "
                f"{spectrum.technique.value}"
            )
        if not techniques_compatible(self.technique, tech):
            raise InvalidEntryError(
                f"{where}: a {tech.value} reference cannot go in a {self.technique.value} "
                "library"
            )
        if isinstance(meta, LibraryEntry):
            if meta.spectrum_hash != raw.content_hash:
                raise InvalidEntryError(
                    f"{where}: entry {meta.id!r} names spectrum {meta.spectrum_hash[:12]}… "
                    f"but was given {raw.content_hash[:12]}…"
                )
            return meta, raw
        excitation = meta.excitation_nm if meta.excitation_nm is not None else (
            spectrum.excitation_nm
        )
        try:
            entry = LibraryEntry(
                id=meta.id or slug(meta.name), name=meta.name, synonyms=meta.synonyms,
                cas=meta.cas, category=meta.category, schedule=meta.schedule, technique=tech,
                excitation_nm=excitation, source=meta.source or (spectrum.source or ""),
                licence=meta.licence, synthetic=meta.synthetic,
                spectrum_hash=raw.content_hash,
            )
        except ValidationError as exc:
            raise InvalidEntryError(f"{where}: invalid entry: {exc}") from exc
        return entry, raw

    def _reference(self, meta_like: MetaLike, spectrum: Spectrum
                   ) -> tuple[LibraryEntry, F32, bytes]:
        """One reference as the library stores it: entry, prepared row, compressed raw."""
        entry, raw = self._entry_for(meta_like, spectrum)
        return entry, self._prepare_reference(entry, raw), encode_reference(raw)

    def _prepare_reference(self, entry: LibraryEntry, raw: Spectrum) -> F32:
        try:
            return self._prepare(raw, check_technique=False)
        except (SpectraError, QueryMismatchError, ValueError) as exc:
            raise InvalidEntryError(
                f"reference {entry.id!r} ({raw.source or entry.name}) cannot be prepared: {exc}"
            ) from exc

    # -- queries -------------------------------------------------------------------------
    def preparer(self) -> Library:
        """An empty library that prepares queries exactly as this one does (same id,
        technique, pipeline, axis, unit and coverage rule; no entries): small, to hand to
        worker processes that prepare spectra while this library searches them."""
        return Library(
            library_id=self.id, entries=(), axis=self.axis,
            matrix=np.zeros((0, self.axis.size), np.float32), pipeline=self.pipeline,
            technique=self.technique, x_unit=self.x_unit, min_coverage=self.min_coverage,
            references=(),
        )

    def prepare(self, spectrum: Spectrum) -> F32:
        """A query spectrum as a vector comparable with :attr:`matrix` rows.

        The spectrum goes through :attr:`pipeline` (the identical steps the references went
        through), then is linearly interpolated (``numpy.interp``) onto :attr:`axis`; points
        of the axis outside the spectrum's range are 0.

        Returns
        -------
        numpy.ndarray
            ``(D,)`` float32, read-only.

        Raises
        ------
        QueryMismatchError
            Wrong technique, wrong x unit after preprocessing, covers less than
            :attr:`min_coverage` of the axis, or flat on the axis.
        spectra.SpectraError
            From a pipeline step.
        """
        return self._prepare(spectrum, check_technique=True)

    def _prepare(self, spectrum: Spectrum, *, check_technique: bool) -> F32:
        if check_technique and not techniques_compatible(self.technique, spectrum.technique):
            hint = (
                " (the file did not say what was measured: set it with "
                "spectrum.replace(technique=...))" if spectrum.technique is Technique.OTHER
                else ""
            )
            raise QueryMismatchError(
                f"a {spectrum.technique.value} spectrum cannot be searched in the "
                f"{self.technique.value} library {self.id!r}{hint}"
            )
        s = self.pipeline.apply(spectrum)
        if s.x_unit is not self.x_unit:
            raise QueryMismatchError(
                f"after preprocessing the spectrum's x axis is in {s.x_unit.value}, the "
                f"library's in {self.x_unit.value}; convert it first"
            )
        lo, hi = float(self.axis[0]), float(self.axis[-1])
        overlap = max(0.0, min(hi, float(s.x[-1])) - max(lo, float(s.x[0])))
        coverage = overlap / (hi - lo)
        if coverage < self.min_coverage:
            raise QueryMismatchError(
                f"the spectrum covers {s.x[0]:g}..{s.x[-1]:g}, only {coverage:.0%} of the "
                f"library axis {lo:g}..{hi:g} (at least {self.min_coverage:.0%} needed)"
            )
        y = np.interp(self.axis, s.x, s.y, left=0.0, right=0.0).astype(np.float32)
        if not np.all(np.isfinite(y)):
            raise QueryMismatchError("the prepared vector has non-finite values")
        if float(np.ptp(y)) == 0.0:
            raise QueryMismatchError("the spectrum is flat on the library axis")
        y.flags.writeable = False
        return y

    # -- access --------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.matrix.shape[0])

    def __repr__(self) -> str:
        return (
            f"Library({self.id!r}, {self.technique.value}, {len(self)} entries × "
            f"{self.axis.size} points, {self.axis[0]:g}..{self.axis[-1]:g} {self.x_unit.value})"
        )

    def index_of(self, entry_id: str) -> int:
        """The row of the entry called ``entry_id``.

        Raises
        ------
        KeyError
            No such entry.
        """
        if self._ids is None:
            self._ids = {e.id: i for i, e in enumerate(self.entries)}
        try:
            return self._ids[entry_id]
        except KeyError:
            raise KeyError(f"no entry {entry_id!r} in library {self.id!r}") from None

    @property
    def has_references(self) -> bool:
        """Whether the raw reference spectra are stored."""
        return self._refs is not None

    def reference(self, i: int) -> Spectrum:
        """The raw reference spectrum of entry ``i`` (as it was given, before preprocessing).

        Raises
        ------
        IndexError
            ``i`` out of range.
        ReferenceUnavailableError
            The library was built from vectors and stores no raw references.
        LibraryFileError
            The stored reference is corrupt (does not match the entry's spectrum hash).
        """
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"entry {i} out of range for {n} entries")
        entry = self.entries[i]
        if self._refs is None or not self._refs[i]:
            raise ReferenceUnavailableError(
                f"library {self.id!r} stores no raw reference for entry {entry.id!r}"
            )
        return decode_reference(
            self._refs[i], expected_hash=entry.spectrum_hash, where=f"reference {entry.id!r}"
        )

    @property
    def hash(self) -> str:
        """SHA-256 (hex) over the library's canonical content (recorded by every result).

        Covers id, technique, x unit, pipeline, coverage rule, axis, every entry's canonical
        JSON (which pins its raw reference through ``spectrum_hash``) and the matrix, under
        :attr:`hash_scheme` (:mod:`matcher.library._hash` has the one definition of each).
        A library opened from a file has the hash it was verified against.
        """
        if self._hash is None:
            self._hash = self.compute_hash()
        return self._hash

    def header_meta(self, scheme: str | None = None) -> dict[str, Any]:
        """The canonical metadata that opens :attr:`hash` (under ``scheme``, default ours)."""
        return hash_meta(
            scheme=scheme or self.hash_scheme, library_id=self.id, technique=self.technique,
            x_unit=self.x_unit, pipeline=self.pipeline, min_coverage=self.min_coverage,
            n=len(self), d=int(self.axis.size),
        )

    def compute_hash(
        self, lines: Iterable[bytes] | None = None, *, scheme: str | None = None
    ) -> str:
        """Recompute :attr:`hash` from the content (reads the whole matrix).

        Parameters
        ----------
        lines
            The entries' canonical JSON, when the caller has it already.
        scheme
            Hash under this scheme instead of :attr:`hash_scheme` (e.g. to write a library
            opened from an older file in the current format).
        """
        scheme = scheme or self.hash_scheme
        return content_hash(
            scheme, self.header_meta(scheme), axis=self.axis,
            lines=lines if lines is not None else (entry_line(e) for e in self.entries),
            matrix=matrix_bytes(self.matrix),
        )

    # -- derived libraries ---------------------------------------------------------------
    def _compatible(self, other: Library) -> None:
        problems = []
        if other.technique is not self.technique:
            problems.append(f"technique {other.technique.value} vs {self.technique.value}")
        if other.x_unit is not self.x_unit:
            problems.append(f"x unit {other.x_unit.value} vs {self.x_unit.value}")
        if other.axis.shape != self.axis.shape or not np.array_equal(other.axis, self.axis):
            problems.append("different axes")
        if other.pipeline != self.pipeline:
            problems.append("different pipelines")
        if problems:
            raise LibraryError(
                f"cannot merge {other.id!r} into {self.id!r}: {'; '.join(problems)}"
            )

    def merge(self, other: Library, *, library_id: str | None = None) -> Library:
        """A new library: this one's entries, then ``other``'s (e.g. a user library).

        Raises
        ------
        LibraryError
            Different technique, unit, axis or pipeline (rebuild the user library with this
            library's axis and pipeline), or entry ids in both.
        """
        self._compatible(other)
        clash = [e.id for e in other.entries if e.id in self._id_set()]
        if clash:
            raise InvalidEntryError(
                f"{len(clash)} entry id(s) of {other.id!r} already in {self.id!r}: "
                f"{', '.join(clash[:5])}{' …' if len(clash) > 5 else ''}"
            )
        refs: Sequence[bytes] | None
        if self._refs is None and other._refs is None:
            refs = None
        else:
            refs = concat(
                self._refs if self._refs is not None else _empty_refs(len(self)),
                other._refs if other._refs is not None else _empty_refs(len(other)),
            )
        return Library(
            library_id=library_id or self.id, entries=concat(self.entries, other.entries),
            axis=self.axis, matrix=_frozen(np.vstack([self.matrix, other.matrix])),
            pipeline=self.pipeline, technique=self.technique, x_unit=self.x_unit,
            min_coverage=self.min_coverage, references=refs,
        )

    def _id_set(self) -> set[str]:
        if self._ids is None:
            self._ids = {e.id: i for i, e in enumerate(self.entries)}
        return set(self._ids)

    def add(self, entry: MetaLike, spectrum: Spectrum) -> Library:
        """A new library with one more reference (a user's own spectrum), prepared like the rest.

        Raises
        ------
        InvalidEntryError
            Invalid metadata, id already present, wrong technique, or not preparable.
        """
        one = Library.build(
            [(entry, spectrum)], pipeline=self.pipeline, axis=self.axis,
            technique=self.technique, library_id=self.id, x_unit=self.x_unit,
            min_coverage=self.min_coverage,
        )
        return self.merge(one)

    def sublibrary(
        self,
        *,
        technique: Technique | str | None = None,
        excitation_nm: float | None = None,
        tolerance_nm: float = 1.0,
        library_id: str | None = None,
    ) -> Library:
        """The entries of one technique and/or one laser, as a library of their own.

        Raman references measured at several excitations (e.g. 532 and 785 nm) live in one
        library; this selects e.g. the 785 nm ones (``|excitation − 785| ≤ tolerance_nm``).

        Raises
        ------
        LibraryError
            Nothing matches.
        """
        tech = Technique(technique) if technique is not None else None
        rows = [
            i for i, e in enumerate(self.entries)
            if (tech is None or e.technique is tech)
            and (
                excitation_nm is None
                or (e.excitation_nm is not None
                    and abs(e.excitation_nm - excitation_nm) <= tolerance_nm)
            )
        ]
        if not rows:
            raise LibraryError(
                f"no entry of {self.id!r} matches technique={technique} "
                f"excitation_nm={excitation_nm}"
            )
        label = ",".join(
            p for p in (
                tech.value if tech else "",
                f"{excitation_nm:g}nm" if excitation_nm is not None else "",
            ) if p
        )
        return Library(
            library_id=library_id or f"{self.id}[{label}]",
            entries=tuple(self.entries[i] for i in rows), axis=self.axis,
            matrix=_frozen(self.matrix[np.asarray(rows)]), pipeline=self.pipeline,
            technique=tech or self.technique, x_unit=self.x_unit,
            min_coverage=self.min_coverage,
            references=None if self._refs is None else subset(self._refs, rows),
        )

    # -- files ---------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write this library as a one-part library file (atomically: temp file + rename).

        See :mod:`matcher.library._format` for the layout.
        """
        return write_parts([self], Path(path))

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, part: str | None = None) -> Library:
        """Open a library file, verified: read into private memory and checked against its
        content hash before anything is used.

        Parameters
        ----------
        path
            The file.
        part
            Which library of a multi-part file (its id); needed only when there are several.
            Only that part is read.

        Raises
        ------
        LibraryFileError
            Not a library file, truncated, corrupt header, bad section.
        LibraryIntegrityError
            The content does not give the content hash the file records (altered or
            corrupted after it was written): the library is refused.
        LibraryVersionError
            Written by a newer format version.
        LibraryError
            Several parts and ``part`` not given, or no such part.
        """
        return cls.from_stored(read_parts(Path(path), part=part, one=True)[0])

    @classmethod
    def from_stored(cls, part: StoredPart) -> Library:
        """The library of a part read (and verified) from a library file.

        Raises
        ------
        LibraryFileError
            The part's header describes no valid library.
        """
        try:
            return cls(
                library_id=part.id, entries=part.entries, axis=part.axis, matrix=part.matrix,
                pipeline=part.pipeline, technique=part.technique, x_unit=part.x_unit,
                min_coverage=part.min_coverage, references=part.references,
                content_hash=part.hash, hash_scheme=part.hash_scheme,
            )
        except LibraryError as exc:
            raise LibraryFileError(f"part {part.id!r}: {exc}", path=part.path,
                                   field="header") from exc

    def iter_references(self) -> Iterator[tuple[LibraryEntry, bytes]]:
        """Entries with their compressed raw reference (empty bytes when none is stored)."""
        for i, e in enumerate(self.entries):
            yield e, (self._refs[i] if self._refs is not None else b"")


def _frozen(a: F32) -> F32:
    """``a`` (freshly made here, owned by no caller) marked read-only, without a copy."""
    a.flags.writeable = False
    return a


def _empty_refs(n: int) -> Sequence[bytes]:
    return LazySeq(n, lambda i: b"", cache=False)


@dataclass(frozen=True)
class Routes:
    """How :meth:`LibrarySet.select` chooses a part: each part's technique and the
    excitations of its first entries (up to 64)."""

    parts: tuple[tuple[Technique, tuple[float, ...]], ...]

    def select(self, technique: Technique | str, excitation_nm: float | None = None) -> int:
        """The index of the part for a query of ``technique`` (see
        :meth:`LibrarySet.select`).

        Raises
        ------
        LibraryError
            No part of a compatible technique.
        """
        tech = Technique(technique)
        cands = [i for i, (t, _) in enumerate(self.parts) if techniques_compatible(t, tech)]
        if not cands:
            raise LibraryError(
                f"no {tech.value} library in this set "
                f"({', '.join(t.value for t, _ in self.parts)})"
            )
        if excitation_nm is None or len(cands) == 1:
            return cands[0]

        def distance(i: int) -> float:
            return min((abs(x - excitation_nm) for x in self.parts[i][1]),
                       default=float("inf"))

        return min(cands, key=distance)


class LibrarySet(Sequence[Library]):
    """Several libraries in one file: one per technique (Raman per excitation, FTIR).

    Each part is a full :class:`Library` with its own axis, pipeline and hash.
    """

    def __init__(self, parts: Iterable[Library]) -> None:
        self.parts = tuple(parts)
        ids = [p.id for p in self.parts]
        if len(set(ids)) != len(ids):
            raise LibraryError(f"library ids must be unique in a set, got {ids}")
        self._routes: Routes | None = None

    def __len__(self) -> int:
        return len(self.parts)

    def __getitem__(self, i: int) -> Library:  # type: ignore[override]
        return self.parts[i]

    def get(self, library_id: str | None = None) -> Library:
        """The part called ``library_id`` (may be omitted when there is one part)."""
        if library_id is None:
            if len(self.parts) != 1:
                raise LibraryError(
                    f"the file holds {len(self.parts)} libraries "
                    f"({', '.join(p.id for p in self.parts)}); say which"
                )
            return self.parts[0]
        for p in self.parts:
            if p.id == library_id:
                return p
        raise LibraryError(
            f"no library {library_id!r}; parts: {', '.join(p.id for p in self.parts)}"
        )

    def select(self, technique: Technique | str, excitation_nm: float | None = None) -> Library:
        """The part for a query of ``technique`` (Raman: the one whose entries best match the
        excitation, when several Raman parts exist).

        Raises
        ------
        LibraryError
            No part of a compatible technique.
        """
        return self.parts[self.routes().select(technique, excitation_nm)]

    def routes(self) -> Routes:
        """What choosing a part needs of each part (picklable, a few numbers each; read
        once per set)."""
        if self._routes is None:
            self._routes = Routes(tuple(
                (p.technique, tuple(e.excitation_nm for e in p.entries[: min(len(p), 64)]
                                    if e.excitation_nm))
                for p in self.parts))
        return self._routes

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write every part into one file."""
        return write_parts(list(self.parts), Path(path))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LibrarySet:
        """Open every part of a library file, each verified (see :meth:`Library.load`).

        Raises
        ------
        LibraryFileError, LibraryIntegrityError, LibraryVersionError
            As :meth:`Library.load`; one bad part refuses the whole file.
        """
        return cls(Library.from_stored(p) for p in read_parts(Path(path)))
