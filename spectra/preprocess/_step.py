"""What every preprocessing step shares: recording itself in the spectrum's provenance."""

from __future__ import annotations

from typing import Any

from numpy.typing import ArrayLike
from pydantic import JsonValue

from .._model import ProvenanceStep, Spectrum


def record(
    spectrum: Spectrum,
    step: str,
    params: dict[str, JsonValue],
    *,
    x: ArrayLike | None = None,
    y: ArrayLike | None = None,
    software: str = "interdict",
    **changes: Any,
) -> Spectrum:
    """A new spectrum: ``spectrum`` with new data and ``step(params)`` appended to provenance.

    Every step function returns through here, so no step can forget to record itself.
    """
    return spectrum.with_step(
        ProvenanceStep(step=step, params=params, software=software), x=x, y=y, **changes
    )
