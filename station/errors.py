"""The station's errors: one root, each refining the builtin it is a kind of.

A workflow raises these (or lets the other packages' own typed errors through: a parcel
that is not found is :class:`parcels.errors.ParcelNotFoundError`, a link that fails is a
:class:`driver.errors.AnalyzerError`); it never chooses an exit code or prints the error.
Only a command turns an error into words and an exit code (:mod:`station.exit_codes`).

Every error says what went wrong (its message) and may say what to do next (``hint``);
without one, the command takes the hint of the error's kind from :mod:`station.exit_codes`.
"""

from __future__ import annotations


class StationError(Exception):
    """Root of the station's errors.

    Parameters
    ----------
    message
        What went wrong, naming the thing at fault (file, option, parcel, device).
    hint
        What to do next, when this error knows better than its kind's default.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class UsageError(StationError, ValueError):
    """A command was given something it cannot use: a bad option value, a missing setting."""


class ConfigError(UsageError):
    """The configuration (file, variable or flag) is not valid; the message says where."""


class ReferenceIndexError(StationError, ValueError):
    """An ``index.csv`` row of a reference folder is not valid (file, line and column named)."""


class LibraryUnavailableError(StationError, OSError):
    """The reference library cannot be opened or built."""


class EvidenceStoreMissingError(StationError, FileNotFoundError):
    """There is no evidence database where the configuration points."""


class DeviceError(StationError, OSError):
    """The analyzer cannot be used for this: none configured, a technique it does not offer,
    an acquisition it refused."""


class SelfTestFailedError(DeviceError):
    """The analyzer failed its self-test against the reference standard: it must not be used
    for evidence."""


class ParcelStateError(StationError, ValueError):
    """The parcel exists but cannot be worked on now (not in hand, nothing to re-examine)."""


class ExportRefusedError(StationError, ValueError):
    """An analyzer's export cannot be taken in (``interdict ingest``): too large, several
    spectra in one file, a technique no library part covers, no parcel id; the message names
    the file and why. The file is quarantined, never lost."""


class ScanInterruptedError(StationError, InterruptedError):
    """A stop was asked for (SIGINT/SIGTERM) before anything was stored."""


__all__ = [
    "ConfigError",
    "DeviceError",
    "EvidenceStoreMissingError",
    "ExportRefusedError",
    "LibraryUnavailableError",
    "ParcelStateError",
    "ReferenceIndexError",
    "ScanInterruptedError",
    "SelfTestFailedError",
    "StationError",
    "UsageError",
]
