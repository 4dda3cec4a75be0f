"""The shipped embedding model: determinism, its hash in results, the score's conventions,
the loader's refusals, and a floor on a small held-out RRUFF sample. Nothing here trains."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys
import zipfile
import zlib
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import spectra
from matcher import defaults
from matcher.identify import Identifier
from matcher.learned import (
    DEFAULT_MODEL,
    EmbeddingHQI,
    EmbeddingModel,
    MatcherKind,
    ModelFileError,
    load_model,
    reference_inputs,
    save_model,
)
from matcher.library import EntryMeta, Library
from matcher.search import Searcher
from spectra import Spectrum

from .test_identify_helpers import (  # noqa: F401 (fixture)
    WHENFUNG,
    load_whenfung,
    whenfung_library,
)

RRUFF = Path("raman") / "rruff_excellent_unoriented"


@pytest.fixture(scope="module")
def model() -> EmbeddingModel:
    return load_model()


def _shipped_bytes() -> bytes:
    return resources.files("matcher.learned").joinpath(DEFAULT_MODEL).read_bytes()


def test_shipped_model_is_small_versioned_and_hashed(model: EmbeddingModel) -> None:
    data = _shipped_bytes()
    assert len(data) <= 20 << 20
    assert model.sha256 == hashlib.sha256(data).hexdigest()
    assert model.name == "embedding-v1"
    assert set(model.techniques) == {"raman", "infrared"}
    record = json.loads(resources.files("matcher.learned").joinpath("embedding-v1.json")
                        .read_text(encoding="utf-8"))
    assert record["sha256"] == model.sha256  # the training record describes THIS file


def test_same_input_gives_bit_identical_embeddings(model: EmbeddingModel) -> None:
    rng = np.random.default_rng(5)
    for tech in ("raman", "infrared"):
        net = model.for_technique(tech)
        x = np.abs(rng.normal(size=(40, net.points))).astype(np.float32)
        a = net.embed(x)
        b = net.embed(x.copy())
        c = load_model().for_technique(tech).embed(x)
        assert a.dtype == np.float32 and a.shape == (40, net.dim)
        assert np.array_equal(a, b) and np.array_equal(a, c)
        assert np.array_equal(net.embed(x[3]), net.embed(x[3]))
        assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
        assert np.allclose(a.mean(axis=1), 0.0, atol=1e-6)
        # rows are embedded independently of the batch they come in (up to BLAS rounding)
        assert np.allclose(net.embed(x[3]), a[3], atol=1e-5)


def test_numpy_forward_reproduces_the_trained_torch_network(model: EmbeddingModel) -> None:
    """The training record pins torch's embeddings of two fixed inputs (computed from the
    shipped weights); NumPy must give the same. A random or mis-exported network cannot."""
    record = json.loads(resources.files("matcher.learned").joinpath("embedding-v1.json")
                        .read_text(encoding="utf-8"))
    for tech in ("raman", "infrared"):
        net = model.for_technique(tech)
        want = np.array(record["techniques"][tech]["reference_embeddings"], dtype=np.float32)
        got = net.embed(reference_inputs(net.points))
        assert got.shape == want.shape
        assert np.allclose(got, want, atol=2e-5), float(np.max(np.abs(got - want)))


def test_embed_refuses_wrong_length_and_non_finite(model: EmbeddingModel) -> None:
    net = model.for_technique("raman")
    with pytest.raises(ValueError, match="1651 points"):
        net.embed(np.ones(100, np.float32))
    bad = np.ones(net.points, np.float32)
    bad[7] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        net.embed(bad)


def test_score_pair_and_matrix_agree_and_search_is_exact(
    model: EmbeddingModel, shared_data: Path, whenfung_library: Library  # noqa: F811
) -> None:
    score = EmbeddingHQI(model, "raman")
    refs = np.asarray(whenfung_library.matrix, dtype=np.float64)
    qs = refs[[2, 5, 11]] + 0.01 * np.abs(np.random.default_rng(1).normal(size=(3, refs.shape[1])))
    m = score.matrix(refs, qs)
    p = np.array([[score.pair(r, q) for q in qs] for r in refs])
    assert m.shape == (20, 3)
    assert np.allclose(m, p, atol=1e-6)
    assert np.allclose(score.matrix(refs, refs).diagonal(), 100.0, atol=1e-3)
    brute = Searcher(whenfung_library, score).search(qs, 5, method="brute")
    fast = Searcher(whenfung_library, score).search(qs, 5, method="pruned")
    assert np.array_equal(brute.indices, fast.indices)
    with pytest.raises(ValueError, match="masked"):
        score.transform_mask(np.arange(refs.shape[1]) > 10)


def test_results_record_the_matcher_and_the_model_hash(
    model: EmbeddingModel, shared_data: Path, whenfung_library: Library  # noqa: F811
) -> None:
    s = load_whenfung(shared_data, "pure/phenobarbital.txt")
    classic = Identifier(whenfung_library, matcher="classic").identify(s)
    assert classic.matcher == "classic" and classic.model_hash is None
    for kind in (MatcherKind.LEARNED, MatcherKind.FUSED):
        res = Identifier(whenfung_library, matcher=kind).identify(s)
        assert res.model_hash == model.sha256
        assert res.matcher.startswith(kind.value)
        assert res.library_hash == whenfung_library.hash
        assert res.hits[0].name == "phenobarbital"
        # the hits' scores are the root-HQI of each entry whatever ordered them
        assert res.hits[0].score == pytest.approx(classic.hits[0].score, abs=1e-3)
        back = type(res).model_validate_json(res.model_dump_json())
        assert back.model_hash == model.sha256


@pytest.mark.parametrize("kind", list(MatcherKind))
def test_the_kept_identifiers_and_the_file_batch_use_the_chosen_matcher(
    kind: MatcherKind, shared_data: Path, whenfung_library: Library  # noqa: F811
) -> None:
    """The identifier a station keeps per part (and the file batch, which prepares spectra
    apart from the search) gives what a fresh Identifier of the same matcher gives."""
    from matcher.batch import Identifiers, identify_files

    ids = Identifiers(whenfung_library, matcher=kind)
    assert ids.get() is ids.get()
    path = shared_data / WHENFUNG / "pure" / "phenobarbital.txt"
    got = list(identify_files([path], ids, technique="raman"))
    routed, _ = ids.plan(technique="raman").route(spectra.read(path)[0])
    expected = Identifier(whenfung_library, matcher=kind).identify(routed)
    assert len(got) == 1 and got[0].result == expected
    assert expected.matcher.startswith(kind.value) and expected.hits[0].name == "phenobarbital"


def test_default_matcher_is_a_known_kind() -> None:
    assert MatcherKind(defaults.matcher()) in set(MatcherKind)
    assert defaults.fusion_weight() >= 0


# the embedding runs in NumPy on a field laptop: identifying with the learned and fused
# matchers must not load a deep-learning framework (torch is only the training extra)
_NO_FRAMEWORK = """
import sys
import numpy as np
from matcher.identify import Identifier
from matcher.library import EntryMeta, Library
from matcher import defaults
from spectra import Spectrum
x = np.arange(150.0, 1801.0)
refs = [(EntryMeta(name=f"s{i}"), Spectrum(x, 50 + 1000 * np.exp(-0.5 * ((x - c) / 4) ** 2),
                                            technique="raman")) for i, c in enumerate((400, 900))]
lib = Library.build(refs, pipeline=defaults.raman_pipeline(), axis=defaults.axis_for("raman"),
                    technique="raman", library_id="two-bands")
for kind in ("learned", "fused"):
    Identifier(lib, matcher=kind).identify(refs[1][1])
loaded = sorted(m for m in ("torch", "tensorflow", "jax", "onnxruntime") if m in sys.modules)
print("frameworks:", ",".join(loaded) or "none")
"""


def test_learned_matchers_load_no_deep_learning_framework() -> None:
    proc = subprocess.run([sys.executable, "-c", _NO_FRAMEWORK], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "frameworks: none", proc.stdout


# -- the loader refuses what it cannot trust --------------------------------------------------
def _rewrite(src: bytes, edit: dict[str, np.ndarray | None]) -> bytes:
    """The model file with arrays replaced (or dropped, for None)."""
    with np.load(io.BytesIO(src), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    for k, v in edit.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _meta(src: bytes) -> dict:
    with np.load(io.BytesIO(src), allow_pickle=False) as z:
        return json.loads(z["meta"].tobytes().decode())


@pytest.mark.parametrize(("edit", "message"), [
    ("version", "meta.version"),
    ("format", "meta.format"),
    ("drop", "missing array 'raman/fc/bias'"),
    ("shape", "raman/fc/weight: shape"),
    ("nan", "finite float32"),
    ("extra", "not in the header"),
])
def test_malformed_model_files_are_refused_naming_the_part(
    tmp_path: Path, edit: str, message: str
) -> None:
    src = _shipped_bytes()
    meta = _meta(src)
    change: dict[str, np.ndarray | None] = {}
    if edit in ("version", "format"):
        meta[edit] = 2 if edit == "version" else "something-else"
        change["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    elif edit == "drop":
        change["raman/fc/bias"] = None
    elif edit == "shape":
        change["raman/fc/weight"] = np.zeros((4, 7), np.float32)
    elif edit == "nan":
        change["raman/fc/bias"] = np.full(meta["models"]["raman"]["dim"], np.nan, np.float32)
    else:
        change["stowaway"] = np.zeros(3, np.float32)
    path = tmp_path / "bad.npz"
    path.write_bytes(_rewrite(src, change))
    with pytest.raises(ModelFileError, match=message) as info:
        load_model(path)
    assert str(path) in str(info.value)


def test_not_a_model_file_and_missing_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(ModelFileError, match=r"junk\.npz"):
        load_model(junk)
    with pytest.raises(ModelFileError, match="cannot read"):
        load_model(tmp_path / "absent.npz")


def test_save_model_is_byte_reproducible(tmp_path: Path) -> None:
    src = _shipped_bytes()
    with np.load(io.BytesIO(src), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "meta"}
    headers = _meta(src)["models"]
    a = save_model(tmp_path / "a.npz", headers, arrays)
    b = save_model(tmp_path / "b.npz", headers, dict(reversed(list(arrays.items()))))
    assert a == b == hashlib.sha256((tmp_path / "a.npz").read_bytes()).hexdigest()
    assert a == load_model(tmp_path / "a.npz").sha256
    with zipfile.ZipFile(tmp_path / "a.npz") as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


# -- a floor on a small held-out sample (minerals the model never trained on) ----------------
def _held_out(shared: Path, n_queries: int) -> tuple[Library, list[Spectrum], list[str]]:
    z = np.load(shared / RRUFF / "rruff_raman_excellent_unoriented_1cm.npz", allow_pickle=False)
    inten, off, xs = z["intensity"], z["offsets"], z["x_start"]
    with open(shared / RRUFF / "rruff_raman_excellent_unoriented_metadata.csv",
              encoding="utf-8") as f:
        meta = list(csv.DictReader(f))

    def spec(i: int) -> Spectrum:
        y = inten[off[i]:off[i + 1]].astype(np.float64)
        return Spectrum(xs[i] + np.arange(y.size, dtype=np.float64), y, technique="raman")

    held = [i for i, m in enumerate(meta)
            if zlib.crc32(m["mineral"].encode()) % 2 == 1 and m["benchmark_role"] != "library_only"]
    lib_rows = [i for i in held if meta[i]["benchmark_role"] == "library"]
    q_rows = [i for i in held if meta[i]["benchmark_role"] == "query"][::7][:n_queries]
    refs = [(EntryMeta(name=meta[i]["mineral"], id=f"e{i}"), spec(i)) for i in lib_rows]
    lib = Library.build(refs, pipeline=defaults.raman_pipeline(),
                        axis=defaults.axis_for("raman"), technique="raman", library_id="held")
    return lib, [spec(i) for i in q_rows], [meta[i]["mineral"] for i in q_rows]


@pytest.mark.shared
def test_floor_on_held_out_minerals(shared_data: Path, model: EmbeddingModel) -> None:
    lib, queries, truth = _held_out(shared_data, 50)
    got = {}
    for kind in MatcherKind:
        idf = Identifier(lib, matcher=kind, model=model)
        got[kind.value] = np.mean([idf.identify(q).hits[0].name == t
                                   for q, t in zip(queries, truth, strict=True)])
    # floors a few points under what this sample measured with the shipped model
    # (see docs/accuracy.md); a broken export or forward falls far below them
    assert got["learned"] >= FLOOR_LEARNED, got
    assert got["fused"] >= FLOOR_FUSED, got
    assert got["classic"] >= FLOOR_CLASSIC, got


# measured with the shipped model on these 50 queries: classic 0.84, learned 0.82, fused
# 0.84 (an UNTRAINED network of the same shape also reaches ~0.86 here: this floor guards
# the pipeline, the reference-embedding test above guards the weights)
FLOOR_LEARNED = 0.74
FLOOR_FUSED = 0.76
FLOOR_CLASSIC = 0.76
