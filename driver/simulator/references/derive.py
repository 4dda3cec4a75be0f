"""Rebuild the simulator's default reference spectra from ``../shared/data`` (run by hand).

``python -m driver.simulator.references.derive [SHARED_DATA_DIR]``

Each output CSV is ``x,y`` with ``#`` header lines (name, technique, units, source). Raman
references have their baseline removed (pybaselines ``snip``) and are scaled to a maximum of
1; FTIR references are absorbance scaled to a maximum of 1. See README.md for the sources.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
from pybaselines.smooth import snip

HERE = Path(__file__).resolve().parent

WHENFUNG = {
    "acetone": "acetone",
    "ethanol": "ethanol",
    "methanol": "methanol",
    "amphetamine_sulfate": "amphetamine sulfate",
    "phenobarbital": "phenobarbital",
    "ephedrine_hydrochloride": "ephedrine hydrochloride",
}
OPENSPECY_FTIR = {
    "087b8dc9fe95b7cab9d037304f0d39c8": ("polyvinylpyrrolidone", "polyvinylpyrrolidone"),
    "019b8f3e4839f8fda1441f7d712ff12d": ("polyvinyl_alcohol", "poly(vinyl_alcohol)"),
    "005c6a81975d747fe493032cac9dfaa2": ("cellulose_acetate", "CA"),
}


ASTM_E1840_PS = np.array([620.9, 1001.4, 1031.8, 1155.3, 1602.3])


def _peak(x: np.ndarray, y: np.ndarray, near: float, half: float = 8.0) -> float:
    """Peak position near ``near`` by a parabola through the top three points."""
    idx = np.flatnonzero(np.abs(x - near) <= half)
    i = int(idx[np.argmax(y[idx])])
    y0, y1, y2 = y[i - 1], y[i], y[i + 1]
    den = y0 - 2 * y1 + y2
    d = 0.5 * (y0 - y2) / den if den else 0.0
    return float(x[i] + d * (x[i + 1] - x[i - 1]) / 2)


def _write(path: Path, x: np.ndarray, y: np.ndarray, header: dict[str, str]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for k, v in header.items():
            fh.write(f"# {k}: {v}\n")
        for xi, yi in zip(x, y, strict=True):
            fh.write(f"{xi:.3f},{yi:.5f}\n")


def _raman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    base, _ = snip(y, max_half_window=40, decreasing=True, smooth_half_window=3)
    out = np.clip(y - base, 0, None)
    scaled: np.ndarray = out / out.max()
    return scaled


def main(shared: Path, out: Path = HERE) -> None:
    """Write every reference CSV into ``out`` (default: this folder)."""
    wf = shared / "raman" / "portable_reagents_drugs_whenfung" / "pure"
    for stem, name in WHENFUNG.items():
        data = np.loadtxt(wf / f"{stem}.txt", delimiter=",")
        x, y = data[:, 0], data[:, 1]
        keep = (x >= 150) & (x <= 2800)
        _write(out / f"raman_{stem}.csv", x[keep], _raman(x[keep], y[keep]), {
            "name": stem, "title": name, "technique": "raman", "x_unit": "raman-shift-cm-1",
            "y_unit": "arbitrary (baseline removed, max 1)",
            "source": f"whenfung/Raman-spectra@74c681ed (MIT), via shared/data pure/{stem}.txt",
        })
    ps = shared / "raman" / "polystyrene_multi_instrument_charisma" / "Horiba"
    data = np.loadtxt(ps / "PST10_iR785_OP01_8000msx8.txt")
    order = np.argsort(data[:, 0])
    x, y = data[order, 0], data[order, 1]
    # That export's axis sits a few cm-1 high: recalibrate it (linear least squares) onto the
    # ASTM E1840 polystyrene shifts, the certificate values the self-test checks against.
    found = np.array([_peak(x, y, c) for c in (625.0, 1006.0, 1035.0, 1160.0, 1605.0)])
    a, b = np.polynomial.polynomial.polyfit(found, ASTM_E1840_PS, 1)
    x = a + b * x
    keep = (x >= 150) & (x <= 2800)
    _write(out / "raman_polystyrene.csv", x[keep], _raman(x[keep], y[keep]), {
        "name": "polystyrene", "title": "polystyrene (reference standard)", "technique": "raman",
        "x_unit": "raman-shift-cm-1", "y_unit": "arbitrary (baseline removed, max 1)",
        "source": "h2020charisma/ramanchada2@7e6573bc (MIT), Horiba 785 nm "
                  "PST10_iR785_OP01_8000msx8.txt",
    })
    lib = shared / "mixed" / "openspecy_test_lib" / "openspecy_test_lib_spectra.csv"
    with lib.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    head = rows[0]
    wn = np.array([float(r[0]) for r in rows[1:]])
    for col_id, (stem, label) in OPENSPECY_FTIR.items():
        j = head.index(col_id)
        vals = np.array([float(r[j]) if r[j] else np.nan for r in rows[1:]])
        ok = np.isfinite(vals) & (wn >= 600)
        v = vals[ok] - np.nanmin(vals[ok])
        _write(out / f"ftir_{stem}.csv", wn[ok], v / v.max(), {
            "name": stem, "title": label, "technique": "ftir", "x_unit": "wavenumber-cm-1",
            "y_unit": "absorbance (scaled to max 1)",
            "source": "wincowgerDEV/OpenSpecy-package@f6f89736 test_lib (CC BY 4.0, "
                      f"Cowger et al. 2025), column {col_id}",
        })


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1
         else Path(__file__).resolve().parents[3].parent / "shared" / "data")
