"""The substance library: entries, CAS validation, the library file, sub-libraries.

A :class:`Library` holds the references of one technique preprocessed onto one axis (a
float32 matrix), their metadata (:class:`LibraryEntry`), the :class:`spectra.Pipeline` they
went through, and the raw reference spectra (compressed). A :class:`LibrarySet` holds
several (Raman, FTIR) in one file. Opening a file reads it into private memory and checks
its content hash before anything is used (:class:`LibraryIntegrityError` otherwise).
"""

from ._build import (
    FILES_PER_TASK,
    LibraryBuild,
    SkippedFile,
    UnreadableReferenceError,
    build_from_files,
)
from ._cas import cas_check_digit, validate_cas
from ._entry import EntryMeta, LibraryEntry, slug
from ._errors import (
    InvalidCASError,
    InvalidEntryError,
    LibraryError,
    LibraryFileError,
    LibraryIntegrityError,
    LibraryVersionError,
    QueryMismatchError,
    ReferenceUnavailableError,
)
from ._format import FORMAT_VERSION, MAGIC
from ._hash import HASH_SCHEME
from ._library import (
    DEFAULT_MIN_COVERAGE,
    Library,
    LibrarySet,
    Routes,
    default_x_unit,
    fill_unstated,
    techniques_compatible,
)

__all__ = [
    "DEFAULT_MIN_COVERAGE",
    "FILES_PER_TASK",
    "FORMAT_VERSION",
    "HASH_SCHEME",
    "MAGIC",
    "EntryMeta",
    "InvalidCASError",
    "InvalidEntryError",
    "Library",
    "LibraryBuild",
    "LibraryEntry",
    "LibraryError",
    "LibraryFileError",
    "LibraryIntegrityError",
    "LibrarySet",
    "LibraryVersionError",
    "QueryMismatchError",
    "ReferenceUnavailableError",
    "Routes",
    "SkippedFile",
    "UnreadableReferenceError",
    "build_from_files",
    "cas_check_digit",
    "default_x_unit",
    "fill_unstated",
    "slug",
    "techniques_compatible",
    "validate_cas",
]
