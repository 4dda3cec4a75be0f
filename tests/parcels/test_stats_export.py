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
from parcels.store import Store

from .builders import DEVICE, identification, item_id, parcel, spectrum


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
