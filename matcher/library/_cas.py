"""CAS Registry Numbers: format and check digit."""

from __future__ import annotations

import re

from ._errors import InvalidCASError

_CAS = re.compile(r"^(\d{2,7})-(\d{2})-(\d)$")


def cas_check_digit(digits: str) -> int:
    """The check digit of the CAS number whose other digits are ``digits`` (no hyphens).

    The rightmost digit is multiplied by 1, the next by 2, and so on; the check digit is the
    sum modulo 10.
    """
    return sum(i * int(d) for i, d in enumerate(reversed(digits), start=1)) % 10


def validate_cas(value: str) -> str:
    """Validate a CAS Registry Number and return it in canonical form.

    Parameters
    ----------
    value
        ``"NNNNNNN-NN-N"`` (2 to 7 digits, 2 digits, check digit); surrounding spaces and
        leading zeros of the first group are tolerated (``"0050-00-0"`` → ``"50-00-0"``).

    Returns
    -------
    str
        The canonical form.

    Raises
    ------
    InvalidCASError
        Malformed, or the check digit does not match.

    Examples
    --------
    >>> validate_cas("7732-18-5")
    '7732-18-5'
    """
    if not isinstance(value, str):
        raise InvalidCASError(f"CAS number must be a string, got {type(value).__name__}")
    s = value.strip()
    m = _CAS.match(s)
    if m is None:
        raise InvalidCASError(
            f"malformed CAS number {value!r}: expected NNNNNNN-NN-N (2-7, 2 and 1 digits)"
        )
    first = m.group(1).lstrip("0")
    if len(first) < 2:
        first = first.rjust(2, "0")
    body = first + m.group(2)
    expected = cas_check_digit(body)
    if int(m.group(3)) != expected:
        raise InvalidCASError(
            f"CAS number {value!r} fails its check digit: ends in {m.group(3)}, "
            f"the digits give {expected}"
        )
    return f"{first}-{m.group(2)}-{m.group(3)}"
