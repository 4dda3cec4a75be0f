"""A recorded, JSON-serialisable sequence of preprocessing steps."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from .._errors import SpectrumValidationError
from .._model import Spectrum

StepFunction = Callable[..., Spectrum]


def step_functions() -> Mapping[str, StepFunction]:
    """The steps a :class:`Pipeline` can name, by name. Built on each call: no global state."""
    from .baseline import baseline
    from .crop import crop
    from .despike import despike
    from .normalize import normalize
    from .resample import resample
    from .smooth import derivative, smooth

    return {
        "crop": crop,
        "resample": resample,
        "despike": despike,
        "baseline": baseline,
        "smooth": smooth,
        "derivative": derivative,
        "normalize": normalize,
    }


class PipelineStep(BaseModel):
    """One named step and its keyword parameters."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    params: dict[str, JsonValue] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        known = step_functions()
        if v not in known:
            raise ValueError(f"unknown step {v!r}; known steps: {', '.join(sorted(known))}")
        return v


class Pipeline(BaseModel):
    """An ordered list of steps, applied identically to library and query spectra.

    Examples
    --------
    >>> p = Pipeline.of(("crop", {"x_min": 200, "x_max": 1800}), ("normalize", {}))
    >>> Pipeline.model_validate_json(p.model_dump_json()) == p
    True
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    steps: tuple[PipelineStep, ...] = ()

    @classmethod
    def of(cls, *steps: tuple[str, dict[str, Any]]) -> Pipeline:
        """Build from ``(name, params)`` pairs."""
        return cls(steps=tuple(PipelineStep(name=n, params=p) for n, p in steps))

    def apply(self, spectrum: Spectrum) -> Spectrum:
        """Run every step in order; each appends itself to the spectrum's provenance.

        Raises
        ------
        SpectrumValidationError
            From a step, with the step's position and name added to the message.
        """
        funcs = step_functions()
        out = spectrum
        for i, st in enumerate(self.steps):
            try:
                out = funcs[st.name](out, **st.params)
            except TypeError as exc:
                raise SpectrumValidationError(
                    f"step {i} ({st.name}): bad parameters {st.params}: {exc}", field="pipeline"
                ) from exc
        return out

    def __call__(self, spectrum: Spectrum) -> Spectrum:
        return self.apply(spectrum)
