"""The one canonical JSON of the house: the text every content hash and chain hash is taken over.

>>> canonical_json({"b": 1, "a": [1.5, "é"]})
'{"a":[1.5,"\\\\u00e9"],"b":1}'

Keys sorted, no spaces, ASCII only (non-ASCII escaped), and no NaN or infinity (refused,
since JSON has no such numbers). Spectra (:attr:`spectra.Spectrum.content_hash`), library
files (``matcher.library``) and the evidence store (``parcels``) all hash this text, so the
definition lives here, once: changing it changes every hash ever recorded.
"""

from __future__ import annotations

import json
from typing import Any


def canonical_json(value: Any) -> str:
    """Sorted, compact, ASCII JSON of ``value``.

    Parameters
    ----------
    value
        JSON-ready values (dicts with string keys, lists, strings, finite numbers, booleans,
        ``None``).

    Returns
    -------
    str
        ASCII text; ``.encode("ascii")`` gives the bytes that are hashed.

    Raises
    ------
    ValueError
        A float is NaN or infinite.
    TypeError
        A value is not JSON-ready.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)


__all__ = ["canonical_json"]
