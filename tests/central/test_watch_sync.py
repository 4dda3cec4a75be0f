"""``interdict watch`` with a central service configured: scanning never waits on the
network. Offline, a trigger scan is recorded and the watch says it is not syncing; with
central up, the background sync pushes each recorded scan soon after it (event-driven: the
watch's own JSON events are waited on, no sleeps)."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import pytest

from parcels.store import open_store
from tests.station.conftest import FENTANYL_PARCEL, demo_library_file  # noqa: F401 (fixture)
from tests.station.test_e2e import _press, _Watch, station  # noqa: F401 (fixture)

from .conftest import Central

FACILITY_OF_SAMPLE = "JFK-IMF"  # the facility of fixtures/aed/sample_batch.jsonl


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_all(w: _Watch, *kinds: str) -> dict[str, dict[str, object]]:
    """Wait until each kind of event was seen once, in whatever order they come."""
    got = {str(e.get("event")): e for e in w.seen if e.get("event") in kinds}
    while set(kinds) - set(got):
        e = w.wait_for(*(set(kinds) - set(got)))
        got[str(e["event"])] = e
    return got


def _central_at_inspection(central: Central, item: str) -> int:
    with central.store() as cs:
        return len(cs.get_parcel(item).inspections)


def test_watch_scans_offline_then_syncs_in_the_background(
        central: Central, station: dict[str, object],  # noqa: F811 (the fixture)
        monkeypatch) -> None:  # type: ignore[no-untyped-def]
    name = central.station(FACILITY_OF_SAMPLE)
    monkeypatch.setenv("INTERDICT_CENTRAL_TOKEN", central.tokens[name])

    # central unreachable: the scan is recorded all the same, and the watch says why
    monkeypatch.setenv("INTERDICT_CENTRAL", f"http://127.0.0.1:{_closed_port()}")
    w = _Watch(station, "--queue", "--sync-every", "30")
    try:
        offline = wait_all(w, "sync-offline", "armed")["sync-offline"]
        assert "unreachable" in str(offline["message"])
        _press(station["proc"])  # type: ignore[arg-type]
        first = w.wait_for("recorded")
        w.proc.send_signal(signal.SIGINT)
        assert w.proc.wait(timeout=30) == 0
    finally:
        if w.proc.poll() is None:
            w.proc.kill()

    # central up: the backlog goes at once, the next scan soon after it is recorded
    monkeypatch.setenv("INTERDICT_CENTRAL", central.url)
    w = _Watch(station, "--queue", "--sync-every", "30")
    try:
        synced = wait_all(w, "synced", "armed")["synced"]
        assert "pushed" in str(synced["message"])
        assert _central_at_inspection(central, str(first["item_id"])) == 1
        _press(station["proc"])  # type: ignore[arg-type]
        w.seen.clear()
        second = w.wait_for("recorded")
        assert second["item_id"] == FENTANYL_PARCEL
        wait_all(w, "synced")  # nudged by the recorded scan, not by the 30 s interval
        w.proc.send_signal(signal.SIGINT)
        assert w.proc.wait(timeout=30) == 0
    finally:
        if w.proc.poll() is None:
            w.proc.kill()
    assert _central_at_inspection(central, FENTANYL_PARCEL) == 1
    with open_store(Path(str(station["db"])), create=False) as st:
        last = list(st.audit_events())[-1]
    with central.store() as cs:
        assert cs.station_head(name) == (last.seq, last.hash)
        # central's whole chain and records (not decoding every other test's spectra), and
        # this parcel's evidence in full
        assert cs.verify(deep=False).ok and cs.verify_item(FENTANYL_PARCEL).ok


def test_a_negative_sync_interval_is_a_usage_error(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """``--sync-every`` is seconds, 0 for never: a negative one is refused before anything
    starts, naming the flag (it used to mean never, silently)."""
    from station.cli import main

    assert main(["watch", "--device", "loop://", "--db", str(tmp_path / "e.db"),
                 "--sync-every", "-5"]) == 2
    assert capsys.readouterr().err == ("interdict watch: --sync-every must be 0 (never) or a "
                                       "number of seconds, got -5.0 — see interdict watch "
                                       "--help\n")
