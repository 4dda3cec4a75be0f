"""Raw spectra as stored evidence: compressed bytes plus metadata, checked on the way back.

The blob is ``zlib(shuffle8(x as <f8 + y as <f8))``: the eight bytes of each float are split
into eight planes before deflating (sign/exponent planes are nearly constant and the low
mantissa planes of integer detector counts are all zero, so this compresses better *and*
faster than plain deflate). The metadata is JSON of every
:class:`spectra.Spectrum` field (units, technique, excitation, acquisition, provenance,
title, source, raw header fields). Decoding rebuilds the spectrum and recomputes its
``content_hash``; a mismatch is an :class:`IntegrityError`, never a silently different
spectrum.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import numpy as np

from spectra import Acquisition, ProvenanceStep, Spectrum

from .errors import IntegrityError

COMPRESSION_LEVEL = 1
"""zlib level: float noise barely compresses past level 1, and level 1 is several times faster."""

CODEC = "zlib-shuffle8/1"
"""Name of the blob layout, recorded in the metadata so a later layout can be told apart."""


def _shuffle(raw: bytes) -> bytes:
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, 8).T.tobytes()


def _unshuffle(planes: bytes) -> bytes:
    return np.frombuffer(planes, dtype=np.uint8).reshape(8, -1).T.tobytes()


def encode_spectrum(spectrum: Spectrum) -> tuple[str, bytes]:
    """Metadata JSON and compressed array bytes of a spectrum.

    Parameters
    ----------
    spectrum
        The raw spectrum as measured.

    Returns
    -------
    meta, blob
        ``meta`` is compact JSON; ``blob`` is zlib of the byte-shuffled x then y as
        little-endian float64.
    """
    meta: dict[str, Any] = {
        "codec": CODEC,
        "n": int(spectrum.x.size),
        "x_unit": spectrum.x_unit.value,
        "y_unit": spectrum.y_unit.value,
        "technique": spectrum.technique.value,
        "excitation_nm": spectrum.excitation_nm,
        "acquisition": spectrum.acquisition.model_dump(mode="json", exclude_none=True),
        "provenance": [p.model_dump(mode="json") for p in spectrum.provenance],
        "title": spectrum.title,
        "source": spectrum.source,
        "extra": dict(spectrum.extra),
    }
    raw = spectrum.x.astype("<f8", copy=False).tobytes() + spectrum.y.astype(
        "<f8", copy=False).tobytes()
    return json.dumps(meta, separators=(",", ":"), allow_nan=False), zlib.compress(
        _shuffle(raw), COMPRESSION_LEVEL)


def decode_spectrum(expected_hash: str, meta: str, blob: bytes) -> Spectrum:
    """Rebuild a stored spectrum and check it is the one that was stored.

    Parameters
    ----------
    expected_hash
        The ``content_hash`` recorded with the blob.
    meta, blob
        As written by :func:`encode_spectrum`.

    Returns
    -------
    Spectrum
        A spectrum whose ``content_hash`` equals ``expected_hash``.

    Raises
    ------
    IntegrityError
        If the blob does not decompress, has the wrong size, the metadata is unreadable, or
        the rebuilt spectrum's hash differs from ``expected_hash``.
    """
    try:
        m = json.loads(meta)
        if m.get("codec") != CODEC:
            raise ValueError(f"unknown blob codec {m.get('codec')!r}")
        raw = zlib.decompress(blob)
        n = int(m["n"])
        if len(raw) != 16 * n:
            raise ValueError(f"blob holds {len(raw)} bytes, expected {16 * n} for {n} points")
        arr = np.frombuffer(_unshuffle(raw), dtype="<f8")
        s = Spectrum(
            arr[:n], arr[n:],
            x_unit=m["x_unit"], y_unit=m["y_unit"], technique=m["technique"],
            excitation_nm=m["excitation_nm"],
            acquisition=Acquisition.model_validate(m["acquisition"]),
            provenance=[ProvenanceStep.model_validate(p) for p in m["provenance"]],
            title=m["title"], source=m["source"], extra=m["extra"],
        )
    except (ValueError, KeyError, TypeError, zlib.error) as exc:
        raise IntegrityError(f"stored spectrum {expected_hash} is unreadable: {exc}") from exc
    if s.content_hash != expected_hash:
        raise IntegrityError(
            f"stored spectrum {expected_hash} decodes to a spectrum with hash "
            f"{s.content_hash}: the stored data were altered"
        )
    return s


__all__ = ["CODEC", "COMPRESSION_LEVEL", "decode_spectrum", "encode_spectrum"]
