"""Spectrum synthesis: real reference spectra, mixed, through a model of the instrument.

Raman (counts): the mixture of references (fractions) is evaluated on the *true* axis of the
detector, which is the nominal calibration plus a drift, so a drifting instrument shows its
peaks shifted on the axis it reports. Per accumulation::

    expected = rate * P/100mW * t * signal * mixture          (Raman signal)
             + rate * P/100mW * t * fluorescence * broad(x)   (fluorescence background)
             + dark_rate(T) * t                               (dark current)
    counts   = Poisson(expected) + Normal(0, read_noise) + bias + cosmic-ray spikes
    counts   = clip(round(counts), 0, adc_max)                (saturation at the ADC maximum)

and accumulations are summed. FTIR-ATR (absorbance): ``signal * mixture`` plus a sloping
baseline plus noise falling as 1/sqrt(co-added scans x scan time).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Self

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..capabilities import TechniqueCaps, TechniqueName
from ..errors import AnalyzerError
from ..models import SelfTestPeak, SelfTestReport

REFERENCES_DIR = Path(__file__).resolve().parent / "references"

RAMAN_STANDARD_PEAKS = (620.9, 1001.4, 1031.8, 1155.3, 1602.3)
"""ASTM E1840 polystyrene Raman shifts (cm⁻¹), the self-test's certificate values."""


MAX_SCENARIO_BYTES = 16 << 20
"""Largest scenario file read (a sample takes ~100 bytes: 16 MiB is ~150,000 samples)."""


class ScenarioError(AnalyzerError, ValueError):
    """A scenario or reference file is invalid; the message names the file and the field.

    Under the driver's root (:class:`driver.errors.AnalyzerError`) and a ``ValueError``, as
    :class:`io.UnsupportedOperation` is both an ``OSError`` and a ``ValueError``."""


@dataclass(frozen=True)
class Reference:
    """One reference spectrum, ascending axis, scaled to a maximum of 1."""

    name: str
    technique: TechniqueName
    x: NDArray[np.float64]
    y: NDArray[np.float64]

    def on(self, axis: NDArray[np.float64]) -> NDArray[np.float64]:
        """Values on ``axis`` (0 outside the reference's range)."""
        return np.interp(axis, self.x, self.y, left=0.0, right=0.0)


def _read_own_csv(path: Path) -> Reference:
    meta: dict[str, str] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            key, _, value = line[1:].partition(":")
            meta[key.strip()] = value.strip()
    try:
        data = np.loadtxt(path, delimiter=",", comments="#", ndmin=2)
    except ValueError as exc:
        raise ScenarioError(f"{path}: not an x,y reference file: {exc}") from exc
    tech = meta.get("technique", "raman")
    if tech not in ("raman", "ftir"):
        raise ScenarioError(f"{path}: technique {tech!r} must be raman or ftir")
    order = np.argsort(data[:, 0])
    y = np.clip(data[order, 1], 0, None)
    return Reference(meta.get("name", path.stem), tech,  # type: ignore[arg-type]
                     data[order, 0].astype(np.float64), y / max(float(y.max()), 1e-12))


def _read_spectrum_file(path: Path) -> list[Reference]:
    import spectra

    out = []
    for k, read in enumerate(spectra.read(path)):
        s = read
        tech: TechniqueName = "raman" if s.technique is spectra.Technique.RAMAN \
            else "ftir"
        if tech == "raman" and s.x_unit is not spectra.XUnit.RAMAN_SHIFT:
            s = s.to_raman_shift()
        y = np.clip(np.asarray(s.y, dtype=np.float64), 0, None)
        name = s.title or (path.stem if k == 0 else f"{path.stem}#{k}")
        out.append(Reference(name, tech, np.asarray(s.x, dtype=np.float64),
                             y / max(float(y.max()), 1e-12)))
    return out


def load_references(paths: list[Path] | None = None) -> dict[tuple[str, str], Reference]:
    """References by ``(technique, name)``.

    Parameters
    ----------
    paths
        Spectrum files (anything :func:`spectra.read` takes) or folders of them; ``None``
        loads the small built-in set in ``driver/simulator/references``. Files in our own
        reference CSV layout (``# key: value`` lines, then ``x,y``) are read directly. In a
        folder, ``index.csv`` (the library-build index, see ``interdict library build``) is
        metadata, not a spectrum, and is skipped. The built-in polystyrene standards are
        always there unless a path brings its own: a device carries its self-test standard.

    Raises
    ------
    ScenarioError
        A path does not exist or holds no readable spectrum.
    """
    files: list[Path] = []
    for p in paths or [REFERENCES_DIR]:
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.name.lower() != "index.csv"
                            and f.suffix.lower() in
                            (".csv", ".txt", ".jdx", ".dx", ".jcamp", ".spc"))
        elif p.is_file():
            files.append(p)
        else:
            raise ScenarioError(f"{p}: no such reference file or folder")
    refs: dict[tuple[str, str], Reference] = {}
    for f in files:
        with f.open("rb") as fh:
            own = fh.read(2) == b"# "
        try:
            got = [_read_own_csv(f)] if own else _read_spectrum_file(f)
        except (OSError, ValueError) as exc:
            raise ScenarioError(f"{f}: cannot read reference: {exc}") from exc
        for r in got:
            refs[(r.technique, r.name)] = r
    if not refs:
        raise ScenarioError(f"no reference spectra in {paths}")
    if paths:
        for f in sorted(REFERENCES_DIR.glob("*_polystyrene.csv")):
            standard = _read_own_csv(f)
            refs.setdefault((standard.technique, standard.name), standard)
    return refs


class Component(BaseModel):
    """One substance of a sample and its fraction."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reference: str
    fraction: float = Field(gt=0, le=1)


class Sample(BaseModel):
    """What is under the laser: a mixture, its fluorescence and signal strength."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    components: list[Component] = Field(min_length=1)
    fluorescence: float = Field(default=0.1, ge=0)
    """Fluorescence background, relative to a pure reference's strongest band."""
    signal: float = Field(default=1.0, gt=0)
    """Raman/IR signal strength: 1 is a good sample, 0.02 a weak (low-signal) one."""
    hang: bool = False
    """A scan of this sample never finishes (a hung detector readout) until it is aborted
    or the device goes away: rehearses interruptions at a known point, with no race."""

    @model_validator(mode="after")
    def _fractions(self) -> Self:
        total = sum(c.fraction for c in self.components)
        if total > 1.0 + 1e-6:
            raise ValueError(f"component fractions sum to {total:g} > 1")
        return self


class Scenario(BaseModel):
    """Which samples the simulator holds, and which is under the laser by default.

    ``selection`` is ``"fixed"`` (always ``default``, or the first sample, until a
    SIM_SELECT_SAMPLE message) or ``"round-robin"`` (the next sample after each sample scan).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    samples: dict[str, Sample] = Field(min_length=1)
    selection: Literal["fixed", "round-robin"] = "fixed"
    default: str | None = None

    @model_validator(mode="after")
    def _default_known(self) -> Self:
        if self.default is not None and self.default not in self.samples:
            raise ValueError(f"default sample {self.default!r} is not in samples")
        return self

    def check_references(self, refs: dict[tuple[str, str], Reference]) -> None:
        """Raise :class:`ScenarioError` if a component names no known reference."""
        names = {name for _, name in refs}
        for sid, sample in self.samples.items():
            for c in sample.components:
                if c.reference not in names:
                    raise ScenarioError(
                        f"samples.{sid}: reference {c.reference!r} unknown; "
                        f"known: {', '.join(sorted(names))}"
                    )

    @classmethod
    def load(cls, path: Path) -> Scenario:
        """Read a scenario from JSON (``.json``) or TOML (``.toml``).

        Raises
        ------
        ScenarioError
            Unreadable file, larger than :data:`MAX_SCENARIO_BYTES`, nested too deeply for the
            parser, or invalid content (with the failing field).
        """
        try:
            with path.open("rb") as fh:
                text = fh.read(MAX_SCENARIO_BYTES + 1)
            if len(text) > MAX_SCENARIO_BYTES:
                raise ScenarioError(f"{path}: larger than {MAX_SCENARIO_BYTES:,} bytes; "
                                    "not a scenario")
            data = tomllib.loads(text.decode("utf-8")) if path.suffix.lower() == ".toml" \
                else json.loads(text)
            return cls.model_validate(data)
        except ScenarioError:
            raise
        except RecursionError:  # the parsers' own bound on nesting, raised before any damage
            raise ScenarioError(f"{path}: nested too deeply to be a scenario") from None
        except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:
            if isinstance(exc, ValidationError):
                first = exc.errors()[0]
                loc = ".".join(str(p) for p in first["loc"])
                raise ScenarioError(f"{path}: {loc}: {first['msg']}") from exc
            raise ScenarioError(f"{path}: {exc}") from exc

    @classmethod
    def default_for(cls, refs: dict[tuple[str, str], Reference],
                    techniques: tuple[str, ...] = ("raman", "ftir")) -> Scenario:
        """One pure sample per reference of the device's techniques (polystyrene, the
        self-test standard, left out), the first technique's first; fixed on the first."""
        names: list[str] = []
        for tech in techniques:
            names += sorted(n for t, n in refs if t == tech and n != "polystyrene"
                            and n not in names)
        names = names or sorted({n for _, n in refs})
        return cls(samples={n: Sample(components=[Component(reference=n, fraction=1.0)])
                            for n in names})


@dataclass
class InstrumentModel:
    """The detector and optics of one technique, with the noise sources of a real one."""

    caps: TechniqueCaps
    rate_per_ms: float = 30.0
    """Counts per ms at the strongest band of a pure sample at 100 mW."""
    read_noise: float = 6.0
    bias: float = 500.0
    dark_per_ms: float = 0.4
    cosmic_per_s: float = 0.6
    ftir_noise: float = 0.002

    def mixture(self, sample: Sample, refs: dict[tuple[str, str], Reference],
                axis: NDArray[np.float64]) -> NDArray[np.float64]:
        """The noiseless mixture on ``axis``."""
        out = np.zeros_like(axis)
        for c in sample.components:
            ref = refs.get((self.caps.technique, c.reference))
            if ref is None:
                continue  # not measurable with this technique: contributes nothing
            out += c.fraction * ref.on(axis)
        return out

    def raman(self, rng: np.random.Generator, sample: Sample | None,
              refs: dict[tuple[str, str], Reference], *, integration_ms: float,
              accumulations: int, laser_power_mw: float, drift_cm: float,
              temp_c: float, shift_axis: NDArray[np.float64] | None = None,
              ) -> tuple[NDArray[np.uint32], int]:
        """Raw summed counts (``sample=None``: a dark scan) and the saturated-pixel count.

        ``shift_axis`` is the detector's nominal Raman-shift axis when its calibration is not
        in Raman shift (a wavelength-calibrated spectrometer); default ``caps.axis()``.
        """
        caps = self.caps
        assert caps.adc_max is not None  # guaranteed by TechniqueCaps validation
        true_axis = (caps.axis() if shift_axis is None else shift_axis) + drift_cm
        t = integration_ms
        dark = self.dark_per_ms * 2 ** ((temp_c - 25.0) / 7.0) * t
        expected = np.full(caps.pixels, dark)
        if sample is not None:
            scale = self.rate_per_ms * laser_power_mw / 100.0 * t
            broad = np.exp(-0.5 * ((true_axis - 1400.0) / 900.0) ** 2)
            expected = expected + scale * (sample.signal * self.mixture(sample, refs, true_axis)
                                           + sample.fluorescence * broad)
        total = np.zeros(caps.pixels, dtype=np.float64)
        saturated = np.zeros(caps.pixels, dtype=bool)
        for _ in range(accumulations):
            counts = rng.poisson(expected).astype(np.float64)
            counts += rng.normal(0.0, self.read_noise, caps.pixels) + self.bias
            for _ in range(rng.poisson(self.cosmic_per_s * t / 1000.0)):
                px = int(rng.integers(0, caps.pixels - 1))
                amp = rng.uniform(2000.0, 20000.0)
                counts[px] += amp
                counts[px + 1] += amp * rng.uniform(0.0, 0.4)
            counts = np.clip(np.rint(counts), 0, caps.adc_max)
            saturated |= counts >= caps.adc_max
            total += counts
        return total.astype(np.uint32), int(saturated.sum())

    def ftir(self, rng: np.random.Generator, sample: Sample | None,
             refs: dict[tuple[str, str], Reference], *, integration_ms: float,
             accumulations: int, drift_cm: float) -> NDArray[np.float32]:
        """Absorbance (``sample=None``: a clean crystal, i.e. only baseline and noise)."""
        axis = self.caps.axis()
        true_axis = axis + drift_cm
        a = np.zeros_like(axis)
        if sample is not None:
            a = 0.8 * sample.signal * self.mixture(sample, refs, true_axis)
            a += 0.01 * sample.fluorescence * (axis - axis[0]) / (axis[-1] - axis[0])
        sigma = self.ftir_noise / np.sqrt(accumulations * max(integration_ms, 1.0) / 1000.0)
        return (a + rng.normal(0.0, sigma, axis.size)).astype(np.float32)


def find_peak(x: NDArray[np.float64], y: NDArray[np.float64], near: float,
              half_window: float) -> float | None:
    """Position of the highest point within ``near ± half_window``, refined by a parabola."""
    idx = np.flatnonzero(np.abs(x - near) <= half_window)
    if idx.size < 3:
        return None
    i = int(idx[np.argmax(y[idx])])
    if i in (0, x.size - 1):
        return None
    y0, y1, y2 = y[i - 1], y[i], y[i + 1]
    den = y0 - 2 * y1 + y2
    d = 0.5 * (y0 - y2) / den if den else 0.0
    return float(x[i] + d * (x[i + 1] - x[i - 1]) / 2)


def self_test(axis: NDArray[np.float64], values: NDArray[np.float64], technique: str,
              expected: tuple[float, ...], tolerance: float) -> SelfTestReport:
    """Check measured peak positions of the standard against its certificate values."""
    baseline = np.convolve(values, np.ones(101) / 101, mode="same")
    y = values - baseline
    peaks = [SelfTestPeak(expected=e, found=find_peak(axis, y, e, 3 * tolerance + 4),
                          tolerance=tolerance) for e in expected]
    return SelfTestReport(standard="polystyrene", technique=technique, peaks=peaks,
                          passed=all(p.ok for p in peaks))
