"""PerkinElmer ``.sp`` spectra ("PEPE2D constant interval DataSet file"), read only.

``PEPE`` and a 40-byte description, then one root block (id 120). A block is an id
(uint16), a size (int32) and a payload; a member's payload starts with a type tag (uint16):
29987 string (uint16 length + text), 29981 two float64, 29979 float64, 29995 uint32, 29974
float64 array (uint32 byte length + values). Blocks 120-125 are containers. The root's
members used here: 35698 first and last x, 35700 x step, 35701 point count, 35703 / 35704
x / y labels, 35708 the values, 35709 the original path, 35713 the name, 35711 the history
(records 121: user, action, date, sample, comment; instrument records 123: model, serial,
firmware; IR details 124: detector 35841, source 35842). See ``docs/formats/perkinelmer.md``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from .._errors import UnsupportedFormatError
from .._model import Spectrum
from .._units import Technique, XUnit, YUnit
from . import _binary

NAME = "perkinelmer"
EXTENSIONS: tuple[str, ...] = (".sp",)

MAGIC = b"PEPE"
_ROOT_AT = 44
_STRING, _PAIR, _REAL, _COUNT, _ARRAY = 29987, 29981, 29979, 29995, 29974
_CONTAINERS = range(120, 126)
_MAX_DEPTH = 16
_X_UNITS = {"cm-1": XUnit.WAVENUMBER, "nm": XUnit.WAVELENGTH_NM, "um": XUnit.WAVELENGTH_UM,
            "µm": XUnit.WAVELENGTH_UM}
_Y_UNITS = {"A": YUnit.ABSORBANCE, "%T": YUnit.TRANSMITTANCE_PERCENT, "%R": YUnit.REFLECTANCE,
            "R": YUnit.REFLECTANCE, "KM": YUnit.KUBELKA_MUNK, "INT": YUnit.ARBITRARY}


def sniff(head: bytes) -> bool:
    """Whether ``head`` starts with ``PEPE`` and the PerkinElmer data set description.

    Parameters
    ----------
    head
        Leading bytes of the file.

    Returns
    -------
    bool
    """
    return head[:4] == MAGIC and b"DataSet" in head[4:_ROOT_AT]


Member = tuple[int, int, int]  # id, payload offset, payload size


def _members(buf: _binary.Bytes, start: int, end: int, where: str) -> list[Member]:
    out: list[Member] = []
    pos = start
    while pos + 6 <= end:
        ident, size = buf.unpack("<Hi", pos, f"{where} member header")
        if size < 0 or pos + 6 + size > end:
            raise buf.error(f"member {ident} of {size} bytes overruns {where}", pos + 2,
                            f"{where} member {ident} size")
        out.append((int(ident), pos + 6, int(size)))
        pos += 6 + size
    return out


def _tag(buf: _binary.Bytes, m: Member) -> int | None:
    return int(buf.one("<H", m[1], f"member {m[0]} tag")) if m[2] >= 2 else None


def _string(buf: _binary.Bytes, m: Member) -> str | None:
    if _tag(buf, m) != _STRING or m[2] < 4:
        return None
    n = int(buf.one("<H", m[1] + 2, f"member {m[0]} length"))
    if 4 + n > m[2]:
        raise buf.error(f"string of {n} bytes overruns member {m[0]}", m[1] + 2,
                        f"member {m[0]} length")
    return buf.text(m[1] + 4, n, f"member {m[0]}")


def _history(buf: _binary.Bytes, start: int, end: int, depth: int,
             found: dict[str, str]) -> None:
    """Walk the history tree; keep the first value of each field the reader maps."""
    if depth > _MAX_DEPTH:
        raise buf.error(f"history nested deeper than {_MAX_DEPTH}", start, "history")
    members = _members(buf, start, end, "history")
    record: dict[int, str] = {}
    for m in members:
        text = _string(buf, m)
        if text is not None:
            record[m[0]] = text
        elif m[0] in _CONTAINERS or (m[2] >= 2 and (_tag(buf, m) or 0) in _CONTAINERS):
            _history(buf, m[1], m[1] + m[2], depth + 1, found)
    if record.get(35699) == "Created as New Dataset":
        found.setdefault("user", record.get(35698, ""))
        found.setdefault("date", record.get(35700, ""))
        found.setdefault("comment", record.get(35702, ""))
    for key, name in ((35837, "model"), (35838, "serial"), (35839, "firmware"),
                      (35841, "detector"), (35842, "source")):
        if record.get(key):
            found.setdefault(name, record[key])


def _date(text: str) -> datetime | None:
    """``mon aug 22 09:12:11 2022 Coordinated Universal Time (GMT+0:00)``; no offset, none."""
    m = re.match(r"\w{3} (\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4}).*\(GMT([+-]\d{1,2})"
                 r":(\d{2})\)", text.strip())
    if m is None:
        return None
    try:
        month = datetime.strptime(m.group(1).title(), "%b").month
        sign = -1 if m.group(7).startswith("-") else 1
        zone = timezone(sign * timedelta(hours=abs(int(m.group(7))), minutes=int(m.group(8))))
        return datetime(int(m.group(6)), month, int(m.group(2)), int(m.group(3)),
                        int(m.group(4)), int(m.group(5)), tzinfo=zone)
    except ValueError:
        return None


def read(path: Path) -> list[Spectrum]:
    """Read the spectrum of a PerkinElmer ``.sp`` file.

    Parameters
    ----------
    path
        The ``.sp`` file.

    Returns
    -------
    list of Spectrum
        One spectrum; x = ``linspace(first, last, n)`` (checked against the stored step).

    Raises
    ------
    UnsupportedFormatError
        Not a PerkinElmer data set file.
    FormatError
        A member overrunning its block, a missing or inconsistent axis or point count, or
        values that do not fit; the byte offset and member are named.
    """
    p = Path(path)
    buf = _binary.Bytes(_binary.load(p, what="PerkinElmer SP"), p)
    if not sniff(buf.data[:_ROOT_AT]):
        raise UnsupportedFormatError("not a PerkinElmer .sp data set: no PEPE magic",
                                     path=p, offset=0, field="magic")
    _root, root_size = buf.unpack("<Hi", _ROOT_AT, "root block")
    if root_size < 0 or _ROOT_AT + 6 + root_size > buf.size:
        raise buf.error(f"root block of {root_size} bytes overruns the file", _ROOT_AT + 2,
                        "root block size")
    members = {m[0]: m for m in reversed(_members(buf, _ROOT_AT + 6, buf.size, "root"))}
    for ident, name in ((35698, "x range"), (35701, "point count"), (35708, "values")):
        if ident not in members:
            raise buf.error(f"no {name} member ({ident})", _ROOT_AT, name)
    xr, npm, vals = members[35698], members[35701], members[35708]
    if _tag(buf, xr) != _PAIR or xr[2] < 18:
        raise buf.error("x range is not two reals", xr[1], "x range")
    first, last = buf.unpack("<dd", xr[1] + 2, "x range")
    if _tag(buf, npm) != _COUNT or npm[2] < 6:
        raise buf.error("point count is not a whole number", npm[1], "point count")
    n = int(buf.one("<I", npm[1] + 2, "point count"))
    if _tag(buf, vals) != _ARRAY or vals[2] < 6:
        raise buf.error("values are not a float64 array", vals[1], "values")
    nbytes = int(buf.one("<I", vals[1] + 2, "values length"))
    if nbytes != 8 * n or 6 + nbytes > vals[2]:
        raise buf.error(f"{nbytes} bytes of values for {n} points in a {vals[2]}-byte member",
                        vals[1] + 2, "values length")
    if n < 1 or not (np.isfinite(first) and np.isfinite(last)):
        raise buf.error(f"{n} points from {first!r} to {last!r}", xr[1], "x range")
    y = buf.floats("<f8", vals[1] + 6, n, "values")
    x = np.linspace(first, last, n) if n > 1 else np.array([first])
    if 35700 in members and n > 1 and _tag(buf, members[35700]) == _REAL:
        step = float(buf.one("<d", members[35700][1] + 2, "x step"))
        if not np.isclose(step, (last - first) / (n - 1), rtol=1e-9, atol=1e-12):
            raise buf.error(f"step {step!r} disagrees with {n} points from {first} to {last}",
                            members[35700][1], "x step")
    labels: dict[int, str] = {
        k: _string(buf, members[k]) or "" for k in (35703, 35704, 35707, 35709, 35713)
        if k in members
    }
    found: dict[str, str] = {}
    if 35711 in members:
        h = members[35711]
        _history(buf, h[1], h[1] + h[2], 0, found)
    x_label, y_label = labels.get(35703, ""), labels.get(35704, "")
    x_unit = _X_UNITS.get(x_label, XUnit.OTHER)
    y_unit = _Y_UNITS.get(y_label, YUnit.OTHER)
    if y_label == "T":
        y_unit = _binary.transmittance_unit(y)
    if x_unit is XUnit.WAVENUMBER:
        technique = Technique.INFRARED if min(first, last) < 3500.0 else Technique.NIR
    elif x_unit is XUnit.WAVELENGTH_NM:
        technique = Technique.NIR if min(first, last) >= 800.0 else Technique.UV_VIS
    else:
        technique = Technique.OTHER
    extra = {"perkinelmer.x_label": x_label, "perkinelmer.y_label": y_label}
    for key, name in ((35707, "kind"), (35709, "original_path")):
        if labels.get(key):
            extra[f"perkinelmer.{name}"] = labels[key]
    for name in ("detector", "source", "comment", "date"):
        if found.get(name):
            extra[f"perkinelmer.{name}"] = found[name]
    return [_binary.spectrum(
        p, x, y, prefix=NAME, field="values", offset=vals[1], x_unit=x_unit, y_unit=y_unit,
        technique=technique,
        acquisition=_binary.acquisition(
            make="PerkinElmer", model=found.get("model"), serial=found.get("serial"),
            firmware=found.get("firmware"), acquired_at=_date(found.get("date", "")),
            operator=found.get("user"),
        ),
        title=labels.get(35713) or p.stem, source=str(p), extra=extra,
    )]


__all__ = ["EXTENSIONS", "MAGIC", "NAME", "read", "sniff"]
