"""Long work tells a :class:`spectra.Progress` how far it has come: an AED import in bytes
of the file, an audit verification in steps (events, then raw spectra decoded)."""

from __future__ import annotations

import json
from pathlib import Path

from parcels.aed import PROGRESS_EVERY, import_batch
from parcels.store import SQLiteStore

from .builders import DEVICE, aed, identification, item_id, spectrum


class Recorder:
    """A Progress that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def __call__(self, done: int, total: int, /) -> None:
        self.calls.append((done, total))


def test_an_import_reports_the_bytes_read_up_to_the_file_size(store: SQLiteStore,
                                                              tmp_path: Path) -> None:
    rows = 2 * PROGRESS_EVERY + 5
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(json.dumps(aed(n)) for n in range(rows)) + "\n",
                    encoding="utf-8")
    seen = Recorder()
    summary = import_batch(store, path, actor="feed", progress=seen)
    size = path.stat().st_size
    assert summary.inserted == rows
    assert len(seen.calls) == 3  # every PROGRESS_EVERY rows, and the end
    done = [d for d, _ in seen.calls]
    assert done == sorted(done) and 0 < done[0] < size
    assert {t for _, t in seen.calls} == {size} and seen.calls[-1] == (size, size)


def test_an_import_without_a_receiver_is_unchanged(store: SQLiteStore, tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(aed(1)) + "\n", encoding="utf-8")
    assert import_batch(store, path, actor="feed").inserted == 1


def test_a_verification_counts_events_then_spectra(store: SQLiteStore, tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(json.dumps(aed(n)) for n in range(3)) + "\n", encoding="utf-8")
    import_batch(store, path, actor="feed")
    for n in range(2):
        store.add_inspection(item_id(n), spectrum(n, n=200), identification(),
                             operator="o", station="s", device=DEVICE)
    events = len(list(store.audit_events()))
    deep, quick = Recorder(), Recorder()
    assert store.verify(progress=deep).ok
    assert store.verify(deep=False, progress=quick).ok
    assert deep.calls[0] == (0, events + 2) and deep.calls[-1] == (events + 2, events + 2)
    assert quick.calls[-1] == (events, events)  # no spectrum decoded: not counted
