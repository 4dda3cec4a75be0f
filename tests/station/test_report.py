"""The evidence report: written from a real store and library, rendered in a real browser."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from matcher.library import LibrarySet
from matcher.results import Category, Hit, Identification, Mixture, MixtureComponent, Verdict
from matcher.verdict import Thresholds
from parcels.records import HoldState
from station.cli import main
from station.report import REF_COLOURS, fit_references
from tests.parcels.builders import KEY
from tests.station._png import read_png
from tests.station.conftest import FENTANYL_PARCEL, measured_mixture

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _identification(lib_file: Path) -> Identification:
    lib = LibrarySet.load(lib_file).get("interdict-demo-raman")
    fent = lib.entries[lib.index_of("fentanyl-hcl-synthetic")]
    cal = lib.entries[lib.index_of("calcite")]
    return Identification(
        verdict=Verdict.MIXTURE, alert=True, alert_substances=(fent.name,), confidence=0.8,
        hits=(Hit(entry_id=fent.id, name=fent.name, score=88.0, category=fent.category,
                  schedule=fent.schedule, synthetic=True),
              Hit(entry_id=cal.id, name=cal.name, score=61.0, category=cal.category)),
        mixture=Mixture(components=(
            MixtureComponent(entry_id=fent.id, name=fent.name, share=0.45,
                             category=Category.CONTROLLED, synthetic=True),
            MixtureComponent(entry_id=cal.id, name=cal.name, share=0.55,
                             category=Category.CUTTING_AGENT)),
            composite_hqi=96.0, residual_fraction=0.02),
        technique="raman", library_id=lib.id, library_hash=lib.hash, pipeline=lib.pipeline,
        synthetic_used=True, thresholds=Thresholds().model_dump(mode="json"))


@pytest.fixture
def inspected(store_path: Path, demo_library_file: Path) -> Path:
    from parcels.records import DeviceIdentity
    from parcels.store import open_store

    with open_store(store_path, signer=KEY) as store:
        store.transition(FENTANYL_PARCEL, HoldState.HELD, actor="officer.test")
        store.add_inspection(
            FENTANYL_PARCEL, measured_mixture({"fentanyl_hcl_SYNTHETIC": 0.4, "calcite": 0.6}),
            _identification(demo_library_file), operator="officer.test", station="TEST-ST",
            device=DeviceIdentity(make="Sim", model="TEST-R785", serial="T1", firmware="1.0"))
    return store_path


def test_fit_references_recovers_weights() -> None:
    x = np.linspace(0, 10, 200)
    a, b = np.exp(-((x - 3) ** 2)), np.exp(-((x - 7) ** 2))
    w, curves, res = fit_references(x, 2 * a + 0.5 * b, [(x, a), (x, b)])
    assert np.allclose(w, [2.0, 0.5], atol=1e-8)
    assert np.allclose(res, 0.0, atol=1e-8)
    assert curves.shape == (2, x.size)


def _report(db: Path, lib: Path, out: Path, item: str = FENTANYL_PARCEL) -> int:
    return main(["report", item, "-o", str(out), "--db", str(db), "--library", str(lib),
                 "--operator", "officer.test", "--station", "TEST-ST"])


def test_report_is_self_contained_and_complete(inspected: Path, demo_library_file: Path,
                                               tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert _report(inspected, demo_library_file, out) == 0
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    # no external resource: the only URL is the SVG namespace
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) <= {"http://www.w3.org/2000/svg"}
    for needle in (FENTANYL_PARCEL, "ALERT", "SYNTHETIC", "CP118543022IN", "CBP-NTC",
                   "officer.test", "TEST-R785", 'class="measured"', 'class="reference"',
                   'class="residual"', "Verified: evidence of CP118543022IN OK"):
        assert needle in html, needle
    lib = LibrarySet.load(demo_library_file).get("interdict-demo-raman")
    assert lib.hash in html
    # the inspection's audit entries are listed (hash prefixes of scan/verdict events)
    from parcels.store import open_store

    with open_store(inspected, create=False) as store:
        events = list(store.audit_events(item_id=FENTANYL_PARCEL))
        assert store.verify().ok
        exports = [e for e in store.audit_events() if e.kind.value == "export"]
    # writing the report is itself logged, with the file and a digest of what was written
    assert len(exports) == 1 and FENTANYL_PARCEL in str(exports[0].data)
    assert str(out.resolve()) in str(exports[0].data)
    scan_events = [e for e in events if e.kind.value in ("scan", "verdict")]
    assert scan_events and all(e.hash[:16] in html for e in scan_events)
    # the report carries the signed head it was verified against, whole
    assert KEY.key_id in html and "the station&#x27;s key" in html


def test_report_of_unknown_or_invalid_parcel_is_a_parcel_error(
        store_path: Path, demo_library_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.html"
    assert _report(store_path, demo_library_file, out, "RR473124828GB") == 5  # bad check digit
    assert _report(store_path, demo_library_file, out, "AA000000000ZZ") == 5
    assert not out.exists()


def test_report_without_the_matching_library_says_why_no_plot(
        inspected: Path, tmp_path: Path) -> None:
    from station.workflows.library import build_library_set

    other = tmp_path / "other.ilib"
    build_library_set(synthetic=False, library_id="interdict-default").save(other)
    out = tmp_path / "r.html"
    assert _report(inspected, other, out) == 0
    html = out.read_text(encoding="utf-8")
    assert "Plot not available" in html and 'class="measured"' not in html


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: the browser-rendering "
                    "check of the evidence report is skipped (make test installs it as root)")
def test_report_plot_is_visible_in_headless_chromium(inspected: Path, demo_library_file: Path,
                                                     tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert _report(inspected, demo_library_file, out) == 0
    png = tmp_path / "shot.png"
    assert CHROMIUM is not None
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
         f"--screenshot={png}", "--window-size=1000,1500", out.as_uri()],
        check=True, capture_output=True, timeout=90)
    img = read_png(png)[:, :, :3].astype(int)

    def mask(hex_colour: str, tol: int = 40) -> np.ndarray:
        rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
        return np.abs(img - rgb).sum(axis=2) < tol

    blue, orange = mask(REF_COLOURS[0]), mask(REF_COLOURS[1])
    dark = (img.sum(axis=2) < 120)
    # both reference curves are drawn (the dashed fentanyl curve partly under the measured
    # trace), spread over a plot-sized region
    assert blue.sum() > 60 and orange.sum() > 150, (blue.sum(), orange.sum())
    ys, xs = np.nonzero(blue | orange)
    assert xs.max() - xs.min() > 400 and ys.max() - ys.min() > 80
    # the measured (near-black) trace is drawn inside the same region
    region = dark[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    assert region.sum() > 300


def test_svg_plot_axis_direction_and_escaping() -> None:
    from station.report import PlotData, ReferenceCurve, Series, svg_plot

    x = [400.0, 1000.0, 1800.0]
    plot = PlotData(measured=Series(x=x, y=[1.0, 0.0, 0.0]),
                    references=[ReferenceCurve(name="<b>x</b> & y", entry_id="e",
                                               curve=Series(x=x, y=[0.0, 1.0, 0.0]))])

    def first_point(svg: str) -> float:
        pts = svg.split('class="measured"')[1].split('points="')[1].split('"', maxsplit=1)[0]
        return float(pts.split()[0].split(",")[0])

    normal = svg_plot(plot)
    flipped = svg_plot(plot.model_copy(update={"reverse_x": True}))
    assert first_point(normal) < 200 < first_point(flipped)  # x=400 left, or right
    assert "<b>x</b>" not in normal and "&lt;b&gt;x&lt;/b&gt; &amp; y" in normal


HASH_CSS = re.compile(r"code\.hash\s*\{([^}]*)\}")


def test_hashes_are_whole_monospace_and_unbreakable(inspected: Path, demo_library_file: Path,
                                                     tmp_path: Path) -> None:
    from parcels.store import open_store

    with open_store(inspected, create=False) as store:
        pf = store.get_parcel(FENTANYL_PARCEL)
        hashes = [e.hash for e in store.audit_events(item_id=FENTANYL_PARCEL)]
        head = store.signed_head()  # the head the report is verified against
    assert head is not None
    out = tmp_path / "r.html"
    assert _report(inspected, demo_library_file, out) == 0
    html = out.read_text(encoding="utf-8")
    hashes += [pf.inspections[0].spectrum_hash, pf.inspections[0].latest.library_hash,
               head.hash, head.key_id]
    for h in hashes:  # each one whole, in one element of its own: nothing inserted inside
        assert f'<code class="hash">{h}</code>' in html, h
    css = HASH_CSS.search(html)
    assert css is not None
    rules = css.group(1)
    assert "white-space: nowrap" in rules and "monospace" in rules
    assert "break-all" not in html and "user-select: all" in rules


def test_thresholds_are_a_table_not_a_python_dict(inspected: Path, demo_library_file: Path,
                                                  tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert _report(inspected, demo_library_file, out) == 0
    html = out.read_text(encoding="utf-8")
    table = _between(html, '<table class="thresholds">', "</table>")
    assert "<td>match_hqi</td><td>80</td>" in table
    assert "<td>mixture.max_components</td><td>3</td>" in table  # nested: dotted names
    assert "{" not in html.split("<body>", 1)[1]  # no Python dict printed anywhere


def _between(text: str, start: str, end: str) -> str:
    i = text.index(start)
    return text[i:text.index(end, i)]


def test_no_bare_confidence_but_what_the_verdict_was_decided_on(
        inspected: Path, demo_library_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert _report(inspected, demo_library_file, out) == 0
    html = out.read_text(encoding="utf-8")
    text = html.replace(str(inspected), "")  # the path holds this test's name
    assert "onfidence" not in text
    assert "Decided on:" in html and "composite HQI 96.0" in html
    assert "mixture threshold" in html


def test_measured_trace_is_drawn_over_the_references_and_every_panel_is_labelled() -> None:
    from station.report import PlotData, ReferenceCurve, Series, svg_plot

    x = [400.0, 1000.0, 1800.0]
    svg = svg_plot(PlotData(
        measured=Series(x=x, y=[0.0, 1.0, 0.0]),
        references=[ReferenceCurve(name="r", entry_id="r", curve=Series(x=x, y=[0, 1.0, 0]))],
        residual=Series(x=x, y=[0.0, 0.1, 0.0])))
    assert svg.index('class="measured"') > svg.rindex('class="reference"')
    labels = re.findall(r'class="axis axis-label"[^>]*>([^<]+)<', svg)
    assert labels.count("Raman shift (cm⁻¹)") == 2  # under each panel
    assert "Intensity (processed)" in labels and "Residual" in labels


def test_forged_chain_makes_the_report_say_not_verified(
        inspected: Path, demo_library_file: Path, tmp_path: Path) -> None:
    """The issue's forgery (verdict rewritten, digests and chain recomputed, no key): the
    report used to print "Audit chain verified"."""
    from tests.parcels.conftest import Backend
    from tests.parcels.forgery import forge_verdict

    forge_verdict(Backend("sqlite", str(inspected)))
    out = tmp_path / "r.html"
    assert _report(inspected, demo_library_file, out) == 6  # written, says why not
    html = out.read_text(encoding="utf-8")
    assert "NOT VERIFIED" in html and "bad-signature" in html
    assert "Verified: evidence" not in html


def test_report_verifies_its_parcel_not_the_whole_database(
        inspected: Path, demo_library_file: Path, tmp_path: Path) -> None:
    """Another parcel's corrupted raw spectrum is not this report's business (audit verify
    finds it); this parcel's is."""
    from parcels.records import DeviceIdentity
    from parcels.store import open_store

    other = "RB771209649NL"
    with open_store(inspected, signer=KEY) as store:
        store.transition(other, HoldState.HELD, actor="officer.test")
        ins = store.add_inspection(
            other, measured_mixture({"amphetamine_sulfate": 1.0}, seed=5),
            _identification(demo_library_file), operator="o", station="s",
            device=DeviceIdentity(model="m", serial="s", firmware="f"))
    corrupt_spectrum(inspected, ins.spectrum_hash)
    with open_store(inspected) as store:
        assert not store.verify().ok
        assert store.verify_item(FENTANYL_PARCEL).ok
        assert not store.verify_item(other).ok
    out = tmp_path / "r.html"
    assert _report(inspected, demo_library_file, out) == 0
    assert "Verified: evidence of CP118543022IN OK" in out.read_text(encoding="utf-8")


def corrupt_spectrum(db: Path, spectrum_hash: str) -> None:
    import sqlite3
    import zlib

    con = sqlite3.connect(db)
    con.execute("DROP TRIGGER spectra_no_update")
    blob = con.execute("SELECT data FROM spectra WHERE hash = ?", (spectrum_hash,)).fetchone()[0]
    raw = bytearray(zlib.decompress(blob))
    raw[-1] ^= 1
    con.execute("UPDATE spectra SET data = ? WHERE hash = ?", (zlib.compress(bytes(raw)),
                                                              spectrum_hash))
    con.commit()
    con.close()


def test_fused_result_shows_every_part_and_plots_this_inspections_technique(
        store_path: Path, demo_library_file: Path, tmp_path: Path) -> None:
    """A fused Raman + FTIR result stored with the FTIR inspection: the report used to take
    the first (Raman) part for the FTIR spectrum."""
    from matcher.identify import Identifier, fuse
    from parcels.records import DeviceIdentity
    from parcels.store import open_store
    from tests.parcels.builders import spectrum

    libs = LibrarySet.load(demo_library_file)
    raman_lib, ftir_lib = libs.select("raman"), libs.select("ftir-atr")
    pet = ftir_lib.entries[0]
    ftir = spectrum(4, technique="ftir-atr").replace(
        x=np.asarray(ftir_lib.axis, dtype=float),
        y=1000.0 * np.asarray(ftir_lib.matrix[0], dtype=float) + 5.0)
    raman_raw = measured_mixture({"calcite": 1.0}, seed=2)
    fused = fuse([Identifier(raman_lib).identify(raman_raw), Identifier(ftir_lib).identify(ftir)])
    with open_store(store_path, signer=KEY) as store:
        store.transition("LX403127580CN", HoldState.HELD, actor="officer.test")
        store.add_inspection("LX403127580CN", ftir, fused, operator="o", station="s",
                             device=DeviceIdentity(model="m", serial="s", firmware="f"))
    out = tmp_path / "r.html"
    assert _report(store_path, demo_library_file, out, "LX403127580CN") == 0
    html = out.read_text(encoding="utf-8")
    assert "(fused Raman + FTIR)" in html
    assert "FTIR-ATR: " in html and "RAMAN (measured in another inspection)" in html
    assert html.index("FTIR-ATR: ") < html.index("RAMAN (measured in another inspection)")
    assert 'class="measured"' in html and "Wavenumber (cm⁻¹)" in html
    assert f'data-entry="{pet.id}"' in html or "Plot not available" not in html


def test_a_library_that_cannot_be_opened_leaves_the_report_without_plots(
        inspected: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.ilib"
    junk.write_bytes(b"not a library")
    out = tmp_path / "r.html"
    assert _report(inspected, junk, out) == 0  # the evidence verifies; the plot is secondary
    err = capsys.readouterr().err
    assert err.startswith("interdict report: warning: library not loaded, plots will be missing")
    assert "Plot not available" in out.read_text(encoding="utf-8")


def test_an_edited_spectrum_label_makes_the_report_say_not_verified(
        inspected: Path, demo_library_file: Path, tmp_path: Path) -> None:
    """A raw spectrum's title edited in the database (outside its content hash): the scan
    event's digest of the stored record catches it, and the report says so."""
    import json
    import sqlite3

    from parcels.store import open_store

    with open_store(inspected) as store:
        h = store.get_parcel(FENTANYL_PARCEL).inspections[0].spectrum_hash
    con = sqlite3.connect(inspected)
    con.execute("DROP TRIGGER spectra_no_update")
    meta = json.loads(con.execute("SELECT meta FROM spectra WHERE hash = ?", (h,)).fetchone()[0])
    meta["title"] = "forged"
    con.execute("UPDATE spectra SET meta = ? WHERE hash = ?", (json.dumps(meta), h))
    con.commit()
    con.close()
    out = tmp_path / "r.html"
    assert _report(inspected, demo_library_file, out) == 6
    html = out.read_text(encoding="utf-8")
    assert "NOT VERIFIED" in html and "evidence-mismatch" in html and h in html
