"""A small, deterministic mutation fuzzer: real files in, damaged variants out, every outcome
classified.

A :class:`Target` is a function under test (a reader, a row parser, a frame decoder), the
error types it documents, real seed inputs, and a memory bound. :func:`fuzz` derives each
input from one seed by 1-3 mutations (bit flips, byte insert/delete, chunk duplication and
truncation, number-token replacement, header-line duplication, splicing with another seed,
binary header fields set to edge values), drawn from ``random.Random(f"{seed}/{target}/{i}")``
so input ``i`` is the same on every run and machine. Each input's outcome is one of:

``ok``
    the call returned, and the target's check of the result passed;
``refused``
    it raised one of the target's documented error types;
``untyped``
    it raised anything else (the bug class this fuzzer exists for);
``invalid``
    it returned something the target's check rejects;
``warning``
    it emitted a warning the target does not document (e.g. a numpy overflow);
``memory``
    its peak traced allocation (tracemalloc, numpy included) exceeded the target's bound,
    ``floor + factor × input size``: a size taken from the input and allocated unchecked.

Every input with one of the last four outcomes is written to a reproducer directory (the
bytes, plus a text file with the mutation trail and the traceback). Nothing here measures
time: a bench (``bench/fuzz.py``) runs targets in a subprocess with an address-space limit
and a watchdog for that.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import re
import struct
import tempfile
import traceback
import tracemalloc
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

MiB = 1 << 20

FAILURES = ("untyped", "invalid", "warning", "memory")
"""Outcome kinds that are findings."""


@dataclass(frozen=True)
class Seed:
    """One real input: its name (for reproducers) and bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Target:
    """A function under test and its contract.

    Attributes
    ----------
    name
        Short name (``jcamp``, ``aed``...).
    call
        ``call(data, scratch)`` runs the code under test on ``data``; ``scratch`` is a folder
        it may write the input to. Its return value goes to ``check``.
    documented
        The exception types the code documents for bad input.
    seeds
        Real inputs to mutate.
    binary
        Whether to weight the mutators towards binary fields (SPC, frames) or text.
    check
        Raises ``AssertionError`` when a returned result breaks the contract.
    allowed_warnings
        Warning categories the code documents.
    memory_floor, memory_factor
        Bound on the peak traced allocation of one call: ``floor + factor × len(data)``.
    line_dup_most, nest_openers
        The most copies of a line one mutation makes; what nesting repeats.
    """

    name: str
    call: Callable[[bytes, Path], object]
    documented: tuple[type[BaseException], ...]
    seeds: Sequence[Seed]
    binary: bool = False
    check: Callable[[object, bytes], None] | None = None
    allowed_warnings: tuple[type[Warning], ...] = ()
    memory_floor: int = 32 * MiB
    memory_factor: int = 64
    line_dup_most: int = 2000
    """The most copies header-line duplication makes (fewer where each row costs much)."""
    nest_openers: tuple[bytes, ...] = (b"[", b'{"a":', b"(", b"##TITLE=x\n")
    """What bracket nesting repeats (a JCAMP-DX block opener is a line, so it multiplies rows
    too: left out where each row costs much)."""

    def memory_bound(self, size: int) -> int:
        """The most a call on ``size`` input bytes may allocate at its peak."""
        return self.memory_floor + self.memory_factor * size


@dataclass
class Finding:
    """One input whose outcome is a failure."""

    target: str
    index: int
    kind: str
    detail: str
    seed: str
    trail: list[str]
    path: Path | None = None


@dataclass
class Report:
    """Counts per outcome kind, refusals by error type, and the findings."""

    target: str
    tried: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    max_peak_ratio: float = 0.0
    """Largest peak allocation / input size seen on inputs of 64 KiB or more (smaller ones are
    within the floor: the 1 MiB read buffer alone is 200x a 5 kB input), for choosing bounds."""

    def add(self, kind: str) -> None:
        """Count one outcome."""
        self.tried += 1
        self.kinds[kind] += 1

    def merge(self, other: Report) -> None:
        """Add another report's counts (same target)."""
        self.tried += other.tried
        self.kinds.update(other.kinds)
        self.refusals.update(other.refusals)
        self.findings.extend(other.findings)
        self.max_peak_ratio = max(self.max_peak_ratio, other.max_peak_ratio)

    def summary(self) -> str:
        """One line of counts, then one line per finding."""
        kinds = ", ".join(f"{k} {self.kinds[k]}" for k in ("ok", "refused", *FAILURES)
                          if self.kinds[k])
        lines = [f"{self.target}: {self.tried} inputs: {kinds}"]
        lines += [f"  #{f.index} {f.kind}: {f.detail} (seed {f.seed}; "
                  f"{' + '.join(f.trail)}){f' -> {f.path}' if f.path else ''}"
                  for f in self.findings]
        return "\n".join(lines)


# -- mutators ------------------------------------------------------------------------------

_INTERESTING_BYTES = b"\x00\xff\x7f\x80\n\r,-.;#=\t ?\x1a+eE0"
_INTERESTING_NUMBERS = (
    "0", "-0", "-1", "1", "1e308", "1e999", "-1e999", "1e-320", "4294967296", "2147483648",
    "-2147483649", "18446744073709551616", "9" * 400, "1" + "0" * 30, "NaN", "inf", "",
    "0.0000001", "65536", "3.", ".5", "1e", "--1", "1,5",
    "9" * 5000,  # past Python's 4,300-digit int() limit
)
_INTERESTING_INTS = (0, 1, -1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF,
                     0x80000000, 0xFFFFFFFF, 2**31 - 1, 1 << 20, 4096, 1000)
_INTERESTING_FLOATS = (0.0, -0.0, 1e308, -1e308, float("inf"), float("-inf"), float("nan"),
                       1e-310, 2.0**31, 4e9)
_NUMBER = re.compile(rb"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_EOL = re.compile(rb"\r\n|\r|\n")

Mutator = Callable[[bytearray, random.Random, bytes], str]


def _pos(rng: random.Random, n: int, binary: bool = False) -> int:
    if n <= 0:
        return 0
    if binary and rng.random() < 0.5:
        return rng.randrange(min(n, 768))  # headers decide the layout
    return rng.randrange(n)


def _bitflip(buf: bytearray, rng: random.Random, _other: bytes) -> str:
    flips = rng.randint(1, 8)
    for _ in range(flips):
        if buf:
            i = _pos(rng, len(buf))
            buf[i] ^= 1 << rng.randrange(8)
    return f"bitflip x{flips}"


def _byte_set(buf: bytearray, rng: random.Random, _other: bytes) -> str:
    if not buf:
        buf.append(0)
    i = _pos(rng, len(buf))
    buf[i] = rng.choice(_INTERESTING_BYTES) if rng.random() < 0.7 else rng.randrange(256)
    return f"set byte {i}"


def _insert(buf: bytearray, rng: random.Random, _other: bytes) -> str:
    i = _pos(rng, len(buf) + 1)
    k = rng.randint(1, 16)
    buf[i:i] = bytes(rng.choice(_INTERESTING_BYTES) for _ in range(k))
    return f"insert {k} at {i}"


def _delete(buf: bytearray, rng: random.Random, _other: bytes) -> str:
    i = _pos(rng, len(buf))
    k = rng.randint(1, 64)
    del buf[i:i + k]
    return f"delete {k} at {i}"


def _duplicate(buf: bytearray, rng: random.Random, _other: bytes) -> str:
    if not buf:
        return "duplicate (empty)"
    i = _pos(rng, len(buf))
    k = rng.randint(1, min(1024, len(buf) - i))
    times = rng.choice((1, 1, 2, 8, 64))
    j = _pos(rng, len(buf) + 1)
    buf[j:j] = bytes(buf[i:i + k]) * times
    return f"duplicate {k}x{times} from {i} to {j}"


def _truncate(buf: bytearray, rng: random.Random, _other: bytes) -> str:
    i = _pos(rng, len(buf) + 1)
    del buf[i:]
    return f"truncate at {i}"


def _number(buf: bytearray, rng: random.Random, _other: bytes) -> str:
    # look in a window so a large file costs no more than a small one
    start = _pos(rng, len(buf))
    window = bytes(buf[start:start + 4096])
    found = list(_NUMBER.finditer(window))
    if not found:
        return "number (none)"
    m = rng.choice(found)
    old = m.group()
    choice = rng.random()
    if choice < 0.6:
        new = rng.choice(_INTERESTING_NUMBERS).encode()
    elif choice < 0.8:
        new = old + b"0" * rng.randint(1, 12)  # the same number, 10^k larger
    else:
        new = str(rng.randint(-(10**6), 10**12)).encode()
    buf[start + m.start():start + m.end()] = new
    return f"number {old[:20]!r}->{new[:20]!r}"


def _line_dup(buf: bytearray, rng: random.Random, _other: bytes, *, most: int = 2000) -> str:
    # prefer header lines (the first 64 lines and any ## label): repeated labels, duplicated
    # metadata and repeated column rows are what exercise the parsers' bookkeeping
    # line spans from the line ends (a pattern like "[^\n]*\n" would take quadratic time on
    # a buffer without any)
    lines = []
    start = 0
    for _, m in zip(range(64), _EOL.finditer(buf), strict=False):
        lines.append((start, m.end()))
        start = m.end()
    if not lines:
        return "line dup (none)"
    a, b = rng.choice(lines)
    times = rng.choice((1, 2, 10, 100, most))
    buf[b:b] = bytes(buf[a:b]) * times
    return f"line dup {bytes(buf[a:b])[:24]!r} x{times}"


def _nest(buf: bytearray, rng: random.Random, _other: bytes,
          openers: tuple[bytes, ...] = (b"[",)) -> str:
    # opening brackets by the thousand: recursive parsers (JSON in headers, nested blocks)
    # must refuse depth, not overflow the stack
    opener = rng.choice(openers)
    times = rng.choice((10, 1000, 100_000))
    i = _pos(rng, len(buf) + 1)
    buf[i:i] = opener * times
    return f"nest {opener!r} x{times} at {i}"


def _splice(buf: bytearray, rng: random.Random, other: bytes) -> str:
    i = _pos(rng, len(buf) + 1)
    j = _pos(rng, len(other) + 1)
    buf[i:] = other[j:]
    return f"splice at {i} with other[{j}:]"


def _line_ends(buf: bytearray, rng: random.Random, _other: bytes) -> str:
    new = rng.choice((b"\r", b"\r\n", b"\n", b"", b"\n\n"))
    text = re.sub(rb"\r\n|\r|\n", new, bytes(buf))
    buf[:] = text
    return f"line ends -> {new!r}"


def _binary_field(buf: bytearray, rng: random.Random, _other: bytes) -> str:
    if len(buf) < 8:
        return "field (short)"
    fmt = rng.choice(("<B", "<b", "<H", "<h", "<I", "<i", "<f", "<d"))
    size = struct.calcsize(fmt)
    i = _pos(rng, len(buf) - size + 1, binary=True)
    if rng.random() < 0.5:
        i -= i % size
    if fmt in ("<f", "<d"):
        value: float = rng.choice(_INTERESTING_FLOATS)
        try:
            raw = struct.pack(fmt, value)
        except OverflowError:  # beyond float32: its infinity
            raw = struct.pack(fmt, float("inf") if value > 0 else float("-inf"))
    else:
        bits = 8 * size
        v = rng.choice(_INTERESTING_INTS) % (1 << bits)
        raw = v.to_bytes(size, "little")
    buf[i:i + size] = raw
    return f"field {fmt} at {i} = {raw.hex()}"


TEXT_MUTATORS: tuple[tuple[Mutator, int], ...] = (
    (_bitflip, 2), (_byte_set, 3), (_insert, 2), (_delete, 2), (_duplicate, 2),
    (_truncate, 1), (_number, 5), (_line_dup, 2), (_splice, 1), (_line_ends, 1), (_nest, 1),
)
BINARY_MUTATORS: tuple[tuple[Mutator, int], ...] = (
    (_bitflip, 3), (_byte_set, 2), (_insert, 1), (_delete, 1), (_duplicate, 1),
    (_truncate, 1), (_binary_field, 6), (_splice, 1),
)


def mutate(target: Target, index: int, seed: int) -> tuple[Seed, bytes, list[str]]:
    """Input ``index`` of ``target`` under ``seed``: the seed it came from, its bytes, and the
    mutations applied. The same arguments always give the same bytes."""
    rng = random.Random(f"{seed}/{target.name}/{index}")
    base = target.seeds[rng.randrange(len(target.seeds))]
    other = target.seeds[rng.randrange(len(target.seeds))].data
    table = BINARY_MUTATORS if target.binary else TEXT_MUTATORS
    mutators = [m for m, _ in table]
    weights = [w for _, w in table]
    buf = bytearray(base.data)
    trail = []
    for mutator in rng.choices(mutators, weights, k=rng.choice((1, 1, 2, 3))):
        if mutator is _line_dup:
            trail.append(_line_dup(buf, rng, other, most=target.line_dup_most))
        elif mutator is _nest:
            trail.append(_nest(buf, rng, other, openers=target.nest_openers))
        else:
            trail.append(mutator(buf, rng, other))
    return base, bytes(buf), trail


# -- running -------------------------------------------------------------------------------


@contextlib.contextmanager
def scratch_dir(fallback: Path | None = None) -> Iterator[Path]:
    """A folder for each input's file: in memory (``/dev/shm``) where there is one, since a
    disk-backed temporary folder can cost milliseconds per file written and opened."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else fallback
    with tempfile.TemporaryDirectory(prefix="interdict-fuzz-", dir=base) as d:
        yield Path(d)


def _save(out: Path | None, finding: Finding, data: bytes, tb: str) -> Path | None:
    if out is None:
        return None
    out.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()[:12]
    stem = f"{finding.target}-{finding.kind}-{finding.index}-{digest}"
    path = out / f"{stem}.bin"
    path.write_bytes(data)
    (out / f"{stem}.txt").write_text(
        f"target {finding.target}, input #{finding.index}, seed file {finding.seed}\n"
        f"mutations: {' + '.join(finding.trail)}\n{finding.kind}: {finding.detail}\n\n{tb}"
    )
    return path


def run_one(target: Target, data: bytes, scratch: Path) -> tuple[str, str, str, int]:
    """Run the target on one input: ``(kind, detail, traceback, peak bytes)``.

    ``tracemalloc`` must be tracing (:func:`fuzz` starts it).
    """
    tb = ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        try:
            result = target.call(data, scratch)
        except target.documented as exc:
            kind, detail = "refused", type(exc).__name__
        except Exception as exc:  # the finding this fuzzer exists for
            kind, detail = "untyped", f"{type(exc).__name__}: {str(exc)[:300]}"
            tb = traceback.format_exc()
        else:
            kind, detail = "ok", ""
            if target.check is not None:
                try:
                    target.check(result, data)
                except AssertionError as exc:
                    kind, detail = "invalid", str(exc)[:300] or "check failed"
                    tb = traceback.format_exc()
            del result
        peak = tracemalloc.get_traced_memory()[1] - before
    stray = [w for w in caught if not issubclass(w.category, target.allowed_warnings)]
    if stray and kind in ("ok", "refused"):
        w = stray[0]
        kind, detail = "warning", f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})"
    if kind in ("ok", "refused") and peak > target.memory_bound(len(data)):
        kind = "memory"
        detail = (f"peak {peak:,} bytes on a {len(data):,}-byte input (bound "
                  f"{target.memory_bound(len(data)):,})")
    return kind, detail, tb, peak


def fuzz(
    target: Target, *, iterations: int, seed: int, scratch: Path,
    reproducers: Path | None = None, start: int = 0,
    on_input: Callable[[int, bytes], None] | None = None,
) -> Report:
    """Run inputs ``start .. start+iterations-1`` of ``target`` and classify each outcome.

    Parameters
    ----------
    target
        What to fuzz.
    iterations, seed, start
        Which inputs: input ``i`` is :func:`mutate` ``(target, i, seed)``.
    scratch
        A folder the target may write to.
    reproducers
        Where to write the inputs of findings (``None``: not written).
    on_input
        Called with each input before it runs (the bench records the one in flight, so a
        crash of the whole process still leaves its reproducer).

    Returns
    -------
    Report
    """
    report = Report(target.name)
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        for i in range(start, start + iterations):
            if on_input is not None:
                on_input(i, b"")  # a hang while mutating is input i's too, with no bytes yet
            base, data, trail = mutate(target, i, seed)
            if on_input is not None:
                on_input(i, data)
            kind, detail, tb, peak = run_one(target, data, scratch)
            report.add(kind)
            if len(data) >= 1 << 16:
                report.max_peak_ratio = max(report.max_peak_ratio, peak / len(data))
            if kind == "refused":
                report.refusals[detail] += 1
            elif kind in FAILURES:
                finding = Finding(target.name, i, kind, detail, base.name, trail)
                finding.path = _save(reproducers, finding, data, tb)
                report.findings.append(finding)
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return report


__all__ = [
    "FAILURES", "Finding", "Report", "Seed", "Target", "fuzz", "mutate", "run_one", "scratch_dir",
]
