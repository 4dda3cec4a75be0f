"""The checks at central's door (``parcels.sync.check_batch``), without a database: a push
taken from a real station store passes; any single change to an event, a record or a signed
head, a push signed by a key other than the station's registered one, or a run cut or
started in the wrong place, is refused (never half-accepted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parcels.audit import GENESIS
from parcels.records import HoldState
from parcels.signing import StationKey
from parcels.store import SQLiteStore
from parcels.sync import StationBatch, SyncRefused, check_batch

from .builders import DEVICE, KEY, identification, item_id, parcel, spectrum


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> StationBatch:
    with SQLiteStore(tmp_path_factory.mktemp("station") / "s.db", signer=KEY) as s:
        s.import_parcels([(1, parcel(1, hold=True)), (2, parcel(2))], actor="aed", source="b")
        s.transition(item_id(1), HoldState.HELD, actor="officer")
        ins = s.add_inspection(item_id(1), spectrum(1, n=200), identification(),
                               operator="officer", station="ORD-1", device=DEVICE)
        s.add_inspection(item_id(2), spectrum(2, n=200), identification("NO_MATCH"),
                         operator="officer", station="ORD-1", device=DEVICE)
        s.add_result(ins.inspection_id, identification(library="lib-2"), recorded_by="lab")
        s.transition(item_id(1), HoldState.SEIZED, actor="officer")
        return s.sync_batch(after_seq=0, station="ord-1")


def check(b: StationBatch, head: tuple[int, str] | None = None, held: dict[int, str] | None = None,
          stored: frozenset[str] = frozenset(), station_key: str | None = None,
          last_head: int | None = None):  # type: ignore[no-untyped-def]
    return check_batch(b, head, (held or {}).get, stored.__contains__,
                       station_key=station_key, last_head=last_head)


def test_a_real_push_passes_and_a_retry_is_all_unchanged(batch: StationBatch) -> None:
    ok = check(batch)
    assert len(ok.new) == len(batch.events) and ok.unchanged == 0
    kinds = [e.kind for e in batch.events]
    assert kinds.count("scan") == len(ok.inspections) == 2
    assert len(ok.results) == 3 and len(ok.parcels) == 2 and len(ok.spectra) == 2
    assert len(ok.transitions) == kinds.count("hold-request") + kinds.count("hold") + \
        kinds.count("inspected") + kinds.count("seizure")
    assert ok.heads == batch.heads and ok.key is not None and ok.key.key_id == KEY.key_id
    assert check(batch, station_key=KEY.key_id).new == ok.new  # the registered key
    last = batch.events[-1]
    again = check(batch, (last.seq, last.hash), {e.seq: e.hash for e in batch.events})
    assert again.new == [] and again.unchanged == len(batch.events)


def test_a_push_signed_by_another_key_is_refused(batch: StationBatch) -> None:
    with pytest.raises(SyncRefused) as exc:
        check(batch, station_key="ab" * 32)
    assert exc.value.reason == "key" and KEY.key_id in exc.value.detail
    mallory = StationKey.generate()
    resigned = batch.model_copy(update={
        "heads": [mallory.sign_head(seq=h.seq, hash=h.hash, prev_seq=h.prev_seq)
                  for h in batch.heads],
        "public_keys": {mallory.key_id: mallory.public.hex}})
    assert check(resigned).key.key_id == mallory.key_id  # first push: its key is registered
    with pytest.raises(SyncRefused) as exc:
        check(resigned, station_key=KEY.key_id)
    assert exc.value.reason == "key" and mallory.key_id in exc.value.detail


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_change_to_the_signed_heads_is_refused(batch: StationBatch,
                                                   data: st.DataObject) -> None:
    """A head dropped, or one field of one head changed (its hash, seq, link, signature or
    key), or the public key swapped: refused, never half-accepted. (Not dropping the first
    head of a station's first push: the next head's hash covers those events through the
    links, as it covers a chain begun before signing, so nothing goes unsigned.)"""
    heads = list(batch.heads)
    how = data.draw(st.sampled_from(["drop", "seq", "hash", "prev_seq", "signature", "key"]))
    i = data.draw(st.integers(1 if how == "drop" else 0, len(heads) - 1))
    update: dict[str, object] = {}
    h = heads[i]
    if how == "drop":
        del heads[i]
    elif how == "key":
        update["public_keys"] = {KEY.key_id: StationKey.generate().public.hex}
    elif how in ("seq", "prev_seq"):
        heads[i] = h.model_copy(update={how: getattr(h, how) + data.draw(
            st.sampled_from([-1, 1]))})
    else:
        text = getattr(h, how)
        k = data.draw(st.integers(0, len(text) - 1))
        heads[i] = h.model_copy(update={
            how: text[:k] + ("0" if text[k] != "0" else "1") + text[k + 1:]})
    update["heads"] = heads
    with pytest.raises(SyncRefused) as exc:
        check(batch.model_copy(update=update), last_head=0 if how == "prev_seq" else None)
    assert exc.value.reason in ("signature", "key")


def test_gap_and_fork(batch: StationBatch) -> None:
    ev = batch.events
    later = batch.model_copy(update={"events": ev[3:]})
    with pytest.raises(SyncRefused) as exc:
        check(later, (1, ev[0].hash), {1: ev[0].hash})
    assert (exc.value.reason, exc.value.seq) == ("gap", 4)
    with pytest.raises(SyncRefused) as exc:
        check(batch, (2, ev[1].hash), {1: ev[0].hash, 2: "f" * 64})
    assert (exc.value.reason, exc.value.seq) == ("fork", 2)
    with pytest.raises(SyncRefused) as exc:  # central holds a head the push does not extend
        check(batch.model_copy(update={"events": ev[2:]}), (2, "e" * 64), {})
    assert exc.value.reason == "fork"


def test_a_scan_without_its_spectrum_is_refused_unless_central_has_it(
        batch: StationBatch) -> None:
    bare = batch.model_copy(update={"spectra": batch.spectra[1:]})
    with pytest.raises(SyncRefused, match=r"raw spectrum .* is missing"):
        check(bare)
    assert check(bare, stored=frozenset({batch.spectra[0].hash}))


FIELDS = {
    "events": ("at", "kind", "actor", "item_id", "data"),
    "parcels": ("record",),
    "inspections": ("performed_at", "operator", "station", "device", "spectrum_hash",
                    "pipeline", "library_hash"),
    "results": ("kind", "recorded_by", "verdict", "alert", "identification", "note"),
    "transitions": ("state", "at", "actor", "note"),
    "spectra": ("meta", "axis", "data"),
}


LABELS = ("title", "source", "extra")
"""A spectrum's labels: outside its content hash by design (renaming a file does not change
the evidence id, :attr:`spectra.Spectrum.content_hash`), and outside the station's chain."""


def same_but_labels(meta: str, changed: str) -> bool:
    """Whether a changed spectrum metadata JSON reads as the same values as ``meta`` but for
    its labels (a number written longer, ``785.00`` for ``785.0``, is the same value)."""
    try:
        new = json.loads(changed)
    except ValueError:
        return False
    old = json.loads(meta)
    return isinstance(new, dict) and \
        {k: v for k, v in old.items() if k not in LABELS} == \
        {k: v for k, v in new.items() if k not in LABELS}


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_single_change_is_refused(batch: StationBatch, data: st.DataObject) -> None:
    part = data.draw(st.sampled_from(sorted(FIELDS)))
    rows = list(getattr(batch, part))
    i = data.draw(st.integers(0, len(rows) - 1))
    field = data.draw(st.sampled_from(FIELDS[part]))
    old = getattr(rows[i], field)
    if isinstance(old, bool):
        new: object = not old
    elif isinstance(old, bytes):
        k = data.draw(st.integers(0, len(old) - 1))
        new = old[:k] + bytes([old[k] ^ data.draw(st.integers(1, 255))]) + old[k + 1:]
    elif field == "spectrum_hash":
        new = "0" * 64
    else:
        text = old or ""
        k = data.draw(st.integers(0, len(text)))
        # (a spectrum's metadata record is bound byte for byte by its scan event's digest:
        # even whitespace, or a change to its labels only, is refused)
        new = text[:k] + data.draw(st.sampled_from(["x", "0", "\\u00e9", " "])) + text[k:]
    rows[i] = rows[i].model_copy(update={field: new})
    with pytest.raises(SyncRefused) as exc:
        check(batch.model_copy(update={part: rows}))
    assert exc.value.reason == "invalid"


@pytest.mark.parametrize("label", LABELS)
def test_a_spectrum_label_changed_in_a_push_is_refused(batch: StationBatch,
                                                       label: str) -> None:
    """Labels are outside the content hash; the scan event logs the digest of the stored
    record, so a push that changes only them is refused, naming the spectrum."""
    meta = json.loads(batch.spectra[0].meta)
    meta[label] = {"sample": "forged"} if label == "extra" else "forged"
    assert same_but_labels(batch.spectra[0].meta, json.dumps(meta))
    forged = [batch.spectra[0].model_copy(update={"meta": json.dumps(meta)}),
              *batch.spectra[1:]]
    with pytest.raises(SyncRefused) as exc:
        check(batch.model_copy(update={"spectra": forged}))
    assert exc.value.reason == "invalid" and batch.spectra[0].hash in exc.value.detail
    assert "title, source" in exc.value.detail


def test_runs_never_end_inside_an_inspection(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db", signer=KEY) as s:
        s.import_parcels([(1, parcel(1, hold=True))], actor="aed", source="b")
        s.transition(item_id(1), HoldState.HELD, actor="o")
        for k in range(4):
            s.add_inspection(item_id(1), spectrum(k, n=50), identification(), operator="o",
                             station="s", device=DEVICE)
        total = list(s.audit_events())[-1].seq
        for size in range(1, total + 1):
            seq, runs = 0, []
            while b := s.sync_batch(after_seq=seq, station="s", max_events=size).events:
                assert b[0].seq == seq + 1 and b[-1].kind != "scan"
                batch = s.sync_batch(after_seq=seq, station="s", max_events=size)
                assert batch.heads[-1].seq == b[-1].seq  # a run ends at a signed head
                runs.append(len(b))
                seq = b[-1].seq
            assert seq == total and all(r <= size + 2 for r in runs)
    assert GENESIS == "0" * 64
