"""The content hash of a library: what it covers, under each format version's one definition.

Every result records the hash of the library that produced it, and opening a library file
recomputes it from the bytes read before any of them is used. The definition is tied to the
file's format version (the scheme name is itself hashed, so the two never coincide).

**Scheme 2** (``interdict.library/2``, format version 2, what Interdict writes) is a hash
tree, so that its leaves can be hashed on every core::

    E    = SHA-256( e_0 ‖ LF ‖ e_1 ‖ LF ‖ … ‖ e_{N-1} ‖ LF )
    M_k  = SHA-256( matrix bytes [k·B, min((k+1)·B, 4·N·D)) )      k = 0 … ⌈4·N·D / B⌉ − 1
    hash = SHA-256( meta ‖ NUL ‖ axis ‖ E ‖ M_0 ‖ … ‖ M_{K-1} )

**Scheme 1** (``interdict.library/1``, format version 1, still read and verified) is one
stream::

    hash = SHA-256( meta ‖ NUL ‖ axis ‖ e_0 ‖ LF ‖ … ‖ e_{N-1} ‖ LF ‖ matrix bytes )

where ``meta`` is the canonical JSON (:func:`spectra.canonical_json`) of :func:`hash_meta`:
scheme, library id, technique, x unit, pipeline, coverage rule, N, D and, in scheme 2, the
leaf size ``B`` = :data:`LEAF_BYTES`; ``axis`` is the D axis values as little-endian
float64; ``e_i`` is entry i's canonical JSON (which pins its raw reference through
``spectrum_hash``); the matrix bytes are the N × D values as little-endian float32, row
after row; leaf digests enter as their 32 raw bytes. File offsets and the compression of
raw references do not enter.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spectra import Pipeline, Technique, XUnit, canonical_json

from ._errors import LibraryError

SCHEME_V1 = "interdict.library/1"
SCHEME_V2 = "interdict.library/2"
HASH_SCHEME = SCHEME_V2
"""The scheme of every library built or written by this version."""
SCHEMES = {1: SCHEME_V1, 2: SCHEME_V2}
"""The scheme of each file format version."""

LEAF_BYTES = 1 << 23
"""Matrix bytes per leaf of scheme 2 (8 MiB: a 14,000 × 1,800 matrix has 13 leaves)."""
STREAM_CHUNK = 1 << 24
"""Matrix bytes read at a time while scheme 1's single stream hashes the previous chunk."""

Fill = Callable[[int, int], None]
"""``fill(a, b)``: put the matrix bytes ``[a, b)`` into the buffer (e.g. read them from a file)."""


def hash_meta(
    *, scheme: str, library_id: str, technique: Technique, x_unit: XUnit, pipeline: Pipeline,
    min_coverage: float, n: int, d: int,
) -> dict[str, Any]:
    """The metadata that opens a library's content hash under ``scheme``."""
    meta: dict[str, Any] = {
        "scheme": scheme,
        "id": library_id,
        "technique": technique.value,
        "x_unit": x_unit.value,
        "pipeline": pipeline.model_dump(mode="json"),
        "min_coverage": float(min_coverage),
        "n": n,
        "d": d,
    }
    if scheme == SCHEME_V2:
        meta["leaf_bytes"] = LEAF_BYTES
    elif scheme != SCHEME_V1:
        raise LibraryError(f"unknown library hash scheme {scheme!r}")
    return meta


def workers() -> int:
    """Threads that hash leaves: the cores this process may use (at most 8)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        usable = os.cpu_count() or 1
    return max(1, min(8, usable))


def content_hash(
    scheme: str,
    meta: dict[str, Any],
    *,
    axis: NDArray[np.float64],
    lines: Iterable[bytes | memoryview],
    matrix: memoryview,
    fill: Fill | None = None,
) -> str:
    """A library's content hash (hex) under ``scheme`` (see the module docstring).

    Parameters
    ----------
    scheme
        :data:`SCHEME_V1` or :data:`SCHEME_V2`.
    meta
        :func:`hash_meta` of the library, for the same scheme.
    axis
        ``(D,)`` the library axis.
    lines
        Each entry's canonical JSON, in row order.
    matrix
        The matrix as ``4·N·D`` bytes (little-endian float32, C order).
    fill
        When given, each byte range of ``matrix`` is filled by ``fill(a, b)`` just before it
        is hashed, so that reading a file and hashing it overlap, and what is hashed is what
        was read into ``matrix``. Errors raised by ``fill`` propagate.

    Raises
    ------
    LibraryError
        Unknown scheme.
    """
    if meta.get("scheme") != scheme:
        raise LibraryError(f"hash metadata of scheme {meta.get('scheme')!r}, not {scheme!r}")
    h = hashlib.sha256()
    h.update(canonical_json(meta).encode("ascii"))
    h.update(b"\x00")
    h.update(np.asarray(axis, dtype="<f8").tobytes())
    if scheme == SCHEME_V2:
        entries, leaves = _tree(lines, matrix, fill)
        h.update(entries)
        for leaf in leaves:
            h.update(leaf)
    elif scheme == SCHEME_V1:
        for line in lines:
            h.update(line)
            h.update(b"\n")
        _stream(h, matrix, fill)
    else:
        raise LibraryError(f"unknown library hash scheme {scheme!r}")
    return h.hexdigest()


def _spans(size: int, step: int) -> list[tuple[int, int]]:
    return [(a, min(a + step, size)) for a in range(0, size, step)]


def _tree(
    lines: Iterable[bytes | memoryview], matrix: memoryview, fill: Fill | None
) -> tuple[bytes, list[bytes]]:
    """Scheme 2's entries digest and matrix leaf digests; the leaves on :func:`workers`."""

    def leaf(a: int, b: int) -> bytes:
        if fill is not None:
            fill(a, b)
        h = hashlib.sha256()
        h.update(matrix[a:b])  # update() releases the GIL; the constructor would not
        return h.digest()

    spans = _spans(len(matrix), LEAF_BYTES)
    e = hashlib.sha256()
    if len(spans) < 2:  # nothing to share out
        for line in lines:
            e.update(line)
            e.update(b"\n")
        return e.digest(), [leaf(a, b) for a, b in spans]
    with ThreadPoolExecutor(workers(), thread_name_prefix="library-hash") as pool:
        futures = [pool.submit(leaf, a, b) for a, b in spans]
        try:
            for line in lines:  # meanwhile, here: the entries
                e.update(line)
                e.update(b"\n")
            leaves = [f.result() for f in futures]
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
    return e.digest(), leaves


def _stream(h: hashlib._Hash, matrix: memoryview, fill: Fill | None) -> None:
    """Scheme 1's matrix part: one stream; a thread reads chunk k+1 while chunk k is hashed."""
    spans = _spans(len(matrix), STREAM_CHUNK)
    if fill is None or len(spans) < 2:
        for a, b in spans:
            if fill is not None:
                fill(a, b)
            h.update(matrix[a:b])
        return
    with ThreadPoolExecutor(1, thread_name_prefix="library-read") as reader:
        pending: Future[None] = reader.submit(fill, *spans[0])
        for k, (a, b) in enumerate(spans):
            pending.result()
            if k + 1 < len(spans):
                pending = reader.submit(fill, *spans[k + 1])
            h.update(matrix[a:b])


def matrix_bytes(matrix: NDArray[np.float32]) -> memoryview:
    """The matrix as the bytes the hash covers (little-endian float32, C order; no copy when
    it already is)."""
    m = np.ascontiguousarray(matrix, dtype="<f4")
    return m.reshape(-1).data.cast("B")


__all__ = [
    "HASH_SCHEME", "LEAF_BYTES", "SCHEMES", "SCHEME_V1", "SCHEME_V2",
    "content_hash", "hash_meta", "matrix_bytes", "workers",
]
