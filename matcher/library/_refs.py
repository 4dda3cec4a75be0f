"""Raw reference spectra stored compressed, and lazily decoded sequences."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar, overload

import numpy as np

from spectra import Spectrum, canonical_json

from ._errors import LibraryFileError

T = TypeVar("T")

_LEN = struct.Struct("<I")


def encode_reference(spectrum: Spectrum) -> bytes:
    """A spectrum as one zlib stream: ``<u4 n_meta> record x<f8 y<f8``.

    The record is the canonical JSON of :meth:`spectra.Spectrum.to_record`.
    """
    mb = canonical_json(spectrum.to_record()).encode("ascii")
    raw = (
        _LEN.pack(len(mb)) + mb
        + spectrum.x.astype("<f8").tobytes() + spectrum.y.astype("<f8").tobytes()
    )
    return zlib.compress(raw, 6)


def decode_reference(blob: bytes, *, expected_hash: str, where: str) -> Spectrum:
    """The spectrum in ``blob``; its content hash must be ``expected_hash``.

    Raises
    ------
    LibraryFileError
        The blob does not decompress, is malformed, or its spectrum is not the one the
        entry names (a corrupted file).
    """
    try:
        raw = zlib.decompress(blob)
        (nm,) = _LEN.unpack_from(raw, 0)
        meta: dict[str, Any] = json.loads(raw[4 : 4 + nm].decode("utf-8"))
        n = int(meta["n"])
        body = raw[4 + nm :]
        if len(body) != 16 * n:
            raise ValueError(f"expected {16 * n} bytes of data, found {len(body)}")
        x = np.frombuffer(body, dtype="<f8", count=n)
        y = np.frombuffer(body, dtype="<f8", count=n, offset=8 * n)
        spec = Spectrum.from_record(meta, x, y)
    except (zlib.error, struct.error, ValueError, KeyError, TypeError) as exc:
        raise LibraryFileError(f"raw reference is corrupt: {exc}", field=where) from exc
    if spec.content_hash != expected_hash:
        raise LibraryFileError(
            f"raw reference does not match its entry (hash {spec.content_hash[:12]}…, "
            f"entry says {expected_hash[:12]}…): the file is corrupt",
            field=where,
        )
    return spec


class LazySeq(Sequence[T]):
    """A read-only sequence whose items are produced on demand by ``get(i)`` and cached."""

    def __init__(self, length: int, get: Callable[[int], T], *, cache: bool = True) -> None:
        self._n = length
        self._get = get
        self._cache: list[T | None] | None = [None] * length if cache else None

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> T: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[T]: ...

    def __getitem__(self, i: int | slice) -> T | Sequence[T]:
        if isinstance(i, slice):
            return tuple(self[j] for j in range(*i.indices(self._n)))
        j = int(i)
        if j < 0:
            j += self._n
        if not 0 <= j < self._n:
            raise IndexError(f"index {i} out of range for {self._n} items")
        if self._cache is None:
            return self._get(j)
        item = self._cache[j]
        if item is None:
            item = self._get(j)
            self._cache[j] = item
        return item

    def __iter__(self) -> Iterator[T]:
        for j in range(self._n):
            yield self[j]

    def __repr__(self) -> str:
        return f"<{self._n} items, decoded on demand>"


def concat(a: Sequence[T], b: Sequence[T]) -> Sequence[T]:
    """``a`` followed by ``b`` without copying either."""
    na = len(a)
    if na == 0:
        return b
    if len(b) == 0:
        return a
    return LazySeq(na + len(b), lambda i: a[i] if i < na else b[i - na], cache=False)


def subset(a: Sequence[T], rows: Sequence[int]) -> Sequence[T]:
    """The items of ``a`` at ``rows`` without copying them."""
    idx = list(rows)
    return LazySeq(len(idx), lambda i: a[idx[i]], cache=False)
