"""Raw spectra as stored evidence: compressed bytes plus metadata, checked on the way back.

A spectrum is stored as two blobs: its x axis and its intensities, each
``zlib(shuffle8(values as <f8))`` — the eight bytes of each float are split into eight planes
before deflating (sign/exponent planes are nearly constant and the low mantissa planes of
integer detector counts are all zero, so this compresses better *and* faster than plain
deflate). The axis is stored once per distinct axis (keyed by its SHA-256): every spectrum
of one analyzer calibration shares it, which halves the work and the space per scan. The
metadata is the canonical JSON of the spectrum's record (:meth:`spectra.Spectrum.to_record`:
units, technique, excitation, acquisition, provenance, title, source, raw header fields) with
the blob ``codec`` added.

Decoding rebuilds the spectrum and recomputes its ``content_hash``; a mismatch is an
:class:`IntegrityError`, never a silently different spectrum.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spectra import Spectrum, canonical_json

from .errors import IntegrityError

COMPRESSION_LEVEL = 1
"""zlib level: float noise barely compresses past level 1, and level 1 is several times faster."""

CODEC = "zlib-shuffle8/1"
"""Name of the blob layout, recorded in the metadata so a later layout can be told apart."""


def pack_array(values: NDArray[np.float64]) -> bytes:
    """``zlib(shuffle8(values as little-endian float64))``."""
    raw = np.ascontiguousarray(values, dtype="<f8").view(np.uint8).reshape(-1, 8)
    return zlib.compress(raw.T.tobytes(), COMPRESSION_LEVEL)


def unpack_array(blob: bytes, n: int) -> NDArray[np.float64]:
    """Inverse of :func:`pack_array`; raises ``ValueError`` on a wrong size."""
    planes = zlib.decompress(blob)
    if len(planes) != 8 * n:
        raise ValueError(f"blob holds {len(planes)} bytes, expected {8 * n} for {n} points")
    raw = np.frombuffer(planes, dtype=np.uint8).reshape(8, n).T.tobytes()
    return np.frombuffer(raw, dtype="<f8")


def axis_hash(x: NDArray[np.float64]) -> str:
    """SHA-256 (hex) of an axis as little-endian float64 bytes."""
    return hashlib.sha256(np.ascontiguousarray(x, dtype="<f8").tobytes()).hexdigest()


@dataclass(frozen=True, slots=True)
class EncodedSpectrum:
    """What the store writes for one spectrum.

    The axis is packed only on demand (:meth:`pack_axis`): it is usually stored already.
    """

    content_hash: str
    n: int
    meta: str
    axis_hash: str
    x: NDArray[np.float64]
    values: bytes

    def pack_axis(self) -> bytes:
        """The packed x axis, for a store that does not hold ``axis_hash`` yet."""
        return pack_array(self.x)


def encode_spectrum(spectrum: Spectrum) -> EncodedSpectrum:
    """Metadata JSON, packed axis (with its hash) and packed values of a spectrum.

    Parameters
    ----------
    spectrum
        The raw spectrum as measured.

    Returns
    -------
    EncodedSpectrum
        Ready to store; the axis need only be packed and written if ``axis_hash`` is not
        stored yet.
    """
    meta = canonical_json({**spectrum.to_record(), "codec": CODEC})
    return EncodedSpectrum(
        content_hash=spectrum.content_hash, n=int(spectrum.x.size),
        meta=meta,
        axis_hash=axis_hash(spectrum.x), x=spectrum.x, values=pack_array(spectrum.y),
    )


def decode_spectrum(expected_hash: str, meta: str, axis: bytes, values: bytes) -> Spectrum:
    """Rebuild a stored spectrum and check it is the one that was stored.

    Parameters
    ----------
    expected_hash
        The ``content_hash`` recorded with the spectrum.
    meta, axis, values
        As written from :func:`encode_spectrum`.

    Returns
    -------
    Spectrum
        A spectrum whose ``content_hash`` equals ``expected_hash``.

    Raises
    ------
    IntegrityError
        If a blob does not decompress or has the wrong size, the metadata is unreadable, or
        the rebuilt spectrum's hash differs from ``expected_hash``.
    """
    try:
        m = json.loads(meta)
        if m.get("codec") != CODEC:
            raise ValueError(f"unknown blob codec {m.get('codec')!r}")
        n = int(m["n"])
        s = Spectrum.from_record(m, unpack_array(axis, n), unpack_array(values, n))
    except (ValueError, KeyError, TypeError, zlib.error) as exc:
        raise IntegrityError(f"stored spectrum {expected_hash} is unreadable: {exc}") from exc
    if s.content_hash != expected_hash:
        raise IntegrityError(
            f"stored spectrum {expected_hash} decodes to a spectrum with hash "
            f"{s.content_hash}: the stored data were altered"
        )
    return s


__all__ = [
    "CODEC",
    "COMPRESSION_LEVEL",
    "EncodedSpectrum",
    "axis_hash",
    "decode_spectrum",
    "encode_spectrum",
    "pack_array",
    "unpack_array",
]
