"""Errors and warnings of the spectrum core.

One root (:class:`SpectraError`); each error also subclasses the builtin it
refines, so callers that only know ``ValueError`` still catch it.
"""

from __future__ import annotations

from pathlib import Path


def where_in_file(
    path: str | None, *, line: int | None = None, offset: int | None = None,
    field: str | None = None, unnamed: str = "<data>",
) -> str:
    """Where a fault is, as every file error of the house says it: ``path:line (byte
    offset): field``, each part when known.

    >>> where_in_file("a.jdx", line=12, field="##XFACTOR")
    'a.jdx:12: ##XFACTOR'
    >>> where_in_file(None, offset=64, unnamed="<library>")
    '<library> (byte 64)'
    """
    where = path or unnamed
    if line is not None:
        where += f":{line}"
    if offset is not None:
        where += f" (byte {offset})"
    if field:
        where += f": {field}"
    return where


class SpectraError(Exception):
    """Root of every error raised by :mod:`spectra`."""


class SpectrumValidationError(SpectraError, ValueError):
    """A spectrum's arrays or metadata are not valid (lengths, finiteness, axis order...)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class UnitError(SpectraError, ValueError):
    """A conversion or step was asked of a spectrum in the wrong unit."""


class FormatError(SpectraError, ValueError):
    """A file could not be read or written.

    The message names the file, where in it (line or byte offset) and which field.

    Parameters
    ----------
    message
        What is wrong.
    path
        The file.
    line
        1-based line number, for text formats.
    offset
        0-based byte offset, for binary formats.
    field
        The label, header field or column concerned.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        offset: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.offset = offset
        self.field = field
        self.reason = message
        where = where_in_file(self.path, line=line, offset=offset, field=field)
        super().__init__(f"{where}: {message}")


class UnsupportedFormatError(FormatError):
    """The file is not in any format we read (or not in the format that was asked for)."""


class UnsupportedContentError(FormatError):
    """The file is well formed, but holds something that is deliberately not read.

    For example a JCAMP-DX NTUPLES block of a 2-D NMR experiment, or a
    compound file that holds no spectrum. Documented per format in ``docs/formats/``.
    """


class AxisReversedWarning(UserWarning):
    """The x axis was strictly decreasing and has been reversed to increasing order."""


class ParameterWarning(UserWarning):
    """A parameter or file value is valid but doubtful; the result may not be what was meant."""
