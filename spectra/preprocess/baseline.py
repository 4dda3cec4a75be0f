"""Baseline removal (placeholder until the preprocessing work lands)."""

from __future__ import annotations

from typing import Any

from .._model import Spectrum


def baseline(spectrum: Spectrum, **params: Any) -> Spectrum:
    """Not built yet."""
    raise NotImplementedError("baseline: not built yet")
