"""The spectrum core: the :class:`Spectrum` model, file formats, and preprocessing.

>>> import spectra
>>> s = spectra.Spectrum([100.0, 101.0, 102.0], [1.0, 5.0, 2.0], technique="raman")
>>> len(s), s.x_unit.value
(3, 'raman-shift-cm-1')
"""

from ._errors import (
    AxisReversedWarning,
    FormatError,
    ParameterWarning,
    SpectraError,
    SpectrumValidationError,
    UnitError,
    UnsupportedContentError,
    UnsupportedFormatError,
)
from ._model import HASH_SCHEME, Acquisition, ProvenanceStep, Spectrum, merge_segments
from ._units import Technique, XUnit, YUnit
from .formats import read, sniff, write
from .preprocess import Pipeline, PipelineStep

__all__ = [
    "HASH_SCHEME",
    "Acquisition",
    "AxisReversedWarning",
    "FormatError",
    "ParameterWarning",
    "Pipeline",
    "PipelineStep",
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
    "merge_segments",
    "read",
    "sniff",
    "write",
]
