"""Preprocessing on real instrument spectra from ``../shared/data`` (skipped when absent).

* CHARISMA round-robin: polystyrene and calcite on BWTek i-Raman (532/785 nm) and Horiba
  (633/785 nm) instruments, raw exports with their own backgrounds, noise and spikes.
* A paracetamol tablet on a Renishaw InVia (step-scan, merged with merge_segments).
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import find_peaks

from spectra import ParameterWarning, Spectrum, merge_segments
from spectra.preprocess import crop, despike, resample, smooth

from .test_preprocess_pipeline import arpls_raman

CHARISMA = "raman/charisma_multi_instrument"
# strong Raman bands of each material (cm⁻¹)
KNOWN_BANDS = {
    "PST": [620.9, 1001.4, 1031.8, 1602.3, 3054.3],
    "nCAL": [281.0, 712.0, 1086.0],
    "sCAL": [281.0, 712.0, 1086.0],
}
# reference values from the paracetamol (form I) literature
PARACETAMOL = [651.0, 797.0, 857.0, 1168.0, 1236.0, 1324.0, 1561.0, 1609.0, 1648.0]


def charisma(shared: Path) -> list[tuple[dict[str, str], Spectrum]]:
    base = shared / CHARISMA
    z = np.load(base / "charisma_multi_instrument.npz", allow_pickle=False)
    xs, ys, off = z["raman_shift"], z["intensity"], z["offsets"]
    out = []
    with (base / "charisma_multi_instrument_metadata.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["sample"] not in KNOWN_BANDS:
                continue
            i = int(row["index"])
            x = xs[off[i] : off[i + 1]].astype(np.float64)
            y = ys[off[i] : off[i + 1]].astype(np.float64)
            out.append((row, Spectrum(x, y, technique="raman", source=row["source_file"])))
    return out


@pytest.fixture(scope="module")
def real_raman(shared_data: Path) -> list[tuple[dict[str, str], Spectrum]]:
    spectra = charisma(shared_data)
    assert len(spectra) >= 20, "expected the CHARISMA polystyrene and calcite spectra"
    return spectra


def test_despike_leaves_real_bands_untouched(real_raman) -> None:
    for row, s in real_raman:
        out = despike(s)
        changed = out.y != s.y
        assert changed.mean() < 0.005, f"{row['source_file']}: {changed.sum()} points changed"
        for band in KNOWN_BANDS[row["sample"]]:
            near = np.abs(s.x - band) < 15.0
            assert not np.any(changed[near]), f"{row['source_file']}: band {band} touched"


def onto_grid(s: Spectrum) -> Spectrum:
    """Resample onto the integer-cm⁻¹ grid inside 200-3200 (averaging the finer exports)."""
    lo, hi = max(200.0, np.ceil(s.x[0])), min(3200.0, np.floor(s.x[-1]))
    return resample(s, start=lo, stop=hi, step=1.0)


def top_bands(s: Spectrum, k: int) -> np.ndarray:
    peaks, _ = find_peaks(s.y, prominence=0.02)
    return s.x[peaks[np.argsort(s.y[peaks])[::-1][:k]]]


def test_default_pipeline_finds_the_main_bands_on_every_instrument(real_raman) -> None:
    """Polystyrene's 1001 cm⁻¹ band comes out strongest everywhere; calcite's 1086 and 282
    are its two strongest, in an order that depends on the instrument's (uncorrected)
    spectral response, so both must be among the top three."""
    devices = set()
    for row, s in real_raman:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # on a uniform grid nothing may warn
            out = arpls_raman().apply(onto_grid(s))
        top = top_bands(out, 3)
        wanted = [1001.4] if row["sample"] == "PST" else [282.0, 1086.0]
        found = top[:1] if row["sample"] == "PST" else top
        for band in wanted:
            # 8 cm⁻¹: the round robin's instruments differ in calibration by that much
            assert np.min(np.abs(found - band)) < 8.0, (row["source_file"], band, top)
        assert np.linalg.norm(out.y) == pytest.approx(1.0)
        devices.add((row["device"], row["laser_nm"]))
    assert len(devices) >= 3


def test_smoothing_warns_on_stitched_axes_only(real_raman) -> None:
    """BWTek i-Raman axes (one detector, smooth calibration) do not warn; Horiba exports
    stitched from several grating windows jump in spacing where windows meet, and do."""
    seen = {"BWtek": 0, "Horiba": 0}
    for row, s in real_raman:
        part = crop(s, x_min=200.0, x_max=3200.0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            smooth(part)
        warned = any(issubclass(w.category, ParameterWarning) for w in caught)
        if row["device"] == "BWtek":
            assert not warned, row["source_file"]
            seen["BWtek"] += 1
        elif len(s) > 1100:  # the multi-window Horiba exports
            assert warned, row["source_file"]
            seen["Horiba"] += 1
    assert min(seen.values()) >= 3


def test_paracetamol_tablet_bands_after_merge_and_default_pipeline(shared_data: Path) -> None:
    path = shared_data / "raman/single_spectra/paracetamol_tablet_Renishaw_InVia_hyperSpec.txt"
    data = np.loadtxt(path)
    s = merge_segments(data[:, 0], data[:, 1], technique="raman", source=str(path))
    with pytest.warns(ParameterWarning, match="spacing varies"):  # merged windows
        out = arpls_raman().apply(crop(s, x_min=200.0, x_max=3200.0))
    top = top_bands(out, 8)
    found = [b for b in PARACETAMOL if np.min(np.abs(top - b)) < 8.0]
    assert len(found) >= 6, f"top bands {np.round(top)} match only {found}"
    assert [p.step for p in out.provenance] == [
        "merge_segments", "crop", "despike", "baseline", "smooth", "normalize",
    ]


def test_despike_barely_touches_the_rruff_library(shared_data: Path) -> None:
    """5,471 RRUFF mineral spectra (1 cm⁻¹ grid): despiking changes almost none of them and
    never the strongest band of any."""
    base = shared_data / "raman/rruff_excellent_unoriented"
    z = np.load(base / "rruff_raman_excellent_unoriented_1cm.npz", allow_pickle=False)
    intensity, offsets, x_start = z["intensity"], z["offsets"], z["x_start"]
    touched = 0
    n = offsets.size - 1
    for i in range(n):
        y = intensity[offsets[i] : offsets[i + 1]].astype(np.float64)
        s = Spectrum(x_start[i] + np.arange(y.size, dtype=np.float64), y, technique="raman")
        changed = despike(s).y != s.y
        if changed.any():
            touched += 1
            top = int(np.argmax(s.y))
            assert not changed[max(0, top - 5) : top + 6].any(), f"spectrum {i}: top band"
    assert n > 5000
    assert touched < 0.02 * n, f"{touched} of {n} spectra changed"
