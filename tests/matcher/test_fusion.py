"""Raman + FTIR fusion on real RRUFF specimens measured both ways."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher.identify import Identifier, fuse
from matcher.library import Library
from matcher.results import Identification, Verdict
from spectra import Spectrum

from .test_identify_helpers import build_rruff


@pytest.fixture(scope="module")
def both(shared_data: Path) -> tuple[Identifier, dict[str, list[Spectrum]],
                                     Identifier, dict[str, list[Spectrum]]]:
    raman: tuple[Library, dict[str, list[Spectrum]]] = build_rruff(shared_data, "raman")
    ftir = build_rruff(shared_data, "infrared")
    return Identifier(raman[0]), raman[1], Identifier(ftir[0]), ftir[1]


def _raman(both, name: str) -> Identification:
    """The LAST RRUFF file of a mineral (the library holds the first) through Raman."""
    return both[0].identify(both[1][name][-1])


def _ftir(both, name: str) -> Identification:
    return both[2].identify(both[3][name][-1])


def test_agreement_raises_confidence(both) -> None:
    raman, ftir = _raman(both, "Calcite"), _ftir(both, "Calcite")
    assert raman.verdict is Verdict.MATCH and ftir.verdict is Verdict.MATCH
    assert raman.hits[0].name == ftir.hits[0].name == "Calcite"
    fused = fuse([raman, ftir])
    assert fused.agreement is True and fused.verdict is Verdict.MATCH
    assert fused.confidence > max(raman.confidence, ftir.confidence)
    assert fused.confidence == pytest.approx(1 - (1 - raman.confidence) * (1 - ftir.confidence))
    assert "calcite" in (fused.reason or "")
    assert fused.results == (raman, ftir)


def test_disagreement_reported_with_both_hit_lists(both) -> None:
    raman, ftir = _raman(both, "Quartz"), _ftir(both, "Baryte")
    assert raman.verdict is Verdict.MATCH and ftir.verdict is Verdict.MATCH
    fused = fuse([raman, ftir])
    assert fused.agreement is False
    assert fused.verdict is Verdict.INCONCLUSIVE and fused.confidence == 0.0
    assert "disagree" in (fused.reason or "")
    assert "quartz" in (fused.reason or "") and "baryte" in (fused.reason or "")
    assert fused.results[0].hits and fused.results[1].hits


def test_one_technique_inconclusive(both) -> None:
    raman, ftir = _raman(both, "Talc"), _ftir(both, "Calcite")
    assert raman.verdict is Verdict.INCONCLUSIVE  # a weak match on this specimen
    fused = fuse([raman, ftir])
    assert fused.agreement is None and fused.verdict is ftir.verdict
    assert fused.confidence == ftir.confidence
    assert "only infrared is conclusive" in (fused.reason or "")
    assert "raman INCONCLUSIVE" in (fused.reason or "")


def test_both_no_match(both) -> None:
    ftir = _ftir(both, "Dolomite")  # a far-infrared file, 50-700 cm⁻¹: nothing to match
    assert ftir.verdict is Verdict.NO_MATCH
    fused = fuse([ftir, ftir])
    assert fused.verdict is Verdict.NO_MATCH and fused.agreement is True


def test_alert_survives_fusion(both) -> None:
    raman, ftir = _raman(both, "Calcite"), _ftir(both, "Calcite")
    flagged = ftir.model_copy(update={"alert": True, "alert_substances": ("X",)})
    fused = fuse([raman, flagged])
    assert fused.alert and fused.alert_substances == ("X",)


def test_fuse_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no result"):
        fuse([])
