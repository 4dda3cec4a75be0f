"""The mutation fuzzer as a bounded test: a fixed seed, a fixed number of inputs per target.

Every input is derived deterministically from a real file (``../shared/data/formats`` and a
few vendor text exports; the AED fixture batch; encoded wire frames), so a failure here names
an input that fails the same way on any machine: its bytes and the mutation trail are written
under ``tmp_path`` and printed. Each target runs in a worker process with an address-space
limit (``tests/fuzz/isolated.py``), so an input that makes the code allocate without bound
fails as a finding instead of taking the machine down. ``bench/fuzz.py`` runs the same targets
for longer.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from spectra import FormatError

from .engine import MiB, Seed, Target, fuzz, mutate, scratch_dir
from .isolated import ROOT, Totals, run_isolated
from .targets import frame_target

SEED = 20_261_203
SEED_BYTES = 48 * 1024
"""Seeds larger than this are left to the bench: each input costs time in proportion."""

ITERATIONS = {
    "spectra.read": 250,
    "jcamp": 250,
    "spc": 800,
    "text": 250,
    "aed": 200,
    "frame": 1500,
}
"""Inputs per target: about a minute in all on the shared 2-core machine (memory is traced)."""


def _run(name: str, tmp_path: Path) -> Totals:
    totals = run_isolated(name, seed=SEED, out=tmp_path / "reproducers",
                          iterations=ITERATIONS[name], memory_mb=512,
                          max_seed_bytes=SEED_BYTES)
    print(totals.summary())
    print("  refusals:", dict(totals.refusals))
    return totals


def _assert_clean(totals: Totals) -> None:
    assert not totals.findings, totals.summary()
    assert totals.tried == ITERATIONS[totals.name]
    # both paths were exercised: damaged input was refused, and some still read
    assert totals.kinds["refused"] > 0 or totals.name in ("aed", "frame")
    assert totals.kinds["ok"] > 0
    assert totals.seeds >= 2


@pytest.mark.shared
@pytest.mark.parametrize("name", ["spectra.read", "jcamp", "spc", "text"])
def test_spectra_readers_raise_only_format_errors(
    shared_data: Path, tmp_path: Path, name: str
) -> None:
    _assert_clean(_run(name, tmp_path))


def test_aed_rows_are_parcels_or_row_errors(tmp_path: Path) -> None:
    _assert_clean(_run("aed", tmp_path))


def test_frame_decoder_returns_frames_or_frame_errors(tmp_path: Path) -> None:
    _assert_clean(_run("frame", tmp_path))


# -- what the fuzzer found in code owned elsewhere, kept until that fix lands -----------------


def _aed_case(what: str, name: str, body: str, raises: type[BaseException]) -> object:
    """A reproducer the fuzzer found: parcels/aed.py raised ``raises`` instead of rejecting
    the row (fixed; kept so it stays fixed)."""
    return pytest.param(name, body, id=what)


_AED_REPRODUCERS = [
    # found by the fuzzer in the flat-CSV form (parcels/aed.py unflatten, csv)
    _aed_case("csv cell over 131,072 characters", "b.csv",
              "item_id,sender.name\nLX403127580CN," + "x" * 200_000 + "\n", csv.Error),
    _aed_case("csv column that is also a parent", "b.csv",
              "item_id,sender,sender.name\nLX403127580CN,a,b\n", TypeError),
    _aed_case("csv list index then a name", "b.csv",
              "item_id,declaration.items.0.description,declaration.items.x\n"
              "LX403127580CN,a,b\n", ValueError),
    _aed_case("csv negative list index", "b.csv",
              "item_id,declaration.items.0.description,declaration.items.-5.description\n"
              "LX403127580CN,a,b\n", IndexError),
    # in issue 10 already: one such row aborts a whole JSON-lines import
    _aed_case("jsonl nested 100,000 deep", "b.jsonl",
              '{"item_id": "LX403127580CN", "x": ' + "[" * 100_000 + "\n", RecursionError),
    _aed_case("jsonl 5,000-digit number", "b.jsonl",
              '{"item_id": "LX403127580CN", "x": ' + "1" * 5000 + "}\n", ValueError),
]


@pytest.mark.parametrize(("name", "body"), _AED_REPRODUCERS)
def test_aed_known_reproducers(tmp_path: Path, name: str, body: str) -> None:
    from parcels.aed import read_batch

    p = tmp_path / name
    p.write_text(body)
    _, rows = read_batch(p)
    assert len(rows) == 1
    assert type(rows[0][1]).__name__ in ("Parcel", "RowError")


def test_aed_csv_column_index_is_bounded() -> None:
    batch = ("item_id,declaration.items.99999999999.description\n"
             "LX403127580CN,phone case\n")
    code = (
        "import resource, sys, tempfile\n"
        "from pathlib import Path\n"
        "from parcels.aed import RowError, read_batch\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_AS)\n"
        "vm = [int(l.split()[1]) * 1024 for l in open('/proc/self/status')"
        " if l.startswith('VmSize:')][0]\n"
        "resource.setrlimit(resource.RLIMIT_AS, (vm + 16 * 2**20, hard))\n"
        "p = Path(tempfile.mkdtemp()) / 'batch.csv'\n"
        f"p.write_text({batch!r})\n"
        "_, rows = read_batch(p)\n"
        "assert len(rows) == 1 and type(rows[0][1]).__name__ in ('Parcel', 'RowError'), rows\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


# -- the engine itself ----------------------------------------------------------------------


def test_inputs_are_deterministic() -> None:
    target = frame_target(ROOT)
    first = [mutate(target, i, SEED)[1] for i in range(50)]
    again = [mutate(target, i, SEED)[1] for i in range(50)]
    other = [mutate(target, i, SEED + 1)[1] for i in range(50)]
    assert first == again
    assert first != other
    assert len(set(first)) > 40  # the mutations differ from one input to the next


def _buggy(data: bytes, _scratch: Path) -> object:
    """A planted bug of each kind the fuzzer must report."""
    if data[:1] == b"I":
        return [][len(data)]  # IndexError: untyped
    if data[:1] == b"M":
        return bytearray(4 * MiB)  # allocation out of proportion to the input
    if data[:1] == b"W":
        import warnings

        warnings.warn("stray", RuntimeWarning, stacklevel=1)
        return None
    if data[:1] == b"V":
        return "not what the contract says"
    raise FormatError("refused", offset=0)


def _check(result: object, _data: bytes) -> None:
    assert result is None or isinstance(result, bytearray), f"returned {result!r}"


def test_the_fuzzer_reports_each_kind_of_failure(tmp_path: Path) -> None:
    seeds = [Seed(k, k.encode() * 20) for k in ("I", "M", "W", "V", "R")]
    target = Target("planted", _buggy, documented=(FormatError,), seeds=seeds,
                    check=_check, memory_floor=1 * MiB, memory_factor=16)
    with scratch_dir(tmp_path) as scratch:
        report = fuzz(target, iterations=150, seed=SEED, scratch=scratch,
                      reproducers=tmp_path / "found")
    kinds = {f.kind for f in report.findings}
    assert kinds == {"untyped", "memory", "warning", "invalid"}, report.summary()
    assert report.kinds["refused"] > 0
    untyped = next(f for f in report.findings if f.kind == "untyped")
    assert untyped.path is not None and untyped.path.read_bytes()[:1] == b"I"
    assert "IndexError" in untyped.path.with_suffix(".txt").read_text()


@pytest.mark.skipif(not Path("/proc/self/status").is_file(),
                    reason="the worker's address-space cap needs /proc (Linux)")
def test_an_unbounded_allocation_is_stopped_in_the_worker(tmp_path: Path) -> None:
    """The address-space limit turns a runaway allocation into a reported MemoryError."""
    code = (
        "from tests.fuzz.isolated import _limit_address_space\n"
        "_limit_address_space(64)\n"
        "try:\n"
        "    grown = []\n"
        "    while True:\n"
        "        grown.append(bytearray(2**20))\n"
        "except MemoryError:\n"
        "    print('MemoryError after', len(grown), 'MiB')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    assert done.stdout.startswith("MemoryError after")
    assert int(done.stdout.split()[2]) <= 64
