"""A recorded, JSON-serialisable sequence of preprocessing steps."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from .._errors import SpectrumValidationError, UnitError
from .._model import ProvenanceStep, Spectrum

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
    """One named step and its keyword parameters.

    The name must be a known step, and the parameter names must be ones the step takes
    (checked against its signature when the pipeline is built or loaded, so a typo in a
    JSON config fails at load, not half-way through a batch). Values are checked by the
    step itself when it runs.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    params: dict[str, JsonValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> Self:
        known = step_functions()
        func = known.get(self.name)
        if func is None:
            raise ValueError(
                f"unknown step {self.name!r}; known steps: {', '.join(sorted(known))}"
            )
        sig = inspect.signature(func)
        takes_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
        if not takes_any:
            allowed = [n for n, p in sig.parameters.items() if p.kind is p.KEYWORD_ONLY]
            unknown = sorted(set(self.params) - set(allowed))
            if unknown:
                raise ValueError(
                    f"step {self.name!r} takes no parameter {unknown[0]!r}; "
                    f"it takes {', '.join(allowed) or 'none'}"
                )
        return self


class Pipeline(BaseModel):
    """An ordered list of steps, applied identically to library and query spectra.

    Every step appends itself and its parameters to the output's provenance, so a
    processed spectrum says how it was made.

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
        """Build from ``(name, params)`` pairs.

        Raises
        ------
        pydantic.ValidationError
            Unknown step name, a parameter the step does not take, a non-JSON value.
        """
        return cls(steps=tuple(PipelineStep(name=n, params=p) for n, p in steps))

    @classmethod
    def from_provenance(cls, steps: Sequence[ProvenanceStep]) -> Pipeline:
        """The pipeline that re-runs recorded steps (e.g. the tail of a spectrum's provenance).

        Each step records the parameters it resolved (defaults included), so re-applying
        the result to the same input reproduces the output.

        Raises
        ------
        SpectrumValidationError
            A recorded step is not a pipeline step (``convert_x``, ``merge_segments``...),
            or its record cannot be re-run (a resample onto an uneven axis is recorded by
            hash only).
        """
        out = []
        for i, p in enumerate(steps):
            if "axis_sha256" in p.params:
                raise SpectrumValidationError(
                    f"provenance step {i} ({p.step}) recorded its target axis by hash only; "
                    "it cannot be re-run from the record",
                    field="provenance",
                )
            try:
                out.append(PipelineStep(name=p.step, params=dict(p.params)))
            except ValueError as exc:
                raise SpectrumValidationError(
                    f"provenance step {i} ({p.step}) is not a pipeline step: {exc}",
                    field="provenance",
                ) from exc
        return cls(steps=tuple(out))

    def apply(self, spectrum: Spectrum) -> Spectrum:
        """Run every step in order; each appends itself to the spectrum's provenance.

        Parameters
        ----------
        spectrum
            The input; not changed.

        Returns
        -------
        Spectrum
            The processed spectrum, with one provenance entry per step.

        Raises
        ------
        SpectrumValidationError
            A step refused its parameters or the data; the message starts with the step's
            position and name, and ``field`` is the step's.
        UnitError
            A step needs another unit; same message prefix.
        """
        funcs = step_functions()
        out = spectrum
        for i, st in enumerate(self.steps):
            where = f"step {i} ({st.name})"
            try:
                out = funcs[st.name](out, **st.params)
            except TypeError as exc:
                raise SpectrumValidationError(
                    f"{where}: bad parameters {st.params}: {exc}", field="pipeline"
                ) from exc
            except SpectrumValidationError as exc:
                err = SpectrumValidationError(f"{where}: {exc}")
                err.field = exc.field  # the message already names it
                raise err from exc
            except UnitError as exc:
                raise UnitError(f"{where}: {exc}") from exc
        return out

    def __call__(self, spectrum: Spectrum) -> Spectrum:
        return self.apply(spectrum)
