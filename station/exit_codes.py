"""The exit codes of ``interdict``: one table for every command, and the kinds of error that
lead to each.

Only commands (:mod:`station.commands`, :mod:`station.cli`) use this module; workflows return
outcomes or raise typed errors (:mod:`station.errors` and the other packages' own), and the
command turns them into words and a code here. ``interdict --help`` prints the table; each
command's ``--help`` lists the codes it can return; ``docs/station.md`` holds the same table
(a test keeps the three in step).

>>> ExitCode.ALERT.meaning
'recorded; ALERT: a controlled substance or precursor is indicated'
>>> ExitCode.PARCEL.value
5
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import IntEnum


class ExitCode(IntEnum):
    """What an ``interdict`` command's exit status means (the same for every command)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    REJECTED = 3
    DEVICE = 4
    PARCEL = 5
    NOT_VERIFIED = 6
    UNREACHABLE = 7
    ALERT = 10
    INCONCLUSIVE = 11
    INTERRUPTED = 130

    @property
    def meaning(self) -> str:
        """One line: what the code says."""
        return MEANINGS[self]


MEANINGS: Mapping[ExitCode, str] = {
    ExitCode.OK: "success (scan, reidentify: recorded, no alerting substance)",
    ExitCode.ERROR: "error: a file, library, database or key could not be used",
    ExitCode.USAGE: "usage or configuration error: a bad option, setting or file",
    ExitCode.REJECTED: "done, but some inputs were refused, each named on stderr",
    ExitCode.DEVICE: "analyzer: none at the URL, link lost, refused, self-test failed",
    ExitCode.PARCEL: "parcel: invalid id, unknown, not in hand, hold move not allowed",
    ExitCode.NOT_VERIFIED: "the evidence does NOT verify (chain, signatures, records, bundle)",
    ExitCode.UNREACHABLE: "central or its database unreachable: nothing lost, try again later",
    ExitCode.ALERT: "recorded; ALERT: a controlled substance or precursor is indicated",
    ExitCode.INCONCLUSIVE: "recorded; INCONCLUSIVE or NO_MATCH (the next step is printed)",
    ExitCode.INTERRUPTED: "interrupted (SIGINT/SIGTERM) before anything was stored",
}


def table(codes: Iterable[ExitCode] | None = None, *, indent: str = "  ") -> str:
    """The codes (default: all) as aligned lines for a terminal."""
    chosen = sorted(set(ExitCode) if codes is None else set(codes))
    return "\n".join(f"{indent}{int(c):<4} {MEANINGS[c]}" for c in chosen)


def epilog(*codes: ExitCode) -> str:
    """A command's ``--help`` epilog: the exit codes it returns (usage, 2, always included)."""
    return "exit codes:\n" + table({*codes, ExitCode.USAGE})


# What each kind of error means to the officer: (module, class) -> code, what to do next.
# Looked up along the error's class hierarchy, most specific first, by name: no package is
# imported to classify an error (a class whose module never loaded cannot have been
# raised). A test checks that every entry names a real class.
KINDS: Mapping[tuple[str, str], tuple[ExitCode, str | None]] = {
    ("station.errors", "ConfigError"): (
        ExitCode.USAGE, "interdict config shows each setting and where it came from"),
    ("station.errors", "UsageError"): (ExitCode.USAGE, None),
    ("station.errors", "ReferenceIndexError"): (
        ExitCode.ERROR, "fix that row of index.csv (its columns: fixtures/README.md)"),
    ("station.errors", "LibraryUnavailableError"): (
        ExitCode.ERROR, "check --library (interdict library info FILE), or leave it unset "
                        "for the embedded default library"),
    ("station.errors", "EvidenceStoreMissingError"): (
        ExitCode.ERROR, "import the AED batch first (interdict parcel import FILE), or point "
                        "--db / INTERDICT_DB at the evidence database"),
    ("station.errors", "SelfTestFailedError"): (
        ExitCode.DEVICE, "recalibrate or replace the analyzer before it records evidence"),
    ("station.errors", "DeviceError"): (
        ExitCode.DEVICE, "interdict devices lists the serial ports and probes them"),
    ("station.errors", "ParcelStateError"): (
        ExitCode.PARCEL, "interdict parcel show ITEM shows its hold and inspections"),
    ("station.errors", "ScanInterruptedError"): (
        ExitCode.INTERRUPTED, "nothing was stored; scan again when ready"),
    ("station.errors", "CentralUnreachableError"): (
        ExitCode.UNREACHABLE, "the records stay on this station until central has them; sync "
                              "again when the network is back (interdict sync)"),
    ("station.errors", "ChainForkError"): (
        ExitCode.NOT_VERIFIED, "interdict audit verify --central shows which events differ "
                               "from what central holds"),
    ("station.errors", "StationKeyRefusedError"): (
        ExitCode.NOT_VERIFIED, "if this station's key was lost or replaced, central's admin "
                               "registers the new one: interdict central station rotate-key "
                               "(docs/central.md); interdict audit verify --central checks "
                               "this chain"),
    ("station.errors", "CentralRefusedError"): (
        ExitCode.ERROR, "a revoked or wrong central_token: ask central's admin for a new one "
                        "(interdict central station add)"),
    ("station.errors", "StationError"): (ExitCode.ERROR, None),
    ("parcels.errors", "InvalidItemIdError"): (
        ExitCode.PARCEL, "check the id on the label: UPU S10, two letters, eight digits and "
                         "a check digit, two letters (e.g. RR473124829US)"),
    ("parcels.errors", "ParcelNotFoundError"): (
        ExitCode.PARCEL, "import the parcel's AED batch first (interdict parcel import FILE), "
                         "or check the id"),
    ("parcels.errors", "IllegalTransitionError"): (
        ExitCode.PARCEL, "interdict parcel show ITEM shows the hold and its history"),
    ("parcels.errors", "IntegrityError"): (
        ExitCode.NOT_VERIFIED, "nothing was changed; interdict audit verify says what does "
                               "not verify"),
    ("parcels.errors", "UnsafeTextError"): (
        ExitCode.USAGE, "give the value without control characters"),
    ("parcels.errors", "DatabaseUnreachableError"): (
        ExitCode.UNREACHABLE, "is the PostgreSQL server running, and the URL and its "
                              "credentials right? nothing was changed"),
    ("parcels.errors", "SchemaVersionError"): (
        ExitCode.ERROR, "open the database with the Interdict version that wrote it"),
    ("parcels.signing", "SigningKeyError"): (
        ExitCode.ERROR, "check the station key file (--key, INTERDICT_KEY): it must be "
                        "readable by this user only (mode 0600)"),
    ("parcels.errors", "ParcelsError"): (ExitCode.ERROR, None),
    ("driver.simulator.synth", "ScenarioError"): (ExitCode.ERROR, None),
    ("driver.errors", "DeviceRefusedError"): (
        ExitCode.DEVICE, "the analyzer refused the request; interdict devices shows its "
                         "capabilities and limits"),
    ("driver.errors", "NotSupportedError"): (
        ExitCode.DEVICE, "interdict devices shows what the analyzer offers"),
    ("driver.errors", "AnalyzerError"): (
        ExitCode.DEVICE, "check the cable and the --device URL; interdict devices lists the "
                         "serial ports and probes them"),
    ("matcher.library._errors", "LibraryError"): (
        ExitCode.ERROR, "interdict library info FILE checks a library file"),
    ("matcher.errors", "MatcherError"): (ExitCode.ERROR, None),
    ("spectra._errors", "SpectraError"): (
        ExitCode.ERROR, "docs/formats.md lists what each reader accepts"),
    ("psycopg", "OperationalError"): (
        ExitCode.UNREACHABLE, "the PostgreSQL server stopped answering; what was not "
                              "acknowledged was rolled back: try again"),
    ("psycopg", "Error"): (
        ExitCode.ERROR, "the PostgreSQL database refused the request; is it an Interdict "
                        "database at this version?"),
    ("parcels.errors", "StoreError"): (
        ExitCode.ERROR, "is it an Interdict evidence database? interdict audit verify checks "
                        "it"),
    ("central.serve", "ListenError"): (
        ExitCode.ERROR, "is another service on that port? choose one with --listen "
                        "HOST:PORT"),
    ("central.devdb", "DevDBError"): (
        ExitCode.ERROR, "the fleet demo starts its own PostgreSQL: install the server "
                        "binaries (make postgres does, as root), pip install pgserver, or set "
                        "INTERDICT_PG_BINDIR"),
    ("builtins", "OSError"): (ExitCode.ERROR, "check the path and its permissions"),
    ("builtins", "ValueError"): (ExitCode.ERROR, None),
}


def classify(exc: BaseException | type[BaseException]) -> tuple[ExitCode, str | None] | None:
    """The exit code and default hint of an error's kind (an error or its class); None for
    an unexpected error (a bug: the command reports it with its traceback)."""
    for cls in (exc if isinstance(exc, type) else type(exc)).__mro__:
        kind = KINDS.get((cls.__module__, cls.__qualname__))
        if kind is not None:
            return kind
    return None


__all__ = ["KINDS", "MEANINGS", "ExitCode", "classify", "epilog", "table"]
