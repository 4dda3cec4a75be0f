"""The hot folder's mechanics: when a file is complete, and moving a file aside without
replacing anything (see :mod:`station.workflows.ingest`, whose command is ``interdict ingest``).

Nothing heavy is imported here: the command's ``--help`` shows these defaults.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SETTLE_S = 2.0
"""Default settle period: a file is complete once unchanged for this long (seconds)."""
POLL_S = 0.5
"""Default time between two looks at the folder (seconds)."""
PATIENCE_SETTLES = 10
"""Without ``--watch``: a file still changing after this many settle periods (and at least
:data:`MIN_PATIENCE_S`) is left where it is for the next run."""
MIN_PATIENCE_S = 10.0
PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".filepart", ".download")
"""Names a writer gives a file still being written (then renamed into place): never taken."""
DONE, QUARANTINE = "done", "quarantine"
"""The default sub-folders of the hot folder for recorded and quarantined files."""

Signature = tuple[int, int, int, int]
"""What says a file is unchanged: (device, inode, size, mtime in ns)."""


def signature(path: Path) -> Signature | None:
    """The file's :data:`Signature`; None when it is not a regular file (or is gone)."""
    try:
        st = path.stat(follow_symlinks=False)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def takeable(name: str) -> bool:
    """Whether a file name is one the hot folder takes (not hidden, not a partial write)."""
    return not name.startswith(".") and not name.lower().endswith(PARTIAL_SUFFIXES)


@dataclass
class _Seen:
    sig: Signature
    since: float
    """Clock reading when this signature was first seen."""
    first: float
    """Clock reading when the file was first seen at all."""


class HotFolder:
    """Which files of a folder are complete: polled, each file's signature watched.

    Parameters
    ----------
    folder
        The folder (only its own regular files are looked at, not sub-folders).
    settle_s
        A file is complete once its signature has not changed for this long; 0 takes a file
        when first seen (for writers that rename a finished file into place).
    clock
        A monotonic clock in seconds (:func:`time.monotonic` by default); tests pass their own.
    """

    def __init__(self, folder: Path, *, settle_s: float = SETTLE_S,
                 clock: Callable[[], float] | None = None) -> None:
        if settle_s < 0:
            raise ValueError(f"settle period must be >= 0 s, got {settle_s!r}")
        self.folder = folder
        self.settle_s = settle_s
        self.clock = clock or time.monotonic
        self._seen: dict[str, _Seen] = {}
        self._handled: dict[str, Signature] = {}

    def poll(self) -> tuple[list[Path], list[tuple[Path, int]]]:
        """Look at the folder once.

        Returns
        -------
        ready
            Files complete now, by name; each is handed out once: not again while it stays
            as it was (a file that could not be moved away), unless :meth:`again` says it
            turned out to be still changing.
        changed
            ``(file, size)`` of files seen for the first time or changed since the last look,
            not yet complete.
        """
        now = self.clock()
        present: dict[str, Signature] = {}
        with os.scandir(self.folder) as it:
            for entry in it:
                if takeable(entry.name) and (sig := signature(Path(entry.path))) is not None:
                    present[entry.name] = sig
        for gone in set(self._seen) - set(present):
            del self._seen[gone]
        for gone in set(self._handled) - set(present):
            del self._handled[gone]
        ready: list[Path] = []
        changed: list[tuple[Path, int]] = []
        for name in sorted(present):
            sig = present[name]
            if self._handled.get(name) == sig:
                continue  # taken already, could not be moved away: not again until it changes
            seen = self._seen.get(name)
            if seen is None or seen.sig != sig:
                self._seen[name] = _Seen(sig, now, now if seen is None else seen.first)
                if self.settle_s > 0:
                    changed.append((self.folder / name, sig[2]))
                    continue
            if now - self._seen[name].since >= self.settle_s:
                ready.append(self.folder / name)
                del self._seen[name]
                self._handled[name] = sig
        return ready, changed

    def still_waiting(self) -> list[tuple[Path, float]]:
        """Files seen but not complete yet, with how long they have been waiting (s)."""
        now = self.clock()
        return [(self.folder / n, now - s.first) for n, s in sorted(self._seen.items())]

    def settled(self, path: Path) -> Signature | None:
        """The signature a handed-out file had when it was found complete."""
        return self._handled.get(path.name)

    def again(self, path: Path, sig: Signature) -> None:
        """A handed-out file turned out to be changing: watch it settle again."""
        now = self.clock()
        self._handled.pop(path.name, None)
        self._seen[path.name] = _Seen(sig, now, now)


@dataclass(frozen=True)
class Waiting:
    """A file was seen (or changed) and is not complete yet."""

    path: Path
    size: int


def _free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or ``folder/stem.N.suffix`` for the first N not taken."""
    target = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 1
    while target.exists() or target.with_name(target.name + ".reason.json").exists():
        target = folder / f"{stem}.{n}{suffix}"
        n += 1
    return target


def move_aside(path: Path, folder: Path) -> Path:
    """Move a file into ``folder`` without replacing anything there (a name taken gets a
    number); a rename where possible, else a copy (synced) then the original removed."""
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        target = _free_name(folder, path.name)
        try:
            os.link(path, target)  # fails if the name was taken meanwhile: never overwrites
        except FileExistsError:
            continue
        except OSError:  # another file system, or no hard links there
            with path.open("rb") as src, target.open("xb") as dst:
                shutil.copyfileobj(src, dst)
                dst.flush()
                os.fsync(dst.fileno())
        path.unlink()
        return target


__all__ = ["DONE", "MIN_PATIENCE_S", "PARTIAL_SUFFIXES", "PATIENCE_SETTLES", "POLL_S",
           "QUARANTINE", "SETTLE_S", "HotFolder", "Signature", "Waiting", "move_aside",
           "signature", "takeable"]
