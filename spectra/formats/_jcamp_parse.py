"""JCAMP-DX text layer: bytes → lines → labelled data records (LDRs) → blocks, and ASDF decoding.

Nothing here knows about :class:`~spectra.Spectrum`; :mod:`spectra.formats.jcamp` maps the
decoded blocks to the model. Every error is a :class:`~spectra.FormatError` naming the file, the
1-based line and the label concerned.

References
----------
.. [1] R. S. McDonald, P. A. Wilks, "JCAMP-DX: A Standard Form for Exchange of Infrared
   Spectra in Computer Readable Form", Appl. Spectrosc. 42 (1988) 151-162.
.. [2] A. N. Davies, P. Lampen, "JCAMP-DX for NMR", Appl. Spectrosc. 47 (1993) 1093-1099
   (ASDF compression, X- and Y-checks).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from .._errors import FormatError

MAX_POINTS = 5_000_000
"""Largest point count we decode. A declared ``##NPOINTS`` above it is refused before anything
is allocated, and DUP expansion stops there too (the largest real file we know has 65,536)."""

MAX_POINTS_PER_BYTE = 16
"""Most points a file may hold per byte of its size: DUP compression is the only way to write
more than one point per byte, and no real file comes near (the densest in the shared tree,
``1HQuinine.jdx``, holds 0.81). A declared ``##NPOINTS`` above ``16 × file size`` is refused
before the data are read, and DUP expansion stops there, so a small file cannot make the
reader build millions of points."""

MAX_DEPTH = 8
"""Deepest nesting of ``##TITLE`` blocks accepted. The standard nests one level (LINK blocks);
deeper is refused, so nesting cannot exhaust the stack."""

_LINE_SPLIT = re.compile(r"\r\n|\r|\n")
# Control characters that have no business in a JCAMP-DX text file (TAB, LF, CR, FF and the
# DOS end-of-file byte 0x1A are tolerated; 0x1A only at the end).
_BAD_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x19\x1b-\x1f\x7f]")


def normalize_label(label: str) -> str:
    """A label as the standard compares them: upper case, without spaces, ``-``, ``/``, ``_``.

    Examples
    --------
    >>> normalize_label("Spectrometer/Data System")
    'SPECTROMETERDATASYSTEM'
    """
    return re.sub(r"[\s\-/_]", "", label).upper()


def strip_comment(text: str) -> str:
    """``text`` without its ``$$`` comment (the standard's in-line comment marker)."""
    i = text.find("$$")
    return text if i < 0 else text[:i]


@dataclass
class LDR:
    """One labelled data record: ``##LABEL=value`` plus its continuation lines."""

    label: str
    """The label as written, stripped (``"$LASER WAVELENGTH"``)."""
    key: str
    """The normalised label (``"$LASERWAVELENGTH"``)."""
    line: int
    """1-based line of the ``##`` line."""
    value: str
    """Text after ``=`` on the label's own line (``$$`` comment removed, stripped)."""
    more: list[tuple[int, str]] = field(default_factory=list)
    """Continuation lines ``(line number, raw text)``."""

    def text(self) -> str:
        """The whole value: own line plus continuation lines, comments removed."""
        parts = [self.value]
        parts.extend(strip_comment(t).strip() for _, t in self.more)
        return "\n".join(p for p in parts if p)


@dataclass
class Block:
    """A ``##TITLE`` … ``##END`` block, possibly holding nested blocks (LINK files)."""

    title: LDR
    ldrs: list[LDR] = field(default_factory=list)
    children: list[Block] = field(default_factory=list)
    end_line: int = 0

    def get(self, key: str) -> LDR | None:
        """The first LDR with the normalised label ``key`` (``None`` when absent)."""
        for ldr in self.ldrs:
            if ldr.key == key:
                return ldr
        return None


def decode_text(raw: bytes, path: Path) -> tuple[str, str]:
    """Decode a file's bytes: UTF-8, else Latin-1 (every byte is a character there).

    Returns
    -------
    text, encoding
        ``encoding`` is ``"utf-8"`` or ``"latin-1"``.

    Raises
    ------
    FormatError
        NUL bytes or other control characters (a binary file, or garbage), with the line.
    """
    try:
        text = raw.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
        encoding = "latin-1"
    text = text.removeprefix("\ufeff")
    # a DOS end-of-file mark (0x1A) ends the text; anything after it is not read
    eof = text.find("\x1a")
    if eof >= 0:
        rest = text[eof + 1 :]
        if rest.strip("\x1a\r\n \t"):
            line = text.count("\n", 0, eof) + 1
            raise FormatError(
                "data after the DOS end-of-file byte 0x1A", path=path, line=line
            )
        text = text[:eof]
    bad = _BAD_CONTROL.search(text)
    if bad is not None:
        line = len(_LINE_SPLIT.split(text[: bad.start()]))
        raise FormatError(
            f"control character {bad.group()!r} at byte {bad.start()}: "
            "not a JCAMP-DX text file (binary or corrupt)",
            path=path,
            line=line,
        )
    return text, encoding


def split_ldrs(text: str, path: Path) -> list[LDR]:
    """Split the text into LDRs. Text before the first ``##`` line is refused unless blank.

    Raises
    ------
    FormatError
        A ``##`` line without ``=``, or non-blank text before the first label.
    """
    ldrs: list[LDR] = []
    for n, line in enumerate(_LINE_SPLIT.split(text), start=1):
        stripped = line.lstrip()
        if stripped.startswith("##"):
            eq = stripped.find("=")
            if eq < 0:
                raise FormatError(
                    f"label line without '=': {stripped[:60]!r}", path=path, line=n,
                    field=stripped[2:40].strip() or "##",
                )
            label = stripped[2:eq].strip()
            value = strip_comment(stripped[eq + 1 :]).strip()
            ldrs.append(LDR(label=label, key=normalize_label(label), line=n, value=value))
        elif ldrs:
            ldrs[-1].more.append((n, line))
        elif strip_comment(line).strip():
            raise FormatError(
                f"text before the first ##TITLE: {line.strip()[:60]!r}", path=path, line=n
            )
    return ldrs


def build_blocks(ldrs: list[LDR], path: Path, last_line: int) -> list[Block]:
    """Nest the LDRs into blocks: ``##TITLE`` opens one (inside the open one), ``##END`` closes.

    Returns
    -------
    list of Block
        The top-level blocks in file order (a plain file has one; a LINK file has one with
        children; some exporters concatenate several top-level blocks).

    Raises
    ------
    FormatError
        No ``##TITLE``, a label outside any block, an ``##END`` without a block, or a block
        left open at the end of the file (truncated file).
    """
    if not ldrs or ldrs[0].key != "TITLE":
        where = ldrs[0].line if ldrs else 1
        raise FormatError(
            "a JCAMP-DX file starts with ##TITLE=", path=path, line=where, field="TITLE"
        )
    stack: list[Block] = []
    top: list[Block] = []
    for ldr in ldrs:
        if ldr.key == "TITLE":
            if len(stack) >= MAX_DEPTH:
                raise FormatError(
                    f"blocks nested more than {MAX_DEPTH} deep (a LINK file nests one level)",
                    path=path, line=ldr.line, field="TITLE",
                )
            block = Block(title=ldr)
            if stack:
                stack[-1].children.append(block)
            else:
                top.append(block)
            stack.append(block)
        elif ldr.key == "END":
            if not stack:
                raise FormatError(
                    "##END= without an open ##TITLE block", path=path, line=ldr.line,
                    field="END",
                )
            stack.pop().end_line = ldr.line
            # anything on the lines after ##END= (other than blanks/comments) is not data
            for n, t in ldr.more:
                # 0xFF filler bytes after the last ##END= (old DOS/Mac exporters) are ignored
                if strip_comment(t).strip().strip("\xff"):
                    raise FormatError(
                        f"text after ##END= outside any block: {t.strip()[:60]!r}",
                        path=path, line=n,
                    )
        else:
            if not stack:
                raise FormatError(
                    f"##{ldr.label}= outside any ##TITLE … ##END block", path=path,
                    line=ldr.line, field=ldr.label,
                )
            stack[-1].ldrs.append(ldr)
    if stack:
        b = stack[-1]
        raise FormatError(
            f"missing ##END= for the block {b.title.value[:40]!r} opened at line "
            f"{b.title.line} (truncated file?)",
            path=path, line=last_line, field="END",
        )
    return top


# -- numbers in header fields ---------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eEdD][+-]?\d+)?")


def parse_number(ldr: LDR, path: Path) -> float:
    """The value of a numeric LDR (``##FIRSTX= 4000.0``), as a float.

    Raises
    ------
    FormatError
        The value is not a single finite number.
    """
    text = ldr.text().strip()
    m = _NUMBER.fullmatch(text)
    if m is None:
        raise FormatError(
            f"expected a number, got {text[:40]!r}", path=path, line=ldr.line, field=ldr.label
        )
    v = float(text.replace("d", "e").replace("D", "E"))
    if not math.isfinite(v):
        raise FormatError(f"not finite: {text!r}", path=path, line=ldr.line, field=ldr.label)
    return v


def points_cap(file_size: int) -> int:
    """The most points a file of ``file_size`` bytes may hold (:data:`MAX_POINTS_PER_BYTE`,
    :data:`MAX_POINTS`)."""
    return min(MAX_POINTS, MAX_POINTS_PER_BYTE * max(file_size, 1))


def parse_count(ldr: LDR, path: Path, file_size: int | None = None) -> int:
    """A count (``##NPOINTS=``, ``##BLOCKS=``): a positive integer at most :data:`MAX_POINTS`,
    and, given ``file_size``, at most :func:`points_cap` of it.

    Raises
    ------
    FormatError
        Not an integer, not positive, or above the bound (refused before allocating).
    """
    v = parse_number(ldr, path)
    if v != int(v) or v < 1:
        raise FormatError(
            f"expected a positive whole number, got {ldr.value!r}", path=path,
            line=ldr.line, field=ldr.label,
        )
    if v > MAX_POINTS:
        raise FormatError(
            f"declares {int(v)} points, more than the {MAX_POINTS} this reader accepts "
            "(refused before reading the data)",
            path=path, line=ldr.line, field=ldr.label,
        )
    if file_size is not None and v > points_cap(file_size):
        raise FormatError(
            f"declares {int(v)} points, more than a {file_size}-byte file can hold (at most "
            f"{MAX_POINTS_PER_BYTE} per byte; refused before reading the data)",
            path=path, line=ldr.line, field=ldr.label,
        )
    return int(v)


# -- ASDF data lines --------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
     ([@A-Ia-i])(\d*\.?\d*)                          # 1,2  SQZ: signed first digit
    |([%J-Rj-r])(\d*\.?\d*)                          # 3,4  DIF: signed first digit
    |([S-Zs])(\d*)                                   # 5,6  DUP: repeat count
    |([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]\d+)?)      # 7    AFFN / PAC
    |(\?)                                            # 8    missing value
    |([\s,;]+)                                       # 9    separators
    |(.)                                             # 10   anything else: an error
    """,
    re.VERBOSE,
)
_SQZ = {"@": 0, **{c: i + 1 for i, c in enumerate("ABCDEFGHI")},
        **{c: -(i + 1) for i, c in enumerate("abcdefghi")}}
_DIF = {"%": 0, **{c: i + 1 for i, c in enumerate("JKLMNOPQR")},
        **{c: -(i + 1) for i, c in enumerate("jklmnopqr")}}
_DUP = {**{c: i + 1 for i, c in enumerate("STUVWXYZ")}, "s": 9}

Number = int | float

_SQZ_S = {c: str(v) for c, v in _SQZ.items()}
_DIF_S = {c: str(v) for c, v in _DIF.items()}
_DUP_S = {c: str(v) for c, v in _DUP.items()}
_TOKENS = re.compile(
    r"([@A-Ia-i])(\d*\.?\d*)|([%J-Rj-r])(\d*\.?\d*)|([S-Zs])(\d*)"
    r"|([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]\d+)?)"
)
"""The tokens of a valid ASDF line, for ``findall``: (SQZ, rest, DIF, rest, DUP, rest, AFFN)."""
_LINE_OK = re.compile(
    r"(?:[\s,;]++|[@A-Ia-i%J-Rj-r]\d*+(?:\.\d*+)?+|[S-Zs]\d*+"
    r"|[+-]?+(?:\d++(?:\.\d*+)?+|\.\d++)(?:[eE][+-]\d++)?+)*+"
)
"""A line made only of ASDF tokens and separators (possessive: no backtracking)."""


_EXACT_DIGITS = 300
"""Integers of up to this many digits are kept exact (they also convert to a double); a
longer digit run is read as a float, which is ±inf past 1.8e308 and then refused as a
non-finite value, instead of an ``OverflowError`` (or Python's 4,300-digit ``ValueError``).
DIF sums stay convertible too: at most :data:`MAX_POINTS` steps of < 1e300 each."""


def _asdf(lead: str, rest: str) -> Number:
    """A SQZ/DIF token's value from its signed first digit (as text) and the digits after."""
    text = lead + rest
    if len(text) <= _EXACT_DIGITS and (not rest or rest.isdigit()):
        return int(text)
    return float(text)


def same_value(v: Number, ref: Number) -> bool:
    """Whether a Y-check value equals the ordinate it repeats (exactly, or within 1e-9)."""
    if v == ref:
        return True
    try:
        return math.isclose(v, ref, rel_tol=1e-9, abs_tol=1e-12)
    except OverflowError:  # an accumulated integer beyond a double: unequal, as compared
        return False


def _raise_bad_token(text: str, path: Path, lineno: int, label: str) -> None:
    """Raise the error for the first character of ``text`` that is not part of a token."""
    for m in _TOKEN.finditer(text):
        if m.lastindex == 10:
            raise FormatError(
                f"unexpected character {m.group()!r} at column {m.start() + 1}",
                path=path, line=lineno, field=label,
            )
        if m.lastindex == 8:
            raise FormatError(
                f"missing value '?' at column {m.start() + 1} (not supported)",
                path=path, line=lineno, field=label,
            )
    raise FormatError(f"unreadable data line {text.strip()[:60]!r}", path=path, line=lineno,
                      field=label)


def _raise_no_x(text: str, path: Path, lineno: int, label: str) -> NoReturn:
    raise FormatError(
        f"a data line must start with an X value, got only separators {text.strip()!r}",
        path=path, line=lineno, field=label,
    )


def _num(text: str) -> Number:
    digits = text.lstrip("+-")
    return int(text) if len(digits) <= _EXACT_DIGITS and digits.isdigit() else float(text)


@dataclass
class XYYData:
    """Ordinates decoded from ``(X++(Y..Y))`` lines, with the X of each line for the X-check."""

    y: list[Number]
    line_x: list[tuple[int, Number, int, float, bool]]
    """Per data line: ``(line number, X as written, index of the point it labels, the unit of
    the X's last written digit, whether the line opens with a Y-check value)``."""
    y_checks: int
    """How many DIF Y-checks were verified."""
    forms: set[str]
    """Compression forms seen: ``AFFN``, ``PAC``, ``SQZ``, ``DIF``, ``DUP``."""
    final_check: FormatError | None = None
    """A failed Y-check on the last data line when that line adds no point (a terminator
    written by some exporters); the caller decides. Any other failed Y-check raises."""


LineCheck = Callable[[int, Number, int, float], None]


def digit_unit(text: str) -> float:
    """The value of one unit in the last written digit of a number (``"576.13"`` → 0.01)."""
    mant = text
    for c in "eE":
        i = mant.find(c)
        if i >= 0:
            mant = mant[:i]
    dot = mant.find(".")
    return 1.0 if dot < 0 else 10.0 ** -(len(mant) - dot - 1)


# A line of plain numbers (AFFN, or PAC where a sign separates numbers): decoded without the
# per-token state machine. Possessive quantifiers: no backtracking on a long bad line.
_NUM = r"[+-]?+(?:\d++(?:\.\d*+)?+|\.\d++)(?:[eE][+-]\d++)?+"
_AFFN_LINE = re.compile(rf"[\s,;]*+(?:{_NUM}[\s,;]*+)*+")
_AFFN_NUM = re.compile(_NUM)
_SIGNED = re.compile(r"(?<![eE\d.])[+-]|\d[+-]")


def decode_xyy(
    lines: list[tuple[int, str]], path: Path, label: str, cap: int,
    on_line: LineCheck | None = None,
) -> XYYData:
    """Decode ``(X++(Y..Y))`` data lines in AFFN or any ASDF form (SQZ, DIF, DUP, PAC).

    Parameters
    ----------
    lines
        ``(line number, text)`` of the data lines.
    path, label
        For error messages.
    cap
        The most points accepted (the declared ``NPOINTS`` or :data:`MAX_POINTS`): decoding
        stops with an error as soon as DUP expansion would pass it.
    on_line
        Called after each data line with ``(line number, X, point index, X digit unit)``; it
        may raise (an early X-check, so that a spliced or lost line is reported where it is).

    Returns
    -------
    XYYData

    Raises
    ------
    FormatError
        An unknown character, a line not starting with an X value, a DIF or DUP with nothing
        to apply to, a failed DIF Y-check (the first ordinate of a line must repeat the last
        ordinate of a previous line that ended in DIF form), a missing value ``?``, or more
        points than ``cap``.
    """
    ys: list[Number] = []
    line_x: list[tuple[int, Number, int, float, bool]] = []
    forms: set[str] = set()
    prev_dif = False
    checks = 0
    pending: FormatError | None = None
    for lineno, raw in lines:
        text = strip_comment(raw)
        if not text.strip():
            continue
        if pending is None and _AFFN_LINE.fullmatch(text):
            toks = _AFFN_NUM.findall(text)
            if not toks:
                _raise_no_x(text, path, lineno, label)
            start = len(ys)
            checked = False
            values = toks[1:]
            if values and prev_dif:  # the first ordinate repeats the last one (Y-check)
                v = _num(values[0])
                ref = ys[-1]
                if not same_value(v, ref):
                    pending = FormatError(
                        f"DIF Y-check failed: the line starts with {v!r} but the previous "
                        f"line ended with {ref!r} (corrupt or missing data line)",
                        path=path, line=lineno, field=label,
                    )
                    if len(values) > 1:
                        raise pending
                else:
                    checks += 1
                checked = True
                values = values[1:]
            if start + len(values) > cap:
                raise FormatError(f"more than {cap} points", path=path, line=lineno, field=label)
            ys.extend(map(float, values))
            if len(forms) < 2 or "AFFN" not in forms or "PAC" not in forms:
                signed = ("-" in text or "+" in text) and _SIGNED.search(text, len(toks[0]))
                forms.add("PAC" if signed else "AFFN")
            idx = start - 1 if checked else start
            x0 = _num(toks[0])
            unit0 = digit_unit(toks[0])
            line_x.append((lineno, x0, idx, unit0, checked))
            if on_line is not None:
                on_line(lineno, x0, idx, unit0)
            prev_dif = False
            continue
        x: Number | None = None
        unit = 1.0
        start = len(ys)
        last_kind = ""  # "abs" | "dif"
        last_val: Number = 0
        checked = False
        first_y = True
        if not _LINE_OK.fullmatch(text):
            _raise_bad_token(text, path, lineno, label)
        for sq, sqr, df, dfr, dp, dpr, af in _TOKENS.findall(text):
            if pending is not None:
                raise pending
            if x is None:
                if sq:
                    x = _asdf(_SQZ_S[sq], sqr)
                    unit = digit_unit(sqr or "0")
                elif af:
                    x = _num(af)
                    unit = digit_unit(af)
                else:
                    raise FormatError(
                        f"a data line must start with an X value, got {df + dfr + dp + dpr!r}",
                        path=path, line=lineno, field=label,
                    )
                continue
            if sq or af:
                if sq:
                    v = _asdf(_SQZ_S[sq], sqr)
                    forms.add("SQZ")
                else:
                    v = _num(af)
                    forms.add("PAC" if af[0] in "+-" else "AFFN")
                if first_y and prev_dif:
                    if not ys:
                        raise FormatError("Y-check without a previous ordinate", path=path,
                                          line=lineno, field=label)
                    ref = ys[-1]
                    if not same_value(v, ref):
                        pending = FormatError(
                            f"DIF Y-check failed: the line starts with {v!r} but the previous "
                            f"line ended with {ref!r} (corrupt or missing data line)",
                            path=path, line=lineno, field=label,
                        )
                    else:
                        checks += 1
                    checked = True
                else:
                    ys.append(v)
                last_kind, last_val = "abs", v
            elif df:
                if first_y and prev_dif:
                    raise FormatError(
                        f"the previous line ended in DIF form, so this one must open with the "
                        f"Y-check value (an absolute ordinate), not the DIF {df + dfr!r}",
                        path=path, line=lineno, field=label,
                    )
                if not ys:
                    raise FormatError(
                        f"DIF value {df + dfr!r} with no ordinate before it", path=path,
                        line=lineno, field=label,
                    )
                d = _asdf(_DIF_S[df], dfr)
                ys.append(ys[-1] + d)
                last_kind, last_val = "dif", d
                forms.add("DIF")
            else:  # DUP
                count = int(_DUP_S[dp] + dpr)
                if not last_kind:
                    raise FormatError(
                        f"DUP count {dp + dpr!r} with no value before it", path=path,
                        line=lineno, field=label,
                    )
                if len(ys) + count - 1 > cap:
                    raise FormatError(
                        f"DUP {dp + dpr!r} expands past {cap} points", path=path,
                        line=lineno, field=label,
                    )
                forms.add("DUP")
                if last_kind == "abs":
                    ys.extend([last_val] * (count - 1))
                else:
                    for _ in range(count - 1):
                        ys.append(ys[-1] + last_val)
            first_y = False
            if len(ys) > cap:
                raise FormatError(
                    f"more than {cap} points", path=path, line=lineno, field=label
                )
        if x is None:
            _raise_no_x(text, path, lineno, label)
        if pending is not None and len(ys) > start:
            raise pending
        idx = start - 1 if checked else start
        line_x.append((lineno, x, idx, unit, checked))
        if on_line is not None:
            on_line(lineno, x, idx, unit)
        prev_dif = last_kind == "dif"
    return XYYData(y=ys, line_x=line_x, y_checks=checks, forms=forms, final_check=pending)


def decode_pairs(
    lines: list[tuple[int, str]], path: Path, label: str, width: int, cap: int
) -> tuple[list[Number], list[Number], list[int]]:
    """Decode ``(XY..XY)`` (``width`` 2) or ``(XYW..XYW)`` (``width`` 3) AFFN groups.

    Returns
    -------
    x, y, line_of_group
        Abscissae, ordinates, and the line each group starts on.

    Raises
    ------
    FormatError
        A non-numeric token, a missing value ``?``, an incomplete group, more than ``cap``.
    """
    values: list[Number] = []
    where: list[int] = []
    for lineno, raw in lines:
        text = strip_comment(raw)
        for m in _TOKEN.finditer(text):
            kind = m.lastindex
            if kind == 9:
                continue
            if kind == 7:
                values.append(_num(m.group(7)))
                where.append(lineno)
            elif kind == 8:
                raise FormatError(
                    f"missing value '?' at column {m.start() + 1} (not supported)",
                    path=path, line=lineno, field=label,
                )
            else:
                raise FormatError(
                    f"unexpected {m.group()!r} at column {m.start() + 1} in AFFN (XY..XY) data",
                    path=path, line=lineno, field=label,
                )
        if len(values) > cap * width:
            raise FormatError(f"more than {cap} points", path=path, line=lineno, field=label)
    if len(values) % width:
        raise FormatError(
            f"{len(values)} numbers do not make whole groups of {width}", path=path,
            line=where[-1] if where else None, field=label,
        )
    return values[0::width], values[1::width], where[0::width]
