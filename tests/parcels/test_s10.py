"""UPU S10 item ids: check digit, format, country, and the pydantic field type."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import BaseModel

from parcels.errors import InvalidItemIdError
from parcels.s10 import (
    ISO_3166_ALPHA2,
    WEIGHTS,
    ItemId,
    check_digit,
    is_valid_item_id,
    validate_item_id,
)

serials = st.text(alphabet="0123456789", min_size=8, max_size=8)
letters = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2)
countries = st.sampled_from(sorted(ISO_3166_ALPHA2))


def reference_check_digit(serial: str) -> int:
    """The UPU S10 rule written out plainly, independent of the implementation."""
    total = 0
    for weight, digit in zip([8, 6, 4, 2, 3, 5, 9, 7], serial, strict=True):
        total += weight * int(digit)
    c = 11 - (total % 11)
    if c == 10:
        return 0
    if c == 11:
        return 5
    return c


def residue(serial: str) -> int:
    return sum(w * int(d) for w, d in zip(WEIGHTS, serial, strict=True)) % 11


def test_published_example() -> None:
    # RR473124829US is the example; 47312482 -> weighted sum 200 -> 11 - 2 = 9
    assert check_digit("47312482") == 9
    assert validate_item_id("RR473124829US") == "RR473124829US"


def test_special_cases_10_and_11() -> None:
    # weighted sum ≡ 1 (mod 11) gives 10 -> 0; ≡ 0 gives 11 -> 5
    assert residue("00000000") == 0 and check_digit("00000000") == 5
    s = next(f"{n:08d}" for n in range(1000) if residue(f"{n:08d}") == 1)
    assert check_digit(s) == 0


@given(letters, serials, countries)
def test_every_id_with_its_check_digit_validates(svc: str, serial: str, cc: str) -> None:
    item = f"{svc}{serial}{reference_check_digit(serial)}{cc}"
    assert validate_item_id(item) == item
    assert validate_item_id(" ".join([item[:2].lower(), item[2:5], item[5:8],
                                      item[8:11], item[11:].lower()])) == item


@given(letters, serials, countries, st.integers(0, 9))
def test_every_wrong_check_digit_is_caught(svc: str, serial: str, cc: str, d: int) -> None:
    assume(d != reference_check_digit(serial))
    with pytest.raises(InvalidItemIdError) as exc:
        validate_item_id(f"{svc}{serial}{d}{cc}")
    assert exc.value.position == 10
    assert exc.value.expected == str(reference_check_digit(serial))
    assert exc.value.got == str(d)


@given(letters, serials, countries, st.integers(0, 7), st.integers(1, 9))
def test_single_digit_change_in_serial(svc: str, serial: str, cc: str, pos: int,
                                       delta: int) -> None:
    """Every single-digit change is caught, except S10's one blind spot.

    Weights are non-zero mod 11 (a prime), so a change of one digit always changes the
    weighted sum mod 11; but residues 0 and 6 both map to check digit 5, so a change that
    moves the residue between exactly those two is invisible to the scheme itself.
    """
    good = f"{svc}{serial}{reference_check_digit(serial)}{cc}"
    changed_serial = serial[:pos] + str((int(serial[pos]) + delta) % 10) + serial[pos + 1:]
    tampered = good[:2] + changed_serial + good[10:]
    assert residue(changed_serial) != residue(serial)
    blind_spot = {residue(serial), residue(changed_serial)} == {0, 6}
    assert is_valid_item_id(tampered) is blind_spot


def test_the_blind_spot_exists_and_is_documented() -> None:
    # 00000000 (residue 0) and 90000000 (8*9 = 72 ≡ 6) share check digit 5
    assert check_digit("00000000") == check_digit("90000000") == 5
    assert is_valid_item_id("EE000000005US") and is_valid_item_id("EE900000005US")


@pytest.mark.parametrize(
    ("bad", "position", "words"),
    [
        ("RR47312482US", None, "13 characters"),
        ("R1473124829US", 1, "service indicator"),
        ("RR47312A829US", 7, "serial number"),
        ("RR47312482XUS", 10, "check digit must be a digit"),
        ("RR473124829U5", 12, "country code"),
        ("RR473124829XX", 11, "ISO 3166"),
        ("RR473124828US", 10, "gives 9"),
    ],
)
def test_errors_say_which_character(bad: str, position: int | None, words: str) -> None:
    with pytest.raises(InvalidItemIdError) as exc:
        validate_item_id(bad)
    assert exc.value.position == position
    assert words in str(exc.value)
    assert bad in str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_pydantic_field_type() -> None:
    class M(BaseModel):
        item: ItemId

    assert M(item="rr473124829us").item == "RR473124829US"
    with pytest.raises(ValueError, match="check digit"):
        M(item="RR473124828US")
    with pytest.raises(ValueError, match="must be a string"):
        M(item=473124829)  # type: ignore[arg-type]
