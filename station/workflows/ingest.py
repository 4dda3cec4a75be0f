"""The hot folder (``interdict ingest``): closed handhelds' exports taken in as evidence.

A closed handheld (Thermo, Rigaku, Metrohm, Bruker...) speaks no open protocol; it exports its
scan as a file over USB or a network share. :class:`HotFolder` watches such a folder by
polling and hands over a file only once it is complete: its size, modification time and
inode have stayed the same for the settle period (measured on an injected monotonic clock),
or, with a settle period of 0, at once, for writers that rename a finished file into place
(names starting with ``.`` or ending in :data:`PARTIAL_SUFFIXES` are never taken).

:class:`Ingest` takes each file the way ``interdict scan`` takes an acquisition, through the
same :class:`~station.workflows.scan.StationSession`: the bytes are read once and hashed;
the spectrum is read by :func:`spectra.read` from exactly those bytes (a private copy, so a
writer still holding the file cannot change what was read); the device identity and the
acquisition settings come from the file's own metadata; the parcel id from ``--parcel``, the
configured file-name rule (``ingest_name_rule``) or the officer at the prompt; then the
parcel is taken in hand, the spectrum identified against the library and recorded with its
audit events, the original bytes with them (:class:`parcels.store.NewOriginal`).

A recorded file is moved to the ``done`` folder: the hot folder then holds only what is still
to be taken, and a restart does not read every old export again. A file that cannot be taken
(unreadable, no valid parcel id, a parcel not in hand, already stored) is moved to the
``quarantine`` folder with a sidecar ``<name>.reason.json`` saying why; nothing is deleted,
and a file moved back into the hot folder is taken again. One file's failure never stops the
others. Nothing here chooses an exit code or prints an error: the command does.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, TextIO

from spectra import SpectraError
from station.config import StationConfig
from station.errors import (
    ConfigError,
    EvidenceStoreMissingError,
    ExportRefusedError,
    LibraryUnavailableError,
    UsageError,
)
from station.workflows._hotfolder import (
    DONE,
    MIN_PATIENCE_S,
    PATIENCE_SETTLES,
    POLL_S,
    QUARANTINE,
    SETTLE_S,
    HotFolder,
    Waiting,
    move_aside,
    signature,
)
from station.workflows.scan import ScanOutcome, StationSession, Stop, _say

if TYPE_CHECKING:
    from parcels.records import DeviceIdentity
    from spectra import Spectrum

MAX_EXPORT_BYTES = 64 * 1024 * 1024
"""The largest export taken (a handheld's scan is kilobytes; a Raman map is not a scan)."""
NOT_STATED = "not stated in the file"
"""What the inspection's device records for a field the export does not state."""
Status = Literal["recorded", "duplicate", "quarantined", "left"]


@dataclass
class FileOutcome:
    """What became of one file of the hot folder."""

    name: str
    status: Status
    """``recorded``; ``duplicate`` (its bytes are already stored: nothing recorded);
    ``quarantined`` (not taken, the reason beside it); ``left`` (still being written when a
    run without ``--watch`` ended: left in place)."""
    sha256: str | None = None
    size: int | None = None
    format: str | None = None
    item_id: str | None = None
    moved_to: Path | None = None
    """Where the file is now (None: still in the hot folder)."""
    scan: ScanOutcome | None = None
    device: DeviceIdentity | None = None
    spectrum: Spectrum | None = None
    error: BaseException | None = None
    reason: str | None = None
    """The error's message as told to the officer (a staging path replaced by the file's)."""
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """One JSON line (``--json``)."""
        rec: dict[str, Any] = {
            "event": self.status, "file": self.name, "sha256": self.sha256, "size": self.size,
            "format": self.format, "item_id": self.item_id,
            "moved_to": None if self.moved_to is None else str(self.moved_to),
        }
        if self.error is not None:
            rec["error"] = type(self.error).__name__
        if self.reason is not None:
            rec["reason"] = self.reason
        if self.notes:
            rec["notes"] = list(self.notes)
        if self.device is not None:
            rec["device"] = self.device.model_dump(mode="json")
        if self.spectrum is not None:
            rec["acquisition"] = self.spectrum.acquisition.model_dump(mode="json",
                                                                      exclude_none=True)
        if self.scan is not None:
            rec |= {k: v for k, v in self.scan.as_json().items() if k != "item_id"}
        return rec


@dataclass(frozen=True)
class Unavailable:
    """The hot folder cannot be read (``error``; a share or a stick gone), or, with
    ``error`` None, can be again. Only with ``--watch``: it is looked at again each poll."""

    folder: Path
    error: OSError | None


def device_of(spectrum: Spectrum) -> DeviceIdentity:
    """The analyzer an export names in its own metadata; a field it does not state is
    recorded as :data:`NOT_STATED` (said, not guessed)."""
    from parcels.records import DeviceIdentity

    a = spectrum.acquisition
    return DeviceIdentity(make=a.instrument_make or None,
                          model=(a.instrument_model or "").strip() or NOT_STATED,
                          serial=(a.instrument_serial or "").strip() or NOT_STATED,
                          firmware=(a.firmware or "").strip() or NOT_STATED)


def scan_technique(spectrum: Spectrum) -> str:
    """The library part an export is identified against, as ``scan`` names it: ``raman``
    or ``ftir`` (any mid-infrared absorption).

    Raises
    ------
    ExportRefusedError
        Any other technique: no library part covers it.
    """
    if spectrum.technique.value == "raman":
        return "raman"
    if spectrum.technique.is_infrared:
        return "ftir"
    raise ExportRefusedError(
        f"a {spectrum.technique.value} spectrum ({spectrum.x_unit.value}): the library "
        "identifies Raman and mid-infrared (FTIR) spectra only",
        hint="export the scan as a Raman or FTIR spectrum; the file is in quarantine")


def read_export(path: Path, *, max_bytes: int = MAX_EXPORT_BYTES) -> bytes:
    """The whole file, refused before reading when larger than ``max_bytes``.

    Raises
    ------
    ExportRefusedError
        Too large.
    OSError
        It cannot be read.
    """
    with path.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > max_bytes:
            raise ExportRefusedError(f"{path}: {size} bytes, more than the {max_bytes} an "
                                     "export may have (a scan, not a map or a series)")
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ExportRefusedError(f"{path}: grew past {max_bytes} bytes while being read")
    return data


def spectrum_of(name: str, data: bytes, shown_as: Path) -> tuple[Spectrum, str]:
    """The one spectrum of an export, read by :func:`spectra.read` from exactly ``data``
    (a private copy under the file's own name), and the reader's name.

    Raises
    ------
    spectra.SpectraError
        Not readable; the message names ``shown_as``, not the private copy.
    ExportRefusedError
        The file holds more than one spectrum (an inspection is one measurement).
    """
    import spectra

    with tempfile.TemporaryDirectory(prefix="interdict-ingest-") as tmp:
        staged = Path(tmp) / name
        staged.write_bytes(data)
        try:
            fmt = spectra.sniff(staged)
            found = spectra.read(staged, format=fmt)
        except spectra.FormatError as exc:
            exc.args = (str(exc).replace(str(staged), str(shown_as)),)
            exc.path = str(shown_as)
            raise
    if len(found) != 1:
        raise ExportRefusedError(
            f"{shown_as}: {len(found)} spectra in one file ({fmt}); an inspection records "
            "one measurement",
            hint="export each scan as its own file; the file is in quarantine")
    return found[0].replace(source=name), fmt


PER_FILE_ERRORS: tuple[str, ...] = (
    "spectra._errors.SpectraError", "station.errors.ExportRefusedError",
    "station.errors.ParcelStateError", "station.errors.StationError",
    "parcels.errors.InvalidItemIdError", "parcels.errors.ParcelNotFoundError",
    "parcels.errors.IllegalTransitionError", "parcels.errors.DuplicateOriginalError",
    "parcels.errors.UnsafeTextError", "builtins.ValueError", "builtins.OSError",
)
"""What one file can go wrong with (it is quarantined, the others go on)."""

FATAL: tuple[type[BaseException], ...] = (ConfigError, EvidenceStoreMissingError,
                                          LibraryUnavailableError)
"""Station errors that concern every file (the command stops with its error)."""


def _per_file(exc: BaseException) -> bool:
    """Whether ``exc`` concerns one file only (not the store, key, library or settings)."""
    from parcels.errors import IntegrityError, SchemaVersionError
    from parcels.signing import SigningKeyError

    if isinstance(exc, (*FATAL, IntegrityError, SchemaVersionError, SigningKeyError)):
        return False
    names = {f"{c.__module__}.{c.__qualname__}" for c in type(exc).__mro__}
    return bool(names & set(PER_FILE_ERRORS))


class Ingest:
    """The hot folder's work: each complete file read, identified, recorded or quarantined.

    Parameters
    ----------
    cfg
        The station configuration (database, library, operator, station, name rule).
    folder
        The hot folder.
    parcel
        The parcel every file of this run belongs to (``--parcel``); else the name rule,
        else ``ask``.
    ask
        Asks the officer for a file's parcel id (None: nobody to ask); returns the id, or
        None / empty to quarantine the file.
    done, quarantine
        Where recorded and refused files go (default: sub-folders of ``folder``).
    settle_s, poll_s
        See :class:`HotFolder`; the time between two looks at the folder.
    out
        Where the transcript goes (the parcel's state; the command prints the verdicts).
    clock
        The current time (UTC) for what is recorded; ``monotonic`` for the settle period.
    stop
        SIGINT/SIGTERM as a flag; the file being taken is finished first.
    """

    def __init__(self, cfg: StationConfig, folder: Path, *, parcel: str | None = None,
                 ask: Callable[[str], str | None] | None = None, done: Path | None = None,
                 quarantine: Path | None = None, settle_s: float = SETTLE_S,
                 poll_s: float = POLL_S, out: TextIO | None = None,
                 clock: Callable[[], datetime] | None = None,
                 monotonic: Callable[[], float] | None = None, stop: Stop | None = None) -> None:
        self.cfg = cfg
        self.folder = folder
        self.parcel = parcel
        self.ask = ask
        self.done_dir = done or folder / DONE
        self.quarantine_dir = quarantine or folder / QUARANTINE
        self.poll_s = poll_s
        self.stop = stop or Stop()
        self.hot = HotFolder(folder, settle_s=settle_s, clock=monotonic)
        self.session = StationSession(cfg, out=out, err=out, stop=self.stop, clock=clock)
        self.rule = cfg.name_rule()

    # -- opening ---------------------------------------------------------------------------
    def open(self) -> None:
        """Check what every file needs before the first is taken: the folder, the operator,
        the thresholds, the database and the library.

        Raises
        ------
        ExportRefusedError
            The folder is missing (or is not a folder).
        parcels.errors.InvalidItemIdError, parcels.errors.ParcelNotFoundError
            ``parcel`` is not a valid id, or not a stored parcel.
        StationError, parcels.errors.ParcelsError
            Operator, thresholds, database, library.
        """
        if not self.folder.is_dir():
            raise ExportRefusedError(f"{self.folder}: no such folder",
                                     hint="give the folder the analyzer exports into")
        for what, d in (("done", self.done_dir), ("quarantine", self.quarantine_dir)):
            if d.resolve() == self.folder.resolve():
                raise UsageError(f"--{what} {d} is the hot folder itself: its files would be "
                                 "taken again", hint=f"give --{what} another folder")
        if self.parcel is not None:
            from parcels.s10 import validate_item_id

            self.parcel = validate_item_id(self.parcel)
        _ = self.session.operator
        self.session.thresholds()
        store = self.session.open_store()
        if self.parcel is not None:  # a typo must not quarantine every file
            store.get_parcel(self.parcel)
        self.session.open_library()
        for d in (self.done_dir, self.quarantine_dir):
            d.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        """Close the store (idempotent)."""
        self.session.close()

    # -- the loop --------------------------------------------------------------------------
    def events(self, *, watch: bool, wait: Callable[[float], bool] | None = None
               ) -> Iterator[Waiting | Unavailable | FileOutcome]:
        """Take the folder's files as they become complete.

        Parameters
        ----------
        watch
            Run until stopped; else stop once no file is waiting (a file still being
            written after the patience is reported ``left``).
        wait
            Waits up to the given seconds for a stop; True when one was asked for. Default:
            the stop flag's event (the real clock); tests pass one that advances their own.

        Yields
        ------
        Waiting
            A file seen or changed, not complete yet.
        FileOutcome
            Each complete file's fate, in name order within one look.
        Unavailable
            With ``watch``: the folder could not be read, or can be again.
        """
        wait = wait or self.stop.event.wait
        patience = max(PATIENCE_SETTLES * self.hot.settle_s, MIN_PATIENCE_S)
        gone: OSError | None = None
        while not self.stop.requested:
            try:
                ready, changed = self.hot.poll()
            except OSError as exc:  # a network share or a USB stick gone
                if not watch:
                    raise
                if gone is None:
                    yield Unavailable(self.folder, exc)
                gone = exc
                if wait(self.poll_s):
                    return
                continue
            if gone is not None:
                gone = None
                yield Unavailable(self.folder, None)
            for path, size in changed:
                yield Waiting(path, size)
            for path in ready:
                outcome = self.take(path)
                if outcome is not None:
                    yield outcome
                if self.stop.requested:
                    return
            waiting = self.hot.still_waiting()
            if not watch:
                if not waiting and not ready:
                    return
                if waiting and all(age >= patience for _, age in waiting):
                    for path, age in waiting:
                        yield FileOutcome(
                            path.name, "left", reason=f"still being written after {age:.0f} s;"
                            " left in the folder for the next run")
                    return
            if ready:
                continue  # look again at once: more may have settled meanwhile
            if wait(self.poll_s):
                return

    # -- one file --------------------------------------------------------------------------
    def take(self, path: Path) -> FileOutcome | None:
        """Take one complete file: recorded (moved to ``done``), or quarantined with the
        reason; None when it vanished or changed while being read (it is watched again).

        Raises
        ------
        Exception
            Only what concerns every file (the store, the key, the library, the settings).
        """
        sig = signature(path)
        if sig is None:
            return None
        try:
            data = read_export(path)
        except FileNotFoundError:
            return None
        except (OSError, ExportRefusedError) as exc:
            return self._refuse(path, exc, None)
        after, settled = signature(path), self.hot.settled(path)
        if after != sig or len(data) != sig[2] or settled not in (None, sig):
            if after is not None:
                self.hot.again(path, after)
            return None
        try:
            return self._record(path, data)
        except Exception as exc:
            if not _per_file(exc):
                raise
            return self._refuse(path, exc, data)

    def _record(self, path: Path, data: bytes) -> FileOutcome:
        from parcels.errors import DuplicateOriginalError
        from parcels.store import NewOriginal
        from parcels.text import check_text

        check_text("name", path.name)  # as the store will: refused before the parcel is touched
        store = self.session.store
        assert store is not None
        sha = hashlib.sha256(data).hexdigest()
        stored = store.find_original(sha)
        if stored is not None:  # the store refuses it too; said before any work is done
            raise DuplicateOriginalError(sha, stored.inspection_id, stored.item_id)
        try:
            spectrum, fmt = spectrum_of(path.name, data, path)
        except (SpectraError, ExportRefusedError):
            raise
        except Exception as exc:  # a reader's bug must not stop the other files
            raise ExportRefusedError(
                f"{path}: the reader failed unexpectedly: {type(exc).__name__}: {exc}",
                hint="this is a bug; please report it with the file (it is in quarantine)",
            ) from exc
        technique = scan_technique(spectrum)
        device = device_of(spectrum)
        item = self.parcel_for(path.name)
        _say(self.session.out, f"{path.name}: {fmt} export of a {spectrum.technique.value} "
                               f"spectrum, {len(data)} bytes, SHA-256 {sha}; "
                               f"{_device_text(device)}")
        ident = self.session.identify(spectrum)
        item = self.session.ensure_in_hand(item)
        inspection = self.session.record(item, spectrum, ident, device=device,
                                         original=NewOriginal(path.name, data, fmt))
        outcome = FileOutcome(path.name, "recorded", sha256=sha, size=len(data), format=fmt,
                              item_id=item, device=device, spectrum=spectrum,
                              scan=ScanOutcome(item, [inspection], ident, technique))
        outcome.moved_to = self._move(path, self.done_dir, outcome)
        return outcome

    def parcel_for(self, name: str) -> str:
        """The parcel id of a file: ``--parcel``, else the name rule, else asked for.

        Raises
        ------
        parcels.errors.InvalidItemIdError
            What was found is not a valid UPU S10 id.
        ExportRefusedError
            No id at all.
        """
        from parcels.s10 import validate_item_id

        if self.parcel is not None:
            return self.parcel
        if self.rule is not None and (m := self.rule.search(name)) and m.group("item"):
            return validate_item_id(m.group("item"))
        answer = self.ask(name) if self.ask is not None else None
        if answer and answer.strip():
            return validate_item_id(answer.strip())
        why = (f"the name rule {self.rule.pattern!r} does not match it" if self.rule
               else "no name rule is configured (ingest_name_rule)")
        raise ExportRefusedError(
            f"{name}: no parcel id: {why}, no --parcel was given"
            + (" and none was typed" if self.ask is not None else ""),
            hint=f"name the file by the rule (or give --parcel ITEM) and move it back into "
                 f"{self.folder}")

    def _refuse(self, path: Path, exc: BaseException,
                data: bytes | None) -> FileOutcome:
        from parcels.errors import DuplicateOriginalError

        dup = exc if isinstance(exc, DuplicateOriginalError) else None
        reason = reason_of(exc)
        if str(path) not in reason:
            reason = f"{path}: {reason}"
        out = FileOutcome(path.name, "quarantined" if dup is None else "duplicate", error=exc,
                          reason=reason,
                          sha256=None if data is None else hashlib.sha256(data).hexdigest(),
                          size=None if data is None else len(data),
                          item_id=None if dup is None else dup.item_id)
        out.moved_to = self._move(path, self.quarantine_dir, out)
        return out

    def _move(self, path: Path, folder: Path,
              outcome: FileOutcome) -> Path | None:
        """Move the file out of the hot folder (a quarantined one with its reason beside
        it); None, with a note, when it cannot be (it stays, and is not taken again until
        it changes)."""
        try:
            moved = move_aside(path, folder)
        except OSError as exc:
            outcome.notes.append(f"could not move it to {folder}: {exc}; it stays in "
                                 f"{self.folder} and is not taken again until it changes")
            return None
        if outcome.status != "recorded":
            from station._files import write_atomically

            sidecar = {**outcome.as_json(), "moved_to": str(moved.resolve()),
                       "at": self.session.clock().isoformat(),
                       "station": self.cfg.station, "operator": self.cfg.operator}
            try:
                write_atomically(moved.with_name(moved.name + ".reason.json"),
                                 json.dumps(sidecar, indent=1, ensure_ascii=False) + "\n")
            except OSError as exc:
                outcome.notes.append(f"could not write the reason beside it: {exc}")
        return moved


def _device_text(device: DeviceIdentity) -> str:
    return (f"device: make {device.make or NOT_STATED}, model {device.model}, serial "
            f"{device.serial}, firmware {device.firmware}")


def prompt_for_parcel(stream: IO[str], err: TextIO, stop: Stop,
                      poll_s: float = 0.2) -> Callable[[str], str | None]:
    """An ``ask`` for :class:`Ingest` that prompts on ``err`` and reads one line (a typed or
    scanned barcode) from ``stream``; a stop request ends the wait (None)."""

    def ask(name: str) -> str | None:
        _say(err, f"parcel id for {name} (type or scan it; Enter alone quarantines the file):")
        while not stop.requested:
            ready, _, _ = select.select([stream], [], [], poll_s)
            if ready:
                line = stream.readline()
                return line.strip() or None
        return None

    return ask


def reason_of(exc: BaseException) -> str:
    """An error's message as one line (a pydantic error listed by field)."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        from parcels.aed import format_validation_error

        return format_validation_error(exc)
    if isinstance(exc, KeyError) and len(exc.args) == 1:
        return str(exc.args[0])
    return str(exc) or type(exc).__name__


__all__ = ["MAX_EXPORT_BYTES", "NOT_STATED", "FileOutcome", "Ingest", "Unavailable",
           "device_of",
           "prompt_for_parcel", "read_export", "reason_of", "scan_technique", "spectrum_of"]
