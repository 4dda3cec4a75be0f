"""UPU S10 item identifiers: ``AA123456785US``.

Two service-indicator letters, an eight-digit serial number, a check digit and the ISO 3166-1
alpha-2 code of the issuing postal operator's country. The check digit is computed mod 11
with weights 8, 6, 4, 2, 3, 5, 9, 7: ``c = 11 − (Σ wᵢdᵢ mod 11)``, with 10 → 0 and 11 → 5.

Note the scheme's one blind spot: sums ≡ 0 and ≡ 6 (mod 11) both give check digit 5, so a
single-digit change that moves the sum between those two residues is not detected. This is
a property of S10 itself, not of this code (see ``tests/parcels/test_s10.py``).

>>> validate_item_id("rr 473 124 829 us")
'RR473124829US'
>>> check_digit("47312482")
9
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

from .errors import InvalidItemIdError

WEIGHTS: tuple[int, ...] = (8, 6, 4, 2, 3, 5, 9, 7)

ISO_3166_ALPHA2: frozenset[str] = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
    """.split()  # noqa: SIM905 - a block of codes reads and checks better than 249 literals
)
"""The officially assigned ISO 3166-1 alpha-2 country codes."""


def check_digit(serial: str) -> int:
    """The S10 check digit of an eight-digit serial number.

    Parameters
    ----------
    serial
        Exactly eight ASCII digits.

    Returns
    -------
    int
        The check digit, 0-9.

    Raises
    ------
    ValueError
        If ``serial`` is not eight ASCII digits.
    """
    if len(serial) != 8 or not (serial.isascii() and serial.isdigit()):
        raise ValueError(f"serial must be eight digits, got {serial!r}")
    c = 11 - sum(w * int(d) for w, d in zip(WEIGHTS, serial, strict=True)) % 11
    return {10: 0, 11: 5}.get(c, c)


def normalize_item_id(value: str) -> str:
    """Upper-case and drop the spaces a printed label puts in (``RR 473 124 829 US``)."""
    return "".join(value.split()).upper()


def validate_item_id(value: object) -> str:
    """Validate an S10 item id and return it in canonical form (upper case, no spaces).

    Parameters
    ----------
    value
        The identifier as received.

    Returns
    -------
    str
        The 13-character canonical identifier.

    Raises
    ------
    InvalidItemIdError
        Naming the position, what was expected and what was found (wrong length, a
        non-letter service indicator, a non-digit serial, a wrong check digit or an
        unknown country code).
    """
    if not isinstance(value, str):
        raise InvalidItemIdError(
            f"must be a string, got {type(value).__name__}", item_id=repr(value)
        )
    raw = value
    s = normalize_item_id(value)
    if len(s) != 13:
        raise InvalidItemIdError(
            f"must be 13 characters (2 letters, 9 digits, 2 letters), got {len(s)}",
            item_id=raw,
        )
    for i in range(13):
        ch = s[i]
        if i < 2 or i >= 11:
            if not ("A" <= ch <= "Z"):
                part = "service indicator" if i < 2 else "country code"
                raise InvalidItemIdError(
                    f"{part} must be a letter A-Z, got {ch!r}",
                    item_id=raw, position=i, expected="A-Z", got=ch,
                )
        elif not ("0" <= ch <= "9"):
            part = "serial number" if i < 10 else "check digit"
            raise InvalidItemIdError(
                f"{part} must be a digit, got {ch!r}",
                item_id=raw, position=i, expected="0-9", got=ch,
            )
    expected = check_digit(s[2:10])
    if int(s[10]) != expected:
        raise InvalidItemIdError(
            f"check digit is {s[10]} but the serial {s[2:10]} gives {expected}",
            item_id=raw, position=10, expected=str(expected), got=s[10],
        )
    if s[11:] not in ISO_3166_ALPHA2:
        raise InvalidItemIdError(
            f"{s[11:]!r} is not an ISO 3166-1 alpha-2 country code",
            item_id=raw, position=11, expected="ISO 3166-1 alpha-2", got=s[11:],
        )
    return s


def is_valid_item_id(value: object) -> bool:
    """Whether :func:`validate_item_id` accepts ``value``."""
    try:
        validate_item_id(value)
    except InvalidItemIdError:
        return False
    return True


def validate_country(value: object) -> str:
    """Validate an ISO 3166-1 alpha-2 country code (case-insensitive); returns upper case.

    Raises
    ------
    ValueError
        If the value is not an assigned alpha-2 code.
    """
    if not isinstance(value, str) or value.strip().upper() not in ISO_3166_ALPHA2:
        raise ValueError(f"not an ISO 3166-1 alpha-2 country code: {value!r}")
    return value.strip().upper()


ItemId = Annotated[str, BeforeValidator(validate_item_id)]
"""A pydantic field type: a validated, canonical S10 item id."""

CountryCode = Annotated[str, AfterValidator(validate_country)]
"""A pydantic field type: an ISO 3166-1 alpha-2 country code, upper case."""

__all__ = [
    "ISO_3166_ALPHA2",
    "WEIGHTS",
    "CountryCode",
    "ItemId",
    "check_digit",
    "is_valid_item_id",
    "normalize_item_id",
    "validate_country",
    "validate_item_id",
]
