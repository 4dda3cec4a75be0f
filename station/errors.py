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


class CentralError(StationError):
    """Working with the fleet's central service failed (sync, ``audit verify --central``).

    Parameters
    ----------
    message, hint
        As :class:`StationError`.
    status
        The HTTP status central answered with, when it answered.
    detail
        Central's JSON error body (``detail``, and ``reason`` for a refused push).
    """

    def __init__(self, message: str, *, hint: str | None = None, status: int | None = None,
                 detail: dict[str, object] | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.detail = detail or {}


class CentralUnreachableError(CentralError, ConnectionError):
    """Central cannot be reached (no network, central down, a timeout): nothing acknowledged
    is lost, and what is unsent stays on the station until the next sync."""


class CentralRefusedError(CentralError):
    """Central answered with an error (its HTTP status and reason): a revoked or wrong
    credential, a parcel of another facility, a push it found invalid."""


class ChainForkError(CentralError):
    """The station's chain differs from what central holds of it: rewritten after it was
    synced, or another station syncs under this name. Nothing was pushed."""


class StationKeyRefusedError(CentralError):
    """The station's chain heads are signed by a key other than the one central registered
    for this station (or do not verify). Nothing was pushed."""


__all__ = [
    "CentralError",
    "CentralRefusedError",
    "CentralUnreachableError",
    "ChainForkError",
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
    "StationKeyRefusedError",
    "UsageError",
]
