"""Verdicts: recorded thresholds, alerts for controlled substances and precursors,
synthetic references marked, ambiguity between analogues, NO_MATCH and weak matches."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher import defaults
from matcher.identify import Identifier
from matcher.library import Library
from matcher.quality import QualityReport
from matcher.results import Category, Hit, Identification, Mixture, MixtureComponent, Verdict
from matcher.verdict import Thresholds, decide
from spectra import Technique

from .test_identify_helpers import build_whenfung, load_whenfung, whenfung_library

__all__ = ["whenfung_library"]

OK = QualityReport(ok=True, snr=100.0, saturated=False, background_ratio=0.1)


def _decide(hits: list[Hit], mixture: Mixture | None = None,
            t: Thresholds | None = None) -> Identification:
    return decide(hits=hits, mixture=mixture, quality=OK, thresholds=t or Thresholds(),
                  technique=Technique.RAMAN,
                  library_id="lib", library_hash="h" * 64,
                  pipeline=defaults.raman_pipeline(), score="root-hqi")


def _hit(name: str, score: float, cat: Category = Category.BENIGN, syn: bool = False) -> Hit:
    return Hit(entry_id=name.lower(), name=name, score=score, category=cat, synthetic=syn)


def test_thresholds_are_recorded_as_given(whenfung_library: Library, shared_data: Path) -> None:
    t = Thresholds(match_hqi=77.0, ambiguity_margin=4.5)
    res = Identifier(whenfung_library, thresholds=t).identify(
        load_whenfung(shared_data, "pure/ethanol.txt"))
    assert res.thresholds == t.model_dump(mode="json")
    assert Thresholds.model_validate(res.thresholds) == t
    assert res.library_hash == whenfung_library.hash and res.library_id == "whenfung-pure"
    assert res.pipeline == whenfung_library.pipeline
    assert res.score == "root-hqi"


@pytest.mark.parametrize(("file", "alert"), [
    ("pure/amphetamine_sulfate.txt", ("amphetamine_sulfate",)),
    ("pure/phenobarbital.txt", ("phenobarbital",)),
    ("pure/ephedrine_hydrochloride.txt", ("ephedrine_hydrochloride",)),  # precursor
    ("pure/ethanol.txt", ()),
    ("pure/sulfuric_acid.txt", ()),  # hazardous, not alerting
])
def test_alert_for_controlled_and_precursor(
    whenfung_library: Library, shared_data: Path, file: str, alert: tuple[str, ...]
) -> None:
    res = Identifier(whenfung_library).identify(load_whenfung(shared_data, file))
    assert res.verdict is Verdict.MATCH
    assert res.alert is bool(alert)
    assert res.alert_substances == alert


def test_alert_from_a_mixture_component() -> None:
    mix = Mixture(components=(
        MixtureComponent(entry_id="a", name="Acetaminophen", share=0.8,
                         category=Category.CUTTING_AGENT),
        MixtureComponent(entry_id="f", name="Fentanyl HCl", share=0.2,
                         category=Category.CONTROLLED, schedule="I"),
    ), composite_hqi=97.0, residual_fraction=0.02)
    res = _decide([_hit("Acetaminophen", 90.0, Category.CUTTING_AGENT)], mix)
    assert res.verdict is Verdict.MIXTURE
    assert res.alert and res.alert_substances == ("Fentanyl HCl",)
    assert res.mixture == mix


def test_low_hits_down_the_list_do_not_alert() -> None:
    res = _decide([_hit("Lactose", 96.0), _hit("Fentanyl", 40.0, Category.CONTROLLED)])
    assert res.verdict is Verdict.MATCH and not res.alert


def test_synthetic_reference_is_marked(shared_data: Path) -> None:
    lib = build_whenfung(shared_data, synthetic=frozenset({"phenobarbital"}))
    res = Identifier(lib).identify(load_whenfung(shared_data, "pure/phenobarbital.txt"))
    assert res.synthetic_used
    assert res.hits[0].synthetic
    assert any("SYNTHETIC" in n and "phenobarbital" in n for n in res.notes)
    clean = Identifier(lib).identify(load_whenfung(shared_data, "pure/chloroform.txt"))
    # the flag follows what the result REPORTS, not every listed hit
    assert clean.verdict is Verdict.MATCH and not clean.hits[0].synthetic
    assert not clean.synthetic_used and clean.synthetic_reported == ()
    assert not any("SYNTHETIC" in n for n in clean.notes)


def test_a_synthetic_entry_down_the_hit_list_does_not_mark_the_result() -> None:
    """The demo's amphetamine (measured reference, HQI 96) with the synthetic fentanyl entry
    fourth in the list: it used to be reported "identified against a SYNTHETIC reference"."""
    res = _decide([_hit("Amphetamine sulfate", 96.1, Category.CONTROLLED),
                   _hit("Polystyrene", 12.3),
                   _hit("Fentanyl (SYNTHETIC reference)", 8.1, Category.CONTROLLED, syn=True)])
    assert res.verdict is Verdict.MATCH and res.alert_substances == ("Amphetamine sulfate",)
    assert not res.synthetic_used and res.synthetic_reported == ()
    assert not any("SYNTHETIC" in n for n in res.notes)
    assert res.hits[2].synthetic  # the listed hit keeps its own label


def test_a_reported_synthetic_component_or_analogue_marks_the_result() -> None:
    mix = Mixture(components=(
        MixtureComponent(entry_id="f", name="Fentanyl", share=0.75,
                         category=Category.CONTROLLED, synthetic=True),
        MixtureComponent(entry_id="c", name="Calcite", share=0.25,
                         category=Category.CUTTING_AGENT)), composite_hqi=99.9,
        residual_fraction=0.001, single_hqi=72.5)
    res = _decide([_hit("Fentanyl", 72.5, Category.CONTROLLED, syn=True)], mix)
    assert res.verdict is Verdict.MIXTURE and res.synthetic_used
    assert res.synthetic_reported == ("Fentanyl",)
    assert "composite HQI 99.9" in res.basis() and "72.5" in res.basis()
    # an analogue within the ambiguity margin is reported too, so its label counts
    close = _decide([_hit("MDMA", 95.0, Category.CONTROLLED),
                     _hit("MDA (SYNTHETIC)", 93.5, Category.CONTROLLED, syn=True)])
    assert close.synthetic_reported == ("MDA (SYNTHETIC)",)
    # a stored record of the old rule (flag set by a context hit) reads truthfully
    old = res.model_copy(update={"verdict": Verdict.MATCH, "mixture": None, "alert": False,
                                 "alert_substances": (),
                                 "hits": (_hit("Calcite", 98.0), *res.hits)})
    assert old.synthetic_used and old.synthetic_reported == ()


def test_analogues_within_margin_are_ambiguous_and_all_alert() -> None:
    clear = _decide([_hit("MDMA", 95.0, Category.CONTROLLED), _hit("Caffeine", 70.0)])
    amb = _decide([_hit("MDMA", 95.0, Category.CONTROLLED), _hit("MDA", 93.5, Category.CONTROLLED),
                   _hit("Caffeine", 70.0)])
    assert amb.verdict is Verdict.MATCH
    assert any(n.startswith("ambiguous: MDMA, MDA") for n in amb.notes)
    assert amb.alert_substances == ("MDMA", "MDA")
    assert amb.confidence < clear.confidence
    mixed = _decide([_hit("Lactose", 95.0), _hit("MDA", 94.0, Category.CONTROLLED)])
    assert mixed.alert and mixed.alert_substances == ("MDA",)


def test_no_match_and_weak_match() -> None:
    t = Thresholds()
    none = _decide([_hit("Quartz", t.no_match_below - 5)])
    assert none.verdict is Verdict.NO_MATCH and "below" in (none.reason or "")
    assert not none.alert and none.confidence == 0.0
    weak = _decide([_hit("Fentanyl", (t.no_match_below + t.match_hqi) / 2, Category.CONTROLLED)])
    assert weak.verdict is Verdict.INCONCLUSIVE and "weak match" in (weak.reason or "")
    assert weak.alert  # a possible controlled substance is flagged for confirmation
    assert 0.0 < weak.confidence < 0.5


def test_mixture_below_threshold_is_not_the_verdict() -> None:
    mix = Mixture(components=(
        MixtureComponent(entry_id="a", name="A", share=0.6),
        MixtureComponent(entry_id="b", name="B", share=0.4),
    ), composite_hqi=70.0, residual_fraction=0.3)
    res = _decide([_hit("A", 65.0)], mix)
    assert res.verdict is Verdict.INCONCLUSIVE and res.mixture is None
    assert any("not reported" in n for n in res.notes)


def test_structured_residual_noted_and_lowers_confidence() -> None:
    comps = (MixtureComponent(entry_id="a", name="A", share=0.6),
             MixtureComponent(entry_id="b", name="B", share=0.4))
    clean = _decide([_hit("A", 80.0)], Mixture(components=comps, composite_hqi=95.0,
                                               residual_fraction=0.02))
    left = _decide([_hit("A", 80.0)], Mixture(components=comps, composite_hqi=95.0,
                                              residual_fraction=0.02, structured_residual=True))
    assert "unexplained signal remains (structured residual)" in left.notes
    assert left.confidence < clean.confidence


def test_thresholds_validate() -> None:
    with pytest.raises(ValueError, match="match_hqi"):
        Thresholds(match_hqi=120.0)
