"""WiRE property sets (``PSET``) inside WDF blocks: a bounded walk to named scalar values.

A property set is ``PSET``, its size (uint32), then items: type (1 byte: ``?`` bool,
``c`` char, ``s`` int16, ``i`` int32, ``w`` int64, ``r`` float32, ``q`` float64, ``t``
FILETIME, ``u`` string, ``k`` key name, ``b`` binary, ``p`` nested set), flags (1 byte:
0x80 array, 0x40 compressed), key (uint16; 0x8000 marks a key named by a ``k`` item of
this set or a parent), then the value (strings, binaries and nested sets are prefixed by
their length). Only what the reader maps is kept: scalars under custom key names, found
by their path. Compressed strings are not inflated (no decompression bomb), nesting is
limited, and every length is checked against its enclosing set.
"""

from __future__ import annotations

import struct

from . import _binary

_SCALARS = {"?": "<?", "c": "<c", "s": "<h", "i": "<i", "w": "<q", "r": "<f", "q": "<d",
            "t": "<Q"}
_CUSTOM = 0x8000
_ARRAY, _COMPRESSED = 0x80, 0x40
_MAX_DEPTH = 12
_PREDEFINED = {
    403: "Properties", 430: "Operator", 431: "Time", 1011: "NamedItems", 1016: "BeamPath",
    1019: "Laser", 1020: "Camera", 1021: "Instrument", 1022: "Objective magnification",
    1023: "Objective name",
}
"""The WiRE predefined key numbers the reader looks up (others are named ``#<key>``)."""


def walk(buf: _binary.Bytes, start: int, size: int) -> dict[str, str]:
    """``path -> value`` (as text) of the scalar items of the PSET at ``start``.

    Paths join custom key names with ``/`` (``Serial Numbers/Instrument``); items under a
    predefined (uncustomised) key are named ``#<key>``. Arrays are skipped.

    Raises
    ------
    FormatError
        A length runs past its enclosing set, naming the byte offset.
    """
    if size < 8 or buf.raw(start, 4, "PSET magic") != b"PSET":
        return {}
    length = int(buf.one("<I", start + 4, "PSET size"))
    end = start + 8 + length
    if length > size - 8:
        raise buf.error(f"property set of {length} bytes overruns its {size}-byte block",
                        start + 4, "PSET size")
    out: dict[str, str] = {}
    _items(buf, start + 8, end, path=(), names=[{}], out=out, depth=0)
    return out


def _items(
    buf: _binary.Bytes, pos: int, end: int, *, path: tuple[str, ...],
    names: list[dict[int, str]], out: dict[str, str], depth: int,
) -> None:
    if depth > _MAX_DEPTH:
        raise buf.error(f"property sets nested deeper than {_MAX_DEPTH}", pos, "PSET")
    own: dict[int, str] = {}
    scope = [*names, own]
    pending: list[tuple[int, str, object]] = []  # resolved once all key names are known
    while pos < end:
        if pos + 4 > end:
            raise buf.error("truncated property item", pos, "PSET item")
        kind = chr(buf.data[pos])
        flags = buf.data[pos + 1]
        (key,) = struct.unpack_from("<H", buf.data, pos + 2)
        pos += 4
        count = 1
        if flags & _ARRAY:
            count = int(buf.one("<I", pos, "PSET array count"))
            pos += 4
        if kind in _SCALARS:
            width = struct.calcsize(_SCALARS[kind])
            if count > (end - pos) // width:
                raise buf.error(f"property array of {count} item(s) overruns its set", pos,
                                "PSET item")
            if count == 1:
                pending.append((key, kind, buf.one(_SCALARS[kind], pos, "PSET value")))
            pos += width * count
        elif kind in "ukbp":
            n = int(buf.one("<I", pos, "PSET length"))
            pos += 4
            if n > end - pos:
                raise buf.error(f"property value of {n} bytes overruns its set", pos - 4,
                                "PSET length")
            raw = buf.data[pos : pos + n]
            if kind == "k":
                own[key] = raw.decode("utf-8", errors="replace")
            elif kind == "u" and not flags & _COMPRESSED:
                pending.append((key, kind, raw.decode("utf-8", errors="replace")))
            elif kind == "p":
                pending.append((key, kind, (pos, pos + n)))
            pos += n
        else:
            raise buf.error(f"unknown property type {kind!r}", pos - 4, "PSET item type")
    for key, kind, value in pending:
        name = _name(key, scope)
        if kind == "p":
            assert isinstance(value, tuple)  # (start, end) of the nested set, set above
            _items(buf, value[0], value[1], path=(*path, name), names=scope, out=out,
                   depth=depth + 1)
        else:
            out["/".join((*path, name))] = str(value.decode("latin-1") if isinstance(
                value, bytes) else value)


def _name(key: int, scope: list[dict[int, str]]) -> str:
    if key & _CUSTOM:
        for names in reversed(scope):
            if key in names:
                return names[key]
    return _PREDEFINED.get(key, f"#{key}")


__all__ = ["walk"]
