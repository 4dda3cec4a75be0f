"""Auto-exposure's one rule, and the saturated-pixel count read as the int the device sent."""

from __future__ import annotations

import numpy as np
import pytest

from driver.analyzer import saturated_pixels
from driver.capabilities import RAMAN_785
from spectra import ProvenanceStep, Spectrum
from station.workflows.scan import shorter_exposure


@pytest.mark.parametrize(("saturated", "integration", "expected"), [
    (0, 500.0, None),        # nothing saturated: keep the time
    (12, 500.0, 250.0),      # halve it
    (12, 1.5, 1.0),          # not below the device's shortest (1 ms)...
    (12, 1.0, None),         # ...and nothing shorter once there
])
def test_shorter_exposure(saturated: int, integration: float, expected: float | None) -> None:
    assert shorter_exposure(saturated, integration, RAMAN_785) == expected


def test_the_saturated_count_is_the_int_of_the_acquire_step() -> None:
    x = np.arange(10.0)
    acquired = Spectrum(x, x, provenance=[ProvenanceStep(
        step="acquire", params={"saturated_pixels": 37})], extra={"saturated_pixels": "37"})
    assert saturated_pixels(acquired) == 37
    read_from_a_file = Spectrum(x, x, extra={"saturated_pixels": "37"})  # not a device's
    assert saturated_pixels(read_from_a_file) == 0
