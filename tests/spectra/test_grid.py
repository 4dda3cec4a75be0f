"""spectra.grid: the one start/stop/step → axis rule."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spectra import SpectrumValidationError, grid


@given(st.integers(-5000, 5000), st.integers(0, 20000), st.sampled_from([0.5, 1.0, 2.0, 4.0]))
def test_a_whole_number_of_steps_gives_the_points_of_the_old_formula(
        start: int, steps: int, step: float) -> None:
    # the formula the library axes used before there was one helper: round((b-a)/d) + 1
    stop = start + steps * step
    x = grid(float(start), stop, step)
    assert x.size == round((stop - start) / step) + 1
    assert x[0] == start and x[-1] == pytest.approx(stop)


@given(st.floats(-1e4, 1e4), st.floats(0, 1e4), st.floats(1e-3, 1e3))
def test_never_past_stop_and_no_step_missing(start: float, span: float, step: float) -> None:
    stop = start + span
    x = grid(start, stop, step)
    assert x[-1] <= stop + 1e-9 * max(1.0, abs(stop)) and stop - x[-1] < step * (1 + 1e-9)
    assert np.allclose(np.diff(x), step)


def test_the_default_library_axes() -> None:
    from matcher import defaults

    assert defaults.axis_for("raman").size == 1651
    assert defaults.axis_for("ftir-atr").size == 676


@pytest.mark.parametrize(("args", "field"), [
    ((0.0, 10.0, 0.0), "step"), ((0.0, 10.0, -1.0), "step"), ((10.0, 0.0, 1.0), "stop"),
    ((float("nan"), 1.0, 1.0), "start"), ((0.0, 1e9, 1e-3), "step"),
])
def test_bad_ranges_name_the_parameter(args: tuple[float, float, float], field: str) -> None:
    with pytest.raises(SpectrumValidationError) as info:
        grid(*args)
    assert info.value.field == field
