"""Control characters from outside: refused where stored as names, escaped where printed.

A name holding ``ESC [2J`` clears the officer's screen when printed; a ``\\n`` in ``--by``
forges a second line in ``audit log``; U+202E shows ``cocaine`` backwards. Text that is stored
as a name, address, actor, note or reason is refused (with the field, what was expected and
what was received, escaped); text that may still hold such characters (extra AED fields,
device strings, library entry names, records written before the check) is escaped wherever a
command prints it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parcels.aed import import_batch
from parcels.errors import UnsafeTextError
from parcels.records import DeviceIdentity, HoldState, Parcel
from parcels.store import SQLiteStore
from parcels.text import UNSAFE, check_text, escape
from station.cli import main

from .builders import KEY, aed, identification, item_id, spectrum

HOSTILE = {
    "sender.name": "Evil\x1b[2J corp",
    "recipient.address": "1 Main St\rPAID IN FULL",
    "declaration.items.0.description": "phone case\nHOLD RELEASED",
    "facility": "ORD\u202eCSI",
    "mail_class": "parcel\x9b31m",
    "hold.reason": "risk\u2028score",
    "hold.requested_by": "targeting\x00",
}


def _set(row: dict, path: str, value: str) -> dict:  # type: ignore[type-arg]
    *parents, last = path.split(".")
    node = row
    for p in parents:
        node = node[int(p)] if p.isdigit() else node[p]
    node[last] = value
    return row


def lines_of(text: str) -> list[str]:
    """Output lines; any unsafe character left inside a line fails the caller's check."""
    return text.split("\n")


def assert_no_raw_controls(text: str) -> None:
    for line in lines_of(text):
        assert not UNSAFE.search(line), f"raw control character printed: {line!r}"


def test_escape_is_json_safe_and_marks_every_unsafe_character() -> None:
    raw = "a\x1b[2J\r\n\t\x7f\x9b\u2028\u202e\u2066\ud800z é 中 \u200d"
    shown = escape(raw)
    assert not UNSAFE.search(shown)
    assert shown.startswith("a\\u001b[2J\\r\\n\\t\\u007f\\u009b\\u2028\\u202e\\u2066\\ud800z")
    assert shown.endswith("z é 中 \u200d")  # letters and joiners are kept
    # JSON text stays valid and decodes to the same value
    doc = json.dumps({"k": raw.replace("\ud800", "")}, ensure_ascii=False)
    assert json.loads(escape(doc)) == json.loads(doc)


def test_check_text_says_field_expected_and_received() -> None:
    assert check_text("actor", "officer 7") == "officer 7"
    with pytest.raises(UnsafeTextError) as info:
        check_text("actor", "a\nb")
    e = info.value
    assert (e.field, e.received) == ("actor", "'a\\nb'")
    assert e.args[1:] == ("actor", e.expected, "'a\\nb'")
    assert str(e).startswith("actor must be text without control") and "LINE FEED" in str(e)
    assert "\n" not in str(e)
    assert isinstance(e, ValueError)


@pytest.mark.parametrize(("field", "value"), list(HOSTILE.items()))
def test_hostile_aed_text_is_refused_alone(sqlite_store: SQLiteStore, tmp_path: Path,
                                           field: str, value: str) -> None:
    store = sqlite_store  # refused by the record's validation, before any store
    bad = _set(aed(2, hold=True), field, value)
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in (aed(1), bad, aed(3))) + "\n",
                    encoding="utf-8")
    s = import_batch(store, path, actor="aed-feed")
    assert s.inserted == 2 and [r.line for r in s.rejected] == [2]
    reason = s.rejected[0].reason
    assert reason.startswith(f"{field}: must be text without control")
    assert not UNSAFE.search(reason)  # the received value is shown escaped


def test_extra_fields_keep_what_the_carrier_sent() -> None:
    p = Parcel.model_validate(aed(1, carrier_note="\x1b[2J"))
    assert p.model_dump()["carrier_note"] == "\x1b[2J"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def imported(db_path: Path, tmp_path: Path) -> list[str]:
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(json.dumps(aed(n, hold=n == 1)) for n in (1, 2)) + "\n",
                    encoding="utf-8")
    with SQLiteStore(db_path, signer=KEY) as s:
        import_batch(s, path, actor="feed")
    return ["--db", str(db_path)]


@pytest.mark.parametrize("args", [
    ("hold", item_id(2), "--reason", "dog alert", "--operator", "a\nb"),
    ("hold", item_id(2), "--reason", "dog\x1b[2J alert"),
    ("hold", item_id(1), "--note", "ok\rRELEASED by chief"),
    ("not-found", item_id(1), "--operator", "\u202eofficer"),
])
def test_hostile_cli_text_is_refused_and_nothing_changes(
        imported: list[str], db_path: Path, capsys: pytest.CaptureFixture[str],
        args: tuple[str, ...]) -> None:
    with SQLiteStore(db_path, signer=KEY) as s:
        before = list(s.audit_events())
    code, out, err = run(capsys, "parcel", *args, *imported)
    assert code == 2 and out == ""  # a value that cannot be stored: a usage error
    assert err.count("\n") == 1 and "must be text without control" in err
    assert_no_raw_controls(err)
    with SQLiteStore(db_path, signer=KEY) as s:
        assert list(s.audit_events()) == before
        assert s.get_hold(item_id(2)) is None
        assert s.get_hold(item_id(1)).state is HoldState.REQUESTED  # type: ignore[union-attr]


def test_station_config_operator_with_controls_is_a_config_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from station.config import load_config

    monkeypatch.setenv("INTERDICT_OPERATOR", "officer\x1b[2J")
    with pytest.raises(ValueError, match=r"operator.*must be text without control"):
        load_config({}, config_file=None)


def test_what_commands_print_holds_no_raw_control_character(
        imported: list[str], db_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    hostile_device = DeviceIdentity(make="Evil\x1b]0;owned\x07", model="TruScan\x1b[2J",
                                    serial="SN\r1", firmware="2.4\u202e1")
    legacy = "officer\n#99 2026-01-01 release RR000000000US chief"
    with SQLiteStore(db_path, signer=KEY) as s:
        # what a database written before the check may hold: an actor with a line break
        monkeypatch.setattr("parcels.store._sql.check_text", lambda _f, v: v)
        s.transition(item_id(1), HoldState.HELD, actor=legacy, note="held\x1b[2J")
        monkeypatch.undo()
        s.add_inspection(item_id(1), spectrum(1, n=200),
                         identification(name="\u202eenicaoc HCl\x1b[31m"),
                         operator="officer 7", station="ORD-3", device=hostile_device)
    for argv in (("parcel", "show", item_id(1)), ("audit", "log"), ("audit", "log", item_id(1)),
                 ("parcel", "list")):
        code, out, err = run(capsys, *argv, *imported)
        assert code == 0, err
        assert_no_raw_controls(out + err)
        if argv[0] == "audit":  # one line per event: the legacy actor forged no second one
            assert len(out.splitlines()) == len(list(SQLiteStore(db_path).audit_events(
                item_id=argv[2] if len(argv) > 2 else None)))
    code, out, _ = run(capsys, "parcel", "show", item_id(1), *imported)
    assert "officer\\n#99" in out and "TruScan\\u001b[2J" in out and "\\u202eenicaoc" in out
    # --json: no raw control character either, and still valid JSON of the exact stored text
    code, out, _ = run(capsys, "audit", "log", "--json", *imported)
    assert code == 0 and not UNSAFE.search(out.replace("\n", ""))
    assert legacy in [e["actor"] for e in json.loads(out)]
    code, out, _ = run(capsys, "parcel", "show", item_id(1), "--json", *imported)
    assert code == 0 and not UNSAFE.search(out.replace("\n", ""))
    shown = json.loads(out)
    assert shown["inspections"][0]["device"]["model"] == "TruScan\x1b[2J"
    assert shown["inspections"][0]["results"][0]["identification"]["hits"][0]["name"] == \
        "\u202eenicaoc HCl\x1b[31m"


def test_a_deeply_nested_station_file_is_a_config_error(tmp_path: Path) -> None:
    from station.config import ConfigError, load_config

    cfg = tmp_path / "interdict.toml"
    cfg.write_text("thresholds = " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_config({}, config_file=cfg)
