"""JCAMP-DX 4.24 / 5.x: read (AFFN and every ASDF form, LINK files) and write (5.01 AFFN).

Reading checks each file against itself: the declared ``NPOINTS`` against the points decoded,
``FIRSTX``/``LASTX``/``DELTAX`` against each other, the X written at the start of every data
line against the axis (X-check), the DIF Y-checks, and ``FIRSTY`` against the first ordinate.
Writing uses Python's shortest round-trip float repr, so ``read(write(s))`` gives the same
arrays bit for bit and the same :attr:`~spectra.Spectrum.content_hash`.

Which files are refused and why is documented in ``docs/formats/jcamp.md``.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from .._errors import (
    FormatError,
    ParameterWarning,
    SpectrumValidationError,
    UnsupportedContentError,
    UnsupportedFormatError,
)
from .._model import Acquisition, ProvenanceStep, Spectrum
from .._units import FloatArray, Technique, XUnit, YUnit
from ._jcamp_parse import (
    LDR,
    MAX_POINTS,
    Block,
    build_blocks,
    decode_pairs,
    decode_text,
    decode_xyy,
    digit_unit,
    normalize_label,
    parse_count,
    parse_number,
    points_cap,
    split_ldrs,
)
from ._json import loads as json_loads

NAME = "jcamp"
EXTENSIONS: tuple[str, ...] = (".jdx", ".dx", ".jcm", ".jcamp")

TRANSMITTANCE_FRACTION_MAX = 1.5
"""``YUNITS=TRANSMITTANCE`` is read as a fraction (0-1) when no ordinate exceeds this, else as
percent. Real files use both scales under the same label."""

X_CHECK_TOLERANCE = 0.5
"""The X written at the start of a data line must match the axis within this many point
spacings (a lost or extra ordinate shifts it by a whole spacing)."""

_SNIFF = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*##\s*TITLE\s*=", re.IGNORECASE)
_DATA_KEYS = ("XYDATA", "XYPOINTS", "PEAKTABLE", "DATATABLE")
_OUR = "$INTERDICT"


def sniff(head: bytes) -> bool:
    """Whether ``head`` starts like a JCAMP-DX file (first label ``##TITLE=``).

    Parameters
    ----------
    head
        The first bytes of the file.

    Returns
    -------
    bool
    """
    return _SNIFF.match(head) is not None


# -- reading ----------------------------------------------------------------------------------


def read(path: Path) -> list[Spectrum]:
    """Read every spectrum in a JCAMP-DX file (one per data block; LINK files hold several).

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    list of Spectrum
        In file order. ``source`` is the path, or ``"path#k"`` (k from 0) when the file holds
        more than one spectrum. X is always increasing; a file written high-to-low has
        ``extra["x_order_in_file"] == "decreasing"``. Every label of the block is kept in
        ``extra`` as written (data records by their form only).

    Raises
    ------
    FormatError
        With path, line and label: unreadable, truncated (no ``##END=``), garbage, bad numbers,
        failed X-, Y-, NPOINTS-, FIRSTX/LASTX- or FIRSTY-checks, too many points.
    UnsupportedContentError
        Well-formed content we deliberately do not read (NTUPLES, no spectrum at all).
    UnsupportedFormatError
        Not a JCAMP-DX file (no ``##TITLE=``).

    Warns
    -----
    ParameterWarning
        A real-file pattern accepted on the file's own evidence (each also noted in
        ``extra``): data-line X labels lagging the header axis by exactly one point (NIST
        QUANT-IR); a DELTAX contradicted by FIRSTX/LASTX/NPOINTS and the X-checks; a FIRSTY
        contradicted by MAXY/MINY and the data; a failed Y-check on a final line that adds no
        point; exact duplicate points dropped; a malformed check-only value (FIRSTY…) ignored.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot open: {exc.strerror or exc}", path=p) from exc
    if not raw.strip():
        raise FormatError("file is empty", path=p, offset=0)
    text, encoding = decode_text(raw, p)
    if not _SNIFF.match(text.encode("utf-8", "replace")):
        raise UnsupportedFormatError(
            "not a JCAMP-DX file: it does not start with ##TITLE=", path=p, line=1, field="TITLE"
        )
    ldrs = split_ldrs(text, p)
    last_line = text.count("\n") + text.count("\r") - text.count("\r\n") + 1
    top = build_blocks(ldrs, p, last_line)
    leaves: list[tuple[Block, Block | None]] = []
    for b in top:
        _collect(b, None, leaves, p)
    if not leaves:
        raise UnsupportedContentError(
            "no spectrum in the file (no ##XYDATA=, ##XYPOINTS= or ##PEAK TABLE= in any "
            "block; e.g. a structure or peak-assignment file)",
            path=p, line=top[0].title.line, field="XYDATA",
        )
    out: list[Spectrum] = []
    many = len(leaves) > 1
    # hostile numbers (1e308 × XFACTOR, inf − inf) become inf/NaN quietly and are refused as
    # non-finite where the spectrum is built, instead of leaking numpy's RuntimeWarnings
    with np.errstate(all="ignore"):
        for k, (block, parent) in enumerate(leaves):
            source = f"{p}#{k}" if many else str(p)
            out.append(_spectrum(block, parent, p, source, encoding, file_size=len(raw)))
    return out


def _collect(
    block: Block, parent: Block | None, out: list[tuple[Block, Block | None]], path: Path
) -> None:
    blocks = block.get("BLOCKS")
    if blocks is not None:
        want = parse_count(blocks, path)
        if want != len(block.children):
            raise FormatError(
                f"declares {want} blocks but holds {len(block.children)} (truncated LINK file?)",
                path=path, line=blocks.line, field=blocks.label,
            )
    ntuples = block.get("NTUPLES")
    if ntuples is not None:
        raise UnsupportedContentError(
            f"NTUPLES data ({ntuples.value or 'unnamed'}: several pages, e.g. real and "
            "imaginary NMR parts or a spectral series) is not read",
            path=path, line=ntuples.line, field=ntuples.label,
        )
    if any(block.get(k) is not None for k in _DATA_KEYS):
        out.append((block, parent))
    for child in block.children:
        _collect(child, block, out, path)


def _num(block: Block, key: str, path: Path) -> float | None:
    ldr = block.get(key)
    return None if ldr is None else parse_number(ldr, path)


def _factor(block: Block, key: str, path: Path) -> float:
    """XFACTOR or YFACTOR: 1.0 when absent; zero is refused (it would erase the data)."""
    ldr = block.get(key)
    if ldr is None:
        return 1.0
    value = parse_number(ldr, path)
    if value == 0.0:
        raise FormatError("a factor of 0 would erase the data", path=path, line=ldr.line,
                          field=ldr.label)
    return value


def _check_num(block: Block, key: str, path: Path) -> float | None:
    """A header value used only to check the data: a malformed one is warned about, not fatal."""
    ldr = block.get(key)
    if ldr is None:
        return None
    try:
        return parse_number(ldr, path)
    except FormatError as exc:
        warnings.warn(f"{exc}; not used for checking", ParameterWarning, stacklevel=4)
        return None


def _even_axis(first: float, last: float, n: int) -> FloatArray:
    """The axis of an ``(X++(Y..Y))`` block: ``n`` points from FIRSTX to LASTX inclusive."""
    return np.linspace(first, last, n, dtype=np.float64)


def _spectrum(
    block: Block, parent: Block | None, path: Path, source: str, encoding: str, *,
    file_size: int,
) -> Spectrum:
    extra = _extra(block, parent, encoding)
    data_ldr = next(ldr for ldr in block.ldrs if ldr.key in _DATA_KEYS)
    form = re.sub(r"\s", "", data_ldr.value).upper()
    declared = block.get("NPOINTS")
    npoints = parse_count(declared, path, file_size) if declared is not None else None
    cap = npoints if npoints is not None else points_cap(file_size)
    xfactor = _factor(block, "XFACTOR", path)
    yfactor = _factor(block, "YFACTOR", path)
    firstx = _num(block, "FIRSTX", path)
    lastx = _num(block, "LASTX", path)
    label = data_ldr.label
    extra[label] = data_ldr.value

    if data_ldr.key == "XYDATA" and _XYY_FORM.fullmatch(form):
        if not form.endswith("))"):
            extra["jcamp_form_note"] = f"data form {data_ldr.value!r} lacks its closing ')'"
        x, y = _read_xyy(block, data_ldr, path, extra=extra, npoints=npoints,
                         declared=declared, cap=cap, xfactor=xfactor, yfactor=yfactor,
                         firstx=firstx, lastx=lastx)
    elif data_ldr.key in ("XYPOINTS", "XYDATA", "PEAKTABLE") and form in (
        "(XY..XY)", "(XYW..XYW)"
    ):
        width = 3 if form == "(XYW..XYW)" else 2
        xs, ys, where = decode_pairs(data_ldr.more, path, label, width, cap)
        n = len(xs)
        if n == 0:
            raise FormatError("no data points", path=path, line=data_ldr.line, field=label)
        _check_npoints(npoints, n, declared, path)
        x = np.asarray(xs, dtype=np.float64) * xfactor
        y = np.asarray(ys, dtype=np.float64) * yfactor
        x, y = _drop_exact_duplicates(x, y, where, path=path, label=label, extra=extra)
        peaks = data_ldr.key == "PEAKTABLE"
        lo, hi = float(np.min(x)), float(np.max(x))
        for key, end, got in (("FIRSTX", firstx, float(x[0])), ("LASTX", lastx, float(x[-1]))):
            if end is None:
                continue
            # a peak table lists peaks inside the scanned range FIRSTX..LASTX; an XY list
            # starts and ends there
            ok = (min(firstx or lo, lastx or hi) - _tol_x(end, x) <= lo
                  and hi <= max(firstx or lo, lastx or hi) + _tol_x(end, x)) if peaks \
                else _close_x(end, got, x)
            if not ok:
                ldr = block.get(key)
                assert ldr is not None
                what = "the peaks lie outside FIRSTX..LASTX" if peaks else (
                    f"the data's {'first' if key == 'FIRSTX' else 'last'} X is {got!r}")
                raise FormatError(f"{key}={end!r} but {what}", path=path, line=ldr.line,
                                  field=key)
        if peaks:
            extra["jcamp_peak_table"] = "true"
    else:
        raise UnsupportedContentError(
            f"data form {data_ldr.value!r} is not read (only (X++(Y..Y)), (XY..XY), "
            "(XYW..XYW))", path=path, line=data_ldr.line, field=label,
        )

    _check_y_scale(block, y, yfactor, path, extra)
    if x.size > 1 and x[0] > x[-1]:
        x, y = x[::-1].copy(), y[::-1].copy()
        extra["x_order_in_file"] = "decreasing"
    return _build(block, path, source, x, y, extra=extra, data_ldr=data_ldr)


_XYY_FORM = re.compile(r"\(X\+\+\((Y\.\.Y|R\.\.R|I\.\.I)\)\)?")


def _read_xyy(
    block: Block, data_ldr: LDR, path: Path, *, extra: dict[str, str], npoints: int | None,
    declared: LDR | None, cap: int, xfactor: float, yfactor: float, firstx: float | None,
    lastx: float | None,
) -> tuple[FloatArray, FloatArray]:
    label = data_ldr.label
    deltax = _check_num(block, "DELTAX", path)
    on_line = None
    if npoints is not None and firstx is not None and lastx is not None and npoints > 1:
        # early, coarse X-check (3 point spacings) so a spliced or lost line is reported at
        # its own line, before the count runs past NPOINTS; the strict check follows below
        f0, step0 = firstx, (lastx - firstx) / (npoints - 1)

        def on_line(lineno: int, xv: float, idx: int, unit: float) -> None:
            got = float(xv) * xfactor
            want = f0 + idx * step0
            if abs(got - want) > 3 * abs(step0) + unit * abs(xfactor) + 1e-9 * abs(want):
                raise FormatError(
                    f"X-check failed: the line starts at X={got!r} but point {idx} is at "
                    f"{want!r} (step {step0!r}): lost, extra or spliced data?",
                    path=path, line=lineno, field=label,
                )

    dec = decode_xyy(data_ldr.more, path, label, cap, on_line)
    n = len(dec.y)
    if n == 0:
        raise FormatError("no data points", path=path, line=data_ldr.line, field=label)
    _check_npoints(npoints, n, declared, path)
    if firstx is None:
        firstx = float(dec.line_x[0][1]) * xfactor
    if lastx is None:
        if deltax is None and n > 1:
            raise FormatError(
                "needs ##LASTX= or ##DELTAX= to place the points", path=path,
                line=data_ldr.line, field="LASTX",
            )
        lastx = firstx + (n - 1) * (deltax or 0.0)
    x = _even_axis(firstx, lastx, n)
    step = (lastx - firstx) / (n - 1) if n > 1 else 0.0
    deltax_conflict = None
    if deltax is not None and n > 1 and not math.isclose(
        deltax, step, rel_tol=1e-3, abs_tol=1e-9
    ):
        ldr = block.get("DELTAX")
        assert ldr is not None  # parsed just above
        deltax_conflict = FormatError(
            f"DELTAX={deltax!r} but (LASTX-FIRSTX)/(NPOINTS-1) = {step!r}",
            path=path, line=ldr.line, field="DELTAX",
        )
    try:
        note, doubtful = _x_check(dec.line_x, x, xfactor=xfactor, step=step, path=path,
                                  label=label)
    except FormatError as exc:
        if deltax_conflict is not None:
            raise FormatError(
                f"{deltax_conflict.reason}, and the data lines agree with neither: "
                f"{exc.reason}", path=path, line=deltax_conflict.line, field="DELTAX",
            ) from exc
        raise
    if deltax_conflict is not None:
        msg = (f"{deltax_conflict}; the data lines' X-checks confirm FIRSTX/LASTX/NPOINTS, "
               "which are used")
        warnings.warn(msg, ParameterWarning, stacklevel=5)
        extra["jcamp_deltax_conflict"] = msg
    if note:
        if doubtful:
            warnings.warn(f"{path}: {label}: {note}", ParameterWarning, stacklevel=5)
        extra["jcamp_x_check"] = note
    if dec.final_check is not None:
        msg = (f"{dec.final_check}; that last line adds no point and NPOINTS matches, so it is "
               "taken for an exporter's terminator")
        if npoints is None:
            raise dec.final_check
        warnings.warn(msg, ParameterWarning, stacklevel=5)
        extra["jcamp_y_check"] = msg
    extra["jcamp_compression"] = "+".join(sorted(dec.forms)) or "AFFN"
    extra["jcamp_y_checks"] = str(dec.y_checks)
    y = np.asarray(dec.y, dtype=np.float64) * yfactor
    return x, y


def _drop_exact_duplicates(
    x: FloatArray, y: FloatArray, where: list[int], *, path: Path, label: str,
    extra: dict[str, str],
) -> tuple[FloatArray, FloatArray]:
    """Remove points that repeat the previous point exactly (same x and y); refuse a repeated
    x with another y (which value is right cannot be known)."""
    if x.size < 2:
        return x, y
    same_x = x[1:] == x[:-1]
    if not np.any(same_x):
        return x, y
    conflict = same_x & (y[1:] != y[:-1])
    if np.any(conflict):
        i = int(np.flatnonzero(conflict)[0]) + 1
        raise FormatError(
            f"X={float(x[i])!r} appears twice with different Y ({float(y[i - 1])!r}, "
            f"{float(y[i])!r})", path=path, line=where[i], field=label,
        )
    keep = np.concatenate(([True], ~same_x))
    dropped = [where[int(i)] for i in np.flatnonzero(~keep)]
    msg = (f"{len(dropped)} point(s) repeating the previous point exactly were dropped "
           f"(lines {', '.join(map(str, dropped[:10]))}{', …' if len(dropped) > 10 else ''})")
    warnings.warn(f"{path}: {label}: {msg}", ParameterWarning, stacklevel=5)
    extra["jcamp_duplicates_dropped"] = msg
    return x[keep], y[keep]


def _check_y_scale(
    block: Block, y: FloatArray, yfactor: float, path: Path, extra: dict[str, str]
) -> None:
    """FIRSTY must match the first ordinate; if it does not, MAXY and MINY must match the
    data's extremes (then FIRSTY alone is wrong: warned), else YFACTOR is in doubt: refused."""
    firsty = _check_num(block, "FIRSTY", path)
    if firsty is None:
        return
    y0, ymax, ymin = float(y[0]), float(np.max(y)), float(np.min(y))
    span = ymax - ymin if math.isfinite(ymax - ymin) else math.inf
    tol = max(abs(yfactor), 1e-3 * max(abs(ymax), abs(ymin)), _written_unit(block, "FIRSTY"))
    if abs(firsty - y0) <= tol:
        return
    ldr = block.get("FIRSTY")
    assert ldr is not None
    err = FormatError(
        f"FIRSTY={firsty!r} but the first ordinate decodes to {y0!r} (YFACTOR={yfactor!r})",
        path=path, line=ldr.line, field="FIRSTY",
    )
    maxy = _check_num(block, "MAXY", path)
    miny = _check_num(block, "MINY", path)
    if maxy is None or miny is None:
        raise err
    lo, hi = sorted((maxy, miny))
    tol_ext = 0.01 * span + abs(yfactor) + max(
        _written_unit(block, "MAXY"), _written_unit(block, "MINY")
    )
    if abs(lo - ymin) <= tol_ext and abs(hi - ymax) <= tol_ext:
        msg = f"{err}; MAXY/MINY match the data's extremes, so YFACTOR is right and FIRSTY is not"
        warnings.warn(msg, ParameterWarning, stacklevel=5)
        extra["jcamp_firsty_conflict"] = msg
        return
    raise FormatError(
        f"{err.reason}, and MINY..MAXY={lo!r}..{hi!r} do not match the data's "
        f"{ymin!r}..{ymax!r} either: YFACTOR or the data are wrong",
        path=path, line=ldr.line, field="FIRSTY",
    )


def _written_unit(block: Block, key: str) -> float:
    """One unit of the last digit written in a numeric header value (``".19"`` → 0.01)."""
    ldr = block.get(key)
    if ldr is None:
        return 0.0
    text = ldr.text().strip()
    return digit_unit(text) * (10.0 ** _exponent(text))


def _exponent(text: str) -> int:
    m = re.search(r"[eEdD]([+-]?\d+)$", text)
    return int(m.group(1)) if m else 0


def _check_npoints(npoints: int | None, n: int, declared: LDR | None, path: Path) -> None:
    if npoints is not None and n != npoints:
        assert declared is not None
        raise FormatError(
            f"NPOINTS={npoints} but the data hold {n} points", path=path,
            line=declared.line, field=declared.label,
        )


def _tol_x(declared: float, x: FloatArray) -> float:
    with np.errstate(over="ignore"):  # spacing of axes near ±1e308 may overflow to inf
        spacing = float(np.min(np.abs(np.diff(x)))) if x.size > 1 else 0.0
    return max(1e-9, 1e-6 * abs(declared), 0.5 * spacing)


def _close_x(declared: float, got: float, x: FloatArray) -> bool:
    return abs(declared - got) <= _tol_x(declared, x)


def _x_check(
    line_x: list[tuple[int, float | int, int, float, bool]], x: FloatArray, *,
    xfactor: float, step: float, path: Path, label: str,
) -> tuple[str, bool]:
    """Every data line's X (times XFACTOR) must match the axis at its point.

    Tolerance: :data:`X_CHECK_TOLERANCE` point spacings plus one unit of the X's last written
    digit (labels are rounded or truncated). Two patterns of real files are accepted:

    - on a line that opens with a DIF Y-check value, the X may label the first new point
      instead of the repeated one (SpectraFile-IR, IUPAC ``SPECFILE.DX``): noted;
    - from the second line on, every X lags the axis by exactly one point (NIST QUANT-IR
      exports): noted and warned about; the header axis is kept.

    Returns
    -------
    note, doubtful
        The note (``""`` when the check passed plainly) and whether it deserves a warning.
    """
    if not line_x:
        return "", False
    lines = np.array([t[0] for t in line_x])
    got = np.array([float(t[1]) for t in line_x]) * xfactor
    idx = np.array([t[2] for t in line_x])
    unit = np.array([t[3] for t in line_x]) * abs(xfactor)
    if np.any(idx >= x.size) or np.any(idx < 0):
        bad = int(np.flatnonzero((idx >= x.size) | (idx < 0))[0])
        raise FormatError(
            "data line X has no ordinate after it", path=path, line=int(lines[bad]), field=label
        )
    checked = np.array([t[4] for t in line_x], dtype=bool)
    expected = x[idx]
    tol = X_CHECK_TOLERANCE * abs(step) + unit + 1e-9 * np.maximum(np.abs(expected), 1.0)
    off = np.abs(got - expected) > tol
    if not np.any(off):
        return "", False
    if np.any(checked):
        alt = expected.copy()
        alt[checked] = x[np.minimum(idx[checked] + 1, x.size - 1)]
        off_alt = np.abs(got - alt) > tol
        if not np.any(off & off_alt):
            return ("the X of each line that opens with a Y-check value labels the first new "
                    "point, not the repeated one (SpectraFile-IR convention); accepted"), False
    if step and lines.size > 2 and not off[0]:
        lag = (got[1:] - expected[1:]) / step
        if np.all(np.abs(lag + 1.0) <= 0.1 + unit[1:] / abs(step)):
            return (f"the X at the start of every data line after the first is one point "
                    f"spacing ({abs(step):g}) below the axis from FIRSTX/LASTX/NPOINTS "
                    "(a known exporter off-by-one); the header axis is used"), True
    i = int(np.flatnonzero(off)[0])
    raise FormatError(
        f"X-check failed: the line starts at X={float(got[i])!r} but its first point should be "
        f"at {float(expected[i])!r} (point {int(idx[i])}; step {step!r}): lost or extra "
        "ordinates?",
        path=path, line=int(lines[i]), field=label,
    )



def _extra(block: Block, parent: Block | None, encoding: str) -> dict[str, str]:
    extra: dict[str, str] = {}
    if parent is not None:
        extra["jcamp_link_title"] = parent.title.text()
    # a repeated label is kept as "LABEL #2", "LABEL #3", …; the next number to try is kept
    # per label, so n repeats cost n steps, not n²/2 (8,000 repeats took 8 s)
    next_k: dict[str, int] = {}
    for ldr in [block.title, *block.ldrs]:
        if ldr.key in _DATA_KEYS:
            continue
        key = ldr.label
        if key in extra:
            k = next_k.get(ldr.label, 2)
            while (key := f"{ldr.label} #{k}") in extra:
                k += 1  # steps over a label written as "LABEL #k" in the file itself
            next_k[ldr.label] = k + 1
        extra[key] = ldr.text()
    if encoding != "utf-8":
        extra["encoding"] = encoding
    return extra


_XUNITS: list[tuple[str, XUnit]] = [
    (r"^(1/CM|CM-1|CM\^-1|CM\*\*-1|/CM|WAVENUMBERS?(\(1/CM\)|\(CM-1\)|/CM-1)?)$",
     XUnit.WAVENUMBER),
    (r"^(NANOMETERS?|NM|WAVELENGTH\(NM\))$", XUnit.WAVELENGTH_NM),
    (r"^(MICROMETERS?|MICRONS?|UM|µM)$", XUnit.WAVELENGTH_UM),
    (r"^HZ$", XUnit.HZ),
    (r"^PPM$", XUnit.PPM),
    (r"^(M/Z|MASS|MASSUNITS|AMU|DALTONS?)$", XUnit.MZ),
    (r"^(S|SEC|SECONDS?)$", XUnit.SECONDS),
    (r"^(PIXELS?|CHANNELS?)$", XUnit.PIXEL),
]


def _x_unit(raw: str, technique: Technique) -> XUnit:
    u = re.sub(r"\s", "", raw).upper()
    for pattern, unit in _XUNITS:
        if re.match(pattern, u):
            if unit is XUnit.WAVENUMBER and technique is Technique.RAMAN:
                return XUnit.RAMAN_SHIFT
            return unit
    # "Wavenumber / cm-1", "cm-1 (micromol/mol)-1m-1 (base 10)"-style free text
    if re.search(r"(^|[^A-Z])(CM-1|1/CM|CM\^-1)", u):
        return XUnit.RAMAN_SHIFT if technique is Technique.RAMAN else XUnit.WAVENUMBER
    return XUnit.OTHER


def _y_unit(raw: str, y: FloatArray) -> YUnit:
    u = re.sub(r"\s", "", raw).upper()
    if u in ("%T", "%TRANSMITTANCE", "PERCENTTRANSMITTANCE", "TRANSMITTANCE(%)"):
        return YUnit.TRANSMITTANCE_PERCENT
    if u.startswith("TRANSMITTANCE") or u == "T":
        frac = float(np.max(y)) <= TRANSMITTANCE_FRACTION_MAX
        return YUnit.TRANSMITTANCE if frac else YUnit.TRANSMITTANCE_PERCENT
    if u.startswith("ABSORBANCE") or u in ("A", "ABS"):
        return YUnit.ABSORBANCE
    if u.startswith("REFLECTANCE") or u == "R":
        return YUnit.REFLECTANCE
    if "KUBELKA" in u:
        return YUnit.KUBELKA_MUNK
    if u in ("COUNTS", "COUNT", "CTS"):
        return YUnit.COUNTS
    if u.startswith("ARBITRARY") or u in (
        "INTENSITY", "RELATIVEABUNDANCE", "RELATIVEINTENSITY", "A.U.", "AU"
    ):
        return YUnit.ARBITRARY
    return YUnit.OTHER


def _technique(block: Block) -> Technique:
    dt_ldr = block.get("DATATYPE")
    dt = dt_ldr.text().upper() if dt_ldr is not None else ""
    if "RAMAN" in dt:
        return Technique.RAMAN
    if "NEAR INFRARED" in dt or "NEAR-INFRARED" in dt or re.search(r"\bNIR\b", dt):
        return Technique.NIR
    if "INFRARED" in dt or re.search(r"\b(FT-?IR|IR)\b", dt):
        sampling = " ".join(
            ldr.text().upper()
            for ldr in block.ldrs
            if ldr.key in ("SAMPLINGPROCEDURE", "DATATYPE") or ldr.key.startswith("$")
            or ldr.key.startswith(".")
        )
        return Technique.FTIR_ATR if re.search(r"\bATR\b", sampling) else Technique.INFRARED
    if "NMR" in dt:
        return Technique.NMR
    if "MASS" in dt:
        return Technique.MASS
    if "UV" in dt or "VIS" in dt:
        return Technique.UV_VIS
    return Technique.OTHER


def _excitation(block: Block) -> float | None:
    for ldr in block.ldrs:
        if "LASERWAVELENGTH" in ldr.key or ldr.key in (".EXCITATIONWAVELENGTH",):
            m = re.search(r"[+-]?\d+\.?\d*(?:[eE][+-]?\d+)?", ldr.text())
            if m is not None:
                v = float(m.group())
                if 100.0 <= v <= 20000.0:
                    return v
    return None


def _acquired_at(block: Block) -> datetime | None:
    ldr = block.get("LONGDATE")
    if ldr is None:
        return None
    m = re.match(
        r"\s*(\d{4})/(\d{2})/(\d{2})[ T]+(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?\s*([+-]\d{4})\s*$",
        ldr.text(),
    )
    if m is None:  # no time-zone: not an unambiguous instant; the raw text stays in extra
        return None
    y, mo, d, h, mi, s, tz = m.groups()
    try:
        return datetime.strptime(f"{y}{mo}{d}{h}{mi}{s}{tz}", "%Y%m%d%H%M%S%z")
    except ValueError:
        return None


def _json_label(block: Block, name: str, path: Path) -> object | None:
    ldr = block.get(normalize_label(f"{_OUR} {name}"))
    if ldr is None:
        return None
    try:
        value = json_loads(ldr.text())
    except ValueError as exc:  # bad JSON, too deep, a number past Python's digit limit
        raise FormatError(f"not valid JSON: {exc}", path=path, line=ldr.line,
                          field=ldr.label) from exc
    return value


def _build(
    block: Block, path: Path, source: str, x: FloatArray, y: FloatArray, *,
    extra: dict[str, str], data_ldr: LDR,
) -> Spectrum:
    ours: dict[str, object | None] = {
        name: _json_label(block, name, path)
        for name in ("TITLE", "TECHNIQUE", "X UNIT", "Y UNIT", "EXCITATION NM",
                     "ACQUISITION", "PROVENANCE")
    }
    technique = _technique(block)
    xunits = block.get("XUNITS")
    yunits = block.get("YUNITS")
    x_unit = _x_unit(xunits.text() if xunits else "", technique)
    y_unit = _y_unit(yunits.text() if yunits else "", y)
    title = block.title.text().split("\n", 1)[0].strip()
    excitation = _excitation(block)
    acquisition: Acquisition | None = None
    provenance: list[ProvenanceStep] = []

    def _ours(name: str, conv: Callable[[object], object]) -> object | None:
        value = ours[name]
        if value is None:
            return None
        ldr = block.get(normalize_label(f"{_OUR} {name}"))
        try:
            return conv(value)
        except (ValueError, TypeError, ValidationError) as exc:
            raise FormatError(
                f"invalid value: {exc}", path=path, line=ldr.line if ldr else None,
                field=ldr.label if ldr else name,
            ) from exc

    if ours["TITLE"] is not None:
        title = str(_ours("TITLE", _as_str))
    if ours["TECHNIQUE"] is not None:
        technique = Technique(str(_ours("TECHNIQUE", lambda v: Technique(_as_str(v)))))
    if ours["X UNIT"] is not None:
        x_unit = XUnit(str(_ours("X UNIT", lambda v: XUnit(_as_str(v)))))
    if ours["Y UNIT"] is not None:
        y_unit = YUnit(str(_ours("Y UNIT", lambda v: YUnit(_as_str(v)))))
    if ours["EXCITATION NM"] is not None:
        excitation = float(str(_ours("EXCITATION NM", _as_float)))
    if ours["ACQUISITION"] is not None:
        got = _ours("ACQUISITION", Acquisition.model_validate)
        assert isinstance(got, Acquisition)
        acquisition = got
    else:
        make = block.get("SPECTROMETERDATASYSTEM")
        when = _acquired_at(block)
        fields: dict[str, object] = {}
        if make is not None and make.text():
            fields["instrument_model"] = make.text()
        if when is not None:
            fields["acquired_at"] = when
        acquisition = Acquisition.model_validate(fields) if fields else None
    if ours["PROVENANCE"] is not None:
        got_p = _ours("PROVENANCE", _as_provenance)
        assert isinstance(got_p, list)
        provenance = got_p
    try:
        return Spectrum(
            x, y, x_unit=x_unit, y_unit=y_unit, technique=technique, excitation_nm=excitation,
            acquisition=acquisition, provenance=provenance, title=title, source=source,
            extra=extra,
        )
    except SpectrumValidationError as exc:
        raise FormatError(
            f"the data do not make a valid spectrum: {exc}", path=path, line=data_ldr.line,
            field=data_ldr.label,
        ) from exc


def _as_str(v: object) -> str:
    if not isinstance(v, str):
        raise TypeError(f"expected a JSON string, got {type(v).__name__}")
    return v


def _as_float(v: object) -> float:
    if not isinstance(v, int | float) or isinstance(v, bool):
        raise TypeError(f"expected a JSON number, got {type(v).__name__}")
    return float(v)


def _as_provenance(v: object) -> list[ProvenanceStep]:
    if not isinstance(v, list):
        raise TypeError(f"expected a JSON list, got {type(v).__name__}")
    return [ProvenanceStep.model_validate(s) for s in v]


# -- writing ----------------------------------------------------------------------------------

_XUNITS_OUT = {
    XUnit.RAMAN_SHIFT: "1/CM",
    XUnit.WAVENUMBER: "1/CM",
    XUnit.WAVELENGTH_NM: "NANOMETERS",
    XUnit.WAVELENGTH_UM: "MICROMETERS",
    XUnit.HZ: "HZ",
    XUnit.PPM: "PPM",
    XUnit.MZ: "M/Z",
    XUnit.SECONDS: "SECONDS",
    XUnit.PIXEL: "PIXELS",
    XUnit.OTHER: "ARBITRARY UNITS",
}
_YUNITS_OUT = {
    YUnit.COUNTS: "COUNTS",
    YUnit.ABSORBANCE: "ABSORBANCE",
    YUnit.TRANSMITTANCE: "TRANSMITTANCE",
    YUnit.TRANSMITTANCE_PERCENT: "TRANSMITTANCE",
    YUnit.REFLECTANCE: "REFLECTANCE",
    YUnit.KUBELKA_MUNK: "KUBELKA-MUNK",
    YUnit.ARBITRARY: "ARBITRARY UNITS",
    YUnit.OTHER: "ARBITRARY UNITS",
}
_DATA_TYPE_OUT = {
    Technique.RAMAN: "RAMAN SPECTRUM",
    Technique.FTIR_ATR: "INFRARED SPECTRUM",
    Technique.FTIR_TRANSMISSION: "INFRARED SPECTRUM",
    Technique.INFRARED: "INFRARED SPECTRUM",
    Technique.NIR: "NEAR INFRARED SPECTRUM",
    Technique.UV_VIS: "UV/VIS SPECTRUM",
    Technique.NMR: "NMR SPECTRUM",
    Technique.MASS: "MASS SPECTRUM",
    Technique.OTHER: "UNKNOWN",
}
_LINE_MAX = 80


def _json(value: object, name: str = "") -> str:
    """Compact JSON on one line, with ``$`` escaped so no ``$$`` comment can appear in it.

    Raises
    ------
    FormatError
        The value has no JSON form (e.g. a NaN provenance parameter), naming the label.
    """
    try:
        text = json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    except (ValueError, TypeError) as exc:
        raise FormatError(f"cannot be written as JSON: {exc}", field=f"{_OUR} {name}") from exc
    return text.replace("$", "\\u0024")


def _one_line(text: str) -> str:
    """``text`` fit for a label's value line: control characters to spaces, no ``$$``."""
    return re.sub(r"[\x00-\x1f\x7f]", " ", text).replace("$$", "$ $")


def dumps(spectrum: Spectrum) -> str:
    """The JCAMP-DX 5.01 text of one spectrum (what :func:`write` writes).

    The data are ``##XYDATA=(X++(Y..Y))`` in AFFN when the axis is exactly what a reader
    computes from ``FIRSTX``, ``LASTX`` and ``NPOINTS``, else ``##XYPOINTS=(XY..XY)``. Every
    number is Python's shortest repr, so it reads back bit for bit. ``$INTERDICT`` labels carry
    what JCAMP-DX has no place for (technique, exact units, acquisition, provenance) as JSON.

    Parameters
    ----------
    spectrum
        The spectrum.

    Returns
    -------
    str

    Raises
    ------
    FormatError
        A metadata value has no JSON form (e.g. a NaN in a provenance parameter).
    """
    s = spectrum
    n = len(s)
    x, y = s.x, s.y
    even = n == 1 or bool(
        np.array_equal(_even_axis(float(x[0]), float(x[-1]), n).view(np.int64), x.view(np.int64))
    )
    out = [
        f"##TITLE={_one_line(s.title) or 'untitled'}",
        "##JCAMP-DX=5.01 $$ written by interdict",
        f"##DATA TYPE={_DATA_TYPE_OUT[s.technique]}",
        f"##DATA CLASS={'XYDATA' if even else 'XYPOINTS'}",
        "##ORIGIN=interdict",
        "##OWNER=",
    ]
    acq = s.acquisition
    if acq.instrument_make or acq.instrument_model:
        system = " ".join(v for v in (acq.instrument_make, acq.instrument_model) if v)
        out.append(f"##SPECTROMETER/DATA SYSTEM={_one_line(system)}")
    if acq.acquired_at is not None:
        out.append(f"##LONG DATE={acq.acquired_at.strftime('%Y/%m/%d %H:%M:%S%z')}")
    if s.excitation_nm is not None:
        out.append(f"##$LASER WAVELENGTH={s.excitation_nm!r}")
    record = s.to_record()  # the spectrum's own JSON values of its fields
    out += [
        f"##{_OUR} TITLE={_json(record['title'])}",
        f"##{_OUR} TECHNIQUE={_json(record['technique'])}",
        f"##{_OUR} X UNIT={_json(record['x_unit'])}",
        f"##{_OUR} Y UNIT={_json(record['y_unit'])}",
    ]
    if s.excitation_nm is not None:
        out.append(f"##{_OUR} EXCITATION NM={_json(record['excitation_nm'])}")
    out.append(f"##{_OUR} ACQUISITION={_json(record['acquisition'], 'ACQUISITION')}")
    out.append(f"##{_OUR} PROVENANCE={_json(record['provenance'], 'PROVENANCE')}")
    if s.extra:
        out.append(f"##{_OUR} EXTRA={_json(record['extra'], 'EXTRA')}")
    out += [
        f"##XUNITS={_XUNITS_OUT[s.x_unit]}",
        f"##YUNITS={_YUNITS_OUT[s.y_unit]}",
        "##XFACTOR=1.0",
        "##YFACTOR=1.0",
        f"##FIRSTX={float(x[0])!r}",
        f"##LASTX={float(x[-1])!r}",
    ]
    if n > 1:
        out.append(f"##DELTAX={(float(x[-1]) - float(x[0])) / (n - 1)!r}")
    out += [
        f"##MAXY={float(np.max(y))!r}",
        f"##MINY={float(np.min(y))!r}",
        f"##NPOINTS={n}",
        f"##FIRSTY={float(y[0])!r}",
    ]
    xs = [repr(v) for v in x.tolist()]
    ys = [repr(v) for v in y.tolist()]
    if even:
        out.append("##XYDATA=(X++(Y..Y))")
        i = 0
        while i < n:
            line = xs[i] + " " + ys[i]
            i += 1
            while i < n and len(line) + 1 + len(ys[i]) <= _LINE_MAX:
                line += " " + ys[i]
                i += 1
            out.append(line)
    else:
        out.append("##XYPOINTS=(XY..XY)")
        out.extend(f"{a}, {b}" for a, b in zip(xs, ys, strict=True))
    out.append("##END=")
    return "\n".join(out) + "\n"


def write(spectrum: Spectrum, path: Path) -> None:
    """Write one spectrum as JCAMP-DX 5.01 (see :func:`dumps`), UTF-8.

    Parameters
    ----------
    spectrum
        The spectrum.
    path
        Where to write; replaced if it exists.

    Raises
    ------
    FormatError
        The file cannot be written, or a metadata value has no JSON form (e.g. a NaN in a
        provenance parameter); then nothing is written.
    """
    p = Path(path)
    try:
        text = dumps(spectrum)
    except FormatError as exc:  # nothing is written then
        raise FormatError(exc.reason, path=p, field=exc.field) from exc
    tmp = p.with_name(p.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8", newline="\n")
        tmp.replace(p)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise FormatError(f"cannot write: {exc.strerror or exc}", path=p) from exc


__all__ = ["EXTENSIONS", "MAX_POINTS", "NAME", "dumps", "read", "sniff", "write"]
