r"""Text that came from outside: which characters are unsafe, refusing them, escaping them;
and CSV cells a spreadsheet would run as formulas, neutralised reversibly.

One definition serves two doors. Where text is *stored* as a name, an address, an actor, a
note or a reason, an unsafe character is refused (:func:`check_text`, and the
:data:`SafeText` field type of the records). Where text is *printed* to a terminal and may
have come from outside (device model strings, library entry names, file names, extra AED
fields, records stored before this check existed), every unsafe character is escaped
(:func:`escape`), so no byte sequence in the data can move the cursor, clear the screen,
forge a line of output or reorder what the officer reads.

Unsafe characters:

* C0 controls U+0000-U+001F (newline, carriage return, tab, escape...), DEL U+007F and the C1
  controls U+0080-U+009F (U+009B is a one-character CSI on some terminals);
* the line and paragraph separators U+2028, U+2029;
* the bidirectional controls U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069
  ("Trojan Source", CVE-2021-42574: U+202E shows ``cocaine`` reversed as ``enicaoc``);
* lone surrogates U+D800-U+DFFF (not text; no encoder writes them).

Everything else is kept as received, including non-ASCII letters, combining marks,
zero-width joiners (Persian, Indic scripts, emoji) and no-break spaces.

:func:`escape` writes ``\n``, ``\r``, ``\t`` as such and every other unsafe character as
``\uXXXX``, which is also a valid JSON escape: JSON text passed through it stays valid JSON
that decodes to the same value. Backslashes are not doubled (a display, not a storage format;
``--json`` output and the database keep the exact text).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo

from .errors import UnsafeTextError

UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff]"
)
"""One unsafe character (see the module's docstring)."""

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NAMES = {"\n": "LINE FEED", "\r": "CARRIAGE RETURN", "\t": "TAB", "\x1b": "ESCAPE",
          "\x00": "NULL", "\x7f": "DELETE"}
"""Names of the controls Unicode leaves unnamed (``unicodedata.name`` has none for Cc)."""
SHOWN_CHARS = 80
"""How much of a refused value an error message quotes (escaped)."""
EXPECTED = "text without control, line-separator or bidirectional-control characters"
"""What :func:`check_text` expects, as its errors say it."""
STORED = {"stored": True}
"""Validation context for records read back from the store: stored text is evidence as it
was written and loads as it is (it is escaped when printed), never refused."""


def _escaped(match: re.Match[str]) -> str:
    c = match.group()
    return _SHORT.get(c) or f"\\u{ord(c):04x}"


def escape(value: object) -> str:
    r"""``str(value)`` with every unsafe character escaped, for a terminal.

    >>> escape("Evil\x1b[2J corp\n")
    'Evil\\u001b[2J corp\\n'
    """
    return UNSAFE.sub(_escaped, str(value))


def escape_lines(text: str) -> str:
    """:func:`escape` each line of ``text``, keeping its ``\\n`` line breaks.

    Only for text whose line breaks are the program's own, such as ``json.dumps(...,
    indent=2)`` (which escapes every line break inside a string): the output stays the same
    JSON.
    """
    return "\n".join(escape(line) for line in text.split("\n"))


def quoted(value: str) -> str:
    """``value`` escaped, cut to :data:`SHOWN_CHARS`, in quotes: for error messages."""
    cut = value[:SHOWN_CHARS]
    return f"'{escape(cut)}'" + ("…" if len(value) > SHOWN_CHARS else "")


def unsafe_at(value: str) -> str | None:
    """The first unsafe character of ``value`` and its 1-based position, described, or None.

    >>> unsafe_at("a\\nb")
    'U+000A LINE FEED at position 2'
    """
    bad = UNSAFE.search(value)
    if bad is None:
        return None
    c = bad.group()
    name = _NAMES.get(c) or unicodedata.name(c, f"{unicodedata.category(c)} control")
    return (f"U+{ord(c):04X} {name} "
            f"at position {bad.start() + 1}")


def check_text(field: str, value: str | None) -> str | None:
    """``value`` if it holds no unsafe character (``None`` passes).

    Raises
    ------
    UnsafeTextError
        Naming the field, what was expected and what was received (escaped), and the first
        offending character with its position.
    """
    if value is not None and (where := unsafe_at(value)) is not None:
        raise UnsafeTextError(field, EXPECTED, quoted(value), where)
    return value


def _safe_text(value: str, info: ValidationInfo) -> str:
    if info.context != STORED and (where := unsafe_at(value)) is not None:
        raise ValueError(f"must be {EXPECTED}: {where}")  # pydantic adds field and value
    return value


SafeText = Annotated[str, AfterValidator(_safe_text)]
"""A record's text field: unsafe characters are refused when a record comes in (the field
is named by pydantic), and loaded as they are under the :data:`STORED` context."""

# -- CSV cells a spreadsheet would run (OWASP "CSV injection") ---------------------------------
FORMULA_TRIGGERS = frozenset("=+-@\t\r")
"""A cell starting with one of these may be run as a formula by a spreadsheet (OWASP)."""
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def is_number_text(cell: str) -> bool:
    """Whether ``cell`` is a plain decimal number (``-12.5``, ``+3``, ``-1e5``): a spreadsheet
    reads it as a number, never as a formula."""
    return _NUMBER.fullmatch(cell) is not None


def neutralise_formula(cell: str) -> str:
    """A CSV cell no spreadsheet will run: ``'`` before a formula, reversibly.

    A cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return (OWASP's list) gets
    a leading ``'``, which spreadsheets take as "text" and do not show, unless it is a plain
    number (``-12.5`` stays a number). A cell that already starts with ``'`` gets one more, so
    :func:`restore_formula` can undo exactly this and nothing else.

    >>> neutralise_formula("=1+1")
    "'=1+1"
    >>> neutralise_formula("-12.5")
    '-12.5'
    """
    first = cell[:1]
    if first == "'" or (first in FORMULA_TRIGGERS and first and not is_number_text(cell)):
        return "'" + cell
    return cell


def restore_formula(cell: str) -> str:
    """The inverse of :func:`neutralise_formula` (``restore(neutralise(x)) == x`` for every
    ``x``); a cell it would not have written is returned as it is."""
    if cell[:1] == "'":
        rest = cell[1:]
        if rest[:1] == "'" or (rest[:1] in FORMULA_TRIGGERS and rest[:1]
                               and not is_number_text(rest)):
            return rest
    return cell


__all__ = ["EXPECTED", "FORMULA_TRIGGERS", "STORED", "UNSAFE", "SafeText", "check_text", "escape",
           "escape_lines", "is_number_text", "neutralise_formula", "quoted", "restore_formula",
           "unsafe_at"]
