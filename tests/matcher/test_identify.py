"""identify(): the whole chain on real spectra (quality → prepare → search → mixture → verdict)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matcher import identify as identify_mod
from matcher.identify import Identifier, identify, identify_batch
from matcher.library import Library, QueryMismatchError
from matcher.results import Identification, Verdict

from .test_identify_helpers import build_rruff, load_whenfung, whenfung_library, whenfung_rows

__all__ = ["whenfung_library"]


def test_every_pure_standard_matches_itself(shared_data: Path, whenfung_library: Library) -> None:
    idf = Identifier(whenfung_library)
    for r in whenfung_rows(shared_data):
        if r["kind"] != "pure":
            continue
        res = idf.identify(load_whenfung(shared_data, r["file"]), k=5)
        assert res.verdict is Verdict.MATCH, (r["substance"], res.verdict, res.reason)
        assert res.hits[0].name == r["substance"]
        assert res.hits[0].score > 99.0
        assert res.mixture is None
        assert len({h.name for h in res.hits}) == len(res.hits) == 5  # one hit per substance
        assert res.confidence > 0.9
        assert res.snr is not None and res.snr > 10


def test_result_round_trips_as_json(shared_data: Path, whenfung_library: Library) -> None:
    res = identify(load_whenfung(shared_data, "mixtures/mix_methanol40_ethanol60.txt"),
                   whenfung_library)
    again = Identification.model_validate_json(res.model_dump_json())
    assert again == res
    assert res.verdict is Verdict.MIXTURE and res.mixture is not None
    assert abs(sum(c.share for c in res.mixture.components) - 1.0) < 1e-3


def test_batch_equals_one_by_one(shared_data: Path, whenfung_library: Library) -> None:
    files = ["pure/acetone.txt", "mixtures/mix_n-hexane40_cyclohexane60.txt", "pure/pyridine.txt"]
    spectra_ = [load_whenfung(shared_data, f) for f in files]
    batch = identify_batch(spectra_, whenfung_library, k=3)
    one = [identify(s, whenfung_library, k=3) for s in spectra_]
    assert batch == one


@pytest.mark.parametrize("shift", [-5.0, -3.0, 3.0, 5.0])
def test_axis_offset_is_corrected_and_noted(
    shared_data: Path, whenfung_library: Library, shift: float
) -> None:
    s = load_whenfung(shared_data, "pure/phenobarbital.txt")
    res = Identifier(whenfung_library).identify(s.replace(x=s.x + shift))
    assert res.verdict is Verdict.MATCH and res.hits[0].name == "phenobarbital"
    assert res.alert
    assert any(n.startswith("axis offset corrected") for n in res.notes)
    assert res.hits[0].score > 95.0


def test_unknown_substance_is_not_forced_into_a_match(
    shared_data: Path, whenfung_library: Library
) -> None:
    """Minerals against a library of solvents and drugs: never a MATCH."""
    _, minerals = build_rruff(shared_data, "raman")
    for name, ss in minerals.items():
        if ss[0].x[-1] < 1000:
            continue
        try:
            res = Identifier(whenfung_library).identify(ss[0])
        except QueryMismatchError:
            continue
        assert res.verdict is not Verdict.MATCH, (name, res.hits[:2])


def test_rruff_second_specimen_identified(shared_data: Path) -> None:
    """A different specimen of a mineral (another RRUFF id) finds its species."""
    lib, by_name = build_rruff(shared_data, "raman")
    idf = Identifier(lib)
    checked = 0
    for name, ss in by_name.items():
        for s in ss[1:]:
            res = idf.identify(s)
            assert res.hits[0].name == name, (name, s.source, res.hits[:3])
            checked += 1
    assert checked >= 6


def test_wrong_technique_is_refused(shared_data: Path, whenfung_library: Library) -> None:
    s = load_whenfung(shared_data, "pure/ethanol.txt").replace(
        technique="infrared", x_unit="wavenumber-cm-1")
    with pytest.raises(QueryMismatchError, match="infrared"):
        identify(s, whenfung_library)


def test_prepared_library_is_not_modified(whenfung_library: Library, shared_data: Path) -> None:
    before = np.array(whenfung_library.matrix, copy=True)
    idf = Identifier(whenfung_library)
    idf.identify(load_whenfung(shared_data, "mixtures/mix_methanol20_ethanol80.txt"))
    assert np.array_equal(before, whenfung_library.matrix)
    assert not idf._ranking.flags.writeable
    assert "fuse" in identify_mod.__all__


def test_pruned_search_gives_the_same_results(
    shared_data: Path, whenfung_library: Library
) -> None:
    brute = Identifier(whenfung_library, pruned_search=False)
    pruned = Identifier(whenfung_library, pruned_search=True)
    for r in whenfung_rows(shared_data):
        s = load_whenfung(shared_data, r["file"])
        a, b = brute.identify(s, k=5), pruned.identify(s, k=5)
        assert [h.entry_id for h in a.hits] == [h.entry_id for h in b.hits]
        assert [h.score for h in a.hits] == pytest.approx([h.score for h in b.hits], abs=1e-3)
        assert a.verdict is b.verdict and a.mixture == b.mixture
