"""AED batch import: JSON lines and flat CSV, per-row errors with line numbers, idempotence."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from parcels.aed import flatten, import_batch, read_batch, unflatten
from parcels.records import HoldState, Parcel
from parcels.store import Store

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


def test_not_utf8(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_bytes(json.dumps(aed(1)).encode() + b"\n" + b'{"item_id": "\xff"}\n')
    s = import_batch(store, path, actor="x")
    assert s.inserted == 1 and s.rejected[0].line == 2 and "UTF-8" in s.rejected[0].reason
