"""A library is verified where it comes in: the attacks of issue 10 on a real library file.

The library is the embedded default Raman library, built from ``fixtures/library``. Each
attack edits the file the way an intruder with write access would (same length, so every
offset and the file length still agree) and must be refused when the file is opened, through
the Python API and through ``interdict identify``; nothing is identified with it. Each attack
is first shown to be real: the edited content, were it used, changes the answer.

The hash recorded in the evidence is checked against a second, slow implementation of the
documented definition (``docs/performance.md``, *The library file*) over the file's bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import spectra
from matcher.identify import Identifier
from matcher.library import (
    Library,
    LibraryEntry,
    LibraryError,
    LibraryFileError,
    LibraryIntegrityError,
    LibrarySet,
)
from spectra import Pipeline
from station.cli import main
from station.workflows.library import DEFAULT_LIBRARY_DIR, build_library

ROOT = Path(__file__).resolve().parents[2]
AMPHETAMINE = DEFAULT_LIBRARY_DIR / "amphetamine_sulfate.csv"
CALCITE = DEFAULT_LIBRARY_DIR / "calcite.csv"


# -- the file, read by hand (independent of matcher.library._format) ----------------------


class Layout:
    """Where things are in a one-part library file, parsed from its preamble and header."""

    def __init__(self, raw: bytes) -> None:
        _magic, _version, _flags, hlen, _hsha, _total = struct.unpack_from("<8sIIQ32sQ", raw)
        self.hlen = hlen
        self.header = json.loads(raw[64 : 64 + hlen])
        self.data_start = (64 + hlen + 63) // 64 * 64
        self.part = self.header["parts"][0]
        self.n, self.d = self.part["n"], self.part["d"]

    def section(self, name: str) -> tuple[int, int]:
        sec = self.part[name]
        return self.data_start + sec["offset"], sec["length"]

    def entry_span(self, raw: bytes, i: int) -> tuple[int, int]:
        off, _ = self.section("entry_offsets")
        base, _ = self.section("entries")
        a, b = struct.unpack_from("<QQ", raw, off + 8 * i)
        return base + a, base + b

    def row_span(self, i: int) -> tuple[int, int]:
        base, _ = self.section("matrix")
        return base + i * self.d * 4, base + (i + 1) * self.d * 4

    def row_of(self, raw: bytes, entry_id: str) -> int:
        for i in range(self.n):
            a, b = self.entry_span(raw, i)
            if json.loads(raw[a:b])["id"] == entry_id:
                return i
        raise KeyError(entry_id)


LEAF_BYTES = 1 << 23  # scheme 2's documented leaf size


def _canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True).encode("ascii")


def reference_hash(raw: bytes, *, canonical: bool = True) -> str:
    """The content hash by its documented definition, computed slowly from the file bytes.

    Scheme ``interdict.library/<format version>``; ``meta`` = the canonical JSON (sorted
    keys, no spaces, ASCII) of ``scheme, id, technique, x_unit, pipeline, min_coverage, n,
    d`` (+ ``leaf_bytes`` in scheme 2); ``axis`` little-endian float64; ``e_i`` each entry's
    canonical JSON; the matrix as little-endian float32, row by row.

    * scheme 1: sha256(meta, NUL, axis, e_0, LF, ..., e_N-1, LF, matrix)
    * scheme 2: sha256(meta, NUL, axis, E, M_0, ..., M_K-1) with E = sha256(e_0, LF, ...,
      e_N-1, LF) and M_k = sha256 of the k-th 8 MiB of the matrix (raw 32-byte digests).

    ``canonical=False`` hashes each entry as stored instead (the same for a well-formed
    file, whose entries are stored in canonical form).
    """
    lay = Layout(raw)
    (version,) = struct.unpack_from("<I", raw, 8)
    p = lay.part
    meta = {"scheme": f"interdict.library/{version}", "id": p["id"],
            "technique": p["technique"], "x_unit": p["x_unit"], "pipeline": p["pipeline"],
            "min_coverage": p["min_coverage"], "n": p["n"], "d": p["d"]}
    if version == 2:
        meta["leaf_bytes"] = LEAF_BYTES
    lines = b""
    for i in range(lay.n):
        a, b = lay.entry_span(raw, i)
        line = raw[a:b]
        if canonical:  # the entry as used
            line = _canonical(json.loads(line))
        lines += line + b"\n"
    m0, mlen = lay.section("matrix")
    matrix = raw[m0 : m0 + mlen]
    head = _canonical(meta) + b"\x00" + np.asarray(p["axis"], dtype="<f8").tobytes()
    if version == 1:
        return hashlib.sha256(head + lines + matrix).hexdigest()
    assert version == 2
    leaves = b"".join(hashlib.sha256(matrix[k : k + LEAF_BYTES]).digest()
                      for k in range(0, len(matrix), LEAF_BYTES))
    return hashlib.sha256(head + hashlib.sha256(lines).digest() + leaves).hexdigest()


def _recomputed(edited: bytes, *, canonical: bool = True) -> bytes:
    """``edited`` with its content hash and header checksum recomputed (as a forger would)."""
    lay = Layout(edited)
    fresh = reference_hash(edited, canonical=canonical).encode()
    header = edited[64 : 64 + lay.hlen].replace(lay.part["hash"].encode(), fresh)
    pre = bytearray(edited[:64])
    pre[24:56] = hashlib.sha256(header).digest()
    return bytes(pre) + header + edited[64 + lay.hlen :]


def as_version_1(raw: bytes) -> bytes:
    """The same library as a format-1 file (as Interdict wrote it before the hash tree)."""
    lay = Layout(raw)
    header = raw[64 : 64 + lay.hlen].replace(b'"format_version":2', b'"format_version":1')
    v1 = raw[:8] + struct.pack("<I", 1) + raw[12:64] + header + raw[64 + lay.hlen :]
    return _recomputed(v1)


# -- the attacks --------------------------------------------------------------------------


def _pad(old: bytes, key: bytes, value: bytes) -> bytes:
    """``"key":value`` padded with JSON blanks to the length of ``old``."""
    new = b'"' + key + b'":' + b" " * (len(old) - len(key) - 3 - len(value)) + value
    assert len(new) == len(old)
    return new


def demote_amphetamine(raw: bytes) -> bytes:
    """Amphetamine's category 'controlled' -> 'benign' and its schedule blanked, in place.

    Same length (JSON blanks pad the shorter values), so every offset still agrees.
    """
    lay = Layout(raw)
    a, b = lay.entry_span(raw, lay.row_of(raw, "amphetamine-sulfate"))
    line = raw[a:b]
    schedule = b'"schedule":' + json.dumps(json.loads(line)["schedule"]).encode()
    category = b'"category":"controlled"'
    assert category in line and schedule in line
    line = line.replace(category, _pad(category, b"category", b'"benign"'))
    line = line.replace(schedule, _pad(schedule, b"schedule", b"null"))
    return raw[:a] + line + raw[b:]


def swap_amphetamine_and_calcite(raw: bytes) -> bytes:
    """Swap the matrix rows of amphetamine and calcite (the entries stay where they are)."""
    lay = Layout(raw)
    (a0, a1), (c0, c1) = (lay.row_span(lay.row_of(raw, e))
                          for e in ("amphetamine-sulfate", "calcite"))
    out = bytearray(raw)
    out[a0:a1], out[c0:c1] = raw[c0:c1], raw[a0:a1]
    return bytes(out)


def change_one_matrix_value(raw: bytes) -> bytes:
    """One float32 of amphetamine's row, its largest, made a spike 100 times as high."""
    lay = Layout(raw)
    a0, a1 = lay.row_span(lay.row_of(raw, "amphetamine-sulfate"))
    row = np.frombuffer(raw[a0:a1], dtype="<f4")
    k = a0 + 4 * int(np.argmax(row))
    return raw[:k] + struct.pack("<f", 100.0 * float(row.max())) + raw[k + 4 :]


ATTACKS: dict[str, Callable[[bytes], bytes]] = {
    "category edited in place": demote_amphetamine,
    "two rows swapped": swap_amphetamine_and_calcite,
    "one matrix value changed": change_one_matrix_value,
}


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def library() -> Library:
    return build_library([DEFAULT_LIBRARY_DIR], library_id="fixtures-raman")


@pytest.fixture(scope="module")
def lib_file(library: Library, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return library.save(tmp_path_factory.mktemp("lib") / "fixtures.ilib")


def _query(path: Path) -> spectra.Spectrum:
    return spectra.read(path)[0].replace(technique="raman")


def _tampered(lib_file: Path, attack: str, tmp_path: Path) -> Path:
    out = tmp_path / "tampered.ilib"
    out.write_bytes(ATTACKS[attack](lib_file.read_bytes()))
    return out


def _library_from_bytes_unchecked(raw: bytes, like: Library) -> Library:
    """The tampered content as a library, built by hand: what would be used without a check."""
    lay = Layout(raw)
    entries = [LibraryEntry.model_validate_json(raw[slice(*lay.entry_span(raw, i))])
               for i in range(lay.n)]
    m0, mlen = lay.section("matrix")
    matrix = np.frombuffer(raw[m0 : m0 + mlen], dtype="<f4").reshape(lay.n, lay.d)
    return Library.from_vectors(entries, matrix, axis=like.axis, pipeline=like.pipeline,
                                technique=like.technique, library_id=like.id)


def _top(lib: Library, query: Path) -> tuple[str, bool]:
    res = Identifier(lib).identify(_query(query))
    return res.hits[0].entry_id, res.alert


# -- tests --------------------------------------------------------------------------------


def test_the_untampered_library_identifies_as_expected(lib_file: Path) -> None:
    lib = Library.load(lib_file)
    assert _top(lib, AMPHETAMINE) == ("amphetamine-sulfate", True)
    assert _top(lib, CALCITE) == ("calcite", False)


def test_reading_without_pread_gives_the_same_library(
    lib_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows has no os.preadv: the seek-and-read path verifies and answers the same."""
    with_pread = Library.load(lib_file)
    monkeypatch.delattr(os, "preadv")
    without = Library.load(lib_file)
    assert without.hash == with_pread.hash
    np.testing.assert_array_equal(without.matrix, with_pread.matrix)
    assert _top(without, AMPHETAMINE) == ("amphetamine-sulfate", True)


@pytest.mark.parametrize(
    ("attack", "amphetamine", "calcite"),
    [
        # the reproductions: an ALERT turned into a benign MATCH; amphetamine named
        # calcite and calcite named amphetamine, with an ALERT
        ("category edited in place", ("amphetamine-sulfate", False), ("calcite", False)),
        ("two rows swapped", ("calcite", False), ("amphetamine-sulfate", True)),
        # one value of amphetamine's row: still its top hit, but no longer an ALERT
        ("one matrix value changed", ("amphetamine-sulfate", False), ("calcite", False)),
    ],
)
def test_each_attack_would_change_the_answer(
    attack: str, amphetamine: tuple[str, bool], calcite: tuple[str, bool], library: Library,
    lib_file: Path,
) -> None:
    """Not a straw man: the edited content, used unchecked, answers wrongly."""
    bad = _library_from_bytes_unchecked(ATTACKS[attack](lib_file.read_bytes()), library)
    assert bad.compute_hash() != library.hash
    assert (_top(bad, AMPHETAMINE), _top(bad, CALCITE)) == (amphetamine, calcite)


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_tampered_library_is_refused_by_the_python_api(
    attack: str, lib_file: Path, tmp_path: Path
) -> None:
    bad = _tampered(lib_file, attack, tmp_path)
    expected = json.loads(lib_file.read_bytes()[64 : 64 + Layout(lib_file.read_bytes()).hlen])
    recorded = expected["parts"][0]["hash"]
    for load in (Library.load, LibrarySet.load):
        with pytest.raises(LibraryIntegrityError) as ei:
            load(bad)
        err = ei.value
        assert isinstance(err, LibraryFileError)  # one family: callers catching it still do
        assert err.path == str(bad) and err.part == "fixtures-raman"
        assert err.recorded == recorded
        assert err.actual == reference_hash(bad.read_bytes(), canonical=False)
        assert "content hash" in str(err) and recorded in str(err)


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_tampered_library_is_refused_by_interdict_identify(
    attack: str, lib_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _tampered(lib_file, attack, tmp_path)
    code = main(["identify", str(AMPHETAMINE), str(CALCITE), "--library", str(bad),
                 "--technique", "raman", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""  # nothing identified with it
    assert str(bad) in err and "content hash" in err and "fixtures-raman" in err


@pytest.mark.parametrize("command", [["info"], ["list"], ["info", "--json"]])
def test_interdict_library_refuses_a_tampered_file_too(
    command: list[str], lib_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _tampered(lib_file, "category edited in place", tmp_path)
    code = main(["library", command[0], str(bad), *command[1:]])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert "content hash mismatch" in err and str(bad) in err


@pytest.mark.parametrize(
    ("name", "edit", "message"),
    [
        ("truncated", lambda raw: raw[: len(raw) - 100], "truncated"),
        ("bad header", lambda raw: raw[:70] + b"#" + raw[71:], "header checksum"),
        ("not a library", lambda raw: b"x,y\n1,2\n" * 20, "not an Interdict library"),
    ],
)
def test_a_damaged_file_is_refused_by_interdict_identify(
    name: str, edit: Callable[[bytes], bytes], message: str, lib_file: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / f"{name}.ilib"
    bad.write_bytes(edit(lib_file.read_bytes()))
    code = main(["identify", str(AMPHETAMINE), "--library", str(bad), "--technique", "raman",
                 "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert str(bad) in err and message in err


def test_the_station_refuses_a_tampered_library_before_it_scans(
    lib_file: Path, tmp_path: Path
) -> None:
    """``scan``, ``watch``, ``reidentify`` and the demo open the library through the session."""
    from station.config import load_config
    from station.errors import LibraryUnavailableError
    from station.exit_codes import ExitCode, classify
    from station.workflows.scan import StationSession

    bad = _tampered(lib_file, "two rows swapped", tmp_path)
    cfg = load_config({"library": str(bad), "db": str(tmp_path / "evidence.db")}, env={})
    session = StationSession(cfg)
    with pytest.raises(LibraryUnavailableError) as ei:
        session.open_library()
    assert "content hash mismatch" in str(ei.value)
    assert classify(ei.value) is not None and classify(ei.value)[0] is ExitCode.ERROR
    assert session.libs is None


def test_the_embedded_default_library_is_verified_too(tmp_path: Path) -> None:
    from station.workflows.library import default_library_path, open_libraries

    first = open_libraries(None, tmp_path)  # built on first use, then opened (verified)
    path = default_library_path(tmp_path)
    path.write_bytes(swap_amphetamine_and_calcite(path.read_bytes()))
    with pytest.raises(LibraryIntegrityError) as ei:
        open_libraries(None, tmp_path)
    assert ei.value.part == first[0].id


def test_the_evidence_records_the_hash_of_what_was_used(
    lib_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = reference_hash(lib_file.read_bytes())
    lib = LibrarySet.load(lib_file).get()
    assert lib.hash == expected == lib.compute_hash()
    assert Identifier(lib).identify(_query(AMPHETAMINE)).library_hash == expected
    assert main(["identify", str(AMPHETAMINE), "--library", str(lib_file),
                 "--technique", "raman", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["library_hash"] == expected


def test_a_forger_who_rewrites_the_file_changes_the_recorded_hash(
    library: Library, lib_file: Path, tmp_path: Path
) -> None:
    """The self-check cannot stop a well-formed forgery; the evidence then names its hash.

    (Which hash a station should accept is a matter of pinning the published one.)
    """
    from matcher.results import Category

    demoted = [e.model_copy(update={"category": Category.BENIGN, "schedule": None})
               if e.id == "amphetamine-sulfate" else e for e in library.entries]
    forged = Library.from_vectors(demoted, library.matrix, axis=library.axis,
                                  pipeline=library.pipeline, technique=library.technique,
                                  library_id=library.id).save(tmp_path / "forged.ilib")
    res = Identifier(Library.load(forged)).identify(_query(AMPHETAMINE))
    assert res.hits[0].entry_id == "amphetamine-sulfate" and not res.alert  # it works ...
    assert res.library_hash == reference_hash(forged.read_bytes())  # ... under its own hash
    assert res.library_hash != reference_hash(lib_file.read_bytes())


def test_a_non_canonical_entry_is_refused_when_it_is_used(lib_file: Path, tmp_path: Path) -> None:
    """The hash covers each entry in its canonical form; what is stored must be that form.

    Two keys of amphetamine's entry swapped (same length, same meaning, not canonical): with
    the hash recomputed over the canonical forms the file's bytes no longer give it; with the
    hash recomputed over the stored bytes the file opens, but the entry is refused when it
    is decoded, so it never enters a result.
    """
    raw = lib_file.read_bytes()
    lay = Layout(raw)
    i = lay.row_of(raw, "amphetamine-sulfate")
    a, b = lay.entry_span(raw, i)
    obj = json.loads(raw[a:b])
    keys = sorted(obj)
    keys[0], keys[1] = keys[1], keys[0]
    line = json.dumps({k: obj[k] for k in keys}, separators=(",", ":"),
                      ensure_ascii=True).encode("ascii")
    assert len(line) == b - a and line != raw[a:b] and json.loads(line) == obj
    edited = raw[:a] + line + raw[b:]
    as_defined = tmp_path / "as-defined.ilib"
    as_defined.write_bytes(_recomputed(edited, canonical=True))
    with pytest.raises(LibraryIntegrityError, match="content hash"):
        Library.load(as_defined)
    as_stored = tmp_path / "as-stored.ilib"
    as_stored.write_bytes(_recomputed(edited, canonical=False))
    lib = Library.load(as_stored)
    with pytest.raises(LibraryFileError, match=f"entry {i} is not in canonical form"):
        lib.entries[i]
    with pytest.raises(LibraryFileError, match="canonical"):
        Identifier(lib).identify(_query(AMPHETAMINE))


def test_a_version_1_file_is_still_read_and_verified(
    library: Library, lib_file: Path, tmp_path: Path
) -> None:
    """Format 1 (one SHA-256 stream) is read with its own definition, and checked."""
    v1 = tmp_path / "v1.ilib"
    v1.write_bytes(as_version_1(lib_file.read_bytes()))
    old = Library.load(v1)
    assert old.hash_scheme == "interdict.library/1" and library.hash_scheme.endswith("/2")
    assert old.hash == reference_hash(v1.read_bytes()) == old.compute_hash() != library.hash
    assert Identifier(old).identify(_query(AMPHETAMINE)).library_hash == old.hash
    swapped = tmp_path / "v1-swapped.ilib"
    swapped.write_bytes(swap_amphetamine_and_calcite(v1.read_bytes()))
    with pytest.raises(LibraryIntegrityError, match="content hash"):
        Library.load(swapped)
    # written again, it is written in the current format: the very file of the same content
    assert old.save(tmp_path / "again.ilib").read_bytes() == lib_file.read_bytes()


def test_a_matrix_of_several_leaves(tmp_path: Path) -> None:
    """Scheme 2 over a matrix of 2 full leaves and a partial one, hashed on every core."""
    rng = np.random.default_rng(3)
    n, d = 2400, 1800  # 17.3 MB: 8 MiB + 8 MiB + 0.5 MiB
    entries = [LibraryEntry(id=f"r{i}", name=f"R{i}", technique="raman",
                            spectrum_hash=f"{i:064x}") for i in range(n)]
    lib = Library.from_vectors(entries, rng.random((n, d), dtype=np.float32),
                               axis=np.linspace(200.0, 2000.0, d), pipeline=Pipeline(),
                               technique="raman", library_id="leaves")
    path = lib.save(tmp_path / "leaves.ilib")
    raw = path.read_bytes()
    assert Library.load(path).hash == lib.hash == reference_hash(raw)
    lay = Layout(raw)
    for row in (0, 1200, n - 1):  # a value in the first, a middle and the last leaf
        a, _ = lay.row_span(row)
        bad = tmp_path / f"bad-{row}.ilib"
        bad.write_bytes(raw[:a] + struct.pack("<f", 2.0) + raw[a + 4 :])
        with pytest.raises(LibraryIntegrityError):
            Library.load(bad)


@pytest.fixture(scope="module")
def small_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Library]:
    from .test_library_data import small_library

    lib = small_library(3)
    return lib.save(tmp_path_factory.mktemp("small") / "small.ilib"), lib


@given(data=st.data())
@settings(max_examples=100)
def test_any_corruption_is_refused_or_changes_nothing_used(
    small_file: tuple[Path, Library], data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Any byte changed, or the file cut anywhere: a typed refusal, or the same library.

    (A changed byte of alignment padding changes nothing used; one in a raw reference is
    refused when that reference is read.)
    """
    path, lib = small_file
    raw = bytearray(path.read_bytes())
    if data.draw(st.booleans(), label="cut"):
        raw = raw[: data.draw(st.integers(0, len(raw) - 1), label="length")]
    else:
        at = data.draw(st.integers(0, len(raw) - 1), label="offset")
        raw[at] ^= data.draw(st.integers(1, 255), label="xor")
    bad = tmp_path_factory.mktemp("bad") / "bad.ilib"
    bad.write_bytes(bytes(raw))
    try:
        got = Library.load(bad)
    except LibraryError:
        return
    assert got.hash == lib.hash
    np.testing.assert_array_equal(got.matrix, lib.matrix)
    assert list(got.entries) == list(lib.entries)
    for i in range(len(lib)):
        with contextlib.suppress(LibraryFileError):  # refused when read: fine
            assert got.reference(i) == lib.reference(i)


# -- a file changed under a running process ---------------------------------------------

CHILD = textwrap.dedent("""
    import sys
    import spectra
    from matcher.identify import Identifier
    from matcher.library import LibraryError, LibrarySet

    def top(ident, path):
        r = ident.identify(spectra.read(path)[0].replace(technique="raman"))
        return f"{r.hits[0].entry_id} alert={r.alert} hash={r.library_hash}"

    lib = LibrarySet.load(sys.argv[1]).get()
    ident = Identifier(lib)
    print("first", top(ident, sys.argv[2]), flush=True)
    sys.stdin.readline()  # the parent changes the file, then says go
    print("again", top(ident, sys.argv[3]), flush=True)
    print("again", top(ident, sys.argv[2]), flush=True)
    try:  # raw references are read on demand (and checked against their entry's hash)
        print("reference", lib.reference(lib.index_of("calcite")).content_hash, flush=True)
    except LibraryError as exc:
        print("reference refused:", type(exc).__name__, exc, flush=True)
""")


def _hold_and_change(path: Path, change: Callable[[], None]) -> tuple[int, list[str], str]:
    """A process opens the library and identifies; the file changes; it identifies again."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(AMPHETAMINE), str(CALCITE)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=ROOT,
    )
    watchdog = threading.Timer(120.0, proc.kill)  # a hung child fails the test, not the suite
    watchdog.start()
    try:
        assert proc.stdout is not None and proc.stdin is not None
        first = proc.stdout.readline()  # the event: the child has opened and identified
        assert first.startswith("first "), proc.stderr.read() if proc.stderr else ""
        change()
        out, err = proc.communicate("go\n")
    finally:
        watchdog.cancel()
    return proc.returncode, [first.strip(), *out.strip().splitlines()], err


def test_truncating_the_file_under_a_running_process_does_not_crash_it(
    library: Library, tmp_path: Path
) -> None:
    path = library.save(tmp_path / "held.ilib")
    code, lines, err = _hold_and_change(path, lambda: os.truncate(path, 4096))
    assert code == 0, f"exit {code} (SIGBUS is {-7}): {err}"
    assert lines[0] == f"first amphetamine-sulfate alert=True hash={library.hash}"
    assert lines[1] == f"again calcite alert=False hash={library.hash}"
    assert lines[2] == lines[0].replace("first", "again")
    # a raw reference is not held in memory: read now, from a cut file, it is refused, typed
    assert lines[3].startswith("reference refused: LibraryFileError") and "truncated" in lines[3]
    with pytest.raises(LibraryFileError, match="truncated"):  # a new open sees the damage
        Library.load(path)


def test_a_replaced_file_is_picked_up_only_when_opened_again(
    library: Library, tmp_path: Path
) -> None:
    path = library.save(tmp_path / "held.ilib")
    smaller = Library.from_vectors(
        [e for e in library.entries if e.id != "amphetamine-sulfate"],
        np.delete(library.matrix, library.index_of("amphetamine-sulfate"), axis=0),
        axis=library.axis, pipeline=library.pipeline, technique=library.technique,
        library_id=library.id)
    code, lines, err = _hold_and_change(path, lambda: smaller.save(path))
    assert code == 0, err
    assert lines[2] == f"again amphetamine-sulfate alert=True hash={library.hash}"
    # the replaced file's old bytes stay readable through the descriptor the process holds
    assert lines[3] == f"reference {library.reference(library.index_of('calcite')).content_hash}"
    assert Library.load(path).hash == smaller.hash != library.hash
