"""Savitzky-Golay smoothing and derivatives (placeholder until the preprocessing work lands)."""

from __future__ import annotations

from typing import Any

from .._model import Spectrum


def smooth(spectrum: Spectrum, **params: Any) -> Spectrum:
    """Not built yet."""
    raise NotImplementedError("smooth: not built yet")


def derivative(spectrum: Spectrum, **params: Any) -> Spectrum:
    """Not built yet."""
    raise NotImplementedError("derivative: not built yet")
