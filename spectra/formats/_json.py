"""JSON read from a file (our own headers carry it): every failure is a ``ValueError``.

``json.loads`` can also fail with a ``RecursionError`` (nesting deeper than the interpreter's
recursion limit) and with Python's own 4,300-digit ``ValueError`` for a long integer; and a
value nested hundreds deep that does decode would make the validators that walk it recurse.
:func:`loads` turns all of these into one ``ValueError`` the readers report as a
:class:`~spectra.FormatError`.
"""

from __future__ import annotations

import json

MAX_DEPTH = 64
"""Deepest nesting of lists and objects accepted (ours are at most 4 deep)."""


def loads(text: str) -> object:
    """Decode ``text``, refusing nesting deeper than :data:`MAX_DEPTH`.

    Raises
    ------
    ValueError
        Not JSON (``json.JSONDecodeError``, a subclass), a number beyond Python's digit limit,
        or nesting deeper than :data:`MAX_DEPTH`.
    """
    try:
        value: object = json.loads(text)
    except RecursionError as exc:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels") from exc
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return value


__all__ = ["MAX_DEPTH", "loads"]
