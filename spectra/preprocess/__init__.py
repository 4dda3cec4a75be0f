"""Preprocessing steps and the :class:`Pipeline` that records them.

Every step has one shape: ``step(spectrum, **params) -> Spectrum``; the returned spectrum
carries the step and its parameters appended to its provenance; the input is never changed.
"""

from ._pipeline import Pipeline, PipelineStep, step_functions
from ._step import record
from .baseline import baseline
from .crop import crop
from .despike import despike
from .normalize import normalize
from .resample import resample
from .smooth import derivative, smooth

__all__ = [
    "Pipeline",
    "PipelineStep",
    "baseline",
    "crop",
    "derivative",
    "despike",
    "normalize",
    "record",
    "resample",
    "smooth",
    "step_functions",
]
