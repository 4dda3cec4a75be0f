"""Errors of the substance library. Each also subclasses the builtin it refines."""

from __future__ import annotations

from pathlib import Path

from spectra import where_in_file

from ..errors import MatcherError


class LibraryError(MatcherError):
    """Root of every error raised by :mod:`matcher.library`."""


class InvalidCASError(LibraryError, ValueError):
    """A CAS registry number is malformed or its check digit is wrong."""


class InvalidEntryError(LibraryError, ValueError):
    """A library entry (or the spectrum given for it) is not acceptable."""


class QueryMismatchError(LibraryError, ValueError):
    """A query spectrum cannot be compared with this library (technique, unit, coverage)."""


class LibraryFileError(LibraryError, ValueError):
    """A library file cannot be read or written: says which file, where and what.

    Parameters
    ----------
    message
        What is wrong.
    path
        The file.
    offset
        0-based byte offset of the fault, when known.
    field
        The header field or section concerned.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        offset: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.offset = offset
        self.field = field
        self.reason = message
        where = where_in_file(self.path, offset=offset, field=field, unnamed="<library>")
        super().__init__(f"{where}: {message}")


class LibraryVersionError(LibraryFileError):
    """The file was written by a newer format version than this code reads."""


class LibraryIntegrityError(LibraryFileError):
    """A library's content does not give the content hash its file records: it was altered
    (or corrupted) after it was written, and must not be used.

    Parameters
    ----------
    path
        The file.
    part
        The id of the library (part of the file) whose content does not match.
    recorded
        The content hash the file records (what a result would have named).
    actual
        The content hash of the bytes read.
    """

    def __init__(self, *, path: str | Path, part: str, recorded: str, actual: str) -> None:
        self.part = part
        self.recorded = recorded
        self.actual = actual
        super().__init__(
            f"library {part!r} refused: content hash mismatch: the file records {recorded}, "
            f"its content gives {actual}; the library was altered or corrupted after it was "
            "written",
            path=path, field="hash",
        )


class ReferenceUnavailableError(LibraryError, LookupError):
    """The library holds no raw reference spectrum for this entry (built from vectors)."""
