"""Record models: validation of AED rows, kept extra fields, digests."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from parcels.records import DeclarationCategory, Parcel

from .builders import aed


def test_valid_row_and_normalisation() -> None:
    row = aed(1)
    row["declaration"]["category"] = "Commercial sample"
    row["declaration"]["items"][0]["hs_code"] = "3926.90"
    row["declaration"]["items"][0]["currency"] = "usd"
    p = Parcel.model_validate(row)
    assert p.declaration.category is DeclarationCategory.COMMERCIAL_SAMPLE
    assert p.declaration.items[0].hs_code == "392690"
    assert p.declaration.items[0].currency == "USD"
    assert p.received_at.utcoffset() is not None and p.received_at.utcoffset().seconds == 0


def test_extra_fields_are_kept_and_enter_the_digest() -> None:
    row = aed(1, carrier_ref="X-77")
    row["sender"]["phone"] = "+86 555"
    p = Parcel.model_validate(row)
    dumped = p.model_dump(mode="json")
    assert dumped["carrier_ref"] == "X-77"
    assert dumped["sender"]["phone"] == "+86 555"
    assert p.digest() != Parcel.model_validate(aed(1)).digest()
    assert Parcel.model_validate(dumped).digest() == p.digest()


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.update(origin_country="ZZ"), "origin_country"),
        (lambda r: r.update(received_at="2026-11-20T08:15:00"), "received_at"),
        (lambda r: r["sender"].update(country="China"), "sender.country"),
        (lambda r: r["declaration"]["items"][0].update(quantity=0),
         "declaration.items.0.quantity"),
        (lambda r: r["declaration"]["items"][0].update(hs_code="12345"),
         "declaration.items.0.hs_code"),
        (lambda r: r["declaration"].update(category="bribe"), "declaration.category"),
        (lambda r: r["declaration"].update(currency="DOLLARS"), "declaration.currency"),
        (lambda r: r["declaration"].update(total_gross_weight_kg=0.1), "declaration"),
        (lambda r: r.pop("recipient"), "recipient"),
    ],
)
def test_invalid_rows_name_the_field(mutate, field: str) -> None:  # type: ignore[no-untyped-def]
    row = aed(1)
    mutate(row)
    with pytest.raises(ValidationError) as exc:
        Parcel.model_validate(row)
    locs = {".".join(str(p) for p in e["loc"]) for e in exc.value.errors()}
    assert field in locs


@pytest.mark.parametrize("raw", ["RR١٢٣٤٥٦٧٨٥US", "RR４７３１２４８２９US", "rr473124829uß",
                                 "RR47312482\u200b9US", "RR4731248²9US"])
def test_item_ids_with_non_ascii_digits_are_a_typed_error(raw: str) -> None:
    from parcels.errors import InvalidItemIdError
    from parcels.s10 import validate_item_id

    with pytest.raises(InvalidItemIdError) as info:
        validate_item_id(raw)
    assert repr(raw) in str(info.value)  # quoted as received, escaped
    with pytest.raises(ValidationError, match="item_id"):
        Parcel.model_validate(aed(1, item_id=raw))
