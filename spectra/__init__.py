"""The spectrum core: the :class:`Spectrum` model, file formats, and preprocessing.

>>> import spectra
>>> s = spectra.Spectrum([100.0, 101.0, 102.0], [1.0, 5.0, 2.0], technique="raman")
>>> len(s), s.x_unit.value
(3, 'raman-shift-cm-1')

File formats (:func:`read`, :func:`write`, :func:`sniff`) and the preprocessing
:class:`Pipeline` are loaded on first use: a program that only handles the model (the
evidence store listing parcels) does not load the readers or SciPy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._canonical import canonical_json
from ._errors import (
    AxisReversedWarning,
    FormatError,
    ParameterWarning,
    SpectraError,
    SpectrumValidationError,
    UnitError,
    UnsupportedContentError,
    UnsupportedFormatError,
    where_in_file,
)
from ._grid import grid
from ._model import HASH_SCHEME, Acquisition, ProvenanceStep, Spectrum, merge_segments
from ._progress import Progress
from ._units import Technique, XUnit, YUnit

if TYPE_CHECKING:
    from .formats import read, sniff, write
    from .preprocess import Pipeline, PipelineStep

_LAZY = {"read": "formats", "sniff": "formats", "write": "formats",
         "Pipeline": "preprocess", "PipelineStep": "preprocess"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'spectra' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # looked up once
    return value


__all__ = [
    "HASH_SCHEME",
    "Acquisition",
    "AxisReversedWarning",
    "FormatError",
    "ParameterWarning",
    "Pipeline",
    "PipelineStep",
    "Progress",
    "ProvenanceStep",
    "SpectraError",
    "Spectrum",
    "SpectrumValidationError",
    "Technique",
    "UnitError",
    "UnsupportedContentError",
    "UnsupportedFormatError",
    "XUnit",
    "YUnit",
    "canonical_json",
    "grid",
    "merge_segments",
    "read",
    "sniff",
    "where_in_file",
    "write",
]
