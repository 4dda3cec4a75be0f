"""The embedding network in NumPy: a versioned model file, its loader, a deterministic forward.

The file (``.npz``, no pickles) holds one small 1-D CNN per technique and a JSON header::

    meta                    uint8 array: UTF-8 JSON, {"format": "interdict-embedding",
                            "version": 1, "models": {"raman": {...}, "infrared": {...}}}
    raman/conv0/weight      (C_out, C_in, K) float32
    raman/conv0/bias        (C_out,) float32
    ...                     one conv block per entry of "convs"
    raman/fc/weight         (E, C_last · L_last) float32
    raman/fc/bias           (E,) float32

Each model's header entry gives the library axis it was trained on (``axis``: start, stop,
step; the vectors it embeds are :meth:`matcher.library.Library.prepare` output on exactly
that axis), the ranking representation applied first (:class:`matcher.representation.
Representation` parameters), the input scale and the conv blocks. A block is ``conv (same
padding) → ReLU → max-pool 2``; after the last block the features are flattened (channel
major, as ``torch.flatten`` does), projected by ``fc``, mean-centred and scaled to unit norm,
so the dot product of two embeddings is their Pearson correlation.

Everything runs in float32 with NumPy; the same input gives the bit-identical embedding on
every call. The file's sha256 is :attr:`EmbeddingModel.sha256`; every result that used the
model records it (:attr:`matcher.results.Identification.model_hash`).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray

from spectra import grid

from ..errors import MatcherError, MatcherInputError, UnknownNameError
from ..representation import Representation

F32 = NDArray[np.float32]

FORMAT = "interdict-embedding"
VERSION = 1
MAX_BYTES = 20 << 20
"""A model file larger than this is refused (the shipped one is well below)."""
DEFAULT_MODEL = "embedding-v1.npz"
"""The shipped model, package data of :mod:`matcher.learned`."""
_BATCH = 32


class ModelFileError(MatcherError, ValueError):
    """A model file is missing, malformed, of another format version, or inconsistent.

    The message names the file and the part at fault.
    """


@dataclass(frozen=True)
class _Block:
    weight: F32  # (C_out, C_in, K)
    bias: F32  # (C_out,)


class TechniqueModel:
    """The embedding network of one technique (built by :func:`load_model`).

    Attributes
    ----------
    technique
        ``"raman"`` or ``"infrared"``.
    axis
        The library axis (start, stop, step) whose vectors it embeds.
    representation
        Applied to the vectors before the network.
    dim
        Embedding length.
    """

    def __init__(self, technique: str, header: dict[str, Any], blocks: list[_Block],
                 fc_weight: F32, fc_bias: F32, *, where: str) -> None:
        self.technique = technique
        try:
            start, stop, step = (float(v) for v in header["axis"])
            self.axis = (start, stop, step)
            self.points = int(grid(start, stop, step).size)
            self.representation = Representation(**header["representation"])
            self.input_scale = np.float32(header["input_scale"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{where}: models.{technique}: bad header: {exc}") from exc
        length, channels = self.points, 1
        for i, b in enumerate(blocks):
            if b.weight.ndim != 3 or b.weight.shape[1] != channels or b.weight.shape[2] % 2 != 1:
                raise ModelFileError(
                    f"{where}: {technique}/conv{i}/weight: shape {b.weight.shape} does not "
                    f"take {channels} channel(s) with an odd kernel")
            if b.bias.shape != (b.weight.shape[0],):
                raise ModelFileError(f"{where}: {technique}/conv{i}/bias: shape {b.bias.shape}")
            channels, length = b.weight.shape[0], length // 2
        if fc_weight.ndim != 2 or fc_weight.shape[1] != channels * length:
            raise ModelFileError(
                f"{where}: {technique}/fc/weight: shape {fc_weight.shape}, expected "
                f"(E, {channels * length}) for a {self.points}-point axis")
        if fc_bias.shape != (fc_weight.shape[0],):
            raise ModelFileError(f"{where}: {technique}/fc/bias: shape {fc_bias.shape}")
        # im2col weights (C_in·K, C_out), rows in the (channel, tap) order of the windows;
        # fc columns from torch's channel-major flatten (c·L + l) to channel-last (l·C + c)
        self._convs = [(np.ascontiguousarray(b.weight.reshape(b.weight.shape[0], -1).T),
                        b.bias, int(b.weight.shape[2])) for b in blocks]
        fc = fc_weight.reshape(-1, channels, length).transpose(0, 2, 1).reshape(
            fc_weight.shape[0], -1)
        self._fc_t = np.ascontiguousarray(fc.T)  # (L·C, E)
        self._fc_b = fc_bias
        self.dim = int(fc_weight.shape[0])

    def _forward(self, x: F32) -> F32:
        """``(n, D)`` representation vectors -> ``(n, E)`` unit embeddings.

        Channel-last inside; each block is one BLAS product of the windows (im2col,
        ``(n·L, C_in·K)``) with the weights (``(C_in·K, C_out)``). Called on a few rows at a
        time (:data:`_BATCH`) so the activations stay in cache.
        """
        n = x.shape[0]
        h = (x * self.input_scale)[:, :, None]  # (n, D, 1)
        for w, bias, k in self._convs:
            p = k // 2
            length, cin = h.shape[1], h.shape[2]
            padded = np.zeros((n, length + 2 * p, cin), dtype=np.float32)
            padded[:, p : p + length] = h
            win = sliding_window_view(padded, k, axis=1)  # (n, L, C_in, K), a view
            out = win.reshape(n * length, cin * k) @ w  # (n·L, C_in·K) @ (C_in·K, C_out)
            out += bias
            np.maximum(out, np.float32(0.0), out=out)
            half = length // 2
            h = out.reshape(n, length, -1)[:, : 2 * half].reshape(n, half, 2, -1).max(axis=2)
        e = h.reshape(n, -1) @ self._fc_t + self._fc_b  # (n, L·C) @ (L·C, E) -> (n, E)
        e = e - e.mean(axis=1, keepdims=True)
        norm = np.linalg.norm(e, axis=1, keepdims=True)
        unit: F32 = (e / np.where(norm > 0, norm, np.float32(1.0))).astype(np.float32,
                                                                             copy=False)
        return unit

    def embed(self, vectors: ArrayLike) -> F32:
        """Embed prepared vectors (library rows, or a prepared query).

        Parameters
        ----------
        vectors : (n, D) or (D,) array
            :meth:`matcher.library.Library.prepare` output on :attr:`axis`.

        Returns
        -------
        (n, E) or (E,) float32 array
            Unit-norm, zero-mean embeddings; an all-zero input gives the embedding of
            nothing (still finite).

        Raises
        ------
        ValueError
            The vectors do not have :attr:`points` points, or are not finite.
        """
        a = np.asarray(vectors, dtype=np.float32)
        one = a.ndim == 1
        m = np.atleast_2d(a)
        if m.ndim != 2 or m.shape[1] != self.points:
            raise MatcherInputError(f"embedding ({self.technique}): expected vectors of "
                             f"{self.points} points, got shape {a.shape}")
        if not np.all(np.isfinite(m)):
            raise MatcherInputError(f"embedding ({self.technique}): non-finite values")
        out = np.empty((m.shape[0], self.dim), dtype=np.float32)
        for s in range(0, m.shape[0], _BATCH):
            out[s : s + _BATCH] = self._forward(self.representation.transform(m[s : s + _BATCH]))
        return out[0] if one else out


class EmbeddingModel:
    """A loaded model file: one :class:`TechniqueModel` per technique, and the file's hash.

    Attributes
    ----------
    sha256
        Hex digest of the file's bytes (recorded in every result that used it).
    name
        ``embedding-v<version>``.
    source
        Where it was read from.
    """

    def __init__(self, models: dict[str, TechniqueModel], sha256: str, version: int,
                 source: str) -> None:
        self._models = models
        self.sha256 = sha256
        self.version = version
        self.name = f"embedding-v{version}"
        self.source = source

    @property
    def techniques(self) -> tuple[str, ...]:
        """The techniques this file has a network for."""
        return tuple(self._models)

    def for_technique(self, technique: str) -> TechniqueModel:
        """The network of a technique (``"raman"``; any infrared technique -> ``"infrared"``).

        Raises
        ------
        KeyError
            The file has no network for it.
        """
        key = "raman" if technique == "raman" else "infrared"
        if key not in self._models:
            raise UnknownNameError(f"model {self.source} has no {technique} network "
                           f"(it has {', '.join(self._models) or 'none'})")
        return self._models[key]


def reference_inputs(points: int) -> F32:
    """Two fixed prepared-like vectors of ``points`` points (Gaussian bands at fixed places).

    The training script records the torch embeddings of these next to the model
    (``reference_embeddings`` in its JSON record); the tests check the NumPy forward
    against them, so an export or forward that drifts from the trained network is caught.
    """
    t = np.arange(points, dtype=np.float64)
    out = np.zeros((2, points))
    for j, centres in enumerate(((0.2, 0.45, 0.7), (0.1, 0.5, 0.52, 0.9))):
        for i, c in enumerate(centres):
            out[j] += (1.0 / (i + 1)) * np.exp(-0.5 * ((t - c * points) / 4.0) ** 2)
    unit: F32 = (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)
    return unit


def _read(path: Path | None) -> tuple[bytes, str]:
    if path is None:
        ref = resources.files(__package__).joinpath(DEFAULT_MODEL)
        return ref.read_bytes(), f"matcher.learned/{DEFAULT_MODEL}"
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ModelFileError(f"{path}: {size} bytes, larger than the {MAX_BYTES} allowed")
        return path.read_bytes(), str(path)
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read the model file: {exc.strerror}") from exc


def load_model(path: str | Path | None = None) -> EmbeddingModel:
    """Load a model file (default: the shipped :data:`DEFAULT_MODEL`).

    Raises
    ------
    ModelFileError
        Unreadable, too large, not an ``.npz`` of this format and version, or with arrays
        that do not fit the header.
    """
    data, where = _read(None if path is None else Path(path))
    if len(data) > MAX_BYTES:
        raise ModelFileError(f"{where}: {len(data)} bytes, larger than the {MAX_BYTES} allowed")
    digest = hashlib.sha256(data).hexdigest()
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ModelFileError(f"{where}: not a model file (.npz): {exc}") from exc
    if "meta" not in arrays:
        raise ModelFileError(f"{where}: no 'meta' header")
    try:
        meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{where}: meta: not UTF-8 JSON: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{where}: meta.format: expected {FORMAT!r}, "
                             f"got {meta.get('format') if isinstance(meta, dict) else meta!r}")
    if meta.get("version") != VERSION:
        raise ModelFileError(f"{where}: meta.version: {meta.get('version')!r}; this reader "
                             f"reads version {VERSION} only")
    headers = meta.get("models")
    if not isinstance(headers, dict) or not headers:
        raise ModelFileError(f"{where}: meta.models: no network")

    def arr(key: str) -> F32:
        if key not in arrays:
            raise ModelFileError(f"{where}: missing array {key!r}")
        a = arrays.pop(key)
        if a.dtype != np.float32 or not np.all(np.isfinite(a)):
            raise ModelFileError(f"{where}: {key}: expected finite float32, got {a.dtype}")
        a.flags.writeable = False
        out: F32 = a
        return out

    models: dict[str, TechniqueModel] = {}
    for tech, header in headers.items():
        if tech not in ("raman", "infrared") or not isinstance(header, dict):
            raise ModelFileError(f"{where}: meta.models.{tech}: unknown technique or header")
        n = header.get("convs")
        if not isinstance(n, int) or n < 1:
            raise ModelFileError(f"{where}: meta.models.{tech}.convs: expected a count ≥ 1")
        blocks = [_Block(arr(f"{tech}/conv{i}/weight"), arr(f"{tech}/conv{i}/bias"))
                  for i in range(n)]
        models[tech] = TechniqueModel(tech, header, blocks, arr(f"{tech}/fc/weight"),
                                      arr(f"{tech}/fc/bias"), where=where)
    if arrays:
        raise ModelFileError(f"{where}: arrays not in the header: {', '.join(sorted(arrays))}")
    return EmbeddingModel(models, digest, VERSION, where)


def save_model(path: str | Path, headers: dict[str, dict[str, Any]],
               arrays: dict[str, NDArray[np.float32]]) -> str:
    """Write a model file (for the training script); returns its sha256.

    The arrays are written in sorted order with fixed zip timestamps, so the same weights
    give the same bytes (and hash).
    """
    meta = json.dumps({"format": FORMAT, "version": VERSION, "models": headers},
                      sort_keys=True).encode("utf-8")
    items = {"meta": np.frombuffer(meta, dtype=np.uint8), **arrays}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(items):
            one = io.BytesIO()
            np.lib.format.write_array(one, np.ascontiguousarray(items[key]),
                                      allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, one.getvalue())
    data = buf.getvalue()
    Path(path).write_bytes(data)
    return hashlib.sha256(data).hexdigest()
