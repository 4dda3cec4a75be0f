"""AED batch import: JSON lines and flat CSV, per-row errors with line numbers, idempotence."""

from __future__ import annotations

import csv
import json
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parcels.aed import RowError, flatten, import_batch, read_batch, unflatten
from parcels.records import HoldState, Parcel, ParcelQuery
from parcels.store import SQLiteStore, Store

from .builders import aed, item_id


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bad_rows_rejected_with_line_and_reason_good_rows_import(
    store: Store, tmp_path: Path
) -> None:
    bad_check = aed(3)
    bad_check["item_id"] = "RR000000034US"  # check digit should be 1
    bad_qty = aed(4)
    bad_qty["declaration"]["items"][0]["quantity"] = -1
    naive = aed(5, received_at="2026-11-20T08:15:00")
    lines = [
        json.dumps(aed(1, hold=True)),
        json.dumps(aed(2)),
        "",
        json.dumps(bad_check),
        '{"item_id": "RR000000045US", ',
        json.dumps(bad_qty),
        "[1, 2]",
        json.dumps(naive),
        json.dumps(aed(6, custom_flag="kept")),
    ]
    path = write_jsonl(tmp_path / "batch.jsonl", lines)
    s = import_batch(store, path, actor="aed-feed")
    assert (s.rows, s.inserted, s.unchanged, s.holds_requested) == (8, 3, 0, 1)
    reasons = {r.line: (r.item_id, r.reason) for r in s.rejected}
    assert sorted(reasons) == [4, 5, 6, 7, 8]
    assert reasons[4][0] == "RR000000034US" and "check digit is 4" in reasons[4][1]
    assert "not valid JSON" in reasons[5][1]
    assert "declaration.items.0.quantity" in reasons[6][1] and "(got -1)" in reasons[6][1]
    assert "expected a JSON object" in reasons[7][1]
    assert "received_at" in reasons[8][1] and "timezone" in reasons[8][1]
    assert f"line 6 ({item_id(4)})" in str(s.rejected[2])
    pf = store.get_parcel(item_id(6))
    assert pf.parcel.model_dump()["custom_flag"] == "kept"
    assert store.get_hold(item_id(1)).state is HoldState.REQUESTED  # type: ignore[union-attr]

    again = import_batch(store, path, actor="aed-feed")
    assert (again.inserted, again.unchanged, len(again.rejected)) == (0, 3, 5)
    assert store.verify().ok


def test_conflicting_reimport_is_a_rejected_row(store: Store, tmp_path: Path) -> None:
    import_batch(store, write_jsonl(tmp_path / "a.jsonl", [json.dumps(aed(1))]), actor="x")
    changed = aed(1)
    changed["recipient"]["name"] = "Someone Else"
    s = import_batch(store, write_jsonl(tmp_path / "b.jsonl", [json.dumps(aed(2)),
                                                               json.dumps(changed)]), actor="x")
    assert s.inserted == 1 and [r.line for r in s.rejected] == [2]
    assert "different content" in s.rejected[0].reason
    assert store.get_parcel(item_id(1)).parcel.recipient.name == "Recipient 1"


def test_csv_form_roundtrips_and_reports_lines(store: Store, tmp_path: Path) -> None:
    rows = [flatten({k: v for k, v in aed(n, hold=n == 1).items() if v is not None})
            for n in (1, 2, 3)]
    rows[2]["sender.country"] = "XX"
    cols = sorted({k for r in rows for k in r})
    path = tmp_path / "batch.csv"
    with path.open("w", newline="", encoding="utf-8-sig") as fh:  # with a BOM, as Excel does
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    fmt, parsed = read_batch(path)
    assert fmt == "csv"
    assert isinstance(parsed[0][1], Parcel)
    assert parsed[0][1] == Parcel.model_validate(aed(1, hold=True))
    s = import_batch(store, path, actor="x")
    assert (s.inserted, s.holds_requested) == (2, 1)
    assert [(r.line, r.item_id) for r in s.rejected] == [(4, item_id(3))]
    assert "sender.country" in s.rejected[0].reason


def test_unflatten_inverts_flatten() -> None:
    row = aed(7, hold=True)
    row["declaration"]["items"].append({**row["declaration"]["items"][0], "quantity": 5})
    row["declaration"]["total_gross_weight_kg"] = 0.6
    flat = {k: str(v) for k, v in flatten(row).items() if v is not None}
    back = Parcel.model_validate(unflatten(flat))
    assert back == Parcel.model_validate(row)


def test_columns_that_do_not_fit_one_shape_reject_the_row() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        unflatten({"sender": "x", "sender.name": "y"})
    with pytest.raises(ValueError, match="does not fit"):
        unflatten({"declaration.items.0": "x", "declaration.items.name": "y"})


def test_not_utf8(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_bytes(json.dumps(aed(1)).encode() + b"\n" + b'{"item_id": "\xff"}\n')
    s = import_batch(store, path, actor="x")
    assert s.inserted == 1 and s.rejected[0].line == 2 and "UTF-8" in s.rejected[0].reason


# -- hostile rows: each rejected alone, with its line and reason; the good rows import ------
def _json_with(n: int, raw_value: str, key: str = "carrier_note") -> str:
    """Row ``n`` with ``"key": <raw_value>`` spliced in as raw JSON text."""
    text = json.dumps(aed(n))
    return text[:-1] + f', "{key}": {raw_value}}}'


def test_hostile_json_rows_are_rejected_alone(store: Store, tmp_path: Path) -> None:
    from parcels.aed import MAX_DEPTH, MAX_LINE_BYTES, MAX_NUMBER_CHARS

    lines = [
        json.dumps(aed(1)),
        _json_with(2, "[" * 100_000 + "]" * 100_000),          # RecursionError in json
        _json_with(3, "9" * 5000),                             # int() digit limit (ValueError)
        json.dumps(aed(4)),
        _json_with(5, "[" * MAX_DEPTH + "]" * MAX_DEPTH),      # in the row's {}: one too deep
        _json_with(6, "1e400"),                                # inf: the store's JSON refuses it
        _json_with(7, "NaN"),
        _json_with(8, '"' + "x" * MAX_LINE_BYTES + '"'),      # longer than a line may be
        _json_with(9, "1" + "0" * MAX_NUMBER_CHARS),
        _json_with(10, '"\\ud800"', key="facility"),           # lone surrogate: not storable
        json.dumps(aed(11)),
        _json_with(12, json.dumps("[{" * 100 + '\\"]' * 50)),  # brackets in a string: fine
        _json_with(13, "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)),  # as deep as allowed
    ]
    path = write_jsonl(tmp_path / "hostile.jsonl", lines)
    s = import_batch(store, path, actor="aed-feed")
    assert (s.rows, s.inserted) == (13, 5)
    reasons = {r.line: r.reason for r in s.rejected}
    assert sorted(reasons) == [2, 3, 5, 6, 7, 8, 9, 10]
    assert f"nested deeper than {MAX_DEPTH}" in reasons[2]
    assert f"nested deeper than {MAX_DEPTH}" in reasons[5]
    assert f"number of 5000 characters (at most {MAX_NUMBER_CHARS})" in reasons[3]
    assert "not a finite number" in reasons[6] and "1e400" in reasons[6]
    assert "NaN" in reasons[7]
    assert f"longer than {MAX_LINE_BYTES:,} bytes" in reasons[8]
    assert f"at most {MAX_NUMBER_CHARS}" in reasons[9]
    assert "facility" in reasons[10] and "\\ud800" in reasons[10]
    assert [p.item_id for p in store.find(ParcelQuery(order="item_id"))] == [
        item_id(n) for n in (1, 4, 11, 12, 13)]
    assert store.verify().ok


def test_a_huge_line_is_never_held_in_memory(sqlite_store: SQLiteStore, tmp_path: Path) -> None:
    """A 64 MiB line is skipped in bounded memory; the rows around it import."""
    path = tmp_path / "huge.jsonl"
    with path.open("wb") as fh:
        fh.write(json.dumps(aed(1)).encode() + b"\n")
        fh.write(b'{"item_id": "' + b"A" * (64 << 20) + b'"}\n')
        fh.write(json.dumps(aed(2)).encode() + b"\n")
    tracemalloc.start()
    try:
        s = import_batch(sqlite_store, path, actor="x")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (s.inserted, [r.line for r in s.rejected]) == (2, [2])
    assert peak < 8 << 20, f"peak {peak:,} bytes traced"


def test_hostile_csv_rows_are_rejected_alone(sqlite_store: SQLiteStore, tmp_path: Path) -> None:
    from parcels.aed import MAX_LINE_BYTES

    rows = [flatten({k: v for k, v in aed(n).items() if v is not None}) for n in (1, 2, 3, 4)]
    rows[1]["sender.name"] = "x" * 200_000      # above the csv module's field limit
    rows[2]["declaration.items.0.quantity"] = "9" * 5000
    cols = sorted({k for r in rows for k in r})
    path = tmp_path / "batch.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
        fh.write(",".join(["y" * MAX_LINE_BYTES] * 2) + "\n")  # a line too long to read
        w.writerow(flatten({k: v for k, v in aed(5).items() if v is not None}))
    s = import_batch(sqlite_store, path, actor="x")
    assert s.inserted == 3
    reasons = {r.line: r.reason for r in s.rejected}
    assert sorted(reasons) == [3, 4, 6]
    assert "field larger than field limit" in reasons[3]  # the csv module names no column
    assert "declaration.items.0.quantity" in reasons[4]
    assert f"longer than {MAX_LINE_BYTES:,} bytes" in reasons[6]


@pytest.mark.parametrize(("column", "why"), [
    ("declaration.items.5000000.description", "list index 5000000 above"),
    (".".join(["deep"] * 200), "200 levels"),
])
def test_a_csv_header_that_cannot_be_a_record_is_refused_at_line_1(
        sqlite_store: SQLiteStore, tmp_path: Path, column: str, why: str) -> None:
    row = flatten({k: v for k, v in aed(1).items() if v is not None})
    path = tmp_path / "bad-header.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=[*row, column])
        w.writeheader()
        w.writerow({**row, column: "x"})
    s = import_batch(sqlite_store, path, actor="x")
    assert s.inserted == 0 and [r.line for r in s.rejected] == [1]
    assert column[:40] in s.rejected[0].reason and why in s.rejected[0].reason


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=200).map(str.encode))
def test_any_bytes_give_rows_or_row_errors_never_an_exception(data: bytes) -> None:
    """The documented contract the mutation fuzzer (bench/fuzz.py) relies on."""
    import io

    from parcels.aed import parse_json_row, read_rows

    assert isinstance(parse_json_row(data, 1), Parcel | RowError)
    for fmt in ("jsonl", "csv"):
        for line, row in read_rows(io.BytesIO(data), fmt):  # type: ignore[arg-type]
            assert line >= 1 and isinstance(row, Parcel | RowError)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_mutated_real_rows_never_raise(data: st.DataObject) -> None:
    from parcels.aed import parse_json_row

    raw = bytearray(json.dumps(aed(data.draw(st.integers(1, 999)), hold=True)).encode())
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i:i + 1] = data.draw(st.sampled_from(
            [b"", b"[", b"{", b"]", b'"', b"\\", b"9" * 50, b"\x1b", b"\xff", b"-", b"1e999"]))
    assert isinstance(parse_json_row(bytes(raw), 1), Parcel | RowError)
