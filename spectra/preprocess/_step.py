"""What every preprocessing step shares: recording itself in the spectrum's provenance."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from pydantic import JsonValue

from .._errors import SpectrumValidationError
from .._model import ProvenanceStep, Spectrum


def _plain(value: object, where: str) -> JsonValue:
    """``value`` as a plain JSON value: NumPy scalars unwrapped, tuples as lists.

    Raises
    ------
    SpectrumValidationError
        For a non-finite number (the content hash is strict JSON) or a non-JSON object;
        ``field`` is the parameter's name.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SpectrumValidationError(f"must be finite, got {value!r}", field=where)
        return value
    if isinstance(value, list | tuple):
        return [_plain(v, where) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v, where) for k, v in value.items()}
    raise SpectrumValidationError(
        f"must be a JSON value (number, text, list...), got {type(value).__name__}",
        field=where,
    )


def record(
    spectrum: Spectrum,
    step: str,
    params: Mapping[str, object],
    *,
    x: ArrayLike | None = None,
    y: ArrayLike | None = None,
    software: str = "interdict",
    **changes: Any,
) -> Spectrum:
    """A new spectrum: ``spectrum`` with new data and ``step(params)`` appended to provenance.

    Every step function returns through here, so no step can forget to record itself, and
    every recorded parameter is plain, finite JSON (NumPy scalars are unwrapped).

    Parameters
    ----------
    spectrum
        The input; not changed.
    step
        The step's name, as :func:`~spectra.preprocess.step_functions` knows it.
    params
        The parameters to record.
    x, y
        New data (default: unchanged).
    software
        What did it (``"interdict"``, ``"pybaselines 1.2.1"``).
    **changes
        Other fields to change (see :meth:`Spectrum.replace`).

    Returns
    -------
    Spectrum
        The new spectrum.

    Raises
    ------
    SpectrumValidationError
        A parameter is not finite JSON; or the new data are invalid.
    """
    clean = {str(k): _plain(v, str(k)) for k, v in params.items()}
    return spectrum.with_step(
        ProvenanceStep(step=step, params=clean, software=software), x=x, y=y, **changes
    )
