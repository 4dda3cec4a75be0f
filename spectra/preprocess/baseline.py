"""Baseline removal through :mod:`pybaselines`.

pybaselines (and SciPy under it) is imported when a baseline is first computed or its
parameters asked for, not when a pipeline naming the step is read: a stored result's
pipeline is validated against the step's signature alone.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np
from pydantic import JsonValue

from .._errors import ParameterWarning, SpectrumValidationError
from .._model import Spectrum
from ._step import record

METHODS: tuple[str, ...] = (
    # Whittaker smoothing with asymmetric weights
    "arpls", "asls", "airpls", "iarpls", "drpls", "aspls", "iasls", "psalsa", "derpsalsa",
    # polynomial
    "imodpoly", "modpoly", "poly", "penalized_poly",
    # morphological and smoothing
    "snip", "rolling_ball", "mor",
)
"""pybaselines methods offered, all called as ``Baseline(x_data=x).<method>(y, **params)``."""

_NOT_PARAMS = frozenset({"data", "weights", "return_coef", "kwargs", "pad_kwargs",
                         "window_kwargs"})
"""Method arguments that are arrays or pass-through dicts: not offered as step params."""


def method_parameters(method: str) -> dict[str, Any]:
    """The keyword parameters pybaselines' ``method`` accepts, with their defaults.

    Raises
    ------
    SpectrumValidationError
        If ``method`` is not one of :data:`METHODS`.
    """
    if method not in METHODS:
        raise SpectrumValidationError(
            f"unknown method {method!r}; offered: {', '.join(METHODS)}", field="method"
        )
    from pybaselines import Baseline

    sig = inspect.signature(getattr(Baseline, method))
    return {
        name: p.default
        for name, p in sig.parameters.items()
        if name != "self" and name not in _NOT_PARAMS
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def baseline(spectrum: Spectrum, *, method: str = "arpls", **method_params: JsonValue) -> Spectrum:
    """Estimate a baseline with pybaselines and subtract it.

    Parameters
    ----------
    spectrum
        The input; not changed.
    method
        One of :data:`METHODS`. Useful ones for handheld spectra:

        * ``"arpls"`` (``lam``, default 1e5): asymmetrically reweighted penalized least
          squares; robust on fluorescence backgrounds. ``lam`` is per point, so it must
          grow with the number of points for the same stiffness (roughly ×16 when the
          point count doubles).
        * ``"asls"`` (``lam``, ``p``): asymmetric least squares.
        * ``"snip"`` (``max_half_window`` in points): iterative clipping; fast and
          parameter-light, set the half-window above the widest band.
        * ``"imodpoly"`` (``poly_order``): improved modified polynomial fit.
    **method_params
        Keyword parameters of that pybaselines method (see :func:`method_parameters`);
        JSON values only.

    Returns
    -------
    Spectrum
        ``y − baseline``. The provenance records the method, the parameters given, and
        ``software = "pybaselines <version>"``.

    Raises
    ------
    SpectrumValidationError
        Unknown method, a parameter that method does not take, or a value pybaselines
        refuses; the error's ``field`` names the parameter or ``method``.

    Warns
    -----
    ParameterWarning
        Whatever pybaselines warns about (e.g. arPLS finding almost every point above its
        baseline), re-issued as :class:`spectra.ParameterWarning` naming the method.

    References
    ----------
    D. Erb, pybaselines: A Python library of algorithms for the baseline correction of
    spectra, https://github.com/derb12/pybaselines.
    """
    accepted = method_parameters(method)
    unknown = sorted(set(method_params) - set(accepted))
    if unknown:
        raise SpectrumValidationError(
            f"{method} takes no parameter {unknown[0]!r}; it takes {', '.join(accepted)}",
            field=unknown[0],
        )
    import pybaselines

    fitter = pybaselines.Baseline(x_data=spectrum.x)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit, _ = getattr(fitter, method)(spectrum.y, **method_params)
    except (TypeError, ValueError, np.linalg.LinAlgError) as exc:
        raise SpectrumValidationError(
            f"pybaselines {method} refused {method_params}: {exc}", field=method
        ) from exc
    for w in caught:  # pybaselines' doubts about the parameters, as our warning class
        warnings.warn(
            f"baseline {method} {method_params}: {w.message}", ParameterWarning, stacklevel=2
        )
    fit = np.asarray(fit, dtype=np.float64)
    if fit.shape != spectrum.y.shape or not np.all(np.isfinite(fit)):
        raise SpectrumValidationError(
            f"pybaselines {method} returned a non-finite baseline for {method_params}",
            field=method,
        )
    params: dict[str, JsonValue] = {"method": method, **method_params}
    return record(
        spectrum, "baseline", params, y=spectrum.y - fit,
        software=f"pybaselines {pybaselines.__version__}",
    )
