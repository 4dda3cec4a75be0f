"""Printing text that came from outside: the one way station commands do it.

File names, device model strings, library entry names, AED fields, actors and notes may hold
control characters (``ESC [2J`` clears the screen, ``\\r`` overwrites a line, ``\\n`` forges
one, U+202E reverses what follows). :func:`say` prints a line with every such character
escaped, :func:`shown` escapes a value to embed; what counts as unsafe and how it is written
is defined once, in :mod:`parcels.text`. Output the program colours itself escapes the
external parts with :func:`shown` before adding its own escape sequences.

The import of :mod:`parcels` is deferred to the first call, so a command that never prints
external text does not pay for it.
"""

from __future__ import annotations

import sys
from typing import TextIO


def shown(value: object) -> str:
    """``str(value)`` with every unsafe character escaped (see :func:`parcels.text.escape`)."""
    from parcels.text import escape

    return escape(value)


def shown_lines(text: str) -> str:
    """``text`` escaped line by line, keeping its line breaks: only for text whose line
    breaks are the program's own, such as indented JSON (see
    :func:`parcels.text.escape_lines`)."""
    from parcels.text import escape_lines

    return escape_lines(text)


def say(line: object, file: TextIO | None = None) -> None:
    """Print one line of output, escaped; ``file`` defaults to standard output."""
    print(shown(line), file=file or sys.stdout)


__all__ = ["say", "shown", "shown_lines"]
