"""Reference values for the vendor readers' tests, loaded from ``formats/vendor/**/reference``.

Two kinds (see ``formats/vendor/SOURCES.txt``): the nirs4all-formats golden summaries
(another open reader's first/last/sum per signal, rounded to 6 decimals) and
wai-spectralio's ``.specref`` dumps (every point as ``d x,y``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

import spectra


def golden(path: Path) -> list[dict[str, Any]]:
    """The records of a nirs4all-formats ``*.summary.json``."""
    records: list[dict[str, Any]] = json.loads(path.read_text())["records"]
    return records


def signal(record: dict[str, Any], name: str) -> dict[str, Any]:
    """The summary of the signal called ``name`` in a golden record."""
    found: dict[str, Any] = next(s for s in record["signals"] if s["name"] == name)
    return found


def specref(path: Path) -> np.ndarray:
    """The ``(n, 2)`` array of x, y points of a wai-spectralio ``.specref``."""
    rows = [line[2:].split(",") for line in path.read_text().splitlines()
            if line.startswith("d ")]
    return np.array(rows, dtype=np.float64)


def in_file_order(s: spectra.Spectrum, fmt: str) -> tuple[np.ndarray, np.ndarray]:
    """x and y in the order the file stores them (readers put decreasing axes upright)."""
    if f"{fmt}.axis" in s.extra:
        return s.x[::-1], s.y[::-1]
    return s.x, s.y


def assert_summary(s: spectra.Spectrum, fmt: str, summary: dict[str, Any]) -> None:
    """Length, axis ends and first/last/sum of the values agree with a golden summary."""
    x, y = in_file_order(s, fmt)
    assert len(s) == summary["axis_len"] == summary["values_len"]
    # the summaries are rounded to 6 decimals
    np.testing.assert_allclose([x[0], x[-1]], [summary["axis_first"], summary["axis_last"]],
                               rtol=0, atol=5.1e-7)
    np.testing.assert_allclose([y[0], y[-1]], [summary["value_first"], summary["value_last"]],
                               rtol=0, atol=5.1e-7)
    np.testing.assert_allclose(float(np.sum(y)), summary["value_sum"], rtol=0, atol=5.1e-7)
