"""Spectrum file formats: one entry point to read (format sniffed from content) and write.

Each format is a module here with the same three functions:

- ``sniff(head: bytes) -> bool``: whether the first bytes of a file look like this format;
- ``read(path: Path) -> list[Spectrum]``;
- ``write(spectrum: Spectrum, path: Path) -> None`` (only where the format is written).

The order of :data:`FORMATS` matters: binary formats with magic bytes come first,
delimited text (which accepts the most) last.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Protocol, cast

from .._errors import FormatError, UnsupportedFormatError
from .._model import Spectrum

SNIFF_BYTES = 4096
"""How many leading bytes a format sees to decide whether a file is its own."""


class FormatModule(Protocol):
    """What a format module provides (``write`` is optional)."""

    NAME: str
    EXTENSIONS: tuple[str, ...]

    def sniff(self, head: bytes) -> bool: ...

    def read(self, path: Path) -> list[Spectrum]: ...


def _modules() -> list[ModuleType]:
    from . import jcamp, spc, text
    from ._vendor import VENDOR_MODULES

    # vendor formats have signatures of their own: before the text formats (accept the most)
    return [spc, *VENDOR_MODULES, jcamp, text]


def formats() -> dict[str, FormatModule]:
    """The known formats by name (``"spc"``, ``"jcamp"``, ``"csv"``)."""
    return {m.NAME: cast(FormatModule, m) for m in _modules()}


def sniff(path: str | os.PathLike[str]) -> str:
    """The name of the format of the file at ``path``, from its content.

    Raises
    ------
    FormatError
        The file cannot be opened or is empty.
    UnsupportedFormatError
        No known format claims it.
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        raise FormatError(f"cannot open: {exc.strerror or exc}", path=p) from exc
    if not head:
        raise FormatError("file is empty", path=p, offset=0)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")) and zipfile.is_zipfile(p):
        # before the SPC sniffer: 'K' is a new-format SPC version byte, and an archive
        # (a NumPy .npz, a zipped export) would be refused with a message about SPC blocks
        raise UnsupportedFormatError(
            "a ZIP archive (a NumPy .npz, a zipped export), not a spectrum file; unpack it "
            "and give the spectrum files", path=p, offset=0)
    for name, mod in formats().items():
        if mod.sniff(head):
            return name
    raise UnsupportedFormatError(
        "not a spectrum file in any known format (JCAMP-DX, SPC, delimited text, "
        "Bruker OPUS, Thermo OMNIC, Renishaw WDF, Princeton SPE, PerkinElmer SP, Ocean text)",
        path=p, offset=0,
    )


def read(path: str | os.PathLike[str], *, format: str | None = None) -> list[Spectrum]:
    """Read every spectrum in a file.

    Parameters
    ----------
    path
        The file.
    format
        Force a format by name instead of sniffing the content.

    Returns
    -------
    list of Spectrum
        A file can hold several (JCAMP-DX LINK blocks, SPC multifiles).

    Raises
    ------
    FormatError
        With the file, the line or byte offset, and the field at fault.
    """
    p = Path(path)
    name = format or sniff(p)
    known = formats()
    if name not in known:
        raise UnsupportedFormatError(
            f"unknown format {name!r}; known: {', '.join(sorted(known))}", path=p
        )
    return known[name].read(p)


def _format_for_extension(path: Path) -> str:
    ext = path.suffix.lower()
    for name, mod in formats().items():
        if ext in mod.EXTENSIONS and hasattr(mod, "write"):
            return name
    raise UnsupportedFormatError(
        f"cannot tell the format to write from the extension {ext!r}; "
        "pass format='jcamp' or format='csv'",
        path=path,
    )


def write(
    spectrum: Spectrum, path: str | os.PathLike[str], *, format: str | None = None
) -> Path:
    """Write one spectrum; the format is ``format`` or taken from the extension.

    Returns
    -------
    Path
        The path written.
    """
    p = Path(path)
    name = format or _format_for_extension(p)
    mod = formats().get(name)
    if mod is None or not hasattr(mod, "write"):
        raise UnsupportedFormatError(f"format {name!r} cannot be written", path=p)
    mod.write(spectrum, p)  # type: ignore[attr-defined]
    return p


__all__ = ["SNIFF_BYTES", "formats", "read", "sniff", "write"]
